//! Days as plain integers, with preformatted "DD.MM.YYYY" text and per-day visit factors.
//!
//! Ten million visit rows each need a date; formatting them through chrono would dominate the
//! run. Every event falls in a window of a few years around the as-of date, so the window's
//! dates are formatted once into a table and looked up by index.

use chrono::{Datelike, Months, NaiveDate, Weekday};

/// A calendar day, counted as chrono's days from the Common Era (0001-01-01 is day 1).
pub type Day = i32;

pub fn day_of(d: NaiveDate) -> Day {
    d.num_days_from_ce()
}

pub fn date_of(d: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(d).expect("day within chrono's range")
}

/// Day of the week, Monday = 0 … Sunday = 6 (0001-01-01, day 1, was a Monday).
#[inline]
pub fn weekday_index(d: Day) -> usize {
    (d - 1).rem_euclid(7) as usize
}

/// The last day of a membership of `months` months starting on `start` (inclusive end:
/// 1 month from 15.01 runs to 14.02, the way clubs print it on the card).
pub fn end_after_months(start: Day, months: u32) -> Day {
    let s = date_of(start);
    let e = s
        .checked_add_months(Months::new(months))
        .expect("date in range");
    day_of(e) - 1
}

/// Visit seasonality by month: January resolutions, a summer dip, a September return.
const MONTH_FACTOR: [f32; 12] =
    [1.18, 1.10, 1.05, 1.00, 0.95, 0.85, 0.78, 0.84, 1.06, 1.05, 1.00, 0.90];

/// Preformatted dates and visit factors for a window of days.
pub struct Calendar {
    first: Day,
    dates: Vec<[u8; 10]>,
    /// Multiplier on a client's visit rate for that day (season × weekday).
    factor: Vec<f32>,
    weekend: Vec<bool>,
}

impl Calendar {
    /// Covers `[first, last]`; days outside fall back to chrono (birth dates, mostly).
    pub fn new(first: Day, last: Day) -> Self {
        let n = (last - first + 1).max(0) as usize;
        let mut dates = Vec::with_capacity(n);
        let mut factor = Vec::with_capacity(n);
        let mut weekend = Vec::with_capacity(n);
        for i in 0..n {
            let d = date_of(first + i as i32);
            dates.push(format_date(d));
            let wd = d.weekday();
            let we = matches!(wd, Weekday::Sat | Weekday::Sun);
            let wf = match wd {
                Weekday::Mon | Weekday::Tue => 1.12,
                Weekday::Wed | Weekday::Thu => 1.05,
                Weekday::Fri => 0.9,
                Weekday::Sat => 0.95,
                Weekday::Sun => 0.83,
            };
            factor.push(MONTH_FACTOR[d.month0() as usize] * wf);
            weekend.push(we);
        }
        Calendar {
            first,
            dates,
            factor,
            weekend,
        }
    }

    #[inline]
    fn index(&self, d: Day) -> Option<usize> {
        let i = d - self.first;
        (i >= 0 && (i as usize) < self.dates.len()).then_some(i as usize)
    }

    /// "DD.MM.YYYY" of a day.
    #[inline]
    pub fn date_text(&self, d: Day) -> [u8; 10] {
        match self.index(d) {
            Some(i) => self.dates[i],
            None => format_date(date_of(d)),
        }
    }

    #[inline]
    pub fn factor(&self, d: Day) -> f32 {
        self.index(d).map_or(1.0, |i| self.factor[i])
    }

    #[inline]
    pub fn is_weekend(&self, d: Day) -> bool {
        match self.index(d) {
            Some(i) => self.weekend[i],
            None => matches!(date_of(d).weekday(), Weekday::Sat | Weekday::Sun),
        }
    }
}

fn format_date(d: NaiveDate) -> [u8; 10] {
    let mut b = *b"00.00.0000";
    let (day, month, year) = (d.day(), d.month(), d.year().clamp(0, 9999) as u32);
    b[0] = b'0' + (day / 10) as u8;
    b[1] = b'0' + (day % 10) as u8;
    b[3] = b'0' + (month / 10) as u8;
    b[4] = b'0' + (month % 10) as u8;
    b[6] = b'0' + (year / 1000) as u8;
    b[7] = b'0' + (year / 100 % 10) as u8;
    b[8] = b'0' + (year / 10 % 10) as u8;
    b[9] = b'0' + (year % 10) as u8;
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_inside_and_outside_the_window() {
        let d = day_of(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
        let cal = Calendar::new(d - 10, d + 10);
        assert_eq!(&cal.date_text(d), b"09.03.2026");
        let far = d - 20_000;
        let expected = date_of(far).format("%d.%m.%Y").to_string();
        assert_eq!(&cal.date_text(far), expected.as_bytes());
    }

    #[test]
    fn weekday_index_agrees_with_chrono() {
        let d0 = day_of(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
        for d in d0 - 20..d0 + 20 {
            assert_eq!(
                weekday_index(d),
                date_of(d).weekday().num_days_from_monday() as usize
            );
        }
    }

    #[test]
    fn month_ends() {
        let s = day_of(NaiveDate::from_ymd_opt(2025, 1, 31).unwrap());
        assert_eq!(
            date_of(end_after_months(s, 1)),
            NaiveDate::from_ymd_opt(2025, 2, 27).unwrap()
        );
        let s = day_of(NaiveDate::from_ymd_opt(2025, 1, 15).unwrap());
        assert_eq!(
            date_of(end_after_months(s, 12)),
            NaiveDate::from_ymd_opt(2026, 1, 14).unwrap()
        );
    }
}
