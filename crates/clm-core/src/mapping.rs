//! Source mappings (SPEC §4): which source column becomes which canonical field, and how
//! to parse it. The format is documented in `schemas/example-mapping.toml`.
//!
//! A mapping is checked against the canonical schema when it is loaded, so a typo in a
//! field name is an error before any data is read, not a silently dropped column.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::pid::Normalize;
use crate::schema::{self, ColumnType, FieldDef, PrivacyClass};
use crate::values::{AgeBands, DateFormat, Truncate};
use crate::{Error, Result};

/// Character encoding of a CSV source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 (with or without BOM) if the start of the file is valid UTF-8, else Windows-1251.
    #[default]
    Auto,
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    #[serde(alias = "windows-1251", alias = "CP1251")]
    Cp1251,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceOptions {
    encoding: Option<Encoding>,
    delimiter: Option<String>,
    date_format: Option<String>,
    datetime_format: Option<String>,
    decimal_comma: Option<bool>,
    null_markers: Option<Vec<String>>,
    /// Workbooks: the most one part (a sheet, the shared strings) may unpack to, in MiB.
    max_unpacked_mb: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default = "default_rare_k")]
    rare_k: u32,
    #[serde(default = "default_rare_k")]
    k_anonymity: u32,
    #[serde(default = "default_bands")]
    age_bands: Vec<u32>,
    #[serde(default)]
    truncate_timestamps: Truncate,
}

fn default_rare_k() -> u32 {
    5
}
fn default_bands() -> Vec<u32> {
    AgeBands::DEFAULT.to_vec()
}

