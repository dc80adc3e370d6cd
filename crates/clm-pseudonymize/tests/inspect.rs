//! `inspect` on exports whose headers our synth never writes (a cp1251 export of another
//! CRM): the header synonyms of `schemas/synonyms.toml`, and the content fallback for a
//! table's own id and its event time when no header names them.

use std::path::{Path, PathBuf};

use clm_core::mapping::Mapping;

/// Writes `text` as Windows-1251, with CRLF line ends, like a Russian CRM's export.
fn cp1251(dir: &Path, name: &str, text: &str) -> PathBuf {
    let text = text.replace('\n', "\r\n");
    let (bytes, _, bad) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!bad);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn draft(dir: &Path, files: &[PathBuf]) -> (String, Mapping) {
    let text = clm_pseudonymize::inspect::inspect(files, Some(dir)).unwrap();
    let m = Mapping::parse(&dir.join("draft.toml"), &text, dir)
        .unwrap_or_else(|e| panic!("the draft does not load: {e}\n{text}"));
    (text, m)
}

fn column<'a>(m: &'a Mapping, table: &str, field: &str) -> Option<&'a str> {
    m.table(table)?.field(field).map(|f| f.column.as_str())
}

#[test]
fn ordinary_russian_crm_headers_are_recognised() {
    let d = tempfile::tempdir().unwrap();
    let files = vec![
        cp1251(
            d.path(),
            "contragents.csv",
            "Код клиента;ФИО;Моб. телефон;Пол;Дата регистрации\n\
             K-001;Смирнова Анна Сергеевна;+7 916 000-00-01;Ж;05.01.2024\n\
             K-002;Петров Пётр Ильич;+7 916 000-00-02;М;06.01.2024\n\
             K-003;Котова Ирина Павловна;+7 916 000-00-03;Ж;07.01.2024\n",
        ),
        cp1251(
            d.path(),
            "dogovory.csv",
            "Код договора;Код клиента;Вид абонемента;Дата начала;Дата окончания;Стоимость;Филиал\n\
             D-17;K-001;Безлимит 12 мес;05.01.2024;04.01.2025;30000,00;Центр\n\
             D-18;K-002;Утро 6 мес;06.01.2024;05.07.2024;12000,00;Центр\n\
             D-19;K-003;Безлимит 12 мес;07.01.2024;06.01.2025;30000,00;Север\n",
        ),
        cp1251(
            d.path(),
            "poseshcheniya.csv",
            "Код клиента;Дата и время визита;Филиал\n\
             K-001;05.01.2024 18:47:00;Центр\n\
             K-002;06.01.2024 07:30:00;Центр\n\
             K-001;08.01.2024 19:05:00;Центр\n",
        ),
        cp1251(
            d.path(),
            "prodazhi.csv",
            "Код продажи;Код клиента;Дата и время оплаты;Товар;Сумма\n\
             S-1;K-001;05.01.2024 18:40:00;Вода 0,5;80,00\n\
             S-2;K-002;06.01.2024 07:20:00;Полотенце;150,00\n\
             S-3;K-001;08.01.2024 19:00:00;Батончик;120,00\n",
        ),
    ];
    let (text, m) = draft(d.path(), &files);
    assert_eq!(
        column(&m, "memberships", "membership_id"),
        Some("Код договора"),
        "{text}"
    );
    assert_eq!(
        column(&m, "visits", "visited_at"),
        Some("Дата и время визита"),
        "{text}"
    );
    assert_eq!(
        column(&m, "sales", "sale_id"),
        Some("Код продажи"),
        "{text}"
    );
    assert_eq!(
        column(&m, "sales", "sold_at"),
        Some("Дата и время оплаты"),
        "{text}"
    );
    assert_eq!(column(&m, "memberships", "product"), Some("Вид абонемента"));
    assert_eq!(column(&m, "clients", "phone"), Some("Моб. телефон"));
    assert!(!text.contains("TODO: the required field"), "{text}");
}

#[test]
fn an_id_and_an_event_time_no_header_names_are_found_by_content() {
    let d = tempfile::tempdir().unwrap();
    let files = vec![
        cp1251(
            d.path(),
            "clients.csv",
            "Код клиента;ФИО\nK-001;Смирнова Анна Сергеевна\nK-002;Петров Пётр Ильич\n",
        ),
        // Headers that name nothing: "Документ" holds one distinct code per row (the sale's
        // id), "Когда" date-times (its time); "Примечание кассы" repeats, so it is no id.
        cp1251(
            d.path(),
            "prodazhi.csv",
            "Примечание кассы;Документ;Код клиента;Когда;Товар;Сумма\n\
             касса 1;Ч-000101;K-001;05.01.2024 18:40:00;Вода 0,5;80,00\n\
             касса 1;Ч-000102;K-002;06.01.2024 07:20:00;Полотенце;150,00\n\
             касса 2;Ч-000103;K-001;08.01.2024 19:00:00;Батончик;120,00\n",
        ),
        cp1251(
            d.path(),
            "poseshcheniya.csv",
            "Код клиента;Отметка;Филиал\n\
             K-001;05.01.2024 18:47:00;Центр\n\
             K-002;06.01.2024 07:30:00;Центр\n",
        ),
    ];
    let (text, m) = draft(d.path(), &files);
    assert_eq!(column(&m, "sales", "sale_id"), Some("Документ"), "{text}");
    assert_eq!(column(&m, "sales", "sold_at"), Some("Когда"), "{text}");
    assert_eq!(
        column(&m, "visits", "visited_at"),
        Some("Отметка"),
        "{text}"
    );
    assert!(
        text.contains("every value distinct, one per row (the header did not say)"),
        "{text}"
    );
    assert!(
        text.contains("dates with times (the header did not say)"),
        "{text}"
    );
}

#[test]
fn a_file_without_its_header_row_has_none_of_its_cells_printed() {
    let d = tempfile::tempdir().unwrap();
    // The first row is data: a phone the detectors know, a two-word name and a city they
    // do not.
    let f = cp1251(
        d.path(),
        "clients.csv",
        "0001;Смирнова Анна;+7 916 000-00-01;Москва\n\
         0002;Петров Пётр;+7 916 000-00-02;Казань\n",
    );
    let text = clm_pseudonymize::inspect::inspect(&[f], Some(d.path())).unwrap();
    for v in ["0001", "Смирнова", "000-00-01", "Москва"] {
        assert!(!text.contains(v), "{v} printed:\n{text}");
    }
    assert!(text.contains("column 2"), "{text}");
}
