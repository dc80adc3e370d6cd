//! The profiles beyond the fitness club (`--profile classes|auto_service|b2b_service`):
//! determinism, encodings, a mapping that names only canonical fields and real columns, value
//! maps that cover what is written, and every lifecycle stage of each profile reachable.
//!
//! The stage rules below restate the profiles' rules at the as-of date D (first match wins)
//! on the source files, so that the generator is checked independently of the analysis.

use chrono::NaiveDate;
use clm_synth::{generate, generate_with, Config, Encoding, Profile, RowCounts};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::canonical_fields;

const OTHERS: [Profile; 3] = [Profile::Classes, Profile::AutoService, Profile::B2bService];

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

struct Run {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    counts: RowCounts,
}

fn run(profile: Profile, clients: u64, seed: u64, encoding: Encoding) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let counts = generate_with(
        &Config {
            clients,
            seed,
            as_of: as_of(),
            out: dir.clone(),
            encoding,
        },
        profile,
    )
    .unwrap();
    Run {
        _tmp: tmp,
        dir,
        counts,
    }
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn load(dir: &Path, file: &str) -> Self {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_path(dir.join(file))
            .unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
            .collect();
        for row in &rows {
            assert_eq!(row.len(), header.len(), "{file}: ragged row {row:?}");
        }
        Table { header, rows }
    }
    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let i = self.col(name);
        self.rows.iter().map(move |r| r[i].as_str())
    }
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&s[..10.min(s.len())], "%d.%m.%Y")
        .unwrap_or_else(|_| panic!("bad date {s:?}"))
}

fn money(s: &str) -> f64 {
    let t: String = s.chars().filter(|c| *c != ' ').collect();
    t.replace(',', ".")
        .parse()
        .unwrap_or_else(|_| panic!("bad money {s:?}"))
}

fn days(a: NaiveDate, b: NaiveDate) -> i64 {
    (a - b).num_days()
}

fn file_of(profile: Profile, table: &str) -> &'static str {
    profile
        .files()
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, f)| *f)
        .unwrap()
}

