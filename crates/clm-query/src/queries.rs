//! The SQL library: one file per analysis in `queries/`, embedded at build time and
//! overridable from a directory (`--queries DIR`).
//!
//! A query file is plain SQL (DataFusion dialect), statements separated by `;`. Comment lines
//! starting with `-- @` are directives:
//!
//! | directive | meaning |
//! |---|---|
//! | `-- @title TEXT` | one-line description shown by `clm-analyze list` |
//! | `-- @requires TABLE: why` | the analysis refuses to run when the bundle lacks TABLE, saying why |
//! | `-- @optional TABLE: what is lost` | when missing, TABLE is an empty table of the canonical schema, and a note says what is lost |
//! | `-- @include FILE` | the statements of FILE (from the same library) run here, before this statement |
//! | `-- @output NAME` | this statement's rows are an output of the analysis |
//! | `-- @output NAME detail` | an output shown only with `--detail NAME` (e.g. the per-client list) |
//!
//! Statements without `@output` set the stage for later ones (`CREATE VIEW`, `CREATE TABLE
//! ... AS`); each is planned, its placeholders (`$as_of`, `$inactive_days`, ...) bound as
//! values, then executed, so a view holds the bound values. A rule is written once, in one
//! view, and every output selects from it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// The embedded library: every file in `queries/`.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("base.sql", include_str!("../../../queries/base.sql")),
    (
        "lifecycle.sql",
        include_str!("../../../queries/lifecycle.sql"),
    ),
    ("periods.sql", include_str!("../../../queries/periods.sql")),
    (
        "segmentation.sql",
        include_str!("../../../queries/segmentation.sql"),
    ),
    (
        "metrics_core.sql",
        include_str!("../../../queries/metrics_core.sql"),
    ),
    ("metrics.sql", include_str!("../../../queries/metrics.sql")),
    ("funnel.sql", include_str!("../../../queries/funnel.sql")),
    (
        "rfm_core.sql",
        include_str!("../../../queries/rfm_core.sql"),
    ),
    ("rfm.sql", include_str!("../../../queries/rfm.sql")),
    (
        "rfm_summary.sql",
        include_str!("../../../queries/rfm_summary.sql"),
    ),
    (
        "clv_core.sql",
        include_str!("../../../queries/clv_core.sql"),
    ),
    (
        "clv_events.sql",
        include_str!("../../../queries/clv_events.sql"),
    ),
    (
        "clv_summary.sql",
        include_str!("../../../queries/clv_summary.sql"),
    ),
    ("clv.sql", include_str!("../../../queries/clv.sql")),
    (
        "clv_extra.sql",
        include_str!("../../../queries/clv_extra.sql"),
    ),
    (
        "clv_next_auto_service.sql",
        include_str!("../../../queries/clv_next_auto_service.sql"),
    ),
    ("cohorts.sql", include_str!("../../../queries/cohorts.sql")),
    (
        "segments.sql",
        include_str!("../../../queries/segments.sql"),
    ),
    (
        "coverage.sql",
        include_str!("../../../queries/coverage.sql"),
    ),
    ("targets.sql", include_str!("../../../queries/targets.sql")),
    (
        "lower_is_better.sql",
        include_str!("../../../queries/lower_is_better.sql"),
    ),
    ("loyalty.sql", include_str!("../../../queries/loyalty.sql")),
    ("list.sql", include_str!("../../../queries/list.sql")),
    ("current.sql", include_str!("../../../queries/current.sql")),
    (
        "visits_at.sql",
        include_str!("../../../queries/visits_at.sql"),
    ),
    (
        "no_starter.sql",
        include_str!("../../../queries/no_starter.sql"),
    ),
    (
        "lifecycle_classes.sql",
        include_str!("../../../queries/lifecycle_classes.sql"),
    ),
    (
        "lifecycle_auto_service.sql",
        include_str!("../../../queries/lifecycle_auto_service.sql"),
    ),
    (
        "lifecycle_b2b_service.sql",
        include_str!("../../../queries/lifecycle_b2b_service.sql"),
    ),
    (
        "metrics_classes.sql",
        include_str!("../../../queries/metrics_classes.sql"),
    ),
    (
        "metrics_b2b_service.sql",
        include_str!("../../../queries/metrics_b2b_service.sql"),
    ),
];

