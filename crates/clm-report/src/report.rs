//! `clm-analyze report` (SPEC §5.8): runs the analyses of the SQL library and writes
//!
//! * `report.html` — one self-contained page (inline CSS, inline SVG charts drawn in Rust, no
//!   script, nothing fetched), one `<section id="...">` per topic, every chart an
//!   `<svg class="chart" data-chart="...">` with its numbers in a table beside it;
//! * `forms.xlsx` — the statistics forms (see `crate::forms` for the layout);
//! * one CSV per table shown (the analysis output behind it, all scopes, full precision) and
//!   `segments.csv`, the per-client list the club acts on.
//!
//! Rust only runs the analyses, picks rows and draws: every figure comes from queries/*.sql.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;

use crate::charts::{self, esc, Bar, Bullet, Series, Step, PALETTE};
use crate::forms::{self, period_label};
use crate::i18n::{kind_of, Kind, Messages};
use clm_query::engine::{Engine, MissingTables, Select};
use clm_query::frame::{Frame, Val};
use clm_query::loyalty::LoyaltyRules;
use clm_query::profile::{Profile, REPORT_SECTIONS};
use clm_query::queries::Library;
use clm_query::targets::Targets;

/// A bundle the report was made from (for the coverage section).
#[derive(Debug, Clone)]
pub struct BundleInfo {
    pub dir: String,
    pub as_of: NaiveDate,
    pub created_at: String,
    pub export_id: String,
    /// Clients whose branch the export suppressed for k-anonymity (the manifest's
    /// `suppressed_values.branch`).
    pub branch_suppressed: u64,
}

/// The branch scope of the clients without a branch (empty in the export, or suppressed for
/// k-anonymity): the report counts them in `(all)` only and says so once.
pub const NO_BRANCH: &str = "(none)";

/// What the report is made of.
pub struct ReportOptions<'a> {
    pub library: &'a Library,
    /// The profile, its language set (`--lang`) and `--param` overrides applied.
    pub profile: &'a Profile,
    pub as_of: NaiveDate,
    pub targets: Option<&'a Targets>,
    pub loyalty: Option<&'a LoyaltyRules>,
    /// `--network FILE`: the network's distribution and this club's own figures (a
    /// `portfolio --for-club` file); drawn as the section `network` right after the summary.
    pub network: Option<&'a [crate::network_section::NetworkRow]>,
    pub bundles: Vec<BundleInfo>,
}

/// The outputs of every analysis the report runs, by `key.output`, and why an analysis is
/// missing when it could not run (a table the bundle lacks).
#[derive(Default)]
pub struct Gathered {
    pub frames: BTreeMap<String, Frame>,
    pub missing: BTreeMap<String, String>,
    pub notes: Vec<String>,
    /// How long each analysis took.
    pub timings: Vec<(String, Duration)>,
}

impl Gathered {
    fn frame(&self, key: &str) -> Option<&Frame> {
        self.frames.get(key)
    }

    async fn run(
        &mut self,
        engine: &Engine,
        library: &Library,
        key: &str,
        name: &str,
        profile: &Profile,
        as_of: NaiveDate,
    ) -> Result<()> {
        let t0 = Instant::now();
        let analysis = library.analysis(name)?;
        match engine
            .run_select(&analysis, profile, as_of, Select::Summaries)
            .await
        {
            Ok(r) => {
                self.add(key, r.outputs, r.notes)?;
            }
            Err(e) if e.downcast_ref::<MissingTables>().is_some() => {
                self.missing.insert(key.to_string(), e.to_string());
            }
            Err(e) => return Err(e.context(format!("report: analysis {name}"))),
        }
        self.timings.push((key.to_string(), t0.elapsed()));
        Ok(())
    }

    fn add(
        &mut self,
        key: &str,
        outputs: Vec<clm_query::engine::Output>,
        notes: Vec<String>,
    ) -> Result<()> {
        for n in notes {
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
        }
        for o in outputs {
            self.frames
                .insert(format!("{key}.{}", o.name), Frame::of(&o)?);
        }
        Ok(())
    }
}

/// Runs every analysis the report needs.
pub async fn gather(engine: &Engine, opts: &ReportOptions<'_>) -> Result<Gathered> {
    let mut g = Gathered::default();
    let lib = opts.library;
    let p = opts.profile;
    let d = opts.as_of;
    // Only the analyses the profile's sections draw on (segments.csv is always written).
    let wanted = |a: &str| {
        a == "segments"
            || p.report.sections.iter().any(|s| {
                REPORT_SECTIONS
                    .iter()
                    .any(|(k, needs)| k == s && needs.contains(&a))
            })
    };
    if wanted("coverage") {
        g.run(engine, lib, "coverage", "coverage", p, d).await?;
    }
    if wanted("segmentation") {
        g.run(engine, lib, "segmentation", "segmentation", p, d)
            .await?;
    }
    g.run(engine, lib, "segments", "segments", p, d).await?;
    if wanted("metrics") {
        for (_, grain) in forms::SHEETS {
            let mut pg = p.clone();
            pg.set_grain(grain)?;
            g.run(engine, lib, &format!("metrics_{grain}"), "metrics", &pg, d)
                .await?;
        }
    }
    for a in ["funnel", "rfm", "cohorts"] {
        if wanted(a) {
            g.run(engine, lib, a, a, p, d).await?;
        }
    }
    // section clv: the lifetime models (clm_query::clv); a fit that cannot run is left out, said why
    if wanted("clv") {
        let t0 = Instant::now();
        match clm_query::clv::run_for_report(engine, lib, p, d).await {
            Ok(r) => g.add("clv", r.outputs, r.notes)?,
            Err(e) => drop(g.missing.insert("clv".into(), format!("{e:#}"))),
        }
        g.timings.push(("clv".into(), t0.elapsed()));
    }
    if let (Some(t), true) = (opts.targets, wanted("targets")) {
        let t0 = Instant::now();
        match t.run(engine, lib, p, d).await {
            Ok(r) => g.add("targets", r.outputs, r.notes)?,
            Err(e) if e.downcast_ref::<MissingTables>().is_some() => {
                g.missing.insert("targets".into(), e.to_string());
            }
            Err(e) => return Err(e.context("report: targets")),
        }
        g.timings.push(("targets".into(), t0.elapsed()));
    }
    if let (Some(rules), true) = (opts.loyalty, wanted("loyalty")) {
        let mut pl = p.clone();
        rules.apply(&mut pl);
        g.run(engine, lib, "loyalty", "loyalty", &pl, d).await?;
    }
    Ok(g)
}

/// Tables of more columns than this are laid out as wide (`<div class="table wide">`).
const WIDE_TABLE_COLUMNS: usize = 5;

/// A table as shown: headers, cells (text and whether numeric), and the CSV file beside it.
struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<(String, bool)>>,
    csv: Option<String>,
}

impl Table {
    fn new(headers: Vec<String>) -> Table {
        Table {
            headers,
            rows: vec![],
            csv: None,
        }
    }

    fn csv(mut self, file: &str) -> Table {
        self.csv = Some(file.to_string());
        self
    }

