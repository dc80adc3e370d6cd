//! `clm-analyze portfolio`: network benchmarks across the clubs of a consultancy (issue 12 §1);
//! its command-line arguments are in `clm-analyze` (`crates/clm-analyze/src/portfolio.rs`).
//!
//! A portfolio is a set of clubs; a club is a set of bundles made with one pseudonymization key
//! (successive exports of that club, unioned as `run` does). Clubs never join: each club's
//! bundles are registered in an engine of its own, and the SQL library runs on that club alone
//! (segmentation, and metrics at month and quarter grain), so every per-club figure is the one
//! the club's own `run segmentation` / `run metrics` gives. The figures are then one in-memory
//! table (`portfolio_figures`), and queries/portfolio_network.sql computes, per metric and
//! period, the network's p25 / median / p75 / best and each club's rank — withheld where fewer
//! than [`MIN_CLUBS`] clubs have a value.
//!
//! Clubs come from repeated `--bundle DIR`, from `--bundles-dir DIR` (every bundle inside), or
//! from a portfolio file (`--portfolio FILE.toml`) that names each club, its bundle
//! directories and its data key. `--for-club NAME` writes one club's view: the network's
//! distribution beside that club's own figures, and nothing of any other club.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use clm_core::keys::DataKey;
use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use serde::Deserialize;

use crate::bundles::{self, OpenedBundle, Refused};
use crate::engine::{date_scalar, Engine, MissingTables, Output, Select};
use crate::engines::Engines;
use crate::profile::{Param, Profile};
use crate::queries::{self, Analysis, Library, Statement};

/// The network statistics (queries/portfolio_network.sql), embedded; `--queries DIR` holding a
/// file of this name replaces it.
pub const NETWORK_FILE: &str = "portfolio_network.sql";
pub const NETWORK_SQL: &str = include_str!("../../../queries/portfolio_network.sql");

/// No network statistic (percentile, best, rank) from fewer clubs than this.
pub const MIN_CLUBS: i64 = 5;

/// The period grains of the benchmarks.
pub const GRAINS: [&str; 2] = ["month", "quarter"];

/// The grain of the stage shares: they are taken at D.
pub const AS_OF_GRAIN: &str = "as_of";

/// The prefix of a stage share's metric name (`stage_share:active`).
pub const STAGE_SHARE: &str = "stage_share:";

/// One club of the portfolio: its name and its bundles (one pseudonymization key), sorted by
/// as-of date.
pub struct Club {
    pub name: String,
    pub bundles: Vec<OpenedBundle>,
}

impl Club {
    pub fn fingerprint(&self) -> &str {
        &self.bundles[0].bundle.manifest().pseudonym_key_fingerprint
    }
    /// The latest as-of date of the club's bundles.
    pub fn as_of(&self) -> NaiveDate {
        self.bundles
            .iter()
            .map(|b| b.as_of())
            .max()
            .expect("a club has a bundle")
    }
}

/// The name of a club given by its bundles (not named in a portfolio file): the name its latest
/// bundle's manifest records (the mapping's `club`), else that bundle's directory name.
pub fn club_name(bundles: &[OpenedBundle]) -> String {
    let latest = bundles
        .iter()
        .max_by(|a, b| {
            let (ma, mb) = (a.bundle.manifest(), b.bundle.manifest());
            (ma.as_of, &ma.created_at).cmp(&(mb.as_of, &mb.created_at))
        })
        .expect("a club has a bundle");
    latest.bundle.manifest().club_name(latest.dir())
}

/// `msg` as a [`Refused`] error: the input is refused (a usage error, not an analysis one).
pub fn refused(msg: String) -> anyhow::Error {
    anyhow!(Refused(msg))
}

/// Opens and verifies one bundle.
fn open_one(dir: &Path, key: &DataKey) -> Result<OpenedBundle> {
    let mut v = bundles::open_all(&[dir.to_path_buf()], key)?;
    Ok(v.remove(0))
}

/// The bundle directories inside `dir`: every sub-directory holding a manifest.json, by name.
pub fn bundles_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        refused(format!(
            "--bundles-dir {}: cannot read the directory: {e}",
            dir.display()
        ))
    })?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.join(clm_core::bundle::MANIFEST_FILE).is_file())
        .collect();
    found.sort();
    if found.is_empty() {
        bail!(Refused(format!(
            "--bundles-dir {}: no bundle inside (no sub-directory with a {})",
            dir.display(),
            clm_core::bundle::MANIFEST_FILE
        )));
    }
    Ok(found)
}

