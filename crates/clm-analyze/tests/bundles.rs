//! Reading real encrypted bundles (written by clm-core's BundleWriter), through the library
//! and through the `clm-analyze` binary: verification and refusals, several bundles, exit
//! codes, output formats, and that no key material is printed except by `dek`.

mod fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use clm_analyze::bundles;
use clm_analyze::{Engine, Library, Profile};
use clm_core::bundle::{BundleWriter, ManifestDraft};
use clm_core::keys::{write_key_file, DataKey, KeyKind};
use fixture::*;

const FINGERPRINT: &str = "00112233aabbccdd";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clm-analyze"));
    c.env_remove("CLM_DATA_KEY");
    c
}

fn key_file(dir: &Path, key: &DataKey) -> PathBuf {
    let p = dir.join("data.key");
    write_key_file(&p, KeyKind::Data, &key.0).unwrap();
    p
}

/// Writes the fixture's tables (those with rows) as a bundle.
fn write_bundle(dir: &Path, key: &DataKey, as_of: &str, f: &Fixture, tables: &[&str]) {
    write_bundle_fp(dir, key, as_of, f, tables, FINGERPRINT)
}

fn write_bundle_fp(
    dir: &Path,
    key: &DataKey,
    as_of: &str,
    f: &Fixture,
    tables: &[&str],
    fingerprint: &str,
) {
    let mut w = BundleWriter::create(dir, key, date(as_of)).unwrap();
    for t in tables {
        w.write_batch(t, &f.batch(t)).unwrap();
    }
    w.finish(ManifestDraft {
        pseudonym_key_fingerprint: fingerprint.into(),
        ..Default::default()
    })
    .unwrap();
}

/// A small club: the same clients as the stage tests use, at D = 2024-03-18.
fn club() -> Fixture {
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
    f.service(
        "c4",
        "2024-03-15 10:00",
        "PT",
        "personal_training",
        "done",
        "pt",
    );
    f.sale("s1", "c4", "2024-03-15 10:00", "personal_training", 150000);
    f.feedback("c4", "2024-02-10", 9);
    f
}

const ALL: &[&str] = &[
    "clients",
    "memberships",
    "visits",
    "services",
    "sales",
    "feedback",
];

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_real_bundle_gives_the_same_stages_as_in_memory_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let bundle = tmp.path().join("b");
    let f = club();
    write_bundle(&bundle, &key, "2024-03-18", &f, ALL);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let opened = bundles::open_all(std::slice::from_ref(&bundle), &key).unwrap();
    let mut engine = Engine::new();
    rt.block_on(bundles::register(&mut engine, &opened))
        .unwrap();
    // D defaults to the bundle's as-of date.
    assert_eq!(engine.default_as_of(), Some(date("2024-03-18")));
    let analysis = Library::embedded().analysis("segmentation").unwrap();
    let profile = Profile::fitness();
    let from_bundle = rt
        .block_on(engine.run(&analysis, &profile, date("2024-03-18"), Some("clients")))
        .unwrap();
    let from_memory = run(
        &f.engine(),
        "segmentation",
        "2024-03-18",
        &[],
        Some("clients"),
    );
    let a = Rows::of(&from_bundle.outputs[0]);
    let b = Rows::of(&from_memory[0]);
    assert_eq!(a.rows, b.rows);
    // c1 newcomer (started 27 days ago), c2 lapsed (ended 47 days ago), c3 lead,
    // c4 pt_engaged (visited yesterday, PT 3 days ago).
    let stage = a.map("client_pid", "stage");
    assert_eq!(stage["c1"], "newcomer");
    assert_eq!(stage["c2"], "lapsed");
    assert_eq!(stage["c3"], "lead");
    assert_eq!(stage["c4"], "pt_engaged");
    // Every analysis runs on the bundle (loyalty with the example points rules; targets,
    // whose targets come from a file, in tests/targets.rs).
    let mut with_rules = profile.clone();
    clm_analyze::loyalty::LoyaltyRules::parse(include_str!("../../../examples/loyalty.toml"))
        .unwrap()
        .apply(&mut with_rules);
    for name in clm_analyze::queries::ANALYSES {
        if *name == "targets" {
            continue;
        }
        let a = Library::embedded().analysis(name).unwrap();
        let mut p = with_rules.clone();
        if *name == "list" {
            for (k, v) in p.list("win_back").unwrap().clone().params("win_back") {
                p.insert_param(k, v);
            }
        }
        rt.block_on(engine.run(&a, &p, date("2024-03-18"), None))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
}

