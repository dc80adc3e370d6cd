//! `clm-analyze shell`: an interactive SQL prompt over the bundles (rustyline).
//!
//! Statements may span lines and end with `;`. Backslash commands: `\d` lists the tables and
//! their columns, `\d TABLE` one table, `\format [table|csv|json]` shows or sets the output
//! format, `\pset maxrows N|unlimited` (or `\maxrows`) the rows a table shows (default 40),
//! `\timing [on|off]` the time of each statement, `\?` help, `\q` quits (so does Ctrl-D;
//! Ctrl-C drops the statement being typed). Tab completes table and column names and the
//! backslash commands. History is kept in `~/.clm-analyze-history` (statements only).
//!
//! Only queries run here (no CREATE, COPY, INSERT or SET: `Engine::sql`); results go to the
//! screen only.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use datafusion::common::ParamValues;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::engine::Engine;
use crate::output::{self, Format};
use crate::profile::Profile;

const HELP: &str = "\
  SQL;                   run a query (several lines; ends with `;`); $as_of and profile parameters are bound
  \\d                     list tables and their columns
  \\d TABLE               columns of one table
  \\format [FORMAT]       show, or set: table (default), csv or json
  \\pset maxrows N        rows a table shows (default 40; `unlimited` for all); also \\maxrows N
  \\timing [on|off]       show the time each statement took (default on)
  \\?                     this help
  \\q                     quit (or Ctrl-D)
  Tab completes table and column names.";

/// Rows a table shows unless `\pset maxrows` says otherwise (as datafusion-cli).
pub const DEFAULT_MAX_ROWS: usize = 40;

const COMMANDS: &[&str] = &[
    "\\d",
    "\\format",
    "\\pset",
    "\\maxrows",
    "\\timing",
    "\\?",
    "\\q",
];

fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".clm-analyze-history"))
}

/// The state of a shell session: what it shows and how, and the statement being typed.
pub struct Session {
    engine: Engine,
    params: ParamValues,
    pub format: Format,
    pub max_rows: Option<usize>,
    pub timing: bool,
    buffer: String,
}

/// What a line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Go on reading.
    More,
    /// A statement was run (or failed): a history entry.
    Ran(String),
    Quit,
}

impl Session {
    pub fn new(engine: Engine, profile: &Profile, as_of: NaiveDate) -> Session {
        let params = engine.run_param_values(profile, as_of);
        Session {
            engine,
            params,
            format: Format::Table,
            max_rows: Some(DEFAULT_MAX_ROWS),
            timing: true,
            buffer: String::new(),
        }
    }

