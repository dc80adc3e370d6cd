//! `clm-analyze portfolio` (issue 12 §1): the network statistics on hand-made per-club tables
//! with answers worked out by hand, and the command over real bundles of synthetic clubs
//! (clm-synth, exported by clm-pseudonymize, each club with its own pseudonymization key).

mod fixture;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::Parser;
use clm_analyze::cli::{Cli, Command, Fail};
use std::sync::OnceLock;

use clm_analyze::portfolio::{self, figures_schema, Figures};
use datafusion::arrow::record_batch::RecordBatch;
use fixture::{date, Rows};
use serde_json::Value;

fn day(s: &str) -> i32 {
    (date(s) - date("1970-01-01")).num_days() as i32
}

fn analysis() -> clm_analyze::Analysis {
    portfolio::network_analysis(portfolio::NETWORK_SQL, "queries/portfolio_network.sql").unwrap()
}

fn run_network(f: &Figures, for_club: Option<&str>) -> Vec<clm_analyze::Output> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let batch: RecordBatch = f.batch().unwrap();
    assert_eq!(batch.schema(), figures_schema());
    rt.block_on(portfolio::network(
        &analysis(),
        vec![batch],
        date("2026-10-31"),
        portfolio::MIN_CLUBS,
        for_club,
    ))
    .unwrap()
}

fn output(outs: &[clm_analyze::Output], name: &str) -> Rows {
    Rows::of(
        outs.iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("no output {name}")),
    )
}

fn exact(got: &str, want: f64) {
    let g: f64 = got
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {got}"));
    assert_eq!(g, want, "got {got}, want {want}");
}

/// Six clubs, values chosen to be exact in binary so that every statistic is exact.
///
/// renewal_rate, month 2026-09, sorted: 0.125 0.25 0.5 0.625 0.75 1 (n = 6):
///   p25:    h = 5 × 0.25 = 1.25 → x2 + 0.25 (x3 − x2) = 0.25 + 0.25 × 0.25 = 0.3125
///   median: h = 2.5             → x3 + 0.5 (x4 − x3)  = 0.5 + 0.5 × 0.125  = 0.5625
///   p75:    h = 3.75            → x4 + 0.75 (x5 − x4) = 0.625 + 0.75 × 0.125 = 0.71875
///   best = max = 1 (F); ranks F 1, E 2, D 3, C 4, B 5, A 6.
/// churn_rate (lower is better), month 2026-09: A 0.25, B 0.125, C 0.125, D 0.5, E 0.375,
/// F none; sorted 0.125 0.125 0.25 0.375 0.5 (n = 5):
///   p25: h = 1 → x2 = 0.125; median: h = 2 → x3 = 0.25; p75: h = 3 → x4 = 0.375;
///   best = min = 0.125; ranks B 1, C 1 (tie), A 3, E 4, D 5; F no rank, clubs_in_rank 5.
/// renewal_rate, month 2026-10: only A..D have a value (4 clubs) → withheld.
/// stage_share:active at D, quarter 2026-Q3 new_clients: labels.
fn six_clubs() -> Figures {
    let mut f = Figures::default();
    let sep = day("2026-09-01");
    let oct = day("2026-10-01");
    for (club, v) in [
        ("D", 0.625),
        ("A", 0.125),
        ("F", 1.0),
        ("C", 0.5),
        ("B", 0.25),
        ("E", 0.75),
    ] {
        f.push(club, "renewal_rate", "month", sep, Some(v));
    }
    for (club, v) in [
        ("A", Some(0.25)),
        ("B", Some(0.125)),
        ("C", Some(0.125)),
        ("D", Some(0.5)),
        ("E", Some(0.375)),
        ("F", None),
    ] {
        f.push(club, "churn_rate", "month", sep, v);
    }
    for (club, v) in [
        ("A", Some(0.5)),
        ("B", Some(0.25)),
        ("C", Some(0.75)),
        ("D", Some(1.0)),
        ("E", None),
        ("F", None),
    ] {
        f.push(club, "renewal_rate", "month", oct, v);
    }
    for (i, club) in ["A", "B", "C", "D", "E", "F"].into_iter().enumerate() {
        f.push(
            club,
            "stage_share:active",
            "as_of",
            day("2026-10-31"),
            Some(i as f64 / 8.0),
        );
        f.push(
            club,
            "new_clients",
            "quarter",
            day("2026-07-01"),
            Some(10.0 * i as f64),
        );
    }
    f
}