    fn html(&self, msgs: &Messages) -> String {
        // A table of many columns gets the card's whole width, a smaller font, and scrolls
        // within the card if it still does not fit (printed: see CSS).
        let mut s = if self.headers.len() > WIDE_TABLE_COLUMNS {
            String::from("<div class=\"table wide\"><table><thead><tr>")
        } else {
            String::from("<div class=\"table\"><table><thead><tr>")
        };
        for h in &self.headers {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            s.push_str("<tr>");
            for (t, num) in r {
                if *num {
                    let _ = write!(s, "<td class=\"num\">{}</td>", esc(t));
                } else {
                    let _ = write!(s, "<td>{}</td>", esc(t));
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>");
        if let Some(f) = &self.csv {
            let _ = write!(
                s,
                "<p class=\"csv\"><a href=\"{}\">{}: {}</a></p>",
                esc(f),
                esc(&msgs.t("csv")),
                esc(f)
            );
        }
        s.push_str("</div>");
        s
    }
}

/// The sentence on the clients without a branch (`(none)` in the stages): how many, why, and
/// that they count in the total only (None: every client has a branch).
fn no_branch_text(g: &Gathered, opts: &ReportOptions<'_>, msgs: &Messages) -> Option<String> {
    let st = g.frame("segmentation.stages")?;
    let r = st.rows_where("branch", NO_BRANCH).next()?;
    let n = st.get(r, "base").num()? as u64;
    if n == 0 {
        return None;
    }
    let suppressed: u64 = opts.bundles.iter().map(|b| b.branch_suppressed).sum();
    let why = if opts.bundles.is_empty() {
        msgs.t("no_branch.why_unknown")
    } else if suppressed >= n {
        msgs.t("no_branch.why_suppressed")
    } else if suppressed > 0 {
        msgs.f(
            "no_branch.why_some",
            &[("m", &msgs.num(suppressed as f64, 0))],
        )
    } else {
        msgs.t("no_branch.why_empty")
    };
    Some(msgs.f(
        "no_branch.note",
        &[("n", &msgs.num(n as f64, 0)), ("why", &why)],
    ))
}

/// The decimals that write a tick step of `step` exactly (0 to 2).
fn tick_decimals(step: f64) -> usize {
    (0..=2)
        .find(|d| {
            let x = step * 10f64.powi(*d as i32);
            (x - x.round()).abs() < 1e-6
        })
        .unwrap_or(2)
}

/// The branch scopes of an output as the report shows them: `(all)` and each branch, without
/// `(none)` (see `Writer::no_branch_note`).
fn shown_scopes(f: &Frame) -> Vec<String> {
    f.distinct("branch")
        .into_iter()
        .filter(|b| b != NO_BRANCH)
        .collect()
}

fn txt(s: impl Into<String>) -> (String, bool) {
    (s.into(), false)
}

fn num(s: impl Into<String>) -> (String, bool) {
    (s.into(), true)
}

/// The report being written: the page, and the files beside it.
struct Writer<'a> {
    msgs: Messages,
    opts: &'a ReportOptions<'a>,
    g: &'a Gathered,
    files: Vec<(String, String)>,
}

impl Writer<'_> {
    fn t(&self, key: &str) -> String {
        self.msgs.t(key)
    }

    /// A value of column `name` for people ("" when empty).
    fn v(&self, name: &str, v: &Val) -> String {
        match v {
            Val::Null => String::new(),
            Val::Bool(b) => self.msgs.yes_no(*b),
            Val::Text(s) => s.clone(),
            other => other
                .num()
                .map(|x| self.msgs.fmt_named(name, x))
                .unwrap_or_default(),
        }
    }

    /// How a chart's value axis writes figures of `kind` ranging over `values`: the tick
    /// formatter (as few decimals as the round ticks need; money without kopecks) and the
    /// unit for the chart's title (thousands where the axis reaches 10 000, the profile's
    /// currency for money).
    fn axis(&self, kind: Kind, values: &[Option<f64>]) -> (Box<dyn Fn(f64) -> String>, String) {
        let max = values.iter().flatten().fold(0.0_f64, |m, v| m.max(v.abs()));
        let top = charts::nice_up(max);
        let msgs = self.msgs.clone();
        if kind == Kind::Percent {
            let dec = tick_decimals(top * 100.0 / 2.0);
            let sep = if msgs.lang == "ru" { "\u{a0}" } else { "" };
            return (
                Box::new(move |v| format!("{}{sep}%", msgs.num(v * 100.0, dec))),
                String::new(),
            );
        }
        let div = if top >= 10_000.0 { 1000.0 } else { 1.0 };
        let dec = tick_decimals(top / div / 2.0);
        let mut unit: Vec<String> = vec![];
        if div > 1.0 {
            unit.push(self.t("unit.thousands"));
        }
        let currency = &self.opts.profile.report.currency;
        if kind == Kind::Money && !currency.is_empty() {
            unit.push(currency.clone());
        }
        (
            Box::new(move |v| msgs.num(v / div, dec)),
            unit.join("\u{a0}"),
        )
    }

    /// A money figure for people: whole units and the profile's currency (summary cards).
    fn money(&self, x: f64) -> String {
        let currency = &self.opts.profile.report.currency;
        if currency.is_empty() {
            self.msgs.num(x, 0)
        } else {
            format!("{}\u{a0}{currency}", self.msgs.num(x, 0))
        }
    }

    fn stage_color(&self, stage: &str) -> String {
        let i = self
            .opts
            .profile
            .stage_order
            .iter()
            .position(|s| s == stage)
            .unwrap_or(self.opts.profile.stage_order.len());
        PALETTE[i % PALETTE.len()].to_string()
    }

    /// Writes a frame as CSV beside the page.
    fn csv(&mut self, file: &str, f: &Frame) {
        self.files.push((file.to_string(), f.to_csv()));
    }

    fn unavailable(&self, key: &str) -> Option<String> {
        self.g.missing.get(key).map(|why| {
            format!(
                "<p class=\"missing\">{}</p>",
                esc(&self.msgs.f("not_available", &[("why", why)]))
            )
        })
    }

    fn section(&self, id: &str, body: &str) -> String {
        format!(
            "<section id=\"{id}\"><h2>{}</h2>{body}</section>\n",
            esc(&self.t(&format!("section.{id}")))
        )
    }

    fn pair(chart: &str, table: &str) -> String {
        format!("<div class=\"pair\"><figure>{chart}</figure>{table}</div>")
    }

    fn note(text: &str) -> String {
        format!("<p class=\"note\">{}</p>", esc(text))
    }

    /// The clients without a branch (the `(none)` scope of the stages), once, small, with the
    /// reason: they count in `(all)` only ("" when every client has a branch).
    fn no_branch_note(&self) -> String {
        match no_branch_text(self.g, self.opts, &self.msgs) {
            Some(t) => format!(
                "<p class=\"note small\" data-note=\"no-branch\">{}</p>",
                esc(&t)
            ),
            None => String::new(),
        }
    }

    /// Why the coverage shows memberships past D: their dates are start dates, their ends run
    /// further, and some may start after D (bought in advance).
    fn memberships_note(&self, cv: &Frame) -> String {
        let Some(r) = cv.rows_where("table_name", "memberships").next() else {
            return String::new();
        };
        if cv.get(r, "rows").num().unwrap_or(0.0) == 0.0 {
            return String::new();
        }
        let as_of = self.opts.as_of.to_string();
        let mut text = self.msgs.f(
            "coverage.memberships",
            &[
                ("as_of", &as_of),
                ("first", &cv.get(r, "first_date").text()),
                ("last", &cv.get(r, "last_date").text()),
                ("end", &cv.get(r, "last_end_date").text()),
                (
                    "ending",
                    &self.v("rows", cv.get(r, "rows_ending_after_as_of")),
                ),
            ],
        );
        let ahead = cv.get(r, "rows_after_as_of").num().unwrap_or(0.0);
        if ahead > 0.0 {
            text.push(' ');
            text.push_str(&self.msgs.f(
                "coverage.memberships_ahead",
                &[("n", &self.msgs.num(ahead, 0)), ("as_of", &as_of)],
            ));
        }
        format!(
            "<p class=\"note\" data-note=\"memberships\">{}</p>",
            esc(&text)
        )
    }

    // ---- sections ----

    fn summary(&mut self) -> String {
        let mut figures: Vec<(String, String, String)> = vec![];
        if let Some(st) = self.g.frame("segmentation.stages") {
            let all: Vec<&Vec<Val>> = st.rows_where("branch", "(all)").collect();
            if let Some(r) = all.first() {
                figures.push((
                    "base".into(),
                    self.t("summary.base"),
                    self.v("base", st.get(r, "base")),
                ));
            }
            // (the at_risk flag counted over the stages, as the stages output gives it)
            let at_risk: f64 = all.iter().filter_map(|r| st.get(r, "at_risk").num()).sum();
            figures.push((
                "at_risk".into(),
                self.t("summary.at_risk"),
                self.msgs.num(at_risk, 0),
            ));
        }
        if let Some(m) = self.g.frame("metrics_month.metrics") {
            if let Some(last) = m.rows_where("branch", "(all)").last() {
                let period = period_label("month", &m.get(last, "period_start").text());
                for metric in &self.opts.profile.report.summary_metrics {
                    let metric = metric.as_str();
                    if !m.columns.iter().any(|c| c == metric) {
                        continue;
                    }
                    let v = m.get(last, metric);
                    if !v.is_null() {
                        let value = match (kind_of(metric), v.num()) {
                            (Kind::Money, Some(x)) => self.money(x),
                            _ => self.v(metric, v),
                        };
                        figures.push((
                            metric.to_string(),
                            format!("{} ({period})", self.msgs.label("metric", metric)),
                            value,
                        ));
                    }
                }
            }
        }
        let mut cards = String::from("<div class=\"cards\">");
        for (_, label, value) in &figures {
            let _ = write!(
                cards,
                "<div class=\"card\"><div class=\"v\">{}</div><div class=\"l\">{}</div></div>",
                esc(value),
                esc(label)
            );
        }
        cards.push_str("</div>");
        let mut table = Table::new(vec![self.t("figure"), self.t("value")]).csv("summary.csv");
        let mut csv = Frame {
            name: "summary".into(),
            columns: vec!["figure".into(), "label".into(), "value".into()],
            rows: vec![],
        };
        for (key, label, value) in &figures {
            table.rows.push(vec![txt(label), num(value)]);
            csv.rows.push(vec![
                Val::Text(key.clone()),
                Val::Text(label.clone()),
                Val::Text(value.clone()),
            ]);
        }
        self.csv("summary.csv", &csv);
        let body = format!(
            "{cards}{}{}",
            Self::note(&self.t("summary.note")),
            table.html(&self.msgs)
        );
        self.section("summary", &body)
    }

    fn stages(&mut self) -> String {
        if let Some(m) = self.unavailable("segmentation") {
            return self.section("stages", &m);
        }
        let Some(st) = self.g.frame("segmentation.stages").cloned() else {
            return String::new();
        };
        self.csv("stages.csv", &st);
        let p = self.opts.profile;
        let scopes = shown_scopes(&st);
        let stages = st.distinct("stage");
        let bars: Vec<Bar> = st
            .rows_where("branch", "(all)")
            .map(|r| {
                let stage = st.get(r, "stage").text();
                let n = st.get(r, "clients").num().unwrap_or(0.0);
                let share = st.get(r, "share").num().unwrap_or(0.0);
                Bar {
                    label: p.stage_label(&stage),
                    value: n,
                    text: format!("{} · {}", self.msgs.num(n, 0), self.msgs.pct(share)),
                    color: self.stage_color(&stage),
                }
            })
            .collect();
        let chart = charts::hbars("stages", &self.t("stages.chart"), &bars, 620.0);
        let rows: Vec<(String, Vec<f64>)> = scopes
            .iter()
            .map(|b| {
                let shares = stages
                    .iter()
                    .map(|s| {
                        st.rows_where("branch", b)
                            .find(|r| st.get(r, "stage").text() == *s)
                            .and_then(|r| st.get(r, "share").num())
                            .unwrap_or(0.0)
                    })
                    .collect();
                (self.msgs.scope(b), shares)
            })
            .collect();
        let parts: Vec<(String, String)> = stages
            .iter()
            .map(|s| (p.stage_label(s), self.stage_color(s)))
            .collect();
        let by_branch = charts::stacked(
            "stages_by_branch",
            &self.t("stages.by_branch"),
            &rows,
            &parts,
            620.0,
        );
        // One column per scope: clients · share of the scope's base.
        let mut headers = vec![self.t("stage")];
        for b in &scopes {
            headers.push(self.msgs.scope(b));
        }
        let mut table = Table::new(headers).csv("stages.csv");
        for s in &stages {
            let mut row = vec![txt(p.stage_label(s))];
            for b in &scopes {
                let r = st
                    .rows_where("branch", b)
                    .find(|r| st.get(r, "stage").text() == *s);
                row.push(num(r
                    .map(|r| {
                        format!(
                            "{} · {}",
                            self.v("clients", st.get(r, "clients")),
                            self.v("share", st.get(r, "share"))
                        )
                    })
                    .unwrap_or_default()));
            }
            table.rows.push(row);
        }
        let mut base_row = vec![txt(self.t("total"))];
        for b in &scopes {
            let base = st
                .rows_where("branch", b)
                .next()
                .map(|r| self.v("base", st.get(r, "base")))
                .unwrap_or_default();
            base_row.push(num(format!("{base} · {}", self.msgs.pct(1.0))));
        }
        table.rows.push(base_row);
        let as_of = self.opts.as_of.to_string();
        let body = format!(
            "{}{}{}",
            Self::note(&self.msgs.f("stages.note", &[("as_of", &as_of)])),
            Self::pair(&format!("{chart}{by_branch}"), &table.html(&self.msgs)),
            self.no_branch_note()
        );
        self.section("stages", &body)
    }

    fn actions(&mut self) -> String {
        if let Some(m) = self.unavailable("segments") {
            return self.section("actions", &m);
        }
        let Some(seg) = self.g.frame("segments.segments").cloned() else {
            return String::new();
        };
        self.csv("segments.csv", &seg);
        let p = self.opts.profile;
        let st = self.g.frame("segmentation.stages");
        let mut table = Table::new(vec![
            self.t("stage"),
            self.t("clients"),
            self.t("share"),
            self.t("action"),
        ])
        .csv("actions.csv");
        let mut csv = Frame {
            name: "actions".into(),
            columns: vec![
                "stage".into(),
                "label".into(),
                "clients".into(),
                "share".into(),
                "recommended_action".into(),
            ],
            rows: vec![],
        };
        for stage in &p.stage_order {
            let row = st.and_then(|st| {
                st.rows_where("branch", "(all)")
                    .find(|r| st.get(r, "stage").text() == *stage)
                    .map(|r| (st.get(r, "clients").clone(), st.get(r, "share").clone()))
            });
            let (n, share) = row.unwrap_or((Val::Null, Val::Null));
            let action = p.action(stage).unwrap_or("").to_string();
            table.rows.push(vec![
                txt(p.stage_label(stage)),
                num(self.v("clients", &n)),
                num(self.v("share", &share)),
                txt(&action),
            ]);
            csv.rows.push(vec![
                Val::Text(stage.clone()),
                Val::Text(p.stage_label(stage)),
                n,
                share,
                Val::Text(action),
            ]);
        }
        self.csv("actions.csv", &csv);
        let link = format!(
            "<p class=\"note\">{}</p>",
            self.msgs
                .f("download_segments", &[("file", "segments.csv")])
                .split("segments.csv")
                .map(esc)
                .collect::<Vec<_>>()
                .join("<a href=\"segments.csv\">segments.csv</a>")
        );
        self.section("actions", &format!("{link}{}", table.html(&self.msgs)))
    }

    fn funnel(&mut self) -> String {
        if let Some(m) = self.unavailable("funnel") {
            return self.section("funnel", &m);
        }
        let (Some(total), Some(per)) = (
            self.g.frame("funnel.total").cloned(),
            self.g.frame("funnel.funnel").cloned(),
        ) else {
            return String::new();
        };
        self.csv("funnel.csv", &total);
        self.csv("funnel_periods.csv", &per);
        let outcomes = self.g.frame("funnel.outcomes").cloned();
        if let Some(o) = &outcomes {
            self.csv("funnel_outcomes.csv", o);
        }
        let all: Vec<&Vec<Val>> = total.rows_where("branch", "(all)").collect();
        // Every bar says which denominator its percentages use.
        let steps: Vec<Step> = all
            .iter()
            .map(|r| {
                let n = total.get(r, "clients").num().unwrap_or(0.0);
                let conv = total.get(r, "conversion").num();
                let reg = total.get(r, "share_of_registered").num();
                let step_no = total.get(r, "step_no").num().unwrap_or(1.0);
                let (text, detail) = if step_no <= 1.0 {
                    (self.msgs.num(n, 0), String::new())
                } else {
                    (
                        match conv {
                            Some(c) => self.msgs.f(
                                "funnel.bar_text",
                                &[("n", &self.msgs.num(n, 0)), ("pct", &self.msgs.pct(c))],
                            ),
                            None => self.msgs.num(n, 0),
                        },
                        reg.map(|x| {
                            self.msgs
                                .f("funnel.bar_detail", &[("pct", &self.msgs.pct(x))])
                        })
                        .unwrap_or_default(),
                    )
                };
                Step {
                    label: self.msgs.label("step", &total.get(r, "step").text()),
                    value: n,
                    text,
                    detail,
                }
            })
            .collect();
        let chart = charts::funnel("funnel", &self.t("section.funnel"), &steps, 620.0);
        let mut table = Table::new(vec![
            self.t("branch"),
            self.t("funnel.step"),
            self.t("clients"),
            self.t("funnel.conversion"),
            self.t("funnel.share_of_registered"),
            self.t("funnel.loss"),
            self.t("funnel.median_days"),
            self.t("funnel.reached"),
        ])
        .csv("funnel.csv");
        for b in shown_scopes(&total) {
            for r in total.rows_where("branch", &b) {
                table.rows.push(vec![
                    txt(self.msgs.scope(&b)),
                    txt(self.msgs.label("step", &total.get(r, "step").text())),
                    num(self.v("clients", total.get(r, "clients"))),
                    num(self.v("conversion", total.get(r, "conversion"))),
                    num(self.v("share", total.get(r, "share_of_registered"))),
                    num(self.v("loss", total.get(r, "loss"))),
                    num(self.v("median_days", total.get(r, "median_days_from_previous"))),
                    num(self.v("clients", total.get(r, "reached"))),
                ]);
            }
        }
        let (from, to) = all
            .first()
            .map(|r| {
                (
                    total.get(r, "period_start").text(),
                    total.get(r, "period_end").text(),
                )
            })
            .unwrap_or_default();
        let as_of = self.opts.as_of.to_string();
        // The outcome beside the funnel (not a step): archived clients of the registered.
        let mut outcome = String::new();
        if let Some(o) = &outcomes {
            if let Some(r) = o.rows.iter().find(|r| {
                o.get(r, "total").bool() == Some(true) && o.get(r, "branch").text() == "(all)"
            }) {
                outcome = format!(
                    "<p class=\"note outcome\" data-outcome=\"archived\">{} <a href=\"funnel_outcomes.csv\">funnel_outcomes.csv</a></p>",
                    esc(&self.msgs.f(
                        "funnel.archived",
                        &[
                            ("n", &self.v("clients", o.get(r, "clients"))),
                            ("pct", &self.v("share", o.get(r, "share_of_registered"))),
                            ("leads", &self.v("clients", o.get(r, "without_membership"))),
                        ]
                    ))
                );
            }
        }
        let body = format!(
            "{}{}{outcome}<p class=\"csv\"><a href=\"funnel_periods.csv\">{}: funnel_periods.csv</a></p>",
            Self::note(&self.msgs.f(
                "funnel.note",
                &[("from", &from), ("to", &to), ("as_of", &as_of)]
            )),
            Self::pair(&chart, &table.html(&self.msgs)),
            esc(&self.t("csv"))
        );
        self.section("funnel", &body)
    }

    fn cohorts(&mut self) -> String {
        if let Some(m) = self.unavailable("cohorts") {
            return self.section("cohorts", &m);
        }
        let Some(co) = self.g.frame("cohorts.matrix").cloned() else {
            return String::new();
        };
        self.csv("cohorts.csv", &co);
        let month_cols: Vec<String> = co
            .columns
            .iter()
            .filter(|c| kind_of(c) == Kind::Percent && c.starts_with('m'))
            .cloned()
            .collect();
        // Columns up to the last one with any value.
        let last = month_cols
            .iter()
            .rposition(|c| co.rows.iter().any(|r| !co.get(r, c).is_null()))
            .map(|i| i + 1)
            .unwrap_or(0);
        let cols = &month_cols[..last];
        let row_labels: Vec<String> = co
            .rows
            .iter()
            .map(|r| {
                let c = co.get(r, "cohort").text();
                format!(
                    "{} ({})",
                    c.get(..7).unwrap_or(&c),
                    self.v("clients", co.get(r, "clients"))
                )
            })
            .collect();
        let col_labels: Vec<String> = cols
            .iter()
            .map(|c| {
                c.trim_start_matches('m')
                    .trim_start_matches('0')
                    .to_string()
            })
            .collect();
        let shade: Vec<Vec<Option<f64>>> = co
            .rows
            .iter()
            .map(|r| cols.iter().map(|c| co.get(r, c).num()).collect())
            .collect();
        let texts: Vec<Vec<String>> = co
            .rows
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| {
                        co.get(r, c)
                            .num()
                            .map(|x| format!("{:.0}", x * 100.0))
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect();
        let cell_w = if cols.is_empty() {
            40.0
        } else {
            (1000.0 / cols.len() as f64).clamp(30.0, 60.0)
        };
        let chart = if co.rows.is_empty() {
            format!(
                "<p class=\"missing\">{}</p>{}",
                esc(&self.t("no_data")),
                charts::heatmap(
                    "cohorts",
                    &self.t("section.cohorts"),
                    &[],
                    &[],
                    &[],
                    &[],
                    40.0,
                    20.0
                )
            )
        } else {
            charts::heatmap(
                "cohorts",
                &self.t("section.cohorts"),
                &row_labels,
                &col_labels,
                &shade,
                &texts,
                cell_w,
                20.0,
            )
        };
        let mut headers = vec![self.t("cohorts.cohort"), self.t("clients")];
        headers.extend(col_labels.iter().cloned());
        let mut table = Table::new(headers).csv("cohorts.csv");
        // Whole percentages (the CSV has them in full) so that 24 months fit the card.
        for r in &co.rows {
            let c = co.get(r, "cohort").text();
            let mut row = vec![
                txt(c.get(..7).unwrap_or(&c)),
                num(self.v("clients", co.get(r, "clients"))),
            ];
            for c in cols {
                row.push(num(co
                    .get(r, c)
                    .num()
                    .map(|x| self.msgs.pct0(x))
                    .unwrap_or_default()));
            }
            table.rows.push(row);
        }
        let body = format!(
            "{}<figure class=\"wide\">{chart}<figcaption>{}</figcaption></figure>{}",
            Self::note(&self.t("cohorts.note")),
            esc(&self.t("cohorts.months")),
            table.html(&self.msgs)
        );
        self.section("cohorts", &body)
    }

    fn trends(&mut self) -> String {
        for (_, grain) in forms::SHEETS {
            for out in ["metrics", "starter_delivery"] {
                if let Some(f) = self.g.frame(&format!("metrics_{grain}.{out}")).cloned() {
                    self.csv(&format!("{out}_{grain}.csv"), &f);
                }
            }
        }
        if let Some(m) = self.unavailable("metrics_month") {
            return self.section("trends", &m);
        }
        let Some(m) = self.g.frame("metrics_month.metrics").cloned() else {
            return String::new();
        };
        let rows: Vec<&Vec<Val>> = m.rows_where("branch", "(all)").collect();
        let x: Vec<String> = rows
            .iter()
            .map(|r| period_label("month", &m.get(r, "period_start").text()))
            .collect();
        let mut grid = String::from("<div class=\"grid\">");
        let mut table = Table::new(
            std::iter::once(self.t("figure"))
                .chain(x.iter().cloned())
                .collect(),
        )
        .csv("metrics_month.csv");
        for metric in forms::metric_columns(&m) {
            let values: Vec<Option<f64>> = rows.iter().map(|r| m.get(r, &metric).num()).collect();
            let label = self.msgs.label("metric", &metric);
            let (fmt, unit) = self.axis(kind_of(&metric), &values);
            let title = if unit.is_empty() {
                label.clone()
            } else {
                format!("{label}, {unit}")
            };
            grid.push_str(&charts::lines(
                &format!("trend-{metric}"),
                &title,
                &x,
                &[Series {
                    label: title.clone(),
                    values,
                    color: PALETTE[0].into(),
                }],
                None,
                &*fmt,
                360.0,
                170.0,
            ));
            let mut row = vec![txt(&label)];
            for r in &rows {
                row.push(num(self.v(&metric, m.get(r, &metric))));
            }
            table.rows.push(row);
        }
        grid.push_str("</div>");
        let as_of = self.opts.as_of.to_string();
        let body = format!(
            "{}{grid}{}",
            Self::note(&self.msgs.f("trends.note", &[("as_of", &as_of)])),
            table.html(&self.msgs)
        );
        self.section("trends", &body)
    }

    fn rfm(&mut self) -> String {
        if let Some(m) = self.unavailable("rfm") {
            return self.section("rfm", &m);
        }
        let (Some(seg), Some(mx)) = (
            self.g.frame("rfm.segments").cloned(),
            self.g.frame("rfm.matrix").cloned(),
        ) else {
            return String::new();
        };
        self.csv("rfm_segments.csv", &seg);
        self.csv("rfm_matrix.csv", &mx);
        let bars: Vec<Bar> = seg
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let n = seg.get(r, "clients").num().unwrap_or(0.0);
                let share = seg.get(r, "share").num().unwrap_or(0.0);
                Bar {
                    label: self.msgs.label("segment", &seg.get(r, "segment").text()),
                    value: n,
                    text: format!("{} · {}", self.msgs.num(n, 0), self.msgs.pct(share)),
                    color: PALETTE[i % PALETTE.len()].into(),
                }
            })
            .collect();
        let seg_chart = charts::hbars("rfm_segments", &self.t("rfm.segments_chart"), &bars, 620.0);
        let mut seg_table = Table::new(vec![
            self.t("rfm.segment"),
            "R".into(),
            "F".into(),
            self.t("clients"),
            self.t("share"),
            self.t("rfm.mean_recency"),
            self.t("rfm.mean_frequency"),
            self.t("rfm.mean_monetary"),
        ])
        .csv("rfm_segments.csv");
        for r in &seg.rows {
            seg_table.rows.push(vec![
                txt(self.msgs.label("segment", &seg.get(r, "segment").text())),
                txt(seg.get(r, "r_scores").text()),
                txt(seg.get(r, "f_scores").text()),
                num(self.v("clients", seg.get(r, "clients"))),
                num(self.v("share", seg.get(r, "share"))),
                num(self.v("mean_recency_days", seg.get(r, "mean_recency_days"))),
                num(self.v("mean_frequency", seg.get(r, "mean_frequency"))),
                num(self.v("mean_monetary", seg.get(r, "mean_monetary"))),
            ]);
        }
        let mcols: Vec<String> = mx.columns.iter().skip(1).cloned().collect();
        let max = mx
            .rows
            .iter()
            .flat_map(|r| mcols.iter().filter_map(|c| mx.get(r, c).num()))
            .fold(0.0, f64::max);
        let row_labels: Vec<String> = mx.rows.iter().map(|r| mx.get(r, "r_band").text()).collect();
        let shade: Vec<Vec<Option<f64>>> = mx
            .rows
            .iter()
            .map(|r| {
                mcols
                    .iter()
                    .map(|c| {
                        mx.get(r, c)
                            .num()
                            .map(|v| if max > 0.0 { v / max } else { 0.0 })
                    })
                    .collect()
            })
            .collect();
        let texts: Vec<Vec<String>> = mx
            .rows
            .iter()
            .map(|r| {
                mcols
                    .iter()
                    .map(|c| self.v("clients", mx.get(r, c)))
                    .collect()
            })
            .collect();
        let mx_chart = charts::heatmap(
            "rfm_matrix",
            &self.t("rfm.matrix"),
            &row_labels,
            &mcols,
            &shade,
            &texts,
            110.0,
            50.0,
        );
        let mut mx_table = Table::new(
            std::iter::once("R \\ M".to_string())
                .chain(mcols.iter().cloned())
                .collect(),
        )
        .csv("rfm_matrix.csv");
        for r in &mx.rows {
            let mut row = vec![txt(mx.get(r, "r_band").text())];
            for c in &mcols {
                row.push(num(self.v("clients", mx.get(r, c))));
            }
            mx_table.rows.push(row);
        }
        let days = self
            .opts
            .profile
            .describe("rfm_window_days")
            .unwrap_or_default();
        let as_of = self.opts.as_of.to_string();
        let body = format!(
            "{}{}<h3>{}</h3>{}",
            Self::note(
                &self
                    .msgs
                    .f("rfm.note", &[("days", &days), ("as_of", &as_of)])
            ),
            Self::pair(&seg_chart, &seg_table.html(&self.msgs)),
            esc(&self.t("rfm.matrix")),
            Self::pair(&mx_chart, &mx_table.html(&self.msgs)),
        );
        self.section("rfm", &body)
    }

