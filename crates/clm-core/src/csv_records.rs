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

    /// The record's text when every field is valid UTF-8 and no field can hold U+FEFF (a
    /// stray byte-order mark) or U+FFFD (the decoder's replacement character), with the
    /// end offset of each field in it; `None` when a field needs a closer look.
    ///
    /// One validation of the whole record instead of one per field: the fields are valid
    /// one by one when the whole is and every field starts on a character boundary. Both
    /// U+FEFF and U+FFFD are encoded with a leading 0xEF byte, so a record without that
    /// byte holds neither.
    pub fn clean_text(&self) -> Option<(&str, &[usize])> {
        if memchr::memchr(0xEF, &self.buf).is_some() {
            return None;
        }
        let text = simdutf8::basic::from_utf8(&self.buf).ok()?;
        self.ends
            .iter()
            .all(|e| text.is_char_boundary(*e))
            .then_some((text, self.ends.as_slice()))
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

    /// Appends a run of plain bytes (no delimiter, quote or line break that would end or
    /// change the field) at once, with the same cap as [`Lexer::push`].
    fn push_run(&mut self, rec: &mut RawRecord, run: &[u8]) {
        if rec.too_many_fields || run.is_empty() {
            return;
        }
        let room = MAX_FIELD_BYTES - self.field_len;
        let take = run.len().min(room);
        rec.buf.extend_from_slice(&run[..take]);
        self.field_len += take;
        if take < run.len() {
            rec.field_too_long = true;
        }
    }

    /// How many bytes from the start of `rest` are plain field text in the current state:
    /// bytes that [`Lexer::feed_byte`] would only append. Zero while the lines of a broken
    /// record are being kept for replay, which needs every byte seen one by one.
    fn plain_run(&self, rest: &[u8], rec: &RawRecord) -> usize {
        if rec.first_line.is_some() {
            return 0;
        }
        let stop = match self.state {
            State::InField => memchr::memchr3(self.delim, b'\n', b'\r', rest),
            State::InQuoted => memchr::memchr3(b'"', b'\n', b'\r', rest),
            State::StartField | State::QuoteInQuoted => return 0,
        };
        stop.unwrap_or(rest.len())
    }

    /// The common case in one go: at the start of a record, a whole line in `chunk` with
    /// no quote and no CR but the one of a CRLF is split at its delimiters. Returns the
    /// bytes used (through the line's CR, or its LF), or `None` to go byte by byte.
    fn feed_line(&mut self, chunk: &[u8], rec: &mut RawRecord) -> Option<usize> {
        let at_start = self.state == State::StartField && rec.ends.is_empty();
        if !at_start || rec.first_line.is_some() {
            return None;
        }
        // The LF that closes the CRLF of the previous record belongs to no line.
        let skip = usize::from(self.pending_lf && chunk.first() == Some(&b'\n'));
        let line = &chunk[skip..];
        let nl = memchr::memchr(b'\n', line)?;
        let (body, cr) = match line[..nl].split_last() {
            Some((b'\r', body)) => (body, true),
            _ => (&line[..nl], false),
        };
        if body.is_empty() || memchr::memchr2(b'"', b'\r', body).is_some() {
            return None;
        }
        let mut start = 0;
        for_each_byte(body, self.delim, |at| {
            self.push_run(rec, &body[start..at]);
            self.end_field(rec);
            start = at + 1;
        });
        self.push_run(rec, &body[start..]);
        self.end_field(rec);
        self.line += 1;
        // As after the line's last byte: a CR waits for the LF of its CRLF.
        self.pending_lf = cr;
        Some(skip + body.len() + 1)
    }

    /// Splits `chunk` into the record: whole lines or runs of plain text in bulk, everything else byte by
    /// byte. The result is exactly that of feeding every byte to [`Lexer::feed_byte`].
    fn feed(&mut self, chunk: &[u8], rec: &mut RawRecord) -> Step {
        let mut i = 0;
        while i < chunk.len() {
            if let Some(n) = self.feed_line(&chunk[i..], rec) {
                return Step::Done(i + n);
            }
            if self.state == State::StartField && rec.first_line.is_none() {
                let b = chunk[i];
                if !matches!(b, b'"' | b'\n' | b'\r') && b != self.delim {
                    // What `feed_byte` does with it: the first byte of an unquoted field,
                    // which then goes with the rest of the field's run.
                    self.state = State::InField;
                }
            }
            let run = self.plain_run(&chunk[i..], rec);
            if run > 0 {
                // A plain byte is never a CR, so no LF after it closes a CRLF.
                self.pending_lf = false;
                self.push_run(rec, &chunk[i..i + run]);
                i += run;
                continue;
            }
            if self.feed_byte(chunk[i], rec) {
                return Step::Done(i + 1);
            }
            i += 1;
        }
        Step::More
    }

    /// One byte of the record; `true` when it ends the record.
    fn feed_byte(&mut self, b: u8, rec: &mut RawRecord) -> bool {
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
            return false;
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
                    return false;
                }
                self.end_field(rec);
                self.state = State::StartField;
                return true;
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
                            return true;
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
        false
    }
}

