//! Opening bundles into the engine.
//!
//! Each bundle is verified by `clm_core::bundle::Bundle::open` first (manifest present,
//! data key unwraps the DEK, manifest HMAC, files listed = files present, every file
//! encrypted Parquet with its recorded SHA-256); a bundle that fails is refused, and so are
//! bundles made with different pseudonymization keys. Then every table is read by DataFusion
//! straight from the encrypted files, the DEK given as the footer key: no decrypted copy on
//! disk, no whole-table load.
//!
//! With several bundles each bundle's files are read with its own DEK and the canonical table
//! is a view over all of them (UNION ALL), by the latest-export rule:
//! - the same export given twice (the same export id: a bundle and its copy) is refused;
//! - `clients` and `memberships` are snapshots: the row of the bundle with the latest as-of
//!   date wins per client_pid / membership_pid;
//! - events (visits, services, sales, feedback): each day is read from the latest export that
//!   covers it. An export covers the days after its `--since` date (every day for a full
//!   export) up to its as-of date, so an earlier bundle contributes only the events dated on
//!   or before the earliest `--since` of the bundles after it (none at all when a later
//!   bundle is a full export). Events without a date are read from the latest bundle only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;
use clm_core::bundle::Bundle;
use clm_core::keys::DataKey;
use datafusion::arrow::datatypes::DataType;
use datafusion::config::ConfigFileDecryptionProperties;
use datafusion::dataframe::DataFrame;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{cast, col, ident, lit, Expr, ExprFunctionExt};
use datafusion::prelude::ParquetReadOptions;

use crate::bundle_table::{BundleTable, KeyHex};
use crate::engine::{canonical_schema, Engine, TableOrigin};

/// Internal column naming the bundle a row came from (0 = earliest as-of).
const BUNDLE_COL: &str = "__clm_bundle";

/// Snapshot tables and their key: the latest bundle's row wins per key.
const SNAPSHOTS: &[(&str, &str)] = &[("clients", "client_pid"), ("memberships", "membership_pid")];

/// Event tables and the date that places an event in an export's window (as the exporter's
/// `--since` filters them).
const EVENTS: &[(&str, &str)] = &[
    ("visits", "visited_at"),
    ("services", "done_at"),
    ("sales", "sold_at"),
    ("feedback", "answered_on"),
];

/// Which events of a bundle are read, given the bundles after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventWindow {
    /// Every event (the latest bundle, or no later bundle overlaps it).
    All,
    /// Events dated on or before this day; the later bundles cover the days after it.
    UpTo(NaiveDate),
    /// None: a later full export covers every day of this one.
    Nothing,
}

/// The events each bundle (sorted by as-of date) contributes under the latest-export rule.
pub fn event_windows(bundles: &[OpenedBundle]) -> Vec<EventWindow> {
    (0..bundles.len())
        .map(|i| {
            let later = &bundles[i + 1..];
            if later.is_empty() {
                return EventWindow::All;
            }
            // every later export has an as-of date on or after this one's, so together they
            // cover the days after the earliest of their `--since` dates
            let sinces: Vec<Option<NaiveDate>> =
                later.iter().map(|b| b.bundle.manifest().since).collect();
            if sinces.iter().any(Option::is_none) {
                return EventWindow::Nothing;
            }
            let cut = sinces
                .into_iter()
                .flatten()
                .min()
                .expect("later is not empty");
            if cut >= bundles[i].as_of() {
                EventWindow::All
            } else {
                EventWindow::UpTo(cut)
            }
        })
        .collect()
}

/// Notes on how the bundles' periods were combined: what was read from a later export
/// instead, and days no export covers.
pub fn window_notes(bundles: &[OpenedBundle]) -> Vec<String> {
    let mut notes = Vec::new();
    let name = |b: &OpenedBundle| b.dir().display().to_string();
    for (b, w) in bundles.iter().zip(event_windows(bundles)) {
        match w {
            EventWindow::All => {}
            EventWindow::Nothing => notes.push(format!(
                "bundle {}: its events (to {}) are read from a later full export instead, \
                 which covers the same days",
                name(b),
                b.as_of()
            )),
            EventWindow::UpTo(d) => notes.push(format!(
                "bundle {}: events after {d} (to {}) are read from the later export instead, \
                 which covers those days",
                name(b),
                b.as_of()
            )),
        }
    }
    for pair in bundles.windows(2) {
        if let Some(since) = pair[1].bundle.manifest().since {
            if since > pair[0].as_of() {
                notes.push(format!(
                    "no bundle holds the events from {} to {since}: bundle {} ends on {} and \
                     bundle {} holds events after {since} only",
                    pair[0].as_of() + chrono::Days::new(1),
                    name(&pair[0]),
                    pair[0].as_of(),
                    name(&pair[1])
                ));
            }
        }
    }
    notes
}