    fn targets(&mut self) -> String {
        if self.opts.targets.is_none() {
            return self.section("targets", &Self::note(&self.t("targets.none")));
        }
        if let Some(m) = self.unavailable("targets") {
            return self.section("targets", &m);
        }
        let Some(tg) = self.g.frame("targets.targets").cloned() else {
            return String::new();
        };
        self.csv("targets.csv", &tg);
        let label = |w: &Self, r: &Vec<Val>| {
            format!(
                "{} · {} · {}",
                w.msgs.label("metric", &tg.get(r, "metric").text()),
                w.msgs.scope(&tg.get(r, "scope").text()),
                tg.get(r, "period").text()
            )
        };
        const CHART_ROWS: usize = 60;
        let bullets: Vec<Bullet> = tg
            .rows
            .iter()
            .take(CHART_ROWS)
            .map(|r| {
                let metric = tg.get(r, "metric").text();
                let actual = tg.get(r, "actual").num();
                let target = tg.get(r, "target").num().unwrap_or(0.0);
                Bullet {
                    label: label(self, r),
                    baseline: tg.get(r, "baseline").num(),
                    actual,
                    target,
                    met: tg.get(r, "met").bool(),
                    text: format!(
                        "{} / {}",
                        actual
                            .map(|a| self.msgs.fmt_named(&metric, a))
                            .unwrap_or_else(|| "—".into()),
                        self.msgs.fmt_named(&metric, target)
                    ),
                }
            })
            .collect();
        let chart = charts::bullets("targets", &self.t("section.targets"), &bullets, 1100.0);
        let mut table = Table::new(vec![
            self.t("period"),
            self.t("targets.metric"),
            self.t("targets.scope"),
            self.t("targets.baseline"),
            self.t("targets.baseline_used"),
            self.t("targets.actual"),
            self.t("targets.target"),
            self.t("targets.met"),
        ])
        .csv("targets.csv");
        for r in &tg.rows {
            let metric = tg.get(r, "metric").text();
            let met = match tg.get(r, "met").bool() {
                Some(true) => format!("✓ {}", self.msgs.yes_no(true)),
                Some(false) => format!("✗ {}", self.msgs.yes_no(false)),
                None => format!("— {}", self.t("targets.pending")),
            };
            table.rows.push(vec![
                txt(tg.get(r, "period").text()),
                txt(self.msgs.label("metric", &metric)),
                txt(self.msgs.scope(&tg.get(r, "scope").text())),
                num(self.v(&metric, tg.get(r, "baseline"))),
                num(self.v("baseline_periods_used", tg.get(r, "baseline_periods_used"))),
                num(self.v(&metric, tg.get(r, "actual"))),
                num(self.v(&metric, tg.get(r, "target"))),
                txt(met),
            ]);
        }
        let n = self
            .opts
            .targets
            .map(|t| t.baseline_periods.to_string())
            .unwrap_or_default();
        let body = format!(
            "{}<figure class=\"wide\">{chart}</figure>{}",
            Self::note(&self.msgs.f("targets.note", &[("n", &n)])),
            table.html(&self.msgs)
        );
        self.section("targets", &body)
    }

