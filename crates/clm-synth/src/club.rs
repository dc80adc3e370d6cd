//! One club of a network: its name and how its members behave compared with the default
//! club, for benchmarks across clubs (`--club NAME`, `--spread`).
//!
//! A real network's clubs differ: some renew well and some poorly, some walk every newcomer
//! through the starter sessions, some sell personal training to a third of their members.
//! [`Knobs::draw`] picks such a club from the seed, within plausible ranges, so that a
//! portfolio of synthetic clubs (one seed each) shows a spread. Without `--club` or
//! `--spread` every knob is neutral ([`Knobs::NEUTRAL`]) and the export is the default club's,
//! byte for byte.

use crate::ids::splitmix;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The longest club name `--club` takes (the mapping and the manifest allow the same).
pub const MAX_CLUB_NAME_CHARS: usize = 100;

/// The club a run writes: its name (into `mapping.toml` as `club = "…"`) and whether its
/// behaviour is drawn from the seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Club {
    pub name: Option<String>,
    /// Draw the behaviour knobs from the seed ([`Knobs::draw`]); else neutral knobs.
    pub spread: bool,
}

impl Club {
    /// A named club of a network: `--club NAME` draws the behaviour from the seed.
    pub fn named(name: impl Into<String>) -> Club {
        Club {
            name: Some(name.into()),
            spread: true,
        }
    }

    pub fn knobs(&self, seed: u64) -> Knobs {
        if self.spread {
            Knobs::draw(seed)
        } else {
            Knobs::NEUTRAL
        }
    }
}

/// Checks a club name as the mapping will (clm-core's `check_club_name`): not empty, at most
/// 100 characters, printable, no leading or trailing space, no `/` or `\`.
pub fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        Err("the club name is empty".into())
    } else if chars > MAX_CLUB_NAME_CHARS {
        Err(format!(
            "the club name has {chars} characters; at most {MAX_CLUB_NAME_CHARS} are allowed"
        ))
    } else if name.chars().any(char::is_control) {
        Err("the club name has a control character; use printable characters only".into())
    } else if name.trim() != name {
        Err("the club name starts or ends with a space".into())
    } else if name.contains(['/', '\\']) || name == "." || name == ".." {
        Err("the club name may not contain / or \\ (nor be . or ..)".into())
    } else {
        Ok(())
    }
}

/// How a club's members behave, relative to the default club. Neutral values leave every
/// draw of the default club as it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    /// Added to the probability that a card (fitness) is renewed, and, a third of it, taken
    /// from the monthly chance that a student (classes) leaves. Neutral 0; drawn in
    /// −0.20…+0.12 (renewal of the average member from about 55 % to 87 %).
    pub renewal: f64,
    /// Percentage points moved from "no starter session attended" to "all three attended"
    /// (fitness). Neutral 0; drawn in −25…+12 (completion of all three from 25 % to 62 %).
    pub starter: i32,
    /// Factor on the chance that an engaged member buys personal training (fitness). Neutral
    /// 1; drawn in 0.5…1.6.
    pub pt: f64,
    /// Factor on how often members come (fitness visits; classes: the chance of attending a
    /// lesson, capped at 0.98). Neutral 1; drawn in 0.75…1.25 (fitness), 0.9…1.1 (classes).
    pub visits: f32,
    /// Added to the change of engagement from one card to the next (fitness): below 0,
    /// members cool down faster and churn more. Neutral 0; drawn in −0.05…+0.02.
    pub drift: f32,
    /// The chance that a member who did not renew comes back after a break (fitness).
    /// Neutral 0.2; drawn in 0.1…0.3.
    pub comeback: f64,
}

impl Knobs {
    pub const NEUTRAL: Knobs = Knobs {
        renewal: 0.0,
        starter: 0,
        pt: 1.0,
        visits: 1.0,
        drift: 0.0,
        comeback: 0.2,
    };

    /// A club drawn from `seed`: one "management quality" in −1…1 moves every knob the same
    /// way (a well-run club renews, completes starters and sells PT alike), plus noise of its
    /// own per knob. The draws use an RNG of their own: the clients' streams are untouched.
    pub fn draw(seed: u64) -> Knobs {
        let mut rng = ChaCha8Rng::seed_from_u64(splitmix(seed ^ 0x636c_7562_5f6b_6e6f));
        let q: f64 = rng.random_range(-1.0..1.0);
        let mut mix = |lo: f64, hi: f64, weight: f64| {
            let noise: f64 = rng.random_range(-1.0..1.0);
            let u = ((weight * q + (1.0 - weight) * noise) + 1.0) / 2.0;
            lo + (hi - lo) * u.clamp(0.0, 1.0)
        };
        Knobs {
            renewal: mix(-0.20, 0.12, 0.7),
            starter: mix(-25.0, 12.0, 0.6).round() as i32,
            pt: mix(0.5, 1.6, 0.5),
            visits: mix(0.75, 1.25, 0.5) as f32,
            drift: mix(-0.05, 0.02, 0.5) as f32,
            comeback: mix(0.1, 0.3, 0.3),
        }
    }

    pub fn is_neutral(&self) -> bool {
        *self == Knobs::NEUTRAL
    }

    /// One line for the mapping's opening comment and the run's summary.
    pub fn describe(&self) -> String {
        format!(
            "renewal {:+.2}, starter {:+} pp, PT ×{:.2}, visits ×{:.2}, engagement drift {:+.3}, comeback {:.2}",
            self.renewal, self.starter, self.pt, self.visits, self.drift, self.comeback
        )
    }
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs::NEUTRAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_their_ranges_and_repeat() {
        for seed in 0..500 {
            let k = Knobs::draw(seed);
            assert_eq!(k, Knobs::draw(seed));
            assert!((-0.20..=0.12).contains(&k.renewal), "{k:?}");
            assert!((-25..=12).contains(&k.starter), "{k:?}");
            assert!((0.5..=1.6).contains(&k.pt), "{k:?}");
            assert!((0.75..=1.25).contains(&k.visits), "{k:?}");
            assert!((-0.05..=0.02).contains(&k.drift), "{k:?}");
            assert!((0.1..=0.3).contains(&k.comeback), "{k:?}");
        }
        assert_ne!(Knobs::draw(1), Knobs::draw(2));
        assert!(Club::default().knobs(7).is_neutral());
        assert!(!Club::named("North").knobs(7).is_neutral());
    }

    #[test]
    fn names() {
        assert!(check_name("Фитнес Север №2").is_ok());
        for bad in ["", " x", "a/b", "a\\b", "a\tb", ".."] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"x".repeat(101)).is_err());
        assert!(check_name(&"x".repeat(100)).is_ok());
    }
}
