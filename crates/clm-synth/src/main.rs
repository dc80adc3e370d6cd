//! `clm-synth`: command-line front end of the synthetic export generator.

use chrono::NaiveDate;
use clap::{Parser, ValueEnum};
use clm_synth::{generate, Config, Encoding, MAX_CLIENTS};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Enc {
    /// UTF-8 without BOM
    #[value(name = "utf-8")]
    Utf8,
    /// Windows-1251, as older 1C and CRM installations export
    Cp1251,
}

/// Write a realistic synthetic export of a two-branch fitness club (fake personal data).
///
/// The output imitates a Russian CRM/accounting export: clients.csv, memberships.csv,
/// visits.csv, services.csv, sales.csv and feedback.csv (";"-separated, Russian headers,
/// DD.MM.YYYY dates, decimal commas), plus mapping.toml for clm-pseudonymize. About three
/// years of history end at --as-of. The same arguments always give byte-identical files.
#[derive(Debug, Parser)]
#[command(
    name = "clm-synth",
    version,
    after_help = "Example:\n  clm-synth --clients 5000 --seed 7 --as-of 2026-11-01 --out ./demo-club\n  \
                  clm-synth --clients 100000 --out /tmp/club-cp1251 --encoding cp1251\n\n\
                  All names, phones, e-mails, passports and addresses are fake; e-mails use \
                  only the example.com/.org/.net domains."
)]
struct Cli {
    /// Number of clients (leads included), 1 to 9999999; about 100 visit rows each.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_CLIENTS))]
    clients: u64,

    /// Random seed: the same seed (and other arguments) gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Last day of the history, YYYY-MM-DD [default: today].
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,

    /// Output directory; created if missing, refused if not empty.
    #[arg(long)]
    out: PathBuf,

    /// Text encoding of the CSV files (mapping.toml is always UTF-8).
    #[arg(long, value_enum, default_value = "utf-8")]
    encoding: Enc,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("expected a date as YYYY-MM-DD ({e})"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = Config {
        clients: cli.clients,
        seed: cli.seed,
        as_of: cli
            .as_of
            .unwrap_or_else(|| chrono::Local::now().date_naive()),
        out: cli.out,
        encoding: match cli.encoding {
            Enc::Utf8 => Encoding::Utf8,
            Enc::Cp1251 => Encoding::Cp1251,
        },
    };
    let started = Instant::now();
    let n = match generate(&cfg) {
        Ok(n) => n,
        Err(e) => {
            // A user's mistake (non-empty directory, full disk) deserves one readable line
            // with its causes, not a backtrace.
            eprintln!("clm-synth: error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "clm-synth: wrote {} in {:.1} s (as of {}, seed {}, {})",
        cfg.out.display(),
        started.elapsed().as_secs_f64(),
        cfg.as_of,
        cfg.seed,
        cfg.encoding.mapping_name()
    );
    for (file, rows) in [
        ("clients.csv", n.clients),
        ("memberships.csv", n.memberships),
        ("visits.csv", n.visits),
        ("services.csv", n.services),
        ("sales.csv", n.sales),
        ("feedback.csv", n.feedback),
    ] {
        eprintln!("  {file:<16} {rows:>12} rows");
    }
    eprintln!("  mapping.toml");
    ExitCode::SUCCESS
}
