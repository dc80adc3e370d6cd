//! SPEC §5.6 loyalty economics on a hand-made fixture, the answer worked out by hand.
//!
//! D = 2024-03-31, grain month, periods = 1: the one period is March 2024. Rules: 10 points a
//! visit day, 500 a renewal, 200 a personal-training purchase, 300 a referral (lead_source
//! `friend`), a point is worth 1.00, 50 % of points are redeemed, target cost share 5 %.

mod fixture;

use clm_analyze::loyalty::LoyaltyRules;
use clm_analyze::{Library, Profile};
use fixture::*;

const RULES: &str = r#"
points_per_visit = 10
points_per_renewal = 500
points_per_pt_purchase = 200
points_per_referral = 300
referral_sources = ["friend"]
point_value = 1.0
redemption_rate = 0.5
target_cost_share = 0.05
"#;

fn club() -> Fixture {
    let mut f = Fixture::new();
    // a (branch A): a1 then a2, which renews it (starts the day after a1's end) and was
    // bought on 02-20: 500 points in February. Visits: two check-ins on 03-05 (one visit
    // day), 03-06, and 02-10. Sales: a2 on 02-20 (10,000.00), personal training on 03-10
    // (3,000.00): 200 points in March.
    f.client_in("a", "A", "2023-01-01")
        .membership("a1", "a", "2023-03-01", "2024-02-29")
        .membership_full(
            "a2",
            "a",
            "2024-03-01",
            "2025-02-28",
            "active",
            0,
            "2024-02-20",
            "A",
        )
        .visit("a", "2024-03-05 10:00")
        .visit("a", "2024-03-05 18:00")
        .visit("a", "2024-03-06 10:00")
        .visit("a", "2024-02-10 10:00")
        .sale("s1", "a", "2024-02-20 12:00", "membership", 1_000_000)
        .sale("s2", "a", "2024-03-10 12:00", "personal_training", 300_000);
    // b (branch B): came by a friend's referral, first membership bought 03-15 (300 points
    // to an unknown referrer, in B), one visit on 03-16, the membership sale 2,000.00.
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("b")),
            ("branch", V::S("B")),
            ("registered_on", V::D("2024-03-01")),
            ("lead_source", V::S("friend")),
        ],
    )
    .membership_full(
        "b1",
        "b",
        "2024-03-15",
        "2024-04-14",
        "active",
        0,
        "2024-03-15",
        "B",
    )
    .visit("b", "2024-03-16 10:00")
    .sale("s3", "b", "2024-03-15 12:00", "membership", 200_000);
    // c (branch A): a referral too, but its only membership is cancelled: no points; a visit
    // after D earns nothing.
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("c")),
            ("branch", V::S("A")),
            ("registered_on", V::D("2024-01-01")),
            ("lead_source", V::S("friend")),
        ],
    )
    .membership_full(
        "c1",
        "c",
        "2024-01-10",
        "2024-12-31",
        "cancelled",
        0,
        "2024-01-10",
        "A",
    )
    .visit("c", "2024-04-02 10:00");
    f
}

fn run_loyalty(f: &Fixture, rules: &str, extra: &[&str]) -> (Rows, Rows) {
    let mut profile = Profile::fitness();
    LoyaltyRules::parse(rules).unwrap().apply(&mut profile);
    profile.set("periods=1").unwrap();
    for p in extra {
        profile.set(p).unwrap();
    }
    let analysis = Library::embedded().analysis("loyalty").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = f.engine();
    let r = rt
        .block_on(engine.run(&analysis, &profile, date("2024-03-31"), None))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.outputs[0].name, "periods");
    assert_eq!(r.outputs[1].name, "summary");
    (Rows::of(&r.outputs[0]), Rows::of(&r.outputs[1]))
}

#[test]
fn points_cost_revenue_and_the_highest_point_value_per_period() {
    let (p, _) = run_loyalty(&club(), RULES, &[]);
    let get = |branch: &str, col: &str| p.one(&[("branch", branch)], col);
    // (all), March: visit days a 03-05, a 03-06, b 03-16 = 30; PT 200; referral 300 (b);
    // the renewal was bought in February.
    assert_eq!(get("(all)", "period_start"), "2024-03-01");
    approx(&get("(all)", "visit_points"), 30.0);
    approx(&get("(all)", "renewal_points"), 0.0);
    approx(&get("(all)", "pt_points"), 200.0);
    approx(&get("(all)", "referral_points"), 300.0);
    approx(&get("(all)", "points"), 530.0);
    // cost = 530 × 1.00 × 0.5
    approx(&get("(all)", "cost"), 265.0);
    // earners a and b (the referrer is unknown); their March sales 3,000 + 2,000
    assert_eq!(get("(all)", "earners"), "2");
    approx(&get("(all)", "revenue"), 5000.0);
    approx(&get("(all)", "cost_share"), 265.0 / 5000.0);
    assert_eq!(get("(all)", "within_target"), "false");
    // 0.05 × 5000 / (530 × 0.5)
    approx(&get("(all)", "max_point_value"), 250.0 / 265.0);

    // A: a's 20 visit points and 200 PT points; revenue 3,000.
    approx(&get("A", "points"), 220.0);
    approx(&get("A", "cost"), 110.0);
    approx(&get("A", "revenue"), 3000.0);
    approx(&get("A", "cost_share"), 110.0 / 3000.0);
    assert_eq!(get("A", "within_target"), "true");
    approx(&get("A", "max_point_value"), 150.0 / 110.0);
    // B: b's visit and the referral into B; revenue 2,000.
    approx(&get("B", "points"), 310.0);
    approx(&get("B", "referral_points"), 300.0);
    assert_eq!(get("B", "earners"), "1");
    approx(&get("B", "max_point_value"), 100.0 / 155.0);
}

#[test]
fn the_whole_history_and_rules_as_parameters() {
    let (_, s) = run_loyalty(&club(), RULES, &[]);
    let get = |col: &str| s.one(&[("branch", "(all)")], col);
    // Every event up to D: a's visit 02-10 (10), renewal 02-20 (500), March as above (530).
    assert_eq!(get("first_date"), "2024-02-10");
    assert_eq!(get("last_date"), "2024-03-31");
    approx(&get("points"), 1040.0);
    approx(&get("renewal_points"), 500.0);
    approx(&get("cost"), 520.0);
    // earners' sales from 02-10 to D: a 10,000 + 3,000, b 2,000
    approx(&get("revenue"), 15000.0);
    approx(&get("cost_share"), 520.0 / 15000.0);
    assert_eq!(get("within_target"), "true");
    approx(&get("max_point_value"), 750.0 / 520.0);
    approx(&get("point_value"), 1.0);

    // A rule is a bound parameter: --param overrides it; a rule of 0 issues nothing, and an
    // empty referral_sources counts no referral.
    let (p, s) = run_loyalty(
        &club(),
        RULES,
        &["point_value=2", "points_per_renewal=0", "referral_sources="],
    );
    approx(
        &s.one(&[("branch", "(all)")], "points"),
        1040.0 - 500.0 - 300.0,
    );
    approx(&s.one(&[("branch", "(all)")], "cost"), 240.0 * 2.0 * 0.5);
    approx(&p.one(&[("branch", "(all)")], "referral_points"), 0.0);
    approx(&p.one(&[("branch", "(all)")], "points"), 230.0);
}

#[test]
fn without_rules_the_analysis_says_what_it_needs() {
    let analysis = Library::embedded().analysis("loyalty").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = club().engine();
    let e = rt
        .block_on(engine.run(&analysis, &Profile::fitness(), date("2024-03-31"), None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--loyalty FILE"), "{e}");
}
