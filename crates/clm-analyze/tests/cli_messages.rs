//! What the user sees (issue 15, 16.8): errors in the user's words with one prefix, a
//! mistyped analysis name, shares as percentages in tables, several outputs and `--out`,
//! and the shell's row limit, timing and settings.

mod fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clm_core::bundle::{BundleWriter, ManifestDraft};
use clm_core::keys::{write_key_file, DataKey, KeyKind};
use fixture::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clm-analyze"));
    c.env_remove("CLM_DATA_KEY");
    c
}

/// A bundle of four clients at D = 2024-03-18 (one lapsed: a share of 0.25), and its key.
fn bundle(dir: &Path) -> (PathBuf, PathBuf) {
    let key = DataKey::generate();
    let kf = dir.join("data.key");
    write_key_file(&kf, KeyKind::Data, &key.0).unwrap();
    let mut f = Fixture::new();
    f.client("c1", "2024-01-01")
        .membership("m1", "c1", "2024-02-20", "2024-06-20")
        .visit("c1", "2024-03-10 10:00");
    f.client("c2", "2024-01-01")
        .membership("m2", "c2", "2023-06-01", "2024-01-31")
        .visit("c2", "2024-01-10 10:00");
    f.client_in("c3", "B", "2024-01-01");
    f.client_in("c4", "B", "2023-01-01")
        .membership("m4", "c4", "2023-01-01", "2024-12-31")
        .visit("c4", "2024-03-17 18:00");
    let b = dir.join("b");
    let mut w = BundleWriter::create(&b, &key, date("2024-03-18")).unwrap();
    for t in ["clients", "memberships", "visits"] {
        w.write_batch(t, &f.batch(t)).unwrap();
    }
    w.finish(ManifestDraft {
        pseudonym_key_fingerprint: "00112233aabbccdd".into(),
        ..Default::default()
    })
    .unwrap();
    (b, kf)
}

fn run(args: &[&str], b: &Path, kf: &Path) -> (Option<i32>, String, String) {
    let out = bin()
        .args(args)
        .arg("--bundle")
        .arg(b)
        .arg("--data-key")
        .arg(kf)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_mistyped_analysis_name_gets_a_suggestion() {
    let tmp = tempfile::tempdir().unwrap();
    let (b, kf) = bundle(tmp.path());
    let (code, _, err) = run(&["run", "segmentaton"], &b, &kf);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with(
            "clm-analyze: error: no such analysis: segmentaton; did you mean segmentation?"
        ),
        "{err}"
    );
    // far from every name: the list
    let (_, _, err) = run(&["run", "xyzzy"], &b, &kf);
    assert!(
        err.contains("no such analysis: xyzzy (the analyses: segmentation"),
        "{err}"
    );
    // a real analysis the profile does not offer still says so
    let (_, _, err) = run(&["run", "metrics", "--profile", "auto_service"], &b, &kf);
    assert!(
        err.contains("does not apply to profile auto_service"),
        "{err}"
    );
}

#[test]
fn sql_errors_are_in_the_users_words() {
    let tmp = tempfile::tempdir().unwrap();
    let (b, kf) = bundle(tmp.path());
    let (code, _, err) = run(&["sql", "SELEC 1"], &b, &kf);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("clm-analyze: error: syntax error: "),
        "{err}"
    );
    assert!(!err.contains("ParserError"), "{err}");
    assert!(!err.contains("(\""), "{err}");
    let (_, _, err) = run(&["sql", "SELECT * FROM clm.bundle.nosuch"], &b, &kf);
    assert!(
        err.contains("no table nosuch; the tables are: clients, memberships, visits"),
        "{err}"
    );
    assert!(!err.contains("clm.bundle"), "{err}");
}

#[test]
fn tables_show_shares_as_percentages_csv_keeps_fractions() {
    let tmp = tempfile::tempdir().unwrap();
    let (b, kf) = bundle(tmp.path());
    let (code, table, err) = run(&["run", "segmentation"], &b, &kf);
    assert_eq!(code, Some(0), "{err}");
    // (all) lapsed: 1 of 4 clients
    let line = table
        .lines()
        .find(|l| l.contains("(all)") && l.contains("lapsed"))
        .unwrap();
    assert!(line.contains("25.0%"), "{line}");
    let (_, csv, _) = run(&["run", "segmentation", "--format", "csv"], &b, &kf);
    assert!(csv.contains("(all),lapsed,1,0.25,4"), "{csv}");
}

#[test]
fn several_outputs_go_into_a_directory_or_say_where_they_went() {
    let tmp = tempfile::tempdir().unwrap();
    let (b, kf) = bundle(tmp.path());
    let f = tmp.path().join("m.csv");
    let (code, _, err) = run(
        &[
            "run",
            "metrics",
            "--format",
            "csv",
            "--out",
            f.to_str().unwrap(),
        ],
        &b,
        &kf,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(!f.exists());
    assert!(tmp.path().join("m.metrics.csv").exists());
    assert!(tmp.path().join("m.starter_delivery.csv").exists());
    assert!(
        err.contains("2 outputs (metrics, starter_delivery), so one file each beside"),
        "{err}"
    );
    let dir = tmp.path().join("out/");
    let (code, _, err) = run(
        &[
            "run",
            "metrics",
            "--format",
            "csv",
            "--out",
            dir.to_str().unwrap(),
        ],
        &b,
        &kf,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.join("metrics.csv").exists(), "{err}");
    assert!(dir.join("starter_delivery.csv").exists(), "{err}");
    assert!(!err.contains("beside"), "{err}");
}

/// Runs the shell with `input` on stdin.
fn shell(input: &str) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let (b, kf) = bundle(tmp.path());
    let mut child = bin()
        .args(["shell", "--bundle"])
        .arg(&b)
        .arg("--data-key")
        .arg(&kf)
        .env("HOME", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_shell_limits_rows_times_statements_and_shows_its_settings() {
    let (out, err) = shell(
        "SELECT value FROM generate_series(1, 100);\n\
         \\format\n\
         \\pset maxrows 3\n\
         SELECT value FROM generate_series(1, 100);\n\
         \\pset maxrows unlimited\n\
         \\pset\n\
         \\format csv\n\
         \\format\n\
         \\q\n",
    );
    // default 40 rows shown of 100
    assert!(out.contains("(100 rows, showing 40)"), "{out}");
    assert!(
        out.contains("│ 40    │") || out.contains("│    40 │"),
        "{out}"
    );
    assert!(!out.contains("│ 41 "), "{out}");
    assert!(out.contains("format table"), "{out}");
    assert!(out.contains("(100 rows, showing 3)"), "{out}");
    assert!(out.contains("maxrows unlimited"), "{out}");
    assert!(out.contains("format csv"), "{out}");
    assert!(err.contains("time: "), "{err}");
}

#[test]
fn help_texts_have_no_runs_of_spaces_mid_sentence() {
    for (cmd, start) in [
        ("targets", "The targets file names"),
        ("report", "Writes into --out DIR"),
    ] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        let from = help
            .find(start)
            .unwrap_or_else(|| panic!("{cmd} --help: {help}"));
        let to = from + help[from..].find("Examples:").unwrap();
        // clap wraps the paragraph at spaces: the line breaks stand for one space each
        let text = help[from..to].trim().replace('\n', " ");
        assert!(!text.contains("  "), "{cmd} --help: {text:?}");
    }
}