    fn loyalty(&mut self) -> String {
        let Some(rules) = self.opts.loyalty else {
            return self.section("loyalty", &Self::note(&self.t("loyalty.none")));
        };
        if let Some(m) = self.unavailable("loyalty") {
            return self.section("loyalty", &m);
        }
        let (Some(per), Some(sum)) = (
            self.g.frame("loyalty.periods").cloned(),
            self.g.frame("loyalty.summary").cloned(),
        ) else {
            return String::new();
        };
        self.csv("loyalty_periods.csv", &per);
        self.csv("loyalty_summary.csv", &sum);
        let rows: Vec<&Vec<Val>> = per.rows_where("branch", "(all)").collect();
        let x: Vec<String> = rows
            .iter()
            .map(|r| period_label("month", &per.get(r, "period_start").text()))
            .collect();
        let shares: Vec<Option<f64>> = rows
            .iter()
            .map(|r| per.get(r, "cost_share").num())
            .collect();
        // (the axis reaches the target line too)
        let mut reach = shares.clone();
        reach.push(Some(rules.target_cost_share));
        let (fmt, _) = self.axis(Kind::Percent, &reach);
        let chart = charts::lines(
            "loyalty",
            &self.t("loyalty.chart"),
            &x,
            &[Series {
                label: self.t("loyalty.cost_share"),
                values: shares,
                color: PALETTE[0].into(),
            }],
            Some((rules.target_cost_share, self.t("loyalty.target_share"))),
            &*fmt,
            620.0,
            260.0,
        );
        let mut ptable = Table::new(vec![
            self.t("period"),
            self.t("loyalty.points"),
            self.t("loyalty.cost"),
            self.t("loyalty.earners"),
            self.t("loyalty.revenue"),
            self.t("loyalty.cost_share"),
            self.t("loyalty.max_point_value"),
        ])
        .csv("loyalty_periods.csv");
        for (r, label) in rows.iter().zip(&x) {
            ptable.rows.push(vec![
                txt(label),
                num(self.v("points", per.get(r, "points"))),
                num(self.v("cost", per.get(r, "cost"))),
                num(self.v("earners", per.get(r, "earners"))),
                num(self.v("revenue", per.get(r, "revenue"))),
                num(self.v("cost_share", per.get(r, "cost_share"))),
                num(self.v("max_point_value", per.get(r, "max_point_value"))),
            ]);
        }
        let mut stable = Table::new(vec![
            self.t("branch"),
            self.t("loyalty.points"),
            self.t("loyalty.cost"),
            self.t("loyalty.earners"),
            self.t("loyalty.revenue"),
            self.t("loyalty.cost_share"),
            self.t("loyalty.within"),
            self.t("loyalty.max_point_value"),
        ])
        .csv("loyalty_summary.csv");
        let mut history = String::new();
        for r in sum
            .rows
            .iter()
            .filter(|r| sum.get(r, "branch").text() != NO_BRANCH)
        {
            if history.is_empty() {
                history = self.msgs.f(
                    "loyalty.history",
                    &[
                        ("from", &sum.get(r, "first_date").text()),
                        ("to", &sum.get(r, "last_date").text()),
                    ],
                );
            }
            stable.rows.push(vec![
                txt(self.msgs.scope(&sum.get(r, "branch").text())),
                num(self.v("points", sum.get(r, "points"))),
                num(self.v("cost", sum.get(r, "cost"))),
                num(self.v("earners", sum.get(r, "earners"))),
                num(self.v("revenue", sum.get(r, "revenue"))),
                num(self.v("cost_share", sum.get(r, "cost_share"))),
                txt(self.v("within_target", sum.get(r, "within_target"))),
                num(self.v("max_point_value", sum.get(r, "max_point_value"))),
            ]);
        }
        let mut parts = vec![];
        for (key, n) in [
            ("loyalty.per_visit", rules.points_per_visit),
            ("loyalty.per_renewal", rules.points_per_renewal),
            ("loyalty.per_pt", rules.points_per_pt_purchase),
            ("loyalty.per_referral", rules.points_per_referral),
        ] {
            if n > 0.0 {
                parts.push(self.msgs.f(key, &[("n", &self.msgs.fmt(Kind::Number, n))]));
            }
        }
        let note = self.msgs.f(
            "loyalty.note",
            &[
                ("rules", &parts.join(", ")),
                ("value", &self.msgs.fmt(Kind::Money, rules.point_value)),
                ("rate", &self.msgs.pct(rules.redemption_rate)),
                ("share", &self.msgs.pct(rules.target_cost_share)),
            ],
        );
        let mut body = Self::note(&note);
        if rules.points_per_referral > 0.0 {
            body.push_str(&Self::note(&self.t("loyalty.referral_note")));
        }
        let _ = write!(
            body,
            "<h3>{}</h3>{}{}",
            esc(&history),
            stable.html(&self.msgs),
            Self::pair(&chart, &ptable.html(&self.msgs))
        );
        self.section("loyalty", &body)
    }

