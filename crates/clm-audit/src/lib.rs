//! clm-audit: the auditor's proof, on site, that a bundle carries no personal data
//! (SPEC §3.6).
//!
//! Six checks, each with figures and findings:
//! 1. [`integrity`]: manifest HMAC, per-file SHA-256, files listed = files present, no key
//!    in the clear;
//! 2. [`schema_check`]: every column a canonical, non-`direct` field with its type;
//! 3. [`content`]: every string value through the PII detectors and the shape rules;
//! 4. [`leak`] (with the mapping and K_p): no source value of a `direct` or `identifier`
//!    column, no unkeyed digest of an id, no K_p in the bundle;
//! 5. [`risk`]: k-anonymity of the clients table;
//! 6. [`report`]: the verdict — exit 0 pass, 1 fail, 2 could not run.
//!
//! The bundle is read once for checks 3–5 ([`scan`]), row group by row group over a pool of
//! threads; the source once for check 4 ([`sensitive`]), record by record. Memory stays flat
//! in the size of both (the leak check holds 8 bytes per distinct sensitive value).

pub mod arrays;
pub mod content;
pub mod integrity;
pub mod keyscan;
pub mod leak;
pub mod open;
pub mod report;
pub mod risk;
pub mod scan;
pub mod schema_check;
pub mod sensitive;

use std::collections::BTreeSet;
use std::hash::RandomState;
use std::path::PathBuf;
use std::time::Instant;

use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::mapping::Mapping;

use crate::keyscan::{KeyName, KeyPatterns};
use crate::open::Opened;
use crate::report::{BundleInfo, CheckReport, Finding, Report};

/// Why the audit could not run (exit 2). Names files and keys by fingerprint, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannotRun(pub String);

impl std::fmt::Display for CannotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CannotRun {}

#[derive(Debug, Clone)]
pub struct Options {
    pub bundle: PathBuf,
    /// Key file, or `None` for `CLM_DATA_KEY`.
    pub data_key: Option<PathBuf>,
    /// The source mapping: enables the leak check.
    pub mapping: Option<PathBuf>,
    /// Key file, or `None` for `CLM_PSEUDONYM_KEY` (used only with `mapping`).
    pub pseudonym_key: Option<PathBuf>,
    /// k of the k-anonymity check.
    pub k: u32,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    /// A line on stderr as each phase starts.
    pub progress: bool,
}

impl Options {
    pub fn new(bundle: impl Into<PathBuf>) -> Self {
        Options {
            bundle: bundle.into(),
            data_key: None,
            mapping: None,
            pseudonym_key: None,
            k: 5,
            threads: 0,
            progress: false,
        }
    }
}

/// Exit code of a finished audit.
pub fn exit_code(r: &Report) -> i32 {
    if r.passed() {
        0
    } else {
        1
    }
}

