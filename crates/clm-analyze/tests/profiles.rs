//! SPEC §6: the profiles for other businesses — the stage rules of `classes`, `auto_service`
//! and `b2b_service` (queries/lifecycle_*.sql), the B2B period metrics, and saved filters
//! (`run list`). Every fixture is hand-made and every answer worked out by hand in the
//! comments.
//!
//! D = 2024-03-18 unless said otherwise. Useful dates: D-20 = 02-27, D-21 = 02-26,
//! D-30 = 02-17, D-31 = 02-16, D-77 = 01-01, D-89 = 2023-12-20, D-90 = 2023-12-19,
//! D-91 = 2023-12-18, D-108 = 2023-12-01, D-179 = 2023-09-21, D-334 = 2023-04-19,
//! D-335 = 2023-04-18, D-364 = 2023-03-20, D-365 = 2023-03-19, D-425 = 2023-01-18,
//! D-426 = 2023-01-17, D+60 = 05-17, D+61 = 05-18.

mod fixture;

use std::collections::BTreeMap;

use clm_analyze::Profile;
use fixture::*;

const D: &str = "2024-03-18";
const REG: &str = "2023-01-01";

fn profile(name: &str) -> Profile {
    Profile::embedded(name).unwrap()
}

/// A client of branch A with the funnel dates of a school's CRM.
fn crm_client(
    f: &mut Fixture,
    pid: &'static str,
    registered: &'static str,
    trial: Option<&'static str>,
    archived: Option<&'static str>,
) {
    let mut cells = vec![
        ("client_pid", V::S(pid)),
        ("branch", V::S("A")),
        ("registered_on", V::D(registered)),
    ];
    if let Some(t) = trial {
        cells.push(("trial_booked_on", V::D(t)));
    }
    if let Some(a) = archived {
        cells.push(("archived_on", V::D(a)));
    }
    f.row("clients", cells);
}

/// The per-client stages of segmentation's `clients` output.
fn stages(f: &Fixture, p: &Profile) -> BTreeMap<String, String> {
    let out = run_profile(&f.engine(), p, "segmentation", D, Some("clients"));
    Rows::of(&out[0]).map("client_pid", "stage")
}

fn want_map(want: &[(&str, &str)]) -> BTreeMap<String, String> {
    want.iter()
        .map(|(c, s)| (c.to_string(), s.to_string()))
        .collect()
}

// ---- classes ----

fn classes_fixture() -> Fixture {
    let mut f = Fixture::new();
    // 1. active: a visit on D-20, the oldest day of the last 21.
    crm_client(&mut f, "act20", REG, None, None);
    f.visit("act20", "2024-02-27 18:00")
        .membership("act20_m", "act20", "2024-03-01", "2024-03-31");
    // A visit on D-21 only: attended before, not in the last 21 days: archived.
    crm_client(&mut f, "act21", REG, None, None);
    f.visit("act21", "2024-02-26 18:00");
    // Archived by the CRM in January but came back on 03-10: rule 1 first, active.
    crm_client(&mut f, "back", REG, None, Some("2024-01-10"));
    f.visit("back", "2024-03-10 18:00");
    // 2. archived_on = D, never attended: archived.
    crm_client(&mut f, "arch", REG, None, Some("2024-03-18"));
    // archived_on after D does not count yet; trial booked 03-01 (17 days ago): new.
    crm_client(
        &mut f,
        "arch_later",
        REG,
        Some("2024-03-01"),
        Some("2024-03-19"),
    );
    // 3. new: trial booked exactly trial_days (30) before D, never came: still new.
    crm_client(&mut f, "tr30", REG, Some("2024-02-17"), None);
    // 31 days before D and never came: the CRM archives it.
    crm_client(&mut f, "tr31", REG, Some("2024-02-16"), None);
    // A trial booked after D is not known at D: lead.
    crm_client(&mut f, "tr_later", REG, Some("2024-03-20"), None);
    // Trial booked 03-01, came 03-05: active.
    crm_client(&mut f, "tr_came", REG, Some("2024-03-01"), None);
    f.visit("tr_came", "2024-03-05 11:00");
    // 4. lead: nothing but the registration.
    crm_client(&mut f, "lead", REG, None, None);
    // Registered after D: outside the base.
    crm_client(&mut f, "later", "2024-03-19", None, None);
    // at_risk: five visits 01-10..01-14 (V56, 28..83 days back) and one on 03-13 (V28 = 1):
    // V56 = 5 >= 4 and 4·1 = 4 < 5: at risk, and active (a visit in the last 21 days).
    crm_client(&mut f, "risk", REG, None, None);
    f.visits_from("risk", "2024-01-10", 5)
        .visit("risk", "2024-03-13 18:00");
    f
}

