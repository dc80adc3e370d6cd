//! clm-analyze: the consultant's side of clm (SPEC §5).
//!
//! Bundles are opened and verified (`bundles`), every canonical table is registered in a
//! DataFusion session that reads the encrypted Parquet directly (`engine`), and the analyses
//! of the SQL library (`queries`, files in `queries/`) run with the parameters of a profile
//! (`profile`, files in `profiles/`) bound as values. Rust only loads, binds, runs and formats
//! (`output`); every rule is SQL.

pub mod bundles;
pub mod cli;
pub mod engine;
pub mod output;
pub mod profile;
pub mod queries;
pub mod shell;

pub use engine::{Engine, Output, RunResult};
pub use profile::Profile;
pub use queries::{Analysis, Library};
