//! `clm-pseudonymize export`: every mapped source table through the column policy into an
//! encrypted bundle, with rejected rows kept on site and counted in the manifest.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use arrow_array::RecordBatch;
use chrono::NaiveDate;
use clm_core::bundle::{BundleWriter, Manifest, PolicyRecord, SourceEntry, TableWriter};
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::mapping::{Mapping, TableMapping};
use clm_core::pid::Pseudonymizer;
use clm_core::schema::{self, Generalize, PrivacyClass};
use clm_core::source::{open_table, Chunk, ReadAhead, ReadRecord, RecordStatus, TableSource};
use clm_core::values::{self, DateFormat, Truncate};
use clm_core::{Error, Result};

use crate::categories::{self, ColumnScan, RepeatedIds};
use crate::convert::{CategoryRules, TableConverter};
use crate::progress::Progress;
use crate::quality::{Quality, TableFeed, EVENT_TABLES};
use crate::rejects::{Rejects, RejectsFile};

/// Rows per batch handed to the Parquet writer.
const BATCH_ROWS: usize = 16 * 1024;

/// Records handed over by the reading thread at a time.
const READ_CHUNK_ROWS: usize = 1024;

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
    /// Export even when the clients table has no row (else an error: such a bundle is of
    /// no use, and an empty clients file is most likely the wrong file).
    pub allow_empty: bool,
}

impl ExportOptions {
    /// The options of `export --mapping MAPPING --out OUT`, keys from the environment.
    pub fn new(mapping: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        ExportOptions {
            mapping: mapping.into(),
            pseudonym_key: None,
            data_key: None,
            as_of: None,
            out: out.into(),
            redact: false,
            progress: false,
            since: None,
            allow_empty: false,
        }
    }
}

/// Which rows of a table with duplicate ids the export keeps: stated in the manifest and
/// the README.
pub const DUPLICATE_RULE: &str = "the first row of the file for an id that can be read is kept; \
     later rows with the same id are rejected (kept on site with the other rejected rows)";

/// The tables whose id names one row: (table, id field, what the id is called).
const UNIQUE_IDS: [(&str, &str, &str); 2] = [
    ("clients", "client_id", "client id"),
    ("memberships", "membership_id", "membership id"),
];

#[derive(Debug)]
pub struct ExportSummary {
    pub out: PathBuf,
    pub manifest: Manifest,
    /// On-site files holding rejected rows (personal data: they stay on site).
    pub rejects: Vec<RejectsFile>,
    /// The staging directory of an earlier, interrupted export that was removed first.
    pub stale_staging_removed: Option<PathBuf>,
}

pub fn export(opts: &ExportOptions) -> Result<ExportSummary> {
    let mapping = Mapping::load(&opts.mapping)?;
    let kp = PseudonymKey::resolve(opts.pseudonym_key.as_deref())?;
    let kd = DataKey::resolve(opts.data_key.as_deref())?;
    clm_core::keys::ensure_distinct(&kp, &kd)?;
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
    let stale_staging_removed = writer.stale_staging_removed().map(Path::to_path_buf);
    // No clients table in the source: derived from the others' client ids (derived.rs).
    let derived = crate::derived::write_clients(&mapping, &pseudonymizer, &mut writer)?;
    let (mut sources, rejects) = export_tables(
        &mapping,
        as_of,
        &pseudonymizer,
        &mut writer,
        &mut quality,
        opts,
    )?;
    sources.splice(0..0, derived);
    let draft = clm_core::bundle::ManifestDraft {
        pseudonym_key_fingerprint: kp.fingerprint(),
        club: mapping.club.clone(),
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
        stale_staging_removed,
    })
}

