//! Parsing and generalizing source values: dates in the formats clubs' software writes,
//! money with a decimal comma and thousands separators, age bands, postal prefixes.
//!
//! Errors say what was expected, never what was found: the found text is a source value.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// Days from 0001-01-01 (CE day 1) to 1970-01-01, for Arrow's Date32.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

pub fn date_to_days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_CE_DAYS
}

pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_CE_DAYS)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Day,
    Month,
    Year4,
    Year2,
    Hour,
    Minute,
    Second,
    Lit(char),
}

impl Tok {
    fn is_time(&self) -> bool {
        matches!(self, Tok::Hour | Tok::Minute | Tok::Second)
    }
}

/// A date or date-time pattern such as `DD.MM.YYYY HH:mm`, compiled once per column.
///
/// Tokens: `DD`, `MM`, `YYYY`, `YY`, `HH`, `mm`, `ss`; anything else is a literal. Day,
/// month, hour, minute and second take one or two digits. Time tokens at the end are
/// optional, so a date-time column may hold plain dates (read as midnight).
///
/// The pattern `excel` reads Excel serial numbers (days since 1899-12-30 in Excel's 1900
/// date system, a fraction for the time of day), as found when a workbook column formatted
/// "General" is saved as CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    pattern: String,
    toks: Vec<Tok>,
    serial: bool,
}

/// The pattern name of Excel serial dates.
pub const EXCEL_SERIAL: &str = "excel";

