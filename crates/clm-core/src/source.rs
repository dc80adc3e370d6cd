//! Reading a club's exports: CSV with any delimiter, UTF-8 with or without BOM,
//! Windows-1251, UTF-16; streamed record by record, never the whole file in memory. And
//! workbooks (XLSX, via [`crate::xlsx`]), behind the same record interface
//! ([`TableSource`], [`open_table`]).
//!
//! A record that cannot be read (wrong number of fields, bytes invalid in the encoding, an
//! unclosed quote, a field over 1 MB) is reported as a rejection with its line number, so the
//! caller can count it and keep it on site; it never stops the read nor vanishes. A stray
//! quote does not swallow the rows after it: the record it opens is rejected and the lines
//! after it are read again on their own (see [`crate::csv_records`]).
//!
//! Messages name files, columns and line numbers, never a value.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use csv::StringRecord;
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::csv_records::{CsvRecords, RawRecord, MAX_FIELDS, MAX_FIELD_BYTES, MAX_RECORD_LINES};
use crate::mapping::{Encoding, TableMapping};
use crate::xlsx::{self, SheetReader};
use crate::{Error, Result};

/// Counts the bytes read from the file, for progress bars.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub use crate::record::RecordStatus;

/// Rejection reasons (fixed texts, so that the manifest counts them together).
pub mod reason {
    pub const EMPTY_LINE: &str = "empty line";
    pub const UNCLOSED_QUOTE: &str =
        "unclosed quote: the quoted field does not end on its line (the lines after it are read on their own)";
    pub const UNCLOSED_QUOTE_AT_END: &str =
        "unclosed quote: a quoted field runs to the end of the file";
    pub const TOO_MANY_LINES: &str = "a quoted field spans more than 50 lines (unclosed quote?)";
    pub const FIELD_TOO_LONG: &str = "a field is longer than 1 MB";
    pub const TOO_MANY_FIELDS: &str = "more than 10000 fields";
    pub const REPEATED_HEADER: &str = "the header row again (were files joined together?)";
}

/// Decides the encoding from the first bytes: a BOM wins; then UTF-16 without a BOM (every
/// other byte zero); `auto` otherwise means UTF-8 when the prefix is valid UTF-8, else
/// Windows-1251 (what Russian accounting software writes when it does not write UTF-8).
pub fn sniff_encoding(prefix: &[u8], declared: Encoding) -> &'static encoding_rs::Encoding {
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(prefix) {
        return enc;
    }
    if let Some(enc) = sniff_utf16(prefix) {
        return enc;
    }
    match declared {
        Encoding::Utf8 => encoding_rs::UTF_8,
        Encoding::Cp1251 => encoding_rs::WINDOWS_1251,
        Encoding::Auto => {
            if utf8_dominates(prefix) {
                encoding_rs::UTF_8
            } else {
                encoding_rs::WINDOWS_1251
            }
        }
    }
}

/// UTF-16 without a BOM: most of the bytes at odd (LE) or even (BE) positions are zero.
fn sniff_utf16(prefix: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let p = &prefix[..prefix.len().min(4096) & !1];
    if p.len() < 4 {
        return None;
    }
    let pairs = p.len() / 2;
    let even = p.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = p.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if odd * 10 >= pairs * 3 && even * 20 < pairs {
        Some(encoding_rs::UTF_16LE)
    } else if even * 10 >= pairs * 3 && odd * 20 < pairs {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// A file that is not text: a workbook given as CSV, or some other binary.
fn sniff_binary(prefix: &[u8]) -> Option<&'static str> {
    if prefix.starts_with(b"PK\x03\x04") {
        return Some(
            "this is a ZIP archive, probably an XLSX workbook, not CSV text: name it .xlsx and set `sheet` in the mapping, or save the sheet as CSV",
        );
    }
    if prefix.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Some(
            "this is an old Excel (.xls) workbook, not CSV text: name it .xls and set `sheet`, or save it as XLSX or CSV",
        );
    }
    if encoding_rs::Encoding::for_bom(prefix).is_none() && sniff_utf16(prefix).is_none() {
        let head = &prefix[..prefix.len().min(4096)];
        if head.contains(&0) {
            return Some("this is not a text file (it holds NUL bytes): is it the right file?");
        }
    }
    None
}

/// Whether bytes read as UTF-8 rather than Windows-1251: Cyrillic in cp1251 almost never
/// forms valid multi-byte UTF-8, so a file where more lines are valid UTF-8 with non-ASCII
/// text than are invalid (a stray line in another encoding) is UTF-8 with some bad rows.
fn utf8_dominates(b: &[u8]) -> bool {
    let (mut good, mut bad) = (0usize, 0usize);
    let mut lines = b.split(|c| *c == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        match std::str::from_utf8(line) {
            Ok(s) => good += !s.is_ascii() as usize,
            // A line cut off by the end of the prefix is no evidence.
            Err(e) if last && e.error_len().is_none() => {}
            Err(_) => bad += 1,
        }
    }
    bad == 0 || good > bad
}

