//! Reading a club's CSV exports: any delimiter, UTF-8 with or without BOM, Windows-1251,
//! UTF-16 with BOM; streamed record by record, never the whole file in memory.
//!
//! A record that cannot be read (wrong number of fields, bytes invalid in the encoding)
//! is reported as a rejection with its line number, so the caller can count it and keep
//! it on site; it never stops the read nor vanishes.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use csv::StringRecord;
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::mapping::Encoding;
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

pub struct SourceReader {
    path: PathBuf,
    headers: Vec<String>,
    rdr: csv::Reader<Box<dyn Read + Send>>,
    bytes_read: Arc<AtomicU64>,
    size: u64,
    encoding: &'static encoding_rs::Encoding,
    line: u64,
}

/// Decides the encoding from the first bytes: a BOM wins; `auto` without a BOM means UTF-8
/// when the prefix is valid UTF-8, else Windows-1251 (what Russian accounting software
/// writes when it does not write UTF-8).
pub fn sniff_encoding(prefix: &[u8], declared: Encoding) -> &'static encoding_rs::Encoding {
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(prefix) {
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

/// Whether bytes read as UTF-8 rather than Windows-1251: Cyrillic in cp1251 almost never
/// forms valid multi-byte UTF-8, so a file with many valid multi-byte characters and only a
/// few invalid bytes (a stray line in another encoding) is UTF-8 with some bad rows.
fn utf8_dominates(mut b: &[u8]) -> bool {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (ok, rest) = b.split_at(e.valid_up_to());
                multibyte += std::str::from_utf8(ok)
                    .expect("valid prefix")
                    .chars()
                    .filter(|c| !c.is_ascii())
                    .count();
                match e.error_len() {
                    // Cut off by the end of the prefix.
                    None => break,
                    Some(n) => {
                        invalid += 1;
                        b = &rest[n..];
                    }
                }
            }
        }
    }
    invalid == 0 || multibyte >= 10 * invalid
}

impl SourceReader {
    pub fn open(path: &Path, encoding: Encoding, delimiter: u8) -> Result<SourceReader> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut prefix = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < prefix.len() {
            let n = f.read(&mut prefix[got..]).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        prefix.truncate(got);
        if prefix.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::source(path, "the file is empty: no header row"));
        }
        let enc = sniff_encoding(&prefix, encoding);
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
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .buffer_capacity(1 << 20)
            .from_reader(boxed);
        let headers = match rdr.headers() {
            Ok(h) => h.iter().map(|s| s.trim().trim_start_matches('\u{feff}').to_string()).collect::<Vec<_>>(),
            Err(e) => {
                return Err(Error::source(
                    path,
                    match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => format!(
                            "the header row is not valid {}: set `encoding` in the mapping (utf-8 or cp1251)",
                            enc.name()
                        ),
                        _ => "cannot read the header row".to_string(),
                    },
                ))
            }
        };
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
            rdr,
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
        let hits: Vec<usize> = self
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.as_str() == name.trim())
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [i] => Ok(*i),
            [] => Err(Error::source(
                &self.path,
                format!(
                    "the mapping names column {name:?}, which is not in the header (columns: {})",
                    self.headers
                        .iter()
                        .map(|h| format!("{h:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            _ => Err(Error::source(
                &self.path,
                format!(
                    "column {name:?} appears {} times in the header; rename one",
                    hits.len()
                ),
            )),
        }
    }

    /// Line number (1-based, the header is line 1) where the last record started.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next record into `rec`; `None` at the end of the file.
    pub fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<RecordStatus>> {
        match self.rdr.read_record(rec) {
            Ok(false) => Ok(None),
            Ok(true) => {
                self.line = rec.position().map(|p| p.line()).unwrap_or(self.line + 1);
                if rec.len() != self.headers.len() {
                    if rec.len() == 1 && rec.get(0).is_some_and(|s| s.trim().is_empty()) {
                        return Ok(Some(RecordStatus::Bad("empty line".into())));
                    }
                    return Ok(Some(RecordStatus::Bad(format!(
                        "expected {} fields, found {}",
                        self.headers.len(),
                        rec.len()
                    ))));
                }
                // The decoder replaces bytes invalid in the encoding with U+FFFD.
                if rec.as_slice().contains('\u{FFFD}') {
                    return Ok(Some(RecordStatus::Bad(format!(
                        "bytes not valid in the file's encoding ({})",
                        self.encoding.name()
                    ))));
                }
                Ok(Some(RecordStatus::Ok))
            }
            Err(e) => {
                if let Some(p) = e.position() {
                    self.line = p.line();
                }
                match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => Ok(Some(RecordStatus::Bad(format!(
                        "bytes not valid in the file's encoding ({})",
                        self.encoding.name()
                    )))),
                    csv::ErrorKind::Io(err) => Err(Error::source(
                        &self.path,
                        format!("read error near line {}: {err}", self.line),
                    )),
                    _ => Ok(Some(RecordStatus::Bad("malformed CSV record".into()))),
                }
            }
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
}