impl DateFormat {
    pub fn parse_pattern(pattern: &str) -> Result<Self, String> {
        if pattern.trim().eq_ignore_ascii_case(EXCEL_SERIAL) {
            return Ok(DateFormat {
                pattern: EXCEL_SERIAL.to_string(),
                toks: Vec::new(),
                serial: true,
            });
        }
        let mut toks = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            let (t, n) = if rest.starts_with("YYYY") {
                (Tok::Year4, 4)
            } else if rest.starts_with("YY") {
                (Tok::Year2, 2)
            } else if rest.starts_with("DD") {
                (Tok::Day, 2)
            } else if rest.starts_with("MM") {
                (Tok::Month, 2)
            } else if rest.starts_with("HH") {
                (Tok::Hour, 2)
            } else if rest.starts_with("mm") {
                (Tok::Minute, 2)
            } else if rest.starts_with("ss") {
                (Tok::Second, 2)
            } else {
                let c = rest.chars().next().unwrap();
                (Tok::Lit(c), c.len_utf8())
            };
            toks.push(t);
            rest = &rest[n..];
        }
        let has = |t: Tok| toks.contains(&t);
        if !(has(Tok::Day) && has(Tok::Month) && (has(Tok::Year4) || has(Tok::Year2))) {
            return Err(format!(
                "date format {pattern:?} needs DD, MM and YYYY (or YY), or is \"excel\" (serial numbers)"
            ));
        }
        Ok(DateFormat {
            pattern: pattern.to_string(),
            toks,
            serial: false,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether this is the `excel` serial-number format.
    pub fn is_serial(&self) -> bool {
        self.serial
    }

    /// Whether the pattern has a time part.
    pub fn has_time(&self) -> bool {
        self.serial || self.toks.iter().any(Tok::is_time)
    }

    /// Writes a date-time in this format, so that [`DateFormat::parse_datetime`] reads it
    /// back; `None` when the format cannot hold it (a year outside 1970–2069 with `YY`, or
    /// outside 0–9999).
    pub fn format(&self, t: NaiveDateTime) -> Option<String> {
        use std::fmt::Write as _;
        if self.serial {
            return datetime_to_excel_serial(t).map(|v| {
                let s = format!("{v:.6}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                s.to_string()
            });
        }
        let mut out = String::new();
        for tok in &self.toks {
            let _ = match tok {
                Tok::Day => write!(out, "{:02}", t.day()),
                Tok::Month => write!(out, "{:02}", t.month()),
                Tok::Year4 => {
                    if !(0..=9999).contains(&t.year()) {
                        return None;
                    }
                    write!(out, "{:04}", t.year())
                }
                Tok::Year2 => {
                    if !(1970..=2069).contains(&t.year()) {
                        return None;
                    }
                    write!(out, "{:02}", t.year() % 100)
                }
                Tok::Hour => write!(out, "{:02}", t.hour()),
                Tok::Minute => write!(out, "{:02}", t.minute()),
                Tok::Second => write!(out, "{:02}", t.second()),
                Tok::Lit(c) => write!(out, "{c}"),
            };
        }
        Some(out)
    }

    /// Parses a date-time; a value that stops before the time part is midnight.
    pub fn parse_datetime(&self, s: &str) -> Result<NaiveDateTime, String> {
        let s = s.trim();
        if self.serial {
            let v = parse_plain_number(s).ok_or_else(|| {
                "expected an Excel date serial number (days since 1899-12-30)".to_string()
            })?;
            return excel_serial_to_datetime(v);
        }
        let b = s.as_bytes();
        let (mut y, mut mo, mut d, mut h, mut mi, mut se) = (None, None, None, 0u32, 0u32, 0u32);
        let mut i = 0usize;
        let mut ti = 0usize;
        while ti < self.toks.len() {
            let t = &self.toks[ti];
            if i >= b.len() {
                // Only trailing time tokens (and their separators) may be missing.
                if self.toks[ti..]
                    .iter()
                    .all(|t| t.is_time() || matches!(t, Tok::Lit(_)))
                {
                    break;
                }
                return Err(format!("expected a date like {}", self.pattern));
            }
            match t {
                Tok::Lit(c) => {
                    if *c == ' ' {
                        if b[i] != b' ' {
                            return Err(format!("expected a date like {}", self.pattern));
                        }
                        while i < b.len() && b[i] == b' ' {
                            i += 1;
                        }
                    } else if c.is_ascii() {
                        if b[i] != *c as u8 {
                            return Err(format!("expected a date like {}", self.pattern));
                        }
                        i += 1;
                    } else {
                        let mut buf = [0u8; 4];
                        let lit = c.encode_utf8(&mut buf).as_bytes();
                        if !b[i..].starts_with(lit) {
                            return Err(format!("expected a date like {}", self.pattern));
                        }
                        i += lit.len();
                    }
                }
                _ => {
                    let (min, max) = match t {
                        Tok::Year4 => (4, 4),
                        Tok::Year2 => (2, 2),
                        _ => (1, 2),
                    };
                    // At most 4 digits: no overflow.
                    let start = i;
                    let mut v = 0u32;
                    while i < b.len() && i - start < max && b[i].is_ascii_digit() {
                        v = v * 10 + u32::from(b[i] - b'0');
                        i += 1;
                    }
                    if i - start < min {
                        return Err(format!("expected a date like {}", self.pattern));
                    }
                    match t {
                        Tok::Year4 => y = Some(v as i32),
                        Tok::Year2 => {
                            // Two-digit years: 00–69 → 2000s, 70–99 → 1900s.
                            y = Some(if v < 70 {
                                2000 + v as i32
                            } else {
                                1900 + v as i32
                            })
                        }
                        Tok::Month => mo = Some(v),
                        Tok::Day => d = Some(v),
                        Tok::Hour => h = v,
                        Tok::Minute => mi = v,
                        Tok::Second => se = v,
                        Tok::Lit(_) => unreachable!(),
                    }
                }
            }
            ti += 1;
        }
        if i != b.len() {
            // Tolerate fractional seconds, which some exports append.
            let tail = &s[i..];
            let frac = tail.strip_prefix('.').or_else(|| tail.strip_prefix(','));
            if !matches!(frac, Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit())) {
                return Err(format!(
                    "unexpected text after a date like {}",
                    self.pattern
                ));
            }
        }
        let date = NaiveDate::from_ymd_opt(y.unwrap(), mo.unwrap(), d.unwrap())
            .ok_or_else(|| "not a calendar date".to_string())?;
        let time =
            NaiveTime::from_hms_opt(h, mi, se).ok_or_else(|| "not a valid time".to_string())?;
        Ok(NaiveDateTime::new(date, time))
    }

    pub fn parse_date(&self, s: &str) -> Result<NaiveDate, String> {
        let dt = self.parse_datetime(s)?;
        Ok(dt.date())
    }
}

/// A plain decimal number (`45292`, `45292.75`, `45292,75`), for Excel serials.
fn parse_plain_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    s.replace(',', ".").parse::<f64>().ok()
}

/// Largest serial Excel accepts: 9999-12-31.
const EXCEL_MAX_SERIAL: f64 = 2_958_466.0;

/// An Excel serial date-time of the 1900 date system: whole days since 1899-12-30 (from
/// 1900-03-01 on; Excel counts a 29 February 1900 that never was, serial 60, so serials
/// below 60 are one day later than that count), and the fraction of a day as the time.
pub fn excel_serial_to_datetime(v: f64) -> Result<NaiveDateTime, String> {
    if !v.is_finite() || !(1.0..EXCEL_MAX_SERIAL).contains(&v) {
        return Err("not an Excel date serial number (1 to 2958465)".to_string());
    }
    let days = v.floor() as i64;
    if days == 60 {
        return Err(
            "not a calendar date (Excel serial 60 is 29.02.1900, which does not exist)".to_string(),
        );
    }
    let base = if days < 60 {
        NaiveDate::from_ymd_opt(1899, 12, 31).unwrap()
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()
    };
    let mut secs = ((v - v.floor()) * 86_400.0).round() as i64;
    let mut date = base + chrono::Duration::days(days);
    if secs >= 86_400 {
        secs -= 86_400;
        date += chrono::Duration::days(1);
    }
    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, 0)
        .ok_or_else(|| "not a valid time".to_string())?;
    Ok(NaiveDateTime::new(date, time))
}

