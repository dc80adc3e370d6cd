//! Writing results: a terminal table (comfy-table), CSV, JSON or Parquet; to stdout or to
//! `--out FILE`. With several outputs and `--out FILE`, each goes to `FILE-STEM.NAME.EXT`;
//! with `--out DIR/` (an existing directory, or a path ending in `/`), to `DIR/NAME.EXT`.
//!
//! Every CSV cell of text goes through [`csv_cell`], so that a spreadsheet does not take a
//! category value such as `=HYPERLINK(...)` for a formula.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, ContentArrangement, Table};
use datafusion::arrow::array::{Array, ArrayRef, Float32Array, Float64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::ArrowWriter;

use crate::engine::Output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal
    Table,
    /// Comma-separated values with a header line
    Csv,
    /// A JSON array of objects (an object of arrays when there are several outputs)
    Json,
    /// Parquet (unencrypted; needs --out)
    Parquet,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Parquet => "parquet",
        }
    }
}

/// A CSV cell as clm writes it: the one rule of every clm CSV (clm-core's `csv_cell`): a
/// text that a spreadsheet would run as a formula gets a leading `'`. Apply it to text cells and
/// headers only: numeric columns are values.
pub use clm_core::csv_cell::neutralize as csv_cell;

/// A batch ready for a CSV writer: text columns (and every header) through [`csv_cell`].
fn csv_safe_batch(b: &RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(b.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(b.num_columns());
    for (f, c) in b.schema().fields().iter().zip(b.columns()) {
        let text = match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, v) => {
                matches!(
                    **v,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            }
            _ => false,
        };
        let name = csv_cell(f.name()).into_owned();
        if text {
            let s = datafusion::arrow::compute::cast(c, &DataType::Utf8)?;
            let s = s
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to Utf8");
            let safe: StringArray = s.iter().map(|v| v.map(csv_cell)).collect();
            fields.push(Field::new(name, DataType::Utf8, f.is_nullable()));
            columns.push(Arc::new(safe));
        } else {
            fields.push(f.as_ref().clone().with_name(name));
            columns.push(c.clone());
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Whether `--out` names a directory to write one file per output into: an existing
/// directory, or a path ending in `/`.
pub fn is_dir_target(path: &Path) -> bool {
    path.is_dir()
        || path
            .as_os_str()
            .to_string_lossy()
            .ends_with(std::path::MAIN_SEPARATOR)
}

/// Writes the outputs in `format`, to `out` or stdout. Returns the files written.
pub fn write(outputs: &[Output], format: Format, out: Option<&Path>) -> Result<Vec<PathBuf>> {
    match out {
        None => {
            if format == Format::Parquet {
                bail!("--format parquet needs --out FILE");
            }
            let mut stdout = std::io::stdout().lock();
            write_stream(outputs, format, &mut stdout)?;
            stdout.flush()?;
            Ok(vec![])
        }
        Some(dir) if is_dir_target(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
            let mut written = vec![];
            for o in outputs {
                let p = dir.join(format!("{}.{}", o.name, format.extension()));
                write_file(o, format, &p)?;
                written.push(p);
            }
            Ok(written)
        }
        Some(path) => {
            let mut written = vec![];
            if outputs.len() == 1 {
                write_file(&outputs[0], format, path)?;
                written.push(path.to_path_buf());
            } else {
                for o in outputs {
                    let p = numbered_path(path, &o.name, format);
                    write_file(o, format, &p)?;
                    written.push(p);
                }
            }
            Ok(written)
        }
    }
}

fn numbered_path(path: &Path, name: &str, format: Format) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| format.extension().into());
    path.with_file_name(format!("{stem}.{name}.{ext}"))
}

fn write_file(o: &Output, format: Format, path: &Path) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    match format {
        Format::Parquet => {
            let mut writer = ArrowWriter::try_new(w, o.schema.clone(), None)?;
            for b in &o.batches {
                writer.write(b)?;
            }
            writer.close()?;
        }
        _ => {
            write_stream(std::slice::from_ref(o), format, &mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

/// Writes to a stream (stdout or a file) in a text format.
pub fn write_stream(outputs: &[Output], format: Format, w: &mut dyn Write) -> Result<()> {
    write_stream_limited(outputs, format, w, None)
}

/// `write_stream`, showing at most `max_rows` rows of each table (format table only; the
/// footer then says how many there are).
pub fn write_stream_limited(
    outputs: &[Output],
    format: Format,
    w: &mut dyn Write,
    max_rows: Option<usize>,
) -> Result<()> {
    let many = outputs.len() > 1;
    match format {
        Format::Table => {
            for (i, o) in outputs.iter().enumerate() {
                if many {
                    if i > 0 {
                        writeln!(w)?;
                    }
                    writeln!(w, "{}", o.name)?;
                }
                writeln!(w, "{}", render_table_limited(o, max_rows)?)?;
                let n = o.num_rows();
                let rows = format!("{n} row{}", if n == 1 { "" } else { "s" });
                match max_rows {
                    Some(m) if n > m => writeln!(w, "({rows}, showing {m})")?,
                    _ => writeln!(w, "({rows})")?,
                }
            }
        }
        Format::Csv => {
            for (i, o) in outputs.iter().enumerate() {
                if many {
                    if i > 0 {
                        writeln!(w)?;
                    }
                    writeln!(w, "# {}", o.name)?;
                }
                w.write_all(&csv_bytes(o)?)?;
            }
        }
        Format::Json => {
            if many {
                let mut map = serde_json::Map::new();
                for o in outputs {
                    map.insert(o.name.clone(), serde_json::from_slice(&json_bytes(o)?)?);
                }
                serde_json::to_writer_pretty(&mut *w, &serde_json::Value::Object(map))?;
                writeln!(w)?;
            } else if let Some(o) = outputs.first() {
                w.write_all(&json_bytes(o)?)?;
                writeln!(w)?;
            }
        }
        Format::Parquet => bail!("--format parquet needs --out FILE"),
    }
    Ok(())
}

fn csv_bytes(o: &Output) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut writer = datafusion::arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut buf);
        if o.batches.is_empty() {
            // Still write the header.
            let empty = RecordBatch::new_empty(o.schema.clone());
            writer.write(&csv_safe_batch(&empty)?)?;
        }
        for b in &o.batches {
            writer.write(&csv_safe_batch(b)?)?;
        }
    }
    if buf.is_empty() {
        let header: Vec<String> = o
            .schema
            .fields()
            .iter()
            .map(|f| csv_cell(f.name()).into_owned())
            .collect();
        buf.extend_from_slice(header.join(",").as_bytes());
        buf.push(b'\n');
    }
    Ok(buf)
}

fn json_bytes(o: &Output) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut writer = datafusion::arrow::json::ArrayWriter::new(&mut buf);
        for b in &o.batches {
            writer.write(b)?;
        }
        writer.finish()?;
    }
    if buf.is_empty() {
        buf.extend_from_slice(b"[]");
    }
    Ok(buf)
}

