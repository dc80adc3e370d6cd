//! Acceptance of issue 4: a clean synthetic export passes every check; bundles broken on
//! purpose fail the matching check — and no report ever shows the value that failed it.

mod common;

use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use clm_audit::report::{Report, Status};
use clm_audit::{audit, Options};
use common::*;
use parquet::file::metadata::KeyValue;
use sha2::{Digest, Sha256};

fn status(r: &Report, check: &str) -> Status {
    r.check(check).unwrap().status
}

fn findings<'a>(r: &'a Report, check: &str) -> Vec<&'a clm_audit::report::Finding> {
    r.check(check).unwrap().findings.iter().collect()
}

/// The report, as text and JSON, never holds `secret`.
fn assert_not_shown(r: &Report, secret: &str) {
    let json = serde_json::to_string(r).unwrap();
    assert!(!json.contains(secret), "the JSON report shows a value");
    assert!(
        !r.render_text().contains(secret),
        "the summary shows a value"
    );
}

fn all_but(r: &Report, failing: &[&str]) {
    for c in &r.checks {
        if failing.contains(&c.name) {
            assert_eq!(c.status, Status::Fail, "{} should fail", c.name);
        } else {
            assert_ne!(
                c.status,
                Status::Fail,
                "{} should pass: {:#?}",
                c.name,
                c.findings
            );
        }
    }
    assert_eq!(r.exit_code, 1);
}

#[test]
fn clean_synth_bundle_passes_every_check() {
    let club = Club::shared();
    let r = audit(&club.options(&club.bundle)).unwrap();
    println!("{}", r.render_text());
    for c in &r.checks {
        assert_eq!(c.status, Status::Pass, "{}: {:#?}", c.name, c.findings);
    }
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.verdict, "pass");
    let leak = r.check("leak").unwrap();
    assert!(leak.figures["distinct_sensitive_values"].as_u64().unwrap() > 300);
    assert!(leak.figures["ids_hashed"].as_u64().unwrap() > 300);
    let risk = r.check("risk").unwrap();
    assert_eq!(risk.figures["clients"].as_u64().unwrap(), 300);
    assert_eq!(
        risk.figures["quasi_identifiers"],
        serde_json::json!(["gender", "age_band", "branch", "postal_prefix"])
    );
    // The export enforced k-anonymity at 5: no client is in a smaller class. At k = 10 the
    // same bundle has clients below k, and only the risk check says so.
    assert_eq!(risk.figures["clients_below_k"].as_u64().unwrap(), 0);
    let mut o = club.options(&club.bundle);
    o.k = 10;
    let r10 = audit(&o).unwrap();
    all_but(&r10, &["risk"]);
    // Without the source the leak check is skipped, and the rest still passes.
    o.k = 5;
    o.mapping = None;
    o.pseudonym_key = None;
    let r = audit(&o).unwrap();
    assert_eq!(status(&r, "leak"), Status::Skipped);
    assert_eq!(r.exit_code, 0);
}

#[test]
fn phone_planted_in_a_category_value_fails_content_and_leak() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let kd = club.kd();
    // A real client's phone from the source, as the visit kind of one row.
    let phone = club.source_values("clients.csv", "Телефон", 1).remove(0);
    let mut t = Tamper::open(&dir, &kd);
    let batches = t.read_table("visits", &kd);
    let batches = map_column(&batches, "kind", |a| set_value(a, 3, &phone));
    t.replace_file("visits.parquet", "visits", &batches, None);
    t.seal();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["content", "leak"]);
    let f = findings(&r, "content");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        (
            f[0].table.as_str(),
            f[0].column.as_str(),
            f[0].detector.as_str(),
            f[0].count
        ),
        ("visits", "kind", "phone", 1)
    );
    let f = findings(&r, "leak");
    assert!(
        f.iter().any(|f| f.column == "kind"
            && f.detector.starts_with("source_")
            && f.detail.contains("Телефон")),
        "{f:#?}"
    );
    assert_not_shown(&r, &phone);
}

#[test]
fn email_in_a_product_name_fails_content() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let kd = club.kd();
    let mut t = Tamper::open(&dir, &kd);
    let batches = t.read_table("memberships", &kd);
    let email = "olga.smirnova1987@example.org";
    let batches = map_column(&batches, "product", |a| set_value(a, 0, email));
    t.replace_file("memberships.parquet", "memberships", &batches, None);
    t.seal();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["content"]);
    let f = findings(&r, "content");
    assert_eq!(
        (
            f[0].table.as_str(),
            f[0].column.as_str(),
            f[0].detector.as_str(),
            f[0].count
        ),
        ("memberships", "product", "email", 1)
    );
    assert_not_shown(&r, email);
}