impl Default for PolicyFile {
    fn default() -> Self {
        PolicyFile {
            rare_k: default_rare_k(),
            k_anonymity: default_rare_k(),
            age_bands: default_bands(),
            truncate_timestamps: Truncate::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum FieldSpec {
    Column(String),
    Full(FieldOptions),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldOptions {
    column: String,
    format: Option<String>,
    #[serde(default)]
    map: BTreeMap<String, String>,
    normalize: Option<Normalize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    file: PathBuf,
    sheet: Option<String>,
    #[serde(flatten)]
    options: SourceOptions,
    #[serde(default)]
    fields: BTreeMap<String, FieldSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    /// The club's name (top-level, before the first `[section]`).
    club: Option<String>,
    #[serde(default)]
    source: SourceOptions,
    #[serde(default)]
    policy: PolicyFile,
    #[serde(default)]
    tables: BTreeMap<String, TableFile>,
}

/// Cell texts read as empty unless a mapping sets `null_markers` (compared after trimming).
pub const DEFAULT_NULL_MARKERS: [&str; 8] = ["—", "–", "-", "н.д.", "н/д", "NULL", "null", "#N/A"];

/// The export policy of a mapping (SPEC §3.3).
#[derive(Debug, Clone)]
pub struct Policy {
    pub rare_k: u32,
    /// Smallest class of the clients table over its quasi-identifiers (0 or 1: off).
    pub k_anonymity: u32,
    pub age_bands: AgeBands,
    pub truncate_timestamps: Truncate,
}

/// A mapped field, resolved against the schema.
#[derive(Debug, Clone)]
pub struct MappedField {
    pub def: FieldDef,
    /// The source column's header.
    pub column: String,
    /// For date and timestamp fields (and birth dates).
    pub format: Option<DateFormat>,
    /// Source value (trimmed) → canonical value.
    pub map: HashMap<String, String>,
    pub normalize: Normalize,
}

impl MappedField {
    /// The value map applied to a trimmed cell (SPEC §4 value maps such as Ж → f).
    pub fn mapped<'a>(&'a self, cell: &'a str) -> &'a str {
        let t = cell.trim();
        self.map.get(t).map(String::as_str).unwrap_or(t)
    }

    /// The id a pid is computed from (SPEC §3.2): the cell trimmed, the value map applied,
    /// normalized as the mapping says; `None` when nothing is left. Every tool that
    /// recomputes pids from a source (export, reidentify, check) goes through here.
    pub fn source_id<'a>(&'a self, cell: &'a str) -> Option<std::borrow::Cow<'a, str>> {
        let id = crate::pid::normalize(self.mapped(cell), self.normalize);
        (!id.is_empty()).then_some(id)
    }
}

/// One source file and its fields.
#[derive(Debug, Clone)]
pub struct TableMapping {
    pub table: String,
    pub file: PathBuf,
    pub sheet: Option<String>,
    pub encoding: Encoding,
    pub delimiter: u8,
    pub decimal_comma: bool,
    /// Cell texts (trimmed) that mean "no value": the cell is read as empty.
    pub null_markers: Vec<String>,
    /// Workbooks: the most one zip part may unpack to, in bytes (`max_unpacked_mb`).
    pub max_unpacked: u64,
    pub fields: Vec<MappedField>,
}

impl TableMapping {
    pub fn field(&self, name: &str) -> Option<&MappedField> {
        self.fields.iter().find(|f| f.def.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub path: PathBuf,
    /// The club's name (`club = "…"` at the top of the mapping), recorded in the manifest.
    /// Not personal data, but the consultant sees it.
    pub club: Option<String>,
    pub policy: Policy,
    /// In canonical table order.
    pub tables: Vec<TableMapping>,
}

impl Mapping {
    pub fn load(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::mapping(
                path,
                match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    std::io::ErrorKind::InvalidData => {
                        "not UTF-8 text (save the mapping as UTF-8)".to_string()
                    }
                    _ => e.to_string(),
                },
            )
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(path, &text, &base)
    }

    /// Parses mapping text; relative file names are taken from `base`.
    pub fn parse(path: &Path, text: &str, base: &Path) -> Result<Mapping> {
        let err = |m: String| Error::mapping(path, m);
        let mf: MappingFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let canon = schema::canonical();
        if let Some(club) = &mf.club {
            crate::bundle::check_club_name(club).map_err(|m| err(format!("club: {m}")))?;
        }
        let policy = Policy {
            rare_k: mf.policy.rare_k,
            k_anonymity: mf.policy.k_anonymity,
            age_bands: AgeBands::new(&mf.policy.age_bands)
                .map_err(|m| err(format!("[policy] {m}")))?,
            truncate_timestamps: mf.policy.truncate_timestamps,
        };
        if policy.rare_k == 0 {
            return Err(err("[policy] rare_k must be at least 1".into()));
        }
        for name in mf.tables.keys() {
            if canon.table(name).is_none() {
                return Err(err(format!(
                    "[tables.{name}]: not a canonical table (known: {})",
                    canon.table_names().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        // Without [tables.clients], the export derives the clients table from the client
        // ids of the other tables (a transactions-only export); it needs one of them.
        if mf.tables.is_empty() {
            return Err(err(
                "no [tables.*]: map at least the clients table, or an event table (visits, sales, …) whose client ids make it".into()
            ));
        }
        let mut tables = Vec::new();
        for ts in &canon.tables {
            let Some(tf) = mf.tables.get(&ts.table) else {
                continue;
            };
            let t = &ts.table;
            let opt = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
            let encoding = tf
                .options
                .encoding
                .or(mf.source.encoding)
                .unwrap_or_default();
            let delim_s =
                opt(&tf.options.delimiter, &mf.source.delimiter).unwrap_or_else(|| ";".into());
            let delim_s = if delim_s == "\\t" {
                "\t".to_string()
            } else {
                delim_s
            };
            if delim_s.len() != 1 {
                return Err(err(format!(
                    "[tables.{t}] delimiter must be one ASCII character, e.g. \";\" or \"\\t\""
                )));
            }
            let date_fmt = opt(&tf.options.date_format, &mf.source.date_format)
                .unwrap_or_else(|| "DD.MM.YYYY".into());
            let dt_fmt = opt(&tf.options.datetime_format, &mf.source.datetime_format)
                .unwrap_or_else(|| format!("{date_fmt} HH:mm:ss"));
            let decimal_comma = tf
                .options
                .decimal_comma
                .or(mf.source.decimal_comma)
                .unwrap_or(true);
            let null_markers: Vec<String> = tf
                .options
                .null_markers
                .clone()
                .or_else(|| mf.source.null_markers.clone())
                .unwrap_or_else(|| DEFAULT_NULL_MARKERS.iter().map(|s| s.to_string()).collect())
                .into_iter()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
            let max_unpacked = match tf.options.max_unpacked_mb.or(mf.source.max_unpacked_mb) {
                None => crate::xlsx::DEFAULT_MAX_UNPACKED,
                Some(0) => {
                    return Err(err(format!(
                        "[tables.{t}] max_unpacked_mb must be at least 1 (the default is {})",
                        crate::xlsx::DEFAULT_MAX_UNPACKED >> 20
                    )))
                }
                Some(mb) => mb.saturating_mul(1 << 20),
            };
            let mut fields = Vec::new();
            for (fname, spec) in &tf.fields {
                if fname == "club" && ts.field(fname).is_none() {
                    return Err(err(format!(
                        "[tables.{t}.fields] club: the club's name is a top-level key; put `club = \"…\"` before the first [section] of the mapping"
                    )));
                }
                let def = ts.field(fname).ok_or_else(|| {
                    err(format!(
                        "[tables.{t}.fields] {fname}: not a field of {t} (known: {})",
                        ts.fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
                let o = match spec {
                    FieldSpec::Column(c) => FieldOptions {
                        column: c.clone(),
                        format: None,
                        map: BTreeMap::new(),
                        normalize: None,
                    },
                    FieldSpec::Full(o) => o.clone(),
                };
                if o.normalize.is_some()
                    && !matches!(def.class, PrivacyClass::Identifier | PrivacyClass::Direct)
                {
                    return Err(err(format!(
                        "[tables.{t}.fields] {fname}: normalize applies to identifier and direct fields only"
                    )));
                }
                let wants_date = matches!(
                    def.column_type,
                    Some(ColumnType::Date | ColumnType::Timestamp)
                ) || def.generalize == Some(schema::Generalize::AgeBand);
                let format = if wants_date {
                    let pattern = o.format.clone().unwrap_or_else(|| {
                        if def.column_type == Some(ColumnType::Timestamp) {
                            dt_fmt.clone()
                        } else {
                            date_fmt.clone()
                        }
                    });
                    Some(
                        DateFormat::parse_pattern(&pattern)
                            .map_err(|m| err(format!("[tables.{t}.fields] {fname}: {m}")))?,
                    )
                } else {
                    if o.format.is_some() {
                        return Err(err(format!(
                            "[tables.{t}.fields] {fname}: format applies to date fields only"
                        )));
                    }
                    None
                };
                if let Some(vocab) = &def.values {
                    for v in o.map.values() {
                        if !vocab.contains(v) {
                            return Err(err(format!(
                                "[tables.{t}.fields] {fname}: map value {v:?} is not one of {}",
                                vocab.join(", ")
                            )));
                        }
                    }
                }
                fields.push(MappedField {
                    def: def.clone(),
                    column: o.column.clone(),
                    format,
                    map: o
                        .map
                        .iter()
                        .map(|(k, v)| (k.trim().to_string(), v.clone()))
                        .collect(),
                    normalize: o.normalize.unwrap_or_default(),
                });
            }
            for f in &ts.fields {
                if f.required
                    && f.unmapped.is_none()
                    && !fields.iter().any(|m| m.def.name == f.name)
                {
                    return Err(err(format!(
                        "[tables.{t}.fields] the required field {} is not mapped",
                        f.name
                    )));
                }
            }
            // Keep schema order, so every pass over a table sees fields alike.
            fields.sort_by_key(|m| ts.fields.iter().position(|f| f.name == m.def.name));
            tables.push(TableMapping {
                table: t.clone(),
                file: base.join(&tf.file),
                sheet: tf.sheet.clone(),
                encoding,
                delimiter: delim_s.as_bytes()[0],
                decimal_comma,
                null_markers,
                max_unpacked,
                fields,
            });
        }
        Ok(Mapping {
            path: path.to_path_buf(),
            club: mf.club,
            policy,
            tables,
        })
    }

    pub fn table(&self, name: &str) -> Option<&TableMapping> {
        self.tables.iter().find(|t| t.table == name)
    }

    /// Whether the export derives the clients table (no `[tables.clients]`): one row per
    /// client id of the other tables.
    pub fn derives_clients(&self) -> bool {
        self.table("clients").is_none()
    }
}

impl TableMapping {
    /// The source's name in messages and in `row_position` ids: the file name without its
    /// directory (a path could name a person), with the sheet of a workbook: `book.xlsx[Sales]`.
    pub fn source_label(&self) -> String {
        let name = self
            .file
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        match &self.sheet {
            Some(sh) => format!("{name}[{sh}]"),
            None => name,
        }
    }

    /// The id of the record at `line` of the source, for a field derived from the row's
    /// position (`unmapped = "row_position"`): `sales.csv:17`, `book.xlsx[Sales]:17`.
    pub fn row_position_id(&self, line: u64) -> String {
        format!("{}:{line}", self.source_label())
    }

    /// Fields of the table's schema left unmapped that the export derives (`unmapped` in
    /// the schema), by name.
    pub fn derived_fields(&self) -> Vec<&'static FieldDef> {
        schema::canonical()
            .table(&self.table)
            .map(|ts| {
                ts.fields
                    .iter()
                    .filter(|f| f.unmapped.is_some() && self.field(&f.name).is_none())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Mapping> {
        Mapping::parse(Path::new("m.toml"), text, Path::new("/src"))
    }

    #[test]
    fn example_mapping_parses() {
        let text = include_str!("../../../schemas/example-mapping.toml");
        let m = parse(text).unwrap();
        assert_eq!(m.club.as_deref(), Some("Фитнес-клуб Север"));
        assert_eq!(m.policy.rare_k, 5);
        let c = m.table("clients").unwrap();
        assert_eq!(c.file, Path::new("/src/clients.csv"));
        assert_eq!(c.delimiter, b';');
        let g = c.field("gender").unwrap();
        assert_eq!(g.map.get("Ж").map(String::as_str), Some("f"));
        assert_eq!(c.field("phone").unwrap().normalize, Normalize::Digits);
        assert!(c.field("birth_date").unwrap().format.is_some());
        let v = m.table("visits").unwrap();
        assert_eq!(
            v.field("visited_at")
                .unwrap()
                .format
                .as_ref()
                .unwrap()
                .pattern(),
            "DD.MM.YYYY HH:mm"
        );
    }

    #[test]
    fn null_markers_and_sheets() {
        let m = parse("[source]\nnull_markers = ['?', ' x ']\n[tables.clients]\nfile='c.xlsx'\nsheet='Лист1'\n[tables.clients.fields]\nclient_id='a'\n")
            .unwrap();
        let c = m.table("clients").unwrap();
        assert_eq!(c.null_markers, ["?", "x"]);
        assert_eq!(c.sheet.as_deref(), Some("Лист1"));
        let m = parse("[tables.clients]\nfile='c.csv'\n[tables.clients.fields]\nclient_id='a'\nregistered_on={column='r', format='excel'}\n")
            .unwrap();
        let c = m.table("clients").unwrap();
        assert_eq!(c.null_markers.len(), DEFAULT_NULL_MARKERS.len());
        assert!(c
            .field("registered_on")
            .unwrap()
            .format
            .as_ref()
            .unwrap()
            .is_serial());
    }

    #[test]
    fn a_transactions_only_mapping() {
        // No clients table, no sale id: the export derives both.
        let m = parse("[source]\nmax_unpacked_mb = 64\n[tables.sales]\nfile='s.csv'\n[tables.sales.fields]\nclient_id='Клиент'\nsold_at='Дата'\n")
            .unwrap();
        assert!(m.derives_clients());
        let s = m.table("sales").unwrap();
        assert!(s.field("sale_id").is_none());
        let derived: Vec<_> = s.derived_fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(derived, ["sale_id"]);
        assert_eq!(s.source_label(), "s.csv");
        assert_eq!(s.row_position_id(17), "s.csv:17");
        assert_eq!(s.max_unpacked, 64 << 20);
        let m = parse("[tables.clients]\nfile='c.csv'\n[tables.clients.fields]\nclient_id='a'\n")
            .unwrap();
        assert!(!m.derives_clients());
        assert_eq!(m.table("clients").unwrap().max_unpacked, 1 << 30);
    }

    #[test]
    fn the_club_name() {
        let clients = "[tables.clients]\nfile='c.csv'\n[tables.clients.fields]\nclient_id='a'\n";
        let m = parse(&format!("club = \"Fit & Go №3\"\n{clients}")).unwrap();
        assert_eq!(m.club.as_deref(), Some("Fit & Go №3"));
        assert_eq!(parse(clients).unwrap().club, None);
        let err = |text: String| parse(&text).unwrap_err().to_string();
        for (club, why) in [
            ("'north/south'", "path separator"),
            ("''", "empty"),
            ("\"a\\tb\"", "control character"),
        ] {
            let e = err(format!("club = {club}\n{clients}"));
            assert!(e.contains("club: ") && e.contains(why), "{club}: {e}");
            assert!(!e.contains("north"), "the message repeats the name: {e}");
        }
        let e = err(format!("club = '{}'\n{clients}", "x".repeat(101)));
        assert!(e.contains("at most 100"), "{e}");
        // Written after a table header, TOML puts it in that table: say where it belongs.
        let e = err(format!("{clients}club='North'\n"));
        assert!(e.contains("top-level key"), "{e}");
        let e = err(format!("[source]\nclub='North'\n{clients}"));
        assert!(e.contains("club"), "{e}");
    }

    #[test]
    fn errors_name_the_place() {
        let e = parse("[tables.clients]\nfile='c.csv'\n[tables.clients.fields]\nclient_id='a'\nfull_nam='b'\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("full_nam") && e.contains("not a field of clients"),
            "{e}"
        );
        let e = parse("[tables.visits]\nfile='v.csv'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("client_id is not mapped"), "{e}");
        let e = parse("[source]\n").unwrap_err().to_string();
        assert!(e.contains("no [tables.*]"), "{e}");
        let e = parse("[source]\nmax_unpacked_mb = 0\n[tables.clients]\nfile='c.xlsx'\n[tables.clients.fields]\nclient_id='a'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_unpacked_mb must be at least 1"), "{e}");
        let e = parse("[tables.clients]\nfile='c.csv'\n[tables.clients.fields]\nbranch='b'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("client_id is not mapped"), "{e}");
        let e = parse("[tables.clients]\nfile='c.csv'\n[tables.clients.fields]\nclient_id='a'\ngender={column='g', map={x='y'}}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not one of f, m"), "{e}");
        let e = parse("[tables.clientz]\nfile='c.csv'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a canonical table"), "{e}");
        assert!(parse("this is not toml").is_err());
    }
}
