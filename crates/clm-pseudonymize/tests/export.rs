//! The pseudonymizer on a small hand-made export whose every output value is worked out
//! by hand below.

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, TimestampMillisecondType};
use arrow_array::RecordBatch;
use clm_core::bundle::Bundle;
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::pid::{Domain, Pseudonymizer};
use clm_pseudonymize::{export, ExportOptions};

const MAPPING: &str = r#"
[source]
delimiter = ";"
date_format = "DD.MM.YYYY"
datetime_format = "DD.MM.YYYY HH:mm"
decimal_comma = true

[policy]
rare_k = 2
k_anonymity = 1   # the four clients here would all be suppressed at k = 5

[tables.clients]
file = "clients.csv"
[tables.clients.fields]
client_id = "Код"
full_name = "ФИО"
phone = { column = "Телефон", normalize = "digits" }
birth_date = "Дата рождения"
gender = { column = "Пол", map = { "Ж" = "f", "М" = "m" } }
branch = "Филиал"
postal_code = "Индекс"
registered_on = "Регистрация"
lead_source = "Источник"

[tables.visits]
file = "visits.csv"
[tables.visits.fields]
client_id = "Код"
visited_at = "Вход"
branch = "Филиал"

[tables.memberships]
file = "memberships.csv"
[tables.memberships.fields]
membership_id = "Номер"
client_id = "Код"
start_date = "Начало"
end_date = "Конец"
price = "Цена"
status = { column = "Статус", map = { "Активен" = "active", "Аннулирован" = "cancelled" } }
"#;

// Five clients; "Тайная акция" is used by one client only (rare at k = 2); client 0004 has a
// birth date that does not exist and is rejected.
const CLIENTS: &str = "Код;ФИО;Телефон;Дата рождения;Пол;Филиал;Индекс;Регистрация;Источник;Адрес\n\
0001;Иванова Мария Петровна;+7 (912) 345-67-89;02.11.2008;Ж;Центр;119019;01.02.2024;Сайт;ул. Тестовая, 1\n\
0002;Петров Пётр Петрович;89123456780;01.11.2008;М;Центр;119019;01.03.2024;Сайт;ул. Тестовая, 2\n\
1;Сидоров Сидор Сидорович;8-912-000-00-01;15.06.1980;М;Север;630000;05.05.2024;Тайная акция;ул. Тестовая, 3\n\
0004;Кузнецова Анна Ильинична;89120000002;31.02.1990;Ж;Север;630001;06.06.2024;Сайт;ул. Тестовая, 4\n\
0005;Смирнов Олег Олегович;89120000003;;М;Север;;07.07.2024;;ул. Тестовая, 5\n";

const VISITS: &str = "Код;Вход;Филиал\n\
0001;05.03.2026 18:47;Центр\n\
1;05.03.2026 07:05;Север\n\
;05.03.2026 09:00;Север\n\
0002;32.03.2026 10:00;Центр\n";

const MEMBERSHIPS: &str = "Номер;Код;Начало;Конец;Цена;Статус\n\
M1;0001;01.02.2024;31.01.2025;1 500,50;Активен\n\
M2;0002;01.03.2024;31.03.2024;-20;Аннулирован\n\
M3;0002;01.04.2024;30.04.2024;100;Непонятно\n";

fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    kp: PathBuf,
    kd: PathBuf,
}

fn fixture(clients: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    std::fs::write(dir.join("mapping.toml"), MAPPING).unwrap();
    std::fs::write(dir.join("clients.csv"), clients).unwrap();
    std::fs::write(dir.join("visits.csv"), VISITS).unwrap();
    std::fs::write(dir.join("memberships.csv"), MEMBERSHIPS).unwrap();
    let (kp, kd) = clm_core::keys::keygen(&dir.join("keys")).unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        kp,
        kd,
    }
}

