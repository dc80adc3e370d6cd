//! The six CSV files, written as a Russian CRM exports them: `;`-separated, Russian headers,
//! DD.MM.YYYY dates, decimal commas, CRLF line ends, UTF-8 or Windows-1251.
//!
//! Rows are assembled in one reused line buffer per file and encoded from there, so the
//! ten-million-row visits file costs a few memcpys per row and no allocation.

use crate::calendar::{Calendar, Day};
use crate::model::*;
use encoding_rs::{Encoder, EncoderResult, WINDOWS_1251};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Output text encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Cp1251,
}

impl Encoding {
    /// The name a mapping's `encoding` key takes.
    pub fn mapping_name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Cp1251 => "cp1251",
        }
    }
}

pub const CLIENTS_FILE: &str = "clients.csv";
pub const MEMBERSHIPS_FILE: &str = "memberships.csv";
pub const VISITS_FILE: &str = "visits.csv";
pub const SERVICES_FILE: &str = "services.csv";
pub const SALES_FILE: &str = "sales.csv";
pub const FEEDBACK_FILE: &str = "feedback.csv";

pub const CLIENTS_HEADER: &[&str] = &[
    "Код клиента", "ФИО", "Телефон", "E-mail", "Дата рождения", "Пол", "Паспорт", "Адрес",
    "Комментарий", "Филиал", "Дата регистрации", "Источник", "Пробное занятие", "Дата архивации",
    "Почтовый индекс",
];
pub const MEMBERSHIPS_HEADER: &[&str] = &[
    "Номер абонемента", "Код клиента", "Филиал", "Абонемент", "Дата продажи", "Дата начала",
    "Дата окончания", "Стоимость", "Статус", "Дней заморозки",
];
pub const VISITS_HEADER: &[&str] = &["Код клиента", "Время входа", "Филиал", "Тип посещения"];
pub const SERVICES_HEADER: &[&str] = &[
    "Код клиента", "Дата и время", "Услуга", "Категория услуги", "Отдел", "Код тренера", "Тренер",
    "Статус",
];
pub const SALES_HEADER: &[&str] = &[
    "Номер чека", "Код клиента", "Дата и время продажи", "Категория", "Товар/услуга", "Количество",
    "Сумма", "Отдел", "Код сотрудника", "Продавец",
];
pub const FEEDBACK_HEADER: &[&str] = &["Код клиента", "Дата ответа", "Оценка", "Комментарий"];

/// One CSV file: a line buffer, an optional cp1251 encoder, a buffered file.
pub(crate) struct CsvFile {
    out: BufWriter<File>,
    line: String,
    encoder: Option<(Encoder, Vec<u8>)>,
    fields: usize,
    rows: u64,
}

impl CsvFile {
    pub(crate) fn create(path: &Path, encoding: Encoding, header: &[&str]) -> io::Result<Self> {
        let file = File::create(path)?;
        let mut f = CsvFile {
            out: BufWriter::with_capacity(1 << 18, file),
            line: String::with_capacity(512),
            encoder: match encoding {
                Encoding::Utf8 => None,
                Encoding::Cp1251 => Some((WINDOWS_1251.new_encoder(), Vec::with_capacity(512))),
            },
            fields: 0,
            rows: 0,
        };
        for h in header {
            f.text(h);
        }
        f.end_row()?;
        f.rows = 0;
        Ok(f)
    }

    #[inline]
    pub(crate) fn sep(&mut self) {
        if self.fields > 0 {
            self.line.push(';');
        }
        self.fields += 1;
    }

    /// An empty field.
    #[inline]
    pub(crate) fn empty(&mut self) {
        self.sep();
    }

    /// A field the generator knows to hold no `;`, `"` or line break (labels, numbers).
    #[inline]
    pub(crate) fn plain(&mut self, s: &str) {
        self.sep();
        self.line.push_str(s);
    }

    /// Any text, quoted per RFC 4180 when it needs to be.
    pub(crate) fn text(&mut self, s: &str) {
        self.sep();
        if s.bytes().any(|b| matches!(b, b';' | b'"' | b'\r' | b'\n')) {
            self.line.push('"');
            for c in s.chars() {
                if c == '"' {
                    self.line.push('"');
                }
                self.line.push(c);
            }
            self.line.push('"');
        } else {
            self.line.push_str(s);
        }
    }

    #[inline]
    pub(crate) fn ascii(&mut self, b: &[u8]) {
        // Dates and numbers are built from ASCII digits and punctuation only.
        self.line
            .push_str(std::str::from_utf8(b).expect("ASCII digits"));
    }

    #[inline]
    pub(crate) fn date(&mut self, cal: &Calendar, d: Day) {
        self.sep();
        self.ascii(&cal.date_text(d));
    }

