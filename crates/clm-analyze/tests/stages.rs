//! SPEC §5.1: the lifecycle stage of each client at D, the flags, and the segmentation
//! summary. Every fixture is hand-made and every answer worked out by hand in the comments.
//!
//! D = 2024-03-18 throughout. Defaults: onboarding_days 30, renewal_window_days 30,
//! inactive_days 21, pt_days 30, lapsed_days 90, starter_days 30.
//! Useful dates: D-20 = 02-27, D-21 = 02-26, D-27 = 02-20, D-28 = 02-19, D-29 = 02-18,
//! D-30 = 02-17, D-31 = 02-16, D-83 = 2023-12-26, D-84 = 2023-12-25, D-90 = 2023-12-19,
//! D-91 = 2023-12-18, D+30 = 04-17, D+31 = 04-18.

mod fixture;

use std::collections::BTreeMap;

use fixture::*;

const D: &str = "2024-03-18";
const REG: &str = "2023-01-01";

/// One client per rule and boundary. Returns the fixture and the expected stage of every
/// client of the base (clients outside the base are absent).
fn stage_fixture() -> (Fixture, BTreeMap<&'static str, &'static str>) {
    let mut f = Fixture::new();
    let mut want = BTreeMap::new();
    // A long membership, current at D, with no end in sight.
    let long = |f: &mut Fixture, pid: &'static str, client: &'static str| {
        f.membership(pid, client, "2023-06-01", "2024-12-31");
    };

    // 1. frozen: a current membership with status frozen (recent visit does not matter).
    f.client("fz", REG)
        .membership_full(
            "fz_m",
            "fz",
            "2024-01-01",
            "2024-06-30",
            "frozen",
            0,
            "2024-01-01",
            "A",
        )
        .visit("fz", "2024-03-15 10:00");
    want.insert("fz", "frozen");
    // Rule 1 looks at every current membership: the current one (latest start, 03-01) is
    // active and would make the client `renewed`, but an older current one is frozen.
    f.client("fz2", REG)
        .membership_full(
            "fz2_old",
            "fz2",
            "2023-06-01",
            "2024-06-30",
            "frozen",
            0,
            "2023-06-01",
            "A",
        )
        .membership("fz2_new", "fz2", "2024-03-01", "2024-04-10");
    want.insert("fz2", "frozen");

    // 2. newcomer: first membership started exactly onboarding_days (30) before D: within.
    f.client("nc30", REG)
        .membership("nc30_m", "nc30", "2024-02-17", "2024-08-16")
        .visit("nc30", "2024-03-15 10:00");
    want.insert("nc30", "newcomer");
    // 31 days before D: no longer a newcomer; visited, no PT, ends far off: active.
    f.client("nc31", REG)
        .membership("nc31_m", "nc31", "2024-02-16", "2024-08-16")
        .visit("nc31", "2024-03-15 10:00");
    want.insert("nc31", "active");

    // 3. renewed: the current membership (started 03-01, 17 days ago) is the second one.
    f.client("rn", REG)
        .membership("rn_1", "rn", "2023-03-01", "2024-02-29")
        .membership("rn_2", "rn", "2024-03-01", "2025-02-28");
    want.insert("rn", "renewed");

    // 4. renewal_due and the renewal bought before the old membership ends:
    // rb: current membership ends 03-31 (13 days after D); the next one (from 04-01) was sold
    // on 03-10, on or before D, so no renewal is due; visited 03-15: active.
    f.client("rb", REG)
        .membership("rb_1", "rb", "2023-04-01", "2024-03-31")
        .membership_full(
            "rb_2",
            "rb",
            "2024-04-01",
            "2025-03-31",
            "active",
            0,
            "2024-03-10",
            "A",
        )
        .visit("rb", "2024-03-15 10:00");
    want.insert("rb", "active");
    // rbf: the same, but the next one is sold on 03-20, after D: as of D it is not there.
    f.client("rbf", REG)
        .membership("rbf_1", "rbf", "2023-04-01", "2024-03-31")
        .membership_full(
            "rbf_2",
            "rbf",
            "2024-04-01",
            "2025-03-31",
            "active",
            0,
            "2024-03-20",
            "A",
        )
        .visit("rbf", "2024-03-15 10:00");
    want.insert("rbf", "renewal_due");
    // A membership ending on D is current on D (D <= end) and ends 0 days after D.
    f.client("rd0", REG)
        .membership("rd0_m", "rd0", "2023-06-01", "2024-03-18")
        .visit("rd0", "2024-03-15 10:00");
    want.insert("rd0", "renewal_due");
    // Ends exactly renewal_window_days (30) after D: within the window.
    f.client("rd30", REG)
        .membership("rd30_m", "rd30", "2023-06-01", "2024-04-17")
        .visit("rd30", "2024-03-15 10:00");
    want.insert("rd30", "renewal_due");
    // 31 days after D: outside; visited: active.
    f.client("rd31", REG)
        .membership("rd31_m", "rd31", "2023-06-01", "2024-04-18")
        .visit("rd31", "2024-03-15 10:00");
    want.insert("rd31", "active");
    // A freeze carries a membership past its end date: end 03-10 + 20 freeze days = effective
    // end 03-30, so it is current at D and ends 12 days after D: renewal_due.
    f.client("frz", REG)
        .membership_full(
            "frz_m",
            "frz",
            "2023-06-01",
            "2024-03-10",
            "active",
            20,
            "2023-06-01",
            "A",
        )
        .visit("frz", "2024-03-15 10:00");
    want.insert("frz", "renewal_due");
    // 60 freeze days: effective end 05-09, 52 days after D: active.
    f.client("frz2", REG)
        .membership_full(
            "frz2_m",
            "frz2",
            "2023-06-01",
            "2024-03-10",
            "active",
            60,
            "2023-06-01",
            "A",
        )
        .visit("frz2", "2024-03-15 10:00");
    want.insert("frz2", "active");

    // 5. inactive: the last visit exactly inactive_days (21) ago is outside "the last 21
    // days" (D-20 .. D).
    f.client("in21", REG).visit("in21", "2024-02-26 19:00");
    long(&mut f, "in21_m", "in21");
    want.insert("in21", "inactive");
    // A visit 20 days ago is inside: active.
    f.client("in20", REG).visit("in20", "2024-02-27 07:00");
    long(&mut f, "in20_m", "in20");
    want.insert("in20", "active");

    // 6. pt_engaged: personal training done 29 days ago (inside the last 30 days).
    f.client("pt", REG).visit("pt", "2024-03-15 10:00").service(
        "pt",
        "2024-02-18 10:00",
        "PT 60",
        "personal_training",
        "done",
        "pt",
    );
    long(&mut f, "pt_m", "pt");
    want.insert("pt", "pt_engaged");
    // Done 30 days ago: outside; active.
    f.client("pt30", REG)
        .visit("pt30", "2024-03-15 10:00")
        .service(
            "pt30",
            "2024-02-17 10:00",
            "PT 60",
            "personal_training",
            "done",
            "pt",
        );
    long(&mut f, "pt30_m", "pt30");
    want.insert("pt30", "active");
    // A no-show is not a service done: active.
    f.client("ptns", REG)
        .visit("ptns", "2024-03-15 10:00")
        .service(
            "ptns",
            "2024-03-15 10:00",
            "PT 60",
            "personal_training",
            "no_show",
            "pt",
        );
    long(&mut f, "ptns_m", "ptns");
    want.insert("ptns", "active");
    // Rule 5 comes first: PT done but no visit in 21 days: inactive.
    f.client("ptin", REG).service(
        "ptin",
        "2024-03-15 10:00",
        "PT 60",
        "personal_training",
        "done",
        "pt",
    );
    long(&mut f, "ptin_m", "ptin");
    want.insert("ptin", "inactive");

    // 8./9. lapsed / former: the last effective end exactly lapsed_days (90) before D is
    // within; 91 days is not.
    f.client("lp90", REG)
        .membership("lp90_m", "lp90", "2023-01-01", "2023-12-19");
    want.insert("lp90", "lapsed");
    f.client("lp91", REG)
        .membership("lp91_m", "lp91", "2023-01-01", "2023-12-18");
    want.insert("lp91", "former");

    // A cancelled membership is ignored everywhere: with only a cancelled (would-be current)
    // membership the client is a lead, visits or not.
    f.client("cx", REG)
        .membership_full(
            "cx_m",
            "cx",
            "2024-01-01",
            "2024-12-31",
            "cancelled",
            0,
            "2024-01-01",
            "A",
        )
        .visit("cx", "2024-03-15 10:00");
    want.insert("cx", "lead");
    // An old membership ended 2023-12-31 (78 days before D) and a cancelled current one:
    // no current membership, lapsed.
    f.client("cx2", REG)
        .membership("cx2_old", "cx2", "2023-01-01", "2023-12-31")
        .membership_full(
            "cx2_new",
            "cx2",
            "2024-01-01",
            "2024-12-31",
            "cancelled",
            0,
            "2024-01-01",
            "A",
        );
    want.insert("cx2", "lapsed");

    // 10. lead: a client with visits but no membership.
    f.client("ld", REG).visit("ld", "2024-03-15 10:00");
    want.insert("ld", "lead");
    // A membership bought for a later start (04-01) still leaves a lead.
    f.client("lf", REG).membership_full(
        "lf_m",
        "lf",
        "2024-04-01",
        "2025-03-31",
        "active",
        0,
        "2024-03-10",
        "A",
    );
    want.insert("lf", "lead");

    // The base: archived leads (archived on or before D, no membership started by D) are out.
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("al")),
            ("branch", V::S("A")),
            ("registered_on", V::D(REG)),
            ("archived_on", V::D("2024-03-01")),
        ],
    );
    // ... a client archived after a membership stays in (former: ended 2023-06-30);
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("al2")),
            ("branch", V::S("A")),
            ("registered_on", V::D(REG)),
            ("archived_on", V::D("2024-03-01")),
        ],
    );
    f.membership("al2_m", "al2", "2023-01-01", "2023-06-30");
    want.insert("al2", "former");
    // ... archived after D: still a lead at D;
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("af")),
            ("branch", V::S("A")),
            ("registered_on", V::D(REG)),
            ("archived_on", V::D("2024-03-19")),
        ],
    );
    want.insert("af", "lead");
    // ... archived with only a cancelled membership: an archived lead, out.
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("alx")),
            ("branch", V::S("A")),
            ("registered_on", V::D(REG)),
            ("archived_on", V::D("2024-03-01")),
        ],
    );
    f.membership_full(
        "alx_m",
        "alx",
        "2024-01-01",
        "2024-12-31",
        "cancelled",
        0,
        "2024-01-01",
        "A",
    );
    // Registered after D: out; registered on D: in.
    f.client("rg", "2024-03-19");
    f.client("rgd", D);
    want.insert("rgd", "lead");

    // Two overlapping memberships: the current membership is the one with the latest start
    // (ov_2, from 03-01, 17 days ago), not the first: renewed.
    f.client("ov", REG)
        .membership("ov_1", "ov", "2024-01-01", "2024-12-31")
        .membership("ov_2", "ov", "2024-03-01", "2024-04-30");
    want.insert("ov", "renewed");
    // Overlapping again: the current membership (latest start) ov2_2 ends 03-31, 13 days
    // after D, and no membership starting after its start was sold: renewal_due, although
    // ov2_1 goes on until June.
    f.client("ov2", REG)
        .membership("ov2_1", "ov2", "2023-06-01", "2024-06-30")
        .membership("ov2_2", "ov2", "2023-09-01", "2024-03-31")
        .visit("ov2", "2024-03-15 10:00");
    want.insert("ov2", "renewal_due");
    // Ties: both start on 03-01. The first is tf_z (sold earlier, 02-20, although its id
    // sorts last); the current is tf_a (latest effective end, 05-31), which is not the first,
    // started 17 days ago: renewed. (Ordering by id alone would make tf_a first: newcomer.)
    f.client("tf", REG)
        .membership_full(
            "tf_a",
            "tf",
            "2024-03-01",
            "2024-05-31",
            "active",
            0,
            "2024-02-25",
            "A",
        )
        .membership_full(
            "tf_z",
            "tf",
            "2024-03-01",
            "2024-03-31",
            "active",
            0,
            "2024-02-20",
            "A",
        );
    want.insert("tf", "renewed");

    // Unknown clients are left out: a membership of a client not in the clients table.
    f.membership("zz_m", "zz", "2024-03-01", "2024-12-31");
    (f, want)
}

