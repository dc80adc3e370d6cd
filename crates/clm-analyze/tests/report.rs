//! `clm-analyze report` (SPEC §5.8) on a bundle of a small synthetic club: every section and
//! chart is on the page and the page is self-contained; the page renders in headless
//! Chromium without console errors (a screenshot is kept in the target directory); forms.xlsx
//! holds exactly what `clm-analyze run metrics` gives; segments.csv is the action list; the
//! English page and actions.

mod fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clm_analyze::loyalty::LoyaltyRules;
use clm_analyze::report::{self, ReportOptions};
use clm_analyze::targets::Targets;
use clm_analyze::{Library, Profile};
use clm_core::bundle::{BundleWriter, ManifestDraft};
use clm_core::keys::{write_key_file, DataKey, KeyKind};
use fixture::*;

const AS_OF: &str = "2024-11-01";

/// The charts the page must show (`data-chart`).
const CHARTS: &[&str] = &[
    "stages",
    "stages_by_branch",
    "funnel",
    "cohorts",
    "trend-renewal_rate",
    "trend-churn_rate",
    "trend-revenue",
    "trend-nps",
    "rfm_segments",
    "rfm_matrix",
    "targets",
    "loyalty",
    "coverage",
];

const TABLES: &[&str] = &[
    "clients",
    "memberships",
    "visits",
    "services",
    "sales",
    "feedback",
];

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn day(d: NaiveDate) -> &'static str {
    leak(d.format("%Y-%m-%d").to_string())
}

fn at(d: NaiveDate, hour: u32) -> &'static str {
    leak(format!("{} {hour:02}:00", d.format("%Y-%m-%d")))
}