/// Runs the six checks.
pub fn audit(opts: &Options) -> Result<Report, CannotRun> {
    let started = Instant::now();
    let audited_at = now_utc();
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    let kd = DataKey::resolve(opts.data_key.as_deref()).map_err(|e| CannotRun(e.to_string()))?;
    let leak_inputs = match (&opts.mapping, &opts.pseudonym_key) {
        (None, Some(_)) => {
            return Err(CannotRun(
                "--pseudonym-key is for the leak check, which also needs --mapping (the source mapping)"
                    .into(),
            ))
        }
        (None, None) => None,
        (Some(m), kp) => {
            let kp = PseudonymKey::resolve(kp.as_deref()).map_err(|e| {
                CannotRun(format!("the leak check (--mapping) needs K_p: {e}"))
            })?;
            let mapping = Mapping::load(m).map_err(|e| CannotRun(e.to_string()))?;
            Some((mapping, kp))
        }
    };
    let opened = Opened::open(&opts.bundle, &kd)?;
    let m = &opened.manifest;
    if let Some((_, kp)) = &leak_inputs {
        if kp.fingerprint() != m.pseudonym_key_fingerprint {
            return Err(CannotRun(format!(
                "the pseudonymization key given (fingerprint {}) is not the one this bundle was made with (fingerprint {}): the leak check would look for the wrong key",
                kp.fingerprint(),
                m.pseudonym_key_fingerprint
            )));
        }
    }
    let mut key_list: Vec<(KeyName, &[u8; 32])> = vec![
        (KeyName::Data, kd.as_bytes()),
        (KeyName::Dek, opened.dek.as_bytes()),
    ];
    if let Some((_, kp)) = &leak_inputs {
        key_list.push((KeyName::Pseudonym, kp.as_bytes()));
    }
    let raw_keys = KeyPatterns::new(&key_list);
    let kp_patterns = KeyPatterns::new(
        &leak_inputs
            .as_ref()
            .map(|(_, kp)| vec![(KeyName::Pseudonym, kp.as_bytes())])
            .unwrap_or_default(),
    );

    // Integrity (hashing and key scan, I/O-bound) beside the source read and the scan.
    let mut timings = std::collections::BTreeMap::new();
    let (integrity, sensitive, schema, scanned) = std::thread::scope(|s| {
        let integ = s.spawn(|| {
            let t = Instant::now();
            integrity::check(&opened, &raw_keys).map(|r| (r, secs(t)))
        });
        let t = Instant::now();
        if let (Some((mapping, _)), true) = (&leak_inputs, opts.progress) {
            let size: u64 = mapping
                .tables
                .iter()
                .filter_map(|t| std::fs::metadata(&t.file).ok())
                .map(|m| m.len())
                .sum();
            eprintln!(
                "clm-audit: reading the source ({} tables, {})…",
                mapping.tables.len(),
                report::bytes(size)
            );
        }
        let sensitive = leak_inputs
            .as_ref()
            .map(|(mapping, kp)| sensitive::build(mapping, kp, threads));
        let sensitive = match sensitive.transpose() {
            Ok(s) => s,
            Err(e) => return Err(e),
        };
        if sensitive.is_some() {
            timings.insert("source_read", secs(t));
        }
        let t = Instant::now();
        let schema = schema_check::check(&opened);
        timings.insert("schema_footers", secs(t));
        let rules = scan::Rules {
            content: content::ContentRules {
                age_bands: &m.policy.age_bands,
            },
            leak: sensitive.as_ref().map(|set| leak::LeakRules {
                set,
                kp: &kp_patterns,
            }),
            risk_hasher: RandomState::new(),
        };
        let t = Instant::now();
        if opts.progress {
            eprintln!(
                "clm-audit: scanning the bundle ({} files, {} row groups)…",
                schema.plans.len(),
                schema.plans.iter().map(|p| p.row_groups).sum::<usize>()
            );
        }
        let scanned = scan::run(&opened, &schema.plans, &rules, threads);
        timings.insert("bundle_scan", secs(t));
        let (integrity, t_integrity) = integ.join().expect("integrity thread")?;
        timings.insert("integrity", t_integrity);
        let schema_report = schema.report;
        let plans_meta: Vec<(String, Vec<String>)> = schema
            .plans
            .iter()
            .map(|p| {
                (
                    p.entry.table.clone(),
                    p.risk
                        .as_ref()
                        .map(|r| r.qi.iter().map(|(n, _)| n.clone()).collect())
                        .unwrap_or_default(),
                )
            })
            .collect();
        Ok((integrity, sensitive, (schema_report, plans_meta), scanned))
    })?;

    let (mut schema_report, plans_meta) = schema;
    for (file, msg) in &scanned.errors {
        let table = m
            .files
            .iter()
            .find(|e| &e.path == file)
            .map(|e| e.table.clone())
            .unwrap_or_default();
        schema_report.findings.push(Finding {
            table,
            column: String::new(),
            detector: "unreadable".into(),
            count: 1,
            file: Some(file.clone()),
            detail: format!("{file}: {msg}"),
        });
    }
    schema_report.settle();

    let content_report = content::report(&scanned.hits, &scanned.totals);
    let leak_report = match &sensitive {
        Some(set) => leak::report(
            &scanned.hits,
            &scanned.totals,
            set,
            &integrity.kp_raw,
            &m.sources,
        ),
        None => CheckReport::skipped(
            "leak",
            "not run: on site, give --mapping (and --pseudonym-key or CLM_PSEUDONYM_KEY) to compare with the source",
        ),
    };
    let qi: BTreeSet<String> = plans_meta
        .iter()
        .filter(|(t, _)| t == "clients")
        .flat_map(|(_, q)| q.iter().cloned())
        .collect();
    let has_clients = plans_meta.iter().any(|(t, _)| t == "clients");
    let risk_report = scanned.risk.report(opts.k, &qi, has_clients);

    let checks = vec![
        integrity.report,
        schema_report,
        content_report,
        leak_report,
        risk_report,
    ];
    let mut report = Report {
        tool: "clm-audit",
        tool_version: clm_core::TOOL_VERSION,
        audited_at,
        elapsed_seconds: 0.0,
        timings,
        bundle: BundleInfo {
            path: opts.bundle.display().to_string(),
            export_id: m.export_id.clone(),
            as_of: m.as_of.to_string(),
            created_at: m.created_at.clone(),
            tool_version: m.tool_version.clone(),
            pseudonym_key_fingerprint: m.pseudonym_key_fingerprint.clone(),
            data_key_fingerprint: m.data_key_fingerprint.clone(),
            files: m.files.len(),
            rows: m.files.iter().map(|f| f.rows).sum(),
        },
        verdict: "pass",
        exit_code: 0,
        checks,
    };
    report.exit_code = exit_code(&report);
    report.verdict = if report.exit_code == 0 {
        "pass"
    } else {
        "fail"
    };
    report.elapsed_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    Ok(report)
}

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 100.0).round() / 100.0
}

fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
