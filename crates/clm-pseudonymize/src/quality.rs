//! Data-quality figures of a club's export: counts only, never a value, so that they can
//! travel in the manifest and be pasted into an e-mail.
//!
//! Fed record by record, table after table in canonical order (clients first), in the same
//! pass that exports (or, for `check`, dry-runs) each table. Memory is bounded: the 64-bit
//! hashes of the ids (for the duplicate counts), the date ranges of the non-cancelled
//! memberships (for the overlap check) and the clients' registration dates go through
//! sorters that spill to anonymous temporary files beyond a few MiB ([`crate::spill`]);
//! up to [`CLIENTS_IN_MEMORY`] clients are looked up in memory, more are split into key
//! ranges that are checked one after the other against the later tables' rows, which are
//! spilled (hash and day) by range.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};

use chrono::NaiveDate;
use clm_core::mapping::{MappedField, TableMapping};
use clm_core::schema::{ColumnType, PrivacyClass};
use clm_core::values::{self, DateFormat};
use clm_core::{Error, Result};
use serde::Serialize;

use crate::spill::{self, DistinctCount, Record, SpillSort};
use serde_json::{json, Value};

/// Above this share of a table's rows, a warning becomes a failure.
pub const FAIL_SHARE: f64 = 0.05;

/// Tables whose rows are events, with their date field.
pub const EVENT_TABLES: [(&str, &str); 4] = [
    ("visits", "visited_at"),
    ("services", "done_at"),
    ("sales", "sold_at"),
    ("feedback", "answered_on"),
];

/// Fields whose dates may not lie after the as-of date (memberships may end, and even
/// start, later; trials may be booked ahead).
const NOT_IN_FUTURE: [&str; 7] = [
    "registered_on",
    "archived_on",
    "sold_on",
    "visited_at",
    "done_at",
    "sold_at",
    "answered_on",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub table: String,
    pub check: &'static str,
    pub level: Level,
    pub count: u64,
    /// The count is out of this many rows (or clients, or memberships).
    pub of: u64,
    pub what: String,
}

/// The 64-bit hash the checks count ids by. Keyed at random once per run (the hashes reach the
/// spill files: an unkeyed hash of a short numeric id could be reversed by trying every id);
/// a run only compares hashes it made itself.
fn key(id: &str) -> u64 {
    static STATE: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new).hash_one(id)
}

#[derive(Debug, Default, Clone, Copy)]
struct DateRange {
    min: Option<i32>,
    max: Option<i32>,
    unreadable: u64,
}

impl DateRange {
    fn add(&mut self, d: i32) {
        self.min = Some(self.min.map_or(d, |m| m.min(d)));
        self.max = Some(self.max.map_or(d, |m| m.max(d)));
    }
}

fn day_str(d: Option<i32>) -> Value {
    d.and_then(values::days_to_date)
        .map(|d| Value::String(d.to_string()))
        .unwrap_or(Value::Null)
}

/// How a field is read for the checks.
enum Probe {
    Date(DateFormat),
    Money,
    Other,
}

struct Col {
    field: String,
    idx: usize,
    required: bool,
    class: PrivacyClass,
    /// The mapping's field: its value map, and the id a pid would be computed from.
    mapped: MappedField,
    probe: Probe,
}

/// The figures of one table.
#[derive(Default)]
struct TableStats {
    table: String,
    rows: u64,
    unreadable: u64,
    rejected: u64,
    skipped_before_since: u64,
    empty_required: BTreeMap<String, u64>,
    rows_empty_required: u64,
    dates: BTreeMap<String, DateRange>,
    id_field: Option<String>,
    /// The id hashes, while the table is fed.
    ids: Option<DistinctCount>,
    duplicate_ids: u64,
    unknown_client: u64,
    end_before_start: u64,
    /// (client, start, end) of the non-cancelled memberships, while the table is fed.
    intervals: Option<SpillSort<(u64, i32, i32)>>,
    intervals_n: u64,
    overlapping: u64,
    future: u64,
    before_1900: u64,
    negative: u64,
    before_registration: u64,
    no_contact: u64,
    contact_mapped: bool,
    client_checked: bool,
    category_pii: u64,
}

/// Clients looked up in memory (a hash map of ~4 MiB); beyond, by key range from disk.
pub const CLIENTS_IN_MEMORY: usize = 1 << 17;

