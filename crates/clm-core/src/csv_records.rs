//! Splitting CSV text into records, with limits: the field length is capped, a quoted field
//! may not run on for ever, and a record broken by a stray quote can be given back line by
//! line so that the rows after it are not swallowed.
//!
//! The syntax is that of the `csv` crate (RFC 4180 and the usual liberties): a field that
//! starts with `"` is quoted and may hold delimiters and line breaks, `""` inside it is one
//! quote, text after the closing quote is kept; a quote inside an unquoted field is a plain
//! character. Lines end with LF, CRLF or a lone CR; empty lines are skipped.
//!
//! The input is UTF-8 (the source reader decodes other encodings before it gets here); the
//! delimiter, quote and line breaks are ASCII, so the splitter works on bytes.

use std::io::{self, BufRead, BufReader, Read};

/// Longest field kept; longer ones are cut and the record is marked.
pub const MAX_FIELD_BYTES: usize = 1 << 20;
/// Most physical lines a record may span (a quoted field with line breaks).
pub const MAX_RECORD_LINES: u64 = 50;
/// Most fields a record may have.
pub const MAX_FIELDS: usize = 10_000;
/// Most bytes kept to read a broken record's later lines again.
const REPLAY_CAP: usize = 8 << 20;

/// One record as split, with what went wrong with it.
#[derive(Debug, Default)]
pub struct RawRecord {
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// Line (1-based) where the record starts.
    pub start_line: u64,
    /// Physical lines the record spans.
    pub lines: u64,
    /// A field was longer than [`MAX_FIELD_BYTES`] and was cut.
    pub field_too_long: bool,
    /// More than [`MAX_FIELDS`] fields; the rest were dropped.
    pub too_many_fields: bool,
    /// The file ended inside a quoted field.
    pub unclosed_quote: bool,
    /// A quoted field ran over more than [`MAX_RECORD_LINES`] lines; reading stopped there.
    pub too_many_lines: bool,
    /// Text followed a closing quote (`"abc"def`): kept, as the `csv` crate does, but in a
    /// record of several lines the sign of a stray quote.
    pub text_after_quote: bool,
    /// Fields and bytes at the first line break inside quotes.
    first_line: Option<(usize, usize)>,
    first_break_cr: bool,
    /// Bytes after that first line break, to read again.
    replay: Vec<u8>,
    replay_overflow: bool,
}

