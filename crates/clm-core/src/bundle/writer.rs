//! Writing a bundle so that a crash never leaves something that looks whole.
//!
//! Everything is written into a hidden staging directory beside the output (each file
//! under a `.tmp` name, renamed when complete); the manifest comes last, and only then is
//! the staging directory renamed to the output name. A killed export leaves at most the
//! staging directory, which holds no manifest and is cleared by the next run.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::encryption::encrypt::FileEncryptionProperties;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::manifest::{
    FileEntry, Manifest, PolicyRecord, SourceEntry, FORMAT_NAME, FORMAT_VERSION, MANIFEST_FILE,
};
use super::Dek;
use crate::keys::DataKey;
use crate::{schema, Error, Result, TOOL_VERSION};

/// Marks a staging directory as ours, so a rerun may remove it.
const STAGING_MARKER: &str = ".clm-partial";

/// Rows per row group: moderate, because DuckDB (≤ 2.0) decrypts a column chunk only when it
/// holds a single data page, so each column chunk is one page and must fit in memory.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Parquet properties of every bundle file: encrypted footer, one key (the DEK) for footer
/// and columns, no AAD prefix, one data page per column chunk.
///
/// No writer property makes DuckDB (≤ 2.0) evaluate a filter pushed into its Parquet scan:
/// it decrypts the pages of a filtered column without the AAD that modular encryption
/// prescribes (and arrow-rs always writes), so the bundle README tells DuckDB users to
/// disable filter, join-filter and Top-N pushdown.
pub fn parquet_writer_properties(dek: &Dek, row_group_rows: usize) -> Result<WriterProperties> {
    let enc = FileEncryptionProperties::builder(dek.as_bytes().to_vec()).build()?;
    Ok(WriterProperties::builder()
        .with_file_encryption_properties(enc)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_data_page_row_count_limit(usize::MAX)
        .set_data_page_size_limit(1 << 30)
        .set_dictionary_page_size_limit(1 << 30)
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("clm {TOOL_VERSION}"))
        .build())
}

/// What the manifest says besides files and keys; filled in by the exporter.
#[derive(Debug, Clone, Default)]
pub struct ManifestDraft {
    pub pseudonym_key_fingerprint: String,
    /// The club's name from the mapping (`club`), if given.
    pub club: Option<String>,
    pub since: Option<NaiveDate>,
    pub policy: Option<PolicyRecord>,
    pub generalizations: Vec<String>,
    pub sources: Vec<SourceEntry>,
    pub quality: Value,
}

pub struct BundleWriter {
    out: PathBuf,
    staging: PathBuf,
    dek: Dek,
    data_key: DataKey,
    export_id: String,
    as_of: NaiveDate,
    files: Vec<FileEntry>,
    open: BTreeMap<String, TableWriter>,
    row_group_rows: usize,
    done: bool,
    stale_removed: Option<PathBuf>,
}

/// The hidden directory a bundle is written into before it gets its name.
pub(crate) struct Staging {
    pub dir: PathBuf,
    /// An unfinished export's staging directory that was found and removed first.
    pub stale_removed: Option<PathBuf>,
}

impl Staging {
    /// Checks that `out` may become a bundle (does not exist, or is an empty directory),
    /// clears a staging directory an interrupted run left (ours by its marker), and makes a
    /// new one marked as ours.
    pub fn create(out: &Path) -> Result<Staging> {
        if let Ok(meta) = std::fs::metadata(out) {
            if !meta.is_dir() {
                return Err(Error::bundle(
                    out,
                    "is a file, not a directory; a bundle is a new directory: give --out the name of a directory that does not exist yet",
                ));
            }
            let empty = std::fs::read_dir(out)
                .map_err(|e| Error::io(out, e))?
                .next()
                .is_none();
            if !empty {
                return Err(Error::bundle(
                    out,
                    "output exists and is not an empty directory; bundles are never overwritten: choose a new --out",
                ));
            }
        }
        let name = out
            .file_name()
            .ok_or_else(|| Error::bundle(out, "output needs a directory name"))?
            .to_string_lossy()
            .to_string();
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let dir = parent.join(format!(".{name}.clm-partial"));
        let mut stale_removed = None;
        if dir.symlink_metadata().is_ok() {
            if dir.join(STAGING_MARKER).exists() {
                // Left by an interrupted export: it never became a bundle.
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                stale_removed = Some(dir.clone());
            } else {
                return Err(Error::bundle(
                    &dir,
                    "exists and was not made by clm; remove it or choose another --out",
                ));
            }
        }
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        write_synced(&dir.join(STAGING_MARKER), b"an unfinished clm export\n")?;
        Ok(Staging { dir, stale_removed })
    }

