//! A transactions-only export (a retailer's sales file): no clients table, no sale id. The
//! export derives the clients from the sales' client ids and makes each sale's id of its
//! row position; every value below is worked out by hand.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::Date32Type;
use arrow_array::{Array, RecordBatch};
use chrono::NaiveDate;
use clm_core::bundle::Bundle;
use clm_core::keys::{DataKey, PseudonymKey};
use clm_core::pid::{Domain, Pseudonymizer};
use clm_pseudonymize::{export, ExportOptions};

const MAPPING: &str = r#"
[source]
delimiter = ";"
datetime_format = "DD.MM.YYYY HH:mm"
decimal_comma = true

[policy]
rare_k = 1
k_anonymity = 1

[tables.sales]
file = "sales.csv"
[tables.sales.fields]
client_id = "Клиент"
sold_at = "Дата"
item = "Товар"
amount = "Сумма"
"#;

// Lines 2–6; line 4 is rejected (no such day) but its client C3 is a client of the source.
const SALES: &str = "Клиент;Дата;Товар;Сумма\n\
C1;05.03.2026 18:47;Вода;80,00\n\
C2;06.03.2026 10:00;Полотенце;150,00\n\
C3;32.03.2026 10:00;Вода;80,00\n\
C1;01.03.2026 09:00;Вода;80,00\n\
C2;07.03.2026 11:00;Вода;80,00\n";

fn batch(b: &Bundle, table: &str) -> RecordBatch {
    let batches: Vec<RecordBatch> = b.read_table(table).map(|r| r.unwrap()).collect();
    assert_eq!(batches.len(), 1);
    batches[0].clone()
}

fn day(y: i32, m: u32, d: u32) -> i32 {
    clm_core::values::date_to_days(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

#[test]
fn a_sales_only_export_derives_clients_and_sale_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("mapping.toml"), MAPPING).unwrap();
    std::fs::write(dir.join("sales.csv"), SALES).unwrap();
    let (kp, kd) = clm_core::keys::keygen(&dir.join("keys")).unwrap();
    let s = export(&ExportOptions {
        mapping: dir.join("mapping.toml"),
        pseudonym_key: Some(kp.clone()),
        data_key: Some(kd.clone()),
        as_of: Some(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
        out: dir.join("bundle"),
        redact: false,
        progress: false,
        since: None,
        allow_empty: false,
    })
    .unwrap();
    let p = Pseudonymizer::new(&PseudonymKey::load(&kp).unwrap());
    let b = Bundle::open(&dir.join("bundle"), &DataKey::load(&kd).unwrap()).unwrap();

    // Sales: the id of each row is its line in sales.csv.
    let sales = batch(&b, "sales");
    let sale_pids: Vec<&str> = sales
        .column_by_name("sale_pid")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(Option::unwrap)
        .collect();
    let want: Vec<String> = [2, 3, 5, 6]
        .iter()
        .map(|l| p.pid(Domain::Sale, &format!("sales.csv:{l}")))
        .collect();
    assert_eq!(sale_pids, want);

    // Clients: one row per client id, registered on the day of the first sale; C3's only
    // sale has no valid date, so its day is unknown.
    let c = batch(&b, "clients");
    let pids = c.column_by_name("client_pid").unwrap().as_string::<i32>();
    let days = c
        .column_by_name("registered_on")
        .unwrap()
        .as_primitive::<Date32Type>();
    let got: BTreeMap<String, Option<i32>> = (0..c.num_rows())
        .map(|i| {
            (
                pids.value(i).to_string(),
                days.is_valid(i).then(|| days.value(i)),
            )
        })
        .collect();
    let want: BTreeMap<String, Option<i32>> = [
        ("C1", Some(day(2026, 3, 1))),
        ("C2", Some(day(2026, 3, 6))),
        ("C3", None),
    ]
    .into_iter()
    .map(|(id, d)| (p.pid(Domain::Client, id), d))
    .collect();
    assert_eq!(got, want);
    for col in [
        "branch",
        "gender",
        "age_band",
        "postal_prefix",
        "lead_source",
    ] {
        assert_eq!(c.column_by_name(col).unwrap().null_count(), 3, "{col}");
    }

    // The manifest says what was derived.
    let m = &s.manifest;
    assert_eq!(m.sources[0].table, "clients");
    assert_eq!(m.sources[0].rows_out, 3);
    assert_eq!(
        m.sources[0].file,
        "derived from sales.client_id (sales.csv)"
    );
    assert_eq!(m.sources[1].table, "sales");
    assert_eq!((m.sources[1].rows_out, m.sources[1].rows_rejected), (4, 1));
    let notes = m.generalizations.join("\n");
    assert!(
        notes.contains("clients: derived (the source has no clients table)"),
        "{notes}"
    );
    assert!(
        notes.contains("sales.sale_id → sale_pid: not in the source; the row's position in it (sales.csv:LINE)"),
        "{notes}"
    );

    // `check` reads the same mapping.
    let q = clm_pseudonymize::check::check(&clm_pseudonymize::check::CheckOptions {
        mapping: dir.join("mapping.toml"),
        as_of: Some(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
        progress: false,
    })
    .unwrap();
    assert!(!q.checks().is_empty());

    // A call list needs the clients file: said so, no panic.
    std::fs::write(dir.join("pids.csv"), "client_pid\n").unwrap();
    let e = clm_pseudonymize::reidentify::reidentify(
        &clm_pseudonymize::reidentify::ReidentifyOptions {
            mapping: dir.join("mapping.toml"),
            pseudonym_key: Some(kp.clone()),
            pids: dir.join("pids.csv"),
            out: dir.join("calls.csv"),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no [tables.clients]"), "{e}");
}