impl RawRecord {
    fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.lines = 1;
        self.field_too_long = false;
        self.too_many_fields = false;
        self.unclosed_quote = false;
        self.too_many_lines = false;
        self.text_after_quote = false;
        self.first_line = None;
        self.first_break_cr = false;
        self.replay.clear();
        self.replay_overflow = false;
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(move |i| self.field(i))
    }

    /// Whether the lines after the first can be read again on their own.
    pub fn can_split(&self) -> bool {
        self.lines > 1 && self.first_line.is_some() && !self.replay_overflow
    }

    /// Whether nothing but white space follows the first line (a record whose quote runs to
    /// the end of the file from its last line).
    pub fn rest_is_blank(&self) -> bool {
        self.replay.iter().all(|b| b.is_ascii_whitespace())
    }

    /// The most delimiters found on one inner line of a field that spans lines (a line of
    /// the file swallowed by a stray quote has as many as a record).
    pub fn max_delimiters_per_inner_line(&self, delim: u8) -> usize {
        let mut best = 0;
        for f in self.fields() {
            if !f.contains(&b'\n') && !f.contains(&b'\r') {
                continue;
            }
            for line in f.split(|b| *b == b'\n' || *b == b'\r') {
                best = best.max(line.iter().filter(|b| **b == delim).count());
            }
        }
        best
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

/// Where bytes come from: bytes given back first, then the reader.
struct Input<R> {
    inner: BufReader<R>,
    replay: Vec<u8>,
    pos: usize,
}

impl<R: Read> Input<R> {
    fn chunk(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.replay.len() {
            Ok(&self.replay[self.pos..])
        } else {
            self.inner.fill_buf()
        }
    }

    fn consume(&mut self, n: usize) {
        if self.pos < self.replay.len() {
            self.pos += n;
            if self.pos >= self.replay.len() {
                self.replay.clear();
                self.pos = 0;
            }
        } else {
            self.inner.consume(n);
        }
    }
}

/// The splitter's state between bytes.
struct Lexer {
    delim: u8,
    /// Line number of the next byte.
    line: u64,
    /// The last byte was a CR: a LF right after it belongs to the same line break.
    pending_lf: bool,
    state: State,
    field_len: usize,
}

enum Step {
    /// The chunk was used up; the record goes on.
    More,
    /// The record ended after this many bytes of the chunk.
    Done(usize),
}

impl Lexer {
    fn push(&mut self, rec: &mut RawRecord, b: u8) {
        if rec.too_many_fields {
            return;
        }
        if self.field_len < MAX_FIELD_BYTES {
            rec.buf.push(b);
            self.field_len += 1;
        } else {
            rec.field_too_long = true;
        }
    }

    fn end_field(&mut self, rec: &mut RawRecord) {
        if rec.ends.len() < MAX_FIELDS {
            if !rec.too_many_fields {
                rec.ends.push(rec.buf.len());
            }
        } else {
            rec.too_many_fields = true;
        }
        self.field_len = 0;
    }

    fn feed(&mut self, chunk: &[u8], rec: &mut RawRecord) -> Step {
        for (i, &b) in chunk.iter().enumerate() {
            if rec.first_line.is_some() {
                if rec.replay.len() < REPLAY_CAP {
                    rec.replay.push(b);
                } else {
                    rec.replay_overflow = true;
                }
            }
            if b == b'\n' && self.pending_lf {
                // The LF of a CRLF whose CR was handled already.
                self.pending_lf = false;
                if self.state == State::InQuoted {
                    self.push(rec, b);
                }
                continue;
            }
            self.pending_lf = b == b'\r';
            let newline = b == b'\n' || b == b'\r';
            if newline {
                self.line += 1;
            }
            match self.state {
                State::StartField | State::InField | State::QuoteInQuoted if newline => {
                    if self.state == State::StartField && rec.ends.is_empty() {
                        // An empty line: skipped.
                        rec.start_line = self.line;
                        continue;
                    }
                    self.end_field(rec);
                    self.state = State::StartField;
                    return Step::Done(i + 1);
                }
                State::StartField => {
                    if b == b'"' {
                        self.state = State::InQuoted;
                    } else if b == self.delim {
                        self.end_field(rec);
                    } else {
                        self.push(rec, b);
                        self.state = State::InField;
                    }
                }
                State::InField => {
                    if b == self.delim {
                        self.end_field(rec);
                        self.state = State::StartField;
                    } else {
                        self.push(rec, b);
                    }
                }
                State::InQuoted => {
                    if b == b'"' {
                        self.state = State::QuoteInQuoted;
                    } else {
                        if newline && rec.first_line.is_none() {
                            rec.first_line = Some((rec.ends.len(), rec.buf.len()));
                            rec.first_break_cr = b == b'\r';
                        }
                        self.push(rec, b);
                        if newline {
                            rec.lines += 1;
                            if rec.lines > MAX_RECORD_LINES && !rec.replay_overflow {
                                rec.too_many_lines = true;
                                self.end_field(rec);
                                self.state = State::StartField;
                                return Step::Done(i + 1);
                            }
                        }
                    }
                }
                State::QuoteInQuoted => {
                    if b == b'"' {
                        self.push(rec, b'"');
                        self.state = State::InQuoted;
                    } else if b == self.delim {
                        self.end_field(rec);
                        self.state = State::StartField;
                    } else {
                        rec.text_after_quote = true;
                        self.push(rec, b);
                        self.state = State::InField;
                    }
                }
            }
        }
        Step::More
    }
}

/// Reads records from UTF-8 text.
pub struct CsvRecords<R> {
    input: Input<R>,
    lex: Lexer,
}

impl<R: Read> CsvRecords<R> {
    pub fn new(reader: R, delimiter: u8) -> Self {
        CsvRecords {
            input: Input {
                inner: BufReader::with_capacity(1 << 20, reader),
                replay: Vec::new(),
                pos: 0,
            },
            lex: Lexer {
                delim: delimiter,
                line: 1,
                pending_lf: false,
                state: State::StartField,
                field_len: 0,
            },
        }
    }

    /// Reads the next record; `false` at the end of the input.
    pub fn read_record(&mut self, rec: &mut RawRecord) -> io::Result<bool> {
        rec.clear();
        rec.start_line = self.lex.line;
        self.lex.state = State::StartField;
        self.lex.field_len = 0;
        loop {
            let chunk = self.input.chunk()?;
            if chunk.is_empty() {
                if self.lex.state == State::StartField && rec.ends.is_empty() {
                    return Ok(false);
                }
                if self.lex.state == State::InQuoted {
                    rec.unclosed_quote = true;
                }
                self.lex.end_field(rec);
                self.lex.state = State::StartField;
                return Ok(true);
            }
            let n = chunk.len();
            match self.lex.feed(chunk, rec) {
                Step::More => self.input.consume(n),
                Step::Done(k) => {
                    self.input.consume(k);
                    return Ok(true);
                }
            }
        }
    }

    /// Gives back the lines of a record after its first one, to be read again as records of
    /// their own, and cuts the record down to its first line. Call only when
    /// [`RawRecord::can_split`].
    pub fn split_off_first_line(&mut self, rec: &mut RawRecord) {
        let Some((nfields, nbytes)) = rec.first_line else {
            return;
        };
        let mut replay = std::mem::take(&mut rec.replay);
        if self.input.pos < self.input.replay.len() {
            replay.extend_from_slice(&self.input.replay[self.input.pos..]);
        }
        self.input.replay = replay;
        self.input.pos = 0;
        self.lex.line = rec.start_line + 1;
        self.lex.pending_lf = rec.first_break_cr;
        self.lex.state = State::StartField;
        rec.buf.truncate(nbytes);
        rec.ends.truncate(nfields);
        rec.ends.push(rec.buf.len());
        rec.lines = 1;
        rec.unclosed_quote = false;
        rec.too_many_lines = false;
        rec.text_after_quote = false;
        rec.first_line = None;
    }

    /// Line number of the next byte to read.
    pub fn line(&self) -> u64 {
        self.lex.line
    }

    pub fn delimiter(&self) -> u8 {
        self.lex.delim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, delim: u8) -> Vec<(u64, Vec<String>, bool)> {
        let mut r = CsvRecords::new(text.as_bytes(), delim);
        let mut rec = RawRecord::default();
        let mut out = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            let broken = rec.unclosed_quote || rec.too_many_lines;
            out.push((
                rec.start_line,
                rec.fields()
                    .map(|f| String::from_utf8_lossy(f).to_string())
                    .collect(),
                broken,
            ));
        }
        out
    }

    fn v(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_quoted_and_line_endings() {
        let r = split("a;b\r\n1;\"x;y\"\n\n2;\"he said \"\"hi\"\"\"\r3;z", b';');
        assert_eq!(r[0], (1, v(&["a", "b"]), false));
        assert_eq!(r[1], (2, v(&["1", "x;y"]), false));
        assert_eq!(r[2], (4, v(&["2", "he said \"hi\""]), false));
        assert_eq!(r[3], (5, v(&["3", "z"]), false));
        assert_eq!(r.len(), 4);
        // Quotes inside an unquoted field, text after a closing quote, empty fields.
        let r = split("a\"b;\"c\"d;;\n", b';');
        assert_eq!(r[0].1, v(&["a\"b", "cd", "", ""]));
    }

    #[test]
    fn multi_line_fields_count_lines() {
        let r = split("a;b\n1;\"line1\r\nline2\"\n2;x\n", b';');
        assert_eq!(r[1], (2, v(&["1", "line1\r\nline2"]), false));
        assert_eq!(r[2], (4, v(&["2", "x"]), false));
    }

    #[test]
    fn unclosed_quote_gives_back_the_following_lines() {
        let text = "a;b\n1;\"oops\n2;x\n3;y\n";
        let mut r = CsvRecords::new(text.as_bytes(), b';');
        let mut rec = RawRecord::default();
        assert!(r.read_record(&mut rec).unwrap());
        assert!(r.read_record(&mut rec).unwrap());
        assert!(rec.unclosed_quote && rec.can_split());
        assert_eq!(rec.lines, 4);
        r.split_off_first_line(&mut rec);
        assert_eq!(rec.len(), 2);
        assert_eq!(rec.field(1), b"oops");
        let mut rest = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            rest.push((
                rec.start_line,
                rec.fields()
                    .map(|f| String::from_utf8_lossy(f).to_string())
                    .collect::<Vec<_>>(),
            ));
        }
        assert_eq!(rest, [(3, v(&["2", "x"])), (4, v(&["3", "y"]))]);
    }

    #[test]
    fn long_quoted_runs_stop_and_fields_are_capped() {
        let mut text = String::from("a;b\n1;\"");
        for i in 0..200 {
            text.push_str(&format!("{i};x\n"));
        }
        let mut r = CsvRecords::new(text.as_bytes(), b';');
        let mut rec = RawRecord::default();
        r.read_record(&mut rec).unwrap();
        r.read_record(&mut rec).unwrap();
        assert!(rec.too_many_lines);
        assert_eq!(rec.lines, MAX_RECORD_LINES + 1);
        r.split_off_first_line(&mut rec);
        let mut n = 0;
        while r.read_record(&mut rec).unwrap() {
            n += 1;
            assert_eq!(rec.len(), 2);
        }
        assert_eq!(n, 199);

        let big = format!("a\n{}\nb\n", "x".repeat(3 * MAX_FIELD_BYTES));
        let r = split(&big, b';');
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].1[0].len(), MAX_FIELD_BYTES);
        assert_eq!(r[2], (3, v(&["b"]), false));
    }
}
