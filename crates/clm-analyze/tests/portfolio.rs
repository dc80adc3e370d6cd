//! `clm-analyze portfolio` (issue 12 §1): the network statistics on hand-made per-club tables
//! with answers worked out by hand, and the command over real bundles of synthetic clubs
//! (clm-synth, exported by clm-pseudonymize, each club with its own pseudonymization key).

mod fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use clm_analyze::portfolio::{self, figures_schema, Figures};
use datafusion::arrow::record_batch::RecordBatch;
use fixture::{date, Rows};
use serde_json::Value;

fn day(s: &str) -> i32 {
    (date(s) - date("1970-01-01")).num_days() as i32
}

fn analysis() -> clm_analyze::Analysis {
    portfolio::network_analysis(portfolio::NETWORK_SQL, "queries/portfolio_network.sql").unwrap()
}

fn run_network(f: &Figures, for_club: Option<&str>) -> Vec<clm_analyze::Output> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let batch: RecordBatch = f.batch().unwrap();
    assert_eq!(batch.schema(), figures_schema());
    rt.block_on(portfolio::network(
        &analysis(),
        vec![batch],
        date("2026-10-31"),
        portfolio::MIN_CLUBS,
        for_club,
    ))
    .unwrap()
}

fn output<'a>(outs: &'a [clm_analyze::Output], name: &str) -> Rows {
    Rows::of(
        outs.iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("no output {name}")),
    )
}

fn exact(got: &str, want: f64) {
    let g: f64 = got
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {got}"));
    assert_eq!(g, want, "got {got}, want {want}");
}

/// Six clubs, values chosen to be exact in binary so that every statistic is exact.
///
/// renewal_rate, month 2026-09, sorted: 0.125 0.25 0.5 0.625 0.75 1 (n = 6):
///   p25:    h = 5 × 0.25 = 1.25 → x2 + 0.25 (x3 − x2) = 0.25 + 0.25 × 0.25 = 0.3125
///   median: h = 2.5             → x3 + 0.5 (x4 − x3)  = 0.5 + 0.5 × 0.125  = 0.5625
///   p75:    h = 3.75            → x4 + 0.75 (x5 − x4) = 0.625 + 0.75 × 0.125 = 0.71875
///   best = max = 1 (F); ranks F 1, E 2, D 3, C 4, B 5, A 6.
/// churn_rate (lower is better), month 2026-09: A 0.25, B 0.125, C 0.125, D 0.5, E 0.375,
/// F none; sorted 0.125 0.125 0.25 0.375 0.5 (n = 5):
///   p25: h = 1 → x2 = 0.125; median: h = 2 → x3 = 0.25; p75: h = 3 → x4 = 0.375;
///   best = min = 0.125; ranks B 1, C 1 (tie), A 3, E 4, D 5; F no rank, clubs_in_rank 5.
/// renewal_rate, month 2026-10: only A..D have a value (4 clubs) → withheld.
/// stage_share:active at D, quarter 2026-Q3 new_clients: labels.
fn six_clubs() -> Figures {
    let mut f = Figures::default();
    let sep = day("2026-09-01");
    let oct = day("2026-10-01");
    for (club, v) in [
        ("D", 0.625),
        ("A", 0.125),
        ("F", 1.0),
        ("C", 0.5),
        ("B", 0.25),
        ("E", 0.75),
    ] {
        f.push(club, "renewal_rate", "month", sep, Some(v));
    }
    for (club, v) in [
        ("A", Some(0.25)),
        ("B", Some(0.125)),
        ("C", Some(0.125)),
        ("D", Some(0.5)),
        ("E", Some(0.375)),
        ("F", None),
    ] {
        f.push(club, "churn_rate", "month", sep, v);
    }
    for (club, v) in [
        ("A", Some(0.5)),
        ("B", Some(0.25)),
        ("C", Some(0.75)),
        ("D", Some(1.0)),
        ("E", None),
        ("F", None),
    ] {
        f.push(club, "renewal_rate", "month", oct, v);
    }
    for (i, club) in ["A", "B", "C", "D", "E", "F"].into_iter().enumerate() {
        f.push(
            club,
            "stage_share:active",
            "as_of",
            day("2026-10-31"),
            Some(i as f64 / 8.0),
        );
        f.push(
            club,
            "new_clients",
            "quarter",
            day("2026-07-01"),
            Some(10.0 * i as f64),
        );
    }
    f
}