/// Reads up to `n` bytes from the start of a file.
fn read_prefix(f: &mut File, path: &Path, n: usize) -> Result<Vec<u8>> {
    let mut prefix = vec![0u8; n];
    let mut got = 0;
    while got < prefix.len() {
        let k = f.read(&mut prefix[got..]).map_err(|e| Error::io(path, e))?;
        if k == 0 {
            break;
        }
        got += k;
    }
    prefix.truncate(got);
    Ok(prefix)
}

/// What [`sniff_csv`] found out about a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSniff {
    /// `utf-8`, `cp1251`, `utf-16le`, `utf-16be`.
    pub encoding: &'static str,
    pub bom: bool,
    pub delimiter: u8,
}

/// Guesses the encoding and the delimiter of a CSV file from its first 64 KB: the
/// delimiter among `;` `,` TAB `|` that splits the first lines into the same number of
/// fields most consistently (quoted text is skipped).
pub fn sniff_csv(path: &Path) -> Result<CsvSniff> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let prefix = read_prefix(&mut f, path, 64 * 1024)?;
    if let Some(m) = sniff_binary(&prefix) {
        return Err(Error::source(path, m));
    }
    let enc = sniff_encoding(&prefix, Encoding::Auto);
    let bom = encoding_rs::Encoding::for_bom(&prefix).is_some();
    let (text, _, _) = enc.decode(&prefix);
    // Drop the last line, which the 64 KB cut may have split.
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > 1 && prefix.len() == 64 * 1024 {
        lines.pop();
    }
    lines.truncate(200);
    let mut best = (b';', 0i64);
    for d in [b';', b',', b'\t', b'|'] {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let same = counts.iter().filter(|c| **c == first).count() as i64;
        // Consistency first, then more fields.
        let score = same * 1000 + first.min(999) as i64;
        if score > best.1 {
            best = (d, score);
        }
    }
    let name = if enc == encoding_rs::UTF_8 {
        "utf-8"
    } else if enc == encoding_rs::WINDOWS_1251 {
        "cp1251"
    } else if enc == encoding_rs::UTF_16LE {
        "utf-16le"
    } else if enc == encoding_rs::UTF_16BE {
        "utf-16be"
    } else {
        enc.name()
    };
    Ok(CsvSniff {
        encoding: name,
        bom,
        delimiter: best.0,
    })
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            n += 1;
        }
    }
    n
}

/// Whether a header cell looks like a value rather than a column name (a file without a
/// header row): personal data by the detectors, an e-mail, a date, or a number. Such cells
/// are never repeated in a message.
pub fn header_looks_like_data(h: &str) -> bool {
    data_kind(h).is_some()
}

/// What a cell looks like when it looks like a value (see [`header_looks_like_data`]).
fn data_kind(h: &str) -> Option<&'static str> {
    let h = h.trim();
    if h.is_empty() {
        return None;
    }
    if let Some(d) = crate::detect::first_hit(h) {
        return Some(d.name());
    }
    if h.contains('@') {
        return Some("e-mail-like");
    }
    let digits = h.chars().filter(|c| c.is_ascii_digit()).count();
    let numeric = h
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || ".,:/-+()".contains(c));
    if (digits > 0 && numeric) || (digits >= 4 && digits * 2 >= h.chars().count()) {
        return Some("number or date");
    }
    None
}

/// Whether a first row reads as column names, so that a message may repeat it: no cell
/// looks like a value, and most cells hold a word column names are made of
/// (`schemas/synonyms.toml`). A row of data ("Смирнова;Анна;Ж;Москва") fails the second
/// test even when no detector fires on it.
pub fn header_row_is_names(headers: &[String]) -> bool {
    let cells: Vec<&str> = headers
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .collect();
    !cells.is_empty()
        && cells.iter().all(|h| data_kind(h).is_none())
        && 2 * cells
            .iter()
            .filter(|h| crate::synonyms::has_header_word(h))
            .count()
            >= cells.len()
}

/// The first row described without its cells: how many, and which (by position) look like
/// values or hold no known column word.
fn header_row_shape(headers: &[String]) -> String {
    let mut data = Vec::new();
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if h.trim().is_empty() {
            continue;
        }
        match data_kind(h) {
            Some(kind) => data.push(format!("{} ({kind})", i + 1)),
            None if !crate::synonyms::has_header_word(h) => unknown.push((i + 1).to_string()),
            None => {}
        }
    }
    let mut s = format!("it has {} cells", headers.len());
    if !data.is_empty() {
        s.push_str(&format!(
            "; cells that look like values: {}",
            data.join(", ")
        ));
    }
    if !unknown.is_empty() {
        s.push_str(&format!(
            "; cells with no word of a column name: {}",
            unknown.join(", ")
        ));
    }
    s
}

