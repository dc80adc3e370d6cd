//! SPEC §5.2: every period metric on a hand-made fixture, the answer worked out by hand.
//!
//! D = 2024-03-31, grain month, periods = 1: the one period is March 2024
//! [2024-03-01, 2024-03-31] (complete: it ends on D). Defaults: renewal_grace_days 30,
//! pt_conversion_days 60, starter_days 30, inactive_days 21.

mod fixture;

use fixture::*;

const D: &str = "2024-03-31";
const REG: &str = "2023-01-01";

fn metrics(f: &Fixture, extra: &[&str]) -> Rows {
    let mut params = vec!["periods=1"];
    params.extend_from_slice(extra);
    let out = run(&f.engine(), "metrics", D, &params, None);
    assert_eq!(out[0].name, "metrics");
    Rows::of(&out[0])
}

fn metric(r: &Rows, branch: &str, column: &str) -> String {
    r.one(
        &[("period_start", "2024-03-01"), ("branch", branch)],
        column,
    )
}

/// renewal_rate (by the membership's branch) and churn_rate (by the client's branch).
fn renewal_fixture() -> Fixture {
    let mut f = Fixture::new();
    // a: a1 ends 03-10; a2 starts 04-09 = end + 30 (within the grace), sold 03-25: renewed.
    f.client("a", REG)
        .membership("a1", "a", "2023-03-11", "2024-03-10")
        .membership_full(
            "a2",
            "a",
            "2024-04-09",
            "2025-04-08",
            "active",
            0,
            "2024-03-25",
            "A",
        );
    // b: b1 ends 03-10; b2 starts 04-10 = end + 31: not a renewal.
    f.client("b", REG)
        .membership("b1", "b", "2023-03-11", "2024-03-10")
        .membership_full(
            "b2",
            "b",
            "2024-04-10",
            "2025-04-09",
            "active",
            0,
            "2024-03-25",
            "A",
        );
    // c: c1 ends 03-20; c2, bought in advance, starts 03-01 (before c1 ends): renewed.
    f.client("c", REG)
        .membership("c1", "c", "2023-03-21", "2024-03-20")
        .membership("c2", "c", "2024-03-01", "2024-12-31");
    // d: end 02-25 + 10 freeze days = effective end 03-06: ends in March; not renewed.
    f.client("d", REG).membership_full(
        "d1",
        "d",
        "2023-02-26",
        "2024-02-25",
        "active",
        10,
        "2023-02-26",
        "A",
    );
    // e: its only membership (ending 03-15) is cancelled: ignored.
    f.client("e", REG).membership_full(
        "e1",
        "e",
        "2023-03-16",
        "2024-03-15",
        "cancelled",
        0,
        "2023-03-16",
        "A",
    );
    // f: f1 ends 03-15; the renewal from 03-16 was cancelled: not renewed.
    f.client("f", REG)
        .membership("f1", "f", "2023-03-16", "2024-03-15")
        .membership_full(
            "f2",
            "f",
            "2024-03-16",
            "2025-03-15",
            "cancelled",
            0,
            "2024-03-10",
            "A",
        );
    // g: client of branch A, memberships sold in branch B: g1 ends 03-12, g2 from 03-13.
    f.client("g", REG)
        .membership_full(
            "g1",
            "g",
            "2023-03-13",
            "2024-03-12",
            "active",
            0,
            "2023-03-13",
            "B",
        )
        .membership_full(
            "g2",
            "g",
            "2024-03-13",
            "2025-03-12",
            "active",
            0,
            "2024-03-13",
            "B",
        );
    // h: h1 ends 03-30; h2 (from 04-05) is sold on 04-02, after D: not a renewal as of D.
    f.client("h", REG)
        .membership("h1", "h", "2023-03-31", "2024-03-30")
        .membership_full(
            "h2",
            "h",
            "2024-04-05",
            "2025-04-04",
            "active",
            0,
            "2024-04-02",
            "A",
        );
    // k: k1 ends 04-04 (effective end 03-25 + 10 freeze days): not in March.
    f.client("k", REG).membership_full(
        "k1",
        "k",
        "2023-03-26",
        "2024-03-25",
        "active",
        10,
        "2023-03-26",
        "A",
    );
    f
}

#[test]
fn renewal_rate_by_membership_branch() {
    let r = metrics(&renewal_fixture(), &[]);
    // Effective ends in March: a1, b1, c1, d1 (03-06), f1, g1, h1 = 7 (e1 cancelled, k1 in
    // April). Renewed: a1, c1, g1 = 3. Overall 3/7.
    approx(&metric(&r, "(all)", "renewal_rate"), 3.0 / 7.0);
    // By membership branch: A holds a1 b1 c1 d1 f1 h1, renewed a1 c1: 2/6; B holds g1: 1.
    approx(&metric(&r, "A", "renewal_rate"), 2.0 / 6.0);
    approx(&metric(&r, "B", "renewal_rate"), 1.0);
    // The grace is a parameter: 31 days makes b1 renewed too: 4/7.
    let r = metrics(&renewal_fixture(), &["renewal_grace_days=31"]);
    approx(&metric(&r, "(all)", "renewal_rate"), 4.0 / 7.0);
}

