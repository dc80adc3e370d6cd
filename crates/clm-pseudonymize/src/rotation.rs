//! `rewrap` and `rotate`: a bundle under a new data key.
//!
//! `rewrap` wraps the same data-encryption key (DEK) with the new key: quick, files
//! untouched, but it does not revoke the old key: the files are still encrypted with the
//! same DEK, so the old data key and any old copy of the manifest still open them.
//! `rotate` makes a new DEK and re-encrypts every file into a new bundle: the old data key
//! opens nothing of it. For a consultant who leaves, rotate and send the new bundle only.

use std::path::{Path, PathBuf};

use clm_core::bundle::{self, Manifest};
use clm_core::keys::DataKey;
use clm_core::Result;

/// The keys of a rotation: the current one (`--data-key` or `CLM_DATA_KEY`), the new one.
fn keys(data_key: Option<&Path>, new_data_key: &Path) -> Result<(DataKey, DataKey)> {
    Ok((DataKey::resolve(data_key)?, DataKey::load(new_data_key)?))
}

/// Re-wraps the DEK of the bundle in `dir` with the new key, in place.
pub fn rewrap(dir: &Path, data_key: Option<&Path>, new_data_key: &Path) -> Result<String> {
    let (old, new) = keys(data_key, new_data_key)?;
    let m = bundle::rewrap(dir, &old, &new)?;
    Ok(format!(
        "bundle {} (export {}) now opens with the data key {} only, as long as no old copy of its \
         manifest is kept: its files are unchanged, under the same data-encryption key. To make the \
         old key useless, use `rotate` instead\n",
        dir.display(),
        m.export_id,
        m.data_key_fingerprint
    ))
}

/// What `rotate` did.
#[derive(Debug)]
pub struct Rotated {
    pub out: PathBuf,
    pub manifest: Manifest,
    pub old_fingerprint: String,
}

/// Re-encrypts the bundle in `dir` under a new DEK wrapped with the new key, into `out`.
pub fn rotate(
    dir: &Path,
    data_key: Option<&Path>,
    new_data_key: &Path,
    out: &Path,
) -> Result<Rotated> {
    let (old, new) = keys(data_key, new_data_key)?;
    let manifest = bundle::rotate(dir, &old, &new, out)?;
    Ok(Rotated {
        out: out.to_path_buf(),
        manifest,
        old_fingerprint: old.fingerprint(),
    })
}

impl Rotated {
    pub fn render(&self, from: &Path) -> String {
        let m = &self.manifest;
        format!(
            "wrote {} (export {}): {} files, {} rows, re-encrypted under a new data-encryption key \
             that the data key {} opens; the old data key {} opens nothing of it.\n\
             {} is unchanged and still opens with the old key: delete it, and every copy sent \
             with the old key, once the new bundle is in use\n",
            self.out.display(),
            m.export_id,
            m.files.len(),
            m.files.iter().map(|f| f.rows).sum::<u64>(),
            m.data_key_fingerprint,
            self.old_fingerprint,
            from.display()
        )
    }
}
