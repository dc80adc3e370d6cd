//! A result table as plain rows of values, for rendering (report, forms): no analysis here,
//! only reading what the SQL produced.

use anyhow::Result;
use datafusion::arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::array_value_to_string;

use crate::engine::Output;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(String),
}

impl Val {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The value as a number (integers and numbers; null and text: None).
    pub fn num(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Num(x) if x.is_finite() => Some(*x),
            _ => None,
        }
    }

    pub fn bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as text as it appears in a CSV (null: empty).
    pub fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Int(i) => i.to_string(),
            Val::Num(x) => x.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Text(s) => s.clone(),
        }
    }
}

/// A result table: column names and rows.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Val>>,
}

impl Frame {
    /// Reads an output: integers as Int, floats and decimals as Num, booleans, and every
    /// other type (text, dates) as its text.
    pub fn of(o: &Output) -> Result<Frame> {
        let columns: Vec<String> = o.schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows = Vec::with_capacity(o.num_rows());
        for b in &o.batches {
            let cols: Vec<Vec<Val>> = b
                .columns()
                .iter()
                .map(|c| column_values(c.as_ref()))
                .collect::<Result<_>>()?;
            for r in 0..b.num_rows() {
                rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        Ok(Frame {
            name: o.name.clone(),
            columns,
            rows,
        })
    }

    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The value of column `name` in `row` (Null when there is no such column).
    pub fn get<'a>(&self, row: &'a [Val], name: &str) -> &'a Val {
        static NULL: Val = Val::Null;
        match self.col(name) {
            Some(i) => &row[i],
            None => &NULL,
        }
    }

    /// The rows whose column `name` holds the text `value`.
    pub fn rows_where<'a>(
        &'a self,
        name: &str,
        value: &'a str,
    ) -> impl Iterator<Item = &'a Vec<Val>> + 'a {
        let i = self.col(name);
        self.rows
            .iter()
            .filter(move |r| i.is_some_and(|i| r[i].text() == value))
    }

    /// Distinct texts of a column, in order of first appearance.
    pub fn distinct(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        if let Some(i) = self.col(name) {
            for r in &self.rows {
                let t = r[i].text();
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// The table as CSV (header line; nulls empty; quoted where needed). Text cells and the
    /// header go through `output::csv_cell` (no cell a spreadsheet takes for a formula);
    /// numbers are written as they are.
    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        let line = |cells: Vec<String>| -> String {
            cells
                .into_iter()
                .map(|c| {
                    if c.contains([',', '"', '\n', '\r']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        c
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let safe = |t: &str| crate::output::csv_cell(t).into_owned();
        s.push_str(&line(self.columns.iter().map(|c| safe(c)).collect()));
        s.push('\n');
        for r in &self.rows {
            s.push_str(&line(
                r.iter()
                    .map(|v| match v {
                        Val::Text(t) => safe(t),
                        other => other.text(),
                    })
                    .collect(),
            ));
            s.push('\n');
        }
        s
    }
}

fn column_values(a: &dyn Array) -> Result<Vec<Val>> {
    let n = a.len();
    let dt = a.data_type();
    let out = if dt.is_integer() {
        let c = cast(a, &DataType::Int64)?;
        let c = c.as_any().downcast_ref::<Int64Array>().unwrap();
        (0..n)
            .map(|i| {
                if c.is_null(i) {
                    Val::Null
                } else {
                    Val::Int(c.value(i))
                }
            })
            .collect()
    } else if dt.is_floating() || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..))
    {
        let c = cast(a, &DataType::Float64)?;
        let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
        (0..n)
            .map(|i| {
                if c.is_null(i) {
                    Val::Null
                } else {
                    Val::Num(c.value(i))
                }
            })
            .collect()
    } else if let Some(c) = a.as_any().downcast_ref::<BooleanArray>() {
        (0..n)
            .map(|i| {
                if c.is_null(i) {
                    Val::Null
                } else {
                    Val::Bool(c.value(i))
                }
            })
            .collect()
    } else if let Some(c) = a.as_any().downcast_ref::<StringArray>() {
        (0..n)
            .map(|i| {
                if c.is_null(i) {
                    Val::Null
                } else {
                    Val::Text(c.value(i).to_string())
                }
            })
            .collect()
    } else {
        (0..n)
            .map(|i| {
                if a.is_null(i) {
                    Ok(Val::Null)
                } else {
                    Ok(Val::Text(array_value_to_string(a, i)?))
                }
            })
            .collect::<Result<_>>()?
    };
    Ok(out)
}