    /// Writes the manifest last, unmarks the directory and gives it the name `out`.
    pub fn seal(&self, out: &Path, manifest_text: &str) -> Result<()> {
        let tmp = self.dir.join(format!("{MANIFEST_FILE}.tmp"));
        write_synced(&tmp, manifest_text.as_bytes())?;
        std::fs::rename(&tmp, self.dir.join(MANIFEST_FILE)).map_err(|e| Error::io(&tmp, e))?;
        std::fs::remove_file(self.dir.join(STAGING_MARKER)).map_err(|e| Error::io(&self.dir, e))?;
        if out.exists() {
            std::fs::remove_dir(out).map_err(|e| Error::io(out, e))?;
        }
        std::fs::rename(&self.dir, out).map_err(|e| Error::io(out, e))?;
        if let Some(parent) = out.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            if let Ok(d) = File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl BundleWriter {
    /// Starts a bundle at `out`, which must not exist or be an empty directory.
    pub fn create(out: &Path, data_key: &DataKey, as_of: NaiveDate) -> Result<Self> {
        let staging = Staging::create(out)?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).expect("the operating system's random source failed");
        Ok(BundleWriter {
            out: out.to_path_buf(),
            staging: staging.dir.clone(),
            stale_removed: staging.stale_removed.clone(),
            dek: Dek::generate(),
            data_key: data_key.clone(),
            export_id: hex::encode(id),
            as_of,
            files: Vec::new(),
            open: BTreeMap::new(),
            row_group_rows: ROW_GROUP_ROWS,
            done: false,
        })
    }

    /// Smaller row groups, for tests that need several of them.
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }

    /// The staging directory of an interrupted earlier export that `create` removed, if any.
    pub fn stale_staging_removed(&self) -> Option<&Path> {
        self.stale_removed.as_deref()
    }

    pub fn export_id(&self) -> &str {
        &self.export_id
    }

    pub fn dek(&self) -> &Dek {
        &self.dek
    }

    /// Opens a new file for `table` (a canonical table), named `<table>.parquet`, or
    /// `<table>-N.parquet` when the table already has files.
    pub fn table_writer(&self, table: &str) -> Result<TableWriter> {
        let ts = schema::canonical()
            .table(table)
            .ok_or_else(|| Error::bundle(&self.out, format!("{table} is not a canonical table")))?;
        let n = self.files.iter().filter(|f| f.table == table).count()
            + self.open.keys().filter(|k| *k == table).count();
        let name = if n == 0 {
            format!("{table}.parquet")
        } else {
            format!("{table}-{n}.parquet")
        };
        TableWriter::new(
            &self.staging,
            table,
            &name,
            ts.arrow_schema(),
            parquet_writer_properties(&self.dek, self.row_group_rows)?,
        )
    }

    /// Records a finished table file.
    pub fn add_file(&mut self, entry: FileEntry) {
        self.files.push(entry);
    }

    /// Convenience for small writers (tests, fixtures): appends a batch to the table's
    /// single file, opening it on first use.
    pub fn write_batch(&mut self, table: &str, batch: &RecordBatch) -> Result<()> {
        if !self.open.contains_key(table) {
            let w = self.table_writer(table)?;
            self.open.insert(table.to_string(), w);
        }
        self.open.get_mut(table).unwrap().write(batch)
    }

