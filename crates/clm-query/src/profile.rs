//! Analysis profiles (SPEC §6): a TOML file of parameters and stage names, not code.
//!
//! Every key of `[params]` becomes a SQL placeholder of the same name (`$onboarding_days`),
//! bound as a typed value: integers as Int64, strings as Utf8, lists of strings as
//! List<Utf8>. `[stages] order` is bound as `$stage_order` (List<Utf8>). The as-of date is
//! bound as `$as_of` (Date32) by the engine, not by the profile.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use datafusion::arrow::array::{ArrayRef, ListArray, StringArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::scalar::ScalarValue;
use serde::Deserialize;

/// The default profile, embedded at build time.
pub const FITNESS: &str = include_str!("../../../profiles/fitness.toml");

/// Every embedded profile, by name (`--profile NAME`); the first is the default.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("fitness", FITNESS),
    ("classes", include_str!("../../../profiles/classes.toml")),
    (
        "auto_service",
        include_str!("../../../profiles/auto_service.toml"),
    ),
    (
        "b2b_service",
        include_str!("../../../profiles/b2b_service.toml"),
    ),
];

/// The report's sections (`[report] sections`), each drawn from the analyses named beside it.
pub const REPORT_SECTIONS: &[(&str, &[&str])] = &[
    ("summary", &["segmentation"]),
    ("stages", &["segmentation"]),
    ("actions", &["segments"]),
    ("funnel", &["funnel"]),
    ("cohorts", &["cohorts"]),
    ("trends", &["metrics"]),
    ("rfm", &["rfm"]),
    ("clv", &["clv"]),
    ("targets", &["targets"]),
    ("loyalty", &["loyalty"]),
    ("coverage", &["coverage"]),
];

/// Parameters every profile must define, because the embedded queries use them.
pub const GRAINS: [&str; 3] = ["week", "month", "quarter"];

/// One parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    /// A number with a fraction (e.g. a point's money value); bound as Float64.
    Float(f64),
    Str(String),
    List(Vec<String>),
}

impl Param {
    /// The value as DataFusion binds it to a placeholder.
    pub fn to_scalar(&self) -> ScalarValue {
        match self {
            Param::Int(i) => ScalarValue::Int64(Some(*i)),
            Param::Float(x) => ScalarValue::Float64(Some(*x)),
            Param::Str(s) => ScalarValue::Utf8(Some(s.clone())),
            Param::List(items) => string_list(items),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Param::Int(_) => "integer",
            Param::Float(_) => "number",
            Param::Str(_) => "string",
            Param::List(_) => "list of strings",
        }
    }

    /// Parse `text` as a value of the same kind as `self` (for `--param key=value`).
    fn parse_like(&self, text: &str) -> Result<Param> {
        Ok(match self {
            Param::Int(_) => Param::Int(
                text.trim()
                    .parse()
                    .map_err(|_| anyhow!("expected an integer, got {text:?}"))?,
            ),
            Param::Float(_) => Param::Float(
                text.trim()
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| anyhow!("expected a number, got {text:?}"))?,
            ),
            Param::Str(_) => Param::Str(text.trim().to_string()),
            Param::List(_) => Param::List(
                text.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
        })
    }
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Param::Int(i) => write!(f, "{i}"),
            Param::Float(x) => write!(f, "{x}"),
            Param::Str(s) => write!(f, "{s}"),
            Param::List(items) if items.is_empty() => write!(f, "(none)"),
            Param::List(items) => write!(f, "{}", items.join(",")),
        }
    }
}

