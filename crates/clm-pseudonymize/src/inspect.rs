//! `clm-pseudonymize inspect`: reads a club's export files (CSV, or every sheet of a
//! workbook) and drafts the mapping TOML for them.
//!
//! Each source column is assigned to a canonical field when its header (Russian or English)
//! or its content says so: the PII detectors for phones, e-mails, names and documents, the
//! date and money parsers on a sample. Personal columns become `direct` fields (never
//! exported) with a comment saying why; unknown columns are left out (deny by default) with
//! a comment. The table of each file is guessed from its headers.
//!
//! The draft names columns and counts only: never a value of the files, not even a sample.
//! The value maps it proposes (gender, statuses, categories) are built-in vocabularies of
//! common CRM labels, printed whatever the file holds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use clm_core::detect::{self, Detector};
use clm_core::mapping::{Mapping, DEFAULT_NULL_MARKERS};
use clm_core::schema::{self, ColumnType, FieldDef, Generalize, PrivacyClass, TableSchema};
use clm_core::source::{self, RecordStatus, SourceReader, TableSource};
use clm_core::values::{self, DateFormat};
use clm_core::xlsx::{self, SheetReader};
use clm_core::{Error, Result};

/// Non-empty values per column that go through the detectors and parsers.
const SAMPLE: u64 = 5000;
/// Distinct values counted exactly up to this many per column.
const DISTINCT_CAP: usize = 200_000;
/// Share of the sample a content test must pass.
const FIT: f64 = 0.9;

/// Date patterns tried on the content, date-only form first, then its date-time form.
const DATE_PATTERNS: [(&str, &str); 7] = [
    ("DD.MM.YYYY", "DD.MM.YYYY HH:mm:ss"),
    ("YYYY-MM-DD", "YYYY-MM-DD HH:mm:ss"),
    ("DD/MM/YYYY", "DD/MM/YYYY HH:mm:ss"),
    ("DD-MM-YYYY", "DD-MM-YYYY HH:mm:ss"),
    ("YYYY.MM.DD", "YYYY.MM.DD HH:mm:ss"),
    ("DD.MM.YY", "DD.MM.YY HH:mm:ss"),
    ("YYYY-MM-DD", "YYYY-MM-DDTHH:mm:ss"),
];

fn date_formats() -> &'static [DateFormat] {
    static F: std::sync::OnceLock<Vec<DateFormat>> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        DATE_PATTERNS
            .iter()
            .map(|(_, dt)| DateFormat::parse_pattern(dt).expect("valid pattern"))
            .collect()
    })
}

/// What was learnt of one column (counts only).
#[derive(Debug, Default)]
struct ColStats {
    header: String,
    /// The header looks like a value (no header row?): never printed.
    header_is_data: bool,
    non_empty: u64,
    distinct: HashSet<u64>,
    distinct_capped: bool,
    /// A few short distinct values, kept in memory to count how many a value map covers;
    /// never printed.
    small: HashSet<String>,
    small_capped: bool,
    sampled: u64,
    detectors: BTreeMap<Detector, u64>,
    /// Per DATE_PATTERNS entry: values its date-time form reads.
    dates: [u64; DATE_PATTERNS.len()],
    with_time: u64,
    serial: u64,
    /// Values read by some date pattern, or serial numbers.
    any_date: u64,
    money_comma: u64,
    money_dot: u64,
    comma_fraction: u64,
    dot_fraction: u64,
    ints: u64,
    total_len: u64,
    multiline: u64,
}

impl ColStats {
    fn add(&mut self, v: &str) {
        let v = v.trim();
        if v.is_empty() {
            return;
        }
        self.non_empty += 1;
        if self.distinct.len() < DISTINCT_CAP {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            v.hash(&mut h);
            self.distinct.insert(h.finish());
        } else {
            self.distinct_capped = true;
        }
        if !self.small_capped && !self.small.contains(v) {
            if self.small.len() < 200 && v.chars().count() <= 64 {
                self.small.insert(v.to_string());
            } else {
                self.small_capped = true;
                self.small.clear();
            }
        }
        if self.sampled >= SAMPLE {
            return;
        }
        self.sampled += 1;
        self.total_len += v.chars().count() as u64;
        if v.contains('\n') || v.contains('\r') {
            self.multiline += 1;
        }
        for d in detect::hits(v) {
            *self.detectors.entry(d).or_default() += 1;
        }
        let mut any_date = false;
        for (i, f) in date_formats().iter().enumerate() {
            if let Ok(t) = f.parse_datetime(v) {
                self.dates[i] += 1;
                if !any_date && (t.time() != chrono::NaiveTime::MIN || v.contains(':')) {
                    self.with_time += 1;
                }
                any_date = true;
            }
        }
        let numeric = v
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',');
        let mut serial = false;
        if numeric && v.bytes().any(|b| b.is_ascii_digit()) {
            if let Ok(f) = v.replace(',', ".").parse::<f64>() {
                if (1.0..2_958_466.0).contains(&f) {
                    self.serial += 1;
                    serial = true;
                }
            }
        }
        if any_date || serial {
            self.any_date += 1;
        }
        if values::parse_money(v, true).is_ok() {
            self.money_comma += 1;
        }
        if values::parse_money(v, false).is_ok() {
            self.money_dot += 1;
        }
        let b = v.as_bytes();
        let frac = |sep: u8| {
            b.iter()
                .rposition(|c| *c == sep)
                .is_some_and(|p| p > 0 && (1..=2).contains(&(b.len() - p - 1)))
                && b.iter()
                    .rev()
                    .take_while(|c| **c != sep)
                    .all(|c| c.is_ascii_digit())
        };
        if frac(b',') {
            self.comma_fraction += 1;
        }
        if frac(b'.') && !v.contains(',') {
            self.dot_fraction += 1;
        }
        if values::parse_int(v).is_ok() {
            self.ints += 1;
        }
    }

    fn share(&self, n: u64) -> f64 {
        if self.sampled == 0 {
            0.0
        } else {
            n as f64 / self.sampled as f64
        }
    }

    fn distinct(&self) -> String {
        if self.distinct_capped {
            format!("over {DISTINCT_CAP}")
        } else {
            self.distinct.len().to_string()
        }
    }

    /// The best date pattern and the share of the sample it reads.
    fn best_date(&self) -> Option<(usize, f64)> {
        let (i, n) = self
            .dates
            .iter()
            .enumerate()
            .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))?;
        (*n > 0).then(|| (i, self.share(*n)))
    }

    /// The strongest detector and its share of the sample.
    fn top_detector(&self) -> Option<(Detector, f64)> {
        self.detectors
            .iter()
            .max_by_key(|(d, n)| (**n, std::cmp::Reverse(**d)))
            .map(|(d, n)| (*d, self.share(*n)))
    }
}