/// The same directory given twice would count its club twice.
fn check_distinct_dirs(dirs: &[PathBuf]) -> Result<()> {
    let mut seen: BTreeMap<PathBuf, &PathBuf> = BTreeMap::new();
    for d in dirs {
        let canon = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        if let Some(first) = seen.insert(canon, d) {
            bail!(Refused(format!(
                "bundle {} is given twice (also as {}): give each bundle once",
                d.display(),
                first.display()
            )));
        }
    }
    Ok(())
}

/// Two directories holding the same export (a copy) would count its rows twice.
fn check_distinct_exports(club: &Club) -> Result<()> {
    bundles::check_distinct_exports(&club.bundles).map_err(|e| {
        let why = e
            .downcast_ref::<Refused>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| e.to_string());
        anyhow!(Refused(format!("club {:?}: {why}", club.name)))
    })
}

/// Clubs from bundle directories opened with one data key: grouped by pseudonymization key,
/// each named by [`club_name`]. Two groups of the same name are refused.
pub fn clubs_from_dirs(dirs: &[PathBuf], key: &DataKey) -> Result<Vec<Club>> {
    if dirs.is_empty() {
        bail!(Refused(
            "no bundle given: --bundle DIR (repeatable), --bundles-dir DIR or --portfolio FILE"
                .into()
        ));
    }
    check_distinct_dirs(dirs)?;
    let mut groups: Vec<(String, Vec<OpenedBundle>)> = Vec::new();
    for d in dirs {
        let b = open_one(d, key)?;
        let fp = b.bundle.manifest().pseudonym_key_fingerprint.clone();
        match groups.iter_mut().find(|(f, _)| *f == fp) {
            Some((_, v)) => v.push(b),
            None => groups.push((fp, vec![b])),
        }
    }
    let mut clubs: Vec<Club> = groups
        .into_iter()
        .map(|(_, mut bundles)| {
            bundles::sort_by_export(&mut bundles);
            Club {
                name: club_name(&bundles),
                bundles,
            }
        })
        .collect();
    clubs.sort_by(|a, b| a.name.cmp(&b.name));
    for w in clubs.windows(2) {
        if w[0].name == w[1].name {
            let same: Vec<String> = clubs
                .iter()
                .filter(|c| c.name == w[0].name)
                .flat_map(|c| {
                    c.bundles.iter().map(|b| {
                        format!(
                            "  {} (pseudonymization key {})",
                            b.dir().display(),
                            c.fingerprint()
                        )
                    })
                })
                .collect();
            bail!(Refused(format!(
                "clubs refused: two clubs are named {:?} (the directory name of their latest \
                 bundle), but their bundles were made with different pseudonymization keys, so \
                 they are different clubs:\n{}\nName the clubs in a portfolio file \
                 (--portfolio FILE.toml, see `clm-analyze portfolio --help`) or rename a directory.",
                w[0].name,
                same.join("\n")
            )));
        }
    }
    for c in &clubs {
        check_distinct_exports(c)?;
    }
    Ok(clubs)
}

/// A portfolio file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortfolioToml {
    /// The data key of every club without its own.
    #[serde(default)]
    data_key: Option<PathBuf>,
    #[serde(default)]
    clubs: BTreeMap<String, ClubToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClubToml {
    bundles: Vec<PathBuf>,
    #[serde(default)]
    data_key: Option<PathBuf>,
}

