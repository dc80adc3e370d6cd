//! `clm-pseudonymize`: the on-site tool. Thin: argument parsing and messages only.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use clm_pseudonymize::check::{check, CheckOptions};
use clm_pseudonymize::reidentify::{reidentify, ReidentifyOptions, ReidentifySummary};
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
        clm-pseudonymize inspect export/*.csv --out export/mapping.toml\n  \
        clm-pseudonymize check --mapping export/mapping.toml\n  \
        clm-pseudonymize export --mapping export/mapping.toml --pseudonym-key keys/pseudonym.key \\\n      \
        --data-key keys/data.key --as-of 2026-11-01 --out bundle-2026-11\n  \
        clm-pseudonymize reidentify --mapping export/mapping.toml --pseudonym-key keys/pseudonym.key \\\n      \
        --pids inactive.csv --out calls-inactive.csv\n\n\
        Keys may also come from CLM_PSEUDONYM_KEY and CLM_DATA_KEY (hex). Exit codes: 0 done, \
        1 failed (nothing written; for check: a check failed), 2 usage error (for check: could not run)."
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
        /// Incremental export: only events (visits, services, sales, feedback) dated after
        /// this day (YYYY-MM-DD); clients and memberships whole.
        #[arg(long, value_name = "DATE")]
        since: Option<NaiveDate>,
        /// No progress bars.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Read export files (CSV, or every sheet of an XLSX workbook) and draft a mapping.
    #[command(
        after_help = "Example:\n  clm-pseudonymize inspect export/*.csv export/book.xlsx --out export/mapping.toml\n\n\
        Prints (or writes) a mapping TOML: each column assigned to a canonical field by its header or \
        content, personal columns as never-exported `direct` fields, unknown columns left out. The \
        draft names columns and counts only, never a value. Edit it, then `check` and `export`."
    )]
    Inspect {
        /// Source files: CSV (any delimiter and encoding) or XLSX.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write the draft here instead of standard output (file paths in it are relative to it).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Data-quality report of the sources a mapping names (no keys needed, nothing written).
    #[command(
        after_help = "Example:\n  clm-pseudonymize check --mapping mapping.toml --json quality.json\n\n\
        Per table: rows, rejected rows, date ranges, empty required fields, duplicate ids, rows of \
        unknown clients, memberships ending before they start or overlapping, dates after --as-of, \
        negative amounts, clients without a phone or e-mail. Counts only, never values. \
        Exit 0 when no check fails, 1 when one does, 2 when the check could not run."
    )]
    Check {
        /// The source mapping (TOML).
        #[arg(long, value_name = "FILE")]
        mapping: PathBuf,
        /// Dates after this day are in the future (YYYY-MM-DD) [default: today].
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
        /// Also write the report as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// No progress bars.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Turn a consultant's pseudonym list into a call list (names, phones): on site only.
    #[command(
        after_help = "Example:\n  clm-pseudonymize reidentify --mapping mapping.toml --pseudonym-key keys/pseudonym.key \\\n      \
        --pids inactive.csv --out calls-inactive.csv\n\n\
        The list is a CSV (comma or semicolon separated, UTF-8 or Windows-1251) with a client_pid \
        column and any others (stage, action, ...). The source clients table is read once and its \
        client ids are pseudonymized again with the key, as the export does. The call list keeps \
        the list's rows and columns in order and adds full_name (or last_name, first_name, \
        middle_name), phone and email as the mapping maps them, written as in the source, and \
        found (yes, no, malformed pid); it is ;-separated UTF-8 with a BOM, for Excel, mode 0600. \
        It holds personal data: keep it on site. Exit codes: 0 written (even with pids not found), \
        1 failed (nothing written), 2 usage error."
    )]
    Reidentify {
        /// The source mapping (TOML) the bundle was exported with.
        #[arg(long, value_name = "FILE")]
        mapping: PathBuf,
        /// Pseudonymization key file [default: $CLM_PSEUDONYM_KEY].
        #[arg(long, value_name = "FILE")]
        pseudonym_key: Option<PathBuf>,
        /// The consultant's list: CSV with a client_pid column.
        #[arg(long, value_name = "FILE")]
        pids: PathBuf,
        /// The call list to write (a new file; never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Rotate the data key of a bundle: re-wrap its data-encryption key, files untouched.
    #[command(after_help = "Example:\n  clm-pseudonymize keygen --out newkeys/\n  \
        clm-pseudonymize rewrap --bundle bundle-2026-11 --data-key keys/data.key --new-data-key newkeys/data.key\n\n\
        The bundle is verified with the old key first; afterwards only the new key opens it.")]
    Rewrap {
        /// The bundle directory.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        /// The current data key file [default: $CLM_DATA_KEY].
        #[arg(long, value_name = "FILE")]
        data_key: Option<PathBuf>,
        /// The new data key file.
        #[arg(long, value_name = "FILE")]
        new_data_key: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let is_check = matches!(cli.command, Command::Check { .. });
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if is_check { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
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
            since,
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
                since,
            })?;
            print_summary(&s);
        }
        Command::Inspect { files, out } => {
            let dir = out.as_ref().map(|o| match o.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            });
            let (text, problem) = clm_pseudonymize::inspect::inspect_checked_named(
                &files,
                dir.as_deref(),
                out.as_deref(),
            )?;
            match &out {
                Some(o) => {
                    if o.exists() {
                        anyhow::bail!(
                            "{} exists; inspect never overwrites a mapping: choose another --out",
                            o.display()
                        );
                    }
                    std::fs::write(o, &text)?;
                    eprintln!("wrote the draft mapping {}", o.display());
                }
                None => print!("{text}"),
            }
            if let Some(p) = problem {
                eprintln!("note: the draft does not load as it is yet ({p}); see its TODO lines");
            }
        }
        Command::Check {
            mapping,
            as_of,
            json,
            quiet,
        } => {
            use std::io::IsTerminal;
            let q = check(&CheckOptions {
                mapping,
                as_of,
                progress: !quiet && std::io::stderr().is_terminal(),
            })?;
            let checks = q.checks();
            print!("{}", clm_pseudonymize::quality::print_table(&checks));
            let verdict = q.verdict();
            let n = |l| checks.iter().filter(|c| c.level == l).count();
            use clm_pseudonymize::quality::Level;
            println!(
                "verdict: {} ({} pass, {} warn, {} fail)",
                verdict.as_str(),
                n(Level::Pass),
                n(Level::Warn),
                n(Level::Fail)
            );
            if let Some(j) = json {
                std::fs::write(&j, serde_json::to_string_pretty(&q.to_json())? + "\n")?;
            }
            if verdict == Level::Fail {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Reidentify {
            mapping,
            pseudonym_key,
            pids,
            out,
        } => {
            let s = reidentify(&ReidentifyOptions {
                mapping,
                pseudonym_key,
                pids: pids.clone(),
                out,
            })?;
            print_reidentify(&pids, &s);
        }
        Command::Rewrap {
            bundle,
            data_key,
            new_data_key,
        } => {
            let old = clm_core::keys::DataKey::resolve(data_key.as_deref())?;
            let new = clm_core::keys::DataKey::load(&new_data_key)?;
            if old.fingerprint() == new.fingerprint() {
                anyhow::bail!("the new data key is the old one");
            }
            let m = clm_core::bundle::rewrap(&bundle, &old, &new)?;
            println!(
                "bundle {} (export {}) now opens with the data key {} only; its Parquet files are unchanged",
                bundle.display(),
                m.export_id,
                m.data_key_fingerprint
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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
    if let Some(since) = m.since {
        println!("incremental: events after {since} only (clients and memberships whole)");
    }
    if let Some(v) = m.quality.get("verdict").and_then(|v| v.as_str()) {
        println!("data quality: {v} (see `quality` in the manifest, or run `check`)");
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

/// Row numbers for a message: the first few, then how many more.
fn row_list(rows: &[u64]) -> String {
    const SHOWN: usize = 20;
    let mut s = rows
        .iter()
        .take(SHOWN)
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if rows.len() > SHOWN {
        s.push_str(&format!(" and {} more", rows.len() - SHOWN));
    }
    s
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The outcome of `reidentify`: counts and row numbers (the header is row 1), never a pid
/// or a personal value.
fn print_reidentify(pids: &std::path::Path, s: &ReidentifySummary) {
    let malformed = s.malformed_rows.len() as u64;
    let repeated = s.duplicate_rows.len() as u64;
    println!(
        "read {} ({}-separated): {}",
        pids.display(),
        match s.delimiter {
            b',' => "comma".to_string(),
            b';' => "semicolon".to_string(),
            b'\t' => "tab".to_string(),
            d => format!("{:?}", d as char),
        },
        plural(s.rows, "row", "rows")
    );
    println!(
        "found {}, not found {}, malformed pid {}, repeated pid {}",
        s.found, s.not_found, malformed, repeated
    );
    if s.not_found > 0 {
        println!(
            "not found: {} of the list {} no client of the source; {} in the call list with empty personal columns and found = no",
            plural(s.not_found, "pid", "pids"),
            if s.not_found == 1 { "matches" } else { "match" },
            if s.not_found == 1 { "it stays" } else { "they stay" }
        );
        if s.source_unreadable > 0 {
            println!(
                "  the source clients table has {} that could not be read; a pid not found may be one of them",
                plural(s.source_unreadable, "row", "rows")
            );
        }
        if s.found == 0 {
            println!(
                "  no pid of the list was found: was the list made from a bundle exported with this mapping and this \
                 pseudonymization key (fingerprint {})? The bundle's manifest names its key as pseudonym_key_fingerprint",
                s.key_fingerprint
            );
        }
    }
    if malformed > 0 {
        println!(
            "malformed pid (not 32 lowercase hex characters) in {} {}; marked found = malformed pid",
            if malformed == 1 { "row" } else { "rows" },
            row_list(&s.malformed_rows)
        );
    }
    for (row, first) in s.duplicate_rows.iter().take(20) {
        println!(
            "repeated pid: row {row} has the pid of row {first}; both rows are in the call list"
        );
    }
    if s.duplicate_rows.len() > 20 {
        println!("  and {} more repeated pids", s.duplicate_rows.len() - 20);
    }
    for (row, reason) in s.unreadable_rows.iter().take(20) {
        println!("row {row} of the list could not be read ({reason}); it is not in the call list");
    }
    if s.unreadable_rows.len() > 20 {
        println!(
            "  and {} more unreadable rows",
            s.unreadable_rows.len() - 20
        );
    }
    if s.ambiguous > 0 {
        println!(
            "{} of the list {} to more than one row of the source clients table (a client id repeated); the first row is used",
            plural(s.ambiguous, "pid", "pids"),
            if s.ambiguous == 1 { "belongs" } else { "belong" }
        );
    }
    if s.neutralized_cells > 0 {
        println!(
            "{} of the list began like a spreadsheet formula (= + - @) and {} written as text, with a leading '",
            plural(s.neutralized_cells, "cell", "cells"),
            if s.neutralized_cells == 1 { "is" } else { "are" }
        );
    }
    println!("pseudonymization key {}", s.key_fingerprint);
    println!(
        "wrote the call list {} (;-separated, UTF-8; columns added: {}, found)",
        s.out.display(),
        s.personal_columns.join(", ")
    );
    println!(
        "PERSONAL DATA: {} holds names and phones of real people. It must stay on site: do not e-mail it, \
         do not send it to the consultant, do not copy it to a cloud drive; delete it when the calls are done.",
        s.out.display()
    );
}