/// One table-like source: a CSV file or a sheet.
struct Profile {
    path: PathBuf,
    sheet: Option<String>,
    describe: String,
    encoding: Option<&'static str>,
    delimiter: Option<u8>,
    rows: u64,
    unreadable: u64,
    cols: Vec<ColStats>,
}

impl Profile {
    fn decimal_comma(&self) -> bool {
        let comma: u64 = self.cols.iter().map(|c| c.comma_fraction).sum();
        let dot: u64 = self.cols.iter().map(|c| c.dot_fraction).sum();
        comma >= dot
    }
}

fn profile(
    mut src: TableSource,
    path: &Path,
    sheet: Option<String>,
    sniff: Option<&source::CsvSniff>,
) -> Result<Profile> {
    // A first row with a value-like cell that does not read as column names is a row of
    // data (no header row): none of its cells is printed, not even those no detector knows.
    let headers = src.headers();
    let row_is_data = headers.iter().any(|h| source::header_looks_like_data(h))
        && !source::header_row_is_names(headers);
    let mut cols: Vec<ColStats> = headers
        .iter()
        .map(|h| ColStats {
            header: h.clone(),
            header_is_data: row_is_data || source::header_looks_like_data(h),
            ..Default::default()
        })
        .collect();
    let mut rec = csv::StringRecord::new();
    let (mut rows, mut unreadable) = (0u64, 0u64);
    while let Some(st) = src.next_record(&mut rec)? {
        rows += 1;
        if st != RecordStatus::Ok {
            unreadable += 1;
            continue;
        }
        for (c, v) in cols.iter_mut().zip(rec.iter()) {
            c.add(v);
        }
    }
    Ok(Profile {
        path: path.to_path_buf(),
        describe: src.describe(),
        sheet,
        encoding: sniff.map(|s| s.encoding),
        delimiter: sniff.map(|s| s.delimiter),
        rows,
        unreadable,
        cols,
    })
}

fn null_markers() -> Vec<String> {
    DEFAULT_NULL_MARKERS.iter().map(|s| s.to_string()).collect()
}

/// Reads each file (every sheet of a workbook).
fn profiles(files: &[PathBuf]) -> Result<(Vec<Profile>, Vec<String>)> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for path in files {
        if source::is_workbook(path) {
            for name in xlsx::sheet_names(path, xlsx::DEFAULT_MAX_UNPACKED)? {
                let render = xlsx::Render {
                    decimal_comma: true,
                    ..xlsx::Render::default()
                };
                match SheetReader::open(path, Some(&name), &render) {
                    Ok(r) => out.push(profile(
                        TableSource::from_sheet(r, null_markers()),
                        path,
                        Some(name),
                        None,
                    )?),
                    Err(e) => notes.push(format!("{}: skipped: {e}", display(path))),
                }
            }
        } else {
            let sniff = source::sniff_csv(path)?;
            let enc = match sniff.encoding {
                "cp1251" => clm_core::mapping::Encoding::Cp1251,
                "utf-8" => clm_core::mapping::Encoding::Utf8,
                _ => clm_core::mapping::Encoding::Auto,
            };
            let r = SourceReader::open(path, enc, sniff.delimiter)?;
            out.push(profile(
                TableSource::from_csv(r, null_markers()),
                path,
                None,
                Some(&sniff),
            )?);
        }
    }
    Ok((out, notes))
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

// ---------------------------------------------------------------------------------------
// Headers

use clm_core::synonyms::{word_match, words};