/// Calls `f` with the offset of every `byte` in `text`, in order. Eight bytes at a time: a
/// plain loop spends most of its time on a mispredicted branch per field.
fn for_each_byte(text: &[u8], byte: u8, mut f: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = u64::from_le_bytes([byte; 8]);
    let mut words = text.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().expect("chunks of 8 bytes")) ^ pattern;
        // The high bit of each byte of `x` that is zero, and of no other (no carries cross
        // bytes: 0x7f + 0x7f < 0x100).
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        while hits != 0 {
            f(base + hits.trailing_zeros() as usize / 8);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, b) in words.remainder().iter().enumerate() {
        if *b == byte {
            f(base + i);
        }
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
        self.read_record_by(rec, Lexer::feed)
    }

    /// [`CsvRecords::read_record`] with the given way of feeding a chunk to the lexer (the
    /// tests compare the bulk one with byte by byte).
    fn read_record_by(
        &mut self,
        rec: &mut RawRecord,
        feed: impl Fn(&mut Lexer, &[u8], &mut RawRecord) -> Step,
    ) -> io::Result<bool> {
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
            match feed(&mut self.lex, chunk, rec) {
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

    /// The reference: every byte through [`Lexer::feed_byte`], no run taken in bulk.
    fn feed_bytewise(lex: &mut Lexer, chunk: &[u8], rec: &mut RawRecord) -> Step {
        for (i, &b) in chunk.iter().enumerate() {
            if lex.feed_byte(b, rec) {
                return Step::Done(i + 1);
            }
        }
        Step::More
    }

    /// Every record with its flags, splitting broken records as the source reader does.
    fn records(text: &str, bytewise: bool) -> Vec<String> {
        let mut r = CsvRecords::new(text.as_bytes(), b';');
        let mut rec = RawRecord::default();
        let mut out = Vec::new();
        loop {
            let more = if bytewise {
                r.read_record_by(&mut rec, feed_bytewise)
            } else {
                r.read_record(&mut rec)
            };
            if !more.unwrap() {
                break;
            }
            if (rec.unclosed_quote || rec.too_many_lines) && rec.can_split() {
                r.split_off_first_line(&mut rec);
            }
            out.push(format!(
                "{} {} {:?} {} {} {} {} {}",
                rec.start_line,
                rec.lines,
                rec.fields()
                    .map(|f| String::from_utf8_lossy(f).to_string())
                    .collect::<Vec<_>>(),
                rec.field_too_long,
                rec.too_many_fields,
                rec.unclosed_quote,
                rec.too_many_lines,
                rec.text_after_quote,
            ));
        }
        out.push(format!("next line {}", r.line()));
        out
    }

    proptest::proptest! {
        /// Taking runs of plain text in bulk splits exactly as feeding byte by byte does,
        /// whatever the mix of delimiters, quotes and line breaks.
        #[test]
        fn bulk_runs_split_as_byte_by_byte(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("a".to_string()),
                    proptest::strategy::Just("Жук".to_string()),
                    proptest::strategy::Just(";".to_string()),
                    proptest::strategy::Just("\"".to_string()),
                    proptest::strategy::Just("\n".to_string()),
                    proptest::strategy::Just("\r".to_string()),
                    proptest::strategy::Just("\r\n".to_string()),
                    proptest::strategy::Just("12.03.2024 10:15".to_string()),
                ],
                0..80,
            )
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(records(&text, false), records(&text, true));
        }
    }

    #[test]
    fn every_delimiter_is_found_eight_bytes_at_a_time() {
        for text in [
            &b""[..],
            b";",
            b"a;b",
            b";;;;;;;;;;;;;;;;;",
            b"\xff;\x80\x7f;;;\x3b\xbb x;y",
        ] {
            let mut got = Vec::new();
            for_each_byte(text, b';', |i| got.push(i));
            let want: Vec<usize> = (0..text.len()).filter(|i| text[*i] == b';').collect();
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn clean_text_only_for_whole_characters_without_bom_or_replacement() {
        let mut r = CsvRecords::new("Жук;1;x\n".as_bytes(), b';');
        let mut rec = RawRecord::default();
        r.read_record(&mut rec).unwrap();
        let (text, ends) = rec.clean_text().unwrap();
        assert_eq!((text, ends), ("Жук1x", &[6usize, 7, 8][..]));
        // A character cut in two by a delimiter is valid as a whole, not field by field.
        let mut r = CsvRecords::new(&b"\xD0;\x96\n"[..], b';');
        r.read_record(&mut rec).unwrap();
        assert!(rec.clean_text().is_none());
        for s in ["a\u{feff}b;c\n", "a;\u{fffd}\n", "a;\u{f000}\n"] {
            let mut r = CsvRecords::new(s.as_bytes(), b';');
            r.read_record(&mut rec).unwrap();
            assert!(rec.clean_text().is_none(), "{s:?}");
        }
    }
}
