//! One pass over the bundle's values for the content, leak and risk checks.
//!
//! The unit of work is one row group of one file (at most `ROW_GROUP_ROWS` rows), read with
//! the DEK and handed to a pool of threads; each thread keeps its own tallies, merged at the
//! end. String columns are read dictionary-encoded, as they are stored: each distinct value
//! of a column chunk is judged once, and the rows are visited only to count the values that
//! have a hit. Verdicts are also remembered across chunks in a bounded cache per column.
//! Memory is a few row groups and those caches: flat in the bundle's size.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use clm_core::detect::Detector;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use crate::arrays::{for_each_decimal_int_part, for_each_int, StrCol};
use crate::content::ContentRules;
use crate::keyscan::Form;
use crate::leak::{LeakRules, Scratch};
use crate::open::Opened;
use crate::risk::RiskAcc;
use crate::schema_check::{ColKind, FilePlan, StrKind};

/// What a value triggered. Content hits and leak hits; never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hit {
    Detector(Detector),
    PidFormat,
    Vocabulary,
    AgeBand,
    Prefix3,
    /// Origin index of the sensitive source column.
    SourceEqual(u8),
    SourceContains(u8),
    SourceDigits(u8),
    /// Digest tag (algorithm and origin).
    UnkeyedHash(u8),
    /// Domain index of the column.
    UnexplainedPid(u8),
    PseudonymKey(Form),
}

/// Rows per batch read.
const BATCH_ROWS: usize = 32 * 1024;
/// Numbers with at least this many digits go through the detectors.
const LONG_NUMBER: i128 = 1_000_000_000;

/// Column used in findings for a file's metadata strings.
pub const METADATA: &str = "(metadata)";

/// A column's tallies, and the verdicts of values already seen: category columns repeat a
/// few hundred values millions of times, and a client's pid comes back on every visit.
#[derive(Default)]
struct ColAcc {
    hits: HashMap<Hit, u64>,
    cache: VerdictCache,
    /// The dictionary of the column chunk being read (held, so that pointer equality
    /// means the very same values) and the verdict of each of its values.
    dict: Option<ArrayRef>,
    dict_verdicts: Vec<Option<Box<[Hit]>>>,
    dict_any: bool,
}

impl ColAcc {
    fn count(&mut self, hs: &[Hit]) {
        count(&mut self.hits, hs)
    }
}

fn count(hits: &mut HashMap<Hit, u64>, hs: &[Hit]) {
    for h in hs {
        *hits.entry(*h).or_default() += 1;
    }
}

/// Most distinct values remembered per column and thread.
const CACHE_CAP: usize = 1 << 17;
/// After this many lookups, a cache answering fewer than a quarter of them is dropped
/// (columns of unique ids: sale_pid, membership_pid).
const CACHE_TRIAL: u64 = 1 << 16;

/// The verdicts of the values of one column: the last value, then a bounded map — keyed by
/// the 128 bits of a well-formed pid, or by the text. The verdict of a value depends on the
/// value alone, so a remembered one is exact.
#[derive(Default)]
struct VerdictCache {
    last: String,
    last_hits: Vec<Hit>,
    has_last: bool,
    pids: HashMap<u128, Box<[Hit]>, BuildHasherDefault<FxHasher>>,
    texts: HashMap<Box<str>, Box<[Hit]>, BuildHasherDefault<FxHasher>>,
    lookups: u64,
    found: u64,
    decided: bool,
    off: bool,
}

enum Key<'v> {
    Pid(u128),
    Text(&'v str),
}

