//! `clm-analyze portfolio` from the command line: its arguments and [`run_cli`]. The
//! computation (clubs, per-club figures, the network's distribution) is
//! [`clm_query::portfolio`], re-exported here.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use clap::Args;
use clm_core::keys::DataKey;

pub use clm_query::portfolio::*;

use crate::bundles::Refused;
use crate::cli::Fail;
use crate::output::{self, Format};
use crate::profile::Profile;
use crate::queries::Library;

const AFTER_HELP: &str = "\
Clubs: repeated --bundle DIR (bundles made with the same pseudonymization key are one club,
named after the directory of its latest bundle), --bundles-dir DIR (every bundle directory
inside), or --portfolio FILE.toml:

  data_key = \"keys/kd.key\"              # optional: for clubs without their own
  [clubs.\"North\"]
  bundles = [\"exports/north-2026-09\", \"exports/north-2026-10\"]
  data_key = \"keys/north.key\"           # optional: this club's K_d
  [clubs.\"South\"]
  bundles = [\"exports/s\"]

Paths are relative to the file. Without a data key in the file, --data-key FILE or
CLM_DATA_KEY is the key of every club.

Outputs: `clubs` (club, metric, grain, period, value, rank, clubs_in_rank, note) and
`network` (metric, grain, period, better, clubs, p25, median, p75, best, note); with
--for-club NAME only `club_network`, that club's figures beside the network's distribution
(no other club's name or figure): the file for that club's report. A statistic or rank from
fewer than 5 clubs is withheld (empty, note `withheld: fewer than 5 clubs`).

Examples:
  clm-analyze portfolio --bundle north --bundle south --bundle east --data-key kd.key
  clm-analyze portfolio --bundles-dir exports/ --format csv --out network.csv
  clm-analyze portfolio --portfolio clubs.toml --format json --out benchmarks.json
  clm-analyze portfolio --portfolio clubs.toml --for-club North --format json --out north-network.json
  clm-analyze portfolio --profile classes --bundles-dir schools/
  clm-analyze portfolio --bundles-dir /shared/exports/ --cluster df://10.0.0.5:50050";

/// `clm-analyze portfolio`.
#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct PortfolioArgs {
    /// A bundle directory (repeatable); bundles of one pseudonymization key are one club
    #[arg(long = "bundle", value_name = "DIR")]
    pub bundles: Vec<PathBuf>,
    /// A directory whose sub-directories are bundles (each with a manifest.json); repeatable
    #[arg(long = "bundles-dir", value_name = "DIR")]
    pub bundles_dirs: Vec<PathBuf>,
    /// A portfolio file (TOML): each club's name, bundle directories and data key
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bundles", "bundles_dirs"])]
    pub portfolio: Option<PathBuf>,
    /// File holding the data key (K_d) of every club (with --portfolio: of the clubs the file
    /// gives no key for); default: the CLM_DATA_KEY environment variable
    #[arg(long, value_name = "FILE")]
    pub data_key: Option<PathBuf>,
    /// Only this club's view: the network's distribution beside its own figures
    #[arg(long, value_name = "NAME")]
    pub for_club: Option<String>,
    /// Read query files from DIR first (files there override the embedded ones)
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// The as-of date D of every club (YYYY-MM-DD); default: the earliest of the clubs'
    /// latest as-of dates, so that every club has data up to D
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
    /// Override one profile parameter (repeatable), e.g. --param periods=6
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The business profile: fitness (default), classes, auto_service, b2b_service, or a FILE
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Language of the profile's texts
    #[arg(long, value_parser = ["ru", "en"], default_value = "ru")]
    pub lang: String,
    /// Run each club's SQL on the Ballista cluster whose scheduler is at df://HOST:PORT
    /// (`clm-cluster scheduler`; its executors must see the bundle paths). Default: locally
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to FILE instead of stdout (two outputs: FILE-STEM.clubs.EXT and FILE-STEM.network.EXT)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The profile of the run: the file (or fitness), the language, then every `--param`.
fn load_profile(args: &PortfolioArgs) -> Result<Profile> {
    let mut profile = match &args.profile {
        Some(p) => Profile::named_or_file(p)?,
        None => Profile::fitness(),
    };
    profile.set_lang(&args.lang)?;
    for p in &args.params {
        profile.set(p)?;
    }
    Ok(profile)
}

fn network_text(queries_dir: Option<&Path>) -> Result<(String, String)> {
    if let Some(dir) = queries_dir {
        let p = dir.join(NETWORK_FILE);
        if p.exists() {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            return Ok((text, p.display().to_string()));
        }
    }
    Ok((NETWORK_SQL.to_string(), format!("queries/{NETWORK_FILE}")))
}

fn fail(e: anyhow::Error) -> Fail {
    if e.chain().any(|c| c.downcast_ref::<Refused>().is_some()) {
        Fail::Usage(e)
    } else {
        Fail::Analysis(e)
    }
}

/// `clm-analyze portfolio`, from the command line.
pub async fn run_cli(args: PortfolioArgs) -> std::result::Result<(), Fail> {
    if args.format == Format::Parquet && args.out.is_none() {
        return Err(Fail::Usage(anyhow!("--format parquet needs --out FILE")));
    }
    let profile = load_profile(&args).map_err(Fail::Usage)?;
    let library = match &args.queries {
        Some(dir) => Library::with_dir(dir).map_err(Fail::Usage)?,
        None => Library::embedded(),
    }
    .for_profile(&profile);
    if !profile.applies("segmentation") && !profile.applies("metrics") {
        return Err(Fail::Usage(anyhow!(
            "profile {} has neither segmentation nor metrics: nothing to benchmark",
            profile.name
        )));
    }
    let (text, origin) = network_text(args.queries.as_deref()).map_err(Fail::Usage)?;
    let analysis = network_analysis(&text, &origin).map_err(Fail::Usage)?;
    let started = std::time::Instant::now();
    let clubs = match &args.portfolio {
        Some(file) => clubs_from_file(file, args.data_key.as_deref()),
        None => {
            let mut dirs = args.bundles.clone();
            for d in &args.bundles_dirs {
                dirs.extend(bundles_in(d).map_err(fail)?);
            }
            DataKey::resolve(args.data_key.as_deref())
                .map_err(|e| refused(e.to_string()))
                .and_then(|key| clubs_from_dirs(&dirs, &key))
        }
    }
    .map_err(fail)?;
    let opened = started.elapsed();
    let engines = crate::cli::engines(Default::default(), args.cluster.as_deref())?;
    let result = run(
        &engines,
        &clubs,
        &library,
        &profile,
        &analysis,
        args.as_of,
        args.for_club.as_deref(),
    )
    .await
    .map_err(fail)?;
    for n in &result.notes {
        eprintln!("note: {n}");
    }
    let bundles: usize = clubs.iter().map(|c| c.bundles.len()).sum();
    let total = started.elapsed().as_secs_f64();
    eprintln!(
        "portfolio: {} clubs ({bundles} bundles), D = {}, {:.1} s ({:.1} s verifying bundles, {:.2} s per club)",
        result.clubs,
        result.as_of,
        total,
        opened.as_secs_f64(),
        (total - opened.as_secs_f64()) / result.clubs.max(1) as f64
    );
    let written = output::write(&result.outputs, args.format, args.out.as_deref()).map_err(fail)?;
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