/// Header patterns per field: `schemas/synonyms.toml` (its head explains the syntax).
fn synonyms(table: &str, field: &str) -> &'static [String] {
    clm_core::synonyms::patterns(table, field)
}

/// 3: the whole header; 2: the pattern's words in the header; 0: no match.
fn header_score(header: &[String], pattern: &str) -> u32 {
    let (exact, pat) = match pattern.strip_prefix('=') {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    let pw = words(pat);
    if pw.is_empty() {
        return 0;
    }
    if header == pw.as_slice() {
        return 3;
    }
    if exact {
        return 0;
    }
    let mut i = 0;
    for w in header {
        if i < pw.len() && word_match(&pw[i], w) {
            i += 1;
        }
    }
    if i == pw.len() {
        2
    } else {
        0
    }
}

fn best_header_score(table: &str, field: &str, header: &[String]) -> u32 {
    synonyms(table, field)
        .iter()
        .map(|p| header_score(header, p))
        .max()
        .unwrap_or(0)
}

/// Extra weight of a field that says which table a file is.
fn weight(table: &str, field: &str) -> i64 {
    match (table, field) {
        (
            "clients",
            "full_name" | "phone" | "email" | "birth_date" | "registered_on" | "gender",
        ) => 2,
        (
            "memberships",
            "membership_id" | "start_date" | "end_date" | "product" | "freeze_days",
        ) => 3,
        ("visits", "visited_at" | "kind") => 3,
        ("services", "service") => 3,
        ("sales", "sale_id" | "item" | "quantity" | "amount") => 3,
        ("feedback", "score" | "comment") => 3,
        _ => 0,
    }
}

/// Words of file names that name a table.
fn file_hint(p: &Profile, table: &str) -> i64 {
    let name = format!(
        "{} {}",
        p.path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
        p.sheet.clone().unwrap_or_default()
    )
    .to_lowercase();
    let hints: &[&str] = match table {
        "clients" => &["client", "клиент", "customer", "контрагент"],
        "memberships" => &[
            "membership",
            "абонемент",
            "subscription",
            "договор",
            "contract",
        ],
        "visits" => &["visit", "посещ", "визит", "вход", "checkin"],
        "services" => &["service", "услуг", "занят", "трениров"],
        "sales" => &["sale", "продаж", "чек", "оплат", "payment", "receipt"],
        "feedback" => &["feedback", "отзыв", "опрос", "nps", "оценк"],
        _ => &[],
    };
    if hints.iter().any(|h| name.contains(h)) {
        6
    } else {
        0
    }
}

// ---------------------------------------------------------------------------------------
// Content

/// Whether a column's content fits a field; `Err` says why not (counts only). In a sheet,
/// date cells and serial numbers both become dates, and a column may mix them with text
/// dates: any date form counts.
fn content_fits(
    f: &FieldDef,
    c: &ColStats,
    decimal_comma: bool,
    sheet: bool,
) -> std::result::Result<(), String> {
    if c.sampled == 0 {
        return Ok(());
    }
    let wants_date = matches!(
        f.column_type,
        Some(ColumnType::Date | ColumnType::Timestamp)
    ) || f.generalize == Some(Generalize::AgeBand);
    if wants_date {
        let best = c.best_date().map(|(_, s)| s).unwrap_or(0.0);
        if best >= FIT || c.share(c.serial) >= FIT || (sheet && c.share(c.any_date) >= FIT) {
            return Ok(());
        }
        return Err(format!(
            "{:.0}% of the sampled values read as dates",
            100.0 * best.max(c.share(c.serial))
        ));
    }
    match f.column_type {
        Some(ColumnType::Money) => {
            let ok = if decimal_comma {
                c.money_comma
            } else {
                c.money_dot
            };
            if c.share(ok) < FIT {
                return Err(format!(
                    "{:.0}% of the sampled values read as amounts",
                    100.0 * c.share(ok)
                ));
            }
        }
        Some(ColumnType::Int) if c.share(c.ints) < FIT => {
            return Err(format!(
                "{:.0}% of the sampled values read as whole numbers",
                100.0 * c.share(c.ints)
            ));
        }
        _ => {}
    }
    if f.class == PrivacyClass::Identifier {
        if let Some((Detector::FullName, s)) = c.top_detector() {
            if s >= 0.5 {
                return Err(format!(
                    "{:.0}% of the sampled values look like full names",
                    100.0 * s
                ));
            }
        }
    }
    if f.values.is_some() && !c.distinct_capped && c.distinct.len() > 50 {
        return Err(format!(
            "{} distinct values for a short list of states",
            c.distinct.len()
        ));
    }
    Ok(())
}

/// The direct field a column's content points to, by the strongest detector.
fn content_direct(table: &TableSchema, c: &ColStats) -> Option<(&'static str, Detector, f64)> {
    let (d, s) = c.top_detector()?;
    let threshold = match d {
        // Numeric ids can pass the phone, SNILS, INN and card checks by chance.
        Detector::Phone | Detector::Snils | Detector::Inn | Detector::PaymentCard => 0.8,
        _ => 0.6,
    };
    if s < threshold {
        return None;
    }
    let field = match d {
        Detector::Email => "email",
        Detector::Phone => "phone",
        Detector::PaymentCard => "card_number",
        Detector::Passport => "passport",
        Detector::FullName => {
            if table.field("full_name").is_some() {
                "full_name"
            } else {
                "staff_name"
            }
        }
        _ => return Some(("", d, s)),
    };
    Some((
        if table.field(field).is_some() {
            field
        } else {
            ""
        },
        d,
        s,
    ))
}

// ---------------------------------------------------------------------------------------
// Assignment

#[derive(Debug, Clone)]
struct Assigned {
    field: String,
    col: usize,
    why: String,
}

struct Draft {
    table: String,
    score: i64,
    runner_up: Option<(String, i64)>,
    fields: Vec<Assigned>,
    /// Column → why it was left out.
    left_out: Vec<(usize, String)>,
    missing_required: Vec<String>,
    decimal_comma: bool,
}

fn assign(
    p: &Profile,
    ts: &TableSchema,
    decimal_comma: bool,
) -> (i64, Vec<Assigned>, Vec<(usize, String)>) {
    let headers: Vec<Vec<String>> = p
        .cols
        .iter()
        .map(|c| {
            if c.header_is_data {
                Vec::new()
            } else {
                words(&c.header)
            }
        })
        .collect();
    // Every (score, field, column) the headers allow, best first.
    let mut cands: Vec<(u32, usize, usize)> = Vec::new();
    for (fi, f) in ts.fields.iter().enumerate() {
        for (ci, h) in headers.iter().enumerate() {
            let s = best_header_score(&ts.table, &f.name, h);
            if s > 0 {
                cands.push((s, fi, ci));
            }
        }
    }
    cands.sort_by_key(|(s, fi, ci)| (std::cmp::Reverse(*s), *fi, *ci));
    let mut field_used = vec![false; ts.fields.len()];
    let mut col_used = vec![false; p.cols.len()];
    let mut notes: HashMap<usize, String> = HashMap::new();
    let mut out = Vec::new();
    let mut score = 0i64;
    for (s, fi, ci) in cands {
        if field_used[fi] || col_used[ci] {
            continue;
        }
        let f = &ts.fields[fi];
        let c = &p.cols[ci];
        if let Err(why) = content_fits(f, c, decimal_comma, p.sheet.is_some()) {
            notes
                .entry(ci)
                .or_insert(format!("the header suggests {}, but {why}", f.name));
            continue;
        }
        field_used[fi] = true;
        col_used[ci] = true;
        score += s as i64 + weight(&ts.table, &f.name);
        let mut why = format!("header{}", if s == 3 { "" } else { " (partly)" });
        if f.class == PrivacyClass::Direct {
            why = format!("personal, never exported: {why}");
            if let Some((d, sh)) = c.top_detector() {
                if sh >= 0.3 {
                    why.push_str(&format!("; content: {} {:.0}%", d.name(), 100.0 * sh));
                }
            }
        }
        out.push(Assigned {
            field: f.name.clone(),
            col: ci,
            why,
        });
    }
    // Content alone: personal columns the headers did not name.
    for (ci, c) in p.cols.iter().enumerate() {
        if col_used[ci] {
            continue;
        }
        if c.header_is_data {
            notes.insert(
                ci,
                "its header looks like a value, not a name (is the header row missing?)".into(),
            );
            continue;
        }
        if let Some((field, d, sh)) = content_direct(ts, c) {
            let fi = ts.fields.iter().position(|f| f.name == field);
            match fi {
                Some(fi) if !field_used[fi] => {
                    field_used[fi] = true;
                    col_used[ci] = true;
                    out.push(Assigned {
                        field: field.to_string(),
                        col: ci,
                        why: format!(
                            "personal, never exported: content: {} {:.0}% (the header did not say)",
                            d.name(),
                            100.0 * sh
                        ),
                    });
                }
                _ => {
                    notes.insert(
                        ci,
                        format!(
                            "looks personal (content: {} {:.0}%); no field of {} takes it",
                            d.name(),
                            100.0 * sh,
                            ts.table
                        ),
                    );
                }
            }
        }
    }
    let mut left_out = Vec::new();
    for (ci, c) in p.cols.iter().enumerate() {
        if col_used[ci] {
            continue;
        }
        let why = notes.remove(&ci).unwrap_or_else(|| {
            if c.non_empty == 0 {
                "always empty".to_string()
            } else if c.sampled > 0 && c.total_len / c.sampled > 40 {
                "looks like free text".to_string()
            } else {
                "no canonical field matches its header".to_string()
            }
        });
        left_out.push((ci, why));
    }
    // A required field found by content scores little, but spares the table the penalty.
    score += content_fallback(p, ts, decimal_comma, &mut out, &mut left_out) as i64;
    for f in &ts.fields {
        if f.required && !out.iter().any(|a| a.field == f.name) {
            score -= 4;
        }
    }
    score += file_hint(p, &ts.table);
    out.sort_by_key(|a| ts.fields.iter().position(|f| f.name == a.field));
    (score, out, left_out)
}

/// Whether a column holds codes that can be a table's own id: one in every row, all
/// distinct, short, and neither dates, amounts nor personal data.
fn unique_codes(p: &Profile, c: &ColStats) -> bool {
    let readable = p.rows.saturating_sub(p.unreadable);
    c.non_empty >= 2
        && c.non_empty >= readable
        && !c.distinct_capped
        && c.distinct.len() as u64 == c.non_empty
        && c.sampled > 0
        && c.total_len / c.sampled <= 40
        && c.best_date().is_none_or(|(_, s)| s < 0.5)
        && c.share(c.comma_fraction + c.dot_fraction) < 0.5
        && c.top_detector().is_none_or(|(_, s)| s < 0.3)
        && c.multiline == 0
}

/// Required fields of the chosen table that no header named, found by content among the
/// columns left out: the table's own id (`membership_id`, `sale_id`; `client_id` of the
/// clients table) in the first column of unique codes, an event time (`visited_at`,
/// `sold_at`, `done_at`) in the first column of date-times. Said so in the draft, to check.
fn content_fallback(
    p: &Profile,
    ts: &TableSchema,
    decimal_comma: bool,
    fields: &mut Vec<Assigned>,
    left_out: &mut Vec<(usize, String)>,
) -> usize {
    let mut found = 0;
    for f in &ts.fields {
        if !f.required || fields.iter().any(|a| a.field == f.name) {
            continue;
        }
        let own_id = f.class == PrivacyClass::Identifier
            && (f.domain.as_deref() != Some("client") || ts.table == "clients");
        let event_time = f.column_type == Some(ColumnType::Timestamp);
        if !own_id && !event_time {
            continue;
        }
        let pick = left_out.iter().position(|(ci, _)| {
            let c = &p.cols[*ci];
            if c.header_is_data || c.non_empty == 0 {
                return false;
            }
            if content_fits(f, c, decimal_comma, p.sheet.is_some()).is_err() {
                return false;
            }
            if own_id {
                unique_codes(p, c)
            } else {
                c.share(c.with_time) >= FIT
            }
        });
        let Some(k) = pick else { continue };
        let (ci, _) = left_out.remove(k);
        let why = if own_id {
            format!(
                "content: every value distinct, one per row (the header did not say): check that it is the {} id",
                ts.table
            )
        } else {
            "content: dates with times (the header did not say): check that it is the event's time"
                .to_string()
        };
        fields.push(Assigned {
            field: f.name.clone(),
            col: ci,
            why,
        });
        found += 1;
    }
    found
}

/// A table's score for a source, its assigned fields and the columns left out.
type Scored<'a> = (i64, &'a TableSchema, Vec<Assigned>, Vec<(usize, String)>);

