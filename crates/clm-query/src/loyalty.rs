//! The points rules of the loyalty economics (SPEC §5.6): a TOML file (see
//! examples/loyalty.toml) whose values become bound parameters of queries/loyalty.sql. The
//! economics themselves are SQL.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::profile::{Param, Profile};

/// The rules, as read from the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyRules {
    /// Points for each day a client visited.
    #[serde(default)]
    pub points_per_visit: f64,
    /// Points for each renewal (a membership renewing an earlier one).
    #[serde(default)]
    pub points_per_renewal: f64,
    /// Points for each personal-training purchase (a sale of category personal_training).
    #[serde(default)]
    pub points_per_pt_purchase: f64,
    /// Points for each referred client's first membership.
    #[serde(default)]
    pub points_per_referral: f64,
    /// The clients table's lead_source values that mean "referred by a client".
    #[serde(default)]
    pub referral_sources: Vec<String>,
    /// Money value of one point (in the currency of the sales).
    pub point_value: f64,
    /// Share of the issued points that are ever spent (0..1).
    pub redemption_rate: f64,
    /// The highest share of revenue the programme may cost [0.05].
    #[serde(default = "default_share")]
    pub target_cost_share: f64,
}

fn default_share() -> f64 {
    0.05
}

impl LoyaltyRules {
    pub fn load(path: &Path) -> Result<LoyaltyRules> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read points rules {}", path.display()))?;
        LoyaltyRules::parse(&text).with_context(|| format!("points rules {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<LoyaltyRules> {
        let r: LoyaltyRules = toml::from_str(text)?;
        for (k, v) in [
            ("points_per_visit", r.points_per_visit),
            ("points_per_renewal", r.points_per_renewal),
            ("points_per_pt_purchase", r.points_per_pt_purchase),
            ("points_per_referral", r.points_per_referral),
            ("point_value", r.point_value),
        ] {
            if !v.is_finite() || v < 0.0 {
                bail!("{k} must be a number >= 0, got {v}");
            }
        }
        if !(0.0..=1.0).contains(&r.redemption_rate) {
            bail!(
                "redemption_rate is a share of the points: between 0 and 1, got {}",
                r.redemption_rate
            );
        }
        if !(r.target_cost_share > 0.0 && r.target_cost_share <= 1.0) {
            bail!(
                "target_cost_share is a share of revenue: above 0, at most 1, got {}",
                r.target_cost_share
            );
        }
        Ok(r)
    }

    /// The rules as the parameters queries/loyalty.sql reads.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            ("points_per_visit", Param::Float(self.points_per_visit)),
            ("points_per_renewal", Param::Float(self.points_per_renewal)),
            (
                "points_per_pt_purchase",
                Param::Float(self.points_per_pt_purchase),
            ),
            (
                "points_per_referral",
                Param::Float(self.points_per_referral),
            ),
            (
                "referral_sources",
                Param::List(self.referral_sources.clone()),
            ),
            ("point_value", Param::Float(self.point_value)),
            ("redemption_rate", Param::Float(self.redemption_rate)),
            ("target_cost_share", Param::Float(self.target_cost_share)),
        ]
    }

    /// Binds the rules into `profile` (so that `--param point_value=...` may still override
    /// one afterwards).
    pub fn apply(&self, profile: &mut Profile) {
        for (k, v) in self.params() {
            profile.insert_param(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_bad_values_are_refused() {
        let r = LoyaltyRules::parse(include_str!("../../../examples/loyalty.toml")).unwrap();
        assert_eq!(r.target_cost_share, 0.05);
        assert!(r.point_value > 0.0);
        assert!(LoyaltyRules::parse("point_value = 1\nredemption_rate = 1.5").is_err());
        assert!(LoyaltyRules::parse("point_value = -1\nredemption_rate = 0.5").is_err());
        assert!(LoyaltyRules::parse("point_value = 1\nredemption_rate = 0.5\nbogus = 1").is_err());
        let r = LoyaltyRules::parse("point_value = 1\nredemption_rate = 0.5").unwrap();
        assert_eq!(r.points_per_visit, 0.0);
        assert_eq!(r.target_cost_share, 0.05);
    }
}