/// A bundle refused: wrong key, tampered, missing manifest, mixed pseudonymization keys.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for Refused {}

/// What the engine knows of an opened bundle. The DEK stays inside `Bundle`.
pub struct OpenedBundle {
    pub bundle: Bundle,
}

impl OpenedBundle {
    pub fn dir(&self) -> &Path {
        self.bundle.dir()
    }
    pub fn as_of(&self) -> NaiveDate {
        self.bundle.manifest().as_of
    }
}

/// Opens and verifies every bundle; refuses all of them if any fails or if their
/// pseudonymization keys differ. Sorted by as-of date (then creation time).
pub fn open_all(dirs: &[PathBuf], key: &DataKey) -> Result<Vec<OpenedBundle>> {
    if dirs.is_empty() {
        bail!(Refused("no bundle given (--bundle DIR)".into()));
    }
    let mut out = Vec::new();
    for dir in dirs {
        let bundle = Bundle::open(dir, key).map_err(|e| {
            anyhow!(Refused(format!(
                "bundle {} refused: {}",
                dir.display(),
                describe_refusal(&e)
            )))
        })?;
        if bundle
            .manifest()
            .encryption
            .get("footer")
            .map(String::as_str)
            != Some("encrypted")
        {
            bail!(Refused(format!(
                "bundle {} refused: its manifest does not say the files are encrypted",
                dir.display()
            )));
        }
        out.push(OpenedBundle { bundle });
    }
    check_distinct_exports(&out)?;
    if let Some(list) = mixed_keys(&out) {
        bail!(Refused(format!(
            "bundles refused: they were made with different pseudonymization keys, so their \
             client ids do not join:\n{list}"
        )));
    }
    sort_by_export(&mut out);
    Ok(out)
}

