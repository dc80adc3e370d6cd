//! The command line of `clm-analyze`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use clm_core::keys::DataKey;

use crate::bundles::{self, OpenedBundle, Refused};
use crate::engine::{Engine, Limits, MissingTables, Output};
use crate::loyalty::LoyaltyRules;
use crate::output::{self, Format};
use crate::profile::Profile;
use crate::queries::Library;
use crate::report::{self, BundleInfo, ReportOptions};
use crate::targets::Targets;
use clm_query::engines::Engines;

const AFTER_HELP: &str = "\
The data key (K_d) comes from --data-key FILE or the CLM_DATA_KEY environment variable (64 hex
digits); a key typed on the command line itself is refused. Every bundle is verified before
anything is read (manifest HMAC, file list, SHA-256); one that fails is refused.

Examples:
  clm-analyze list
  clm-analyze run segmentation --bundle export-2024-03 --data-key kd.key
  clm-analyze run segmentation --bundle b --detail clients --format csv --out clients.csv
  clm-analyze run metrics --bundle b1 --bundle b2 --grain week --param periods=8
  clm-analyze run rfm --bundle export-2024-03 --as-of 2024-02-29 --format json
  clm-analyze sql --bundle export-2024-03 \"SELECT branch, count(*) FROM clients GROUP BY branch\"
  clm-analyze sql --bundle export-2024-03 -f my-query.sql --format parquet --out result.parquet
  clm-analyze sql --bundle export-2024-03 --memory-limit 4G -f big-query.sql
  clm-analyze shell --bundle export-2024-03
  clm-analyze dek --bundle export-2024-03
  clm-analyze report --bundle export-2024-03 --targets targets.toml --loyalty loyalty.toml --out report/
  clm-analyze targets --bundle export-2024-03 --targets targets.toml
  clm-analyze run loyalty --bundle export-2024-03 --loyalty loyalty.toml
  clm-analyze run clv --bundle export-2024-03 --detail churn_risk --format csv --out calls.csv
  clm-analyze portfolio --bundles-dir exports/ --data-key kd.key --format csv --out network.csv
  clm-analyze report --bundle export-2024-03 --network north-network.json --out report/
  clm-analyze report --profile classes --bundle school-2024-03 --out report/
  clm-analyze run list --name trial_follow_up --profile classes --bundle school-2024-03 --format csv --out calls.csv

Profiles (--profile): fitness (default), classes, auto_service, b2b_service, or a profile file;
`clm-analyze list --profile NAME` shows its analyses, parameters and saved filters.

The SQL reads the bundles' tables only: no external tables, COPY, INSERT or SET (views are
allowed); results are written only by --out.

Exit codes: 0 ok; 1 analysis or SQL error; 2 usage error or bundle refused.";

