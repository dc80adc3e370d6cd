//! `manifest.json`: what a bundle holds and how it was made, and its HMAC.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::{Dek, WrappedDek};
use crate::{Error, Result};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const FORMAT_NAME: &str = "clm-bundle";
pub const FORMAT_VERSION: u32 = 1;

/// The longest club name (in characters) a mapping or manifest may give.
pub const MAX_CLUB_NAME_CHARS: usize = 100;

/// Checks a club name (`club` in the mapping and the manifest): not empty, at most
/// [`MAX_CLUB_NAME_CHARS`] characters, printable (no control characters, no leading or
/// trailing space) and without path separators, since tools may name files or
/// directories after it. The message never repeats the name.
pub fn check_club_name(name: &str) -> std::result::Result<(), String> {
    if name.trim().is_empty() {
        return Err("club name is empty; give a name, or leave `club` out".into());
    }
    let chars = name.chars().count();
    if chars > MAX_CLUB_NAME_CHARS {
        return Err(format!(
            "club name has {chars} characters; at most {MAX_CLUB_NAME_CHARS} are allowed"
        ));
    }
    if let Some((i, _)) = name.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(format!(
            "club name has a control character (tab, newline, …) at character {}; use printable characters only",
            i + 1
        ));
    }
    if name.trim() != name {
        return Err("club name starts or ends with a space; remove it".into());
    }
    if let Some((i, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| matches!(c, '/' | '\\'))
    {
        return Err(format!(
            "club name has a path separator {c:?} at character {}; use a name without / or \\",
            i + 1
        ));
    }
    if name == "." || name == ".." {
        return Err("club name may not be \".\" or \"..\"".into());
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub export_id: String,
    pub as_of: NaiveDate,
    /// The club's name, as the club chose it in its mapping (`club = "…"`), if it did.
    /// Absent in bundles of earlier versions: readers fall back on the bundle directory's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub club: Option<String>,
    /// Events after this date only (an incremental export), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
    pub created_at: String,
    pub pseudonym_key_fingerprint: String,
    pub data_key_fingerprint: String,
    pub wrapped_dek: WrappedDek,
    /// How the Parquet files are encrypted, for a reader other than clm.
    pub encryption: BTreeMap<String, String>,
    pub policy: PolicyRecord,
    /// Human-readable list of generalizations applied.
    pub generalizations: Vec<String>,
    pub sources: Vec<SourceEntry>,
    pub files: Vec<FileEntry>,
    /// Data-quality counts of the source (never values).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub quality: Value,
    #[serde(default)]
    pub hmac: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub rare_k: u32,
    /// Every class of the clients table over its quasi-identifiers holds at least this many
    /// clients (0: not enforced).
    #[serde(default)]
    pub k_anonymity: u32,
    pub age_bands: Vec<String>,
    pub truncate_timestamps: String,
}

/// One source file: counts and what was dropped. Names only, never values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SourceEntry {
    pub table: String,
    /// File name without its directory (a path could name a person).
    pub file: String,
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_rejected: u64,
    /// Rejections by reason, e.g. `"visited_at: expected a date like DD.MM.YYYY HH:mm": 3`.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Source columns not exported because no field maps them (deny by default).
    pub dropped_columns: Vec<String>,
    /// Source columns mapped to direct fields: read on site only, never exported.
    pub direct_columns: Vec<String>,
    /// Per bundle column: how many distinct rare values became `other`.
    pub rare_values_replaced: BTreeMap<String, u64>,
    /// Per bundle column: how many distinct values a PII detector hit and `--redact` replaced.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redacted_values: BTreeMap<String, u64>,
    /// Per bundle column: how many values were suppressed (set empty) for k-anonymity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub suppressed_values: BTreeMap<String, u64>,
}

