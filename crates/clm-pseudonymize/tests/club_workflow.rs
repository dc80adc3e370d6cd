//! Real club exports: `inspect` drafts a mapping from a synthetic club without printing a
//! value, workbook sources, `check`, incremental exports (`--since`) and key rotation
//! (`rewrap`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use chrono::NaiveDate;
use clm_core::bundle::Bundle;
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::mapping::Mapping;
use clm_core::pid::{Domain, Pseudonymizer};
use clm_pseudonymize::{export, ExportOptions};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clm-pseudonymize"));
    c.env_remove("CLM_PSEUDONYM_KEY").env_remove("CLM_DATA_KEY");
    c
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let o = cmd.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

struct Club {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    src: PathBuf,
    kp: PathBuf,
    kd: PathBuf,
}

fn club(clients: u64, encoding: clm_synth::Encoding) -> Club {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let src = dir.join("export");
    clm_synth::generate(&clm_synth::Config {
        clients,
        seed: 6,
        as_of: as_of(),
        out: src.clone(),
        encoding,
    })
    .unwrap();
    let (kp, kd) = clm_core::keys::keygen(&dir.join("keys")).unwrap();
    Club {
        _tmp: tmp,
        dir,
        src,
        kp,
        kd,
    }
}

fn opts(c: &Club, mapping: &Path, out: &str) -> ExportOptions {
    ExportOptions {
        mapping: mapping.to_path_buf(),
        pseudonym_key: Some(c.kp.clone()),
        data_key: Some(c.kd.clone()),
        as_of: Some(as_of()),
        out: c.dir.join(out),
        redact: false,
        progress: false,
        since: None,
        allow_empty: false,
    }
}

/// Every row of a table as text, cell by cell.
fn rows(b: &Bundle, table: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for batch in b.read_table(table) {
        let batch: RecordBatch = batch.unwrap();
        for i in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|a| cell(a.as_ref(), i))
                    .collect(),
            );
        }
    }
    out
}

fn cell(a: &dyn Array, i: usize) -> String {
    if a.is_null(i) {
        return "∅".into();
    }
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::Date32 => a.as_primitive::<Date32Type>().value(i).to_string(),
        DataType::Timestamp(..) => a
            .as_primitive::<TimestampMillisecondType>()
            .value(i)
            .to_string(),
        DataType::Decimal128(..) => a.as_primitive::<Decimal128Type>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        t => panic!("unexpected type {t}"),
    }
}

fn column(b: &Bundle, table: &str, col: &str) -> Vec<String> {
    let idx = clm_core::schema::canonical()
        .table(table)
        .unwrap()
        .arrow_schema()
        .index_of(col)
        .unwrap();
    rows(b, table).into_iter().map(|r| r[idx].clone()).collect()
}

