//! Profile `b2b_service`: an IT outsourcing company whose clients are companies (accounts),
//! with regional offices in Yekaterinburg and Chelyabinsk (the branches), as its CRM and
//! billing export them.
//!
//! Files: `accounts.csv` (company name, INN, KPP, contact person and position, phone, e-mail,
//! legal address, office, industry, source), `contracts.csv` (yearly service contracts: plan,
//! signing date, term, value, status), `invoices.csv` (monthly subscription invoices, extra
//! workstations, engineer call-outs beyond the plan, projects and equipment; paid, unpaid or
//! partly paid), `contacts.csv` (calls, meetings and engineers' site visits) and `nps.csv`
//! (quarterly NPS surveys with a comment).
//!
//! The model follows the stages of the `b2b_service` profile: prospects that never sign;
//! accounts that sign after a sales cycle of weeks, renew year after year (renewals mostly
//! signed one or two months ahead, some late), grow (extra workstations, projects, plan
//! upgrades, indexation), are sometimes neglected by their account manager for months, and
//! churn when their health — which also drives their NPS answers — runs low; a few come back.

use super::{mapping_preamble, write_answers, Answer, Base, Business, Out, Profile, Reset, Survey};
use crate::behaviour::{minute_in, pick, pick_weighted};
use crate::calendar::{date_of, day_of, end_after_months, weekday_index, Day};
use crate::ids::document_number;
use crate::mapping::MappingInfo;
use crate::names::{self, Person};
use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io;

/// Days of history before the as-of date (five years).
pub const HISTORY_DAYS: Day = 5 * 365 + 1;

pub const ACCOUNTS_FILE: &str = "accounts.csv";
pub const CONTRACTS_FILE: &str = "contracts.csv";
pub const INVOICES_FILE: &str = "invoices.csv";
pub const CONTACTS_FILE: &str = "contacts.csv";
pub const NPS_FILE: &str = "nps.csv";

pub const FILES: [(&str, &str); 5] = [
    ("clients", ACCOUNTS_FILE),
    ("memberships", CONTRACTS_FILE),
    ("sales", INVOICES_FILE),
    ("visits", CONTACTS_FILE),
    ("feedback", NPS_FILE),
];

pub const ACCOUNTS_HEADER: &[&str] = &[
    "Код контрагента", "Наименование", "ИНН", "КПП", "Контактное лицо", "Должность", "Телефон",
    "E-mail", "Юридический адрес", "Офис", "Отрасль", "Дата создания", "Источник",
];
pub const CONTRACTS_HEADER: &[&str] = &[
    "Номер договора", "Код контрагента", "Офис", "Тариф", "Дата подписания", "Дата начала",
    "Дата окончания", "Сумма договора", "Статус",
];
pub const INVOICES_HEADER: &[&str] = &[
    "Номер счёта", "Дата счёта", "Код контрагента", "Вид услуг", "Услуга", "Кол-во", "Сумма",
    "Статус оплаты",
];
pub const CONTACTS_HEADER: &[&str] =
    &["Код контрагента", "Дата и время", "Офис", "Тип контакта", "Ответственный"];
pub const NPS_HEADER: &[&str] = &["Код контрагента", "Дата опроса", "Оценка", "Комментарий"];

/// Columns left unmapped on purpose (dropped by the pseudonymizer, listed in the manifest).
pub const UNMAPPED: &[(&str, &str)] = &[
    (ACCOUNTS_FILE, "КПП"),
    (ACCOUNTS_FILE, "Должность"),
    (ACCOUNTS_FILE, "Отрасль"),
    (CONTACTS_FILE, "Ответственный"),
];

pub const BRANCHES: [&str; 2] = ["Екатеринбург", "Челябинск"];
const REGIONS: [u32; 2] = [66, 74];
const CITIES: [&str; 2] = ["г. Екатеринбург", "г. Челябинск"];

pub const STATUS_CURRENT: &str = "Действует";
pub const STATUS_ENDED: &str = "Завершён";
pub const STATUS_SIGNED: &str = "Подписан";
pub const STATUS_TERMINATED: &str = "Расторгнут";
pub const STATUS_CANCELLED: &str = "Аннулирован";

