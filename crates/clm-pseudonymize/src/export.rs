//! `clm-pseudonymize export`: every mapped source table through the column policy into an
//! encrypted bundle, with rejected rows kept on site and counted in the manifest.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use clm_core::bundle::{BundleWriter, Manifest, PolicyRecord, SourceEntry};
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::mapping::{Mapping, TableMapping};
use clm_core::pid::Pseudonymizer;
use clm_core::schema::{self, Generalize, PrivacyClass};
use clm_core::source::{open_table, RecordStatus, TableSource};
use clm_core::values::{self, DateFormat, Truncate};
use clm_core::{Error, Result};

use crate::categories::{self, ColumnScan};
use crate::convert::{CategoryRules, TableConverter};
use crate::progress::Progress;
use crate::quality::{Quality, EVENT_TABLES};
use crate::rejects::Rejects;

/// Rows per batch handed to the Parquet writer.
const BATCH_ROWS: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub mapping: PathBuf,
    /// Key file, or `None` for `CLM_PSEUDONYM_KEY`.
    pub pseudonym_key: Option<PathBuf>,
    /// Key file, or `None` for `CLM_DATA_KEY`.
    pub data_key: Option<PathBuf>,
    /// Default: today.
    pub as_of: Option<NaiveDate>,
    pub out: PathBuf,
    /// Replace category values that PII detectors hit instead of stopping.
    pub redact: bool,
    pub progress: bool,
    /// An incremental export: events (visits, services, sales, feedback) dated after this
    /// day only; clients and memberships whole (statuses change).
    pub since: Option<NaiveDate>,
}

#[derive(Debug)]
pub struct ExportSummary {
    pub out: PathBuf,
    pub manifest: Manifest,
    /// On-site files holding rejected rows (personal data: they stay on site).
    pub rejects: Vec<PathBuf>,
}

pub fn export(opts: &ExportOptions) -> Result<ExportSummary> {
    let mapping = Mapping::load(&opts.mapping)?;
    let kp = PseudonymKey::resolve(opts.pseudonym_key.as_deref())?;
    let kd = DataKey::resolve(opts.data_key.as_deref())?;
    let as_of = opts
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    if let Some(s) = opts.since {
        if s >= as_of {
            return Err(Error::Other(format!(
                "--since {s} is not before the as-of date {as_of}: nothing would be exported"
            )));
        }
    }
    // Check every source and every mapped column before writing anything.
    for tm in &mapping.tables {
        let r = open_table(tm)?;
        for f in &tm.fields {
            r.column_index(&f.column)?;
        }
    }
    let mut quality = Quality::new(as_of, opts.since);
    let pseudonymizer = Pseudonymizer::new(&kp);
    let mut writer = BundleWriter::create(&opts.out, &kd, as_of)?;
    let mut sources = Vec::new();
    let mut rejects = Vec::new();
    for tm in &mapping.tables {
        let scans = categories::scan(tm, mapping.policy.rare_k, opts.progress)?;
        check_pii(tm, &scans, opts.redact)?;
        let (entry, rej) = export_table(
            tm,
            &mapping,
            as_of,
            &pseudonymizer,
            &scans,
            &mut writer,
            &mut quality,
            opts.since,
            opts.redact,
            opts.progress,
        )?;
        sources.push(entry);
        rejects.extend(rej);
    }
    let draft = clm_core::bundle::ManifestDraft {
        pseudonym_key_fingerprint: kp.fingerprint(),
        since: opts.since,
        policy: Some(PolicyRecord {
            rare_k: mapping.policy.rare_k,
            k_anonymity: mapping.policy.k_anonymity,
            age_bands: mapping.policy.age_bands.labels().to_vec(),
            truncate_timestamps: match mapping.policy.truncate_timestamps {
                Truncate::Hour => "hour",
                Truncate::Day => "day",
                Truncate::None => "none",
            }
            .into(),
        }),
        generalizations: generalizations(&mapping, as_of),
        sources,
        quality: quality.to_json(),
    };
    let manifest = writer.finish(draft)?;
    Ok(ExportSummary {
        out: opts.out.clone(),
        manifest,
        rejects,
    })
}

