//! clm-analyze: the consultant's side of clm (SPEC §5), the command line over two libraries:
//!
//! * `clm-query` (`crates/clm-query`): bundles are opened and verified (`bundles`), every
//!   canonical table is registered in a DataFusion session that reads the encrypted Parquet
//!   directly (`engine`), and the analyses of the SQL library (`queries`, files in `queries/`)
//!   run with the parameters of a profile (`profile`, files in `profiles/`) bound as values.
//!   Rust only loads, binds, runs and formats (`frame`, `output`); every rule is SQL. `clv`,
//!   `portfolio`, `targets` and `loyalty` are the analyses that compute in Rust or read the
//!   files whose values the SQL takes as parameters.
//! * `clm-report` (`crates/clm-report`): `report` runs them all and renders the consultant's
//!   report (HTML with inline SVG `charts`, `forms` as XLSX, CSV files), in the language of
//!   `i18n`; `network_section` is its "vs the network" section.
//!
//! This crate holds the command line (`cli`), the interactive shell (`shell`) and the
//! arguments of `portfolio`; the modules of both libraries are re-exported under their names.

pub use clm_query::{bundles, engine, frame, loyalty, output, profile, queries, targets};
pub use clm_report::{charts, forms, i18n, network_section, report};

pub mod cli;
/// `run clv`: the computation ([`clm_query::clv`]) and the report's section
/// ([`clm_report::clv`]).
pub mod clv {
    pub use clm_query::clv::*;
    pub use clm_report::clv::*;
}
// issue 12 §1: network benchmarks across clubs (`clm-analyze portfolio`)
pub mod portfolio;
pub mod shell;

pub use engine::{Engine, Output, RunResult};
pub use profile::Profile;
pub use queries::{Analysis, Library};
