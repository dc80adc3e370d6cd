//! The "vs the network" section of one club's report (issue 12 §1), from the file
//! `clm-analyze portfolio --for-club NAME --format json --out FILE` writes (output
//! `club_network`: the network's distribution per metric and period beside the club's own value
//! and rank, no other club's name or figure).
//!
//! [`load`] reads and checks the file; [`render`] returns the section's HTML (a chart, one row
//! per metric on its own scale: the p25–p75 band, the median, the best, and the club's value;
//! then a table). The report calls both; nothing here reads bundles.

use std::fmt::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::i18n::{kind_of, Kind, Messages};
use clm_query::portfolio::{AS_OF_GRAIN, MIN_CLUBS, STAGE_SHARE};
use clm_query::profile::Profile;

/// One row of a network file (`club_network`; the `network` output reads too, without the
/// club's own columns). Empty fields are absent from the JSON objects.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkRow {
    pub metric: String,
    pub grain: String,
    pub period: String,
    pub better: String,
    pub clubs: i64,
    #[serde(default)]
    pub p25: Option<f64>,
    #[serde(default)]
    pub median: Option<f64>,
    #[serde(default)]
    pub p75: Option<f64>,
    #[serde(default)]
    pub best: Option<f64>,
    /// The club's own figure.
    #[serde(default)]
    pub value: Option<f64>,
    /// The club's rank (1 = best) among `clubs`.
    #[serde(default)]
    pub rank: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Reads a network file (JSON array). A file naming clubs (the consultant's `clubs` output) is
/// refused: it holds other clubs' names and figures, which a club's report must not show.
pub fn load(path: &Path) -> Result<Vec<NetworkRow>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--network {}: cannot read", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "--network {}: not JSON (write it with `clm-analyze portfolio --for-club NAME \
             --format json --out FILE`)",
            path.display()
        )
    })?;
    let Some(items) = value.as_array() else {
        bail!(
            "--network {}: expected a JSON array of rows (the single output of \
             `clm-analyze portfolio --for-club NAME --format json`)",
            path.display()
        );
    };
    if items.iter().any(|r| r.get("club").is_some()) {
        bail!(
            "--network {}: this file names clubs (it is the portfolio's `clubs` output): a \
             club's report may show the network's distribution only. Write the club's file \
             with `clm-analyze portfolio ... --for-club NAME --format json --out FILE`",
            path.display()
        );
    }
    items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::from_value::<NetworkRow>(r.clone())
                .with_context(|| format!("--network {}: row {}", path.display(), i + 1))
        })
        .collect()
}

/// The rows the section shows: the stage shares at D, then, for `grain`, each metric's latest
/// period, in the file's order.
pub fn select<'a>(rows: &'a [NetworkRow], grain: &str) -> Vec<&'a NetworkRow> {
    let mut out: Vec<&NetworkRow> = rows.iter().filter(|r| r.grain == AS_OF_GRAIN).collect();
    let mut latest: Vec<(&str, &str)> = Vec::new();
    for r in rows.iter().filter(|r| r.grain == grain) {
        match latest.iter_mut().find(|(m, _)| *m == r.metric) {
            // labels of one grain sort as their periods do (2026-09 < 2026-10, 2026-Q3 < 2026-Q4)
            Some((_, p)) => {
                if r.period.as_str() > *p {
                    *p = &r.period
                }
            }
            None => latest.push((&r.metric, &r.period)),
        }
    }
    for (m, p) in latest {
        out.extend(
            rows.iter()
                .filter(|r| r.grain == grain && r.metric == m && r.period == p),
        );
    }
    out
}

struct Texts {
    title: &'static str,
    intro: &'static str,
    withheld: &'static str,
    metric: &'static str,
    period: &'static str,
    yours: &'static str,
    rank: &'static str,
    best: &'static str,
    median: &'static str,
    note: &'static str,
    stage_share: &'static str,
    lower: &'static str,
}

