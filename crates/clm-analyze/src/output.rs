//! Writing results: a terminal table (comfy-table), CSV, JSON or Parquet; to stdout or to
//! `--out FILE`. With several outputs and `--out FILE`, each goes to `FILE-STEM.NAME.EXT`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, ContentArrangement, Table};
use datafusion::arrow::array::{Array, Float32Array, Float64Array};
use datafusion::arrow::datatypes::DataType;
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
                writeln!(w, "{}", render_table(o)?)?;
                let n = o.num_rows();
                writeln!(w, "({n} row{})", if n == 1 { "" } else { "s" })?;
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
            let empty = datafusion::arrow::record_batch::RecordBatch::new_empty(o.schema.clone());
            writer.write(&empty)?;
        }
        for b in &o.batches {
            writer.write(b)?;
        }
    }
    if buf.is_empty() {
        let header: Vec<&str> = o
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
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

/// A terminal table: nulls blank, shares and rates with 4 decimals, numbers right-aligned.
pub fn render_table(o: &Output) -> Result<String> {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(o.schema.fields().iter().map(|f| Cell::new(f.name())));
    let options = FormatOptions::default().with_null("");
    for batch in &o.batches {
        let formatters: Vec<Cell2> = batch
            .columns()
            .iter()
            .map(|c| Cell2::new(c.as_ref(), &options))
            .collect::<Result<_>>()?;
        for row in 0..batch.num_rows() {
            table.add_row(formatters.iter().map(|f| f.cell(row)));
        }
    }
    Ok(table.to_string())
}

struct Cell2<'a> {
    array: &'a dyn Array,
    fmt: ArrayFormatter<'a>,
    numeric: bool,
}

impl<'a> Cell2<'a> {
    fn new(array: &'a dyn Array, options: &'a FormatOptions<'a>) -> Result<Self> {
        let numeric = array.data_type().is_numeric();
        Ok(Cell2 {
            array,
            fmt: ArrayFormatter::try_new(array, options)?,
            numeric,
        })
    }

    fn cell(&self, row: usize) -> Cell {
        let text = if self.array.is_null(row) {
            String::new()
        } else {
            match self.array.data_type() {
                DataType::Float64 => float(
                    self.array
                        .as_any()
                        .downcast_ref::<Float64Array>()
                        .unwrap()
                        .value(row),
                ),
                DataType::Float32 => float(
                    self.array
                        .as_any()
                        .downcast_ref::<Float32Array>()
                        .unwrap()
                        .value(row) as f64,
                ),
                _ => self.fmt.value(row).to_string(),
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
    fn several_outputs_to_a_file_get_their_names() {
        let p = numbered_path(Path::new("/tmp/x/seg.csv"), "stages", Format::Csv);
        assert_eq!(p, PathBuf::from("/tmp/x/seg.stages.csv"));
        let p = numbered_path(Path::new("seg"), "clients", Format::Parquet);
        assert_eq!(p, PathBuf::from("seg.clients.parquet"));
    }
}
