//! Header synonyms (`schemas/synonyms.toml`, embedded at build time and parsed once): the
//! header patterns by which `inspect` recognises a column's field, and the vocabulary that
//! tells a header row from a row of data.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

const TEXT: &str = include_str!("../../../schemas/synonyms.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    fields: BTreeMap<String, Vec<String>>,
    header: HeaderWords,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderWords {
    words: Vec<String>,
}

struct Synonyms {
    fields: BTreeMap<String, Vec<String>>,
    /// Every word of a pattern and of `[header] words`, two letters or more.
    vocabulary: Vec<String>,
}

static SYNONYMS: LazyLock<Synonyms> = LazyLock::new(|| {
    let f: File = toml::from_str(TEXT).expect("schemas/synonyms.toml parses (tested)");
    let mut vocabulary: Vec<String> = f
        .fields
        .values()
        .flatten()
        .chain(&f.header.words)
        .flat_map(|p| words(p.trim_start_matches('=')))
        .filter(|w| w.chars().count() >= 2)
        .collect();
    vocabulary.sort();
    vocabulary.dedup();
    Synonyms {
        fields: f.fields,
        vocabulary,
    }
});

/// The header patterns of a field of a table: its `"table.field"` entry if there is one,
/// else its `field` entry (see the file for the pattern syntax).
pub fn patterns(table: &str, field: &str) -> &'static [String] {
    let s = &*SYNONYMS;
    s.fields
        .get(&format!("{table}.{field}"))
        .or_else(|| s.fields.get(field))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Lowercase words of a header: `ё` → `е`, punctuation (and `№`) → spaces.
pub fn words(h: &str) -> Vec<String> {
    let lower = h.to_lowercase().replace('ё', "е");
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Whether a pattern word matches a header word: as a prefix when it has 4 letters or
/// more (`регистрац` finds `регистрации`), else exactly.
pub fn word_match(pattern: &str, header_word: &str) -> bool {
    if pattern.chars().count() >= 4 {
        header_word.starts_with(pattern)
    } else {
        header_word == pattern
    }
}

/// Whether a cell holds a word that column names are made of ("Телефон", "Дата визита",
/// "Customer ID").
pub fn has_header_word(cell: &str) -> bool {
    let voc = &SYNONYMS.vocabulary;
    words(cell)
        .iter()
        .any(|w| voc.iter().any(|v| word_match(v, w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_names_a_canonical_field() {
        let canon = crate::schema::canonical();
        let s = &*SYNONYMS;
        assert!(s.fields.len() > 40);
        for (key, pats) in &s.fields {
            let ok = match key.split_once('.') {
                Some((t, f)) => canon.table(t).is_some_and(|t| t.field(f).is_some()),
                None => canon.tables.iter().any(|t| t.field(key).is_some()),
            };
            assert!(ok, "synonyms.toml: {key} is no canonical field");
            assert!(!pats.is_empty(), "{key}");
            for p in pats {
                assert!(!words(p).is_empty(), "{key}: {p:?} has no words");
            }
        }
        assert!(patterns("clients", "notes")
            .iter()
            .any(|p| p == "комментарий"));
        assert!(patterns("visits", "notes").is_empty());
        assert!(patterns("sales", "sale_id")
            .iter()
            .any(|p| p == "код продажи"));
    }

    #[test]
    fn header_words() {
        for h in [
            "Телефон",
            "Дата и время визита",
            "Customer ID",
            "№ договора",
            "Сумма, руб",
        ] {
            assert!(has_header_word(h), "{h}");
        }
        for v in [
            "Смирнова",
            "Анна",
            "Ж",
            "Москва",
            "Ivanova",
            "+7 916",
            "1500,00",
        ] {
            assert!(!has_header_word(v), "{v}");
        }
    }
}
