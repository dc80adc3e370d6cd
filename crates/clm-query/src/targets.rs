//! Targets (SPEC §5.7): a TOML file of targets (see examples/targets.toml), each a metric of
//! §5.2, a scope, a period (or every period of a grain) and a value. `clm-analyze targets`
//! runs queries/targets.sql once per grain of the file, the targets bound as parameters; the
//! comparison (baseline, actual, met) is SQL. Rust reads and checks the file, turns period
//! labels (`2026-10`, `2026-W43`, `2026-Q3`) into dates, and says how many periods to compute.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::engine::{Engine, Output, RunResult, Select};
use crate::profile::{Param, Profile};
use crate::queries::Library;

/// The §5.2 metrics a target may name: the per-period metrics of metrics.sql, as
/// targets.sql unpivots them.
pub const METRICS: [&str; 13] = [
    "renewal_rate",
    "churn_rate",
    "starter_completion_rate",
    "starter_to_pt_conversion",
    "reactivation_rate",
    "active_share",
    "inactive_share",
    "visits_per_member_week",
    "revenue",
    "revenue_per_visit",
    "new_clients",
    "leads",
    "nps",
];

const GRAINS: [&str; 3] = ["week", "month", "quarter"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsToml {
    #[serde(default = "default_baseline")]
    baseline_periods: i64,
    #[serde(default)]
    recent_periods: Option<i64>,
    #[serde(default)]
    target: Vec<TargetToml>,
}

fn default_baseline() -> i64 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetToml {
    metric: String,
    #[serde(default = "all_scope")]
    scope: String,
    period: String,
    #[serde(default)]
    grain: Option<String>,
    value: f64,
    #[serde(default)]
    better: Option<String>,
}

fn all_scope() -> String {
    "(all)".into()
}

/// One target, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub metric: String,
    pub scope: String,
    pub grain: String,
    /// The first day of the target's period; None: every period of the grain.
    pub period_start: Option<NaiveDate>,
    pub value: f64,
    /// `higher` or `lower`; None: the metric's default (targets.sql).
    pub better: Option<String>,
}

/// A targets file.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// The baseline is the mean of this many periods before the target's [3].
    pub baseline_periods: i64,
    /// Targets of every period are shown for this many latest complete periods (default: the
    /// profile's `periods`).
    pub recent_periods: Option<i64>,
    pub targets: Vec<Target>,
}

/// Parses a period label: `2026-10` (month), `2026-W43` (ISO week), `2026-Q3` (quarter).
/// Returns the grain and the period's first day.
pub fn parse_period(label: &str) -> Result<(&'static str, NaiveDate)> {
    let l = label.trim();
    let bad = || {
        anyhow!("period {label:?}: expected YYYY-MM, YYYY-Www (ISO week), YYYY-Qn, or \"all\" with a grain")
    };
    let (y, rest) = l.split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    if let Some(w) = rest.strip_prefix('W').or_else(|| rest.strip_prefix('w')) {
        let week: u32 = w.parse().map_err(|_| bad())?;
        let d = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
        return Ok(("week", d));
    }
    if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        let d = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1).ok_or_else(bad)?;
        return Ok(("quarter", d));
    }
    let m: u32 = rest.parse().map_err(|_| bad())?;
    let d = NaiveDate::from_ymd_opt(year, m, 1).ok_or_else(bad)?;
    Ok(("month", d))
}

/// A number per period of the grain, consecutive periods differing by one.
fn period_index(grain: &str, d: NaiveDate) -> i64 {
    match grain {
        "week" => {
            let monday = NaiveDate::from_ymd_opt(1970, 1, 5).unwrap();
            (d - monday).num_days().div_euclid(7)
        }
        "quarter" => d.year() as i64 * 4 + (d.month0() / 3) as i64,
        _ => d.year() as i64 * 12 + d.month0() as i64,
    }
}