/// A two-branch club of `n` clients over the two years before `as_of`: leads who never buy,
/// members with 3- or 12-month cards, renewals, visits every few days, starter services,
/// personal training, a freeze, NPS answers.
pub fn synthetic_club(n: usize, as_of: NaiveDate, seed: u64) -> Fixture {
    let mut f = Fixture::new();
    let mut rng = Lcg(seed);
    let days = chrono::Duration::days;
    let branches = ["Центральный", "Северный"];
    for i in 0..n {
        let pid = leak(format!("c{i:04}"));
        let branch = branches[i % 2];
        let reg = as_of - days(10 + rng.below(700) as i64);
        let source = if rng.below(4) == 0 {
            "Рекомендация"
        } else {
            "Сайт"
        };
        let mut cells = vec![
            ("client_pid", V::S(pid)),
            ("branch", V::S(branch)),
            ("gender", V::S(if i % 3 == 0 { "m" } else { "f" })),
            ("age_band", V::S("25-34")),
            ("registered_on", V::D(day(reg))),
            ("lead_source", V::S(source)),
        ];
        if rng.below(10) < 6 {
            cells.push(("trial_booked_on", V::D(day(reg + days(3)))));
        }
        let member = rng.below(10) < 7;
        if !member && rng.below(3) == 0 && reg + days(60) <= as_of {
            cells.push(("archived_on", V::D(day(reg + days(60)))));
        }
        f.row("clients", cells);
        if rng.below(10) < 3 {
            let on = reg + days(40);
            if on <= as_of {
                f.feedback(pid, day(on), rng.below(11) as i64);
            }
        }
        if !member {
            continue;
        }
        let mut start = reg + days(rng.below(20) as i64);
        let mut k = 0;
        while start <= as_of {
            let months = if rng.below(2) == 0 { 3 } else { 12 };
            let end = start + days(30 * months - 1);
            let mid = leak(format!("m{i:04}-{k}"));
            let sold = if k > 0 { start - days(5) } else { start };
            let frozen = end > as_of && rng.below(12) == 0;
            f.membership_full(
                mid,
                pid,
                day(start),
                day(end),
                if frozen { "frozen" } else { "active" },
                if frozen { 14 } else { 0 },
                day(sold),
                branch,
            );
            f.sale(
                leak(format!("s{i:04}-{k}")),
                pid,
                at(sold, 10),
                "membership",
                if months == 3 { 900_000 } else { 3_000_000 },
            );
            if k == 0 {
                for (off, service) in [(2, "Intro"), (9, "Body scan")] {
                    if rng.below(10) < 7 && start + days(off) <= as_of {
                        f.service(
                            pid,
                            at(start + days(off), 11),
                            service,
                            "starter",
                            "done",
                            "Фитнес",
                        );
                    }
                }
            }
            if rng.below(4) == 0 && start + days(20) <= as_of {
                let d = start + days(20);
                f.service(
                    pid,
                    at(d, 12),
                    "PT",
                    "personal_training",
                    "done",
                    "Персональные",
                );
                f.sale(
                    leak(format!("p{i:04}-{k}")),
                    pid,
                    at(d, 12),
                    "personal_training",
                    500_000,
                );
            }
            // Visits every 2-6 days; some members drift away after a while.
            let stop = if rng.below(5) == 0 {
                start + days(40)
            } else {
                end
            };
            let mut v = start;
            while v <= stop.min(as_of) {
                f.visit(pid, at(v, 8 + (rng.below(12) as u32)));
                v += days(2 + rng.below(5) as i64);
            }
            k += 1;
            if rng.below(10) >= 6 {
                break;
            }
            start = end + days(1 + rng.below(20) as i64);
        }
    }
    f
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

const FIXTURE_TARGETS: &str = r#"
baseline_periods = 3

[[target]]
metric = "renewal_rate"
period = "2024-10"
value = 0.5

[[target]]
metric = "churn_rate"
period = "all"
grain = "month"
value = 0.05

[[target]]
metric = "leads"
scope = "Центральный"
period = "2024-Q3"
value = 10

[[target]]
metric = "visits_per_member_week"
period = "2024-W43"
value = 1.5
"#;

struct Made {
    dir: PathBuf,
    bundle: PathBuf,
    key: PathBuf,
    out: PathBuf,
}

/// The bundle and the report, made once for every test of this file (in the target
/// directory, so that the screenshot stays for a person to look at).
fn made() -> &'static Made {
    static MADE: OnceLock<Made> = OnceLock::new();
    MADE.get_or_init(|| {
        // (named by the worktree too: several checkouts may share one target directory)
        let checkout = env!("CARGO_MANIFEST_DIR")
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("clm-analyze-report-{checkout:08x}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = DataKey::generate();
        let kf = dir.join("data.key");
        write_key_file(&kf, KeyKind::Data, &key.0).unwrap();
        let bundle = dir.join("bundle");
        let f = synthetic_club(80, date(AS_OF), 7);
        let mut w = BundleWriter::create(&bundle, &key, date(AS_OF)).unwrap();
        for t in TABLES {
            w.write_batch(t, &f.batch(t)).unwrap();
        }
        w.finish(ManifestDraft {
            pseudonym_key_fingerprint: "00112233aabbccdd".into(),
            ..Default::default()
        })
        .unwrap();
        let targets = dir.join("targets.toml");
        std::fs::write(&targets, FIXTURE_TARGETS).unwrap();
        let out = dir.join("report");
        let t0 = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_clm-analyze"))
            .env_remove("CLM_DATA_KEY")
            .arg("report")
            .arg("--bundle")
            .arg(&bundle)
            .arg("--data-key")
            .arg(&kf)
            .arg("--targets")
            .arg(&targets)
            .arg("--loyalty")
            .arg(examples().join("loyalty.toml"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "report failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        eprintln!(
            "report of 80 clients: {:.1} s\n{}",
            t0.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&o.stderr)
        );
        Made {
            dir,
            bundle,
            key: kf,
            out,
        }
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_page_has_every_section_and_chart_and_fetches_nothing() {
    let m = made();
    let html = read(&m.out.join("report.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"ru\">"), "Russian by default");
    assert!(html.contains("Этапы жизненного цикла"));
    for id in Profile::fitness()
        .report
        .sections
        .iter()
        .map(String::as_str)
    {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing"
        );
    }
    for c in CHARTS {
        assert!(
            html.contains(&format!("<svg class=\"chart\" data-chart=\"{c}\"")),
            "chart {c} missing"
        );
    }
    // Self-contained: no script, stylesheet, image or font from anywhere.
    for bad in [
        "<script", "<link", "<img", "<iframe", "http://", "https://", "url(",
    ] {
        assert!(!html.contains(bad), "the page holds {bad:?}");
    }
    // Every chart has a table beside it (in its section) and every table a CSV that exists.
    let mut links = 0;
    for part in html.split("<a href=\"").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        if target.starts_with('#') {
            continue;
        }
        links += 1;
        assert!(
            m.out.join(target).is_file(),
            "link to {target}: no such file"
        );
    }
    assert!(links >= 12, "{links} CSV links");
    for id in Profile::fitness()
        .report
        .sections
        .iter()
        .map(String::as_str)
    {
        let start = html.find(&format!("<section id=\"{id}\">")).unwrap();
        let end = start + html[start..].find("</section>").unwrap();
        let sec = &html[start..end];
        if sec.contains("<svg class=\"chart\"") {
            assert!(
                sec.contains("<table>"),
                "section {id}: a chart without a table"
            );
        }
    }
    // Stage names are translated; the sections say nothing is missing.
    assert!(html.contains("Новичок"));
    assert!(!html.contains("class=\"missing\""), "a section is missing");
    for f in [
        "forms.xlsx",
        "segments.csv",
        "stages.csv",
        "metrics_month.csv",
        "funnel.csv",
    ] {
        assert!(m.out.join(f).is_file(), "{f}");
    }
}

/// The `<svg class="chart">` elements of a page (or of one of its sections), by `data-chart`.
fn charts_of(html: &str) -> Vec<(String, String)> {
    html.split("<svg class=\"chart\" data-chart=\"")
        .skip(1)
        .map(|p| {
            let name = p[..p.find('"').unwrap()].to_string();
            let body = &p[..p.find("</svg>").unwrap() + 6];
            (name, format!("<svg class=\"chart\" data-chart=\"{body}"))
        })
        .collect()
}

/// One section of a page.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    &html[start..start + html[start..].find("</section>").unwrap()]
}

/// The texts of an SVG.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text ")
        .skip(1)
        .map(|p| p[p.find('>').unwrap() + 1..p.find("</text>").unwrap()].to_string())
        .collect()
}

