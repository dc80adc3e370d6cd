//! Data-quality figures of a club's export: counts only, never a value, so that they can
//! travel in the manifest and be pasted into an e-mail.
//!
//! Fed record by record, table after table in canonical order (clients first), in the same
//! pass that exports (or, for `check`, dry-runs) each table. Memory: one 64-bit hash and a
//! registration date per client, one hash per membership or sale id, and the date ranges of
//! the non-cancelled memberships (for the overlap check).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::NaiveDate;
use clm_core::mapping::{MappedField, TableMapping};
use clm_core::schema::{ColumnType, PrivacyClass};
use clm_core::values::{self, DateFormat};
use serde::Serialize;
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

fn key(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
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
    ids: HashSet<u64>,
    duplicate_ids: u64,
    unknown_client: u64,
    end_before_start: u64,
    intervals: Vec<(u64, i32, i32)>,
    future: u64,
    before_1900: u64,
    negative: u64,
    before_registration: u64,
    no_contact: u64,
    contact_mapped: bool,
    client_checked: bool,
    category_pii: u64,
}

/// Accumulates the figures of every table of one export.
pub struct Quality {
    as_of: NaiveDate,
    since: Option<NaiveDate>,
    /// Client id hash → registration day.
    clients: HashMap<u64, Option<i32>>,
    have_clients: bool,
    tables: Vec<TableStats>,
}

/// Feeds the records of one table.
pub struct TableFeed<'q> {
    q: &'q mut Quality,
    cols: Vec<Col>,
    stats: TableStats,
    decimal_comma: bool,
}

impl Quality {
    pub fn new(as_of: NaiveDate, since: Option<NaiveDate>) -> Self {
        Quality {
            as_of,
            since,
            clients: HashMap::new(),
            have_clients: false,
            tables: Vec::new(),
        }
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
        let stats = TableStats {
            table: tm.table.clone(),
            id_field,
            contact_mapped,
            client_checked: tm.table != "clients" && self.have_clients,
            ..Default::default()
        };
        TableFeed {
            q: self,
            cols,
            stats,
            decimal_comma: tm.decimal_comma,
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
                let overlapping = overlaps(&t.intervals);
                add(
                    "overlapping_memberships",
                    warn(overlapping),
                    overlapping,
                    t.intervals.len() as u64,
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
fn overlaps(intervals: &[(u64, i32, i32)]) -> u64 {
    let mut v = intervals.to_vec();
    v.sort_unstable();
    let mut n = 0;
    let mut last: Option<(u64, i32)> = None;
    for (c, s, e) in v {
        match last {
            Some((lc, lend)) if lc == c => {
                if s <= lend {
                    n += 1;
                }
                last = Some((c, lend.max(e)));
            }
            _ => last = Some((c, e)),
        }
    }
    n
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
                if Some(&c.field) == s.id_field.as_ref() && !s.ids.insert(k) {
                    s.duplicate_ids += 1;
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
            if let Some(k) = client_key {
                self.q.clients.entry(k).or_insert(registered);
            }
            return;
        }
        if let (Some(a), Some(b)) = (start, end) {
            if b < a {
                s.end_before_start += 1;
            } else if !cancelled {
                if let Some(k) = client_key {
                    s.intervals.push((k, a, b));
                }
            }
        }
        if s.client_checked {
            if let Some(k) = client_key {
                match self.q.clients.get(&k) {
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
        }
    }

    /// Ends the table.
    pub fn finish(self) {
        let TableFeed { q, stats, .. } = self;
        if stats.table == "clients" {
            q.have_clients = true;
        }
        q.tables.push(stats);
    }
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

    #[test]
    fn overlap_counting() {
        assert_eq!(overlaps(&[(1, 0, 10), (1, 11, 20), (2, 0, 10)]), 0);
        assert_eq!(overlaps(&[(1, 0, 10), (1, 10, 20)]), 1);
        assert_eq!(overlaps(&[(1, 0, 100), (1, 10, 20), (1, 30, 40)]), 2);
    }
}