fn stages(e: &clm_analyze::Engine, params: &[&str]) -> Rows {
    Rows::of(&run(e, "segmentation", D, params, Some("clients"))[0])
}

#[test]
fn every_rule_of_5_1_with_its_boundaries() {
    let (f, want) = stage_fixture();
    let rows = stages(&f.engine(), &[]);
    let got = rows.map("client_pid", "stage");
    let want: BTreeMap<String, String> = want
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (client, stage) in &want {
        assert_eq!(got.get(client), Some(stage), "client {client}");
    }
    // Exactly the base: al, alx (archived leads) and rg (registered after D) are out, and so
    // is the unknown client zz.
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_per_client_list_names_the_current_membership_and_its_effective_end() {
    let (f, _) = stage_fixture();
    let rows = stages(&f.engine(), &[]);
    // Overlapping: the latest start.
    assert_eq!(rows.get("client_pid", "ov", "membership_pid"), "ov_2");
    // Ties on start: the latest effective end.
    assert_eq!(rows.get("client_pid", "tf", "membership_pid"), "tf_a");
    // Effective end = end_date + freeze_days.
    assert_eq!(
        rows.get("client_pid", "frz", "membership_effective_end"),
        "2024-03-30"
    );
    // No current membership: empty.
    assert_eq!(rows.get("client_pid", "lp90", "membership_pid"), "∅");
}

#[test]
fn parameters_are_bound_from_the_profile_and_overrides() {
    let (f, _) = stage_fixture();
    let e = f.engine();
    // inactive_days 14: in20's last visit (20 days ago) is now too old.
    let rows = stages(&e, &["inactive_days=14"]);
    assert_eq!(rows.get("client_pid", "in20", "stage"), "inactive");
    // onboarding_days 31: nc31 becomes a newcomer.
    let rows = stages(&e, &["onboarding_days=31"]);
    assert_eq!(rows.get("client_pid", "nc31", "stage"), "newcomer");
    // renewal_window_days 31: rd31 is due; lapsed_days 91: lp91 lapsed; pt_days 31: pt30.
    let rows = stages(
        &e,
        &["renewal_window_days=31", "lapsed_days=91", "pt_days=31"],
    );
    assert_eq!(rows.get("client_pid", "rd31", "stage"), "renewal_due");
    assert_eq!(rows.get("client_pid", "lp91", "stage"), "lapsed");
    assert_eq!(rows.get("client_pid", "pt30", "stage"), "pt_engaged");
}

#[test]
fn the_as_of_date_moves_every_rule() {
    let (f, _) = stage_fixture();
    // At D = 2024-03-19 nc30 started 31 days ago: active; rd0's membership has ended the day
    // before: lapsed; rbf's renewal (sold 03-20) is still not sold: renewal_due.
    let rows = Rows::of(
        &run(
            &f.engine(),
            "segmentation",
            "2024-03-19",
            &[],
            Some("clients"),
        )[0],
    );
    assert_eq!(rows.get("client_pid", "nc30", "stage"), "active");
    assert_eq!(rows.get("client_pid", "rd0", "stage"), "lapsed");
    assert_eq!(rows.get("client_pid", "rbf", "stage"), "renewal_due");
    // At 2024-03-20 it is sold: rbf active.
    let rows = Rows::of(
        &run(
            &f.engine(),
            "segmentation",
            "2024-03-20",
            &[],
            Some("clients"),
        )[0],
    );
    assert_eq!(rows.get("client_pid", "rbf", "stage"), "active");
}

/// Flag `starter_completed`: the distinct starter services done within [S, S + 30]
/// (S = the first membership's start) are at least the services offered. The club offers
/// (by default: the distinct starter names in the data) `Intro` and `Body scan`.
#[test]
fn starter_completed_counts_distinct_offered_services_in_the_window() {
    let mut f = Fixture::new();
    // st: S = 02-17. Intro on S itself, Body scan on 03-18 = S + 30 (the window's last day,
    // and D): both done: completed.
    f.client("st", REG)
        .membership("st_m", "st", "2024-02-17", "2024-08-16")
        .service(
            "st",
            "2024-02-17 10:00",
            "Intro",
            "starter",
            "done",
            "fitness",
        )
        .service(
            "st",
            "2024-03-18 09:00",
            "Body scan",
            "starter",
            "done",
            "medical",
        );
    // st2: S = 02-10. Intro on S; Body scan on 03-12 = S + 31 (outside) and on 02-05 (before
    // S): one of two: not completed.
    f.client("st2", REG)
        .membership("st2_m", "st2", "2024-02-10", "2024-08-09")
        .service(
            "st2",
            "2024-02-10 10:00",
            "Intro",
            "starter",
            "done",
            "fitness",
        )
        .service(
            "st2",
            "2024-03-12 10:00",
            "Body scan",
            "starter",
            "done",
            "medical",
        )
        .service(
            "st2",
            "2024-02-05 10:00",
            "Body scan",
            "starter",
            "done",
            "medical",
        );
    // st3: Intro twice and a Body scan no-show: one distinct service done: not completed.
    f.client("st3", REG)
        .membership("st3_m", "st3", "2024-02-17", "2024-08-16")
        .service(
            "st3",
            "2024-02-18 10:00",
            "Intro",
            "starter",
            "done",
            "fitness",
        )
        .service(
            "st3",
            "2024-02-19 10:00",
            "Intro",
            "starter",
            "done",
            "fitness",
        )
        .service(
            "st3",
            "2024-02-20 10:00",
            "Body scan",
            "starter",
            "no_show",
            "medical",
        );
    // st4: both done, but the first membership is the one from 2023 (the 2024-02-17 one is a
    // renewal): the window [2023-01-01, 2023-01-31] holds neither: not completed.
    f.client("st4", REG)
        .membership("st4_1", "st4", "2023-01-01", "2023-12-31")
        .membership("st4_2", "st4", "2024-02-17", "2024-08-16")
        .service(
            "st4",
            "2024-02-18 10:00",
            "Intro",
            "starter",
            "done",
            "fitness",
        )
        .service(
            "st4",
            "2024-02-19 10:00",
            "Body scan",
            "starter",
            "done",
            "medical",
        );
    // A lead has no first membership: not completed.
    f.client("ld", REG);
    let e = f.engine();
    let rows = stages(&e, &[]);
    let flag = rows.map("client_pid", "starter_completed");
    assert_eq!(flag["st"], "true");
    assert_eq!(flag["st2"], "false");
    assert_eq!(flag["st3"], "false");
    assert_eq!(flag["st4"], "false");
    assert_eq!(flag["ld"], "false");

    // The profile lists the services offered: with `Intro` alone, st2 and st3 complete.
    let rows = stages(&e, &["starter_services=Intro"]);
    let flag = rows.map("client_pid", "starter_completed");
    assert_eq!(flag["st2"], "true");
    assert_eq!(flag["st3"], "true");
    // A listed service no client ever had still counts as offered: nobody completes.
    let rows = stages(&e, &["starter_services=Intro,Body scan,Sauna tour"]);
    assert!(rows
        .map("client_pid", "starter_completed")
        .values()
        .all(|v| v == "false"));

    // With no starter services at all the flag is unknown (empty), not false.
    let mut g = Fixture::new();
    g.client("x", REG)
        .membership("x_m", "x", "2024-02-17", "2024-08-16");
    g.service(
        "x",
        "2024-02-18 10:00",
        "PT 60",
        "personal_training",
        "done",
        "pt",
    );
    let rows = stages(&g.engine(), &[]);
    assert_eq!(rows.get("client_pid", "x", "starter_completed"), "∅");
}

/// Flag `at_risk`: V28 = visits in D-27..D, V56 = visits in D-83..D-28; at risk when
/// V56 >= 4 and 4·V28 < V56.
#[test]
fn at_risk_compares_the_last_4_weeks_with_the_8_before() {
    let mut f = Fixture::new();
    // Six visits in January plus one on each boundary of V56 (D-83 = 12-26, D-28 = 02-19):
    // V56 = 8.
    let v56 = |f: &mut Fixture, c: &'static str| {
        f.visit(c, "2023-12-26 10:00").visit(c, "2024-02-19 10:00");
        f.visits_from(c, "2024-01-10", 6);
    };
    // ar: V28 = 1 (03-15): 4 < 8: at risk.
    f.client("ar", REG).visit("ar", "2024-03-15 10:00");
    v56(&mut f, "ar");
    // ar2: V28 = 2 (03-15 and D-27 = 02-20): 8 < 8 fails: not at risk.
    f.client("ar2", REG)
        .visit("ar2", "2024-03-15 10:00")
        .visit("ar2", "2024-02-20 10:00");
    v56(&mut f, "ar2");
    // ar3: V56 = 3 (the visit on D-84 = 12-25 is outside): V56 < 4: not at risk.
    f.client("ar3", REG)
        .visit("ar3", "2023-12-25 10:00")
        .visits_from("ar3", "2024-01-10", 3);
    // ar4: V56 = 4, V28 = 0: 0 < 4: at risk.
    f.client("ar4", REG).visits_from("ar4", "2024-01-10", 4);
    for c in ["ar", "ar2", "ar3", "ar4"] {
        let m: &'static str = Box::leak(format!("{c}_m").into_boxed_str());
        f.membership(m, c, "2023-06-01", "2024-12-31");
    }
    let rows = stages(&f.engine(), &[]);
    let flag = rows.map("client_pid", "at_risk");
    assert_eq!(flag["ar"], "true");
    assert_eq!(flag["ar2"], "false");
    assert_eq!(flag["ar3"], "false");
    assert_eq!(flag["ar4"], "true");
}

