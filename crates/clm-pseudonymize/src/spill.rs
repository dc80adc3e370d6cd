//! Sorting fixed-size records in bounded memory, for the checks and the duplicate-id
//! detection whose state would otherwise grow with the input (one entry per client, per
//! membership, per sale).
//!
//! Records are buffered up to a budget; a full buffer is sorted and appended as a run to a
//! spill file, and at the end the runs are merged. Spill files are anonymous temporary
//! files ([`tempfile::tempfile`]: on Linux `O_TMPFILE`, never named in any directory,
//! mode 0600) in the temporary directory (`TMPDIR`), so they vanish when they are dropped,
//! when the export fails and even when the process is killed. They hold on-site data only
//! (64-bit hashes of ids, days), never go into the bundle, and no error names a value.
//!
//! A hand-written merge rather than a crate: the records are a few fixed-size integers,
//! the sorters are fed record by record from the export's threads, and the files must be
//! anonymous and private.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};

use clm_core::{Error, Result};

/// Bytes of records held in memory per sorter before a run is spilled (2 MiB: 128 Ki
/// records of 16 bytes). Small, because several sorters are alive at once.
pub const DEFAULT_BUDGET_BYTES: usize = 2 << 20;

/// Bytes read from a run at a time during the merge.
const READ_BUF: usize = 64 * 1024;

/// A record of fixed size that sorts by its natural order.
pub trait Record: Copy + Ord {
    const SIZE: usize;
    fn put(&self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

impl Record for u64 {
    const SIZE: usize = 8;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
    }
}

impl Record for (u64, i32) {
    const SIZE: usize = 12;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&self.1.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        (
            u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            i32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
        )
    }
}

impl Record for (u64, i32, i32) {
    const SIZE: usize = 16;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&self.1.to_le_bytes());
        out.extend_from_slice(&self.2.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        (
            u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            i32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
            i32::from_le_bytes(b[12..16].try_into().expect("4 bytes")),
        )
    }
}

/// The error of a spill file (no path: the file has none; no value).
pub fn io_error(e: std::io::Error) -> Error {
    Error::Other(format!(
        "cannot write or read a temporary file in {} (set TMPDIR to a directory with space): {e}",
        std::env::temp_dir().display()
    ))
}

/// A new anonymous spill file.
pub fn spill_file() -> Result<File> {
    tempfile::tempfile().map_err(io_error)
}

/// Sorts records pushed one by one, spilling sorted runs to disk beyond a budget.
pub struct SpillSort<T: Record> {
    buf: Vec<T>,
    cap: usize,
    file: Option<BufWriter<File>>,
    /// (first record, records) of each run in the file.
    runs: Vec<(u64, u64)>,
    written: u64,
    bytes: Vec<u8>,
}

impl<T: Record> Default for SpillSort<T> {
    fn default() -> Self {
        Self::with_budget(DEFAULT_BUDGET_BYTES)
    }
}

impl<T: Record> SpillSort<T> {
    /// A sorter holding up to `budget_bytes` of records in memory (at least one record).
    pub fn with_budget(budget_bytes: usize) -> Self {
        SpillSort {
            buf: Vec::new(),
            cap: (budget_bytes / std::mem::size_of::<T>().max(1)).max(1),
            file: None,
            runs: Vec::new(),
            written: 0,
            bytes: Vec::new(),
        }
    }

