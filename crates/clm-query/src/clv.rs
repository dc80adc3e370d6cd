//! `run clv`: the customer-lifetime models of the `lifetimes` library on the bundle (SPEC §5.4).
//!
//! The SQL (`queries/clv.sql`) gives the summary of every client (frequency, recency, T,
//! monetary_value over the profile's `[clv]` table and period unit) and the settings;
//! `clm-predict` fits BG/NBD and Gamma-Gamma on it by maximum likelihood; this module turns
//! the fits into the outputs:
//!
//! * `fit`: each model's parameters, log-likelihood, clients fitted, optimiser iterations;
//! * `clients`: per client the summary, P(alive), the expected purchases over the next
//!   `horizon` periods, the expected value per purchase and the CLV over `months` months;
//! * `churn_risk` (detail): the call list — clients with a repeat purchase, with their stage
//!   (the profile's lifecycle, where the bundle has what it needs), P(alive), CLV, the value at
//!   risk and a recommended action, the largest value at risk first.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use clm_predict::{BgNbd, FitInfo, GammaGamma, Summary};
use datafusion::arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use crate::engine::{Engine, Output, RunResult, Select};
use crate::profile::{Param, Profile};
use crate::queries::Library;

/// The `[clv]` settings of a run (the profile's `clv_*` parameters, after `--param`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClvSettings {
    pub table: String,
    pub period: String,
    pub horizon: i64,
    pub months: i64,
    pub discount_rate: f64,
    pub penalizer: f64,
}

impl ClvSettings {
    pub fn of(profile: &Profile) -> Result<ClvSettings> {
        let s = |k: &str| {
            profile
                .params
                .get(k)
                .map(|p| p.to_string())
                .ok_or_else(|| anyhow!("profile {} has no {k}", profile.origin))
        };
        let f = |k: &str| match profile.params.get(k) {
            Some(Param::Float(x)) => Ok(*x),
            Some(Param::Int(i)) => Ok(*i as f64),
            _ => Err(anyhow!("profile {}: {k} must be a number", profile.origin)),
        };
        let i = |k: &str| {
            profile
                .int(k)
                .ok_or_else(|| anyhow!("profile {}: {k} must be a whole number", profile.origin))
        };
        let out = ClvSettings {
            table: s("clv_table")?,
            period: s("clv_period")?,
            horizon: i("clv_horizon")?,
            months: i("clv_months")?,
            discount_rate: f("clv_discount_rate")?,
            penalizer: f("clv_penalizer")?,
        };
        if out.months > 1200 {
            bail!("[clv] months = {}: give at most 1200", out.months);
        }
        Ok(out)
    }

    /// Periods per month for the CLV sum (lifetimes: D 30, W 4.345, M 1).
    fn per_month(&self) -> f64 {
        clm_predict::periods_per_month(&self.period).unwrap_or(1.0)
    }
}

/// One client of the summary.
struct Row {
    pid: String,
    s: Summary,
}

/// Runs `clv`: the SQL summary, the fits and the outputs. `detail`: `churn_risk` for the call
/// list alone; `None`: `settings`, `fit` and `clients`.
pub async fn run(
    engine: &Engine,
    library: &Library,
    profile: &Profile,
    as_of: NaiveDate,
    detail: Option<&str>,
) -> Result<RunResult> {
    run_outputs(engine, library, profile, as_of, detail, false).await
}

/// Every output, the churn list too (the report's clv section).
pub async fn run_for_report(
    engine: &Engine,
    library: &Library,
    profile: &Profile,
    as_of: NaiveDate,
) -> Result<RunResult> {
    run_outputs(engine, library, profile, as_of, None, true).await
}

