//! SPEC §5.4: the lifetimes summary (clv_summary, rfm_summary: one definition, clv_core.sql)
//! and `run clv` (crate::clv on clm-predict). Hand-made fixtures, answers worked out by hand.

mod fixture;

use clm_analyze::{clv, Library, Profile};
use fixture::*;

const REG: &str = "2023-01-01";

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Summary conventions (D = 2024-03-31, Sunday):
/// p: 2024-01-01 100 + 50 (one purchase of 150), 01-11 30, 02-10 90, and one after D;
/// q: one purchase only, on 03-01;
/// s: a purchase on D itself (its first), so T = 0;
/// u: first purchase 03-04, the second on D: recency = T = 27.
fn summary_fixture() -> Fixture {
    let mut f = Fixture::new();
    f.client("p", REG)
        .sale("p1", "p", "2024-01-01 10:00", "retail", 10000)
        .sale("p2", "p", "2024-01-01 18:00", "retail", 5000)
        .sale("p3", "p", "2024-01-11 10:00", "retail", 3000)
        .sale("p4", "p", "2024-02-10 10:00", "retail", 9000)
        .sale("p5", "p", "2024-04-02 10:00", "retail", 99900);
    f.client("q", REG)
        .sale("q1", "q", "2024-03-01 10:00", "retail", 7000);
    f.client("s", REG)
        .sale("s1", "s", "2024-03-31 23:00", "retail", 1000);
    f.client("u", REG)
        .sale("u1", "u", "2024-03-04 09:00", "retail", 1000)
        .sale("u2", "u", "2024-03-31 09:00", "retail", 2500);
    f.client("r", REG);
    f
}

#[test]
fn clv_summary_daily_equals_rfm_summary_and_the_conventions() {
    let f = summary_fixture();
    let e = f.engine();
    let a = Rows::of(&run(&e, "clv_summary", "2024-03-31", &["clv_period=day"], None)[0]);
    let b = Rows::of(&run(&e, "rfm_summary", "2024-03-31", &[], None)[0]);
    assert_eq!(a.columns, b.columns);
    assert_eq!(a.rows, b.rows);
    assert_eq!(
        a.columns,
        ["client_pid", "frequency", "recency", "T", "monetary_value"]
    );
    // p: 3 purchase days → 2; recency 02-10 − 01-01 = 40; T 90; mean(30, 90) = 60.
    assert_eq!(a.rows[0], ["p", "2", "40", "90", "60"]);
    assert_eq!(a.rows[1], ["q", "0", "0", "30", "0"]);
    // s: bought on D only: T = 0.
    assert_eq!(a.rows[2], ["s", "0", "0", "0", "0"]);
    // u: the repeat purchase on D: recency = T = 27, value 25.
    assert_eq!(a.rows[3], ["u", "1", "27", "27", "25"]);
    assert_eq!(a.rows.len(), 4, "r bought nothing");
}

#[test]
fn clv_summary_weekly_and_monthly_periods() {
    let f = summary_fixture();
    let e = f.engine();
    // Weeks run Monday to Sunday: 2024-01-01 is a Monday (week w), 01-11 is in w+1, 02-10
    // (Saturday) in w+5, D = 03-31 (Sunday) in w+12. 03-01 (Friday) is in w+8; 03-04
    // (Monday) in w+9.
    let w = Rows::of(&run(&e, "clv_summary", "2024-03-31", &["clv_period=week"], None)[0]);
    assert_eq!(w.rows[0], ["p", "2", "5", "12", "60"]);
    assert_eq!(w.rows[1], ["q", "0", "0", "4", "0"]);
    assert_eq!(w.rows[2], ["s", "0", "0", "0", "0"]);
    assert_eq!(w.rows[3], ["u", "1", "3", "3", "25"]);
    // One day later (Monday 04-01) D is in a new week: T grows by one for everyone.
    let w2 = Rows::of(&run(&e, "clv_summary", "2024-04-01", &["clv_period=week"], None)[0]);
    assert_eq!(w2.rows[0], ["p", "2", "5", "13", "60"]);
    // Months: p buys in January (twice: 150 and 30 are one purchase of 180) and February:
    // frequency 1, recency 1, T = March − January = 2, value 90.
    let m = Rows::of(&run(&e, "clv_summary", "2024-03-31", &["clv_period=month"], None)[0]);
    assert_eq!(m.rows[0], ["p", "1", "1", "2", "90"]);
    assert_eq!(m.rows[1], ["q", "0", "0", "0", "0"]);
    // u: both purchases in March: one purchase period.
    assert_eq!(m.rows[3], ["u", "0", "0", "0", "0"]);
}

