//! SPEC §6 end to end, for each profile beside fitness: a synthetic export of that business
//! (`clm-synth --profile`) → `clm-pseudonymize export` → `clm-audit` with the source →
//! `clm-analyze report --profile` → a saved filter (`run list --name`) → the call list
//! (`clm-pseudonymize reidentify`), on site again.

use std::path::Path;

use clm_synth::{Encoding, Profile};
use clm_tests::*;

/// The stages and report sections each profile file declares (profiles/*.toml); the test
/// reads them from the report's output, so a profile that loses one is caught.
struct Expect {
    profile: Profile,
    stages: &'static [&'static str],
    sections: &'static [&'static str],
    list: &'static str,
}

const PROFILES: &[Expect] = &[
    Expect {
        profile: Profile::Classes,
        stages: &["lead", "new", "active", "archived"],
        sections: &[
            "summary", "funnel", "stages", "actions", "trends", "cohorts", "rfm", "targets",
            "coverage",
        ],
        list: "trial_follow_up",
    },
    Expect {
        profile: Profile::AutoService,
        stages: &[
            "acquired",
            "first_service_due",
            "in_service",
            "lapsed_service",
            "repurchase_window",
            "lead",
        ],
        sections: &["summary", "stages", "actions", "rfm", "coverage"],
        list: "trade_in_offer",
    },
    Expect {
        profile: Profile::B2bService,
        stages: &[
            "acquisition",
            "onboarding",
            "service",
            "growth",
            "at_risk",
            "churned",
        ],
        sections: &[
            "summary", "stages", "actions", "trends", "cohorts", "rfm", "targets", "coverage",
        ],
        list: "retention_meetings",
    },
];

const ALL_SECTIONS: &[&str] = &[
    "summary", "stages", "actions", "funnel", "cohorts", "trends", "rfm", "targets", "loyalty",
    "coverage",
];

/// A comma-separated file written by clm-analyze: header and rows.
fn analysis_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

fn column(h: &[String], name: &str) -> usize {
    h.iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {h:?}"))
}

fn check_profile(e: &Expect) {
    let name = e.profile.name();
    let club = Club::of(e.profile, 2_000, 3, Encoding::Utf8);
    let bundle = club.export("bundle");

    // The audit, with the source: every check passes.
    let json = club.path("audit.json");
    let (code, out) = run(bin("clm-audit")
        .arg("--bundle")
        .arg(&bundle)
        .arg("--data-key")
        .arg(club.data_key())
        .arg("--mapping")
        .arg(club.mapping())
        .arg("--pseudonym-key")
        .arg(club.pseudonym_key())
        .arg("--json")
        .arg(&json));
    assert_eq!(code, 0, "{name}: audit failed:\n{out}");

    // The report with the profile: its sections, in its order, and no other.
    let report = club.path("report");
    let (code, out) = run(bin("clm-analyze")
        .arg("report")
        .arg("--profile")
        .arg(name)
        .arg("--bundle")
        .arg(&bundle)
        .arg("--data-key")
        .arg(club.data_key())
        .arg("--lang")
        .arg("en")
        .arg("--out")
        .arg(&report));
    assert_eq!(code, 0, "{name}: report failed:\n{out}");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    let mut at = 0;
    for s in e.sections {
        let tag = format!("<section id=\"{s}\">");
        let pos = html[at..]
            .find(&tag)
            .unwrap_or_else(|| panic!("{name}: section {s} missing or out of order"));
        at += pos;
    }
    for s in ALL_SECTIONS.iter().filter(|s| !e.sections.contains(s)) {
        assert!(
            !html.contains(&format!("<section id=\"{s}\">")),
            "{name}: section {s} does not belong"
        );
    }
    // statistics forms only where the profile has period metrics
    assert_eq!(
        report.join("forms.xlsx").exists(),
        e.sections.contains(&"trends"),
        "{name}: forms.xlsx"
    );

    // Every stage of the profile is reached by some client, and only those stages occur.
    let (h, rows) = analysis_csv(&report.join("segments.csv"));
    let stage = column(&h, "stage");
    let action = column(&h, "recommended_action");
    assert!(
        rows.len() > 1_000,
        "{name}: {} clients in segments.csv",
        rows.len()
    );
    for s in e.stages {
        let n = rows.iter().filter(|r| r[stage] == *s).count();
        assert!(n > 0, "{name}: no client in stage {s}");
    }
    for r in &rows {
        assert!(
            e.stages.contains(&r[stage].as_str()),
            "{name}: stage {}",
            r[stage]
        );
        assert!(!r[action].is_empty(), "{name}: no action for {}", r[stage]);
    }

    // A saved filter: the pids of its clients, then the club's call list from them.
    let list = club.path("list.csv");
    let (code, out) = run(bin("clm-analyze")
        .args(["run", "list", "--name", e.list, "--profile", name])
        .arg("--bundle")
        .arg(&bundle)
        .arg("--data-key")
        .arg(club.data_key())
        .args(["--format", "csv", "--out"])
        .arg(&list));
    assert_eq!(code, 0, "{name}: run list failed:\n{out}");
    let (lh, lrows) = analysis_csv(&list);
    assert!(!lrows.is_empty(), "{name}: list {} is empty", e.list);
    let pid = column(&lh, "client_pid");
    let calls = club.path("calls.csv");
    let (code, out) = run(bin("clm-pseudonymize")
        .arg("reidentify")
        .arg("--mapping")
        .arg(club.mapping())
        .arg("--pseudonym-key")
        .arg(club.pseudonym_key())
        .arg("--pids")
        .arg(&list)
        .arg("--out")
        .arg(&calls));
    assert_eq!(code, 0, "{name}: reidentify failed:\n{out}");
    let (ch, crows) = read_csv(&calls);
    assert_eq!(crows.len(), lrows.len(), "{name}: call list rows");
    let found = column(&ch, "found");
    let cpid = column(&ch, "client_pid");
    for (c, l) in crows.iter().zip(&lrows) {
        assert_eq!(c[cpid], l[pid]);
        assert_eq!(
            c[found], "yes",
            "{name}: a listed pid is not a client of the source"
        );
    }
}

#[test]
fn classes_synth_export_audit_report_list() {
    check_profile(&PROFILES[0]);
}

#[test]
fn auto_service_synth_export_audit_report_list() {
    check_profile(&PROFILES[1]);
}

#[test]
fn b2b_service_synth_export_audit_report_list() {
    check_profile(&PROFILES[2]);
}
