//! SPEC §5.3 funnel, §5.4 RFM (with ties) and the lifetimes summary, §5.5 cohorts: hand-made
//! fixtures, answers worked out by hand.

mod fixture;

use clm_analyze::Profile;
use fixture::*;

const REG: &str = "2023-01-01";

/// RFM at D = 2024-03-31 over 365 days: the window is 2023-04-02 .. 2024-03-31.
fn rfm_fixture() -> Fixture {
    let mut f = Fixture::new();
    // a: 5 visits, the last on 03-30 (recency 1); sales 100.00.
    f.client("a", REG).visits_from("a", "2024-03-26", 5).sale(
        "a_s",
        "a",
        "2024-03-01 10:00",
        "retail",
        10000,
    );
    // b: 2 visits, the last on 03-30 (recency 1, a tie with a); sales 100.00 (a tie with a).
    f.client("b", REG)
        .visit("b", "2024-03-01 10:00")
        .visit("b", "2024-03-30 10:00")
        .sale("b_s", "b", "2024-02-01 10:00", "retail", 10000);
    // c: 2 visits (a tie with b), the last on 01-31 (recency 60); sales 300.00.
    f.client("c", REG)
        .visit("c", "2024-01-01 10:00")
        .visit("c", "2024-01-31 10:00")
        .sale("c_s", "c", "2024-01-31 10:00", "retail", 30000);
    // d: 1 visit on 2023-06-01 (recency 304); no sale in the window (one before it).
    f.client("d", REG).visit("d", "2023-06-01 10:00").sale(
        "d_s",
        "d",
        "2023-03-01 10:00",
        "retail",
        50000,
    );
    // f: 1 visit on 2023-04-02, the window's first day (recency 364); sales 50.00.
    f.client("f", REG).visit("f", "2023-04-02 10:00").sale(
        "f_s",
        "f",
        "2023-05-01 10:00",
        "retail",
        5000,
    );
    // e: its only visit, on 2023-04-01, is one day before the window: not scored.
    f.client("e", REG).visit("e", "2023-04-01 10:00");
    // A sale without visits: not scored when visits are the events.
    f.client("g", REG)
        .sale("g_s", "g", "2024-03-01 10:00", "retail", 10000);
    f
}

#[test]
fn rfm_scores_share_ties_and_name_segments() {
    // SPEC §5.4's first tie rule, ceil(5 × cume_dist): rfm_ties = "cume_dist"
    let f = rfm_fixture();
    let e = f.engine();
    let cume = ["rfm_ties=cume_dist"];
    let out = run(&e, "rfm", "2024-03-31", &cume, Some("clients"));
    let r = Rows::of(&out[0]);
    // Scored: a, b, c, d, f (n = 5).
    assert_eq!(
        r.rows.iter().map(|x| x[0].as_str()).collect::<Vec<_>>(),
        ["a", "b", "c", "d", "f"]
    );
    let get = |c: &str, col: &str| r.get("client_pid", c, col);
    assert_eq!(get("a", "recency_days"), "1");
    assert_eq!(get("d", "recency_days"), "304");
    assert_eq!(get("f", "recency_days"), "364");
    assert_eq!(get("a", "frequency"), "5");
    assert_eq!(get("d", "monetary"), "0.00");
    // R: cume_dist over recency descending: f 364 → 1/5 → ceil(1) = 1; d 304 → 2/5 → 2;
    // c 60 → 3/5 → 3; a and b tie at 1 → 5/5 → 5 both.
    // F: frequency ascending: d, f tie at 1 → 2/5 → 2; b, c tie at 2 → 4/5 → 4; a 5 → 5.
    // M: monetary ascending: d 0 → 1/5 → 1; f 50 → 2; a, b tie at 100 → 4/5 → 4; c 300 → 5.
    let scores = |c: &str| (get(c, "r"), get(c, "f"), get(c, "m"));
    let s = |r: &str, f: &str, m: &str| (r.to_string(), f.to_string(), m.to_string());
    assert_eq!(scores("a"), s("5", "5", "4"));
    assert_eq!(scores("b"), s("5", "4", "4"));
    assert_eq!(scores("c"), s("3", "4", "5"));
    assert_eq!(scores("d"), s("2", "2", "1"));
    assert_eq!(scores("f"), s("1", "2", "2"));
    // Segments: a R5 F5, b R5 F4: champions; c R3 F4: loyal; d R2 F2, f R1 F2: hibernating.
    assert_eq!(get("a", "segment"), "champions");
    assert_eq!(get("b", "segment"), "champions");
    assert_eq!(get("c", "segment"), "loyal");
    assert_eq!(get("d", "segment"), "hibernating");
    assert_eq!(get("f", "segment"), "hibernating");

    let out = run(&e, "rfm", "2024-03-31", &cume, None);
    assert_eq!(
        out.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["segments", "matrix", "bins"]
    );
    let seg = Rows::of(&out[0]);
    assert_eq!(seg.rows.len(), 10, "every segment is listed");
    assert_eq!(seg.get("segment", "champions", "clients"), "2");
    approx(&seg.get("segment", "champions", "share"), 0.4);
    assert_eq!(seg.get("segment", "loyal", "clients"), "1");
    assert_eq!(seg.get("segment", "hibernating", "clients"), "2");
    assert_eq!(seg.get("segment", "new", "clients"), "0");
    // The risk/profit matrix: R 4-5 × M 4-5: a, b; R 3 × M 4-5: c; R 1-2 × M 1-2: d, f.
    let m = Rows::of(&out[1]);
    assert_eq!(m.columns, ["r_band", "M 1-2", "M 3", "M 4-5"]);
    assert_eq!(m.rows[0], ["R 1-2", "2", "0", "0"]);
    assert_eq!(m.rows[1], ["R 3", "0", "0", "1"]);
    assert_eq!(m.rows[2], ["R 4-5", "0", "0", "2"]);
}