/// Exports every mapped table in mapping order.
///
/// The category scan (a pass of its own over each table, see [`categories`]) runs on a
/// thread ahead of the export, so that the scan of the next table overlaps with the export
/// of this one. Results, errors and their order are those of scanning each table right
/// before exporting it.
fn export_tables(
    mapping: &Mapping,
    as_of: NaiveDate,
    pseudonymizer: &Pseudonymizer,
    writer: &mut BundleWriter,
    quality: &mut Quality,
    opts: &ExportOptions,
) -> Result<(Vec<SourceEntry>, Vec<RejectsFile>)> {
    let stop = AtomicBool::new(false);
    // Hashes the ids of the tables whose id names one row, for the scan's repeated ids.
    let id_hasher = ahash::RandomState::new();
    std::thread::scope(|s| {
        let (tx, scans) = mpsc::channel();
        let scanner = spawn(s, "clm-scan", || {
            scan_ahead(mapping, opts.progress, &stop, tx, &id_hasher)
        })?;
        let mut sources = Vec::new();
        let mut rejects = Vec::new();
        let mut each = || -> Result<()> {
            for tm in &mapping.tables {
                let (scans, repeated) = scans.recv().map_err(|_| {
                    Error::Other("internal error: the category scan stopped".into())
                })??;
                check_pii(tm, &scans, opts.redact)?;
                let (entry, rej) = export_table(
                    tm,
                    mapping,
                    as_of,
                    pseudonymizer,
                    (&scans, repeated),
                    writer,
                    quality,
                    opts,
                )?;
                if tm.table == "clients" && entry.rows_out == 0 && !opts.allow_empty {
                    return Err(empty_clients(tm, &entry));
                }
                sources.push(entry);
                rejects.extend(rej);
            }
            Ok(())
        };
        let done = each();
        // After an error, a scan still running is of no use: stop it (after success, every
        // scan is done already).
        stop.store(true, Ordering::Relaxed);
        let scanned = scanner.join();
        done?;
        scanned.map_err(|_| Error::Other("internal error: the category scan failed".into()))?;
        Ok((sources, rejects))
    })
}

/// What the scan of one table found: its category columns, and the ids that occur in more
/// than one row (tables whose id names one row).
type TableScan = (Vec<ColumnScan>, Option<RepeatedIds>);

/// Scans the tables one after the other and sends each result on, stopping after an error
/// or when told to.
fn scan_ahead(
    mapping: &Mapping,
    progress: bool,
    stop: &AtomicBool,
    out: mpsc::Sender<Result<TableScan>>,
    id_hasher: &ahash::RandomState,
) {
    for tm in &mapping.tables {
        let ids = UNIQUE_IDS
            .iter()
            .find(|(t, _, _)| *t == tm.table)
            .and_then(|(_, name, _)| tm.field(name))
            .map(|f| (f, id_hasher));
        let r = categories::scan_with_ids(tm, mapping.policy.rare_k, progress, stop, ids);
        let failed = r.is_err();
        if out.send(r).is_err() || failed || stop.load(Ordering::Relaxed) {
            return;
        }
    }
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

/// An export of no client is of no use, and most likely of the wrong file.
fn empty_clients(tm: &TableMapping, entry: &SourceEntry) -> Error {
    let read = if entry.rows_in == 0 {
        "it has a header row and no data row".to_string()
    } else {
        format!(
            "all {} of its rows were rejected (see the rejected rows file beside it)",
            entry.rows_in
        )
    };
    Error::source(
        &tm.file,
        format!(
            "the clients table is empty: {read}. A bundle without clients is of no use to an analysis: \
             check that the mapping names the right file (`clm-pseudonymize check`), or pass --allow-empty \
             to export it anyway"
        ),
    )
}

/// The converted clients rows between the two passes of k-anonymity ([`crate::kanon`]):
/// counted per class as they come, kept in an anonymous spill file (Arrow IPC, 0600, gone
/// when dropped: on site, never in the bundle), then read back, suppressed and written.
struct HeldClients {
    k: u32,
    classes: Option<crate::kanon::Classes>,
    spill: Option<arrow_ipc::writer::StreamWriter<std::io::BufWriter<std::fs::File>>>,
}

impl HeldClients {
    fn new(k: u32) -> Self {
        HeldClients {
            k,
            classes: None,
            spill: None,
        }
    }

    fn push(&mut self, b: RecordBatch) -> Result<()> {
        if b.num_rows() == 0 {
            return Ok(());
        }
        if self.spill.is_none() {
            let f = std::io::BufWriter::with_capacity(1 << 20, crate::spill::spill_file()?);
            self.spill = Some(arrow_ipc::writer::StreamWriter::try_new(f, &b.schema())?);
            self.classes = Some(crate::kanon::Classes::new(b.schema(), self.k));
        }
        self.classes.as_mut().expect("made with the spill").add(&b);
        self.spill.as_mut().expect("made above").write(&b)?;
        Ok(())
    }

    /// The second pass: every row, suppressed as the classes say, into `tw`.
    fn write_to(self, tw: &mut TableWriter) -> Result<crate::kanon::Suppression> {
        use std::io::{Seek, SeekFrom};
        let (Some(mut spill), Some(classes)) = (self.spill, self.classes) else {
            return Ok(Default::default());
        };
        spill.finish()?;
        let mut f = spill
            .into_inner()?
            .into_inner()
            .map_err(|e| crate::spill::io_error(e.into_error()))?;
        f.seek(SeekFrom::Start(0)).map_err(crate::spill::io_error)?;
        let mut plan = classes.plan();
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::BufReader::new(f), None)?;
        for b in reader {
            tw.write(&plan.apply(&b?)?)?;
        }
        Ok(plan.suppression().clone())
    }
}

