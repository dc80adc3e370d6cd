//! The real-data check of `run clv_summary` and `run clv` (issue 14): scripts/cdnow.sh on a
//! fixed subset of CDNOW (customers 1..3000 of the CDNOW_master.txt that lifetimes ships)
//! compares the summary, the fitted BG/NBD and Gamma-Gamma parameters and the per-customer
//! predictions with the Python library lifetimes, and fails when a bound of the issue is not
//! met (summary exact, monetary to 1e-9; parameters 1e-3 relative; P(alive) and expected
//! purchases 1e-4). Without Python or lifetimes (the script exits 3) the test says so and
//! passes, except under CI (CI=true), which must run it: scripts/test.sh installs lifetimes.

use std::path::Path;
use std::process::Command;

#[test]
fn clv_matches_lifetimes_on_a_cdnow_subset() {
    // the binaries the script runs, built by cargo test or on demand
    let _ = clm_tests::bin("clm-pseudonymize");
    let _ = clm_tests::bin("clm-analyze");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root.join("scripts/cdnow.sh"))
        .args(["--subset", "3000", "--out"])
        .arg(tmp.path().join("cdnow"))
        .arg("--bin-dir")
        .arg(clm_tests::bin_dir())
        .output()
        .expect("run scripts/cdnow.sh");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the CDNOW check, but Python or lifetimes is not available:\n{text}"
        );
        eprintln!("SKIPPED clv_matches_lifetimes_on_a_cdnow_subset: Python or lifetimes is not available here:\n{text}");
        return;
    }
    assert!(out.status.success(), "scripts/cdnow.sh failed:\n{text}");
    assert!(text.contains("every acceptance bound holds"), "{text}");
    eprintln!("{text}");
}