#[test]
fn rfm_over_sales_alone_for_transactional_businesses() {
    let f = rfm_fixture();
    let out = run(
        &f.engine(),
        "rfm",
        "2024-03-31",
        &["rfm_events=sales", "rfm_ties=cume_dist"],
        Some("clients"),
    );
    let r = Rows::of(&out[0]);
    // Sales in the window: a (03-01), b (02-01), c (01-31), f (2023-05-01), g (03-01); d's
    // is before the window. Recency from the sales: a 30, g 30 (tie), b 59, c 60, f 335.
    assert_eq!(
        r.rows.iter().map(|x| x[0].as_str()).collect::<Vec<_>>(),
        ["a", "b", "c", "f", "g"]
    );
    assert_eq!(r.get("client_pid", "g", "recency_days"), "30");
    assert_eq!(r.get("client_pid", "a", "r"), "5");
    assert_eq!(r.get("client_pid", "g", "r"), "5");
    assert_eq!(r.get("client_pid", "f", "r"), "1");
    // Every client made 1 purchase: all tie on F at 5/5 → 5.
    assert!(r.rows.iter().all(|x| x[r.col("f")] == "5"));
}

/// Ten clients buying (rfm_events = sales) at D = 2024-03-31: k0..k9 last bought 10, 20, ...,
/// 100 days before D (all recencies distinct); k0..k5 bought once, k6 twice, k7 3, k8 4 and
/// k9 6 times (60 % tied at one purchase, as on real data), each purchase 10.00.
fn tie_fixture() -> Fixture {
    let mut f = Fixture::new();
    let d = date("2024-03-31");
    let counts = [1, 1, 1, 1, 1, 1, 2, 3, 4, 6];
    for (i, n) in counts.into_iter().enumerate() {
        let pid: &'static str = Box::leak(format!("k{i}").into_boxed_str());
        f.client(pid, REG);
        for j in 0..n {
            let day = d - chrono::Duration::days(10 * (i as i64 + 1) + j);
            let at: &'static str =
                Box::leak(format!("{} 10:00", day.format("%Y-%m-%d")).into_boxed_str());
            let sid: &'static str = Box::leak(format!("{pid}_{j}").into_boxed_str());
            f.sale(sid, pid, at, "retail", 1000);
        }
    }
    f
}