/// Clubs from a portfolio file (see the help of `portfolio`). Paths are relative to the file;
/// a club without a data key takes the file's `data_key`, else `fallback_key` (--data-key or
/// CLM_DATA_KEY). A club whose bundles differ in pseudonymization key, or two clubs with the
/// same one, are refused.
pub fn clubs_from_file(file: &Path, fallback_key: Option<&Path>) -> Result<Vec<Club>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| refused(format!("--portfolio {}: cannot read: {e}", file.display())))?;
    let parsed: PortfolioToml = toml::from_str(&text)
        .map_err(|e| refused(format!("--portfolio {}: {e}", file.display())))?;
    if parsed.clubs.is_empty() {
        bail!(Refused(format!(
            "--portfolio {}: no club (add [clubs.\"NAME\"] tables with bundles = [\"DIR\", ...])",
            file.display()
        )));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let rel = |p: &Path| -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let default_key_file = parsed.data_key.as_deref().map(rel);
    let mut fallback: Option<DataKey> = None;
    let mut all_dirs = Vec::new();
    let mut clubs = Vec::new();
    for (name, entry) in &parsed.clubs {
        if name.trim().is_empty() {
            bail!(Refused(format!(
                "--portfolio {}: a club has an empty name",
                file.display()
            )));
        }
        if entry.bundles.is_empty() {
            bail!(Refused(format!(
                "--portfolio {}: club {name:?} has no bundle (bundles = [\"DIR\", ...])",
                file.display()
            )));
        }
        let own = match entry
            .data_key
            .as_deref()
            .map(rel)
            .or(default_key_file.clone())
        {
            Some(p) => Some(DataKey::resolve(Some(&p)).map_err(|e| {
                refused(format!(
                    "--portfolio {}: club {name:?}: data key: {e}",
                    file.display()
                ))
            })?),
            None => None,
        };
        if own.is_none() && fallback.is_none() {
            fallback = Some(DataKey::resolve(fallback_key).map_err(|e| {
                refused(format!(
                    "--portfolio {}: club {name:?} has no data_key, and {e}",
                    file.display()
                ))
            })?);
        }
        let key: &DataKey = match &own {
            Some(k) => k,
            None => fallback.as_ref().expect("set above"),
        };
        let dirs: Vec<PathBuf> = entry.bundles.iter().map(|p| rel(p)).collect();
        all_dirs.extend(dirs.iter().cloned());
        let mut opened = Vec::new();
        for d in &dirs {
            opened.push(open_one(d, key).map_err(|e| {
                refused(format!(
                    "--portfolio {}: club {name:?}: {e:#}",
                    file.display()
                ))
            })?);
        }
        if let Some(list) = bundles::mixed_keys(&opened) {
            bail!(Refused(format!(
                "--portfolio {}: club {name:?} refused: its bundles were made with different \
                 pseudonymization keys, so they are not one club (their client ids do not \
                 join):\n{}\nGive each club its own [clubs.\"NAME\"] entry.",
                file.display(),
                list
            )));
        }
        bundles::sort_by_export(&mut opened);
        clubs.push(Club {
            name: name.clone(),
            bundles: opened,
        });
    }
    check_distinct_dirs(&all_dirs)?;
    let mut by_fp: BTreeMap<&str, &str> = BTreeMap::new();
    for c in &clubs {
        if let Some(other) = by_fp.insert(c.fingerprint(), &c.name) {
            bail!(Refused(format!(
                "--portfolio {}: clubs {other:?} and {:?} have bundles made with the same \
                 pseudonymization key ({}), so they are one club: list its bundles under one entry",
                file.display(),
                c.name,
                c.fingerprint()
            )));
        }
    }
    for c in &clubs {
        check_distinct_exports(c)?;
    }
    Ok(clubs)
}

/// The schema of `portfolio_figures`, the table the network SQL reads.
pub fn figures_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("club", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("grain", DataType::Utf8, false),
        Field::new("period_start", DataType::Date32, false),
        Field::new("value", DataType::Float64, true),
    ]))
}

/// Rows of `portfolio_figures`, gathered club by club.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    club: Vec<String>,
    metric: Vec<String>,
    grain: Vec<String>,
    period_start: Vec<i32>,
    value: Vec<Option<f64>>,
}

impl Figures {
    pub fn push(&mut self, club: &str, metric: &str, grain: &str, day: i32, value: Option<f64>) {
        self.club.push(club.to_string());
        self.metric.push(metric.to_string());
        self.grain.push(grain.to_string());
        self.period_start.push(day);
        self.value.push(value);
    }

    pub fn len(&self) -> usize {
        self.club.len()
    }

    pub fn is_empty(&self) -> bool {
        self.club.is_empty()
    }

    pub fn append(&mut self, other: Figures) {
        self.club.extend(other.club);
        self.metric.extend(other.metric);
        self.grain.extend(other.grain);
        self.period_start.extend(other.period_start);
        self.value.extend(other.value);
    }

    pub fn batch(&self) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(&self.club)),
            Arc::new(StringArray::from_iter_values(&self.metric)),
            Arc::new(StringArray::from_iter_values(&self.grain)),
            Arc::new(Date32Array::from(self.period_start.clone())),
            Arc::new(Float64Array::from(self.value.clone())),
        ];
        Ok(RecordBatch::try_new(figures_schema(), cols)?)
    }
}

