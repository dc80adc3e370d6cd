//! The verdict (SPEC §3.6, check 6): every check's status, figures and findings, as a
//! human summary on stdout and as a JSON report.
//!
//! A finding names a table, a column, a detector (or rule) and a count. It never holds a
//! value from the bundle or the source, nor a key: the report may be mailed off site.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// Not run, and the reason is in the summary (the leak check without the source).
    Skipped,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Skipped => "skipped",
        }
    }
}

/// One thing wrong, counted; never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Bundle table (or empty for the bundle as a whole).
    pub table: String,
    /// Bundle column, `(metadata)` for a file's key-value metadata, or empty.
    pub column: String,
    /// The detector or rule that fired, e.g. `phone`, `pid_format`, `source_value`.
    pub detector: String,
    /// How many values (rows), files or clients.
    pub count: u64,
    /// The bundle file, when the finding is about one file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What was found, in words (names of columns and files only).
    pub detail: String,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub name: &'static str,
    pub status: Status,
    /// One line of figures for the summary table.
    pub summary: String,
    /// The figures, machine-readable.
    pub figures: Value,
    pub findings: Vec<Finding>,
    /// Remarks that do not fail the check.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl CheckReport {
    pub fn new(name: &'static str) -> Self {
        CheckReport {
            name,
            status: Status::Pass,
            summary: String::new(),
            figures: Value::Object(Default::default()),
            findings: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Fails when there is any finding, else passes.
    pub fn settle(&mut self) {
        if self.status != Status::Skipped {
            self.status = if self.findings.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            };
        }
    }

    pub fn skipped(name: &'static str, why: &str) -> Self {
        let mut c = CheckReport::new(name);
        c.status = Status::Skipped;
        c.summary = why.to_string();
        c
    }
}

/// What the bundle is, for the report's header.
#[derive(Debug, Clone, Serialize)]
pub struct BundleInfo {
    pub path: String,
    pub export_id: String,
    pub as_of: String,
    pub created_at: String,
    pub tool_version: String,
    pub pseudonym_key_fingerprint: String,
    pub data_key_fingerprint: String,
    pub files: usize,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub audited_at: String,
    pub elapsed_seconds: f64,
    /// Wall time of each phase, seconds (integrity runs beside the others).
    pub timings: std::collections::BTreeMap<&'static str, f64>,
    pub bundle: BundleInfo,
    /// `pass` or `fail`.
    pub verdict: &'static str,
    pub exit_code: i32,
    pub checks: Vec<CheckReport>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    pub fn check(&self, name: &str) -> Option<&CheckReport> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The readable summary: a header, one aligned row per check, then the findings.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let b = &self.bundle;
        let _ = writeln!(
            s,
            "clm-audit {} — bundle {} (export {}, as of {}, {} files, {} rows)",
            self.tool_version,
            b.path,
            b.export_id,
            b.as_of,
            b.files,
            group(b.rows)
        );
        let _ = writeln!(s);
        let mut rows: Vec<Vec<String>> =
            vec![vec!["check".into(), "result".into(), "figures".into()]];
        for c in &self.checks {
            rows.push(vec![
                c.name.into(),
                c.status.label().into(),
                c.summary.clone(),
            ]);
        }
        rows.push(vec![
            "verdict".into(),
            if self.passed() { "PASS" } else { "FAIL" }.into(),
            format!(
                "exit {}, {:.1} s ({})",
                self.exit_code,
                self.elapsed_seconds,
                self.timings
                    .iter()
                    .map(|(k, v)| format!("{} {v:.1} s", k.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ]);
        s.push_str(&table(&rows));
        let findings: Vec<(&str, &Finding)> = self
            .checks
            .iter()
            .flat_map(|c| c.findings.iter().map(move |f| (c.name, f)))
            .collect();
        if !findings.is_empty() {
            let _ = writeln!(s, "\nfindings (values are never shown)");
            let mut rows: Vec<Vec<String>> = vec![vec![
                "check".into(),
                "table".into(),
                "column".into(),
                "detector".into(),
                "count".into(),
                "detail".into(),
            ]];
            const MAX: usize = 200;
            for (check, f) in findings.iter().take(MAX) {
                rows.push(vec![
                    check.to_string(),
                    dash(&f.table),
                    dash(&f.column),
                    f.detector.clone(),
                    group(f.count),
                    f.detail.clone(),
                ]);
            }
            s.push_str(&table(&rows));
            if findings.len() > MAX {
                let _ = writeln!(
                    s,
                    "… and {} more findings: see the JSON report (--json FILE)",
                    findings.len() - MAX
                );
            }
        }
        let notes: Vec<(&str, &String)> = self
            .checks
            .iter()
            .flat_map(|c| c.notes.iter().map(move |n| (c.name, n)))
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(s, "\nnotes");
            for (check, n) in notes {
                let _ = writeln!(s, "  {check}: {n}");
            }
        }
        s
    }
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.into()
    }
}

/// Left-aligned columns separated by two spaces, with a rule under the header. The last
/// column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0usize; ncol];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |r: &[String], out: &mut String| {
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(c);
            } else {
                out.push_str(c);
                for _ in c.chars().count()..width[i] + 2 {
                    out.push(' ');
                }
            }
        }
        out.push('\n');
    };
    for (n, r) in rows.iter().enumerate() {
        line(r, &mut out);
        if n == 0 {
            let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            line(&rule, &mut out);
        }
    }
    out
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in a readable unit.
pub fn bytes(n: u64) -> String {
    const U: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < U.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_and_alignment() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
        let t = table(&[
            vec!["a".into(), "bb".into(), "c".into()],
            vec!["ccc".into(), "d".into(), "e".into()],
        ]);
        assert_eq!(t, "a    bb  c\n---  --  -\nccc  d   e\n");
        assert_eq!(bytes(10), "10 B");
        assert_eq!(bytes(2048), "2.0 KiB");
    }
}
