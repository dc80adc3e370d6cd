//! Monthly exports: an earlier bundle plus a `--since` bundle, analysed together, give what
//! one full export gives (issue 6: incremental exports).

use std::path::{Path, PathBuf};

use clm_tests::*;

/// The date column of each event file of a clm-synth export.
const EVENT_DATES: [(&str, &str); 4] = [
    ("visits.csv", "Время входа"),
    ("services.csv", "Дата и время"),
    ("sales.csv", "Дата и время продажи"),
    ("feedback.csv", "Дата ответа"),
];

fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&s[..10], "%d.%m.%Y").unwrap()
}

/// The club's export as it was on `cut`: event rows dated after it removed.
fn source_as_of(src: &Path, dst: &Path, cut: chrono::NaiveDate) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
    }
    for (file, col) in EVENT_DATES {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_path(src.join(file))
            .unwrap();
        let h = r.headers().unwrap().clone();
        let i = h.iter().position(|x| x == col).unwrap();
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_path(dst.join(file))
            .unwrap();
        w.write_record(&h).unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            if day(&rec[i]) <= cut {
                w.write_record(&rec).unwrap();
            }
        }
        w.flush().unwrap();
    }
}

fn export(club: &Club, mapping: &Path, as_of: &str, since: Option<&str>, out: &str) -> PathBuf {
    let mut c = bin("clm-pseudonymize");
    c.arg("export")
        .arg("--mapping")
        .arg(mapping)
        .arg("--pseudonym-key")
        .arg(club.pseudonym_key())
        .arg("--data-key")
        .arg(club.data_key())
        .arg("--as-of")
        .arg(as_of)
        .arg("--out")
        .arg(club.path(out));
    if let Some(s) = since {
        c.arg("--since").arg(s);
    }
    let (code, msg) = run(&mut c);
    assert_eq!(code, 0, "{msg}");
    club.path(out)
}

fn analyze(club: &Club, bundles: &[&Path], args: &[&str]) -> String {
    let mut c = bin("clm-analyze");
    c.args(args);
    for b in bundles {
        c.arg("--bundle").arg(b);
    }
    c.arg("--data-key")
        .arg(club.data_key())
        .arg("--as-of")
        .arg("2026-11-01")
        .arg("--format")
        .arg("csv");
    let (code, out) = run(&mut c);
    assert_eq!(code, 0, "{args:?}: {out}");
    out
}

#[test]
fn earlier_bundle_plus_since_bundle_equals_one_full_export() {
    let club = Club::new(400, 21, clm_synth::Encoding::Utf8);
    let cut = chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
    let october = club.path("src-2026-09-30");
    source_as_of(&club.src, &october, cut);

    let full = export(&club, &club.mapping(), "2026-11-01", None, "full");
    let earlier = export(
        &club,
        &october.join("mapping.toml"),
        "2026-09-30",
        None,
        "earlier",
    );
    let since = export(
        &club,
        &club.mapping(),
        "2026-11-01",
        Some("2026-09-30"),
        "since",
    );

    let events = |b: &Path, t: &str| -> u64 { club.open(b).manifest().table_rows(t) };
    for t in ["visits", "services", "sales", "feedback"] {
        assert!(
            events(&since, t) < events(&full, t),
            "{t}: --since exports fewer rows"
        );
        assert_eq!(
            events(&earlier, t) + events(&since, t),
            events(&full, t),
            "{t}"
        );
    }

    for args in [
        // The per-client stages (the summary is computed from them), the period metrics,
        // RFM and cohorts: between them every table and the snapshot rule are exercised.
        &["run", "segmentation", "--detail", "clients"][..],
        &["run", "metrics", "--grain", "month", "--param", "periods=3"],
        &["run", "rfm"],
        &["run", "cohorts"],
        &[
            "sql",
            "SELECT count(*) AS n, count(DISTINCT client_pid) AS c FROM visits",
        ],
    ] {
        let one = analyze(&club, &[&full], args);
        let two = analyze(&club, &[&earlier, &since], args);
        assert!(one.lines().count() > 1, "{args:?} gave no rows");
        assert_eq!(one, two, "{args:?}");
    }
}