impl Targets {
    pub fn load(path: &Path) -> Result<Targets> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read targets {}", path.display()))?;
        Targets::parse(&text).with_context(|| format!("targets {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Targets> {
        let file: TargetsToml = toml::from_str(text)?;
        if file.baseline_periods < 1 {
            bail!("baseline_periods must be at least 1");
        }
        if file.recent_periods.is_some_and(|n| n < 1) {
            bail!("recent_periods must be at least 1");
        }
        if file.target.is_empty() {
            bail!("no [[target]] entries");
        }
        let mut targets = vec![];
        for (i, t) in file.target.into_iter().enumerate() {
            let at = || format!("target {} ({} {})", i + 1, t.metric, t.period);
            if !METRICS.contains(&t.metric.as_str()) {
                bail!(
                    "{}: unknown metric {:?} (known: {})",
                    at(),
                    t.metric,
                    METRICS.join(", ")
                );
            }
            if let Some(g) = &t.grain {
                if !GRAINS.contains(&g.as_str()) {
                    bail!("{}: grain must be week, month or quarter, got {g:?}", at());
                }
            }
            if let Some(b) = &t.better {
                if b != "higher" && b != "lower" {
                    bail!(
                        "{}: better must be \"higher\" or \"lower\", got {b:?}",
                        at()
                    );
                }
            }
            if !t.value.is_finite() {
                bail!("{}: value must be a number", at());
            }
            let p = t.period.trim().to_lowercase();
            let (grain, start) = if p == "all" || p == "all periods" || p == "*" {
                let g = t.grain.clone().ok_or_else(|| {
                    anyhow!("{}: a target for every period needs grain = \"week\", \"month\" or \"quarter\"", at())
                })?;
                (g, None)
            } else {
                let (g, d) = parse_period(&t.period).with_context(at)?;
                if let Some(given) = &t.grain {
                    if given != g {
                        bail!(
                            "{}: period {} is a {g}, but grain says {given}",
                            at(),
                            t.period
                        );
                    }
                }
                (g.to_string(), Some(d))
            };
            targets.push(Target {
                metric: t.metric,
                scope: t.scope.trim().to_string(),
                grain,
                period_start: start,
                value: t.value,
                better: t.better,
            });
        }
        Ok(Targets {
            baseline_periods: file.baseline_periods,
            recent_periods: file.recent_periods,
            targets,
        })
    }

    /// The grains the targets use, week first.
    pub fn grains(&self) -> Vec<&'static str> {
        GRAINS
            .into_iter()
            .filter(|g| self.targets.iter().any(|t| t.grain == *g))
            .collect()
    }

    /// The profile for the run of one grain: the targets of that grain bound as lists, the
    /// baseline length, and enough periods to cover every target's baseline up to D.
    pub fn profile_for(&self, base: &Profile, grain: &str, as_of: NaiveDate) -> Result<Profile> {
        let mut p = base.clone();
        p.set_grain(grain)?;
        let recent = self
            .recent_periods
            .or_else(|| base.int("periods"))
            .unwrap_or(12);
        let of_grain: Vec<&Target> = self.targets.iter().filter(|t| t.grain == grain).collect();
        let last = period_index(grain, as_of + chrono::Duration::days(1)) - 1;
        let mut needed = 1;
        for t in &of_grain {
            let n = match t.period_start {
                Some(d) => last - (period_index(grain, d) - self.baseline_periods) + 1,
                None => recent + self.baseline_periods,
            };
            needed = needed.max(n);
        }
        // A target from long ago would compute every period since: keep it sane (10 years).
        let cap = match grain {
            "week" => 520,
            "quarter" => 40,
            _ => 120,
        };
        p.insert_param("periods", Param::Int(needed.min(cap)));
        let list =
            |f: &dyn Fn(&Target) -> String| Param::List(of_grain.iter().map(|t| f(t)).collect());
        p.insert_param("target_metric", list(&|t| t.metric.clone()));
        p.insert_param("target_scope", list(&|t| t.scope.clone()));
        p.insert_param(
            "target_period_start",
            list(&|t| t.period_start.map(|d| d.to_string()).unwrap_or_default()),
        );
        p.insert_param("target_value", list(&|t| format!("{:?}", t.value)));
        p.insert_param(
            "target_better",
            list(&|t| t.better.clone().unwrap_or_default()),
        );
        p.insert_param("baseline_periods", Param::Int(self.baseline_periods));
        p.insert_param("target_recent", Param::Int(recent));
        Ok(p)
    }

