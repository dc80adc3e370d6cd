//! Turning one source record into one bundle row, field by field, as the privacy class of
//! each field says (SPEC §3.3). A row is either converted whole or rejected whole with a
//! reason that names the field, never its value.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use ahash::RandomState;

use arrow_array::builder::{
    Date32Builder, Decimal128Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use chrono::NaiveDate;
use clm_core::mapping::{MappedField, Policy, TableMapping};
use clm_core::pid::{normalize, Domain, PidCache, Pseudonymizer};
use clm_core::schema::{ColumnType, Generalize, PrivacyClass, TableSchema, Unmapped};
use clm_core::values::{self, AgeBands, DateFormat, Truncate};
use clm_core::{Error, Result};

/// What a free category value becomes after the first pass (rare values, PII hits).
#[derive(Debug, Default, Clone)]
pub struct CategoryRules {
    /// Values used by at least `rare_k` clients; others become `other`.
    pub common: HashSet<String, RandomState>,
    /// Values a PII detector hit, replaced by `redacted` (only with `--redact`).
    pub redacted: HashSet<String, RandomState>,
}

pub const OTHER: &str = "other";
pub const REDACTED: &str = "redacted";

/// How an out-of-vocabulary value is handled.
#[derive(Debug, Clone)]
enum Unknown {
    Reject,
    Null,
    Value(String),
}

#[derive(Debug)]
enum Kind {
    Pid {
        cache: usize,
    },
    FreeCategory {
        rules: Arc<CategoryRules>,
    },
    Vocabulary {
        values: Vec<String>,
        unknown: Unknown,
    },
    PlainString,
    AgeBand {
        format: DateFormat,
    },
    Prefix3,
    Date {
        format: DateFormat,
    },
    Timestamp {
        format: DateFormat,
    },
    Money,
    Int,
    /// An unmapped id made of the row's position (`schema::Unmapped::RowPosition`):
    /// `TableMapping::row_position_id`, pseudonymized.
    RowPosition {
        cache: usize,
        table: Box<TableMapping>,
    },
}

#[derive(Debug)]
struct Conv {
    name: String,
    /// Source column index.
    idx: usize,
    map: HashMap<String, String, RandomState>,
    normalize: clm_core::pid::Normalize,
    required: bool,
    kind: Kind,
}

/// A value of one output cell. Text is kept in the converter's row buffer, so that a row
/// is converted without allocating.
#[derive(Debug, Clone)]
enum Val {
    Null,
    Text(Range<usize>),
    Pid([u8; 32]),
    Days(i32),
    Secs(i64),
    Int(i64),
    Money(i128),
}

/// The settings every cell of a table is converted with.
struct Settings {
    pseudonymizer: Pseudonymizer,
    decimal_comma: bool,
    bands: AgeBands,
    as_of: NaiveDate,
    truncate: Truncate,
}

/// One row being converted: its cells, and the text they point into.
#[derive(Default)]
struct RowBuf {
    cells: Vec<Val>,
    text: String,
}

impl RowBuf {
    fn text(&mut self, s: &str) -> Val {
        let start = self.text.len();
        self.text.push_str(s);
        Val::Text(start..self.text.len())
    }
}

enum Builder {
    Str(StringBuilder),
    Date(Date32Builder),
    Ts(TimestampMillisecondBuilder),
    Money(Decimal128Builder),
    Int(Int64Builder),
}

impl Builder {
    fn new(t: ColumnType) -> Self {
        match t {
            ColumnType::Pid | ColumnType::String => Builder::Str(StringBuilder::new()),
            ColumnType::Date => Builder::Date(Date32Builder::new()),
            ColumnType::Timestamp => Builder::Ts(TimestampMillisecondBuilder::new()),
            ColumnType::Money => Builder::Money(
                Decimal128Builder::new()
                    .with_precision_and_scale(18, 2)
                    .expect("valid decimal"),
            ),
            ColumnType::Int => Builder::Int(Int64Builder::new()),
        }
    }

    fn push(&mut self, v: &Val, text: &str) {
        match (self, v) {
            (Builder::Str(b), Val::Null) => b.append_null(),
            (Builder::Str(b), Val::Text(r)) => b.append_value(&text[r.clone()]),
            (Builder::Str(b), Val::Pid(p)) => {
                b.append_value(std::str::from_utf8(p).expect("hex is ASCII"))
            }
            (Builder::Date(b), Val::Days(d)) => b.append_value(*d),
            (Builder::Date(b), Val::Null) => b.append_null(),
            (Builder::Ts(b), Val::Secs(s)) => b.append_value(*s * 1000),
            (Builder::Ts(b), Val::Null) => b.append_null(),
            (Builder::Money(b), Val::Money(m)) => b.append_value(*m),
            (Builder::Money(b), Val::Null) => b.append_null(),
            (Builder::Int(b), Val::Int(i)) => b.append_value(*i),
            (Builder::Int(b), Val::Null) => b.append_null(),
            _ => unreachable!("converter and builder types agree by construction"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::Money(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
        }
    }
}

/// Converts the records of one source table into bundle batches.
pub struct TableConverter {
    schema: SchemaRef,
    /// One per output column: the converter feeding it, or `None` (unmapped → null).
    columns: Vec<Option<Conv>>,
    builders: Vec<Builder>,
    caches: Vec<PidCache>,
    settings: Settings,
    row: RowBuf,
    rows: usize,
    /// Records pushed so far, the position of those pushed without a line number.
    pushed: u64,
}

impl TableConverter {
    /// `index_of` resolves a source column name to its index (and errors if absent).
    pub fn new(
        ts: &TableSchema,
        tm: &TableMapping,
        policy: &Policy,
        as_of: NaiveDate,
        pseudonymizer: Pseudonymizer,
        category_rules: &HashMap<String, Arc<CategoryRules>>,
        mut index_of: impl FnMut(&str) -> Result<usize>,
    ) -> Result<Self> {
        let schema = ts.arrow_schema();
        let mut columns = Vec::new();
        let mut builders = Vec::new();
        let mut caches = Vec::new();
        for f in ts.exported() {
            let t = f.column_type.expect("exported fields have a type");
            builders.push(Builder::new(t));
            let Some(m) = tm.field(&f.name) else {
                columns.push(row_position(f, tm, &mut caches)?);
                continue;
            };
            columns.push(Some(make_conv(
                m,
                t,
                index_of(&m.column)?,
                category_rules,
                &mut caches,
            )?));
        }
        Ok(TableConverter {
            schema,
            columns,
            builders,
            caches,
            settings: Settings {
                pseudonymizer,
                decimal_comma: tm.decimal_comma,
                bands: policy.age_bands.clone(),
                as_of,
                truncate: policy.truncate_timestamps,
            },
            row: RowBuf::default(),
            rows: 0,
            pushed: 0,
        })
    }

    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Converts one record and appends it, or returns the reason it is rejected. Its
    /// position (for ids made of it) is its number among the records pushed.
    pub fn push(&mut self, rec: &csv::StringRecord) -> std::result::Result<(), String> {
        self.push_at(rec, self.pushed + 1)
    }

    /// [`TableConverter::push`] for the record that starts at `line` of its source.
    pub fn push_at(
        &mut self,
        rec: &csv::StringRecord,
        line: u64,
    ) -> std::result::Result<(), String> {
        self.pushed += 1;
        // Convert every cell first so a rejected row leaves the builders untouched.
        let row = &mut self.row;
        row.cells.clear();
        row.text.clear();
        for c in &self.columns {
            let v = match c {
                None => Val::Null,
                Some(Conv {
                    kind: Kind::RowPosition { cache, table },
                    ..
                }) => {
                    let id = table.row_position_id(line);
                    Val::Pid(self.caches[*cache].get(&self.settings.pseudonymizer, &id))
                }
                Some(c) => convert_cell(c, rec, &self.settings, &mut self.caches, row)?,
            };
            row.cells.push(v);
        }
        for (b, v) in self.builders.iter_mut().zip(&row.cells) {
            b.push(v, &row.text);
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows buffered so far as one batch.
    pub fn flush(&mut self) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), cols).map_err(Error::from)
    }
}

/// One cell of a record as its field's privacy class says, or the reason the row is
/// rejected (naming the field, never the value).
fn convert_cell(
    c: &Conv,
    rec: &csv::StringRecord,
    st: &Settings,
    caches: &mut [PidCache],
    row: &mut RowBuf,
) -> std::result::Result<Val, String> {
    let raw = rec.get(c.idx).unwrap_or("").trim();
    let raw = match c.map.get(raw) {
        Some(v) => v.as_str(),
        None => raw,
    };
    if raw.is_empty() {
        if c.required {
            return Err(format!("{}: empty", c.name));
        }
        return Ok(Val::Null);
    }
    let field_err = |m: String| format!("{}: {m}", c.name);
    Ok(match &c.kind {
        Kind::Pid { cache } => {
            let id = normalize(raw, c.normalize);
            if id.is_empty() {
                if c.required {
                    return Err(format!("{}: empty after normalization", c.name));
                }
                Val::Null
            } else {
                Val::Pid(caches[*cache].get(&st.pseudonymizer, &id))
            }
        }
        Kind::FreeCategory { rules } => {
            if !rules.redacted.is_empty() && rules.redacted.contains(raw) {
                row.text(REDACTED)
            } else if rules.common.contains(raw) {
                row.text(raw)
            } else {
                row.text(OTHER)
            }
        }
        Kind::Vocabulary { values, unknown } => {
            if values.iter().any(|v| v == raw) {
                row.text(raw)
            } else {
                match unknown {
                    Unknown::Reject => {
                        return Err(format!(
                            "{}: not one of {} (add a value map in the mapping)",
                            c.name,
                            values.join(", ")
                        ))
                    }
                    Unknown::Null => Val::Null,
                    Unknown::Value(v) => row.text(v),
                }
            }
        }
        Kind::PlainString => row.text(raw),
        Kind::AgeBand { format } => {
            let d = format.parse_date(raw).map_err(field_err)?;
            match st.bands.band(d, st.as_of) {
                Some(b) => row.text(b),
                None => return Err(format!("{}: after the as-of date", c.name)),
            }
        }
        Kind::Prefix3 => row.text(values::postal_prefix_str(raw)),
        Kind::Date { format } => Val::Days(values::date_to_days(
            format.parse_date(raw).map_err(field_err)?,
        )),
        Kind::Timestamp { format } => {
            let t = format.parse_datetime(raw).map_err(field_err)?;
            Val::Secs(values::timestamp_seconds(t, st.truncate))
        }
        Kind::Money => Val::Money(values::parse_money(raw, st.decimal_comma).map_err(field_err)?),
        Kind::Int => Val::Int(values::parse_int(raw).map_err(field_err)?),
        Kind::RowPosition { .. } => unreachable!("converted by push_at"),
    })
}

/// The converter of an unmapped field the schema derives from the row's position, or
/// `None` (an unmapped field is empty).
fn row_position(
    f: &clm_core::schema::FieldDef,
    tm: &TableMapping,
    caches: &mut Vec<PidCache>,
) -> Result<Option<Conv>> {
    if f.unmapped != Some(Unmapped::RowPosition) {
        return Ok(None);
    }
    let domain = f
        .domain
        .as_deref()
        .and_then(Domain::parse)
        .ok_or_else(|| Error::Schema(format!("{}: unknown domain", f.name)))?;
    caches.push(PidCache::new(domain, 0));
    Ok(Some(Conv {
        name: f.name.clone(),
        idx: usize::MAX,
        map: HashMap::default(),
        normalize: Default::default(),
        required: false,
        kind: Kind::RowPosition {
            cache: caches.len() - 1,
            table: Box::new(tm.clone()),
        },
    }))
}

fn make_conv(
    m: &MappedField,
    t: ColumnType,
    idx: usize,
    category_rules: &HashMap<String, Arc<CategoryRules>>,
    caches: &mut Vec<PidCache>,
) -> Result<Conv> {
    let f = &m.def;
    let date_format = || {
        m.format
            .clone()
            .expect("mapping gives date fields a format")
    };
    let kind = match (f.class, t) {
        (PrivacyClass::Identifier, _) => {
            let domain = f
                .domain
                .as_deref()
                .and_then(Domain::parse)
                .ok_or_else(|| Error::Schema(format!("{}: unknown domain", f.name)))?;
            // Unique-per-row ids (sales, memberships) gain nothing from a cache.
            let cap = match domain {
                Domain::Client | Domain::Staff | Domain::Lead => PidCache::DEFAULT_CAPACITY,
                Domain::Membership | Domain::Sale => 0,
            };
            caches.push(PidCache::new(domain, cap));
            Kind::Pid {
                cache: caches.len() - 1,
            }
        }
        (PrivacyClass::Quasi, _) => match f.generalize {
            Some(Generalize::AgeBand) => Kind::AgeBand {
                format: date_format(),
            },
            Some(Generalize::Prefix3) => Kind::Prefix3,
            None => vocab_or_plain(f),
        },
        (PrivacyClass::Category, _) => {
            if f.values.is_some() {
                vocab_or_plain(f)
            } else {
                Kind::FreeCategory {
                    rules: category_rules.get(&f.name).cloned().unwrap_or_default(),
                }
            }
        }
        (_, ColumnType::Date) => Kind::Date {
            format: date_format(),
        },
        (_, ColumnType::Timestamp) => Kind::Timestamp {
            format: date_format(),
        },
        (_, ColumnType::Money) => Kind::Money,
        (_, ColumnType::Int) => Kind::Int,
        (_, ColumnType::String | ColumnType::Pid) => Kind::PlainString,
    };
    Ok(Conv {
        name: f.name.clone(),
        idx,
        map: m.map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        normalize: m.normalize,
        required: f.required,
        kind,
    })
}

fn vocab_or_plain(f: &clm_core::schema::FieldDef) -> Kind {
    match &f.values {
        Some(values) => Kind::Vocabulary {
            values: values.clone(),
            unknown: match f.unknown.as_deref() {
                None | Some("reject") => Unknown::Reject,
                Some("null") => Unknown::Null,
                Some(v) => Unknown::Value(v.to_string()),
            },
        },
        None => Kind::PlainString,
    }
}
