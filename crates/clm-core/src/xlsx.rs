//! Workbook sources (XLSX, and whatever else calamine reads: XLSM, XLSB, XLS, ODS): one
//! sheet is one table, its first non-empty row the header.
//!
//! Cells become the strings a CSV export would have held, so everything downstream reads
//! both alike: numbers in plain decimal notation (with a decimal comma when the table says
//! `decimal_comma`), booleans as `true`/`false`, error cells as empty. Date cells, and
//! numbers in a column mapped to a date field (Excel serial dates, 1900 date system with
//! its leap-year bug), are written in that field's date format, so the field's parser reads
//! them back; date cells elsewhere are written `YYYY-MM-DD` (`YYYY-MM-DD HH:mm:ss` with a
//! time).
//!
//! Limit: calamine reads a whole sheet into memory (a sheet holds at most 1,048,576 rows,
//! a few hundred MB at worst). Export the largest tables as CSV.
//!
//! A workbook is a zip archive, and a few MB of it can unpack to gigabytes (a "zip bomb":
//! calamine would hold them all in memory before saying anything). So before calamine opens
//! a zip workbook, every part of it is unpacked once into nothing, counting bytes, and the
//! workbook is refused when one part unpacks to more than a limit ([`DEFAULT_MAX_UNPACKED`],
//! 1 GiB, or `max_unpacked_mb` in the mapping). The sizes the zip directory declares are
//! checked first, but not trusted: a hostile file can declare anything.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use calamine::{open_workbook_auto, Data, Range, Reader};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use csv::StringRecord;

use crate::record::RecordStatus;
use crate::values::{excel_serial_to_datetime, DateFormat};
use crate::{Error, Result};

/// The most one part of a zip workbook (a sheet, the shared strings) may unpack to: 1 GiB.
///
/// The largest sheet a real export can hold (1,048,576 rows of some 20 columns) is under
/// 1 GB of XML, and a club's tables are far smaller (100,000 clients of 30 columns: some
/// 150 MB); calamine holds about as much again in memory as a part's XML, so this admits any
/// real export and stops a bomb at a few GB of memory instead of wherever it leads.
pub const DEFAULT_MAX_UNPACKED: u64 = 1 << 30;

/// How cells become strings.
#[derive(Debug, Clone)]
pub struct Render {
    pub decimal_comma: bool,
    /// Column header → the date format of the field it is mapped to.
    pub dates: HashMap<String, DateFormat>,
    /// The most one part of a zip workbook may unpack to, in bytes.
    pub max_unpacked: u64,
}

impl Default for Render {
    fn default() -> Self {
        Render {
            decimal_comma: false,
            dates: HashMap::new(),
            max_unpacked: DEFAULT_MAX_UNPACKED,
        }
    }
}

/// The sheet names of a workbook, in order.
pub fn sheet_names(path: &Path, max_unpacked: u64) -> Result<Vec<String>> {
    check_unpacked_size(path, max_unpacked, None)?;
    let wb = open_workbook_auto(path).map_err(|e| open_error(path, e))?;
    Ok(wb.sheet_names())
}

/// Workbooks that passed [`check_unpacked_size`]: path, length, modification time, limit.
type Checked = (PathBuf, u64, Option<std::time::SystemTime>, u64);
static CHECKED: LazyLock<Mutex<HashSet<Checked>>> = LazyLock::new(Default::default);

