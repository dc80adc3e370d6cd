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
//! Enforcement takes two passes, so that memory does not grow with the clients: every row
//! of a class is treated alike, so the first pass ([`Classes::add`]) only counts the rows of
//! each class (and the first row of each), [`Classes::plan`] decides per class, and the
//! second pass ([`Plan::apply`]) suppresses row by row, the rows coming again in their order
//! (export.rs keeps them in a spill file in between). Memory: the distinct values of the
//! four columns and one entry per class.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
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

/// Suppresses quasi-identifier values until every class holds at least `k` rows: the two
/// passes over one batch.
pub fn enforce(batch: &RecordBatch, k: u32) -> Result<(RecordBatch, Suppression)> {
    let mut c = Classes::new(batch.schema(), k);
    c.add(batch);
    let mut plan = c.plan();
    let out = plan.apply(batch)?;
    Ok((out, plan.suppression().clone()))
}

/// A class: its values, one id per quasi-identifier column (0 = null).
type Key = [u32; 4];

const EMPTY: Key = [0; 4];

/// Value ids of the quasi-identifier columns, shared by both passes.
struct Values {
    /// Column index per quasi-identifier, in SUPPRESSION_ORDER.
    idx: [Option<usize>; 4],
    ids: [HashMap<Box<str>, u32>; 4],
}

impl Values {
    fn new(schema: &SchemaRef) -> Self {
        Values {
            idx: SUPPRESSION_ORDER.map(|n| schema.index_of(n).ok()),
            ids: Default::default(),
        }
    }

    /// The class of every row of `batch`.
    fn keys(&mut self, batch: &RecordBatch) -> Vec<Key> {
        let n = batch.num_rows();
        let mut keys = vec![EMPTY; n];
        for (j, idx) in self.idx.iter().enumerate() {
            let Some(idx) = idx else { continue };
            let a = batch.column(*idx).as_string::<i32>();
            let ids = &mut self.ids[j];
            for (i, key) in keys.iter_mut().enumerate() {
                if a.is_null(i) {
                    continue;
                }
                let v = a.value(i);
                key[j] = match ids.get(v) {
                    Some(id) => *id,
                    None => {
                        let next = ids.len() as u32 + 1;
                        ids.insert(v.into(), next);
                        next
                    }
                };
            }
        }
        keys
    }
}

/// The first pass: rows counted per class.
pub struct Classes {
    k: u32,
    values: Values,
    /// Class → (rows, number of its first row).
    classes: HashMap<Key, (u64, u64)>,
    rows: u64,
}

impl Classes {
    pub fn new(schema: SchemaRef, k: u32) -> Self {
        Classes {
            k,
            values: Values::new(&schema),
            classes: HashMap::new(),
            rows: 0,
        }
    }

    /// Counts the rows of a batch (the batches in the order they are written).
    pub fn add(&mut self, batch: &RecordBatch) {
        if self.k <= 1 {
            self.rows += batch.num_rows() as u64;
            return;
        }
        for key in self.values.keys(batch) {
            let row = self.rows;
            self.rows += 1;
            self.classes.entry(key).or_insert((0, row)).0 += 1;
        }
    }

    /// Decides, per class, what is suppressed.
    pub fn plan(self) -> Plan {
        let Classes {
            k,
            values,
            classes,
            rows: n,
        } = self;
        let mut out = Suppression::default();
        let mut plan = Plan {
            values,
            current: HashMap::new(),
            spare: HashMap::new(),
            seen: HashMap::new(),
            k: k as u64,
            out: Suppression::default(),
        };
        if k <= 1 || n == 0 {
            return plan;
        }
        let k = k as u64;
        // Original class → current class, and (rows, first row) per original class.
        let orig: Vec<(Key, (u64, u64))> = classes.into_iter().collect();
        let mut cur: Vec<Key> = orig.iter().map(|(key, _)| *key).collect();
        let counts = |cur: &Vec<Key>| -> HashMap<Key, (u64, u64)> {
            let mut m: HashMap<Key, (u64, u64)> = HashMap::new();
            for (c, (_, (rows, first))) in cur.iter().zip(&orig) {
                match m.entry(*c) {
                    Entry::Occupied(mut e) => {
                        let v = e.get_mut();
                        v.0 += rows;
                        v.1 = v.1.min(*first);
                    }
                    Entry::Vacant(e) => {
                        e.insert((*rows, *first));
                    }
                }
            }
            m
        };
        for level in 0..SUPPRESSION_ORDER.len() {
            let m = counts(&cur);
            let small: Vec<usize> = (0..cur.len()).filter(|&i| m[&cur[i]].0 < k).collect();
            if small.is_empty() {
                break;
            }
            if plan.values.idx[level].is_some() {
                let mut c = 0u64;
                for i in small {
                    if cur[i][level] != 0 {
                        cur[i][level] = 0;
                        c += orig[i].1 .0;
                    }
                }
                if c > 0 {
                    out.by_column
                        .insert(SUPPRESSION_ORDER[level].to_string(), c);
                }
            }
        }
        // Every class below k is now the one class whose values are all empty. Fill it up to
        // k with rows of other classes: first the rows a class holds beyond k, then whole
        // classes, smallest first, until it is large enough (or everything is empty).
        let lose = |out: &mut Suppression, key: &Key, rows: u64| {
            for (j, v) in key.iter().enumerate() {
                if *v != 0 {
                    *out.by_column
                        .entry(SUPPRESSION_ORDER[j].to_string())
                        .or_default() += rows;
                }
            }
        };
        loop {
            let m = counts(&cur);
            let have = m.get(&EMPTY).map_or(0, |c| c.0);
            if have == 0 || have >= k || have == n {
                break;
            }
            let need = k - have;
            // Donors: the largest classes give spare rows; a whole class is given up smallest
            // first and, among equals, the one with the fewest values left (least is lost).
            let filled = |kk: &Key| kk.iter().filter(|x| **x != 0).count();
            let mut donors: Vec<(Key, (u64, u64))> =
                m.into_iter().filter(|(kk, _)| *kk != EMPTY).collect();
            donors.sort_by_key(|(_, (rows, first))| (std::cmp::Reverse(*rows), *first));
            let spare: u64 = donors
                .iter()
                .map(|(_, (rows, _))| rows.saturating_sub(k))
                .sum();
            if spare >= need {
                // The rows of each donor after its first k, in donor order, `need` in all:
                // the empty class then holds k rows, and the loop is done.
                let mut left = need;
                for (key, (rows, _)) in &donors {
                    if left == 0 {
                        break;
                    }
                    let t = rows.saturating_sub(k).min(left);
                    if t > 0 {
                        plan.spare.insert(*key, t);
                        lose(&mut out, key, t);
                        left -= t;
                    }
                }
                break;
            }
            let (key, (rows, _)) = *donors
                .iter()
                .min_by_key(|(kk, (rows, first))| (*rows, filled(kk), *first))
                .expect("a class besides the empty one");
            lose(&mut out, &key, rows);
            for c in cur.iter_mut().filter(|c| **c == key) {
                *c = EMPTY;
            }
        }
        // The classes after the spare rows went.
        let mut fin = counts(&cur);
        for (key, t) in &plan.spare {
            if let Some(c) = fin.get_mut(key) {
                c.0 -= t;
            }
            fin.entry(EMPTY).or_insert((0, 0)).0 += t;
        }
        out.below_k_after = fin.values().filter(|c| c.0 < k).map(|c| c.0).sum();
        plan.current = orig.iter().map(|(key, _)| *key).zip(cur).collect();
        plan.out = out;
        plan
    }
}

