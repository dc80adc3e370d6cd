//! SPEC §5.7 targets on a hand-made fixture, the answers worked out by hand.
//!
//! D = 2024-06-30 (a Sunday). The metric is `leads` (clients registered in the period, by
//! the client's branch), easy to count by hand. Registrations:
//!
//! | date       | branch | month | ISO week |
//! |------------|--------|-------|----------|
//! | 2024-03-10 | A      | 03    | W10      |
//! | 2024-04-05 | A      | 04    | W14      |
//! | 2024-04-20 | B      | 04    | W16      |
//! | 2024-05-02 | A      | 05    | W18      |
//! | 2024-05-15 | A      | 05    | W20      |
//! | 2024-05-28 | A      | 05    | W22      |
//! | 2024-06-01 | A      | 06    | W22      |
//! | 2024-06-20 | A      | 06    | W25      |
//! | 2024-06-25 | B      | 06    | W26      |
//! | 2024-06-27 | A      | 06    | W26      |
//!
//! Leads per month, (all): Feb 0, Mar 1, Apr 2, May 3, Jun 4; branch B: Apr 1, Jun 1.
//! Quarters: 2023-Q3 0, 2023-Q4 0, 2024-Q1 1, 2024-Q2 9. Weeks: W23 0, W24 0, W25 1, W26 2.

mod fixture;

use clm_analyze::targets::Targets;
use clm_analyze::{Library, Profile};
use fixture::*;

const D: &str = "2024-06-30";

fn club() -> Fixture {
    let mut f = Fixture::new();
    for (pid, branch, reg) in [
        ("c01", "A", "2024-03-10"),
        ("c02", "A", "2024-04-05"),
        ("c03", "B", "2024-04-20"),
        ("c04", "A", "2024-05-02"),
        ("c05", "A", "2024-05-15"),
        ("c06", "A", "2024-05-28"),
        ("c07", "A", "2024-06-01"),
        ("c08", "A", "2024-06-20"),
        ("c09", "B", "2024-06-25"),
        ("c10", "A", "2024-06-27"),
    ] {
        f.client_in(pid, branch, reg);
    }
    f
}

const TARGETS: &str = r#"
baseline_periods = 3
recent_periods = 2

[[target]]          # 1: June, the club: baseline (1 + 2 + 3) / 3 = 2, actual 4 >= 3: met
metric = "leads"
period = "2024-06"
value = 3

[[target]]          # 2: June, branch B: baseline (0 + 1 + 0) / 3, actual 1 < 5: not met
metric = "leads"
scope = "B"
period = "2024-06"
value = 5

[[target]]          # 3: lower is better: actual 4 <= 5: met
metric = "leads"
period = "2024-06"
value = 5
better = "lower"

[[target]]          # 4: July is not complete by D: no actual; baseline Apr..Jun = 3
metric = "leads"
period = "2024-07"
value = 1

[[target]]          # 5: every month, the last 2: May (baseline Feb..Apr = 1, actual 3) and June
metric = "leads"
period = "all"
grain = "month"
value = 3

[[target]]          # 6: ISO week 26 (Jun 24-30): baseline W23..W25 = 1/3, actual 2 >= 2: met
metric = "leads"
period = "2024-W26"
value = 2

[[target]]          # 7: Q2: baseline 2023-Q3..2024-Q1 = 1/3, actual 9 < 10: not met
metric = "leads"
period = "2024-Q2"
value = 10
"#;

fn run_targets(text: &str) -> Rows {
    let targets = Targets::parse(text).unwrap();
    let lib = Library::embedded();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = club().engine();
    let r = rt
        .block_on(targets.run(&engine, &lib, &Profile::fitness(), date(D)))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.outputs.len(), 1);
    assert_eq!(r.outputs[0].name, "targets");
    Rows::of(&r.outputs[0])
}

#[test]
fn baseline_actual_target_and_met_per_period() {
    let r = run_targets(TARGETS);
    let cols = [
        "grain",
        "period",
        "scope",
        "baseline",
        "baseline_periods_used",
        "actual",
        "target",
        "better",
        "met",
    ];
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| cols.iter().map(|c| row[r.col(c)].clone()).collect())
        .collect();
    let third = (1.0_f64 / 3.0).to_string();
    let want: Vec<Vec<String>> = [
        // weeks first, then months in the file's order, then quarters
        [
            "week", "2024-W26", "(all)", &third, "3", "2", "2", "higher", "true",
        ],
        [
            "month", "2024-06", "(all)", "2", "3", "4", "3", "higher", "true",
        ],
        [
            "month", "2024-06", "B", &third, "3", "1", "5", "higher", "false",
        ],
        [
            "month", "2024-06", "(all)", "2", "3", "4", "5", "lower", "true",
        ],
        [
            "month", "2024-07", "(all)", "3", "3", "∅", "1", "higher", "∅",
        ],
        [
            "month", "2024-05", "(all)", "1", "3", "3", "3", "higher", "true",
        ],
        [
            "month", "2024-06", "(all)", "2", "3", "4", "3", "higher", "true",
        ],
        [
            "quarter", "2024-Q2", "(all)", &third, "3", "9", "10", "higher", "false",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(rows, want);
    // The period's dates and the gap.
    let june = r.filter(&[("period", "2024-06"), ("scope", "B")]);
    assert_eq!(june[0][r.col("period_start")], "2024-06-01");
    assert_eq!(june[0][r.col("period_end")], "2024-06-30");
    approx(&june[0][r.col("gap")], -4.0);
    let w = r.filter(&[("period", "2024-W26")]);
    assert_eq!(w[0][r.col("period_start")], "2024-06-24");
    assert_eq!(w[0][r.col("period_end")], "2024-06-30");
}

#[test]
fn a_baseline_counts_only_the_periods_that_have_a_value() {
    // churn_rate has no value where no one was a member: no baseline, no actual.
    let r =
        run_targets("[[target]]\nmetric = \"churn_rate\"\nperiod = \"2024-06\"\nvalue = 0.05\n");
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0][r.col("baseline")], "∅");
    assert_eq!(r.rows[0][r.col("baseline_periods_used")], "0");
    assert_eq!(r.rows[0][r.col("actual")], "∅");
    assert_eq!(
        r.rows[0][r.col("better")],
        "lower",
        "churn: lower is better"
    );
    assert_eq!(r.rows[0][r.col("met")], "∅");
}