pub const PAID: &str = "Оплачен";
pub const OPEN: &str = "Не оплачен";
pub const PARTLY: &str = "Частично оплачен";

pub const CAT_SUBSCRIPTION: &str = "Абонентское обслуживание";
pub const CAT_EXTRA: &str = "Доп. услуги";
pub const CAT_PROJECT: &str = "Проекты";
pub const CAT_EQUIPMENT: &str = "Оборудование";

pub const KIND_CALL: &str = "Звонок";
pub const KIND_MEETING: &str = "Встреча";
pub const KIND_SITE: &str = "Выезд";

struct Plan {
    name: &'static str,
    /// Monthly fee at the as-of date, roubles.
    monthly: i64,
    /// Engineers' site visits a month.
    site_visits: f32,
    /// Calls a month from the account manager.
    calls: f32,
    /// Plans an account may grow into.
    upgrade: Option<usize>,
}

const PLANS: &[Plan] = &[
    Plan {
        name: "Сопровождение 1С",
        monthly: 18_000,
        site_visits: 0.15,
        calls: 0.8,
        upgrade: None,
    },
    Plan {
        name: "Обслуживание видеонаблюдения",
        monthly: 12_000,
        site_visits: 0.3,
        calls: 0.5,
        upgrade: None,
    },
    Plan {
        name: "ИТ-аутсорсинг «Старт»",
        monthly: 25_000,
        site_visits: 0.6,
        calls: 1.0,
        upgrade: Some(3),
    },
    Plan {
        name: "ИТ-аутсорсинг «Бизнес»",
        monthly: 60_000,
        site_visits: 2.5,
        calls: 2.0,
        upgrade: Some(4),
    },
    Plan {
        name: "ИТ-аутсорсинг «Корпоративный»",
        monthly: 150_000,
        site_visits: 7.0,
        calls: 4.0,
        upgrade: None,
    },
];

const PROJECTS: &[(&str, &str, i64)] = &[
    (CAT_PROJECT, "Миграция в облако", 180_000),
    (CAT_PROJECT, "Аудит информационной безопасности", 120_000),
    (CAT_PROJECT, "Модернизация локальной сети", 250_000),
    (CAT_PROJECT, "Внедрение ЭДО", 60_000),
    (CAT_EQUIPMENT, "Поставка и настройка ноутбуков", 320_000),
    (CAT_EQUIPMENT, "Поставка сервера", 450_000),
];

const LEAD_SOURCES: &[(&str, u32)] = &[
    ("Рекомендация", 30),
    ("Сайт", 25),
    ("Тендер", 15),
    ("Холодный звонок", 15),
    ("Выставка", 8),
    ("Партнёр", 7),
];
/// Each used by at most 4 accounts whatever the company's size (below `rare_k` = 5).
pub(crate) const RARE_SOURCES: &[(&str, u64)] =
    &[("Конференция «ИТ-Урал»", 4), ("Радио", 3), ("Отраслевой каталог", 2), ("Бизнес-клуб", 1)];
const POSITIONS: &[&str] = &[
    "Директор",
    "Генеральный директор",
    "Главный бухгалтер",
    "Офис-менеджер",
    "ИТ-директор",
    "Заместитель директора",
];
const INDUSTRIES: &[&str] = &[
    "Торговля", "Строительство", "Медицина", "Логистика", "Производство", "Услуги", "Образование",
];
const PRAISE: &[&str] =
    &["Быстро решают заявки", "Инженер всегда на связи", "Довольны; рекомендуем партнёрам"];
const NEUTRAL: &[&str] =
    &["В целом устраивает", "Иногда долго ждать выезда", "Хотелось бы отчёты \"по-понятнее\""];
const COMPLAINTS: &[&str] = &[
    "Заявки висят по несколько дней",
    "Сменился инженер, всё приходится объяснять заново",
    "Дорого для нашего объёма",
    "Не перезвонили по аварии сервера",
];

