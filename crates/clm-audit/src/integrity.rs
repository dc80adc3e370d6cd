//! Check 1, integrity: the manifest's HMAC, each file's SHA-256, files listed = files
//! present, each file encrypted Parquet — and no key in the clear: every file of the bundle
//! directory (manifest included) is scanned as bytes for the data key and the DEK, and, for
//! the leak check, for K_p.

use clm_core::bundle::MANIFEST_FILE;
use serde_json::json;

use crate::keyscan::{describe, KeyName, KeyPatterns};
use crate::leak::RawKeyScan;
use crate::open::{list_files, Opened};
use crate::report::{bytes, CheckReport, Finding};
use crate::CannotRun;

pub struct IntegrityOutcome {
    pub report: CheckReport,
    /// K_p found in raw bytes, for the leak check.
    pub kp_raw: RawKeyScan,
}

/// Sorts a message of `Bundle::file_problems` into a detector name.
fn kind_of(msg: &str) -> &'static str {
    if msg.contains("not listed") {
        "unlisted_file"
    } else if msg.contains("but missing") {
        "missing_file"
    } else if msg.contains("SHA-256") {
        "sha256_mismatch"
    } else if msg.contains("not encrypted") {
        "not_encrypted"
    } else if msg.contains("outside the bundle") {
        "outside_bundle"
    } else {
        "unreadable_file"
    }
}

pub fn check(opened: &Opened, keys: &KeyPatterns) -> Result<IntegrityOutcome, CannotRun> {
    let mut r = CheckReport::new("integrity");
    let m = &opened.manifest;
    if !opened.hmac_ok {
        r.findings.push(Finding {
            table: String::new(),
            column: String::new(),
            detector: "manifest_hmac".into(),
            count: 1,
            file: Some(MANIFEST_FILE.into()),
            detail: "manifest.json was modified after export (HMAC mismatch): its file list and hashes cannot be trusted".into(),
        });
    }
    if m.pseudonym_key_fingerprint == m.data_key_fingerprint {
        r.findings.push(Finding {
            table: String::new(),
            column: String::new(),
            detector: "same_key".into(),
            count: 1,
            file: Some(MANIFEST_FILE.into()),
            detail: format!(
                "the manifest records the same fingerprint ({}) for the pseudonymization key and the data key: \
                 whoever holds the data key holds the pseudonymization key too and can re-identify clients. \
                 Make two keys (`clm-pseudonymize keygen`) and export again",
                m.data_key_fingerprint
            ),
        });
    }
    let problems = opened.file_problems()?;
    let present = list_files(&opened.dir)?;
    for p in &problems {
        let file = present
            .iter()
            .map(String::as_str)
            .chain(m.files.iter().map(|f| f.path.as_str()))
            .filter(|f| p.contains(&format!("file {f} ")) || p.ends_with(&format!(": {f}")))
            .max_by_key(|f| f.len())
            .map(str::to_string);
        let table = file
            .as_deref()
            .and_then(|f| m.files.iter().find(|e| e.path == f))
            .map(|e| e.table.clone())
            .unwrap_or_default();
        r.findings.push(Finding {
            table,
            column: String::new(),
            detector: kind_of(p).into(),
            count: 1,
            file,
            detail: p.clone(),
        });
    }
    let mut kp_raw = RawKeyScan {
        files: 0,
        bytes: 0,
        hits: Vec::new(),
    };
    for f in &present {
        let path = opened.dir.join(f);
        let (hits, n) = keys
            .scan_file(&path)
            .map_err(|e| CannotRun(format!("{}: {e}", path.display())))?;
        kp_raw.files += 1;
        kp_raw.bytes += n;
        let (kp, other): (Vec<_>, Vec<_>) = hits
            .into_iter()
            .partition(|(k, _)| *k == KeyName::Pseudonym);
        if !kp.is_empty() {
            kp_raw.hits.push((f.clone(), kp));
        }
        if !other.is_empty() {
            r.findings.push(Finding {
                table: m
                    .files
                    .iter()
                    .find(|e| &e.path == f)
                    .map(|e| e.table.clone())
                    .unwrap_or_default(),
                column: String::new(),
                detector: "key_in_clear".into(),
                count: 1,
                file: Some(f.clone()),
                detail: format!(
                    "the raw bytes of {f} hold {}: anyone with the bundle can decrypt it",
                    describe(&other)
                ),
            });
        }
    }
    let listed_bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
    let files_present = present.iter().filter(|p| *p != MANIFEST_FILE).count();
    r.figures = json!({
        "manifest_hmac": if opened.hmac_ok { "valid" } else { "mismatch" },
        "files_listed": m.files.len(),
        "files_present": files_present,
        "bytes_listed": listed_bytes,
        "files_scanned_for_keys": kp_raw.files,
        "bytes_scanned_for_keys": kp_raw.bytes,
        "problems": r.findings.len(),
    });
    let file_problems = r
        .findings
        .iter()
        .filter(|f| !["manifest_hmac", "key_in_clear", "same_key"].contains(&f.detector.as_str()))
        .count();
    let key_in_clear = r.findings.iter().any(|f| f.detector == "key_in_clear");
    r.summary = format!(
        "HMAC {}; {}/{} files ({}), {}; {}",
        if opened.hmac_ok { "valid" } else { "MISMATCH" },
        files_present.min(m.files.len()),
        m.files.len(),
        bytes(listed_bytes),
        if file_problems == 0 {
            "SHA-256 match, encrypted".to_string()
        } else {
            format!("{file_problems} file problems")
        },
        if key_in_clear {
            "a key IN THE CLEAR"
        } else {
            "no key in the clear"
        }
    );
    if r.findings.iter().any(|f| f.detector == "same_key") {
        r.summary.push_str("; K_p = K_d");
    }
    r.settle();
    Ok(IntegrityOutcome { report: r, kp_raw })
}
