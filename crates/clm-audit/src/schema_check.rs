//! Check 2, schema: every column of every file is a canonical field (schemas/) of the file's
//! table, of a non-`direct` class, with the type schemas/ gives it. Reading each file's
//! decrypted footer also yields the plan of the value scan: which columns to read and what
//! rules their values answer to.

use std::collections::BTreeSet;

use arrow_schema::DataType;
use clm_core::bundle::FileEntry;
use clm_core::pid::Domain;
use clm_core::schema::{self, ColumnType, FieldDef, Generalize, PrivacyClass};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use serde_json::json;

use crate::open::Opened;
use crate::report::{group, CheckReport, Finding};

/// What a string column's values must look like.
#[derive(Debug, Clone)]
pub enum StrKind {
    Pid(Domain),
    /// A category without a vocabulary: any text, scanned.
    FreeCategory,
    /// A closed vocabulary (schemas/ `values`).
    Vocabulary(&'static [String]),
    AgeBand,
    Prefix3,
    /// A string field with no further rule, or a column schemas/ does not know.
    Plain,
}

#[derive(Debug, Clone)]
pub enum ColKind {
    Str(StrKind),
    Int,
    Money,
}

#[derive(Debug, Clone)]
pub struct ColPlan {
    pub name: String,
    pub kind: ColKind,
}

/// Positions, in the projected batch, of what the risk check reads from a clients file.
#[derive(Debug, Clone)]
pub struct RiskCols {
    pub pid: Option<usize>,
    /// (column name, position)
    pub qi: Vec<(String, usize)>,
}

/// How to scan one readable file.
pub struct FilePlan<'a> {
    pub entry: &'a FileEntry,
    pub meta: ArrowReaderMetadata,
    /// Root columns to read, ascending.
    pub projection: Vec<usize>,
    /// One per projected column, in order.
    pub cols: Vec<ColPlan>,
    pub row_groups: usize,
    pub risk: Option<RiskCols>,
    /// Strings of the file's decrypted metadata (keys and values).
    pub metadata: Vec<String>,
}

/// The quasi-identifiers of the clients table, in the order of SPEC §3.6.
pub const QUASI: [&str; 4] = ["gender", "age_band", "branch", "postal_prefix"];

pub struct SchemaOutcome<'a> {
    pub report: CheckReport,
    pub plans: Vec<FilePlan<'a>>,
    /// Files that could not be read (the scan skips them).
    pub unreadable: usize,
}

fn string_kind(f: &'static FieldDef) -> StrKind {
    match (f.class, f.column_type, f.generalize) {
        (PrivacyClass::Identifier, _, _) | (_, Some(ColumnType::Pid), _) => f
            .domain
            .as_deref()
            .and_then(Domain::parse)
            .map(StrKind::Pid)
            .unwrap_or(StrKind::Plain),
        (_, _, Some(Generalize::AgeBand)) => StrKind::AgeBand,
        (_, _, Some(Generalize::Prefix3)) => StrKind::Prefix3,
        _ => match &f.values {
            Some(v) => StrKind::Vocabulary(v.as_slice()),
            None if f.class == PrivacyClass::Category => StrKind::FreeCategory,
            None => StrKind::Plain,
        },
    }
}

fn is_stringish(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
    )
}