async fn run_outputs(
    engine: &Engine,
    library: &Library,
    profile: &Profile,
    as_of: NaiveDate,
    detail: Option<&str>,
    all: bool,
) -> Result<RunResult> {
    let settings = ClvSettings::of(profile)?;
    let analysis = library.analysis("clv")?;
    // the profile's own outputs (clv_extra.sql), after the model's
    let extra: Vec<String> = analysis
        .outputs()
        .map(|o| o.name.clone())
        .filter(|n| n != "settings" && n != "summary")
        .collect();
    let mut names = vec!["settings", "fit", "clients", "churn_risk"];
    names.extend(extra.iter().map(String::as_str));
    if let Some(d) = detail {
        if !names.contains(&d) {
            bail!(
                "analysis `clv` has no output `{d}` (outputs: {})",
                names.join(", ")
            );
        }
    }
    let sql = engine
        .run_select(&analysis, profile, as_of, Select::All)
        .await?;
    let mut notes = sql.notes.clone();
    let settings_out = sql
        .outputs
        .iter()
        .find(|o| o.name == "settings")
        .cloned()
        .ok_or_else(|| anyhow!("clv.sql has no output `settings`"))?;
    let summary = sql
        .outputs
        .iter()
        .find(|o| o.name == "summary")
        .ok_or_else(|| anyhow!("clv.sql has no output `summary`"))?;
    let rows = read_summary(summary)?;
    let data: Vec<Summary> = rows.iter().map(|r| r.s).collect();

    let started = std::time::Instant::now();
    let (bg, bg_info) = BgNbd::fit(&data, settings.penalizer).with_context(|| {
        format!(
            "run clv: the BG/NBD model on the {} {} summary ({} clients up to {as_of})",
            settings.period,
            settings.table,
            data.len()
        )
    })?;
    let gg = match GammaGamma::fit(&data, settings.penalizer) {
        Ok((gg, info, left_out)) => {
            if left_out > 0 {
                notes.push(format!(
                    "{left_out} clients with repeat purchases of no positive mean value are left out of the Gamma-Gamma fit"
                ));
            }
            Some((gg, info))
        }
        Err(e) => {
            notes.push(format!(
                "no spend model, so no expected value and no CLV: {e}"
            ));
            None
        }
    };
    if let Some((gg, _)) = &gg {
        if gg.p > 1e6 || gg.v < 1e-6 {
            notes.push(format!(
                "the Gamma-Gamma fit is degenerate (p = {:.3e}, v = {:.3e}): the spend per purchase hardly varies within a client (fixed prices?), so each client's expected value is close to their own mean",
                gg.p, gg.v
            ));
        }
        if gg.q <= 1.0 {
            notes.push(format!(
                "the Gamma-Gamma fit gives q = {:.4} <= 1: the population mean spend is unbounded, so expected values and CLV are left empty",
                gg.q
            ));
        }
    }
    let fit_seconds = started.elapsed().as_secs_f64();
    if std::env::var_os("CLM_TIMINGS").is_some_and(|v| v != "0") {
        eprintln!(
            "timing: {fit_seconds:>8.3} s  clv fits ({} clients)",
            data.len()
        );
    }

    let want = |n: &str| match detail {
        Some(d) => d == n,
        None => all || n != "churn_risk",
    };
    let mut outputs = vec![];
    if want("settings") {
        outputs.push(settings_out);
    }
    if want("fit") {
        outputs.push(fit_output(&bg, &bg_info, gg.as_ref())?);
    }
    let per_month = settings.per_month();
    let months = settings.months.max(0) as u32;
    let predicted: Vec<Predicted> = rows
        .iter()
        .map(|r| {
            let p_alive = bg.p_alive(&r.s);
            let expected = bg.expected_purchases(settings.horizon as f64, &r.s);
            let value = gg.as_ref().and_then(|(g, _)| g.expected_value(&r.s));
            let clv = value
                .map(|v| clm_predict::clv(&bg, v, &r.s, months, settings.discount_rate, per_month));
            Predicted {
                p_alive,
                expected,
                value,
                clv,
            }
        })
        .collect();
    if want("clients") {
        outputs.push(clients_output(&rows, &predicted)?);
    }
    if want("churn_risk") {
        let stages = stages(engine, library, profile, as_of, &mut notes).await;
        outputs.push(churn_output(profile, &rows, &predicted, &stages)?);
    }
    let p_alive: HashMap<&str, f64> = rows
        .iter()
        .zip(&predicted)
        .map(|(r, p)| (r.pid.as_str(), p.p_alive))
        .collect();
    for name in &extra {
        if !want(name) {
            continue;
        }
        if let Some(o) = sql.outputs.iter().find(|o| &o.name == name) {
            outputs.push(with_p_alive(o, &p_alive)?);
        }
    }
    Ok(RunResult { outputs, notes })
}