/// A List<Utf8> scalar (the type `CAST($x AS VARCHAR[])` gives in SQL).
pub fn string_list(items: &[String]) -> ScalarValue {
    let values: ArrayRef = Arc::new(StringArray::from_iter_values(items.iter()));
    let list = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Utf8, true)),
        OffsetBuffer::from_lengths([items.len()]),
        values,
        None,
    );
    ScalarValue::List(Arc::new(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    #[serde(default)]
    description: String,
    params: BTreeMap<String, toml::Value>,
    stages: Stages,
    /// `[actions.LANG]`: stage -> recommended action text.
    #[serde(default)]
    actions: BTreeMap<String, BTreeMap<String, String>>,
    /// `[stage_labels.LANG]`: stage -> the stage's name for people.
    #[serde(default)]
    stage_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// The analyses that apply (empty: all).
    #[serde(default)]
    analyses: Vec<String>,
    /// `[queries]`: query file -> the file this profile uses instead.
    #[serde(default)]
    queries: BTreeMap<String, String>,
    #[serde(default)]
    report: Option<ReportSpec>,
    /// `[lists.NAME]`: saved filters (`clm-analyze run list --name NAME`).
    #[serde(default)]
    lists: BTreeMap<String, SavedList>,
    /// `[clv]`: the customer-lifetime models of `run clv` (bound as `$clv_KEY` parameters).
    #[serde(default)]
    clv: Option<ClvSpec>,
}

/// `[clv]`: what `clv_summary` summarises and how `run clv` predicts (SPEC §5.4, lifetimes).
/// Each key becomes the parameter `clv_KEY` (`--param clv_horizon=90`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClvSpec {
    /// The events: `sales` (amounts give the value), `visits` or `services`.
    #[serde(default = "ClvSpec::default_table")]
    pub table: String,
    /// The period unit of the summary and the model: `day`, `week` or `month`.
    #[serde(default = "ClvSpec::default_period")]
    pub period: String,
    /// Expected purchases are over the next `horizon` periods.
    #[serde(default = "ClvSpec::default_horizon")]
    pub horizon: i64,
    /// CLV is over the next `months` months (lifetimes' `time`).
    #[serde(default = "ClvSpec::default_months")]
    pub months: i64,
    /// Monthly discount rate of the CLV (lifetimes' `discount_rate`).
    #[serde(default = "ClvSpec::default_discount_rate")]
    pub discount_rate: f64,
    /// L2 penalty on the parameters of both fits (lifetimes' `penalizer_coef`).
    #[serde(default)]
    pub penalizer: f64,
}

impl ClvSpec {
    fn default_table() -> String {
        "sales".into()
    }
    fn default_period() -> String {
        "day".into()
    }
    fn default_horizon() -> i64 {
        30
    }
    fn default_months() -> i64 {
        12
    }
    fn default_discount_rate() -> f64 {
        0.01
    }
    /// The `$clv_*` parameters.
    fn params(&self) -> Vec<(String, Param)> {
        vec![
            ("clv_table".into(), Param::Str(self.table.clone())),
            ("clv_period".into(), Param::Str(self.period.clone())),
            ("clv_horizon".into(), Param::Int(self.horizon)),
            ("clv_months".into(), Param::Int(self.months)),
            ("clv_discount_rate".into(), Param::Float(self.discount_rate)),
            ("clv_penalizer".into(), Param::Float(self.penalizer)),
        ]
    }
}

impl Default for ClvSpec {
    fn default() -> ClvSpec {
        ClvSpec {
            table: ClvSpec::default_table(),
            period: ClvSpec::default_period(),
            horizon: ClvSpec::default_horizon(),
            months: ClvSpec::default_months(),
            discount_rate: ClvSpec::default_discount_rate(),
            penalizer: 0.0,
        }
    }
}

/// `[report]`: which sections the report has, in page order, and the figures of its summary.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    pub sections: Vec<String>,
    /// Metrics (columns of the `metrics` analysis) shown as the summary's figures for the
    /// last complete month.
    #[serde(default)]
    pub summary_metrics: Vec<String>,
    /// The currency of the money figures, as the report writes it beside them (`₽`, `RUB`;
    /// empty: none).
    #[serde(default)]
    pub currency: String,
}

impl Default for ReportSpec {
    fn default() -> ReportSpec {
        ReportSpec {
            sections: REPORT_SECTIONS.iter().map(|(s, _)| s.to_string()).collect(),
            summary_metrics: vec![],
            currency: String::new(),
        }
    }
}

