//! The `mapping.toml` that goes with an export, in the format of
//! `schemas/example-mapping.toml`.
//!
//! The value maps are built from the same labels the writer prints, so a renamed status or
//! category cannot leave the mapping behind. Columns are named through the header constants
//! for the same reason.

use crate::model::*;
use crate::writer::*;
use std::fmt::Write as _;

/// What the mapping's opening comment records about the run.
pub struct MappingInfo<'a> {
    pub encoding: Encoding,
    pub clients: u64,
    pub seed: u64,
    pub as_of: &'a str,
    /// The club's name (`club = "…"`) and behaviour (a comment), when `--club` / `--spread`.
    pub club: &'a crate::club::Club,
    pub knobs: crate::club::Knobs,
}

/// `club = "…"` and a comment on the club's behaviour, before `[source]`; nothing for the
/// default club.
pub(crate) fn club_lines(t: &mut String, info: &MappingInfo) {
    if !info.knobs.is_neutral() {
        let _ = writeln!(
            t,
            "# This club's behaviour, drawn from seed {}: {}.",
            info.seed,
            info.knobs.describe()
        );
    }
    if let Some(name) = &info.club.name {
        let _ = writeln!(t, "club = {}", toml_str(name));
    }
    if !info.knobs.is_neutral() || info.club.name.is_some() {
        t.push('\n');
    }
}

pub(crate) fn col(header: &[&str], name: &str) -> String {
    assert!(header.contains(&name), "{name} is not a column");
    toml_str(name)
}

