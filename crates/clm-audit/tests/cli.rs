//! The command line: exit 0 pass, 1 fail, 2 could not run; the JSON report.

mod common;

use std::process::Command;

use common::Club;

fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clm-audit"));
    c.env_remove("CLM_PSEUDONYM_KEY").env_remove("CLM_DATA_KEY");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn exit_0_on_a_clean_bundle_with_the_source_and_a_json_report() {
    let club = Club::shared();
    let json = club.tmp.path().join("audit-clean.json");
    let (code, out, err) = run(cli()
        .arg("--bundle")
        .arg(&club.bundle)
        .arg("--data-key")
        .arg(&club.data_key)
        .arg("--mapping")
        .arg(&club.mapping)
        .arg("--pseudonym-key")
        .arg(&club.pseudonym_key)
        .arg("--json")
        .arg(&json)
        // a synthetic club, like a real one, has clients alone in their postal prefix:
        // k = 5 fails the risk check (see tests/audit.rs)
        .args(["--k", "1"]));
    assert_eq!(code, 0, "{out}{err}");
    for check in ["integrity", "schema", "content", "leak", "risk", "verdict"] {
        assert!(out.contains(check), "{out}");
    }
    assert!(out.contains("PASS"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["checks"].as_array().unwrap().len(), 5);
    // keys from the environment work as well
    let kd = std::fs::read_to_string(&club.data_key).unwrap();
    let kd = kd
        .lines()
        .rfind(|l| !l.starts_with('#'))
        .unwrap()
        .trim()
        .to_string();
    let (code, out, err) = run(cli()
        .arg("--bundle")
        .arg(&club.bundle)
        .args(["--k", "1"])
        .env("CLM_DATA_KEY", &kd));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("skipped"), "{out}");
}

#[test]
fn exit_1_when_a_check_fails() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    std::fs::remove_file(dir.join("visits.parquet")).unwrap();
    let (code, out, err) = run(cli()
        .arg("--bundle")
        .arg(&dir)
        .arg("--data-key")
        .arg(&club.data_key));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL"), "{out}");
    assert!(out.contains("missing_file"), "{out}");
    assert!(out.contains("visits.parquet"), "{out}");
}

#[test]
fn exit_2_when_the_audit_cannot_run() {
    let club = Club::shared();
    // no data key at all
    let (code, _, err) = run(cli().arg("--bundle").arg(&club.bundle));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("CLM_DATA_KEY"), "{err}");
    // a wrong data key
    let other = tempfile::tempdir().unwrap();
    let (_, kd) = clm_core::keys::keygen(other.path()).unwrap();
    let json = other.path().join("r.json");
    let (code, _, err) = run(cli()
        .arg("--bundle")
        .arg(&club.bundle)
        .arg("--data-key")
        .arg(&kd)
        .arg("--json")
        .arg(&json));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("wrong data key"), "{err}");
    // the one error style of the clm tools
    assert!(
        err.starts_with("clm-audit: error: the audit could not run: "),
        "{err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["verdict"], "could_not_run");
    // not a bundle
    let (code, _, err) = run(cli()
        .arg("--bundle")
        .arg(other.path())
        .arg("--data-key")
        .arg(&club.data_key));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("manifest.json"), "{err}");
    // the wrong pseudonymization key for the leak check
    let (kp, _) = clm_core::keys::keygen(&other.path().join("k2")).unwrap();
    let (code, _, err) = run(cli()
        .arg("--bundle")
        .arg(&club.bundle)
        .arg("--data-key")
        .arg(&club.data_key)
        .arg("--mapping")
        .arg(&club.mapping)
        .arg("--pseudonym-key")
        .arg(&kp));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fingerprint"), "{err}");
    // a key pasted on the command line is refused without being echoed
    let hexkey = "ab".repeat(32);
    let (code, out, err) = run(cli()
        .arg("--bundle")
        .arg(&club.bundle)
        .arg("--data-key")
        .arg(&hexkey));
    assert_eq!(code, 2);
    assert!(!out.contains(&hexkey) && !err.contains(&hexkey));
    // bad arguments
    let (code, _, _) = run(cli().arg("--bundle").arg(&club.bundle).arg("--k").arg("0"));
    assert_eq!(code, 2);
    let (code, _, _) = run(cli().arg("--no-such-flag"));
    assert_eq!(code, 2);
    // --pseudonym-key without --mapping
    let (code, _, err) = run(cli()
        .arg("--bundle")
        .arg(&club.bundle)
        .arg("--data-key")
        .arg(&club.data_key)
        .arg("--pseudonym-key")
        .arg(&club.pseudonym_key));
    assert_eq!(code, 2);
    assert!(err.contains("--mapping"), "{err}");
}

#[test]
fn help_has_an_example() {
    let (code, out, _) = run(cli().arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("Example"), "{out}");
    assert!(out.contains("--mapping"), "{out}");
}
