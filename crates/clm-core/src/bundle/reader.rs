//! Opening a bundle: nothing is read before the manifest, the key and every file check out.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::encryption::decrypt::FileDecryptionProperties;
use sha2::{Digest, Sha256};

use super::manifest::{FileEntry, Manifest, MANIFEST_FILE};
use super::Dek;
use crate::keys::DataKey;
use crate::{Error, Result};

/// A verified bundle with its unwrapped DEK.
#[derive(Debug)]
pub struct Bundle {
    dir: PathBuf,
    manifest: Manifest,
    dek: Dek,
}

impl Bundle {
    /// Verifies and opens a bundle: manifest present and well-formed, the DEK unwraps with
    /// `data_key`, the manifest HMAC holds, the files listed are exactly the files present,
    /// each is encrypted Parquet and has its recorded SHA-256.
    pub fn open(dir: &Path, data_key: &DataKey) -> Result<Bundle> {
        let b = Self::open_manifest(dir, data_key)?;
        b.verify_files()?;
        Ok(b)
    }

    /// Checks the manifest and the key only, not the files (for tools that hash the files
    /// themselves, such as the audit, which reports each failure separately).
    pub fn open_manifest(dir: &Path, data_key: &DataKey) -> Result<Bundle> {
        if !dir.is_dir() {
            return Err(Error::bundle(dir, "no such directory"));
        }
        let mpath = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&mpath) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let hint = if dir.join(".clm-partial").exists() {
                    "this is an unfinished export"
                } else {
                    "not a clm bundle, or an export that did not finish"
                };
                return Err(Error::bundle(dir, format!("no manifest.json: {hint}")));
            }
            Err(e) => return Err(Error::io(&mpath, e)),
        };
        let (manifest, value) = Manifest::parse(dir, &text)?;
        let dek = manifest
            .wrapped_dek
            .unwrap_with(data_key, &manifest.export_id)
            .map_err(|m| Error::bundle(dir, m))?;
        if !Manifest::verify_hmac(&value, &dek) {
            return Err(Error::bundle(
                dir,
                "manifest.json was modified after export (HMAC mismatch); do not use this bundle",
            ));
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            manifest,
            dek,
        })
    }

    /// Files listed = files present, encrypted, and with the recorded SHA-256.
    pub fn verify_files(&self) -> Result<()> {
        let problems = self.file_problems()?;
        if let Some(p) = problems.into_iter().next() {
            return Err(Error::bundle(&self.dir, p));
        }
        Ok(())
    }

    /// Every integrity problem of the files, one message each (empty when all is well).
    pub fn file_problems(&self) -> Result<Vec<String>> {
        file_problems(&self.dir, &self.manifest)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn dek(&self) -> &Dek {
        &self.dek
    }

    /// Tables that have at least one file, in manifest order.
    pub fn tables(&self) -> Vec<String> {
        let mut t: Vec<String> = Vec::new();
        for f in &self.manifest.files {
            if !t.contains(&f.table) {
                t.push(f.table.clone());
            }
        }
        t
    }

    pub fn table_entries(&self, table: &str) -> Vec<&FileEntry> {
        self.manifest
            .files
            .iter()
            .filter(|f| f.table == table)
            .collect()
    }

    /// Absolute paths of a table's files.
    pub fn table_files(&self, table: &str) -> Vec<PathBuf> {
        self.table_entries(table)
            .into_iter()
            .map(|f| self.dir.join(&f.path))
            .collect()
    }

    pub fn decryption_properties(&self) -> Result<std::sync::Arc<FileDecryptionProperties>> {
        Ok(FileDecryptionProperties::builder(self.dek.as_bytes().to_vec()).build()?)
    }

    /// Decrypting reader of one bundle file.
    pub fn open_file(
        &self,
        entry: &FileEntry,
        batch_size: usize,
    ) -> Result<ParquetRecordBatchReader> {
        let path = self.dir.join(&entry.path);
        let f = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let opts = ArrowReaderOptions::new()
            .with_file_decryption_properties(self.decryption_properties()?);
        let r = ParquetRecordBatchReaderBuilder::try_new_with_options(f, opts)
            .map_err(|e| Error::bundle(&path, format!("cannot decrypt or read: {e}")))?
            .with_batch_size(batch_size)
            .build()
            .map_err(|e| Error::bundle(&path, format!("cannot read: {e}")))?;
        Ok(r)
    }

    /// Every batch of a table, file after file, streaming.
    pub fn read_table(&self, table: &str) -> TableBatches<'_> {
        TableBatches {
            bundle: self,
            entries: self.table_entries(table),
            next: 0,
            current: None,
        }
    }
}