/// A terminal table: nulls blank, numbers right-aligned, at most 4 decimals, and shares and
/// rates (float columns named `share`, `conversion`, `*_share`, `*_rate`, `*_conversion`) as
/// percentages. CSV and JSON keep the fractions.
pub fn render_table(o: &Output) -> Result<String> {
    render_table_limited(o, None)
}

/// `render_table` with at most `max_rows` rows.
pub fn render_table_limited(o: &Output, max_rows: Option<usize>) -> Result<String> {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(o.schema.fields().iter().map(|f| Cell::new(f.name())));
    let options = FormatOptions::default().with_null("");
    let mut left = max_rows.unwrap_or(usize::MAX);
    for batch in &o.batches {
        if left == 0 {
            break;
        }
        let formatters: Vec<Cell2> = batch
            .columns()
            .iter()
            .zip(o.schema.fields())
            .map(|(c, f)| Cell2::new(c.as_ref(), &options, is_share(f.name())))
            .collect::<Result<_>>()?;
        for row in 0..batch.num_rows().min(left) {
            table.add_row(formatters.iter().map(|f| f.cell(row)));
        }
        left -= batch.num_rows().min(left);
    }
    Ok(table.to_string())
}

/// Whether a column holds a share or a rate (a fraction of 1), by its name.
pub fn is_share(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "share"
        || n == "conversion"
        || n.ends_with("_share")
        || n.ends_with("_rate")
        || n.ends_with("_conversion")
}

