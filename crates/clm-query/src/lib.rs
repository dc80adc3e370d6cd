//! clm-query: the analysis engine of clm (SPEC §5), used by `clm-analyze` and its report.
//!
//! Bundles are opened and verified (`bundles`), every canonical table is registered in a
//! DataFusion session that reads the encrypted Parquet directly (`engine`), and the analyses
//! of the SQL library (`queries`, files in `queries/`) run with the parameters of a profile
//! (`profile`, files in `profiles/`) bound as values. Rust only loads, binds, runs and formats
//! (`frame`, `output`); every rule is SQL. `clv` fits the lifetime models on the SQL's
//! summary, `portfolio` computes the network benchmarks across clubs, and `targets` and
//! `loyalty` read the targets and points-rules files whose values the SQL takes as parameters.
//!
//! Dependencies run one way: `profile` (the parameters) ← `queries` (the library a profile
//! selects) ← `engine` (runs an analysis of the library with a profile's values) ← the rest.

// `--cluster`: a bundle table whose data key travels with the plan (crate clm-cluster)
pub mod bundle_table;
pub mod bundles;
pub mod clv;
pub mod engine;
// local sessions or sessions on a Ballista cluster (`--cluster`)
pub mod engines;
pub mod frame;
pub mod loyalty;
pub mod output;
// issue 12 §1: network benchmarks across clubs (`clm-analyze portfolio`)
pub mod portfolio;
pub mod profile;
pub mod queries;
pub mod targets;

pub use engine::{Engine, Output, RunResult};
pub use profile::Profile;
pub use queries::{Analysis, Library};