fn draft(p: &Profile) -> Draft {
    let dc = p.decimal_comma();
    let canon = schema::canonical();
    let mut scored: Vec<Scored> = canon
        .tables
        .iter()
        .map(|ts| {
            let (s, a, l) = assign(p, ts, dc);
            (s, ts, a, l)
        })
        .collect();
    // Stable: ties keep canonical order.
    scored.sort_by_key(|(s, ..)| std::cmp::Reverse(*s));
    let runner_up = scored.get(1).map(|(s, ts, ..)| (ts.table.clone(), *s));
    let (score, ts, fields, left_out) = scored.swap_remove(0);
    let missing_required = ts
        .fields
        .iter()
        .filter(|f| f.required && !fields.iter().any(|a| a.field == f.name))
        .map(|f| f.name.clone())
        .collect();
    Draft {
        table: ts.table.clone(),
        score,
        runner_up,
        fields,
        left_out,
        missing_required,
        decimal_comma: dc,
    }
}

// ---------------------------------------------------------------------------------------
// Output

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn map_text(pairs: &[(&str, &str)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", q(k), q(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

/// Built-in vocabularies: common CRM labels → canonical values.
fn value_map(table: &str, field: &str) -> Option<&'static [(&'static str, &'static str)]> {
    Some(match (table, field) {
        (_, "gender") => &[
            ("Ж", "f"),
            ("ж", "f"),
            ("Жен", "f"),
            ("жен", "f"),
            ("Женский", "f"),
            ("женский", "f"),
            ("F", "f"),
            ("f", "f"),
            ("М", "m"),
            ("м", "m"),
            ("Муж", "m"),
            ("муж", "m"),
            ("Мужской", "m"),
            ("мужской", "m"),
            ("M", "m"),
            ("m", "m"),
        ],
        ("memberships", "status") => &[
            ("Активен", "active"),
            ("Активный", "active"),
            ("Действует", "active"),
            ("Действующий", "active"),
            ("Закрыт", "active"),
            ("Завершен", "active"),
            ("Завершён", "active"),
            ("Истек", "active"),
            ("Истёк", "active"),
            ("Заморожен", "frozen"),
            ("Заморозка", "frozen"),
            ("Аннулирован", "cancelled"),
            ("Отменен", "cancelled"),
            ("Отменён", "cancelled"),
            ("Возврат", "cancelled"),
            ("active", "active"),
            ("frozen", "frozen"),
            ("cancelled", "cancelled"),
        ],
        ("services", "status") => &[
            ("Проведено", "done"),
            ("Проведена", "done"),
            ("Оказана", "done"),
            ("Оказано", "done"),
            ("Выполнено", "done"),
            ("Посетил", "done"),
            ("Неявка", "no_show"),
            ("Не пришел", "no_show"),
            ("Не пришёл", "no_show"),
            ("Отменено", "cancelled"),
            ("Отменена", "cancelled"),
            ("Отмена", "cancelled"),
            ("done", "done"),
            ("no_show", "no_show"),
            ("cancelled", "cancelled"),
        ],
        ("services", "category") => &[
            ("Стартовый пакет", "starter"),
            ("Вводная", "starter"),
            ("Вводное занятие", "starter"),
            ("Персональная тренировка", "personal_training"),
            ("Персональные тренировки", "personal_training"),
            ("Персональная", "personal_training"),
            ("Групповое занятие", "group"),
            ("Групповые", "group"),
            ("Групповые занятия", "group"),
            ("Групповая программа", "group"),
        ],
        ("sales", "category") => &[
            ("Абонемент", "membership"),
            ("Абонементы", "membership"),
            ("Стартовый пакет", "starter"),
            ("Персональные тренировки", "personal_training"),
            ("Персональная тренировка", "personal_training"),
            ("Групповые", "group"),
            ("Групповые занятия", "group"),
            ("Бар", "retail"),
            ("Магазин", "retail"),
            ("Товары", "retail"),
            ("Услуги", "service"),
            ("Услуга", "service"),
        ],
        _ => return None,
    })
}

/// Every source label of the built-in value maps (the only file texts a draft may contain,
/// because they are printed whatever the files hold).
pub fn builtin_labels() -> HashSet<&'static str> {
    let mut out = HashSet::new();
    for t in schema::canonical().tables.iter() {
        for f in &t.fields {
            if let Some(m) = value_map(&t.table, &f.name) {
                out.extend(m.iter().map(|(k, _)| *k));
            }
        }
    }
    out
}

