//! Inline SVG charts for the report, drawn in Rust: no script, no network. Every chart is an
//! `<svg class="chart" data-chart="NAME">` with a `<title>`, sized by its viewBox so that it
//! scales with the page. The numbers of every chart are also in a table beside it (the
//! report's job); the charts only draw.

use std::fmt::Write;

/// Colours: a qualitative palette (stages, series) and the heat-map scale.
pub const PALETTE: [&str; 12] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#86bcb6", "#d4a6c8",
];
pub const GOOD: &str = "#59a14f";
pub const BAD: &str = "#e15759";
pub const NEUTRAL: &str = "#bab0ac";
const INK: &str = "#333";
const GRID: &str = "#ddd";

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn open(name: &str, title: &str, w: f64, h: f64) -> String {
    format!(
        "<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" \
         aria-label=\"{}\"><title>{}</title>",
        esc(name),
        esc(title),
        esc(title)
    )
}

fn text(s: &mut String, x: f64, y: f64, anchor: &str, size: f64, fill: &str, t: &str) {
    let _ = write!(
        s,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" font-size=\"{size}\" fill=\"{fill}\">{}</text>",
        esc(t)
    );
}

fn rect(s: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: &str) {
    let _ = write!(
        s,
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
        w.max(0.0),
        h.max(0.0),
        esc(tip)
    );
}

/// The width of one character at font size 1, estimated on the wide side (DejaVu Sans, the
/// widest common sans-serif, which Debian's Chromium picks for `system-ui`; Latin and
/// Cyrillic): charts size their margins from it, so that no label runs out of the viewBox
/// (the report's browser test measures the real text).
fn char_width(c: char) -> f64 {
    match c {
        ' ' | '\u{a0}' | '\u{202f}' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'i' | 'j'
        | 'l' | 'I' | '(' | ')' | '[' | ']' | '/' | '·' => 0.36,
        'f' | 't' | 'r' => 0.44,
        '0'..='9' | '-' | '−' | '+' | '=' | '<' | '>' | '?' | '$' | '#' => 0.66,
        '%' | '—' | '…' | '₽' | '€' | '×' | '→' | 'm' | 'w' | 'M' | 'W' | 'ш' | 'щ' | 'ж' | 'ы'
        | 'ю' | 'ф' | 'Ш' | 'Щ' | 'Ж' | 'Ы' | 'Ю' | 'Ф' | 'Д' | 'Ц' => 1.0,
        c if c.is_uppercase() => 0.8,
        _ => 0.68,
    }
}

/// The estimated width of `s` at font size `size` (see `char_width`).
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().map(char_width).sum::<f64>() * size
}

/// The width the longest of `labels` needs at `size`, plus `pad`, within [min, max].
fn fit(
    labels: impl IntoIterator<Item = impl AsRef<str>>,
    size: f64,
    pad: f64,
    min: f64,
    max: f64,
) -> f64 {
    labels
        .into_iter()
        .map(|l| text_width(l.as_ref(), size) + pad)
        .fold(min, f64::max)
        .min(max)
}

/// Shortens a label to fit `w` at font size `size` (the whole label stays in the tooltip).
fn clip_to(s: &str, size: f64, w: f64) -> String {
    if text_width(s, size) <= w {
        return s.to_string();
    }
    let mut t = String::new();
    let budget = w - text_width("…", size);
    let mut used = 0.0;
    for c in s.chars() {
        used += char_width(c) * size;
        if used > budget {
            break;
        }
        t.push(c);
    }
    t.push('…');
    t
}

/// One bar of a bar chart.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    pub color: String,
}