#[test]
fn classes_stage_rules() {
    let got = stages(&classes_fixture(), &profile("classes"));
    assert_eq!(
        got,
        want_map(&[
            ("act20", "active"),
            ("act21", "archived"),
            ("back", "active"),
            ("arch", "archived"),
            ("arch_later", "new"),
            ("tr30", "new"),
            ("tr31", "archived"),
            ("tr_later", "lead"),
            ("tr_came", "active"),
            ("lead", "lead"),
            ("risk", "active"),
        ])
    );
}

#[test]
fn classes_summary_flags_and_subscription() {
    let p = profile("classes");
    let f = classes_fixture();
    let out = run_profile(&f.engine(), &p, "segmentation", D, None);
    let st = Rows::of(&out[0]);
    // The summary lists the profile's stages in its order: lead, new, active, archived.
    let all: Vec<(String, String)> = st
        .filter(&[("branch", "(all)")])
        .iter()
        .map(|r| (r[st.col("stage")].clone(), r[st.col("clients")].clone()))
        .collect();
    let want: Vec<(String, String)> = [
        ("lead", "2"),
        ("new", "2"),
        ("active", "4"),
        ("archived", "3"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(all, want);
    assert_eq!(
        st.one(&[("branch", "(all)"), ("stage", "active")], "base"),
        "11"
    );
    assert_eq!(
        st.one(&[("branch", "(all)"), ("stage", "active")], "at_risk"),
        "1"
    );
    let detail = run_profile(&f.engine(), &p, "segmentation", D, Some("clients"));
    let c = Rows::of(&detail[0]);
    assert_eq!(c.get("client_pid", "risk", "at_risk"), "true");
    assert_eq!(c.get("client_pid", "act20", "at_risk"), "false");
    // starter_completed does not apply to a school
    assert_eq!(c.get("client_pid", "act20", "starter_completed"), "∅");
    // the current subscription is shown
    assert_eq!(c.get("client_pid", "act20", "membership_pid"), "act20_m");
    assert_eq!(c.get("client_pid", "act21", "membership_pid"), "∅");
}

// ---- auto_service ----

fn vehicle(f: &mut Fixture, pid: &'static str, client: &'static str, day: &'static str) {
    f.row(
        "sales",
        vec![
            ("sale_pid", V::S(pid)),
            ("client_pid", V::S(client)),
            ("sold_at", V::Ts(day)),
            ("category", V::S("vehicle")),
            ("item", V::S("Model X")),
            ("amount", V::Money(250_000_000)),
        ],
    );
}

fn service_visit(f: &mut Fixture, client: &'static str, day: &'static str, km: i64) {
    f.row(
        "visits",
        vec![
            ("client_pid", V::S(client)),
            ("visited_at", V::Ts(day)),
            ("kind", V::S("maintenance")),
            ("model", V::S("Model X")),
            ("mileage", V::I(km)),
        ],
    );
}

#[test]
fn auto_service_stage_rules() {
    let mut f = Fixture::new();
    let mut want = vec![];
    let mut add = |f: &mut Fixture, c: &'static str, stage: &'static str| {
        f.client(c, "2015-01-01");
        want.push((c, stage));
    };
    // 2. acquired: bought on D-77, no service yet (77 < 365 - 30 = 335).
    add(&mut f, "acq", "acquired");
    vehicle(&mut f, "acq_s", "acq", "2024-01-01");
    // Bought on D-334: still acquired (334 < 335); on D-335: first_service_due.
    add(&mut f, "acq334", "acquired");
    vehicle(&mut f, "acq334_s", "acq334", "2023-04-19");
    add(&mut f, "due335", "first_service_due");
    vehicle(&mut f, "due335_s", "due335", "2023-04-18");
    // 3. first_service_due up to 365 + 60 = 425 days; at 426 the owner has lapsed.
    add(&mut f, "due425", "first_service_due");
    vehicle(&mut f, "due425_s", "due425", "2023-01-18");
    add(&mut f, "due426", "lapsed_service");
    vehicle(&mut f, "due426_s", "due426", "2023-01-17");
    // A service visit before the purchase does not count as the first service of the new car.
    add(&mut f, "old_visit", "acquired");
    service_visit(&mut f, "old_visit", "2023-01-01 10:00", 60_000);
    vehicle(&mut f, "old_visit_s", "old_visit", "2024-02-01");
    // 4. in_service: bought 2022-06-01, serviced since, the last visit D-425: within.
    add(&mut f, "svc425", "in_service");
    vehicle(&mut f, "svc425_s", "svc425", "2022-06-01");
    service_visit(&mut f, "svc425", "2023-01-18 10:00", 12_000);
    // The last visit D-426: lapsed_service (5).
    add(&mut f, "svc426", "lapsed_service");
    vehicle(&mut f, "svc426_s", "svc426", "2022-06-01");
    service_visit(&mut f, "svc426", "2023-01-17 10:00", 12_000);
    // A car bought elsewhere: service visits alone make a customer.
    add(&mut f, "svc_only", "in_service");
    service_visit(&mut f, "svc_only", "2024-01-01 10:00", 80_000);
    // 1. repurchase_window: 60 ± 2 full months. Bought 2019-05-18: (2024·12+3) - (2019·12+5)
    // = 58 months, day 18 is not before 18: 58, within. Serviced recently, but rule 1 wins.
    add(&mut f, "rep58", "repurchase_window");
    vehicle(&mut f, "rep58_s", "rep58", "2019-05-18");
    service_visit(&mut f, "rep58", "2024-03-01 10:00", 70_000);
    // Bought 2019-06-18: 57 months: outside; serviced 03-01: in_service.
    add(&mut f, "rep57", "in_service");
    vehicle(&mut f, "rep57_s", "rep57", "2019-06-18");
    service_visit(&mut f, "rep57", "2024-03-01 10:00", 70_000);
    // Bought 2018-12-19: 63 calendar months, but D's day (18) is before 19: 62 full: within.
    add(&mut f, "rep62", "repurchase_window");
    vehicle(&mut f, "rep62_s", "rep62", "2018-12-19");
    // Bought 2018-12-18: 63 full months: outside; no visit for years: lapsed_service.
    add(&mut f, "rep63", "lapsed_service");
    vehicle(&mut f, "rep63_s", "rep63", "2018-12-18");
    // Bought again on 03-01: the latest purchase counts, 17 days old: acquired.
    add(&mut f, "again", "acquired");
    vehicle(&mut f, "again_1", "again", "2019-03-01");
    vehicle(&mut f, "again_2", "again", "2024-03-01");
    // A purchase after D does not exist yet; a paid service order is not a vehicle: lead.
    add(&mut f, "lead", "lead");
    vehicle(&mut f, "lead_s", "lead", "2024-03-20");
    f.row(
        "sales",
        vec![
            ("sale_pid", V::S("lead_svc")),
            ("client_pid", V::S("lead")),
            ("sold_at", V::Ts("2024-02-01")),
            ("category", V::S("service")),
            ("amount", V::Money(500_000)),
        ],
    );
    // An archived lead is outside the base; an archived owner is not a lead and stays.
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("arch_lead")),
            ("registered_on", V::D("2015-01-01")),
            ("archived_on", V::D("2024-01-01")),
        ],
    );
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("arch_owner")),
            ("registered_on", V::D("2015-01-01")),
            ("archived_on", V::D("2024-01-01")),
        ],
    );
    vehicle(&mut f, "arch_owner_s", "arch_owner", "2024-01-01");
    want.push(("arch_owner", "acquired"));

    let p = profile("auto_service");
    assert_eq!(stages(&f, &p), want_map(&want));
    // The summary: 16 clients in the base, listed in the profile's stage order.
    let out = run_profile(&f.engine(), &p, "segmentation", D, None);
    let st = Rows::of(&out[0]);
    let order: Vec<String> = st
        .filter(&[("branch", "(all)")])
        .iter()
        .map(|r| format!("{}={}", r[st.col("stage")], r[st.col("clients")]))
        .collect();
    assert_eq!(
        order,
        [
            "acquired=5",
            "first_service_due=2",
            "in_service=3",
            "lapsed_service=3",
            "repurchase_window=2",
            "lead=1"
        ]
    );
}