/// The named analyses, in the order `list` shows them.
pub const ANALYSES: &[&str] = &[
    "segmentation",
    "metrics",
    "funnel",
    "rfm",
    "rfm_summary",
    "clv_summary",
    "clv",
    "cohorts",
    "segments",
    "coverage",
    "loyalty",
    "targets",
    "list",
];

/// A table an analysis reads, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TableNeed {
    pub table: String,
    pub reason: String,
}

/// An output of an analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub detail: bool,
}

/// One SQL statement, with where it came from (`file:line`) for error messages.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub origin: String,
    pub output: Option<Output>,
}

/// A parsed analysis: its statements (includes expanded) and what it needs.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub name: String,
    pub title: String,
    pub requires: Vec<TableNeed>,
    pub optional: Vec<TableNeed>,
    pub statements: Vec<Statement>,
    /// Placeholder names used by the statements (without `$`).
    pub params: BTreeSet<String>,
}

impl Analysis {
    pub fn outputs(&self) -> impl Iterator<Item = &Output> {
        self.statements.iter().filter_map(|s| s.output.as_ref())
    }
}

/// Where query files come from: an override directory first, then the embedded library.
#[derive(Debug, Clone, Default)]
pub struct Library {
    dir: Option<PathBuf>,
    /// The profile's `[queries]`: a file name -> the file used in its place.
    swaps: BTreeMap<String, String>,
    /// The profile's `analyses` (empty: all).
    only: Vec<String>,
    /// The profile's name, for messages.
    profile: String,
}

impl Library {
    pub fn embedded() -> Library {
        Library::default()
    }

    /// This library as `profile` uses it: the query files its `[queries]` names replace the
    /// ones of the same name (wherever they are read or included), and only the analyses
    /// its `analyses` lists are offered.
    pub fn for_profile(&self, profile: &crate::profile::Profile) -> Library {
        Library {
            dir: self.dir.clone(),
            swaps: profile.queries.clone(),
            only: profile.analyses.clone(),
            profile: profile.name.clone(),
        }
    }

    /// Files in `dir` override the embedded ones of the same name; others stay embedded.
    pub fn with_dir(dir: &Path) -> Result<Library> {
        if !dir.is_dir() {
            bail!("--queries {}: not a directory", dir.display());
        }
        Ok(Library {
            dir: Some(dir.to_path_buf()),
            ..Library::default()
        })
    }