#[test]
fn clv_summary_over_visits_or_services() {
    let mut f = Fixture::new();
    f.client("v", REG)
        .visit("v", "2024-03-01 10:00")
        .visit("v", "2024-03-01 19:00")
        .visit("v", "2024-03-10 10:00")
        .sale("v1", "v", "2024-03-10 10:00", "retail", 5000);
    f.service(
        "v",
        "2024-02-01 10:00",
        "PT",
        "personal_training",
        "done",
        "gym",
    );
    f.service(
        "v",
        "2024-02-05 10:00",
        "PT",
        "personal_training",
        "cancelled",
        "gym",
    );
    let e = f.engine();
    let r = Rows::of(
        &run(
            &e,
            "clv_summary",
            "2024-03-31",
            &["clv_table=visits", "clv_period=day"],
            None,
        )[0],
    );
    // two visit days: frequency 1, recency 9, T 30; no amounts on visits: 0.
    assert_eq!(r.rows, [["v", "1", "9", "30", "0"]]);
    let r = Rows::of(
        &run(
            &e,
            "clv_summary",
            "2024-03-31",
            &["clv_table=services", "clv_period=day"],
            None,
        )[0],
    );
    assert_eq!(r.rows, [["v", "0", "0", "59", "0"]]);
    let r = Rows::of(&run(&e, "clv_summary", "2024-03-31", &[], None)[0]);
    // the fitness profile's [clv] table is sales, weekly: one purchase, D's week − its week
    assert_eq!(r.rows, [["v", "0", "0", "3", "0"]]);
    assert!(Profile::fitness().set("clv_table=calls").is_err());
    assert!(Profile::fitness().set("clv_period=year").is_err());
}

#[test]
fn rfm_summary_monetary_is_the_double_nearest_the_exact_mean() {
    // Repeat purchases of 510.94, 567.24 and 796.19: the exact mean is 1874.37 / 3 = 624.79.
    // Summed as doubles, in any order, they give 1874.3700000000001, and a mean of
    // 624.7900000000001 (a parallel sum adds them in a varying order, so other data vary in
    // their last digits from run to run). The sum in cents is exact, and one division gives
    // the double nearest the exact mean, on every run.
    let mut f = Fixture::new();
    f.client("a", REG)
        .sale("a0", "a", "2024-01-01 10:00", "retail", 1000)
        .sale("a1", "a", "2024-01-02 10:00", "retail", 51094)
        .sale("a2", "a", "2024-01-03 10:00", "retail", 56724)
        .sale("a3", "a", "2024-01-04 10:00", "retail", 79619);
    // b: 33.36, 851.38, 709.65: 1594.39 / 3 = 531.463333…, nearest double 531.4633333333334
    // (summed as doubles: 531.4633333333333).
    f.client("b", REG)
        .sale("b0", "b", "2024-01-01 10:00", "retail", 1000)
        .sale("b1", "b", "2024-01-02 10:00", "retail", 3336)
        .sale("b2", "b", "2024-01-03 10:00", "retail", 85138)
        .sale("b3", "b", "2024-01-04 10:00", "retail", 70965);
    let r = Rows::of(&run(&f.engine(), "rfm_summary", "2024-03-31", &[], None)[0]);
    assert_eq!(r.rows[0], ["a", "3", "3", "90", "624.79"]);
    assert_eq!(r.rows[1], ["b", "3", "3", "90", "531.4633333333334"]);
}

