//! The bundle (SPEC §3.4): a directory of encrypted Parquet files and `manifest.json`.
//!
//! Every Parquet file is encrypted with one fresh data-encryption key (DEK) per export,
//! footer and columns alike, with no AAD prefix, and one data page per column chunk: the
//! shape DuckDB and Arrow C++ can read given the DEK. The DEK travels in the manifest,
//! wrapped with the data key K_d; the manifest carries an HMAC keyed from the DEK, so a
//! consultant can tell a bundle was not altered on the way.

mod dek;
mod manifest;
mod reader;
mod rewrap;
mod rotate;
mod writer;

pub use dek::{Dek, WrappedDek};
pub use manifest::{
    check_club_name, FileEntry, Manifest, PolicyRecord, SourceEntry, FORMAT_NAME, FORMAT_VERSION,
    MANIFEST_FILE, MAX_CLUB_NAME_CHARS,
};
pub use reader::{file_problems, list_files, Bundle, TableBatches};
pub use rewrap::rewrap;
pub use rotate::rotate;
pub use writer::{
    parquet_writer_properties, BundleWriter, ManifestDraft, TableWriter, ROW_GROUP_ROWS,
};