/// Ids seen so far in a table whose id names one row (see [`DUPLICATE_RULE`]).
struct UniqueIds {
    field: clm_core::mapping::MappedField,
    idx: usize,
    reason: String,
    /// The ids (normalized as for the pseudonym) of the rows kept: on site, in memory only;
    /// only the ids that the scan found in more than one row.
    seen: HashSet<Box<str>>,
    /// The ids that occur in more than one row (from the scan); `None`: all may.
    repeated: Option<RepeatedIds>,
}

impl UniqueIds {
    fn for_table(
        tm: &TableMapping,
        source: &TableSource,
        repeated: Option<RepeatedIds>,
    ) -> Result<Option<Self>> {
        let Some((_, name, words)) = UNIQUE_IDS.iter().find(|(t, _, _)| *t == tm.table) else {
            return Ok(None);
        };
        let Some(f) = tm.field(name) else {
            return Ok(None);
        };
        Ok(Some(UniqueIds {
            idx: source.column_index(&f.column)?,
            field: f.clone(),
            reason: format!("{name}: duplicate {words}"),
            seen: HashSet::new(),
            repeated,
        }))
    }

    /// The id of a record, as its pseudonym is made of it, when it occurs in more than one
    /// row (`None`: empty, rejected anyway, or found once only: it cannot be a duplicate).
    fn id(&self, rec: &csv::StringRecord) -> Option<Box<str>> {
        let id = self.field.source_id(rec.get(self.idx).unwrap_or(""))?;
        match &self.repeated {
            Some(r) if !r.may_repeat(&id) => None,
            _ => Some(id.into_owned().into_boxed_str()),
        }
    }
}

/// The rows of one table on their way to the bundle, and what is counted about them.
struct TablePass {
    conv: TableConverter,
    unique: Option<UniqueIds>,
    rejects: Rejects,
    reasons: BTreeMap<String, u64>,
    /// For `--since`: the event date's column, its format, and the day.
    since: Option<(usize, DateFormat, i32)>,
    rows_in: u64,
    skipped_before_since: u64,
}

impl TablePass {
    /// One record: skipped (before `--since`), converted, or rejected and kept on site.
    fn record(&mut self, r: &ReadRecord) -> Result<()> {
        if let (RecordStatus::Ok, Some((idx, fmt, since_day))) = (&r.status, &self.since) {
            let on_or_before = fmt
                .parse_date(r.rec.get(*idx).unwrap_or(""))
                .is_ok_and(|d| values::date_to_days(d) <= *since_day);
            if on_or_before {
                self.skipped_before_since += 1;
                return Ok(());
            }
        }
        self.rows_in += 1;
        let outcome = match (&r.status, &mut self.unique) {
            (RecordStatus::Ok, Some(u)) => match u.id(&r.rec) {
                Some(id) if u.seen.contains(&id) => Err(u.reason.clone()),
                Some(id) => {
                    let pushed = self.conv.push_at(&r.rec, r.line);
                    if pushed.is_ok() {
                        u.seen.insert(id);
                    }
                    pushed
                }
                None => self.conv.push_at(&r.rec, r.line),
            },
            (RecordStatus::Ok, None) => self.conv.push_at(&r.rec, r.line),
            (RecordStatus::Bad(reason), _) => Err(reason.clone()),
        };
        if let Err(reason) = outcome {
            self.rejects.add(r.line, &reason, &r.rec)?;
            *self.reasons.entry(reason).or_default() += 1;
        }
        Ok(())
    }
}