fn texts(lang: &str) -> Texts {
    match lang {
        "ru" => Texts {
            title: "Клуб и сеть",
            intro: "Показатели клуба рядом с распределением по сети из {n} клубов: полоса — от 25-го до 75-го процентиля, черта — медиана, зелёная метка — лучший клуб, точка — ваш клуб. Названия и показатели других клубов не показываются; статистика по менее чем {min} клубам не приводится.",
            withheld: "не приводится: меньше {min} клубов",
            metric: "Показатель",
            period: "Период",
            yours: "Ваш клуб",
            rank: "Место",
            best: "Лучший",
            median: "Медиана",
            note: "Примечание",
            stage_share: "Доля базы",
            lower: "(чем меньше, тем лучше)",
        },
        _ => Texts {
            title: "Vs the network",
            intro: "The club's figures beside the distribution over a network of {n} clubs: the band runs from the 25th to the 75th percentile, the line is the median, the green tick the best club, the dot your club. No other club's name or figure is shown; no statistic from fewer than {min} clubs.",
            withheld: "withheld: fewer than {min} clubs",
            metric: "Metric",
            period: "Period",
            yours: "Your club",
            rank: "Rank",
            best: "Best",
            median: "Median",
            note: "Note",
            stage_share: "Share of the base",
            lower: "(lower is better)",
        },
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn kind(metric: &str) -> Kind {
    if metric.starts_with(STAGE_SHARE) {
        Kind::Percent
    } else {
        kind_of(metric)
    }
}

fn label(r: &NetworkRow, m: &Messages, profile: &Profile, t: &Texts) -> String {
    let base = match r.metric.strip_prefix(STAGE_SHARE) {
        Some(stage) => format!("{}: {}", t.stage_share, profile.stage_label(stage)),
        None => m.label("metric", &r.metric),
    };
    if r.better == "lower" {
        format!("{base} {}", t.lower)
    } else {
        base
    }
}

/// The section's HTML: `<section id="network">` with a heading, a sentence on what is shown,
/// an inline SVG chart and a table. `grain`: the period grain of the metrics shown (`month` or
/// `quarter`; each metric's latest period), beside the stage shares at D.
pub fn render(rows: &[NetworkRow], grain: &str, m: &Messages, profile: &Profile) -> String {
    let t = texts(&m.lang);
    let mut shown = select(rows, grain);
    // the stage shares in the profile's order of stages (they come first; the sort is stable)
    let stage_rank = |r: &NetworkRow| -> (usize, usize) {
        match r.metric.strip_prefix(STAGE_SHARE) {
            Some(st) => (
                0,
                profile
                    .stage_order
                    .iter()
                    .position(|x| x == st)
                    .unwrap_or(usize::MAX),
            ),
            None => (1, 0),
        }
    };
    shown.sort_by_key(|r| stage_rank(r));
    let clubs = rows.iter().map(|r| r.clubs).max().unwrap_or(0);
    let min = MIN_CLUBS.to_string();
    let fmt = |r: &NetworkRow, v: Option<f64>| -> String {
        v.map(|x| m.fmt(kind(&r.metric), x)).unwrap_or_default()
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<section id=\"network\"><h2>{}</h2><p>{}</p>",
        esc(t.title),
        esc(&t
            .intro
            .replace("{n}", &clubs.to_string())
            .replace("{min}", &min))
    );

    // The chart: one row per metric, each on its own scale.
    let (width, label_w, text_w, row_h) = (900.0_f64, 300.0_f64, 200.0_f64, 26.0_f64);
    let area = width - label_w - text_w;
    let height = row_h * shown.len().max(1) as f64 + 8.0;
    let _ = write!(
        s,
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\">",
        esc(t.title)
    );
    for (i, r) in shown.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let mid = y + row_h / 2.0;
        let points: Vec<f64> = [r.p25, r.median, r.p75, r.best, r.value]
            .into_iter()
            .flatten()
            .collect();
        let lo = points.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = points.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let pad = if hi > lo { (hi - lo) * 0.08 } else { 1.0 };
        let (lo, hi) = (lo - pad, hi + pad);
        let x = |v: f64| label_w + area * (v - lo) / (hi - lo);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            label_w - 8.0,
            mid + 4.0,
            esc(&label(r, m, profile, &t))
        );
        let _ = write!(
            s,
            "<rect x=\"{label_w:.1}\" y=\"{:.1}\" width=\"{area:.1}\" height=\"{:.1}\" fill=\"#f4f4f4\"/>",
            y + 4.0,
            row_h - 8.0
        );
        if let (Some(a), Some(b)) = (r.p25, r.p75) {
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#b8d0ea\"><title>p25–p75: {} – {}</title></rect>",
                x(a),
                y + 6.0,
                (x(b) - x(a)).max(1.0),
                row_h - 12.0,
                esc(&fmt(r, Some(a))),
                esc(&fmt(r, Some(b)))
            );
        }
        if let Some(v) = r.median {
            let _ = write!(
                s,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#1f3b5a\" stroke-width=\"2\"><title>{3}: {4}</title></line>",
                x(v),
                y + 4.0,
                y + row_h - 4.0,
                esc(t.median),
                esc(&fmt(r, Some(v)))
            );
        }
        if let Some(v) = r.best {
            let _ = write!(
                s,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#2e8b57\" stroke-width=\"3\"><title>{3}: {4}</title></line>",
                x(v),
                y + 4.0,
                y + row_h - 4.0,
                esc(t.best),
                esc(&fmt(r, Some(v)))
            );
        }
        if let Some(v) = r.value {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{mid:.1}\" r=\"5\" fill=\"#e07b00\" stroke=\"#fff\"><title>{}: {}</title></circle>",
                x(v),
                esc(t.yours),
                esc(&fmt(r, Some(v)))
            );
        }
        let side = match (r.value, r.median) {
            (Some(v), Some(md)) => {
                format!("{} · {} {}", fmt(r, Some(v)), t.median, fmt(r, Some(md)))
            }
            (Some(v), None) => format!(
                "{} · {}",
                fmt(r, Some(v)),
                t.withheld.replace("{min}", &min)
            ),
            (None, Some(md)) => format!("{} {}", t.median, fmt(r, Some(md))),
            (None, None) => t.withheld.replace("{min}", &min),
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            label_w + area + 8.0,
            mid + 4.0,
            esc(&side)
        );
    }
    s.push_str("</svg>");

    // The table.
    let _ = write!(
        s,
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>p25</th><th>{}</th><th>p75</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(t.metric),
        esc(t.period),
        esc(t.yours),
        esc(t.rank),
        esc(t.median),
        esc(t.best),
        esc(t.note)
    );
    for r in &shown {
        let rank = match r.rank {
            Some(k) => format!("{k} / {}", r.clubs),
            None => String::new(),
        };
        let note = match &r.note {
            Some(_) if r.p25.is_none() => t.withheld.replace("{min}", &min),
            Some(n) => n.clone(),
            None => String::new(),
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&label(r, m, profile, &t)),
            esc(&r.period),
            esc(&fmt(r, r.value)),
            esc(&rank),
            esc(&fmt(r, r.p25)),
            esc(&fmt(r, r.median)),
            esc(&fmt(r, r.p75)),
            esc(&fmt(r, r.best)),
            esc(&note)
        );
    }
    s.push_str("</tbody></table></section>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(metric: &str, grain: &str, period: &str, median: Option<f64>) -> NetworkRow {
        NetworkRow {
            metric: metric.into(),
            grain: grain.into(),
            period: period.into(),
            better: if metric == "churn_rate" {
                "lower"
            } else {
                "higher"
            }
            .into(),
            clubs: if median.is_some() { 6 } else { 4 },
            p25: median.map(|m| m - 0.1),
            median,
            p75: median.map(|m| m + 0.1),
            best: median.map(|m| m + 0.2),
            value: Some(0.5),
            rank: median.map(|_| 2),
            note: median
                .is_none()
                .then(|| "withheld: fewer than 5 clubs".to_string()),
        }
    }

    #[test]
    fn the_latest_period_of_the_grain_and_the_stage_shares_are_shown() {
        let rows = vec![
            row("stage_share:active", "as_of", "2026-10-31", Some(0.4)),
            row("renewal_rate", "month", "2026-09", Some(0.6)),
            row("renewal_rate", "month", "2026-10", Some(0.7)),
            row("renewal_rate", "quarter", "2026-Q3", Some(0.6)),
            row("churn_rate", "month", "2026-10", None),
        ];
        let picked: Vec<(&str, &str)> = select(&rows, "month")
            .iter()
            .map(|r| (r.metric.as_str(), r.period.as_str()))
            .collect();
        assert_eq!(
            picked,
            [
                ("stage_share:active", "2026-10-31"),
                ("renewal_rate", "2026-10"),
                ("churn_rate", "2026-10")
            ]
        );
        let m = Messages::new("en").unwrap();
        let html = render(&rows, "month", &m, &Profile::fitness());
        assert!(html.starts_with("<section id=\"network\">"));
        assert!(html.contains("<svg") && html.contains("</table></section>"));
        assert!(html.contains("network of 6 clubs"));
        assert!(html.contains("withheld: fewer than 5 clubs"));
        assert!(html.contains("2 / 6"));
        assert!(html.contains("(lower is better)"));
        // one band per shown row with a distribution
        assert_eq!(html.matches("fill=\"#b8d0ea\"").count(), 2);
        assert_eq!(html.matches("<circle").count(), 3);
    }

    #[test]
    fn a_file_naming_clubs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("clubs.json");
        std::fs::write(
            &p,
            r#"[{"club":"North","metric":"renewal_rate","grain":"month","period":"2026-10","value":0.5,"clubs_in_rank":6}]"#,
        )
        .unwrap();
        let e = load(&p).unwrap_err();
        assert!(format!("{e:#}").contains("names clubs"), "{e:#}");
        let p = dir.path().join("net.json");
        std::fs::write(
            &p,
            r#"[{"metric":"renewal_rate","grain":"month","period":"2026-10","better":"higher","clubs":4,"value":0.5,"note":"withheld: fewer than 5 clubs"}]"#,
        )
        .unwrap();
        let rows = load(&p).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].value, Some(0.5));
        assert_eq!(rows[0].median, None);
    }
}
