//! `clm-pseudonymize`: the on-site tool. Thin: argument parsing and messages only.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use clm_pseudonymize::{export, ExportOptions};

#[derive(Parser)]
#[command(
    name = "clm-pseudonymize",
    version,
    about = "On site: turn a club's CRM/accounting exports into an encrypted, pseudonymized bundle",
    long_about = "On site: turn a club's CRM/accounting exports into an encrypted, pseudonymized bundle.\n\n\
        Only the columns a mapping assigns leave the building; identifiers become keyed HMAC-SHA256 \
        pseudonyms, birth dates become age bands, and everything is written as Parquet encrypted \
        with a fresh key wrapped by the data key.",
    after_help = "Examples:\n  \
        clm-pseudonymize keygen --out keys/\n  \
        clm-pseudonymize export --mapping export/mapping.toml --pseudonym-key keys/pseudonym.key \\\n      \
        --data-key keys/data.key --as-of 2026-11-01 --out bundle-2026-11\n\n\
        Keys may also come from CLM_PSEUDONYM_KEY and CLM_DATA_KEY (hex). Exit codes: 0 done, \
        1 export failed (nothing written), 2 usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new pseudonymization key and data key (files with mode 0600).
    #[command(after_help = "Example:\n  clm-pseudonymize keygen --out keys/\n\n\
        Writes keys/pseudonym.key (stays on site, always) and keys/data.key (for the consultant, \
        sent separately from the bundle). Never overwrites a key.")]
    Keygen {
        /// Directory for pseudonym.key and data.key.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Pseudonymize the sources a mapping names into an encrypted bundle.
    #[command(
        after_help = "Example:\n  clm-pseudonymize export --mapping mapping.toml --pseudonym-key keys/pseudonym.key \\\n      \
        --data-key keys/data.key --out bundle\n\n\
        Rows that cannot be read are written next to their source as NAME.rejected.csv (they hold \
        personal data: keep them on site) and counted in the manifest."
    )]
    Export {
        /// The source mapping (TOML); see schemas/example-mapping.toml.
        #[arg(long, value_name = "FILE")]
        mapping: PathBuf,
        /// Pseudonymization key file [default: $CLM_PSEUDONYM_KEY].
        #[arg(long, value_name = "FILE")]
        pseudonym_key: Option<PathBuf>,
        /// Data key file [default: $CLM_DATA_KEY].
        #[arg(long, value_name = "FILE")]
        data_key: Option<PathBuf>,
        /// Date the export describes (YYYY-MM-DD): age bands are computed at it [default: today].
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
        /// New bundle directory (must not exist, or be empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace category values that look like personal data with "redacted" instead of stopping.
        #[arg(long)]
        redact: bool,
        /// No progress bars.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { out } => {
            let (p, d) = clm_core::keys::keygen(&out)?;
            println!(
                "wrote {} (keep on site) and {} (for the consultant)",
                p.display(),
                d.display()
            );
        }
        Command::Export {
            mapping,
            pseudonym_key,
            data_key,
            as_of,
            out,
            redact,
            quiet,
        } => {
            use std::io::IsTerminal;
            let s = export(&ExportOptions {
                mapping,
                pseudonym_key,
                data_key,
                as_of,
                out,
                redact,
                progress: !quiet && std::io::stderr().is_terminal(),
            })?;
            print_summary(&s);
        }
    }
    Ok(())
}

fn print_summary(s: &clm_pseudonymize::ExportSummary) {
    let m = &s.manifest;
    println!(
        "bundle {} (export {}, as of {})",
        s.out.display(),
        m.export_id,
        m.as_of
    );
    println!(
        "{:<12} {:>10} {:>10} {:>9}  dropped columns",
        "table", "rows in", "rows out", "rejected"
    );
    for e in &m.sources {
        println!(
            "{:<12} {:>10} {:>10} {:>9}  {}",
            e.table,
            e.rows_in,
            e.rows_out,
            e.rows_rejected,
            if e.dropped_columns.is_empty() {
                "-".to_string()
            } else {
                e.dropped_columns.join(", ")
            }
        );
    }
    for r in &s.rejects {
        println!(
            "rejected rows kept on site (personal data, do not send): {}",
            r.display()
        );
    }
    println!(
        "pseudonymization key {}, data key {}",
        m.pseudonym_key_fingerprint, m.data_key_fingerprint
    );
}