#[test]
fn network_percentiles_worked_out_by_hand_on_six_clubs() {
    let outs = run_network(&six_clubs(), None);
    let net = output(&outs, "network");
    assert_eq!(
        net.columns,
        ["metric", "grain", "period", "better", "clubs", "p25", "median", "p75", "best", "note"]
    );
    let at = |metric: &str, period: &str, col: &str| {
        net.one(&[("metric", metric), ("period", period)], col)
    };
    assert_eq!(at("renewal_rate", "2026-09", "clubs"), "6");
    assert_eq!(at("renewal_rate", "2026-09", "better"), "higher");
    exact(&at("renewal_rate", "2026-09", "p25"), 0.3125);
    exact(&at("renewal_rate", "2026-09", "median"), 0.5625);
    exact(&at("renewal_rate", "2026-09", "p75"), 0.71875);
    exact(&at("renewal_rate", "2026-09", "best"), 1.0);
    assert_eq!(at("renewal_rate", "2026-09", "note"), "∅");

    assert_eq!(at("churn_rate", "2026-09", "clubs"), "5");
    assert_eq!(at("churn_rate", "2026-09", "better"), "lower");
    exact(&at("churn_rate", "2026-09", "p25"), 0.125);
    exact(&at("churn_rate", "2026-09", "median"), 0.25);
    exact(&at("churn_rate", "2026-09", "p75"), 0.375);
    exact(&at("churn_rate", "2026-09", "best"), 0.125);

    // 4 clubs with a value: every statistic withheld, and said so.
    assert_eq!(at("renewal_rate", "2026-10", "clubs"), "4");
    for c in ["p25", "median", "p75", "best"] {
        assert_eq!(at("renewal_rate", "2026-10", c), "∅", "{c}");
    }
    assert_eq!(
        at("renewal_rate", "2026-10", "note"),
        "withheld: fewer than 5 clubs"
    );

    // Period labels: a quarter, and the stage shares at D. 0 10 20 30 40 50: median 25.
    exact(&at("new_clients", "2026-Q3", "median"), 25.0);
    assert_eq!(at("new_clients", "2026-Q3", "grain"), "quarter");
    // 0 1/8 2/8 3/8 4/8 5/8: p25 at h = 1.25 → 1/8 + 0.25/8 = 0.15625
    exact(&at("stage_share:active", "2026-10-31", "p25"), 0.15625);
    assert_eq!(at("stage_share:active", "2026-10-31", "grain"), "as_of");

    let clubs = output(&outs, "clubs");
    assert_eq!(
        clubs.columns,
        [
            "club",
            "metric",
            "grain",
            "period",
            "value",
            "rank",
            "clubs_in_rank",
            "note"
        ]
    );
    let rank = |club: &str, metric: &str, period: &str| {
        (
            clubs.one(
                &[("club", club), ("metric", metric), ("period", period)],
                "rank",
            ),
            clubs.one(
                &[("club", club), ("metric", metric), ("period", period)],
                "clubs_in_rank",
            ),
        )
    };
    for (club, want) in [
        ("F", "1"),
        ("E", "2"),
        ("D", "3"),
        ("C", "4"),
        ("B", "5"),
        ("A", "6"),
    ] {
        assert_eq!(
            rank(club, "renewal_rate", "2026-09"),
            (want.into(), "6".into())
        );
    }
    for (club, want) in [
        ("B", "1"),
        ("C", "1"),
        ("A", "3"),
        ("E", "4"),
        ("D", "5"),
        ("F", "∅"),
    ] {
        assert_eq!(
            rank(club, "churn_rate", "2026-09"),
            (want.into(), "5".into()),
            "{club}"
        );
    }
    // no rank among 4 clubs
    for club in ["A", "B", "C", "D", "E", "F"] {
        assert_eq!(
            rank(club, "renewal_rate", "2026-10"),
            ("∅".into(), "4".into())
        );
        assert_eq!(
            clubs.one(
                &[
                    ("club", club),
                    ("metric", "renewal_rate"),
                    ("period", "2026-10")
                ],
                "note"
            ),
            "withheld: fewer than 5 clubs"
        );
    }
}