/// The date pattern of a table (the most common among its date columns).
fn table_date_pattern(p: &Profile, d: &Draft) -> usize {
    let mut votes = [0u64; DATE_PATTERNS.len()];
    for a in &d.fields {
        let c = &p.cols[a.col];
        if let Some((i, s)) = c.best_date() {
            if s >= FIT {
                votes[i] += 1;
            }
        }
    }
    votes
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
        .unwrap_or(0)
}

fn rel_path(file: &Path, base: Option<&Path>) -> String {
    if let Some(base) = base {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let f = canon(file);
        let b = canon(base);
        if let Ok(r) = f.strip_prefix(&b) {
            return r.to_string_lossy().replace('\\', "/");
        }
        return f.to_string_lossy().to_string();
    }
    file.to_string_lossy().to_string()
}

/// A column's name for a comment: quoted, or its position when the header looks like a value.
fn col_name(c: &ColStats, i: usize) -> String {
    if c.header_is_data {
        format!("column {}", i + 1)
    } else {
        q(&c.header)
    }
}

fn write_table(out: &mut String, p: &Profile, d: &Draft, base: Option<&Path>, active: bool) {
    let canon = schema::canonical();
    let ts = canon.table(&d.table).expect("canonical");
    let mut t = String::new();
    let pat = table_date_pattern(p, d);
    let (date_fmt, dt_fmt) = DATE_PATTERNS[pat];
    let _ = writeln!(t, "[tables.{}]", d.table);
    let _ = writeln!(t, "file = {}", q(&rel_path(&p.path, base)));
    if let Some(s) = &p.sheet {
        let _ = writeln!(t, "sheet = {}", q(s));
    }
    if let Some(enc) = p.encoding {
        let e = match enc {
            "utf-8" | "cp1251" => enc,
            _ => "auto",
        };
        let _ = writeln!(t, "encoding = {}", q(e));
    }
    if let Some(dl) = p.delimiter {
        let _ = writeln!(
            t,
            "delimiter = {}",
            if dl == b'\t' {
                "\"\\t\"".to_string()
            } else {
                q(&(dl as char).to_string())
            }
        );
    }
    let _ = writeln!(t, "date_format = {}", q(date_fmt));
    let _ = writeln!(t, "datetime_format = {}", q(dt_fmt));
    let _ = writeln!(t, "decimal_comma = {}", d.decimal_comma);
    let _ = writeln!(t, "\n[tables.{}.fields]", d.table);
    for m in &d.missing_required {
        let _ = writeln!(
            t,
            "# TODO: the required field {m} was not found: name its column, e.g. {m} = \"…\""
        );
    }
    for a in &d.fields {
        let c = &p.cols[a.col];
        let f = ts.field(&a.field).expect("a field of the table");
        let _ = writeln!(
            t,
            "# {}: {} non-empty of {} rows, {} distinct. {}",
            q(&c.header),
            c.non_empty,
            p.rows,
            c.distinct(),
            a.why
        );
        let mut opts: Vec<String> = Vec::new();
        let wants_date = matches!(
            f.column_type,
            Some(ColumnType::Date | ColumnType::Timestamp)
        ) || f.generalize == Some(Generalize::AgeBand);
        if wants_date {
            let best = c.best_date();
            let fmt = if p.sheet.is_none()
                && c.sampled > 0
                && c.share(c.serial) >= FIT
                && best.is_none_or(|(_, s)| s < FIT)
            {
                Some(values::EXCEL_SERIAL.to_string())
            } else {
                let (i, _) = best.unwrap_or((pat, 0.0));
                let timed = f.column_type == Some(ColumnType::Timestamp) || c.with_time > 0;
                let chosen = if timed {
                    DATE_PATTERNS[i].1
                } else {
                    DATE_PATTERNS[i].0
                };
                let default = if f.column_type == Some(ColumnType::Timestamp) {
                    dt_fmt
                } else {
                    date_fmt
                };
                (chosen != default).then(|| chosen.to_string())
            };
            if let Some(fm) = fmt {
                opts.push(format!("format = {}", q(&fm)));
            }
        }
        match a.field.as_str() {
            "phone" => opts.push("normalize = \"digits\"".into()),
            "email" => opts.push("normalize = \"casefold\"".into()),
            _ => {}
        }
        if let Some(vm) = value_map(&d.table, &a.field) {
            opts.push(format!("map = {}", map_text(vm)));
            let vocab = f.values.clone().unwrap_or_default();
            if !c.small_capped && !c.small.is_empty() {
                let uncovered = c
                    .small
                    .iter()
                    .filter(|v| !vm.iter().any(|(k, _)| k == v) && !vocab.contains(v))
                    .count();
                if uncovered > 0 {
                    let what = match f.unknown.as_deref() {
                        None | Some("reject") => "rows with them are rejected".to_string(),
                        Some("null") => "they become empty".to_string(),
                        Some(v) => format!("they become {v:?}"),
                    };
                    let _ = writeln!(
                        t,
                        "# TODO: {uncovered} of the column's {} distinct values are not in this map ({what}): add them",
                        c.small.len()
                    );
                }
            }
        }
        if f.class == PrivacyClass::Category && f.values.is_none() {
            if let Some((d, s)) = c.top_detector() {
                if s > 0.0 {
                    let _ = writeln!(
                        t,
                        "# WARNING: {:.1}% of the sampled values look like {} (personal data): the export stops on them unless they are cleaned or --redact is given",
                        100.0 * s,
                        d.name()
                    );
                }
            }
        }
        if opts.is_empty() {
            let _ = writeln!(t, "{} = {}", a.field, q(&c.header));
        } else {
            let _ = writeln!(
                t,
                "{} = {{ column = {}, {} }}",
                a.field,
                q(&c.header),
                opts.join(", ")
            );
        }
    }
    if !d.left_out.is_empty() {
        let _ = writeln!(
            t,
            "# Left out (deny by default: dropped, and listed by name in the manifest):"
        );
        for (ci, why) in &d.left_out {
            let c = &p.cols[*ci];
            let _ = writeln!(
                t,
                "#   {}: {} non-empty, {} distinct: {why}",
                col_name(c, *ci),
                c.non_empty,
                c.distinct()
            );
        }
    }
    if active {
        out.push_str(&t);
    } else {
        for line in t.lines() {
            if line.starts_with('#') || line.is_empty() {
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(out, "# {line}");
            }
        }
    }
}