fn opts(f: &Fixture, out: &str) -> ExportOptions {
    ExportOptions {
        mapping: f.dir.join("mapping.toml"),
        pseudonym_key: Some(f.kp.clone()),
        data_key: Some(f.kd.clone()),
        as_of: Some(as_of()),
        out: f.dir.join(out),
        redact: false,
        progress: false,
        since: None,
        allow_empty: false,
    }
}

fn read(b: &Bundle, table: &str) -> RecordBatch {
    let batches: Vec<RecordBatch> = b.read_table(table).map(|r| r.unwrap()).collect();
    arrow_select_concat(&batches)
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    assert_eq!(batches.len(), 1, "small fixtures fit in one batch");
    batches[0].clone()
}

fn strings(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    b.column_by_name(col)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(String::from))
        .collect()
}

#[test]
fn export_applies_the_column_policy() {
    let f = fixture(CLIENTS);
    let s = export(&opts(&f, "bundle")).unwrap();
    let kd = DataKey::load(&f.kd).unwrap();
    let b = Bundle::open(&f.dir.join("bundle"), &kd).unwrap();
    let p = Pseudonymizer::new(&PseudonymKey::load(&f.kp).unwrap());

    let c = read(&b, "clients");
    assert_eq!(c.num_rows(), 4, "0004 has 31.02 as birth date: rejected");
    assert_eq!(
        strings(&c, "client_pid"),
        ["0001", "0002", "1", "0005"]
            .iter()
            .map(|id| Some(p.pid(Domain::Client, id)))
            .collect::<Vec<_>>()
    );
    // Age at 2026-11-01: born 02.11.2008 → 17; 01.11.2008 → 18; 15.06.1980 → 46.
    assert_eq!(
        strings(&c, "age_band"),
        [Some("<18"), Some("18-24"), Some("45-54"), None].map(|v| v.map(String::from))
    );
    assert_eq!(
        strings(&c, "gender"),
        [Some("f"), Some("m"), Some("m"), Some("m")].map(|v| v.map(String::from))
    );
    assert_eq!(
        strings(&c, "postal_prefix"),
        [Some("119"), Some("119"), Some("630"), None].map(|v| v.map(String::from))
    );
    // rare_k = 2: "Сайт" has clients 0001, 0002 (0004 was rejected in the export, but the
    // scan counts it too); "Тайная акция" has one client → other. Branches: Центр has 2,
    // Север has 1, 0004 (rejected) and 0005 → common.
    assert_eq!(
        strings(&c, "lead_source"),
        [Some("Сайт"), Some("Сайт"), Some("other"), None].map(|v| v.map(String::from))
    );
    assert_eq!(
        strings(&c, "branch"),
        ["Центр", "Центр", "Север", "Север"].map(|v| Some(v.to_string()))
    );
    let reg = c
        .column_by_name("registered_on")
        .unwrap()
        .as_primitive::<Date32Type>();
    assert_eq!(
        clm_core::values::days_to_date(reg.value(0))
            .unwrap()
            .to_string(),
        "2024-02-01"
    );

    let v = read(&b, "visits");
    assert_eq!(v.num_rows(), 2, "an empty id and 32.03 are rejected");
    let t = v
        .column_by_name("visited_at")
        .unwrap()
        .as_primitive::<TimestampMillisecondType>();
    // 05.03.2026 18:47 → 18:00 (truncated to the hour)
    let secs = chrono::NaiveDate::from_ymd_opt(2026, 3, 5)
        .unwrap()
        .and_hms_opt(18, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    assert_eq!(t.value(0), secs * 1000);
    assert_eq!(t.value(1), (secs - 11 * 3600) * 1000);

    let m = read(&b, "memberships");
    assert_eq!(m.num_rows(), 2, "an unknown status is rejected");
    let price = m
        .column_by_name("price")
        .unwrap()
        .as_primitive::<Decimal128Type>();
    assert_eq!(price.value(0), 150_050);
    assert_eq!(price.value(1), -2_000);
    assert_eq!(
        strings(&m, "status"),
        [Some("active"), Some("cancelled")].map(|v| v.map(String::from))
    );
    assert_eq!(
        strings(&m, "membership_pid")[0],
        Some(p.pid(Domain::Membership, "M1"))
    );

    // The manifest accounts for every row and names what was dropped, never a value.
    let man = &s.manifest;
    let cl = man.sources.iter().find(|e| e.table == "clients").unwrap();
    assert_eq!((cl.rows_in, cl.rows_out, cl.rows_rejected), (5, 4, 1));
    assert_eq!(cl.dropped_columns, ["Адрес"]);
    assert_eq!(cl.direct_columns, ["ФИО", "Телефон"]);
    assert_eq!(cl.rare_values_replaced.get("lead_source"), Some(&1));
    let vi = man.sources.iter().find(|e| e.table == "visits").unwrap();
    assert_eq!((vi.rows_in, vi.rows_out, vi.rows_rejected), (4, 2, 2));
    assert_eq!(vi.rejected_by_reason.get("client_id: empty"), Some(&1));
    assert_eq!(
        vi.rejected_by_reason.get("visited_at: not a calendar date"),
        Some(&1)
    );
    // Rejected rows stay on site next to the source, with the reason.
    let rej = std::fs::read_to_string(f.dir.join("visits.rejected.csv")).unwrap();
    assert!(rej.contains("client_id: empty"));
    assert_eq!(s.rejects.len(), 3);
    let text = std::fs::read_to_string(f.dir.join("bundle/manifest.json")).unwrap();
    for personal in [
        "Иванова",
        "345-67-89",
        "89123456780",
        "ул. Тестовая",
        "Тайная",
        "31.02.1990",
    ] {
        assert!(!text.contains(personal), "manifest holds {personal}");
    }
}

#[test]
fn pii_in_a_category_stops_the_export_unless_redacted() {
    let clients = CLIENTS.replace("Тайная акция", "звонить +7 912 345-67-89");
    let f = fixture(&clients);
    let e = export(&opts(&f, "bundle")).unwrap_err().to_string();
    assert!(
        e.contains("clients.lead_source: 1 distinct values (phone: 1)"),
        "{e}"
    );
    assert!(!e.contains("912"), "the error repeats the value: {e}");
    assert!(!f.dir.join("bundle").exists());
    assert_eq!(
        std::fs::read_dir(&f.dir)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial"))
            .count(),
        0
    );
    let mut o = opts(&f, "bundle");
    o.redact = true;
    let s = export(&o).unwrap();
    let b = Bundle::open(&f.dir.join("bundle"), &DataKey::load(&f.kd).unwrap()).unwrap();
    let c = read(&b, "clients");
    assert_eq!(strings(&c, "lead_source")[2].as_deref(), Some("redacted"));
    let cl = s
        .manifest
        .sources
        .iter()
        .find(|e| e.table == "clients")
        .unwrap();
    assert_eq!(cl.redacted_values.get("lead_source"), Some(&1));
}

#[test]
fn cp1251_and_utf8_sources_give_the_same_contents() {
    let f = fixture(CLIENTS);
    export(&opts(&f, "a")).unwrap();
    for name in ["clients.csv", "visits.csv", "memberships.csv"] {
        let p = f.dir.join(name);
        let text = std::fs::read_to_string(&p).unwrap();
        let (bytes, _, bad) = encoding_rs::WINDOWS_1251.encode(&text);
        assert!(!bad);
        std::fs::write(&p, bytes).unwrap();
    }
    export(&opts(&f, "b")).unwrap();
    let kd = DataKey::load(&f.kd).unwrap();
    let a = Bundle::open(&f.dir.join("a"), &kd).unwrap();
    let b = Bundle::open(&f.dir.join("b"), &kd).unwrap();
    for t in ["clients", "visits", "memberships"] {
        assert_eq!(read(&a, t), read(&b, t), "{t}");
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clm-pseudonymize"))
}

fn run(cmd: &mut Command) -> (i32, String) {
    let o = cmd.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn export_cmd(f: &Fixture, out: &Path) -> Command {
    let mut c = bin();
    c.arg("export")
        .arg("--mapping")
        .arg(f.dir.join("mapping.toml"))
        .arg("--pseudonym-key")
        .arg(&f.kp)
        .arg("--data-key")
        .arg(&f.kd)
        .arg("--as-of")
        .arg("2026-11-01")
        .arg("--out")
        .arg(out)
        .env_remove("CLM_PSEUDONYM_KEY")
        .env_remove("CLM_DATA_KEY");
    c
}

/// Rebuilds `c` with the value after `flag` replaced.
fn replace_arg(c: &mut Command, flag: &str, value: &std::ffi::OsStr) {
    let args: Vec<std::ffi::OsString> = c.get_args().map(|a| a.to_os_string()).collect();
    let mut n = bin();
    n.env_remove("CLM_PSEUDONYM_KEY").env_remove("CLM_DATA_KEY");
    let mut i = 0;
    while i < args.len() {
        n.arg(&args[i]);
        if args[i] == flag {
            n.arg(value);
            i += 1;
        }
        i += 1;
    }
    *c = n;
}

#[test]
fn cli_bad_input_gives_clear_errors_and_no_bundle() {
    let f = fixture(CLIENTS);
    // A mapped column missing from the source.
    let m = MAPPING.replace(
        "branch = \"Филиал\"\npostal_code",
        "branch = \"Отделение\"\npostal_code",
    );
    std::fs::write(f.dir.join("mapping.toml"), m).unwrap();
    let (code, msg) = run(&mut export_cmd(&f, &f.dir.join("b1")));
    assert_eq!(code, 1);
    assert!(
        msg.contains("clients.csv")
            && msg.contains("\"Отделение\"")
            && msg.contains("not in the header"),
        "{msg}"
    );
    assert!(!f.dir.join("b1").exists());
    std::fs::write(f.dir.join("mapping.toml"), MAPPING).unwrap();

    // A malformed mapping.
    std::fs::write(f.dir.join("mapping.toml"), "[tables.clients\nfile=").unwrap();
    let (code, msg) = run(&mut export_cmd(&f, &f.dir.join("b2")));
    assert_eq!(code, 1);
    assert!(
        msg.contains("mapping.toml") && msg.contains("line 1"),
        "{msg}"
    );
    std::fs::write(f.dir.join("mapping.toml"), MAPPING).unwrap();

    // A key file others may read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f.kp, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, msg) = run(&mut export_cmd(&f, &f.dir.join("b3")));
        assert_eq!(code, 1);
        assert!(msg.contains("chmod 600"), "{msg}");
        std::fs::set_permissions(&f.kp, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // A key of the wrong length.
    let short = f.dir.join("short.key");
    std::fs::write(&short, "abcd\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut c = export_cmd(&f, &f.dir.join("b4"));
    replace_arg(&mut c, "--data-key", short.as_os_str());
    let (code, msg) = run(&mut c);
    assert_eq!(code, 1);
    assert!(msg.contains("short.key") && msg.contains("64 hex"), "{msg}");

    // An output directory that exists and is not empty.
    let busy = f.dir.join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("x"), "x").unwrap();
    let (code, msg) = run(&mut export_cmd(&f, &busy));
    assert_eq!(code, 1);
    assert!(msg.contains("not an empty directory"), "{msg}");

    // An undecodable file is read, and its bad rows are counted, not lost.
    let mut bytes = std::fs::read(f.dir.join("visits.csv")).unwrap();
    bytes.extend_from_slice(b"0001;05.03.2026 10:00;\xff\xfe\n");
    std::fs::write(f.dir.join("visits.csv"), bytes).unwrap();
    let mut c = export_cmd(&f, &f.dir.join("b5"));
    let (code, msg) = run(&mut c);
    assert_eq!(code, 0, "{msg}");
    assert!(msg.contains("visits"), "{msg}");

    // No personal value in any message.
    for personal in ["Иванова", "345-67-89", "ул. Тестовая"] {
        assert!(!msg.contains(personal));
    }

    // A key pasted on the command line is refused.
    let mut c = export_cmd(&f, &f.dir.join("b6"));
    replace_arg(&mut c, "--data-key", std::ffi::OsStr::new(&"ab".repeat(32)));
    let (code, msg) = run(&mut c);
    assert_eq!(code, 1);
    assert!(msg.contains("looks like a key"), "{msg}");
}

#[test]
fn keygen_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _) = run(bin().arg("keygen").arg("--out").arg(tmp.path()));
    assert_eq!(code, 0);
    let (code, msg) = run(bin().arg("keygen").arg("--out").arg(tmp.path()));
    assert_eq!(code, 1);
    assert!(msg.contains("refusing to overwrite"), "{msg}");
}

#[test]
fn the_club_name_goes_from_the_mapping_into_the_manifest() {
    let f = fixture(CLIENTS);
    // Without `club`, the manifest has none (as bundles of earlier versions).
    let s = export(&opts(&f, "plain")).unwrap();
    assert_eq!(s.manifest.club, None);
    let text = std::fs::read_to_string(f.dir.join("plain/manifest.json")).unwrap();
    assert!(!text.contains("\"club\""), "{text}");
    assert_eq!(s.manifest.club_name(&f.dir.join("plain")), "plain");

    let name = "Фитнес-Север №2 (Тверская)";
    std::fs::write(
        f.dir.join("mapping.toml"),
        format!("club = \"{name}\"\n{MAPPING}"),
    )
    .unwrap();
    let out = f.dir.join("named");
    let (code, said) = run(&mut export_cmd(&f, &out));
    assert_eq!(code, 0, "{said}");
    assert!(said.contains(&format!("club {name}")), "{said}");
    let kd = DataKey::resolve(Some(&f.kd)).unwrap();
    let b = Bundle::open(&out, &kd).unwrap();
    assert_eq!(b.manifest().club.as_deref(), Some(name));
    assert_eq!(b.manifest().club_name(&out), name);
    // A new data key keeps the name (and the HMAC over it).
    let kd2 = DataKey::generate();
    clm_core::bundle::rewrap(&out, &kd, &kd2).unwrap();
    let b = Bundle::open(&out, &kd2).unwrap();
    assert_eq!(b.manifest().club.as_deref(), Some(name));

    // A name with a path separator stops the export before anything is written.
    std::fs::write(
        f.dir.join("mapping.toml"),
        format!("club = \"North/South\"\n{MAPPING}"),
    )
    .unwrap();
    let out = f.dir.join("refused");
    let (code, said) = run(&mut export_cmd(&f, &out));
    assert_ne!(code, 0, "{said}");
    assert!(
        said.contains("club") && said.contains("path separator"),
        "{said}"
    );
    assert!(!out.exists());
}

#[test]
fn a_synthetic_club_of_a_network_exports_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    clm_synth::generate_club(
        &clm_synth::Config {
            clients: 120,
            seed: 11,
            as_of: as_of(),
            out: src.clone(),
            encoding: clm_synth::Encoding::Utf8,
        },
        clm_synth::Profile::Fitness,
        &clm_synth::Club::named("Сеть «Атлет», клуб 11"),
    )
    .unwrap();
    let (kp, kd) = clm_core::keys::keygen(&tmp.path().join("keys")).unwrap();
    let out = tmp.path().join("bundle");
    let s = export(&ExportOptions {
        pseudonym_key: Some(kp),
        data_key: Some(kd.clone()),
        as_of: Some(as_of()),
        ..ExportOptions::new(src.join(clm_synth::MAPPING_FILE), &out)
    })
    .unwrap();
    assert_eq!(s.manifest.club.as_deref(), Some("Сеть «Атлет», клуб 11"));
    let b = Bundle::open(&out, &DataKey::resolve(Some(&kd)).unwrap()).unwrap();
    assert_eq!(b.manifest().club_name(&out), "Сеть «Атлет», клуб 11");
}