/// Refuses a zip workbook (XLSX, XLSM, XLSB, ODS) one of whose parts unpacks to more than
/// `limit` bytes. Each part is unpacked into nothing, at most `limit + 1` bytes of it, so
/// memory stays flat whatever the file claims. Files that are no zip archive (XLS) pass:
/// they are not compressed. A workbook that passed is not unpacked again for the next sheet.
pub fn check_unpacked_size(path: &Path, limit: u64, sheet: Option<&str>) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok(), limit);
    if CHECKED.lock().is_ok_and(|c| c.contains(&key)) {
        return Ok(());
    }
    let mut file = std::io::BufReader::new(file);
    let mut magic = [0u8; 4];
    let is_zip = file.read_exact(&mut magic).is_ok() && magic == *b"PK\x03\x04";
    if !is_zip {
        return Ok(());
    }
    use std::io::Seek;
    file.rewind().map_err(|e| Error::io(path, e))?;
    // Not a readable zip: calamine says so in its own words.
    let Ok(mut zip) = zip::ZipArchive::new(file) else {
        return Ok(());
    };
    let mib = limit.div_ceil(1 << 20);
    let too_big = |entry: &str, how: &str| {
        Error::source(
            path,
            format!(
                "workbook part {entry:?}{} {how} more than {mib} MiB, the limit for one part \
                 of a workbook: the file is damaged or built to exhaust memory (a zip bomb). \
                 If it is a real export, export this table as CSV, or raise \
                 `max_unpacked_mb` in the mapping's [source]",
                match sheet {
                    Some(s) => format!(" (opening sheet {s:?})"),
                    None => String::new(),
                }
            ),
        )
    };
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            // Encrypted or of an unknown compression: calamine says what it can.
            Err(_) => continue,
        };
        let name = entry.name().to_string();
        if entry.size() > limit {
            return Err(too_big(&name, "declares it unpacks to"));
        }
        let unpacked = std::io::copy(&mut (&mut entry).take(limit + 1), &mut std::io::sink());
        match unpacked {
            Ok(n) if n > limit => return Err(too_big(&name, "unpacks to")),
            Ok(_) => {}
            Err(_) => {
                return Err(Error::source(
                    path,
                    format!("workbook part {name:?} cannot be unpacked: the file is damaged"),
                ))
            }
        }
    }
    if let Ok(mut c) = CHECKED.lock() {
        c.insert(key);
    }
    Ok(())
}

fn open_error(path: &Path, e: calamine::Error) -> Error {
    // calamine's messages may quote cell contents; say what kind of failure only.
    let kind = match e {
        calamine::Error::Io(e) => return Error::io(path, e),
        calamine::Error::Msg(m) => m.to_string(),
        _ => "not a readable workbook (damaged, encrypted, or not XLSX/XLS/ODS)".to_string(),
    };
    Error::source(path, kind)
}

/// One sheet, row by row.
pub struct SheetReader {
    path: PathBuf,
    sheet: String,
    range: Range<Data>,
    headers: Vec<String>,
    /// Per column: the date format to write date cells and serial numbers in.
    date_cols: Vec<Option<DateFormat>>,
    decimal_comma: bool,
    /// Absolute row index (0-based) of the first cell of `range`.
    first_row: u32,
    /// Next row to read, relative to `range`.
    next: usize,
    line: u64,
    size: u64,
    done: Arc<AtomicU64>,
}

