//! Clubs of a network (`--club`, `--spread`): the same seed gives the same club, different
//! seeds give clubs that behave measurably differently, and the default club is untouched.

use chrono::NaiveDate;
use clm_synth::{generate_club, generate_with, Club, Config, Encoding, Knobs, Profile};
use std::collections::HashMap;
use std::path::Path;

fn cfg(out: &Path, clients: u64, seed: u64) -> Config {
    Config {
        clients,
        seed,
        as_of: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        out: out.to_path_buf(),
        encoding: Encoding::Utf8,
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Share of the card buyers who bought a second card (annulled cards aside), from
/// memberships.csv as written.
fn renewal_share(dir: &Path) -> f64 {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(dir.join("memberships.csv"))
        .unwrap();
    let h = r.headers().unwrap().clone();
    let client = h.iter().position(|c| c == "Код клиента").unwrap();
    let status = h.iter().position(|c| c == "Статус").unwrap();
    let mut cards: HashMap<String, u32> = HashMap::new();
    for row in r.records() {
        let row = row.unwrap();
        if &row[status] != "Аннулирован" {
            *cards.entry(row[client].to_string()).or_default() += 1;
        }
    }
    cards.values().filter(|&&n| n >= 2).count() as f64 / cards.len() as f64
}

#[test]
fn the_same_seed_gives_the_same_club() {
    let tmp = tempfile::tempdir().unwrap();
    let club = Club::named("Север");
    for p in ["a", "b"] {
        generate_club(&cfg(&tmp.path().join(p), 300, 5), Profile::Fitness, &club).unwrap();
    }
    let a = files(&tmp.path().join("a"));
    assert_eq!(a, files(&tmp.path().join("b")));
    let mapping =
        String::from_utf8(a.iter().find(|f| f.0 == "mapping.toml").unwrap().1.clone()).unwrap();
    let m: toml::Value = toml::from_str(&mapping).unwrap();
    assert_eq!(m["club"].as_str(), Some("Север"));
    assert!(
        mapping.contains(&Knobs::draw(5).describe()),
        "the mapping records the behaviour: {mapping}"
    );
}

#[test]
fn the_default_club_is_untouched() {
    // No name, no spread: the files of generate_with, byte for byte (tests and benchmarks
    // pin them); a name alone without the spread changes the mapping only.
    let tmp = tempfile::tempdir().unwrap();
    for profile in Profile::ALL {
        let d = tmp.path().join(profile.name());
        generate_with(&cfg(&d.join("plain"), 200, 3), profile).unwrap();
        generate_club(&cfg(&d.join("club"), 200, 3), profile, &Club::default()).unwrap();
        assert_eq!(
            files(&d.join("plain")),
            files(&d.join("club")),
            "{profile:?}"
        );
        let named = Club {
            name: Some("Юг".into()),
            spread: false,
        };
        generate_club(&cfg(&d.join("named"), 200, 3), profile, &named).unwrap();
        for ((f, plain), (g, with_name)) in files(&d.join("plain"))
            .into_iter()
            .zip(files(&d.join("named")))
        {
            assert_eq!(f, g);
            if f == "mapping.toml" {
                let text = String::from_utf8(with_name).unwrap();
                assert!(text.contains("club = \"Юг\"\n"), "{text}");
                assert_eq!(
                    text.replace("club = \"Юг\"\n\n", ""),
                    String::from_utf8(plain).unwrap()
                );
            } else {
                assert!(plain == with_name, "{profile:?} {f}");
            }
        }
    }
}

#[test]
fn clubs_of_different_seeds_renew_differently() {
    // Two seeds whose drawn renewal knobs lie far apart (found by scanning seeds, so the test
    // does not depend on which seeds those are).
    let draws: Vec<(u64, Knobs)> = (1..200).map(|s| (s, Knobs::draw(s))).collect();
    let poor = draws
        .iter()
        .min_by(|a, b| a.1.renewal.total_cmp(&b.1.renewal))
        .unwrap();
    let good = draws
        .iter()
        .max_by(|a, b| a.1.renewal.total_cmp(&b.1.renewal))
        .unwrap();
    assert!(good.1.renewal - poor.1.renewal > 0.2, "{good:?} {poor:?}");
    let tmp = tempfile::tempdir().unwrap();
    let share = |seed: u64, club: &Club, name: &str| {
        let d = tmp.path().join(name);
        generate_club(&cfg(&d, 1500, seed), Profile::Fitness, club).unwrap();
        renewal_share(&d)
    };
    let poor_share = share(poor.0, &Club::named("poor"), "poor");
    let good_share = share(good.0, &Club::named("good"), "good");
    assert!(
        good_share - poor_share > 0.08,
        "renewal share: {good_share:.3} (seed {}) vs {poor_share:.3} (seed {})",
        good.0,
        poor.0
    );
    // The default club of the poor seed renews better than its drawn club.
    let default_share = share(poor.0, &Club::default(), "default");
    assert!(
        default_share - poor_share > 0.04,
        "{default_share:.3} vs {poor_share:.3}"
    );
}

#[test]
fn a_bad_club_name_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let e = generate_club(
        &cfg(&tmp.path().join("x"), 10, 1),
        Profile::Fitness,
        &Club::named("a/b"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--club") && e.contains("/"), "{e}");
    assert!(!tmp.path().join("x").exists());
}