#[test]
fn cli_runs_an_analysis_on_a_bundle_and_prints_no_key() {
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let kf = key_file(tmp.path(), &key);
    let bundle = tmp.path().join("b");
    write_bundle(&bundle, &key, "2024-03-18", &club(), ALL);
    let opened = bundles::open_all(std::slice::from_ref(&bundle), &key).unwrap();
    let dek_b64 = opened[0].bundle.dek().to_base64();
    let dek_hex = opened[0].bundle.dek().to_hex();
    let kd_hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();

    let out = bin()
        .args(["run", "segmentation", "--format", "csv", "--bundle"])
        .arg(&bundle)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.starts_with("branch,stage,clients,share,base"),
        "{text}"
    );
    assert!(text.contains("(all),lapsed,1,0.25,4"), "{text}");

    // The data key from the environment works the same; SQL errors exit 1 with DataFusion's
    // message.
    let out = bin()
        .env("CLM_DATA_KEY", &kd_hex)
        .args([
            "sql",
            "SELECT count(*) AS n FROM clients WHERE registered_on <= $as_of",
            "--format",
            "json",
            "--bundle",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).trim(), r#"[{"n":4}]"#);
    let out = bin()
        .env("CLM_DATA_KEY", &kd_hex)
        .args(["sql", "SELECT no_such_column FROM clients", "--bundle"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no_such_column"),
        "{}",
        stderr_of(&out)
    );

    // EXPLAIN shows the plan, not the key.
    let out = bin()
        .env("CLM_DATA_KEY", &kd_hex)
        .args([
            "sql",
            "EXPLAIN VERBOSE SELECT * FROM visits",
            "--format",
            "csv",
            "--bundle",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    for (what, out) in [("explain", &out)] {
        let all = format!("{}{}", stdout_of(out), stderr_of(out));
        for secret in [&dek_b64, &dek_hex, &kd_hex] {
            assert!(
                !all.contains(secret.as_str()),
                "{what} printed key material"
            );
        }
    }

    // Only `dek` prints the DEK, base64.
    let out = bin()
        .args(["dek", "--bundle"])
        .arg(&bundle)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains(&dek_b64));
    assert!(!stdout_of(&out).contains(&kd_hex));
}

#[test]
fn bundles_that_fail_verification_are_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let kf = key_file(tmp.path(), &key);
    let good = tmp.path().join("good");
    write_bundle(&good, &key, "2024-03-18", &club(), ALL);
    let run_on = |bundle: &Path, key_file: &Path| {
        bin()
            .args(["run", "segmentation", "--bundle"])
            .arg(bundle)
            .arg("--data-key")
            .arg(key_file)
            .output()
            .unwrap()
    };
    assert!(run_on(&good, &kf).status.success());

    // A wrong data key.
    let other_dir = tempfile::tempdir().unwrap();
    let wrong = key_file(other_dir.path(), &DataKey::generate());
    let out = run_on(&good, &wrong);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("refused"), "{}", stderr_of(&out));

    // A tampered file.
    let tampered = tmp.path().join("tampered");
    write_bundle(&tampered, &key, "2024-03-18", &club(), ALL);
    let p = tampered.join("visits.parquet");
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&p, bytes).unwrap();
    let out = run_on(&tampered, &kf);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("refused") && err.contains("visits.parquet"),
        "{err}"
    );

    // A missing manifest.
    let bare = tmp.path().join("bare");
    write_bundle(&bare, &key, "2024-03-18", &club(), ALL);
    std::fs::remove_file(bare.join("manifest.json")).unwrap();
    let out = run_on(&bare, &kf);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("manifest"), "{}", stderr_of(&out));

    // No data key at all.
    let out = bin()
        .args(["run", "segmentation", "--bundle"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("CLM_DATA_KEY"),
        "{}",
        stderr_of(&out)
    );

    // Bundles made with different pseudonymization keys are refused together.
    let other_fp = tmp.path().join("other-fp");
    write_bundle_fp(
        &other_fp,
        &key,
        "2024-04-18",
        &club(),
        ALL,
        "ffffffffffffffff",
    );
    let out = bin()
        .args(["run", "segmentation", "--bundle"])
        .arg(&good)
        .arg("--bundle")
        .arg(&other_fp)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("different pseudonymization keys"),
        "{}",
        stderr_of(&out)
    );

    // Usage errors exit 2 as well.
    let out = bin()
        .args(["run", "no_such_analysis", "--bundle"])
        .arg(&good)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args([
            "run",
            "segmentation",
            "--param",
            "inactive_days=soon",
            "--bundle",
        ])
        .arg(&good)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_analysis_needing_a_missing_table_names_it_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let kf = key_file(tmp.path(), &key);
    let b = tmp.path().join("b");
    write_bundle(&b, &key, "2024-03-18", &club(), &["clients", "memberships"]);
    let out = bin()
        .args(["run", "segmentation", "--bundle"])
        .arg(&b)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("`segmentation`") && err.contains("`visits`"),
        "{err}"
    );
    // An optional table that is missing only leaves a note (metrics without feedback).
    let b2 = tmp.path().join("b2");
    write_bundle(
        &b2,
        &key,
        "2024-03-18",
        &club(),
        &["clients", "memberships", "visits"],
    );
    let out = bin()
        .args(["run", "metrics", "--format", "csv", "--bundle"])
        .arg(&b2)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("no feedback table"),
        "{}",
        stderr_of(&out)
    );
}