// ---- b2b_service ----

/// An account of branch A with one contract `start..end` sold on its start.
fn account(
    f: &mut Fixture,
    c: &'static str,
    contract: &'static str,
    start: &'static str,
    end: &'static str,
) {
    f.client(c, REG);
    f.membership(contract, c, start, end);
}

fn invoice(
    f: &mut Fixture,
    pid: &'static str,
    c: &'static str,
    day: &'static str,
    cents: i64,
    status: &'static str,
) {
    f.row(
        "sales",
        vec![
            ("sale_pid", V::S(pid)),
            ("client_pid", V::S(c)),
            ("sold_at", V::Ts(day)),
            ("category", V::S("service")),
            ("item", V::S("Support plan")),
            ("amount", V::Money(cents)),
            ("payment_status", V::S(status)),
        ],
    );
}

#[test]
fn b2b_service_stage_rules() {
    let mut f = Fixture::new();
    let mut want = vec![];
    // A contract current at D whose end is far off, and a recent contact: not at risk.
    let steady = |f: &mut Fixture, c: &'static str, m: &'static str| {
        account(f, c, m, "2023-01-01", "2024-12-31");
        f.visit(c, "2024-03-01 10:00");
    };
    // 1. onboarding: the first contract started on D-77, even without any contact.
    account(&mut f, "onb", "onb_c", "2024-01-01", "2024-12-31");
    want.push(("onb", "onboarding"));
    // ... on D-90: still onboarding; on D-91: service.
    account(&mut f, "onb90", "onb90_c", "2023-12-19", "2024-12-18");
    want.push(("onb90", "onboarding"));
    account(&mut f, "onb91", "onb91_c", "2023-12-18", "2024-12-17");
    f.visit("onb91", "2024-03-01 10:00");
    want.push(("onb91", "service"));
    // 2. at_risk by NPS: the latest answer (02-01) is 6: a detractor.
    steady(&mut f, "nps6", "nps6_c");
    f.feedback("nps6", "2024-02-01", 6);
    want.push(("nps6", "at_risk"));
    // A low score followed by a 9: the latest answer counts: service.
    steady(&mut f, "nps_up", "nps_up_c");
    f.feedback("nps_up", "2024-01-01", 3)
        .feedback("nps_up", "2024-02-01", 9);
    want.push(("nps_up", "service"));
    // Two answers on the latest day, 9 and 5: the lowest: at risk.
    steady(&mut f, "nps_day", "nps_day_c");
    f.feedback("nps_day", "2024-02-01", 9)
        .feedback("nps_day", "2024-02-01", 5);
    want.push(("nps_day", "at_risk"));
    // A 2 on D-364 is within the 365-day window: at risk; on D-365 it is not: service.
    steady(&mut f, "nps364", "nps364_c");
    f.feedback("nps364", "2023-03-20", 2);
    want.push(("nps364", "at_risk"));
    steady(&mut f, "nps365", "nps365_c");
    f.feedback("nps365", "2023-03-19", 2);
    want.push(("nps365", "service"));
    // No contact in the last 90 days: the last on D-90: at risk; on D-89: service.
    account(&mut f, "ct90", "ct90_c", "2023-01-01", "2024-12-31");
    f.visit("ct90", "2023-12-19 10:00");
    want.push(("ct90", "at_risk"));
    account(&mut f, "ct89", "ct89_c", "2023-01-01", "2024-12-31");
    f.visit("ct89", "2023-12-20 10:00");
    want.push(("ct89", "service"));
    // The contract ends on D+60 with no renewal sold: at risk; on D+61: service.
    account(&mut f, "end60", "end60_c", "2023-05-18", "2024-05-17");
    f.visit("end60", "2024-03-01 10:00");
    want.push(("end60", "at_risk"));
    account(&mut f, "end61", "end61_c", "2023-05-19", "2024-05-18");
    f.visit("end61", "2024-03-01 10:00");
    want.push(("end61", "service"));
    // Ends on 04-01 but the renewal (from 04-02) was sold on 03-01: service.
    account(&mut f, "renewed", "renewed_1", "2023-04-02", "2024-04-01");
    f.membership_full(
        "renewed_2",
        "renewed",
        "2024-04-02",
        "2025-04-01",
        "active",
        0,
        "2024-03-01",
        "A",
    );
    f.visit("renewed", "2024-03-01 10:00");
    want.push(("renewed", "service"));
    // 3. growth: 2,000.00 invoiced in the last 90 days (03-01) against 1,000.00 in the 90
    // before (2023-12-01 is D-108): growth. The same amount in both: service.
    steady(&mut f, "grow", "grow_c");
    invoice(&mut f, "grow_1", "grow", "2023-12-01", 100_000, "paid");
    invoice(&mut f, "grow_2", "grow", "2024-03-01", 200_000, "paid");
    want.push(("grow", "growth"));
    steady(&mut f, "flat", "flat_c");
    invoice(&mut f, "flat_1", "flat", "2023-12-01", 100_000, "paid");
    invoice(&mut f, "flat_2", "flat", "2024-03-01", 100_000, "paid");
    want.push(("flat", "service"));
    // An invoice on D-180 is in neither window: 1,000.00 recent against 0 before: growth.
    steady(&mut f, "grow180", "grow180_c");
    invoice(
        &mut f,
        "grow180_1",
        "grow180",
        "2023-09-20",
        900_000,
        "paid",
    );
    invoice(
        &mut f,
        "grow180_2",
        "grow180",
        "2024-03-01",
        100_000,
        "paid",
    );
    want.push(("grow180", "growth"));
    // 5. churned: the only contract ended on 2023-12-31.
    account(&mut f, "gone", "gone_c", "2022-01-01", "2023-12-31");
    want.push(("gone", "churned"));
    // 6. acquisition: no contract; a contract starting after D does not count yet.
    f.client("prospect", REG);
    want.push(("prospect", "acquisition"));
    f.client("signed", REG);
    f.membership_full(
        "signed_c",
        "signed",
        "2024-04-01",
        "2025-03-31",
        "active",
        0,
        "2024-03-01",
        "A",
    );
    want.push(("signed", "acquisition"));
    // An archived prospect is outside the base.
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("dropped")),
            ("registered_on", V::D(REG)),
            ("archived_on", V::D("2024-01-01")),
        ],
    );

    let p = profile("b2b_service");
    assert_eq!(stages(&f, &p), want_map(&want));
    let detail = run_profile(&f.engine(), &p, "segmentation", D, Some("clients"));
    let c = Rows::of(&detail[0]);
    // The at_risk flag is rule 2's condition: it holds for `onb` (no contact) too.
    assert_eq!(c.get("client_pid", "onb", "at_risk"), "true");
    assert_eq!(c.get("client_pid", "grow", "at_risk"), "false");
    assert_eq!(c.get("client_pid", "gone", "at_risk"), "false");
    assert_eq!(
        c.get("client_pid", "renewed", "membership_pid"),
        "renewed_1"
    );
}

