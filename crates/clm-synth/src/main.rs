//! `clm-synth`: command-line front end of the synthetic export generator.

use chrono::NaiveDate;
use clap::{Parser, ValueEnum};
use clm_synth::{generate_club, Club, Config, Encoding, Profile, MAX_CLIENTS};
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Prof {
    /// Two-branch fitness club: clients, memberships, visits, services, sales, feedback
    Fitness,
    /// School of group classes: students, subscriptions, attendance, payments, feedback
    Classes,
    /// Car dealer's service centres: clients, sales (vehicles with VINs), service_visits, feedback
    #[value(name = "auto_service", alias = "auto-service")]
    AutoService,
    /// IT outsourcing company: accounts, contracts, invoices, contacts, nps
    #[value(name = "b2b_service", alias = "b2b-service")]
    B2bService,
}

/// Write a realistic synthetic export of a business's CRM/accounting system (fake personal
/// data), with the mapping.toml that clm-pseudonymize reads.
///
/// The output imitates a Russian export (";"-separated CSV, Russian headers, DD.MM.YYYY
/// dates, decimal commas, UTF-8 or Windows-1251). --profile picks the business (SPEC §6):
/// a two-branch fitness club (clients.csv, memberships.csv, visits.csv, services.csv,
/// sales.csv, feedback.csv; about three years of history), a school of group classes
/// (students.csv, subscriptions.csv, attendance.csv, payments.csv, feedback.csv; four
/// years), a car dealer's service (clients.csv, sales.csv, service_visits.csv, feedback.csv;
/// eight years of vehicle sales, six of service visits) or an IT outsourcing company with
/// company clients (accounts.csv, contracts.csv, invoices.csv, contacts.csv, nps.csv; five
/// years). The history ends at --as-of. The same arguments always give byte-identical files.
#[derive(Debug, Parser)]
#[command(
    name = "clm-synth",
    version,
    after_help = "Examples:\n  clm-synth --clients 5000 --seed 7 --as-of 2026-11-01 --out ./demo-club\n  \
                  clm-synth --clients 100000 --out /tmp/club-cp1251 --encoding cp1251\n  \
                  clm-synth --profile classes --clients 10000 --as-of 2026-11-01 --out ./school\n  \
                  clm-synth --profile auto_service --clients 10000 --out ./dealer\n  \
                  clm-synth --profile b2b_service --clients 2000 --seed 3 --out ./it-company\n  \
                  for i in 1 2 3; do clm-synth --clients 3000 --seed $i --club \"Club $i\" --out ./net/club-$i; done\n\n\
                  Then: clm-pseudonymize export --mapping ./school/mapping.toml ...\n\n\
                  All names, phones, e-mails, passports, INNs, VINs and addresses are fake; \
                  e-mails use only the example.com/.org/.net domains."
)]
struct Cli {
    /// Which business the export imitates.
    #[arg(long, value_enum, default_value = "fitness")]
    profile: Prof,

    /// Number of clients (leads, students, car owners or company accounts included), 1 to
    /// 9999999. Fitness: about 100 visit rows each; classes: about 25 attended lessons;
    /// auto_service: about 3 service visits; b2b_service: about 60 contacts and 25 invoices.
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

    /// One club of a network: its name goes into mapping.toml (`club = "NAME"`, recorded in
    /// the bundle's manifest), and its behaviour (renewal, starter completion, PT conversion,
    /// visit frequency, churn) is drawn from --seed, as with --spread.
    #[arg(long, value_name = "NAME", value_parser = parse_club)]
    club: Option<String>,

    /// Draw the club's behaviour from --seed (fitness and classes), for benchmarks across
    /// clubs; without it (and without --club) every seed has the default club's behaviour.
    #[arg(long)]
    spread: bool,
}

fn parse_club(s: &str) -> Result<String, String> {
    clm_synth::club::check_name(s).map(|()| s.to_string())
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
    let profile = match cli.profile {
        Prof::Fitness => Profile::Fitness,
        Prof::Classes => Profile::Classes,
        Prof::AutoService => Profile::AutoService,
        Prof::B2bService => Profile::B2bService,
    };
    let club = Club {
        spread: cli.spread || cli.club.is_some(),
        name: cli.club,
    };
    let started = Instant::now();
    let n = match generate_club(&cfg, profile, &club) {
        Ok(n) => n,
        Err(e) => {
            // A user's mistake (non-empty directory, full disk) deserves one readable line
            // with its causes, not a backtrace.
            eprintln!("clm-synth: error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let profile_note = match profile {
        Profile::Fitness => String::new(),
        p => format!("profile {}, ", p.name()),
    };
    eprintln!(
        "clm-synth: wrote {} in {:.1} s ({}as of {}, seed {}, {})",
        cfg.out.display(),
        started.elapsed().as_secs_f64(),
        profile_note,
        cfg.as_of,
        cfg.seed,
        cfg.encoding.mapping_name()
    );
    if let Some(name) = &club.name {
        eprintln!("  club {name}");
    }
    let knobs = club.knobs(cfg.seed);
    if !knobs.is_neutral() && matches!(profile, Profile::Fitness | Profile::Classes) {
        eprintln!("  behaviour: {}", knobs.describe());
    }
    for (table, file) in profile.files() {
        eprintln!("  {file:<20} {:>12} rows", n.of(table));
    }
    eprintln!("  mapping.toml");
    ExitCode::SUCCESS
}