/// A deterministic population of `n` buyers: each with a first purchase in 2023, a purchase
/// rate and a drop-out chance drawn from a small linear congruential generator; purchases of
/// varied amounts. Returns the fixture and each client's purchase days (as day numbers).
fn population(n: usize) -> Fixture {
    let mut f = Fixture::new();
    let mut seed: u64 = 12345;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let start = date("2023-01-01");
    for c in 0..n {
        let pid = leak(format!("c{c:03}"));
        f.client(pid, REG);
        let first = (next() * 300.0) as i64;
        let rate = [0.01, 0.03, 0.08, 0.2][(next() * 4.0) as usize];
        let drop = [0.05, 0.2, 0.5][(next() * 3.0) as usize];
        let mut day = first;
        let mut k = 0;
        loop {
            let when = start + chrono::Duration::days(day);
            let amount = 1000 + (next() * 9000.0) as i64;
            f.sale(
                leak(format!("{pid}_{k}")),
                pid,
                leak(format!("{} 12:00", when.format("%Y-%m-%d"))),
                "retail",
                amount,
            );
            k += 1;
            if k > 1 && next() < drop {
                break;
            }
            day += 1 + (-(1.0 - next()).ln() / rate) as i64;
            if day > 455 {
                break;
            }
        }
    }
    f
}

fn run_clv(
    f: &Fixture,
    params: &[&str],
    detail: Option<&str>,
) -> anyhow::Result<clm_analyze::RunResult> {
    run_clv_as(Profile::fitness(), f, params, detail)
}

fn run_clv_as(
    mut profile: Profile,
    f: &Fixture,
    params: &[&str],
    detail: Option<&str>,
) -> anyhow::Result<clm_analyze::RunResult> {
    profile.set_lang("en").unwrap();
    for p in params {
        profile.set(p)?;
    }
    let library = Library::embedded().for_profile(&profile);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = f.engine();
    rt.block_on(clv::run(&e, &library, &profile, date("2024-03-31"), detail))
}

#[test]
fn run_clv_fits_the_summary_and_predicts_per_client() {
    let f = population(120);
    let params = ["clv_period=day", "clv_horizon=30", "clv_months=6"];
    let r = run_clv(&f, &params, None).unwrap();
    assert_eq!(
        r.outputs
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["settings", "fit", "clients"]
    );
    // The fit is clm-predict's on the same summary (clv_summary with these parameters).
    let summary = Rows::of(&run(&f.engine(), "clv_summary", "2024-03-31", &params, None)[0]);
    let data: Vec<clm_predict::Summary> = summary
        .rows
        .iter()
        .map(|r| {
            let n = |i: usize| r[i].parse::<f64>().unwrap();
            clm_predict::Summary::new(n(1), n(2), n(3), n(4))
        })
        .collect();
    let (bg, _) = clm_predict::BgNbd::fit(&data, 0.0).unwrap();
    let (gg, _, _) = clm_predict::GammaGamma::fit(&data, 0.0).unwrap();
    let fit = Rows::of(&r.outputs[1]);
    let param = |m: &str, p: &str| -> f64 {
        fit.one(&[("model", m), ("parameter", p)], "value")
            .parse()
            .unwrap()
    };
    assert_eq!(param("bg_nbd", "r"), bg.r);
    assert_eq!(param("bg_nbd", "b"), bg.b);
    assert_eq!(param("gamma_gamma", "q"), gg.q);
    assert!(param("bg_nbd", "log_likelihood") < 0.0);
    assert_eq!(param("bg_nbd", "clients"), 120.0);

    let c = Rows::of(&r.outputs[2]);
    assert_eq!(
        c.columns,
        [
            "client_pid",
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "p_alive",
            "expected_purchases",
            "expected_value",
            "clv"
        ]
    );
    assert_eq!(c.rows.len(), 120);
    for (row, s) in c.rows.iter().zip(&data) {
        let v = |name: &str| row[c.col(name)].parse::<f64>().unwrap();
        assert_eq!(v("p_alive"), bg.p_alive(s));
        assert_eq!(v("expected_purchases"), bg.expected_purchases(30.0, s));
        let ev = gg.expected_value(s).unwrap();
        assert_eq!(v("expected_value"), ev);
        assert_eq!(v("clv"), clm_predict::clv(&bg, ev, s, 6, 0.01, 30.0));
        assert!(row.iter().all(|x| x != "NaN" && x != "∅"), "{row:?}");
    }
}