#[test]
fn churn_rate_by_client_branch() {
    let r = metrics(&renewal_fixture(), &[]);
    // Current at 03-01: a, b, c, d, f, g, h, k (e's only membership is cancelled) = 8.
    // At 03-31: current c (c2), g (g2), k (effective end 04-04); not current a, b, d, f, h.
    // Of these a renewed within the grace (a2 from 04-09): churned b, d, f, h = 4 of 8.
    approx(&metric(&r, "(all)", "churn_rate"), 0.5);
    // Every client is of branch A; branch B (a membership branch) has no clients: empty.
    approx(&metric(&r, "A", "churn_rate"), 0.5);
    assert_eq!(metric(&r, "B", "churn_rate"), "∅");
}

#[test]
fn starter_completion_conversion_and_delivery_of_the_periods_new_members() {
    let mut f = Fixture::new();
    // Offered starter services: Intro (department fitness) and Body scan (medical).
    // n1: first membership from 03-05; Intro 03-06 and Body scan 03-20 (within 30 days):
    // completed. Personal training bought 03-10: converted.
    f.client("n1", REG)
        .membership("n1_m", "n1", "2024-03-05", "2024-09-04")
        .service(
            "n1",
            "2024-03-06 10:00",
            "Intro",
            "starter",
            "done",
            "fitness",
        )
        .service(
            "n1",
            "2024-03-20 10:00",
            "Body scan",
            "starter",
            "done",
            "medical",
        )
        .sale(
            "n1_s",
            "n1",
            "2024-03-10 12:00",
            "personal_training",
            500000,
        );
    // n2: first from 03-10; Intro only: not completed. PT bought 2024-01-10, 60 days before
    // the start ("within 60 days of" the start): converted.
    f.client("n2", REG)
        .membership("n2_m", "n2", "2024-03-10", "2024-09-09")
        .service(
            "n2",
            "2024-03-11 10:00",
            "Intro",
            "starter",
            "done",
            "fitness",
        )
        .sale(
            "n2_s",
            "n2",
            "2024-01-10 12:00",
            "personal_training",
            500000,
        );
    // n3: first from 03-31, the period's last day: nothing done yet. A PT purchase after D
    // (04-02) does not count as of D; a retail one is not personal training.
    f.client("n3", REG)
        .membership("n3_m", "n3", "2024-03-31", "2024-09-30")
        .sale(
            "n3_s",
            "n3",
            "2024-04-02 12:00",
            "personal_training",
            500000,
        )
        .sale("n3_r", "n3", "2024-03-31 12:00", "retail", 1000);
    // n4: a renewal in March, first membership in 2023: not a new member of March.
    f.client("n4", REG)
        .membership("n4_1", "n4", "2023-03-15", "2024-03-14")
        .membership("n4_2", "n4", "2024-03-15", "2025-03-14");
    // n5: the March membership was cancelled; the first is the one from 04-01: not March's.
    f.client("n5", REG)
        .membership_full(
            "n5_1",
            "n5",
            "2024-03-20",
            "2024-09-19",
            "cancelled",
            0,
            "2024-03-20",
            "A",
        )
        .membership("n5_2", "n5", "2024-04-01", "2024-09-30");
    // n6: PT bought 61 days after the start (first membership 2024-01-01, PT 03-02); a
    // January new member, outside this period anyway — checked with periods=3 below.
    f.client("n6", REG)
        .membership("n6_m", "n6", "2024-01-01", "2024-12-31")
        .sale(
            "n6_s",
            "n6",
            "2024-03-02 12:00",
            "personal_training",
            500000,
        );
    let r = metrics(&f, &[]);
    // New members of March: n1, n2, n3 = 3. Completed: n1: 1/3. Converted: n1, n2: 2/3.
    assert_eq!(metric(&r, "(all)", "new_clients"), "3");
    approx(&metric(&r, "(all)", "starter_completion_rate"), 1.0 / 3.0);
    approx(&metric(&r, "(all)", "starter_to_pt_conversion"), 2.0 / 3.0);
    // January (periods=3): n6 alone, PT 61 days after the start: 0.
    let r3 = Rows::of(&run(&f.engine(), "metrics", D, &["periods=3"], None)[0]);
    assert_eq!(
        r3.one(
            &[("period_start", "2024-01-01"), ("branch", "(all)")],
            "starter_to_pt_conversion"
        ),
        "0"
    );

    // starter_delivery_by_department: due = 3 new members × 1 service per department;
    // done: fitness (Intro) n1, n2 = 2 of 3; medical (Body scan) n1 = 1 of 3; (all) 3 of 6.
    let out = run(&f.engine(), "metrics", D, &["periods=1"], None);
    let s = Rows::of(&out[1]);
    assert_eq!(out[1].name, "starter_delivery");
    let get =
        |dep: &str, col: &str| s.one(&[("period_start", "2024-03-01"), ("department", dep)], col);
    assert_eq!(
        (get("fitness", "due"), get("fitness", "done")),
        ("3".into(), "2".into())
    );
    assert_eq!(
        (get("medical", "due"), get("medical", "done")),
        ("3".into(), "1".into())
    );
    assert_eq!(
        (get("(all)", "due"), get("(all)", "done")),
        ("6".into(), "3".into())
    );
    approx(&get("(all)", "delivery_rate"), 0.5);
}