/// Drafts a mapping for `files`. Relative `file` paths are written relative to
/// `mapping_dir` (where the draft will be saved), or as given when it is `None`.
pub fn inspect(files: &[PathBuf], mapping_dir: Option<&Path>) -> Result<String> {
    if files.is_empty() {
        return Err(Error::Other("inspect: name at least one file".into()));
    }
    let (profiles, notes) = profiles(files)?;
    let drafts: Vec<Draft> = profiles.iter().map(draft).collect();
    // One source per table: the best-scoring one; others are written commented out.
    let mut best: HashMap<&str, usize> = HashMap::new();
    for (i, d) in drafts.iter().enumerate() {
        if d.score <= 0 {
            continue;
        }
        match best.get(d.table.as_str()) {
            Some(&j) if drafts[j].score >= d.score => {}
            _ => {
                best.insert(&d.table, i);
            }
        }
    }
    let mut out = String::new();
    out.push_str(
        "# clm source mapping, drafted by `clm-pseudonymize inspect`. A DRAFT: read every line and\n\
         # correct it before the first export (schemas/example-mapping.toml documents the format).\n\
         # It names columns and counts only, never a value of the files.\n\
         #\n\
         # Deny by default: a source column that no field below names is dropped; the manifest\n\
         # lists it by name. Fields of class `direct` (names, phones, e-mails, documents, notes)\n\
         # are never exported: they are mapped so that on-site tools (reidentify, audit) find them.\n\
         # Value maps are built-in lists of common CRM labels: check them against your system's.\n\n\
         # The club's name as the consultant will see it in a portfolio (optional; default: the\n\
         # bundle directory's name). It must stay above the first [section].\n\
         # club = \"Our club\"\n\n",
    );
    for n in &notes {
        let _ = writeln!(out, "# {n}");
    }
    let markers: Vec<String> = DEFAULT_NULL_MARKERS.iter().map(|m| q(m)).collect();
    let _ = writeln!(
        out,
        "[source]\n# Cell texts read as empty.\nnull_markers = [{}]\n",
        markers.join(", ")
    );
    out.push_str(
        "[policy]\nrare_k = 5                   # category values used by fewer clients become \"other\"\n\
         age_bands = [18, 25, 35, 45, 55, 65]\ntruncate_timestamps = \"hour\" # hour | day | none\n\n",
    );
    if !best.contains_key("clients") {
        out.push_str(
            "# TODO: no file looks like the clients table. Add it if the CRM exports one; without it the\n\
             # export derives the clients from the other tables' client ids (client_pid, and registered_on\n\
             # = the day of the first event; nothing else is known of them).\n\n",
        );
    }
    let canon = schema::canonical();
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by_key(|&i| {
        (
            canon.tables.iter().position(|t| t.table == drafts[i].table),
            i,
        )
    });
    for i in order {
        let p = &profiles[i];
        let d = &drafts[i];
        let active = best.get(d.table.as_str()) == Some(&i);
        let name = match &p.sheet {
            Some(s) => format!("{}, sheet {}", display_name(&p.path), q(s)),
            None => display_name(&p.path),
        };
        let _ = writeln!(
            out,
            "# {name}: {}{}, {} rows ({} unreadable), {} columns.",
            p.describe,
            p.delimiter
                .map(|d| format!(", delimiter {}", q(&(d as char).to_string())))
                .unwrap_or_default(),
            p.rows,
            p.unreadable,
            p.cols.len()
        );
        let _ = writeln!(
            out,
            "# Looks like the {} table (score {}{}).",
            d.table,
            d.score,
            d.runner_up
                .as_ref()
                .map(|(t, s)| format!("; next: {t} {s}"))
                .unwrap_or_default()
        );
        if !active {
            if d.score <= 0 {
                out.push_str("# Could not tell which table this is: left commented out.\n");
            } else {
                out.push_str("# Another source looks more like this table: left commented out.\n");
            }
        }
        write_table(&mut out, p, d, mapping_dir, active);
        out.push('\n');
    }
    Ok(out)
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| display(p))
}