/// "No day" in a spilled record (no date parses to it).
const NO_DAY: i32 = i32::MIN;

fn day_rec(d: Option<i32>) -> i32 {
    d.unwrap_or(NO_DAY)
}

fn rec_day(d: i32) -> Option<i32> {
    (d != NO_DAY).then_some(d)
}

/// Client id hash → registration day (the first row of an id counts), for the checks of
/// the later tables.
enum Clients {
    /// While the clients table is fed: (hash, row number, day).
    Feeding {
        rows: SpillSort<(u64, i32, i32)>,
        next: i64,
    },
    InMemory(HashMap<u64, Option<i32>>),
    /// More than [`CLIENTS_IN_MEMORY`]: (hash, day) sorted by hash in a spill file, in
    /// ranges of up to [`CLIENTS_IN_MEMORY`] clients starting at these hashes.
    Ranges {
        file: File,
        starts: Vec<u64>,
        n: u64,
    },
}

impl Default for Clients {
    fn default() -> Self {
        Clients::InMemory(HashMap::new())
    }
}

impl Clients {
    fn feeding() -> Self {
        Clients::Feeding {
            rows: SpillSort::default(),
            next: i32::MIN as i64,
        }
    }

    /// After the clients table: the first row of each id, in memory or by ranges.
    fn build(self, in_memory: usize) -> Result<Clients> {
        let Clients::Feeding { rows, .. } = self else {
            return Ok(self);
        };
        let mut sorted = rows.finish()?;
        let mut map: HashMap<u64, Option<i32>> = HashMap::new();
        let mut spilled: Option<(BufWriter<File>, Vec<u64>, u64)> = None;
        let mut last = None;
        let mut buf = Vec::with_capacity(12);
        while let Some((k, _, d)) = sorted.next_record()? {
            if last == Some(k) {
                continue;
            }
            last = Some(k);
            if spilled.is_none() && map.len() >= in_memory {
                // Too many: every client so far, and every later one, to disk.
                let mut w = BufWriter::new(spill::spill_file()?);
                let mut keys: Vec<(u64, Option<i32>)> = map.drain().collect();
                keys.sort_unstable();
                for (k, d) in &keys {
                    buf.clear();
                    (*k, day_rec(*d)).put(&mut buf);
                    w.write_all(&buf).map_err(spill::io_error)?;
                }
                let starts = vec![keys[0].0];
                map = HashMap::new();
                spilled = Some((w, starts, keys.len() as u64));
            }
            match &mut spilled {
                None => {
                    map.insert(k, rec_day(d));
                }
                Some((w, starts, n)) => {
                    if *n % in_memory as u64 == 0 {
                        starts.push(k);
                    }
                    buf.clear();
                    (k, d).put(&mut buf);
                    w.write_all(&buf).map_err(spill::io_error)?;
                    *n += 1;
                }
            }
        }
        Ok(match spilled {
            None => Clients::InMemory(map),
            Some((w, starts, n)) => Clients::Ranges {
                file: w
                    .into_inner()
                    .map_err(|e| spill::io_error(e.into_error()))?,
                starts,
                n,
            },
        })
    }
}

/// The rows of a later table whose client is looked up by range: (hash, event day) per
/// range, in spill files.
struct Probes {
    files: Vec<Option<BufWriter<File>>>,
    buf: Vec<u8>,
}

/// Accumulates the figures of every table of one export.
pub struct Quality {
    as_of: NaiveDate,
    since: Option<NaiveDate>,
    clients: Clients,
    /// Clients held in memory at most ([`CLIENTS_IN_MEMORY`]; smaller in tests).
    clients_in_memory: usize,
    /// Budget of each sorter (smaller in tests, to spill).
    sort_budget: usize,
    have_clients: bool,
    tables: Vec<TableStats>,
}

/// Feeds the records of one table.
pub struct TableFeed<'q> {
    q: &'q mut Quality,
    cols: Vec<Col>,
    stats: TableStats,
    decimal_comma: bool,
    probes: Option<Probes>,
    /// The first error of a spill file: reported by [`TableFeed::finish`].
    err: Option<Error>,
}

