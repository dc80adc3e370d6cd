//! Rotating the data key for real: a new DEK, every Parquet file decrypted and encrypted
//! again, a new manifest. Unlike [`rewrap`](super::rewrap), the old data key opens nothing
//! of the new bundle, not even with an old copy of the manifest.

use std::path::Path;

use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;

use super::manifest::Manifest;
use super::reader::Bundle;
use super::writer::{parquet_writer_properties, HashingFile, Staging, ROW_GROUP_ROWS};
use super::Dek;
use crate::keys::DataKey;
use crate::{Error, Result};

/// Refuses a new data key that is the old one, or that is the bundle's pseudonymization
/// key (its fingerprint is in the manifest): the consultant would then hold K_p.
pub(crate) fn check_new_key(m: &Manifest, old: &DataKey, new: &DataKey) -> Result<()> {
    if new.fingerprint() == old.fingerprint() {
        return Err(Error::Other(format!(
            "the new data key is the current one (fingerprint {}): make a new one with `clm-pseudonymize keygen --out DIR`",
            new.fingerprint()
        )));
    }
    if new.fingerprint() == m.pseudonym_key_fingerprint {
        return Err(Error::Other(crate::keys::same_key_message(
            &new.fingerprint(),
            "the new data key and this bundle's pseudonymization key",
        )));
    }
    Ok(())
}

/// Removes the staging directory unless the rotation finished.
struct Cleanup<'a> {
    dir: &'a Path,
    done: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(self.dir);
        }
    }
}

/// Writes a copy of the bundle in `dir` to `out` (a new directory) under a new DEK wrapped
/// with `new`: each file is decrypted with the old DEK and encrypted with the new one, row
/// group by row group (the same row groups, rows and schema), and the manifest is the old
/// one with the new wrapped DEK, the new key's fingerprint and the new files' sizes and
/// hashes, sealed with the new DEK. The export id stays: it is the same export. The bundle
/// is verified whole with `old` first; `dir` is not touched. Returns the new manifest.
pub fn rotate(dir: &Path, old: &DataKey, new: &DataKey, out: &Path) -> Result<Manifest> {
    let bundle = Bundle::open(dir, old)?;
    bundle.verify_files()?;
    check_new_key(bundle.manifest(), old, new)?;
    let staging = Staging::create(out)?;
    let mut cleanup = Cleanup {
        dir: &staging.dir,
        done: false,
    };
    let dek = Dek::generate();
    let mut m = bundle.manifest().clone();
    for entry in m.files.iter_mut() {
        let (bytes, sha256) = reencrypt(&bundle, &entry.path, entry.rows, &dek, &staging.dir)?;
        entry.bytes = bytes;
        entry.sha256 = sha256;
    }
    m.wrapped_dek = dek.wrap(new, &m.export_id);
    m.data_key_fingerprint = new.fingerprint();
    let text = m.seal(&dek);
    staging.seal(out, &text)?;
    cleanup.done = true;
    Ok(m)
}

/// One file of `bundle` into `staging` under `dek`; returns its size and SHA-256.
fn reencrypt(
    bundle: &Bundle,
    rel: &str,
    rows: u64,
    dek: &Dek,
    staging: &Path,
) -> Result<(u64, String)> {
    let src = bundle.dir().join(rel);
    let open = || -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>> {
        let f = std::fs::File::open(&src).map_err(|e| Error::io(&src, e))?;
        let opts = ArrowReaderOptions::new()
            .with_file_decryption_properties(bundle.decryption_properties()?);
        ParquetRecordBatchReaderBuilder::try_new_with_options(f, opts)
            .map_err(|e| Error::bundle(&src, format!("cannot decrypt or read: {e}")))
    };
    let first = open()?;
    let schema = first.schema().clone();
    let meta = first.metadata().clone();
    let groups = meta.num_row_groups();
    let largest = (0..groups)
        .map(|i| meta.row_group(i).num_rows() as usize)
        .max()
        .unwrap_or(0);
    let dest = staging.join(rel);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = dest.with_file_name(format!(
        "{}.tmp",
        dest.file_name().unwrap_or_default().to_string_lossy()
    ));
    let props = parquet_writer_properties(dek, largest.max(ROW_GROUP_ROWS))?;
    let mut w = ArrowWriter::try_new(HashingFile::create(&tmp)?, schema, Some(props))?;
    for kv in meta
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
    {
        if kv.key != "ARROW:schema" {
            w.append_key_value_metadata(kv.clone());
        }
    }
    drop(first);
    let mut written = 0u64;
    for g in 0..groups {
        let reader = open()?
            .with_row_groups(vec![g])
            .with_batch_size(64 * 1024)
            .build()
            .map_err(|e| Error::bundle(&src, format!("cannot read: {e}")))?;
        for b in reader {
            let b = b.map_err(|e| Error::bundle(&src, format!("cannot read: {e}")))?;
            written += b.num_rows() as u64;
            w.write(&b)?;
        }
        // The same row groups as the original file.
        w.flush()?;
    }
    if written != rows {
        return Err(Error::bundle(
            &src,
            format!("holds {written} rows, the manifest says {rows}; the bundle is damaged"),
        ));
    }
    let hf = w.into_inner()?;
    let (bytes, sha256) = hf.finish(&tmp)?;
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
    Ok((bytes, sha256))
}