struct Cell2<'a> {
    array: &'a dyn Array,
    fmt: ArrayFormatter<'a>,
    numeric: bool,
    share: bool,
}

impl<'a> Cell2<'a> {
    fn new(array: &'a dyn Array, options: &'a FormatOptions<'a>, share: bool) -> Result<Self> {
        let numeric = array.data_type().is_numeric();
        Ok(Cell2 {
            array,
            fmt: ArrayFormatter::try_new(array, options)?,
            numeric,
            share: share && array.data_type().is_floating(),
        })
    }

    fn cell(&self, row: usize) -> Cell {
        let text = if self.array.is_null(row) {
            String::new()
        } else {
            let x = match self.array.data_type() {
                DataType::Float64 => Some(
                    self.array
                        .as_any()
                        .downcast_ref::<Float64Array>()
                        .unwrap()
                        .value(row),
                ),
                DataType::Float32 => Some(
                    self.array
                        .as_any()
                        .downcast_ref::<Float32Array>()
                        .unwrap()
                        .value(row) as f64,
                ),
                _ => None,
            };
            match x {
                Some(x) if self.share => percent(x),
                Some(x) => float(x),
                None => self.fmt.value(row).to_string(),
            }
        };
        let cell = Cell::new(text);
        if self.numeric {
            cell.set_alignment(CellAlignment::Right)
        } else {
            cell
        }
    }
}

/// A fraction as a percentage with one decimal: 0.2534 -> 25.3%.
fn percent(v: f64) -> String {
    if !v.is_finite() {
        return float(v);
    }
    let s = format!("{:.1}", v * 100.0);
    let s = if s == "-0.0" { "0.0".to_string() } else { s };
    format!("{s}%")
}

fn float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_short() {
        assert_eq!(float(0.25), "0.25");
        assert_eq!(float(1.0 / 3.0), "0.3333");
        assert_eq!(float(3.0), "3");
        assert_eq!(float(-0.00001), "0");
    }

    #[test]
    fn shares_are_percentages() {
        assert_eq!(percent(0.2534), "25.3%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(-0.0001), "0.0%");
        assert!(is_share("renewal_rate") && is_share("share") && is_share("active_share"));
        assert!(!is_share("rate_card") && !is_share("clients"));
    }

    #[test]
    fn formulas_get_a_quote_numbers_do_not() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+cmd"), "'+cmd");
        assert_eq!(csv_cell("-2+3"), "'-2+3");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\rx"), "'\rx");
        assert_eq!(csv_cell("-"), "-");
        assert_eq!(csv_cell("-5"), "-5");
        assert_eq!(csv_cell("+0.25"), "+0.25");
        assert_eq!(csv_cell("A-branch"), "A-branch");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn several_outputs_to_a_file_get_their_names() {
        let p = numbered_path(Path::new("/tmp/x/seg.csv"), "stages", Format::Csv);
        assert_eq!(p, PathBuf::from("/tmp/x/seg.stages.csv"));
        let p = numbered_path(Path::new("seg"), "clients", Format::Parquet);
        assert_eq!(p, PathBuf::from("seg.clients.parquet"));
    }
}