/// The summary: count and share of the whole base per stage, overall `(all)` and per branch;
/// every stage of the profile listed in its order.
#[test]
fn summary_counts_and_shares_per_stage_overall_and_per_branch() {
    let mut f = Fixture::new();
    // Branch A: a newcomer, a lead, a lapsed client. Branch B: a newcomer.
    f.client_in("a1", "A", REG)
        .membership("a1_m", "a1", "2024-03-01", "2024-08-31");
    f.client_in("a2", "A", REG);
    f.client_in("a3", "A", REG)
        .membership("a3_m", "a3", "2023-01-01", "2024-01-31");
    f.client_in("b1", "B", REG)
        .membership("b1_m", "b1", "2024-03-10", "2024-09-09");
    // Not in the base: registered after D.
    f.client_in("b2", "B", "2024-04-01");
    let out = run(&f.engine(), "segmentation", D, &[], None);
    assert_eq!(out.len(), 1, "the per-client list is a detail output");
    let r = Rows::of(&out[0]);
    assert_eq!(
        r.columns,
        [
            "branch",
            "stage",
            "clients",
            "share",
            "base",
            "at_risk",
            "starter_completed"
        ]
    );
    // Base: 4 overall; newcomers 2 of 4 = 0.5, lead 1 = 0.25, lapsed 1 = 0.25.
    assert_eq!(
        r.one(&[("branch", "(all)"), ("stage", "newcomer")], "clients"),
        "2"
    );
    assert_eq!(
        r.one(&[("branch", "(all)"), ("stage", "newcomer")], "share"),
        "0.5"
    );
    assert_eq!(
        r.one(&[("branch", "(all)"), ("stage", "lead")], "share"),
        "0.25"
    );
    assert_eq!(
        r.one(&[("branch", "(all)"), ("stage", "lapsed")], "share"),
        "0.25"
    );
    assert_eq!(
        r.one(&[("branch", "(all)"), ("stage", "frozen")], "clients"),
        "0"
    );
    assert_eq!(
        r.one(&[("branch", "(all)"), ("stage", "frozen")], "base"),
        "4"
    );
    // Branch A: base 3, newcomer 1/3; branch B: base 1, newcomer 1.
    approx(
        &r.one(&[("branch", "A"), ("stage", "newcomer")], "share"),
        1.0 / 3.0,
    );
    assert_eq!(
        r.one(&[("branch", "A"), ("stage", "newcomer")], "base"),
        "3"
    );
    assert_eq!(
        r.one(&[("branch", "B"), ("stage", "newcomer")], "share"),
        "1"
    );
    // Every stage, every scope, in the profile's order: (all) first.
    let profile = clm_analyze::Profile::fitness();
    assert_eq!(r.rows.len(), 3 * profile.stage_order.len());
    let first: Vec<&str> = r.rows[..10].iter().map(|x| x[1].as_str()).collect();
    assert_eq!(
        first,
        profile
            .stage_order
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert!(r.rows[..10].iter().all(|x| x[0] == "(all)"));
    // Shares add up to 1 in each scope.
    for scope in ["(all)", "A", "B"] {
        let sum: f64 = r
            .filter(&[("branch", scope)])
            .iter()
            .map(|x| x[r.col("share")].parse::<f64>().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{scope}: {sum}");
    }
}