#[test]
fn four_clubs_withhold_every_statistic_with_a_note() {
    let mut f = Figures::default();
    for (i, club) in ["A", "B", "C", "D"].into_iter().enumerate() {
        f.push(
            club,
            "renewal_rate",
            "month",
            day("2026-09-01"),
            Some(0.1 * i as f64),
        );
        f.push(club, "churn_rate", "quarter", day("2026-07-01"), Some(0.2));
        f.push(
            club,
            "stage_share:lapsed",
            "as_of",
            day("2026-10-31"),
            Some(0.3),
        );
    }
    let outs = run_network(&f, None);
    let net = output(&outs, "network");
    assert_eq!(net.rows.len(), 3);
    for r in &net.rows {
        assert_eq!(r[net.col("clubs")], "4");
        for c in ["p25", "median", "p75", "best"] {
            assert_eq!(r[net.col(c)], "∅", "{c} of {r:?}");
        }
        assert_eq!(r[net.col("note")], "withheld: fewer than 5 clubs");
    }
    let clubs = output(&outs, "clubs");
    assert_eq!(clubs.rows.len(), 12);
    assert!(clubs.rows.iter().all(|r| r[clubs.col("rank")] == "∅"));
    // the clubs' own values stay (the consultant's view)
    assert_eq!(
        clubs.one(&[("club", "C"), ("metric", "renewal_rate")], "value"),
        "0.2"
    );
}

#[test]
fn one_clubs_view_holds_the_distribution_and_its_own_figures_only() {
    let outs = run_network(&six_clubs(), Some("C"));
    assert_eq!(outs.len(), 1);
    let v = Rows::of(&outs[0]);
    assert_eq!(outs[0].name, "club_network");
    assert_eq!(
        v.columns,
        [
            "metric", "grain", "period", "better", "clubs", "p25", "median", "p75", "best",
            "value", "rank", "note"
        ]
    );
    // no club name anywhere
    for r in &v.rows {
        for cell in r {
            assert!(
                !["A", "B", "C", "D", "E", "F"].contains(&cell.as_str()),
                "a club name in {r:?}"
            );
        }
    }
    let at = |metric: &str, period: &str, col: &str| {
        v.one(&[("metric", metric), ("period", period)], col)
    };
    exact(&at("renewal_rate", "2026-09", "value"), 0.5);
    assert_eq!(at("renewal_rate", "2026-09", "rank"), "4");
    exact(&at("renewal_rate", "2026-09", "median"), 0.5625);
    exact(&at("churn_rate", "2026-09", "value"), 0.125);
    assert_eq!(at("churn_rate", "2026-09", "rank"), "1");
    exact(&at("renewal_rate", "2026-10", "value"), 0.75);
    assert_eq!(at("renewal_rate", "2026-10", "rank"), "∅");
    assert_eq!(v.rows.len(), 5);
}

// ---------------------------------------------------------------------------------------
// Real bundles: synthetic clubs, each exported with its own pseudonymization key.

const CLUBS: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];

fn as_of() -> chrono::NaiveDate {
    date("2026-11-01")
}

/// Synthetic clubs: five (CLUBS) exported with one data key into exports/NAME, and a sixth,
/// `foxtrot`, with a data key of its own into other/foxtrot.
struct Clubs {
    tmp: tempfile::TempDir,
    /// The data key of the five.
    kd: PathBuf,
    /// foxtrot's data key.
    kd_foxtrot: PathBuf,
}

impl Clubs {
    /// The club's pseudonymization key.
    fn kp(&self, name: &str) -> PathBuf {
        self.tmp
            .path()
            .join("work")
            .join(name)
            .join("keys")
            .join("pseudonym.key")
    }

    fn mapping(&self, name: &str) -> PathBuf {
        self.tmp
            .path()
            .join("work")
            .join(name)
            .join("src")
            .join(clm_synth::MAPPING_FILE)
    }
}