fn day_number(d: NaiveDate) -> i32 {
    match date_scalar(d) {
        datafusion::scalar::ScalarValue::Date32(Some(n)) => n,
        _ => unreachable!("date_scalar gives a Date32"),
    }
}

fn column<'a>(b: &'a RecordBatch, name: &str, output: &str) -> Result<&'a ArrayRef> {
    b.column_by_name(name)
        .ok_or_else(|| anyhow!("output {output} has no column {name}"))
}

fn strings(a: &ArrayRef) -> Result<StringArray> {
    let c = cast(a, &DataType::Utf8)?;
    Ok(c.as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8")
        .clone())
}

fn floats(a: &ArrayRef) -> Result<Float64Array> {
    let c = cast(a, &DataType::Float64)?;
    Ok(c.as_any()
        .downcast_ref::<Float64Array>()
        .expect("cast to Float64")
        .clone())
}

/// Columns of the metrics output that are not metrics.
const METRIC_KEYS: [&str; 3] = ["period_start", "period_end", "branch"];

/// The analyses run on every club, parsed once for the whole portfolio: those of the profile
/// among segmentation and metrics.
pub struct ClubAnalyses {
    pub segmentation: Option<Analysis>,
    pub metrics: Option<Analysis>,
}

impl ClubAnalyses {
    pub fn load(library: &Library, profile: &Profile) -> Result<ClubAnalyses> {
        let get = |name: &str| -> Result<Option<Analysis>> {
            match profile.applies(name) {
                true => library.analysis(name).map(Some),
                false => Ok(None),
            }
        };
        Ok(ClubAnalyses {
            segmentation: get("segmentation")?,
            metrics: get("metrics")?,
        })
    }
}

/// One club's figures: the segmentation's stage shares of the whole base at D and the period
/// metrics of scope `(all)` at each grain of [`GRAINS`], from `analyses` run on `engine`
/// (which holds that club's tables only). Analyses the profile does not have, or that the
/// club's tables cannot feed, are left out with a note.
pub async fn club_figures(
    engine: &Engine,
    club: &str,
    analyses: &ClubAnalyses,
    profile: &Profile,
    as_of: NaiveDate,
) -> Result<(Figures, Vec<String>)> {
    let mut figures = Figures::default();
    let mut notes = Vec::new();
    let d = day_number(as_of);
    let left_out = |e: anyhow::Error, what: &str, notes: &mut Vec<String>| -> Result<()> {
        match e.downcast_ref::<MissingTables>() {
            Some(m) => {
                notes.push(format!("club {club:?}: {what} left out: {m}"));
                Ok(())
            }
            None => Err(e.context(format!("club {club:?}: {what}"))),
        }
    };
    if let Some(analysis) = &analyses.segmentation {
        match engine
            .run_select(analysis, profile, as_of, Select::Only("stages"))
            .await
        {
            Ok(r) => {
                notes.extend(r.notes.into_iter().map(|n| format!("club {club:?}: {n}")));
                for o in &r.outputs {
                    for b in &o.batches {
                        let branch = strings(column(b, "branch", &o.name)?)?;
                        let stage = strings(column(b, "stage", &o.name)?)?;
                        let share = floats(column(b, "share", &o.name)?)?;
                        for i in 0..b.num_rows() {
                            if branch.is_valid(i) && branch.value(i) == "(all)" && stage.is_valid(i)
                            {
                                let metric = format!("{STAGE_SHARE}{}", stage.value(i));
                                let v = share.is_valid(i).then(|| share.value(i));
                                figures.push(club, &metric, AS_OF_GRAIN, d, v);
                            }
                        }
                    }
                }
            }
            Err(e) => left_out(e, "segmentation", &mut notes)?,
        }
    }
    if let Some(analysis) = &analyses.metrics {
        for grain in GRAINS {
            let mut p = profile.clone();
            p.set_grain(grain)?;
            let r = match engine
                .run_select(analysis, &p, as_of, Select::Only("metrics"))
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    left_out(e, &format!("metrics ({grain})"), &mut notes)?;
                    break;
                }
            };
            for n in r.notes {
                let n = format!("club {club:?}: {n}");
                if !notes.contains(&n) {
                    notes.push(n);
                }
            }
            for o in &r.outputs {
                let metrics: Vec<&str> = o
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .filter(|n| !METRIC_KEYS.contains(n))
                    .collect();
                for b in &o.batches {
                    let branch = strings(column(b, "branch", &o.name)?)?;
                    let start = cast(column(b, "period_start", &o.name)?, &DataType::Date32)?;
                    let start = start
                        .as_any()
                        .downcast_ref::<Date32Array>()
                        .expect("cast to Date32");
                    let values: Vec<Float64Array> = metrics
                        .iter()
                        .map(|m| floats(column(b, m, &o.name)?))
                        .collect::<Result<_>>()?;
                    for i in 0..b.num_rows() {
                        if !(branch.is_valid(i) && branch.value(i) == "(all)" && start.is_valid(i))
                        {
                            continue;
                        }
                        for (m, v) in metrics.iter().zip(&values) {
                            let x = v.is_valid(i).then(|| v.value(i));
                            figures.push(club, m, grain, start.value(i), x);
                        }
                    }
                }
            }
        }
    }
    Ok((figures, notes))
}

