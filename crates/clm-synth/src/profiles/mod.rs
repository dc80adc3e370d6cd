//! The business profiles of SPEC §6 beyond the fitness club: each writes its own source
//! export (its own files, columns and Russian labels) and the `mapping.toml` that goes with it.
//!
//! | profile | business | files |
//! |---|---|---|
//! | `fitness` | two-branch fitness club (the default; `behaviour.rs`, `model.rs`, `writer.rs`, `mapping.rs`) | clients, memberships, visits, services, sales, feedback |
//! | `classes` | school of group classes for children and adults ([`classes`]) | students, subscriptions, attendance, payments, feedback |
//! | `auto_service` | car dealer's service centre ([`auto_service`]) | clients, sales, service_visits, feedback |
//! | `b2b_service` | IT outsourcing company with company clients ([`b2b_service`]) | accounts, contracts, invoices, contacts, nps |
//!
//! The profiles share the fake-person machinery (`names.rs`), the preformatted calendar
//! (`calendar.rs`), the collision-free document numbers (`ids.rs`) and the CSV writer
//! (`writer.rs`). Like the fitness club, every client (account, car owner, student) is
//! simulated on its own RNG stream and written before the next one starts, so a run is
//! deterministic per seed and streams in flat memory.

pub mod auto_service;
pub mod b2b_service;
pub mod classes;

use crate::behaviour::{rare_assignments, rare_lookup};
use crate::calendar::Day;
use crate::ids::splitmix;
use crate::mapping::{toml_str, MappingInfo};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

/// Which business the export imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Profile {
    /// A two-branch fitness club (the original export, unchanged).
    #[default]
    Fitness,
    /// A school of group classes (languages, robotics, chess, drawing, dance).
    Classes,
    /// A car dealer's service centre: vehicle sales, service visits, repurchases.
    AutoService,
    /// A B2B service company (IT outsourcing): accounts, contracts, invoices, NPS.
    B2bService,
}

impl Profile {
    pub const ALL: [Profile; 4] = [
        Profile::Fitness,
        Profile::Classes,
        Profile::AutoService,
        Profile::B2bService,
    ];

    /// The name `--profile` takes (and SPEC §6 uses).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Fitness => "fitness",
            Profile::Classes => "classes",
            Profile::AutoService => "auto_service",
            Profile::B2bService => "b2b_service",
        }
    }

    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// (canonical table, source file) for every CSV file the profile writes, in print order.
    pub fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Profile::Fitness => &[
                ("clients", crate::writer::CLIENTS_FILE),
                ("memberships", crate::writer::MEMBERSHIPS_FILE),
                ("visits", crate::writer::VISITS_FILE),
                ("services", crate::writer::SERVICES_FILE),
                ("sales", crate::writer::SALES_FILE),
                ("feedback", crate::writer::FEEDBACK_FILE),
            ],
            Profile::Classes => &classes::FILES,
            Profile::AutoService => &auto_service::FILES,
            Profile::B2bService => &b2b_service::FILES,
        }
    }

    /// (source file, column) of the columns the mapping leaves unmapped on purpose, to show
    /// deny-by-default: the pseudonymizer drops them and lists them in the manifest.
    pub fn unmapped(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Profile::Fitness => &[(crate::writer::CLIENTS_FILE, "Адрес")],
            Profile::Classes => classes::UNMAPPED,
            Profile::AutoService => auto_service::UNMAPPED,
            Profile::B2bService => b2b_service::UNMAPPED,
        }
    }
}

/// What every client's simulation of a profile shares.
pub(crate) struct Base {
    pub seed: u64,
    pub as_of: Day,
    /// Seeds the per-client RNG streams: the seed mixed with the profile, so that one seed
    /// does not replay the same draws in every profile.
    stream_seed: u64,
    rare: Vec<(u64, &'static str)>,
    /// How this club's clients behave (neutral: the default business).
    pub knobs: crate::club::Knobs,
}

impl Base {
    pub fn new(
        seed: u64,
        clients: u64,
        as_of: Day,
        profile: Profile,
        rare_values: &[(&'static str, u64)],
    ) -> Self {
        let salt = profile
            .name()
            .bytes()
            .fold(0u64, |h, b| (h << 8) ^ b as u64);
        Base {
            seed,
            as_of,
            stream_seed: splitmix(seed ^ splitmix(salt)),
            rare: rare_assignments(splitmix(seed ^ salt), clients, rare_values),
            knobs: crate::club::Knobs::NEUTRAL,
        }
    }

    /// Client `idx`'s own RNG: independent of every other client.
    pub fn rng(&self, idx: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.stream_seed);
        rng.set_stream(idx);
        rng
    }

    pub fn rare_source(&self, idx: u64) -> Option<&'static str> {
        rare_lookup(&self.rare, idx)
    }
}

/// The opening of every profile's mapping: provenance, the synthetic-data warning, what is
/// left unmapped on purpose, then `[source]` and `[policy]`.
pub(crate) fn mapping_preamble(t: &mut String, profile: Profile, info: &MappingInfo, notes: &str) {
    let _ = writeln!(
        t,
        "# Generated by clm-synth (profile {}, {} clients, seed {}, as of {}).",
        profile.name(),
        info.clients,
        info.seed,
        info.as_of
    );
    t.push_str(
        "# The data in this directory is SYNTHETIC: every name, phone, e-mail and number is made\n\
         # up (e-mails use the reserved example.com/.org/.net domains only).\n\
         #\n",
    );
    for line in notes.lines() {
        if line.is_empty() {
            t.push_str("#\n");
        } else {
            let _ = writeln!(t, "# {line}");
        }
    }
    t.push_str(
        "#\n\
         # Deny by default: a column this mapping does not name is dropped and listed by name in\n\
         # the manifest. Direct fields are mapped only so that on-site tools (reidentify, audit)\n\
         # can find them; they are never exported. File paths are relative to this file.\n\n",
    );
    crate::mapping::club_lines(t, info);
    t.push_str("[source]\n");
    let _ = writeln!(t, "encoding = {}", toml_str(info.encoding.mapping_name()));
    t.push_str(
        "delimiter = \";\"\n\
         date_format = \"DD.MM.YYYY\"\n\
         datetime_format = \"DD.MM.YYYY HH:mm\"\n\
         decimal_comma = true\n\n\
         [policy]\n\
         rare_k = 5\n\
         age_bands = [18, 25, 35, 45, 55, 65]\n\
         truncate_timestamps = \"hour\"\n\n",
    );
}

/// `[tables.NAME]` with its file, and the `[tables.NAME.fields]` line.
pub(crate) fn table_header(t: &mut String, table: &str, file: &str) {
    let _ = writeln!(
        t,
        "[tables.{table}]\nfile = {}\n\n[tables.{table}.fields]",
        toml_str(file)
    );
}

/// Kopecks of a price `p` (roubles at the as-of date) on an earlier `day`, prices having
/// risen by the factor 1 / `yearly` every year since, rounded to whole multiples of `round`
/// roubles.
pub(crate) fn priced(p: i64, day: Day, as_of: Day, yearly: f64, round: i64) -> i64 {
    let years = (as_of - day).max(0) as f64 / 365.25;
    let v = p as f64 * yearly.powf(years);
    (v / round as f64).round() as i64 * round * 100
}
