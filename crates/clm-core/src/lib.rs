//! Shared core of clm.
//!
//! The vocabulary follows docs/SPEC.md: a *mapping* names the source columns of a club's export,
//! the canonical *schema* decides what each field becomes, *pids* replace identifiers, and
//! the result is a *bundle* of encrypted Parquet files described by its *manifest*.
//!
//! Everything that touches a source export or the pseudonymization key sits behind the
//! `onsite` feature, so the consultant's analysis binary is built without that code.

pub mod bundle;
pub mod csv_cell;
pub mod detect;
pub mod error;
pub mod keys;
pub mod schema;

#[cfg(feature = "onsite")]
pub mod csv_records;
#[cfg(feature = "onsite")]
pub mod mapping;
#[cfg(feature = "onsite")]
pub mod pid;
#[cfg(feature = "onsite")]
pub mod record;
#[cfg(feature = "onsite")]
pub mod source;
#[cfg(feature = "onsite")]
pub mod synonyms;
pub mod values;
#[cfg(feature = "onsite")]
pub mod xlsx;

pub use error::{Error, Result};

/// The version of the clm tools, recorded in every manifest.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