/// The Excel serial (1900 date system) of a date-time; `None` before 1900-01-01.
pub fn datetime_to_excel_serial(t: NaiveDateTime) -> Option<f64> {
    let d = t.date();
    let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    if d < first {
        return None;
    }
    let march = NaiveDate::from_ymd_opt(1900, 3, 1).unwrap();
    let base = if d < march {
        NaiveDate::from_ymd_opt(1899, 12, 31).unwrap()
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()
    };
    let days = (d - base).num_days() as f64;
    Some(days + t.time().num_seconds_from_midnight() as f64 / 86_400.0)
}

/// Parses money into hundredths: `1 500,00`, `1500.5`, `-20`, `1.500,00` (with
/// `decimal_comma`). Space, NBSP and narrow NBSP are thousands separators.
pub fn parse_money(s: &str, decimal_comma: bool) -> Result<i128, String> {
    parse_fixed(s, decimal_comma, 2)
}

/// Parses an integer; separators as in [`parse_money`], and no fractional part.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let v = parse_fixed(s, true, 0)?;
    i64::try_from(v).map_err(|_| "integer out of range".to_string())
}

fn parse_fixed(s: &str, decimal_comma: bool, scale: u32) -> Result<i128, String> {
    let (dec, thou) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let mut neg = false;
    let mut int_part: i128 = 0;
    let mut frac: i128 = 0;
    let mut frac_digits = 0u32;
    let mut seen_digit = false;
    let mut in_frac = false;
    let t = s.trim();
    let mut chars = t.chars().peekable();
    if let Some(&c) = chars.peek() {
        if c == '-' || c == '−' {
            neg = true;
            chars.next();
        } else if c == '+' {
            chars.next();
        }
    }
    for c in chars {
        match c {
            '0'..='9' => {
                seen_digit = true;
                let d = (c as u8 - b'0') as i128;
                if in_frac {
                    frac_digits += 1;
                    if frac_digits > scale {
                        if d != 0 {
                            return Err(format!("more than {scale} decimal places"));
                        }
                        continue;
                    }
                    frac = frac * 10 + d;
                } else {
                    int_part = int_part
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(d))
                        .filter(|v| *v < 10i128.pow(16))
                        .ok_or_else(|| "number too large".to_string())?;
                }
            }
            ' ' | '\u{a0}' | '\u{202f}' | '\'' if !in_frac => {}
            c if c == thou && !in_frac => {}
            c if c == dec && !in_frac => in_frac = true,
            _ => {
                return Err(if decimal_comma {
                    "expected a number like 1 500,00".to_string()
                } else {
                    "expected a number like 1500.00".to_string()
                })
            }
        }
    }
    if !seen_digit {
        return Err("expected a number".to_string());
    }
    if scale == 0 && in_frac && frac_digits > 0 {
        return Err("expected a whole number".to_string());
    }
    let mut v = int_part * 10i128.pow(scale);
    let used = frac_digits.min(scale);
    v += frac * 10i128.pow(scale - used);
    Ok(if neg { -v } else { v })
}

/// Age bands from their lower bounds, e.g. `[18, 25, 35, 45, 55, 65]` → `<18`, `18-24`, …,
/// `65+` (SPEC §3.3, §5.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBands {
    bounds: Vec<u32>,
    labels: Vec<String>,
}