    pub(crate) fn opt_date(&mut self, cal: &Calendar, d: Option<Day>) {
        match d {
            Some(d) => self.date(cal, d),
            None => self.sep(),
        }
    }

    #[inline]
    pub(crate) fn datetime(&mut self, cal: &Calendar, d: Day, minute: u16) {
        self.sep();
        self.ascii(&cal.date_text(d));
        let (h, m) = ((minute / 60) as u8, (minute % 60) as u8);
        self.ascii(&[b' ', b'0' + h / 10, b'0' + h % 10, b':', b'0' + m / 10, b'0' + m % 10]);
    }

    #[inline]
    pub(crate) fn uint(&mut self, n: u64) {
        self.sep();
        push_uint(&mut self.line, n, 0);
    }

    /// A number with leading zeros to `width` digits (ids such as "0001234").
    #[inline]
    pub(crate) fn padded(&mut self, n: u64, width: usize) {
        self.sep();
        push_uint(&mut self.line, n, width);
    }

    /// Kopecks as roubles with a decimal comma; `grouped` adds the space thousands separator
    /// ("1 500,00") that some registers print and others do not.
    pub(crate) fn money(&mut self, kopecks: i64, grouped: bool) {
        self.sep();
        if kopecks < 0 {
            self.line.push('-');
        }
        let k = kopecks.unsigned_abs();
        let (rub, kop) = (k / 100, k % 100);
        if grouped && rub >= 1000 {
            let mut groups = [0u64; 7];
            let mut n = 0;
            let mut r = rub;
            while r > 0 {
                groups[n] = r % 1000;
                r /= 1000;
                n += 1;
            }
            push_uint(&mut self.line, groups[n - 1], 0);
            for g in groups[..n - 1].iter().rev() {
                self.line.push(' ');
                push_uint(&mut self.line, *g, 3);
            }
        } else {
            push_uint(&mut self.line, rub, 0);
        }
        self.line.push(',');
        push_uint(&mut self.line, kop, 2);
    }

    pub(crate) fn end_row(&mut self) -> io::Result<()> {
        self.line.push_str("\r\n");
        match &mut self.encoder {
            None => self.out.write_all(self.line.as_bytes())?,
            Some((enc, buf)) => {
                // One cp1251 byte per character: never longer than the UTF-8 text.
                buf.resize(self.line.len(), 0);
                let (res, read, written) =
                    enc.encode_from_utf8_without_replacement(&self.line, buf, false);
                match res {
                    EncoderResult::InputEmpty => {}
                    EncoderResult::Unmappable(c) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("character {c:?} cannot be written in cp1251"),
                        ))
                    }
                    EncoderResult::OutputFull => unreachable!("cp1251 output fits"),
                }
                debug_assert_eq!(read, self.line.len());
                self.out.write_all(&buf[..written])?;
            }
        }
        self.line.clear();
        self.fields = 0;
        self.rows += 1;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.rows)
    }
}

fn push_uint(s: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    s.push_str(std::str::from_utf8(&buf[start..]).expect("digits"));
}

/// Rows written per file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub clients: u64,
    pub memberships: u64,
    pub visits: u64,
    pub services: u64,
    pub sales: u64,
    pub feedback: u64,
}

impl RowCounts {
    /// Rows written for a canonical table (`clients`, `memberships`, …); 0 for a table the
    /// profile does not write.
    pub fn of(&self, table: &str) -> u64 {
        match table {
            "clients" => self.clients,
            "memberships" => self.memberships,
            "visits" => self.visits,
            "services" => self.services,
            "sales" => self.sales,
            "feedback" => self.feedback,
            _ => 0,
        }
    }
    /// Sets the rows written for a canonical table (one [`RowCounts::of`] reads).
    pub(crate) fn set(&mut self, table: &str, rows: u64) {
        match table {
            "clients" => self.clients = rows,
            "memberships" => self.memberships = rows,
            "visits" => self.visits = rows,
            "services" => self.services = rows,
            "sales" => self.sales = rows,
            "feedback" => self.feedback = rows,
            _ => unreachable!("{table} is not a canonical table"),
        }
    }
}

/// The whole export: the six files, and what they need to print dates and staff.
pub struct Export {
    clients: CsvFile,
    memberships: CsvFile,
    visits: CsvFile,
    services: CsvFile,
    sales: CsvFile,
    feedback: CsvFile,
    cal: Calendar,
    roster: Roster,
}

impl Export {
    pub fn create(
        dir: &Path,
        encoding: Encoding,
        cal: Calendar,
        roster: Roster,
    ) -> io::Result<Self> {
        let f = |name: &str, header: &[&str]| CsvFile::create(&dir.join(name), encoding, header);
        Ok(Export {
            clients: f(CLIENTS_FILE, CLIENTS_HEADER)?,
            memberships: f(MEMBERSHIPS_FILE, MEMBERSHIPS_HEADER)?,
            visits: f(VISITS_FILE, VISITS_HEADER)?,
            services: f(SERVICES_FILE, SERVICES_HEADER)?,
            sales: f(SALES_FILE, SALES_HEADER)?,
            feedback: f(FEEDBACK_FILE, FEEDBACK_HEADER)?,
            cal,
            roster,
        })
    }

