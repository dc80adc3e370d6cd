//! The first pass over a table with free category columns (branch, product, lead source…):
//! which values are used by at least `rare_k` clients, and which look like personal data.
//!
//! Both must be known before the first row is written, hence a pass of its own. Memory is
//! bounded by the number of distinct values times `rare_k`: a value's client set stops
//! growing once the value is known to be common.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use clm_core::detect::{self, Detector};
use clm_core::mapping::TableMapping;
use clm_core::schema::PrivacyClass;
use clm_core::source::{open_table, RecordStatus};
use clm_core::Result;

use crate::convert::CategoryRules;
use crate::progress::Progress;

#[derive(Default)]
struct ValueStat {
    clients: HashSet<Box<str>>,
    common: bool,
    hit: Option<Detector>,
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
    let fields = free_category_fields(tm);
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = open_table(tm)?;
    let client = tm.field("client_id").expect("every table maps client_id");
    let client_idx = reader.column_index(&client.column)?;
    let idx: Vec<usize> = fields
        .iter()
        .map(|f| reader.column_index(&f.column))
        .collect::<Result<_>>()?;
    let mut stats: Vec<HashMap<String, ValueStat>> =
        fields.iter().map(|_| HashMap::new()).collect();
    let (size, counter) = reader.progress();
    let bar = Progress::new(
        show_progress,
        &format!("{} (scan)", tm.table),
        size,
        counter,
    );
    let mut rec = csv::StringRecord::new();
    let mut n = 0u64;
    while let Some(st) = reader.next_record(&mut rec)? {
        n += 1;
        if n % 65_536 == 0 {
            bar.tick();
        }
        if st != RecordStatus::Ok {
            continue;
        }
        let cid = client
            .source_id(rec.get(client_idx).unwrap_or(""))
            .unwrap_or_default();
        for (k, f) in fields.iter().enumerate() {
            let raw = rec.get(idx[k]).unwrap_or("").trim();
            let v = f.map.get(raw).map(String::as_str).unwrap_or(raw);
            if v.is_empty() {
                continue;
            }
            let s = match stats[k].get_mut(v) {
                Some(s) => s,
                None => {
                    let s = ValueStat {
                        hit: detect::first_hit(v),
                        ..Default::default()
                    };
                    stats[k].entry(v.to_string()).or_insert(s)
                }
            };
            if !s.common && !cid.is_empty() {
                s.clients.insert(cid.as_ref().into());
                if s.clients.len() as u32 >= rare_k {
                    s.common = true;
                    s.clients = HashSet::new();
                }
            }
        }
    }
    bar.finish();
    Ok(fields
        .iter()
        .zip(stats)
        .map(|(f, st)| {
            let mut rules = CategoryRules::default();
            let mut scan = ColumnScan {
                field: f.def.name.clone(),
                ..Default::default()
            };
            for (v, s) in st {
                if let Some(d) = s.hit {
                    *scan.pii_values.entry(d.name()).or_default() += 1;
                    rules.redacted.insert(v);
                } else if s.common {
                    rules.common.insert(v);
                } else {
                    scan.rare_values += 1;
                }
            }
            scan.rules = Arc::new(rules);
            scan
        })
        .collect())
}