#[test]
fn rfm_dense_ties_leave_no_score_empty() {
    let f = tie_fixture();
    let e = f.engine();
    let scores = |params: &[&str]| {
        let mut p = vec!["rfm_events=sales"];
        p.extend_from_slice(params);
        let out = run(&e, "rfm", "2024-03-31", &p, Some("clients"));
        let r = Rows::of(&out[0]);
        (0..10)
            .map(|i| {
                let k = format!("k{i}");
                [
                    r.get("client_pid", &k, "r"),
                    r.get("client_pid", &k, "f"),
                    r.get("client_pid", &k, "m"),
                    r.get("client_pid", &k, "segment"),
                ]
            })
            .collect::<Vec<_>>()
    };
    // F over the tie groups 1 (6 clients), 2, 3, 4, 6 (one each), n = 10, K = 5 groups:
    // cume_dist: ceil(5 × cum/n) = ceil(5 × 6/10) = 3 for the six, then 4, 4, 5, 5: no F 1 or 2.
    // dense: a group's middle client (cum − n_k/2)/n: 0.3, 0.65, 0.75, 0.85, 0.95 passes
    // 1, 3, 3, 4, 4 of the edges 0.2, 0.4, 0.6, 0.8: first edges b0 = 1, 2, 2, 4 (groups);
    // pushed apart (b_j ≥ b_(j−1) + 1, ≥ j + 1) and capped (≤ K − 4 + j = j + 1): 2, 3, 4, 5:
    // the five groups score 1, 2, 3, 4, 5. M (10.00 a purchase) ties alike.
    // R, all distinct (recency 100 … 10 ascending by key = groups 1..10): middle positions
    // 0.05, 0.15, … 0.95 pass 0, 0, 1, 1, 2, 2, 3, 3, 4, 4 edges: b0 = 3, 5, 7, 9, already
    // apart: recency 100, 90 → 1; 80, 70 → 2; 60, 50 → 3; 40, 30 → 4; 20, 10 → 5 (as cume_dist).
    let dense = scores(&[]);
    let want_dense = [
        ["5", "1", "1", "new"],
        ["5", "1", "1", "new"],
        ["4", "1", "1", "promising"],
        ["4", "1", "1", "promising"],
        ["3", "1", "1", "about_to_sleep"],
        ["3", "1", "1", "about_to_sleep"],
        ["2", "2", "2", "hibernating"],
        ["2", "3", "3", "at_risk"],
        ["1", "4", "4", "at_risk"],
        ["1", "5", "5", "cant_lose"],
    ];
    assert_eq!(dense, want_dense.map(|r| r.map(String::from)));
    let cume = scores(&["rfm_ties=cume_dist"]);
    let want_cume = [
        ["5", "3", "3", "potential_loyalist"],
        ["5", "3", "3", "potential_loyalist"],
        ["4", "3", "3", "potential_loyalist"],
        ["4", "3", "3", "potential_loyalist"],
        ["3", "3", "3", "need_attention"],
        ["3", "3", "3", "need_attention"],
        ["2", "4", "4", "at_risk"],
        ["2", "4", "4", "at_risk"],
        ["1", "5", "5", "cant_lose"],
        ["1", "5", "5", "cant_lose"],
    ];
    assert_eq!(cume, want_cume.map(|r| r.map(String::from)));
    // Fixed bins: F ≥ 2, 3, 5, 10 for 2..5: 1 → 1, 2 → 2, 3 → 3, 4 → 3, 6 → 4; R up to 30,
    // 90, 180, 365 days for 5..2: 10, 20, 30 → 5; 40 … 90 → 4; 100 → 3; M ≥ 15, 25, 35, 55:
    // 10 → 1, 20 → 2, 30 → 3, 40 → 4, 60 → 5.
    let fixed = scores(&["rfm_bins=fixed", "rfm_m_bins=15,25,35,55"]);
    let rf: Vec<[&str; 3]> = fixed
        .iter()
        .map(|r| [r[0].as_str(), r[1].as_str(), r[2].as_str()])
        .collect();
    assert_eq!(
        rf,
        [
            ["5", "1", "1"],
            ["5", "1", "1"],
            ["5", "1", "1"],
            ["4", "1", "1"],
            ["4", "1", "1"],
            ["4", "1", "1"],
            ["4", "2", "2"],
            ["4", "3", "3"],
            ["4", "3", "4"],
            ["3", "4", "5"],
        ]
    );
    // The bins are printed with the output.
    let out = run(&e, "rfm", "2024-03-31", &["rfm_events=sales"], None);
    let b = Rows::of(&out[2]);
    assert_eq!(
        b.columns,
        ["dim", "score", "clients", "lowest", "highest", "rule", "events"]
    );
    let f_bins: Vec<Vec<&str>> = b
        .filter(&[("dim", "F")])
        .iter()
        .map(|r| r[1..6].iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        f_bins,
        [
            ["1", "6", "1", "1", "dense"],
            ["2", "1", "2", "2", "dense"],
            ["3", "1", "3", "3", "dense"],
            ["4", "1", "4", "4", "dense"],
            ["5", "1", "6", "6", "dense"],
        ]
    );
    assert_eq!(b.one(&[("dim", "R"), ("score", "5")], "lowest"), "10");
    assert_eq!(b.one(&[("dim", "R"), ("score", "5")], "highest"), "20");
    // a bad threshold list is refused with the profile's name
    assert!(Profile::fitness().set("rfm_f_bins=3,2,5,10").is_err());
    assert!(Profile::fitness().set("rfm_ties=ntile").is_err());
}

