//! End-to-end checks of a generated export: the properties other crates' tests and demos
//! rely on (determinism, encodings, a mapping that matches the files, plausible data).

use chrono::NaiveDate;
use clm_synth::{generate, Config, Encoding, RowCounts};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

const FILES: [&str; 6] = [
    "clients.csv",
    "memberships.csv",
    "visits.csv",
    "services.csv",
    "sales.csv",
    "feedback.csv",
];

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

fn make(dir: &Path, clients: u64, seed: u64, encoding: Encoding) -> RowCounts {
    generate(&Config {
        clients,
        seed,
        as_of: as_of(),
        out: dir.to_path_buf(),
        encoding,
    })
    .unwrap()
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn load(dir: &Path, file: &str) -> Self {
        let (header, rows) = read_csv(&dir.join(file));
        for r in &rows {
            assert_eq!(r.len(), header.len(), "{file}: ragged row {r:?}");
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
    NaiveDate::parse_from_str(s, "%d.%m.%Y").unwrap_or_else(|_| panic!("bad date {s:?}"))
}

fn datetime(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%d.%m.%Y %H:%M")
        .unwrap_or_else(|_| panic!("bad timestamp {s:?}"))
}

fn money(s: &str) -> f64 {
    let t: String = s.chars().filter(|c| *c != ' ').collect();
    t.replace(',', ".")
        .parse()
        .unwrap_or_else(|_| panic!("bad money {s:?}"))
}

struct Run {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    counts: RowCounts,
}

fn run(clients: u64, seed: u64, encoding: Encoding) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let counts = make(&dir, clients, seed, encoding);
    Run {
        _tmp: tmp,
        dir,
        counts,
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = run(300, 7, Encoding::Utf8);
    let b = run(300, 7, Encoding::Utf8);
    let c = run(300, 8, Encoding::Utf8);
    for f in FILES.iter().chain(["mapping.toml"].iter()) {
        let (x, y) = (
            fs::read(a.dir.join(f)).unwrap(),
            fs::read(b.dir.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs between two runs of one seed");
    }
    for f in FILES {
        let (x, z) = (
            fs::read(a.dir.join(f)).unwrap(),
            fs::read(c.dir.join(f)).unwrap(),
        );
        assert!(x != z, "{f} is the same for seeds 7 and 8");
    }
}

#[test]
fn cp1251_and_utf8_hold_the_same_text() {
    let u = run(300, 3, Encoding::Utf8);
    let w = run(300, 3, Encoding::Cp1251);
    assert_eq!(u.counts, w.counts);
    for f in FILES {
        let utf8 = fs::read(u.dir.join(f)).unwrap();
        let cp = fs::read(w.dir.join(f)).unwrap();
        assert!(
            std::str::from_utf8(&cp).is_err(),
            "{f} in cp1251 should not be valid UTF-8"
        );
        let (decoded, _, had_errors) = encoding_rs::WINDOWS_1251.decode(&cp);
        assert!(!had_errors);
        assert_eq!(decoded, std::str::from_utf8(&utf8).unwrap(), "{f}");
    }
    let m = fs::read_to_string(w.dir.join("mapping.toml")).unwrap();
    assert!(m.contains("encoding = \"cp1251\""));
    let m = fs::read_to_string(u.dir.join("mapping.toml")).unwrap();
    assert!(m.contains("encoding = \"utf-8\""));
}

/// The canonical field names of each table, read from the workspace's schemas/.
fn canonical_fields() -> HashMap<String, HashSet<String>> {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let mut out = HashMap::new();
    for table in [
        "clients",
        "memberships",
        "visits",
        "services",
        "sales",
        "feedback",
    ] {
        let text = fs::read_to_string(schemas.join(format!("{table}.toml"))).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        let names = doc["field"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        out.insert(table.to_string(), names);
    }
    out
}

#[test]
fn mapping_names_real_columns_and_canonical_fields() {
    let r = run(300, 1, Encoding::Utf8);
    let text = fs::read_to_string(r.dir.join("mapping.toml")).unwrap();
    assert!(text.starts_with("# Generated by clm-synth"));
    assert!(text.to_lowercase().contains("synthetic"));
    let doc: toml::Table = text.parse().unwrap();
    assert_eq!(doc["source"]["delimiter"].as_str(), Some(";"));
    let canonical = canonical_fields();
    let tables = doc["tables"].as_table().unwrap();
    assert_eq!(tables.len(), 6);
    let mut mapped_columns: HashMap<String, HashSet<String>> = HashMap::new();
    for (name, t) in tables {
        let file = t["file"].as_str().unwrap();
        let (header, _) = read_csv(&r.dir.join(file));
        let fields = t["fields"].as_table().unwrap();
        for (field, spec) in fields {
            assert!(
                canonical[name].contains(field),
                "{name}.{field} is not a canonical field"
            );
            let column = match spec {
                toml::Value::String(s) => s.as_str(),
                toml::Value::Table(t) => t["column"].as_str().unwrap(),
                other => panic!("unexpected field spec {other:?}"),
            };
            assert!(
                header.iter().any(|h| h == column),
                "{file} has no column {column:?} (mapped as {name}.{field})"
            );
            mapped_columns
                .entry(file.to_string())
                .or_default()
                .insert(column.to_string());
        }
        // Every column but the deliberately unmapped address is mapped.
        for h in &header {
            let expected = !(file == "clients.csv" && h == "Адрес");
            assert_eq!(
                mapped_columns[file].contains(h),
                expected,
                "{file}: column {h:?} mapped = {}",
                !expected
            );
        }
    }
    // Direct fields are mapped too, so on-site tools can find them.
    let clients = tables["clients"]["fields"].as_table().unwrap();
    for f in [
        "full_name",
        "phone",
        "email",
        "passport",
        "notes",
        "postal_code",
    ] {
        assert!(clients.contains_key(f), "clients.{f} not mapped");
    }
    assert_eq!(
        clients["phone"]["normalize"].as_str(),
        Some("digits"),
        "phones are matched by digits"
    );
    assert_eq!(clients["email"]["normalize"].as_str(), Some("casefold"));
    let sales = tables["sales"]["fields"].as_table().unwrap();
    assert_eq!(
        sales["category"]["map"]["Персональные тренировки"].as_str(),
        Some("personal_training")
    );
    assert_eq!(sales["category"]["map"]["Бар"].as_str(), Some("retail"));
    assert!(tables["feedback"]["fields"]
        .as_table()
        .unwrap()
        .contains_key("comment"));
}

/// Every value a value map must cover is covered (an unmapped status would be rejected).
#[test]
fn value_maps_cover_every_value_written() {
    let r = run(300, 2, Encoding::Utf8);
    let doc: toml::Table = fs::read_to_string(r.dir.join("mapping.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let tables = doc["tables"].as_table().unwrap();
    for (name, t) in tables {
        let table = Table::load(&r.dir, t["file"].as_str().unwrap());
        for (_, spec) in t["fields"].as_table().unwrap() {
            let Some(map) = spec.get("map").and_then(|m| m.as_table()) else {
                continue;
            };
            let column = spec["column"].as_str().unwrap();
            for v in table.values(column) {
                assert!(
                    map.contains_key(v),
                    "{name}: {column} = {v:?} is not mapped"
                );
            }
        }
    }
}

#[test]
fn a_small_club_looks_plausible() {
    let r = run(300, 1, Encoding::Utf8);
    let n = &r.counts;
    assert_eq!(n.clients, 300);
    let clients = Table::load(&r.dir, "clients.csv");
    let memberships = Table::load(&r.dir, "memberships.csv");
    let visits = Table::load(&r.dir, "visits.csv");
    let services = Table::load(&r.dir, "services.csv");
    let sales = Table::load(&r.dir, "sales.csv");
    let feedback = Table::load(&r.dir, "feedback.csv");
    assert_eq!(clients.rows.len() as u64, n.clients);
    assert_eq!(memberships.rows.len() as u64, n.memberships);
    assert_eq!(visits.rows.len() as u64, n.visits);
    assert_eq!(services.rows.len() as u64, n.services);
    assert_eq!(sales.rows.len() as u64, n.sales);
    assert_eq!(feedback.rows.len() as u64, n.feedback);
    let as_of = as_of();

    // Ids: 7 digits, unique, and every other table refers to known clients.
    let ids: HashSet<&str> = clients.values("Код клиента").collect();
    assert_eq!(ids.len(), 300);
    assert!(ids
        .iter()
        .all(|id| id.len() == 7 && id.bytes().all(|b| b.is_ascii_digit())));
    for t in [&memberships, &visits, &services, &sales, &feedback] {
        assert!(t.values("Код клиента").all(|id| ids.contains(id)));
    }

    // Roughly a quarter of the clients never buy; most do.
    let buyers: HashSet<&str> = memberships.values("Код клиента").collect();
    let leads = ids.len() - buyers.len();
    assert!((40..=120).contains(&leads), "{leads} leads of 300");
    let archived = clients.values("Дата архивации").filter(|s| !s.is_empty());
    for a in archived {
        assert!(date(a) <= as_of);
    }
    for (reg, trial) in clients
        .values("Дата регистрации")
        .zip(clients.values("Пробное занятие"))
    {
        let reg = date(reg);
        assert!(reg <= as_of && reg > as_of - chrono::Days::new(3 * 366));
        if !trial.is_empty() {
            assert!(date(trial) >= reg);
        }
    }
    for b in clients.values("Дата рождения") {
        date(b);
    }

    // Memberships: dates parse, end ≥ start ≥ sold or advance sale, unique numbers.
    let numbers: HashSet<&str> = memberships.values("Номер абонемента").collect();
    assert_eq!(numbers.len(), memberships.rows.len());
    let (sold, start, end) = (
        memberships.col("Дата продажи"),
        memberships.col("Дата начала"),
        memberships.col("Дата окончания"),
    );
    for row in &memberships.rows {
        let (so, s, e) = (date(&row[sold]), date(&row[start]), date(&row[end]));
        assert!(e >= s, "{row:?}");
        assert!(so <= as_of, "sold after as-of: {row:?}");
        assert!(money(&row[memberships.col("Стоимость")]) > 0.0);
    }
    let statuses: HashSet<&str> = memberships.values("Статус").collect();
    assert!(statuses.contains("Закрыт") && statuses.contains("Активен"));
    assert!(memberships
        .values("Дней заморозки")
        .any(|d| d.parse::<u32>().unwrap() >= 7));

    // Visits: about a hundred per client, none after the as-of date.
    let per_client = n.visits as f64 / n.clients as f64;
    assert!(
        (50.0..=160.0).contains(&per_client),
        "{per_client} visits per client"
    );
    for v in visits.values("Время входа") {
        assert!(datetime(v).date() <= as_of);
    }
    for v in services.values("Дата и время") {
        assert!(datetime(v).date() <= as_of);
    }
    for v in sales.values("Дата и время продажи") {
        assert!(datetime(v).date() <= as_of);
    }
    for (d, s) in feedback
        .values("Дата ответа")
        .zip(feedback.values("Оценка"))
    {
        assert!(date(d) <= as_of);
        assert!(s.parse::<u8>().unwrap() <= 10);
    }

    // Every kind of row the analyses need shows up.
    let sale_cats: HashSet<&str> = sales.values("Категория").collect();
    for c in [
        "Абонемент",
        "Стартовый пакет",
        "Персональные тренировки",
        "Бар",
    ] {
        assert!(sale_cats.contains(c), "no {c} sales");
    }
    let receipts: HashSet<&str> = sales.values("Номер чека").collect();
    assert_eq!(receipts.len(), sales.rows.len());
    let service_cats: HashSet<&str> = services.values("Категория услуги").collect();
    assert_eq!(service_cats.len(), 3);
    let kinds: HashSet<&str> = visits.values("Тип посещения").collect();
    assert_eq!(kinds.len(), 3);
    for s in sales.values("Сумма") {
        money(s);
    }
}

#[test]
fn emails_only_at_example_domains() {
    let r = run(300, 4, Encoding::Utf8);
    let clients = Table::load(&r.dir, "clients.csv");
    let mut seen = 0;
    for e in clients.values("E-mail").filter(|e| !e.is_empty()) {
        let domain = e.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        assert!(
            ["example.com", "example.org", "example.net"].contains(&domain),
            "{e}"
        );
        seen += 1;
    }
    assert!(seen > 100);
    // Nor anywhere else in the export (notes, feedback).
    for f in FILES {
        let text = fs::read_to_string(r.dir.join(f)).unwrap();
        for (i, _) in text.match_indices('@') {
            let rest = &text[i + 1..];
            assert!(rest.starts_with("example."), "{f}: {}", &rest[..20]);
        }
    }
}

/// Simplified SPEC §5.1 stages at the as-of date: a current member of every kind exists.
#[test]
fn every_lifecycle_stage_is_populated() {
    let r = run(2000, 1, Encoding::Utf8);
    let as_of = as_of();
    let memberships = Table::load(&r.dir, "memberships.csv");
    let visits = Table::load(&r.dir, "visits.csv");
    let mut cards: HashMap<&str, Vec<(NaiveDate, NaiveDate, NaiveDate, &str)>> = HashMap::new();
    let c = |n| memberships.col(n);
    for row in &memberships.rows {
        if row[c("Статус")] == "Аннулирован" {
            continue;
        }
        let freeze = row[c("Дней заморозки")].parse::<u64>().unwrap();
        cards.entry(&row[c("Код клиента")]).or_default().push((
            date(&row[c("Дата начала")]),
            date(&row[c("Дата окончания")]) + chrono::Days::new(freeze),
            date(&row[c("Дата продажи")]),
            &row[c("Статус")],
        ));
    }
    let mut last_visit: HashMap<&str, NaiveDate> = HashMap::new();
    for (id, t) in visits
        .values("Код клиента")
        .zip(visits.values("Время входа"))
    {
        let d = datetime(t).date();
        let e = last_visit.entry(id).or_insert(d);
        *e = (*e).max(d);
    }
    let mut stages: HashMap<&str, usize> = HashMap::new();
    for (id, list) in &cards {
        let first = list.iter().min().unwrap();
        let current: Vec<_> = list
            .iter()
            .filter(|m| m.0 <= as_of && as_of <= m.1)
            .collect();
        let stage = if let Some(cur) = current.iter().max() {
            let since_start = (as_of - cur.0).num_days();
            if current.iter().any(|m| m.3 == "Заморожен") {
                "frozen"
            } else if since_start <= 30 && *cur == first {
                "newcomer"
            } else if since_start <= 30 {
                "renewed"
            } else if (cur.1 - as_of).num_days() <= 30
                && !list.iter().any(|m| m.0 > cur.0 && m.2 <= as_of)
            {
                "renewal_due"
            } else if last_visit
                .get(id)
                .is_none_or(|v| (as_of - *v).num_days() > 20)
            {
                "inactive"
            } else {
                "active"
            }
        } else if list.iter().any(|m| m.0 <= as_of) {
            "lapsed_or_former"
        } else {
            "lead"
        };
        *stages.entry(stage).or_default() += 1;
    }
    for s in [
        "frozen",
        "newcomer",
        "renewed",
        "renewal_due",
        "inactive",
        "active",
        "lapsed_or_former",
    ] {
        assert!(stages.get(s).copied().unwrap_or(0) >= 3, "{s}: {stages:?}");
    }
}

#[test]
fn refuses_a_directory_with_files() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("keep.txt"), "x").unwrap();
    let err = generate(&Config {
        clients: 10,
        seed: 1,
        as_of: as_of(),
        out: tmp.path().to_path_buf(),
        encoding: Encoding::Utf8,
    })
    .unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(
        fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
        "x"
    );
    // An existing empty directory is fine.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    make(&empty, 10, 1, Encoding::Utf8);
    assert!(empty.join("mapping.toml").exists());
}
