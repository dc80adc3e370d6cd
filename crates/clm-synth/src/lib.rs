//! clm-synth: a realistic synthetic source export of a two-branch fitness club, with fake
//! personal data, for demos, tests and benchmarks of the clm tools.
//!
//! The export imitates what a Russian CRM/accounting system hands over: six `;`-separated
//! CSV files with Russian headers (clients, memberships, visits, services, sales, feedback)
//! plus a `mapping.toml` in the format of `schemas/example-mapping.toml`. Generation is
//! deterministic per seed and streams client by client, so a club of any size is written in
//! flat memory.

pub mod behaviour;
pub mod calendar;
pub mod catalog;
pub mod ids;
pub mod mapping;
pub mod model;
pub mod names;
pub mod writer;

pub use writer::{Encoding, RowCounts};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use std::fs;
use std::path::{Path, PathBuf};

/// Largest club: client ids are 7 digits with leading zeros.
pub const MAX_CLIENTS: u64 = 9_999_999;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    pub clients: u64,
    pub seed: u64,
    pub as_of: NaiveDate,
    pub out: PathBuf,
    pub encoding: Encoding,
}

/// The name of the mapping file written next to the CSV files.
pub const MAPPING_FILE: &str = "mapping.toml";

/// Refuse to write into a directory with anything in it: mixing a new export with old files
/// (or with a real club's export) would be a quiet, costly mistake.
fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{} exists and is not a directory", dir.display());
        }
        let mut entries =
            fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty; give a new or empty directory (clm-synth never overwrites files)",
                dir.display()
            );
        }
    } else {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// Write the export and its mapping into `cfg.out`; returns the rows written per file.
pub fn generate(cfg: &Config) -> Result<RowCounts> {
    if cfg.clients == 0 || cfg.clients > MAX_CLIENTS {
        bail!("--clients must be between 1 and {MAX_CLIENTS}");
    }
    prepare_dir(&cfg.out)?;
    let as_of = calendar::day_of(cfg.as_of);
    let ctx = behaviour::Ctx::new(cfg.seed, cfg.clients, as_of);
    let mut export = writer::Export::create(
        &cfg.out,
        cfg.encoding,
        behaviour::calendar_for(as_of),
        ctx.roster.clone(),
    )
    .with_context(|| format!("cannot create the CSV files in {}", cfg.out.display()))?;

    let mut scratch = behaviour::Scratch::default();
    for idx in 0..cfg.clients {
        behaviour::simulate(&ctx, idx, &mut scratch, &mut export)
            .with_context(|| format!("writing client {:07}", idx + 1))?;
    }
    let counts = export.finish().context("finishing the CSV files")?;

    let text = mapping::mapping_toml(&mapping::MappingInfo {
        encoding: cfg.encoding,
        clients: cfg.clients,
        seed: cfg.seed,
        as_of: &cfg.as_of.format("%Y-%m-%d").to_string(),
    });
    // TOML is UTF-8 by definition, whatever encoding the CSV files use.
    fs::write(cfg.out.join(MAPPING_FILE), text).context("writing mapping.toml")?;
    Ok(counts)
}