impl VerdictCache {
    fn key(v: &str, pid_column: bool) -> Key<'_> {
        if pid_column && crate::content::is_pid(v) {
            Key::Pid(u128::from_str_radix(v, 16).expect("32 hex digits"))
        } else {
            Key::Text(v)
        }
    }

    /// The remembered verdict of `v`, appended to `out`.
    fn answer(&mut self, v: &str, key: &Key, out: &mut Vec<Hit>) -> bool {
        if self.has_last && self.last == v {
            out.extend_from_slice(&self.last_hits);
            return true;
        }
        if self.off {
            return false;
        }
        self.lookups += 1;
        if !self.decided && self.lookups >= CACHE_TRIAL {
            self.decided = true;
            if self.found * 4 < self.lookups {
                self.off = true;
                self.pids = HashMap::default();
                self.texts = HashMap::default();
                return false;
            }
        }
        let found = match key {
            Key::Pid(k) => self.pids.get(k),
            Key::Text(t) => self.texts.get(*t),
        };
        let Some(h) = found else { return false };
        out.extend_from_slice(h);
        self.last_hits.clear();
        self.last_hits.extend_from_slice(h);
        self.found += 1;
        self.last.clear();
        self.last.push_str(v);
        self.has_last = true;
        true
    }

    fn remember(&mut self, v: &str, key: Key, verdict: &[Hit]) {
        self.last.clear();
        self.last.push_str(v);
        self.last_hits.clear();
        self.last_hits.extend_from_slice(verdict);
        self.has_last = true;
        if self.off || self.pids.len() + self.texts.len() >= CACHE_CAP {
            return;
        }
        match key {
            Key::Pid(k) => {
                self.pids.insert(k, verdict.into());
            }
            Key::Text(t) => {
                self.texts.insert(t.into(), verdict.into());
            }
        }
    }
}

/// The Fx hash (rustc's): fast on short strings; the cache is bounded, so a crafted flood
/// of colliding values could only slow the audit down, never change a verdict.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut c = bytes.chunks_exact(8);
        for w in &mut c {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let r = c.remainder();
        if !r.is_empty() {
            let mut b = [0u8; 8];
            b[..r.len()].copy_from_slice(r);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Totals of the pass, for the figures.
#[derive(Debug, Default, Clone)]
pub struct ScanTotals {
    pub rows: u64,
    pub string_values: u64,
    /// Values actually evaluated (not answered from a cache).
    pub evaluated: u64,
    pub string_columns: u64,
    pub numbers: u64,
    pub long_numbers: u64,
    pub metadata_strings: u64,
}

impl ScanTotals {
    fn add(&mut self, o: &ScanTotals) {
        self.rows += o.rows;
        self.string_values += o.string_values;
        self.evaluated += o.evaluated;
        self.numbers += o.numbers;
        self.long_numbers += o.long_numbers;
        self.metadata_strings += o.metadata_strings;
    }
}

/// The hits of one bundle column (over every file of its table).
#[derive(Debug, Clone)]
pub struct ColumnHits {
    pub table: String,
    pub column: String,
    pub files: BTreeSet<String>,
    pub hits: BTreeMap<Hit, u64>,
}

impl ColumnHits {
    pub fn file_list(&self) -> Option<String> {
        (!self.files.is_empty()).then(|| self.files.iter().cloned().collect::<Vec<_>>().join(", "))
    }
}

pub struct ScanOutcome {
    pub hits: Vec<ColumnHits>,
    pub totals: ScanTotals,
    pub risk: RiskAcc,
    /// (file, message) for row groups that could not be read.
    pub errors: Vec<(String, String)>,
}

/// The rules every value answers to.
pub struct Rules<'a> {
    pub content: ContentRules<'a>,
    pub leak: Option<LeakRules<'a>>,
    /// Keys the risk check's class and client hashes.
    pub risk_hasher: RandomState,
}

impl Rules<'_> {
    fn eval_str(&self, v: &str, kind: &StrKind, s: &mut Scratch, out: &mut Vec<Hit>) {
        self.content.check_str(v, kind, out);
        if let Some(l) = &self.leak {
            match kind {
                StrKind::Pid(d) => l.check_pid(v, *d, s, out),
                _ => l.check_text(v, s, out),
            }
        }
    }

    fn eval_number(&self, x: i128, out: &mut Vec<Hit>) {
        let digits = x.unsigned_abs().to_string();
        self.content.check_digits(&digits, out);
        if let Some(l) = &self.leak {
            l.check_digits(&digits, out);
        }
    }
}

