//! The sensitive set of the leak check: what the source holds that must not reach the bundle.
//!
//! The source is read through the pseudonymizer's own mapping code (`Mapping`,
//! `source::open_table`: CSV or workbook sheet), record by record. Every value of every `direct` and `identifier` column
//! is kept — not as text, but as a 56-bit keyed hash (SipHash with a key drawn for this run)
//! of its normalized form, with 8 bits naming the source column it came from. Beside it go
//! the first 56 bits of its unkeyed MD5, SHA-1 and SHA-256 (of the value normalized as the
//! mapping says: the exact input of a careless "hash the id / the phone" exporter) and, for
//! an identifier, of its expected pid under K_p.
//!
//! # Memory
//! One set entry is 8 bytes (plus hashbrown's control byte and spare capacity), whatever the
//! value's length, and memory grows with the number of *distinct* sensitive values, never
//! with the size of the source files: 9.8 M visit rows of 100,000 clients add 100,000 ids.
//! A set of the normalized strings themselves would cost 40–80 bytes an entry. With 56 bits
//! a chance collision between ~10^7 entries and ~10^8 lookups has odds of about 10^-2 —
//! and it would show as a false alarm, never as a miss.
//!
//! # Normalization (both sides)
//! Trimmed, white-space runs collapsed to one space, lower-cased. A phone-like value (only
//! digits and `+ - ( ) . /` or spaces, at least 7 digits) is also kept as its digit string,
//! with the trunk/country digit of an 11-digit Russian number (7… or 8…) dropped so that
//! `8 912 …` and `+7 912 …` meet.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::Mutex;

use clm_core::keys::PseudonymKey;
use clm_core::mapping::{MappedField, Mapping, TableMapping};
use clm_core::pid::{Domain, Normalize, Pseudonymizer};
use clm_core::schema::PrivacyClass;
use clm_core::source::open_table;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::CannotRun;

pub const MASK56: u64 = (1 << 56) - 1;

/// A 56-bit key with an 8-bit tag; equal and hashed by the key alone.
#[derive(Debug, Clone, Copy)]
pub struct Tagged(u64);

impl Tagged {
    pub fn new(key: u64, tag: u8) -> Self {
        Tagged((key & MASK56) | ((tag as u64) << 56))
    }
    pub fn tag(self) -> u8 {
        (self.0 >> 56) as u8
    }
}

impl PartialEq for Tagged {
    fn eq(&self, o: &Self) -> bool {
        (self.0 ^ o.0) & MASK56 == 0
    }
}
impl Eq for Tagged {}

impl Hash for Tagged {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.0 & MASK56);
    }
}

/// The keys are already uniformly random: one multiplication spreads them over all 64 bits
/// (hashbrown takes its control byte from the top bits).
#[derive(Default)]
pub struct MixHasher(u64);

impl Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type TaggedSet = HashSet<Tagged, BuildHasherDefault<MixHasher>>;

/// Unkeyed digest algorithms looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Md5 = 0,
    Sha1 = 1,
    Sha256 = 2,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Md5 => "MD5",
            Algo::Sha1 => "SHA-1",
            Algo::Sha256 => "SHA-256",
        }
    }
    fn from_bits(b: u8) -> Algo {
        match b {
            0 => Algo::Md5,
            1 => Algo::Sha1,
            _ => Algo::Sha256,
        }
    }
}

/// Packs a digest tag: algorithm in the top 2 bits, origin in the low 6 (63 = "one of
/// several identifier columns").
pub fn digest_tag(algo: Algo, origin: u8) -> u8 {
    ((algo as u8) << 6) | origin.min(63)
}

pub fn split_digest_tag(tag: u8) -> (Algo, u8) {
    (Algo::from_bits(tag >> 6), tag & 63)
}

/// A source column whose values are sensitive.
#[derive(Debug, Clone)]
pub struct Origin {
    pub table: String,
    /// Source file name, without its directory.
    pub file: String,
    pub column: String,
    pub field: String,
    pub class: PrivacyClass,
    pub domain: Option<Domain>,
}

impl Origin {
    /// `clients.csv "Телефон" (phone, direct)`: names only.
    pub fn describe(&self) -> String {
        format!(
            "{} column {:?} ({}, {})",
            self.file,
            self.column,
            self.field,
            self.class.as_str()
        )
    }
}