/// A saved filter: the clients of the base at D that meet every condition given (an empty
/// list or a missing key is no condition). `clm-analyze run list --name NAME` evaluates it
/// into a list of pseudonyms the club turns back into a call list on site.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SavedList {
    #[serde(default)]
    pub description: String,
    /// Stages at D (names of `[stages] order`).
    #[serde(default)]
    pub stage: Vec<String>,
    /// Branches of the clients table.
    #[serde(default)]
    pub branch: Vec<String>,
    /// Products of the client's latest membership started by D (a school's programme).
    #[serde(default)]
    pub programme: Vec<String>,
    /// Age bands (`18-24`, `65+`, ...).
    #[serde(default)]
    pub age_band: Vec<String>,
    /// true: at least one open invoice (a sale with payment_status `open`) sold by D;
    /// false: none.
    #[serde(default)]
    pub open_invoices: Option<bool>,
}

impl SavedList {
    /// The conditions as the placeholders `list.sql` reads.
    pub fn params(&self, name: &str) -> Vec<(&'static str, Param)> {
        vec![
            ("list_name", Param::Str(name.to_string())),
            ("list_stage", Param::List(self.stage.clone())),
            ("list_branch", Param::List(self.branch.clone())),
            ("list_programme", Param::List(self.programme.clone())),
            ("list_age_band", Param::List(self.age_band.clone())),
            (
                "list_open_invoices",
                Param::Str(
                    match self.open_invoices {
                        None => "any",
                        Some(true) => "yes",
                        Some(false) => "no",
                    }
                    .to_string(),
                ),
            ),
        ]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stages {
    order: Vec<String>,
}

/// Placeholders the engine binds itself, which a profile's `[params]` may not set: the as-of
/// date, the profile's stage order and the per-stage texts aligned with it, and the canonical
/// tables the bundles hold. (Here rather than in `engine`, so that profiles do not depend on it.)
pub const BOUND_BY_ENGINE: [&str; 5] = [
    "as_of",
    "stage_order",
    "stage_actions",
    "stage_labels",
    "tables_present",
];

/// A loaded profile, with any `--param` overrides applied.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Where it came from ("embedded" or a path), for messages.
    pub origin: String,
    pub params: BTreeMap<String, Param>,
    pub stage_order: Vec<String>,
    /// Recommended action per stage, per language (`[actions.ru]`, `[actions.en]`).
    pub actions: BTreeMap<String, BTreeMap<String, String>>,
    /// Stage names for people, per language (`[stage_labels.ru]`, ...).
    pub stage_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// The language of the texts bound as `$stage_actions` / `$stage_labels` (`ru`, `en`).
    pub lang: String,
    /// The analyses that apply to this profile (empty: every analysis).
    pub analyses: Vec<String>,
    /// Query files this profile replaces: `lifecycle.sql` -> `lifecycle_classes.sql`.
    pub queries: BTreeMap<String, String>,
    /// The report's sections and summary figures.
    pub report: ReportSpec,
    /// Saved filters, by name.
    pub lists: BTreeMap<String, SavedList>,
}

/// Languages of the texts (`--lang`).
pub const LANGS: [&str; 2] = ["ru", "en"];

impl Profile {
    /// The embedded `profiles/fitness.toml`.
    pub fn fitness() -> Profile {
        Profile::embedded("fitness").expect("the embedded fitness profile is valid (tested)")
    }

