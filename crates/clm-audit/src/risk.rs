//! Check 5, risk: k-anonymity of the clients table over its quasi-identifiers (gender,
//! age_band, branch, postal_prefix — those the bundle has), counted per client.
//!
//! A client is a distinct client_pid (a row without one counts as a client of its own). Its
//! equivalence class is the combination of its quasi-identifier values, null being a value.
//! Prosecutor risk of a client is 1 / the size of its class: the chance that an attacker who
//! knows someone is in the data and knows their quasi-identifiers picks their row. The
//! check passes when no client sits in a class smaller than k. Classes are kept as 64-bit
//! keyed hashes of their values, so the report never names a class (its values could point
//! at the one person in it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

use arrow_array::RecordBatch;
use serde_json::json;

use crate::arrays::StrCol;
use crate::report::{group, CheckReport, Finding};
use crate::schema_check::RiskCols;

pub struct RiskAcc {
    hasher: RandomState,
    /// client pid key → class key (first row seen)
    by_pid: HashMap<u64, u64>,
    /// class key → rows without a pid
    anonymous: HashMap<u64, u64>,
    rows: u64,
    duplicates: u64,
    qi_non_null: BTreeMap<String, u64>,
}

impl RiskAcc {
    pub fn new(hasher: RandomState) -> Self {
        RiskAcc {
            hasher,
            by_pid: HashMap::new(),
            anonymous: HashMap::new(),
            rows: 0,
            duplicates: 0,
            qi_non_null: BTreeMap::new(),
        }
    }

    pub fn observe(&mut self, b: &RecordBatch, rc: &RiskCols) {
        let qi: Vec<(&str, Option<StrCol>)> = rc
            .qi
            .iter()
            .map(|(n, i)| (n.as_str(), StrCol::new(b.column(*i))))
            .collect();
        for (n, _) in &qi {
            self.qi_non_null.entry(n.to_string()).or_default();
        }
        let pid = rc.pid.and_then(|i| StrCol::new(b.column(i)));
        for row in 0..b.num_rows() {
            self.rows += 1;
            let mut h = self.hasher.build_hasher();
            for (name, col) in &qi {
                match col.as_ref().and_then(|c| c.get(row)) {
                    Some(v) => {
                        1u8.hash(&mut h);
                        v.as_ref().hash(&mut h);
                        *self.qi_non_null.get_mut(*name).expect("inserted") += 1;
                    }
                    None => 0u8.hash(&mut h),
                }
            }
            let class = h.finish();
            match pid.as_ref().and_then(|c| c.get(row)) {
                Some(p) => {
                    let k = self.hasher.hash_one(p.as_ref());
                    if self.by_pid.insert(k, class).is_some() {
                        // keep the first row's class
                        self.duplicates += 1;
                    }
                }
                None => *self.anonymous.entry(class).or_default() += 1,
            }
        }
    }

    pub fn merge(&mut self, o: RiskAcc) {
        for (k, c) in o.by_pid {
            match self.by_pid.entry(k) {
                std::collections::hash_map::Entry::Occupied(_) => self.duplicates += 1,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(c);
                }
            }
        }
        for (c, n) in o.anonymous {
            *self.anonymous.entry(c).or_default() += n;
        }
        self.rows += o.rows;
        self.duplicates += o.duplicates;
        for (n, c) in o.qi_non_null {
            *self.qi_non_null.entry(n).or_default() += c;
        }
    }

    pub fn report(&self, k: u32, qi_columns: &BTreeSet<String>, has_clients: bool) -> CheckReport {
        if !has_clients {
            return CheckReport::skipped(
                "risk",
                "no readable clients table: nothing to measure (see schema/integrity)",
            );
        }
        let mut sizes: HashMap<u64, u64> = HashMap::new();
        for c in self.by_pid.values() {
            *sizes.entry(*c).or_default() += 1;
        }
        for (c, n) in &self.anonymous {
            *sizes.entry(*c).or_default() += n;
        }
        let clients: u64 = sizes.values().sum();
        let classes = sizes.len() as u64;
        let smallest = sizes.values().copied().min().unwrap_or(0);
        let k = k.max(1) as u64;
        let below: Vec<u64> = sizes.values().copied().filter(|s| *s < k).collect();
        let clients_below: u64 = below.iter().sum();
        let max_risk = if smallest > 0 {
            1.0 / smallest as f64
        } else {
            0.0
        };
        let mean_risk = if clients > 0 {
            classes as f64 / clients as f64
        } else {
            0.0
        };
        let mut hist: BTreeMap<String, u64> = BTreeMap::new();
        for s in sizes.values() {
            let key = if *s >= k {
                format!(">={k}")
            } else {
                format!("{s}")
            };
            *hist.entry(key).or_default() += 1;
        }
        let qi_order: Vec<String> = crate::schema_check::QUASI
            .iter()
            .filter(|q| qi_columns.contains(**q))
            .map(|q| q.to_string())
            .collect();
        let empty: Vec<&String> = qi_order
            .iter()
            .filter(|q| self.qi_non_null.get(*q).copied().unwrap_or(0) == 0)
            .collect();
        let mut r = CheckReport::new("risk");
        if clients_below > 0 {
            r.findings.push(Finding {
                table: "clients".into(),
                column: qi_order.join(", "),
                detector: "k_anonymity".into(),
                count: clients_below,
                file: None,
                detail: format!(
                    "{} clients in {} classes smaller than k={k} (smallest class: {smallest})",
                    group(clients_below),
                    group(below.len() as u64)
                ),
            });
        }
        if !empty.is_empty() {
            r.notes.push(format!(
                "quasi-identifiers with no value in the bundle (they split no class): {}",
                empty
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if self.duplicates > 0 {
            r.notes.push(format!(
                "{} clients rows repeat a client_pid already seen; each client is counted once",
                group(self.duplicates)
            ));
        }
        let anonymous: u64 = self.anonymous.values().sum();
        if anonymous > 0 {
            r.notes.push(format!(
                "{} clients rows have no client_pid; each counts as a client",
                group(anonymous)
            ));
        }
        r.figures = json!({
            "k": k,
            "quasi_identifiers": qi_order,
            "rows": self.rows,
            "clients": clients,
            "classes": classes,
            "smallest_class": smallest,
            "classes_below_k": below.len(),
            "clients_below_k": clients_below,
            "max_prosecutor_risk": max_risk,
            "mean_prosecutor_risk": mean_risk,
            "class_sizes": hist,
        });
        r.summary = format!(
            "k={k} over {}: {} clients, {} classes, smallest {}, {} below k; risk max {:.3}, mean {:.3}",
            if qi_order.is_empty() {
                "no quasi-identifier".to_string()
            } else {
                qi_order.join(", ")
            },
            group(clients),
            group(classes),
            smallest,
            group(clients_below),
            max_risk,
            mean_risk
        );
        r.settle();
        r
    }
}