#[test]
fn reactivation_and_stage_shares_at_the_period_end() {
    let mut f = Fixture::new();
    let long = |f: &mut Fixture, m: &'static str, c: &'static str| {
        f.membership(m, c, "2023-06-01", "2024-12-31");
    };
    // i1: last visit 02-01, 29 days before 03-01: inactive on 03-01; visits on 03-20:
    // reactivated. On 03-31 its last visit is 11 days old: active.
    f.client("i1", REG)
        .visit("i1", "2024-02-01 10:00")
        .visit("i1", "2024-03-20 10:00");
    long(&mut f, "i1_m", "i1");
    // i2: never visits: inactive on 03-01, not reactivated; inactive on 03-31.
    f.client("i2", REG);
    long(&mut f, "i2_m", "i2");
    // i3: visits on 03-01 itself: not inactive on 03-01 (its data up to that day include the
    // visit); on 03-31 the visit is 30 days old: inactive.
    f.client("i3", REG).visit("i3", "2024-03-01 08:00");
    long(&mut f, "i3_m", "i3");
    // i4: frozen: neither inactive nor active.
    f.client("i4", REG).membership_full(
        "i4_m",
        "i4",
        "2023-06-01",
        "2024-12-31",
        "frozen",
        0,
        "2023-06-01",
        "A",
    );
    // i5: a lead: no current membership, not among the shares' denominator.
    f.client("i5", REG).visit("i5", "2024-03-20 10:00");
    let r = metrics(&f, &[]);
    // Inactive on 03-01: i1, i2; reactivated: i1: 1/2.
    approx(&metric(&r, "(all)", "reactivation_rate"), 0.5);
    // On 03-31, with a current membership: i1 (active), i2 (inactive), i3 (inactive), i4
    // (frozen) = 4: active 1/4, inactive 2/4.
    approx(&metric(&r, "(all)", "active_share"), 0.25);
    approx(&metric(&r, "(all)", "inactive_share"), 0.5);
}

