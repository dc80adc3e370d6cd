//! The first pass over a table with free category columns (branch, product, lead source…):
//! which values are used by at least `rare_k` clients, and which look like personal data.
//!
//! Both must be known before the first row is written, hence a pass of its own. Memory is
//! bounded by the number of distinct values times `rare_k`: a value's client set stops
//! growing once the value is known to be common.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ahash::RandomState;

use clm_core::detect::{self, Detector};
use clm_core::mapping::{MappedField, TableMapping};
use clm_core::schema::PrivacyClass;
use clm_core::source::{open_table, RecordStatus};
use clm_core::Result;

use crate::convert::CategoryRules;
use crate::progress::Progress;
use crate::spill::{Sorted, SpillSort};

/// Records handed over by the reading thread at a time.
const READ_CHUNK_ROWS: usize = 1024;

#[derive(Default)]
struct ValueStat {
    clients: HashSet<Box<str>, RandomState>,
    common: bool,
    hit: Option<Detector>,
}

/// The values of one column seen so far.
#[derive(Default)]
struct ColumnStats {
    values: HashMap<Box<str>, ValueStat, RandomState>,
}

impl ColumnStats {
    /// Counts one use of `value` by the client `client_id` (empty when the row has none).
    fn count(&mut self, value: &str, client_id: &str, rare_k: u32) {
        let s = match self.values.get_mut(value) {
            Some(s) => s,
            None => self.values.entry(value.into()).or_insert(ValueStat {
                hit: detect::first_hit(value),
                ..Default::default()
            }),
        };
        if !s.common && !client_id.is_empty() && !s.clients.contains(client_id) {
            s.clients.insert(client_id.into());
            if s.clients.len() as u32 >= rare_k {
                s.common = true;
                s.clients = HashSet::default();
            }
        }
    }
}

/// What the first pass found in one column.
#[derive(Debug, Default, Clone)]
pub struct ColumnScan {
    pub field: String,
    pub rules: Arc<CategoryRules>,
    /// Distinct values replaced by `other`.
    pub rare_values: u64,
    /// Distinct values a detector hit, by detector name.
    pub pii_values: BTreeMap<&'static str, u64>,
}

/// Free category fields of a mapped table (closed vocabularies need no scan).
pub fn free_category_fields(tm: &TableMapping) -> Vec<&clm_core::mapping::MappedField> {
    tm.fields
        .iter()
        .filter(|f| f.def.class == PrivacyClass::Category && f.def.values.is_none())
        .collect()
}

/// Scans the free category columns of one table. Returns nothing when there are none.
pub fn scan(tm: &TableMapping, rare_k: u32, show_progress: bool) -> Result<Vec<ColumnScan>> {
    scan_until(tm, rare_k, show_progress, &AtomicBool::new(false))
}

/// [`scan`], given up (with an empty result) once `stop` is set: for a scan running ahead
/// of an export that has failed.
pub fn scan_until(
    tm: &TableMapping,
    rare_k: u32,
    show_progress: bool,
    stop: &AtomicBool,
) -> Result<Vec<ColumnScan>> {
    Ok(scan_with_ids(tm, rare_k, show_progress, stop, None)?.0)
}

/// [`scan_until`], and in the same pass, when `ids` names an id field and how to hash it,
/// the ids that occur in more than one readable row ([`RepeatedIds`]).
pub fn scan_with_ids(
    tm: &TableMapping,
    rare_k: u32,
    show_progress: bool,
    stop: &AtomicBool,
    ids: Option<(&MappedField, &RandomState)>,
) -> Result<(Vec<ColumnScan>, Option<RepeatedIds>)> {
    let fields = free_category_fields(tm);
    if fields.is_empty() && ids.is_none() {
        return Ok((Vec::new(), None));
    }
    let reader = open_table(tm)?;
    let id_idx = match ids {
        Some((f, _)) => Some(reader.column_index(&f.column)?),
        None => None,
    };
    let mut hashes: SpillSort<u64> = SpillSort::default();
    let client = tm.field("client_id").expect("every table maps client_id");
    let client_idx = reader.column_index(&client.column)?;
    let idx: Vec<usize> = fields
        .iter()
        .map(|f| reader.column_index(&f.column))
        .collect::<Result<_>>()?;
    let mut stats: Vec<ColumnStats> = fields.iter().map(|_| ColumnStats::default()).collect();
    let (size, counter) = reader.progress();
    let bar = Progress::new(
        show_progress,
        &format!("{} (scan)", tm.table),
        size,
        counter,
    );
    let mut rows = reader.read_ahead(READ_CHUNK_ROWS);
    while let Some(chunk) = rows.next_chunk()? {
        if stop.load(Ordering::Relaxed) {
            return Ok((Vec::new(), None));
        }
        for r in chunk.iter().filter(|r| r.status == RecordStatus::Ok) {
            if let (Some((f, h)), Some(i)) = (ids, id_idx) {
                if let Some(id) = f.source_id(r.rec.get(i).unwrap_or("")) {
                    hashes.push(h.hash_one(id.as_ref()))?;
                }
            }
            let cid = client
                .source_id(r.rec.get(client_idx).unwrap_or(""))
                .unwrap_or_default();
            for (k, f) in fields.iter().enumerate() {
                let raw = r.rec.get(idx[k]).unwrap_or("").trim();
                let v = f.map.get(raw).map(String::as_str).unwrap_or(raw);
                if !v.is_empty() {
                    stats[k].count(v, &cid, rare_k);
                }
            }
        }
        rows.give_back(chunk);
        bar.tick();
    }
    bar.finish();
    let repeated = match ids {
        Some((_, h)) => Some(RepeatedIds::from_sorted(hashes.finish()?, h.clone())?),
        None => None,
    };
    let scans = fields
        .iter()
        .zip(stats)
        .map(|(f, st)| {
            let mut rules = CategoryRules::default();
            let mut scan = ColumnScan {
                field: f.def.name.clone(),
                ..Default::default()
            };
            for (v, s) in st.values {
                if let Some(d) = s.hit {
                    *scan.pii_values.entry(d.name()).or_default() += 1;
                    rules.redacted.insert(v.into());
                } else if s.common {
                    rules.common.insert(v.into());
                } else {
                    scan.rare_values += 1;
                }
            }
            scan.rules = Arc::new(rules);
            scan
        })
        .collect();
    Ok((scans, repeated))
}

/// The hashes of the ids that occur in more than one readable row of a table: only rows
/// with such an id can be duplicates, so only those need remembering during the export.
/// Hash collisions only add ids to remember, never lose a duplicate. Memory: 8 bytes per
/// repeated id (none in a clean export).
#[derive(Debug, Clone)]
pub struct RepeatedIds {
    hashes: Vec<u64>,
    hasher: RandomState,
}

impl RepeatedIds {
    fn from_sorted(mut sorted: Sorted<u64>, hasher: RandomState) -> Result<Self> {
        let mut hashes = Vec::new();
        let mut last = None;
        while let Some(h) = sorted.next_record()? {
            if last == Some(h) && hashes.last() != Some(&h) {
                hashes.push(h);
            }
            last = Some(h);
        }
        hashes.shrink_to_fit();
        Ok(RepeatedIds { hashes, hasher })
    }

    /// Whether `id` may occur in more than one row.
    pub fn may_repeat(&self, id: &str) -> bool {
        !self.hashes.is_empty() && self.hashes.binary_search(&self.hasher.hash_one(id)).is_ok()
    }
}
