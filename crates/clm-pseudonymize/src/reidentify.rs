//! `clm-pseudonymize reidentify`: a consultant's pseudonym list back into a call list, on
//! site (SPEC §1).
//!
//! The consultant sends a CSV with a `client_pid` column (and whatever else: stage, action,
//! …). Pids cannot be reversed, so the source clients table is read once and every client id
//! in it is pseudonymized again with the key, exactly as the export does; the rows whose pid
//! the list asks for give their name, phone and e-mail. Memory holds the list (small) and the
//! personal data of the clients it asks for, never the whole source.
//!
//! The output holds personal data: it is written once (never over an existing file), with
//! mode 0600, and the caller is told to keep it on site. Messages name rows and columns,
//! never a value: not a pid the list gets wrong, not a name.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clm_core::keys::PseudonymKey;
use clm_core::mapping::{MappedField, Mapping, TableMapping};
use clm_core::pid::{Domain, Pseudonymizer};
use clm_core::schema::PrivacyClass;
use clm_core::source::{self, open_table, RecordStatus, SourceReader};
use clm_core::{Error, Result};

pub use crate::csv_cells::looks_like_formula;
use crate::csv_cells::neutralize;

/// The column of the consultant's list that holds the pids.
pub const PID_COLUMN: &str = "client_pid";
/// The column the call list adds to say whether a row's client was found.
pub const FOUND_COLUMN: &str = "found";
/// `found` values.
pub const FOUND_YES: &str = "yes";
pub const FOUND_NO: &str = "no";
pub const FOUND_MALFORMED: &str = "malformed pid";

/// The direct fields of the clients table a call list carries, in this order, when the
/// mapping maps them (passports, addresses, card numbers and notes are no use for a call).
pub const PERSONAL_FIELDS: [&str; 6] = [
    "full_name",
    "last_name",
    "first_name",
    "middle_name",
    "phone",
    "email",
];

#[derive(Debug, Clone)]
pub struct ReidentifyOptions {
    pub mapping: PathBuf,
    /// Key file, or `None` for `CLM_PSEUDONYM_KEY`.
    pub pseudonym_key: Option<PathBuf>,
    /// The consultant's list (CSV with a `client_pid` column).
    pub pids: PathBuf,
    /// The call list to write (must not exist).
    pub out: PathBuf,
}

/// What a run did, in counts and row numbers (a row number counts the header as row 1, as a
/// spreadsheet shows it).
#[derive(Debug, Clone, Default)]
pub struct ReidentifySummary {
    pub out: PathBuf,
    /// The delimiter the list was read with.
    pub delimiter: u8,
    /// Data rows of the list written to the call list.
    pub rows: u64,
    /// Rows whose client was found in the source.
    pub found: u64,
    /// Rows with a well-formed pid that no client of the source has.
    pub not_found: u64,
    /// Rows whose pid is not 32 lowercase hex characters (or empty).
    pub malformed_rows: Vec<u64>,
    /// (row, earlier row with the same pid).
    pub duplicate_rows: Vec<(u64, u64)>,
    /// Rows of the list that could not be read (left out), with the reason.
    pub unreadable_rows: Vec<(u64, String)>,
    /// Cells of the list that a spreadsheet would run as a formula, written as text.
    pub neutralized_cells: u64,
    /// Personal cells from the source (names, phones, e-mails) that a spreadsheet would run
    /// as a formula, written as text.
    pub neutralized_source_cells: u64,
    /// The personal columns added (canonical field names).
    pub personal_columns: Vec<String>,
    /// Rows read from the source clients table, and how many could not be read.
    pub source_rows: u64,
    pub source_unreadable: u64,
    /// Pids of the list that more than one source row has (the first row is used).
    pub ambiguous: u64,
    /// Fingerprint of the pseudonymization key used.
    pub key_fingerprint: String,
}

/// A row of the consultant's list, as read.
struct ListRow {
    line: u64,
    cells: Vec<String>,
    pid: PidCell,
}

enum PidCell {
    Valid([u8; 32]),
    Malformed,
}

/// Whether a cell is a pid: exactly 32 lowercase hex characters (white space around it is
/// allowed, as spreadsheets add it).
pub fn parse_pid(cell: &str) -> Option<[u8; 32]> {
    let t = cell.trim().as_bytes();
    if t.len() != 32 || !t.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(t);
    Some(out)
}