impl Quality {
    pub fn new(as_of: NaiveDate, since: Option<NaiveDate>) -> Self {
        Quality {
            as_of,
            since,
            clients: Clients::default(),
            clients_in_memory: CLIENTS_IN_MEMORY,
            sort_budget: spill::DEFAULT_BUDGET_BYTES,
            have_clients: false,
            tables: Vec::new(),
        }
    }

    /// Smaller limits, so that tests spill: clients held in memory, bytes per sorter.
    #[cfg(test)]
    fn with_limits(mut self, clients_in_memory: usize, sort_budget: usize) -> Self {
        self.clients_in_memory = clients_in_memory.max(1);
        self.sort_budget = sort_budget;
        self
    }

    /// Starts a table; `index_of` resolves mapped columns (checked before).
    pub fn table(
        &mut self,
        tm: &TableMapping,
        mut index_of: impl FnMut(&str) -> Option<usize>,
    ) -> TableFeed<'_> {
        let mut cols = Vec::new();
        for f in &tm.fields {
            let Some(idx) = index_of(&f.column) else {
                continue;
            };
            cols.push(col(f, idx));
        }
        let id_field = match tm.table.as_str() {
            "clients" => Some("client_id"),
            "memberships" => Some("membership_id"),
            "sales" => Some("sale_id"),
            _ => None,
        }
        .filter(|f| cols.iter().any(|c| c.field == *f))
        .map(String::from);
        let contact_mapped = tm.table == "clients"
            && cols
                .iter()
                .any(|c| c.field == "phone" || c.field == "email");
        let budget = self.sort_budget;
        let stats = TableStats {
            table: tm.table.clone(),
            ids: id_field
                .as_ref()
                .map(|_| DistinctCount::with_budget(budget)),
            intervals: (tm.table != "clients").then(|| SpillSort::with_budget(budget)),
            id_field,
            contact_mapped,
            client_checked: tm.table != "clients" && self.have_clients,
            ..Default::default()
        };
        if tm.table == "clients" {
            self.clients = Clients::feeding();
            if let Clients::Feeding { rows, .. } = &mut self.clients {
                *rows = SpillSort::with_budget(budget);
            }
        }
        let probes = match &self.clients {
            Clients::Ranges { starts, .. } if stats.client_checked => Some(Probes {
                files: starts.iter().map(|_| None).collect(),
                buf: Vec::with_capacity(12),
            }),
            _ => None,
        };
        TableFeed {
            q: self,
            cols,
            stats,
            decimal_comma: tm.decimal_comma,
            probes,
            err: None,
        }
    }

    /// Every check, table by table.
    pub fn checks(&self) -> Vec<Check> {
        let mut out = Vec::new();
        for t in &self.tables {
            let rows = t.rows;
            let share = |n: u64| {
                if n == 0 {
                    Level::Pass
                } else if rows > 0 && n as f64 > FAIL_SHARE * rows as f64 {
                    Level::Fail
                } else {
                    Level::Warn
                }
            };
            let warn = |n: u64| if n == 0 { Level::Pass } else { Level::Warn };
            let mut add = |check: &'static str, level: Level, count: u64, of: u64, what: String| {
                out.push(Check {
                    table: t.table.clone(),
                    check,
                    level,
                    count,
                    of,
                    what,
                })
            };
            add(
                "rows",
                if rows > 0 {
                    Level::Pass
                } else if t.table == "clients" {
                    Level::Fail
                } else {
                    Level::Warn
                },
                rows,
                rows,
                "rows read".into(),
            );
            add(
                "rejected_rows",
                share(t.rejected),
                t.rejected,
                rows,
                "rows that cannot be read or converted (rejected, kept on site)".into(),
            );
            add(
                "empty_required",
                share(t.rows_empty_required),
                t.rows_empty_required,
                rows,
                "rows with an empty required field".into(),
            );
            if let Some(f) = &t.id_field {
                let level = if t.table == "clients" {
                    if t.duplicate_ids > 0 {
                        Level::Fail
                    } else {
                        Level::Pass
                    }
                } else {
                    share(t.duplicate_ids)
                };
                add(
                    "duplicate_ids",
                    level,
                    t.duplicate_ids,
                    rows,
                    format!("rows whose {f} appeared in an earlier row"),
                );
            }
            if t.client_checked {
                add(
                    "unknown_clients",
                    share(t.unknown_client),
                    t.unknown_client,
                    rows,
                    "rows whose client_id is not in the clients table".into(),
                );
                add(
                    "before_registration",
                    warn(t.before_registration),
                    t.before_registration,
                    rows,
                    "rows dated before the client's registration".into(),
                );
            }
            if t.table == "memberships" {
                add(
                    "end_before_start",
                    share(t.end_before_start),
                    t.end_before_start,
                    rows,
                    "memberships ending before they start".into(),
                );
                let overlapping = t.overlapping;
                add(
                    "overlapping_memberships",
                    warn(overlapping),
                    overlapping,
                    t.intervals_n,
                    "non-cancelled memberships overlapping an earlier one of the same client"
                        .into(),
                );
            }
            add(
                "future_dates",
                warn(t.future),
                t.future,
                rows,
                format!("rows dated after the as-of date {}", self.as_of),
            );
            add(
                "dates_before_1900",
                warn(t.before_1900),
                t.before_1900,
                rows,
                "rows with a date before 1900".into(),
            );
            if matches!(t.table.as_str(), "memberships" | "sales") {
                add(
                    "negative_amounts",
                    warn(t.negative),
                    t.negative,
                    rows,
                    "rows with a negative price or amount".into(),
                );
            }
            if t.category_pii > 0 {
                add(
                    "pii_in_categories",
                    Level::Fail,
                    t.category_pii,
                    t.category_pii,
                    "distinct category values that look like personal data (the export stops unless --redact)".into(),
                );
            }
            if t.contact_mapped {
                add(
                    "clients_without_contact",
                    warn(t.no_contact),
                    t.no_contact,
                    rows,
                    "clients with neither a phone nor an e-mail".into(),
                );
            }
        }
        out
    }

    /// The worst level of all checks.
    pub fn verdict(&self) -> Level {
        self.checks()
            .iter()
            .map(|c| c.level)
            .max()
            .unwrap_or(Level::Pass)
    }

    /// The figures as JSON for the manifest and `check --json`: counts and dates, no values.
    pub fn to_json(&self) -> Value {
        let checks = self.checks();
        let verdict = checks.iter().map(|c| c.level).max().unwrap_or(Level::Pass);
        let mut tables = serde_json::Map::new();
        for t in &self.tables {
            let dates: serde_json::Map<String, Value> = t
                .dates
                .iter()
                .map(|(f, r)| {
                    (
                        f.clone(),
                        json!({"min": day_str(r.min), "max": day_str(r.max), "unreadable": r.unreadable}),
                    )
                })
                .collect();
            let mut o = json!({
                "rows": t.rows,
                "rejected": t.rejected,
                "unreadable_records": t.unreadable,
                "empty_required": t.empty_required,
                "dates": dates,
            });
            if self.since.is_some() && t.skipped_before_since > 0 {
                o["rows_on_or_before_since"] = json!(t.skipped_before_since);
            }
            tables.insert(t.table.clone(), o);
        }
        let mut v = json!({
            "as_of": self.as_of.to_string(),
            "verdict": verdict,
            "fail_share": FAIL_SHARE,
            "tables": tables,
            "checks": checks,
        });
        if let Some(s) = self.since {
            v["since"] = json!(s.to_string());
        }
        v
    }
}