fn is_int(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// Reads every listed, present file's footer; reports what is not canonical.
pub fn check<'a>(opened: &'a Opened) -> SchemaOutcome<'a> {
    let canon = schema::canonical();
    let mut report = CheckReport::new("schema");
    let mut plans = Vec::new();
    let mut unreadable = 0usize;
    let mut columns_checked = 0u64;
    let mut files_read = 0u64;
    let mut not_scanned: Vec<String> = Vec::new();
    let finding = |e: &FileEntry, column: &str, detector: &str, detail: String| Finding {
        table: e.table.clone(),
        column: column.to_string(),
        detector: detector.into(),
        count: 1,
        file: Some(e.path.clone()),
        detail,
    };
    for e in &opened.manifest.files {
        if !opened.present(e) {
            continue; // an integrity problem, reported there
        }
        let ts = canon.table(&e.table);
        if ts.is_none() {
            report.findings.push(finding(
                e,
                "",
                "unknown_table",
                format!(
                    "the manifest files {} under table {:?}, which is not a canonical table",
                    e.path, e.table
                ),
            ));
        }
        let meta = match opened.metadata(e) {
            Ok(m) => m,
            Err(msg) => {
                unreadable += 1;
                report
                    .findings
                    .push(finding(e, "", "unreadable", format!("{}: {msg}", e.path)));
                continue;
            }
        };
        files_read += 1;
        let rows: i64 = meta.metadata().file_metadata().num_rows();
        if rows as u64 != e.rows {
            report.findings.push(finding(
                e,
                "",
                "row_count",
                format!(
                    "{} holds {} rows, the manifest says {}",
                    e.path,
                    group(rows.max(0) as u64),
                    group(e.rows)
                ),
            ));
        }
        let arrow = meta.schema().clone();
        let mut seen = BTreeSet::new();
        let mut projection = Vec::new();
        let mut cols = Vec::new();
        let mut qi_pos: Vec<(String, usize)> = Vec::new();
        let mut pid_pos = None;
        for (i, field) in arrow.fields().iter().enumerate() {
            columns_checked += 1;
            let name = field.name();
            if !seen.insert(name.clone()) {
                report.findings.push(finding(
                    e,
                    name,
                    "duplicate_column",
                    format!("{} has two columns of this name", e.path),
                ));
            }
            let def = ts.and_then(|t| t.field_by_output(name));
            let dt = field.data_type();
            match def {
                None => report.findings.push(finding(
                    e,
                    name,
                    "not_canonical",
                    format!(
                        "{} has a column that is not a field of {} in schemas/",
                        e.path, e.table
                    ),
                )),
                Some(d) if d.class == PrivacyClass::Direct || !d.is_exported() => {
                    report.findings.push(finding(
                        e,
                        name,
                        "direct_field",
                        format!(
                            "{} holds field {} of class direct, which is never exported",
                            e.path, d.name
                        ),
                    ))
                }
                Some(d) => {
                    let want = d.column_type.expect("exported fields have a type").arrow();
                    if *dt != want {
                        report.findings.push(finding(
                            e,
                            name,
                            "type",
                            format!("{} stores it as {dt}; schemas/ says {want}", e.path),
                        ));
                    }
                }
            }
            // What the value scan reads: every string and every integer or decimal column
            // (a number of ten digits or more may be a phone or a card).
            let kind = if is_stringish(dt) {
                Some(ColKind::Str(def.map(string_kind).unwrap_or(StrKind::Plain)))
            } else if is_int(dt) {
                Some(ColKind::Int)
            } else if matches!(dt, DataType::Decimal128(_, _)) {
                Some(ColKind::Money)
            } else {
                if def.is_none() {
                    not_scanned.push(format!("{}.{name} ({dt})", e.table));
                }
                None
            };
            if let Some(kind) = kind {
                let pos = cols.len();
                if e.table == "clients" && matches!(kind, ColKind::Str(_)) {
                    if name == "client_pid" {
                        pid_pos = Some(pos);
                    } else if QUASI.contains(&name.as_str()) {
                        qi_pos.push((name.clone(), pos));
                    }
                }
                projection.push(i);
                cols.push(ColPlan {
                    name: name.clone(),
                    kind,
                });
            }
        }
        qi_pos.sort_by_key(|(n, _)| QUASI.iter().position(|q| q == n));
        // Every string of the decrypted footer a writer could put anything into: keys and
        // values of the key-value metadata (the Arrow schema decoded), field metadata,
        // created_by.
        let mut metadata: BTreeSet<String> = BTreeSet::new();
        let fm = meta.metadata().file_metadata();
        if let Some(cb) = fm.created_by() {
            metadata.insert(cb.to_string());
        }
        let kv = fm
            .key_value_metadata()
            .into_iter()
            .flatten()
            .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()));
        let arrow_kv = arrow.metadata().iter().map(|(k, v)| (k.clone(), v.clone()));
        let field_kv = arrow
            .fields()
            .iter()
            .flat_map(|f| f.metadata().iter().map(|(k, v)| (k.clone(), v.clone())));
        for (k, v) in kv.chain(arrow_kv).chain(field_kv) {
            if k == "ARROW:schema" {
                continue; // base64 of the schema, decoded above
            }
            metadata.insert(k);
            metadata.insert(v);
        }
        metadata.remove("");
        let metadata: Vec<String> = metadata.into_iter().collect();
        let row_groups = meta.metadata().num_row_groups();
        let risk = (e.table == "clients").then_some(RiskCols {
            pid: pid_pos,
            qi: qi_pos,
        });
        plans.push(FilePlan {
            entry: e,
            meta,
            projection,
            cols,
            row_groups,
            risk,
            metadata,
        });
    }
    for ts in &canon.tables {
        if ts.required && !opened.manifest.files.iter().any(|f| f.table == ts.table) {
            report.findings.push(Finding {
                table: ts.table.clone(),
                column: String::new(),
                detector: "missing_table".into(),
                count: 1,
                file: None,
                detail: format!("the bundle has no file of the required table {}", ts.table),
            });
        }
    }
    let m = &opened.manifest;
    if m.files.iter().any(|f| f.table == "clients") && m.table_rows("clients") == 0 {
        report.findings.push(Finding {
            table: "clients".into(),
            column: String::new(),
            detector: "empty_table".into(),
            count: 1,
            file: None,
            detail: "the clients table has no row: every analysis of this bundle would be empty; \
                     export again from the right clients file"
                .into(),
        });
    }
    if !not_scanned.is_empty() {
        report.notes.push(format!(
            "columns of other types were not scanned for values: {}",
            not_scanned.join(", ")
        ));
    }
    report.figures = json!({
        "files_read": files_read,
        "files_unreadable": unreadable,
        "columns_checked": columns_checked,
        "problems": report.findings.len(),
    });
    report.summary = format!(
        "{files_read} files, {columns_checked} columns: {}",
        if report.findings.is_empty() {
            "all canonical, non-direct, typed as in schemas/".to_string()
        } else {
            format!("{} problems", report.findings.len())
        }
    );
    report.settle();
    SchemaOutcome {
        report,
        plans,
        unreadable,
    }
}