#[test]
fn run_clv_churn_risk_lists_the_largest_value_at_risk_first() {
    let f = population(120);
    let r = run_clv(&f, &["clv_period=day"], Some("churn_risk")).unwrap();
    assert_eq!(r.outputs.len(), 1);
    let l = Rows::of(&r.outputs[0]);
    assert_eq!(
        l.columns,
        [
            "rank",
            "client_pid",
            "stage",
            "p_alive",
            "clv",
            "value_at_risk",
            "recommended_action",
            "stage_action"
        ]
    );
    let var: Vec<f64> = l
        .rows
        .iter()
        .map(|r| r[l.col("value_at_risk")].parse().unwrap())
        .collect();
    assert!(var.windows(2).all(|w| w[0] >= w[1]), "{var:?}");
    // value at risk = (1 − P(alive)) · CLV / P(alive)
    for row in &l.rows {
        let n = |c: &str| row[l.col(c)].parse::<f64>().unwrap();
        let want = (1.0 - n("p_alive")) * n("clv") / n("p_alive");
        assert!((n("value_at_risk") - want).abs() <= 1e-9 * want.abs().max(1.0));
        let action = &row[l.col("recommended_action")];
        let p = n("p_alive");
        assert_eq!(action.starts_with("Win back"), p < 0.3, "{p}: {action}");
    }
    // every client on the list bought again (frequency > 0)
    let c = Rows::of(&run_clv(&f, &["clv_period=day"], None).unwrap().outputs[2]);
    let repeat = c.rows.iter().filter(|r| r[1] != "0").count();
    assert_eq!(l.rows.len(), repeat);
    // the fixture has no memberships: the fitness stages are there for the clients
    // (lead/...), or a note says why not
    assert!(
        l.rows.iter().all(|r| r[2] != "∅") || r.notes.iter().any(|n| n.contains("no stages")),
        "{:?}",
        r.notes
    );
}

#[test]
fn run_clv_refuses_data_it_cannot_fit() {
    // every client bought once: no repeat purchase
    let mut f = Fixture::new();
    for c in 0..5 {
        let pid = leak(format!("o{c}"));
        f.client(pid, REG).sale(
            leak(format!("{pid}_s")),
            pid,
            "2024-01-10 10:00",
            "retail",
            1000,
        );
    }
    let e = format!("{:#}", run_clv(&f, &["clv_period=day"], None).unwrap_err());
    assert!(e.contains("no client has a repeat purchase"), "{e}");
    // a single client
    let mut f = Fixture::new();
    f.client("x", REG)
        .sale("x1", "x", "2024-01-10 10:00", "retail", 1000)
        .sale("x2", "x", "2024-02-10 10:00", "retail", 1000);
    let e = format!("{:#}", run_clv(&f, &["clv_period=day"], None).unwrap_err());
    assert!(e.contains("at least 2 clients"), "{e}");
    // an unknown output
    let e = format!(
        "{:#}",
        run_clv(&population(10), &[], Some("nope")).unwrap_err()
    );
    assert!(e.contains("churn_risk"), "{e}");
}