/// Converts every record of a table, handing each full batch to `put`, while the quality
/// figures of the same records are gathered on a thread of their own. Returns the quality
/// feed with every record counted.
fn convert_all<'q>(
    pass: &mut TablePass,
    records: &mut ReadAhead,
    qf: TableFeed<'q>,
    bar: &Progress,
    mut put: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<TableFeed<'q>> {
    let mut qf = with_quality_thread(qf, records, |chunk| {
        for r in chunk.iter() {
            pass.record(r)?;
            if pass.conv.buffered_rows() >= BATCH_ROWS {
                put(pass.conv.flush()?)?;
                bar.tick();
            }
        }
        Ok(())
    })?;
    if pass.conv.buffered_rows() > 0 {
        put(pass.conv.flush()?)?;
    }
    // Counted here, added now: the feed only adds them up, so the figures are those of
    // counting each row as it comes.
    for _ in 0..pass.skipped_before_since {
        qf.skipped_before_since();
    }
    for _ in 0..pass.rejects.count() {
        qf.rejected();
    }
    Ok(qf)
}

/// Chunks waiting for the quality thread.
const QUALITY_QUEUE: usize = 2;

/// Runs `each` over every chunk of `records` here, then hands the chunk to a thread that
/// feeds it to the quality figures (counts only) and gives it back to the reader: the two
/// overlap, and the quality figures see the records in their order. Returns the feed.
fn with_quality_thread<'q>(
    mut qf: TableFeed<'q>,
    records: &mut ReadAhead,
    mut each: impl FnMut(&Chunk) -> Result<()>,
) -> Result<TableFeed<'q>> {
    let back = records.recycler();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Chunk>(QUALITY_QUEUE);
        let feeding = spawn(s, "clm-quality", move || {
            for chunk in rx {
                for r in chunk.iter() {
                    match r.status {
                        RecordStatus::Ok => qf.row(&r.rec),
                        RecordStatus::Bad(_) => qf.unreadable(),
                    }
                }
                back.give_back(chunk);
            }
            qf
        })?;
        let mut run = || -> Result<()> {
            while let Some(chunk) = records.next_chunk()? {
                each(&chunk)?;
                if tx.send(chunk).is_err() {
                    // The thread is gone: joining it below says why.
                    break;
                }
            }
            Ok(())
        };
        let done = run();
        drop(tx);
        let qf = feeding
            .join()
            .map_err(|_| Error::Other("internal error: the quality figures failed".into()))?;
        done.map(|()| qf)
    })
}

/// Starts a named scoped thread (the name shows in `top -H` and in profiles).
fn spawn<'s, T: Send + 's>(
    s: &'s std::thread::Scope<'s, '_>,
    name: &str,
    f: impl FnOnce() -> T + Send + 's,
) -> Result<std::thread::ScopedJoinHandle<'s, T>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(s, f)
        .map_err(|e| Error::Other(format!("cannot start a thread: {e}")))
}

/// Batches waiting for the writing thread (each up to [`BATCH_ROWS`] rows).
const WRITE_QUEUE: usize = 1;

/// Runs `produce` with a function that hands batches to a thread writing them into `tw`,
/// so that Parquet encoding, compression and encryption overlap with the conversion. The
/// batches are written in the order given; the file is returned when all are written.
fn write_behind<T>(
    mut tw: TableWriter,
    produce: impl FnOnce(&mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<T>,
) -> Result<(T, TableWriter)> {
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<RecordBatch>(WRITE_QUEUE);
        let writing = spawn(s, "clm-write", move || -> Result<TableWriter> {
            for b in rx {
                tw.write(&b)?;
            }
            Ok(tw)
        })?;
        let mut send = |b: RecordBatch| {
            tx.send(b)
                .map_err(|_| Error::Other("internal error: the Parquet writer stopped".into()))
        };
        let produced = produce(&mut send);
        drop(tx);
        let written = writing
            .join()
            .map_err(|_| Error::Other("internal error: the Parquet writer failed".into()))?;
        // When the writer failed, its error is why sending stopped: report that one.
        let tw = written?;
        Ok((produced?, tw))
    })
}