/// `o` with a column p_alive after client_pid (empty for a client without a purchase).
fn with_p_alive(o: &Output, p_alive: &HashMap<&str, f64>) -> Result<Output> {
    if o.schema.index_of("client_pid").is_err() {
        return Ok(o.clone());
    }
    let mut fields: Vec<Field> = o
        .schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("p_alive", DataType::Float64, true));
    let schema = Arc::new(Schema::new(fields));
    let mut batches = vec![];
    for b in &o.batches {
        let pid = b
            .column_by_name("client_pid")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
            .ok_or_else(|| anyhow!("output {}: client_pid is not text", o.name))?;
        let pa: Float64Array = (0..pid.len())
            .map(|i| {
                (!pid.is_null(i))
                    .then(|| p_alive.get(pid.value(i)).copied())
                    .flatten()
            })
            .collect();
        let mut cols = b.columns().to_vec();
        cols.push(Arc::new(pa));
        batches.push(RecordBatch::try_new(schema.clone(), cols)?);
    }
    Ok(Output {
        name: o.name.clone(),
        schema,
        batches,
    })
}

struct Predicted {
    p_alive: f64,
    expected: f64,
    value: Option<f64>,
    clv: Option<f64>,
}

fn read_summary(o: &Output) -> Result<Vec<Row>> {
    let mut rows = vec![];
    for b in &o.batches {
        let col = |name: &str| {
            b.column_by_name(name)
                .cloned()
                .ok_or_else(|| anyhow!("clv summary has no column {name}"))
        };
        let pid = col("client_pid")?;
        let pid = pid
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| anyhow!("clv summary: client_pid is not text"))?;
        let ints = |name: &str| -> Result<Vec<f64>> {
            let a = datafusion::arrow::compute::cast(&col(name)?, &DataType::Float64)?;
            let a = a
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| anyhow!("clv summary: {name} is not a number"))?;
            Ok((0..a.len())
                .map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) })
                .collect())
        };
        let (f, r, t, m) = (
            ints("frequency")?,
            ints("recency")?,
            ints("T")?,
            ints("monetary_value")?,
        );
        for i in 0..b.num_rows() {
            rows.push(Row {
                pid: pid.value(i).to_string(),
                s: Summary::new(f[i], r[i], t[i], m[i]),
            });
        }
    }
    Ok(rows)
}

fn batch(name: &str, columns: Vec<(&str, ArrayRef)>) -> Result<Output> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let b = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )?;
    Ok(Output {
        name: name.to_string(),
        schema,
        batches: vec![b],
    })
}

fn fit_output(bg: &BgNbd, bi: &FitInfo, gg: Option<&(GammaGamma, FitInfo)>) -> Result<Output> {
    let mut model = vec![];
    let mut param = vec![];
    let mut value = vec![];
    let mut push = |m: &str, p: &str, v: f64| {
        model.push(m.to_string());
        param.push(p.to_string());
        value.push(v);
    };
    push("bg_nbd", "r", bg.r);
    push("bg_nbd", "alpha", bg.alpha);
    push("bg_nbd", "a", bg.a);
    push("bg_nbd", "b", bg.b);
    push("bg_nbd", "log_likelihood", bi.log_likelihood);
    push("bg_nbd", "clients", bi.clients as f64);
    push("bg_nbd", "iterations", bi.iterations as f64);
    if let Some((g, gi)) = gg {
        push("gamma_gamma", "p", g.p);
        push("gamma_gamma", "q", g.q);
        push("gamma_gamma", "v", g.v);
        push("gamma_gamma", "log_likelihood", gi.log_likelihood);
        push("gamma_gamma", "clients", gi.clients as f64);
        push("gamma_gamma", "iterations", gi.iterations as f64);
    }
    batch(
        "fit",
        vec![
            ("model", Arc::new(StringArray::from(model))),
            ("parameter", Arc::new(StringArray::from(param))),
            ("value", Arc::new(Float64Array::from(value))),
        ],
    )
}

