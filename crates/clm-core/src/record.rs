//! What every source reader (CSV in [`crate::source`], workbooks in [`crate::xlsx`]) says of
//! one record. It lives apart from both so that neither reader depends on the other.

/// Outcome of reading one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    Ok,
    /// The record is unusable; the reason names no value.
    Bad(String),
}