impl SheetReader {
    /// Opens sheet `sheet` (or the only sheet when `None`).
    pub fn open(path: &Path, sheet: Option<&str>, render: &Render) -> Result<SheetReader> {
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        check_unpacked_size(path, render.max_unpacked, sheet)?;
        let mut wb = open_workbook_auto(path).map_err(|e| open_error(path, e))?;
        let names = wb.sheet_names();
        let list = || {
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let name = match sheet {
            Some(s) => names
                .iter()
                .find(|n| n.as_str() == s.trim())
                .cloned()
                .ok_or_else(|| {
                    Error::source(
                        path,
                        format!("the workbook has no sheet {s:?} (sheets: {})", list()),
                    )
                })?,
            None => match names.as_slice() {
                [one] => one.clone(),
                [] => return Err(Error::source(path, "the workbook has no sheets")),
                _ => {
                    return Err(Error::source(
                        path,
                        format!(
                            "the workbook has several sheets: name one with `sheet` in the mapping (sheets: {})",
                            list()
                        ),
                    ))
                }
            },
        };
        let range = wb.worksheet_range(&name).map_err(|e| open_error(path, e))?;
        let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
        let mut reader = SheetReader {
            path: path.to_path_buf(),
            sheet: name.clone(),
            range,
            headers: Vec::new(),
            date_cols: Vec::new(),
            decimal_comma: render.decimal_comma,
            first_row,
            next: 0,
            line: 0,
            size,
            done: Arc::new(AtomicU64::new(0)),
        };
        // The header: the first row with a non-empty cell.
        let height = reader.range.height();
        while reader.next < height && reader.row_is_empty(reader.next) {
            reader.next += 1;
        }
        if reader.next >= height {
            return Err(Error::source(
                path,
                format!("sheet {name:?} is empty: no header row"),
            ));
        }
        let hrow = reader.next;
        reader.headers = (0..reader.range.width())
            .map(|c| {
                let cell = reader.range.get((hrow, c)).unwrap_or(&Data::Empty);
                render_plain(cell, false)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        // Trailing columns without a header and without data are no columns.
        while reader.headers.last().is_some_and(|h| h.is_empty()) {
            reader.headers.pop();
        }
        reader.date_cols = reader
            .headers
            .iter()
            .map(|h| render.dates.get(h).cloned())
            .collect();
        reader.line = reader.first_row as u64 + hrow as u64 + 1;
        reader.next = hrow + 1;
        Ok(reader)
    }

    fn row_is_empty(&self, row: usize) -> bool {
        (0..self.range.width()).all(|c| match self.range.get((row, c)) {
            None | Some(Data::Empty) => true,
            Some(Data::String(s)) => s.trim().is_empty(),
            _ => false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn sheet(&self) -> &str {
        &self.sheet
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The sheet's row number (as Excel shows it) of the last record.
    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn progress(&self) -> (u64, Arc<AtomicU64>) {
        (self.size, Arc::clone(&self.done))
    }

    /// Reads the next non-empty row into `rec`; `None` at the end of the sheet.
    pub fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<RecordStatus>> {
        let height = self.range.height();
        while self.next < height && self.row_is_empty(self.next) {
            self.next += 1;
        }
        if self.next >= height {
            self.done.store(self.size, Ordering::Relaxed);
            return Ok(None);
        }
        let row = self.next;
        self.next += 1;
        self.line = self.first_row as u64 + row as u64 + 1;
        if height > 0 {
            self.done.store(
                self.size * self.next as u64 / height as u64,
                Ordering::Relaxed,
            );
        }
        rec.clear();
        let mut extra = false;
        for c in 0..self.range.width() {
            let cell = self.range.get((row, c)).unwrap_or(&Data::Empty);
            if c >= self.headers.len() {
                extra |= !matches!(cell, Data::Empty);
                continue;
            }
            let text = match &self.date_cols[c] {
                Some(fmt) => render_date_field(cell, fmt, self.decimal_comma),
                None => render_plain(cell, self.decimal_comma),
            };
            rec.push_field(&text);
        }
        if extra {
            return Ok(Some(RecordStatus::Bad(
                "a cell right of the last header column".into(),
            )));
        }
        Ok(Some(RecordStatus::Ok))
    }
}

/// A number as plain decimal text: whole numbers without a fraction, others with up to 9
/// decimals (enough for money, and it hides binary noise such as 0.30000000000000004).
pub fn number_text(f: f64, decimal_comma: bool) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let s = format!("{f:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if decimal_comma {
        s.replace('.', ",")
    } else {
        s.to_string()
    }
}

/// A date cell's value; `None` for durations and dates that do not exist (29.02.1900).
fn cell_datetime(cell: &Data) -> Option<NaiveDateTime> {
    match cell {
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            let date = NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)?;
            let time = NaiveTime::from_hms_opt(h as u32, mi as u32, s as u32)?;
            // Serials are binary fractions of a day: round to the nearest second.
            let t = NaiveDateTime::new(date, time);
            Some(if ms >= 500 {
                t + chrono::Duration::seconds(1)
            } else {
                t
            })
        }
        Data::DateTimeIso(s) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(NaiveTime::MIN))
            }),
        _ => None,
    }
}

fn iso(t: NaiveDateTime) -> String {
    if t.time() == NaiveTime::MIN {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// A cell in a column that is not a date field.
pub fn render_plain(cell: &Data, decimal_comma: bool) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f, decimal_comma),
        Data::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Data::DateTime(dt) => match cell_datetime(cell) {
            Some(t) => iso(t),
            // A duration, or Excel's 29.02.1900: the serial, which no date format reads.
            None => number_text(dt.as_f64(), decimal_comma),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => match cell_datetime(cell) {
            Some(t) => iso(t),
            None => s.clone(),
        },
    }
}

/// A cell in a column mapped to a date field: dates and serial numbers in the field's format;
/// text as it is (the field's parser reads it, or rejects the row).
fn render_date_field(cell: &Data, fmt: &DateFormat, decimal_comma: bool) -> String {
    let t = match cell {
        Data::DateTime(_) | Data::DateTimeIso(_) => cell_datetime(cell).ok_or(()),
        Data::Float(f) => excel_serial_to_datetime(*f).map_err(|_| ()),
        Data::Int(i) => excel_serial_to_datetime(*i as f64).map_err(|_| ()),
        _ => return render_plain(cell, decimal_comma),
    };
    match t.ok().and_then(|t| fmt.format(t)) {
        Some(s) => s,
        // Not a date the format can hold: a text no date format reads, so the row is
        // rejected with the field's usual reason.
        None => "#invalid-date".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    fn workbook(dir: &Path) -> PathBuf {
        let p = dir.join("book.xlsx");
        let mut wb = Workbook::new();
        let date = Format::new().set_num_format("dd.mm.yyyy");
        let dt = Format::new().set_num_format("dd.mm.yyyy hh:mm");
        let s = wb.add_worksheet();
        s.set_name("Прочее").unwrap();
        s.write_string(0, 0, "x").unwrap();
        let s = wb.add_worksheet();
        s.set_name("Клиенты").unwrap();
        // A blank first row, then the header in row 2.
        for (c, h) in ["Код", "Дата", "Вход", "Сумма", "Флаг"].iter().enumerate()
        {
            s.write_string(1, c as u16, *h).unwrap();
        }
        s.write_string(2, 0, "007").unwrap();
        s.write_datetime_with_format(2, 1, ExcelDateTime::from_ymd(2024, 3, 5).unwrap(), &date)
            .unwrap();
        s.write_datetime_with_format(
            2,
            2,
            ExcelDateTime::from_ymd(2024, 3, 5)
                .unwrap()
                .and_hms(18, 47, 0)
                .unwrap(),
            &dt,
        )
        .unwrap();
        s.write_number(2, 3, 1500.5).unwrap();
        s.write_boolean(2, 4, true).unwrap();
        // Serial numbers in the date columns; 60 is Excel's 29.02.1900.
        s.write_number(3, 0, 7.0).unwrap();
        s.write_number(3, 1, 45292.0).unwrap();
        s.write_number(3, 2, 45292.75).unwrap();
        s.write_number(3, 3, 0.1 + 0.2).unwrap();
        s.write_number(4, 0, 8.0).unwrap();
        s.write_number(4, 1, 60.0).unwrap();
        s.write_string(4, 2, "05.03.2024 10:00").unwrap();
        wb.save(&p).unwrap();
        p
    }

    fn rows(r: &mut SheetReader) -> Vec<(u64, Vec<String>)> {
        let mut rec = StringRecord::new();
        let mut out = Vec::new();
        while let Some(st) = r.next_record(&mut rec).unwrap() {
            assert_eq!(st, RecordStatus::Ok);
            out.push((r.line(), rec.iter().map(String::from).collect()));
        }
        out
    }

    #[test]
    fn cells_become_the_strings_of_a_csv_export() {
        let d = tempfile::tempdir().unwrap();
        let p = workbook(d.path());
        assert_eq!(
            sheet_names(&p, DEFAULT_MAX_UNPACKED).unwrap(),
            ["Прочее", "Клиенты"]
        );
        let e = SheetReader::open(&p, None, &Render::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("several sheets"), "{e}");
        let e = SheetReader::open(&p, Some("Нет"), &Render::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no sheet \"Нет\""), "{e}");

        // Without a mapping: ISO dates, serials as numbers.
        let mut r = SheetReader::open(&p, Some("Клиенты"), &Render::default()).unwrap();
        assert_eq!(r.headers(), ["Код", "Дата", "Вход", "Сумма", "Флаг"]);
        let got = rows(&mut r);
        assert_eq!(got[0].0, 3);
        assert_eq!(
            got[0].1,
            ["007", "2024-03-05", "2024-03-05 18:47:00", "1500.5", "true"]
        );
        assert_eq!(got[1].1, ["7", "45292", "45292.75", "0.3", ""]);

        // Mapped date columns: written in the field's format; serial 60 is no date.
        let render = Render {
            decimal_comma: true,
            dates: [
                (
                    "Дата".to_string(),
                    DateFormat::parse_pattern("DD.MM.YYYY").unwrap(),
                ),
                (
                    "Вход".to_string(),
                    DateFormat::parse_pattern("DD.MM.YYYY HH:mm").unwrap(),
                ),
            ]
            .into_iter()
            .collect(),
            ..Render::default()
        };
        let mut r = SheetReader::open(&p, Some("Клиенты"), &render).unwrap();
        let got = rows(&mut r);
        assert_eq!(
            got[0].1,
            ["007", "05.03.2024", "05.03.2024 18:47", "1500,5", "true"]
        );
        assert_eq!(got[1].1, ["7", "01.01.2024", "01.01.2024 18:00", "0,3", ""]);
        assert_eq!(got[2].1[1], "#invalid-date");
        assert_eq!(got[2].1[2], "05.03.2024 10:00");
        assert_eq!(got[2].0, 5);
    }

    /// The workbook of [`workbook`] with its shared strings grown to `pad` bytes of XML
    /// (spaces inside one string: a bomb in miniature, it packs to a few KB).
    fn padded(dir: &Path, pad: usize) -> PathBuf {
        use std::io::Write;
        let src = workbook(dir);
        let mut zin = zip::ZipArchive::new(std::fs::File::open(&src).unwrap()).unwrap();
        let p = dir.join("padded.xlsx");
        let mut zout = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..zin.len() {
            let mut e = zin.by_index(i).unwrap();
            let name = e.name().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            if name == "xl/sharedStrings.xml" {
                let text = String::from_utf8(data).unwrap();
                let at = text.find("</t>").unwrap();
                data = format!("{}{}{}", &text[..at], " ".repeat(pad), &text[at..]).into_bytes();
            }
            zout.start_file(name, opts).unwrap();
            zout.write_all(&data).unwrap();
        }
        zout.finish().unwrap();
        p
    }

    /// Rewrites the unpacked size the zip declares for `entry` (local header and central
    /// directory) as `size`: a lying header.
    fn declare_size(p: &Path, entry: &str, size: u32) {
        let mut b = std::fs::read(p).unwrap();
        let le16 = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
        let mut patched = 0;
        let mut i = 0;
        while i + 46 < b.len() {
            let (sig, name_len_at, name_at, size_at) = match &b[i..i + 4] {
                b"PK\x03\x04" => ("local", 26, 30, 22),
                b"PK\x01\x02" => ("central", 28, 46, 24),
                _ => {
                    i += 1;
                    continue;
                }
            };
            let n = le16(&b, i + name_len_at);
            if &b[i + name_at..i + name_at + n] == entry.as_bytes() {
                b[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
            let _ = sig;
            i += 4;
        }
        assert_eq!(patched, 2, "local header and central directory");
        std::fs::write(p, b).unwrap();
    }

    fn open_err(p: &Path, max_unpacked: u64) -> String {
        let render = Render {
            max_unpacked,
            ..Render::default()
        };
        match SheetReader::open(p, Some("Клиенты"), &render) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_part_that_unpacks_past_the_limit_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = padded(d.path(), 3 << 20);
        assert!(std::fs::metadata(&p).unwrap().len() < 100_000);
        // Under the default limit the workbook reads as before.
        assert_eq!(open_err(&p, DEFAULT_MAX_UNPACKED), "");
        // Past a 1 MiB limit: refused, naming the file, the part, the sheet and the limit.
        let e = open_err(&p, 1 << 20);
        assert!(e.contains("padded.xlsx"), "{e}");
        assert!(e.contains("\"xl/sharedStrings.xml\""), "{e}");
        assert!(e.contains("sheet \"Клиенты\""), "{e}");
        assert!(e.contains("more than 1 MiB"), "{e}");
        assert!(e.contains("declares"), "{e}");
        assert!(e.contains("max_unpacked_mb"), "{e}");
        let e = sheet_names(&p, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("xl/sharedStrings.xml"), "{e}");
    }

    #[test]
    fn a_lying_zip_header_does_not_hide_the_size() {
        let d = tempfile::tempdir().unwrap();
        let p = padded(d.path(), 3 << 20);
        declare_size(&p, "xl/sharedStrings.xml", 100);
        let e = open_err(&p, 1 << 20);
        assert!(
            e.contains(
                "\"xl/sharedStrings.xml\" (opening sheet \"Клиенты\") unpacks to more than 1 MiB"
            ),
            "{e}"
        );
    }
}