/// For an incremental export: the column and format of a table's event date.
pub fn since_filter(
    tm: &TableMapping,
    source: &TableSource,
) -> Result<Option<(usize, DateFormat)>> {
    let Some((_, field)) = EVENT_TABLES.iter().find(|(t, _)| *t == tm.table) else {
        return Ok(None);
    };
    let Some(f) = tm.field(field) else {
        return Ok(None);
    };
    let fmt = f.format.clone().expect("date fields have a format");
    Ok(Some((source.column_index(&f.column)?, fmt)))
}

/// A PII hit in a category column stops the export, unless `--redact` was given.
fn check_pii(tm: &TableMapping, scans: &[ColumnScan], redact: bool) -> Result<()> {
    if redact {
        return Ok(());
    }
    let hits: Vec<String> = scans
        .iter()
        .filter(|s| !s.pii_values.is_empty())
        .map(|s| {
            let n: u64 = s.pii_values.values().sum();
            let by: Vec<String> = s
                .pii_values
                .iter()
                .map(|(d, c)| format!("{d}: {c}"))
                .collect();
            format!(
                "{}.{}: {n} distinct values ({})",
                tm.table,
                s.field,
                by.join(", ")
            )
        })
        .collect();
    if hits.is_empty() {
        return Ok(());
    }
    Err(Error::Other(format!(
        "category values look like personal data — {}. The export stopped so that nothing personal leaves the site. \
         Fix the source or the mapping, or rerun with --redact to replace those values with \"redacted\"",
        hits.join("; ")
    )))
}