#[test]
fn visits_revenue_new_clients_leads_and_nps() {
    let mut f = Fixture::new();
    // v1: member in March (membership to 03-10 overlaps March); 3 visits in March (one after
    // the membership ended still counts: v1 was a member during the period), 1 in February.
    f.client("v1", REG)
        .membership("v1_m", "v1", "2024-01-01", "2024-03-10")
        .visit("v1", "2024-02-20 10:00")
        .visit("v1", "2024-03-01 10:00")
        .visit("v1", "2024-03-05 10:00")
        .visit("v1", "2024-03-20 10:00");
    // v2 (branch B): new member from 03-25; 4 visits.
    f.client_in("v2", "B", REG)
        .membership_full(
            "v2_m",
            "v2",
            "2024-03-25",
            "2024-06-30",
            "active",
            0,
            "2024-03-25",
            "B",
        )
        .visits_from("v2", "2024-03-25", 4);
    // v3: membership ended 02-29: not a member in March; 2 visits in March.
    f.client("v3", REG)
        .membership("v3_m", "v3", "2023-03-01", "2024-02-29")
        .visit("v3", "2024-03-02 10:00")
        .visit("v3", "2024-03-03 10:00");
    // An unknown client's visits, sales and answers are left out of every count.
    f.visit("zz", "2024-03-02 10:00");
    f.sale("zz_s", "zz", "2024-03-02 10:00", "retail", 100000);
    f.feedback("zz", "2024-03-02", 0);
    // Sales in March: 100.00 + 250.50 + 49.50 = 400.00 (v1's February sale is outside).
    f.sale("s1", "v1", "2024-03-01 10:00", "retail", 10000)
        .sale("s2", "v2", "2024-03-25 10:00", "membership", 25050)
        .sale("s3", "v3", "2024-03-31 23:00", "retail", 4950)
        .sale("s4", "v1", "2024-02-29 23:00", "retail", 99900);
    // Leads: registered in March: l1 (03-01) and l2 (03-31); l3 (02-29) is February's.
    f.client("l1", "2024-03-01")
        .client("l2", "2024-03-31")
        .client("l3", "2024-02-29");
    // NPS answers in March: 10, 9, 9 (promoters), 7 (passive), 3 (detractor); one in
    // February is outside. 100 × (3 − 1) / 5 = 40.
    f.feedback("v1", "2024-03-05", 10)
        .feedback("v1", "2024-03-20", 9)
        .feedback("v2", "2024-03-26", 9)
        .feedback("v3", "2024-03-03", 7)
        .feedback("l1", "2024-03-01", 3)
        .feedback("v1", "2024-02-20", 0);
    let r = metrics(&f, &[]);
    // Members in March: v1, v2 = 2; their visits 3 + 4 = 7; March has 31/7 weeks:
    // 7 / 2 / (31/7) = 49/62.
    approx(&metric(&r, "(all)", "visits_per_member_week"), 49.0 / 62.0);
    assert_eq!(metric(&r, "(all)", "revenue"), "400.00");
    // Revenue per visit: all visits of known clients in March: 3 + 4 + 2 = 9: 400/9.
    approx(&metric(&r, "(all)", "revenue_per_visit"), 400.0 / 9.0);
    // New clients (first membership started in March): v2. Leads: l1, l2.
    assert_eq!(metric(&r, "(all)", "new_clients"), "1");
    assert_eq!(metric(&r, "(all)", "leads"), "2");
    approx(&metric(&r, "(all)", "nps"), 40.0);
    // Per branch: B holds v2: one answer of 9: 100; revenue 250.50; visits 4/1/(31/7).
    approx(&metric(&r, "B", "nps"), 100.0);
    assert_eq!(metric(&r, "B", "revenue"), "250.50");
    approx(&metric(&r, "B", "visits_per_member_week"), 28.0 / 31.0);
    // Branch A: answers 10, 9, 7, 3: 100 × (2 − 1) / 4 = 25.
    approx(&metric(&r, "A", "nps"), 25.0);
}

#[test]
fn periods_are_complete_weeks_months_or_quarters_ending_by_d() {
    let mut f = Fixture::new();
    f.client("x", REG);
    let periods = |d: &str, grain: &str, n: &str| -> Vec<(String, String)> {
        let out = run(
            &f.engine(),
            "metrics",
            d,
            &[&format!("grain={grain}"), &format!("periods={n}")],
            None,
        );
        let r = Rows::of(&out[0]);
        r.filter(&[("branch", "(all)")])
            .iter()
            .map(|x| (x[0].clone(), x[1].clone()))
            .collect()
    };
    // D = 2024-03-18 (a Monday): March is not complete; the last complete month is February.
    assert_eq!(
        periods("2024-03-18", "month", "2"),
        [
            ("2024-01-01".into(), "2024-01-31".into()),
            ("2024-02-01".into(), "2024-02-29".into())
        ]
    );
    // Weeks start on Monday: the week of D (from 03-18) is not complete; the last is 03-11..17.
    assert_eq!(
        periods("2024-03-18", "week", "1"),
        [("2024-03-11".into(), "2024-03-17".into())]
    );
    // D = 2024-03-17, a Sunday: its own week is complete.
    assert_eq!(
        periods("2024-03-17", "week", "1"),
        [("2024-03-11".into(), "2024-03-17".into())]
    );
    // Quarters: on 2024-03-31 the first quarter is complete; on 03-30 it is not.
    assert_eq!(
        periods("2024-03-31", "quarter", "1"),
        [("2024-01-01".into(), "2024-03-31".into())]
    );
    assert_eq!(
        periods("2024-03-30", "quarter", "1"),
        [("2023-10-01".into(), "2023-12-31".into())]
    );
}

#[test]
fn missing_optional_tables_leave_their_metrics_empty() {
    // Only clients, memberships and visits: revenue, conversion, nps and starter figures are
    // empty, not zero.
    let mut f = Fixture::new();
    f.client("n1", REG)
        .membership("n1_m", "n1", "2024-03-05", "2024-09-04");
    let r = metrics(&f, &[]);
    for col in [
        "revenue",
        "revenue_per_visit",
        "starter_to_pt_conversion",
        "starter_completion_rate",
        "nps",
    ] {
        assert_eq!(metric(&r, "(all)", col), "∅", "{col}");
    }
    assert_eq!(metric(&r, "(all)", "new_clients"), "1");
}