fn clients_output(rows: &[Row], p: &[Predicted]) -> Result<Output> {
    batch(
        "clients",
        vec![
            (
                "client_pid",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.pid))),
            ),
            (
                "frequency",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.s.frequency as i64),
                )),
            ),
            (
                "recency",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.s.recency as i64),
                )),
            ),
            (
                "T",
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.s.t as i64),
                )),
            ),
            (
                "monetary_value",
                Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| r.s.monetary),
                )),
            ),
            (
                "p_alive",
                Arc::new(Float64Array::from_iter_values(p.iter().map(|x| x.p_alive))),
            ),
            (
                "expected_purchases",
                Arc::new(Float64Array::from_iter_values(p.iter().map(|x| x.expected))),
            ),
            (
                "expected_value",
                Arc::new(Float64Array::from_iter(p.iter().map(|x| x.value))),
            ),
            (
                "clv",
                Arc::new(Float64Array::from_iter(p.iter().map(|x| x.clv))),
            ),
        ],
    )
}

/// Each client's stage at D (the profile's lifecycle, via segmentation's per-client list);
/// empty, with a note, where the bundle lacks what the lifecycle reads.
async fn stages(
    engine: &Engine,
    library: &Library,
    profile: &Profile,
    as_of: NaiveDate,
    notes: &mut Vec<String>,
) -> HashMap<String, String> {
    let got = async {
        let a = library.analysis("segmentation")?;
        let r = engine.run(&a, profile, as_of, Some("clients")).await?;
        let o = r
            .outputs
            .first()
            .ok_or_else(|| anyhow!("segmentation gave no clients"))?;
        let mut m = HashMap::new();
        for b in &o.batches {
            let pid = b.column_by_name("client_pid");
            let st = b.column_by_name("stage");
            let (Some(pid), Some(st)) = (pid, st) else {
                bail!("segmentation's clients have no client_pid or stage");
            };
            let (Some(pid), Some(st)) = (
                pid.as_any().downcast_ref::<StringArray>(),
                st.as_any().downcast_ref::<StringArray>(),
            ) else {
                bail!("segmentation's client_pid or stage is not text");
            };
            for i in 0..b.num_rows() {
                if !st.is_null(i) {
                    m.insert(pid.value(i).to_string(), st.value(i).to_string());
                }
            }
        }
        Ok::<_, anyhow::Error>(m)
    };
    match got.await {
        Ok(m) => m,
        Err(e) => {
            notes.push(format!("churn_risk: no stages ({e:#})"));
            HashMap::new()
        }
    }
}

/// The recommended action by P(alive), in the profile's language.
fn churn_action(lang: &str, p_alive: f64) -> &'static str {
    let ru = lang == "ru";
    if p_alive < 0.3 {
        if ru {
            "Вернуть: личное предложение, скорее всего уже ушёл"
        } else {
            "Win back: a personal offer, most likely gone already"
        }
    } else if p_alive < 0.7 {
        if ru {
            "Позвонить: под угрозой ухода"
        } else {
            "Call: at risk of leaving"
        }
    } else if ru {
        "Удерживать: обычный контакт"
    } else {
        "Keep: the usual contact"
    }
}

