//! clm-synth: a realistic synthetic source export with fake personal data, for demos, tests
//! and benchmarks of the clm tools, in one of the business profiles of SPEC §6.
//!
//! The default profile, `fitness`, imitates what a two-branch fitness club's Russian
//! CRM/accounting system hands over: six `;`-separated CSV files with Russian headers
//! (clients, memberships, visits, services, sales, feedback) plus a `mapping.toml` in the
//! format of `schemas/example-mapping.toml`. The other profiles ([`profiles`]) write their own
//! business's export the same way:
//!
//! - `classes`: a school of group classes for children and adults — students, monthly
//!   subscriptions, attendance, payments with open invoices, feedback;
//! - `auto_service`: a car dealer's two service centres — car owners and leads, vehicle sales
//!   with VINs, service visits with model and mileage, parts, contracts, CSI surveys;
//! - `b2b_service`: an IT outsourcing company — company accounts with INN and contact person,
//!   yearly contracts, monthly invoices and upsells, calls/meetings/site visits, NPS surveys.
//!
//! Generation is deterministic per seed and streams client by client, so a business of any
//! size is written in flat memory.
//!
//! ```no_run
//! use clm_synth::{generate_with, Config, Encoding, Profile};
//! let cfg = Config {
//!     clients: 2000,
//!     seed: 1,
//!     as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
//!     out: "club".into(),
//!     encoding: Encoding::Utf8,
//! };
//! let rows = generate_with(&cfg, Profile::Classes)?;
//! println!("{} attendance rows", rows.visits);
//! # anyhow::Ok(())
//! ```

pub mod behaviour;
pub mod calendar;
pub mod catalog;
pub mod club;
pub mod ids;
pub mod mapping;
pub mod model;
pub mod names;
pub mod profiles;
pub mod writer;

pub use club::{Club, Knobs};
pub use profiles::Profile;
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

/// Write the export of `profile` and its mapping into `cfg.out`; returns the rows written per
/// canonical table (0 for a table the profile does not write; [`Profile::files`] names the
/// files). `Profile::Fitness` is [`generate`].
pub fn generate_with(cfg: &Config, profile: Profile) -> Result<RowCounts> {
    generate_club(cfg, profile, &Club::default())
}

/// [`generate_with`] for one club of a network: its name goes into the mapping (`club`),
/// and with `club.spread` its behaviour is drawn from the seed ([`Knobs::draw`]: renewal,
/// starter completion, PT conversion, visit frequency, churn; fitness and classes). The
/// default [`Club`] writes exactly what [`generate_with`] writes.
pub fn generate_club(cfg: &Config, profile: Profile, club: &Club) -> Result<RowCounts> {
    if let Some(name) = &club.name {
        club::check_name(name).map_err(|m| anyhow::anyhow!("--club: {m}"))?;
    }
    if profile == Profile::Fitness {
        return generate_fitness(cfg, club);
    }
    if cfg.clients == 0 || cfg.clients > MAX_CLIENTS {
        bail!("--clients must be between 1 and {MAX_CLIENTS}");
    }
    prepare_dir(&cfg.out)?;
    let counts = match profile {
        Profile::Fitness => unreachable!("written above"),
        Profile::Classes => profiles::run(&profiles::classes::BUSINESS, cfg, club)?,
        Profile::AutoService => profiles::run(&profiles::auto_service::BUSINESS, cfg, club)?,
        Profile::B2bService => profiles::run(&profiles::b2b_service::BUSINESS, cfg, club)?,
    };
    Ok(counts)
}

/// Write the fitness club's export and its mapping into `cfg.out`; returns the rows written
/// per file.
pub fn generate(cfg: &Config) -> Result<RowCounts> {
    generate_fitness(cfg, &Club::default())
}

fn generate_fitness(cfg: &Config, club: &Club) -> Result<RowCounts> {
    if cfg.clients == 0 || cfg.clients > MAX_CLIENTS {
        bail!("--clients must be between 1 and {MAX_CLIENTS}");
    }
    prepare_dir(&cfg.out)?;
    let as_of = calendar::day_of(cfg.as_of);
    let mut ctx = behaviour::Ctx::new(cfg.seed, cfg.clients, as_of);
    ctx.knobs = club.knobs(cfg.seed);
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
            .with_context(|| format!("writing {}", Profile::Fitness.client_label(idx)))?;
    }
    let counts = export.finish().context("finishing the CSV files")?;

    let text = mapping::mapping_toml(&mapping::MappingInfo {
        encoding: cfg.encoding,
        clients: cfg.clients,
        seed: cfg.seed,
        as_of: &cfg.as_of.format("%Y-%m-%d").to_string(),
        club,
        knobs: ctx.knobs,
    });
    // TOML is UTF-8 by definition, whatever encoding the CSV files use.
    fs::write(cfg.out.join(MAPPING_FILE), text).context("writing mapping.toml")?;
    Ok(counts)
}