/// Streams a table's batches over its files.
pub struct TableBatches<'a> {
    bundle: &'a Bundle,
    entries: Vec<&'a FileEntry>,
    next: usize,
    current: Option<ParquetRecordBatchReader>,
}

impl Iterator for TableBatches<'_> {
    type Item = Result<arrow_array::RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.current.as_mut() {
                match r.next() {
                    Some(Ok(b)) => return Some(Ok(b)),
                    Some(Err(e)) => return Some(Err(e.into())),
                    None => self.current = None,
                }
            }
            let e = self.entries.get(self.next)?;
            self.next += 1;
            match self.bundle.open_file(e, 64 * 1024) {
                Ok(r) => self.current = Some(r),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The files of a bundle against its manifest: files listed = files present, each encrypted
/// Parquet with its recorded SHA-256. One message per problem, none when all is well. Also
/// for a manifest whose HMAC failed (the audit reports both).
pub fn file_problems(dir: &Path, manifest: &Manifest) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let present = list_files(dir)?;
    for p in &present {
        if !manifest.files.iter().any(|f| &f.path == p) && p != MANIFEST_FILE {
            problems.push(format!("file {p} is not listed in the manifest"));
        }
    }
    for f in &manifest.files {
        if f.path.contains("..") || f.path.starts_with('/') || f.path.starts_with('\\') {
            problems.push(format!(
                "manifest lists a file outside the bundle: {}",
                f.path
            ));
            continue;
        }
        if !present.contains(&f.path) {
            problems.push(format!(
                "file {} is listed in the manifest but missing",
                f.path
            ));
            continue;
        }
        match sha256_file(&dir.join(&f.path)) {
            Ok((digest, head, tail)) => {
                if digest != f.sha256 {
                    problems.push(format!(
                        "file {} has changed since export (SHA-256 mismatch)",
                        f.path
                    ));
                } else if &head != b"PARE" || &tail != b"PARE" {
                    problems.push(format!("file {} is not encrypted Parquet", f.path));
                }
            }
            Err(e) => problems.push(format!("file {}: {e}", f.path)),
        }
    }
    Ok(problems)
}

/// Regular files below `dir`, relative, with `/` separators.
pub fn list_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let e = e.map_err(|e| Error::io(&d, e))?;
            let p = e.path();
            let ft = e.file_type().map_err(|e| Error::io(&p, e))?;
            if ft.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("below dir");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// SHA-256 of a file, with its first and last four bytes (the Parquet magic).
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<(String, [u8; 4], [u8; 4])> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut head = [0u8; 4];
    let mut tail = [0u8; 4];
    let mut total = 0usize;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if total < 4 {
            let k = (4 - total).min(n);
            head[total..total + k].copy_from_slice(&buf[..k]);
        }
        // keep the last four bytes seen
        if n >= 4 {
            tail.copy_from_slice(&buf[n - 4..n]);
        } else {
            let mut t = tail.to_vec();
            t.extend_from_slice(&buf[..n]);
            tail.copy_from_slice(&t[t.len() - 4..]);
        }
        total += n;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), head, tail))
}