pub fn domain_index(d: Domain) -> u8 {
    match d {
        Domain::Client => 0,
        Domain::Staff => 1,
        Domain::Membership => 2,
        Domain::Sale => 3,
        Domain::Lead => 4,
    }
}

/// What was read from the source, for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SourceStats {
    pub table: String,
    pub file: String,
    pub rows: u64,
    /// Non-empty values read from the sensitive columns.
    pub values: u64,
}

/// The finished set, shared read-only by the bundle scan.
pub struct Sensitive {
    hasher: RandomState,
    pub values: TaggedSet,
    /// One set per algorithm (MD5, SHA-1, SHA-256): three half-full tables weigh less than
    /// one that had to double.
    pub digests: [TaggedSet; 3],
    pub pids: TaggedSet,
    pub origins: Vec<Origin>,
    /// Longest normalized value, in characters (bounds the containment search).
    pub max_chars: usize,
    pub sources: Vec<SourceStats>,
    /// Distinct identifiers (per domain) that were hashed.
    pub ids: u64,
}

impl Sensitive {
    pub fn text_key(&self, normalized: &str) -> u64 {
        self.hasher.hash_one(normalized) & MASK56
    }

    /// Origin of a normalized value, if it is a sensitive source value.
    pub fn value(&self, normalized: &str) -> Option<u8> {
        self.values
            .get(&Tagged::new(self.text_key(normalized), 0))
            .map(|t| t.tag())
    }

    /// Digest tag of a hex string's first 56 bits, if they begin an unkeyed digest of an id.
    pub fn digest(&self, key56: u64) -> Option<u8> {
        let k = Tagged::new(key56, 0);
        self.digests.iter().find_map(|d| d.get(&k)).map(|t| t.tag())
    }

    /// Domain index of a pid's first 56 bits, if it is the pid of a source id.
    pub fn pid_domain(&self, key56: u64) -> Option<u8> {
        self.pids.get(&Tagged::new(key56, 0)).map(|t| t.tag())
    }

    /// A set of plain values from one origin, for tests of the rules.
    #[cfg(test)]
    pub fn from_values(values: &[&str], ids: &[&str]) -> Sensitive {
        let hasher = RandomState::new();
        let mut set = Sensitive {
            hasher,
            values: TaggedSet::default(),
            digests: Default::default(),
            pids: TaggedSet::default(),
            origins: vec![Origin {
                table: "clients".into(),
                file: "clients.csv".into(),
                column: "Телефон".into(),
                field: "phone".into(),
                class: PrivacyClass::Direct,
                domain: None,
            }],
            max_chars: 0,
            sources: Vec::new(),
            ids: 0,
        };
        let mut t = String::new();
        let mut d = String::new();
        for v in values.iter().chain(ids) {
            norm_text(v, &mut t);
            set.max_chars = set.max_chars.max(t.chars().count());
            set.values.insert(Tagged::new(set.text_key(&t), 0));
            if phone_digits(v, &mut d) {
                set.values.insert(Tagged::new(set.text_key(&d), 0));
            }
        }
        for id in ids {
            set.digests[0].insert(Tagged::new(bytes56(&Md5::digest(id.as_bytes())), 0));
            set.digests[2].insert(Tagged::new(
                bytes56(&Sha256::digest(id.as_bytes())),
                digest_tag(Algo::Sha256, 0),
            ));
        }
        set
    }

    pub fn entries(&self) -> usize {
        self.values.len() + self.digests.iter().map(|d| d.len()).sum::<usize>() + self.pids.len()
    }

    /// Approximate bytes held by the sets.
    pub fn approx_bytes(&self) -> u64 {
        [&self.values, &self.pids]
            .into_iter()
            .chain(&self.digests)
            // 8 bytes an entry and a control byte a bucket, buckets at most 7/8 full
            .map(|s| s.capacity() as u64 * 9 * 8 / 7)
            .sum()
    }
}

