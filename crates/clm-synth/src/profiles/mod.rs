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
//! The three run on one skeleton, `run`: a profile is a `Business` — its headers and three
//! hooks, `who` (the client: person, company, contacts), `life` (the events, into scratch
//! space reused for every client) and `write` (the rows, each file in time order) — plus the
//! per-profile data [`Profile`] holds (files, rare lead sources, calendar window) and its
//! mapping's `[tables.*]` sections, kept as data in `mappings/`. Survey answers (feedback,
//! CSI, NPS) follow one model, `Survey`, with the business's numbers. The profiles share the
//! fake-person machinery (`names.rs`), the preformatted calendar (`calendar.rs`), the
//! collision-free document numbers (`ids.rs`) and the CSV writer (`writer.rs`). Like the
//! fitness club, every client (account, car owner, student) is simulated on its own RNG
//! stream and written before the next one starts, so a run is deterministic per seed and
//! streams in flat memory.

pub mod auto_service;
pub mod b2b_service;
pub mod classes;

use crate::behaviour::{pick, rare_assignments, rare_lookup};
use crate::calendar::{Calendar, Day};
use crate::club::Club;
use crate::ids::splitmix;
use crate::mapping::{toml_str, MappingInfo};
use crate::writer::{CsvFile, RowCounts};
use crate::Config;
use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io;

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
    pub const ALL: [Profile; 4] =
        [Profile::Fitness, Profile::Classes, Profile::AutoService, Profile::B2bService];

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

    /// Lead sources handed to a few clients whatever the size (for the `rare_k` rule).
    fn rare_sources(self) -> &'static [(&'static str, u64)] {
        match self {
            Profile::Fitness => crate::model::RARE_SOURCES,
            Profile::Classes => classes::RARE_SOURCES,
            Profile::AutoService => auto_service::RARE_SOURCES,
            Profile::B2bService => b2b_service::RARE_SOURCES,
        }
    }

    /// Whether the club's behaviour knobs (`--club`, `--spread`) apply.
    pub fn has_knobs(self) -> bool {
        matches!(self, Profile::Fitness | Profile::Classes)
    }

    /// The calendar window every event of a run falls in, around the as-of date: the
    /// history, and what an export of that day holds after it (cards, contracts sold ahead).
    fn calendar(self, as_of: Day) -> Calendar {
        match self {
            Profile::Fitness => crate::behaviour::calendar_for(as_of),
            Profile::Classes => Calendar::new(as_of - classes::HISTORY_DAYS - 31, as_of + 62),
            Profile::AutoService => {
                Calendar::new(as_of - auto_service::SALES_HISTORY_DAYS - 60, as_of + 1)
            }
            Profile::B2bService => {
                Calendar::new(as_of - b2b_service::HISTORY_DAYS - 400, as_of + 500)
            }
        }
    }

    /// How an error names client `idx` ("student 17", "account К0000017").
    pub(crate) fn client_label(self, idx: u64) -> String {
        match self {
            Profile::Fitness => format!("client {:07}", idx + 1),
            Profile::Classes => format!("student {}", idx + 1),
            Profile::AutoService => format!("client {}", auto_service::client_id(idx)),
            Profile::B2bService => format!("account {}", b2b_service::account_id(idx)),
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

/// What a business supplies to the shared run ([`run`]) besides its [`Profile`] data (files,
/// rare sources, calendar window, client label): the headers, three hooks for one client's
/// simulation, and its mapping. The run does the rest the same for every business: the files,
/// one RNG stream per client, and for each client in turn — who they are (`who`, drawn first),
/// their life (`life`: events into the scratch space, emptied before), their rows (`write`,
/// no draws) — then the row counts and the mapping.
pub(crate) struct Business<W, S> {
    pub profile: Profile,
    /// The header of each file of [`Profile::files`], in that order.
    pub headers: &'static [&'static [&'static str]],
    /// Who client `idx` is.
    pub who: fn(&Base, u64, &mut ChaCha8Rng) -> W,
    /// Their life, from the same RNG stream: the events, into scratch space `S`.
    pub life: fn(&Base, u64, &mut ChaCha8Rng, &mut W, &mut S),
    /// Their rows, into `out.files` (in [`Profile::files`] order).
    pub write: fn(&Base, u64, &W, &mut S, &mut Out) -> io::Result<()>,
    pub mapping_toml: fn(&MappingInfo) -> String,
}

/// Scratch space reused for every client: emptied, keeping its allocations.
pub(crate) trait Reset: Default {
    fn reset(&mut self);
}

/// The open files of a run, in [`Profile::files`] order, and the calendar that prints dates.
pub(crate) struct Out {
    pub files: Vec<CsvFile>,
    pub cal: Calendar,
}

/// Writes business `b`'s export and mapping into `cfg.out` (an empty directory).
pub(crate) fn run<W, S: Reset>(b: &Business<W, S>, cfg: &Config, club: &Club) -> Result<RowCounts> {
    let as_of = crate::calendar::day_of(cfg.as_of);
    let profile = b.profile;
    let mut base = Base::new(
        cfg.seed,
        cfg.clients,
        as_of,
        profile,
        profile.rare_sources(),
    );
    if profile.has_knobs() {
        base.knobs = club.knobs(cfg.seed);
    }
    let tables = profile.files();
    debug_assert_eq!(tables.len(), b.headers.len());
    let files = tables
        .iter()
        .zip(b.headers)
        .map(|(&(_, name), header)| {
            CsvFile::create(&cfg.out.join(name), cfg.encoding, header)
                .with_context(|| format!("cannot create {name} in {}", cfg.out.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Out {
        files,
        cal: profile.calendar(as_of),
    };
    let mut sc = S::default();
    for idx in 0..cfg.clients {
        let mut rng = base.rng(idx);
        let mut client = (b.who)(&base, idx, &mut rng);
        sc.reset();
        (b.life)(&base, idx, &mut rng, &mut client, &mut sc);
        (b.write)(&base, idx, &client, &mut sc, &mut out)
            .with_context(|| format!("writing {}", profile.client_label(idx)))?;
    }
    let mut counts = RowCounts::default();
    for (&(table, _), f) in tables.iter().zip(out.files) {
        counts.set(table, f.finish()?);
    }
    let text = (b.mapping_toml)(&MappingInfo {
        encoding: cfg.encoding,
        clients: cfg.clients,
        seed: cfg.seed,
        as_of: &cfg.as_of.format("%Y-%m-%d").to_string(),
        club,
        knobs: base.knobs,
    });
    std::fs::write(cfg.out.join(crate::MAPPING_FILE), text).context("writing mapping.toml")?;
    Ok(counts)
}

/// How a business's survey answers go: the score is `base + slope × x` (x: the client's
/// satisfaction, attendance or health in 0…1) plus noise in −3…3, less `penalty` for a client
/// on the way out, rounded into 0…10; a comment from the pool that fits the score comes with
/// probability `comment_p`, and the business may add to it.
pub(crate) struct Survey {
    pub base: f32,
    pub slope: f32,
    pub penalty: f32,
    pub comment_p: f64,
    pub praise: &'static [&'static str],
    pub neutral: &'static [&'static str],
    pub complaints: &'static [&'static str],
}

/// One survey answer (feedback, CSI, NPS).
pub(crate) struct Answer {
    pub day: Day,
    pub score: u8,
    pub comment: String,
}

impl Survey {
    /// An answer on `day`; `more` appends to a comment that was written (score, text).
    pub fn answer<R: Rng>(
        &self,
        rng: &mut R,
        day: Day,
        x: f32,
        leaving: bool,
        more: impl FnOnce(&mut R, u8, &mut String),
    ) -> Answer {
        let noise = (rng.random::<f32>() + rng.random::<f32>() - 1.0) * 3.0;
        let mut s = self.base + self.slope * x + noise;
        if leaving {
            s -= self.penalty;
        }
        let score = s.round().clamp(0.0, 10.0) as u8;
        let mut comment = String::new();
        if rng.random_bool(self.comment_p) {
            let pool = match score {
                9..=10 => self.praise,
                7..=8 => self.neutral,
                _ => self.complaints,
            };
            comment.push_str(pick(rng, pool));
            more(rng, score, &mut comment);
        }
        Answer {
            day,
            score,
            comment,
        }
    }
}

/// Writes a client's survey answers in date order: client id, date, score, comment.
pub(crate) fn write_answers(
    f: &mut CsvFile,
    cal: &Calendar,
    id: &str,
    answers: &mut [Answer],
) -> io::Result<()> {
    answers.sort_by_key(|x| x.day);
    for x in answers.iter() {
        f.plain(id);
        f.date(cal, x.day);
        f.uint(x.score as u64);
        f.text(&x.comment);
        f.end_row()?;
    }
    Ok(())
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

/// Kopecks of a price `p` (roubles at the as-of date) on an earlier `day`, prices having
/// risen by the factor 1 / `yearly` every year since, rounded to whole multiples of `round`
/// roubles.
pub(crate) fn priced(p: i64, day: Day, as_of: Day, yearly: f64, round: i64) -> i64 {
    let years = (as_of - day).max(0) as f64 / 365.25;
    let v = p as f64 * yearly.powf(years);
    (v / round as f64).round() as i64 * round * 100
}