fn describe_refusal(e: &clm_core::Error) -> String {
    match e {
        clm_core::Error::Bundle { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

/// Registers every table of the bundles in the engine, and sets D's default to the latest
/// as-of date. Returns notes (tables that are not canonical are skipped).
pub async fn register(engine: &mut Engine, bundles: &[OpenedBundle]) -> Result<Vec<String>> {
    let mut notes = window_notes(bundles);
    let windows = event_windows(bundles);
    let mut tables: Vec<String> = Vec::new();
    for b in bundles {
        for t in b.bundle.tables() {
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
    }
    for table in &tables {
        let Ok(schema) = canonical_schema(table) else {
            notes.push(format!("table {table} is not a canonical table; skipped"));
            continue;
        };
        let mut union: Option<DataFrame> = None;
        let mut files = 0;
        let mut parts = 0;
        for (i, b) in bundles.iter().enumerate() {
            let paths: Vec<String> = b
                .bundle
                .table_files(table)
                .into_iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if paths.is_empty() {
                continue;
            }
            files += paths.len();
            parts += 1;
            let df = read_table(engine, paths, b).await.map_err(|e| {
                anyhow!(Refused(format!(
                    "bundle {} refused: cannot read table {table}: {e}",
                    b.dir().display()
                )))
            })?;
            // The canonical columns, by name, in schema order (a column a file lacks is null).
            let have = df.schema().clone();
            let mut exprs: Vec<Expr> = schema
                .fields()
                .iter()
                .map(|f| {
                    let e = if have.has_column_with_unqualified_name(f.name()) {
                        cast(ident(f.name()), f.data_type().clone())
                    } else {
                        cast(
                            lit(datafusion::scalar::ScalarValue::Null),
                            f.data_type().clone(),
                        )
                    };
                    e.alias(f.name())
                })
                .collect();
            exprs.push(lit(i as i64).alias(BUNDLE_COL));
            let mut df = df.select(exprs)?;
            if let Some((_, day)) = EVENTS.iter().find(|(t, _)| t == table) {
                match windows[i] {
                    EventWindow::All => {}
                    EventWindow::Nothing => df = df.filter(lit(false))?,
                    EventWindow::UpTo(d) => {
                        df = df.filter(
                            cast(col(*day), DataType::Date32)
                                .lt_eq(lit(crate::engine::date_scalar(d))),
                        )?
                    }
                }
            }
            union = Some(match union {
                None => df,
                Some(u) => u.union(df)?,
            });
        }
        let Some(mut df) = union else { continue };
        if parts > 1 {
            if let Some((_, key)) = SNAPSHOTS.iter().find(|(t, _)| t == table) {
                df = df
                    .window(vec![row_number()
                        .partition_by(vec![col(*key)])
                        .order_by(vec![col(BUNDLE_COL).sort(false, true)])
                        .build()?
                        .alias("__clm_pick")])?
                    .filter(col("__clm_pick").eq(lit(1u64)))?;
            }
        }
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let df = df.select_columns(&columns)?;
        engine.register_provider(
            table,
            df.into_view(),
            TableOrigin::Bundles {
                files,
                bundles: parts,
            },
        )?;
    }
    if let Some(last) = bundles.last() {
        engine.set_default_as_of(last.as_of());
    }
    Ok(notes)
}

/// One bundle's files of a table, decrypted with its DEK as they are read. On a cluster the
/// table is a `BundleTable`, whose key travels with the plan to the executors.
async fn read_table(
    engine: &Engine,
    paths: Vec<String>,
    b: &OpenedBundle,
) -> datafusion::error::Result<DataFrame> {
    let key = b.bundle.dek().to_hex();
    if engine.is_cluster() {
        let state = engine.context().state();
        let table = BundleTable::open(&state, paths, KeyHex(key)).await?;
        return engine.context().read_table(Arc::new(table));
    }
    let decryption = ConfigFileDecryptionProperties {
        footer_key_as_hex: key,
        ..Default::default()
    };
    let options = ParquetReadOptions::default().file_decryption_properties(decryption);
    engine.context().read_parquet(paths, options).await
}

/// When `bundles` were made with more than one pseudonymization key (so their client ids do
/// not join): each bundle's directory and key fingerprint, a line each, for the refusal.
pub fn mixed_keys(bundles: &[OpenedBundle]) -> Option<String> {
    let first = &bundles.first()?.bundle.manifest().pseudonym_key_fingerprint;
    if bundles
        .iter()
        .all(|b| &b.bundle.manifest().pseudonym_key_fingerprint == first)
    {
        return None;
    }
    let list: Vec<String> = bundles
        .iter()
        .map(|b| {
            format!(
                "  {} (pseudonymization key {})",
                b.dir().display(),
                b.bundle.manifest().pseudonym_key_fingerprint
            )
        })
        .collect();
    Some(list.join("\n"))
}

/// The same export given twice (the same directory, or a copy: the same export id) would count
/// its rows twice: refused.
pub fn check_distinct_exports(bundles: &[OpenedBundle]) -> Result<()> {
    for (i, a) in bundles.iter().enumerate() {
        if let Some(b) = bundles[..i]
            .iter()
            .find(|b| b.bundle.manifest().export_id == a.bundle.manifest().export_id)
        {
            bail!(Refused(if a.dir() == b.dir() {
                format!(
                    "bundle {} is given twice: give each export once (it would be counted twice)",
                    a.dir().display()
                )
            } else {
                format!(
                    "bundles {} and {} are the same export (export id {}; one is a copy of the \
                     other): give each export once, or its rows would be counted twice",
                    b.dir().display(),
                    a.dir().display(),
                    a.bundle.manifest().export_id
                )
            }));
        }
    }
    Ok(())
}

/// Oldest export first (as-of date, then creation time): the order the latest-export rule reads.
pub fn sort_by_export(bundles: &mut [OpenedBundle]) {
    bundles.sort_by(|a, b| {
        let (ma, mb) = (a.bundle.manifest(), b.bundle.manifest());
        (ma.as_of, &ma.created_at).cmp(&(mb.as_of, &mb.created_at))
    });
}
