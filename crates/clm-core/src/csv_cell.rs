//! The one rule for every CSV cell the clm tools write (call lists, rejected rows, analysis
//! and report CSVs): a cell a spreadsheet would run as a formula is written as text, with a
//! leading `'` (the OWASP rule for CSV injection). A source name like `=HYPERLINK(…)`, a
//! branch name or a consultant's note like `=WEBSERVICE(…)` could otherwise send the cells
//! beside it off site when the file is opened.

use std::borrow::Cow;

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first), unless it is a plain number such as `-12` or `+3,5`.
pub fn looks_like_formula(cell: &str) -> bool {
    let Some(first) = cell.chars().next() else {
        return false;
    };
    if !matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r') || cell.chars().count() < 2 {
        return false;
    }
    let number = cell.trim().replace(',', ".");
    !(number.parse::<f64>().is_ok() && number.bytes().all(|b| b"+-.0123456789eE".contains(&b)))
}

/// The cell as it is to be written: with a leading `'` when it looks like a formula.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if looks_like_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_but_not_numbers() {
        for f in [
            "=1+1",
            "@SUM(A1)",
            "+7 (912) 000",
            "-A1",
            "=WEBSERVICE(\"x\")",
            "\tx",
            "\r=1",
        ] {
            assert!(looks_like_formula(f), "{f}");
            assert_eq!(neutralize(f), format!("'{f}"));
        }
        for n in [
            "",
            "-",
            "+",
            "-12",
            "+3.5",
            "-0,5",
            "1e3",
            "call",
            "звонок",
            "a=b",
        ] {
            assert!(!looks_like_formula(n), "{n}");
            assert_eq!(neutralize(n), n);
        }
    }
}