#[test]
fn fitness_through_generate_with_is_generate() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = |dir: &str| Config {
        clients: 200,
        seed: 11,
        as_of: as_of(),
        out: tmp.path().join(dir),
        encoding: Encoding::Utf8,
    };
    let a = generate(&cfg("a")).unwrap();
    let b = generate_with(&cfg("b"), Profile::Fitness).unwrap();
    assert_eq!(a, b);
    for (_, f) in Profile::Fitness.files() {
        let (x, y) = (
            fs::read(tmp.path().join("a").join(f)).unwrap(),
            fs::read(tmp.path().join("b").join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs");
    }
    assert_eq!(Profile::default(), Profile::Fitness);
    for p in Profile::ALL {
        assert_eq!(Profile::from_name(p.name()), Some(p));
    }
}

#[test]
fn each_profile_is_deterministic_per_seed() {
    for p in OTHERS {
        let a = run(p, 300, 7, Encoding::Utf8);
        let b = run(p, 300, 7, Encoding::Utf8);
        let c = run(p, 300, 8, Encoding::Utf8);
        assert_eq!(a.counts, b.counts);
        let mut names: Vec<&str> = p.files().iter().map(|(_, f)| *f).collect();
        let files: HashSet<String> = fs::read_dir(&a.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let expected: HashSet<String> = names
            .iter()
            .map(|s| s.to_string())
            .chain(["mapping.toml".to_string()])
            .collect();
        assert_eq!(files, expected, "{}: files written", p.name());
        for f in &names {
            let (x, y, z) = (
                fs::read(a.dir.join(f)).unwrap(),
                fs::read(b.dir.join(f)).unwrap(),
                fs::read(c.dir.join(f)).unwrap(),
            );
            assert!(
                x == y,
                "{}: {f} differs between two runs of one seed",
                p.name()
            );
            assert!(x != z, "{}: {f} is the same for seeds 7 and 8", p.name());
        }
        names.push("mapping.toml");
        let m = fs::read(a.dir.join("mapping.toml")).unwrap();
        assert!(m == fs::read(b.dir.join("mapping.toml")).unwrap());
        // Row counts match the files.
        for (table, f) in p.files() {
            let t = Table::load(&a.dir, f);
            assert_eq!(t.rows.len() as u64, a.counts.of(table), "{}: {f}", p.name());
        }
        assert_eq!(a.counts.clients, 300);
    }
}

#[test]
fn profiles_differ_from_each_other_and_from_fitness() {
    let fit = run(Profile::Fitness, 100, 1, Encoding::Utf8);
    let mut mappings = vec![fs::read_to_string(fit.dir.join("mapping.toml")).unwrap()];
    for p in OTHERS {
        let r = run(p, 100, 1, Encoding::Utf8);
        let m = fs::read_to_string(r.dir.join("mapping.toml")).unwrap();
        assert!(
            m.starts_with(&format!("# Generated by clm-synth (profile {}", p.name())),
            "{m}"
        );
        assert!(m.to_lowercase().contains("synthetic"));
        assert!(!mappings.contains(&m));
        mappings.push(m);
    }
}

#[test]
fn cp1251_and_utf8_hold_the_same_text() {
    for p in OTHERS {
        let u = run(p, 200, 3, Encoding::Utf8);
        let w = run(p, 200, 3, Encoding::Cp1251);
        assert_eq!(u.counts, w.counts);
        for (_, f) in p.files() {
            common::same_text(&u.dir.join(f), &w.dir.join(f), f);
        }
        let m = fs::read_to_string(w.dir.join("mapping.toml")).unwrap();
        assert!(m.contains("encoding = \"cp1251\""));
    }
}

fn column_of(spec: &toml::Value) -> &str {
    match spec {
        toml::Value::String(s) => s.as_str(),
        toml::Value::Table(t) => t["column"].as_str().unwrap(),
        other => panic!("unexpected field spec {other:?}"),
    }
}

#[test]
fn mappings_name_real_columns_and_only_canonical_fields() {
    let canonical = canonical_fields();
    for p in OTHERS {
        let r = run(p, 300, 1, Encoding::Utf8);
        let doc: toml::Table = fs::read_to_string(r.dir.join("mapping.toml"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(doc["source"]["delimiter"].as_str(), Some(";"));
        let tables = doc["tables"].as_table().unwrap();
        let written: HashSet<&str> = p.files().iter().map(|(t, _)| *t).collect();
        let mapped: HashSet<&str> = tables.keys().map(String::as_str).collect();
        assert_eq!(mapped, written, "{}: one mapped table per file", p.name());
        for (name, t) in tables {
            let file = t["file"].as_str().unwrap();
            assert_eq!(file, file_of(p, name));
            let table = Table::load(&r.dir, file);
            let fields = t["fields"].as_table().unwrap();
            let mut columns = HashSet::new();
            for (field, spec) in fields {
                assert!(
                    canonical[name].contains(field),
                    "{}: {name}.{field} is not a canonical field",
                    p.name()
                );
                let column = column_of(spec);
                assert!(
                    table.header.iter().any(|h| h == column),
                    "{}: {file} has no column {column:?} ({name}.{field})",
                    p.name()
                );
                columns.insert(column.to_string());
                // Value maps cover every value written (an unmapped status would be rejected).
                if let Some(map) = spec.get("map").and_then(|m| m.as_table()) {
                    for v in table.values(column) {
                        assert!(
                            map.contains_key(v),
                            "{}: {file}: {column} = {v:?} not mapped",
                            p.name()
                        );
                    }
                }
            }
            // Every column is mapped but the ones left out on purpose.
            for h in &table.header {
                let unmapped = p.unmapped().contains(&(file, h.as_str()));
                assert_eq!(
                    columns.contains(h),
                    !unmapped,
                    "{}: {file}: column {h:?}",
                    p.name()
                );
            }
        }
        let clients = tables["clients"]["fields"].as_table().unwrap();
        for f in [
            "client_id",
            "full_name",
            "phone",
            "email",
            "branch",
            "registered_on",
        ] {
            assert!(clients.contains_key(f), "{}: clients.{f}", p.name());
        }
        assert_eq!(clients["phone"]["normalize"].as_str(), Some("digits"));
        assert_eq!(clients["email"]["normalize"].as_str(), Some("casefold"));
    }
}

#[test]
fn profile_specific_fields_are_mapped() {
    let field = |p: Profile, table: &str, f: &str| -> Option<toml::Value> {
        let r = run(p, 60, 1, Encoding::Utf8);
        let doc: toml::Table = fs::read_to_string(r.dir.join("mapping.toml"))
            .unwrap()
            .parse()
            .unwrap();
        doc["tables"][table]["fields"].get(f).cloned()
    };
    // classes: trial and archive dates, the parent as contact, open invoices.
    assert!(field(Profile::Classes, "clients", "trial_booked_on").is_some());
    assert!(field(Profile::Classes, "clients", "archived_on").is_some());
    assert!(field(Profile::Classes, "clients", "contact_name").is_some());
    let ps = field(Profile::Classes, "sales", "payment_status").unwrap();
    assert_eq!(ps["map"]["Не оплачен"].as_str(), Some("open"));
    assert_eq!(ps["map"]["Оплачен"].as_str(), Some("paid"));
    let cat = field(Profile::Classes, "sales", "category").unwrap();
    assert_eq!(cat["map"]["Абонемент"].as_str(), Some("group"));
    // auto_service: vehicles, VINs in sales and visits, model and mileage.
    let cat = field(Profile::AutoService, "sales", "category").unwrap();
    assert_eq!(cat["map"]["Автомобиль"].as_str(), Some("vehicle"));
    assert_eq!(cat["map"]["Сервис"].as_str(), Some("service"));
    assert!(field(Profile::AutoService, "sales", "vin").is_some());
    for f in ["vin", "model", "mileage", "kind"] {
        assert!(
            field(Profile::AutoService, "visits", f).is_some(),
            "visits.{f}"
        );
    }
    // b2b_service: company name, INN and contact person; NPS comments.
    for f in ["full_name", "tax_id", "contact_name"] {
        assert!(
            field(Profile::B2bService, "clients", f).is_some(),
            "clients.{f}"
        );
    }
    assert!(field(Profile::B2bService, "feedback", "comment").is_some());
    assert!(field(Profile::B2bService, "sales", "payment_status").is_some());
}

#[test]
fn emails_only_at_example_domains() {
    for p in OTHERS {
        let r = run(p, 300, 4, Encoding::Utf8);
        let mut seen = 0;
        for (_, f) in p.files() {
            let text = fs::read_to_string(r.dir.join(f)).unwrap();
            for (i, _) in text.match_indices('@') {
                let rest = &text[i + 1..];
                assert!(rest.starts_with("example."), "{f}: {}", &rest[..20]);
                seen += 1;
            }
        }
        assert!(seen > 100, "{}: {seen} e-mails", p.name());
    }
}

/// Nothing dated after the as-of date, except the end dates of what was sold before it.
#[test]
fn no_events_after_the_as_of_date() {
    for p in OTHERS {
        let r = run(p, 300, 5, Encoding::Utf8);
        for (table, f) in p.files() {
            let t = Table::load(&r.dir, f);
            for (k, h) in t.header.iter().enumerate() {
                let future_ok = h.contains("окончания") || h.contains("начала");
                for row in &t.rows {
                    let v = &row[k];
                    if v.len() >= 10 && v.as_bytes()[2] == b'.' && v.as_bytes()[5] == b'.' {
                        let d = date(v);
                        if !future_ok && !h.contains("рождения") {
                            assert!(d <= as_of(), "{}: {f} ({table}) {h} = {v}", p.name());
                        }
                    }
                }
            }
        }
    }
}

fn count(stages: &HashMap<&'static str, usize>, s: &str) -> usize {
    stages.get(s).copied().unwrap_or(0)
}

fn assert_every_stage(name: &str, stages: &HashMap<&'static str, usize>, expected: &[&str]) {
    let total: usize = stages.values().sum();
    for s in expected {
        // Present, and at a realistic share: at least 0.3% of the clients (6 of 2,000).
        assert!(count(stages, s) >= 6, "{name}: {s}: {stages:?} of {total}");
    }
    assert_eq!(stages.len(), expected.len(), "{name}: {stages:?}");
}

/// classes at D: active (a visit in the last 21 days), archived (archived_on ≤ D, or visited
/// but not in the last 21 days, or a trial booked more than 30 days ago and never visited),
/// new (trial booked within 30 days, no visit yet), lead.
#[test]
fn classes_every_stage_occurs() {
    let r = run(Profile::Classes, 2000, 1, Encoding::Utf8);
    let d = as_of();
    let students = Table::load(&r.dir, "students.csv");
    let visits = Table::load(&r.dir, "attendance.csv");
    let mut last: HashMap<&str, NaiveDate> = HashMap::new();
    for (id, t) in visits
        .values("ID ученика")
        .zip(visits.values("Дата и время"))
    {
        let v = date(t);
        let e = last.entry(id).or_insert(v);
        *e = (*e).max(v);
    }
    let mut stages: HashMap<&'static str, usize> = HashMap::new();
    let (ci, ct, ca) = (
        students.col("ID"),
        students.col("Запись на пробный урок"),
        students.col("Дата архивации"),
    );
    for row in &students.rows {
        let trial = (!row[ct].is_empty()).then(|| date(&row[ct]));
        let archived = (!row[ca].is_empty()).then(|| date(&row[ca]));
        let lv = last.get(row[ci].as_str()).copied();
        let stage = if lv.is_some_and(|v| days(d, v) <= 20) {
            "active"
        } else if archived.is_some_and(|a| a <= d)
            || lv.is_some()
            || trial.is_some_and(|t| days(d, t) > 30)
        {
            "archived"
        } else if trial.is_some_and(|t| t <= d) {
            "new"
        } else {
            "lead"
        };
        *stages.entry(stage).or_default() += 1;
    }
    assert_every_stage("classes", &stages, &["active", "archived", "new", "lead"]);
    assert!(count(&stages, "active") >= 100, "{stages:?}");

    // The funnel: ~60% book a trial, most who book come, the CRM archives some but not all
    // of those who left.
    let booked = students
        .values("Запись на пробный урок")
        .filter(|s| !s.is_empty())
        .count();
    assert!((900..=1300).contains(&booked), "{booked} trials of 2000");
    let archived = students
        .values("Дата архивации")
        .filter(|s| !s.is_empty())
        .count();
    assert!(archived > 500 && archived < count(&stages, "archived") + 200);

    // Open invoices: a realistic few per cent of the recent payments, a trace of the old.
    let pay = Table::load(&r.dir, "payments.csv");
    let (cd, cs) = (pay.col("Дата и время"), pay.col("Статус оплаты"));
    let recent: Vec<&Vec<String>> = pay
        .rows
        .iter()
        .filter(|p| days(d, date(&p[cd])) < 60)
        .collect();
    let open = recent.iter().filter(|p| p[cs] == "Не оплачен").count();
    let share = open as f64 / recent.len() as f64;
    assert!(
        (0.02..=0.2).contains(&share),
        "{open} open of {} recent",
        recent.len()
    );
    let cats: HashSet<&str> = pay.values("Категория").collect();
    assert!(cats.contains("Абонемент") && cats.contains("Пробный урок"));
    let subs = Table::load(&r.dir, "subscriptions.csv");
    let statuses: HashSet<&str> = subs.values("Статус").collect();
    for s in ["Активен", "Завершён", "Отменён"] {
        assert!(statuses.contains(s), "no {s} subscriptions");
    }
}

/// auto_service at D, with P the latest vehicle purchase ≤ D and L the latest service visit:
/// repurchase_window (ownership 60 ± 2 full months), acquired (no service since P, D − P <
/// 335), first_service_due (no service since P, D − P ≤ 425), in_service (a visit since P, or
/// any without P, and D − L ≤ 425), lapsed_service, lead.
#[test]
fn auto_service_every_stage_occurs() {
    let r = run(Profile::AutoService, 2000, 1, Encoding::Utf8);
    let d = as_of();
    let clients = Table::load(&r.dir, "clients.csv");
    let sales = Table::load(&r.dir, "sales.csv");
    let visits = Table::load(&r.dir, "service_visits.csv");
    let mut purchase: HashMap<&str, NaiveDate> = HashMap::new();
    let (sc, sd, sk, sv, sa) = (
        sales.col("Код клиента"),
        sales.col("Дата"),
        sales.col("Вид реализации"),
        sales.col("VIN"),
        sales.col("Сумма"),
    );
    let mut vins = HashSet::new();
    for row in &sales.rows {
        if row[sk] == "Автомобиль" {
            let p = date(&row[sd]);
            let e = purchase.entry(row[sc].as_str()).or_insert(p);
            *e = (*e).max(p);
            assert_eq!(row[sv].len(), 17, "VIN {:?}", row[sv]);
            assert!(vins.insert(row[sv].clone()), "VIN sold twice");
            let a = money(&row[sa]);
            assert!((500_000.0..=6_500_000.0).contains(&a), "vehicle at {a}");
        }
    }
    let mut service: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    let mut odometer: HashMap<&str, u64> = HashMap::new();
    let (vc, vd, vv, vm) = (
        visits.col("Код клиента"),
        visits.col("Дата и время приёма"),
        visits.col("VIN"),
        visits.col("Пробег, км"),
    );
    for row in &visits.rows {
        service
            .entry(row[vc].as_str())
            .or_default()
            .push(date(&row[vd]));
        // Mileage only grows per car (rows are in time order per client).
        let km: u64 = row[vm].parse().unwrap();
        let last = odometer.entry(row[vv].as_str()).or_insert(0);
        assert!(km >= *last, "{}: {km} after {last}", row[vv]);
        *last = km;
    }
    let mut stages: HashMap<&'static str, usize> = HashMap::new();
    for id in clients.values("Код клиента") {
        let p = purchase.get(id).copied();
        let v = service.get(id).cloned().unwrap_or_default();
        let since: Vec<NaiveDate> = v
            .iter()
            .copied()
            .filter(|x| p.is_none_or(|p| *x >= p))
            .collect();
        let months = p.map(|p| {
            use chrono::Datelike;
            let m = (d.year() - p.year()) * 12 + d.month() as i32 - p.month() as i32;
            m - i32::from(d.day() < p.day())
        });
        let stage = if months.is_some_and(|m| (58..=62).contains(&m)) {
            "repurchase_window"
        } else if p.is_some_and(|p| since.is_empty() && days(d, p) < 335) {
            "acquired"
        } else if p.is_some_and(|p| since.is_empty() && days(d, p) <= 425) {
            "first_service_due"
        } else if since.iter().max().is_some_and(|l| days(d, *l) <= 425) {
            "in_service"
        } else if p.is_some() || !v.is_empty() {
            "lapsed_service"
        } else {
            "lead"
        };
        *stages.entry(stage).or_default() += 1;
    }
    assert_every_stage(
        "auto_service",
        &stages,
        &[
            "repurchase_window",
            "acquired",
            "first_service_due",
            "in_service",
            "lapsed_service",
            "lead",
        ],
    );
    let kinds: HashSet<&str> = visits.values("Вид работ").collect();
    for k in ["ТО", "Ремонт", "Шиномонтаж"] {
        assert!(kinds.contains(k), "no {k} visits");
    }
    let cats: HashSet<&str> = sales.values("Вид реализации").collect();
    for c in [
        "Автомобиль",
        "Сервис",
        "Запчасти и аксессуары",
        "Сервисный контракт",
    ] {
        assert!(cats.contains(c), "no {c} sales");
    }
}

/// b2b_service at D: onboarding (first contract started within 90 days), at_risk (a current
/// contract and: latest NPS of the last 365 days ≤ 6, or no contact in 90 days, or the
/// contract ends within 60 days with no renewal sold), growth (invoiced in the last 90 days >
/// the 90 before), service, churned, acquisition.
#[test]
fn b2b_service_every_stage_occurs() {
    let r = run(Profile::B2bService, 2000, 1, Encoding::Utf8);
    let d = as_of();
    let accounts = Table::load(&r.dir, "accounts.csv");
    let contracts = Table::load(&r.dir, "contracts.csv");
    let invoices = Table::load(&r.dir, "invoices.csv");
    let contacts = Table::load(&r.dir, "contacts.csv");
    let nps = Table::load(&r.dir, "nps.csv");
    let k = "Код контрагента";

    // INNs: 10 digits (companies) or 12 (sole proprietors), valid check digits, unique.
    let mut inns = HashSet::new();
    for inn in accounts.values("ИНН") {
        let dg: Vec<u32> = inn.chars().map(|c| c.to_digit(10).unwrap()).collect();
        let check = |w: &[u32], n: usize| {
            dg[..n].iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11 % 10 == dg[n]
        };
        match dg.len() {
            10 => assert!(check(&[2, 4, 10, 3, 5, 9, 4, 6, 8], 9), "{inn}"),
            12 => {
                assert!(check(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 10), "{inn}");
                assert!(check(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 11), "{inn}");
            }
            n => panic!("INN of {n} digits: {inn}"),
        }
        assert!(inns.insert(inn), "duplicate INN {inn}");
    }

    // (start, end, sold) of the non-cancelled contracts.
    let mut con: HashMap<&str, Vec<(NaiveDate, NaiveDate, NaiveDate)>> = HashMap::new();
    let c = |n| contracts.col(n);
    for row in &contracts.rows {
        if row[c("Статус")] == "Аннулирован" {
            continue;
        }
        con.entry(row[c(k)].as_str()).or_default().push((
            date(&row[c("Дата начала")]),
            date(&row[c("Дата окончания")]),
            date(&row[c("Дата подписания")]),
        ));
    }
    let mut answers: HashMap<&str, Vec<(NaiveDate, u32)>> = HashMap::new();
    for (id, (dd, s)) in nps
        .values(k)
        .zip(nps.values("Дата опроса").zip(nps.values("Оценка")))
    {
        answers
            .entry(id)
            .or_default()
            .push((date(dd), s.parse().unwrap()));
    }
    let mut last_contact: HashMap<&str, NaiveDate> = HashMap::new();
    for (id, t) in contacts.values(k).zip(contacts.values("Дата и время")) {
        let v = date(t);
        let e = last_contact.entry(id).or_insert(v);
        *e = (*e).max(v);
    }
    let mut billed: HashMap<&str, (f64, f64)> = HashMap::new();
    for (id, (dd, a)) in invoices
        .values(k)
        .zip(invoices.values("Дата счёта").zip(invoices.values("Сумма")))
    {
        let age = days(d, date(dd));
        let e = billed.entry(id).or_default();
        if (0..90).contains(&age) {
            e.0 += money(a);
        } else if (90..180).contains(&age) {
            e.1 += money(a);
        }
    }
    let mut stages: HashMap<&'static str, usize> = HashMap::new();
    for id in accounts.values(k) {
        let all = con.get(id).cloned().unwrap_or_default();
        let started: Vec<_> = all.iter().copied().filter(|x| x.0 <= d).collect();
        let current: Vec<_> = started.iter().copied().filter(|x| d <= x.1).collect();
        let first = started.iter().min();
        let stage = if first.is_some_and(|f| days(d, f.0) <= 90) {
            "onboarding"
        } else if let Some(cur) = current.iter().max() {
            let low_nps = answers
                .get(id)
                .and_then(|a| a.iter().filter(|x| days(d, x.0) < 365).max())
                .is_some_and(|x| x.1 <= 6);
            let no_contact = last_contact.get(id).is_none_or(|l| days(d, *l) >= 90);
            let renewal = all.iter().any(|x| x.0 > cur.0 && x.2 <= d);
            let ending = days(cur.1, d) <= 60 && !renewal;
            let (now, before) = billed.get(id).copied().unwrap_or_default();
            if low_nps || no_contact || ending {
                "at_risk"
            } else if now > before {
                "growth"
            } else {
                "service"
            }
        } else if !started.is_empty() {
            "churned"
        } else {
            "acquisition"
        };
        *stages.entry(stage).or_default() += 1;
    }
    assert_every_stage(
        "b2b_service",
        &stages,
        &[
            "onboarding",
            "at_risk",
            "growth",
            "service",
            "churned",
            "acquisition",
        ],
    );
    let kinds: HashSet<&str> = contacts.values("Тип контакта").collect();
    assert_eq!(kinds, HashSet::from(["Звонок", "Встреча", "Выезд"]));
    let statuses: HashSet<&str> = invoices.values("Статус оплаты").collect();
    assert!(statuses.contains("Оплачен") && statuses.contains("Не оплачен"));
}