/// Distinct values of a CSV export worth looking for in an output: all but short numbers
/// and the labels of the built-in value maps.
fn source_values(src: &Path) -> HashSet<String> {
    let vocab = clm_pseudonymize::inspect::builtin_labels();
    let mut out = HashSet::new();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "csv") {
            continue;
        }
        let mut r =
            clm_core::source::SourceReader::open(&p, clm_core::mapping::Encoding::Auto, b';')
                .unwrap();
        let mut rec = csv::StringRecord::new();
        while r.next_record(&mut rec).unwrap().is_some() {
            for v in rec.iter() {
                let v = v.trim();
                let short_number = v.len() < 6 && v.bytes().all(|b| b.is_ascii_digit());
                if v.chars().count() >= 3 && !short_number && !vocab.contains(&v) {
                    out.insert(v.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn inspect_drafts_a_mapping_from_a_club_export_without_printing_values() {
    let c = club(80, clm_synth::Encoding::Cp1251);
    let files: Vec<PathBuf> = [
        "clients.csv",
        "memberships.csv",
        "visits.csv",
        "services.csv",
        "sales.csv",
        "feedback.csv",
    ]
    .iter()
    .map(|f| c.src.join(f))
    .collect();
    let draft = c.src.join("draft.toml");
    let (code, stdout, stderr) = run(bin().arg("inspect").args(&files).arg("--out").arg(&draft));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let text = std::fs::read_to_string(&draft).unwrap();
    // The same draft on standard output.
    let (code, printed, _) = run(bin().arg("inspect").args(&files));
    assert_eq!(code, 0);

    // No value of the export appears anywhere in what inspect wrote or printed.
    let values = source_values(&c.src);
    assert!(values.len() > 500, "{}", values.len());
    for out in [&text, &printed, &stdout, &stderr] {
        for v in &values {
            assert!(!out.contains(v.as_str()), "inspect printed the value {v:?}");
        }
    }

    // The draft loads, names the key fields, marks personal columns direct.
    let m = Mapping::load(&draft).unwrap();
    let names: Vec<&str> = m.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(
        names,
        [
            "clients",
            "memberships",
            "visits",
            "services",
            "sales",
            "feedback"
        ]
    );
    let cl = m.table("clients").unwrap();
    assert_eq!(cl.encoding, clm_core::mapping::Encoding::Cp1251);
    assert_eq!(cl.field("client_id").unwrap().column, "Код клиента");
    for (f, col) in [
        ("full_name", "ФИО"),
        ("phone", "Телефон"),
        ("email", "E-mail"),
        ("passport", "Паспорт"),
    ] {
        let mf = cl.field(f).unwrap_or_else(|| panic!("{f} not mapped"));
        assert_eq!(mf.column, col);
        assert_eq!(mf.def.class, clm_core::schema::PrivacyClass::Direct);
    }
    assert_eq!(
        cl.field("phone").unwrap().normalize,
        clm_core::pid::Normalize::Digits
    );
    assert_eq!(
        cl.field("birth_date")
            .unwrap()
            .format
            .as_ref()
            .unwrap()
            .pattern(),
        "DD.MM.YYYY"
    );
    assert_eq!(
        cl.field("registered_on").unwrap().column,
        "Дата регистрации"
    );
    assert!(text.contains("full_name = \"ФИО\""));
    assert!(text.contains("personal, never exported"));
    let ms = m.table("memberships").unwrap();
    for (f, col) in [
        ("membership_id", "Номер абонемента"),
        ("start_date", "Дата начала"),
        ("end_date", "Дата окончания"),
        ("price", "Стоимость"),
        ("status", "Статус"),
    ] {
        assert_eq!(ms.field(f).unwrap().column, col, "{f}");
    }
    assert_eq!(
        m.table("visits")
            .unwrap()
            .field("visited_at")
            .unwrap()
            .column,
        "Время входа"
    );
    assert_eq!(
        m.table("sales").unwrap().field("sold_at").unwrap().column,
        "Дата и время продажи"
    );
    assert_eq!(
        m.table("services")
            .unwrap()
            .field("staff_name")
            .unwrap()
            .def
            .class,
        clm_core::schema::PrivacyClass::Direct
    );

    // Exported with the draft, the bundle holds what the generator's own mapping gives.
    let a = export(&opts(&c, &draft, "a")).unwrap();
    let b = export(&opts(&c, &c.src.join("mapping.toml"), "b")).unwrap();
    let kd = DataKey::load(&c.kd).unwrap();
    let ba = Bundle::open(&c.dir.join("a"), &kd).unwrap();
    let bb = Bundle::open(&c.dir.join("b"), &kd).unwrap();
    for t in [
        "clients",
        "memberships",
        "visits",
        "services",
        "sales",
        "feedback",
    ] {
        assert_eq!(rows(&ba, t), rows(&bb, t), "{t}");
    }
    let cl = a
        .manifest
        .sources
        .iter()
        .find(|s| s.table == "clients")
        .unwrap();
    assert_eq!(cl.rows_rejected, 0);
    assert!(cl.direct_columns.contains(&"Адрес".to_string()));
    assert!(b.manifest.quality["verdict"].is_string());
}

#[test]
fn inspect_finds_columns_by_content_and_english_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("export 1.csv");
    // Comma-separated, English headers, a phone column under a meaningless header, ISO dates.
    let mut text = String::from("Client ID,Name,Col7,Phone,Registered,Secret\n");
    for i in 0..40 {
        text.push_str(&format!(
            "C{i:03},Иванов{i} Пётр Сергеевич,+7 912 345-{:02}-{:02},user{i}@example.com,2024-03-{:02},x{i}\n",
            i, i, i % 28 + 1
        ));
    }
    std::fs::write(&p, &text).unwrap();
    let draft = inspect_text(std::slice::from_ref(&p), tmp.path());
    let m = Mapping::parse(Path::new("d.toml"), &draft, tmp.path()).unwrap();
    let t = m.table("clients").unwrap();
    assert_eq!(t.delimiter, b',');
    assert_eq!(t.field("client_id").unwrap().column, "Client ID");
    assert_eq!(t.field("full_name").unwrap().column, "Name");
    // "Phone" is taken by its header; "Col7" holds phones too: left out, flagged as personal.
    assert_eq!(t.field("phone").unwrap().column, "Phone");
    assert!(
        draft.contains("\"Col7\"") && draft.contains("looks personal (content: phone"),
        "{draft}"
    );
    assert_eq!(
        t.field("registered_on")
            .unwrap()
            .format
            .as_ref()
            .unwrap()
            .pattern(),
        "YYYY-MM-DD"
    );
    assert!(t.field("notes").is_none());
    assert!(draft.contains("# Left out"), "{draft}");
    assert!(!draft.contains("Иванов"));
    assert!(!draft.contains("example.com"));
}

fn inspect_text(files: &[PathBuf], dir: &Path) -> String {
    clm_pseudonymize::inspect::inspect(files, Some(dir)).unwrap()
}

fn workbook(path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let dt = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let s = wb.add_worksheet();
    s.set_name("Клиенты").unwrap();
    for (i, h) in ["Код", "ФИО", "Дата рождения", "Регистрация", "Пол"]
        .iter()
        .enumerate()
    {
        s.write_string(0, i as u16, *h).unwrap();
    }
    // 007 as text, 8 as a number; a date cell, a serial number, a text date.
    s.write_string(1, 0, "007").unwrap();
    s.write_string(1, 1, "Иванова Мария Петровна").unwrap();
    s.write_datetime_with_format(1, 2, ExcelDateTime::from_ymd(1985, 6, 15).unwrap(), &date)
        .unwrap();
    s.write_datetime_with_format(1, 3, ExcelDateTime::from_ymd(2024, 3, 5).unwrap(), &date)
        .unwrap();
    s.write_string(1, 4, "Ж").unwrap();
    s.write_number(2, 0, 8.0).unwrap();
    s.write_string(2, 1, "Петров Пётр Петрович").unwrap();
    s.write_number(2, 2, 31_213.0).unwrap(); // 1985-06-15
    s.write_number(2, 3, 45_292.0).unwrap(); // 2024-01-01
    s.write_string(2, 4, "М").unwrap();
    s.write_string(3, 0, "9").unwrap();
    s.write_string(3, 1, "Сидоров Сидор Сидорович").unwrap();
    s.write_string(3, 3, "05.03.2024").unwrap();
    s.write_string(4, 0, "10").unwrap();
    s.write_string(4, 1, "Кузнецова Анна Ильинична").unwrap();
    s.write_number(4, 3, 60.0).unwrap(); // 29.02.1900: no date
    let v = wb.add_worksheet();
    v.set_name("Посещения").unwrap();
    v.write_string(0, 0, "Код").unwrap();
    v.write_string(0, 1, "Вход").unwrap();
    v.write_string(1, 0, "007").unwrap();
    v.write_datetime_with_format(
        1,
        1,
        ExcelDateTime::from_ymd(2024, 3, 5)
            .unwrap()
            .and_hms(18, 47, 0)
            .unwrap(),
        &dt,
    )
    .unwrap();
    v.write_number(2, 0, 8.0).unwrap();
    v.write_number(2, 1, 45_292.75).unwrap();
    v.write_string(3, 0, "9").unwrap();
    v.write_string(3, 1, "05.03.2024 10:00").unwrap();
    wb.save(path).unwrap();
}

const XLSX_MAPPING: &str = r#"
[source]
date_format = "DD.MM.YYYY"
datetime_format = "DD.MM.YYYY HH:mm"

[policy]
rare_k = 1
k_anonymity = 1

[tables.clients]
file = "club.xlsx"
sheet = "Клиенты"
[tables.clients.fields]
client_id = "Код"
full_name = "ФИО"
birth_date = "Дата рождения"
registered_on = "Регистрация"
gender = { column = "Пол", map = { "Ж" = "f", "М" = "m" } }

[tables.visits]
file = "club.xlsx"
sheet = "Посещения"
[tables.visits.fields]
client_id = "Код"
visited_at = "Вход"
"#;

fn days(y: i32, m: u32, d: u32) -> String {
    clm_core::values::date_to_days(NaiveDate::from_ymd_opt(y, m, d).unwrap()).to_string()
}

#[test]
fn xlsx_sources_export_with_date_cells_and_serials() {
    let c = club(1, clm_synth::Encoding::Utf8);
    let dir = c.dir.join("xl");
    std::fs::create_dir(&dir).unwrap();
    workbook(&dir.join("club.xlsx"));
    std::fs::write(dir.join("mapping.toml"), XLSX_MAPPING).unwrap();
    let s = export(&opts(&c, &dir.join("mapping.toml"), "bundle")).unwrap();
    let kd = DataKey::load(&c.kd).unwrap();
    let b = Bundle::open(&c.dir.join("bundle"), &kd).unwrap();
    let p = Pseudonymizer::new(&PseudonymKey::load(&c.kp).unwrap());
    assert_eq!(
        column(&b, "clients", "client_pid"),
        ["007", "8", "9"].map(|id| p.pid(Domain::Client, id))
    );
    assert_eq!(
        column(&b, "clients", "registered_on"),
        [days(2024, 3, 5), days(2024, 1, 1), days(2024, 3, 5)]
    );
    assert_eq!(column(&b, "clients", "age_band"), ["35-44", "35-44", "∅"]);
    assert_eq!(column(&b, "clients", "gender"), ["f", "m", "∅"]);
    let cl = s
        .manifest
        .sources
        .iter()
        .find(|e| e.table == "clients")
        .unwrap();
    assert_eq!((cl.rows_in, cl.rows_out, cl.rows_rejected), (4, 3, 1));
    assert_eq!(
        cl.rejected_by_reason
            .get("registered_on: expected a date like DD.MM.YYYY"),
        Some(&1)
    );
    assert_eq!(cl.file, "club.xlsx [Клиенты]");
    // The rejected row stays on site beside the workbook, named after its sheet.
    assert!(dir.join("club.Клиенты.rejected.csv").exists());
    let ms = |y, m, d, h| {
        (NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp()
            * 1000)
            .to_string()
    };
    assert_eq!(
        column(&b, "visits", "visited_at"),
        [ms(2024, 3, 5, 18), ms(2024, 1, 1, 18), ms(2024, 3, 5, 10)]
    );
}

#[test]
fn inspect_reads_every_sheet_of_a_workbook() {
    let c = club(1, clm_synth::Encoding::Utf8);
    let dir = c.dir.join("xl");
    std::fs::create_dir(&dir).unwrap();
    workbook(&dir.join("club.xlsx"));
    let draft = dir.join("draft.toml");
    let (code, out, err) = run(bin()
        .arg("inspect")
        .arg(dir.join("club.xlsx"))
        .arg("--out")
        .arg(&draft));
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&draft).unwrap();
    for v in ["Иванова", "Петров", "1985", "2024", "007"] {
        assert!(!text.contains(v), "{v} in {text}");
    }
    let m = Mapping::load(&draft).unwrap();
    let cl = m.table("clients").unwrap();
    assert_eq!(cl.sheet.as_deref(), Some("Клиенты"));
    assert_eq!(cl.field("client_id").unwrap().column, "Код");
    assert_eq!(cl.field("full_name").unwrap().column, "ФИО");
    assert!(
        cl.field("birth_date").is_some() && cl.field("registered_on").is_some(),
        "{text}"
    );
    let v = m.table("visits").unwrap();
    assert_eq!(v.sheet.as_deref(), Some("Посещения"));
    assert_eq!(v.field("visited_at").unwrap().column, "Вход");
    // The draft exports: date cells and serials become dates in the draft's format.
    let s = export(&opts(&c, &draft, "bundle")).unwrap();
    let e = s
        .manifest
        .sources
        .iter()
        .find(|e| e.table == "clients")
        .unwrap();
    assert_eq!(e.rows_in, 4);
    assert!(e.rows_out >= 2, "{e:?}");
    let e = s
        .manifest
        .sources
        .iter()
        .find(|e| e.table == "visits")
        .unwrap();
    assert!(e.rows_out >= 2, "{e:?}");
}

#[test]
fn since_exports_the_later_events_and_everything_else_whole() {
    let c = club(150, clm_synth::Encoding::Utf8);
    let mapping = c.src.join("mapping.toml");
    let since = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    export(&opts(&c, &mapping, "full")).unwrap();
    let mut o = opts(&c, &mapping, "incr");
    o.since = Some(since);
    let s = export(&o).unwrap();
    assert_eq!(s.manifest.since, Some(since));
    let kd = DataKey::load(&c.kd).unwrap();
    let full = Bundle::open(&c.dir.join("full"), &kd).unwrap();
    let incr = Bundle::open(&c.dir.join("incr"), &kd).unwrap();
    assert_eq!(incr.manifest().since, Some(since));
    for t in ["clients", "memberships"] {
        assert_eq!(rows(&full, t), rows(&incr, t), "{t} are exported whole");
    }
    let since_days = clm_core::values::date_to_days(since) as i64;
    for (t, col) in [
        ("visits", "visited_at"),
        ("services", "done_at"),
        ("sales", "sold_at"),
        ("feedback", "answered_on"),
    ] {
        let idx = clm_core::schema::canonical()
            .table(t)
            .unwrap()
            .arrow_schema()
            .index_of(col)
            .unwrap();
        let day = |r: &Vec<String>| {
            let v: i64 = r[idx].parse().unwrap();
            if col == "answered_on" {
                v
            } else {
                (v / 1000).div_euclid(86_400)
            }
        };
        let all = rows(&full, t);
        let later = rows(&incr, t);
        assert!(later.iter().all(|r| day(r) > since_days), "{t}");
        let earlier: Vec<Vec<String>> = all
            .iter()
            .filter(|r| day(r) <= since_days)
            .cloned()
            .collect();
        assert!(
            !later.is_empty() && !earlier.is_empty(),
            "{t}: both sides hold rows"
        );
        let mut union: Vec<Vec<String>> = earlier.into_iter().chain(later).collect();
        let mut all_sorted = all.clone();
        union.sort();
        all_sorted.sort();
        assert_eq!(union, all_sorted, "{t}: full = on-or-before ∪ --since");
        let e = s.manifest.sources.iter().find(|e| e.table == t).unwrap();
        assert_eq!(e.rows_in, e.rows_out + e.rows_rejected);
        let skipped = s.manifest.quality["tables"][t]["rows_on_or_before_since"]
            .as_u64()
            .unwrap();
        assert_eq!(skipped + e.rows_in, all.len() as u64);
    }
    // --since on or after the as-of date exports nothing: refused.
    let mut o = opts(&c, &mapping, "none");
    o.since = Some(as_of());
    assert!(export(&o).unwrap_err().to_string().contains("not before"));
}

fn files_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn rewrap_rotates_the_data_key_without_touching_the_files() {
    let c = club(40, clm_synth::Encoding::Utf8);
    export(&opts(&c, &c.src.join("mapping.toml"), "bundle")).unwrap();
    let bundle = c.dir.join("bundle");
    let before = files_bytes(&bundle);
    assert!(before.len() >= 6);
    let old = DataKey::load(&c.kd).unwrap();
    let data_before = rows(&Bundle::open(&bundle, &old).unwrap(), "visits");
    let (_, new_path) = clm_core::keys::keygen(&c.dir.join("newkeys")).unwrap();
    let (code, out, err) = run(bin()
        .arg("rewrap")
        .arg("--bundle")
        .arg(&bundle)
        .arg("--data-key")
        .arg(&c.kd)
        .arg("--new-data-key")
        .arg(&new_path));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        files_bytes(&bundle),
        before,
        "Parquet files are byte-identical"
    );
    assert!(!bundle.join("manifest.json.tmp").exists());
    let e = Bundle::open(&bundle, &old).unwrap_err().to_string();
    assert!(e.contains("wrong data key"), "{e}");
    let new = DataKey::load(&new_path).unwrap();
    let b = Bundle::open(&bundle, &new).unwrap();
    assert_eq!(b.manifest().data_key_fingerprint, new.fingerprint());
    assert_eq!(rows(&b, "visits"), data_before);
    // Rewrapping again with the old key fails and changes nothing.
    let (code, _, err) = run(bin()
        .arg("rewrap")
        .arg("--bundle")
        .arg(&bundle)
        .arg("--data-key")
        .arg(&c.kd)
        .arg("--new-data-key")
        .arg(&new_path));
    assert_eq!(code, 1);
    assert!(
        err.contains("wrong data key") || err.contains("is the old one"),
        "{err}"
    );
    assert!(Bundle::open(&bundle, &new).is_ok());
}

#[test]
fn check_reports_counts_and_exits_by_the_worst_level() {
    let c = club(120, clm_synth::Encoding::Utf8);
    let mapping = c.src.join("mapping.toml");
    let json = c.dir.join("q.json");
    let (code, out, err) = run(bin()
        .arg("check")
        .arg("--mapping")
        .arg(&mapping)
        .arg("--as-of")
        .arg("2026-11-01")
        .arg("--json")
        .arg(&json));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verdict: "), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["tables"]["clients"]["rows"], 120);
    assert!(
        v["tables"]["visits"]["dates"]["visited_at"]["max"]
            .as_str()
            .unwrap()
            <= "2026-11-01"
    );
    let values = source_values(&c.src);
    let jtext = std::fs::read_to_string(&json).unwrap();
    for v in &values {
        assert!(
            !out.contains(v.as_str()) && !jtext.contains(v.as_str()),
            "{v}"
        );
    }
    // A duplicated client id fails the check (exit 1); the export still runs and records it.
    let clients = std::fs::read_to_string(c.src.join("clients.csv")).unwrap();
    let second = clients.lines().nth(2).unwrap().to_string();
    let dup = second.replacen(second.split(';').next().unwrap(), "0000001", 1);
    std::fs::write(c.src.join("clients.csv"), format!("{clients}{dup}\n")).unwrap();
    let (code, out, _) = run(bin()
        .arg("check")
        .arg("--mapping")
        .arg(&mapping)
        .arg("--as-of")
        .arg("2026-11-01"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("duplicate_ids") && out.contains("fail"),
        "{out}"
    );
    let s = export(&opts(&c, &mapping, "b")).unwrap();
    assert_eq!(s.manifest.quality["verdict"], "fail");
    let text = std::fs::read_to_string(c.dir.join("b/manifest.json")).unwrap();
    assert!(text.contains("\"duplicate_ids\""));
    // A mapping that cannot be read: exit 2.
    let (code, _, err) = run(bin()
        .arg("check")
        .arg("--mapping")
        .arg(c.dir.join("nope.toml")));
    assert_eq!(code, 2, "{err}");
}