    fn coverage(&mut self) -> String {
        if let Some(m) = self.unavailable("coverage") {
            return self.section("coverage", &m);
        }
        let Some(cv) = self.g.frame("coverage.tables").cloned() else {
            return String::new();
        };
        self.csv("coverage.csv", &cv);
        let day = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as f64)
        };
        let spans: Vec<charts::Span> = cv
            .rows
            .iter()
            .map(|r| {
                let t = cv.get(r, "table_name").text();
                let (a, b) = (
                    cv.get(r, "first_date").text(),
                    cv.get(r, "last_date").text(),
                );
                let rows = self.v("rows", cv.get(r, "rows"));
                let end = cv.get(r, "last_end_date").text();
                match (day(&a), day(&b)) {
                    (Some(x), Some(y)) => charts::Span {
                        label: t,
                        range: Some((x, y)),
                        extends_to: day(&end),
                        tip: if end.is_empty() {
                            format!("{a} — {b}: {rows}")
                        } else {
                            format!("{a} — {b} ({end}): {rows}")
                        },
                    },
                    _ => charts::Span {
                        label: t,
                        range: None,
                        extends_to: None,
                        tip: self.t("no_data"),
                    },
                }
            })
            .collect();
        let lo = spans
            .iter()
            .filter_map(|s| s.range.map(|x| x.0))
            .fold(f64::INFINITY, f64::min);
        let as_of_day = day(&self.opts.as_of.to_string()).unwrap_or(0.0);
        let hi = spans
            .iter()
            .filter_map(|s| s.range.map(|x| x.1.max(s.extends_to.unwrap_or(x.1))))
            .fold(as_of_day, f64::max);
        let lo = if lo.is_finite() { lo } else { hi - 365.0 };
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let label = |d: f64| (epoch + chrono::Duration::days(d as i64)).to_string();
        let marker = format!("D = {}", self.opts.as_of);
        let chart = charts::timeline(
            "coverage",
            &self.t("section.coverage"),
            &spans,
            (lo, hi),
            (&label(lo), &label(hi)),
            Some((as_of_day, &marker)),
            620.0,
        );
        let mut table = Table::new(vec![
            self.t("coverage.table"),
            self.t("coverage.date_column"),
            self.t("coverage.present"),
            self.t("coverage.rows"),
            self.t("coverage.clients"),
            self.t("coverage.unknown"),
            self.t("coverage.first"),
            self.t("coverage.last"),
            self.t("coverage.after"),
        ])
        .csv("coverage.csv");
        for r in &cv.rows {
            table.rows.push(vec![
                txt(cv.get(r, "table_name").text()),
                txt(cv.get(r, "date_column").text()),
                txt(self.v("present", cv.get(r, "present"))),
                num(self.v("rows", cv.get(r, "rows"))),
                num(self.v("clients", cv.get(r, "clients"))),
                num(self.v("rows_unknown_client", cv.get(r, "rows_unknown_client"))),
                txt(cv.get(r, "first_date").text()),
                txt(cv.get(r, "last_date").text()),
                num(self.v("rows_after_as_of", cv.get(r, "rows_after_as_of"))),
            ]);
        }
        let mut body = format!(
            "{}{}{}",
            Self::note(&self.t("coverage.note")),
            Self::pair(&chart, &table.html(&self.msgs)),
            self.memberships_note(&cv)
        );
        if !self.opts.bundles.is_empty() {
            let mut bt = Table::new(vec![
                self.t("coverage.bundle"),
                self.t("coverage.as_of"),
                self.t("coverage.created"),
                self.t("coverage.export_id"),
            ])
            .csv("bundles.csv");
            let mut csv = Frame {
                name: "bundles".into(),
                columns: vec![
                    "bundle".into(),
                    "as_of".into(),
                    "created_at".into(),
                    "export_id".into(),
                ],
                rows: vec![],
            };
            for b in &self.opts.bundles {
                bt.rows.push(vec![
                    txt(&b.dir),
                    txt(b.as_of.to_string()),
                    txt(&b.created_at),
                    txt(&b.export_id),
                ]);
                csv.rows.push(vec![
                    Val::Text(b.dir.clone()),
                    Val::Text(b.as_of.to_string()),
                    Val::Text(b.created_at.clone()),
                    Val::Text(b.export_id.clone()),
                ]);
            }
            self.csv("bundles.csv", &csv);
            let _ = write!(
                body,
                "<h3>{}</h3>{}",
                esc(&self.t("coverage.bundles")),
                bt.html(&self.msgs)
            );
        }
        if !self.g.notes.is_empty() {
            body.push_str("<ul class=\"notes\">");
            for n in &self.g.notes {
                let _ = write!(body, "<li>{}</li>", esc(n));
            }
            body.push_str("</ul>");
        }
        self.section("coverage", &body)
    }
}

