//! `clm-analyze shell`: an interactive SQL prompt over the bundles (rustyline).
//!
//! Statements may span lines and end with `;`. Backslash commands: `\d` lists the tables and
//! their columns, `\d TABLE` one table, `\format table|csv|json` the output format, `\?` help,
//! `\q` quits (so does Ctrl-D; Ctrl-C drops the statement being typed). History is kept in
//! `~/.clm-analyze-history` (statements only).

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::engine::Engine;
use crate::output::{self, Format};
use crate::profile::Profile;

const HELP: &str = "\
  SQL;            run SQL (several lines; ends with `;`); $as_of and profile parameters are bound
  \\d              list tables and their columns
  \\d TABLE        columns of one table
  \\format FORMAT  table (default), csv or json
  \\?              this help
  \\q              quit (or Ctrl-D)";

fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".clm-analyze-history"))
}

pub async fn run(engine: Engine, profile: Profile, as_of: NaiveDate) -> Result<()> {
    let mut rl = DefaultEditor::new()?;
    let history = history_file();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let tables: Vec<&str> = engine.tables().keys().map(String::as_str).collect();
    println!(
        "clm-analyze shell: tables {}; as of {as_of}. Statements end with `;`. \\? for help, \\q to quit.",
        tables.join(", ")
    );
    let params = engine.run_param_values(&profile, as_of);
    let mut format = Format::Table;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "clm> " } else { "...> " };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        // A backslash command, even in the middle of a statement (as in psql).
        if trimmed.starts_with('\\') {
            let _ = rl.add_history_entry(trimmed);
            let mut words = trimmed.split_whitespace();
            match (words.next(), words.next()) {
                (Some("\\q"), _) => break,
                (Some("\\?"), _) | (Some("\\h"), _) => println!("{HELP}"),
                (Some("\\d"), name) => describe(&engine, name).await,
                (Some("\\format"), Some(f)) => match f {
                    "table" => format = Format::Table,
                    "csv" => format = Format::Csv,
                    "json" => format = Format::Json,
                    other => eprintln!("unknown format {other}: table, csv or json"),
                },
                (Some(other), _) => eprintln!("unknown command {other}; \\? for help"),
                (None, _) => {}
            }
            continue;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !ends_statement(&buffer) {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let _ = rl.add_history_entry(sql.trim());
        match engine.sql(&sql, &params).await {
            Ok(outputs) => {
                let mut stdout = std::io::stdout();
                if let Err(e) = output::write_stream(&outputs, format, &mut stdout) {
                    eprintln!("error: {e:#}");
                }
            }
            Err(e) => eprintln!("error: {e:#}"),
        }
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

async fn describe(engine: &Engine, name: Option<&str>) {
    match engine.describe().await {
        Ok(tables) => {
            let mut shown = false;
            for (t, cols) in tables {
                if name.is_some_and(|n| n != t) {
                    continue;
                }
                shown = true;
                if name.is_some() {
                    for (c, ty) in cols {
                        println!("  {c:24} {ty}");
                    }
                } else {
                    let list: Vec<String> = cols.iter().map(|(c, _)| c.clone()).collect();
                    println!("{t}: {}", list.join(", "));
                }
            }
            if !shown {
                if let Some(n) = name {
                    eprintln!("no table {n}");
                }
            }
        }
        Err(e) => eprintln!("error: {e:#}"),
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
}