#[derive(Parser, Debug)]
#[command(
    name = "clm-analyze",
    version,
    about = "Analyse pseudonymized, encrypted clm bundles with SQL (DataFusion)",
    long_about = "Analyse pseudonymized, encrypted clm bundles with SQL (DataFusion).\n\n\
        Tables are read straight from the encrypted Parquet files of one or more bundles: \
        clients, memberships, visits, services, sales, feedback (SPEC §4). Bundles of \
        successive exports made with the same pseudonymization key are read together.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run SQL over the bundles' tables ($as_of and the profile's parameters are bound)
    #[command(after_help = "Examples:\n  \
        clm-analyze sql --bundle b \"SELECT branch, count(*) AS n FROM clients GROUP BY branch\"\n  \
        clm-analyze sql --bundle b -f query.sql --format csv --out result.csv\n  \
        clm-analyze sql --bundle b 'SELECT count(*) FROM visits WHERE visited_at >= $as_of - 30'")]
    Sql {
        #[command(flatten)]
        bundles: BundleArgs,
        /// The SQL (one or more statements separated by `;`)
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        query: Option<String>,
        /// Read the SQL from FILE
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Interactive SQL shell: statements end with `;`, \d lists tables, \q quits
    Shell {
        #[command(flatten)]
        bundles: BundleArgs,
        #[command(flatten)]
        params: ParamArgs,
    },
    /// List the named analyses with their parameters and defaults
    List {
        /// Read query files from DIR first (files there override the embedded ones)
        #[arg(long, value_name = "DIR")]
        queries: Option<PathBuf>,
        /// Profile: fitness (default), classes, auto_service, b2b_service, or a profile FILE
        #[arg(long, value_name = "NAME|FILE")]
        profile: Option<String>,
    },
    /// Run a named analysis (see `list`)
    #[command(after_help = "Examples:\n  \
        clm-analyze run segmentation --bundle b --data-key kd.key\n  \
        clm-analyze run segmentation --bundle b --detail clients --format csv --out clients.csv\n  \
        clm-analyze run metrics --bundle b --grain quarter --param periods=4 --param renewal_grace_days=14\n  \
        clm-analyze run cohorts --bundle b --detail cells --format json\n  \
        clm-analyze run list --name trial_follow_up --profile classes --bundle b --format csv --out calls.csv")]
    Run {
        /// The analysis: segmentation, metrics, funnel, rfm, rfm_summary, cohorts, ...
        name: String,
        #[command(flatten)]
        bundles: BundleArgs,
        /// The period grain of per-period analyses
        #[arg(long, value_parser = ["week", "month", "quarter"])]
        grain: Option<String>,
        /// Show the named detail output instead of the summaries (e.g. `clients`: the
        /// per-client list of segmentation or rfm)
        #[arg(long, value_name = "OUTPUT")]
        detail: Option<String>,
        /// Read query files from DIR first (files there override the embedded ones)
        #[arg(long, value_name = "DIR")]
        queries: Option<PathBuf>,
        /// Points rules for `loyalty` (TOML; see examples/loyalty.toml)
        #[arg(long, value_name = "FILE")]
        loyalty: Option<PathBuf>,
        /// Targets for `targets` (TOML; see examples/targets.toml)
        #[arg(long, value_name = "FILE")]
        targets: Option<PathBuf>,
        /// The saved filter `list` evaluates: a [lists.NAME] of the profile or of --lists
        #[arg(long = "name", value_name = "LIST")]
        list_name: Option<String>,
        /// More saved filters ([lists.NAME] tables; see examples/lists.toml)
        #[arg(long, value_name = "FILE")]
        lists: Option<PathBuf>,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Targets against actuals: baseline (mean of the preceding periods), actual, target, met (SPEC §5.7)
    #[command(
        after_help = "The targets file names, for each target, a §5.2 metric, a scope (a branch or \"(all)\"), a period (2026-10, 2026-W43, 2026-Q3, or \"all\" with a grain) and the value; see examples/targets.toml.\n\nExamples:\n \
        clm-analyze targets --bundle b --targets examples/targets.toml\n  \
        clm-analyze targets --bundle b --targets t.toml --format csv --out targets.csv"
    )]
    Targets {
        #[command(flatten)]
        bundles: BundleArgs,
        /// The targets (TOML)
        #[arg(long, value_name = "FILE")]
        targets: PathBuf,
        /// Read query files from DIR first (files there override the embedded ones)
        #[arg(long, value_name = "DIR")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Write the consultant's report: report.html (charts), forms.xlsx (statistics forms), a CSV per table, segments.csv (SPEC §5.8)
    #[command(
        after_help = "Writes into --out DIR (created if missing; files of the same names are replaced): report.html, one self-contained page (inline CSS and SVG, nothing fetched), with the sections of the profile (--profile); forms.xlsx (profiles with period metrics), sheets weekly / monthly / quarterly, one row per §5.2 metric and one column per period, a block per scope ((all) first, then each branch); a CSV file per table of the page; segments.csv, every client with stage, flags, RFM segment and recommended action (pseudonyms only).\n\nExamples:\n \
        clm-analyze report --bundle b --data-key kd.key --out report/\n  \
        clm-analyze report --bundle b --targets examples/targets.toml --loyalty examples/loyalty.toml --lang en --out report-en/"
    )]
    Report {
        #[command(flatten)]
        bundles: BundleArgs,
        /// Targets (TOML; see examples/targets.toml): the targets section
        #[arg(long, value_name = "FILE")]
        targets: Option<PathBuf>,
        /// Points rules (TOML; see examples/loyalty.toml): the loyalty section
        #[arg(long, value_name = "FILE")]
        loyalty: Option<PathBuf>,
        /// The club against its network: a `portfolio --for-club NAME --format json` file (the
        /// network's distribution and this club's figures only); adds the section "vs the network"
        #[arg(long, value_name = "FILE")]
        network: Option<PathBuf>,
        /// Read query files from DIR first (files there override the embedded ones)
        #[arg(long, value_name = "DIR")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        params: ParamArgs,
        /// The directory to write into
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    // --- portfolio (issue 12 §1; src/portfolio.rs, computed in clm_query::portfolio) ---
    /// Network benchmarks across clubs: each club's stage shares and period metrics, the network's p25 / median / p75 / best, ranks
    Portfolio(crate::portfolio::PortfolioArgs),
    // --- end portfolio ---
    /// Print each bundle's data-encryption key, base64 (as DuckDB's PRAGMA add_parquet_key takes it)
    Dek {
        #[command(flatten)]
        bundles: BundleArgs,
    },
}