#[test]
fn column_not_in_schemas_fails_schema() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let kd = club.kd();
    let mut t = Tamper::open(&dir, &kd);
    let batches: Vec<RecordBatch> = t
        .read_table("clients", &kd)
        .iter()
        .map(|b| {
            let mut fields = b.schema().fields().to_vec();
            fields.push(Arc::new(arrow_schema::Field::new(
                "loyalty_tier",
                arrow_schema::DataType::Utf8,
                true,
            )));
            let mut cols = b.columns().to_vec();
            cols.push(Arc::new(StringArray::from(vec![
                Some("gold");
                b.num_rows()
            ])));
            RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
        })
        .collect();
    t.replace_file("clients.parquet", "clients", &batches, None);
    t.seal();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["schema"]);
    let f = findings(&r, "schema");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (
            f[0].table.as_str(),
            f[0].column.as_str(),
            f[0].detector.as_str()
        ),
        ("clients", "loyalty_tier", "not_canonical")
    );
}

#[test]
fn a_column_of_another_string_type_is_still_scanned() {
    // LargeUtf8 is not what schemas/ says, and the reader does not take it as a dictionary:
    // the row-by-row path of the scan reads it.
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let kd = club.kd();
    let mut t = Tamper::open(&dir, &kd);
    let batches: Vec<RecordBatch> = t
        .read_table("clients", &kd)
        .iter()
        .map(|b| {
            let mut fields = b.schema().fields().to_vec();
            fields.push(Arc::new(arrow_schema::Field::new(
                "contact",
                arrow_schema::DataType::LargeUtf8,
                true,
            )));
            let mut cols = b.columns().to_vec();
            let mut v: Vec<Option<&str>> = vec![None; b.num_rows()];
            v[0] = Some("звонить +7 (912) 000-11-22");
            cols.push(Arc::new(arrow_array::LargeStringArray::from(v)));
            RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
        })
        .collect();
    t.replace_file("clients.parquet", "clients", &batches, None);
    t.seal();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["schema", "content"]);
    let c = findings(&r, "content");
    assert_eq!(
        (c[0].column.as_str(), c[0].detector.as_str(), c[0].count),
        ("contact", "phone", 1)
    );
}

#[test]
fn raw_client_id_as_pid_fails_content_and_leak() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let kd = club.kd();
    let id = club
        .source_values("clients.csv", "Код клиента", 1)
        .remove(0);
    let mut t = Tamper::open(&dir, &kd);
    let batches = t.read_table("memberships", &kd);
    let batches = map_column(&batches, "client_pid", |a| set_value(a, 1, &id));
    t.replace_file("memberships.parquet", "memberships", &batches, None);
    t.seal();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["content", "leak"]);
    let c = findings(&r, "content");
    assert_eq!(
        (c[0].column.as_str(), c[0].detector.as_str(), c[0].count),
        ("client_pid", "pid_format", 1)
    );
    let l = findings(&r, "leak");
    assert!(
        l.iter().any(|f| f.column == "client_pid"
            && f.detector == "source_value"
            && f.detail.contains("Код клиента")),
        "{l:#?}"
    );
    assert!(l
        .iter()
        .any(|f| f.detector == "unexplained_pid" && f.count == 1));
}

#[test]
fn unkeyed_hash_of_an_id_as_pid_fails_leak_and_of_a_phone_too() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let kd = club.kd();
    let ids = club.source_values("clients.csv", "Код клиента", 2);
    let sha = hex::encode(Sha256::digest(ids[0].as_bytes()));
    // and a phone hashed the way the mapping normalizes it (digits), as a lead source
    let phone = club.source_values("clients.csv", "Телефон", 1).remove(0);
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let sha1 = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(digits.as_bytes()));
    // An MD5 hex has the very shape of a pid: only the leak check can tell.
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(ids[1].as_bytes()));
    let mut t = Tamper::open(&dir, &kd);
    let batches = t.read_table("clients", &kd);
    let batches = map_column(&batches, "client_pid", |a| {
        set_value(&set_value(a, 0, &sha), 1, &md5)
    });
    let batches = map_column(&batches, "lead_source", |a| set_value(a, 2, &sha1));
    t.replace_file("clients.parquet", "clients", &batches, None);
    t.seal();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["content", "leak"]);
    let c = findings(&r, "content");
    assert_eq!(
        c.len(),
        1,
        "only the 64-hex SHA-256 breaks the pid shape: {c:#?}"
    );
    assert_eq!((c[0].detector.as_str(), c[0].count), ("pid_format", 1));
    let l = findings(&r, "leak");
    for algo in ["unkeyed_sha256", "unkeyed_md5"] {
        assert!(
            l.iter().any(|f| f.table == "clients"
                && f.column == "client_pid"
                && f.detector == algo
                && f.count == 1),
            "{algo}: {l:#?}"
        );
    }
    assert!(l
        .iter()
        .any(|f| f.detector == "unexplained_pid" && f.count == 2));
    assert!(
        l.iter().any(|f| f.column == "lead_source"
            && f.detector == "unkeyed_sha1"
            && f.detail.contains("Телефон")),
        "{l:#?}"
    );
    assert_not_shown(&r, &sha1);
    assert_not_shown(&r, &sha);
    assert_not_shown(&r, &md5);
}