/// The second pass: what each class keeps.
pub struct Plan {
    values: Values,
    /// Original class → class after suppression (before spare rows are taken).
    current: HashMap<Key, Key>,
    /// Classes giving the rows after their first k: how many.
    spare: HashMap<Key, u64>,
    /// Rows of each spare-giving class seen so far.
    seen: HashMap<Key, u64>,
    k: u64,
    out: Suppression,
}

impl Plan {
    /// The figures for the manifest.
    pub fn suppression(&self) -> &Suppression {
        &self.out
    }

    /// Suppresses the values of a batch (the batches in the order given to [`Classes::add`]).
    pub fn apply(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        if self.current.is_empty() {
            return Ok(batch.clone());
        }
        let keys: Vec<Key> = self
            .values
            .keys(batch)
            .into_iter()
            .map(|key| {
                let c = self.current.get(&key).copied().unwrap_or(key);
                let Some(t) = self.spare.get(&c) else {
                    return c;
                };
                let r = self.seen.entry(c).or_default();
                let rank = *r;
                *r += 1;
                if rank >= self.k && rank < self.k + t {
                    EMPTY
                } else {
                    c
                }
            })
            .collect();
        let mut arrays: Vec<ArrayRef> = batch.columns().to_vec();
        for (j, idx) in self.values.idx.iter().enumerate() {
            let Some(idx) = *idx else { continue };
            let a = batch.column(idx).as_string::<i32>();
            let new: StringArray = keys
                .iter()
                .enumerate()
                .map(|(i, key)| (key[j] != 0).then(|| a.value(i)))
                .collect();
            arrays[idx] = Arc::new(new);
        }
        Ok(RecordBatch::try_new(batch.schema(), arrays)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, Schema};
    use proptest::prelude::*;

    /// The one-pass enforcement over the whole table in memory, as it was before the two
    /// passes: the answer the two passes must give.
    fn reference(batch: &RecordBatch, k: u32) -> (RecordBatch, Suppression) {
        let mut out = Suppression::default();
        if k <= 1 || batch.num_rows() == 0 {
            return (batch.clone(), out);
        }
        let n = batch.num_rows();
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
        (RecordBatch::try_new(batch.schema(), arrays).unwrap(), out)
    }

    /// Two passes over the table cut into batches of `size` rows.
    fn two_passes(b: &RecordBatch, k: u32, size: usize) -> (RecordBatch, Suppression) {
        let batches: Vec<RecordBatch> = (0..b.num_rows())
            .step_by(size.max(1))
            .map(|o| b.slice(o, size.min(b.num_rows() - o)))
            .collect();
        let mut c = Classes::new(b.schema(), k);
        for x in &batches {
            c.add(x);
        }
        let mut plan = c.plan();
        let out: Vec<RecordBatch> = batches.iter().map(|x| plan.apply(x).unwrap()).collect();
        let all = arrow_select::concat::concat_batches(&b.schema(), &out).unwrap();
        (all, plan.suppression().clone())
    }

    fn value(domain: usize) -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            6 => (0..domain).prop_map(|v| Some(format!("v{v}"))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Random tables (few values per column, so that classes of every size occur),
        /// random k and batch sizes: the two passes give the one-pass answer exactly.
        #[test]
        fn two_passes_are_the_one_pass_answer(
            rows in proptest::collection::vec(
                (value(4), value(3), value(2), value(3)), 0..60),
            k in 1u32..7,
            size in 1usize..25,
        ) {
            let rows: Vec<[Option<&str>; 4]> = rows
                .iter()
                .map(|(a, b, c, d)| [a.as_deref(), b.as_deref(), c.as_deref(), d.as_deref()])
                .collect();
            let b = batch(&rows);
            let want = reference(&b, k);
            prop_assert_eq!(two_passes(&b, k, size), want.clone());
            prop_assert_eq!(enforce(&b, k).unwrap(), want);
        }
    }

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