// One pass over one table needs all of these; a struct for them would only rename them.
#[allow(clippy::too_many_arguments)]
fn export_table(
    tm: &TableMapping,
    mapping: &Mapping,
    as_of: NaiveDate,
    pseudonymizer: &Pseudonymizer,
    (scans, repeated): (&[ColumnScan], Option<RepeatedIds>),
    writer: &mut BundleWriter,
    quality: &mut Quality,
    opts: &ExportOptions,
) -> Result<(SourceEntry, Option<RejectsFile>)> {
    let ts = schema::canonical()
        .table(&tm.table)
        .expect("mapping tables are canonical");
    let reader = open_table(tm)?;
    let rules: HashMap<String, Arc<CategoryRules>> = scans
        .iter()
        .map(|s| (s.field.clone(), Arc::clone(&s.rules)))
        .collect();
    let conv = TableConverter::new(
        ts,
        tm,
        &mapping.policy,
        as_of,
        pseudonymizer.clone(),
        &rules,
        |c| reader.column_index(c),
    )?;
    let mut qf = quality.table(tm, |c| reader.column_index(c).ok());
    if opts.redact {
        qf.category_pii(
            scans
                .iter()
                .map(|s| s.pii_values.values().sum::<u64>())
                .sum(),
        );
    }
    let since = match opts.since {
        Some(d) => since_filter(tm, &reader)?.map(|(i, f)| (i, f, values::date_to_days(d))),
        None => None,
    };
    let mut pass = TablePass {
        conv,
        unique: UniqueIds::for_table(tm, &reader, repeated)?,
        rejects: Rejects::for_table(tm, reader.headers()),
        reasons: BTreeMap::new(),
        since,
        rows_in: 0,
        skipped_before_since: 0,
    };
    let mut held = (tm.table == "clients" && mapping.policy.k_anonymity > 1)
        .then(|| HeldClients::new(mapping.policy.k_anonymity));
    let (size, counter) = reader.progress();
    let bar = Progress::new(opts.progress, &tm.table, size, counter);
    let mut records = reader.read_ahead(READ_CHUNK_ROWS);
    let (qf, mut tw) = write_behind(writer.table_writer(&tm.table)?, |write| {
        convert_all(&mut pass, &mut records, qf, &bar, |b| match &mut held {
            Some(h) => h.push(b),
            None => write(b),
        })
    })?;
    let TablePass {
        rejects,
        reasons,
        rows_in,
        ..
    } = pass;
    let mut suppressed = BTreeMap::new();
    if let Some(h) = held {
        // k-anonymity needs every client's quasi-identifiers before the first row is written.
        suppressed = h.write_to(&mut tw)?.by_column;
    }
    qf.finish()?;
    bar.finish();
    let rows_rejected = rejects.count();
    let reject_file = rejects.finish()?;
    let entry = tw.finish()?;
    let rows_out = entry.rows;
    writer.add_file(entry);
    let named: Vec<&str> = tm.fields.iter().map(|f| f.column.trim()).collect();
    let source = SourceEntry {
        table: tm.table.clone(),
        file: SourceEntry::file_label(&tm.file, tm.sheet.as_deref()),
        rows_in,
        rows_out,
        rows_rejected,
        rejected_by_reason: reasons,
        dropped_columns: records
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

/// The generalizations applied, in words, for the manifest.
fn generalizations(mapping: &Mapping, as_of: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    for (table, field, _) in UNIQUE_IDS {
        if mapping
            .table(table)
            .is_some_and(|t| t.field(field).is_some())
        {
            out.push(format!("{table}: one row per {field}: {DUPLICATE_RULE}"));
        }
    }
    if mapping.policy.k_anonymity > 1 && mapping.table("clients").is_some() {
        out.push(format!(
            "clients: quasi-identifiers (postal_prefix, then age_band, gender, branch) of clients in classes of fewer than {} suppressed (k-anonymity)",
            mapping.policy.k_anonymity
        ));
    }
    out.extend(crate::derived::notes(mapping));
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