/// Runs the re-identification and writes the call list.
pub fn reidentify(opts: &ReidentifyOptions) -> Result<ReidentifySummary> {
    let mapping = Mapping::load(&opts.mapping)?;
    let key = PseudonymKey::resolve(opts.pseudonym_key.as_deref())?;
    refuse_existing(&opts.out)?;
    let clients = mapping.table("clients").ok_or_else(|| {
        Error::mapping(
            &mapping.path,
            "no [tables.clients]: a call list needs the clients file with names and phones: map it",
        )
    })?;
    let personal: Vec<&MappedField> = PERSONAL_FIELDS
        .iter()
        .filter_map(|name| clients.field(name))
        .filter(|f| f.def.class == PrivacyClass::Direct)
        .collect();
    if personal.is_empty() {
        return Err(Error::mapping(
            &mapping.path,
            "[tables.clients.fields] maps no name, phone or e-mail, so a call list would hold \
             nothing to call: map full_name (or last_name, first_name, middle_name), phone or email",
        ));
    }
    let id_field = clients
        .field("client_id")
        .expect("client_id is required by the mapping");

    let List {
        headers,
        delimiter,
        rows,
        unreadable,
    } = read_list(&opts.pids)?;
    let personal_names: Vec<String> = personal.iter().map(|f| f.def.name.clone()).collect();
    for added in personal_names
        .iter()
        .map(String::as_str)
        .chain([FOUND_COLUMN])
    {
        if headers.iter().any(|h| h.eq_ignore_ascii_case(added)) {
            return Err(Error::source(
                &opts.pids,
                format!(
                    "the list already has a column {added:?}, which the call list adds ({}): rename that column",
                    personal_names
                        .iter()
                        .map(String::as_str)
                        .chain([FOUND_COLUMN])
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }

    // The pids asked for, each with the first row that asks for it.
    let mut wanted: HashMap<[u8; 32], u64> = HashMap::new();
    let mut summary = ReidentifySummary {
        out: opts.out.clone(),
        delimiter,
        unreadable_rows: unreadable,
        personal_columns: personal_names.clone(),
        key_fingerprint: key.fingerprint(),
        ..Default::default()
    };
    for r in &rows {
        match &r.pid {
            PidCell::Valid(p) => {
                if let Some(first) = wanted.get(p) {
                    summary.duplicate_rows.push((r.line, *first));
                } else {
                    wanted.insert(*p, r.line);
                }
            }
            PidCell::Malformed => summary.malformed_rows.push(r.line),
        }
    }

    let pseudonymizer = Pseudonymizer::new(&key);
    let found = scan_clients(
        clients,
        id_field,
        &personal,
        &pseudonymizer,
        &wanted,
        &mut summary,
    )?;

    write_call_list(
        &opts.out,
        &headers,
        &personal_names,
        &rows,
        &found,
        &mut summary,
    )?;
    Ok(summary)
}

fn refuse_existing(out: &Path) -> Result<()> {
    // symlink_metadata: a dangling link counts as existing too.
    if out.symlink_metadata().is_ok() {
        return Err(Error::Other(format!(
            "{} exists; reidentify never overwrites a file: choose another --out (and delete old call lists once the calls are done)",
            out.display()
        )));
    }
    Ok(())
}

/// The consultant's list, as read.
struct List {
    headers: Vec<String>,
    delimiter: u8,
    rows: Vec<ListRow>,
    /// Rows that could not be read (left out), with the reason.
    unreadable: Vec<(u64, String)>,
}

fn read_list(path: &Path) -> Result<List> {
    if source::is_workbook(path) {
        return Err(Error::source(
            path,
            "a workbook: save the sheet with the client_pid column as CSV (comma or semicolon separated) and give that",
        ));
    }
    let sniff = source::sniff_csv(path)?;
    let mut reader = SourceReader::open(path, clm_core::mapping::Encoding::Auto, sniff.delimiter)
        .map_err(|e| list_encoding_error(path, e))?;
    let headers = reader.headers().to_vec();
    let hits: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.eq_ignore_ascii_case(PID_COLUMN))
        .map(|(i, _)| i)
        .collect();
    let pid_idx = match hits.as_slice() {
        [i] => *i,
        [] => {
            let msg = if headers.iter().any(|h| parse_pid(h).is_some()) {
                format!(
                    "no {PID_COLUMN} column: the first row holds a pid, not column names; the list needs a header row with {PID_COLUMN}"
                )
            } else if headers.iter().any(|h| source::header_looks_like_data(h)) {
                format!(
                    "no {PID_COLUMN} column, and the first row looks like data, not column names (so it is not repeated here); the list needs a header row with {PID_COLUMN}"
                )
            } else {
                format!(
                    "no {PID_COLUMN} column (read as {}-separated; columns: {})",
                    delimiter_name(sniff.delimiter),
                    headers
                        .iter()
                        .map(|h| format!("{h:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Error::source(path, msg));
        }
        many => {
            return Err(Error::source(
                path,
                format!("{} columns are named {PID_COLUMN}; keep one", many.len()),
            ))
        }
    };
    let mut rows = Vec::new();
    let mut unreadable = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(st) = reader.next_record(&mut rec)? {
        let line = reader.line();
        match st {
            // A blank line is no row, even in a list of one column.
            RecordStatus::Ok if rec.iter().all(|c| c.trim().is_empty()) => {}
            RecordStatus::Ok => {
                let cells: Vec<String> = rec.iter().map(String::from).collect();
                let pid = match parse_pid(&cells[pid_idx]) {
                    Some(p) => PidCell::Valid(p),
                    None => PidCell::Malformed,
                };
                rows.push(ListRow { line, cells, pid });
            }
            RecordStatus::Bad(reason) if reason == source::reason::EMPTY_LINE => {}
            RecordStatus::Bad(reason) => unreadable.push((line, reason)),
        }
    }
    Ok(List {
        headers,
        delimiter: sniff.delimiter,
        rows,
        unreadable,
    })
}

/// The source reader's advice for a header in the wrong encoding is about the mapping; the
/// list is no source of the mapping, so say what to do with the list instead.
fn list_encoding_error(path: &Path, e: Error) -> Error {
    match e {
        Error::Source { msg, .. } if msg.contains("set `encoding` in the mapping") => {
            let read_as = msg
                .split(':')
                .next()
                .unwrap_or("")
                .trim_start_matches("the header row is not valid ")
                .to_string();
            Error::source(
                path,
                format!(
                    "the list's header row is not valid text (read as {read_as}): the list must be a CSV \
                     file in UTF-8 or Windows-1251. Open it in the spreadsheet and save it again as \
                     \"CSV UTF-8\" (the mapping's encoding setting is for the source files, not for the list)"
                ),
            )
        }
        e => e,
    }
}

fn delimiter_name(d: u8) -> &'static str {
    match d {
        b';' => "semicolon",
        b',' => "comma",
        b'\t' => "tab",
        b'|' => "bar",
        _ => "other",
    }
}

/// The pid of a source client id, as the export computes it (`MappedField::source_id`,
/// hashed in the field's domain); `None` where the export rejects the row for an empty id.
fn client_pid(
    raw: &str,
    field: &MappedField,
    domain: Domain,
    p: &Pseudonymizer,
) -> Option<[u8; 32]> {
    let id = field.source_id(raw)?;
    Some(p.pid_bytes(domain, &id))
}

/// One pass over the source clients table: the personal cells, as written in the source,
/// of every client the list asks for.
fn scan_clients(
    tm: &TableMapping,
    id_field: &MappedField,
    personal: &[&MappedField],
    p: &Pseudonymizer,
    wanted: &HashMap<[u8; 32], u64>,
    summary: &mut ReidentifySummary,
) -> Result<HashMap<[u8; 32], Vec<String>>> {
    let domain = id_field
        .def
        .domain
        .as_deref()
        .and_then(Domain::parse)
        .ok_or_else(|| Error::Schema("clients.client_id: unknown domain".into()))?;
    let mut reader = open_table(tm)?;
    let id_idx = reader.column_index(&id_field.column)?;
    let idx: Vec<usize> = personal
        .iter()
        .map(|f| reader.column_index(&f.column))
        .collect::<Result<_>>()?;
    let mut found: HashMap<[u8; 32], Vec<String>> = HashMap::with_capacity(wanted.len());
    let mut ambiguous: HashSet<[u8; 32]> = HashSet::new();
    let mut rec = csv::StringRecord::new();
    while let Some(st) = reader.next_record(&mut rec)? {
        summary.source_rows += 1;
        if st != RecordStatus::Ok {
            summary.source_unreadable += 1;
            continue;
        }
        let Some(pid) = client_pid(rec.get(id_idx).unwrap_or(""), id_field, domain, p) else {
            continue;
        };
        if !wanted.contains_key(&pid) {
            continue;
        }
        if found.contains_key(&pid) {
            ambiguous.insert(pid);
            continue;
        }
        // As written (trimmed): a phone mapped with normalize = "digits" is still the number
        // a person dials, with its +7 and brackets.
        let cells = idx
            .iter()
            .map(|i| rec.get(*i).unwrap_or("").trim().to_string())
            .collect();
        found.insert(pid, cells);
    }
    summary.ambiguous = ambiguous.len() as u64;
    Ok(found)
}

/// A cell of the call list, neutralized and counted if it looks like a formula.
fn cell(c: &str, count: &mut u64) -> String {
    let n = neutralize(c);
    if matches!(n, std::borrow::Cow::Owned(_)) {
        *count += 1;
    }
    n.into_owned()
}

fn write_call_list(
    out: &Path,
    headers: &[String],
    personal_names: &[String],
    rows: &[ListRow],
    found: &HashMap<[u8; 32], Vec<String>>,
    summary: &mut ReidentifySummary,
) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Other(format!(
                "{} exists; reidentify never overwrites a file: choose another --out",
                out.display()
            ))
        } else {
            Error::io(out, e)
        }
    })?;
    let result = (|| -> Result<()> {
        let mut buf = BufWriter::new(file);
        buf.write_all("\u{feff}".as_bytes())
            .map_err(|e| Error::io(out, e))?;
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer(buf);
        let csv_err = |e: csv::Error| Error::source(out, e.to_string());
        let mut head: Vec<String> = headers
            .iter()
            .map(|h| cell(h, &mut summary.neutralized_cells))
            .collect();
        head.extend(personal_names.iter().cloned());
        head.push(FOUND_COLUMN.to_string());
        w.write_record(&head).map_err(csv_err)?;
        let empty = vec![String::new(); personal_names.len()];
        let mut line: Vec<String> = Vec::with_capacity(head.len());
        for r in rows {
            line.clear();
            // A pid never looks like a formula; anything else the consultant wrote may, and
            // so may a name or an e-mail of the source.
            for c in &r.cells {
                line.push(cell(c, &mut summary.neutralized_cells));
            }
            let (cells, mark) = match &r.pid {
                PidCell::Valid(p) => match found.get(p) {
                    Some(cells) => {
                        summary.found += 1;
                        (cells, FOUND_YES)
                    }
                    None => {
                        summary.not_found += 1;
                        (&empty, FOUND_NO)
                    }
                },
                PidCell::Malformed => (&empty, FOUND_MALFORMED),
            };
            for c in cells {
                line.push(cell(c, &mut summary.neutralized_source_cells));
            }
            line.push(mark.to_string());
            w.write_record(&line).map_err(csv_err)?;
            summary.rows += 1;
        }
        let buf = w
            .into_inner()
            .map_err(|e| Error::io(out, std::io::Error::other(e.to_string())))?;
        let file = buf
            .into_inner()
            .map_err(|e| Error::io(out, std::io::Error::other(e.to_string())))?;
        file.sync_all().map_err(|e| Error::io(out, e))
    })();
    if result.is_err() {
        // A half-written call list is personal data nobody asked for.
        let _ = std::fs::remove_file(out);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_32_lowercase_hex() {
        let p = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse_pid(p).unwrap(), *p.as_bytes());
        assert!(parse_pid(&format!(" {p}\t")).is_some());
        assert!(parse_pid(&p.to_uppercase()).is_none());
        assert!(parse_pid(&p[1..]).is_none());
        assert!(parse_pid(&format!("{p}0")).is_none());
        assert!(parse_pid("0123456789abcdef0123456789abcdeg").is_none());
        assert!(parse_pid("").is_none());
    }
}