impl Clubs {
    fn shared() -> &'static Clubs {
        static CLUBS_: OnceLock<Clubs> = OnceLock::new();
        CLUBS_.get_or_init(Clubs::make)
    }

    fn make() -> Clubs {
        let tmp = tempfile::tempdir().unwrap();
        let (_, kd) = clm_core::keys::keygen(&tmp.path().join("keys")).unwrap();
        std::fs::create_dir(tmp.path().join("exports")).unwrap();
        std::fs::create_dir(tmp.path().join("other")).unwrap();
        let mut kd_foxtrot = PathBuf::new();
        for (i, name) in CLUBS.iter().chain(["foxtrot"].iter()).enumerate() {
            let club = tmp.path().join("work").join(name);
            let src = club.join("src");
            clm_synth::generate(&clm_synth::Config {
                clients: 200,
                seed: 100 + i as u64,
                as_of: as_of(),
                out: src.clone(),
                encoding: clm_synth::Encoding::Utf8,
            })
            .unwrap();
            // each club its own K_p (and K_d, used by foxtrot only)
            let (kp, own_kd) = clm_core::keys::keygen(&club.join("keys")).unwrap();
            let (key, out) = if *name == "foxtrot" {
                kd_foxtrot = own_kd.clone();
                (own_kd, tmp.path().join("other").join(name))
            } else {
                (kd.clone(), tmp.path().join("exports").join(name))
            };
            let mut o =
                clm_pseudonymize::ExportOptions::new(src.join(clm_synth::MAPPING_FILE), out);
            o.pseudonym_key = Some(kp);
            o.data_key = Some(key);
            o.as_of = Some(as_of());
            clm_pseudonymize::export(&o).unwrap();
        }
        Clubs {
            tmp,
            kd,
            kd_foxtrot,
        }
    }

    fn bundle(&self, name: &str) -> PathBuf {
        if name == "foxtrot" {
            self.tmp.path().join("other").join(name)
        } else {
            self.tmp.path().join("exports").join(name)
        }
    }

    fn exports(&self) -> PathBuf {
        self.tmp.path().join("exports")
    }
}

/// `clm-analyze ARGS`, run in this process through the binary's own entry points
/// (`cli::Cli`, `portfolio::run_cli`, `cli::main_with`); results go to files. (Not the binary
/// itself: in a target directory shared by several worktrees, it may be another tree's build.)
struct Clm(Vec<OsString>);

impl Clm {
    fn arg(&mut self, a: impl AsRef<OsStr>) -> &mut Self {
        self.0.push(a.as_ref().to_os_string());
        self
    }
    fn args<S: AsRef<OsStr>>(&mut self, a: impl IntoIterator<Item = S>) -> &mut Self {
        for x in a {
            self.arg(x);
        }
        self
    }
    /// Ok, or the exit code and the message.
    fn run(&self) -> Result<(), (u8, String)> {
        let argv = std::iter::once(OsString::from("clm-analyze")).chain(self.0.iter().cloned());
        let cli = Cli::try_parse_from(argv).map_err(|e| (2, e.to_string()))?;
        match cli.command {
            Command::Portfolio(a) => {
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(portfolio::run_cli(a)).map_err(|f| {
                    let code = match f {
                        Fail::Usage(_) => 2,
                        Fail::Analysis(_) => 1,
                    };
                    (code, format!("{:#}", f.error()))
                })
            }
            command => {
                let code = clm_analyze::cli::main_with(Cli { command });
                if format!("{code:?}") == format!("{:?}", std::process::ExitCode::SUCCESS) {
                    Ok(())
                } else {
                    Err((1, format!("{:?} failed (see stderr)", self.0)))
                }
            }
        }
    }
}

fn bin() -> Clm {
    Clm(vec![])
}

fn ok(c: &mut Clm) {
    if let Err((code, e)) = c.run() {
        panic!("{:?} failed ({code}): {e}", c.0);
    }
}

fn refused(c: &mut Clm) -> String {
    match c.run() {
        Ok(()) => panic!("{:?} succeeded", c.0),
        Err((code, e)) => {
            assert_eq!(code, 2, "{e}");
            e
        }
    }
}

