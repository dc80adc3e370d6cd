//! Parsing and generalizing source values: dates in the formats clubs' software writes,
//! money with a decimal comma and thousands separators, age bands, postal prefixes.
//!
//! Errors say what was expected, never what was found: the found text is a source value.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    pattern: String,
    toks: Vec<Tok>,
}

impl DateFormat {
    pub fn parse_pattern(pattern: &str) -> Result<Self, String> {
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
                "date format {pattern:?} needs DD, MM and YYYY (or YY)"
            ));
        }
        Ok(DateFormat {
            pattern: pattern.to_string(),
            toks,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Parses a date-time; a value that stops before the time part is midnight.
    pub fn parse_datetime(&self, s: &str) -> Result<NaiveDateTime, String> {
        let s = s.trim();
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
                    let start = i;
                    while i < b.len() && i - start < max && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    if i - start < min {
                        return Err(format!("expected a date like {}", self.pattern));
                    }
                    let v: u32 = s[start..i].parse().unwrap();
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
    code.trim().chars().take(3).collect()
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
