//! Turning one source record into one bundle row, field by field, as the privacy class of
//! each field says (SPEC §3.3). A row is either converted whole or rejected whole with a
//! reason that names the field, never its value.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Decimal128Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use chrono::NaiveDate;
use clm_core::mapping::{MappedField, Policy, TableMapping};
use clm_core::pid::{normalize, Domain, PidCache, Pseudonymizer};
use clm_core::schema::{ColumnType, Generalize, PrivacyClass, TableSchema};
use clm_core::values::{self, AgeBands, DateFormat, Truncate};
use clm_core::{Error, Result};

/// What a free category value becomes after the first pass (rare values, PII hits).
#[derive(Debug, Default, Clone)]
pub struct CategoryRules {
    /// Values used by at least `rare_k` clients; others become `other`.
    pub common: HashSet<String>,
    /// Values a PII detector hit, replaced by `redacted` (only with `--redact`).
    pub redacted: HashSet<String>,
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
}

#[derive(Debug)]
struct Conv {
    name: String,
    /// Source column index.
    idx: usize,
    map: HashMap<String, String>,
    normalize: clm_core::pid::Normalize,
    required: bool,
    kind: Kind,
}

/// A value of one output cell, borrowed where possible.
enum Val<'a> {
    Null,
    Str(&'a str),
    Pid([u8; 32]),
    Days(i32),
    Secs(i64),
    Int(i64),
    Money(i128),
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

    fn push(&mut self, v: &Val) {
        match (self, v) {
            (Builder::Str(b), Val::Null) => b.append_null(),
            (Builder::Str(b), Val::Str(s)) => b.append_value(s),
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
    pseudonymizer: Pseudonymizer,
    decimal_comma: bool,
    bands: AgeBands,
    as_of: NaiveDate,
    truncate: Truncate,
    rows: usize,
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
                columns.push(None);
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
            pseudonymizer,
            decimal_comma: tm.decimal_comma,
            bands: policy.age_bands.clone(),
            as_of,
            truncate: policy.truncate_timestamps,
            rows: 0,
        })
    }

    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Converts one record and appends it, or returns the reason it is rejected.
    pub fn push(&mut self, rec: &csv::StringRecord) -> std::result::Result<(), String> {
        // Convert every cell first so a rejected row leaves the builders untouched.
        let mut vals: Vec<Val> = Vec::with_capacity(self.columns.len());
        for c in self.columns.iter() {
            let Some(c) = c else {
                vals.push(Val::Null);
                continue;
            };
            let raw = rec.get(c.idx).unwrap_or("").trim();
            let raw = match c.map.get(raw) {
                Some(v) => v.as_str(),
                None => raw,
            };
            let v = if raw.is_empty() {
                if c.required {
                    return Err(format!("{}: empty", c.name));
                }
                Val::Null
            } else {
                match &c.kind {
                    Kind::Pid { cache } => {
                        let id = normalize(raw, c.normalize);
                        if id.is_empty() {
                            if c.required {
                                return Err(format!("{}: empty after normalization", c.name));
                            }
                            Val::Null
                        } else {
                            Val::Pid(self.caches[*cache].get(&self.pseudonymizer, &id))
                        }
                    }
                    Kind::FreeCategory { rules } => {
                        if rules.redacted.contains(raw) {
                            Val::Str(REDACTED)
                        } else if rules.common.contains(raw) {
                            Val::Str(raw)
                        } else {
                            Val::Str(OTHER)
                        }
                    }
                    Kind::Vocabulary { values, unknown } => {
                        if values.iter().any(|v| v == raw) {
                            Val::Str(raw)
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
                                Unknown::Value(v) => Val::Str(v.as_str()),
                            }
                        }
                    }
                    Kind::PlainString => Val::Str(raw),
                    Kind::AgeBand { format } => {
                        let d = format
                            .parse_date(raw)
                            .map_err(|m| format!("{}: {m}", c.name))?;
                        match self.bands.band(d, self.as_of) {
                            Some(b) => Val::Str(b),
                            None => return Err(format!("{}: after the as-of date", c.name)),
                        }
                    }
                    Kind::Prefix3 => Val::Str(raw),
                    Kind::Date { format } => {
                        let d = format
                            .parse_date(raw)
                            .map_err(|m| format!("{}: {m}", c.name))?;
                        Val::Days(values::date_to_days(d))
                    }
                    Kind::Timestamp { format } => {
                        let t = format
                            .parse_datetime(raw)
                            .map_err(|m| format!("{}: {m}", c.name))?;
                        Val::Secs(values::timestamp_seconds(t, self.truncate))
                    }
                    Kind::Money => Val::Money(
                        values::parse_money(raw, self.decimal_comma)
                            .map_err(|m| format!("{}: {m}", c.name))?,
                    ),
                    Kind::Int => {
                        Val::Int(values::parse_int(raw).map_err(|m| format!("{}: {m}", c.name))?)
                    }
                }
            };
            vals.push(v);
        }
        let mut prefix_buf = String::new();
        for ((b, v), c) in self.builders.iter_mut().zip(&vals).zip(&self.columns) {
            if let (
                Some(Conv {
                    kind: Kind::Prefix3,
                    ..
                }),
                Val::Str(s),
            ) = (c, v)
            {
                prefix_buf.clear();
                prefix_buf.push_str(&values::postal_prefix(s));
                b.push(&Val::Str(&prefix_buf));
            } else {
                b.push(v);
            }
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
        map: m.map.clone(),
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