fn json_file(p: &Path) -> Vec<serde_json::Map<String, Value>> {
    let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// (metric, grain, period) -> value of one club in a `clubs` output.
type Figs = BTreeMap<(String, String, String), Option<f64>>;

fn figures_of(rows: &[serde_json::Map<String, Value>], club: &str) -> Figs {
    rows.iter()
        .filter(|r| r["club"] == club)
        .map(|r| {
            (
                (text(&r["metric"]), text(&r["grain"]), text(&r["period"])),
                r.get("value").and_then(Value::as_f64),
            )
        })
        .collect()
}

/// The same figures from the club's own `run segmentation` and `run metrics`.
fn own_runs(bundle: &Path, kd: &Path, extra: &[&str]) -> Figs {
    let mut want = Figs::new();
    let dir = tempfile::tempdir().unwrap();
    let seg = dir.path().join("segmentation.json");
    ok(bin()
        .args(["run", "segmentation", "--format", "json", "--bundle"])
        .arg(bundle)
        .args(extra)
        .arg("--data-key")
        .arg(kd)
        .arg("--out")
        .arg(&seg));
    for r in json_file(&seg) {
        if r["branch"] == "(all)" {
            want.insert(
                (
                    format!("stage_share:{}", text(&r["stage"])),
                    "as_of".into(),
                    as_of().to_string(),
                ),
                r.get("share").and_then(Value::as_f64),
            );
        }
    }
    for grain in ["month", "quarter"] {
        let m = dir.path().join(format!("metrics-{grain}.json"));
        ok(bin()
            .args(["run", "metrics", "--detail", "metrics", "--format", "json"])
            .args(["--grain", grain, "--bundle"])
            .arg(bundle)
            .args(extra)
            .arg("--data-key")
            .arg(kd)
            .arg("--out")
            .arg(&m));
        let rows = json_file(&m);
        for r in rows {
            if r["branch"] != "(all)" {
                continue;
            }
            let start =
                chrono::NaiveDate::parse_from_str(&text(&r["period_start"]), "%Y-%m-%d").unwrap();
            let period = match grain {
                "month" => start.format("%Y-%m").to_string(),
                _ => format!(
                    "{}-Q{}",
                    start.format("%Y"),
                    (chrono::Datelike::month(&start) - 1) / 3 + 1
                ),
            };
            for (k, v) in &r {
                if ["period_start", "period_end", "branch"].contains(&k.as_str()) {
                    continue;
                }
                want.insert((k.clone(), grain.into(), period.clone()), v.as_f64());
            }
        }
    }
    want
}

#[test]
fn per_club_figures_equal_each_clubs_own_runs() {
    let c = Clubs::shared();
    let out = c.tmp.path().join("pf-bundle.json");
    let mut cmd = bin();
    cmd.arg("portfolio").arg("--data-key").arg(&c.kd);
    for n in CLUBS {
        cmd.arg("--bundle").arg(c.bundle(n));
    }
    cmd.args(["--format", "json", "--out"]).arg(&out);
    ok(&mut cmd);
    let clubs = json_file(&out.with_file_name("pf-bundle.clubs.json"));
    let network = json_file(&out.with_file_name("pf-bundle.network.json"));
    // the clubs are named after their directories
    let names: std::collections::BTreeSet<String> =
        clubs.iter().map(|r| text(&r["club"])).collect();
    assert_eq!(names, CLUBS.iter().map(|s| s.to_string()).collect());
    for name in ["alpha", "delta"] {
        let got = figures_of(&clubs, name);
        let want = own_runs(&c.bundle(name), &c.kd, &[]);
        // (a figure a run leaves empty is not in its JSON objects)
        // every figure of the club's own runs is in the portfolio with the same value
        for (k, v) in &want {
            assert_eq!(got.get(k), Some(v), "{name} {k:?}");
        }
        // and the portfolio has nothing else for it but figures its runs leave empty
        for (k, v) in &got {
            if !want.contains_key(k) {
                assert_eq!(*v, None, "{name} {k:?} only in the portfolio");
            }
        }
        assert!(got.len() > 100, "{name}: {} figures", got.len());
    }
    // five clubs: the statistics are shown
    let renewal: Vec<_> = network
        .iter()
        .filter(|r| r["metric"] == "renewal_rate" && r["grain"] == "month")
        .collect();
    assert_eq!(renewal.len(), 12);
    assert!(renewal
        .iter()
        .all(|r| r["clubs"] == 5 && r.get("median").is_some()));
}

/// A copy of a bundle directory (the same export) at `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn bundles_are_grouped_into_clubs_by_pseudonymization_key() {
    let c = Clubs::shared();
    let kd = clm_core::keys::DataKey::load(&c.kd).unwrap();
    // --bundles-dir: every bundle inside, one club each, named after its directory
    let dirs = portfolio::bundles_in(&c.exports()).unwrap();
    let clubs = portfolio::clubs_from_dirs(&dirs, &kd).unwrap();
    let names: Vec<&str> = clubs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, CLUBS);
    // a later export of alpha (same K_p) joins alpha; the club takes its latest bundle's name
    let t = tempfile::tempdir().unwrap();
    let later = t.path().join("alpha-december");
    let mut o = clm_pseudonymize::ExportOptions::new(c.mapping("alpha"), later.clone());
    o.pseudonym_key = Some(c.kp("alpha"));
    o.data_key = Some(c.kd.clone());
    o.as_of = Some(date("2026-12-01"));
    clm_pseudonymize::export(&o).unwrap();
    let clubs =
        portfolio::clubs_from_dirs(&[c.bundle("alpha"), c.bundle("bravo"), later.clone()], &kd)
            .unwrap();
    assert_eq!(clubs.len(), 2);
    let alpha = clubs.iter().find(|c| c.bundles.len() == 2).unwrap();
    assert_eq!(alpha.name, "alpha-december");
    assert_eq!(alpha.as_of(), date("2026-12-01"));
    assert!(clubs.iter().any(|c| c.name == "bravo"));
    // the same export in two directories would count twice: refused
    let copy = t.path().join("alpha-copy");
    copy_dir(&c.bundle("alpha"), &copy);
    let e = portfolio::clubs_from_dirs(&[c.bundle("alpha"), copy], &kd)
        .err()
        .unwrap();
    assert!(format!("{e}").contains("are the same export"), "{e}");
    // the same directory twice too
    let e = portfolio::clubs_from_dirs(&[c.bundle("alpha"), c.bundle("alpha")], &kd)
        .err()
        .unwrap();
    assert!(format!("{e}").contains("is given twice"), "{e}");
}