/// The network analysis from the text of portfolio_network.sql (directives `@title`,
/// `@output NAME [detail]` and `@include FILE` of a file of plain statements of the embedded
/// library; it reads only `portfolio_figures`).
pub fn network_analysis(text: &str, origin: &str) -> Result<Analysis> {
    let mut a = Analysis {
        name: "portfolio_network".into(),
        title: String::new(),
        requires: vec![],
        optional: vec![],
        statements: vec![],
        params: BTreeSet::new(),
    };
    for chunk in queries::split_statements(text) {
        let mut output = None;
        for line in chunk.text.lines() {
            let Some(d) = line.trim().strip_prefix("-- @") else {
                continue;
            };
            let (word, rest) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
            match word {
                "title" => {
                    if a.title.is_empty() {
                        a.title = rest.trim().to_string();
                    }
                }
                "output" => {
                    let mut words = rest.split_whitespace();
                    let name = words
                        .next()
                        .ok_or_else(|| anyhow!("{origin}: `-- @output` needs a name"))?;
                    let detail = match words.next() {
                        None => false,
                        Some("detail") => true,
                        Some(w) => bail!("{origin}: `-- @output {name} {w}`: expected `detail`"),
                    };
                    output = Some(queries::Output {
                        name: name.to_string(),
                        detail,
                    });
                }
                "include" => {
                    // a file of plain statements of the embedded library (lower_is_better.sql)
                    let file = rest.trim();
                    let (text, from) = queries::Library::embedded()
                        .file(file)
                        .with_context(|| format!("{origin}: `-- @include {file}`"))?;
                    for inc in queries::split_statements(&text) {
                        if inc.has_sql {
                            let sql = inc.text.trim().to_string();
                            a.params.extend(queries::placeholders(&sql));
                            a.statements.push(Statement {
                                sql,
                                origin: format!("{from}:{}", inc.first_sql_line),
                                output: None,
                            });
                        }
                    }
                }
                other => bail!(
                    "{origin}: directive `-- @{other}` is not for the network file (only @title, @output and @include)"
                ),
            }
        }
        if chunk.has_sql {
            let sql = chunk.text.trim().to_string();
            a.params.extend(queries::placeholders(&sql));
            a.statements.push(Statement {
                sql,
                origin: format!("{origin}:{}", chunk.first_sql_line),
                output,
            });
        } else if output.is_some() {
            bail!("{origin}: `-- @output` is not followed by a statement");
        }
    }
    for want in ["clubs", "network", "club_network"] {
        if !a.outputs().any(|o| o.name == want) {
            bail!("{origin}: no statement is marked `-- @output {want}`");
        }
    }
    Ok(a)
}

/// Runs the network statistics over `figures` (rows of [`figures_schema`]). `for_club`:
/// only that club's view (`club_network`); else `clubs` and `network`.
pub async fn network(
    analysis: &Analysis,
    figures: Vec<RecordBatch>,
    as_of: NaiveDate,
    min_clubs: i64,
    for_club: Option<&str>,
) -> Result<Vec<Output>> {
    network_on(
        &Engines::default(),
        analysis,
        figures,
        as_of,
        min_clubs,
        for_club,
    )
    .await
}