/// Horizontal bars, one per item, labelled, with the value's text after the bar.
pub fn hbars(name: &str, title: &str, bars: &[Bar], width: f64) -> String {
    let label_w = fit(bars.iter().map(|b| &b.label), 12.0, 10.0, 60.0, width * 0.4);
    let text_w = fit(bars.iter().map(|b| &b.text), 12.0, 10.0, 40.0, width * 0.3);
    let row = 24.0;
    let h = row * bars.len().max(1) as f64 + 12.0;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let area = (width - label_w - text_w).max(40.0);
    let mut s = open(name, title, width, h);
    for (i, b) in bars.iter().enumerate() {
        let y = 6.0 + i as f64 * row;
        let w = if max > 0.0 { area * b.value / max } else { 0.0 };
        text(
            &mut s,
            label_w - 8.0,
            y + 16.0,
            "end",
            12.0,
            INK,
            &clip_to(&b.label, 12.0, label_w - 10.0),
        );
        rect(
            &mut s,
            label_w,
            y + 3.0,
            w,
            row - 6.0,
            &b.color,
            &format!("{}: {}", b.label, b.text),
        );
        text(
            &mut s,
            label_w + w + 6.0,
            y + 16.0,
            "start",
            12.0,
            INK,
            &b.text,
        );
    }
    s.push_str("</svg>");
    s
}

/// 100 % stacked horizontal bars: one row per label, one segment per part (shares), and a
/// legend.
pub fn stacked(
    name: &str,
    title: &str,
    rows: &[(String, Vec<f64>)],
    parts: &[(String, String)],
    width: f64,
) -> String {
    let label_w = fit(rows.iter().map(|r| &r.0), 12.0, 10.0, 60.0, width * 0.3);
    let row = 30.0;
    let area = width - label_w - 20.0;
    let legend_w = fit(parts.iter().map(|p| &p.0), 11.0, 24.0, 120.0, width - 20.0);
    let legend_cols = ((width - 20.0) / legend_w).floor().max(1.0) as usize;
    let legend_rows = parts.len().div_ceil(legend_cols);
    let top = 6.0;
    let h = top + row * rows.len() as f64 + 10.0 + 20.0 * legend_rows as f64;
    let mut s = open(name, title, width, h);
    for (i, (label, shares)) in rows.iter().enumerate() {
        let y = top + i as f64 * row;
        text(
            &mut s,
            label_w - 8.0,
            y + 19.0,
            "end",
            12.0,
            INK,
            &clip_to(label, 12.0, label_w - 10.0),
        );
        let total: f64 = shares.iter().sum();
        let mut x = label_w;
        for (j, v) in shares.iter().enumerate() {
            let w = if total > 0.0 { area * v / total } else { 0.0 };
            let (pname, color) = &parts[j % parts.len().max(1)];
            rect(
                &mut s,
                x,
                y + 4.0,
                w,
                row - 8.0,
                color,
                &format!("{label} · {pname}: {:.1}%", v * 100.0),
            );
            if w > 34.0 {
                text(
                    &mut s,
                    x + w / 2.0,
                    y + 19.0,
                    "middle",
                    10.0,
                    "#fff",
                    &format!("{:.0}%", v * 100.0),
                );
            }
            x += w;
        }
    }
    let ly = top + row * rows.len() as f64 + 10.0;
    for (j, (pname, color)) in parts.iter().enumerate() {
        let x = 10.0 + (j % legend_cols) as f64 * legend_w;
        let y = ly + (j / legend_cols) as f64 * 20.0;
        rect(&mut s, x, y + 3.0, 12.0, 12.0, color, pname);
        text(
            &mut s,
            x + 17.0,
            y + 13.0,
            "start",
            11.0,
            INK,
            &clip_to(pname, 11.0, legend_w - 24.0),
        );
    }
    s.push_str("</svg>");
    s
}

/// One step of a funnel.
pub struct Step {
    pub label: String,
    pub value: f64,
    /// The count and the conversion from the previous step, e.g. "182 · 45.3% of previous".
    pub text: String,
    /// A second, smaller line, e.g. the share of the first step ("" for none).
    pub detail: String,
}