#[test]
fn rfm_window_all_and_sales_when_there_are_no_visits() {
    let f = tie_fixture();
    let e = f.engine();
    // rfm_events = visits (fitness) but the bundle has no visit: the sales give R, F and M
    // rather than nobody being scored; the bins say which events counted.
    let out = run(&e, "rfm", "2024-03-31", &[], None);
    let b = Rows::of(&out[2]);
    assert!(b.rows.iter().all(|r| r[b.col("events")] == "sales"));
    let seg = Rows::of(&out[0]);
    let scored: i64 = seg
        .rows
        .iter()
        .map(|r| r[seg.col("clients")].parse::<i64>().unwrap())
        .sum();
    assert_eq!(scored, 10);
    // A 15-day window keeps k0 only (its sale 10 days before D); "all" keeps everyone, even at
    // D = 2026-03-31, two years after the last sale (a 365-day window would score nobody).
    let n = |params: &[&str], d: &str| {
        Rows::of(&run(&e, "rfm", d, params, Some("clients"))[0])
            .rows
            .len()
    };
    assert_eq!(n(&["rfm_window_days=15"], "2024-03-31"), 1);
    assert_eq!(n(&["rfm_window_days=all"], "2026-03-31"), 10);
    assert_eq!(n(&[], "2026-03-31"), 0);
    let mut p = Profile::fitness();
    p.set("rfm_window_days=all").unwrap();
    assert_eq!(p.describe("rfm_window_days").unwrap(), "all");
    p.set("rfm_window_days=30").unwrap();
    assert!(p.set("rfm_window_days=forever").is_err());
    assert!(p.set("rfm_window_days=0").is_err());
}

#[test]
fn rfm_summary_follows_the_lifetimes_convention() {
    let mut f = Fixture::new();
    // p: purchases on 01-01 (100 + 50 the same day: one purchase of 150), 01-11 (30) and
    // 02-10 (90); one after D (ignored).
    f.client("p", REG)
        .sale("p1", "p", "2024-01-01 10:00", "retail", 10000)
        .sale("p2", "p", "2024-01-01 18:00", "retail", 5000)
        .sale("p3", "p", "2024-01-11 10:00", "retail", 3000)
        .sale("p4", "p", "2024-02-10 10:00", "retail", 9000)
        .sale("p5", "p", "2024-04-02 10:00", "retail", 99900);
    // q: one purchase day only.
    f.client("q", REG)
        .sale("q1", "q", "2024-03-01 10:00", "retail", 7000);
    // r: no purchase: not listed.
    f.client("r", REG);
    let out = run(&f.engine(), "rfm_summary", "2024-03-31", &[], None);
    let s = Rows::of(&out[0]);
    assert_eq!(
        s.columns,
        ["client_pid", "frequency", "recency", "T", "monetary_value"]
    );
    // p: 3 purchase days → frequency 2; recency 02-10 − 01-01 = 40; T = 03-31 − 01-01 = 90;
    // monetary_value = mean(30, 90) = 60 (the first purchase day is left out).
    assert_eq!(s.rows[0], ["p", "2", "40", "90", "60"]);
    // q: frequency 0, recency 0, T 30, monetary_value 0.
    assert_eq!(s.rows[1], ["q", "0", "0", "30", "0"]);
    assert_eq!(s.rows.len(), 2);
}

