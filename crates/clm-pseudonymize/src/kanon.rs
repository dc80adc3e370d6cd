//! k-anonymity of the clients table, enforced at export (SPEC §3.6 checks it as "risk").
//!
//! Generalizing birth dates and postal codes is not enough on its own: a 70-year-old man from
//! another town may still be the only one of his kind at his branch. Whoever knows he is a
//! member could then pick his row, and with it his visits. So, before the clients table is
//! written, every client whose class over the quasi-identifiers (gender, age band, branch,
//! postal prefix) holds fewer than k clients loses values by local suppression — postal
//! prefix first, then age band, gender and, in the last resort, branch — until every class
//! holds at least k clients. Suppressed values become null; the counts go to the manifest.
//!
//! The clients table is held in memory for this (one row per client: ~100 bytes each).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use clm_core::Result;

/// The quasi-identifiers in the order their values are given up.
pub const SUPPRESSION_ORDER: [&str; 4] = ["postal_prefix", "age_band", "gender", "branch"];

/// What enforcement did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Values set empty, per column.
    pub by_column: BTreeMap<String, u64>,
    /// Clients still in a class below k (only when the whole table has fewer than k clients).
    pub below_k_after: u64,
}

/// Suppresses quasi-identifier values until every class holds at least `k` rows.
pub fn enforce(batch: &RecordBatch, k: u32) -> Result<(RecordBatch, Suppression)> {
    let mut out = Suppression::default();
    if k <= 1 || batch.num_rows() == 0 {
        return Ok((batch.clone(), out));
    }
    let n = batch.num_rows();
    // Value ids per quasi-identifier column (0 = null), in SUPPRESSION_ORDER.
    let mut cols: Vec<Option<(usize, Vec<u32>)>> = Vec::new();
    for name in SUPPRESSION_ORDER {
        let Some(idx) = batch.schema().index_of(name).ok() else {
            cols.push(None);
            continue;
        };
        let a = batch.column(idx).as_string::<i32>();
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let v: Vec<u32> = (0..n)
            .map(|i| {
                if a.is_null(i) {
                    0
                } else {
                    let next = ids.len() as u32 + 1;
                    *ids.entry(a.value(i)).or_insert(next)
                }
            })
            .collect();
        cols.push(Some((idx, v)));
    }
    let key = |cols: &Vec<Option<(usize, Vec<u32>)>>, i: usize| -> [u32; 4] {
        let mut k = [0u32; 4];
        for (j, c) in cols.iter().enumerate() {
            if let Some((_, v)) = c {
                k[j] = v[i];
            }
        }
        k
    };
    let small_rows = |cols: &Vec<Option<(usize, Vec<u32>)>>| -> Vec<usize> {
        let mut counts: HashMap<[u32; 4], u32> = HashMap::new();
        for i in 0..n {
            *counts.entry(key(cols, i)).or_default() += 1;
        }
        (0..n).filter(|&i| counts[&key(cols, i)] < k).collect()
    };
    for level in 0..SUPPRESSION_ORDER.len() {
        let rows = small_rows(&cols);
        if rows.is_empty() {
            break;
        }
        if let Some((_, v)) = cols[level].as_mut() {
            let mut c = 0u64;
            for i in rows {
                if v[i] != 0 {
                    v[i] = 0;
                    c += 1;
                }
            }
            if c > 0 {
                out.by_column
                    .insert(SUPPRESSION_ORDER[level].to_string(), c);
            }
        }
    }
    // Every class below k is now the one class whose values are all empty. Fill it up to k
    // with rows of other classes: first the rows a class holds beyond k, then whole classes,
    // smallest first, until it is large enough (or everything is empty).
    let empty = [0u32; 4];
    loop {
        let mut counts: HashMap<[u32; 4], Vec<usize>> = HashMap::new();
        for i in 0..n {
            counts.entry(key(&cols, i)).or_default().push(i);
        }
        let have = counts.get(&empty).map_or(0, Vec::len);
        if have == 0 || have >= k as usize || have == n {
            break;
        }
        let need = k as usize - have;
        // Donors: the largest classes give spare rows; a whole class is given up smallest
        // first and, among equals, the one with the fewest values left (least is lost).
        let filled = |kk: &[u32; 4]| kk.iter().filter(|x| **x != 0).count();
        let mut donors: Vec<(&[u32; 4], &Vec<usize>)> =
            counts.iter().filter(|(kk, _)| **kk != empty).collect();
        donors.sort_by_key(|(_, v)| (std::cmp::Reverse(v.len()), v[0]));
        let spare: Vec<usize> = donors
            .iter()
            .flat_map(|(_, v)| v.iter().skip(k as usize).copied())
            .take(need)
            .collect();
        let take: Vec<usize> = if spare.len() == need {
            spare
        } else {
            let (_, smallest) = donors
                .iter()
                .min_by_key(|(kk, v)| (v.len(), filled(kk), v[0]))
                .expect("a class besides the empty one");
            smallest.to_vec()
        };
        for i in take {
            for (j, c) in cols.iter_mut().enumerate() {
                if let Some((_, v)) = c {
                    if v[i] != 0 {
                        v[i] = 0;
                        *out.by_column
                            .entry(SUPPRESSION_ORDER[j].to_string())
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    out.below_k_after = small_rows(&cols).len() as u64;
    let mut arrays: Vec<ArrayRef> = batch.columns().to_vec();
    for (idx, v) in cols.into_iter().flatten() {
        let a = batch.column(idx).as_string::<i32>();
        let new: StringArray = (0..n).map(|i| (v[i] != 0).then(|| a.value(i))).collect();
        arrays[idx] = Arc::new(new);
    }
    Ok((RecordBatch::try_new(batch.schema(), arrays)?, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, Schema};

    fn batch(rows: &[[Option<&str>; 4]]) -> RecordBatch {
        let schema = Arc::new(Schema::new(
            SUPPRESSION_ORDER
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let cols: Vec<ArrayRef> = (0..4)
            .map(|j| Arc::new(rows.iter().map(|r| r[j]).collect::<StringArray>()) as ArrayRef)
            .collect();
        RecordBatch::try_new(schema, cols).unwrap()
    }

    fn col(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
        b.column_by_name(name)
            .unwrap()
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    }

    /// Worked by hand, k = 2 over (postal, age, gender, branch):
    /// rows 0,1 share every value → a class of 2, untouched.
    /// row 2 differs from 0,1 by postal only → its class of 1 loses the postal prefix; as
    /// (null, 25-34, f, A) it is still alone → loses the age band → (null, null, f, A) alone →
    /// loses gender → (null, null, null, A) joins row 3, which went the same way from
    /// (630, 65+, m, A). Row 4 is alone at branch B and, with nothing left to give but the
    /// branch, ends as (null, null, null, null), alone. No class holds more than k rows to
    /// spare, so the smallest other class, rows 2 and 3, is emptied into it: a class of 3.
    #[test]
    fn suppresses_in_order_until_classes_reach_k() {
        let b = batch(&[
            [Some("119"), Some("25-34"), Some("f"), Some("A")],
            [Some("119"), Some("25-34"), Some("f"), Some("A")],
            [Some("120"), Some("25-34"), Some("f"), Some("A")],
            [Some("630"), Some("65+"), Some("m"), Some("A")],
            [Some("119"), Some("25-34"), Some("f"), Some("B")],
        ]);
        let (out, s) = enforce(&b, 2).unwrap();
        assert_eq!(
            col(&out, "postal_prefix"),
            [Some("119"), Some("119"), None, None, None].map(|v| v.map(String::from))
        );
        assert_eq!(
            col(&out, "age_band"),
            [Some("25-34"), Some("25-34"), None, None, None].map(|v| v.map(String::from))
        );
        assert_eq!(
            col(&out, "gender"),
            [Some("f"), Some("f"), None, None, None].map(|v| v.map(String::from))
        );
        assert_eq!(
            col(&out, "branch"),
            [Some("A"), Some("A"), None, None, None].map(|v| v.map(String::from))
        );
        assert_eq!(s.by_column["postal_prefix"], 3);
        assert_eq!(s.by_column["age_band"], 3);
        assert_eq!(s.by_column["gender"], 3);
        assert_eq!(s.by_column["branch"], 3);
        assert_eq!(s.below_k_after, 0);
    }

    /// The empty class is filled from the rows a class holds beyond k: k = 3, a class of 5
    /// and one odd row. The odd row ends empty and alone; two spare rows of the big class
    /// join it, leaving 3 behind.
    #[test]
    fn empty_class_is_filled_from_spare_rows() {
        let mut rows = vec![[Some("119"), Some("25-34"), Some("f"), Some("A")]; 5];
        rows.push([Some("630"), Some("65+"), Some("m"), Some("B")]);
        let (out, s) = enforce(&batch(&rows), 3).unwrap();
        let branch = col(&out, "branch");
        assert_eq!(branch.iter().filter(|v| v.is_some()).count(), 3);
        assert_eq!(s.below_k_after, 0);
    }

    #[test]
    fn k_of_one_changes_nothing_and_large_classes_are_kept() {
        let rows = vec![[Some("119"), Some("25-34"), Some("f"), Some("A")]; 5];
        let b = batch(&rows);
        let (out, s) = enforce(&b, 5).unwrap();
        assert_eq!(out, b);
        assert_eq!(s, Suppression::default());
        let (out, _) = enforce(&batch(&[[Some("1"), None, None, None]]), 1).unwrap();
        assert_eq!(col(&out, "postal_prefix"), [Some("1".to_string())]);
    }
}