impl AgeBands {
    pub const DEFAULT: [u32; 6] = [18, 25, 35, 45, 55, 65];

    pub fn new(bounds: &[u32]) -> Result<Self, String> {
        if bounds.is_empty() || bounds.windows(2).any(|w| w[0] >= w[1]) {
            return Err("age_bands must be increasing lower bounds, e.g. [18, 25, 35]".into());
        }
        let mut labels = vec![format!("<{}", bounds[0])];
        for w in bounds.windows(2) {
            labels.push(format!("{}-{}", w[0], w[1] - 1));
        }
        labels.push(format!("{}+", bounds[bounds.len() - 1]));
        Ok(AgeBands {
            bounds: bounds.to_vec(),
            labels,
        })
    }

    /// The band of someone born on `birth` at `as_of`; `None` when born after `as_of`.
    pub fn band(&self, birth: NaiveDate, as_of: NaiveDate) -> Option<&str> {
        let age = full_years(birth, as_of)?;
        let i = self.bounds.iter().take_while(|b| age >= **b).count();
        Some(&self.labels[i])
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }
}

impl Default for AgeBands {
    fn default() -> Self {
        AgeBands::new(&Self::DEFAULT).unwrap()
    }
}

/// Full years between two dates (the age on `as_of`), `None` if `birth` is later.
pub fn full_years(birth: NaiveDate, as_of: NaiveDate) -> Option<u32> {
    if birth > as_of {
        return None;
    }
    let mut years = as_of.year() - birth.year();
    if (as_of.month(), as_of.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    Some(years as u32)
}

/// The first three characters of a postal code.
pub fn postal_prefix(code: &str) -> String {
    postal_prefix_str(code).to_string()
}

/// [`postal_prefix`] as a slice of the code, without allocating.
pub fn postal_prefix_str(code: &str) -> &str {
    let t = code.trim();
    match t.char_indices().nth(3) {
        Some((end, _)) => &t[..end],
        None => t,
    }
}

/// Timestamp precision kept in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truncate {
    #[default]
    Hour,
    Day,
    None,
}

