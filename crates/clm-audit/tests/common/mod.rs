//! Test helpers: a clean synthetic export, hand-made bundles, and "tampered but re-sealed"
//! bundles — what a buggy exporter would write: files replaced and the manifest updated and
//! sealed again with the DEK, so that only the audit's other checks can tell.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow_array::{new_null_array, ArrayRef, RecordBatch, StringArray};
use chrono::NaiveDate;
use clm_core::bundle::{
    parquet_writer_properties, Bundle, BundleWriter, Dek, Manifest, ManifestDraft, MANIFEST_FILE,
    ROW_GROUP_ROWS,
};
use clm_core::keys::{DataKey, PseudonymKey};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use sha2::{Digest, Sha256};

pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

/// A synthetic club, its keys and a clean export of it.
pub struct Club {
    pub tmp: tempfile::TempDir,
    pub src: PathBuf,
    pub mapping: PathBuf,
    pub pseudonym_key: PathBuf,
    pub data_key: PathBuf,
    pub bundle: PathBuf,
}

impl Club {
    pub fn make(clients: u64, seed: u64) -> Club {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        clm_synth::generate(&clm_synth::Config {
            clients,
            seed,
            as_of: as_of(),
            out: src.clone(),
            encoding: clm_synth::Encoding::Utf8,
        })
        .unwrap();
        let keys = tmp.path().join("keys");
        let (pseudonym_key, data_key) = clm_core::keys::keygen(&keys).unwrap();
        let bundle = tmp.path().join("bundle");
        let mapping = src.join(clm_synth::MAPPING_FILE);
        clm_pseudonymize::export(&clm_pseudonymize::ExportOptions {
            mapping: mapping.clone(),
            pseudonym_key: Some(pseudonym_key.clone()),
            data_key: Some(data_key.clone()),
            as_of: Some(as_of()),
            out: bundle.clone(),
            redact: false,
            progress: false,
            since: None,
            allow_empty: false,
        })
        .unwrap();
        Club {
            tmp,
            src,
            mapping,
            pseudonym_key,
            data_key,
            bundle,
        }
    }

    /// One 300-client club shared by the tests of a binary.
    pub fn shared() -> &'static Club {
        static CLUB: OnceLock<Club> = OnceLock::new();
        CLUB.get_or_init(|| Club::make(300, 7))
    }

    pub fn kd(&self) -> DataKey {
        DataKey::load(&self.data_key).unwrap()
    }

    pub fn kp(&self) -> PseudonymKey {
        PseudonymKey::load(&self.pseudonym_key).unwrap()
    }

    /// Options for a full on-site audit of `bundle` at the default k = 5 (the export
    /// enforces k-anonymity at 5, so a clean bundle passes the risk check).
    pub fn options(&self, bundle: &Path) -> clm_audit::Options {
        let mut o = clm_audit::Options::new(bundle);
        o.k = 5;
        o.data_key = Some(self.data_key.clone());
        o.mapping = Some(self.mapping.clone());
        o.pseudonym_key = Some(self.pseudonym_key.clone());
        o.threads = 2;
        o
    }

    /// A copy of the clean bundle, to break.
    pub fn copy_bundle(&self) -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let dst = t.path().join("bundle");
        std::fs::create_dir(&dst).unwrap();
        for e in std::fs::read_dir(&self.bundle).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
        (t, dst)
    }

    /// The first `n` values of a source column (header name) of a source CSV.
    pub fn source_values(&self, file: &str, column: &str, n: usize) -> Vec<String> {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_path(self.src.join(file))
            .unwrap();
        let idx = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == column)
            .unwrap_or_else(|| panic!("no column {column} in {file}"));
        r.records()
            .map(|x| x.unwrap().get(idx).unwrap().to_string())
            .filter(|v| !v.trim().is_empty())
            .take(n)
            .collect()
    }
}

/// A batch of a canonical table: the given columns, the others null.
pub fn canonical_batch(table: &str, rows: usize, cols: &[(&str, ArrayRef)]) -> RecordBatch {
    let schema = clm_core::schema::canonical()
        .table(table)
        .unwrap()
        .arrow_schema();
    let arrays: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| {
            cols.iter()
                .find(|(n, _)| *n == f.name())
                .map(|(_, a)| Arc::clone(a))
                .unwrap_or_else(|| new_null_array(f.data_type(), rows))
        })
        .collect();
    RecordBatch::try_new(schema, arrays).unwrap()
}