/// Two exports with the same pseudonymization key: snapshots (clients, memberships) take the
/// latest bundle's row; events add up.
#[test]
fn several_bundles_are_read_together_latest_snapshot_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let kf = key_file(tmp.path(), &key);

    // February export: c1 in branch A with membership m1 ending 2024-03-31; one visit.
    let mut feb = Fixture::new();
    feb.client_in("c1", "A", "2024-01-01")
        .membership("m1", "c1", "2024-01-01", "2024-03-31")
        .visit("c1", "2024-02-10 10:00");
    // March export (incremental, repeats every client): c1 moved to branch B, m1 was
    // extended to 2024-06-30, a new client c2; one new visit.
    let mut mar = Fixture::new();
    mar.client_in("c1", "B", "2024-01-01")
        .membership("m1", "c1", "2024-01-01", "2024-06-30")
        .client_in("c2", "B", "2024-03-01")
        .visit("c1", "2024-03-10 10:00");
    let b_feb = tmp.path().join("feb");
    let b_mar = tmp.path().join("mar");
    write_bundle(
        &b_feb,
        &key,
        "2024-02-29",
        &feb,
        &["clients", "memberships", "visits"],
    );
    // (an export of the events after February's as-of date: `--since 2024-02-29`)
    let mut w = BundleWriter::create(&b_mar, &key, date("2024-03-31")).unwrap();
    for t in ["clients", "memberships", "visits"] {
        w.write_batch(t, &mar.batch(t)).unwrap();
    }
    w.finish(ManifestDraft {
        pseudonym_key_fingerprint: FINGERPRINT.into(),
        since: Some(date("2024-02-29")),
        ..Default::default()
    })
    .unwrap();

    let out = bin()
        .args([
            "sql",
            "SELECT (SELECT count(*) FROM clients) AS clients, \
                    (SELECT max(branch) FROM clients WHERE client_pid = 'c1') AS c1_branch, \
                    (SELECT max(end_date) FROM memberships) AS m1_end, \
                    (SELECT count(*) FROM memberships) AS memberships, \
                    (SELECT count(*) FROM visits) AS visits, \
                    $as_of AS as_of",
            "--format",
            "csv",
            // given out of order: bundles are ordered by as-of date
            "--bundle",
        ])
        .arg(&b_mar)
        .arg("--bundle")
        .arg(&b_feb)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "2,B,2024-06-30,1,2,2024-03-31",
        "{text}"
    );
}

