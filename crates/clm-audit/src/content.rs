//! Check 3, content: every value of every string column through the PII detectors
//! (clm_core::detect, SPEC §3.5), and the shape rules the schema implies: a pid is exactly
//! 32 lower-case hex characters, a closed vocabulary holds only its values, an age band is
//! one of the manifest's bands, a postal prefix has at most 3 characters. Integers and
//! decimals of ten digits or more (the length of a phone, passport, SNILS, INN or card) go
//! through the detectors too.

use clm_core::detect::{self, Detector};
use serde_json::json;

use crate::report::{group, CheckReport, Finding};
use crate::scan::{ColumnHits, Hit, ScanTotals};
use crate::schema_check::StrKind;

pub struct ContentRules<'a> {
    pub age_bands: &'a [String],
}

/// A pid: exactly 32 lower-case hex characters.
pub fn is_pid(v: &str) -> bool {
    v.len() == 32
        && v.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ContentRules<'_> {
    pub fn check_str(&self, v: &str, kind: &StrKind, out: &mut Vec<Hit>) {
        if let Some(d) = detect::first_hit(v) {
            out.push(Hit::Detector(d));
        }
        match kind {
            StrKind::Pid(_) => {
                if !is_pid(v) {
                    out.push(Hit::PidFormat)
                }
            }
            StrKind::Vocabulary(values) => {
                if !values.iter().any(|x| x == v) {
                    out.push(Hit::Vocabulary)
                }
            }
            StrKind::AgeBand => {
                if !self.age_bands.iter().any(|b| b == v) {
                    out.push(Hit::AgeBand)
                }
            }
            StrKind::Prefix3 => {
                if v.chars().count() > 3 {
                    out.push(Hit::Prefix3)
                }
            }
            StrKind::FreeCategory | StrKind::Plain => {}
        }
    }

    /// A long number, as its digits.
    pub fn check_digits(&self, digits: &str, out: &mut Vec<Hit>) {
        if let Some(d) = detect::first_hit(digits) {
            out.push(Hit::Detector(d));
        }
    }
}

fn describe(h: Hit) -> Option<(String, String)> {
    Some(match h {
        Hit::Detector(d) => (
            d.name().to_string(),
            format!("values the {} detector recognises", detector_words(d)),
        ),
        Hit::PidFormat => (
            "pid_format".into(),
            "values that are not a pid (32 lower-case hex characters)".into(),
        ),
        Hit::Vocabulary => (
            "vocabulary".into(),
            "values outside the field's vocabulary in schemas/".into(),
        ),
        Hit::AgeBand => (
            "age_band".into(),
            "values that are not one of the manifest's age bands".into(),
        ),
        Hit::Prefix3 => (
            "prefix3".into(),
            "values longer than a 3-character postal prefix".into(),
        ),
        _ => return None,
    })
}

fn detector_words(d: Detector) -> &'static str {
    match d {
        Detector::Email => "e-mail",
        Detector::Phone => "phone number",
        Detector::PaymentCard => "payment card (Luhn)",
        Detector::Passport => "Russian passport",
        Detector::Snils => "SNILS (checksum)",
        Detector::Inn => "INN (checksum)",
        Detector::FullName => "Cyrillic full name",
        Detector::Iban => "IBAN (mod 97)",
        Detector::Vin => "vehicle identification number (VIN)",
    }
}

/// Turns the content hits of the scan into findings, one per table, column and rule.
pub fn report(hits: &[ColumnHits], totals: &ScanTotals) -> CheckReport {
    let mut r = CheckReport::new("content");
    for c in hits {
        for (h, n) in &c.hits {
            if let Some((detector, detail)) = describe(*h) {
                r.findings.push(Finding {
                    table: c.table.clone(),
                    column: c.column.clone(),
                    detector,
                    count: *n,
                    file: c.file_list(),
                    detail,
                });
            }
        }
    }
    let hit_values: u64 = r.findings.iter().map(|f| f.count).sum();
    r.figures = json!({
        "string_values": totals.string_values,
        "distinct_values_evaluated": totals.evaluated,
        "string_columns": totals.string_columns,
        "numbers_checked": totals.numbers,
        "long_numbers": totals.long_numbers,
        "metadata_strings": totals.metadata_strings,
        "detectors": Detector::ALL.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "rules": ["pid_format", "vocabulary", "age_band", "prefix3"],
        "hits": hit_values,
    });
    r.summary = format!(
        "{} strings in {} columns, {} numbers, {} metadata strings, {} detectors + pid/vocabulary/band rules: {}",
        group(totals.string_values),
        totals.string_columns,
        group(totals.numbers),
        group(totals.metadata_strings),
        Detector::ALL.len(),
        if hit_values == 0 {
            "no hit".to_string()
        } else {
            format!("{} hits", group(hit_values))
        }
    );
    r.settle();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_shape() {
        assert!(is_pid("0123456789abcdef0123456789abcdef"));
        assert!(!is_pid("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_pid("0000001"));
        assert!(!is_pid(&"a".repeat(64)));
    }

    #[test]
    fn rules() {
        let bands = vec!["<18".to_string(), "18-24".to_string()];
        let r = ContentRules { age_bands: &bands };
        let mut out = Vec::new();
        r.check_str("звонить +7 912 345-67-89", &StrKind::FreeCategory, &mut out);
        assert_eq!(out, [Hit::Detector(Detector::Phone)]);
        out.clear();
        r.check_str("18-24", &StrKind::AgeBand, &mut out);
        r.check_str("6200", &StrKind::Prefix3, &mut out);
        assert_eq!(out, [Hit::Prefix3]);
        out.clear();
        r.check_str(
            "0000001",
            &StrKind::Pid(clm_core::pid::Domain::Client),
            &mut out,
        );
        assert_eq!(out, [Hit::PidFormat]);
    }
}