impl SourceEntry {
    /// How the manifest names a source: the file name without its directory, and for a
    /// workbook's sheet the sheet in brackets (`club.xlsx [clients]`). The audit matches
    /// the sources it reads by this name.
    pub fn file_label(file: &Path, sheet: Option<&str>) -> String {
        let name = file
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        match sheet {
            Some(sh) => format!("{name} [{sh}]"),
            None => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the bundle directory.
    pub path: String,
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    /// The bytes the HMAC covers: the manifest as JSON with sorted keys, without `hmac`.
    fn mac_input(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        write_canonical(value, true, &mut out);
        out
    }

    fn compute_hmac(value: &Value, dek: &Dek) -> String {
        let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&dek.manifest_mac_key())
            .expect("any key length");
        m.update(&Self::mac_input(value));
        hex::encode(m.finalize().into_bytes())
    }

    /// Sets `hmac` and returns the pretty JSON to write.
    pub fn seal(&mut self, dek: &Dek) -> String {
        self.hmac.clear();
        let v = serde_json::to_value(&*self).expect("manifest serializes");
        self.hmac = Self::compute_hmac(&v, dek);
        serde_json::to_string_pretty(self).expect("manifest serializes") + "\n"
    }

    /// Parses manifest text without checking its HMAC (that needs the DEK).
    pub fn parse(path: &Path, text: &str) -> Result<(Manifest, Value)> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Error::bundle(
                path,
                format!("manifest.json is not valid JSON ({e}); the bundle is damaged"),
            )
        })?;
        if value.get("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
            return Err(Error::bundle(
                path,
                "manifest.json is not a clm bundle manifest",
            ));
        }
        let m: Manifest = serde_json::from_value(value.clone())
            .map_err(|e| Error::bundle(path, format!("manifest.json is malformed: {e}")))?;
        if let Some(club) = &m.club {
            check_club_name(club)
                .map_err(|msg| Error::bundle(path, format!("manifest.json: {msg}")))?;
        }
        if m.format_version != FORMAT_VERSION {
            return Err(Error::bundle(
                path,
                format!(
                    "bundle format version {} is not supported by this clm (reads version {FORMAT_VERSION})",
                    m.format_version
                ),
            ));
        }
        Ok((m, value))
    }

    /// Checks the HMAC over the manifest exactly as it was read.
    pub fn verify_hmac(value: &Value, dek: &Dek) -> bool {
        let Some(stored) = value.get("hmac").and_then(Value::as_str) else {
            return false;
        };
        let expected = Self::compute_hmac(value, dek);
        // Constant-time comparison is not needed against an offline file, but costs nothing.
        stored.len() == expected.len()
            && stored
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The club's name: the one recorded at export (`club` in the mapping), else the name
    /// of the bundle's directory.
    /// (`.` and `bundles/b/..` name the directory they stand for).
    pub fn club_name(&self, bundle_dir: &Path) -> String {
        self.club.clone().unwrap_or_else(|| {
            let full = std::fs::canonicalize(bundle_dir).unwrap_or_else(|_| bundle_dir.into());
            full.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| bundle_dir.display().to_string())
        })
    }

    pub fn table_rows(&self, table: &str) -> u64 {
        self.files
            .iter()
            .filter(|f| f.table == table)
            .map(|f| f.rows)
            .sum()
    }
}