#[test]
fn pseudonym_key_in_file_metadata_fails_leak() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let kd = club.kd();
    let kp_hex = hex::encode(club.kp().as_bytes());
    let mut t = Tamper::open(&dir, &kd);
    let batches = t.read_table("sales", &kd);
    t.replace_file(
        "sales.parquet",
        "sales",
        &batches,
        Some(vec![KeyValue::new("exported_with".into(), kp_hex.clone())]),
    );
    t.seal();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["leak"]);
    let l = findings(&r, "leak");
    assert_eq!(l.len(), 1, "{l:#?}");
    assert_eq!(
        (
            l[0].table.as_str(),
            l[0].column.as_str(),
            l[0].detector.as_str()
        ),
        ("sales", "(metadata)", "pseudonym_key")
    );
    assert!(l[0].detail.contains("hex"));
    assert_not_shown(&r, &kp_hex);
    // In the clear (a file the exporter forgot to encrypt) it is found in the raw bytes.
    let (_t2, dir2) = club.copy_bundle();
    std::fs::write(dir2.join("notes.txt"), format!("key={kp_hex}\n")).unwrap();
    let r = audit(&club.options(&dir2)).unwrap();
    let l = findings(&r, "leak");
    assert!(
        l.iter()
            .any(|f| f.detector == "pseudonym_key" && f.file.as_deref() == Some("notes.txt")),
        "{l:#?}"
    );
    // and the unlisted file fails integrity too
    assert!(findings(&r, "integrity")
        .iter()
        .any(|f| f.detector == "unlisted_file"));
}

#[test]
fn file_listed_but_missing_fails_integrity() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    std::fs::remove_file(dir.join("feedback.parquet")).unwrap();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["integrity"]);
    let f = findings(&r, "integrity");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].detector, "missing_file");
    assert_eq!(f[0].file.as_deref(), Some("feedback.parquet"));
    assert_eq!(f[0].table, "feedback");
}

#[test]
fn file_whose_bytes_changed_fails_integrity() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let p = dir.join("visits.parquet");
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&p, bytes).unwrap();
    let r = audit(&club.options(&dir)).unwrap();
    let f = findings(&r, "integrity");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].detector, "sha256_mismatch");
    assert_eq!(f[0].file.as_deref(), Some("visits.parquet"));
    assert_eq!(r.exit_code, 1);
    // Should the byte fall in a page the scan reads, AES-GCM refuses it and the schema check
    // names the file it could not read; never another file.
    for f in findings(&r, "schema") {
        assert_eq!(f.file.as_deref(), Some("visits.parquet"), "{f:#?}");
    }
}

