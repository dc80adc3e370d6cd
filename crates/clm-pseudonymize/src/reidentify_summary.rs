//! What `reidentify` prints: counts and row numbers (the header is row 1), never a pid or
//! a personal value.

use std::fmt::Write as _;
use std::path::Path;

use crate::reidentify::ReidentifySummary;

/// Row numbers for a message: the first few, then how many more.
fn row_list(rows: &[u64]) -> String {
    const SHOWN: usize = 20;
    let mut s = rows
        .iter()
        .take(SHOWN)
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if rows.len() > SHOWN {
        s.push_str(&format!(" and {} more", rows.len() - SHOWN));
    }
    s
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The outcome of `reidentify`: counts and row numbers (the header is row 1), never a pid
/// or a personal value.
pub fn render(pids: &Path, s: &ReidentifySummary) -> String {
    let mut out = String::new();
    let malformed = s.malformed_rows.len() as u64;
    let repeated = s.duplicate_rows.len() as u64;
    let _ = writeln!(
        out,
        "read {} ({}-separated): {}",
        pids.display(),
        match s.delimiter {
            b',' => "comma".to_string(),
            b';' => "semicolon".to_string(),
            b'\t' => "tab".to_string(),
            d => format!("{:?}", d as char),
        },
        plural(s.rows, "row", "rows")
    );
    let _ = writeln!(
        out,
        "found {}, not found {}, malformed pid {}, repeated pid {}",
        s.found, s.not_found, malformed, repeated
    );
    if s.not_found > 0 {
        let _ = writeln!(
        out,
            "not found: {} of the list {} no client of the source; {} in the call list with empty personal columns and found = no",
            plural(s.not_found, "pid", "pids"),
            if s.not_found == 1 { "matches" } else { "match" },
            if s.not_found == 1 { "it stays" } else { "they stay" }
        );
        if s.source_unreadable > 0 {
            let _ = writeln!(
        out,
                "  the source clients table has {} that could not be read; a pid not found may be one of them",
                plural(s.source_unreadable, "row", "rows")
            );
        }
        if s.found == 0 {
            let _ = writeln!(
        out,
                "  no pid of the list was found: was the list made from a bundle exported with this mapping and this \
                 pseudonymization key (fingerprint {})? The bundle's manifest names its key as pseudonym_key_fingerprint",
                s.key_fingerprint
            );
        }
    }
    if malformed > 0 {
        let _ = writeln!(
        out,
            "malformed pid (not 32 lowercase hex characters) in {} {}; marked found = malformed pid",
            if malformed == 1 { "row" } else { "rows" },
            row_list(&s.malformed_rows)
        );
    }
    for (row, first) in s.duplicate_rows.iter().take(20) {
        let _ = writeln!(
            out,
            "repeated pid: row {row} has the pid of row {first}; both rows are in the call list"
        );
    }
    if s.duplicate_rows.len() > 20 {
        let _ = writeln!(
            out,
            "  and {} more repeated pids",
            s.duplicate_rows.len() - 20
        );
    }
    for (row, reason) in s.unreadable_rows.iter().take(20) {
        let _ = writeln!(
            out,
            "row {row} of the list could not be read ({reason}); it is not in the call list"
        );
    }
    if s.unreadable_rows.len() > 20 {
        let _ = writeln!(
            out,
            "  and {} more unreadable rows",
            s.unreadable_rows.len() - 20
        );
    }
    if s.ambiguous > 0 {
        let _ = writeln!(
        out,
            "{} of the list {} to more than one row of the source clients table (a client id repeated); the first row is used",
            plural(s.ambiguous, "pid", "pids"),
            if s.ambiguous == 1 { "belongs" } else { "belong" }
        );
    }
    if s.neutralized_cells > 0 {
        let _ = writeln!(
        out,
            "{} of the list began like a spreadsheet formula (= + - @) and {} written as text, with a leading '",
            plural(s.neutralized_cells, "cell", "cells"),
            if s.neutralized_cells == 1 { "is" } else { "are" }
        );
    }
    if s.neutralized_source_cells > 0 {
        let _ = writeln!(
            out,
            "{} of the source clients table (names, phones, e-mails) began like a spreadsheet formula (= + - @, tab) and {} written as text, with a leading '",
            plural(s.neutralized_source_cells, "cell", "cells"),
            if s.neutralized_source_cells == 1 { "is" } else { "are" }
        );
    }
    let _ = writeln!(out, "pseudonymization key {}", s.key_fingerprint);
    let _ = writeln!(
        out,
        "wrote the call list {} (;-separated, UTF-8; columns added: {}, found)",
        s.out.display(),
        s.personal_columns.join(", ")
    );
    let _ = writeln!(
        out,
        "PERSONAL DATA: {} holds names and phones of real people. It must stay on site: do not e-mail it, \
         do not send it to the consultant, do not copy it to a cloud drive; delete it when the calls are done.",
        s.out.display()
    );
    out
}