#[test]
fn a_club_is_named_as_its_mapping_says() {
    let c = Clubs::shared();
    let kd = clm_core::keys::DataKey::load(&c.kd).unwrap();
    // alpha's mapping with the club's own name, above the first section
    let mapping = c.mapping("alpha");
    let named = mapping.with_file_name("named.toml");
    let text = std::fs::read_to_string(&mapping).unwrap();
    std::fs::write(&named, format!("club = \"North Star\"\n{text}")).unwrap();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("export-2026-11");
    let mut o = clm_pseudonymize::ExportOptions::new(named, out.clone());
    o.pseudonym_key = Some(c.kp("alpha"));
    o.data_key = Some(c.kd.clone());
    o.as_of = Some(as_of());
    clm_pseudonymize::export(&o).unwrap();
    let clubs = portfolio::clubs_from_dirs(&[out, c.bundle("bravo")], &kd).unwrap();
    let names: Vec<&str> = clubs.iter().map(|c| c.name.as_str()).collect();
    // the manifest's name, not the directory's; bravo has none and keeps its directory's
    assert!(names.contains(&"North Star"), "{names:?}");
    assert!(names.contains(&"bravo"), "{names:?}");
}

#[test]
fn two_clubs_of_one_name_with_different_keys_are_refused() {
    let c = Clubs::shared();
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (
        t.path().join("a").join("north"),
        t.path().join("b").join("north"),
    );
    copy_dir(&c.bundle("alpha"), &a);
    copy_dir(&c.bundle("bravo"), &b);
    let err = refused(
        bin()
            .arg("portfolio")
            .arg("--bundle")
            .arg(&a)
            .arg("--bundle")
            .arg(&b)
            .arg("--data-key")
            .arg(&c.kd),
    );
    assert!(err.contains("two clubs are named \"north\""), "{err}");
    assert!(err.contains("different pseudonymization keys"), "{err}");
    assert!(err.contains("--portfolio"), "{err}");
    assert!(err.contains(&a.display().to_string()) && err.contains(&b.display().to_string()));
}

