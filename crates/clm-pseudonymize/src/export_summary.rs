//! What `export` prints when it is done: the bundle, per table the rows in, out and
//! rejected, and where the rejected rows are kept on site. Counts and names only.

use std::fmt::Write as _;

use crate::ExportSummary;

pub fn render(s: &ExportSummary) -> String {
    let m = &s.manifest;
    let mut out = String::new();
    if let Some(stale) = &s.stale_staging_removed {
        let _ = writeln!(
            out,
            "removed {}, left by an earlier export that did not finish (it never became a bundle)",
            stale.display()
        );
    }
    let _ = writeln!(
        out,
        "bundle {} (export {}, as of {})",
        s.out.display(),
        m.export_id,
        m.as_of
    );
    if let Some(club) = &m.club {
        let _ = writeln!(
            out,
            "club {club} (from the mapping; the consultant sees it)"
        );
    }
    let _ = writeln!(
        out,
        "{:<12} {:>10} {:>10} {:>9}  dropped columns",
        "table", "rows in", "rows out", "rejected"
    );
    for e in &m.sources {
        let _ = writeln!(
            out,
            "{:<12} {:>10} {:>10} {:>9}  {}",
            e.table,
            e.rows_in,
            e.rows_out,
            e.rows_rejected,
            if e.dropped_columns.is_empty() {
                "-".to_string()
            } else {
                e.dropped_columns.join(", ")
            }
        );
    }
    for e in &m.sources {
        for (reason, n) in &e.rejected_by_reason {
            if reason.contains(": duplicate ") {
                let _ = writeln!(
                    out,
                    "{}: {n} {} the id of an earlier row, rejected ({reason}); for each id the file's first readable row is kept",
                    e.table,
                    if *n == 1 { "row repeats" } else { "rows repeat" }
                );
            }
        }
    }
    if let Some(since) = m.since {
        let _ = writeln!(
            out,
            "incremental: events after {since} only (clients and memberships whole)"
        );
    }
    if let Some(v) = m.quality.get("verdict").and_then(|v| v.as_str()) {
        let _ = writeln!(
            out,
            "data quality: {v} (see `quality` in the manifest, or run `check`)"
        );
    }
    for r in &s.rejects {
        let _ = writeln!(
            out,
            "rejected rows kept on site in {} (personal data, mode 0600, {}): do not send it",
            r.path.display(),
            r.encoding
        );
    }
    let _ = writeln!(
        out,
        "pseudonymization key {}, data key {}",
        m.pseudonym_key_fingerprint, m.data_key_fingerprint
    );
    out
}