/// Trimmed, white-space runs collapsed to one space, lower-cased, into `out`.
pub fn norm_text(s: &str, out: &mut String) {
    out.clear();
    let t = s.trim();
    // Ids, digits, already lower-case ASCII: nothing to change.
    if t.bytes().all(|b| {
        b.is_ascii_digit() || b.is_ascii_lowercase() || matches!(b, b'@' | b'.' | b'-' | b'_')
    }) {
        out.push_str(t);
        return;
    }
    let mut space = false;
    for c in t.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            c if c.is_ascii() => out.push(c),
            // Cyrillic capitals, the common case, without the general tables.
            'А'..='Я' => {
                out.push(char::from_u32(c as u32 + 0x20).expect("Cyrillic small letter"))
            }
            'а'..='я' => out.push(c),
            _ => out.extend(c.to_lowercase()),
        }
    }
}

fn is_phone_sep(c: char) -> bool {
    matches!(c, ' ' | '-' | '(' | ')' | '.' | '+' | '/' | '\u{a0}' | '\t')
}

/// Drops the trunk/country digit of an 11-digit Russian number, in place.
pub fn ru_digits(d: &mut String) {
    if d.len() == 11 && (d.starts_with('7') || d.starts_with('8')) {
        d.remove(0);
    }
}

/// The digit string of a phone-like value (only digits and separators, at least 7 digits).
pub fn phone_digits(s: &str, out: &mut String) -> bool {
    out.clear();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if !is_phone_sep(c) {
            out.clear();
            return false;
        }
    }
    if out.len() < 7 {
        out.clear();
        return false;
    }
    ru_digits(out);
    true
}

/// Calls `f` with the digit string of every run of digits and phone separators in `s`
/// (at most two separators in a row; `+` starts a new run) that holds at least 7 digits
/// (Russian trunk digit dropped), and — for runs longer than 11 digits — with every
/// 10-digit window of it. Stops and returns true as soon as `f` does.
pub fn digit_runs(s: &str, mut f: impl FnMut(&str) -> bool) -> bool {
    fn flush(digits: &mut String, f: &mut dyn FnMut(&str) -> bool) -> bool {
        let mut hit = false;
        if digits.len() >= 7 {
            if digits.len() > 11 {
                hit = (0..=digits.len() - 10).any(|i| f(&digits[i..i + 10]));
            }
            if !hit {
                ru_digits(digits);
                hit = f(digits);
            }
        }
        digits.clear();
        hit
    }
    let mut digits = String::new();
    let mut seps = 0;
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            seps = 0;
        } else if c != '+' && is_phone_sep(c) && !digits.is_empty() && seps < 2 {
            seps += 1;
        } else {
            seps = 0;
            if flush(&mut digits, &mut f) {
                return true;
            }
        }
    }
    flush(&mut digits, &mut f)
}

/// The first 56 bits of a hex string (at least 14 hex digits), big-endian.
pub fn hex56(h: &[u8]) -> Option<u64> {
    if h.len() < 14 {
        return None;
    }
    let mut v = 0u64;
    for b in &h[..14] {
        let d = (*b as char).to_digit(16)? as u64;
        v = (v << 4) | d;
    }
    Some(v)
}

fn bytes56(b: &[u8]) -> u64 {
    let mut v = 0u64;
    for x in &b[..7] {
        v = (v << 8) | *x as u64;
    }
    v
}

/// Most ids remembered as already hashed.
const SEEN_CAP: usize = 1 << 18;

/// The three sets, shared by the reader threads.
#[derive(Default)]
struct Sets {
    values: TaggedSet,
    digests: [TaggedSet; 3],
    pids: TaggedSet,
}

/// Entries a reader thread gathers before it takes the lock to add them.
const FLUSH: usize = 1 << 14;

/// Reads part of the source, in one thread, into the shared sets. The CPU work (parsing,
/// normalizing, hashing, the digests and the HMAC) is done outside the lock; one set for
/// all threads keeps memory at one copy of each entry.
struct Builder<'a> {
    hasher: RandomState,
    fx: BuildHasherDefault<crate::scan::FxHasher>,
    shared: &'a Mutex<Sets>,
    values: Vec<Tagged>,
    digests: Vec<Tagged>,
    pids: Vec<Tagged>,
    seen_ids: TaggedSet,
    max_chars: usize,
    pseudonymizer: &'a Pseudonymizer,
    sources: Vec<SourceStats>,
    text: String,
    digits: String,
}

