//! clm-report: the consultant's deliverables of clm (SPEC §5.8), from the analyses of
//! `clm-query`. `report` runs them all and renders the report (HTML with inline SVG `charts`,
//! `forms` as XLSX, CSV files) in the language of `i18n` (texts in `messages.toml`);
//! `network_section` is its "vs the network" section (from a `portfolio --for-club` file) and
//! `clv` its lifetime-models section.

pub mod charts;
pub mod clv;
pub mod forms;
pub mod i18n;
pub mod network_section;
pub mod report;