    /// Writes the manifest and moves the bundle into place.
    pub fn finish(mut self, draft: ManifestDraft) -> Result<Manifest> {
        for (_, w) in std::mem::take(&mut self.open) {
            let e = w.finish()?;
            self.files.push(e);
        }
        let mut encryption = BTreeMap::new();
        encryption.insert("scheme".into(), "parquet-modular-encryption".into());
        encryption.insert("algorithm".into(), "AES_GCM_V1".into());
        encryption.insert("footer".into(), "encrypted".into());
        encryption.insert("keys".into(), "one DEK for footer and every column".into());
        encryption.insert("aad_prefix".into(), "none".into());
        let mut m = Manifest {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            tool_version: TOOL_VERSION.into(),
            export_id: self.export_id.clone(),
            as_of: self.as_of,
            club: draft.club,
            since: draft.since,
            created_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            pseudonym_key_fingerprint: draft.pseudonym_key_fingerprint,
            data_key_fingerprint: self.data_key.fingerprint(),
            wrapped_dek: self.dek.wrap(&self.data_key, &self.export_id),
            encryption,
            policy: draft.policy.unwrap_or(PolicyRecord {
                rare_k: 5,
                k_anonymity: 0,
                age_bands: crate::values::AgeBands::default().labels().to_vec(),
                truncate_timestamps: "hour".into(),
            }),
            generalizations: draft.generalizations,
            sources: draft.sources,
            files: std::mem::take(&mut self.files),
            quality: draft.quality,
            hmac: String::new(),
        };
        let text = m.seal(&self.dek);
        let staging = Staging {
            dir: self.staging.clone(),
            stale_removed: None,
        };
        staging.seal(&self.out, &text)?;
        self.done = true;
        Ok(m)
    }
}

impl Drop for BundleWriter {
    /// An export that stops with an error removes its staging directory: no half bundle.
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Hashes and counts the bytes on their way to disk, so no second read is needed.
pub(crate) struct HashingFile {
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashingFile {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(HashingFile {
            inner: BufWriter::with_capacity(1 << 20, f),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flushes and syncs the file; returns its size and SHA-256 (hex).
    pub(crate) fn finish(mut self, path: &Path) -> Result<(u64, String)> {
        self.flush().map_err(|e| Error::io(path, e))?;
        let file = self
            .inner
            .into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(path, e))?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One encrypted Parquet file of a table, being written.
pub struct TableWriter {
    table: String,
    name: String,
    tmp: PathBuf,
    dir: PathBuf,
    writer: ArrowWriter<HashingFile>,
    schema: arrow_schema::SchemaRef,
    rows: u64,
}

impl TableWriter {
    fn new(
        dir: &Path,
        table: &str,
        name: &str,
        schema: arrow_schema::SchemaRef,
        props: WriterProperties,
    ) -> Result<Self> {
        let tmp = dir.join(format!("{name}.tmp"));
        let hf = HashingFile::create(&tmp)?;
        let writer = ArrowWriter::try_new(hf, Arc::clone(&schema), Some(props))?;
        Ok(TableWriter {
            table: table.into(),
            name: name.into(),
            tmp,
            dir: dir.to_path_buf(),
            writer,
            schema,
            rows: 0,
        })
    }

    pub fn schema(&self) -> &arrow_schema::SchemaRef {
        &self.schema
    }

    /// Appends a batch, which must have the table's canonical schema.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::Other(format!(
                "internal: a batch for {} does not have the canonical schema",
                self.table
            )));
        }
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch)?;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the file, syncs it and gives it its final name.
    pub fn finish(self) -> Result<FileEntry> {
        let hf = self.writer.into_inner()?;
        let (bytes, sha256) = hf.finish(&self.tmp)?;
        let final_path = self.dir.join(&self.name);
        std::fs::rename(&self.tmp, &final_path).map_err(|e| Error::io(&self.tmp, e))?;
        Ok(FileEntry {
            path: self.name,
            table: self.table,
            rows: self.rows,
            bytes,
            sha256,
        })
    }
}
