//! Looking for key bytes: the pseudonymization key K_p (leak check), and the data key K_d and
//! the bundle's DEK (integrity: a key in the clear beside the data it locks defeats the
//! encryption). Each key is looked for raw, as lower- and upper-case hex and as base64
//! (standard and URL-safe, with or without padding), in one Aho–Corasick pass.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use base64::Engine;

/// Which key a pattern belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyName {
    Pseudonym,
    Data,
    Dek,
}

impl KeyName {
    pub fn describe(self) -> &'static str {
        match self {
            KeyName::Pseudonym => "the pseudonymization key K_p",
            KeyName::Data => "the data key K_d",
            KeyName::Dek => "the bundle's data-encryption key (DEK)",
        }
    }
}

/// The written forms of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Form {
    Raw,
    HexLower,
    HexUpper,
    Base64,
    Base64Url,
}

impl Form {
    pub fn name(self) -> &'static str {
        match self {
            Form::Raw => "raw bytes",
            Form::HexLower => "hex",
            Form::HexUpper => "upper-case hex",
            Form::Base64 => "base64",
            Form::Base64Url => "URL-safe base64",
        }
    }
}

/// Shortest written form of a key: 43 base64 characters (hex is 64).
const WRITTEN_MIN: usize = 43;

/// A hit: which key, in which form.
pub type KeyHit = (KeyName, Form);

pub struct KeyPatterns {
    ac: AhoCorasick,
    labels: Vec<KeyHit>,
    max_len: usize,
    min_len: usize,
    /// The raw keys, for text too short to hold any written form (a pid is 32 bytes).
    raw: Vec<(KeyName, [u8; 32])>,
}

impl std::fmt::Debug for KeyPatterns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the patterns: they are the keys.
        write!(f, "KeyPatterns({} patterns)", self.labels.len())
    }
}