fn col(f: &MappedField, idx: usize) -> Col {
    let probe = match (&f.format, f.def.column_type) {
        (Some(fmt), _) => Probe::Date(fmt.clone()),
        (None, Some(ColumnType::Money)) => Probe::Money,
        _ => Probe::Other,
    };
    Col {
        field: f.def.name.clone(),
        idx,
        required: f.def.required,
        class: f.def.class,
        mapped: f.clone(),
        probe,
    }
}

/// Memberships that overlap an earlier one (by start) of the same client.
#[cfg(test)]
fn overlaps(intervals: &[(u64, i32, i32)]) -> u64 {
    let mut v = intervals.to_vec();
    v.sort_unstable();
    let mut o = Overlaps::default();
    for i in v {
        o.add(i);
    }
    o.n
}

/// Counts overlaps over intervals given in (client, start, end) order.
#[derive(Default)]
struct Overlaps {
    n: u64,
    last: Option<(u64, i32)>,
}

impl Overlaps {
    fn add(&mut self, (c, s, e): (u64, i32, i32)) {
        match self.last {
            Some((lc, lend)) if lc == c => {
                if s <= lend {
                    self.n += 1;
                }
                self.last = Some((c, lend.max(e)));
            }
            _ => self.last = Some((c, e)),
        }
    }
}

