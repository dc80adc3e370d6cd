//! The canonical schema (SPEC §4), read from the files in `schemas/`.
//!
//! The TOML files are the single definition of the tables: embedded here at build time so
//! that every tool (pseudonymizer, audit, analysis) agrees on them, never typed out twice.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;

use crate::{Error, Result};

/// The schema files, in table order.
const SCHEMA_FILES: [(&str, &str); 6] = [
    ("clients", include_str!("../../../schemas/clients.toml")),
    (
        "memberships",
        include_str!("../../../schemas/memberships.toml"),
    ),
    ("visits", include_str!("../../../schemas/visits.toml")),
    ("services", include_str!("../../../schemas/services.toml")),
    ("sales", include_str!("../../../schemas/sales.toml")),
    ("feedback", include_str!("../../../schemas/feedback.toml")),
];

/// Privacy class of a field (SPEC §3.3): decides what may happen to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyClass {
    Identifier,
    Direct,
    Quasi,
    Time,
    Category,
    Measure,
}

impl PrivacyClass {
    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyClass::Identifier => "identifier",
            PrivacyClass::Direct => "direct",
            PrivacyClass::Quasi => "quasi",
            PrivacyClass::Time => "time",
            PrivacyClass::Category => "category",
            PrivacyClass::Measure => "measure",
        }
    }
}

/// Type of a bundle column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Pid,
    String,
    Date,
    Timestamp,
    Money,
    Int,
}

impl ColumnType {
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Pid | ColumnType::String => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            // Whole seconds, stored as milliseconds: Parquet has no seconds unit, and arrow-rs
            // writes Timestamp(Second) as a bare INT64 that DuckDB and DataFusion read as a
            // number, not a timestamp.
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            ColumnType::Money => DataType::Decimal128(18, 2),
            ColumnType::Int => DataType::Int64,
        }
    }
}

/// How a quasi-identifier is generalized before export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generalize {
    /// Birth date → age band at the export's as-of date.
    AgeBand,
    /// Postal code → its first three characters.
    Prefix3,
}

/// A field a mapping may assign.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub name: String,
    pub class: PrivacyClass,
    /// The bundle column; `None` for direct fields, which are never exported.
    pub output: Option<String>,
    #[serde(rename = "type")]
    pub column_type: Option<ColumnType>,
    pub domain: Option<String>,
    pub generalize: Option<Generalize>,
    /// A closed vocabulary (after the mapping's value map).
    pub values: Option<Vec<String>>,
    /// What a value outside `values` becomes: `reject`, `null`, or a vocabulary value.
    pub unknown: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// What the field is when the mapping names no column for it (a required field may
    /// then go unmapped).
    pub unmapped: Option<Unmapped>,
}

/// The value of a field a mapping leaves unmapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// The row's position in its source, `FILE:LINE` (`FILE[SHEET]:ROW` in a workbook),
    /// pseudonymized in the field's domain: an id for rows that have none of their own.
    RowPosition,
}

impl FieldDef {
    pub fn is_exported(&self) -> bool {
        self.class != PrivacyClass::Direct && self.output.is_some()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    pub table: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "field")]
    pub fields: Vec<FieldDef>,
}

impl TableSchema {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field whose bundle column is `column`.
    pub fn field_by_output(&self, column: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.output.as_deref() == Some(column))
    }

    /// Every exported field, in schema order.
    pub fn exported(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.is_exported())
    }

    /// The full bundle schema of this table (every exported column, nullable).
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.exported()
                .map(|f| {
                    Field::new(
                        f.output.as_deref().unwrap(),
                        f.column_type.expect("checked at load").arrow(),
                        true,
                    )
                })
                .collect::<Vec<_>>(),
        ))
    }
}

#[derive(Debug)]
pub struct CanonicalSchema {
    pub tables: Vec<TableSchema>,
}

impl CanonicalSchema {
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|t| t.table == name)
    }

    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|t| t.table.as_str())
    }
}

fn load() -> Result<CanonicalSchema> {
    let mut tables = Vec::new();
    for (name, text) in SCHEMA_FILES {
        let t: TableSchema =
            toml::from_str(text).map_err(|e| Error::Schema(format!("schemas/{name}.toml: {e}")))?;
        if t.table != name {
            return Err(Error::Schema(format!(
                "schemas/{name}.toml declares table {}",
                t.table
            )));
        }
        for f in &t.fields {
            let bad =
                |m: &str| Error::Schema(format!("schemas/{name}.toml: field {}: {m}", f.name));
            match f.class {
                PrivacyClass::Direct => {
                    if f.output.is_some() {
                        return Err(bad("a direct field must not have an output column"));
                    }
                }
                _ => {
                    if f.output.is_none() || f.column_type.is_none() {
                        return Err(bad("needs output and type"));
                    }
                }
            }
            if f.class == PrivacyClass::Identifier && f.domain.is_none() {
                return Err(bad("an identifier needs a domain"));
            }
            if f.unmapped.is_some() && f.class != PrivacyClass::Identifier {
                return Err(bad("only an identifier can be derived when unmapped"));
            }
            if f.class == PrivacyClass::Quasi && f.column_type != Some(ColumnType::String) {
                return Err(bad("quasi fields are exported as strings"));
            }
        }
        tables.push(t);
    }
    Ok(CanonicalSchema { tables })
}

static CANONICAL: LazyLock<CanonicalSchema> =
    LazyLock::new(|| load().expect("the embedded schemas/ files are valid (tested)"));

/// The canonical schema of every table.
pub fn canonical() -> &'static CanonicalSchema {
    &CANONICAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_load_and_hold_the_spec_tables() {
        let s = load().unwrap();
        let names: Vec<_> = s.table_names().collect();
        assert_eq!(
            names,
            [
                "clients",
                "memberships",
                "visits",
                "services",
                "sales",
                "feedback"
            ]
        );
        let clients = s.table("clients").unwrap();
        let cols: Vec<_> = clients
            .arrow_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            cols,
            [
                "client_pid",
                "branch",
                "gender",
                "age_band",
                "postal_prefix",
                "registered_on",
                "lead_source",
                "trial_booked_on",
                "archived_on"
            ]
        );
        assert!(s.tables.iter().all(|t| t.field("client_id").is_some()));
        assert_eq!(
            s.table("memberships")
                .unwrap()
                .field("price")
                .unwrap()
                .column_type,
            Some(ColumnType::Money)
        );
    }

    #[test]
    fn direct_fields_are_never_output() {
        for t in &canonical().tables {
            for f in &t.fields {
                if f.class == PrivacyClass::Direct {
                    assert!(!f.is_exported());
                }
            }
        }
    }
}