/// End to end on a club of a few hundred clients: the stage counts add up to the base and the
/// shares to 1, overall and per branch; the per-client list has one row per client of the base.
#[test]
fn end_to_end_stage_counts_add_up_to_the_base() {
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let kf = key_file(tmp.path(), &key);
    let f = generated_club(400);
    let b = tmp.path().join("club");
    write_bundle(&b, &key, "2024-03-18", &f, ALL);

    let out = bin()
        .args(["run", "segmentation", "--format", "json", "--bundle"])
        .arg(&b)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_branch: std::collections::BTreeMap<String, (i64, f64, i64)> = Default::default();
    for r in &rows {
        let e = by_branch
            .entry(r["branch"].as_str().unwrap().to_string())
            .or_default();
        e.0 += r["clients"].as_i64().unwrap();
        e.1 += r["share"].as_f64().unwrap();
        e.2 = r["base"].as_i64().unwrap();
    }
    assert!(by_branch.len() >= 3, "{by_branch:?}");
    let mut branch_total = 0;
    for (branch, (count, share, base)) in &by_branch {
        assert_eq!(count, base, "{branch}: stage counts add up to the base");
        assert!(
            (share - 1.0).abs() < 1e-9,
            "{branch}: shares add up to {share}"
        );
        if branch != "(all)" {
            branch_total += base;
        }
    }
    let all = by_branch["(all)"].2;
    assert_eq!(branch_total, all, "the branches partition the base");
    // The base: every generated client is registered by D; 20 archived leads are left out.
    assert_eq!(all, 400 - 20);

    let out = bin()
        .args([
            "run",
            "segmentation",
            "--detail",
            "clients",
            "--format",
            "csv",
            "--out",
        ])
        .arg(tmp.path().join("clients.csv"))
        .arg("--bundle")
        .arg(&b)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let csv = std::fs::read_to_string(tmp.path().join("clients.csv")).unwrap();
    assert_eq!(csv.lines().count() as i64, all + 1);

    // Parquet output of several outputs: one file each.
    let out = bin()
        .args(["run", "rfm", "--format", "parquet", "--out"])
        .arg(tmp.path().join("rfm.parquet"))
        .arg("--bundle")
        .arg(&b)
        .arg("--data-key")
        .arg(&kf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(tmp.path().join("rfm.segments.parquet").exists());
    assert!(tmp.path().join("rfm.matrix.parquet").exists());
}

/// A deterministic club: clients in three branches with memberships, visits, services, sales
/// and feedback spread over 2023-2024; every 20th client is an archived lead.
fn generated_club(n: usize) -> Fixture {
    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }
    let mut f = Fixture::new();
    let d0 = date("2023-01-01");
    let day = |k: i64| {
        leak(
            (d0 + chrono::Duration::days(k))
                .format("%Y-%m-%d")
                .to_string(),
        )
    };
    let mut seed: u64 = 42;
    let mut rnd = move |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    for i in 0..n {
        let pid = leak(format!("{i:032x}"));
        let branch = ["North", "South", "East"][i % 3];
        let reg = rnd(420) as i64;
        if i % 20 == 19 {
            // an archived lead
            f.row(
                "clients",
                vec![
                    ("client_pid", V::S(pid)),
                    ("branch", V::S(branch)),
                    ("registered_on", V::D(day(reg))),
                    ("archived_on", V::D(day(reg + 10))),
                ],
            );
            continue;
        }
        f.client_in(pid, branch, day(reg));
        let kinds = rnd(4);
        if kinds == 0 {
            continue; // a lead
        }
        let mut start = reg + rnd(30) as i64;
        for k in 0..kinds {
            let len = [30, 90, 180, 365][rnd(4) as usize];
            let status = ["active", "active", "active", "frozen", "cancelled"][rnd(5) as usize];
            let freeze = if status == "frozen" { 14 } else { 0 };
            f.membership_full(
                leak(format!("{i:x}m{k}")),
                pid,
                day(start),
                day(start + len - 1),
                status,
                freeze,
                day(start - rnd(10) as i64),
                branch,
            );
            for _ in 0..rnd(12) {
                let v = start + rnd(len as u64) as i64;
                f.visit(pid, leak(format!("{} 18:00", day(v))));
            }
            if rnd(3) == 0 {
                f.service(
                    pid,
                    leak(format!("{} 10:00", day(start + 2))),
                    "Intro",
                    "starter",
                    "done",
                    "fitness",
                );
            }
            if rnd(4) == 0 {
                f.service(
                    pid,
                    leak(format!("{} 11:00", day(start + 20))),
                    "PT",
                    "personal_training",
                    "done",
                    "pt",
                );
                f.sale(
                    leak(format!("{i:x}s{k}")),
                    pid,
                    leak(format!("{} 11:00", day(start + 20))),
                    "personal_training",
                    250000,
                );
            }
            f.sale(
                leak(format!("{i:x}t{k}")),
                pid,
                leak(format!("{} 09:00", day(start))),
                "membership",
                300000,
            );
            if rnd(2) == 0 {
                f.feedback(pid, day(start + 15), rnd(11) as i64);
            }
            start += len + rnd(60) as i64 - 10;
        }
    }
    f
}

#[test]
fn list_shows_every_analysis_on_one_line_with_its_defaults() {
    let out = bin().arg("list").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    // one line per analysis, then a blank line and the profile with its saved filters
    let lines: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), clm_analyze::queries::ANALYSES.len(), "{text}");
    assert!(
        text.contains("\nprofile fitness (embedded profiles/fitness.toml)"),
        "{text}"
    );
    assert!(text.contains("  renewal_calls  "), "{text}");
    let seg = lines
        .iter()
        .find(|l| l.starts_with("segmentation "))
        .unwrap();
    for p in [
        "inactive_days=21",
        "onboarding_days=30",
        "lapsed_days=90",
        "--detail clients",
    ] {
        assert!(seg.contains(p), "{seg}");
    }
    let metrics = lines.iter().find(|l| l.starts_with("metrics ")).unwrap();
    for p in [
        "renewal_grace_days=30",
        "pt_conversion_days=60",
        "grain=month",
        "periods=12",
    ] {
        assert!(metrics.contains(p), "{metrics}");
    }
    // Another profile gives other defaults.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p.toml");
    std::fs::write(
        &p,
        clm_analyze::profile::FITNESS.replace("inactive_days = 21", "inactive_days = 14"),
    )
    .unwrap();
    let out = bin().arg("list").arg("--profile").arg(&p).output().unwrap();
    assert!(stdout_of(&out).contains("inactive_days=14"));
    let help = bin().args(["run", "--help"]).output().unwrap();
    assert!(stdout_of(&help).contains("Examples:"));
}