#[test]
fn no_chart_text_runs_out_of_its_chart() {
    let m = made();
    let html = read(&m.out.join("report.html"));
    let charts = charts_of(&html);
    assert!(charts.len() >= CHARTS.len());
    for (name, svg) in &charts {
        let out = clm_analyze::charts::text_overflows(svg);
        assert!(
            out.is_empty(),
            "chart {name}: texts outside the chart: {out:?}"
        );
    }
}

#[test]
fn money_axes_are_whole_thousands_with_the_currency() {
    let m = made();
    let html = read(&m.out.join("report.html"));
    let (_, svg) = charts_of(&html)
        .into_iter()
        .find(|(n, _)| n == "trend-revenue")
        .unwrap();
    let texts = svg_texts(&svg);
    // The title names the unit: thousands of roubles (the fixture's monthly revenue is over
    // 10 000); the ticks are whole numbers without kopecks.
    assert!(
        texts[0].starts_with("Выручка, тыс.\u{a0}₽"),
        "title {:?}",
        texts[0]
    );
    let ticks: Vec<&String> = texts[1..4].iter().collect();
    for t in &ticks {
        assert!(!t.contains(','), "a tick with decimals: {t:?} in {texts:?}");
        let n: f64 = t
            .replace('\u{a0}', "")
            .parse()
            .unwrap_or_else(|_| panic!("{t:?}"));
        assert!(n < 10_000.0, "{t} thousands");
    }
    // The summary card shows revenue in whole roubles with the currency.
    let summary = section(&html, "summary");
    assert!(summary.contains("\u{a0}₽</div>"), "{summary}");
}

