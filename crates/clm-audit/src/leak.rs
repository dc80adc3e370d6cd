//! Check 4, leak (on site): nothing of the source's `direct` and `identifier` columns is in
//! the bundle, nor an unkeyed digest of an id, nor the pseudonymization key.
//!
//! Every bundle string value is compared with the sensitive set (see [`crate::sensitive`]):
//! - equal to a sensitive value (normalized). In a pid column only equality counts — a short
//!   raw id occurs inside a random 32-hex pid by chance — and at any length. Elsewhere a
//!   value needs 4 characters or more: a 3-digit id equal to a postal prefix, or a note
//!   "VIP" equal to a category, is chance and identifies no one;
//! - containing a sensitive value of at least 6 characters, aligned on word boundaries (so a
//!   client named Максим does not flag the product "Максимальный");
//! - holding, as a run of digits and phone separators, the digits of a phone-like value;
//! - holding a hex run of 16 or more characters that begins an unkeyed MD5, SHA-1 or
//!   SHA-256 of a source id or direct value (full or truncated digests alike);
//! - holding K_p as hex, upper-case hex, base64 or raw bytes.
//!
//! Every value of a pid column must also be the pid of a source id of its domain under K_p:
//! a pid that is not is "unexplained" — made with another key, another formula, or taken
//! from another source than the one audited.

use std::collections::BTreeMap;

use clm_core::pid::Domain;
use serde_json::json;

use crate::keyscan::{describe as describe_keys, KeyHit, KeyPatterns};
use crate::report::{bytes, group, CheckReport, Finding};
use crate::scan::{ColumnHits, Hit, ScanTotals};
use crate::sensitive::{
    digit_runs, domain_index, hex56, norm_text, split_digest_tag, Origin, Sensitive,
};

/// Shortest value compared for equality outside pid columns.
pub const MIN_EQUAL: usize = 4;
/// Shortest sensitive value looked for inside a longer bundle value.
pub const MIN_CONTAINED: usize = 6;
/// Shortest hex run taken for a possible digest.
pub const MIN_HEX_RUN: usize = 16;

pub struct LeakRules<'a> {
    pub set: &'a Sensitive,
    /// K_p's forms only.
    pub kp: &'a KeyPatterns,
}

#[derive(Default)]
pub struct Scratch {
    norm: String,
    bounds: Vec<(usize, bool)>,
}

impl LeakRules<'_> {
    pub fn check_pid(&self, v: &str, domain: Domain, s: &mut Scratch, out: &mut Vec<Hit>) {
        let b = v.as_bytes();
        let hex = b.len() >= MIN_HEX_RUN && b.iter().all(u8::is_ascii_hexdigit);
        let key = if hex { hex56(b) } else { None };
        let explained =
            b.len() == 32 && key.and_then(|k| self.set.pid_domain(k)) == Some(domain_index(domain));
        if explained {
            // The HMAC pseudonym of a source id: that it is also a source value or an
            // unkeyed digest would be a 2^-56 coincidence. Only K_p remains to look for.
            self.key(v, out);
            return;
        }
        out.push(Hit::UnexplainedPid(domain_index(domain)));
        norm_text(v, &mut s.norm);
        if let Some(o) = self.set.value(&s.norm) {
            out.push(Hit::SourceEqual(o));
        }
        if let Some(t) = key.and_then(|k| self.set.digest(k)) {
            out.push(Hit::UnkeyedHash(t));
        }
        self.key(v, out);
    }

    /// A value of any other string column.
    pub fn check_text(&self, v: &str, s: &mut Scratch, out: &mut Vec<Hit>) {
        norm_text(v, &mut s.norm);
        let mut found = false;
        if s.norm.chars().count() >= MIN_EQUAL {
            if let Some(o) = self.set.value(&s.norm) {
                out.push(Hit::SourceEqual(o));
                found = true;
            }
        }
        if !found {
            if let Some(o) = self.contained(s) {
                out.push(Hit::SourceContains(o));
                found = true;
            }
        }
        if !found {
            let mut hit = None;
            digit_runs(v, |d| {
                hit = self.set.value(d);
                hit.is_some()
            });
            if let Some(o) = hit {
                out.push(Hit::SourceDigits(o));
            }
        }
        self.hex_runs(v, out);
        self.key(v, out);
    }

    /// A long number, as its digits.
    pub fn check_digits(&self, digits: &str, out: &mut Vec<Hit>) {
        let mut hit = self.set.value(digits);
        if hit.is_none() {
            digit_runs(digits, |d| {
                hit = self.set.value(d);
                hit.is_some()
            });
        }
        if let Some(o) = hit {
            out.push(Hit::SourceDigits(o));
        }
    }

    /// A sensitive value inside `s.norm`, starting and ending on word boundaries.
    fn contained(&self, s: &mut Scratch) -> Option<u8> {
        let norm = &s.norm;
        // Char positions with their byte offsets, marking word boundaries (a side that is
        // not alphanumeric, or either end).
        s.bounds.clear();
        let mut prev_alnum = false;
        for (off, c) in norm.char_indices() {
            let alnum = c.is_alphanumeric();
            s.bounds.push((off, !(prev_alnum && alnum)));
            prev_alnum = alnum;
        }
        let n = s.bounds.len();
        s.bounds.push((norm.len(), true));
        if n <= MIN_CONTAINED {
            return None;
        }
        let max = self.set.max_chars;
        for i in 0..n {
            let (start, at_word) = s.bounds[i];
            if !at_word || norm.as_bytes()[start] == b' ' {
                continue;
            }
            let last = n.min(i + max);
            for j in i + MIN_CONTAINED..=last {
                let (end, at_end) = s.bounds[j];
                if !at_end || (i == 0 && j == n) {
                    continue;
                }
                if let Some(o) = self.set.value(&norm[start..end]) {
                    return Some(o);
                }
            }
        }
        None
    }

    fn hex_runs(&self, v: &str, out: &mut Vec<Hit>) {
        let b = v.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if !b[i].is_ascii_hexdigit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            if i - start >= MIN_HEX_RUN {
                if let Some(t) = hex56(&b[start..i]).and_then(|k| self.set.digest(k)) {
                    out.push(Hit::UnkeyedHash(t));
                    return;
                }
            }
        }
    }

    fn key(&self, v: &str, out: &mut Vec<Hit>) {
        if v.len() >= self.kp.min_len() {
            for (_, form) in self.kp.find_in(v.as_bytes()) {
                out.push(Hit::PseudonymKey(form));
            }
        }
    }
}

