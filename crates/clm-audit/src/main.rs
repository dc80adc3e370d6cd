//! `clm-audit`: argument parsing and output only; the checks are in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "clm-audit",
    version,
    about = "On site: prove that a clm bundle carries no personal data",
    long_about = "On site: prove that a clm bundle carries no personal data (SPEC §3.6).\n\n\
Six checks, each reported with its figures:\n\
1. integrity: manifest HMAC, each file's SHA-256, files listed = files present, no key in the clear.\n\
2. schema: every column is a canonical field (schemas/) of a non-direct class, with its type.\n\
3. content: every string value through the PII detectors (e-mail, phone, card, passport, SNILS, \
INN, full name, IBAN); pids are 32 lower-case hex; vocabularies, age bands, postal prefixes hold.\n\
4. leak (with --mapping and the pseudonymization key): no value of a direct or identifier source \
column, no unkeyed MD5/SHA-1/SHA-256 of one, no K_p bytes anywhere in the bundle; every pid is \
the HMAC pseudonym of a source id.\n\
5. risk: k-anonymity of the clients table over gender, age band, branch, postal prefix.\n\
6. verdict: this summary, and the JSON report with --json.\n\n\
Findings name a table, a column, a detector and a count; never a personal value, never a key.",
    after_help = "Examples:\n  \
# anywhere the bundle and the data key are (checks 1-3 and 5):\n  \
clm-audit --bundle bundle-2026-11 --data-key keys/data.key\n\n  \
# on site, with the source it was made from (all six checks), report kept as JSON:\n  \
clm-audit --bundle bundle-2026-11 --data-key keys/data.key \\\n      \
--mapping export/mapping.toml --pseudonym-key keys/pseudonym.key --json audit.json\n\n\
Exit status: 0 every check passed, 1 a check failed, 2 the audit could not run (bad arguments,\n\
missing or wrong key, unreadable bundle or source)."
)]
struct Cli {
    /// The bundle directory (with manifest.json).
    #[arg(long, value_name = "DIR")]
    bundle: PathBuf,
    /// Data key file [default: $CLM_DATA_KEY].
    #[arg(long, value_name = "FILE")]
    data_key: Option<PathBuf>,
    /// The source mapping the bundle was exported with: runs the leak check against the source.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Pseudonymization key file, for the leak check [default: $CLM_PSEUDONYM_KEY].
    #[arg(long, value_name = "FILE")]
    pseudonym_key: Option<PathBuf>,
    /// Smallest acceptable class of clients sharing their quasi-identifiers.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    k: u32,
    /// Also write the full report as JSON to FILE (`-` for stdout, instead of the summary).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not failures; bad arguments mean "could not run".
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let opts = clm_audit::Options {
        bundle: cli.bundle.clone(),
        data_key: cli.data_key,
        mapping: cli.mapping,
        pseudonym_key: cli.pseudonym_key,
        k: cli.k,
        threads: cli.threads.map(usize::from).unwrap_or(0),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let to_stdout = cli.json.as_deref() == Some(std::path::Path::new("-"));
    match clm_audit::audit(&opts) {
        Ok(report) => {
            if !to_stdout {
                print!("{}", report.render_text());
            }
            if let Some(path) = &cli.json {
                let text = serde_json::to_string_pretty(&report).expect("report serializes") + "\n";
                if let Err(e) = write_out(path, &text) {
                    eprintln!(
                        "clm-audit: error: cannot write the JSON report {}: {e}",
                        path.display()
                    );
                    return ExitCode::from(2);
                }
            }
            ExitCode::from(report.exit_code as u8)
        }
        Err(e) => {
            eprintln!("clm-audit: error: the audit could not run: {e}");
            if let Some(path) = &cli.json {
                let v = serde_json::json!({
                    "tool": "clm-audit",
                    "tool_version": clm_core::TOOL_VERSION,
                    "bundle": cli.bundle.display().to_string(),
                    "verdict": "could_not_run",
                    "exit_code": 2,
                    "error": e.0,
                });
                let _ = write_out(
                    path,
                    &(serde_json::to_string_pretty(&v).expect("json") + "\n"),
                );
            }
            ExitCode::from(2)
        }
    }
}

fn write_out(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if path == std::path::Path::new("-") {
        use std::io::Write;
        std::io::stdout().write_all(text.as_bytes())
    } else {
        std::fs::write(path, text)
    }
}