impl TableFeed<'_> {
    /// A record the reader could not split into fields.
    pub fn unreadable(&mut self) {
        self.stats.rows += 1;
        self.stats.unreadable += 1;
    }

    /// A row that was rejected (by the reader or the conversion).
    pub fn rejected(&mut self) {
        self.stats.rejected += 1;
    }

    /// Distinct category values the PII detectors hit (the export stops on them).
    pub fn category_pii(&mut self, distinct_values: u64) {
        self.stats.category_pii = distinct_values;
    }

    /// A row left out by `--since`.
    pub fn skipped_before_since(&mut self) {
        self.stats.skipped_before_since += 1;
    }

    /// A record read whole.
    pub fn row(&mut self, rec: &csv::StringRecord) {
        let s = &mut self.stats;
        s.rows += 1;
        let as_of = values::date_to_days(self.q.as_of);
        let day_1900 = values::date_to_days(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap());
        let mut any_empty_required = false;
        let (mut future, mut before_1900, mut negative) = (false, false, false);
        let mut has_contact = false;
        let mut start = None;
        let mut end = None;
        let mut registered = None;
        let mut event_day = None;
        let mut cancelled = false;
        let mut client_key = None;
        for c in &self.cols {
            let raw = rec.get(c.idx).unwrap_or("").trim();
            let raw = c.mapped.mapped(raw);
            if raw.is_empty() {
                if c.required {
                    any_empty_required = true;
                    *s.empty_required.entry(c.field.clone()).or_default() += 1;
                }
                continue;
            }
            match c.field.as_str() {
                "phone" | "email" => has_contact = true,
                "status" => cancelled = raw == "cancelled",
                _ => {}
            }
            if c.class == PrivacyClass::Identifier {
                let Some(id) = c.mapped.source_id(raw) else {
                    continue;
                };
                let k = key(&id);
                if Some(&c.field) == s.id_field.as_ref() {
                    if let Some(ids) = &mut s.ids {
                        keep_err(&mut self.err, ids.push(k));
                    }
                }
                if c.field == "client_id" {
                    client_key = Some(k);
                }
            }
            match &c.probe {
                Probe::Date(fmt) => {
                    let is_time = c.class == PrivacyClass::Time;
                    match fmt.parse_date(raw) {
                        Ok(d) => {
                            let d = values::date_to_days(d);
                            if d < day_1900 {
                                before_1900 = true;
                            }
                            if is_time {
                                s.dates.entry(c.field.clone()).or_default().add(d);
                                if d > as_of && NOT_IN_FUTURE.contains(&c.field.as_str()) {
                                    future = true;
                                }
                            }
                            match c.field.as_str() {
                                "start_date" => start = Some(d),
                                "end_date" => end = Some(d),
                                "registered_on" => registered = Some(d),
                                "sold_on" => event_day = Some(d),
                                f if EVENT_TABLES.iter().any(|(_, ef)| *ef == f) => {
                                    event_day = Some(d)
                                }
                                _ => {}
                            }
                        }
                        Err(_) => {
                            if is_time {
                                s.dates.entry(c.field.clone()).or_default().unreadable += 1;
                            }
                        }
                    }
                }
                Probe::Money => {
                    if values::parse_money(raw, self.decimal_comma).is_ok_and(|v| v < 0) {
                        negative = true;
                    }
                }
                Probe::Other => {}
            }
        }
        s.rows_empty_required += any_empty_required as u64;
        s.future += future as u64;
        s.before_1900 += before_1900 as u64;
        s.negative += negative as u64;
        if s.table == "clients" {
            if s.contact_mapped && !has_contact {
                s.no_contact += 1;
            }
            if let (Some(k), Clients::Feeding { rows, next }) = (client_key, &mut self.q.clients) {
                // The row number keeps the first row of an id first among equal hashes.
                let row = (*next).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                *next += 1;
                keep_err(&mut self.err, rows.push((k, row, day_rec(registered))));
            }
            return;
        }
        if let (Some(a), Some(b)) = (start, end) {
            if b < a {
                s.end_before_start += 1;
            } else if !cancelled {
                if let (Some(k), Some(iv)) = (client_key, &mut s.intervals) {
                    keep_err(&mut self.err, iv.push((k, a, b)));
                }
            }
        }
        if s.client_checked {
            if let Some(k) = client_key {
                match &self.q.clients {
                    Clients::InMemory(map) => {
                        check_client(s, map.get(&k), event_day);
                    }
                    Clients::Ranges { starts, .. } => {
                        let p = starts.partition_point(|st| *st <= k).saturating_sub(1);
                        if let Some(probes) = &mut self.probes {
                            keep_err(&mut self.err, probes.push(p, k, event_day));
                        }
                    }
                    Clients::Feeding { .. } => {}
                }
            }
        }
    }

    /// Ends the table. Fails only when a spill file cannot be written or read.
    pub fn finish(self) -> Result<()> {
        let TableFeed {
            q,
            mut stats,
            probes,
            err,
            ..
        } = self;
        if let Some(e) = err {
            return Err(e);
        }
        if let Some(ids) = stats.ids.take() {
            let (n, distinct) = ids.finish()?;
            stats.duplicate_ids = n - distinct;
        }
        if let Some(iv) = stats.intervals.take() {
            stats.intervals_n = iv.len();
            let mut sorted = iv.finish()?;
            let mut o = Overlaps::default();
            while let Some(i) = sorted.next_record()? {
                o.add(i);
            }
            stats.overlapping = o.n;
        }
        if let (Some(p), Clients::Ranges { file, starts, n }) = (probes, &q.clients) {
            p.check(file, starts.len(), *n, q.clients_in_memory, &mut stats)?;
        }
        if stats.table == "clients" {
            q.clients = std::mem::take(&mut q.clients).build(q.clients_in_memory)?;
            q.have_clients = true;
        }
        q.tables.push(stats);
        Ok(())
    }
}