pub fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

pub fn opt_strings(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// A bundle written by the core's writer from hand-made batches.
pub fn write_bundle(
    out: &Path,
    kd: &DataKey,
    kp: &PseudonymKey,
    tables: &[(&str, RecordBatch)],
) -> Manifest {
    let mut w = BundleWriter::create(out, kd, as_of()).unwrap();
    for (t, b) in tables {
        w.write_batch(t, b).unwrap();
    }
    w.finish(ManifestDraft {
        pseudonym_key_fingerprint: kp.fingerprint(),
        ..Default::default()
    })
    .unwrap()
}

/// A bundle opened to be tampered with, then sealed again.
pub struct Tamper {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub dek: Dek,
}

impl Tamper {
    pub fn open(dir: &Path, kd: &DataKey) -> Tamper {
        let b = Bundle::open_manifest(dir, kd).unwrap();
        Tamper {
            dir: dir.to_path_buf(),
            manifest: b.manifest().clone(),
            dek: b.dek().clone(),
        }
    }

    /// Every batch of a table's files, decrypted.
    pub fn read_table(&self, table: &str, kd: &DataKey) -> Vec<RecordBatch> {
        let b = Bundle::open_manifest(&self.dir, kd).unwrap();
        b.read_table(table).map(|r| r.unwrap()).collect()
    }

    /// Replaces (or adds) `path` with `batches`, encrypted with the bundle's DEK as the
    /// exporter does, optionally with extra key-value metadata; updates the manifest entry.
    pub fn replace_file(
        &mut self,
        path: &str,
        table: &str,
        batches: &[RecordBatch],
        key_value_metadata: Option<Vec<KeyValue>>,
    ) {
        let schema = batches[0].schema();
        let props = parquet_writer_properties(&self.dek, ROW_GROUP_ROWS)
            .unwrap()
            .into_builder()
            .set_key_value_metadata(key_value_metadata)
            .build();
        let full = self.dir.join(path);
        let f = std::fs::File::create(&full).unwrap();
        let mut w = ArrowWriter::try_new(f, schema, Some(props)).unwrap();
        let mut rows = 0u64;
        for b in batches {
            rows += b.num_rows() as u64;
            w.write(b).unwrap();
        }
        w.close().unwrap();
        let bytes = std::fs::read(&full).unwrap();
        let sha = hex::encode(Sha256::digest(&bytes));
        match self.manifest.files.iter_mut().find(|f| f.path == path) {
            Some(e) => {
                e.rows = rows;
                e.bytes = bytes.len() as u64;
                e.sha256 = sha;
                e.table = table.into();
            }
            None => self.manifest.files.push(clm_core::bundle::FileEntry {
                path: path.into(),
                table: table.into(),
                rows,
                bytes: bytes.len() as u64,
                sha256: sha,
            }),
        }
    }

    /// Writes the manifest sealed with the DEK: the HMAC holds again.
    pub fn seal(mut self) {
        let text = self.manifest.seal(&self.dek);
        std::fs::write(self.dir.join(MANIFEST_FILE), text).unwrap();
    }
}

/// Replaces column `name` of every batch with `f(old column)`.
pub fn map_column(
    batches: &[RecordBatch],
    name: &str,
    mut f: impl FnMut(&StringArray) -> StringArray,
) -> Vec<RecordBatch> {
    batches
        .iter()
        .map(|b| {
            let i = b.schema().index_of(name).unwrap();
            let mut cols = b.columns().to_vec();
            let old = cols[i].as_any().downcast_ref::<StringArray>().unwrap();
            cols[i] = Arc::new(f(old));
            RecordBatch::try_new(b.schema(), cols).unwrap()
        })
        .collect()
}

/// Sets row `row` of a string column to `value`, keeping the others.
pub fn set_value(a: &StringArray, row: usize, value: &str) -> StringArray {
    (0..a.len())
        .map(|i| {
            if i == row {
                Some(value.to_string())
            } else if a.is_null(i) {
                None
            } else {
                Some(a.value(i).to_string())
            }
        })
        .collect()
}

use arrow_array::Array;