fn write_file(p: &Path, text: &str) -> PathBuf {
    std::fs::write(p, text).unwrap();
    p.to_path_buf()
}

#[test]
fn a_portfolio_entry_must_be_one_club() {
    let c = Clubs::shared();
    let t = tempfile::tempdir().unwrap();
    // one entry, bundles of two pseudonymization keys
    let f = write_file(
        &t.path().join("mixed.toml"),
        &format!(
            "data_key = {:?}\n[clubs.\"North\"]\nbundles = [{:?}, {:?}]\n",
            c.kd,
            c.bundle("alpha"),
            c.bundle("bravo")
        ),
    );
    let err = refused(bin().arg("portfolio").arg("--portfolio").arg(&f));
    assert!(err.contains("club \"North\" refused"), "{err}");
    assert!(err.contains("different pseudonymization keys"), "{err}");
    // two entries, one club
    let copy = t.path().join("alpha-copy");
    copy_dir(&c.bundle("alpha"), &copy);
    let f = write_file(
        &t.path().join("twice.toml"),
        &format!(
            "data_key = {:?}\n[clubs.\"North\"]\nbundles = [{:?}]\n[clubs.\"South\"]\nbundles = [{:?}]\n",
            c.kd,
            c.bundle("alpha"),
            copy
        ),
    );
    let err = refused(bin().arg("portfolio").arg("--portfolio").arg(&f));
    assert!(err.contains("same pseudonymization key"), "{err}");
    // a club opened with another club's data key: refused, naming the club
    let f = write_file(
        &t.path().join("key.toml"),
        &format!(
            "data_key = {:?}\n[clubs.\"Foxtrot\"]\nbundles = [{:?}]\n",
            c.kd,
            c.bundle("foxtrot")
        ),
    );
    let err = refused(bin().arg("portfolio").arg("--portfolio").arg(&f));
    assert!(err.contains("club \"Foxtrot\""), "{err}");
}

#[test]
fn a_portfolio_file_names_the_clubs_and_one_clubs_file_holds_nothing_of_the_others() {
    let c = Clubs::shared();
    let t = tempfile::tempdir().unwrap();
    // paths relative to the file; the five with the file's data key, foxtrot with its own
    let mut toml = format!("data_key = {:?}\n", c.kd);
    let renamed = [
        "Club Anna",
        "Club Boris",
        "Club Clara",
        "Club Dima",
        "Club Elena",
    ];
    for (name, dir) in renamed.iter().zip(CLUBS) {
        toml.push_str(&format!(
            "[clubs.{name:?}]\nbundles = [\"exports/{dir}\"]\n"
        ));
    }
    toml.push_str(&format!(
        "[clubs.\"Foxtrot Fitness\"]\nbundles = [\"other/foxtrot\"]\ndata_key = {:?}\n",
        c.kd_foxtrot
    ));
    let f = write_file(&c.tmp.path().join("portfolio.toml"), &toml);
    let out = t.path().join("foxtrot-network.json");
    ok(bin()
        .args([
            "portfolio",
            "--param",
            "periods=3",
            "--for-club",
            "Foxtrot Fitness",
        ])
        .arg("--portfolio")
        .arg(&f)
        .args(["--format", "json", "--out"])
        .arg(&out));
    let bytes = String::from_utf8(std::fs::read(&out).unwrap()).unwrap();
    // no other club's name, under its new name or its directory's
    for other in renamed.iter().chain(CLUBS.iter()) {
        assert!(!bytes.contains(other), "{other} in the file");
    }
    let rows = json_file(&out);
    let allowed = [
        "metric", "grain", "period", "better", "clubs", "p25", "median", "p75", "best", "value",
        "rank", "note",
    ];
    for r in &rows {
        for k in r.keys() {
            assert!(allowed.contains(&k.as_str()), "column {k}");
        }
    }
    // its own figures are those of its own runs, and no other value is in the file
    let own = own_runs(
        &c.bundle("foxtrot"),
        &c.kd_foxtrot,
        &["--param", "periods=3"],
    );
    let mut shown = 0;
    for r in &rows {
        let k = (text(&r["metric"]), text(&r["grain"]), text(&r["period"]));
        let v = r.get("value").and_then(Value::as_f64);
        match own.get(&k) {
            Some(w) => assert_eq!(v, *w, "{k:?}"),
            None => assert_eq!(v, None, "{k:?}"),
        }
        if r.get("median").is_some() {
            assert!(r["clubs"] == 6 || r["clubs"] == 5, "{r:?}");
            shown += 1;
        }
    }
    assert!(shown > 20, "{shown} statistics shown");
    // the report's section reads it
    let net = clm_analyze::network_section::load(&out).unwrap();
    assert_eq!(net.len(), rows.len());
    let html = clm_analyze::network_section::render(
        &net,
        "month",
        &clm_analyze::i18n::Messages::new("en").unwrap(),
        &clm_analyze::Profile::fitness(),
    );
    assert!(html.contains("network of 6 clubs"), "{html}");
    for other in renamed.iter().chain(CLUBS.iter()) {
        assert!(!html.contains(other));
    }
    // an unknown club is refused
    let err = refused(
        bin()
            .args(["portfolio", "--for-club", "Nobody"])
            .arg("--portfolio")
            .arg(&f),
    );
    assert!(err.contains("no club of that name"), "{err}");
}