/// The footer of a file, read again with its `Utf8` columns asked for as dictionaries.
fn dictionary_metadata(opened: &Opened, plan: &FilePlan) -> ArrowReaderMetadata {
    let schema = plan.meta.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if *f.data_type() == DataType::Utf8 {
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let dict = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    ArrowReaderMetadata::try_new(
        Arc::clone(plan.meta.metadata()),
        opened.reader_options().with_schema(dict),
    )
    // Should the reader refuse (it should not), the plain schema is read instead.
    .unwrap_or_else(|_| plan.meta.clone())
}

struct Worker<'r> {
    rules: &'r Rules<'r>,
    /// [file plan][column]
    cols: Vec<Vec<ColAcc>>,
    meta: Vec<ColAcc>,
    totals: ScanTotals,
    risk: RiskAcc,
    scratch: Scratch,
    out: Vec<Hit>,
    errors: Vec<(String, String)>,
}

impl<'r> Worker<'r> {
    fn new(rules: &'r Rules<'r>, plans: &[FilePlan]) -> Self {
        Worker {
            rules,
            cols: plans
                .iter()
                .map(|p| p.cols.iter().map(|_| ColAcc::default()).collect())
                .collect(),
            meta: plans.iter().map(|_| ColAcc::default()).collect(),
            totals: ScanTotals::default(),
            risk: RiskAcc::new(rules.risk_hasher.clone()),
            scratch: Scratch::default(),
            out: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn metadata(&mut self, fi: usize, plan: &FilePlan) {
        for v in &plan.metadata {
            self.totals.metadata_strings += 1;
            self.out.clear();
            self.rules
                .eval_str(v, &StrKind::Plain, &mut self.scratch, &mut self.out);
            self.meta[fi].count(&self.out);
        }
    }

    fn row_group(
        &mut self,
        opened: &Opened,
        fi: usize,
        plan: &FilePlan,
        meta: &ArrowReaderMetadata,
        rg: usize,
    ) {
        let path = opened.path_of(plan.entry);
        let res = (|| -> Result<(), String> {
            let f = File::open(&path).map_err(|e| e.to_string())?;
            let mask = ProjectionMask::roots(meta.parquet_schema(), plan.projection.clone());
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.clone())
                .with_projection(mask)
                .with_row_groups(vec![rg])
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| e.to_string())?;
            for b in reader {
                let b = b.map_err(|e| e.to_string())?;
                self.batch(fi, plan, &b);
            }
            Ok(())
        })();
        // The next row group has another dictionary.
        for acc in self.cols[fi].iter_mut() {
            acc.dict = None;
            acc.dict_verdicts = Vec::new();
            acc.dict_any = false;
        }
        if let Err(e) = res {
            self.errors.push((
                plan.entry.path.clone(),
                format!("row group {rg} cannot be decrypted or read: {e}"),
            ));
        }
    }

    fn batch(&mut self, fi: usize, plan: &FilePlan, b: &RecordBatch) {
        self.totals.rows += b.num_rows() as u64;
        for (ci, col) in plan.cols.iter().enumerate() {
            let arr = b.column(ci);
            match &col.kind {
                ColKind::Str(kind) => {
                    if self.dictionary(fi, ci, arr, kind) {
                        continue;
                    }

                    let Some(sc) = StrCol::new(arr) else { continue };
                    for i in 0..sc.len() {
                        let Some(v) = sc.get(i) else { continue };
                        self.string(fi, ci, &v, kind);
                    }
                }
                ColKind::Int | ColKind::Money => {
                    let mut long = Vec::new();
                    let mut n = 0u64;
                    let mut take = |x: i128| {
                        n += 1;
                        if x.unsigned_abs() >= LONG_NUMBER as u128 {
                            long.push(x);
                        }
                    };
                    if matches!(col.kind, ColKind::Int) {
                        for_each_int(arr, &mut take);
                    } else {
                        for_each_decimal_int_part(arr, &mut take);
                    }
                    self.totals.numbers += n;
                    self.totals.long_numbers += long.len() as u64;
                    for x in long {
                        self.out.clear();
                        self.rules.eval_number(x, &mut self.out);
                        self.cols[fi][ci].count(&self.out);
                    }
                }
            }
        }
        if let Some(rc) = &plan.risk {
            self.risk.observe(b, rc);
        }
    }