    /// Records pushed so far.
    pub fn len(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a run went to disk.
    pub fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    pub fn push(&mut self, t: T) -> Result<()> {
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        if self.buf.len() == self.buf.capacity() {
            // Grown as needed, never beyond the budget, so that small tables stay small.
            // (len < cap here: a full buffer was spilled above.)
            let want = (self.buf.capacity() * 2).max(1024).min(self.cap);
            self.buf.reserve_exact(want - self.buf.len());
        }
        self.buf.push(t);
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort_unstable();
        if self.file.is_none() {
            self.file = Some(BufWriter::with_capacity(READ_BUF, spill_file()?));
        }
        let f = self.file.as_mut().expect("opened above");
        for chunk in self.buf.chunks(4096) {
            self.bytes.clear();
            for t in chunk {
                t.put(&mut self.bytes);
            }
            f.write_all(&self.bytes).map_err(io_error)?;
        }
        self.runs.push((self.written, self.buf.len() as u64));
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Every record pushed, in order.
    pub fn finish(mut self) -> Result<Sorted<T>> {
        if self.runs.is_empty() {
            self.buf.sort_unstable();
            return Ok(Sorted {
                mem: self.buf.into_iter(),
                runs: Vec::new(),
                heap: BinaryHeap::new(),
                file: None,
            });
        }
        self.spill()?;
        let file = self
            .file
            .take()
            .expect("runs were spilled")
            .into_inner()
            .map_err(|e| io_error(e.into_error()))?;
        let mut runs: Vec<Run> = self
            .runs
            .iter()
            .map(|&(first, n)| Run {
                pos: first * T::SIZE as u64,
                end: (first + n) * T::SIZE as u64,
                buf: Vec::new(),
                at: 0,
            })
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in runs.iter_mut().enumerate() {
            if let Some(t) = r.next::<T>(&file)? {
                heap.push(Reverse((t, i)));
            }
        }
        Ok(Sorted {
            mem: Vec::new().into_iter(),
            runs,
            heap,
            file: Some(file),
        })
    }
}

/// One sorted run being read.
struct Run {
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    at: usize,
}

impl Run {
    fn next<T: Record>(&mut self, file: &File) -> Result<Option<T>> {
        if self.at >= self.buf.len() {
            if self.pos >= self.end {
                return Ok(None);
            }
            let want = ((self.end - self.pos) as usize).min(READ_BUF / T::SIZE * T::SIZE);
            self.buf.resize(want, 0);
            read_exact_at(file, &mut self.buf, self.pos).map_err(io_error)?;
            self.pos += want as u64;
            self.at = 0;
        }
        let t = T::get(&self.buf[self.at..self.at + T::SIZE]);
        self.at += T::SIZE;
        Ok(Some(t))
    }
}

#[cfg(unix)]
pub(crate) fn read_exact_at(f: &File, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, pos)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(f: &File, mut buf: &mut [u8], mut pos: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match f.seek_read(buf, pos) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                pos += n as u64;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The records of a [`SpillSort`] in order (the spill file is removed when dropped).
pub struct Sorted<T: Record> {
    mem: std::vec::IntoIter<T>,
    runs: Vec<Run>,
    heap: BinaryHeap<Reverse<(T, usize)>>,
    file: Option<File>,
}

impl<T: Record> Sorted<T> {
    /// The next record, or `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<T>> {
        let Some(file) = &self.file else {
            return Ok(self.mem.next());
        };
        let Some(Reverse((t, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(n) = self.runs[i].next::<T>(file)? {
            self.heap.push(Reverse((n, i)));
        }
        Ok(Some(t))
    }
}

/// Counts distinct values in bounded memory.
#[derive(Default)]
pub struct DistinctCount {
    sort: SpillSort<u64>,
}

impl DistinctCount {
    pub fn with_budget(budget_bytes: usize) -> Self {
        DistinctCount {
            sort: SpillSort::with_budget(budget_bytes),
        }
    }

    pub fn push(&mut self, v: u64) -> Result<()> {
        self.sort.push(v)
    }

    /// Values pushed, and how many of them are distinct.
    pub fn finish(self) -> Result<(u64, u64)> {
        let n = self.sort.len();
        let mut s = self.sort.finish()?;
        let mut distinct = 0;
        let mut last = None;
        while let Some(v) = s.next_record()? {
            if last != Some(v) {
                distinct += 1;
                last = Some(v);
            }
        }
        Ok((n, distinct))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sorted_all<T: Record>(v: &[T], budget: usize) -> (Vec<T>, bool) {
        let mut s = SpillSort::with_budget(budget);
        for t in v {
            s.push(*t).unwrap();
        }
        let spilled = s.spilled();
        assert_eq!(s.len(), v.len() as u64);
        let mut it = s.finish().unwrap();
        let mut out = Vec::new();
        while let Some(t) = it.next_record().unwrap() {
            out.push(t);
        }
        (out, spilled)
    }

    #[test]
    fn a_tiny_budget_spills_and_still_sorts() {
        let v: Vec<(u64, i32, i32)> = (0..10_000u64)
            .map(|i| {
                (
                    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 97,
                    (i % 13) as i32,
                    -(i as i32),
                )
            })
            .collect();
        let (out, spilled) = sorted_all(&v, 16 * 100);
        assert!(spilled);
        let mut want = v.clone();
        want.sort();
        assert_eq!(out, want);
    }

    #[test]
    fn within_budget_nothing_is_spilled() {
        let (out, spilled) = sorted_all(&[3u64, 1, 2], 1 << 20);
        assert!(!spilled);
        assert_eq!(out, [1, 2, 3]);
        let (out, _) = sorted_all::<u64>(&[], 8);
        assert!(out.is_empty());
    }

    #[test]
    fn distinct_count_over_spilled_runs() {
        let mut d = DistinctCount::with_budget(8 * 7);
        for i in 0..1000u64 {
            d.push(i % 300).unwrap();
        }
        assert_eq!(d.finish().unwrap(), (1000, 300));
    }

    proptest! {
        #[test]
        fn spilled_sort_is_the_in_memory_sort(
            v in proptest::collection::vec((0u64..50, -5i32..5), 0..400),
            budget_records in 1usize..40,
        ) {
            let (out, _) = sorted_all(&v, budget_records * 16);
            let mut want = v.clone();
            want.sort();
            prop_assert_eq!(out, want);
        }

        #[test]
        fn distinct_count_is_the_hash_set_count(
            v in proptest::collection::vec(0u64..100, 0..300),
            budget_records in 1usize..20,
        ) {
            let mut d = DistinctCount::with_budget(budget_records * 8);
            for x in &v {
                d.push(*x).unwrap();
            }
            let set: std::collections::HashSet<u64> = v.iter().copied().collect();
            prop_assert_eq!(d.finish().unwrap(), (v.len() as u64, set.len() as u64));
        }
    }
}