#[test]
fn b2b_service_period_metrics() {
    // March 2024 (D = 03-31, one monthly period).
    // x: first contract from 03-05, invoiced 1,000.00 on 03-10, contacted on 03-12.
    // y: contract 2023-01-01..2024-12-31, invoiced 500.00 on 03-15, never contacted.
    // z: contract 2023-01-01..2024-03-20, not renewed, invoiced 200.00 on 03-01.
    let mut f = Fixture::new();
    account(&mut f, "x", "x_c", "2024-03-05", "2025-03-04");
    invoice(&mut f, "x_i", "x", "2024-03-10", 100_000, "paid");
    f.visit("x", "2024-03-12 10:00");
    account(&mut f, "y", "y_c", "2023-01-01", "2024-12-31");
    invoice(&mut f, "y_i", "y", "2024-03-15", 50_000, "open");
    account(&mut f, "z", "z_c", "2023-01-01", "2024-03-20");
    invoice(&mut f, "z_i", "z", "2024-03-01", 20_000, "paid");
    let p = profile("b2b_service");
    let mut pm = p.clone();
    pm.set("periods=1").unwrap();
    let out = run_profile(&f.engine(), &pm, "metrics", "2024-03-31", None);
    let m = Rows::of(&out[0]);
    let get = |c: &str| m.one(&[("branch", "(all)")], c);
    // accounts with a current contract on 03-31: x and y.
    assert_eq!(get("accounts"), "2");
    // new accounts: x (first contract started in March).
    assert_eq!(get("new_clients"), "1");
    // churn: under contract on 03-01: y and z; z has none on 03-31 and no renewal: 1/2.
    approx(&get("churn_rate"), 0.5);
    // revenue 1,700.00; new money: x's 1,000.00; the portfolio: 700.00.
    assert_eq!(get("revenue"), "1700.00");
    assert_eq!(get("new_money"), "1000.00");
    assert_eq!(get("portfolio_revenue"), "700.00");
    // contacted in March: x of {x, y}: 0.5. At risk on 03-31: y (no contact in 90 days;
    // x is onboarding with a contact on 03-12): 0.5.
    approx(&get("contact_coverage"), 0.5);
    approx(&get("at_risk_share"), 0.5);
    // the branch rows agree (everyone is in branch A)
    assert_eq!(m.one(&[("branch", "A")], "accounts"), "2");
}