#[derive(Args, Debug)]
pub struct BundleArgs {
    /// A bundle directory; repeat for several exports made with the same pseudonymization key
    #[arg(long = "bundle", value_name = "DIR", required = true)]
    pub bundles: Vec<PathBuf>,
    /// File holding the data key (K_d); default: the CLM_DATA_KEY environment variable
    #[arg(long, value_name = "FILE")]
    pub data_key: Option<PathBuf>,
    /// Memory the query engine may use (e.g. 4G, 512M, 25%); a query needing more fails
    /// with a message. Default: half the machine's memory
    #[arg(long, value_name = "SIZE", value_parser = crate::engine::parse_size)]
    pub memory_limit: Option<usize>,
    /// Let sorts and aggregations that exceed --memory-limit spill to temporary files in DIR.
    /// Those files hold decrypted rows: give a directory on an encrypted disk. Default: no
    /// spilling, nothing decrypted is written
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Run the SQL on the Ballista cluster whose scheduler is at df://HOST:PORT (started with
    /// `clm-cluster scheduler`; its executors must see the bundle paths). Default: locally
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
}

#[derive(Args, Debug)]
pub struct ParamArgs {
    /// The as-of date D (YYYY-MM-DD); default: the latest bundle's as-of date
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
    /// Override one profile parameter (repeatable), e.g. --param inactive_days=14
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The business profile: fitness (default), classes, auto_service, b2b_service (embedded),
    /// or a profile FILE of parameters, stage names and actions (see profiles/)
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Language of stage names and recommended actions ($stage_labels, $stage_actions) and
    /// of the report
    #[arg(long, value_parser = ["ru", "en"], default_value = "ru")]
    pub lang: String,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to FILE instead of stdout. An analysis with several outputs (e.g. metrics:
    /// metrics and starter_delivery) writes FILE-STEM.OUTPUT.EXT for each; --out DIR/ (an
    /// existing directory or a path ending in /) writes DIR/OUTPUT.EXT for each
    #[arg(long, value_name = "FILE|DIR/")]
    pub out: Option<PathBuf>,
}

/// How a command failed, which decides the exit code.
#[derive(Debug)]
pub enum Fail {
    /// Usage error or bundle refused: exit 2.
    Usage(anyhow::Error),
    /// Analysis or SQL error: exit 1.
    Analysis(anyhow::Error),
}

impl Fail {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Fail::Usage(_) => ExitCode::from(2),
            Fail::Analysis(_) => ExitCode::from(1),
        }
    }
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Fail::Usage(e) | Fail::Analysis(e) => e,
        }
    }
}

trait UsageExt<T> {
    fn usage(self) -> std::result::Result<T, Fail>;
    fn analysis(self) -> std::result::Result<T, Fail>;
}

impl<T, E: Into<anyhow::Error>> UsageExt<T> for std::result::Result<T, E> {
    fn usage(self) -> std::result::Result<T, Fail> {
        self.map_err(|e| Fail::Usage(e.into()))
    }
    fn analysis(self) -> std::result::Result<T, Fail> {
        self.map_err(|e| {
            let e: anyhow::Error = e.into();
            // A refused bundle is a usage failure wherever it shows up.
            if e.downcast_ref::<Refused>().is_some() {
                Fail::Usage(e)
            } else {
                Fail::Analysis(e)
            }
        })
    }
}

/// Stack of the command's threads (see `main_with`).
const STACK_BYTES: usize = 64 << 20;