/// Seconds since the epoch, truncated as the policy says.
pub fn timestamp_seconds(t: NaiveDateTime, trunc: Truncate) -> i64 {
    let s = t.and_utc().timestamp();
    match trunc {
        Truncate::None => s,
        Truncate::Hour => s - s.rem_euclid(3600),
        Truncate::Day => s - s.rem_euclid(86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn dates() {
        let f = DateFormat::parse_pattern("DD.MM.YYYY").unwrap();
        assert_eq!(f.parse_date("05.03.2024").unwrap(), d(2024, 3, 5));
        assert_eq!(f.parse_date("5.3.2024").unwrap(), d(2024, 3, 5));
        assert!(f.parse_date("31.02.2025").is_err());
        assert!(f.parse_date("2024-03-05").is_err());
        assert!(f.parse_date("").is_err());
        let iso = DateFormat::parse_pattern("YYYY-MM-DD").unwrap();
        assert_eq!(iso.parse_date("2024-03-05").unwrap(), d(2024, 3, 5));
        let yy = DateFormat::parse_pattern("DD.MM.YY").unwrap();
        assert_eq!(yy.parse_date("05.03.24").unwrap(), d(2024, 3, 5));
        assert_eq!(yy.parse_date("05.03.85").unwrap(), d(1985, 3, 5));
        assert!(DateFormat::parse_pattern("MM/YYYY").is_err());
    }

    #[test]
    fn datetimes() {
        let f = DateFormat::parse_pattern("DD.MM.YYYY HH:mm:ss").unwrap();
        let t = f.parse_datetime("05.03.2024 18:07:09").unwrap();
        assert_eq!(t.to_string(), "2024-03-05 18:07:09");
        assert_eq!(
            f.parse_datetime("05.03.2024 18:07").unwrap().to_string(),
            "2024-03-05 18:07:00"
        );
        assert_eq!(
            f.parse_datetime("05.03.2024").unwrap().to_string(),
            "2024-03-05 00:00:00"
        );
        assert!(f.parse_datetime("05.03.2024 25:00").is_err());
        assert!(f.parse_datetime("05.03.2024 18:07:09 x").is_err());
        assert_eq!(
            timestamp_seconds(t, Truncate::Hour),
            timestamp_seconds(
                f.parse_datetime("05.03.2024 18:00").unwrap(),
                Truncate::None
            )
        );
        let e = f.parse_datetime("Иванов").unwrap_err();
        assert!(!e.contains("Иванов"));
    }

    #[test]
    fn excel_serials() {
        let f = DateFormat::parse_pattern("excel").unwrap();
        assert!(f.is_serial());
        assert_eq!(f.parse_date("45292").unwrap(), d(2024, 1, 1));
        assert_eq!(
            f.parse_datetime("45292.75").unwrap().to_string(),
            "2024-01-01 18:00:00"
        );
        assert_eq!(f.parse_date("45292,5").unwrap(), d(2024, 1, 1));
        // The 1900 leap-year bug: 59 is 28.02.1900, 60 the 29.02.1900 that never was, 61 is 01.03.1900.
        assert_eq!(f.parse_date("1").unwrap(), d(1900, 1, 1));
        assert_eq!(f.parse_date("59").unwrap(), d(1900, 2, 28));
        assert!(f.parse_date("60").unwrap_err().contains("29.02.1900"));
        assert_eq!(f.parse_date("61").unwrap(), d(1900, 3, 1));
        assert!(f.parse_date("0").is_err());
        assert!(f.parse_date("-5").is_err());
        assert!(f.parse_date("01.01.2024").is_err());
        for day in [d(1900, 1, 1), d(1900, 2, 28), d(1900, 3, 1), d(2024, 2, 29)] {
            let t = day.and_hms_opt(13, 30, 0).unwrap();
            assert_eq!(f.parse_datetime(&f.format(t).unwrap()).unwrap(), t);
        }
    }

    #[test]
    fn formatting_round_trips() {
        let t = d(2024, 3, 5).and_hms_opt(7, 8, 9).unwrap();
        let f = DateFormat::parse_pattern("DD.MM.YYYY HH:mm:ss").unwrap();
        assert_eq!(f.format(t).unwrap(), "05.03.2024 07:08:09");
        assert_eq!(f.parse_datetime(&f.format(t).unwrap()).unwrap(), t);
        let yy = DateFormat::parse_pattern("DD.MM.YY").unwrap();
        assert_eq!(yy.format(t).unwrap(), "05.03.24");
        assert_eq!(yy.format(d(1950, 1, 1).and_hms_opt(0, 0, 0).unwrap()), None);
        assert!(!yy.has_time());
        assert!(f.has_time());
    }

    #[test]
    fn money_and_ints() {
        assert_eq!(parse_money("1 500,00", true).unwrap(), 150_000);
        assert_eq!(parse_money("1\u{a0}500,5", true).unwrap(), 150_050);
        assert_eq!(parse_money("1.500,00", true).unwrap(), 150_000);
        assert_eq!(parse_money("1500.25", false).unwrap(), 150_025);
        assert_eq!(parse_money("-20", true).unwrap(), -2_000);
        assert_eq!(parse_money("0,10", true).unwrap(), 10);
        assert!(parse_money("12,345", true).is_err());
        assert!(parse_money("abc", true).is_err());
        assert!(parse_money("", true).is_err());
        assert_eq!(parse_int("12").unwrap(), 12);
        assert_eq!(parse_int("1 000").unwrap(), 1000);
        assert!(parse_int("1,5").is_err());
    }

    #[test]
    fn age_bands_at_birthday_boundaries() {
        let b = AgeBands::default();
        let as_of = d(2026, 11, 1);
        assert_eq!(b.band(d(2008, 11, 2), as_of), Some("<18")); // 17, birthday tomorrow
        assert_eq!(b.band(d(2008, 11, 1), as_of), Some("18-24")); // 18 today
        assert_eq!(b.band(d(1961, 11, 1), as_of), Some("65+"));
        assert_eq!(b.band(d(1961, 11, 2), as_of), Some("55-64"));
        assert_eq!(b.band(d(2027, 1, 1), as_of), None);
        assert_eq!(
            b.labels(),
            ["<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
        );
    }

    #[test]
    fn postal_and_days() {
        assert_eq!(postal_prefix(" 119019"), "119");
        assert_eq!(date_to_days(d(1970, 1, 2)), 1);
        assert_eq!(days_to_date(19_000), Some(d(2022, 1, 8)));
    }
}