#[test]
fn a_network_of_schools_uses_the_classes_profile() {
    let t = tempfile::tempdir().unwrap();
    let (_, kd) = clm_core::keys::keygen(&t.path().join("keys")).unwrap();
    for (i, name) in ["school-north", "school-south"].into_iter().enumerate() {
        let src = t.path().join("src").join(name);
        clm_synth::generate_with(
            &clm_synth::Config {
                clients: 120,
                seed: 300 + i as u64,
                as_of: as_of(),
                out: src.clone(),
                encoding: clm_synth::Encoding::Utf8,
            },
            clm_synth::Profile::Classes,
        )
        .unwrap();
        let (kp, _) = clm_core::keys::keygen(&t.path().join("keys").join(name)).unwrap();
        let mut o = clm_pseudonymize::ExportOptions::new(
            src.join(clm_synth::MAPPING_FILE),
            t.path().join("schools").join(name),
        );
        o.pseudonym_key = Some(kp);
        o.data_key = Some(kd.clone());
        o.as_of = Some(as_of());
        clm_pseudonymize::export(&o).unwrap();
    }
    let out = t.path().join("schools.json");
    ok(bin()
        .args(["portfolio", "--profile", "classes", "--param", "periods=2"])
        .arg("--bundles-dir")
        .arg(t.path().join("schools"))
        .arg("--data-key")
        .arg(&kd)
        .args(["--format", "json", "--out"])
        .arg(&out));
    let clubs = json_file(&out.with_file_name("schools.clubs.json"));
    let metrics: std::collections::BTreeSet<String> =
        clubs.iter().map(|r| text(&r["metric"])).collect();
    // the school's stages, and the metrics a school has (no starter package, no PT)
    for m in [
        "stage_share:lead",
        "stage_share:new",
        "stage_share:active",
        "stage_share:archived",
        "renewal_rate",
        "churn_rate",
    ] {
        assert!(metrics.contains(m), "{m} missing from {metrics:?}");
    }
    for m in [
        "stage_share:newcomer",
        "starter_completion_rate",
        "starter_to_pt_conversion",
    ] {
        assert!(!metrics.contains(m), "{m} in {metrics:?}");
    }
    // two schools: every statistic withheld, archived counts as lower-is-better
    let network = json_file(&out.with_file_name("schools.network.json"));
    assert!(network
        .iter()
        .all(|r| r["note"] == "withheld: fewer than 5 clubs" && r.get("median").is_none()));
    assert!(network
        .iter()
        .any(|r| r["metric"] == "stage_share:archived" && r["better"] == "lower"));
}