/// Entry point used by `main`.
pub fn main_with(cli: Cli) -> ExitCode {
    // Large stacks: on a cluster (--cluster) the plans are encoded recursively, and the query
    // files' plans nest a few hundred levels deep.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clm-analyze: error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    // The command itself runs on a thread with the same large stack (block_on polls on the
    // calling thread).
    let outcome = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("clm-analyze".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, || rt.block_on(dispatch(cli)))
            .map(|t| t.join())
    });
    let outcome = match outcome {
        Ok(Ok(o)) => o,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => {
            eprintln!("clm-analyze: error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): not an error.
        Err(f) if is_broken_pipe(f.error()) => ExitCode::SUCCESS,
        Err(f) => {
            match f.error().downcast_ref::<MissingTables>() {
                Some(m) => eprintln!("clm-analyze: error: {m}"),
                None => eprintln!("clm-analyze: error: {:#}", f.error()),
            }
            f.exit_code()
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<datafusion::arrow::error::ArrowError>()
                .is_some_and(|a| matches!(a, datafusion::arrow::error::ArrowError::IoError(_, io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}

/// `--format parquet` writes a file: it needs `--out`.
fn check_output(args: &OutputArgs) -> std::result::Result<(), Fail> {
    if args.format == Format::Parquet && args.out.is_none() {
        return Err(Fail::Usage(anyhow!("--format parquet needs --out FILE")));
    }
    Ok(())
}

async fn dispatch(cli: Cli) -> std::result::Result<(), Fail> {
    match cli.command {
        Command::List { queries, profile } => list(queries.as_deref(), profile.as_deref()),
        Command::Dek { bundles } => dek(&bundles),
        Command::Portfolio(args) => crate::portfolio::run_cli(args).await, // issue 12 §1
        Command::Sql {
            bundles,
            query,
            file,
            params,
            out,
        } => {
            check_output(&out)?;
            let text = match (query, file) {
                (Some(q), _) => q,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read {}", f.display()))
                    .usage()?,
                (None, None) => return Err(Fail::Usage(anyhow!("give SQL or -f FILE"))),
            };
            let profile = load_profile(&params, None)?;
            let engine = open_engine(&bundles).await?;
            let as_of = as_of(&engine, &params)?;
            let values = engine.run_param_values(&profile, as_of);
            let outputs = engine.sql(&text, &values).await.analysis()?;
            emit(&outputs, &out)
        }
        Command::Shell { bundles, params } => {
            let profile = load_profile(&params, None)?;
            let engine = open_engine(&bundles).await?;
            let as_of = as_of(&engine, &params)?;
            crate::shell::run(engine, profile, as_of).await.analysis()
        }
        Command::Run {
            name,
            bundles,
            grain,
            detail,
            queries,
            loyalty,
            targets,
            list_name,
            lists,
            params,
            out,
        } => {
            check_output(&out)?;
            let rules = match &loyalty {
                Some(f) => Some(LoyaltyRules::load(f).usage()?),
                None => None,
            };
            let mut profile = load_profile_with(&params, grain.as_deref(), rules.as_ref())?;
            if let Some(f) = &lists {
                profile.add_lists(f).usage()?;
            }
            let full = library(queries.as_deref())?;
            let library = full.for_profile(&profile);
            let analysis = library
                .analysis(&name)
                .map_err(|e| unknown_analysis(&full, &name).unwrap_or(e))
                .usage()?;
            match (name.as_str(), &list_name) {
                ("list", Some(n)) => {
                    let list = profile.list(n).usage()?.clone();
                    for (k, v) in list.params(n) {
                        profile.insert_param(k, v);
                    }
                }
                ("list", None) => {
                    return Err(Fail::Usage(anyhow!(
                        "analysis `list` needs --name LIST (the profile {}'s lists: {})",
                        profile.name,
                        profile.lists.keys().cloned().collect::<Vec<_>>().join(", ")
                    )))
                }
                (_, Some(_)) => {
                    return Err(Fail::Usage(anyhow!(
                        "--name is for `run list` (a saved filter), not for `run {name}`"
                    )))
                }
                _ => {}
            }
            if name == "targets" {
                let Some(file) = targets else {
                    return Err(Fail::Usage(anyhow!(
                        "analysis `targets` needs --targets FILE (see examples/targets.toml)"
                    )));
                };
                let targets = Targets::load(&file).usage()?;
                let engine = open_engine(&bundles).await?;
                let as_of = as_of(&engine, &params)?;
                let result = targets
                    .run(&engine, &library, &profile, as_of)
                    .await
                    .analysis()?;
                for n in &result.notes {
                    eprintln!("note: {n}");
                }
                return emit(&result.outputs, &out);
            }
            if name == "loyalty" && rules.is_none() {
                return Err(Fail::Usage(anyhow!(
                    "analysis `loyalty` needs the points rules: --loyalty FILE (see examples/loyalty.toml)"
                )));
            }
            let engine = open_engine(&bundles).await?;
            let as_of = as_of(&engine, &params)?;
            // D after all the data: say so rather than give zeros silently (crate::clv)
            if let Some(n) = crate::clv::as_of_note(&engine, as_of).await {
                eprintln!("warning: {n}");
            }
            // `run clv`: the lifetime models (crate::clv) on the SQL summary of clv.sql
            let result = if name == "clv" {
                crate::clv::run(&engine, &library, &profile, as_of, detail.as_deref()).await
            } else {
                engine
                    .run(&analysis, &profile, as_of, detail.as_deref())
                    .await
            }
            .analysis()?;
            for n in &result.notes {
                eprintln!("note: {n}");
            }
            emit(&result.outputs, &out)
        }
        Command::Targets {
            bundles,
            targets,
            queries,
            params,
            out,
        } => {
            check_output(&out)?;
            let targets = Targets::load(&targets).usage()?;
            let profile = load_profile(&params, None)?;
            let library = library(queries.as_deref())?.for_profile(&profile);
            if !profile.applies("targets") {
                return Err(Fail::Usage(anyhow!(
                    "targets do not apply to profile {}",
                    profile.name
                )));
            }
            let engine = open_engine(&bundles).await?;
            let as_of = as_of(&engine, &params)?;
            let result = targets
                .run(&engine, &library, &profile, as_of)
                .await
                .analysis()?;
            for n in &result.notes {
                eprintln!("note: {n}");
            }
            emit(&result.outputs, &out)
        }
        Command::Report {
            bundles,
            targets,
            loyalty,
            network,
            queries,
            params,
            out,
        } => {
            let targets = match &targets {
                Some(f) => Some(Targets::load(f).usage()?),
                None => None,
            };
            let loyalty = match &loyalty {
                Some(f) => Some(LoyaltyRules::load(f).usage()?),
                None => None,
            };
            let network = match &network {
                Some(f) => Some(crate::network_section::load(f).usage()?),
                None => None,
            };
            let profile = load_profile(&params, None)?;
            let library = library(queries.as_deref())?.for_profile(&profile);
            let opened = open_bundles(&bundles)?;
            let infos: Vec<BundleInfo> = opened
                .iter()
                .map(|b| {
                    let m = b.bundle.manifest();
                    BundleInfo {
                        dir: b
                            .dir()
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| b.dir().display().to_string()),
                        as_of: m.as_of,
                        created_at: m.created_at.clone(),
                        export_id: m.export_id.clone(),
                        branch_suppressed: m
                            .sources
                            .iter()
                            .filter_map(|s| s.suppressed_values.get("branch"))
                            .sum(),
                    }
                })
                .collect();
            let engine = engine_of(&opened, &bundles).await?;
            let as_of = as_of(&engine, &params)?;
            let opts = ReportOptions {
                library: &library,
                profile: &profile,
                as_of,
                targets: targets.as_ref(),
                loyalty: loyalty.as_ref(),
                network: network.as_deref(),
                bundles: infos,
            };
            let started = std::time::Instant::now();
            let gathered = report::gather(&engine, &opts).await.analysis()?;
            for n in &gathered.notes {
                eprintln!("note: {n}");
            }
            for (k, why) in &gathered.missing {
                eprintln!("note: report section {k} left out: {why}");
            }
            let timings: Vec<String> = gathered
                .timings
                .iter()
                .map(|(k, d)| format!("{k} {:.1} s", d.as_secs_f64()))
                .collect();
            eprintln!("analyses: {}", timings.join(", "));
            let written = report::write(&gathered, &opts, &out).analysis()?;
            // the files a reader looks for first, then how many tables came with them
            let names: Vec<String> = written
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            let main: Vec<&str> = ["report.html", "forms.xlsx", "segments.csv"]
                .into_iter()
                .filter(|n| names.iter().any(|w| w == n))
                .collect();
            eprintln!(
                "wrote {} files into {} in {:.1} s: {} and {} more CSV tables",
                written.len(),
                out.display(),
                started.elapsed().as_secs_f64(),
                main.join(", "),
                names.len() - main.len()
            );
            Ok(())
        }
    }
}

/// For a name no library file has: "no such analysis", and the nearest name if one is close.
fn unknown_analysis(full: &Library, name: &str) -> Option<anyhow::Error> {
    let names = full.names();
    if names.iter().any(|n| n == name) {
        return None;
    }
    let near = names
        .iter()
        .map(|n| (strsim::levenshtein(n, name), n))
        .filter(|(d, n)| *d <= (n.len() / 3).max(2))
        .min();
    Some(match near {
        Some((_, n)) => {
            anyhow!("no such analysis: {name}; did you mean {n}? (`clm-analyze list` lists them)")
        }
        None => anyhow!(
            "no such analysis: {name} (the analyses: {}; `clm-analyze list` describes them)",
            names.join(", ")
        ),
    })
}

fn library(queries: Option<&Path>) -> std::result::Result<Library, Fail> {
    match queries {
        Some(dir) => Library::with_dir(dir).usage(),
        None => Ok(Library::embedded()),
    }
}

fn load_profile(params: &ParamArgs, grain: Option<&str>) -> std::result::Result<Profile, Fail> {
    load_profile_with(params, grain, None)
}

/// The profile of a run: the file (or the embedded fitness profile), the language, the
/// points rules if given, then `--grain` and every `--param` (which win).
fn load_profile_with(
    params: &ParamArgs,
    grain: Option<&str>,
    rules: Option<&LoyaltyRules>,
) -> std::result::Result<Profile, Fail> {
    let mut profile = match &params.profile {
        Some(p) => Profile::named_or_file(p).usage()?,
        None => Profile::fitness(),
    };
    profile.set_lang(&params.lang).usage()?;
    if let Some(r) = rules {
        r.apply(&mut profile);
    }
    if let Some(g) = grain {
        profile.set_grain(g).usage()?;
    }
    for p in &params.params {
        profile.set(p).usage()?;
    }
    Ok(profile)
}

fn as_of(engine: &Engine, params: &ParamArgs) -> std::result::Result<NaiveDate, Fail> {
    match (params.as_of, engine.default_as_of()) {
        (Some(d), Some(b)) => {
            if d > b {
                eprintln!(
                    "note: --as-of {d} is after the latest bundle's as-of date {b}: \
                     there is no data after {b}"
                );
            }
            Ok(d)
        }
        (Some(d), None) => Ok(d),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(Fail::Usage(anyhow!("no as-of date: give --as-of DATE"))),
    }
}

fn data_key(args: &BundleArgs) -> std::result::Result<DataKey, Fail> {
    DataKey::resolve(args.data_key.as_deref()).usage()
}

fn open_bundles(args: &BundleArgs) -> std::result::Result<Vec<OpenedBundle>, Fail> {
    let key = data_key(args)?;
    bundles::open_all(&args.bundles, &key).usage()
}

async fn open_engine(args: &BundleArgs) -> std::result::Result<Engine, Fail> {
    let opened = open_bundles(args)?;
    engine_of(&opened, args).await
}

async fn engine_of(
    opened: &[OpenedBundle],
    args: &BundleArgs,
) -> std::result::Result<Engine, Fail> {
    let mut limits = Limits::default();
    if let Some(m) = args.memory_limit {
        limits.memory = m;
    }
    if let Some(d) = &args.spill_dir {
        if !d.is_dir() {
            return Err(Fail::Usage(anyhow!(
                "--spill-dir {}: not a directory",
                d.display()
            )));
        }
        limits.spill_dir = Some(d.clone());
    }
    let mut engine = engines(limits, args.cluster.as_deref())?
        .engine()
        .await
        .usage()?;
    let notes = bundles::register(&mut engine, opened).await.usage()?;
    for n in notes {
        eprintln!("note: {n}");
    }
    Ok(engine)
}

/// Where the engines run: locally, or on the cluster of `--cluster`.
pub(crate) fn engines(limits: Limits, cluster: Option<&str>) -> std::result::Result<Engines, Fail> {
    let Some(url) = cluster else {
        return Ok(Engines::local(limits));
    };
    #[cfg(feature = "cluster")]
    {
        clm_cluster::session::parse_url(url).usage()?;
        let remote = clm_cluster::session::Remote {
            url: url.to_string(),
        };
        Ok(Engines::on_cluster(limits, std::sync::Arc::new(remote)))
    }
    #[cfg(not(feature = "cluster"))]
    {
        Err(Fail::Usage(anyhow!(
            "--cluster {url}: this clm-analyze was built without the `cluster` feature"
        )))
    }
}

fn emit(outputs: &[Output], args: &OutputArgs) -> std::result::Result<(), Fail> {
    let written = output::write(outputs, args.format, args.out.as_deref()).analysis()?;
    if let (Some(out), true) = (&args.out, written.len() > 1) {
        if !output::is_dir_target(out) {
            let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
            eprintln!(
                "note: {} outputs ({}), so one file each beside {}, not {} itself; \
                 --out DIR/ writes them into a directory, --detail OUTPUT picks one",
                names.len(),
                names.join(", "),
                out.display(),
                out.display()
            );
        }
    }
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

fn list(queries: Option<&Path>, profile: Option<&str>) -> std::result::Result<(), Fail> {
    let profile = match profile {
        Some(p) => Profile::named_or_file(p).usage()?,
        None => Profile::fitness(),
    };
    let library = match queries {
        Some(dir) => Library::with_dir(dir).usage()?,
        None => Library::embedded(),
    }
    .for_profile(&profile);
    let analyses: Vec<_> = library
        .names()
        .into_iter()
        .map(|n| library.analysis(&n))
        .collect::<Result<_>>()
        .analysis()?;
    let width = analyses.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for a in &analyses {
        let params: Vec<String> = a
            .params
            .iter()
            .filter(|p| {
                !matches!(
                    p.as_str(),
                    "stage_order" | "stage_actions" | "stage_labels" | "tables_present"
                ) && !p.starts_with("list_")
            })
            .map(|p| match p.as_str() {
                "as_of" => "as_of=<bundle as-of>".to_string(),
                _ => format!(
                    "{p}={}",
                    profile
                        .describe(p)
                        .unwrap_or_else(|| match a.name.as_str() {
                            "loyalty" => "<--loyalty FILE>".into(),
                            "targets" => "<--targets FILE>".into(),
                            _ => "<not in profile>".into(),
                        })
                ),
            })
            .collect();
        let details: Vec<&str> = a
            .outputs()
            .filter(|o| o.detail)
            .map(|o| o.name.as_str())
            .collect();
        let mut detail = if details.is_empty() {
            String::new()
        } else {
            format!("; --detail {}", details.join("|"))
        };
        if a.params.iter().any(|p| p.starts_with("list_")) {
            detail.push_str("; --name LIST");
        }
        println!(
            "{:width$}  {}  [{}{}]",
            a.name,
            a.title,
            params.join(" "),
            detail
        );
    }
    println!(
        "\nprofile {} ({}): {}",
        profile.name, profile.origin, profile.description
    );
    if !profile.lists.is_empty() {
        println!("saved filters (run list --name LIST):");
        let w = profile.lists.keys().map(|k| k.len()).max().unwrap_or(0);
        for (name, l) in &profile.lists {
            println!("  {name:w$}  {}", l.description);
        }
    }
    Ok(())
}

fn dek(args: &BundleArgs) -> std::result::Result<(), Fail> {
    let opened = open_bundles(args)?;
    eprintln!(
        "# Each line: bundle directory, as-of date, DEK (base64). In DuckDB:\n\
         #   PRAGMA add_parquet_key('clm', '<DEK>');\n\
         #   SELECT * FROM read_parquet('<DIR>/clients.parquet', encryption_config = {{footer_key: 'clm'}});\n\
         # Whoever holds the DEK can read that bundle: keep it as private as the data key."
    );
    for b in &opened {
        println!(
            "{}\t{}\t{}",
            b.dir().display(),
            b.as_of(),
            b.bundle.dek().to_base64()
        );
    }
    Ok(())
}