#[test]
fn cli_profiles_query_overrides_sql_files_and_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let kf = key_file(tmp.path(), &key);
    let b = tmp.path().join("b");
    write_bundle(&b, &key, "2024-03-18", &club(), ALL);
    let with_bundle = |c: &mut Command| {
        c.arg("--bundle").arg(&b).arg("--data-key").arg(&kf);
    };

    // --profile: c4 visited on 03-17 and had PT on 03-15, 3 days before D. With pt_days = 3
    // (the last 3 days: 03-16..03-18) that is too old: active; --param pt_days=4 on top of
    // that profile makes c4 pt_engaged again.
    let p = tmp.path().join("p.toml");
    std::fs::write(
        &p,
        clm_analyze::profile::FITNESS.replace("pt_days = 30", "pt_days = 3"),
    )
    .unwrap();
    let mut c = bin();
    c.args([
        "run",
        "segmentation",
        "--detail",
        "clients",
        "--format",
        "csv",
        "--profile",
    ])
    .arg(&p);
    with_bundle(&mut c);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("c4,B,active"),
        "{}",
        stdout_of(&out)
    );
    let mut c = bin();
    c.args([
        "run",
        "segmentation",
        "--detail",
        "clients",
        "--format",
        "csv",
        "--profile",
    ])
    .arg(&p)
    .args(["--param", "pt_days=4"]);
    with_bundle(&mut c);
    assert!(stdout_of(&c.output().unwrap()).contains("c4,B,pt_engaged"));

    // --queries DIR: a file there replaces the embedded one of the same name.
    let q = tmp.path().join("queries");
    std::fs::create_dir(&q).unwrap();
    std::fs::write(
        q.join("rfm_summary.sql"),
        "-- @title mine\n-- @requires clients: x\n-- @output result\nSELECT count(*) AS n, $inactive_days AS d FROM clients;\n",
    )
    .unwrap();
    let mut c = bin();
    c.args(["run", "rfm_summary", "--format", "csv", "--queries"])
        .arg(&q);
    with_bundle(&mut c);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "n,d\n4,21\n");

    // sql -f FILE with several statements: a view, then two queries, written as JSON files.
    let f = tmp.path().join("q.sql");
    std::fs::write(
        &f,
        "CREATE VIEW b AS SELECT branch, count(*) AS n FROM clients GROUP BY branch;\n\
         SELECT * FROM b ORDER BY branch;\n\
         SELECT sum(n) AS total FROM b;\n",
    )
    .unwrap();
    let mut c = bin();
    c.args(["sql", "-f"])
        .arg(&f)
        .args(["--format", "json", "--out"])
        .arg(tmp.path().join("r.json"));
    with_bundle(&mut c);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let r1 = std::fs::read_to_string(tmp.path().join("r.result1.json")).unwrap();
    let r2 = std::fs::read_to_string(tmp.path().join("r.result2.json")).unwrap();
    assert_eq!(r1.trim(), r#"[{"branch":"A","n":2},{"branch":"B","n":2}]"#);
    assert_eq!(r2.trim(), r#"[{"total":4}]"#);

    // A placeholder that is not a parameter is an SQL error (exit 1), named.
    let mut c = bin();
    c.args(["sql", "SELECT $nope"]);
    with_bundle(&mut c);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("$nope"), "{}", stderr_of(&out));

    // Parquet needs --out (usage: 2); an unknown detail output is an error.
    let mut c = bin();
    c.args(["run", "rfm", "--format", "parquet"]);
    with_bundle(&mut c);
    assert_eq!(c.output().unwrap().status.code(), Some(2));
    let mut c = bin();
    c.args(["run", "rfm", "--detail", "nope"]);
    with_bundle(&mut c);
    let out = c.output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr_of(&out).contains("no output `nope`"),
        "{}",
        stderr_of(&out)
    );
}