    /// Every analysis name: the embedded ones, plus `NAME.sql` files of the override
    /// directory that carry an `@output` directive (new analyses).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = ANALYSES.iter().map(|s| s.to_string()).collect();
        if let Some(dir) = &self.dir {
            let mut extra = BTreeSet::new();
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "sql") {
                        if let (Some(stem), Ok(text)) = (
                            p.file_stem().and_then(|s| s.to_str()),
                            std::fs::read_to_string(&p),
                        ) {
                            if !names.iter().any(|n| n == stem) && text.contains("-- @output") {
                                extra.insert(stem.to_string());
                            }
                        }
                    }
                }
            }
            names.extend(extra);
        }
        if !self.only.is_empty() {
            names.retain(|n| self.only.contains(n));
        }
        names
    }

    /// The text of a query file, and where it came from.
    pub fn file(&self, file: &str) -> Result<(String, String)> {
        if file.contains('/') || file.contains('\\') || file.starts_with('.') {
            bail!("query file name {file:?} must be a plain file name");
        }
        if let Some(dir) = &self.dir {
            let p = dir.join(file);
            if p.exists() {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                return Ok((text, p.display().to_string()));
            }
        }
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == file)
            .map(|(_, t)| (t.to_string(), format!("queries/{file}")))
            .ok_or_else(|| anyhow!("no query file {file}"))
    }

    /// Load and parse analysis `name` (file `NAME.sql`).
    pub fn analysis(&self, name: &str) -> Result<Analysis> {
        if !self.only.is_empty() && !self.only.iter().any(|n| n == name) {
            bail!(
                "analysis {name:?} does not apply to profile {} (its analyses: {})",
                self.profile,
                self.only.join(", ")
            );
        }
        if !self.names().iter().any(|n| n == name) {
            bail!(
                "no analysis named {name:?} (known: {}; `clm-analyze list` describes them)",
                self.names().join(", ")
            );
        }
        let mut a = Analysis {
            name: name.to_string(),
            title: String::new(),
            requires: vec![],
            optional: vec![],
            statements: vec![],
            params: BTreeSet::new(),
        };
        let mut stack = vec![];
        let mut done = BTreeSet::new();
        self.expand(&format!("{name}.sql"), &mut a, &mut stack, &mut done)?;
        for s in &a.statements {
            a.params.extend(placeholders(&s.sql));
        }
        // A table both required (by one file) and optional (by another) is required.
        let required: BTreeSet<String> = a.requires.iter().map(|t| t.table.clone()).collect();
        a.optional.retain(|t| !required.contains(&t.table));
        let mut seen = BTreeSet::new();
        a.requires.retain(|t| seen.insert(t.table.clone()));
        let mut seen = BTreeSet::new();
        a.optional.retain(|t| seen.insert(t.table.clone()));
        let mut outputs = BTreeMap::new();
        for o in a.outputs() {
            if outputs.insert(o.name.clone(), ()).is_some() {
                bail!("analysis {name}: output {} is defined twice", o.name);
            }
        }
        if outputs.is_empty() {
            bail!("analysis {name}: no statement is marked `-- @output NAME`");
        }
        Ok(a)
    }

    /// Appends the statements of `file` to `a`, includes first. A file is included once per
    /// analysis, however many files include it.
    fn expand(
        &self,
        file: &str,
        a: &mut Analysis,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Result<()> {
        if stack.iter().any(|f| f == file) {
            bail!(
                "query files include each other: {} -> {file}",
                stack.join(" -> ")
            );
        }
        // the profile's replacement, if it names one (replacements are not replaced again)
        let file = self.swaps.get(file).map(String::as_str).unwrap_or(file);
        if !done.insert(file.to_string()) {
            return Ok(());
        }
        stack.push(file.to_string());
        let (text, origin) = self.file(file)?;
        for chunk in split_statements(&text) {
            let mut output = None;
            for line in chunk.text.lines() {
                let Some(d) = line.trim().strip_prefix("-- @") else {
                    continue;
                };
                let (word, rest) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
                let rest = rest.trim();
                let need = |rest: &str| -> Result<TableNeed> {
                    let (table, reason) = rest.split_once(':').unwrap_or((rest, ""));
                    let table = table.trim();
                    if table.is_empty() {
                        bail!("{origin}: `-- @{word}` needs a table name");
                    }
                    Ok(TableNeed {
                        table: table.to_string(),
                        reason: reason.trim().to_string(),
                    })
                };
                match word {
                    "title" => {
                        if a.title.is_empty() {
                            a.title = rest.to_string();
                        }
                    }
                    "requires" => a.requires.push(need(rest)?),
                    "optional" => a.optional.push(need(rest)?),
                    "include" => self.expand(rest, a, stack, done)?,
                    "output" => {
                        let mut words = rest.split_whitespace();
                        let name = words
                            .next()
                            .ok_or_else(|| anyhow!("{origin}: `-- @output` needs a name"))?;
                        let detail = match words.next() {
                            None => false,
                            Some("detail") => true,
                            Some(w) => {
                                bail!("{origin}: `-- @output {name} {w}`: expected `detail`")
                            }
                        };
                        output = Some(Output {
                            name: name.to_string(),
                            detail,
                        });
                    }
                    other => bail!("{origin}: unknown directive `-- @{other}`"),
                }
            }
            if chunk.has_sql {
                a.statements.push(Statement {
                    sql: chunk.text.trim().to_string(),
                    origin: format!("{origin}:{}", chunk.first_sql_line),
                    output,
                });
            } else if output.is_some() {
                bail!("{origin}: `-- @output` is not followed by a statement");
            }
        }
        stack.pop();
        Ok(())
    }
}

/// A piece of a SQL text between `;`.
#[derive(Debug)]
pub struct Chunk {
    pub text: String,
    /// Whether it holds anything but comments and white space.
    pub has_sql: bool,
    /// 1-based line of its first SQL token.
    pub first_sql_line: usize,
    /// Whether a `;` ends it (not the end of the text).
    pub terminated: bool,
}