/// A funnel: bars centred on one axis whose widths follow the counts (the steps are nested
/// sets, so each bar is within the one above), the step's name on the left and its figures
/// on the right.
pub fn funnel(name: &str, title: &str, steps: &[Step], width: f64) -> String {
    let label_w = fit(
        steps.iter().map(|s| &s.label),
        12.0,
        10.0,
        60.0,
        width * 0.3,
    );
    // the wider of each step's two lines
    let text_w = steps
        .iter()
        .map(|s| text_width(&s.text, 12.0).max(text_width(&s.detail, 10.0)) + 12.0)
        .fold(60.0, f64::max)
        .min(width * 0.45);
    let row = 42.0;
    let h = row * steps.len().max(1) as f64 + 8.0;
    let area = (width - label_w - text_w - 10.0).max(60.0);
    let max = steps.iter().map(|b| b.value).fold(0.0, f64::max);
    let mut s = open(name, title, width, h);
    for (i, st) in steps.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let w = if max > 0.0 {
            area * st.value / max
        } else {
            0.0
        };
        let x = label_w + (area - w) / 2.0;
        text(
            &mut s,
            label_w - 8.0,
            y + 25.0,
            "end",
            12.0,
            INK,
            &clip_to(&st.label, 12.0, label_w - 10.0),
        );
        rect(
            &mut s,
            x,
            y + 4.0,
            w.max(1.0),
            row - 8.0,
            PALETTE[i % PALETTE.len()],
            &format!("{}: {} {}", st.label, st.text, st.detail),
        );
        let tx = label_w + area + 10.0;
        let single = st.detail.is_empty();
        text(
            &mut s,
            tx,
            if single { y + 25.0 } else { y + 19.0 },
            "start",
            12.0,
            INK,
            &clip_to(&st.text, 12.0, text_w - 12.0),
        );
        if !single {
            text(
                &mut s,
                tx,
                y + 33.0,
                "start",
                10.0,
                "#666",
                &clip_to(&st.detail, 10.0, text_w - 12.0),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Colour of a heat-map cell for t in [0, 1]: white to deep blue.
pub fn heat(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let (r0, g0, b0) = (247.0, 251.0, 255.0);
    let (r1, g1, b1) = (8.0, 69.0, 148.0);
    format!(
        "#{:02x}{:02x}{:02x}",
        (r0 + (r1 - r0) * t) as u8,
        (g0 + (g1 - g0) * t) as u8,
        (b0 + (b1 - b0) * t) as u8
    )
}

/// A heat map: rows × columns of cells coloured by `shade` (in [0, 1]; None: empty cell),
/// with `texts` written in the cells when they fit.
#[allow(clippy::too_many_arguments)]
pub fn heatmap(
    name: &str,
    title: &str,
    row_labels: &[String],
    col_labels: &[String],
    shade: &[Vec<Option<f64>>],
    texts: &[Vec<String>],
    cell_w: f64,
    cell_h: f64,
) -> String {
    let label_w = fit(row_labels, 11.0, 12.0, 40.0, 300.0);
    let top = 22.0;
    let w = label_w + cell_w * col_labels.len() as f64 + 10.0;
    let h = top + cell_h * row_labels.len() as f64 + 6.0;
    let mut s = open(name, title, w, h);
    for (j, c) in col_labels.iter().enumerate() {
        text(
            &mut s,
            label_w + cell_w * (j as f64 + 0.5),
            top - 7.0,
            "middle",
            10.0,
            INK,
            c,
        );
    }
    for (i, r) in row_labels.iter().enumerate() {
        let y = top + i as f64 * cell_h;
        text(
            &mut s,
            label_w - 6.0,
            y + cell_h / 2.0 + 4.0,
            "end",
            11.0,
            INK,
            r,
        );
        for (j, col) in col_labels.iter().enumerate() {
            let x = label_w + j as f64 * cell_w;
            let v = shade.get(i).and_then(|row| row.get(j)).copied().flatten();
            let t = texts
                .get(i)
                .and_then(|row| row.get(j))
                .cloned()
                .unwrap_or_default();
            match v {
                Some(v) => {
                    rect(
                        &mut s,
                        x + 0.5,
                        y + 0.5,
                        cell_w - 1.0,
                        cell_h - 1.0,
                        &heat(v),
                        &format!("{r} · {col}: {t}"),
                    );
                    if cell_w >= 30.0 && !t.is_empty() {
                        let fill = if v > 0.55 { "#fff" } else { INK };
                        text(
                            &mut s,
                            x + cell_w / 2.0,
                            y + cell_h / 2.0 + 4.0,
                            "middle",
                            if cell_w >= 60.0 { 13.0 } else { 9.0 },
                            fill,
                            &t,
                        );
                    }
                }
                None => rect(
                    &mut s,
                    x + 0.5,
                    y + 0.5,
                    cell_w - 1.0,
                    cell_h - 1.0,
                    "#f4f4f4",
                    "",
                ),
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// One line of a line chart.
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub color: String,
}

/// A line chart over `x_labels`, one or more series (a gap where a value is missing), with
/// the y axis labelled by `fmt`, and an optional dashed reference line (a target).
#[allow(clippy::too_many_arguments)]
pub fn lines(
    name: &str,
    title: &str,
    x_labels: &[String],
    series: &[Series],
    reference: Option<(f64, String)>,
    fmt: &dyn Fn(f64) -> String,
    width: f64,
    height: f64,
) -> String {
    let right = 12.0;
    let top = 24.0;
    let bottom = 22.0;
    let mut s = open(name, title, width, height);
    text(
        &mut s,
        4.0,
        14.0,
        "start",
        12.0,
        INK,
        &clip_to(title, 12.0, width - 8.0),
    );
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in series.iter().flat_map(|s| s.values.iter().flatten()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if let Some((r, _)) = &reference {
        lo = lo.min(*r);
        hi = hi.max(*r);
    }
    if !lo.is_finite() {
        text(
            &mut s,
            width / 2.0,
            height / 2.0,
            "middle",
            12.0,
            "#999",
            "—",
        );
        s.push_str("</svg>");
        return s;
    }
    // Rates and counts read best from zero; the axis ends on round numbers.
    if lo > 0.0 {
        lo = 0.0;
    }
    hi = nice_up(hi);
    if lo < 0.0 {
        lo = -nice_up(-lo);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let ticks_y: Vec<f64> = (0..=2).map(|k| lo + (hi - lo) * k as f64 / 2.0).collect();
    let tick_labels: Vec<String> = ticks_y.iter().map(|v| fmt(*v)).collect();
    // The left margin holds the longest tick label (they are right-aligned against the axis).
    let left = fit(&tick_labels, 10.0, 8.0, 24.0, width * 0.4);
    let pw = width - left - right;
    let ph = height - top - bottom;
    let n = x_labels.len().max(1);
    let x_at = |i: usize| {
        if n == 1 {
            left + pw / 2.0
        } else {
            left + pw * i as f64 / (n - 1) as f64
        }
    };
    let y_at = |v: f64| top + ph * (1.0 - (v - lo) / (hi - lo));
    for (v, label) in ticks_y.iter().zip(&tick_labels) {
        let y = y_at(*v);
        let _ = write!(
            s,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>",
            left + pw
        );
        text(&mut s, left - 4.0, y + 4.0, "end", 10.0, "#666", label);
    }
    let ticks: Vec<usize> = if n <= 4 {
        (0..n).collect()
    } else {
        vec![0, n / 2, n - 1]
    };
    for i in ticks {
        if let Some(l) = x_labels.get(i) {
            let anchor = if i == 0 && n > 1 {
                "start"
            } else if i == n - 1 && n > 1 {
                "end"
            } else {
                "middle"
            };
            text(&mut s, x_at(i), height - 6.0, anchor, 10.0, "#666", l);
        }
    }
    if let Some((r, label)) = &reference {
        let y = y_at(*r);
        let _ = write!(
            s,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{BAD}\" stroke-dasharray=\"5 4\"><title>{}</title></line>",
            left + pw,
            esc(label)
        );
    }
    for se in series {
        let mut path = String::new();
        let mut pen = false;
        for (i, v) in se.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen { "L" } else { "M" },
                        x_at(i),
                        y_at(*v)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                s,
                "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
                path.trim(),
                se.color
            );
        }
        for (i, v) in se.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{} · {}: {}</title></circle>",
                    x_at(i),
                    y_at(*v),
                    se.color,
                    esc(&se.label),
                    esc(x_labels.get(i).map(String::as_str).unwrap_or("")),
                    esc(&fmt(*v))
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) at least `x` (0 for
/// x ≤ 0).
pub fn nice_up(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    let k = x.log10().floor() as i32;
    // (dividing by 10^-k keeps 0.6 exactly 0.6, where multiplying by 0.1 would not)
    let scale = |n: f64| {
        if k >= 0 {
            n * 10f64.powi(k)
        } else {
            n / 10f64.powi(-k)
        }
    };
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(scale)
        .find(|n| *n >= x * (1.0 - 1e-12))
        .unwrap_or(scale(10.0))
}

/// One row of a bullet chart: baseline, actual and target of one metric in one period.
pub struct Bullet {
    pub label: String,
    pub baseline: Option<f64>,
    pub actual: Option<f64>,
    pub target: f64,
    pub met: Option<bool>,
    pub text: String,
}

/// Bullet rows: a grey bar for the baseline, a coloured bar for the actual (green: met, red:
/// not met, grey: not yet known) and a black tick at the target; each row on its own scale.
pub fn bullets(name: &str, title: &str, rows: &[Bullet], width: f64) -> String {
    let label_w = fit(
        rows.iter().map(|b| &b.label),
        11.0,
        10.0,
        60.0,
        width * 0.35,
    );
    let text_w = fit(rows.iter().map(|b| &b.text), 11.0, 12.0, 40.0, width * 0.3);
    let row = 28.0;
    let h = row * rows.len().max(1) as f64 + 8.0;
    let area = (width - label_w - text_w).max(60.0);
    let mut s = open(name, title, width, h);
    for (i, b) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let max = [b.baseline, b.actual, Some(b.target)]
            .iter()
            .flatten()
            .fold(0.0_f64, |m, v| m.max(v.abs()))
            * 1.15;
        let scale = |v: f64| {
            if max > 0.0 {
                area * (v.max(0.0) / max)
            } else {
                0.0
            }
        };
        text(
            &mut s,
            label_w - 8.0,
            y + 18.0,
            "end",
            11.0,
            INK,
            &clip_to(&b.label, 11.0, label_w - 10.0),
        );
        rect(&mut s, label_w, y + 4.0, area, row - 8.0, "#f4f4f4", "");
        if let Some(v) = b.baseline {
            rect(
                &mut s,
                label_w,
                y + 6.0,
                scale(v),
                row - 12.0,
                "#c9c9c9",
                &b.text,
            );
        }
        if let Some(v) = b.actual {
            let color = match b.met {
                Some(true) => GOOD,
                Some(false) => BAD,
                None => NEUTRAL,
            };
            rect(
                &mut s,
                label_w,
                y + 10.0,
                scale(v),
                row - 20.0,
                color,
                &b.text,
            );
        }
        let tx = label_w + scale(b.target);
        let _ = write!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#000\" stroke-width=\"2\"><title>{}</title></line>",
            y + 3.0,
            y + row - 3.0,
            esc(&b.text)
        );
        text(
            &mut s,
            label_w + area + 8.0,
            y + 18.0,
            "start",
            11.0,
            INK,
            &b.text,
        );
    }
    s.push_str("</svg>");
    s
}

/// One row of a timeline.
pub struct Span {
    pub label: String,
    /// The first and last date, in days on the chart's scale (None: no data).
    pub range: Option<(f64, f64)>,
    /// Drawn lighter after the range up to this day (memberships: their ends after the last
    /// start).
    pub extends_to: Option<f64>,
    /// The tooltip, or the text written where there is no data.
    pub tip: String,
}

/// A timeline: one bar per row from its start to its end (days on a common scale), with the
/// scale's first and last date written under it, and a dashed line at `marker` (the as-of
/// date) labelled with its text.
pub fn timeline(
    name: &str,
    title: &str,
    rows: &[Span],
    range: (f64, f64),
    range_labels: (&str, &str),
    marker: Option<(f64, &str)>,
    width: f64,
) -> String {
    let label_w = fit(rows.iter().map(|r| &r.label), 12.0, 10.0, 60.0, width * 0.3);
    let row = 24.0;
    let top = if marker.is_some() { 16.0 } else { 4.0 };
    let h = top + row * rows.len().max(1) as f64 + 22.0;
    let area = width - label_w - 20.0;
    let (lo, hi) = range;
    let span = (hi - lo).max(1.0);
    let x_at = |d: f64| label_w + area * (d - lo) / span;
    let mut s = open(name, title, width, h);
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row;
        text(
            &mut s,
            label_w - 8.0,
            y + 16.0,
            "end",
            12.0,
            INK,
            &clip_to(&r.label, 12.0, label_w - 10.0),
        );
        let color = PALETTE[i % PALETTE.len()];
        match r.range {
            Some((a, b)) => {
                let x = x_at(a);
                let w = (x_at(b) - x).max(2.0);
                rect(&mut s, x, y + 4.0, w, row - 8.0, color, &r.tip);
                if let Some(e) = r.extends_to.filter(|e| *e > b) {
                    let _ = write!(
                        s,
                        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" fill-opacity=\"0.3\"><title>{}</title></rect>",
                        x + w,
                        y + 4.0,
                        (x_at(e) - x - w).max(0.0),
                        row - 8.0,
                        esc(&r.tip)
                    );
                }
            }
            None => text(
                &mut s,
                label_w + 4.0,
                y + 16.0,
                "start",
                11.0,
                "#999",
                &clip_to(&r.tip, 11.0, area - 8.0),
            ),
        }
    }
    let y = top + rows.len() as f64 * row;
    let _ = write!(
        s,
        "<line x1=\"{label_w:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>",
        label_w + area
    );
    text(
        &mut s,
        label_w,
        y + 15.0,
        "start",
        10.0,
        "#666",
        range_labels.0,
    );
    text(
        &mut s,
        label_w + area,
        y + 15.0,
        "end",
        10.0,
        "#666",
        range_labels.1,
    );
    if let Some((d, label)) = marker {
        let x = x_at(d);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\" stroke=\"{BAD}\" stroke-dasharray=\"4 3\"/>",
            top - 2.0
        );
        // the label beside the line, on the side with room
        let w = text_width(label, 10.0);
        let (tx, anchor) = if x + 4.0 + w <= width - 2.0 {
            (x + 4.0, "start")
        } else {
            (x - 4.0, "end")
        };
        text(&mut s, tx, top - 4.0, anchor, 10.0, BAD, label);
    }
    s.push_str("</svg>");
    s
}

/// The texts of one chart (an `<svg>` as these functions write it) that would run out of its
/// viewBox horizontally by the estimate of `text_width`: each as "text (from..to, width W)".
/// For tests: the browser test measures the real extents.
pub fn text_overflows(svg: &str) -> Vec<String> {
    fn attr(tag: &str, name: &str) -> Option<String> {
        let k = format!(" {name}=\"");
        let i = tag.find(&k)? + k.len();
        Some(tag[i..i + tag[i..].find('"')?].to_string())
    }
    fn unesc(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }
    let Some(w) = attr(svg, "viewBox").and_then(|v| v.split(' ').nth(2)?.parse::<f64>().ok())
    else {
        return vec!["no viewBox".into()];
    };
    let mut out = vec![];
    for part in svg.split("<text ").skip(1) {
        let Some(end) = part.find('>') else { continue };
        let tag = format!(" {}", &part[..end]);
        let Some(close) = part.find("</text>") else {
            continue;
        };
        let t = unesc(&part[end + 1..close]);
        let x: f64 = attr(&tag, "x").and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let size: f64 = attr(&tag, "font-size")
            .and_then(|v| v.parse().ok())
            .unwrap_or(12.0);
        let tw = text_width(&t, size);
        let (a, b) = match attr(&tag, "text-anchor").as_deref() {
            Some("end") => (x - tw, x),
            Some("middle") => (x - tw / 2.0, x + tw / 2.0),
            _ => (x, x + tw),
        };
        if a < -0.5 || b > w + 0.5 {
            out.push(format!("{t:?} ({a:.0}..{b:.0}, width {w:.0})"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_tagged_svg_and_escape_text() {
        let s = hbars(
            "stages",
            "a < b",
            &[Bar {
                label: "x & y".into(),
                value: 2.0,
                text: "2".into(),
                color: PALETTE[0].into(),
            }],
            600.0,
        );
        assert!(s.starts_with("<svg class=\"chart\" data-chart=\"stages\""));
        assert!(s.contains("a &lt; b") && s.contains("x &amp; y") && s.ends_with("</svg>"));
        let l = lines(
            "t",
            "t",
            &["a".into(), "b".into(), "c".into()],
            &[Series {
                label: "s".into(),
                values: vec![Some(1.0), None, Some(2.0)],
                color: PALETTE[0].into(),
            }],
            Some((1.5, "target".into())),
            &|v| format!("{v}"),
            300.0,
            150.0,
        );
        // A gap: two separate moves, no line through the missing point.
        assert_eq!(l.matches('M').count(), 2, "{l}");
        assert_eq!(heat(0.0), "#f7fbff");
        assert_eq!(heat(1.0), "#084594");
    }

    #[test]
    fn money_axis_labels_fit_the_left_margin() {
        // The revenue of a large club, its ticks written with kopecks (the longest label the
        // axis can get): the margin is sized from the labels, none runs out on the left.
        let l = lines(
            "trend-revenue",
            "Выручка",
            &["2026-01".into(), "2026-02".into(), "2026-03".into()],
            &[Series {
                label: "Выручка".into(),
                values: vec![Some(2_900_000.0), Some(3_473_472.0), Some(3_100_000.0)],
                color: PALETTE[0].into(),
            }],
            None,
            &|v| format!("{:.2}", v).replace('.', ","),
            360.0,
            170.0,
        );
        assert!(
            text_overflows(&l).is_empty(),
            "{:?}\n{l}",
            text_overflows(&l)
        );
        // The axis ends on a round number: 4 000 000, 2 000 000, 0.
        assert!(l.contains(">4000000,00</text>"), "{l}");
    }

    #[test]
    fn long_labels_stay_inside_every_chart() {
        let long = "Очень длинное название этапа жизненного цикла клиента".to_string();
        let bars = [Bar {
            label: long.clone(),
            value: 12345.0,
            text: "12 345 · 100,0 %".into(),
            color: PALETTE[0].into(),
        }];
        let h = hbars("b", "t", &bars, 620.0);
        assert!(text_overflows(&h).is_empty(), "{:?}", text_overflows(&h));
        let st = stacked(
            "s",
            "t",
            &[(long.clone(), vec![0.5, 0.5])],
            &[
                (long.clone(), PALETTE[0].into()),
                ("b".into(), PALETTE[1].into()),
            ],
            620.0,
        );
        assert!(text_overflows(&st).is_empty(), "{:?}", text_overflows(&st));
        let f = funnel(
            "f",
            "t",
            &[
                Step {
                    label: "Регистрация".into(),
                    value: 400.0,
                    text: "400".into(),
                    detail: String::new(),
                },
                Step {
                    label: long.clone(),
                    value: 201.0,
                    text: "201 · 50,3 % от предыдущего шага".into(),
                    detail: "50,3 % от зарегистрированных".into(),
                },
            ],
            620.0,
        );
        assert!(text_overflows(&f).is_empty(), "{:?}", text_overflows(&f));
        let tl = timeline(
            "c",
            "t",
            &[Span {
                label: "memberships".into(),
                range: Some((0.0, 300.0)),
                extends_to: Some(400.0),
                tip: "x".into(),
            }],
            (0.0, 400.0),
            ("2025-01-01", "2026-02-05"),
            Some((400.0, "D = 2026-02-05")),
            620.0,
        );
        assert!(text_overflows(&tl).is_empty(), "{:?}", text_overflows(&tl));
    }

    #[test]
    fn nice_axis_ends() {
        assert_eq!(nice_up(3_473_472.0), 4_000_000.0);
        assert_eq!(nice_up(0.53), 0.6);
        assert_eq!(nice_up(1.0), 1.0);
        assert_eq!(nice_up(0.0), 0.0);
        assert_eq!(nice_up(11.0), 12.0);
    }
}
