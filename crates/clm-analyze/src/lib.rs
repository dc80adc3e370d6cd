//! clm-analyze: the consultant's side of clm (SPEC §5).
//!
//! Bundles are opened and verified (`bundles`), every canonical table is registered in a
//! DataFusion session that reads the encrypted Parquet directly (`engine`), and the analyses
//! of the SQL library (`queries`, files in `queries/`) run with the parameters of a profile
//! (`profile`, files in `profiles/`) bound as values. Rust only loads, binds, runs and formats
//! (`output`); every rule is SQL. `report` runs them all and renders the consultant's report
//! (HTML with inline SVG charts, `forms` as XLSX, CSV files); `targets` and `loyalty` read
//! the targets and points-rules files whose values the SQL takes as parameters.

pub mod bundles;
pub mod charts;
pub mod cli;
pub mod clv;
pub mod engine;
pub mod forms;
pub mod frame;
pub mod i18n;
pub mod loyalty;
pub mod output;
// issue 12 §1: network benchmarks across clubs (`clm-analyze portfolio`)
pub mod portfolio;
// the report's "vs the network" section, from a `portfolio --for-club` file
pub mod network_section;
pub mod profile;
pub mod queries;
pub mod report;
pub mod shell;
pub mod targets;

pub use engine::{Engine, Output, RunResult};
pub use profile::Profile;
pub use queries::{Analysis, Library};
