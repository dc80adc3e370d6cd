//! Rejected rows, kept on site next to their source with the reason, never in the bundle.
//!
//! They are personal data: the file is made with mode 0600 (never readable by group or
//! others), in the source's encoding (a Windows-1251 source gives a Windows-1251 file, so the
//! program that made the export reads it back; UTF-8 otherwise), and every cell goes through
//! the formula rule of [`crate::csv_cells`].

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use clm_core::mapping::TableMapping;
use clm_core::{Error, Result};

use crate::csv_cells::neutralize;

/// A file of rejected rows that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectsFile {
    pub path: PathBuf,
    /// `UTF-8` or `windows-1251`.
    pub encoding: &'static str,
}

/// Writes `<source>.rejected.csv` beside the source on the first rejection only, so a clean
/// export leaves no empty files behind.
pub struct Rejects {
    path: PathBuf,
    headers: Vec<String>,
    encoding: &'static encoding_rs::Encoding,
    writer: Option<BufWriter<File>>,
    count: u64,
}

/// The encoding rejected rows of `tm` are written in: the source's when it is Windows-1251,
/// else UTF-8 (workbooks, UTF-8 and UTF-16 sources).
fn source_encoding(tm: &TableMapping) -> &'static encoding_rs::Encoding {
    if tm.sheet.is_some() || clm_core::source::is_workbook(&tm.file) {
        return encoding_rs::UTF_8;
    }
    let mut prefix = Vec::with_capacity(64 * 1024);
    if let Ok(f) = File::open(&tm.file) {
        let _ = f.take(64 * 1024).read_to_end(&mut prefix);
    }
    let enc = clm_core::source::sniff_encoding(&prefix, tm.encoding);
    if enc == encoding_rs::WINDOWS_1251 {
        enc
    } else {
        encoding_rs::UTF_8
    }
}

impl Rejects {
    /// Rejected rows of a CSV file, written in UTF-8.
    pub fn new(source: &Path, headers: &[String]) -> Self {
        Self::named(source, None, headers, encoding_rs::UTF_8)
    }

    /// For a mapped table: `<file>.rejected.csv`, or `<workbook>.<sheet>.rejected.csv`.
    pub fn for_table(tm: &TableMapping, headers: &[String]) -> Self {
        Self::named(&tm.file, tm.sheet.as_deref(), headers, source_encoding(tm))
    }

    fn named(
        source: &Path,
        sheet: Option<&str>,
        headers: &[String],
        encoding: &'static encoding_rs::Encoding,
    ) -> Self {
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
            encoding,
            writer: None,
            count: 0,
        }
    }

    /// One record as `;`-separated CSV in the file's encoding, every cell neutralized.
    fn encode<'a>(&self, cells: impl Iterator<Item = &'a str>) -> Result<Vec<u8>> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(
            cells
                .map(neutralize)
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_ref()),
        )
        .map_err(|e| Error::source(&self.path, e.to_string()))?;
        let bytes = w
            .into_inner()
            .map_err(|e| Error::source(&self.path, e.to_string()))?;
        if self.encoding == encoding_rs::UTF_8 {
            return Ok(bytes);
        }
        let text = String::from_utf8(bytes).expect("the CSV writer writes what it is given");
        Ok(self.encoding.encode(&text).0.into_owned())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let w = self.writer.as_mut().expect("opened before writing");
        w.write_all(bytes).map_err(|e| Error::io(&self.path, e))
    }

    pub fn add(&mut self, line: u64, reason: &str, record: &csv::StringRecord) -> Result<()> {
        if self.writer.is_none() {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let f = opts
                .open(&self.path)
                .map_err(|e| Error::io(&self.path, e))?;
            self.writer = Some(BufWriter::new(f));
            let head = self.encode(
                ["line", "reason"]
                    .into_iter()
                    .chain(self.headers.iter().map(String::as_str)),
            )?;
            self.write(&head)?;
        }
        let line = line.to_string();
        let row = self.encode([line.as_str(), reason].into_iter().chain(record.iter()))?;
        self.write(&row)?;
        self.count += 1;
        Ok(())
    }

    /// Flushes; returns where the rejected rows are, if any.
    pub fn finish(mut self) -> Result<Option<RejectsFile>> {
        if let Some(w) = self.writer.take() {
            let f = w
                .into_inner()
                .map_err(|e| Error::io(&self.path, e.into_error()))?;
            f.sync_all().map_err(|e| Error::io(&self.path, e))?;
            return Ok(Some(RejectsFile {
                path: self.path.clone(),
                encoding: self.encoding.name(),
            }));
        }
        Ok(None)
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}