#[test]
fn funnel_counts_conversions_losses_and_median_days() {
    let mut f = Fixture::new();
    let client = |f: &mut Fixture,
                  pid: &'static str,
                  reg: &'static str,
                  trial: Option<&'static str>,
                  archived: Option<&'static str>| {
        let mut cells = vec![
            ("client_pid", V::S(pid)),
            ("branch", V::S("A")),
            ("registered_on", V::D(reg)),
        ];
        if let Some(t) = trial {
            cells.push(("trial_booked_on", V::D(t)));
        }
        if let Some(a) = archived {
            cells.push(("archived_on", V::D(a)));
        }
        f.row("clients", cells);
    };
    // Registered in March 2024 (D = 03-31, one monthly period):
    // f1: trial 03-03, first visit 03-05, first membership 03-10.
    client(&mut f, "f1", "2024-03-01", Some("2024-03-03"), None);
    f.visit("f1", "2024-03-05 10:00")
        .membership("f1_m", "f1", "2024-03-10", "2024-09-09");
    // f2: trial 03-04, first visit 03-08, no membership, archived 03-20.
    client(
        &mut f,
        "f2",
        "2024-03-02",
        Some("2024-03-04"),
        Some("2024-03-20"),
    );
    f.visit("f2", "2024-03-08 10:00");
    // f3: no trial; first visit and membership on 03-04.
    client(&mut f, "f3", "2024-03-03", None, None);
    f.visit("f3", "2024-03-04 10:00")
        .membership("f3_m", "f3", "2024-03-04", "2024-09-03");
    // f4: nothing after registering.
    client(&mut f, "f4", "2024-03-10", None, None);
    // f5: registered in February: not March's.
    client(&mut f, "f5", "2024-02-28", Some("2024-03-01"), None);
    let out = run(&f.engine(), "funnel", "2024-03-31", &["periods=1"], None);
    let r = Rows::of(&out[0]);
    let step = |s: &str, col: &str| r.one(&[("branch", "(all)"), ("step", s)], col);
    // The steps are nested: each counts the clients who reached it and every step before it.
    // registered: f1..f4 = 4, all of the registered.
    assert_eq!(step("registered", "clients"), "4");
    approx(&step("registered", "share_of_registered"), 1.0);
    assert_eq!(step("registered", "reached"), "4");
    // trial_booked: f1, f2 = 2; of the 4 registered: 2/4, loss 2; days 2 and 2: median 2.
    assert_eq!(step("trial_booked", "clients"), "2");
    approx(&step("trial_booked", "conversion"), 0.5);
    approx(&step("trial_booked", "share_of_registered"), 0.5);
    assert_eq!(step("trial_booked", "loss"), "2");
    assert_eq!(step("trial_booked", "median_days_from_previous"), "2");
    // first_visit: of the 2 with a trial both visited (f1, f2): 2, conversion 1, 2/4 of the
    // registered, loss 0; days from the trial: f1 2, f2 4: median 3. f3 visited without a
    // booked trial: reached (3), not in the step.
    assert_eq!(step("first_visit", "clients"), "2");
    approx(&step("first_visit", "conversion"), 1.0);
    approx(&step("first_visit", "share_of_registered"), 0.5);
    assert_eq!(step("first_visit", "loss"), "0");
    assert_eq!(step("first_visit", "median_days_from_previous"), "3");
    assert_eq!(step("first_visit", "reached"), "3");
    // first_membership: of f1 and f2, f1 bought one: 1, conversion 1/2, 1/4 of the
    // registered, loss 1; days from the first visit: f1 5. f3's membership is reached (2),
    // not in the step (no trial).
    assert_eq!(step("first_membership", "clients"), "1");
    approx(&step("first_membership", "conversion"), 0.5);
    approx(&step("first_membership", "share_of_registered"), 0.25);
    assert_eq!(step("first_membership", "loss"), "1");
    assert_eq!(step("first_membership", "median_days_from_previous"), "5");
    assert_eq!(step("first_membership", "reached"), "2");
    // Branch A holds everyone: the same numbers.
    assert_eq!(
        r.one(&[("branch", "A"), ("step", "first_visit")], "clients"),
        "2"
    );
    // Steps in order, archived not among them; the bars never grow.
    let all = r.filter(&[("branch", "(all)")]);
    let steps: Vec<&str> = all.iter().map(|x| x[r.col("step")].as_str()).collect();
    assert_eq!(
        steps,
        [
            "registered",
            "trial_booked",
            "first_visit",
            "first_membership"
        ]
    );
    let counts: Vec<i64> = all
        .iter()
        .map(|x| x[r.col("clients")].parse().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[1] <= w[0]), "{counts:?}");
    // archived is an outcome beside the funnel: f2 = 1 of the 4 registered, who never had a
    // membership.
    assert_eq!(out[2].name, "outcomes");
    let o = Rows::of(&out[2]);
    let arch = |col: &str| {
        o.one(
            &[
                ("total", "false"),
                ("branch", "(all)"),
                ("outcome", "archived"),
            ],
            col,
        )
    };
    assert_eq!(arch("clients"), "1");
    approx(&arch("share_of_registered"), 0.25);
    assert_eq!(arch("without_membership"), "1");
}

