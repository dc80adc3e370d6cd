//! Rejected rows, kept on site next to their source with the reason, never in the bundle.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use clm_core::mapping::TableMapping;
use clm_core::{Error, Result};

/// Writes `<source>.rejected.csv` beside the source on the first rejection only, so a clean
/// export leaves no empty files behind.
pub struct Rejects {
    path: PathBuf,
    headers: Vec<String>,
    writer: Option<csv::Writer<BufWriter<File>>>,
    count: u64,
}

impl Rejects {
    pub fn new(source: &Path, headers: &[String]) -> Self {
        Self::named(source, None, headers)
    }

    /// For a mapped table: `<file>.rejected.csv`, or `<workbook>.<sheet>.rejected.csv`.
    pub fn for_table(tm: &TableMapping, headers: &[String]) -> Self {
        Self::named(&tm.file, tm.sheet.as_deref(), headers)
    }

    fn named(source: &Path, sheet: Option<&str>, headers: &[String]) -> Self {
        let stem = source
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "source".into());
        let name = match sheet {
            Some(sh) => {
                let sh: String = sh
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{stem}.{sh}.rejected.csv")
            }
            None => format!("{stem}.rejected.csv"),
        };
        let path = source.with_file_name(name);
        // A stale file from an earlier run would mislead: start afresh.
        let _ = std::fs::remove_file(&path);
        Rejects {
            path,
            headers: headers.to_vec(),
            writer: None,
            count: 0,
        }
    }

    pub fn add(&mut self, line: u64, reason: &str, record: &csv::StringRecord) -> Result<()> {
        if self.writer.is_none() {
            let f = File::create(&self.path).map_err(|e| Error::io(&self.path, e))?;
            let mut w = csv::WriterBuilder::new()
                .delimiter(b';')
                .flexible(true)
                .from_writer(BufWriter::new(f));
            let mut head = vec!["line".to_string(), "reason".to_string()];
            head.extend(self.headers.iter().cloned());
            w.write_record(&head).map_err(|e| self.err(e))?;
            self.writer = Some(w);
        }
        let w = self.writer.as_mut().unwrap();
        let mut row = vec![line.to_string(), reason.to_string()];
        row.extend(record.iter().map(String::from));
        w.write_record(&row)
            .map_err(|e| Error::source(&self.path, e.to_string()))?;
        self.count += 1;
        Ok(())
    }

    fn err(&self, e: csv::Error) -> Error {
        Error::source(&self.path, e.to_string())
    }

    /// Flushes; returns where the rejected rows are, if any.
    pub fn finish(mut self) -> Result<Option<PathBuf>> {
        if let Some(mut w) = self.writer.take() {
            w.flush().map_err(|e| Error::io(&self.path, e))?;
            return Ok(Some(self.path.clone()));
        }
        Ok(None)
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}
