//! The statistics forms (`forms.xlsx` of the report): sheets `weekly`, `monthly`,
//! `quarterly`, each the §5.2 metrics of metrics.sql for that grain, one row per metric and
//! one column per period, in one block per scope: `(all)` (the club) first, then each branch.
//!
//! Layout of a sheet (rows top to bottom; columns A, B, then one per period, oldest first):
//!
//! ```text
//! A                    B                                C ...
//! <title>
//! (blank)
//! branch               (all)                            <scope for people>
//! metric               <"metric" for people>            2026-01   2026-02  ...   (period labels)
//! period_start         <...>                            2026-01-01 ...
//! period_end           <...>                            2026-01-31 ...
//! renewal_rate         <label>                          0.61 ...   (one row per metric)
//! ...
//! (blank)
//! branch               Центральный                      ...        (the next scope)
//! ...
//! starter_delivery     <title>                                     (after the scopes)
//! department           <"department">                   2026-01 ...
//! <department>         <department>                     0.85 ...   (done / due)
//! ```
//!
//! Values are the numbers `clm-analyze run metrics --grain G` gives (rates as fractions,
//! formatted as percentages); an empty cell is an empty value. Period labels: `2026-10`
//! (month), `2026-W43` (ISO week), `2026-Q3` (quarter).

use std::path::Path;

use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{Format, Workbook, Worksheet};

use crate::frame::{Frame, Val};
use crate::i18n::{kind_of, Kind, Messages};

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
    title: Format,
    percent: Format,
    money: Format,
    count: Format,
    number: Format,
}

/// Writes forms.xlsx from the metrics and starter-delivery outputs of each grain
/// (`metrics[grain] = (metrics, starter_delivery)`; a grain without data gets an empty sheet
/// saying why).
pub fn write(
    path: &Path,
    msgs: &Messages,
    as_of: NaiveDate,
    metrics: &[GrainData<'_>],
) -> Result<()> {
    let mut wb = Workbook::new();
    let f = Formats {
        bold: Format::new().set_bold(),
        title: Format::new().set_bold().set_font_size(14),
        percent: Format::new().set_num_format("0.0%"),
        money: Format::new().set_num_format("#,##0.00"),
        count: Format::new().set_num_format("#,##0"),
        number: Format::new().set_num_format("0.00"),
    };
    for (sheet, grain) in SHEETS {
        let ws = wb.add_worksheet();
        ws.set_name(sheet)?;
        ws.set_column_width(0, 26)?;
        ws.set_column_width(1, 44)?;
        let title = format!("{} — {}", msgs.t(&format!("forms.title_{grain}")), as_of);
        ws.write_string_with_format(0, 0, &title, &f.title)?;
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
    ws.set_freeze_panes(0, 2)?;
    let metrics = metric_columns(m);
    let mut r: u32 = 2;
    for scope in m.distinct("branch") {
        ws.write_string_with_format(r, 0, "branch", &f.bold)?;
        ws.write_string_with_format(r, 1, &scope, &f.bold)?;
        ws.write_string_with_format(r, 2, msgs.scope(&scope), &f.bold)?;
        r += 1;
        ws.write_string_with_format(r, 0, "metric", &f.bold)?;
        ws.write_string_with_format(r, 1, msgs.t("figure"), &f.bold)?;
        for (j, p) in periods.iter().enumerate() {
            ws.write_string_with_format(r, 2 + j as u16, period_label(grain, p), &f.bold)?;
        }
        r += 1;
        ws.write_string(r, 0, "period_start")?;
        ws.write_string(r, 1, msgs.t("forms.period_start"))?;
        for (j, p) in periods.iter().enumerate() {
            ws.write_string(r, 2 + j as u16, p)?;
        }
        r += 1;
        ws.write_string(r, 0, "period_end")?;
        ws.write_string(r, 1, msgs.t("forms.period_end"))?;
        for (j, p) in ends.iter().enumerate() {
            ws.write_string(r, 2 + j as u16, p)?;
        }
        r += 1;
        let rows: Vec<&Vec<Val>> = m.rows_where("branch", &scope).collect();
        for metric in &metrics {
            ws.write_string(r, 0, metric)?;
            ws.write_string(r, 1, msgs.label("metric", metric))?;
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
        ws.write_string_with_format(r, 0, "starter_delivery", &f.bold)?;
        ws.write_string_with_format(r, 1, msgs.t("forms.starter_delivery"), &f.bold)?;
        r += 1;
        ws.write_string_with_format(r, 0, "department", &f.bold)?;
        ws.write_string_with_format(r, 1, msgs.t("forms.department"), &f.bold)?;
        for (j, p) in periods.iter().enumerate() {
            ws.write_string_with_format(r, 2 + j as u16, period_label(grain, p), &f.bold)?;
        }
        r += 1;
        for dept in sd.distinct("department") {
            ws.write_string(r, 0, &dept)?;
            ws.write_string(r, 1, msgs.scope(&dept))?;
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
