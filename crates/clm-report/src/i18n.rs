//! The message catalogue of the report and the forms (`messages.toml`, embedded), and number
//! formatting per language. Stage names and recommended actions are the profile's.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

const CATALOGUE: &str = include_str!("messages.toml");

/// Texts of one language, with English as the fallback.
#[derive(Debug, Clone)]
pub struct Messages {
    pub lang: String,
    texts: BTreeMap<String, String>,
    fallback: BTreeMap<String, String>,
}

/// How a figure is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A share or rate in [0, 1], shown as a percentage.
    Percent,
    /// Money, two decimals.
    Money,
    /// A whole number.
    Count,
    /// Any other number, two decimals at most.
    Number,
}

/// How the figure named `name` (a column of an output) is shown.
pub fn kind_of(name: &str) -> Kind {
    match name {
        "revenue" | "revenue_per_visit" | "new_money" | "portfolio_revenue" | "cost"
        | "mean_monetary" | "monetary" | "max_point_value" | "point_value" => Kind::Money,
        "new_clients"
        | "leads"
        | "clients"
        | "base"
        | "at_risk"
        | "starter_completed"
        | "loss"
        | "points"
        | "visit_points"
        | "renewal_points"
        | "pt_points"
        | "referral_points"
        | "earners"
        | "rows"
        | "rows_unknown_client"
        | "rows_after_as_of"
        | "due"
        | "done"
        | "retained"
        | "baseline_periods_used"
        | "accounts" => Kind::Count,
        n if n.ends_with("_rate")
            || n.ends_with("_share")
            || n.ends_with("conversion")
            || n == "share"
            || n.starts_with('m') && n.len() == 3 && n[1..].chars().all(|c| c.is_ascii_digit()) =>
        {
            Kind::Percent
        }
        _ => Kind::Number,
    }
}

fn flatten(table: &toml::Table) -> BTreeMap<String, String> {
    table
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

impl Messages {
    pub fn new(lang: &str) -> Result<Messages> {
        let all: toml::Table = toml::from_str(CATALOGUE).context("messages.toml")?;
        let Some(texts) = all.get(lang).and_then(|v| v.as_table()) else {
            bail!("no messages for language {lang:?}");
        };
        let fallback = all
            .get("en")
            .and_then(|v| v.as_table())
            .map(flatten)
            .unwrap_or_default();
        Ok(Messages {
            lang: lang.to_string(),
            texts: flatten(texts),
            fallback,
        })
    }

    /// The text of `key` (English when the language lacks it, else the key).
    pub fn t(&self, key: &str) -> String {
        self.texts
            .get(key)
            .or_else(|| self.fallback.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    /// Whether the catalogue has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.texts.contains_key(key) || self.fallback.contains_key(key)
    }

    /// The text of `key` with `{name}` replaced by each value.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key);
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    /// `prefix.name` if the catalogue has it, else `name`.
    pub fn label(&self, prefix: &str, name: &str) -> String {
        let key = format!("{prefix}.{name}");
        if self.has(&key) {
            self.t(&key)
        } else {
            name.to_string()
        }
    }

    fn ru(&self) -> bool {
        self.lang == "ru"
    }

    /// A number with `decimals` decimals and grouped thousands (ru: `1 234,5`; en: `1,234.5`).
    pub fn num(&self, x: f64, decimals: usize) -> String {
        let s = format!("{:.*}", decimals, x.abs());
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i.to_string(), Some(f.to_string())),
            None => (s.clone(), None),
        };
        let sep = if self.ru() { '\u{a0}' } else { ',' };
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(sep);
            }
            grouped.push(c);
        }
        let negative = x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
        let mut out = if negative {
            format!("−{grouped}")
        } else {
            grouped
        };
        if let Some(f) = frac {
            out.push(if self.ru() { ',' } else { '.' });
            out.push_str(&f);
        }
        out
    }

    /// A share in [0, 1] as a percentage with one decimal.
    pub fn pct(&self, x: f64) -> String {
        let n = self.num(x * 100.0, 1);
        if self.ru() {
            format!("{n}\u{a0}%")
        } else {
            format!("{n}%")
        }
    }

    /// A share in [0, 1] as a whole percentage.
    pub fn pct0(&self, x: f64) -> String {
        let n = self.num(x * 100.0, 0);
        if self.ru() {
            format!("{n}\u{a0}%")
        } else {
            format!("{n}%")
        }
    }

    /// A figure as `kind` says.
    pub fn fmt(&self, kind: Kind, x: f64) -> String {
        match kind {
            Kind::Percent => self.pct(x),
            Kind::Money => self.num(x, 2),
            Kind::Count => self.num(x, 0),
            Kind::Number => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    self.num(x, 0)
                } else {
                    self.num(x, 2)
                }
            }
        }
    }

    /// The figure of column `name`.
    pub fn fmt_named(&self, name: &str, x: f64) -> String {
        self.fmt(kind_of(name), x)
    }

    /// yes / no.
    pub fn yes_no(&self, b: bool) -> String {
        self.t(if b { "yes" } else { "no" })
    }

    /// A scope for people: `(all)` → "All branches", `(none)` → "(no branch)".
    pub fn scope(&self, branch: &str) -> String {
        match branch {
            "(all)" => self.t("all_scope"),
            "(none)" => self.t("none_branch"),
            b => b.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_key() {
        let all: toml::Table = toml::from_str(CATALOGUE).unwrap();
        let ru = flatten(all["ru"].as_table().unwrap());
        let en = flatten(all["en"].as_table().unwrap());
        let a: Vec<_> = ru.keys().collect();
        let b: Vec<_> = en.keys().collect();
        assert_eq!(a, b, "ru and en name the same keys");
    }

    #[test]
    fn numbers_per_language() {
        let ru = Messages::new("ru").unwrap();
        let en = Messages::new("en").unwrap();
        assert_eq!(ru.num(1234567.891, 2), "1\u{a0}234\u{a0}567,89");
        assert_eq!(en.num(1234567.891, 2), "1,234,567.89");
        assert_eq!(en.num(-12.5, 1), "−12.5");
        assert_eq!(en.num(-0.001, 1), "0.0");
        assert_eq!(en.pct(0.5321), "53.2%");
        assert_eq!(ru.pct(0.5321), "53,2\u{a0}%");
        assert_eq!(ru.pct0(0.5361), "54\u{a0}%");
        assert_eq!(kind_of("renewal_rate"), Kind::Percent);
        assert_eq!(kind_of("m07"), Kind::Percent);
        assert_eq!(kind_of("revenue"), Kind::Money);
        assert_eq!(kind_of("leads"), Kind::Count);
        assert_eq!(kind_of("nps"), Kind::Number);
        assert_eq!(ru.label("metric", "churn_rate"), "Отток");
        assert_eq!(ru.label("metric", "no_such"), "no_such");
        assert!(en
            .f(
                "subtitle",
                &[("as_of", "2026-11-01"), ("profile", "fitness")]
            )
            .contains("2026-11-01"));
    }
}