fn churn_output(
    profile: &Profile,
    rows: &[Row],
    p: &[Predicted],
    stages: &HashMap<String, String>,
) -> Result<Output> {
    // value at risk: the value a client still alive would bring (CLV / P(alive), since the
    // BG/NBD expectation is P(alive) × the expectation given alive) times P(gone)
    let mut list: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.s.frequency > 0.0)
        .map(|(i, _)| {
            let x = &p[i];
            let at_risk = match x.clv {
                Some(c) if x.p_alive > 0.0 => (1.0 - x.p_alive) * c / x.p_alive,
                _ => 0.0,
            };
            (i, if at_risk.is_finite() { at_risk } else { 0.0 })
        })
        .collect();
    list.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| p[a.0].p_alive.total_cmp(&p[b.0].p_alive))
            .then_with(|| rows[a.0].pid.cmp(&rows[b.0].pid))
    });
    let pid = StringArray::from_iter_values(list.iter().map(|(i, _)| &rows[*i].pid));
    let stage = StringArray::from_iter(list.iter().map(|(i, _)| stages.get(&rows[*i].pid)));
    let rank = UInt64Array::from_iter_values(1..=list.len() as u64);
    batch(
        "churn_risk",
        vec![
            ("rank", Arc::new(rank)),
            ("client_pid", Arc::new(pid)),
            ("stage", Arc::new(stage)),
            (
                "p_alive",
                Arc::new(Float64Array::from_iter_values(
                    list.iter().map(|(i, _)| p[*i].p_alive),
                )),
            ),
            (
                "clv",
                Arc::new(Float64Array::from_iter(list.iter().map(|(i, _)| p[*i].clv))),
            ),
            (
                "value_at_risk",
                Arc::new(Float64Array::from_iter_values(list.iter().map(|(_, v)| *v))),
            ),
            (
                "recommended_action",
                Arc::new(StringArray::from_iter_values(
                    list.iter()
                        .map(|(i, _)| churn_action(&profile.lang, p[*i].p_alive)),
                )),
            ),
            (
                "stage_action",
                Arc::new(StringArray::from_iter(list.iter().map(|(i, _)| {
                    stages.get(&rows[*i].pid).and_then(|s| profile.action(s))
                }))),
            ),
        ],
    )
}

/// The date of the latest event (visit, service, sale, membership start) in the bundles, if any.
pub async fn last_event_date(engine: &Engine) -> Result<Option<NaiveDate>> {
    let parts: Vec<&str> = [
        (
            "visits",
            "SELECT max(CAST(visited_at AS DATE)) AS d FROM visits",
        ),
        (
            "services",
            "SELECT max(CAST(done_at AS DATE)) AS d FROM services",
        ),
        ("sales", "SELECT max(CAST(sold_at AS DATE)) AS d FROM sales"),
        (
            "memberships",
            "SELECT max(start_date) AS d FROM memberships",
        ),
    ]
    .into_iter()
    .filter(|(t, _)| engine.has_table(t))
    .map(|(_, q)| q)
    .collect();
    if parts.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT max(d) AS d FROM ({}) AS t",
        parts.join(" UNION ALL ")
    );
    let out = engine
        .sql(&sql, &datafusion::common::ParamValues::List(vec![]))
        .await?;
    let d = out.first().and_then(|o| o.batches.first()).and_then(|b| {
        b.column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Date32Array>()
            .and_then(|a| (!a.is_null(0)).then(|| a.value_as_date(0)).flatten())
    });
    Ok(d)
}

/// A warning when D lies more than 30 days after the bundle's last event: windows ending at D
/// (RFM's, the inactivity rules) would hold no data and every count be zero, silently. The
/// manifest always holds an as-of date (the export's `--as-of`, today by default), so a
/// transactions export made years after its data needs `--as-of` at the analysis.
pub async fn as_of_note(engine: &Engine, as_of: NaiveDate) -> Option<String> {
    let last = last_event_date(engine).await.ok().flatten()?;
    ((as_of - last).num_days() > 30).then(|| {
        format!(
            "the as-of date {as_of} is {} days after the bundle's last event ({last}): windows ending at {as_of} may hold no data; give --as-of {last} to analyse up to the last event",
            (as_of - last).num_days()
        )
    })
}