/// One sensitive column of one table, resolved.
struct Col<'a> {
    origin: u8,
    field: &'a MappedField,
    idx: usize,
    domain: Option<Domain>,
    /// Values met lately (direct-mapped by hash): a trainer's name on every session, a
    /// client's id on every visit are added once, not each time.
    recent: Vec<String>,
}

const RECENT: usize = 1024;

impl<'a> Builder<'a> {
    fn new(hasher: RandomState, pseudonymizer: &'a Pseudonymizer, shared: &'a Mutex<Sets>) -> Self {
        Builder {
            hasher,
            fx: BuildHasherDefault::default(),
            shared,
            values: Vec::with_capacity(FLUSH),
            digests: Vec::with_capacity(FLUSH),
            pids: Vec::with_capacity(FLUSH),
            seen_ids: TaggedSet::default(),
            max_chars: 0,
            pseudonymizer,
            sources: Vec::new(),
            text: String::new(),
            digits: String::new(),
        }
    }

    fn read_table(
        &mut self,
        tm: &TableMapping,
        origins: &[(usize, &'a MappedField)],
    ) -> Result<(), CannotRun> {
        // The pseudonymizer's own reader: CSV or workbook sheet, null markers read as empty.
        let mut r = open_table(tm).map_err(|e| CannotRun(format!("leak check: {e}")))?;
        let mut cols = Vec::new();
        for (o, f) in origins {
            let idx = r
                .column_index(&f.column)
                .map_err(|e| CannotRun(format!("leak check: {e}")))?;
            cols.push(Col {
                origin: *o as u8,
                field: f,
                idx,
                domain: f.def.domain.as_deref().and_then(Domain::parse),
                recent: vec![String::new(); RECENT],
            });
        }
        let mut stats = SourceStats {
            table: tm.table.clone(),
            file: clm_core::bundle::SourceEntry::file_label(&tm.file, tm.sheet.as_deref()),
            ..Default::default()
        };
        // Ids the export makes of the row's position (a sale without a sale id).
        let by_position: Vec<Domain> = tm
            .derived_fields()
            .iter()
            .filter_map(|f| f.domain.as_deref().and_then(Domain::parse))
            .collect();
        let mut rec = csv::StringRecord::new();
        // Rows the pseudonymizer rejects are read too: their values are in the source.
        while r
            .next_record(&mut rec)
            .map_err(|e| CannotRun(format!("leak check: {e}")))?
            .is_some()
        {
            stats.rows += 1;
            for d in &by_position {
                let pid = self
                    .pseudonymizer
                    .pid_bytes(*d, &tm.row_position_id(r.line()));
                let k = hex56(&pid).expect("a pid is hex");
                self.pids.push(Tagged::new(k, domain_index(*d)));
            }
            for c in cols.iter_mut() {
                let Some(v) = rec.get(c.idx) else { continue };
                let v = v.trim();
                if v.is_empty() {
                    continue;
                }
                stats.values += 1;
                let slot = &mut c.recent[self.fx.hash_one(v) as usize % RECENT];
                if slot == v {
                    continue;
                }
                slot.clear();
                slot.push_str(v);
                self.add(c.origin, c.field, c.domain, v);
            }
            self.maybe_flush();
        }
        self.sources.push(stats);
        Ok(())
    }

    fn add(&mut self, origin: u8, f: &MappedField, domain: Option<Domain>, v: &str) {
        let mapped = f.map.get(v).map(String::as_str).unwrap_or(v);
        norm_text(mapped, &mut self.text);
        let key = self.hasher.hash_one(self.text.as_str());
        self.values.push(Tagged::new(key, origin));
        self.max_chars = self.max_chars.max(self.text.chars().count());
        if phone_digits(mapped, &mut self.digits) && self.digits != self.text {
            let key = self.hasher.hash_one(self.digits.as_str());
            self.values.push(Tagged::new(key, origin));
        }
        // Unkeyed digests of every value, normalized as the mapping says (the exact input of
        // a careless "hash the id / the phone" exporter), and the pid of every identifier.
        let (scope, domain) = match (f.def.class, domain) {
            (PrivacyClass::Identifier, Some(d)) => (domain_index(d) as u16, Some(d)),
            (PrivacyClass::Identifier, None) => return,
            _ => (256 + origin as u16, None),
        };
        let Some(id) = f.source_id(v) else {
            return;
        };
        let seen = self.hasher.hash_one((scope, &*id));
        if !self.seen_ids.insert(Tagged::new(seen, 0)) {
            return;
        }
        // Only saves work (the entries below are idempotent): bounded, it starts over when
        // full, so that a million unique sale numbers are not held twice.
        if self.seen_ids.len() >= SEEN_CAP {
            self.seen_ids.clear();
        }
        self.add_digests(origin, &id);
        if f.normalize != Normalize::Trim && *id != *mapped {
            self.add_digests(origin, mapped);
        }
        if let Some(d) = domain {
            let pid = self.pseudonymizer.pid_bytes(d, &id);
            let k = hex56(&pid).expect("a pid is hex");
            self.pids.push(Tagged::new(k, domain_index(d)));
        }
    }

    fn add_digests(&mut self, origin: u8, id: &str) {
        let b = id.as_bytes();
        self.digests.push(Tagged::new(
            bytes56(&Md5::digest(b)),
            digest_tag(Algo::Md5, origin),
        ));
        self.digests.push(Tagged::new(
            bytes56(&Sha1::digest(b)),
            digest_tag(Algo::Sha1, origin),
        ));
        self.digests.push(Tagged::new(
            bytes56(&Sha256::digest(b)),
            digest_tag(Algo::Sha256, origin),
        ));
    }

    /// Adds the gathered entries to the shared sets (an entry already there keeps its
    /// first origin).
    fn flush(&mut self) {
        let mut sets = self.shared.lock().expect("sets lock");
        sets.values.extend(self.values.drain(..));
        for t in self.digests.drain(..) {
            sets.digests[(t.tag() >> 6).min(2) as usize].insert(t);
        }
        sets.pids.extend(self.pids.drain(..));
    }

    fn maybe_flush(&mut self) {
        if self.values.len() >= FLUSH || self.digests.len() >= FLUSH || self.pids.len() >= FLUSH {
            self.flush();
        }
    }
}

/// The sensitive columns of a mapping, in table order.
pub fn origins(mapping: &Mapping) -> Vec<(usize, Origin, &MappedField)> {
    let mut out = Vec::new();
    for (ti, tm) in mapping.tables.iter().enumerate() {
        for f in &tm.fields {
            if matches!(f.def.class, PrivacyClass::Direct | PrivacyClass::Identifier) {
                out.push((
                    ti,
                    Origin {
                        table: tm.table.clone(),
                        file: clm_core::bundle::SourceEntry::file_label(
                            &tm.file,
                            tm.sheet.as_deref(),
                        ),
                        column: f.column.clone(),
                        field: f.def.name.clone(),
                        class: f.def.class,
                        domain: f.def.domain.as_deref().and_then(Domain::parse),
                    },
                    f,
                ));
            }
        }
    }
    out
}

/// Reads every source table of `mapping` (largest files first, over `threads` threads)
/// into the sensitive set.
pub fn build(mapping: &Mapping, kp: &PseudonymKey, threads: usize) -> Result<Sensitive, CannotRun> {
    let hasher = RandomState::new();
    let pseudonymizer = Pseudonymizer::new(kp);
    let all = origins(mapping);
    if all.len() > 255 {
        return Err(CannotRun(
            "the mapping names more than 255 direct and identifier columns".into(),
        ));
    }
    // Work: tables, biggest first.
    let mut work: Vec<(usize, u64)> = (0..mapping.tables.len())
        .map(|i| {
            let size = std::fs::metadata(&mapping.tables[i].file)
                .map(|m| m.len())
                .unwrap_or(0);
            (i, size)
        })
        .collect();
    work.sort_by_key(|w| std::cmp::Reverse(w.1));
    let queue = std::sync::Mutex::new(work.into_iter().map(|(i, _)| i).collect::<Vec<_>>());
    let threads = threads.clamp(1, mapping.tables.len().max(1));
    let shared = Mutex::new(Sets::default());
    let results: Vec<Result<(usize, Vec<SourceStats>), CannotRun>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let queue = &queue;
                let all = &all;
                let hasher = hasher.clone();
                let pseudonymizer = &pseudonymizer;
                let shared = &shared;
                s.spawn(move || {
                    let mut b = Builder::new(hasher, pseudonymizer, shared);
                    loop {
                        let next = {
                            let mut q = queue.lock().expect("queue lock");
                            if q.is_empty() {
                                None
                            } else {
                                Some(q.remove(0))
                            }
                        };
                        let Some(ti) = next else { break };
                        let cols: Vec<(usize, &MappedField)> = all
                            .iter()
                            .enumerate()
                            .filter(|(_, (t, _, _))| *t == ti)
                            .map(|(oi, (_, _, f))| (oi, *f))
                            .collect();
                        if let Err(e) = b.read_table(&mapping.tables[ti], &cols) {
                            // stop the others early
                            queue.lock().expect("queue lock").clear();
                            return Err(e);
                        }
                    }
                    b.flush();
                    Ok((b.max_chars, b.sources))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("source reader thread"))
            .collect()
    });
    let mut max_chars = 0;
    let mut sources = Vec::new();
    for r in results {
        let (m, s) = r?;
        max_chars = max_chars.max(m);
        sources.extend(s);
    }
    let sets = shared.into_inner().expect("sets lock");
    let ids = sets.pids.len() as u64;
    sources.sort_by_key(|s| {
        mapping
            .tables
            .iter()
            .position(|t| t.table == s.table)
            .unwrap_or(usize::MAX)
    });
    Ok(Sensitive {
        hasher,
        values: sets.values,
        digests: sets.digests,
        pids: sets.pids,
        origins: all.into_iter().map(|(_, o, _)| o).collect(),
        max_chars: max_chars.min(256),
        sources,
        ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        let mut s = String::new();
        norm_text("  Иванова   МАРИЯ\tПетровна ", &mut s);
        assert_eq!(s, "иванова мария петровна");
        norm_text("ЁЛКИН Ivan@Example.COM", &mut s);
        assert_eq!(s, "ёлкин ivan@example.com");
        norm_text(" 0000123 ", &mut s);
        assert_eq!(s, "0000123");
        let mut d = String::new();
        assert!(phone_digits("+7 (912) 345-67-89", &mut d));
        assert_eq!(d, "9123456789");
        assert!(phone_digits("8-912-345-67-89", &mut d));
        assert_eq!(d, "9123456789");
        assert!(phone_digits("6514 439262", &mut d));
        assert_eq!(d, "6514439262");
        assert!(!phone_digits("Стандарт 12", &mut d));
        assert!(!phone_digits("12-34", &mut d));
    }

    #[test]
    fn digit_runs_find_phones_inside_text() {
        let mut got = Vec::new();
        digit_runs("звонить 8 (912) 345-67-89, код 12", |d| {
            got.push(d.to_string());
            false
        });
        assert_eq!(got, ["9123456789"]);
        got.clear();
        digit_runs("a1234567b+79123456789", |d| {
            got.push(d.to_string());
            false
        });
        assert_eq!(got, ["1234567", "9123456789"]);
        got.clear();
        digit_runs("Стандарт 12 месяцев 2024", |d| {
            got.push(d.to_string());
            false
        });
        assert!(got.is_empty());
    }

    #[test]
    fn tagged_keys_ignore_the_tag() {
        let mut s = TaggedSet::default();
        assert!(s.insert(Tagged::new(42, 7)));
        assert!(!s.insert(Tagged::new(42, 9)));
        assert_eq!(s.get(&Tagged::new(42, 0)).unwrap().tag(), 7);
        assert!(!s.contains(&Tagged::new(43, 0)));
        let t = digest_tag(Algo::Sha256, 5);
        assert_eq!(split_digest_tag(t), (Algo::Sha256, 5));
        assert_eq!(
            split_digest_tag(digest_tag(Algo::Md5, 200)),
            (Algo::Md5, 63)
        );
    }

    #[test]
    fn hex56_reads_prefixes() {
        assert_eq!(hex56(b"00000000000001ff"), Some(1));
        assert_eq!(hex56(b"ABCDEF0123456789"), hex56(b"abcdef0123456789"));
        assert_eq!(hex56(b"abc"), None);
        assert_eq!(hex56(b"zzzzzzzzzzzzzz"), None);
        assert_eq!(bytes56(&[0, 0, 0, 0, 0, 0, 1, 9]), 1);
    }
}