struct Contract {
    number: u64,
    plan: usize,
    sold: Day,
    start: Day,
    end: Day,
    value: i64,
    status: &'static str,
}

#[derive(Clone, Copy)]
struct Invoice {
    day: Day,
    category: &'static str,
    item: &'static str,
    quantity: u32,
    amount: i64,
    status: &'static str,
}

#[derive(Clone, Copy)]
struct Contact {
    day: Day,
    minute: u16,
    kind: &'static str,
}

#[derive(Default)]
pub(crate) struct Scratch {
    contracts: Vec<Contract>,
    invoices: Vec<Invoice>,
    contacts: Vec<Contact>,
    nps: Vec<Answer>,
}

/// The IT company: what the shared run needs.
pub(crate) const BUSINESS: Business<Account, Scratch> = Business {
    profile: Profile::B2bService,
    headers: &[ACCOUNTS_HEADER, CONTRACTS_HEADER, INVOICES_HEADER, CONTACTS_HEADER, NPS_HEADER],
    who,
    life,
    write,
    mapping_toml,
};

pub(crate) fn account_id(idx: u64) -> String {
    format!("К{:07}", idx + 1)
}

fn first_of_month(d: Day) -> Day {
    let dt = date_of(d);
    day_of(NaiveDate::from_ymd_opt(dt.year(), dt.month(), 1).expect("first of month"))
}

fn next_month_start(d: Day) -> Day {
    end_after_months(first_of_month(d), 1) + 1
}

/// Kopecks of a price `p` (roubles at the as-of date) on `day`: prices rise 8% a year.
fn priced(p: i64, day: Day, as_of: Day) -> i64 {
    super::priced(p, day, as_of, 0.92, 100)
}

fn payment_status(rng: &mut ChaCha8Rng, day: Day, as_of: Day, troubled: bool) -> &'static str {
    let age = as_of - day;
    let mut p: f64 = match age {
        ..=9 => 0.7,
        10..=40 => 0.12,
        41..=90 => 0.04,
        _ => 0.004,
    };
    if troubled {
        p = (p + 0.3).min(0.95);
    }
    if rng.random_bool(p) {
        if rng.random_bool(0.2) {
            PARTLY
        } else {
            OPEN
        }
    } else {
        PAID
    }
}

/// Simulate account `idx` (0-based) and write its rows.
/// Who an account is: the company, its contact person and account manager, and how its
/// story will go (plan, health).
pub(crate) struct Account {
    id: String,
    branch: usize,
    contact: Person,
    name: String,
    inn: String,
    kpp: String,
    position: &'static str,
    phone: String,
    email: String,
    address: String,
    industry: &'static str,
    manager: String,
    imported: bool,
    /// Days from the first contact to the first contract.
    cycle: Day,
    registered: Day,
    first_start: Option<Day>,
    source: &'static str,
    plan: usize,
    health: f32,
    surveyed: bool,
}