    /// Runs queries/targets.sql for every grain and returns one `targets` output.
    pub async fn run(
        &self,
        engine: &Engine,
        library: &Library,
        profile: &Profile,
        as_of: NaiveDate,
    ) -> Result<RunResult> {
        let analysis = library.analysis("targets")?;
        let mut result = RunResult::default();
        let mut out: Option<Output> = None;
        for grain in self.grains() {
            let p = self.profile_for(profile, grain, as_of)?;
            let r = engine
                .run_select(&analysis, &p, as_of, Select::Summaries)
                .await?;
            for n in r.notes {
                if !result.notes.contains(&n) {
                    result.notes.push(n);
                }
            }
            for o in r.outputs {
                match &mut out {
                    None => out = Some(o),
                    Some(acc) => {
                        for b in o.batches {
                            acc.batches.push(
                                datafusion::arrow::record_batch::RecordBatch::try_new(
                                    acc.schema.clone(),
                                    b.columns().to_vec(),
                                )?,
                            );
                        }
                    }
                }
            }
        }
        result.outputs.extend(out);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn period_labels() {
        assert_eq!(parse_period("2026-10").unwrap(), ("month", d("2026-10-01")));
        assert_eq!(parse_period("2026-W43").unwrap(), ("week", d("2026-10-19")));
        assert_eq!(parse_period("2026-W01").unwrap(), ("week", d("2025-12-29")));
        assert_eq!(
            parse_period("2026-Q3").unwrap(),
            ("quarter", d("2026-07-01"))
        );
        for bad in ["2026-13", "2026-Q5", "2026-W54", "26", "2026/10", "x-10"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_example_file_parses_and_needs_enough_periods() {
        let t = Targets::parse(include_str!("../../../examples/targets.toml")).unwrap();
        assert_eq!(t.baseline_periods, 3);
        assert!(t.grains().contains(&"month"));
        // A month target for 2026-10 as of 2026-11-01: periods 2026-07 .. 2026-10.
        let one = Targets::parse(
            "[[target]]\nmetric = \"churn_rate\"\nperiod = \"2026-10\"\nvalue = 0.05\n",
        )
        .unwrap();
        let p = one
            .profile_for(&Profile::fitness(), "month", d("2026-11-01"))
            .unwrap();
        assert_eq!(p.int("periods"), Some(4));
        // Every period: the profile's 12 and the 3 before them.
        let all = Targets::parse(
            "[[target]]\nmetric = \"leads\"\nperiod = \"all\"\ngrain = \"week\"\nvalue = 10\n",
        )
        .unwrap();
        let p = all
            .profile_for(&Profile::fitness(), "week", d("2026-11-01"))
            .unwrap();
        assert_eq!(p.int("periods"), Some(15));
        for bad in [
            "[[target]]\nmetric = \"nope\"\nperiod = \"2026-10\"\nvalue = 1\n",
            "[[target]]\nmetric = \"leads\"\nperiod = \"all\"\nvalue = 1\n",
            "[[target]]\nmetric = \"leads\"\nperiod = \"2026-10\"\ngrain = \"week\"\nvalue = 1\n",
            "[[target]]\nmetric = \"leads\"\nperiod = \"2026-10\"\nvalue = 1\nbetter = \"more\"\n",
            "baseline_periods = 0\n[[target]]\nmetric = \"leads\"\nperiod = \"2026-10\"\nvalue = 1\n",
        ] {
            assert!(Targets::parse(bad).is_err(), "{bad}");
        }
    }
}
