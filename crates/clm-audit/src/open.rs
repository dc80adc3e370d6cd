//! Opening the bundle for the audit.
//!
//! Unlike a consultant's reader, the audit goes on when the manifest HMAC does not hold:
//! a failed HMAC is a failed integrity check (exit 1), and the files are still examined so
//! that the report says what else is wrong. Only what makes the audit impossible stops it
//! (exit 2): no manifest, a malformed one, or a data key that does not unwrap the DEK.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clm_core::bundle::{Bundle, Dek, FileEntry, Manifest, MANIFEST_FILE};
use clm_core::keys::DataKey;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::encryption::decrypt::FileDecryptionProperties;

use crate::CannotRun;

pub struct Opened {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub dek: Dek,
    /// The manifest's HMAC holds under the DEK.
    pub hmac_ok: bool,
    /// The core's verified bundle, when the HMAC holds.
    core: Option<Bundle>,
    decryption: Arc<FileDecryptionProperties>,
}

impl Opened {
    pub fn open(dir: &Path, data_key: &DataKey) -> Result<Opened, CannotRun> {
        if !dir.is_dir() {
            return Err(CannotRun(format!(
                "bundle {}: no such directory",
                dir.display()
            )));
        }
        let mpath = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&mpath) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CannotRun(format!(
                "bundle {}: no manifest.json: not a clm bundle, or an export that did not finish",
                dir.display()
            )))
            }
            Err(e) => return Err(CannotRun(format!("{}: {e}", mpath.display()))),
        };
        let (manifest, value) =
            Manifest::parse(dir, &text).map_err(|e| CannotRun(e.to_string()))?;
        let dek = manifest
            .wrapped_dek
            .unwrap_with(data_key, &manifest.export_id)
            .map_err(|m| CannotRun(format!("bundle {}: {m}", dir.display())))?;
        let hmac_ok = Manifest::verify_hmac(&value, &dek);
        let core = if hmac_ok {
            Some(Bundle::open_manifest(dir, data_key).map_err(|e| CannotRun(e.to_string()))?)
        } else {
            None
        };
        let decryption = FileDecryptionProperties::builder(dek.as_bytes().to_vec())
            .build()
            .map_err(|e| CannotRun(format!("decryption properties: {e}")))?;
        Ok(Opened {
            dir: dir.to_path_buf(),
            manifest,
            dek,
            hmac_ok,
            core,
            decryption,
        })
    }

    /// Every integrity problem of the files (listed = present, SHA-256, encrypted
    /// Parquet), one message each: the core's own check when the manifest is authentic.
    pub fn file_problems(&self) -> Result<Vec<String>, CannotRun> {
        match &self.core {
            Some(b) => b.file_problems().map_err(|e| CannotRun(e.to_string())),
            None => unverified_file_problems(&self.dir, &self.manifest),
        }
    }

    /// Whether a listed file is a regular file inside the bundle.
    pub fn present(&self, e: &FileEntry) -> bool {
        safe_path(&e.path) && self.dir.join(&e.path).is_file()
    }

    pub fn path_of(&self, e: &FileEntry) -> PathBuf {
        self.dir.join(&e.path)
    }

    /// Reads and decrypts a file's footer: its schema and row groups.
    pub fn metadata(&self, e: &FileEntry) -> Result<ArrowReaderMetadata, String> {
        let path = self.path_of(e);
        let f = File::open(&path).map_err(|err| format!("cannot open: {err}"))?;
        ArrowReaderMetadata::load(&f, self.reader_options())
            .map_err(|err| format!("cannot decrypt or read the Parquet footer: {err}"))
    }

    pub fn reader_options(&self) -> ArrowReaderOptions {
        ArrowReaderOptions::new().with_file_decryption_properties(Arc::clone(&self.decryption))
    }
}

/// A listed path that stays inside the bundle directory.
fn safe_path(p: &str) -> bool {
    !(p.contains("..") || p.starts_with('/') || p.starts_with('\\'))
}

/// Regular files below `dir`, relative, with `/` separators, sorted.
pub fn list_files(dir: &Path) -> Result<Vec<String>, CannotRun> {
    clm_core::bundle::list_files(dir).map_err(|e| CannotRun(e.to_string()))
}

/// The core's file check, also for a manifest whose HMAC failed and which the core
/// therefore refuses to open.
fn unverified_file_problems(dir: &Path, m: &Manifest) -> Result<Vec<String>, CannotRun> {
    clm_core::bundle::file_problems(dir, m).map_err(|e| CannotRun(e.to_string()))
}