#[test]
fn funnel_bars_are_nested_and_say_their_denominators() {
    let m = made();
    let html = read(&m.out.join("report.html"));
    let sec = section(&html, "funnel");
    let (_, svg) = charts_of(sec).into_iter().next().unwrap();
    // Four steps, archived not among them, bars never wider than the one above.
    let widths: Vec<f64> = svg
        .split("<rect ")
        .skip(1)
        .map(|p| {
            let i = p.find("width=\"").unwrap() + 7;
            p[i..i + p[i..].find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(widths.len(), 4, "{svg}");
    assert!(
        widths.windows(2).all(|w| w[1] <= w[0] + 1e-9),
        "bars {widths:?}"
    );
    let texts = svg_texts(&svg);
    assert!(!texts.iter().any(|t| t.contains("архив")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("от предыдущего шага")));
    assert!(texts.iter().any(|t| t.contains("от зарегистрированных")));
    // The table heads name the denominators too; archived is an outcome beside the funnel.
    assert!(sec.contains("Конверсия от предыдущего шага"));
    assert!(sec.contains("Доля от зарегистрированных"));
    assert!(sec.contains("data-outcome=\"archived\""));
    assert!(m.out.join("funnel_outcomes.csv").is_file());
    // The CSV: per scope the steps' clients never grow.
    let csv = read(&m.out.join("funnel.csv"));
    let mut lines = csv.lines();
    let head = split_csv(lines.next().unwrap());
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let rows: Vec<Vec<String>> = lines.map(split_csv).collect();
    for scope in ["(all)", "Центральный", "Северный"] {
        let n: Vec<i64> = rows
            .iter()
            .filter(|r| r[col("branch")] == scope)
            .map(|r| r[col("clients")].parse().unwrap())
            .collect();
        assert_eq!(n.len(), 4, "{scope}");
        assert!(n.windows(2).all(|w| w[1] <= w[0]), "{scope}: {n:?}");
    }
}

#[test]
fn coverage_says_why_memberships_run_past_the_report_date() {
    let m = made();
    let html = read(&m.out.join("report.html"));
    let sec = section(&html, "coverage");
    // The fixture sells 12-month cards until D: some end after it.
    let cv = read(&m.out.join("coverage.csv"));
    let head = split_csv(cv.lines().next().unwrap());
    let row = split_csv(cv.lines().find(|l| l.starts_with("memberships,")).unwrap());
    let get = |c: &str| row[head.iter().position(|h| h == c).unwrap()].clone();
    assert_eq!(get("date_column"), "start_date");
    let ending: u64 = get("rows_ending_after_as_of").parse().unwrap();
    assert!(ending > 0);
    assert!(get("last_end_date").as_str() > AS_OF);
    let note = &sec[sec
        .find("data-note=\"memberships\"")
        .expect("the memberships note")..];
    let note = &note[..note.find("</p>").unwrap()];
    assert!(note.contains("датированы началом"), "{note}");
    assert!(
        note.contains(&format!("{ending} абонементов заканчиваются после {AS_OF}")),
        "{note}"
    );
    assert!(note.contains(&get("last_end_date")), "{note}");
    // The chart marks D.
    assert!(sec.contains(&format!("D = {AS_OF}")));
}

#[test]
fn segments_csv_is_the_action_list() {
    let m = made();
    let text = read(&m.out.join("segments.csv"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "client_pid,branch,stage,flags,at_risk,starter_completed,rfm_segment,r,f,m,recommended_action"
    );
    let rows: Vec<Vec<String>> = lines.map(split_csv).collect();
    // One row per client of the base (stages.csv: base of `(all)`).
    let stages = read(&m.out.join("stages.csv"));
    let base: usize = stages
        .lines()
        .find(|l| l.starts_with("(all),"))
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rows.len(), base);
    let profile = Profile::fitness();
    let mut seen = BTreeMap::new();
    for r in &rows {
        assert_eq!(r[0].len(), 5, "client pid {:?}", r[0]);
        let stage = &r[2];
        assert_eq!(
            r[10],
            profile.action(stage).unwrap(),
            "the Russian action of {stage}"
        );
        *seen.entry(stage.clone()).or_insert(0) += 1;
        if r[4] == "true" {
            assert!(r[3].contains("at_risk"));
        }
    }
    assert!(seen.len() >= 5, "a varied club: {seen:?}");
    assert!(seen.contains_key("lead"));
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// An Excel date cell as ISO text (other cells: their text).
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        Data::DateTime(x) => {
            let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
            (base + chrono::Duration::days(x.as_f64() as i64)).to_string()
        }
        other => other.to_string(),
    }
}

/// forms.xlsx, read back by its key column B: (sheet, scope, period_start, metric) -> value.
fn forms_values(path: &Path) -> BTreeMap<(String, String, String, String), Option<f64>> {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    assert_eq!(wb.sheet_names(), vec!["weekly", "monthly", "quarterly"]);
    let mut out = BTreeMap::new();
    for sheet in ["weekly", "monthly", "quarterly"] {
        let range = wb.worksheet_range(sheet).unwrap();
        let mut scope = String::new();
        let mut starts: Vec<String> = vec![];
        let mut in_block = false;
        for row in range.rows() {
            let key = row.get(1).map(cell_text).unwrap_or_default();
            match key.as_str() {
                "branch" => {
                    scope = cell_text(&row[2]);
                    in_block = true;
                }
                "period_start" => {
                    starts = row[2..].iter().map(cell_text).collect();
                }
                "" => in_block = false,
                "metric" | "period_end" => {}
                "starter_delivery" => in_block = false,
                metric if in_block => {
                    for (j, start) in starts.iter().enumerate() {
                        let v = match row.get(2 + j) {
                            Some(Data::Float(x)) => Some(*x),
                            Some(Data::Int(i)) => Some(*i as f64),
                            Some(Data::Empty) | None => None,
                            Some(other) => panic!("{sheet} {metric}: {other:?}"),
                        };
                        out.insert(
                            (
                                sheet.to_string(),
                                scope.clone(),
                                start.clone(),
                                metric.to_string(),
                            ),
                            v,
                        );
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn forms_xlsx_has_dates_labels_in_the_language_and_print_setup() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let m = made();
    let path = m.out.join("forms.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let range = wb.worksheet_range("monthly").unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    let by_key = |k: &str| {
        *rows
            .iter()
            .find(|r| r.get(1).map(cell_text).as_deref() == Some(k))
            .unwrap_or_else(|| panic!("no row {k}"))
    };
    // Period starts and ends are Excel dates (a date format), not text: October 2024.
    for key in ["period_start", "period_end"] {
        let r = by_key(key);
        assert!(r.len() > 2);
        for c in &r[2..] {
            assert!(matches!(c, Data::DateTime(_)), "{key}: {c:?} is not a date");
        }
    }
    assert_eq!(
        cell_text(by_key("period_start").last().unwrap()),
        "2024-10-01"
    );
    assert_eq!(
        cell_text(by_key("period_end").last().unwrap()),
        "2024-10-31"
    );
    // Row labels in the report's language (Russian), the metric keys beside them.
    assert_eq!(cell_text(&by_key("renewal_rate")[0]), "Доля продлений");
    assert_eq!(cell_text(&by_key("period_start")[0]), "Начало периода");
    assert_eq!(cell_text(&by_key("metric")[0]), "Показатель");
    assert!(cell_text(&by_key("branch")[0]).starts_with("Филиал: "));
    // Print setup: landscape, one page wide, the period rows repeated on every page.
    let file = std::fs::File::open(&path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut xml = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    for n in 1..=3 {
        let sheet = xml(&format!("xl/worksheets/sheet{n}.xml"));
        assert!(
            sheet.contains("<pageSetUpPr fitToPage=\"1\"/>"),
            "sheet{n}: {sheet}"
        );
        assert!(sheet.contains("orientation=\"landscape\""), "sheet{n}");
        assert!(sheet.contains("fitToHeight=\"0\""), "sheet{n}");
    }
    let book = xml("xl/workbook.xml");
    assert!(book.contains("_xlnm.Print_Titles"), "{book}");
    assert!(book.contains("!$3:$5"), "the period rows repeat: {book}");
}

#[test]
fn forms_xlsx_holds_what_run_metrics_gives() {
    let m = made();
    let forms = forms_values(&m.out.join("forms.xlsx"));
    for (sheet, grain) in [
        ("weekly", "week"),
        ("monthly", "month"),
        ("quarterly", "quarter"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_clm-analyze"))
            .env_remove("CLM_DATA_KEY")
            .args([
                "run", "metrics", "--format", "json", "--grain", grain, "--bundle",
            ])
            .arg(&m.bundle)
            .arg("--data-key")
            .arg(&m.key)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let rows = json["metrics"].as_array().unwrap();
        assert!(!rows.is_empty());
        // (scope, period_start) -> the row; a null value is left out of the JSON.
        let by_key: BTreeMap<(String, String), &serde_json::Map<String, serde_json::Value>> = rows
            .iter()
            .map(|r| {
                let obj = r.as_object().unwrap();
                (
                    (
                        obj["branch"].as_str().unwrap().to_string(),
                        obj["period_start"].as_str().unwrap().to_string(),
                    ),
                    obj,
                )
            })
            .collect();
        let value = |v: Option<&serde_json::Value>| match v {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => Some(s.parse::<f64>().unwrap()),
            Some(other) => panic!("{other}"),
        };
        // Every value run metrics gives is in the sheet ...
        for ((scope, start), obj) in &by_key {
            for k in obj.keys() {
                if matches!(k.as_str(), "branch" | "period_start" | "period_end") {
                    continue;
                }
                let key = (sheet.to_string(), scope.clone(), start.clone(), k.clone());
                assert!(
                    forms.contains_key(&key),
                    "forms.xlsx has no cell for {key:?}"
                );
            }
        }
        // ... and every cell of the sheet is what run metrics gives (empty: null).
        let mut compared = 0;
        for (key, got) in forms.iter().filter(|(k, _)| k.0 == sheet) {
            let obj = by_key
                .get(&(key.1.clone(), key.2.clone()))
                .unwrap_or_else(|| panic!("run metrics has no row for {key:?}"));
            let want = value(obj.get(&key.3));
            match (got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "{key:?}: forms {g}, run metrics {w}"
                ),
                (g, w) => panic!("{key:?}: forms {g:?}, run metrics {w:?}"),
            }
            compared += 1;
        }
        // 13 metrics per scope and period.
        assert_eq!(compared, by_key.len() * 13, "{sheet}");
    }
}

/// Runs a command, killing it after `limit`. Its output goes to files (a pipe would fill up
/// with a large DOM while we wait). Returns (success, stdout, stderr).
fn run_with_limit(cmd: &mut Command, limit: Duration, dir: &Path) -> (bool, String, String) {
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish in {limit:?}: {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (status.success(), read(&out), read(&err))
}

fn chromium(profile_dir: &Path) -> Command {
    let mut c = Command::new("/usr/bin/chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile_dir.display()));
    c
}

/// Measures the rendered page (injected into a copy of it; the page itself has no script):
/// every text of every chart within its viewBox (getBBox, in the chart's own units), every
/// table and figure within its card (section), a table wider than its wrapper only where the
/// wrapper scrolls and spans the card's whole width (not squeezed beside a chart), and no
/// card wider than the page. Writes its findings into
/// `<pre id="layout-check">`, which --dump-dom returns.
const LAYOUT_CHECK: &str = r#"<script>
(function () {
  var bad = [], texts = 0, boxes = 0;
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var vb = svg.viewBox.baseVal;
    svg.querySelectorAll('text').forEach(function (t) {
      texts++;
      var b = t.getBBox();
      if (b.width === 0) return;
      if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 ||
          b.y + b.height > vb.y + vb.height + 0.5) {
        bad.push('chart ' + svg.getAttribute('data-chart') + ': text "' + t.textContent +
          '" at ' + [b.x, b.y, b.x + b.width, b.y + b.height].map(Math.round).join(',') +
          ' outside 0,0,' + vb.width + ',' + vb.height);
      }
    });
  });
  var page = document.documentElement.clientWidth;
  document.querySelectorAll('section').forEach(function (sec) {
    var s = sec.getBoundingClientRect();
    if (s.right > page + 0.5) bad.push('section ' + sec.id + ' wider than the page');
    sec.querySelectorAll('.table, figure, svg.chart, p').forEach(function (el) {
      boxes++;
      var r = el.getBoundingClientRect();
      if (r.left < s.left - 0.5 || r.right > s.right + 0.5) {
        bad.push('section ' + sec.id + ': ' + el.tagName + '.' + (el.getAttribute('class') || '') +
          ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ', its card ' +
          Math.round(s.left) + '..' + Math.round(s.right));
      }
      if (el.classList.contains('table')) {
        var t = el.querySelector('table');
        var cs = getComputedStyle(sec);
        var inner = sec.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        if (t && t.scrollWidth > el.clientWidth + 1) {
          // a table may scroll only within the card's whole width (it fits nowhere else),
          // never cut beside a chart
          if (getComputedStyle(el).overflowX !== 'auto') {
            bad.push('section ' + sec.id + ': a table cut at the right edge');
          } else if (el.clientWidth < inner - 2) {
            bad.push('section ' + sec.id + ': a table of ' + t.scrollWidth + ' px scrolls in ' +
              el.clientWidth + ' px beside a chart, the card has ' + Math.round(inner));
          }
        }
      }
    });
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = 'width ' + page + '; texts ' + texts + '; boxes ' + boxes + '\n' + bad.join('\n');
  document.body.appendChild(pre);
})();
</script>"#;

/// The printed page, measured on screen: the page's `@media print` rules applied to all media
/// at the width of an A4 landscape page (277 mm at 96 dpi, 1047 px): every table whole within
/// its wrapper (nothing scrolls on paper), every chart within its card.
const PRINT_CHECK: &str = r#"<script>
(function () {
  var bad = [], tables = 0;
  document.querySelectorAll('section').forEach(function (sec) {
    var s = sec.getBoundingClientRect();
    sec.querySelectorAll('.table').forEach(function (el) {
      tables++;
      var t = el.querySelector('table');
      if (t.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > s.right + 0.5) {
        bad.push('section ' + sec.id + ': a table of ' + t.scrollWidth + ' px on a page of ' +
          Math.round(s.width) + ' px');
      }
    });
    sec.querySelectorAll('svg.chart').forEach(function (svg) {
      if (svg.getBoundingClientRect().right > s.right + 0.5) {
        bad.push('section ' + sec.id + ': chart ' + svg.getAttribute('data-chart') + ' cut');
      }
    });
  });
  var pre = document.createElement('pre');
  pre.id = 'print-check';
  pre.textContent = 'width ' + document.documentElement.clientWidth + '; tables ' + tables + '\n' + bad.join('\n');
  document.body.appendChild(pre);
})();
</script>"#;

/// Runs `page` (with a measuring script) in headless Chromium at `width` px and returns the
/// lines the script wrote into `<pre id="ID">`: the header line, then the problems.
fn measure(page: &str, id: &str, width: u32, dir: &Path) -> (String, Vec<String>) {
    let file = dir.join(format!("report-{id}.html"));
    std::fs::write(&file, page).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (ok, dom, log) = run_with_limit(
        chromium(profile.path())
            .arg(format!("--window-size={width},3000"))
            .arg("--dump-dom")
            .arg(format!("file://{}", file.canonicalize().unwrap().display())),
        Duration::from_secs(180),
        logs.path(),
    );
    let _ = std::fs::remove_file(&file);
    assert!(ok, "chromium failed: {log}");
    let tag = format!("<pre id=\"{id}\">");
    let start = dom
        .find(&tag)
        .unwrap_or_else(|| panic!("the {id} script did not run: {log}"));
    let text = &dom[start + tag.len()..start + dom[start..].find("</pre>").unwrap()];
    let mut lines = text.lines().map(str::to_string);
    let head = lines.next().unwrap_or_default();
    (head, lines.filter(|l| !l.trim().is_empty()).collect())
}

#[test]
fn the_page_renders_in_headless_chromium() {
    if !Path::new("/usr/bin/chromium").exists() {
        if std::env::var_os("CI").is_some() {
            panic!("/usr/bin/chromium is missing, and CI is set: install the Debian package `chromium` (scripts/test.sh does)");
        }
        eprintln!("SKIPPED the_page_renders_in_headless_chromium: /usr/bin/chromium is missing (apt-get install chromium)");
        return;
    }
    let m = made();
    let page = m.out.join("report.html");
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let profile = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (ok, dom, log) = run_with_limit(
        chromium(profile.path()).arg("--dump-dom").arg(&url),
        Duration::from_secs(180),
        logs.path(),
    );
    assert!(ok, "chromium failed: {log}");
    for id in Profile::fitness()
        .report
        .sections
        .iter()
        .map(String::as_str)
    {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "rendered DOM lacks section {id}"
        );
    }
    for c in CHARTS {
        assert!(
            dom.contains(&format!("data-chart=\"{c}\"")),
            "rendered DOM lacks chart {c}"
        );
    }
    for line in log.lines() {
        assert!(
            !line.contains("Uncaught")
                && !line.contains("CONSOLE")
                && !line.contains("Failed to load resource"),
            "chromium reported: {line}"
        );
    }
    // The layout at 1400 px: the page with the measuring script, beside the original.
    let html = read(&page);
    let (head, problems) = measure(
        &html.replace("</body>", &format!("{LAYOUT_CHECK}</body>")),
        "layout-check",
        1400,
        &m.out,
    );
    eprintln!("layout check: {head}");
    // (1400 less a scrollbar, if the page shows one)
    assert!(
        head.starts_with("width 1400;") || head.starts_with("width 13"),
        "{head}"
    );
    assert!(problems.is_empty(), "at 1400 px:\n{}", problems.join("\n"));
    // Printed: the print rules on screen at the width of an A4 landscape page.
    let printed = html
        .replace("@media print {", "@media all {")
        .replace("</body>", &format!("{PRINT_CHECK}</body>"));
    let (head, problems) = measure(&printed, "print-check", 1047, &m.out);
    eprintln!("print check: {head}");
    assert!(problems.is_empty(), "printed:\n{}", problems.join("\n"));
    // A screenshot at 1400 px for a person to look at.
    let shot = m.dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let (ok, _, log) = run_with_limit(
        chromium(profile.path())
            .arg(format!("--screenshot={}", shot.display()))
            .arg("--window-size=1400,9000")
            .arg("--hide-scrollbars")
            .arg(&url),
        Duration::from_secs(180),
        logs.path(),
    );
    assert!(ok, "chromium screenshot failed: {log}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn the_page_prints_every_table_whole() {
    let m = made();
    let html = read(&m.out.join("report.html"));
    let print = &html[html.find("@media print").expect("print CSS")..];
    let print = &print[..print.find("</style>").unwrap()];
    // In print nothing scrolls: tables and wide figures show whole, each section on its own
    // page, table heads repeated.
    for rule in [
        ".table, figure.wide { overflow: visible; }",
        "section + section { break-before: page; }",
        "thead { display: table-header-group; }",
        "size: A4 landscape",
    ] {
        assert!(print.contains(rule), "print CSS lacks {rule:?}");
    }
    // On screen, a wide table scrolls within its card.
    assert!(html.contains(".table { overflow-x: auto;"));
    assert!(html.contains("<div class=\"table wide\">"));
}

#[test]
fn clients_without_a_branch_count_in_the_total_only_and_csv_text_is_no_formula() {
    // The club of 40, three clients whose branch the export suppressed (no branch), and two
    // of a branch whose name a spreadsheet would run as a formula.
    let mut f = synthetic_club(40, date(AS_OF), 11);
    for (pid, branch) in [
        ("x1", None),
        ("x2", None),
        ("x3", None),
        ("y1", Some("=Юг")),
        ("y2", Some("=Юг")),
    ] {
        let mut cells = vec![
            ("client_pid", V::S(pid)),
            ("registered_on", V::D("2024-09-10")),
            ("trial_booked_on", V::D("2024-09-12")),
        ];
        if let Some(b) = branch {
            cells.push(("branch", V::S(b)));
        }
        f.row("clients", cells);
        let m = leak(format!("{pid}_m"));
        f.membership(m, pid, "2024-09-15", "2025-09-14")
            .visit(pid, "2024-09-14 10:00")
            .visit(pid, "2024-10-20 10:00")
            .sale(
                leak(format!("{pid}_s")),
                pid,
                "2024-09-15 10:00",
                "membership",
                3_000_000,
            );
    }
    let engine = f.engine();
    let profile = Profile::fitness();
    let lib = Library::embedded();
    let rules = LoyaltyRules::load(&examples().join("loyalty.toml")).unwrap();
    let opts = ReportOptions {
        library: &lib,
        profile: &profile,
        as_of: date(AS_OF),
        targets: None,
        loyalty: Some(&rules),
        network: None,
        bundles: vec![report::BundleInfo {
            dir: "bundle".into(),
            as_of: date(AS_OF),
            created_at: "2024-11-02T10:00:00Z".into(),
            export_id: "e1".into(),
            branch_suppressed: 3,
        }],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let g = rt.block_on(report::gather(&engine, &opts)).unwrap();
    let out = tempfile::tempdir().unwrap();
    report::write(&g, &opts, out.path()).unwrap();
    let html = read(&out.path().join("report.html"));
    // The scope "(no branch)" appears nowhere: no stacked bar, no column, no funnel or
    // loyalty row ...
    assert!(!html.contains("(без филиала)"), "the (none) scope is shown");
    let stages = section(&html, "stages");
    // ... but once, small, under the stages table, with its reason.
    assert_eq!(html.matches("data-note=\"no-branch\"").count(), 1);
    assert!(
        stages.contains("Клиентов без филиала: 3 (филиал скрыт при выгрузке ради k-анонимности"),
        "{stages}"
    );
    // The stacked bars: (all) and the three branches.
    let (_, by_branch) = charts_of(stages)
        .into_iter()
        .find(|(n, _)| n == "stages_by_branch")
        .unwrap();
    let labels = svg_texts(&by_branch);
    assert!(labels.contains(&"Все филиалы".to_string()), "{labels:?}");
    assert!(labels.contains(&"=Юг".to_string()), "{labels:?}");
    // The total keeps them: (all)'s base is the branches' bases and the 3.
    let st = g.frames.get("segmentation.stages").unwrap();
    let base = |b: &str| {
        st.rows_where("branch", b)
            .next()
            .map(|r| st.get(r, "base").num().unwrap())
            .unwrap_or(0.0)
    };
    assert_eq!(base(report::NO_BRANCH), 3.0);
    assert_eq!(
        base("(all)"),
        base("Центральный") + base("Северный") + base("=Юг") + 3.0
    );
    // forms.xlsx: no block for (none), the note under the title.
    {
        use calamine::{open_workbook, Reader, Xlsx};
        let mut wb: Xlsx<_> = open_workbook(out.path().join("forms.xlsx")).unwrap();
        let range = wb.worksheet_range("monthly").unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        assert!(
            rows[1][0].starts_with("Клиентов без филиала: 3"),
            "{:?}",
            rows[1]
        );
        let scopes: Vec<&str> = rows
            .iter()
            .filter(|r| r.get(1).map(String::as_str) == Some("branch"))
            .map(|r| r[2].as_str())
            .collect();
        assert_eq!(scopes.first(), Some(&"(all)"), "{scopes:?}");
        assert!(!scopes.contains(&"(none)"), "{scopes:?}");
        assert!(scopes.contains(&"=Юг"), "{scopes:?}");
    }
    // Every CSV the report writes: no text cell starts like a formula; the branch is written
    // as text with a leading '.
    let mut seen = 0;
    for e in std::fs::read_dir(out.path()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("csv") {
            continue;
        }
        for line in read(&p).lines() {
            for cell in split_csv(line) {
                assert!(
                    !(cell.starts_with(['=', '+', '@', '\t', '\r'])
                        || cell.starts_with('-') && cell.parse::<f64>().is_err()),
                    "{}: a formula-like cell {cell:?}",
                    p.display()
                );
                if cell == "'=Юг" {
                    seen += 1;
                }
            }
        }
    }
    assert!(seen > 0, "the branch =Юг is in the CSVs as '=Юг");
}

#[test]
fn the_english_page_and_actions() {
    // The same club in memory, rendered in English through the library.
    let f = synthetic_club(40, date(AS_OF), 11);
    let engine = f.engine();
    let mut profile = Profile::fitness();
    profile.set_lang("en").unwrap();
    let lib = Library::embedded();
    let targets = Targets::parse(FIXTURE_TARGETS).unwrap();
    let rules = LoyaltyRules::load(&examples().join("loyalty.toml")).unwrap();
    let opts = ReportOptions {
        library: &lib,
        profile: &profile,
        as_of: date(AS_OF),
        targets: Some(&targets),
        loyalty: Some(&rules),
        network: None,
        bundles: vec![],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let g = rt.block_on(report::gather(&engine, &opts)).unwrap();
    let out = tempfile::tempdir().unwrap();
    report::write(&g, &opts, out.path()).unwrap();
    let html = read(&out.path().join("report.html"));
    assert!(html.contains("<html lang=\"en\">"));
    for s in [
        "Lifecycle stages",
        "Newcomer",
        "Renewal rate",
        "Cohort retention",
    ] {
        assert!(html.contains(s), "{s}");
    }
    assert!(!html.contains("Этапы жизненного цикла"));
    let seg = read(&out.path().join("segments.csv"));
    assert!(
        seg.contains("Invite to a trial"),
        "leads get the English action"
    );
    // Without targets and rules the sections say how to get them.
    let bare = ReportOptions {
        targets: None,
        loyalty: None,
        network: None,
        ..opts
    };
    let (page, _) = report::render(&g, &bare).unwrap();
    assert!(page.contains("<section id=\"targets\">") && page.contains("--targets FILE"));
    assert!(page.contains("<section id=\"loyalty\">") && page.contains("--loyalty FILE"));
    assert!(
        !page.contains("<section id=\"network\">"),
        "no --network, no section"
    );
    // With --network: "vs the network" right after the summary, in the navigation too.
    let file = out.path().join("network.json");
    std::fs::write(
        &file,
        r#"[{"metric":"renewal_rate","grain":"month","period":"2026-10","better":"higher",
            "clubs":6,"p25":0.5,"median":0.625,"p75":0.75,"best":0.875,"value":0.4375,"rank":6}]"#,
    )
    .unwrap();
    let rows = clm_analyze::network_section::load(&file).unwrap();
    let vs = ReportOptions {
        network: Some(&rows),
        ..bare
    };
    let (page, _) = report::render(&g, &vs).unwrap();
    let at = |id: &str| {
        page.find(&format!("<section id=\"{id}\">"))
            .unwrap_or(usize::MAX)
    };
    assert!(at("summary") < at("network") && at("network") < at("stages"));
    assert!(page.contains("href=\"#network\""));
    assert!(page.contains("Vs the network"), "the section's title");
}