fn who(base: &Base, idx: u64, rng: &mut ChaCha8Rng) -> Account {
    let as_of = base.as_of;
    let history_start = as_of - HISTORY_DAYS;
    // --- who they are ---
    let branch = if rng.random_bool(0.6) { 0 } else { 1 };
    let contact_female = rng.random_bool(0.55);
    let contact = Person::random(rng, contact_female);
    let sole = rng.random_bool(0.15);
    let name = if sole {
        let owner_female = rng.random_bool(0.4);
        let owner = Person::random(rng, owner_female);
        names::company_name(rng, Some(&owner))
    } else {
        names::company_name(rng, None)
    };
    let inn = if sole {
        names::inn_person(
            REGIONS[branch],
            document_number(base.seed, 0x696e_6e32, idx, 0, 1, 8),
        )
    } else {
        names::inn_company(
            REGIONS[branch],
            document_number(base.seed, 0x696e_6e31, idx, 0, 1, 7),
        )
    };
    let kpp = if sole {
        String::new()
    } else {
        format!("{}{:02}01001", REGIONS[branch], rng.random_range(1..=32u32))
    };
    let position = pick(rng, POSITIONS);
    let phone = names::phone(rng);
    let email = if rng.random_bool(0.9) {
        let year = rng.random_range(1965..=1998);
        names::email(rng, &contact, year)
    } else {
        String::new()
    };
    let address = names::address(rng).replacen(CITIES[0], CITIES[branch], 1);
    let industry = pick(rng, INDUSTRIES);
    let manager_female = rng.random_bool(0.5);
    let manager = Person::random(rng, manager_female).short_name();
    // Accounts taken over from the old CRM with the contracts they had: their record dates
    // from before the history, when the first contract was being negotiated.
    let imported = rng.random_bool(0.12);
    let cycle = rng.random_range(14..=90);
    let (registered, first_start) = if imported {
        let start = first_of_month(history_start - rng.random_range(0..=330));
        (start - cycle - rng.random_range(10..=40), Some(start))
    } else {
        (rng.random_range(history_start..=as_of), None)
    };
    let source = match base.rare_source(idx) {
        Some(s) => s,
        None => pick_weighted(rng, LEAD_SOURCES),
    };
    let size = match rng.random_range(0..100u32) {
        0..=29 => 0usize, // 1С support or CCTV: small, low touch
        30..=69 => 2,
        70..=92 => 3,
        _ => 4,
    };
    let plan = if size == 0 {
        rng.random_range(0..2usize)
    } else {
        size
    };
    let health: f32 = (rng.random::<f32>() + rng.random::<f32>()) / 2.0;
    let surveyed = rng.random_bool(0.6);
    Account {
        id: account_id(idx),
        branch,
        contact,
        name,
        inn,
        kpp,
        position,
        phone,
        email,
        address,
        industry,
        manager,
        imported,
        cycle,
        registered,
        first_start,
        source,
        plan,
        health,
        surveyed,
    }
}

impl Reset for Scratch {
    fn reset(&mut self) {
        self.contracts.clear();
        self.invoices.clear();
        self.contacts.clear();
        self.nps.clear();
    }
}

