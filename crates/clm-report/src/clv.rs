//! The report's `clv` section, from the frames of [`clm_query::clv::run_for_report`].

/// The body of the report's `clv` section: the fit, the clients by P(alive) band with their
/// CLV, and how many valuable clients are at risk (P(alive) < 0.7 and a CLV in the top
/// quarter). From the frames `clv.fit`, `clv.clients` of `run_for_report`.
pub fn report_body(
    frames: &std::collections::BTreeMap<String, clm_query::frame::Frame>,
    lang: &str,
) -> String {
    let ru = lang == "ru";
    let (Some(fit), Some(clients)) = (frames.get("clv.fit"), frames.get("clv.clients")) else {
        return String::new();
    };
    let col = |f: &clm_query::frame::Frame, name: &str| f.columns.iter().position(|c| c == name);
    let param = |m: &str, p: &str| -> Option<f64> {
        let (cm, cp, cv) = (
            col(fit, "model")?,
            col(fit, "parameter")?,
            col(fit, "value")?,
        );
        fit.rows
            .iter()
            .find(|r| r[cm].text() == m && r[cp].text() == p)
            .and_then(|r| r[cv].num())
    };
    let (Some(cpa), Some(cclv)) = (col(clients, "p_alive"), col(clients, "clv")) else {
        return String::new();
    };
    let rows: Vec<(f64, Option<f64>)> = clients
        .rows
        .iter()
        .filter_map(|r| Some((r[cpa].num()?, r[cclv].num())))
        .collect();
    let mut values: Vec<f64> = rows.iter().filter_map(|r| r.1).collect();
    values.sort_by(f64::total_cmp);
    let top_quarter = values.get(values.len() * 3 / 4).copied();
    let at_risk = rows
        .iter()
        .filter(|(p, c)| *p < 0.7 && matches!((c, top_quarter), (Some(c), Some(q)) if *c >= q))
        .count();
    let bands = [
        (0.0, 0.3, "< 0.3"),
        (0.3, 0.7, "0.3–0.7"),
        (0.7, 1.01, "≥ 0.7"),
    ];
    let mut table = format!(
        "<table><thead><tr><th>P(alive)</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        if ru { "Клиенты" } else { "Clients" },
        if ru { "CLV, сумма" } else { "CLV, total" }
    );
    for (lo, hi, label) in bands {
        let inside: Vec<&(f64, Option<f64>)> =
            rows.iter().filter(|(p, _)| *p >= lo && *p < hi).collect();
        let sum: f64 = inside.iter().filter_map(|r| r.1).sum();
        table.push_str(&format!(
            "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{sum:.0}</td></tr>",
            inside.len()
        ));
    }
    table.push_str("</tbody></table>");
    let f = |x: Option<f64>| match x {
        Some(v) if v != 0.0 && !(1e-3..1e5).contains(&v.abs()) => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
        None => "—".into(),
    };
    let model = if ru {
        format!(
            "BG/NBD: r = {}, α = {}, a = {}, b = {}; Gamma-Gamma: p = {}, q = {}, v = {} (как в библиотеке lifetimes).",
            f(param("bg_nbd", "r")), f(param("bg_nbd", "alpha")), f(param("bg_nbd", "a")), f(param("bg_nbd", "b")),
            f(param("gamma_gamma", "p")), f(param("gamma_gamma", "q")), f(param("gamma_gamma", "v"))
        )
    } else {
        format!(
            "BG/NBD: r = {}, α = {}, a = {}, b = {}; Gamma-Gamma: p = {}, q = {}, v = {} (as the lifetimes library).",
            f(param("bg_nbd", "r")), f(param("bg_nbd", "alpha")), f(param("bg_nbd", "a")), f(param("bg_nbd", "b")),
            f(param("gamma_gamma", "p")), f(param("gamma_gamma", "q")), f(param("gamma_gamma", "v"))
        )
    };
    let risk = if ru {
        format!("Ценные клиенты под угрозой ухода (P(alive) &lt; 0.7, CLV в верхней четверти): {at_risk}. Список: clm-analyze run clv --detail churn_risk.")
    } else {
        format!("Valuable clients at risk (P(alive) &lt; 0.7, CLV in the top quarter): {at_risk}. The list: clm-analyze run clv --detail churn_risk.")
    };
    format!("<p class=\"note\">{model}</p>{table}<p>{risk}</p>")
}
