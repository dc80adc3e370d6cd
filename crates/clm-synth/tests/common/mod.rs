//! Helpers shared by the export and profile tests.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

/// The canonical field names of each table, read from the workspace's schemas/.
pub fn canonical_fields() -> HashMap<String, HashSet<String>> {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let mut out = HashMap::new();
    for table in ["clients", "memberships", "visits", "services", "sales", "feedback"] {
        let text = fs::read_to_string(schemas.join(format!("{table}.toml"))).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        let names = doc["field"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        out.insert(table.to_string(), names);
    }
    out
}

/// Checks that a cp1251 file holds the text of its UTF-8 twin (and is not UTF-8 itself when
/// it has Cyrillic text).
pub fn same_text(utf8: &Path, cp1251: &Path, name: &str) {
    let utf8 = fs::read(utf8).unwrap();
    let cp = fs::read(cp1251).unwrap();
    let (decoded, _, had_errors) = encoding_rs::WINDOWS_1251.decode(&cp);
    assert!(!had_errors, "{name}");
    assert_eq!(decoded, std::str::from_utf8(&utf8).unwrap(), "{name}");
}

/// A `;`-separated CSV file: its header and rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .unwrap();
    let strings = |rec: &csv::StringRecord| rec.iter().map(str::to_string).collect::<Vec<_>>();
    let header = strings(r.headers().unwrap());
    let rows = r.records().map(|rec| strings(&rec.unwrap())).collect();
    (header, rows)
}

/// A CSV file the generator wrote, every row as long as the header.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn load(dir: &Path, file: &str) -> Self {
        let (header, rows) = read_csv(&dir.join(file));
        for r in &rows {
            assert_eq!(r.len(), header.len(), "{file}: ragged row {r:?}");
        }
        Table { header, rows }
    }
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
    pub fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let i = self.col(name);
        self.rows.iter().map(move |r| r[i].as_str())
    }
}