/// The account's life: the sales cycle, contracts and their renewals, invoices, contacts and
/// NPS answers, into the scratch space.
fn life(base: &Base, idx: u64, rng: &mut ChaCha8Rng, a: &mut Account, sc: &mut Scratch) {
    let as_of = base.as_of;
    let history_start = as_of - HISTORY_DAYS;
    let (mut plan, mut health) = (a.plan, a.health);
    let Account {
        imported,
        cycle,
        registered,
        first_start,
        surveyed,
        ref manager,
        ..
    } = *a;
    // --- the sales cycle: calls and meetings before a contract (or none) ---
    let prospect = !imported && rng.random_bool(0.25);
    for _ in 0..if imported { 0 } else { rng.random_range(1..=4) } {
        let d = registered + rng.random_range(0..=cycle);
        let kind = if rng.random_bool(0.65) {
            KIND_CALL
        } else {
            KIND_MEETING
        };
        push_contact(rng, sc, d, kind, as_of);
    }

    if !prospect {
        let (mut sold, mut start) = if let Some(start) = first_start {
            (registered + cycle, start)
        } else {
            let sold = registered + cycle;
            (sold, next_month_start(sold))
        };
        let mut seq = 0u64;
        let mut seats = 0u32;
        // The monthly fee in kopecks: the list price when first signed, then carried over
        // renewals (indexed or not) until an upgrade brings the new plan's list price.
        let mut monthly = priced(PLANS[plan].monthly, sold, as_of);
        while sold <= as_of && seq < 90 {
            let number = document_number(base.seed, 0x6232_6263, idx, seq, 100, 9);
            seq += 1;
            // A few contracts are annulled before they start (the client changed its mind
            // and signed another plan, or nothing).
            if start > sold + 7 && rng.random_bool(0.02) {
                sc.contracts.push(Contract {
                    number,
                    plan,
                    sold,
                    start,
                    end: end_after_months(start, 12),
                    value: monthly * 12,
                    status: STATUS_CANCELLED,
                });
                if rng.random_bool(0.5) {
                    sold += rng.random_range(3..=20);
                    continue;
                }
                break;
            }
            health = (health + rng.random_range(-0.18f32..0.12)).clamp(0.0, 1.0);
            let renew = rng.random_bool((0.48 + 0.5 * health as f64).min(0.97));
            let full_end = end_after_months(start, 12);
            let terminated = !renew && rng.random_bool(0.15);
            let end = if terminated {
                start + rng.random_range(90..=330)
            } else {
                full_end
            };
            let status = if sold <= as_of && start > as_of {
                STATUS_SIGNED
            } else if terminated && end < as_of {
                STATUS_TERMINATED
            } else if as_of <= end {
                STATUS_CURRENT
            } else {
                STATUS_ENDED
            };
            // Prices are fixed for the term of a contract.
            let fee_month = monthly;
            let seat_price = priced(1_500, sold, as_of);
            sc.contracts.push(Contract {
                number,
                plan,
                sold,
                start,
                end,
                value: fee_month * 12,
                status,
            });
            // The months of the contract: invoices, contacts, surveys.
            let neglect = (PLANS[plan].site_visits < 1.0
                && rng.random_bool((0.1 + 0.35 * (1.0 - health) as f64).min(0.9)))
            .then(|| {
                let from = start + rng.random_range(30..=250);
                (from, from + rng.random_range(95..=170))
            });
            let leaving_from = if renew { Day::MAX } else { end - 120 };
            let mut m = start;
            while m <= end && m <= as_of {
                let month_end = (next_month_start(m) - 1).min(end);
                let troubled = m >= leaving_from;
                if m >= history_start {
                    let term = Term {
                        plan,
                        fee_month,
                        seat_price,
                        end,
                        neglect,
                        health,
                        surveyed,
                        manager,
                        as_of,
                    };
                    month(rng, sc, &term, (m, month_end), troubled, &mut seats);
                }
                m = month_end + 1;
            }

            if renew {
                // Renewals are mostly signed a month or two ahead; some late.
                let (rs, next_start) = match rng.random_range(0..100u32) {
                    0..=79 => (end - rng.random_range(15..=60), end + 1),
                    80..=94 => (end - rng.random_range(0..=14), end + 1),
                    _ => {
                        let s = end + rng.random_range(1..=20);
                        (s, s)
                    }
                };
                sold = rs.max(sold + 1);
                start = next_start;
                // At renewal: an upgrade, an indexation, or the same price.
                match rng.random_range(0..100u32) {
                    0..=19 => {
                        if let Some(up) = PLANS[plan].upgrade {
                            plan = up;
                            monthly = priced(PLANS[plan].monthly, sold, as_of);
                        }
                    }
                    20..=54 => monthly = monthly * rng.random_range(105..=110) / 100,
                    _ => {}
                }
            } else if rng.random_bool(0.08) {
                // Won back after a break.
                sold = end + rng.random_range(180..=540);
                start = next_month_start(sold);
                health = (health + 0.3).min(1.0);
                seats = 0;
                // Win-back calls before the new contract.
                let when = sold - rng.random_range(10..=60);
                push_contact(rng, sc, when, KIND_CALL, as_of);
            } else {
                // A win-back call or two that leads nowhere.
                if rng.random_bool(0.4) {
                    let when = end + rng.random_range(60..=270);
                    push_contact(rng, sc, when, KIND_CALL, as_of);
                }
                break;
            }
        }
    }
}

/// A contract's terms for its months, fixed when it is signed (the account's health as of
/// then).
struct Term<'a> {
    plan: usize,
    fee_month: i64,
    seat_price: i64,
    end: Day,
    /// Weeks nobody calls (a neglected account), if any.
    neglect: Option<(Day, Day)>,
    health: f32,
    surveyed: bool,
    manager: &'a str,
    as_of: Day,
}