// ---- saved filters ----

fn list_fixture() -> Fixture {
    let mut f = Fixture::new();
    let student = |f: &mut Fixture, c: &'static str, band: &'static str| {
        f.row(
            "clients",
            vec![
                ("client_pid", V::S(c)),
                ("branch", V::S("A")),
                ("age_band", V::S(band)),
                ("registered_on", V::D(REG)),
            ],
        );
    };
    let subscription = |f: &mut Fixture,
                        m: &'static str,
                        c: &'static str,
                        product: &'static str,
                        start: &'static str,
                        end: &'static str| {
        f.row(
            "memberships",
            vec![
                ("membership_pid", V::S(m)),
                ("client_pid", V::S(c)),
                ("product", V::S(product)),
                ("start_date", V::D(start)),
                ("end_date", V::D(end)),
                ("status", V::S("active")),
            ],
        );
    };
    // s1: active (03-10), 25-34, English now (Chess before), an open invoice on 03-01.
    student(&mut f, "s1", "25-34");
    f.visit("s1", "2024-03-10 18:00");
    subscription(&mut f, "s1_a", "s1", "Chess", "2024-02-01", "2024-02-29");
    subscription(&mut f, "s1_b", "s1", "English", "2024-03-01", "2024-03-31");
    invoice(&mut f, "s1_i", "s1", "2024-03-01", 400_000, "open");
    // s2: active (03-12), 18-24, Chess, paid only.
    student(&mut f, "s2", "18-24");
    f.visit("s2", "2024-03-12 18:00");
    subscription(&mut f, "s2_a", "s2", "Chess", "2024-03-01", "2024-03-31");
    invoice(&mut f, "s2_i", "s2", "2024-03-01", 400_000, "paid");
    // s3: archived (last class 01-10), 35-44, English; an open invoice after D does not count,
    // and a cancelled later subscription (Drawing) is ignored.
    student(&mut f, "s3", "35-44");
    f.visit("s3", "2024-01-10 18:00");
    subscription(&mut f, "s3_a", "s3", "English", "2023-12-01", "2023-12-31");
    f.row(
        "memberships",
        vec![
            ("membership_pid", V::S("s3_b")),
            ("client_pid", V::S("s3")),
            ("product", V::S("Drawing")),
            ("start_date", V::D("2024-01-01")),
            ("end_date", V::D("2024-01-31")),
            ("status", V::S("cancelled")),
        ],
    );
    invoice(&mut f, "s3_i", "s3", "2024-03-25", 400_000, "open");
    // s4: a child with a trial booked on 03-10: new.
    f.row(
        "clients",
        vec![
            ("client_pid", V::S("s4")),
            ("branch", V::S("B")),
            ("age_band", V::S("<18")),
            ("registered_on", V::D(REG)),
            ("trial_booked_on", V::D("2024-03-10")),
        ],
    );
    f
}