/// Split SQL text at `;` outside quotes and comments.
pub fn split_statements(text: &str) -> Vec<Chunk> {
    let mut chunks = vec![];
    let mut cur = String::new();
    let mut has_sql = false;
    let mut first_sql_line = 0;
    let mut line = 1;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let push = |cur: &mut String,
                has_sql: &mut bool,
                first: &mut usize,
                chunks: &mut Vec<Chunk>,
                terminated: bool| {
        chunks.push(Chunk {
            text: std::mem::take(cur),
            has_sql: *has_sql,
            first_sql_line: *first,
            terminated,
        });
        *has_sql = false;
        *first = 0;
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                cur.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            cur.push_str("/*");
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    line += 1;
                }
                cur.push(chars[i]);
                i += 1;
            }
            if i < chars.len() {
                cur.push_str("*/");
                i += 2;
            }
            continue;
        }
        if c == '\n' {
            line += 1;
        }
        if c == ';' {
            push(
                &mut cur,
                &mut has_sql,
                &mut first_sql_line,
                &mut chunks,
                true,
            );
            i += 1;
            continue;
        }
        if !c.is_whitespace() && !has_sql {
            has_sql = true;
            first_sql_line = line;
        }
        if c == '\'' || c == '"' {
            cur.push(c);
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                cur.push(d);
                i += 1;
                if d == '\n' {
                    line += 1;
                }
                if d == c {
                    // A doubled quote is an escaped quote.
                    if chars.get(i) == Some(&c) {
                        cur.push(c);
                        i += 1;
                        continue;
                    }
                    break;
                }
            }
            continue;
        }
        cur.push(c);
        i += 1;
    }
    if !cur.trim().is_empty() {
        push(
            &mut cur,
            &mut has_sql,
            &mut first_sql_line,
            &mut chunks,
            false,
        );
    }
    chunks
}

/// Named placeholders (`$name`, without the `$`) outside quotes and comments.
pub fn placeholders(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() {
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if c == '$' && next.is_some_and(|n| n.is_ascii_alphabetic() || n == '_') {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            out.insert(chars[start..j].iter().collect());
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let sql = "-- a; comment\nSELECT ';' AS x;\n/* b; */ SELECT \"a;b\" FROM t;\n-- trailing\n";
        let chunks = split_statements(sql);
        let with_sql: Vec<_> = chunks.iter().filter(|c| c.has_sql).collect();
        assert_eq!(with_sql.len(), 2);
        assert!(with_sql[0].text.contains("SELECT ';' AS x"));
        assert_eq!(with_sql[0].first_sql_line, 2);
        assert!(with_sql[1].text.contains("\"a;b\""));
        assert_eq!(with_sql[1].first_sql_line, 3);
    }

    #[test]
    fn finds_placeholders_only_in_code() {
        let p = placeholders("SELECT $as_of, '$not' -- $nor\n, $inactive_days + 1, $1");
        assert_eq!(
            p.into_iter().collect::<Vec<_>>(),
            vec!["as_of".to_string(), "inactive_days".to_string()]
        );
    }

    #[test]
    fn every_embedded_analysis_parses() {
        let lib = Library::embedded();
        for name in ANALYSES {
            let a = lib.analysis(name).unwrap();
            assert!(!a.title.is_empty(), "{name} has no @title");
            assert!(a.outputs().count() >= 1);
            assert!(
                a.requires.iter().any(|t| t.table == "clients"),
                "{name} must say it requires clients"
            );
        }
    }

    #[test]
    fn override_directory_wins_and_unknown_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("rfm_summary.sql"),
            "-- @title mine\n-- @requires clients: x\n-- @output result\nSELECT 1",
        )
        .unwrap();
        let lib = Library::with_dir(dir.path()).unwrap();
        let a = lib.analysis("rfm_summary").unwrap();
        assert_eq!(a.title, "mine");
        assert_eq!(a.statements.len(), 1);
        assert!(lib.analysis("segmentation").is_ok(), "others stay embedded");
        let e = lib.analysis("nope").unwrap_err().to_string();
        assert!(e.contains("no analysis named"), "{e}");
    }
}