fn keep_err(slot: &mut Option<Error>, r: Result<()>) {
    if let (None, Err(e)) = (&slot, r) {
        *slot = Some(e);
    }
}

/// The client checks of one row: `reg` is the client's registration day, if known.
fn check_client(s: &mut TableStats, reg: Option<&Option<i32>>, event_day: Option<i32>) {
    match reg {
        None => s.unknown_client += 1,
        Some(reg) => {
            if let (Some(r), Some(e)) = (reg, event_day) {
                if e < *r {
                    s.before_registration += 1;
                }
            }
        }
    }
}

impl Probes {
    fn push(&mut self, range: usize, k: u64, day: Option<i32>) -> Result<()> {
        let f = match &mut self.files[range] {
            Some(f) => f,
            slot => slot.insert(BufWriter::with_capacity(64 * 1024, spill::spill_file()?)),
        };
        self.buf.clear();
        (k, day_rec(day)).put(&mut self.buf);
        f.write_all(&self.buf).map_err(spill::io_error)
    }

    /// Checks the spilled rows range by range, with that range's clients in memory.
    fn check(
        self,
        clients: &File,
        ranges: usize,
        n: u64,
        per_range: usize,
        s: &mut TableStats,
    ) -> Result<()> {
        const REC: usize = <(u64, i32) as Record>::SIZE;
        let mut buf = vec![0u8; 64 * 1024 / REC * REC];
        for (r, f) in self.files.into_iter().enumerate().take(ranges) {
            let Some(f) = f else { continue };
            let f = f
                .into_inner()
                .map_err(|e| spill::io_error(e.into_error()))?;
            let first = (r * per_range) as u64;
            let last = (first + per_range as u64).min(n);
            let mut map: HashMap<u64, Option<i32>> =
                HashMap::with_capacity((last - first) as usize);
            read_records(
                clients,
                first * REC as u64,
                last * REC as u64,
                &mut buf,
                |(k, d)| {
                    map.insert(k, rec_day(d));
                },
            )?;
            let end = f.metadata().map_err(spill::io_error)?.len();
            read_records(&f, 0, end, &mut buf, |(k, d)| {
                check_client(s, map.get(&k), rec_day(d));
            })?;
        }
        Ok(())
    }
}

