//! A transactions-only export (no clients table, no sale id) passes the audit: the sale
//! pids made of row positions and the derived clients are explained by the source.

use clm_audit::report::Status;
use clm_audit::{audit, Options};

const MAPPING: &str = r#"
[source]
delimiter = ";"
datetime_format = "DD.MM.YYYY HH:mm"

[policy]
rare_k = 1

[tables.sales]
file = "sales.csv"
[tables.sales.fields]
client_id = "Клиент"
sold_at = "Дата"
amount = "Сумма"
"#;

#[test]
fn sale_pids_made_of_row_positions_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Six clients (one k-anonymity class of six: the derived clients have no quasi-identifier).
    let mut sales = String::from("Клиент;Дата;Сумма\n");
    for i in 0..12 {
        sales.push_str(&format!(
            "C{};0{}.03.2026 1{}:00;100,00\n",
            i % 6,
            1 + i % 9,
            i % 10
        ));
    }
    std::fs::write(dir.join("mapping.toml"), MAPPING).unwrap();
    std::fs::write(dir.join("sales.csv"), sales).unwrap();
    let (kp, kd) = clm_core::keys::keygen(&dir.join("keys")).unwrap();
    clm_pseudonymize::export(&clm_pseudonymize::ExportOptions {
        mapping: dir.join("mapping.toml"),
        pseudonym_key: Some(kp.clone()),
        data_key: Some(kd.clone()),
        as_of: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
        out: dir.join("bundle"),
        redact: false,
        progress: false,
        since: None,
        allow_empty: false,
    })
    .unwrap();
    let mut o = Options::new(dir.join("bundle"));
    o.data_key = Some(kd);
    o.mapping = Some(dir.join("mapping.toml"));
    o.pseudonym_key = Some(kp);
    let r = audit(&o).unwrap();
    for c in &r.checks {
        assert_eq!(c.status, Status::Pass, "{}: {:#?}", c.name, c.findings);
    }
}