/// Index of a column by header; an error if absent or ambiguous.
fn column_index_in(path: &Path, headers: &[String], name: &str) -> Result<usize> {
    let hits: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.as_str() == name.trim())
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => Err(Error::source(
            path,
            if !header_row_is_names(headers) {
                format!(
                    "the mapping names column {name:?}, which is not in the header; the first row does not look like column names (is the header row missing? is it the wrong file?), so its cells are not repeated here: {}",
                    header_row_shape(headers)
                )
            } else {
                format!(
                    "the mapping names column {name:?}, which is not in the header (columns: {})",
                    headers
                        .iter()
                        .map(|h| format!("{h:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        )),
        _ => Err(Error::source(
            path,
            format!(
                "column {name:?} appears {} times in the header; rename one",
                hits.len()
            ),
        )),
    }
}

/// The file's bytes as UTF-8 text: decoded, or, for UTF-8, passed through as they are
/// (invalid bytes are caught record by record) without the BOM. Passing through is what
/// the decoder does with UTF-8 too, minus a copy of every byte.
fn text_reader(
    mut prefix: Vec<u8>,
    rest: Counting<File>,
    enc: &'static encoding_rs::Encoding,
) -> Box<dyn Read + Send> {
    if enc == encoding_rs::UTF_8 {
        if prefix.starts_with(b"\xEF\xBB\xBF") {
            prefix.drain(..3);
        }
        return Box::new(Cursor::new(prefix).chain(rest));
    }
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(enc))
        .bom_override(true)
        .strip_bom(true)
        .utf8_passthru(true)
        .build(Cursor::new(prefix).chain(rest));
    Box::new(decoded)
}

/// A CSV source, record by record.
pub struct SourceReader {
    path: PathBuf,
    headers: Vec<String>,
    parser: CsvRecords<Box<dyn Read + Send>>,
    raw: RawRecord,
    bytes_read: Arc<AtomicU64>,
    size: u64,
    encoding: &'static encoding_rs::Encoding,
    line: u64,
}

fn strip_bom_chars(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\u{feff}') {
        std::borrow::Cow::Owned(s.replace('\u{feff}', ""))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

impl SourceReader {
    pub fn open(path: &Path, encoding: Encoding, delimiter: u8) -> Result<SourceReader> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        let prefix = read_prefix(&mut f, path, 64 * 1024)?;
        let got = prefix.len();
        if let Some(m) = sniff_binary(&prefix) {
            return Err(Error::source(path, m));
        }
        let enc = sniff_encoding(&prefix, encoding);
        let (text, _, _) = enc.decode(&prefix);
        if text.chars().all(|c| c.is_whitespace() || c == '\u{feff}') {
            return Err(Error::source(path, "the file is empty: no header row"));
        }
        let bytes_read = Arc::new(AtomicU64::new(got as u64));
        let counting = Counting {
            inner: f,
            count: Arc::clone(&bytes_read),
        };
        let boxed = text_reader(prefix, counting, enc);
        let mut parser = CsvRecords::new(boxed, delimiter);
        let mut rec = RawRecord::default();
        let header_err = |m: String| Error::source(path, m);
        match parser.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => return Err(header_err("the file is empty: no header row".into())),
            Err(e) => return Err(header_err(format!("cannot read the header row: {e}"))),
        }
        if rec.unclosed_quote || rec.too_many_lines || rec.lines > 1 {
            return Err(header_err(
                "the header row has an unclosed quote; fix the first line of the file".into(),
            ));
        }
        if rec.field_too_long || rec.too_many_fields {
            return Err(header_err(
                "the first line is not a header row (a field over 1 MB, or over 10000 fields)"
                    .into(),
            ));
        }
        let mut headers = Vec::with_capacity(rec.len());
        for f in rec.fields() {
            match std::str::from_utf8(f) {
                Ok(s) => headers.push(strip_bom_chars(s).trim().to_string()),
                Err(_) => {
                    return Err(header_err(format!(
                        "the header row is not valid {}: set `encoding` in the mapping (utf-8 or cp1251)",
                        enc.name()
                    )))
                }
            }
        }
        if headers.iter().any(|h| h.contains('\u{FFFD}')) {
            return Err(header_err(format!(
                "the header row is not valid {}: set `encoding` in the mapping (utf-8 or cp1251)",
                enc.name()
            )));
        }
        if headers.len() == 1 && delimiter != b'\t' {
            let h = &headers[0];
            let other = [b';', b',', b'\t', b'|']
                .into_iter()
                .find(|d| *d != delimiter && h.as_bytes().contains(d));
            if let Some(d) = other {
                return Err(Error::source(
                    path,
                    format!(
                        "the header has one column, but contains {:?}: is the delimiter {:?} rather than {:?}? Set `delimiter` in the mapping",
                        d as char, d as char, delimiter as char
                    ),
                ));
            }
        }
        Ok(SourceReader {
            path: path.to_path_buf(),
            headers,
            parser,
            raw: rec,
            bytes_read,
            size,
            encoding: enc,
            line: 1,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn encoding_name(&self) -> &'static str {
        self.encoding.name()
    }

    /// Total size of the file, and a live count of bytes read from it.
    pub fn progress(&self) -> (u64, Arc<AtomicU64>) {
        (self.size, Arc::clone(&self.bytes_read))
    }

    /// Index of a column by header; an error if absent or ambiguous.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        column_index_in(&self.path, &self.headers, name)
    }

    /// Line number (1-based, the header is line 1) where the last record started.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Copies the raw record into `rec`, and tells whether it is valid text without
    /// undecodable bytes (U+FFFD).
    fn fill(&self, rec: &mut StringRecord) -> bool {
        rec.clear();
        if let Some((text, ends)) = self.raw.clean_text() {
            let mut start = 0;
            for &end in ends {
                rec.push_field(&text[start..end]);
                start = end;
            }
            return true;
        }
        let valid = self.fill_checked(rec);
        valid && !rec.as_slice().contains('\u{FFFD}')
    }

    /// [`SourceReader::fill`] field by field: stray BOMs dropped, invalid bytes replaced.
    fn fill_checked(&self, rec: &mut StringRecord) -> bool {
        let mut valid = true;
        for f in self.raw.fields() {
            match std::str::from_utf8(f) {
                Ok(s) => rec.push_field(&strip_bom_chars(s)),
                Err(_) => {
                    valid = false;
                    rec.push_field(&String::from_utf8_lossy(f));
                }
            }
        }
        valid
    }

    /// Reads the next record into `rec`; `None` at the end of the file.
    pub fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<RecordStatus>> {
        let more = self.parser.read_record(&mut self.raw).map_err(|e| {
            Error::source(
                &self.path,
                format!("read error near line {}: {e}", self.parser.line()),
            )
        })?;
        if !more {
            return Ok(None);
        }
        self.line = self.raw.start_line;
        let r = &self.raw;
        let width = self.headers.len();
        // A record over several lines is a stray quote's doing when it ends without the
        // closing quote, runs on too long, has the wrong number of fields, has text after a
        // closing quote, or swallowed a line that looks like a record of its own.
        let broken_quote = r.unclosed_quote
            || r.too_many_lines
            || (r.lines > 1
                && (r.len() != width
                    || r.text_after_quote
                    || (width > 1
                        && r.max_delimiters_per_inner_line(self.parser.delimiter()) + 1 >= width)));
        if broken_quote && r.can_split() && !(r.unclosed_quote && r.rest_is_blank()) {
            self.parser.split_off_first_line(&mut self.raw);
            self.fill(rec);
            return Ok(Some(RecordStatus::Bad(reason::UNCLOSED_QUOTE.into())));
        }
        let valid = self.fill(rec);
        let r = &self.raw;
        let bad = |m: &str| Ok(Some(RecordStatus::Bad(m.to_string())));
        if r.field_too_long {
            debug_assert_eq!(MAX_FIELD_BYTES, 1 << 20);
            return bad(reason::FIELD_TOO_LONG);
        }
        if r.too_many_fields {
            debug_assert_eq!(MAX_FIELDS, 10_000);
            return bad(reason::TOO_MANY_FIELDS);
        }
        if r.unclosed_quote {
            return bad(reason::UNCLOSED_QUOTE_AT_END);
        }
        if r.too_many_lines {
            debug_assert_eq!(MAX_RECORD_LINES, 50);
            return bad(reason::TOO_MANY_LINES);
        }
        if !valid {
            // Undecodable bytes (utf-8 passed through), or the decoder's replacement character.
            return Ok(Some(RecordStatus::Bad(format!(
                "bytes not valid in the file's encoding ({})",
                self.encoding.name()
            ))));
        }
        if rec.len() != width {
            if rec.len() == 1 && rec.get(0).is_some_and(|s| s.trim().is_empty()) {
                return bad(reason::EMPTY_LINE);
            }
            return Ok(Some(RecordStatus::Bad(format!(
                "expected {} fields, found {}",
                width,
                rec.len()
            ))));
        }
        if width > 1 && rec.iter().zip(&self.headers).all(|(v, h)| v.trim() == h) {
            return bad(reason::REPEATED_HEADER);
        }
        Ok(Some(RecordStatus::Ok))
    }
}

/// Whether a file is read as a workbook (by its extension).
pub fn is_workbook(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| matches!(e.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods"))
}

enum Inner {
    Csv(SourceReader),
    Sheet(SheetReader),
}

/// The records of one source table, from a CSV file or a workbook sheet, as strings with
/// their line (CSV) or row (sheet) numbers. Cells equal to a null marker read as empty.
pub struct TableSource {
    inner: Inner,
    null_markers: NullMarkers,
    scratch: Vec<String>,
}

/// Cell texts read as empty, with what it takes to pass over most cells at a glance.
struct NullMarkers {
    list: Vec<String>,
    longest: usize,
    /// Bit `n` set when a marker is `n` bytes long (markers are short; longer ones are
    /// never looked for with the bit).
    lengths: u64,
    /// The first bytes of the markers.
    firsts: [bool; 256],
}

/// Whether a byte may begin white space (ASCII, or the UTF-8 lead bytes of U+0085, U+00A0,
/// U+1680, U+2000–U+205F and U+3000), which trimming would remove.
fn may_begin_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ' | 0xC2 | 0xE1 | 0xE2 | 0xE3)
}

impl NullMarkers {
    fn new(list: Vec<String>) -> Self {
        let longest = list.iter().map(String::len).max().unwrap_or(0);
        let lengths = list
            .iter()
            .filter(|m| m.len() < 64)
            .fold(0u64, |bits, m| bits | 1 << m.len());
        let mut firsts = [false; 256];
        for m in &list {
            if let Some(b) = m.bytes().next() {
                firsts[usize::from(b)] = true;
            }
        }
        NullMarkers {
            list,
            longest,
            lengths,
            firsts,
        }
    }

    /// Whether a cell, trimmed, is one of the markers.
    fn matches(&self, cell: &str) -> bool {
        if self.list.is_empty() || cell.len() > self.longest + 8 {
            return false;
        }
        // Most cells (ids, dates, words) are told apart by their first byte.
        match cell.bytes().next() {
            Some(b) if !self.firsts[usize::from(b)] && !may_begin_space(b) => return false,
            _ => {}
        }
        let t = cell.trim();
        let maybe = t.len() >= 64 || self.lengths & (1 << t.len()) != 0;
        maybe && !t.is_empty() && self.list.iter().any(|m| m == t)
    }
}

/// Opens the source of a mapped table: the sheet `sheet` of a workbook when the file is one
/// (by extension) or a sheet is named, else a CSV file.
///
/// A workbook is read whole into memory (calamine reads a sheet at once): fine for the
/// exports of a club (a sheet holds at most 1,048,576 rows), but CSV is the way for the
/// largest tables.
pub fn open_table(tm: &TableMapping) -> Result<TableSource> {
    let inner = if tm.sheet.is_some() || is_workbook(&tm.file) {
        let dates = tm
            .fields
            .iter()
            .filter_map(|f| {
                f.format
                    .clone()
                    .map(|fmt| (f.column.trim().to_string(), fmt))
            })
            .collect();
        Inner::Sheet(SheetReader::open(
            &tm.file,
            tm.sheet.as_deref(),
            &xlsx::Render {
                decimal_comma: tm.decimal_comma,
                dates,
                max_unpacked: tm.max_unpacked,
            },
        )?)
    } else {
        Inner::Csv(SourceReader::open(&tm.file, tm.encoding, tm.delimiter)?)
    };
    Ok(TableSource {
        inner,
        null_markers: NullMarkers::new(tm.null_markers.clone()),
        scratch: Vec::new(),
    })
}

impl TableSource {
    pub fn from_csv(reader: SourceReader, null_markers: Vec<String>) -> Self {
        TableSource {
            inner: Inner::Csv(reader),
            null_markers: NullMarkers::new(null_markers),
            scratch: Vec::new(),
        }
    }

    pub fn from_sheet(reader: SheetReader, null_markers: Vec<String>) -> Self {
        TableSource {
            inner: Inner::Sheet(reader),
            null_markers: NullMarkers::new(null_markers),
            scratch: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        match &self.inner {
            Inner::Csv(r) => r.path(),
            Inner::Sheet(r) => r.path(),
        }
    }

    pub fn headers(&self) -> &[String] {
        match &self.inner {
            Inner::Csv(r) => r.headers(),
            Inner::Sheet(r) => r.headers(),
        }
    }

    /// Index of a column by header; an error if absent or ambiguous.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        column_index_in(self.path(), self.headers(), name)
    }

    /// Line (CSV) or row (sheet) number where the last record started; the header is 1 in
    /// a CSV file.
    pub fn line(&self) -> u64 {
        match &self.inner {
            Inner::Csv(r) => r.line(),
            Inner::Sheet(r) => r.line(),
        }
    }

    /// Size of the source, and a live count of how much of it was read (bytes, or a
    /// sheet's share of the file size).
    pub fn progress(&self) -> (u64, Arc<AtomicU64>) {
        match &self.inner {
            Inner::Csv(r) => r.progress(),
            Inner::Sheet(r) => r.progress(),
        }
    }

    /// `CSV (UTF-8, ";")` or `sheet "Клиенты"`, for messages.
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Csv(r) => format!("CSV ({})", r.encoding_name()),
            Inner::Sheet(r) => format!("sheet {:?}", r.sheet()),
        }
    }

    /// Reads the next record into `rec`; `None` at the end.
    pub fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<RecordStatus>> {
        let st = match &mut self.inner {
            Inner::Csv(r) => r.next_record(rec)?,
            Inner::Sheet(r) => r.next_record(rec)?,
        };
        let markers = &self.null_markers;
        if st.is_some() && rec.iter().any(|f| markers.matches(f)) {
            self.scratch.clear();
            self.scratch.extend(rec.iter().map(|f| {
                if markers.matches(f) {
                    String::new()
                } else {
                    f.to_string()
                }
            }));
            rec.clear();
            for f in &self.scratch {
                rec.push_field(f);
            }
        }
        Ok(st)
    }
}

/// One record read ahead: its fields, how it was read, and its line (or sheet row).
#[derive(Debug)]
pub struct ReadRecord {
    pub rec: StringRecord,
    pub status: RecordStatus,
    pub line: u64,
}

/// Records read ahead in one go; the first [`Chunk::len`] slots hold them, the slots after
/// keep their allocations for the next round.
#[derive(Debug, Default)]
pub struct Chunk {
    slots: Vec<ReadRecord>,
    len: usize,
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &ReadRecord> {
        self.slots[..self.len].iter()
    }

    /// Reads up to `max` records into the chunk, reusing its slots; `false` when the
    /// source has no more records.
    fn fill(&mut self, src: &mut TableSource, max: usize) -> Result<bool> {
        self.len = 0;
        while self.len < max {
            if self.len == self.slots.len() {
                self.slots.push(ReadRecord {
                    rec: StringRecord::new(),
                    status: RecordStatus::Ok,
                    line: 0,
                });
            }
            let slot = &mut self.slots[self.len];
            match src.next_record(&mut slot.rec)? {
                Some(st) => {
                    slot.status = st;
                    slot.line = src.line();
                    self.len += 1;
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// Chunks waiting between the reading thread and the caller: memory stays flat.
const CHUNKS_IN_FLIGHT: usize = 2;

/// Used chunks kept for the reading thread to fill again: enough for every chunk a caller
/// may hold on to (say, in a queue of its own to a second stage), so that none is
/// allocated anew once the pipeline is full.
const SPARE_CHUNKS: usize = 8;

/// A table source read on a thread of its own, chunk by chunk, so that splitting and
/// decoding the text overlaps with whatever the caller does with the records.
///
/// The records, their order and their statuses are exactly those of
/// [`TableSource::next_record`]. Dropping it early stops the thread.
pub struct ReadAhead {
    headers: Vec<String>,
    path: PathBuf,
    chunks: Option<Receiver<Result<Chunk>>>,
    spare: SyncSender<Chunk>,
    thread: Option<JoinHandle<()>>,
}

impl TableSource {
    /// Moves the source to a reading thread that hands over `chunk_rows` records at a time.
    pub fn read_ahead(self, chunk_rows: usize) -> ReadAhead {
        let headers = self.headers().to_vec();
        let path = self.path().to_path_buf();
        let (chunk_tx, chunk_rx) = sync_channel(CHUNKS_IN_FLIGHT);
        let (spare_tx, spare_rx) = sync_channel(SPARE_CHUNKS);
        let thread = std::thread::Builder::new()
            .name("clm-read".into())
            .spawn(move || read_chunks(self, chunk_rows.max(1), &chunk_tx, &spare_rx))
            .map_err(|e| Error::Other(format!("cannot start a reading thread: {e}")));
        let (chunks, thread) = match thread {
            Ok(t) => (Some(chunk_rx), Some(t)),
            Err(e) => {
                // Reported as the first chunk, like any read error.
                let (tx, rx) = sync_channel(1);
                let _ = tx.send(Err(e));
                (Some(rx), None)
            }
        };
        ReadAhead {
            headers,
            path,
            chunks,
            spare: spare_tx,
            thread,
        }
    }
}

/// The reading thread: fills chunks (reusing those given back) until the source ends, an
/// error occurs (sent on as the last message) or the receiver is gone.
fn read_chunks(
    mut src: TableSource,
    chunk_rows: usize,
    out: &SyncSender<Result<Chunk>>,
    spare: &Receiver<Chunk>,
) {
    loop {
        let mut chunk = spare.try_recv().unwrap_or_default();
        match chunk.fill(&mut src, chunk_rows) {
            Ok(more) => {
                if !chunk.is_empty() && out.send(Ok(chunk)).is_err() {
                    return;
                }
                if !more {
                    return;
                }
            }
            Err(e) => {
                let _ = out.send(Err(e));
                return;
            }
        }
    }
}

impl ReadAhead {
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The next chunk of records, `None` after the last. Give it back with
    /// [`ReadAhead::give_back`] so that its allocations are reused.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let Some(rx) = &self.chunks else {
            return Ok(None);
        };
        match rx.recv() {
            Ok(r) => r.map(Some),
            Err(_) => {
                // The thread is done: every chunk it sent was received. It stops only at
                // the end, after an error it sent, or by panicking, which must not pass
                // for the end of the file.
                self.chunks = None;
                match self.thread.take().map(JoinHandle::join) {
                    Some(Err(_)) => Err(Error::source(
                        &self.path,
                        "internal error: the reading thread stopped unexpectedly",
                    )),
                    _ => Ok(None),
                }
            }
        }
    }

    /// Returns a used chunk for the reading thread to fill again.
    pub fn give_back(&self, chunk: Chunk) {
        self.recycler().give_back(chunk);
    }

    /// A handle that gives chunks back from another thread.
    pub fn recycler(&self) -> Recycler {
        Recycler(self.spare.clone())
    }
}

/// Gives used chunks back to a [`ReadAhead`]'s reading thread, from any thread.
#[derive(Clone)]
pub struct Recycler(SyncSender<Chunk>);

impl Recycler {
    pub fn give_back(&self, chunk: Chunk) {
        // A full queue or a finished thread: the chunk is simply dropped.
        let _ = self.0.try_send(chunk);
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Closing the channel first makes the thread stop at its next chunk.
        self.chunks = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn read_all(p: &Path, enc: Encoding) -> (Vec<String>, Vec<Result<Vec<String>, String>>) {
        let mut r = SourceReader::open(p, enc, b';').unwrap();
        let mut rec = StringRecord::new();
        let mut rows = Vec::new();
        while let Some(st) = r.next_record(&mut rec).unwrap() {
            rows.push(match st {
                RecordStatus::Ok => Ok(rec.iter().map(String::from).collect()),
                RecordStatus::Bad(m) => Err(m),
            });
        }
        (r.headers().to_vec(), rows)
    }

    #[test]
    fn utf8_bom_and_cp1251_read_alike() {
        let d = tempfile::tempdir().unwrap();
        let text = "Код;ФИО\r\n1;Иванов\r\n";
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let a = write(d.path(), "a.csv", &bom);
        let (cp, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let b = write(d.path(), "b.csv", &cp);
        let c = write(d.path(), "c.csv", text.as_bytes());
        let ra = read_all(&a, Encoding::Auto);
        let rb = read_all(&b, Encoding::Auto);
        let rc = read_all(&c, Encoding::Utf8);
        assert_eq!(ra.0, ["Код", "ФИО"]);
        assert_eq!(ra, rb);
        assert_eq!(ra, rc);
        let rb2 = read_all(&b, Encoding::Cp1251);
        assert_eq!(ra, rb2);
    }

    #[test]
    fn bad_records_are_reported_not_lost() {
        let d = tempfile::tempdir().unwrap();
        let mut bytes = b"a;b\n1;2\n3\n".to_vec();
        bytes.extend_from_slice(&[0xFF, b';', b'x', b'\n']);
        bytes.extend_from_slice(b"5;6\n");
        let p = write(d.path(), "x.csv", &bytes);
        let (_, rows) = read_all(&p, Encoding::Utf8);
        assert_eq!(rows.len(), 4);
        assert!(rows[0].is_ok());
        assert_eq!(rows[1], Err("expected 2 fields, found 1".into()));
        assert!(rows[2].as_ref().unwrap_err().contains("not valid"));
        assert_eq!(rows[3], Ok(vec!["5".into(), "6".into()]));
    }

    #[test]
    fn empty_file_and_wrong_delimiter() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "e.csv", b"");
        let e = SourceReader::open(&p, Encoding::Auto, b';')
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("empty"), "{e}");
        let p = write(d.path(), "w.csv", b"a,b,c\n1,2,3\n");
        let e = SourceReader::open(&p, Encoding::Auto, b';')
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("delimiter"), "{e}");
    }

    #[test]
    fn column_lookup() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "h.csv", b"a;b;a\n");
        let r = SourceReader::open(&p, Encoding::Auto, b';').unwrap();
        assert_eq!(r.column_index("b").unwrap(), 1);
        assert!(r
            .column_index("a")
            .unwrap_err()
            .to_string()
            .contains("2 times"));
        assert!(r
            .column_index("zz")
            .unwrap_err()
            .to_string()
            .contains("not in the header"));
    }

    #[test]
    fn a_missing_column_repeats_the_first_row_only_when_it_is_names() {
        let d = tempfile::tempdir().unwrap();
        // Header-less files of (synthetic) personal data: no cell of the first row may
        // reach the message, whether the detectors fire on it or not.
        let rows: [(&str, &[&str]); 3] = [
            (
                "Смирнова;Анна;Ж;Москва;Абонемент Стандарт\n",
                &["Смирнова", "Анна", "Москва", "Стандарт"],
            ),
            (
                "Ivanova Anna Sergeevna;F;Kazan;Gold\n",
                &["Ivanova", "Kazan", "Gold"],
            ),
            (
                "1001;Петров Пётр;+7 916 123-45-67;petrov@example.com;12.03.1990\n",
                &["1001", "Петров", "916", "petrov", "1990"],
            ),
        ];
        for (i, (row, planted)) in rows.iter().enumerate() {
            let p = write(d.path(), &format!("n{i}.csv"), row.as_bytes());
            let r = SourceReader::open(&p, Encoding::Auto, b';').unwrap();
            let e = r.column_index("Код клиента").unwrap_err().to_string();
            assert!(e.contains("does not look like column names"), "{e}");
            for v in *planted {
                assert!(!e.contains(v), "{v} in {e}");
            }
            assert!(
                e.contains(&format!("it has {} cells", row.split(';').count())),
                "{e}"
            );
        }
        let p = write(d.path(), "n2b.csv", rows[2].0.as_bytes());
        let e = SourceReader::open(&p, Encoding::Auto, b';')
            .unwrap()
            .column_index("Код клиента")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cells that look like values: 1 (number or date), 3 (phone), 4 (email), 5 (number or date)"),
            "{e}"
        );
        assert!(e.contains("cells with no word of a column name: 2"), "{e}");
        // A real header with a typo in the mapping: the columns are listed.
        let p = write(
            d.path(),
            "h.csv",
            "Код клиента;ФИО;Телефон;Дата рождения;Пол;Филиал\n".as_bytes(),
        );
        let e = SourceReader::open(&p, Encoding::Auto, b';')
            .unwrap()
            .column_index("Код  клиента")
            .unwrap_err()
            .to_string();
        assert!(e.contains("(columns: \"Код клиента\", \"ФИО\""), "{e}");
    }

    #[test]
    fn utf16_binary_and_sniffing() {
        let d = tempfile::tempdir().unwrap();
        let text = "Код;ФИО\r\n1;Иванов\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let p = write(d.path(), "le.csv", &le);
        assert_eq!(
            read_all(&p, Encoding::Auto),
            read_all(&write(d.path(), "u.csv", text.as_bytes()), Encoding::Auto)
        );
        let s = sniff_csv(&p).unwrap();
        assert_eq!((s.encoding, s.delimiter), ("utf-16le", b';'));
        let p = write(d.path(), "z.csv", b"PK\x03\x04rest of a zip");
        let e = SourceReader::open(&p, Encoding::Auto, b';')
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("ZIP"), "{e}");
        let p = write(d.path(), "t.csv", "a\tb\tc\n1\t2\t\"x;y\"\n".as_bytes());
        assert_eq!(sniff_csv(&p).unwrap().delimiter, b'\t');
        let p = write(d.path(), "c.csv", "a,b,c;d\n1,2,3;4\n4,5,6;7\n".as_bytes());
        assert_eq!(sniff_csv(&p).unwrap().delimiter, b',');
    }

    #[test]
    fn stray_quotes_repeated_headers_and_boms() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "q.csv",
            "a;b\n1;\"x\n2;y\n\u{feff}a;b\n\u{feff}3;z\n".as_bytes(),
        );
        let (_, rows) = read_all(&p, Encoding::Auto);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0], Err(reason::UNCLOSED_QUOTE.to_string()));
        assert_eq!(rows[1], Ok(vec!["2".to_string(), "y".to_string()]));
        assert_eq!(rows[2], Err(reason::REPEATED_HEADER.to_string()));
        assert_eq!(rows[3], Ok(vec!["3".to_string(), "z".to_string()]));
    }

    #[test]
    fn characters_cut_by_a_delimiter_and_stray_marks_are_caught() {
        let d = tempfile::tempdir().unwrap();
        let mut bytes = b"a;b\n".to_vec();
        // "Ж" is D0 96: valid as a whole record, not as two fields.
        bytes.extend_from_slice(b"\xD0;\x96\n");
        bytes.extend_from_slice("x;\u{fffd}\n".as_bytes());
        bytes.extend_from_slice("\u{feff}y;z\u{feff}\n".as_bytes());
        let p = write(d.path(), "x.csv", &bytes);
        let (_, rows) = read_all(&p, Encoding::Utf8);
        assert!(rows[0].as_ref().unwrap_err().contains("not valid"));
        assert!(rows[1].as_ref().unwrap_err().contains("not valid"));
        assert_eq!(rows[2], Ok(vec!["y".to_string(), "z".to_string()]));
    }

    /// Reading ahead on a thread gives the records, statuses and lines of reading in place.
    #[test]
    fn read_ahead_reads_what_next_record_reads() {
        let d = tempfile::tempdir().unwrap();
        let mut text = String::from("id;x\n");
        for i in 0..50 {
            match i % 7 {
                3 => text.push_str("1;\"open\n"),
                5 => text.push_str("NULL;2;3\n"),
                _ => text.push_str(&format!("{i};v{i}\n")),
            }
        }
        write(d.path(), "t.csv", text.as_bytes());
        let m = crate::mapping::Mapping::parse(
            Path::new("m.toml"),
            "[tables.clients]\nfile = 't.csv'\n[tables.clients.fields]\nclient_id = 'id'\nbranch = 'x'\n",
            d.path(),
        )
        .unwrap();
        let mut t = open_table(&m.tables[0]).unwrap();
        let mut rec = StringRecord::new();
        let mut direct = Vec::new();
        while let Some(st) = t.next_record(&mut rec).unwrap() {
            direct.push((rec.clone(), st, t.line()));
        }
        let mut ahead = open_table(&m.tables[0]).unwrap().read_ahead(3);
        assert_eq!(ahead.headers(), ["id", "x"]);
        let mut read = Vec::new();
        while let Some(chunk) = ahead.next_chunk().unwrap() {
            read.extend(
                chunk
                    .iter()
                    .map(|r| (r.rec.clone(), r.status.clone(), r.line)),
            );
            ahead.give_back(chunk);
        }
        assert_eq!(read, direct);
        assert!(ahead.next_chunk().unwrap().is_none());
    }

    #[test]
    fn tables_read_null_markers_as_empty() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "c.csv",
            "id;x\n1;—\n2;NULL\n3; н.д. \n4;NULLS\n5;\u{a0}NULL\u{2003}\n6;\u{3000}н/д\n7;0NULL\n"
                .as_bytes(),
        );
        let m = crate::mapping::Mapping::parse(
            Path::new("m.toml"),
            "[tables.clients]\nfile = 'c.csv'\n[tables.clients.fields]\nclient_id = 'id'\nbranch = 'x'\n",
            d.path(),
        )
        .unwrap();
        let mut t = open_table(&m.tables[0]).unwrap();
        let mut rec = StringRecord::new();
        let mut got = Vec::new();
        while t.next_record(&mut rec).unwrap().is_some() {
            got.push(rec.get(1).unwrap().to_string());
        }
        assert_eq!(got, ["", "", "", "NULLS", "", "", "0NULL"]);
        assert_eq!(t.describe(), "CSV (UTF-8)");
    }
}