#[test]
fn funnel_total_spans_every_period() {
    // Two monthly periods (February and March 2024): a client registered in each.
    let mut f = Fixture::new();
    f.client("g1", "2024-02-10")
        .visit("g1", "2024-02-12 10:00")
        .membership("g1_m", "g1", "2024-02-15", "2024-08-14");
    f.client("g2", "2024-03-05").visit("g2", "2024-03-20 10:00");
    let out = run(&f.engine(), "funnel", "2024-03-31", &["periods=2"], None);
    assert_eq!(out[1].name, "total");
    let t = Rows::of(&out[1]);
    let step = |s: &str, col: &str| t.one(&[("branch", "(all)"), ("step", s)], col);
    assert_eq!(step("registered", "period_start"), "2024-02-01");
    assert_eq!(step("registered", "period_end"), "2024-03-31");
    assert_eq!(step("registered", "clients"), "2");
    // Both visited, but neither booked a trial: the nested first-visit step holds nobody;
    // `reached` counts both.
    assert_eq!(step("trial_booked", "clients"), "0");
    assert_eq!(step("first_visit", "clients"), "0");
    assert_eq!(step("first_visit", "reached"), "2");
    // g1 bought a membership 3 days after the first visit: reached by 1, in the step none
    // (no conversion from an empty step, no median).
    assert_eq!(step("first_membership", "clients"), "0");
    assert_eq!(step("first_membership", "reached"), "1");
    assert_eq!(step("first_membership", "conversion"), "∅");
    assert_eq!(step("first_membership", "median_days_from_previous"), "∅");
    // Per period the same clients split in two.
    let p = Rows::of(&out[0]);
    assert_eq!(
        p.filter(&[("branch", "(all)"), ("step", "registered")])
            .len(),
        2
    );
}

#[test]
fn coverage_lists_every_table_with_rows_clients_and_dates() {
    let mut f = Fixture::new();
    f.client("a", "2023-05-01")
        .client("b", "2023-06-01")
        .membership("m", "a", "2023-05-02", "2024-05-01")
        .visit("a", "2024-01-10 10:00")
        .visit("b", "2024-02-10 10:00")
        // a visit of a client the clients table does not know, and one after D
        .visit("zz", "2024-02-11 10:00")
        .visit("a", "2024-04-02 10:00");
    let out = run(&f.engine(), "coverage", "2024-03-31", &[], None);
    let r = Rows::of(&out[0]);
    let get = |t: &str, c: &str| r.one(&[("table_name", t)], c);
    assert_eq!(get("clients", "present"), "true");
    assert_eq!(get("clients", "rows"), "2");
    assert_eq!(get("clients", "first_date"), "2023-05-01");
    assert_eq!(get("visits", "rows"), "4");
    assert_eq!(get("visits", "clients"), "2");
    assert_eq!(get("visits", "rows_unknown_client"), "1");
    assert_eq!(get("visits", "first_date"), "2024-01-10");
    assert_eq!(get("visits", "last_date"), "2024-04-02");
    assert_eq!(get("visits", "rows_after_as_of"), "1");
    assert_eq!(get("memberships", "rows"), "1");
    // Memberships are dated by their start; the end (2024-05-01, no freeze) runs past D, and
    // the coverage says so.
    assert_eq!(get("memberships", "date_column"), "start_date");
    assert_eq!(get("memberships", "first_date"), "2023-05-02");
    assert_eq!(get("memberships", "last_date"), "2023-05-02");
    assert_eq!(get("memberships", "last_end_date"), "2024-05-01");
    assert_eq!(get("memberships", "rows_ending_after_as_of"), "1");
    assert_eq!(get("memberships", "rows_after_as_of"), "0");
    assert_eq!(get("visits", "date_column"), "visited_at");
    assert_eq!(get("visits", "last_end_date"), "∅");
    assert_eq!(get("visits", "rows_ending_after_as_of"), "∅");
    // Tables the bundle lacks are listed as absent, with no rows.
    assert_eq!(get("feedback", "present"), "false");
    assert_eq!(get("feedback", "rows"), "0");
    assert_eq!(get("feedback", "first_date"), "∅");
    assert_eq!(r.rows.len(), 6);
}