/// Drafts and checks that the draft parses as a mapping (it may still lack fields).
pub fn inspect_checked(
    files: &[PathBuf],
    mapping_dir: Option<&Path>,
) -> Result<(String, Option<String>)> {
    inspect_checked_named(files, mapping_dir, None)
}

/// [`inspect_checked`], the problem naming the draft as the user will find it: the `--out`
/// file, or the standard output.
pub fn inspect_checked_named(
    files: &[PathBuf],
    mapping_dir: Option<&Path>,
    out: Option<&Path>,
) -> Result<(String, Option<String>)> {
    let text = inspect(files, mapping_dir)?;
    let base = mapping_dir.map(Path::to_path_buf).unwrap_or_default();
    let name = out.unwrap_or(Path::new("(the draft on standard output)"));
    let problem = Mapping::parse(name, &text, &base)
        .err()
        .map(|e| e.to_string());
    Ok((text, problem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_problem_names_the_real_output() {
        let d = tempfile::tempdir().unwrap();
        // Columns no table takes: the draft maps nothing and does not load.
        let f = d.path().join("export.csv");
        std::fs::write(&f, "Foo;Bar\nx;y\n").unwrap();
        let out = d.path().join("club-mapping.toml");
        let (_, problem) =
            inspect_checked_named(std::slice::from_ref(&f), Some(d.path()), Some(&out)).unwrap();
        let problem = problem.expect("no table: the draft does not load");
        assert!(problem.contains("club-mapping.toml"), "{problem}");
        assert!(!problem.contains("draft.toml"), "{problem}");
        let (_, problem) = inspect_checked_named(&[f], None, None).unwrap();
        assert!(problem.unwrap().contains("standard output"));
    }

    #[test]
    fn the_draft_offers_the_club_name_line() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("clients.csv");
        std::fs::write(&f, "Код клиента;Филиал\n1;Центр\n2;Центр\n").unwrap();
        let draft = inspect(std::slice::from_ref(&f), Some(d.path())).unwrap();
        assert!(draft.contains("# club = \"Our club\""), "{draft}");
        // Uncommented where it stands, the line names the club of the mapping.
        let named = draft.replace("# club = \"Our club\"", "club = \"Our club\"");
        let m = Mapping::parse(&d.path().join("m.toml"), &named, d.path()).unwrap();
        assert_eq!(m.club.as_deref(), Some("Our club"));
    }

    #[test]
    fn header_matching() {
        let h = words("Код клиента");
        assert_eq!(header_score(&h, "=код клиента"), 3);
        assert_eq!(header_score(&words("Дата регистрации"), "регистрац"), 2);
        assert_eq!(header_score(&words("Код тренера"), "=код"), 0);
        assert_eq!(header_score(&words("E-mail"), "e mail"), 3);
        assert_eq!(header_score(&words("Дней заморозки"), "заморозк"), 2);
        assert_eq!(
            best_header_score("clients", "client_id", &words("Client ID")),
            3
        );
        assert_eq!(best_header_score("clients", "phone", &words("Phone")), 3);
        assert_eq!(
            best_header_score("memberships", "product", &words("Номер абонемента")),
            0
        );
    }
}
