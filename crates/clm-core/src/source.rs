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
use std::sync::Arc;

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

/// Outcome of reading one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    Ok,
    /// The record is unusable; the reason names no value.
    Bad(String),
}

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
/// header row): personal data by the detectors, a date, or a long number. Such cells are
/// never repeated in a message.
pub fn header_looks_like_data(h: &str) -> bool {
    let h = h.trim();
    if h.is_empty() {
        return false;
    }
    if crate::detect::first_hit(h).is_some() {
        return true;
    }
    let digits = h.chars().filter(|c| c.is_ascii_digit()).count();
    digits >= 4 && digits * 2 >= h.chars().count()
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
            if headers.iter().any(|h| header_looks_like_data(h)) {
                format!(
                    "the mapping names column {name:?}, which is not in the header; the first row looks like data, not names (is the header row missing?), so its cells are not repeated here"
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
        let raw = Cursor::new(prefix).chain(counting);
        let decoded = DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_override(true)
            .strip_bom(true)
            .utf8_passthru(true)
            .build(raw);
        let boxed: Box<dyn Read + Send> = Box::new(decoded);
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

    fn fill(&self, rec: &mut StringRecord) -> bool {
        rec.clear();
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
        if !valid || rec.as_slice().contains('\u{FFFD}') {
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
    null_markers: Vec<String>,
    scratch: Vec<String>,
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
            },
        )?)
    } else {
        Inner::Csv(SourceReader::open(&tm.file, tm.encoding, tm.delimiter)?)
    };
    Ok(TableSource {
        inner,
        null_markers: tm.null_markers.clone(),
        scratch: Vec::new(),
    })
}

impl TableSource {
    pub fn from_csv(reader: SourceReader, null_markers: Vec<String>) -> Self {
        TableSource {
            inner: Inner::Csv(reader),
            null_markers,
            scratch: Vec::new(),
        }
    }

    pub fn from_sheet(reader: SheetReader, null_markers: Vec<String>) -> Self {
        TableSource {
            inner: Inner::Sheet(reader),
            null_markers,
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
        if st.is_some() && !self.null_markers.is_empty() {
            let markers = &self.null_markers;
            let longest = markers.iter().map(String::len).max().unwrap_or(0);
            let is_marker = |f: &str| {
                f.len() <= longest + 8 && {
                    let t = f.trim();
                    !t.is_empty() && markers.iter().any(|m| m == t)
                }
            };
            if rec.iter().any(is_marker) {
                self.scratch.clear();
                self.scratch.extend(rec.iter().map(|f| {
                    if is_marker(f) {
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
        }
        Ok(st)
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
    fn tables_read_null_markers_as_empty() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "c.csv",
            "id;x\n1;—\n2;NULL\n3; н.д. \n4;NULLS\n".as_bytes(),
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
        assert_eq!(got, ["", "", "", "NULLS"]);
        assert_eq!(t.describe(), "CSV (UTF-8)");
    }
}