/// [`network`] on an engine of `engines` (local, or on a cluster).
pub async fn network_on(
    engines: &Engines,
    analysis: &Analysis,
    figures: Vec<RecordBatch>,
    as_of: NaiveDate,
    min_clubs: i64,
    for_club: Option<&str>,
) -> Result<Vec<Output>> {
    let engine = engines.engine().await?;
    let table = MemTable::try_new(figures_schema(), vec![figures])?;
    engine
        .context()
        .register_table("portfolio_figures", Arc::new(table))?;
    let mut profile = Profile::fitness();
    profile.insert_param("min_clubs", Param::Int(min_clubs));
    profile.insert_param(
        "for_club",
        Param::Str(for_club.unwrap_or_default().to_string()),
    );
    let select = match for_club {
        Some(_) => Select::Only("club_network"),
        None => Select::Summaries,
    };
    let r = engine.run_select(analysis, &profile, as_of, select).await?;
    Ok(r.outputs)
}

fn progress(n: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} clubs, {elapsed} (eta {eta}) {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix("portfolio");
    bar
}

/// The result of a portfolio run.
pub struct PortfolioRun {
    pub outputs: Vec<Output>,
    pub notes: Vec<String>,
    pub clubs: usize,
    pub as_of: NaiveDate,
}

/// Runs the analyses on every club, then the network statistics.
pub async fn run(
    engines: &Engines,
    clubs: &[Club],
    library: &Library,
    profile: &Profile,
    network_sql: &Analysis,
    as_of: Option<NaiveDate>,
    for_club: Option<&str>,
) -> Result<PortfolioRun> {
    let mut notes = Vec::new();
    if let Some(name) = for_club {
        if !clubs.iter().any(|c| c.name == name) {
            let names: Vec<&str> = clubs.iter().map(|c| c.name.as_str()).collect();
            bail!(Refused(format!(
                "--for-club {name:?}: no club of that name in the portfolio (clubs: {})",
                names.join(", ")
            )));
        }
    }
    let latest: Vec<NaiveDate> = clubs.iter().map(Club::as_of).collect();
    let d = match as_of {
        Some(d) => d,
        None => {
            let d = *latest.iter().min().expect("at least one club");
            if latest.iter().any(|x| *x != d) {
                notes.push(format!(
                    "the clubs' latest exports are as of different dates: D = {d}, the earliest, \
                     so that every club has data up to D (--as-of DATE to choose another)"
                ));
            }
            d
        }
    };
    if let Some(max) = latest.iter().max() {
        if d > *max {
            notes.push(format!(
                "--as-of {d} is after every club's latest as-of date ({max}): there is no data after it"
            ));
        }
    }
    let analyses = ClubAnalyses::load(library, profile)?;
    let bar = progress(clubs.len());
    let mut figures = Figures::default();
    for club in clubs {
        bar.set_message(club.name.clone());
        // An engine of its own per club: no table of one club is ever visible to another's
        // queries (a SessionContext costs about 0.4 ms to set up; the analyses are parsed once).
        let mut engine = engines.engine().await?;
        let reg = bundles::register(&mut engine, &club.bundles).await?;
        notes.extend(
            reg.into_iter()
                .map(|n| format!("club {:?}: {n}", club.name)),
        );
        let (f, n) = club_figures(&engine, &club.name, &analyses, profile, d).await?;
        figures.append(f);
        notes.extend(n);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let outputs = network_on(
        engines,
        network_sql,
        vec![figures.batch()?],
        d,
        MIN_CLUBS,
        for_club,
    )
    .await?;
    Ok(PortfolioRun {
        outputs,
        notes,
        clubs: clubs.len(),
        as_of: d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_portfolio_file_parses() {
        let p: PortfolioToml =
            toml::from_str(include_str!("../../../examples/portfolio.toml")).unwrap();
        assert_eq!(p.clubs.len(), 3);
        assert_eq!(p.clubs["North"].bundles.len(), 2);
        assert!(p.clubs["South"].data_key.is_none());
        assert!(p.data_key.is_some());
    }

    #[test]
    fn the_network_file_parses_with_its_three_outputs() {
        let a = network_analysis(NETWORK_SQL, "queries/portfolio_network.sql").unwrap();
        let outs: Vec<(&str, bool)> = a.outputs().map(|o| (o.name.as_str(), o.detail)).collect();
        assert_eq!(
            outs,
            [("clubs", false), ("network", false), ("club_network", true)]
        );
        assert!(a.params.contains("min_clubs") && a.params.contains("for_club"));
    }
}