#[test]
fn manifest_edited_without_the_dek_fails_integrity_and_the_audit_goes_on() {
    let club = Club::shared();
    let (_t, dir) = club.copy_bundle();
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["policy"]["rare_k"] = serde_json::json!(1);
    std::fs::write(&mpath, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let r = audit(&club.options(&dir)).unwrap();
    all_but(&r, &["integrity"]);
    assert_eq!(findings(&r, "integrity")[0].detector, "manifest_hmac");
}

/// 20 clients: 19 share (f, 25-34, Северный), one is alone in (m, 65+, Южный).
fn risk_bundle(dir: &std::path::Path) -> (tempfile::TempDir, Options) {
    let keys = tempfile::tempdir().unwrap();
    let (kp, kd) = clm_core::keys::keygen(keys.path()).unwrap();
    let n = 20;
    let pids: Vec<String> = (0..n).map(|i| format!("{:032x}", 0xabc000 + i)).collect();
    let pid_refs: Vec<&str> = pids.iter().map(String::as_str).collect();
    let g: Vec<&str> = (0..n).map(|i| if i == 7 { "m" } else { "f" }).collect();
    let a: Vec<&str> = (0..n)
        .map(|i| if i == 7 { "65+" } else { "25-34" })
        .collect();
    let b: Vec<&str> = (0..n)
        .map(|i| {
            if i == 7 {
                "Южный"
            } else {
                "Северный"
            }
        })
        .collect();
    let batch = canonical_batch(
        "clients",
        n,
        &[
            ("client_pid", strings(&pid_refs)),
            ("gender", strings(&g)),
            ("age_band", strings(&a)),
            ("branch", strings(&b)),
        ],
    );
    write_bundle(
        dir,
        &clm_core::keys::DataKey::load(&kd).unwrap(),
        &clm_core::keys::PseudonymKey::load(&kp).unwrap(),
        &[("clients", batch)],
    );
    let mut o = Options::new(dir);
    o.data_key = Some(kd);
    (keys, o)
}

#[test]
fn single_client_class_fails_risk_at_k5_and_passes_at_k1() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("bundle");
    let (_keys, mut o) = risk_bundle(&dir);
    let r = audit(&o).unwrap();
    all_but(&r, &["risk"]);
    let risk = r.check("risk").unwrap();
    let fig = &risk.figures;
    assert_eq!(fig["clients"], 20);
    assert_eq!(fig["classes"], 2);
    assert_eq!(fig["smallest_class"], 1);
    assert_eq!(fig["clients_below_k"], 1);
    assert_eq!(fig["classes_below_k"], 1);
    assert_eq!(fig["max_prosecutor_risk"], 1.0);
    assert_eq!(fig["mean_prosecutor_risk"], 0.1);
    assert_eq!(
        (risk.findings[0].detector.as_str(), risk.findings[0].count),
        ("k_anonymity", 1)
    );
    // the single client's class is not named anywhere
    assert_not_shown(&r, "Южный");
    o.k = 1;
    let r = audit(&o).unwrap();
    assert_eq!(status(&r, "risk"), Status::Pass);
    assert_eq!(r.exit_code, 0);
}

#[test]
fn hand_made_bundle_with_every_rule_broken_reports_each_by_column() {
    // A hand-made bundle (no source): vocabulary, age band, prefix and a long number.
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("bundle");
    let keys = tempfile::tempdir().unwrap();
    let (kp, kd) = clm_core::keys::keygen(keys.path()).unwrap();
    let pids: Vec<String> = (0..6).map(|i| format!("{:032x}", i + 1)).collect();
    let p: Vec<&str> = pids.iter().map(String::as_str).collect();
    let clients = canonical_batch(
        "clients",
        6,
        &[
            ("client_pid", strings(&p)),
            (
                "gender",
                opt_strings(&[Some("f"), Some("x"), None, Some("m"), Some("f"), Some("m")]),
            ),
            (
                "age_band",
                strings(&["25-34", "25-34", "25-34", "31", "25-34", "25-34"]),
            ),
            (
                "postal_prefix",
                strings(&["620", "620", "620145", "620", "620", "620"]),
            ),
        ],
    );
    let sales = canonical_batch(
        "sales",
        2,
        &[
            ("client_pid", strings(&p[..2])),
            (
                "quantity",
                Arc::new(arrow_array::Int64Array::from(vec![1, 89123456789])) as _,
            ),
        ],
    );
    write_bundle(
        &dir,
        &clm_core::keys::DataKey::load(&kd).unwrap(),
        &clm_core::keys::PseudonymKey::load(&kp).unwrap(),
        &[("clients", clients), ("sales", sales)],
    );
    let mut o = Options::new(&dir);
    o.data_key = Some(kd);
    o.k = 1;
    let r = audit(&o).unwrap();
    let got: Vec<(String, String, u64)> = findings(&r, "content")
        .iter()
        .map(|f| (f.column.clone(), f.detector.clone(), f.count))
        .collect();
    for want in [
        ("gender", "vocabulary", 1),
        ("age_band", "age_band", 1),
        ("postal_prefix", "prefix3", 1),
        ("quantity", "phone", 1),
    ] {
        assert!(
            got.contains(&(want.0.into(), want.1.into(), want.2)),
            "{want:?} in {got:?}"
        );
    }
    assert_eq!(status(&r, "schema"), Status::Pass);
    assert_eq!(r.exit_code, 1);
    // the figures count what was scanned
    let c = r.check("content").unwrap();
    assert_eq!(c.figures["numbers_checked"], 2);
    assert_eq!(c.figures["long_numbers"], 1);
    assert!(r.render_text().contains("quantity"));
}
