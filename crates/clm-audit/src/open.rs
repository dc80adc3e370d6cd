//! Opening the bundle for the audit.
//!
//! Unlike a consultant's reader, the audit goes on when the manifest HMAC does not hold:
//! a failed HMAC is a failed integrity check (exit 1), and the files are still examined so
//! that the report says what else is wrong. Only what makes the audit impossible stops it
//! (exit 2): no manifest, a malformed one, or a data key that does not unwrap the DEK.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clm_core::bundle::{Bundle, Dek, FileEntry, Manifest, MANIFEST_FILE};
use clm_core::keys::DataKey;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::encryption::decrypt::FileDecryptionProperties;
use sha2::{Digest, Sha256};

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
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let err = |p: &Path, e: std::io::Error| CannotRun(format!("{}: {e}", p.display()));
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| err(&d, e))? {
            let e = e.map_err(|e| err(&d, e))?;
            let p = e.path();
            let ft = e.file_type().map_err(|e| err(&p, e))?;
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

/// The core's file check (clm_core::bundle::Bundle::file_problems), for a manifest whose
/// HMAC failed and which the core therefore refuses to open. Same rules, same messages.
fn unverified_file_problems(dir: &Path, m: &Manifest) -> Result<Vec<String>, CannotRun> {
    let mut problems = Vec::new();
    let present = list_files(dir)?;
    for p in &present {
        if !m.files.iter().any(|f| &f.path == p) && p != MANIFEST_FILE {
            problems.push(format!("file {p} is not listed in the manifest"));
        }
    }
    for f in &m.files {
        if !safe_path(&f.path) {
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

fn sha256_file(path: &Path) -> std::io::Result<(String, [u8; 4], [u8; 4])> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut first = Vec::with_capacity(4);
    let mut last: Vec<u8> = Vec::with_capacity(8);
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if first.len() < 4 {
            let k = (4 - first.len()).min(n);
            first.extend_from_slice(&buf[..k]);
        }
        last.extend_from_slice(&buf[n.saturating_sub(4)..n]);
        if last.len() > 4 {
            last.drain(..last.len() - 4);
        }
        h.update(&buf[..n]);
    }
    let four = |v: &[u8]| {
        let mut a = [0u8; 4];
        if v.len() == 4 {
            a.copy_from_slice(v);
        }
        a
    };
    Ok((hex::encode(h.finalize()), four(&first), four(&last)))
}