    pub fn finish(self) -> io::Result<RowCounts> {
        Ok(RowCounts {
            clients: self.clients.finish()?,
            memberships: self.memberships.finish()?,
            visits: self.visits.finish()?,
            services: self.services.finish()?,
            sales: self.sales.finish()?,
            feedback: self.feedback.finish()?,
        })
    }
}

impl Sink for Export {
    fn client(&mut self, c: &ClientRow) -> io::Result<()> {
        let (f, cal) = (&mut self.clients, &self.cal);
        f.plain(c.id);
        f.text(c.full_name);
        f.text(c.phone);
        f.text(c.email);
        f.date(cal, c.birth);
        f.plain(if c.female { "Ж" } else { "М" });
        f.text(c.passport);
        f.text(c.address);
        f.text(c.comment);
        f.plain(c.branch.label());
        f.date(cal, c.registered);
        f.text(c.source);
        f.opt_date(cal, c.trial);
        f.opt_date(cal, c.archived);
        f.text(c.postal);
        f.end_row()
    }

    fn membership(&mut self, client: &str, m: &MembershipRow) -> io::Result<()> {
        let (f, cal) = (&mut self.memberships, &self.cal);
        f.padded(m.number, 9);
        f.plain(client);
        f.plain(m.branch.label());
        f.plain(m.product.label());
        f.date(cal, m.sold);
        f.date(cal, m.start);
        f.date(cal, m.end);
        f.money(m.price, true);
        f.plain(m.status.label());
        f.uint(m.freeze_days as u64);
        f.end_row()
    }

    #[inline]
    fn visit(&mut self, client: &str, v: &VisitRow) -> io::Result<()> {
        let (f, cal) = (&mut self.visits, &self.cal);
        f.plain(client);
        f.datetime(cal, v.day, v.minute);
        f.plain(v.branch.label());
        f.plain(v.kind.label());
        f.end_row()
    }

    fn service(&mut self, client: &str, s: &ServiceRow) -> io::Result<()> {
        let (f, cal) = (&mut self.services, &self.cal);
        let staff = self.roster.get(s.staff);
        f.plain(client);
        f.datetime(cal, s.day, s.minute);
        f.plain(s.service.label());
        f.plain(s.service.category());
        f.plain(s.department.label());
        f.plain(&staff.code);
        f.text(&staff.name);
        f.plain(s.status.label());
        f.end_row()
    }

    fn sale(&mut self, client: &str, s: &SaleRow) -> io::Result<()> {
        let (f, cal) = (&mut self.sales, &self.cal);
        let staff = self.roster.get(s.staff);
        f.padded(s.number, 11);
        f.plain(client);
        f.datetime(cal, s.day, s.minute);
        f.plain(s.category.label());
        f.text(s.item);
        f.uint(s.quantity as u64);
        // This register groups thousands only in membership sales, as some 1C forms do.
        f.money(s.amount, s.category == SaleCategory::Membership);
        f.plain(s.department);
        f.plain(&staff.code);
        f.text(&staff.name);
        f.end_row()
    }

    fn feedback(&mut self, client: &str, fb: &FeedbackRow) -> io::Result<()> {
        let (f, cal) = (&mut self.feedback, &self.cal);
        f.plain(client);
        f.date(cal, fb.day);
        f.uint(fb.score as u64);
        f.text(fb.comment);
        f.end_row()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(k: i64, grouped: bool) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut f = CsvFile::create(&dir.path().join("x.csv"), Encoding::Utf8, &[]).unwrap();
        f.line.clear();
        f.fields = 0;
        f.money(k, grouped);
        f.line.clone()
    }

    #[test]
    fn money_formats() {
        assert_eq!(money(150_000, true), "1 500,00");
        assert_eq!(money(150_000, false), "1500,00");
        assert_eq!(money(14_950, true), "149,50");
        assert_eq!(money(123_456_789, true), "1 234 567,89");
        assert_eq!(money(100_000_005, true), "1 000 000,05");
        assert_eq!(money(5, false), "0,05");
        assert_eq!(money(-350_000, true), "-3 500,00");
    }

    #[test]
    fn padding() {
        let mut s = String::new();
        push_uint(&mut s, 1234, 7);
        assert_eq!(s, "0001234");
        s.clear();
        push_uint(&mut s, 0, 0);
        assert_eq!(s, "0");
        s.clear();
        push_uint(&mut s, 98_765_432, 3);
        assert_eq!(s, "98765432");
    }
}
