//! The statistics forms (`forms.xlsx` of the report): sheets `weekly`, `monthly`,
//! `quarterly`, each the §5.2 metrics of metrics.sql for that grain, one row per metric and
//! one column per period, in one block per scope: `(all)` (the club) first, then each branch.
//!
//! Layout of a sheet (rows top to bottom; columns A, B, then one per period, oldest first).
//! Column A is for people (labels in the report's language), column B holds the keys a
//! program reads (the column names of `clm-analyze run metrics`):
//!
//! ```text
//! A                           B                 C ...
//! <title>
//! <note> (the clients without a branch, if any; else blank)
//! Показатель                  metric            2026-01     2026-02  ...  (period labels)
//! Начало периода              period_start      2026-01-01  ...          (Excel dates)
//! Конец периода               period_end        2026-01-31  ...          (Excel dates)
//! (blank)
//! Филиал: Все филиалы         branch            (all)                   (one block per scope)
//! Доля продлений              renewal_rate      0.61 ...                (one row per metric)
//! ...
//! (blank)
//! Филиал: Центральный         branch            Центральный             (the next scope)
//! ...
//! <starter delivery title>    starter_delivery                          (after the scopes)
//! <department>                <department>      0.85 ...                (done / due)
//! ```
//!
//! Rows 3–5 (period labels and dates) repeat at the top of every printed page; pages are
//! landscape, one page wide. The clients without a branch (`(none)`) have no block: they count
//! in `(all)` (the note says how many). Values are the numbers `clm-analyze run metrics
//! --grain G` gives (rates as fractions, formatted as percentages); an empty cell is an empty
//! value. Period labels: `2026-10` (month), `2026-W43` (ISO week), `2026-Q3` (quarter).

use std::path::Path;

use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};

use crate::i18n::{kind_of, Kind, Messages};
use clm_query::frame::{Frame, Val};

/// The sheets, their grain and title key.
pub const SHEETS: [(&str, &str); 3] = [
    ("weekly", "week"),
    ("monthly", "month"),
    ("quarterly", "quarter"),
];

/// The label of the period of `grain` starting on `start` (ISO date text).
pub fn period_label(grain: &str, start: &str) -> String {
    let Ok(d) = NaiveDate::parse_from_str(start, "%Y-%m-%d") else {
        return start.to_string();
    };
    match grain {
        "week" => {
            let w = d.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        "quarter" => format!("{}-Q{}", d.year(), d.month0() / 3 + 1),
        _ => format!("{}-{:02}", d.year(), d.month()),
    }
}

/// The columns of the metrics output that are not keys: the metrics, in output order.
pub fn metric_columns(f: &Frame) -> Vec<String> {
    f.columns
        .iter()
        .filter(|c| !matches!(c.as_str(), "period_start" | "period_end" | "branch"))
        .cloned()
        .collect()
}

/// The data of one sheet: its grain, the metrics and starter-delivery outputs of that grain
/// (None when the analysis could not run), and why not.
pub type GrainData<'a> = (
    &'a str,
    Option<(&'a Frame, Option<&'a Frame>)>,
    Option<String>,
);

struct Formats {
    bold: Format,
    key: Format,
    date: Format,
    title: Format,
    percent: Format,
    money: Format,
    count: Format,
    number: Format,
}

/// The first row of the scope blocks (rows above: title, note, period labels and dates).
const FIRST_BLOCK_ROW: u32 = 6;

/// Writes forms.xlsx from the metrics and starter-delivery outputs of each grain
/// (`metrics[grain] = (metrics, starter_delivery)`; a grain without data gets an empty sheet
/// saying why). `note` goes under the title of every sheet (the clients without a branch).
pub fn write(
    path: &Path,
    msgs: &Messages,
    as_of: NaiveDate,
    metrics: &[GrainData<'_>],
    note: Option<&str>,
) -> Result<()> {
    let mut wb = Workbook::new();
    let f = Formats {
        bold: Format::new().set_bold(),
        key: Format::new().set_font_color("#777777").set_font_size(9),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        title: Format::new().set_bold().set_font_size(14),
        percent: Format::new().set_num_format("0.0%"),
        money: Format::new().set_num_format("#,##0.00"),
        count: Format::new().set_num_format("#,##0"),
        number: Format::new().set_num_format("0.00"),
    };
    for (sheet, grain) in SHEETS {
        let ws = wb.add_worksheet();
        ws.set_name(sheet)?;
        ws.set_column_width(0, 44)?;
        ws.set_column_width(1, 24)?;
        // Printed: landscape, one page wide, the period rows on every page.
        ws.set_landscape();
        ws.set_print_fit_to_pages(1, 0);
        ws.set_repeat_rows(2, 4)?;
        let title = format!("{} — {}", msgs.t(&format!("forms.title_{grain}")), as_of);
        ws.write_string_with_format(0, 0, &title, &f.title)?;
        if let Some(n) = note {
            ws.write_string(1, 0, n)?;
        }
        let Some((_, data, why)) = metrics.iter().find(|(g, _, _)| *g == grain) else {
            continue;
        };
        match data {
            Some((m, sd)) => write_sheet(ws, msgs, grain, m, *sd, &f)?,
            None => {
                ws.write_string(2, 0, why.clone().unwrap_or_default())?;
            }
        }
    }
    wb.save(path)?;
    Ok(())
}

/// An ISO date text as an Excel date (None: not a date).
fn excel_date(s: &str) -> Option<ExcelDateTime> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).ok()
}

