//! What the export derives when a transactions-only source lacks it (SPEC §4, README
//! "Transactions-only exports"):
//!
//! - **the clients table**, when the mapping has no `[tables.clients]`: one row per client
//!   id found in the mapped tables, `client_pid` computed as every table computes it, and
//!   `registered_on` the day of the client's first event in the export (the earliest
//!   visit, service, sale, feedback or membership date). A retailer's or dealer's export
//!   has no registration date; the first purchase is what "client since" means there, and
//!   for clients older than the export's history it is the start of that history. Every
//!   other column (branch, gender, age band, postal prefix, lead source, trial, archive) is
//!   empty: the source does not hold them.
//! - **ids made of the row's position** (`unmapped = "row_position"` in the schema, such as
//!   `sales.sale_id`): done by the converter; [`notes`] says so in the manifest.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, StringBuilder};
use arrow_array::{new_null_array, ArrayRef, RecordBatch};
use clm_core::bundle::{BundleWriter, SourceEntry};
use clm_core::mapping::{Mapping, TableMapping};
use clm_core::pid::{Domain, Pseudonymizer};
use clm_core::schema::{self, ColumnType};
use clm_core::source::{open_table, RecordStatus};
use clm_core::values;
use clm_core::Result;

/// Per table, the field whose day is a client's event day (memberships: the sale, else
/// the start).
const EVENT_DAYS: [(&str, &[&str]); 5] = [
    ("memberships", &["sold_on", "start_date"]),
    ("visits", &["visited_at"]),
    ("services", &["done_at"]),
    ("sales", &["sold_at"]),
    ("feedback", &["answered_on"]),
];

/// The tables whose client ids make the derived clients table, as the manifest names them.
fn derived_from(mapping: &Mapping) -> Vec<String> {
    mapping
        .tables
        .iter()
        .filter(|tm| tm.table != "clients" && tm.field("client_id").is_some())
        .map(|tm| format!("{}.client_id ({})", tm.table, tm.source_label()))
        .collect()
}

/// Lines for the manifest's list of what was done to the data: the derived clients table
/// and the ids made of row positions.
pub fn notes(mapping: &Mapping) -> Vec<String> {
    let mut out = Vec::new();
    if mapping.derives_clients() {
        out.push(format!(
            "clients: derived (the source has no clients table): one row per client id of {}; registered_on = the day of the client's first event in this export; every other column empty",
            derived_from(mapping).join(", ")
        ));
    }
    for tm in &mapping.tables {
        for f in tm.derived_fields() {
            out.push(format!(
                "{}.{} → {}: not in the source; the row's position in it ({}:LINE) as the id, HMAC-SHA256 pseudonym (domain {}): unique within this export, not the same sale across exports of a changed file",
                tm.table,
                f.name,
                f.output.as_deref().unwrap_or(""),
                tm.source_label(),
                f.domain.as_deref().unwrap_or("")
            ));
        }
    }
    out
}

/// Writes the derived clients table when the mapping has none; its manifest entry, or
/// `None` when the mapping has a clients table.
pub fn write_clients(
    mapping: &Mapping,
    pseudonymizer: &Pseudonymizer,
    writer: &mut BundleWriter,
) -> Result<Option<SourceEntry>> {
    if !mapping.derives_clients() {
        return Ok(None);
    }
    // pid → the first event day (days since 1970), if any row of the client has a date.
    let mut first: BTreeMap<String, Option<i32>> = BTreeMap::new();
    for tm in &mapping.tables {
        collect(tm, pseudonymizer, &mut first)?;
    }
    let ts = schema::canonical()
        .table("clients")
        .expect("canonical clients");
    let schema = ts.arrow_schema();
    let mut pids = StringBuilder::new();
    let mut days = Date32Builder::new();
    for (pid, day) in &first {
        pids.append_value(pid);
        days.append_option(*day);
    }
    let (pids, days): (ArrayRef, ArrayRef) = (Arc::new(pids.finish()), Arc::new(days.finish()));
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "client_pid" => pids.clone(),
            "registered_on" => days.clone(),
            _ => new_null_array(f.data_type(), first.len()),
        })
        .collect();
    debug_assert_eq!(
        ts.field("registered_on").and_then(|f| f.column_type),
        Some(ColumnType::Date)
    );
    let batch = RecordBatch::try_new(schema, columns)?;
    let mut tw = writer.table_writer("clients")?;
    if batch.num_rows() > 0 {
        tw.write(&batch)?;
    }
    let entry = tw.finish()?;
    let rows = entry.rows;
    writer.add_file(entry);
    Ok(Some(SourceEntry {
        table: "clients".into(),
        file: format!("derived from {}", derived_from(mapping).join(", ")),
        rows_in: rows,
        rows_out: rows,
        rows_rejected: 0,
        rejected_by_reason: BTreeMap::new(),
        dropped_columns: Vec::new(),
        direct_columns: Vec::new(),
        rare_values_replaced: BTreeMap::new(),
        redacted_values: BTreeMap::new(),
        suppressed_values: BTreeMap::new(),
    }))
}

/// Adds the client ids of one table, and their earliest event day, to `first`.
fn collect(
    tm: &TableMapping,
    pseudonymizer: &Pseudonymizer,
    first: &mut BTreeMap<String, Option<i32>>,
) -> Result<()> {
    let Some(idf) = tm.field("client_id") else {
        return Ok(());
    };
    let mut src = open_table(tm)?;
    let id_col = src.column_index(&idf.column)?;
    let day_field = EVENT_DAYS
        .iter()
        .find(|(t, _)| *t == tm.table)
        .and_then(|(_, fs)| fs.iter().find_map(|f| tm.field(f)));
    let day_col = match day_field {
        Some(f) => Some((
            src.column_index(&f.column)?,
            f.format.clone().expect("date fields have a format"),
        )),
        None => None,
    };
    let mut rec = csv::StringRecord::new();
    while let Some(st) = src.next_record(&mut rec)? {
        if st != RecordStatus::Ok {
            continue;
        }
        let Some(id) = idf.source_id(rec.get(id_col).unwrap_or("")) else {
            continue;
        };
        let pid = pseudonymizer.pid(Domain::Client, &id);
        let day = day_col.as_ref().and_then(|(i, fmt)| {
            let cell = rec.get(*i).unwrap_or("").trim();
            let v = day_field.map(|f| f.mapped(cell)).unwrap_or(cell);
            fmt.parse_datetime(v)
                .map(|t| t.date())
                .or_else(|_| fmt.parse_date(v))
                .ok()
                .map(values::date_to_days)
        });
        let slot = first.entry(pid).or_insert(None);
        if let Some(d) = day {
            *slot = Some(slot.map_or(d, |s| s.min(d)));
        }
    }
    Ok(())
}