/// One month `m..=month_end` of a contract: the invoices (the fee, extra seats, projects,
/// call-outs), the contacts of its working days and, once a quarter, an NPS answer; seats
/// are added as the account grows.
fn month(
    rng: &mut ChaCha8Rng,
    sc: &mut Scratch,
    t: &Term,
    (m, month_end): (Day, Day),
    troubled: bool,
    seats: &mut u32,
) {
    let Term {
        plan,
        fee_month,
        seat_price,
        end,
        neglect,
        health,
        surveyed,
        manager,
        as_of,
    } = *t;
    // The subscription fee, prorated for a partial month.
    let days_in_month = next_month_start(m) - first_of_month(m);
    let covered = month_end - m + 1;
    let fee = fee_month * covered as i64 / days_in_month as i64 / 100 * 100;
    let day = m + if m == first_of_month(m) {
        rng.random_range(0..=2)
    } else {
        0
    };
    if day <= as_of {
        let st = payment_status(rng, day, as_of, troubled);
        sc.invoices.push(Invoice {
            day,
            category: CAT_SUBSCRIPTION,
            item: PLANS[plan].name,
            quantity: 1,
            amount: fee,
            status: st,
        });
        if *seats > 0 {
            let st = payment_status(rng, day, as_of, troubled);
            sc.invoices.push(Invoice {
                day,
                category: CAT_EXTRA,
                item: "Дополнительные рабочие места",
                quantity: *seats,
                amount: seat_price * *seats as i64,
                status: st,
            });
        }
    }
    // Growth: more workstations, projects, call-outs beyond the plan.
    if !troubled && rng.random_bool(0.012 + 0.05 * health as f64) {
        *seats += rng.random_range(2..=8);
    }
    if !troubled && rng.random_bool(0.01 + 0.03 * health as f64) {
        let (cat, item, p) = pick(rng, PROJECTS);
        let d = m + rng.random_range(5..=25);
        if d <= as_of {
            let st = payment_status(rng, d, as_of, false);
            sc.invoices.push(Invoice {
                day: d,
                category: cat,
                item,
                quantity: 1,
                amount: priced(p, d, as_of),
                status: st,
            });
        }
    }
    if rng.random_bool(0.06) {
        let d = month_end;
        if d <= as_of {
            let q = rng.random_range(1..=4u32);
            let st = payment_status(rng, d, as_of, troubled);
            sc.invoices.push(Invoice {
                day: d,
                category: CAT_EXTRA,
                item: "Выезд инженера сверх тарифа",
                quantity: q,
                amount: priced(4_500, d, as_of) * q as i64,
                status: st,
            });
        }
    }
    // Contacts, on working days.
    let p = &PLANS[plan];
    let fade = if troubled { 0.5 } else { 1.0 };
    for d in m..=month_end.min(as_of) {
        if weekday_index(d) >= 5 {
            continue;
        }
        if let Some((a, b)) = neglect {
            if d >= a && d < b {
                continue;
            }
        }
        let u: f32 = rng.random();
        let call = p.calls / 21.0 * fade;
        let site = p.site_visits / 21.0;
        let meet = if plan >= 3 { 0.35 / 21.0 } else { 0.1 / 21.0 };
        if u < call {
            push_contact(rng, sc, d, KIND_CALL, as_of);
        } else if u < call + site {
            push_contact(rng, sc, d, KIND_SITE, as_of);
        } else if u < call + site + meet {
            push_contact(rng, sc, d, KIND_MEETING, as_of);
        }
    }
    // A quarterly NPS survey.
    if surveyed && matches!(date_of(m).month(), 1 | 4 | 7 | 10) && rng.random_bool(0.6) {
        let d = first_of_month(m) + rng.random_range(5..=30);
        if d <= as_of && d <= end {
            let fb = nps(rng, d, health, troubled, manager);
            sc.nps.push(fb);
        }
    }
}