fn list_pids(f: &Fixture, p: &Profile, name: &str) -> Vec<String> {
    let mut p = p.clone();
    let list = p.list(name).unwrap().clone();
    for (k, v) in list.params(name) {
        p.insert_param(k, v);
    }
    let out = run_profile(&f.engine(), &p, "list", D, None);
    let r = Rows::of(&out[0]);
    r.rows
        .iter()
        .map(|row| row[r.col("client_pid")].clone())
        .collect()
}

#[test]
fn saved_filters_select_by_every_condition() {
    let f = list_fixture();
    let mut p = profile("classes");
    // The profile's own lists.
    assert_eq!(list_pids(&f, &p, "unpaid_students"), ["s1"]);
    assert_eq!(list_pids(&f, &p, "win_back_adults"), ["s3"]);
    assert_eq!(list_pids(&f, &p, "trial_follow_up"), ["s4"]);
    // More lists from a file: programme (the latest non-cancelled subscription started by
    // D), branch, no open invoice, and no condition at all (the whole base, in stage order).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lists.toml");
    std::fs::write(
        &file,
        r#"
[lists.english]
programme = ["English"]

[lists.chess_now]
programme = ["Chess"]

[lists.branch_b]
branch = ["B"]

[lists.paid_up]
open_invoices = false

[lists.everyone]
"#,
    )
    .unwrap();
    p.add_lists(&file).unwrap();
    assert_eq!(list_pids(&f, &p, "english"), ["s1", "s3"]);
    assert_eq!(list_pids(&f, &p, "chess_now"), ["s2"]);
    assert_eq!(list_pids(&f, &p, "branch_b"), ["s4"]);
    assert_eq!(list_pids(&f, &p, "paid_up"), ["s4", "s2", "s3"]);
    assert_eq!(list_pids(&f, &p, "everyone"), ["s4", "s1", "s2", "s3"]);
    // The output carries what the club needs to act: stage, open invoices, the action.
    let mut q = p.clone();
    for (k, v) in q
        .list("unpaid_students")
        .unwrap()
        .clone()
        .params("unpaid_students")
    {
        q.insert_param(k, v);
    }
    let out = run_profile(&f.engine(), &q, "list", D, None);
    let r = Rows::of(&out[0]);
    assert_eq!(r.get("client_pid", "s1", "stage"), "active");
    assert_eq!(r.get("client_pid", "s1", "open_invoices"), "1");
    assert_eq!(r.get("client_pid", "s1", "open_amount"), "4000.00");
    assert_eq!(r.get("client_pid", "s1", "programme"), "English");
    assert_eq!(r.get("client_pid", "s1", "list"), "unpaid_students");
    assert!(!r.get("client_pid", "s1", "recommended_action").is_empty());
}