    /// Whether a statement is being typed (the prompt says so).
    pub fn continuing(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Drops the statement being typed (Ctrl-C).
    pub fn interrupt(&mut self) {
        self.buffer.clear();
    }

    /// Every table and column name, for completion.
    pub async fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Ok(tables) = self.engine.describe().await {
            for (t, cols) in tables {
                names.push(t);
                names.extend(cols.into_iter().map(|(c, _)| c));
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Handles one line typed: a backslash command, or part of a statement (run once it ends
    /// with `;`). Results go to `out`, messages to `err`.
    pub async fn line(&mut self, line: &str, out: &mut dyn Write, err: &mut dyn Write) -> Step {
        let trimmed = line.trim();
        // A backslash command, even in the middle of a statement (as in psql).
        if trimmed.starts_with('\\') {
            return self.command(trimmed, out, err).await;
        }
        if trimmed.is_empty() && self.buffer.is_empty() {
            return Step::More;
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        if !ends_statement(&self.buffer) {
            return Step::More;
        }
        let sql = std::mem::take(&mut self.buffer);
        let started = std::time::Instant::now();
        match self.engine.sql(&sql, &self.params).await {
            Ok(outputs) => {
                if let Err(e) =
                    output::write_stream_limited(&outputs, self.format, out, self.max_rows)
                {
                    let _ = writeln!(err, "error: {e:#}");
                }
                if self.timing {
                    let _ = writeln!(err, "time: {:.3} s", started.elapsed().as_secs_f64());
                }
            }
            Err(e) => {
                let _ = writeln!(err, "error: {e:#}");
            }
        }
        Step::Ran(sql.trim().to_string())
    }

    async fn command(&mut self, text: &str, out: &mut dyn Write, err: &mut dyn Write) -> Step {
        let words: Vec<&str> = text.split_whitespace().collect();
        let arg = words.get(1).copied();
        let r = match (words[0], arg) {
            ("\\q", _) => return Step::Quit,
            ("\\?", _) | ("\\h", _) => writeln!(out, "{HELP}"),
            ("\\d", name) => {
                describe(&self.engine, name, out, err).await;
                Ok(())
            }
            ("\\format", None) => writeln!(out, "format {}", format_name(self.format)),
            ("\\format", Some(f)) => match f {
                "table" => {
                    self.format = Format::Table;
                    Ok(())
                }
                "csv" => {
                    self.format = Format::Csv;
                    Ok(())
                }
                "json" => {
                    self.format = Format::Json;
                    Ok(())
                }
                other => writeln!(err, "unknown format {other}: table, csv or json"),
            },
            ("\\pset", None) => writeln!(
                out,
                "format {}\nmaxrows {}",
                format_name(self.format),
                max_rows_name(self.max_rows)
            ),
            ("\\pset", Some("maxrows")) | ("\\maxrows", _) => {
                let value = if words[0] == "\\maxrows" {
                    arg
                } else {
                    words.get(2).copied()
                };
                match value {
                    None => writeln!(out, "maxrows {}", max_rows_name(self.max_rows)),
                    Some("unlimited") | Some("0") => {
                        self.max_rows = None;
                        Ok(())
                    }
                    Some(n) => match n.parse::<usize>() {
                        Ok(n) => {
                            self.max_rows = Some(n);
                            Ok(())
                        }
                        Err(_) => writeln!(
                            err,
                            "\\pset maxrows {n}: give a number of rows, or unlimited"
                        ),
                    },
                }
            }
            ("\\pset", Some("format")) => match words.get(2) {
                None => writeln!(out, "format {}", format_name(self.format)),
                Some(f) => {
                    return Box::pin(self.command(&format!("\\format {f}"), out, err)).await;
                }
            },
            ("\\pset", Some(other)) => {
                writeln!(err, "\\pset {other}: the settings are format and maxrows")
            }
            ("\\timing", None) => {
                writeln!(out, "timing {}", if self.timing { "on" } else { "off" })
            }
            ("\\timing", Some("on")) => {
                self.timing = true;
                Ok(())
            }
            ("\\timing", Some("off")) => {
                self.timing = false;
                Ok(())
            }
            ("\\timing", Some(other)) => writeln!(err, "\\timing {other}: on or off"),
            (other, _) => writeln!(err, "unknown command {other}; \\? for help"),
        };
        let _ = r;
        Step::More
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Table => "table",
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Parquet => "parquet",
    }
}

fn max_rows_name(m: Option<usize>) -> String {
    m.map(|n| n.to_string())
        .unwrap_or_else(|| "unlimited".into())
}

/// Tab completion: table and column names, SQL's own words are left to the user.
pub struct ShellHelper {
    names: Vec<String>,
}

impl ShellHelper {
    pub fn new(names: Vec<String>) -> ShellHelper {
        ShellHelper { names }
    }

    /// The start of the word at `pos`, and the names it may complete to.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '\\'))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let word = &before[start..];
        if word.is_empty() {
            return (start, vec![]);
        }
        let pool: Vec<&str> = if word.starts_with('\\') {
            COMMANDS.to_vec()
        } else {
            self.names.iter().map(String::as_str).collect()
        };
        let lower = word.to_lowercase();
        let found = pool
            .into_iter()
            .filter(|n| n.to_lowercase().starts_with(&lower))
            .map(str::to_string)
            .collect();
        (start, found)
    }
}

impl Completer for ShellHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(self.candidates(line, pos))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

pub async fn run(engine: Engine, profile: Profile, as_of: NaiveDate) -> Result<()> {
    let tables: Vec<String> = engine.tables().keys().cloned().collect();
    let mut session = Session::new(engine, &profile, as_of);
    let mut rl: Editor<ShellHelper, DefaultHistory> = Editor::new()?;
    rl.set_helper(Some(ShellHelper::new(session.names().await)));
    let history = history_file();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    println!(
        "clm-analyze shell: tables {}; as of {as_of}. Statements end with `;`. \\? for help, \\q to quit.",
        tables.join(", ")
    );
    loop {
        let prompt = if session.continuing() {
            "...> "
        } else {
            "clm> "
        };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                session.interrupt();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if line.trim().starts_with('\\') {
            let _ = rl.add_history_entry(line.trim());
        }
        let mut stdout = std::io::stdout();
        let mut stderr = std::io::stderr();
        match session.line(&line, &mut stdout, &mut stderr).await {
            Step::More => {}
            Step::Ran(sql) => {
                let _ = rl.add_history_entry(sql);
            }
            Step::Quit => break,
        }
        let _ = stdout.flush();
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}

/// Whether the text typed so far ends a statement: it holds SQL, and the last SQL is
/// followed by a `;` outside quotes and comments.
fn ends_statement(text: &str) -> bool {
    crate::queries::split_statements(text)
        .iter()
        .rev()
        .find(|c| c.has_sql)
        .is_some_and(|c| c.terminated)
}

async fn describe(engine: &Engine, name: Option<&str>, out: &mut dyn Write, err: &mut dyn Write) {
    match engine.describe().await {
        Ok(tables) => {
            let mut shown = false;
            for (t, cols) in &tables {
                if name.is_some_and(|n| n != t) {
                    continue;
                }
                shown = true;
                if name.is_some() {
                    for (c, ty) in cols {
                        let _ = writeln!(out, "  {c:24} {ty}");
                    }
                } else {
                    let list: Vec<String> = cols.iter().map(|(c, _)| c.clone()).collect();
                    let _ = writeln!(out, "{t}: {}", list.join(", "));
                }
            }
            if !shown {
                if let Some(n) = name {
                    let known: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
                    let _ = writeln!(err, "no table {n}; the tables are: {}", known.join(", "));
                }
            }
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_with_a_semicolon_outside_quotes() {
        assert!(!ends_statement("SELECT 1\n"));
        assert!(ends_statement("SELECT 1;\n"));
        assert!(ends_statement("SELECT\n 1\n;\n"));
        assert!(!ends_statement("SELECT ';\n"));
        assert!(ends_statement("SELECT ';';\n"));
        assert!(!ends_statement("SELECT 1 -- ;\n"));
        assert!(ends_statement("SELECT 1; -- done\n"));
    }

    #[test]
    fn tab_completes_tables_columns_and_commands() {
        let h = ShellHelper::new(vec![
            "client_pid".into(),
            "clients".into(),
            "visited_at".into(),
            "visits".into(),
        ]);
        assert_eq!(
            h.candidates("SELECT * FROM cli", 17),
            (14, vec!["client_pid".to_string(), "clients".to_string()])
        );
        assert_eq!(
            h.candidates("select VISI", 11),
            (7, vec!["visited_at".into(), "visits".into()])
        );
        assert_eq!(h.candidates("\\fo", 3), (0, vec!["\\format".to_string()]));
        assert_eq!(h.candidates("SELECT ", 7), (7, vec![]));
    }
}
