//! The bad-input corpus (tests/corpus at the workspace root): every case is a directory with
//! a mapping, its source files and `expected.toml`. Each is exported with the binary; the
//! outcome must be the expected clear error or the expected row counts, never a panic, and
//! no value planted in the files may appear in any message, summary or manifest. See
//! tests/corpus/README.md for the format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::Array;
use clm_core::bundle::Bundle;
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::pid::{Domain, Pseudonymizer};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    description: String,
    outcome: String,
    message: Option<String>,
    #[serde(default)]
    planted: Vec<String>,
    generate: Option<String>,
    #[serde(default)]
    tables: BTreeMap<String, TableExp>,
    check: Option<CheckExp>,
    /// `table.column` → distinct non-null values in the bundle.
    #[serde(default)]
    distinct: BTreeMap<String, usize>,
    /// `table.column` → a source client id whose pid must be in that column.
    #[serde(default)]
    same_pid: BTreeMap<String, String>,
    /// `table.column` → sum of a money column, in hundredths.
    #[serde(default)]
    sums: BTreeMap<String, i128>,
    /// `table.check` → the count the check reports.
    #[serde(default)]
    check_counts: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableExp {
    rows_out: u64,
    rows_rejected: u64,
    #[serde(default)]
    reasons: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckExp {
    exit: i32,
    #[serde(default)]
    levels: BTreeMap<String, String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clm-pseudonymize"));
    c.env_remove("CLM_PSEUDONYM_KEY").env_remove("CLM_DATA_KEY");
    c
}

fn run(cmd: &mut Command) -> (i32, String) {
    let o = cmd.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

const N1: &str = "Зыбкинова Ульяна Прокловна";
const N2: &str = "Тверитинов Аркадий Ермолаевич";
const N3: &str = "Ноздреватый Елисей Карпович";

fn workbook() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let s = wb.add_worksheet();
    s.set_name("Клиенты").unwrap();
    for (c, h) in ["Код", "ФИО", "Телефон", "Регистрация"].iter().enumerate()
    {
        s.write_string(0, c as u16, *h).unwrap();
    }
    let rows = [
        ("0001", N1, "+7 913 555-01-77"),
        ("0002", N2, "8 (922) 444-19-03"),
        ("0003", N3, "89035550288"),
        ("0004", "Ухватова Гликерия Саввична", "89160000111"),
    ];
    for (r, (id, name, phone)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        s.write_string(r, 0, *id).unwrap();
        s.write_string(r, 1, *name).unwrap();
        s.write_string(r, 2, *phone).unwrap();
    }
    // A date cell, a serial number, a text date, and serial 60 (Excel's 29.02.1900).
    s.write_datetime_with_format(1, 3, ExcelDateTime::from_ymd(2024, 2, 1).unwrap(), &date)
        .unwrap();
    s.write_number(2, 3, 45292.0).unwrap();
    s.write_string(3, 3, "20.04.2024").unwrap();
    s.write_number(4, 3, 60.0).unwrap();
    let other = wb.add_worksheet();
    other.set_name("Прочее").unwrap();
    other.write_string(0, 0, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

fn generate(kind: &str, dir: &Path) {
    match kind {
        "big_field" => {
            let mut text = String::from("Код;ФИО;Телефон;Регистрация;Примечание\n");
            text.push_str(&format!("0001;{N1};+7 913 555-01-77;01.02.2024;\n"));
            text.push_str(&format!(
                "0002;{N2};8 (922) 444-19-03;15.03.2024;ОГРОМНОЕПОЛЕ"
            ));
            text.push_str(&"x".repeat(10 << 20));
            text.push('\n');
            text.push_str(&format!("0003;{N3};89035550288;20.04.2024;\n"));
            std::fs::write(dir.join("clients.csv"), text).unwrap();
        }
        "xlsx" => std::fs::write(dir.join("club.xlsx"), workbook()).unwrap(),
        "xlsx_as_csv" => std::fs::write(dir.join("clients.csv"), workbook()).unwrap(),
        other => panic!("unknown generator {other}"),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn column_values(b: &Bundle, table: &str, col: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for batch in b.read_table(table) {
        let batch = batch.unwrap();
        let a = batch.column_by_name(col).unwrap();
        if let Some(s) = a.as_string_opt::<i32>() {
            out.extend(s.iter().map(|v| v.map(String::from)));
        } else if let Some(d) = a.as_primitive_opt::<Decimal128Type>() {
            out.extend((0..d.len()).map(|i| (!d.is_null(i)).then(|| d.value(i).to_string())));
        } else {
            panic!("{table}.{col}: unexpected type");
        }
    }
    out
}

struct Keys {
    kp: PathBuf,
    kd: PathBuf,
}

/// Runs one case; returns (outcome summary, problems).
fn run_case(case: &Path, work: &Path, keys: &Keys) -> (String, Vec<String>) {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let exp: Expected =
        toml::from_str(&std::fs::read_to_string(case.join("expected.toml")).unwrap())
            .unwrap_or_else(|e| panic!("{name}/expected.toml: {e}"));
    assert!(!exp.description.is_empty());
    let dir = work.join(&name);
    copy_dir(case, &dir);
    if let Some(g) = &exp.generate {
        generate(g, &dir);
    }
    let mut problems = Vec::new();
    let out = dir.join("bundle");
    let (code, msg) = run(bin()
        .arg("export")
        .arg("--mapping")
        .arg(dir.join("mapping.toml"))
        .arg("--pseudonym-key")
        .arg(&keys.kp)
        .arg("--data-key")
        .arg(&keys.kd)
        .arg("--as-of")
        .arg("2026-11-01")
        .arg("--out")
        .arg(&out)
        .arg("--quiet"));
    let mut texts = vec![msg.clone()];
    if !(code == 0 || code == 1) {
        problems.push(format!("exit code {code} (a panic?): {msg}"));
    }
    let mut summary = match exp.outcome.as_str() {
        "error" => {
            let want = exp.message.as_deref().unwrap_or("");
            if code != 1 {
                problems.push(format!("expected an error, got exit {code}: {msg}"));
            } else if !msg.contains(want) {
                problems.push(format!("error does not say {want:?}: {msg}"));
            }
            if out.exists() {
                problems.push("a bundle was written despite the error".into());
            }
            format!(
                "error: {}",
                msg.trim()
                    .trim_start_matches("error: ")
                    .lines()
                    .next()
                    .unwrap_or("")
            )
        }
        "ok" => {
            if code != 0 {
                problems.push(format!("expected success, got exit {code}: {msg}"));
                return (format!("FAILED (exit {code})"), problems);
            }
            let manifest_text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
            texts.push(manifest_text);
            let b = Bundle::open(&out, &DataKey::load(&keys.kd).unwrap()).unwrap();
            let m = b.manifest();
            let mut parts = Vec::new();
            for (t, te) in &exp.tables {
                let Some(e) = m.sources.iter().find(|s| &s.table == t) else {
                    problems.push(format!("no {t} in the manifest"));
                    continue;
                };
                if (e.rows_out, e.rows_rejected) != (te.rows_out, te.rows_rejected) {
                    problems.push(format!(
                        "{t}: rows out/rejected {}/{}, expected {}/{} (reasons {:?})",
                        e.rows_out,
                        e.rows_rejected,
                        te.rows_out,
                        te.rows_rejected,
                        e.rejected_by_reason
                    ));
                }
                for (r, n) in &te.reasons {
                    if e.rejected_by_reason.get(r) != Some(n) {
                        problems.push(format!(
                            "{t}: reason {r:?} ×{n} expected, got {:?}",
                            e.rejected_by_reason
                        ));
                    }
                }
                if e.rows_out + e.rows_rejected != e.rows_in {
                    problems.push(format!("{t}: rows do not add up"));
                }
                let mut p = format!("{t} {} out, {} rejected", e.rows_out, e.rows_rejected);
                if let Some((r, _)) = e.rejected_by_reason.iter().next() {
                    p.push_str(&format!(" ({r})"));
                }
                parts.push(p);
            }
            for (tc, n) in &exp.distinct {
                let (t, c) = tc.split_once('.').unwrap();
                let vals: std::collections::HashSet<_> =
                    column_values(&b, t, c).into_iter().flatten().collect();
                if vals.len() != *n {
                    problems.push(format!(
                        "{tc}: {} distinct values, expected {n}",
                        vals.len()
                    ));
                }
            }
            for (tc, id) in &exp.same_pid {
                let (t, c) = tc.split_once('.').unwrap();
                let p = Pseudonymizer::new(&PseudonymKey::load(&keys.kp).unwrap());
                let pid = p.pid(Domain::Client, id);
                if !column_values(&b, t, c).contains(&Some(pid)) {
                    problems.push(format!("{tc}: no pid of {id:?}"));
                }
            }
            for (tc, sum) in &exp.sums {
                let (t, c) = tc.split_once('.').unwrap();
                let s: i128 = column_values(&b, t, c)
                    .into_iter()
                    .flatten()
                    .map(|v| v.parse::<i128>().unwrap())
                    .sum();
                if s != *sum {
                    problems.push(format!("{tc}: sum {s}, expected {sum}"));
                }
            }
            format!("ok: {}", parts.join("; "))
        }
        o => panic!("{name}: unknown outcome {o}"),
    };
    if let Some(ch) = &exp.check {
        let json = dir.join("quality.json");
        let (code, msg) = run(bin()
            .arg("check")
            .arg("--mapping")
            .arg(dir.join("mapping.toml"))
            .arg("--as-of")
            .arg("2026-11-01")
            .arg("--json")
            .arg(&json)
            .arg("--quiet"));
        texts.push(msg.clone());
        if code != ch.exit {
            problems.push(format!("check exit {code}, expected {}: {msg}", ch.exit));
        }
        if let Ok(j) = std::fs::read_to_string(&json) {
            texts.push(j.clone());
            let v: serde_json::Value = serde_json::from_str(&j).unwrap();
            let find = |tc: &str| {
                let (t, c) = tc.split_once('.').unwrap();
                v["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["table"] == t && x["check"] == c)
                    .cloned()
            };
            let mut flagged = Vec::new();
            for (tc, level) in &ch.levels {
                match find(tc) {
                    Some(x) if x["level"] == level.as_str() => {
                        if level != "pass" {
                            flagged.push(format!("{tc} {level}"));
                        }
                    }
                    other => problems.push(format!("check {tc}: expected {level}, got {other:?}")),
                }
            }
            for (tc, n) in &exp.check_counts {
                match find(tc) {
                    Some(x) if x["count"] == *n => {}
                    other => {
                        problems.push(format!("check {tc}: expected count {n}, got {other:?}"))
                    }
                }
            }
            summary.push_str(&format!("; check exit {code}: {}", flagged.join(", ")));
        } else {
            problems.push("check wrote no JSON".into());
        }
    }
    for t in &texts {
        for p in &exp.planted {
            if t.contains(p.as_str()) {
                problems.push(format!("the output holds the planted value {p:?}"));
            }
        }
    }
    (summary, problems)
}

#[test]
fn the_bad_input_corpus() {
    let corpus = corpus_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let tmp = tempfile::tempdir().unwrap();
    let (kp, kd) = clm_core::keys::keygen(&tmp.path().join("keys")).unwrap();
    let keys = Keys { kp, kd };
    let mut failed = Vec::new();
    let mut table = String::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let (summary, problems) = run_case(case, tmp.path(), &keys);
        table.push_str(&format!("| {name} | {summary} |\n"));
        for p in problems {
            failed.push(format!("{name}: {p}"));
        }
    }
    println!("| case | outcome |\n|---|---|\n{table}");
    assert!(
        failed.is_empty(),
        "{} problems:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