/// Calls `each` on the (hash, day) records of `f` from byte `pos` to `end`.
fn read_records(
    f: &File,
    mut pos: u64,
    end: u64,
    buf: &mut [u8],
    mut each: impl FnMut((u64, i32)),
) -> Result<()> {
    const REC: usize = <(u64, i32) as Record>::SIZE;
    while pos < end {
        let want = ((end - pos) as usize).min(buf.len());
        spill::read_exact_at(f, &mut buf[..want], pos).map_err(spill::io_error)?;
        for r in buf[..want].chunks_exact(REC) {
            each(<(u64, i32)>::get(r));
        }
        pos += want as u64;
    }
    Ok(())
}

/// The report as a text table, for the terminal.
pub fn print_table(checks: &[Check]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<12} {:<26} {:<5} {:>10} {:>10}  {}\n",
        "table", "check", "level", "count", "of", "what"
    ));
    for c in checks {
        out.push_str(&format!(
            "{:<12} {:<26} {:<5} {:>10} {:>10}  {}\n",
            c.table,
            c.check,
            c.level.as_str(),
            c.count,
            c.of,
            c.what
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds every table of a mapping to `q` (as `check` does, without the conversion).
    fn feed_all(mapping: &clm_core::mapping::Mapping, mut q: Quality) -> Quality {
        for tm in &mapping.tables {
            let mut reader = clm_core::source::open_table(tm).unwrap();
            let mut qf = q.table(tm, |c| reader.column_index(c).ok());
            let mut rec = csv::StringRecord::new();
            while let Some(st) = reader.next_record(&mut rec).unwrap() {
                match st {
                    clm_core::source::RecordStatus::Ok => qf.row(&rec),
                    clm_core::source::RecordStatus::Bad(_) => qf.unreadable(),
                }
            }
            qf.finish().unwrap();
        }
        q
    }

    /// With a tiny budget every sorter spills and the clients are checked range by range:
    /// the figures are those of holding everything in memory. The club gets duplicate
    /// clients and memberships, and visits of an unknown client, so that every count is
    /// more than zero.
    #[test]
    fn spilled_figures_are_the_in_memory_figures() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        clm_synth::generate(&clm_synth::Config {
            clients: 150,
            seed: 3,
            as_of,
            out: src.clone(),
            encoding: clm_synth::Encoding::Utf8,
        })
        .unwrap();
        let append_copies = |file: &str, n: usize| {
            let p = src.join(file);
            let text = std::fs::read_to_string(&p).unwrap();
            let copies: String = text
                .lines()
                .skip(1)
                .step_by(7)
                .take(n)
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&p, format!("{text}{copies}")).unwrap();
        };
        append_copies("clients.csv", 9);
        append_copies("memberships.csv", 11);
        let visits = src.join("visits.csv");
        let mut text = std::fs::read_to_string(&visits).unwrap();
        let first = text.lines().nth(1).unwrap().to_string();
        let (_, rest) = first.split_once(';').unwrap();
        text.push_str(&format!("7777777;{rest}\n"));
        std::fs::write(&visits, text).unwrap();
        let mapping = clm_core::mapping::Mapping::load(&src.join(clm_synth::MAPPING_FILE)).unwrap();
        let whole = feed_all(&mapping, Quality::new(as_of, None));
        let spilled = feed_all(&mapping, Quality::new(as_of, None).with_limits(7, 64));
        assert!(matches!(spilled.clients, Clients::Ranges { .. }));
        assert!(matches!(whole.clients, Clients::InMemory(_)));
        assert_eq!(whole.to_json(), spilled.to_json());
        let count = |q: &Quality, table: &str, check: &str| {
            q.checks()
                .into_iter()
                .find(|c| c.table == table && c.check == check)
                .unwrap()
                .count
        };
        assert_eq!(count(&spilled, "clients", "duplicate_ids"), 9);
        assert!(count(&spilled, "memberships", "duplicate_ids") >= 11);
        assert!(count(&spilled, "memberships", "overlapping_memberships") > 0);
        assert_eq!(count(&spilled, "visits", "unknown_clients"), 1);
    }

    #[test]
    fn overlap_counting() {
        assert_eq!(overlaps(&[(1, 0, 10), (1, 11, 20), (2, 0, 10)]), 0);
        assert_eq!(overlaps(&[(1, 0, 10), (1, 10, 20)]), 1);
        assert_eq!(overlaps(&[(1, 0, 100), (1, 10, 20), (1, 30, 40)]), 2);
    }
}