impl KeyPatterns {
    pub fn new(keys: &[(KeyName, &[u8; 32])]) -> Self {
        let mut pats: Vec<Vec<u8>> = Vec::new();
        let mut labels = Vec::new();
        for (name, k) in keys {
            let std = base64::engine::general_purpose::STANDARD.encode(k);
            let url = base64::engine::general_purpose::URL_SAFE.encode(k);
            // 32 bytes are 43 base64 characters and one `=`: the first 43 match with or
            // without padding.
            let forms: [(Form, Vec<u8>); 5] = [
                (Form::Raw, k.to_vec()),
                (Form::HexLower, hex::encode(k).into_bytes()),
                (Form::HexUpper, hex::encode_upper(k).into_bytes()),
                (Form::Base64, std.as_bytes()[..43].to_vec()),
                (Form::Base64Url, url.as_bytes()[..43].to_vec()),
            ];
            for (form, p) in forms {
                if form == Form::Base64Url && url == std {
                    continue;
                }
                pats.push(p);
                labels.push((*name, form));
            }
        }
        let raw = keys.iter().map(|(n, k)| (*n, **k)).collect();
        let max_len = pats.iter().map(Vec::len).max().unwrap_or(0);
        let min_len = pats.iter().map(Vec::len).min().unwrap_or(0);
        KeyPatterns {
            // A DFA: a few dozen patterns make a small one, and it runs at memory speed.
            ac: AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .build(&pats)
                .expect("a few fixed patterns build"),
            labels,
            max_len,
            min_len,
            raw,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Shortest pattern: text shorter than this cannot hold a key.
    pub fn min_len(&self) -> usize {
        self.min_len
    }

    /// Every key form found in `bytes`, each once, sorted.
    pub fn find_in(&self, bytes: &[u8]) -> Vec<KeyHit> {
        let mut out = Vec::new();
        if self.is_empty() || bytes.len() < self.min_len {
            return out;
        }
        if bytes.len() < WRITTEN_MIN {
            // only the raw bytes fit
            for (n, k) in &self.raw {
                if bytes.windows(32).any(|w| w == k) {
                    out.push((*n, Form::Raw));
                }
            }
            return out;
        }
        self.collect(bytes, &mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect(&self, bytes: &[u8], out: &mut Vec<KeyHit>) {
        for m in self.ac.find_iter(bytes) {
            let l = self.labels[m.pattern().as_usize()];
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }

    /// Scans a file as bytes, streaming, with an overlap between chunks so that a key cut
    /// by a chunk boundary is still found. Returns the hits and the bytes read.
    pub fn scan_file(&self, path: &Path) -> std::io::Result<(Vec<KeyHit>, u64)> {
        self.scan_reader(File::open(path)?, 1 << 20)
    }

    pub fn scan_reader(
        &self,
        mut r: impl Read,
        chunk: usize,
    ) -> std::io::Result<(Vec<KeyHit>, u64)> {
        let mut out = Vec::new();
        if self.is_empty() {
            return Ok((out, 0));
        }
        let keep = self.max_len - 1;
        let mut buf = vec![0u8; keep + chunk.max(1)];
        let mut have = 0usize; // bytes at the front carried over from the last chunk
        let mut total = 0u64;
        loop {
            let n = r.read(&mut buf[have..])?;
            if n == 0 {
                break;
            }
            total += n as u64;
            let end = have + n;
            self.collect(&buf[..end], &mut out);
            let carry = keep.min(end);
            buf.copy_within(end - carry..end, 0);
            have = carry;
        }
        out.sort();
        out.dedup();
        Ok((out, total))
    }
}

/// `form of key` for a finding, e.g. "the pseudonymization key K_p (hex)".
pub fn describe(hits: &[KeyHit]) -> String {
    let mut by: Vec<(KeyName, Vec<&str>)> = Vec::new();
    for (k, f) in hits {
        match by.iter_mut().find(|(n, _)| n == k) {
            Some((_, v)) => v.push(f.name()),
            None => by.push((*k, vec![f.name()])),
        }
    }
    by.iter()
        .map(|(k, f)| format!("{} ({})", k.describe(), f.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_form_across_chunk_boundaries() {
        let key = [0xABu8; 32];
        let mut key2 = [0u8; 32];
        for (i, b) in key2.iter_mut().enumerate() {
            *b = (i * 37 + 11) as u8;
        }
        let p = KeyPatterns::new(&[(KeyName::Pseudonym, &key), (KeyName::Data, &key2)]);
        let forms = [
            hex::encode(key2).into_bytes(),
            hex::encode_upper(key2).into_bytes(),
            base64::engine::general_purpose::STANDARD
                .encode(key2)
                .into_bytes(),
            base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(key2)
                .into_bytes(),
            key2.to_vec(),
        ];
        for (i, f) in forms.iter().enumerate() {
            // place the key across every chunk boundary of a 7-byte chunk reader
            for off in 0..9 {
                let mut data = vec![b'.'; off];
                data.extend_from_slice(f);
                data.extend_from_slice(b"....");
                let (hits, n) = p.scan_reader(&data[..], 7).unwrap();
                assert_eq!(n, data.len() as u64);
                assert_eq!(hits.len(), 1, "form {i} offset {off}: {hits:?}");
                assert_eq!(hits[0].0, KeyName::Data);
            }
        }
        let (hits, _) = p.scan_reader(&b"nothing to see here"[..], 3).unwrap();
        assert!(hits.is_empty());
        // raw bytes in a short text (a value of 32 to 42 bytes)
        let mut short = b"ab".to_vec();
        short.extend_from_slice(&key);
        assert_eq!(p.find_in(&short), vec![(KeyName::Pseudonym, Form::Raw)]);
        assert!(p.find_in(&[0xAB; 31]).is_empty());
        assert_eq!(
            p.find_in(hex::encode(key).as_bytes()),
            vec![(KeyName::Pseudonym, Form::HexLower)]
        );
        let d = describe(&[(KeyName::Pseudonym, Form::HexLower)]);
        assert!(d.contains("K_p (hex)"), "{d}");
        assert!(!format!("{p:?}").contains("ab"));
    }
}