#[test]
fn the_dealer_gets_next_service_and_car_purchase_dates() {
    // auto_service: dates from the profile's intervals (first service 365 days after the
    // purchase, then every 365 days; a new car 60 months after the last), P(alive) from the
    // model fitted on the sales. D = 2024-03-31.
    let mut f = population(60);
    let sale = |f: &mut Fixture, pid: &'static str, client: &'static str, at: &'static str| {
        f.row(
            "sales",
            vec![
                ("sale_pid", V::S(pid)),
                ("client_pid", V::S(client)),
                ("sold_at", V::Ts(at)),
                ("category", V::S("vehicle")),
                ("item", V::S("Model X")),
                ("amount", V::Money(250_000_000)),
            ],
        );
    };
    let visit = |f: &mut Fixture, client: &'static str, at: &'static str| {
        f.row(
            "visits",
            vec![
                ("client_pid", V::S(client)),
                ("visited_at", V::Ts(at)),
                ("kind", V::S("maintenance")),
            ],
        );
    };
    // car1: bought 2023-06-10, not serviced since: first service 2023-06-10 + 365 = 2024-06-09
    // (2024 is a leap year); next car 2028-06-10.
    f.client("car1", REG);
    sale(&mut f, "car1_s", "car1", "2023-06-10 10:00");
    // car2: bought 2020-02-15, last service 2023-05-01: next 2024-04-30; next car 2025-02-15.
    f.client("car2", REG);
    sale(&mut f, "car2_s", "car2", "2020-02-15 10:00");
    visit(&mut f, "car2", "2023-05-01 10:00");
    // svc: a car bought elsewhere, serviced 2023-10-01: next 2024-09-30; no car date.
    f.client("svc", REG);
    visit(&mut f, "svc", "2023-10-01 10:00");
    let p = Profile::embedded("auto_service").unwrap();
    let r = run_clv_as(p.clone(), &f, &[], None).unwrap();
    assert_eq!(
        r.outputs
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["settings", "fit", "clients", "next_dates"]
    );
    let n = Rows::of(&r.outputs[3]);
    assert_eq!(
        n.columns,
        [
            "client_pid",
            "stage",
            "last_car_purchase",
            "last_service",
            "next_service",
            "service_kind",
            "next_car_purchase",
            "p_alive"
        ]
    );
    let row = |c: &str| -> Vec<String> {
        let mut v = n.filter(&[("client_pid", c)])[0].clone();
        v.pop(); // p_alive, checked below
        v
    };
    assert_eq!(
        row("car1"),
        [
            "car1",
            "acquired",
            "2023-06-10",
            "∅",
            "2024-06-09",
            "first",
            "2028-06-10"
        ]
    );
    assert_eq!(
        row("car2"),
        [
            "car2",
            "in_service",
            "2020-02-15",
            "2023-05-01",
            "2024-04-30",
            "regular",
            "2025-02-15"
        ]
    );
    assert_eq!(
        row("svc"),
        [
            "svc",
            "in_service",
            "∅",
            "2023-10-01",
            "2024-09-30",
            "regular",
            "∅"
        ]
    );
    assert_eq!(
        n.rows.len(),
        3,
        "the population's clients are leads: not listed"
    );
    // car1 bought once: P(alive) 1; svc bought nothing here: no P(alive)
    assert_eq!(n.get("client_pid", "car1", "p_alive"), "1");
    assert_eq!(n.get("client_pid", "svc", "p_alive"), "∅");
    let only = run_clv_as(p, &f, &[], Some("next_dates")).unwrap();
    assert_eq!(only.outputs.len(), 1);
}

#[test]
fn an_as_of_date_after_all_data_is_warned_about() {
    // the last event: the sale of 2024-03-31 (s1); the visit of 2024-01-05 is earlier
    let mut f = summary_fixture();
    f.visit("p", "2024-01-05 10:00");
    let e = f.engine();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(clv::last_event_date(&e)).unwrap(),
        Some(date("2024-04-02")),
        "p5, sold after the other sales, is the last event of the bundle"
    );
    // 30 days after it: no warning; 31: a warning naming both dates
    assert_eq!(rt.block_on(clv::as_of_note(&e, date("2024-05-02"))), None);
    let n = rt
        .block_on(clv::as_of_note(&e, date("2024-05-03")))
        .unwrap();
    assert!(
        n.contains("2024-05-03") && n.contains("--as-of 2024-04-02"),
        "{n}"
    );
}

#[test]
fn the_report_section_counts_clients_by_p_alive_band() {
    let f = population(120);
    let mut profile = Profile::fitness();
    profile.set_lang("en").unwrap();
    profile.set("clv_period=day").unwrap();
    let library = Library::embedded().for_profile(&profile);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = f.engine();
    let r = rt
        .block_on(clv::run_for_report(
            &e,
            &library,
            &profile,
            date("2024-03-31"),
        ))
        .unwrap();
    let names: Vec<&str> = r.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["settings", "fit", "clients", "churn_risk"]);
    let frames: std::collections::BTreeMap<String, clm_analyze::frame::Frame> = r
        .outputs
        .iter()
        .map(|o| {
            (
                format!("clv.{}", o.name),
                clm_analyze::frame::Frame::of(o).unwrap(),
            )
        })
        .collect();
    let html = clv::report_body(&frames, "en");
    // the three bands' client counts add up to the 120 clients
    let counts: Vec<usize> = html
        .split("<td class=\"num\">")
        .skip(1)
        .step_by(2)
        .map(|c| c.split('<').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 3, "{html}");
    assert_eq!(counts.iter().sum::<usize>(), 120, "{html}");
    assert!(html.contains("Valuable clients at risk"), "{html}");
    assert!(!html.contains("NaN"), "{html}");
}