/// A TOML basic string. Our labels hold no control characters; quotes and backslashes are
/// escaped all the same.
pub(crate) fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn value_map(pairs: &[(&str, &str)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", toml_str(k), toml_str(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

/// `phone` and `email` as every export maps them: compared by digits and case-folded, so that
/// reidentify and the audit find them however the CRM wrote them.
pub(crate) fn contact_lines(t: &mut String, header: &[&str], phone: &str, email: &str) {
    let _ = writeln!(
        t,
        "phone = {{ column = {}, normalize = \"digits\" }}",
        col(header, phone)
    );
    let _ = writeln!(
        t,
        "email = {{ column = {}, normalize = \"casefold\" }}",
        col(header, email)
    );
}

/// `gender` from the Russian `Ж` / `М` every export writes.
pub(crate) fn gender_line(t: &mut String, header: &[&str], column: &str) {
    let _ = writeln!(
        t,
        "gender = {{ column = {}, map = {} }}",
        col(header, column),
        value_map(&[("Ж", "f"), ("М", "m")])
    );
}

/// One line (or two) of a `[tables.NAME.fields]` section: which canonical field reads which
/// column of the file's header, and how.
pub(crate) enum Line {
    /// `field = "column"`.
    Col(&'static str, &'static str),
    /// `field = { column = "column", map = { "source label" = "canonical value", … } }`.
    Map(
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    ),
    /// `field = { column = "column", normalize = "…" }`.
    Normalize(&'static str, &'static str, &'static str),
    /// `field = { column = "column", format = "…" }`.
    Format(&'static str, &'static str, &'static str),
    /// `gender` from the Russian `Ж` / `М` every export writes.
    Gender(&'static str),
    /// `phone` (compared by digits) and `email` (case-folded) from these columns.
    Contacts(&'static str, &'static str),
    /// A comment, written as it is (`#` and line ends included).
    Note(&'static str),
    /// A comment that this column of the header is left unmapped on purpose.
    Unmapped(&'static str),
}

/// One `[tables.NAME]` section of a mapping: the canonical table, its source file and that
/// file's header (every column a line names must be in it), and the field lines.
pub(crate) struct Table {
    pub table: &'static str,
    pub file: &'static str,
    pub header: &'static [&'static str],
    pub lines: Vec<Line>,
}

/// Writes the `[tables.*]` sections of a mapping, a blank line between two.
pub(crate) fn write_tables(t: &mut String, tables: &[Table]) {
    for (k, tab) in tables.iter().enumerate() {
        if k > 0 {
            t.push('\n');
        }
        let _ = writeln!(
            t,
            "[tables.{0}]\nfile = {1}\n\n[tables.{0}.fields]",
            tab.table,
            toml_str(tab.file)
        );
        let h = tab.header;
        for line in &tab.lines {
            match line {
                Line::Col(field, c) => {
                    let _ = writeln!(t, "{field} = {}", col(h, c));
                }
                Line::Map(field, c, pairs) => {
                    let _ = writeln!(
                        t,
                        "{field} = {{ column = {}, map = {} }}",
                        col(h, c),
                        value_map(pairs)
                    );
                }
                Line::Normalize(field, c, how) => {
                    let _ = writeln!(
                        t,
                        "{field} = {{ column = {}, normalize = \"{how}\" }}",
                        col(h, c)
                    );
                }
                Line::Format(field, c, format) => {
                    let _ = writeln!(
                        t,
                        "{field} = {{ column = {}, format = \"{format}\" }}",
                        col(h, c)
                    );
                }
                Line::Gender(c) => gender_line(t, h, c),
                Line::Contacts(phone, email) => contact_lines(t, h, phone, email),
                Line::Note(text) => t.push_str(text),
                Line::Unmapped(c) => {
                    assert!(h.contains(c), "{c} is not a column");
                    let _ = writeln!(
                        t,
                        "# {} is left unmapped on purpose (deny by default: dropped, listed by name).",
                        toml_str(c)
                    );
                }
            }
        }
    }
}

/// The mapping text.
pub fn mapping_toml(info: &MappingInfo) -> String {
    let mut t = String::with_capacity(8192);
    let _ = writeln!(
        t,
        "# Generated by clm-synth ({} clients, seed {}, as of {}).",
        info.clients, info.seed, info.as_of
    );
    t.push_str(
        "# The data in this directory is SYNTHETIC: every name, phone, e-mail, passport and\n\
         # address is made up (e-mails use the reserved example.com/.org/.net domains only).\n\
         #\n\
         # Deny by default: clients.csv has an \"Адрес\" (street address) column that this\n\
         # mapping deliberately does not name, so the pseudonymizer drops it and lists it in the\n\
         # manifest. Direct fields (names, phones, e-mails, passports, notes, comments, staff\n\
         # names) are mapped only so that on-site tools (reidentify, audit) can find them; they\n\
         # are never exported.\n\
         #\n\
         # File paths are relative to this mapping file.\n\n",
    );

    club_lines(&mut t, info);
    t.push_str("[source]\n");
    let _ = writeln!(t, "encoding = {}", toml_str(info.encoding.mapping_name()));
    t.push_str(
        "delimiter = \";\"\n\
         date_format = \"DD.MM.YYYY\"\n\
         datetime_format = \"DD.MM.YYYY HH:mm\"\n\
         decimal_comma = true         # \"1 500,00\" in memberships, \"1500,00\" in sales\n\n\
         [policy]\n\
         rare_k = 5\n\
         age_bands = [18, 25, 35, 45, 55, 65]\n\
         truncate_timestamps = \"hour\"\n\n",
    );

    write_tables(
        &mut t,
        &[
            Table {
                table: "clients",
                file: CLIENTS_FILE,
                header: CLIENTS_HEADER,
                lines: vec![
                    Line::Col("client_id", "Код клиента"),
                    Line::Col("full_name", "ФИО"),
                    Line::Contacts("Телефон", "E-mail"),
                    Line::Format("birth_date", "Дата рождения", "DD.MM.YYYY"),
                    Line::Gender("Пол"),
                    Line::Col("passport", "Паспорт"),
                    Line::Col("notes", "Комментарий"),
                    Line::Col("branch", "Филиал"),
                    Line::Col("registered_on", "Дата регистрации"),
                    Line::Col("lead_source", "Источник"),
                    Line::Col("trial_booked_on", "Пробное занятие"),
                    Line::Col("archived_on", "Дата архивации"),
                    Line::Col("postal_code", "Почтовый индекс"),
                    Line::Unmapped("Адрес"),
                ],
            },
            Table {
                table: "memberships",
                file: MEMBERSHIPS_FILE,
                header: MEMBERSHIPS_HEADER,
                lines: vec![
                    Line::Col("membership_id", "Номер абонемента"),
                    Line::Col("client_id", "Код клиента"),
                    Line::Col("branch", "Филиал"),
                    Line::Col("product", "Абонемент"),
                    Line::Col("sold_on", "Дата продажи"),
                    Line::Col("start_date", "Дата начала"),
                    Line::Col("end_date", "Дата окончания"),
                    Line::Col("price", "Стоимость"),
                    // "Закрыт" (expired) is not a state of its own: whether a card is current
                    // follows from its dates, so it maps to `active` as in the example mapping.
                    Line::Map(
                        "status",
                        "Статус",
                        vec![
                            (MembershipStatus::Active.label(), "active"),
                            (MembershipStatus::Frozen.label(), "frozen"),
                            (MembershipStatus::Cancelled.label(), "cancelled"),
                            (MembershipStatus::Closed.label(), "active"),
                        ],
                    ),
                    Line::Col("freeze_days", "Дней заморозки"),
                ],
            },
            Table {
                table: "visits",
                file: VISITS_FILE,
                header: VISITS_HEADER,
                lines: vec![
                    Line::Col("client_id", "Код клиента"),
                    Line::Col("visited_at", "Время входа"),
                    Line::Col("branch", "Филиал"),
                    Line::Col("kind", "Тип посещения"),
                ],
            },
            Table {
                table: "services",
                file: SERVICES_FILE,
                header: SERVICES_HEADER,
                lines: vec![
                    Line::Col("client_id", "Код клиента"),
                    Line::Col("done_at", "Дата и время"),
                    Line::Col("service", "Услуга"),
                    Line::Map(
                        "category",
                        "Категория услуги",
                        vec![
                            (Service::Intro.category(), "starter"),
                            (Service::Personal.category(), "personal_training"),
                            (Service::Group.category(), "group"),
                        ],
                    ),
                    Line::Col("department", "Отдел"),
                    Line::Col("staff_id", "Код тренера"),
                    Line::Col("staff_name", "Тренер"),
                    Line::Map(
                        "status",
                        "Статус",
                        vec![
                            (ServiceStatus::Done.label(), "done"),
                            (ServiceStatus::NoShow.label(), "no_show"),
                            (ServiceStatus::Cancelled.label(), "cancelled"),
                        ],
                    ),
                ],
            },
            Table {
                table: "sales",
                file: SALES_FILE,
                header: SALES_HEADER,
                lines: vec![
                    Line::Col("sale_id", "Номер чека"),
                    Line::Col("client_id", "Код клиента"),
                    Line::Col("sold_at", "Дата и время продажи"),
                    Line::Map(
                        "category",
                        "Категория",
                        vec![
                            (SaleCategory::Membership.label(), "membership"),
                            (SaleCategory::Starter.label(), "starter"),
                            (SaleCategory::PersonalTraining.label(), "personal_training"),
                            (SaleCategory::Group.label(), "group"),
                            (SaleCategory::Bar.label(), "retail"),
                            (SaleCategory::Shop.label(), "retail"),
                            (SaleCategory::Services.label(), "service"),
                        ],
                    ),
                    Line::Col("item", "Товар/услуга"),
                    Line::Col("quantity", "Количество"),
                    Line::Col("amount", "Сумма"),
                    Line::Col("department", "Отдел"),
                    Line::Col("staff_id", "Код сотрудника"),
                    Line::Col("staff_name", "Продавец"),
                ],
            },
            Table {
                table: "feedback",
                file: FEEDBACK_FILE,
                header: FEEDBACK_HEADER,
                lines: vec![
                    Line::Col("client_id", "Код клиента"),
                    Line::Col("answered_on", "Дата ответа"),
                    Line::Col("score", "Оценка"),
                    Line::Col("comment", "Комментарий"),
                ],
            },
        ],
    );
    t
}