#[test]
fn a_list_naming_an_unknown_stage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lists.toml");
    std::fs::write(&file, "[lists.x]\nstage = [\"renewal_due\"]\n").unwrap();
    let mut p = profile("classes");
    let e = format!("{:#}", p.add_lists(&file).unwrap_err());
    assert!(
        e.contains("renewal_due") && e.contains("not in [stages]"),
        "{e}"
    );
    let e = format!("{:#}", p.list("nope").unwrap_err());
    assert!(e.contains("trial_follow_up"), "{e}");
}

// ---- every profile ----

#[test]
fn every_profile_parses_and_offers_only_its_analyses() {
    for (name, _) in clm_analyze::profile::EMBEDDED {
        let p = Profile::embedded(name).unwrap();
        let lib = clm_analyze::Library::embedded().for_profile(&p);
        for a in lib.names() {
            lib.analysis(&a)
                .unwrap_or_else(|e| panic!("profile {name}, analysis {a}: {e:#}"));
        }
        // every stage has a label and an action in both languages
        for lang in ["ru", "en"] {
            let mut q = p.clone();
            q.set_lang(lang).unwrap();
            for s in &p.stage_order {
                assert!(q.action(s).is_some(), "{name}: no action for {s} ({lang})");
                assert_ne!(&q.stage_label(s), s, "{name}: no label for {s} ({lang})");
            }
        }
    }
    let auto = Profile::embedded("auto_service").unwrap();
    let lib = clm_analyze::Library::embedded().for_profile(&auto);
    let e = format!("{:#}", lib.analysis("metrics").unwrap_err());
    assert!(e.contains("does not apply to profile auto_service"), "{e}");
    assert!(Profile::embedded("gym").is_err());
}

#[test]
fn the_fitness_profile_still_uses_the_fitness_rules() {
    // The classes fixture under the fitness rules: memberships define stages, so act20 (a
    // current membership, started 17 days ago, the first) is a newcomer and the others,
    // without memberships, are leads — the profiles do not leak into each other.
    let got = stages(&classes_fixture(), &Profile::fitness());
    assert_eq!(got["act20"], "newcomer");
    assert_eq!(got["tr_came"], "lead");
}

#[test]
fn the_example_lists_file_is_valid_for_the_classes_profile() {
    let mut p = profile("classes");
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lists.toml");
    p.add_lists(&file).unwrap();
    assert!(p.lists.contains_key("debtors_centre"));
    assert_eq!(p.list("debtors_centre").unwrap().open_invoices, Some(true));
}