#[test]
fn cohort_retention_by_month_of_first_membership() {
    let mut f = Fixture::new();
    // D = 2024-03-31.
    // December 2023 cohort: k0 from 12-10 to 01-09: not current on 01-10 (k=1), 02-10, 03-10.
    f.client("k0", REG)
        .membership("k0_m", "k0", "2023-12-10", "2024-01-09");
    // January 2024 cohort:
    // k1 from 01-15 to 02-20: current on 02-15 (k=1), not on 03-15 (k=2).
    f.client("k1", REG)
        .membership("k1_m", "k1", "2024-01-15", "2024-02-20");
    // k2 from 01-31: k=1 is 02-29 (February has no 31st), its last day: current; k=2 is 03-31,
    // the first day of its renewal: current.
    f.client("k2", REG)
        .membership("k2_1", "k2", "2024-01-31", "2024-02-29")
        .membership("k2_2", "k2", "2024-03-31", "2024-06-30");
    // k3: a cancelled membership from 2023-12-01 does not make it December's; the first is
    // 01-05..12-31: current at k=1 and k=2.
    f.client("k3", REG)
        .membership_full(
            "k3_0",
            "k3",
            "2023-12-01",
            "2024-05-31",
            "cancelled",
            0,
            "2023-12-01",
            "A",
        )
        .membership("k3_1", "k3", "2024-01-05", "2024-12-31");
    // February cohort: k4 from 02-10; k=1 (03-10): current. k=2 would be after D.
    f.client("k4", REG)
        .membership("k4_m", "k4", "2024-02-10", "2024-02-29");
    // March cohort: k=1 not before April: not reported.
    f.client("k5", REG)
        .membership("k5_m", "k5", "2024-03-01", "2024-12-31");
    let e = f.engine();
    let cells = Rows::of(&run(&e, "cohorts", "2024-03-31", &[], Some("cells"))[0]);
    let cell = |c: &str, k: &str, col: &str| cells.one(&[("cohort", c), ("months_after", k)], col);
    // December: 1 client; reported k = 1..3 (the cohort's last probe for k=3 is 03-31 <= D).
    assert_eq!(cell("2023-12-01", "1", "share"), "0");
    assert_eq!(cell("2023-12-01", "3", "clients"), "1");
    assert!(cells
        .filter(&[("cohort", "2023-12-01"), ("months_after", "4")])
        .is_empty());
    // January: 3 clients; k=1: k1, k2, k3 = 1; k=2: k2, k3 = 2/3; k=3 not yet (04-30 > D).
    assert_eq!(cell("2024-01-01", "1", "clients"), "3");
    assert_eq!(cell("2024-01-01", "1", "share"), "1");
    assert_eq!(cell("2024-01-01", "2", "retained"), "2");
    approx(&cell("2024-01-01", "2", "share"), 2.0 / 3.0);
    assert!(cells
        .filter(&[("cohort", "2024-01-01"), ("months_after", "3")])
        .is_empty());
    // February: k4 on 03-10: its membership ended 02-29: 0.
    assert_eq!(cell("2024-02-01", "1", "share"), "0");
    // March: nothing reported.
    assert!(cells.filter(&[("cohort", "2024-03-01")]).is_empty());

    // The matrix: one row per cohort, m01..m24.
    let m = Rows::of(&run(&e, "cohorts", "2024-03-31", &[], None)[0]);
    assert_eq!(m.columns.len(), 2 + 24);
    assert_eq!(
        m.rows.iter().map(|x| x[0].as_str()).collect::<Vec<_>>(),
        ["2023-12-01", "2024-01-01", "2024-02-01"]
    );
    assert_eq!(m.get("cohort", "2024-01-01", "clients"), "3");
    approx(&m.get("cohort", "2024-01-01", "m02"), 2.0 / 3.0);
    assert_eq!(m.get("cohort", "2024-01-01", "m03"), "∅");
}