    /// An embedded profile by name (`fitness`, `classes`, `auto_service`, `b2b_service`).
    pub fn embedded(name: &str) -> Result<Profile> {
        let (_, text) = EMBEDDED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            anyhow!(
                "no embedded profile {name:?} (known: {})",
                EMBEDDED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        Profile::parse(text, &format!("embedded profiles/{name}.toml"))
    }

    /// `--profile VALUE`: an embedded profile by name, else a profile file (`./classes` reads
    /// a file of that name). A value that is neither gets the list of embedded names.
    pub fn named_or_file(value: &str) -> Result<Profile> {
        if EMBEDDED.iter().any(|(n, _)| *n == value) {
            return Profile::embedded(value);
        }
        let path = Path::new(value);
        let looks_like_path = value.contains(['/', '\\']) || value.ends_with(".toml");
        if path.is_file() || looks_like_path {
            Profile::load(path)
        } else {
            Profile::embedded(value)
        }
    }

    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read profile {}", path.display()))?;
        Profile::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Profile> {
        let file: ProfileFile =
            toml::from_str(text).with_context(|| format!("profile {origin}"))?;
        let mut params = BTreeMap::new();
        for (key, value) in file.params {
            if !is_identifier(&key) {
                bail!("profile {origin}: parameter name {key:?} is not an identifier");
            }
            if BOUND_BY_ENGINE.contains(&key.as_str()) {
                bail!("profile {origin}: `{key}` is set by clm-analyze, not by a profile");
            }
            let p = match value {
                toml::Value::Integer(i) => Param::Int(i),
                toml::Value::Float(x) => Param::Float(x),
                toml::Value::String(s) => Param::Str(s),
                toml::Value::Array(items) => Param::List(
                    items
                        .into_iter()
                        .map(|v| match v {
                            toml::Value::String(s) => Ok(s),
                            other => Err(anyhow!(
                                "profile {origin}: parameter {key}: list items must be strings, got {other}"
                            )),
                        })
                        .collect::<Result<_>>()?,
                ),
                other => bail!(
                    "profile {origin}: parameter {key}: expected an integer, a string or a list of strings, got {other}"
                ),
            };
            params.insert(key, p);
        }
        if file.stages.order.is_empty() {
            bail!("profile {origin}: [stages] order is empty");
        }
        // RFM keys a profile file may lack (older files): SPEC §5.4's defaults
        for (key, value) in rfm_defaults() {
            params.entry(key.to_string()).or_insert(value);
        }
        // [clv]: the parameters clv_KEY (a profile without [clv] gets the defaults)
        for (key, value) in file.clv.unwrap_or_default().params() {
            if params.contains_key(&key) {
                bail!(
                    "profile {origin}: `{key}` is set by [clv] ({}), not by [params]",
                    &key[4..]
                );
            }
            params.insert(key, value);
        }
        let profile = Profile {
            name: file.name,
            description: file.description,
            origin: origin.to_string(),
            params,
            stage_order: file.stages.order,
            actions: file.actions,
            stage_labels: file.stage_labels,
            lang: LANGS[0].to_string(),
            analyses: file.analyses,
            queries: file.queries,
            report: file.report.unwrap_or_default(),
            lists: file.lists,
        };
        profile.check()?;
        Ok(profile)
    }

    fn check(&self) -> Result<()> {
        if let Some(g) = self.params.get("grain") {
            let g = g.to_string();
            if !GRAINS.contains(&g.as_str()) {
                bail!(
                    "profile {}: grain must be one of {}, got {g:?}",
                    self.origin,
                    GRAINS.join(", ")
                );
            }
        }
        if let Some(e) = self.params.get("rfm_events") {
            let e = e.to_string();
            if e != "visits" && e != "sales" {
                bail!(
                    "profile {}: rfm_events must be visits or sales, got {e:?}",
                    self.origin
                );
            }
        }
        self.check_rfm()?;
        for (key, known) in [
            ("clv_table", &["sales", "visits", "services"][..]),
            ("clv_period", &["day", "week", "month"][..]),
        ] {
            if let Some(v) = self.params.get(key) {
                let v = v.to_string();
                if !known.contains(&v.as_str()) {
                    bail!(
                        "profile {}: [clv] {} must be one of {}, got {v:?}",
                        self.origin,
                        &key[4..],
                        known.join(", ")
                    );
                }
            }
        }
        for (k, v) in &self.params {
            if let Param::Int(i) = v {
                if *i < 0 {
                    bail!("profile {}: {k} must not be negative, got {i}", self.origin);
                }
            }
            if let Param::Float(x) = v {
                if !x.is_finite() || *x < 0.0 {
                    bail!(
                        "profile {}: {k} must be a number >= 0, got {x}",
                        self.origin
                    );
                }
            }
        }
        for (what, table) in [
            ("actions", &self.actions),
            ("stage_labels", &self.stage_labels),
        ] {
            for (lang, texts) in table {
                if !LANGS.contains(&lang.as_str()) {
                    bail!(
                        "profile {}: [{what}.{lang}]: language must be one of {}",
                        self.origin,
                        LANGS.join(", ")
                    );
                }
                for stage in texts.keys() {
                    if !self.stage_order.contains(stage) {
                        bail!(
                            "profile {}: [{what}.{lang}] names stage {stage:?}, which [stages] order does not list",
                            self.origin
                        );
                    }
                }
            }
        }
        self.check_queries_and_report()
    }

    /// The RFM keys (SPEC §5.4): tie rule, bins, thresholds, window.
    fn check_rfm(&self) -> Result<()> {
        let origin = &self.origin;
        for (key, known) in [
            ("rfm_ties", &["dense", "cume_dist"][..]),
            ("rfm_bins", &["quantile", "fixed"][..]),
        ] {
            match self.params.get(key) {
                Some(Param::Str(v)) if known.contains(&v.as_str()) => {}
                Some(v) => bail!(
                    "profile {origin}: {key} must be one of {}, got {v}",
                    known.join(", ")
                ),
                None => {}
            }
        }
        match self.params.get("rfm_window_days") {
            Some(Param::Str(v)) if v != "all" => bail!(
                "profile {origin}: rfm_window_days must be a number of days or \"all\", got {v:?}"
            ),
            Some(Param::Int(0)) => {
                bail!("profile {origin}: rfm_window_days must be at least 1 (or \"all\")")
            }
            _ => {}
        }
        let fixed = matches!(self.params.get("rfm_bins"), Some(Param::Str(v)) if v == "fixed");
        for key in ["rfm_r_bins", "rfm_f_bins", "rfm_m_bins"] {
            let Some(p) = self.params.get(key) else {
                continue;
            };
            let Param::List(items) = p else {
                bail!("profile {origin}: {key} must be a list of 4 numbers, e.g. [\"2\", \"3\", \"5\", \"10\"]");
            };
            let nums: Vec<Option<f64>> = items
                .iter()
                .map(|t| t.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
                .collect();
            let ok = nums.iter().all(Option::is_some)
                && nums.windows(2).all(|w| w[0] < w[1])
                && (!fixed || nums.len() == 4);
            if !ok {
                bail!(
                    "profile {origin}: {key} must be 4 increasing numbers (the bounds of scores 2 to 5), got [{}]",
                    items.join(", ")
                );
            }
        }
        Ok(())
    }

    fn check_queries_and_report(&self) -> Result<()> {
        let origin = &self.origin;
        for (from, to) in &self.queries {
            for f in [from, to] {
                if !f.ends_with(".sql") || f.contains('/') || f.contains('\\') || f.starts_with('.')
                {
                    bail!("profile {origin}: [queries] {from:?} = {to:?}: give plain NAME.sql file names");
                }
            }
        }
        for s in &self.report.sections {
            if !REPORT_SECTIONS.iter().any(|(k, _)| k == s) {
                bail!(
                    "profile {origin}: [report] sections: no section {s:?} (known: {})",
                    REPORT_SECTIONS
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some((_, needs)) = REPORT_SECTIONS.iter().find(|(k, _)| k == s) {
                for a in needs.iter() {
                    if !self.applies(a) {
                        bail!("profile {origin}: [report] section {s} needs analysis {a}, which `analyses` does not list");
                    }
                }
            }
        }
        for (name, list) in &self.lists {
            if !is_identifier(name) {
                bail!("profile {origin}: [lists.{name}]: a list name is lowercase letters, digits and _");
            }
            for st in &list.stage {
                if !self.stage_order.contains(st) {
                    bail!("profile {origin}: [lists.{name}] stage {st:?} is not in [stages] order");
                }
            }
        }
        Ok(())
    }

    /// Whether analysis `name` applies to this profile.
    pub fn applies(&self, name: &str) -> bool {
        self.analyses.is_empty() || self.analyses.iter().any(|a| a == name)
    }

    /// The saved filter `name` (`[lists.NAME]`), or an error listing the known ones.
    pub fn list(&self, name: &str) -> Result<&SavedList> {
        self.lists.get(name).ok_or_else(|| {
            anyhow!(
                "profile {} has no list {name:?} (known: {}); lists are [lists.NAME] tables of the profile or of --lists FILE",
                self.name,
                if self.lists.is_empty() {
                    "none".to_string()
                } else {
                    self.lists.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )
        })
    }

    /// Adds the `[lists.NAME]` tables of a lists file (`--lists FILE`); a name the profile
    /// has already is replaced.
    pub fn add_lists(&mut self, path: &Path) -> Result<()> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ListsFile {
            lists: BTreeMap<String, SavedList>,
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read lists file {}", path.display()))?;
        let file: ListsFile =
            toml::from_str(&text).with_context(|| format!("lists file {}", path.display()))?;
        let mut next = self.clone();
        next.lists.extend(file.lists);
        next.check_queries_and_report()
            .with_context(|| format!("lists file {}", path.display()))?;
        *self = next;
        Ok(())
    }

    /// Apply `key=value` (from `--param`); the value is parsed as the kind the profile gives
    /// the key. An unknown key is an error that lists the known ones.
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| anyhow!("--param {assignment:?}: expected key=value"))?;
        let key = key.trim();
        let current = self.params.get(key).ok_or_else(|| {
            anyhow!(
                "--param {key}: no such parameter in profile {} (known: {})",
                self.name,
                self.params.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        let new = if key == "rfm_window_days" {
            // a number of days, or "all" (the whole history)
            match value.trim() {
                "all" => Param::Str("all".into()),
                v => Param::Int(v.parse().map_err(|_| {
                    anyhow!("--param rfm_window_days: expected a number of days or all, got {v:?}")
                })?),
            }
        } else {
            current
                .parse_like(value)
                .with_context(|| format!("--param {key} ({})", current.kind()))?
        };
        let mut next = self.clone();
        next.params.insert(key.to_string(), new);
        next.check()?;
        *self = next;
        Ok(())
    }

    /// Set the language of the texts (from `--lang`): `ru` or `en`.
    pub fn set_lang(&mut self, lang: &str) -> Result<()> {
        if !LANGS.contains(&lang) {
            bail!("--lang {lang}: expected one of {}", LANGS.join(", "));
        }
        self.lang = lang.to_string();
        Ok(())
    }

    /// Adds (or replaces) a parameter that is not in the profile file, such as the points
    /// rules of `--loyalty` or the targets of `--targets`.
    pub fn insert_param(&mut self, key: &str, value: Param) {
        self.params.insert(key.to_string(), value);
    }

    /// An integer parameter, if the profile has it.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.params.get(key) {
            Some(Param::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// The text of `table` (actions or labels) for `stage` in the profile's language, else
    /// in any other language the profile has.
    fn text_for<'a>(
        &'a self,
        table: &'a BTreeMap<String, BTreeMap<String, String>>,
        stage: &str,
    ) -> Option<&'a str> {
        table
            .get(&self.lang)
            .and_then(|t| t.get(stage))
            .or_else(|| table.values().find_map(|t| t.get(stage)))
            .map(String::as_str)
    }

    /// The recommended action for `stage` (`[actions]`), in the profile's language.
    pub fn action(&self, stage: &str) -> Option<&str> {
        self.text_for(&self.actions, stage)
    }

    /// The name of `stage` for people (`[stage_labels]`), else the stage itself.
    pub fn stage_label(&self, stage: &str) -> String {
        self.text_for(&self.stage_labels, stage)
            .unwrap_or(stage)
            .to_string()
    }

    /// Set the grain (from `--grain`).
    pub fn set_grain(&mut self, grain: &str) -> Result<()> {
        self.set(&format!("grain={grain}"))
    }

    /// Every placeholder value the profile provides (its params and `$stage_order`).
    pub fn param_values(&self) -> Vec<(String, ScalarValue)> {
        let mut out: Vec<(String, ScalarValue)> = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.to_scalar()))
            .collect();
        out.push(("stage_order".into(), string_list(&self.stage_order)));
        let aligned = |f: &dyn Fn(&str) -> String| -> Vec<String> {
            self.stage_order.iter().map(|s| f(s)).collect()
        };
        out.push((
            "stage_actions".into(),
            string_list(&aligned(&|s| self.action(s).unwrap_or("").to_string())),
        ));
        out.push((
            "stage_labels".into(),
            string_list(&aligned(&|s| self.stage_label(s))),
        ));
        out
    }

    /// The value shown for a placeholder by `list`.
    pub fn describe(&self, name: &str) -> Option<String> {
        if name == "stage_order" {
            return Some(self.stage_order.join(","));
        }
        if name == "stage_actions" || name == "stage_labels" {
            return Some(format!("<profile [{}.{}]>", &name[6..], self.lang));
        }
        self.params.get(name).map(|p| p.to_string())
    }
}

/// The RFM keys and their defaults (SPEC §5.4), for profile files that lack them.
fn rfm_defaults() -> Vec<(&'static str, Param)> {
    let list = |v: &[&str]| Param::List(v.iter().map(|s| s.to_string()).collect());
    vec![
        ("rfm_ties", Param::Str("dense".into())),
        ("rfm_bins", Param::Str("quantile".into())),
        ("rfm_r_bins", list(&["30", "90", "180", "365"])),
        ("rfm_f_bins", list(&["2", "3", "5", "10"])),
        ("rfm_m_bins", list(&["1000", "5000", "20000", "50000"])),
    ]
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitness_profile_holds_the_spec_defaults() {
        let p = Profile::fitness();
        let int = |k: &str| match p.params.get(k) {
            Some(Param::Int(i)) => *i,
            other => panic!("{k}: {other:?}"),
        };
        // SPEC §5.1/§5.2/§5.4 defaults, in brackets there.
        assert_eq!(int("onboarding_days"), 30);
        assert_eq!(int("renewal_window_days"), 30);
        assert_eq!(int("inactive_days"), 21);
        assert_eq!(int("pt_days"), 30);
        assert_eq!(int("lapsed_days"), 90);
        assert_eq!(int("starter_days"), 30);
        assert_eq!(int("renewal_grace_days"), 30);
        assert_eq!(int("pt_conversion_days"), 60);
        assert_eq!(int("rfm_window_days"), 365);
        assert_eq!(int("cohort_months"), 24);
        assert_eq!(p.params["starter_services"], Param::List(vec![]));
        assert_eq!(p.stage_order.len(), 10);
        assert_eq!(p.stage_order[0], "frozen");
        assert_eq!(p.stage_order[9], "lead");
    }

    #[test]
    fn a_profile_is_named_or_read_from_a_file() {
        assert_eq!(Profile::named_or_file("classes").unwrap().name, "classes");
        // a directory of the same name in the working directory does not shadow the name
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.toml");
        std::fs::write(
            &file,
            FITNESS.replace("name = \"fitness\"", "name = \"mine\""),
        )
        .unwrap();
        let p = Profile::named_or_file(file.to_str().unwrap()).unwrap();
        assert_eq!(
            (p.name.as_str(), p.origin.contains("mine.toml")),
            ("mine", true)
        );
        let e = format!("{:#}", Profile::named_or_file("gym").unwrap_err());
        assert!(
            e.contains("auto_service") && e.contains("b2b_service"),
            "{e}"
        );
        let e = format!("{:#}", Profile::named_or_file("no/such.toml").unwrap_err());
        assert!(e.contains("cannot read profile"), "{e}");
    }

    #[test]
    fn overrides_are_typed_and_checked() {
        let mut p = Profile::fitness();
        p.set("inactive_days=14").unwrap();
        assert_eq!(p.params["inactive_days"], Param::Int(14));
        p.set("starter_services=Intro, Body scan").unwrap();
        assert_eq!(
            p.params["starter_services"],
            Param::List(vec!["Intro".into(), "Body scan".into()])
        );
        assert!(p.set("inactive_days=soon").is_err());
        let e = p.set("no_such=1").unwrap_err().to_string();
        assert!(
            e.contains("no such parameter") && e.contains("inactive_days"),
            "{e}"
        );
        assert!(p.set("grain=year").is_err());
        assert_eq!(
            p.params["grain"],
            Param::Str("month".into()),
            "a refused value leaves the old one"
        );
        assert!(p.set("rfm_events=calls").is_err());
        assert!(p.set("inactive_days").is_err());
    }
}