const CSS: &str = "
:root { --ink: #222; --muted: #666; --line: #e3e3e3; --accent: #4e79a7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: var(--ink); background: #fafafa; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 10px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 6px 14px; }
nav a { color: var(--accent); text-decoration: none; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px 20px; margin: 16px 0; }
.note { color: var(--muted); margin: 4px 0 12px; }
.missing { color: #a33; font-weight: 600; }
.pair { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.pair > figure { flex: 1 1 600px; margin: 0; min-width: 0; }
.pair > .table { flex: 1 1 380px; min-width: 0; }
.pair > .table.wide { flex-basis: 100%; }
figure { margin: 0 0 12px; }
figure.wide { overflow-x: auto; max-width: 100%; }
figcaption { color: var(--muted); font-size: 12px; }
svg.chart { max-width: 100%; height: auto; display: block; margin-bottom: 8px; font-family: inherit; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 10px; margin-bottom: 12px; }
.grid > svg.chart { min-width: 0; width: 100%; }
.table { overflow-x: auto; max-width: 100%; min-width: 0; }
table { border-collapse: collapse; font-size: 12.5px; }
.table.wide table { font-size: 11.5px; }
.table.wide th, .table.wide td { padding: 2px 5px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.csv { font-size: 12px; margin: 4px 0; }
.csv a { color: var(--accent); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 150px; background: #f8fafc; }
.card .v { font-size: 22px; font-weight: 700; }
.card .l { color: var(--muted); font-size: 12px; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 24px; }
.note.small { font-size: 12px; }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { background: #fff; font-size: 11px; }
  header, main, footer { max-width: none; padding: 0; }
  nav { display: none; }
  section { border: none; border-radius: 0; padding: 0; margin: 0 0 6mm; break-inside: auto; }
  section + section { break-before: page; }
  h2, h3 { break-after: avoid; }
  .pair { display: block; }
  .table, figure.wide { overflow: visible; }
  table { font-size: 9px; }
  .table.wide table { font-size: 8px; }
  th, td, .table.wide th, .table.wide td { padding: 1px 3px; }
  td.num { white-space: normal; }
  thead { display: table-header-group; }
  tr, figure, svg.chart, .card { break-inside: avoid; }
}
";

/// Renders the page and the files beside it.
pub fn render(g: &Gathered, opts: &ReportOptions<'_>) -> Result<(String, Vec<(String, String)>)> {
    let msgs = Messages::new(&opts.profile.lang)?;
    let mut w = Writer {
        msgs,
        opts,
        g,
        files: vec![],
    };
    let mut body = String::new();
    // the profile's sections, in its order; with --network, "vs the network" after the summary
    let mut sections = opts.profile.report.sections.clone();
    if opts.network.is_some() {
        let at = sections
            .iter()
            .position(|s| s == "summary")
            .map_or(0, |i| i + 1);
        sections.insert(at, "network".into());
    }
    for id in &sections {
        body.push_str(&match id.as_str() {
            "summary" => w.summary(),
            "network" => crate::network_section::render(
                opts.network.unwrap_or_default(),
                "month",
                &w.msgs,
                opts.profile,
            ),
            "stages" => w.stages(),
            "actions" => w.actions(),
            "funnel" => w.funnel(),
            "cohorts" => w.cohorts(),
            "trends" => w.trends(),
            "rfm" => w.rfm(),
            "targets" => w.targets(),
            "loyalty" => w.loyalty(),
            "coverage" => w.coverage(),
            // section clv (crate::clv::report_body)
            "clv" => {
                let body = w
                    .unavailable("clv")
                    .unwrap_or_else(|| crate::clv::report_body(&g.frames, &opts.profile.lang));
                w.section("clv", &body)
            }
            other => bail!("report: no section {other:?}"),
        });
    }
    if !opts.profile.report.sections.iter().any(|s| s == "actions") {
        // segments.csv, the list the club acts on, goes with every report
        let _ = w.actions();
    }
    let as_of = opts.as_of.to_string();
    let mut nav = String::from("<nav><ul>");
    for id in &sections {
        if body.contains(&format!("<section id=\"{id}\">")) {
            let _ = write!(
                nav,
                "<li><a href=\"#{id}\">{}</a></li>",
                esc(&w.t(&format!("section.{id}")))
            );
        }
    }
    nav.push_str("</ul></nav>");
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — {as_of}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <header><h1>{title}</h1><p class=\"note\">{subtitle}</p>{nav}</header>\n\
         <main>\n{body}</main>\n<footer>{generated}</footer>\n</body>\n</html>\n",
        lang = esc(&opts.profile.lang),
        title = esc(&w.t("title")),
        subtitle = esc(&w.msgs.f(
            "subtitle",
            &[("as_of", &as_of), ("profile", &opts.profile.name)]
        )),
        generated = esc(&w
            .msgs
            .f("generated", &[("version", env!("CARGO_PKG_VERSION"))])),
    );
    Ok((page, w.files))
}

/// Writes report.html, forms.xlsx and the CSV files into `out` (created if missing; files of
/// the same names are replaced). Returns the files written.
pub fn write(g: &Gathered, opts: &ReportOptions<'_>, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let (page, files) = render(g, opts)?;
    let mut written = vec![];
    let html = out.join("report.html");
    std::fs::write(&html, page).with_context(|| format!("cannot write {}", html.display()))?;
    written.push(html);
    if !opts.profile.report.sections.iter().any(|s| s == "trends") {
        // no period metrics in this profile's report: no statistics forms either
        return write_files(out, files, written);
    }
    let msgs = Messages::new(&opts.profile.lang)?;
    let data: Vec<forms::GrainData<'_>> = forms::SHEETS
        .iter()
        .map(|(_, grain)| {
            let key = format!("metrics_{grain}");
            let m = g.frame(&format!("{key}.metrics"));
            let sd = g.frame(&format!("{key}.starter_delivery"));
            (*grain, m.map(|m| (m, sd)), g.missing.get(&key).cloned())
        })
        .collect();
    let xlsx = out.join("forms.xlsx");
    let note = no_branch_text(g, opts, &msgs);
    forms::write(&xlsx, &msgs, opts.as_of, &data, note.as_deref())
        .with_context(|| format!("cannot write {}", xlsx.display()))?;
    written.push(xlsx);
    write_files(out, files, written)
}

/// Writes the CSV files beside the page.
fn write_files(
    out: &Path,
    files: Vec<(String, String)>,
    mut written: Vec<PathBuf>,
) -> Result<Vec<PathBuf>> {
    for (name, text) in files {
        let p = out.join(&name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_look_like_formulas_become_text() {
        for (cell, want) in [
            ("=1+2", "'=1+2"),
            ("+7 900", "'+7 900"),
            ("-Юг", "'-Юг"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Центральный", "Центральный"),
            ("(all)", "(all)"),
            ("", ""),
        ] {
            assert_eq!(clm_query::output::csv_cell(cell), want, "{cell:?}");
        }
        let f = Frame {
            name: "t".into(),
            columns: vec!["branch".into(), "n".into(), "x".into()],
            rows: vec![
                vec![
                    Val::Text("=HYPERLINK(\"x\")".into()),
                    Val::Int(-3),
                    Val::Num(-0.5),
                ],
                vec![Val::Text("A, B".into()), Val::Null, Val::Bool(true)],
            ],
        };
        // Numbers stay numbers (a negative number is no formula); text is neutralised, then
        // quoted as CSV needs.
        assert_eq!(
            f.to_csv(),
            "branch,n,x\n\"'=HYPERLINK(\"\"x\"\")\",-3,-0.5\n\"A, B\",,true\n"
        );
    }
}
