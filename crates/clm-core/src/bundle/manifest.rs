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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub export_id: String,
    pub as_of: NaiveDate,
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
