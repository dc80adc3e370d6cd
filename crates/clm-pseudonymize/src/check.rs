//! `clm-pseudonymize check`: the data-quality report of the sources a mapping names, without
//! keys and without writing anything. Every row goes through the same conversion as in an
//! export (with a throw-away key), so the rejections counted are the export's.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use clm_core::keys::PseudonymKey;
use clm_core::mapping::Mapping;
use clm_core::pid::Pseudonymizer;
use clm_core::schema;
use clm_core::source::{open_table, RecordStatus};
use clm_core::Result;

use crate::categories;
use crate::convert::TableConverter;
use crate::progress::Progress;
use crate::quality::Quality;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub mapping: PathBuf,
    /// Dates after this day are "in the future" [default: today].
    pub as_of: Option<NaiveDate>,
    pub progress: bool,
}

/// Reads every mapped table and returns its quality figures.
pub fn check(opts: &CheckOptions) -> Result<Quality> {
    let mapping = Mapping::load(&opts.mapping)?;
    let as_of = opts
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    for tm in &mapping.tables {
        let r = open_table(tm)?;
        for f in &tm.fields {
            r.column_index(&f.column)?;
        }
    }
    // A fresh random key: pids are computed (the conversion is the export's) and dropped.
    let pseudonymizer = Pseudonymizer::new(&PseudonymKey::generate());
    let mut quality = Quality::new(as_of, None);
    for tm in &mapping.tables {
        let ts = schema::canonical()
            .table(&tm.table)
            .expect("mapping tables are canonical");
        let scans = categories::scan(tm, mapping.policy.rare_k, opts.progress)?;
        let pii: u64 = scans
            .iter()
            .map(|s| s.pii_values.values().sum::<u64>())
            .sum();
        let mut reader = open_table(tm)?;
        let mut conv = TableConverter::new(
            ts,
            tm,
            &mapping.policy,
            as_of,
            pseudonymizer.clone(),
            &HashMap::new(),
            |c| reader.column_index(c),
        )?;
        let mut qf = quality.table(tm, |c| reader.column_index(c).ok());
        qf.category_pii(pii);
        let (size, counter) = reader.progress();
        let bar = Progress::new(
            opts.progress,
            &format!("{} (check)", tm.table),
            size,
            counter,
        );
        let mut rec = csv::StringRecord::new();
        while let Some(st) = reader.next_record(&mut rec)? {
            let outcome = match st {
                RecordStatus::Ok => {
                    qf.row(&rec);
                    conv.push(&rec)
                }
                RecordStatus::Bad(r) => {
                    qf.unreadable();
                    Err(r)
                }
            };
            if outcome.is_err() {
                qf.rejected();
            }
            if conv.buffered_rows() >= 64 * 1024 {
                conv.flush()?;
                bar.tick();
            }
        }
        bar.finish();
        qf.finish()?;
    }
    Ok(quality)
}

/// The report as printed: every check (`all`), or the problems only (the fails and warns)
/// and one line for the checks that passed; then the verdict.
pub fn render(q: &Quality, all: bool) -> String {
    use crate::quality::{print_table, Level};
    let checks = q.checks();
    let n = |l| checks.iter().filter(|c| c.level == l).count();
    let mut out = String::new();
    if all {
        out.push_str(&print_table(&checks));
    } else {
        let problems: Vec<_> = checks
            .iter()
            .filter(|c| c.level != Level::Pass)
            .cloned()
            .collect();
        if !problems.is_empty() {
            out.push_str(&print_table(&problems));
        }
        let passed = n(Level::Pass);
        out.push_str(&format!(
            "{passed} {} passed{}\n",
            if passed == 1 { "check" } else { "checks" },
            if passed > 0 {
                " (--all shows them)"
            } else {
                ""
            }
        ));
    }
    out.push_str(&format!(
        "verdict: {} ({} pass, {} warn, {} fail)\n",
        q.verdict().as_str(),
        n(Level::Pass),
        n(Level::Warn),
        n(Level::Fail)
    ));
    out
}
