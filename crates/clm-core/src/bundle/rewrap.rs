//! Re-wrapping the data key: the DEK is unwrapped with the old data key and wrapped with the
//! new one; the Parquet files are not touched. This does not revoke the old key: the DEK is
//! the same, so anyone holding the old key and an old copy of the manifest still opens the
//! files. [`rotate`](super::rotate) makes a new DEK and re-encrypts the files.

use std::io::Write;
use std::path::Path;

use super::manifest::{Manifest, MANIFEST_FILE};
use super::reader::Bundle;
use crate::keys::DataKey;
use crate::{Error, Result};

/// Re-wraps the DEK of the bundle in `dir` with `new` (same export id), records the new
/// key's fingerprint, re-seals the manifest HMAC and replaces `manifest.json` atomically
/// (written as `manifest.json.tmp`, synced, renamed). The bundle is verified whole with
/// `old` first. Returns the new manifest.
pub fn rewrap(dir: &Path, old: &DataKey, new: &DataKey) -> Result<Manifest> {
    let bundle = Bundle::open(dir, old)?;
    super::rotate::check_new_key(bundle.manifest(), old, new)?;
    let mut m = bundle.manifest().clone();
    let dek = bundle.dek();
    m.wrapped_dek = dek.wrap(new, &m.export_id);
    m.data_key_fingerprint = new.fingerprint();
    let text = m.seal(dek);
    let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
    let dest = dir.join(MANIFEST_FILE);
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(m)
}