fn write_date(ws: &mut Worksheet, r: u32, c: u16, s: &str, f: &Formats) -> Result<()> {
    match excel_date(s) {
        Some(d) => ws.write_date_with_format(r, c, &d, &f.date)?,
        None => ws.write_string(r, c, s)?,
    };
    Ok(())
}

fn write_value(ws: &mut Worksheet, r: u32, c: u16, name: &str, v: &Val, f: &Formats) -> Result<()> {
    if let Some(x) = v.num() {
        let fmt = match kind_of(name) {
            Kind::Percent => &f.percent,
            Kind::Money => &f.money,
            Kind::Count => &f.count,
            Kind::Number => &f.number,
        };
        ws.write_number_with_format(r, c, x, fmt)?;
    } else if let Val::Text(s) = v {
        ws.write_string(r, c, s)?;
    }
    Ok(())
}

fn write_sheet(
    ws: &mut Worksheet,
    msgs: &Messages,
    grain: &str,
    m: &Frame,
    sd: Option<&Frame>,
    f: &Formats,
) -> Result<()> {
    let periods = m.distinct("period_start");
    let ends: Vec<String> = periods
        .iter()
        .map(|p| {
            m.rows_where("period_start", p)
                .next()
                .map(|r| m.get(r, "period_end").text())
                .unwrap_or_default()
        })
        .collect();
    for j in 0..periods.len() {
        ws.set_column_width(2 + j as u16, 12)?;
    }
    ws.set_freeze_panes(FIRST_BLOCK_ROW - 1, 2)?;
    // The period rows, once for every block below.
    ws.write_string_with_format(2, 0, msgs.t("figure"), &f.bold)?;
    ws.write_string_with_format(2, 1, "metric", &f.key)?;
    ws.write_string(3, 0, msgs.t("forms.period_start"))?;
    ws.write_string_with_format(3, 1, "period_start", &f.key)?;
    ws.write_string(4, 0, msgs.t("forms.period_end"))?;
    ws.write_string_with_format(4, 1, "period_end", &f.key)?;
    for (j, (p, e)) in periods.iter().zip(&ends).enumerate() {
        let c = 2 + j as u16;
        ws.write_string_with_format(2, c, period_label(grain, p), &f.bold)?;
        write_date(ws, 3, c, p, f)?;
        write_date(ws, 4, c, e, f)?;
    }
    let metrics = metric_columns(m);
    let mut r: u32 = FIRST_BLOCK_ROW;
    for scope in m
        .distinct("branch")
        .into_iter()
        .filter(|b| b != crate::report::NO_BRANCH)
    {
        let head = format!("{}: {}", msgs.t("branch"), msgs.scope(&scope));
        ws.write_string_with_format(r, 0, &head, &f.bold)?;
        ws.write_string_with_format(r, 1, "branch", &f.key)?;
        ws.write_string_with_format(r, 2, &scope, &f.key)?;
        r += 1;
        let rows: Vec<&Vec<Val>> = m.rows_where("branch", &scope).collect();
        for metric in &metrics {
            ws.write_string(r, 0, msgs.label("metric", metric))?;
            ws.write_string_with_format(r, 1, metric, &f.key)?;
            for (j, p) in periods.iter().enumerate() {
                if let Some(row) = rows
                    .iter()
                    .find(|row| m.get(row, "period_start").text() == *p)
                {
                    write_value(ws, r, 2 + j as u16, metric, m.get(row, metric), f)?;
                }
            }
            r += 1;
        }
        r += 1;
    }
    if let Some(sd) = sd {
        ws.write_string_with_format(r, 0, msgs.t("forms.starter_delivery"), &f.bold)?;
        ws.write_string_with_format(r, 1, "starter_delivery", &f.key)?;
        r += 1;
        for dept in sd.distinct("department") {
            ws.write_string(r, 0, msgs.scope(&dept))?;
            ws.write_string_with_format(r, 1, &dept, &f.key)?;
            for (j, p) in periods.iter().enumerate() {
                if let Some(row) = sd
                    .rows_where("department", &dept)
                    .find(|row| sd.get(row, "period_start").text() == *p)
                {
                    write_value(
                        ws,
                        r,
                        2 + j as u16,
                        "delivery_rate",
                        sd.get(row, "delivery_rate"),
                        f,
                    )?;
                }
            }
            r += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_labels_per_grain() {
        assert_eq!(period_label("month", "2026-10-01"), "2026-10");
        assert_eq!(period_label("quarter", "2026-07-01"), "2026-Q3");
        assert_eq!(period_label("week", "2026-10-19"), "2026-W43");
        assert_eq!(period_label("week", "2025-12-29"), "2026-W01");
    }
}