    /// One value: its verdict, counted.
    fn string(&mut self, fi: usize, ci: usize, v: &str, kind: &StrKind) {
        self.totals.string_values += 1;
        self.verdict(fi, ci, v, kind);
        count(&mut self.cols[fi][ci].hits, &self.out);
    }

    /// The verdict of `v` into `self.out`: remembered, or evaluated and remembered.
    fn verdict(&mut self, fi: usize, ci: usize, v: &str, kind: &StrKind) {
        self.out.clear();
        let cache = &mut self.cols[fi][ci].cache;
        let key = VerdictCache::key(v, matches!(kind, StrKind::Pid(_)));
        if cache.answer(v, &key, &mut self.out) {
            return;
        }
        self.totals.evaluated += 1;
        self.rules
            .eval_str(v, kind, &mut self.scratch, &mut self.out);
        self.cols[fi][ci].cache.remember(v, key, &self.out);
    }

    /// A dictionary-encoded column: each value of the dictionary is judged once per column
    /// chunk, and the rows are looked at only when one of the values has a hit.
    fn dictionary(&mut self, fi: usize, ci: usize, arr: &ArrayRef, kind: &StrKind) -> bool {
        let Some(d) = arr.as_dictionary_opt::<Int32Type>() else {
            return false;
        };
        let Some(values) = d.values().as_string_opt::<i32>() else {
            return false;
        };
        let keys = d.keys();
        // Rows with a value: a valid key to a valid dictionary entry.
        self.totals.string_values += if values.null_count() == 0 {
            (keys.len() - keys.null_count()) as u64
        } else {
            keys.iter()
                .flatten()
                .filter(|k| values.is_valid(*k as usize))
                .count() as u64
        };
        // The reader hands each batch a new array over the same dictionary buffers: the
        // same buffers (alive, since the last dictionary is held) are the same values.
        let same = self.cols[fi][ci]
            .dict
            .as_ref()
            .and_then(|held| held.as_string_opt::<i32>())
            .is_some_and(|held| same_strings(held, values));
        if !same {
            let mut verdicts = Vec::with_capacity(values.len());
            let mut any = false;
            for j in 0..values.len() {
                if values.is_null(j) {
                    verdicts.push(None);
                    continue;
                }
                self.verdict(fi, ci, values.value(j), kind);
                if self.out.is_empty() {
                    verdicts.push(None);
                } else {
                    any = true;
                    verdicts.push(Some(self.out.clone().into_boxed_slice()));
                }
            }
            let acc = &mut self.cols[fi][ci];
            acc.dict = Some(Arc::clone(d.values()));
            acc.dict_verdicts = verdicts;
            acc.dict_any = any;
        }
        let acc = &mut self.cols[fi][ci];
        if acc.dict_any {
            for k in keys.iter().flatten() {
                if let Some(h) = &acc.dict_verdicts[k as usize] {
                    count(&mut acc.hits, h);
                }
            }
        }
        true
    }
}

/// Whether two string arrays are views of the very same buffers.
fn same_strings(a: &arrow_array::StringArray, b: &arrow_array::StringArray) -> bool {
    a.len() == b.len()
        && a.offset() == b.offset()
        && std::ptr::eq(a.value_offsets().as_ptr(), b.value_offsets().as_ptr())
        && std::ptr::eq(a.value_data().as_ptr(), b.value_data().as_ptr())
        && a.nulls().map(|n| n.buffer().as_ptr()) == b.nulls().map(|n| n.buffer().as_ptr())
}

/// Reads every row group of every planned file over `threads` threads.
pub fn run(opened: &Opened, plans: &[FilePlan], rules: &Rules, threads: usize) -> ScanOutcome {
    let metas: Vec<ArrowReaderMetadata> = plans
        .iter()
        .map(|p| dictionary_metadata(opened, p))
        .collect();
    let units: Vec<(usize, usize)> = plans
        .iter()
        .enumerate()
        .flat_map(|(fi, p)| (0..p.row_groups).map(move |rg| (fi, rg)))
        .collect();
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, units.len().max(1));
    let workers: Vec<Worker> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let units = &units;
                let next = &next;
                let metas = &metas;
                s.spawn(move || {
                    let mut w = Worker::new(rules, plans);
                    if t == 0 {
                        for (fi, p) in plans.iter().enumerate() {
                            w.metadata(fi, p);
                        }
                    }
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(fi, rg)) = units.get(i) else { break };
                        w.row_group(opened, fi, &plans[fi], &metas[fi], rg);
                    }
                    w
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("scan thread"))
            .collect()
    });
    merge(plans, workers)
}