fn origin_name(set: &Sensitive, o: u8) -> String {
    set.origins
        .get(o as usize)
        .map(Origin::describe)
        .unwrap_or_else(|| "one of several identifier columns".into())
}

fn domain_name(di: u8) -> &'static str {
    ["client", "staff", "membership", "sale", "lead"]
        .get(di as usize)
        .copied()
        .unwrap_or("?")
}

fn describe(h: Hit, set: &Sensitive) -> Option<(String, String)> {
    Some(match h {
        Hit::SourceEqual(o) => (
            "source_value".into(),
            format!("values equal to a value of {}", origin_name(set, o)),
        ),
        Hit::SourceContains(o) => (
            "source_value".into(),
            format!("values containing a value of {}", origin_name(set, o)),
        ),
        Hit::SourceDigits(o) => (
            "source_digits".into(),
            format!(
                "values holding the digits of a value of {}",
                origin_name(set, o)
            ),
        ),
        Hit::UnkeyedHash(t) => {
            let (algo, o) = split_digest_tag(t);
            (
                format!("unkeyed_{}", algo.name().to_lowercase().replace('-', "")),
                format!(
                    "values that are (or begin) the unkeyed {} hex of a value of {}",
                    algo.name(),
                    origin_name(set, o)
                ),
            )
        }
        Hit::UnexplainedPid(d) => (
            "unexplained_pid".into(),
            format!(
                "pids that are not the HMAC pseudonym (K_p, domain {}) of any source id",
                domain_name(d)
            ),
        ),
        Hit::PseudonymKey(form) => (
            "pseudonym_key".into(),
            format!(
                "values holding the pseudonymization key K_p ({})",
                form.name()
            ),
        ),
        _ => return None,
    })
}

/// What the leak check found in the files' raw bytes.
pub struct RawKeyScan {
    pub files: u64,
    pub bytes: u64,
    /// (file, K_p forms found)
    pub hits: Vec<(String, Vec<KeyHit>)>,
}