/// The account's rows, each file in time order.
fn write(base: &Base, idx: u64, a: &Account, sc: &mut Scratch, out: &mut Out) -> io::Result<()> {
    let cal = &out.cal;
    let [accounts, contracts, invoices, contacts, nps] = &mut out.files[..] else {
        unreachable!("the company writes five files")
    };
    let f = &mut *accounts;
    f.plain(&a.id);
    f.text(&a.name);
    f.plain(&a.inn);
    f.plain(&a.kpp);
    f.text(&a.contact.full_name());
    f.text(a.position);
    f.text(&a.phone);
    f.text(&a.email);
    f.text(&a.address);
    f.plain(BRANCHES[a.branch]);
    f.text(a.industry);
    f.date(cal, a.registered);
    f.text(a.source);
    f.end_row()?;

    sc.contracts.sort_by_key(|c| (c.start, c.sold, c.number));
    for c in &sc.contracts {
        let f = &mut *contracts;
        let mut number = String::with_capacity(20);
        let _ = write!(number, "Д-{}-{:09}", date_of(c.sold).year(), c.number);
        f.plain(&number);
        f.plain(&a.id);
        f.plain(BRANCHES[a.branch]);
        f.text(PLANS[c.plan].name);
        f.date(cal, c.sold);
        f.date(cal, c.start);
        f.date(cal, c.end);
        f.money(c.value, true);
        f.plain(c.status);
        f.end_row()?;
    }

    sc.invoices.sort_by_key(|i| i.day);
    for (k, i) in sc.invoices.iter().enumerate() {
        let f = &mut *invoices;
        f.padded(
            document_number(base.seed, 0x6232_696e, idx, k as u64, 10_000, 11),
            11,
        );
        f.date(cal, i.day);
        f.plain(&a.id);
        f.plain(i.category);
        f.text(i.item);
        f.uint(i.quantity as u64);
        f.money(i.amount, true);
        f.plain(i.status);
        f.end_row()?;
    }

    sc.contacts.sort_by_key(|c| (c.day, c.minute));
    for c in &sc.contacts {
        let f = &mut *contacts;
        f.plain(&a.id);
        f.datetime(cal, c.day, c.minute);
        f.plain(BRANCHES[a.branch]);
        f.plain(c.kind);
        f.text(&a.manager);
        f.end_row()?;
    }

    write_answers(nps, cal, &a.id, &mut sc.nps)
}

fn push_contact(rng: &mut ChaCha8Rng, sc: &mut Scratch, day: Day, kind: &'static str, as_of: Day) {
    // Contacts fall on working days: a weekend date moves to the Monday after.
    let day = match weekday_index(day) {
        5 => day + 2,
        6 => day + 1,
        _ => day,
    };
    if day > as_of {
        return;
    }
    sc.contacts.push(Contact {
        day,
        minute: minute_in(rng, 9, 18),
        kind,
    });
}

/// NPS answers: the score follows the account's health, much lower when it is in trouble.
const SURVEY: Survey = Survey {
    base: 6.3,
    slope: 3.9,
    penalty: 3.0,
    comment_p: 0.5,
    praise: PRAISE,
    neutral: NEUTRAL,
    complaints: COMPLAINTS,
};

fn nps(rng: &mut ChaCha8Rng, day: Day, health: f32, troubled: bool, manager: &str) -> Answer {
    SURVEY.answer(
        rng,
        day,
        health,
        troubled,
        |rng, score, comment| match rng.random_range(0..10u32) {
            0 if score >= 9 => {
                let _ = write!(comment, ". Спасибо менеджеру {manager}");
            }
            1 if score <= 6 => {
                comment.push_str(". Свяжитесь со мной: ");
                comment.push_str(&names::phone(rng));
            }
            _ => {}
        },
    )
}

/// The mapping text.
pub fn mapping_toml(info: &MappingInfo) -> String {
    let mut t = String::with_capacity(6000);
    mapping_preamble(
        &mut t,
        Profile::B2bService,
        info,
        "An IT outsourcing company; its clients are companies. The company name (for a sole\n\
         proprietor, a person's name), its INN and the contact person are direct fields.\n\
         Left unmapped on purpose: \"КПП\", \"Должность\", \"Отрасль\" and the account\n\
         manager (\"Ответственный\") of each contact.",
    );
    // The [tables.*] sections, the same for every run: data (see `crate::mapping`).
    t.push_str(include_str!("../../mappings/b2b_service.tables.toml"));
    t
}
