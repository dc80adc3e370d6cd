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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use calamine::{open_workbook_auto, Data, Range, Reader};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use csv::StringRecord;

use crate::source::RecordStatus;
use crate::values::{excel_serial_to_datetime, DateFormat};
use crate::{Error, Result};

/// How cells become strings.
#[derive(Debug, Clone, Default)]
pub struct Render {
    pub decimal_comma: bool,
    /// Column header → the date format of the field it is mapped to.
    pub dates: HashMap<String, DateFormat>,
}

/// The sheet names of a workbook, in order.
pub fn sheet_names(path: &Path) -> Result<Vec<String>> {
    let wb = open_workbook_auto(path).map_err(|e| open_error(path, e))?;
    Ok(wb.sheet_names())
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
        assert_eq!(sheet_names(&p).unwrap(), ["Прочее", "Клиенты"]);
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
}