// One pass over one table needs all of these; a struct for them would only rename them.
#[allow(clippy::too_many_arguments)]
fn export_table(
    tm: &TableMapping,
    mapping: &Mapping,
    as_of: NaiveDate,
    pseudonymizer: &Pseudonymizer,
    scans: &[ColumnScan],
    writer: &mut BundleWriter,
    quality: &mut Quality,
    since: Option<NaiveDate>,
    redact: bool,
    progress: bool,
) -> Result<(SourceEntry, Option<PathBuf>)> {
    let ts = schema::canonical()
        .table(&tm.table)
        .expect("mapping tables are canonical");
    let mut reader = open_table(tm)?;
    let rules: HashMap<String, Arc<CategoryRules>> = scans
        .iter()
        .map(|s| (s.field.clone(), Arc::clone(&s.rules)))
        .collect();
    let mut conv = TableConverter::new(
        ts,
        tm,
        &mapping.policy,
        as_of,
        pseudonymizer.clone(),
        &rules,
        |c| reader.column_index(c),
    )?;
    let mut rejects = Rejects::for_table(tm, reader.headers());
    let mut qf = quality.table(tm, |c| reader.column_index(c).ok());
    if redact {
        qf.category_pii(
            scans
                .iter()
                .map(|s| s.pii_values.values().sum::<u64>())
                .sum(),
        );
    }
    let since = match since {
        Some(d) => since_filter(tm, &reader)?.map(|(i, f)| (i, f, values::date_to_days(d))),
        None => None,
    };
    let mut tw = writer.table_writer(&tm.table)?;
    let hold_clients = tm.table == "clients" && mapping.policy.k_anonymity > 1;
    let mut held: Vec<arrow_array::RecordBatch> = Vec::new();
    let (size, counter) = reader.progress();
    let bar = Progress::new(progress, &tm.table, size, counter);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut rec = csv::StringRecord::new();
    let mut rows_in = 0u64;
    while let Some(st) = reader.next_record(&mut rec)? {
        match &st {
            RecordStatus::Ok => qf.row(&rec),
            RecordStatus::Bad(_) => qf.unreadable(),
        }
        if let (RecordStatus::Ok, Some((idx, fmt, since_day))) = (&st, &since) {
            let on_or_before = fmt
                .parse_date(rec.get(*idx).unwrap_or(""))
                .is_ok_and(|d| values::date_to_days(d) <= *since_day);
            if on_or_before {
                qf.skipped_before_since();
                continue;
            }
        }
        rows_in += 1;
        let outcome = match st {
            RecordStatus::Ok => conv.push(&rec),
            RecordStatus::Bad(reason) => Err(reason),
        };
        if let Err(reason) = outcome {
            qf.rejected();
            rejects.add(reader.line(), &reason, &rec)?;
            *reasons.entry(reason).or_default() += 1;
        }
        if conv.buffered_rows() >= BATCH_ROWS {
            let b = conv.flush()?;
            if hold_clients {
                held.push(b);
            } else {
                tw.write(&b)?;
            }
            bar.tick();
        }
    }
    if conv.buffered_rows() > 0 {
        let b = conv.flush()?;
        if hold_clients {
            held.push(b);
        } else {
            tw.write(&b)?;
        }
    }
    let mut suppressed = BTreeMap::new();
    if hold_clients {
        // k-anonymity needs every client's quasi-identifiers before the first row is written.
        let all = arrow_select::concat::concat_batches(tw.schema(), &held)?;
        drop(held);
        let (b, s) = crate::kanon::enforce(&all, mapping.policy.k_anonymity)?;
        if b.num_rows() > 0 {
            tw.write(&b)?;
        }
        suppressed = s.by_column;
    }
    qf.finish();
    bar.finish();
    let rows_rejected = rejects.count();
    let reject_file = rejects.finish()?;
    let entry = tw.finish()?;
    let rows_out = entry.rows;
    writer.add_file(entry);
    let named: Vec<&str> = tm.fields.iter().map(|f| f.column.trim()).collect();
    let source = SourceEntry {
        table: tm.table.clone(),
        file: match &tm.sheet {
            Some(sh) => format!("{} [{sh}]", file_name(&tm.file)),
            None => file_name(&tm.file),
        },
        rows_in,
        rows_out,
        rows_rejected,
        rejected_by_reason: reasons,
        dropped_columns: reader
            .headers()
            .iter()
            .enumerate()
            .filter(|(_, h)| !named.contains(&h.as_str()))
            .map(|(i, h)| {
                // A header cell that looks like a value is not repeated.
                if clm_core::source::header_looks_like_data(h) {
                    format!("column {} (its header looks like a value)", i + 1)
                } else {
                    h.clone()
                }
            })
            .collect(),
        direct_columns: tm
            .fields
            .iter()
            .filter(|f| f.def.class == PrivacyClass::Direct)
            .map(|f| f.column.clone())
            .collect(),
        rare_values_replaced: scans
            .iter()
            .filter_map(|s| {
                let col = ts.field(&s.field)?.output.clone()?;
                Some((col, s.rare_values))
            })
            .collect(),
        redacted_values: scans
            .iter()
            .filter(|s| !s.pii_values.is_empty())
            .filter_map(|s| {
                let col = ts.field(&s.field)?.output.clone()?;
                Some((col, s.pii_values.values().sum()))
            })
            .collect(),
        suppressed_values: suppressed,
    };
    debug_assert_eq!(rows_in, rows_out + rows_rejected);
    Ok((source, reject_file))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// The generalizations applied, in words, for the manifest.
fn generalizations(mapping: &Mapping, as_of: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    if mapping.policy.k_anonymity > 1 && mapping.table("clients").is_some() {
        out.push(format!(
            "clients: quasi-identifiers (postal_prefix, then age_band, gender, branch) of clients in classes of fewer than {} suppressed (k-anonymity)",
            mapping.policy.k_anonymity
        ));
    }
    for tm in &mapping.tables {
        for f in &tm.fields {
            let out_col = f.def.output.as_deref().unwrap_or("");
            match (f.def.class, f.def.generalize, f.def.column_type) {
                (PrivacyClass::Quasi, Some(Generalize::AgeBand), _) => out.push(format!(
                    "{}.{} → {out_col}: age band at {as_of} ({})",
                    tm.table,
                    f.def.name,
                    mapping.policy.age_bands.labels().join(", ")
                )),
                (PrivacyClass::Quasi, Some(Generalize::Prefix3), _) => out.push(format!(
                    "{}.{} → {out_col}: first 3 characters",
                    tm.table, f.def.name
                )),
                (_, _, Some(schema::ColumnType::Timestamp)) => {
                    let t = mapping.policy.truncate_timestamps;
                    if t != Truncate::None {
                        out.push(format!(
                            "{}.{}: truncated to the {}",
                            tm.table,
                            f.def.name,
                            if t == Truncate::Hour { "hour" } else { "day" }
                        ));
                    }
                }
                (PrivacyClass::Category, _, _) if f.def.values.is_none() => out.push(format!(
                    "{}.{}: values used by fewer than {} clients → \"other\"",
                    tm.table, f.def.name, mapping.policy.rare_k
                )),
                (PrivacyClass::Identifier, _, _) => out.push(format!(
                    "{}.{} → {out_col}: HMAC-SHA256 pseudonym (domain {})",
                    tm.table,
                    f.def.name,
                    f.def.domain.as_deref().unwrap_or("")
                )),
                _ => {}
            }
        }
    }
    out
}