#[test]
fn network_percentiles_worked_out_by_hand_on_six_clubs() {
    let outs = run_network(&six_clubs(), None);
    let net = output(&outs, "network");
    assert_eq!(
        net.columns,
        ["metric", "grain", "period", "better", "clubs", "p25", "median", "p75", "best", "note"]
    );
    let at = |metric: &str, period: &str, col: &str| {
        net.one(&[("metric", metric), ("period", period)], col)
    };
    assert_eq!(at("renewal_rate", "2026-09", "clubs"), "6");
    assert_eq!(at("renewal_rate", "2026-09", "better"), "higher");
    exact(&at("renewal_rate", "2026-09", "p25"), 0.3125);
    exact(&at("renewal_rate", "2026-09", "median"), 0.5625);
    exact(&at("renewal_rate", "2026-09", "p75"), 0.71875);
    exact(&at("renewal_rate", "2026-09", "best"), 1.0);
    assert_eq!(at("renewal_rate", "2026-09", "note"), "∅");

    assert_eq!(at("churn_rate", "2026-09", "clubs"), "5");
    assert_eq!(at("churn_rate", "2026-09", "better"), "lower");
    exact(&at("churn_rate", "2026-09", "p25"), 0.125);
    exact(&at("churn_rate", "2026-09", "median"), 0.25);
    exact(&at("churn_rate", "2026-09", "p75"), 0.375);
    exact(&at("churn_rate", "2026-09", "best"), 0.125);

    // 4 clubs with a value: every statistic withheld, and said so.
    assert_eq!(at("renewal_rate", "2026-10", "clubs"), "4");
    for c in ["p25", "median", "p75", "best"] {
        assert_eq!(at("renewal_rate", "2026-10", c), "∅", "{c}");
    }
    assert_eq!(
        at("renewal_rate", "2026-10", "note"),
        "withheld: fewer than 5 clubs"
    );

    // Period labels: a quarter, and the stage shares at D. 0 10 20 30 40 50: median 25.
    exact(&at("new_clients", "2026-Q3", "median"), 25.0);
    assert_eq!(at("new_clients", "2026-Q3", "grain"), "quarter");
    // 0 1/8 2/8 3/8 4/8 5/8: p25 at h = 1.25 → 1/8 + 0.25/8 = 0.15625
    exact(&at("stage_share:active", "2026-10-31", "p25"), 0.15625);
    assert_eq!(at("stage_share:active", "2026-10-31", "grain"), "as_of");

    let clubs = output(&outs, "clubs");
    assert_eq!(
        clubs.columns,
        [
            "club",
            "metric",
            "grain",
            "period",
            "value",
            "rank",
            "clubs_in_rank",
            "note"
        ]
    );
    let rank = |club: &str, metric: &str, period: &str| {
        (
            clubs.one(
                &[("club", club), ("metric", metric), ("period", period)],
                "rank",
            ),
            clubs.one(
                &[("club", club), ("metric", metric), ("period", period)],
                "clubs_in_rank",
            ),
        )
    };
    for (club, want) in [
        ("F", "1"),
        ("E", "2"),
        ("D", "3"),
        ("C", "4"),
        ("B", "5"),
        ("A", "6"),
    ] {
        assert_eq!(
            rank(club, "renewal_rate", "2026-09"),
            (want.into(), "6".into())
        );
    }
    for (club, want) in [
        ("B", "1"),
        ("C", "1"),
        ("A", "3"),
        ("E", "4"),
        ("D", "5"),
        ("F", "∅"),
    ] {
        assert_eq!(
            rank(club, "churn_rate", "2026-09"),
            (want.into(), "5".into()),
            "{club}"
        );
    }
    // no rank among 4 clubs
    for club in ["A", "B", "C", "D", "E", "F"] {
        assert_eq!(
            rank(club, "renewal_rate", "2026-10"),
            ("∅".into(), "4".into())
        );
        assert_eq!(
            clubs.one(
                &[
                    ("club", club),
                    ("metric", "renewal_rate"),
                    ("period", "2026-10")
                ],
                "note"
            ),
            "withheld: fewer than 5 clubs"
        );
    }
}

#[test]
fn four_clubs_withhold_every_statistic_with_a_note() {
    let mut f = Figures::default();
    for (i, club) in ["A", "B", "C", "D"].into_iter().enumerate() {
        f.push(
            club,
            "renewal_rate",
            "month",
            day("2026-09-01"),
            Some(0.1 * i as f64),
        );
        f.push(club, "churn_rate", "quarter", day("2026-07-01"), Some(0.2));
        f.push(
            club,
            "stage_share:lapsed",
            "as_of",
            day("2026-10-31"),
            Some(0.3),
        );
    }
    let outs = run_network(&f, None);
    let net = output(&outs, "network");
    assert_eq!(net.rows.len(), 3);
    for r in &net.rows {
        assert_eq!(r[net.col("clubs")], "4");
        for c in ["p25", "median", "p75", "best"] {
            assert_eq!(r[net.col(c)], "∅", "{c} of {r:?}");
        }
        assert_eq!(r[net.col("note")], "withheld: fewer than 5 clubs");
    }
    let clubs = output(&outs, "clubs");
    assert_eq!(clubs.rows.len(), 12);
    assert!(clubs.rows.iter().all(|r| r[clubs.col("rank")] == "∅"));
    // the clubs' own values stay (the consultant's view)
    assert_eq!(
        clubs.one(&[("club", "C"), ("metric", "renewal_rate")], "value"),
        "0.2"
    );
}

#[test]
fn one_clubs_view_holds_the_distribution_and_its_own_figures_only() {
    let outs = run_network(&six_clubs(), Some("C"));
    assert_eq!(outs.len(), 1);
    let v = Rows::of(&outs[0]);
    assert_eq!(outs[0].name, "club_network");
    assert_eq!(
        v.columns,
        [
            "metric", "grain", "period", "better", "clubs", "p25", "median", "p75", "best",
            "value", "rank", "note"
        ]
    );
    // no club name anywhere
    for r in &v.rows {
        for cell in r {
            assert!(
                !["A", "B", "C", "D", "E", "F"].contains(&cell.as_str()),
                "a club name in {r:?}"
            );
        }
    }
    let at = |metric: &str, period: &str, col: &str| {
        v.one(&[("metric", metric), ("period", period)], col)
    };
    exact(&at("renewal_rate", "2026-09", "value"), 0.5);
    assert_eq!(at("renewal_rate", "2026-09", "rank"), "4");
    exact(&at("renewal_rate", "2026-09", "median"), 0.5625);
    exact(&at("churn_rate", "2026-09", "value"), 0.125);
    assert_eq!(at("churn_rate", "2026-09", "rank"), "1");
    exact(&at("renewal_rate", "2026-10", "value"), 0.75);
    assert_eq!(at("renewal_rate", "2026-10", "rank"), "∅");
    assert_eq!(v.rows.len(), 5);
}