fn merge(plans: &[FilePlan], workers: Vec<Worker>) -> ScanOutcome {
    let mut totals = ScanTotals::default();
    let mut risk: Option<RiskAcc> = None;
    let mut errors = Vec::new();
    // (table, column) → files, hits
    type Tally = (BTreeSet<String>, BTreeMap<Hit, u64>);
    let mut by: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut string_columns: BTreeSet<(String, String)> = BTreeSet::new();
    for p in plans {
        for c in &p.cols {
            if matches!(c.kind, ColKind::Str(_)) {
                string_columns.insert((p.entry.table.clone(), c.name.clone()));
            }
        }
    }
    for w in workers {
        totals.add(&w.totals);
        errors.extend(w.errors);
        match risk.as_mut() {
            None => risk = Some(w.risk),
            Some(r) => r.merge(w.risk),
        }
        let mut add = |table: &str, column: &str, file: &str, acc: &ColAcc| {
            if acc.hits.is_empty() {
                return;
            }
            let e = by
                .entry((table.to_string(), column.to_string()))
                .or_default();
            e.0.insert(file.to_string());
            for (h, n) in &acc.hits {
                *e.1.entry(*h).or_default() += n;
            }
        };
        for (fi, p) in plans.iter().enumerate() {
            for (ci, c) in p.cols.iter().enumerate() {
                add(&p.entry.table, &c.name, &p.entry.path, &w.cols[fi][ci]);
            }
            add(&p.entry.table, METADATA, &p.entry.path, &w.meta[fi]);
        }
    }
    totals.string_columns = string_columns.len() as u64;
    errors.sort();
    errors.dedup();
    ScanOutcome {
        hits: by
            .into_iter()
            .map(|((table, column), (files, hits))| ColumnHits {
                table,
                column,
                files,
                hits,
            })
            .collect(),
        totals,
        risk: risk.expect("at least one worker"),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_cache_is_exact_and_gives_up_on_unique_columns() {
        let mut c = VerdictCache::default();
        let mut out = Vec::new();
        let pid = "0123456789abcdef0123456789abcdef";
        let k = VerdictCache::key(pid, true);
        assert!(matches!(k, Key::Pid(_)));
        assert!(!c.answer(pid, &k, &mut out));
        c.remember(pid, k, &[Hit::PidFormat]);
        // the last value, then the map
        assert!(c.answer(pid, &VerdictCache::key(pid, true), &mut out));
        c.remember("x", VerdictCache::key("x", true), &[]);
        assert!(c.answer(pid, &VerdictCache::key(pid, true), &mut out));
        assert_eq!(out, [Hit::PidFormat, Hit::PidFormat]);
        // a value that differs only by case is not a pid key, and not answered
        let upper = pid.to_uppercase();
        assert!(!c.answer(&upper, &VerdictCache::key(&upper, true), &mut out));
        // unique values: the cache switches itself off after its trial
        let mut u = VerdictCache::default();
        for i in 0..(CACHE_TRIAL + 10) {
            let v = format!("{i:032x}");
            let k = VerdictCache::key(&v, true);
            if !u.answer(&v, &k, &mut out) {
                u.remember(&v, k, &[]);
            }
        }
        assert!(u.off && u.pids.is_empty());
    }

    #[test]
    fn fx_hashes_differ() {
        use std::hash::BuildHasher;
        let b = BuildHasherDefault::<FxHasher>::default();
        assert_ne!(b.hash_one("abc"), b.hash_one("abd"));
        assert_ne!(b.hash_one(1u128), b.hash_one(1u128 << 64));
    }
}
