//! The on-site pseudonymizer: a club's exports in, an encrypted pseudonymized bundle out.
//!
//! This crate is what an auditor reads to trust an export, so it stays small: the
//! column policy, the pass over each source table, and the bundle writing. It does not
//! depend on DataFusion.

pub mod categories;
pub mod check;
pub mod cli;
pub mod convert;
/// The CSV cell rule lives in clm-core, shared with clm-analyze's CSV writers.
pub use clm_core::csv_cell as csv_cells;
pub mod derived;
pub mod errors;
pub mod export;
pub mod export_summary;
pub mod inspect;
pub mod kanon;
pub mod progress;
pub mod quality;
pub mod reidentify;
pub mod reidentify_summary;
pub mod rejects;
pub mod rotation;
pub mod spill;

pub use export::{export, ExportOptions, ExportSummary};