fn write_canonical(v: &Value, top: bool, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| !(top && *k == "hmac")).collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(k).expect("string serializes"));
                out.push(b':');
                write_canonical(&map[*k], false, out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, false, out);
            }
            out.push(b']');
        }
        other => out.extend(serde_json::to_vec(other).expect("scalar serializes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest as clm wrote it before `club` existed; its HMAC (DEK = 32 bytes of 7) was
    /// computed outside clm, with Python's hmac over `json.dumps(sort_keys=True,
    /// separators=(",", ":"), ensure_ascii=False)` of the manifest without `hmac`.
    const OLD_MANIFEST: &str = r#"{
  "format": "clm-bundle",
  "format_version": 1,
  "tool_version": "0.1.0",
  "export_id": "0123456789abcdef",
  "as_of": "2026-11-01",
  "created_at": "2026-11-02T09:00:00Z",
  "pseudonym_key_fingerprint": "aaaaaaaaaaaaaaaa",
  "data_key_fingerprint": "bbbbbbbbbbbbbbbb",
  "wrapped_dek": {
    "algorithm": "AES-256-GCM",
    "data_key_fingerprint": "bbbbbbbbbbbbbbbb",
    "nonce": "000000000000000000000000",
    "ciphertext": "00"
  },
  "encryption": {
    "scheme": "parquet-modular-encryption"
  },
  "policy": {
    "rare_k": 5,
    "k_anonymity": 5,
    "age_bands": ["<18", "18-24"],
    "truncate_timestamps": "hour"
  },
  "generalizations": ["birth_date → age band"],
  "sources": [],
  "files": [
    {
      "path": "clients.parquet",
      "table": "clients",
      "rows": 3,
      "bytes": 100,
      "sha256": "00"
    }
  ],
  "hmac": "b085b04480e4d61751d1d73917d3a7ad06a15d812f9c370b82dc15bedc2342b1"
}"#;

    fn dek() -> Dek {
        Dek::from_bytes([7; 32])
    }

    #[test]
    fn a_manifest_without_club_still_reads_and_verifies() {
        let (m, v) = Manifest::parse(Path::new("manifest.json"), OLD_MANIFEST).unwrap();
        assert_eq!(m.club, None);
        assert!(Manifest::verify_hmac(&v, &dek()));
        assert_eq!(m.club_name(Path::new("/b/club-north")), "club-north");
        // Sealed again without a club, it says nothing of one and keeps its HMAC.
        let mut again = m.clone();
        let text = again.seal(&dek());
        assert!(!text.contains("\"club\""), "{text}");
        assert_eq!(again.hmac, m.hmac);
    }

    #[test]
    fn the_hmac_covers_the_club() {
        let (mut m, _) = Manifest::parse(Path::new("manifest.json"), OLD_MANIFEST).unwrap();
        m.club = Some("Север · Тверская".into());
        let text = m.seal(&dek());
        let (read, v) = Manifest::parse(Path::new("manifest.json"), &text).unwrap();
        assert!(Manifest::verify_hmac(&v, &dek()));
        assert_eq!(read.club.as_deref(), Some("Север · Тверская"));
        assert_eq!(read.club_name(Path::new("/b/x")), "Север · Тверская");
        // Renaming the club in the file (or removing it) breaks the HMAC.
        let renamed = text.replace("Север · Тверская", "Юг");
        let (_, v) = Manifest::parse(Path::new("manifest.json"), &renamed).unwrap();
        assert!(!Manifest::verify_hmac(&v, &dek()));
        let mut obj: Value = serde_json::from_str(&text).unwrap();
        obj.as_object_mut().unwrap().remove("club");
        assert!(!Manifest::verify_hmac(&obj, &dek()));
    }

    #[test]
    fn club_names_are_checked() {
        assert!(check_club_name("Fit & Go №3 (Казань)").is_ok());
        assert!(check_club_name(&"я".repeat(MAX_CLUB_NAME_CHARS)).is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("a/b", "path separator"),
            ("a\\b", "path separator"),
            ("line\nbreak", "control character"),
            ("tab\there", "control character"),
            (" lead", "space"),
            ("..", "may not be"),
        ] {
            let e = check_club_name(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let e = check_club_name(&"я".repeat(MAX_CLUB_NAME_CHARS + 1)).unwrap_err();
        assert!(e.contains("101 characters"), "{e}");
        // A manifest with a club name no export would write is refused when read.
        let bad = OLD_MANIFEST.replace("\"as_of\"", "\"club\": \"../x\",\n  \"as_of\"");
        let e = Manifest::parse(Path::new("manifest.json"), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("path separator"), "{e}");
    }
}