pub fn report(
    hits: &[ColumnHits],
    totals: &ScanTotals,
    set: &Sensitive,
    raw: &RawKeyScan,
    manifest_sources: &[clm_core::bundle::SourceEntry],
) -> CheckReport {
    let mut r = CheckReport::new("leak");
    for c in hits {
        for (h, n) in &c.hits {
            if let Some((detector, detail)) = describe(*h, set) {
                r.findings.push(Finding {
                    table: c.table.clone(),
                    column: c.column.clone(),
                    detector,
                    count: *n,
                    file: c.file_list(),
                    detail,
                });
            }
        }
    }
    for (file, forms) in &raw.hits {
        r.findings.push(Finding {
            table: String::new(),
            column: String::new(),
            detector: "pseudonym_key".into(),
            count: 1,
            file: Some(file.clone()),
            detail: format!("the raw bytes of {file} hold {}", describe_keys(forms)),
        });
    }
    // The source audited should be the one exported: say so when the counts differ, since
    // unexplained pids would then have an innocent reason.
    let mut drift = Vec::new();
    for s in &set.sources {
        if let Some(m) = manifest_sources
            .iter()
            .find(|m| m.table == s.table && m.file == s.file)
        {
            if m.rows_in != s.rows {
                drift.push(format!(
                    "{} has {} rows now, {} at export",
                    s.file,
                    group(s.rows),
                    group(m.rows_in)
                ));
            }
        } else if !manifest_sources.is_empty() {
            drift.push(format!("{} is not among the export's sources", s.file));
        }
    }
    if !drift.is_empty() {
        r.notes.push(format!(
            "the source differs from the one exported ({}); pids of rows added or removed since would show as unexplained",
            drift.join("; ")
        ));
    }
    let source_rows: u64 = set.sources.iter().map(|s| s.rows).sum();
    let source_values: u64 = set.sources.iter().map(|s| s.values).sum();
    let mut by_class: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for o in &set.origins {
        by_class
            .entry(o.class.as_str())
            .or_default()
            .push(format!("{}.{}", o.table, o.field));
    }
    let hit_values: u64 = r.findings.iter().map(|f| f.count).sum();
    r.figures = json!({
        "sources": set.sources,
        "source_rows": source_rows,
        "sensitive_columns": by_class,
        "sensitive_values_read": source_values,
        "distinct_sensitive_values": set.values.len(),
        "ids_hashed": set.ids,
        "digest_algorithms": ["MD5", "SHA-1", "SHA-256"],
        "digest_entries": set.digests.iter().map(|d| d.len()).sum::<usize>(),
        "set_entries": set.entries(),
        "set_bytes_approx": set.approx_bytes(),
        "bundle_string_values_compared": totals.string_values,
        "metadata_strings_compared": totals.metadata_strings,
        "files_scanned_for_key_bytes": raw.files,
        "bytes_scanned_for_key_bytes": raw.bytes,
        "hits": hit_values,
    });
    r.summary = format!(
        "{} source values of {} columns (and their MD5/SHA-1/SHA-256), {} pids vs {} bundle values; K_p vs {}: {}",
        group(set.values.len() as u64),
        set.origins.len(),
        group(set.ids),
        group(totals.string_values),
        bytes(raw.bytes),
        if hit_values == 0 {
            "nothing found".to_string()
        } else {
            format!("{} hits", group(hit_values))
        }
    );
    r.settle();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyscan::KeyName;
    use crate::sensitive::digest_tag;
    use sha2::{Digest, Sha256};

    fn hits(rules: &LeakRules, v: &str) -> Vec<Hit> {
        let mut out = Vec::new();
        rules.check_text(v, &mut Scratch::default(), &mut out);
        out
    }

    #[test]
    fn text_rules() {
        let set = Sensitive::from_values(
            &["Максим", "+7 (912) 345-67-89", "ivan@example.com"],
            &["0000123"],
        );
        let key = [7u8; 32];
        let kp = KeyPatterns::new(&[(KeyName::Pseudonym, &key)]);
        let r = LeakRules { set: &set, kp: &kp };
        // equality, normalized
        assert_eq!(hits(&r, " МАКСИМ "), [Hit::SourceEqual(0)]);
        // containment on word boundaries only
        assert_eq!(hits(&r, "тренер Максим, зал 2"), [Hit::SourceContains(0)]);
        assert!(hits(&r, "Максимальный 12 месяцев").is_empty());
        assert_eq!(
            hits(&r, "пишите на Ivan@Example.com!"),
            [Hit::SourceContains(0)]
        );
        // digits of a phone, whatever the separators and the trunk digit
        assert_eq!(hits(&r, "тел. 8 912 3456789"), [Hit::SourceDigits(0)]);
        // an id inside a longer value
        assert_eq!(hits(&r, "клиент 0000123"), [Hit::SourceContains(0)]);
        // unkeyed digests, full or truncated, any case
        let sha = hex::encode(Sha256::digest(b"0000123"));
        assert_eq!(
            hits(&r, &sha),
            [Hit::UnkeyedHash(digest_tag(
                crate::sensitive::Algo::Sha256,
                0
            ))]
        );
        assert_eq!(
            hits(&r, &format!("x-{}", sha[..20].to_uppercase())).len(),
            1
        );
        // the key
        let h = hits(&r, &format!("k={}", hex::encode(key)));
        assert_eq!(h, [Hit::PseudonymKey(crate::keyscan::Form::HexLower)]);
        // short values are chance
        assert!(hits(&r, "123").is_empty());
        assert!(hits(&r, "Стандарт 12 месяцев").is_empty());
    }

    #[test]
    fn pid_rules() {
        let set = Sensitive::from_values(&[], &["0000123"]);
        let kp = KeyPatterns::new(&[]);
        let r = LeakRules { set: &set, kp: &kp };
        let mut out = Vec::new();
        let mut s = Scratch::default();
        // a raw id as a pid: equal, and unexplained; never "contained"
        r.check_pid("0000123", Domain::Client, &mut s, &mut out);
        assert_eq!(out, [Hit::UnexplainedPid(0), Hit::SourceEqual(0)]);
        out.clear();
        let md5 = hex::encode(<md5::Md5 as Digest>::digest(b"0000123"));
        r.check_pid(&md5, Domain::Client, &mut s, &mut out);
        assert_eq!(out, [Hit::UnexplainedPid(0), Hit::UnkeyedHash(0)]);
        out.clear();
        // a pid that happens to contain the id is only unexplained (no source pid here)
        r.check_pid(
            "aa0000123bbbbbbbbbbbbbbbbbbbbbbb",
            Domain::Client,
            &mut s,
            &mut out,
        );
        assert_eq!(out, [Hit::UnexplainedPid(0)]);
    }
}
