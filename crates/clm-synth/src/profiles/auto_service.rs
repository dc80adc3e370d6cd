//! Profile `auto_service`: a car dealer with two dealer centres (the branches), its showroom
//! and its service, as the dealer's DMS exports them.
//!
//! Files: `clients.csv` (car owners, and leads who came for a test drive or an enquiry and
//! never bought or serviced), `sales.csv` (vehicle sales with the VIN, paid service orders,
//! parts and accessories, service contracts, extended warranties and insurance),
//! `service_visits.csv` (service visits: kind of work, model, VIN, plate, odometer) and
//! `feedback.csv` (CSI surveys after purchases and visits, 0–10, with a comment).
//!
//! The model follows the stages of the `auto_service` profile: vehicle purchases are spread
//! over eight years before the as-of date (the DMS holds service visits for the last six
//! only); most owners come for the first service 11–14 months after the purchase, then about
//! yearly, some skipping a year, many drifting to independent garages once the warranty is
//! over; about a third buy again (trade-in) four to six years later; a fifth of the clients
//! bought their car elsewhere and only service it here. Mileage grows ~15,000 km a year per
//! car, at each owner's own pace.

use super::{mapping_preamble, write_answers, Answer, Base, Business, Out, Profile, Reset, Survey};
use crate::behaviour::{pick, pick_weighted};
use crate::calendar::{date_of, Day};
use crate::ids::document_number;
use crate::mapping::MappingInfo;
use crate::names::{self, Person};
use chrono::Datelike;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io;

/// Vehicle sales go back eight years before the as-of date.
pub const SALES_HISTORY_DAYS: Day = 8 * 365 + 2;
/// Service visits (and their orders) go back six years: the DMS's service module is younger.
pub const SERVICE_HISTORY_DAYS: Day = 6 * 365 + 1;

pub const CLIENTS_FILE: &str = "clients.csv";
pub const SALES_FILE: &str = "sales.csv";
pub const VISITS_FILE: &str = "service_visits.csv";
pub const FEEDBACK_FILE: &str = "feedback.csv";

pub const FILES: [(&str, &str); 4] = [
    ("clients", CLIENTS_FILE),
    ("sales", SALES_FILE),
    ("visits", VISITS_FILE),
    ("feedback", FEEDBACK_FILE),
];

pub const CLIENTS_HEADER: &[&str] = &[
    "Код клиента", "ФИО", "Дата рождения", "Пол", "Телефон", "E-mail", "Паспорт", "Индекс",
    "Дилерский центр", "Дата создания", "Источник", "Согласие на рассылку", "Комментарий",
];
pub const SALES_HEADER: &[&str] = &[
    "Номер документа", "Дата", "Код клиента", "Вид реализации", "Номенклатура", "Количество",
    "Сумма", "Подразделение", "VIN",
];
pub const VISITS_HEADER: &[&str] = &[
    "Код клиента", "Дата и время приёма", "Дилерский центр", "Вид работ", "Модель", "VIN",
    "Госномер", "Пробег, км",
];
pub const FEEDBACK_HEADER: &[&str] = &["Код клиента", "Дата опроса", "Оценка", "Комментарий"];

/// Columns left unmapped on purpose (dropped by the pseudonymizer, listed in the manifest).
pub const UNMAPPED: &[(&str, &str)] =
    &[(CLIENTS_FILE, "Согласие на рассылку"), (VISITS_FILE, "Госномер")];

pub const BRANCHES: [&str; 2] = ["Автоцентр Восток", "Автоцентр Запад"];

pub const CAT_VEHICLE: &str = "Автомобиль";
pub const CAT_SERVICE: &str = "Сервис";
pub const CAT_PARTS: &str = "Запчасти и аксессуары";
pub const CAT_CONTRACT: &str = "Сервисный контракт";
pub const CAT_WARRANTY: &str = "Продлённая гарантия";
pub const CAT_INSURANCE: &str = "Страхование";

pub const KIND_MAINTENANCE: &str = "ТО";
pub const KIND_REPAIR: &str = "Ремонт";
pub const KIND_WARRANTY: &str = "Гарантийный ремонт";
pub const KIND_TYRES: &str = "Шиномонтаж";
pub const KIND_DIAGNOSTICS: &str = "Диагностика";
pub const KIND_BODY: &str = "Кузовной ремонт";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Era {
    /// Sold throughout.
    Always,
    /// Sold until the brands left, about four years before the as-of date.
    Before,
    /// Sold since the new brands came.
    After,
    /// Not sold here: serviced only (bought elsewhere).
    Elsewhere,
}

struct Model {
    name: &'static str,
    wmi: &'static str,
    /// VIN characters 4–8 (no I, O, Q) and the plant code (character 11).
    vds: &'static str,
    plant: char,
    /// List price at the as-of date, roubles.
    price: i64,
    era: Era,
    weight: u32,
}

const MODELS: &[Model] = &[
    Model {
        name: "Lada Vesta",
        wmi: "XTA",
        vds: "GFK11",
        plant: '0',
        price: 1_650_000,
        era: Era::Always,
        weight: 24,
    },
    Model {
        name: "Lada Vesta SW Cross",
        wmi: "XTA",
        vds: "GFL13",
        plant: '0',
        price: 1_950_000,
        era: Era::Always,
        weight: 8,
    },
    Model {
        name: "Lada Niva Travel",
        wmi: "XTA",
        vds: "21230",
        plant: '0',
        price: 1_550_000,
        era: Era::Always,
        weight: 10,
    },
    Model {
        name: "Kia Rio",
        wmi: "Z94",
        vds: "C2417",
        plant: 'U',
        price: 1_900_000,
        era: Era::Before,
        weight: 14,
    },
    Model {
        name: "Kia Sportage",
        wmi: "XWE",
        vds: "P8157",
        plant: 'K',
        price: 3_100_000,
        era: Era::Before,
        weight: 6,
    },
    Model {
        name: "Hyundai Creta",
        wmi: "Z94",
        vds: "G4118",
        plant: 'U',
        price: 2_300_000,
        era: Era::Before,
        weight: 10,
    },
    Model {
        name: "Skoda Octavia",
        wmi: "XW8",
        vds: "AN2NE",
        plant: 'X',
        price: 2_700_000,
        era: Era::Before,
        weight: 6,
    },
    Model {
        name: "Haval Jolion",
        wmi: "LGW",
        vds: "FF4A5",
        plant: 'T',
        price: 2_300_000,
        era: Era::After,
        weight: 12,
    },
    Model {
        name: "Haval F7",
        wmi: "LGW",
        vds: "FG6A2",
        plant: 'T',
        price: 2_900_000,
        era: Era::After,
        weight: 7,
    },
    Model {
        name: "Haval Dargo",
        wmi: "LGW",
        vds: "FH7A3",
        plant: 'T',
        price: 3_400_000,
        era: Era::After,
        weight: 5,
    },
    Model {
        name: "Chery Tiggo 4 Pro",
        wmi: "LVV",
        vds: "DB21B",
        plant: 'D',
        price: 2_000_000,
        era: Era::After,
        weight: 9,
    },
    Model {
        name: "Chery Tiggo 7 Pro Max",
        wmi: "LVV",
        vds: "DC11B",
        plant: 'D',
        price: 2_800_000,
        era: Era::After,
        weight: 8,
    },
    Model {
        name: "Geely Coolray",
        wmi: "L6T",
        vds: "78F4U",
        plant: 'N',
        price: 2_500_000,
        era: Era::After,
        weight: 6,
    },
    Model {
        name: "Geely Monjaro",
        wmi: "L6T",
        vds: "79V2E",
        plant: 'N',
        price: 4_600_000,
        era: Era::After,
        weight: 3,
    },
    Model {
        name: "Exeed VX",
        wmi: "LVT",
        vds: "DB24B",
        plant: 'E',
        price: 5_800_000,
        era: Era::After,
        weight: 2,
    },
    Model {
        name: "Hyundai Solaris",
        wmi: "Z94",
        vds: "K2415",
        plant: 'U',
        price: 0,
        era: Era::Elsewhere,
        weight: 14,
    },
    Model {
        name: "Toyota Camry",
        wmi: "XW7",
        vds: "BF4FK",
        plant: 'X',
        price: 0,
        era: Era::Elsewhere,
        weight: 8,
    },
    Model {
        name: "Volkswagen Polo",
        wmi: "XW8",
        vds: "ZZZ61",
        plant: 'X',
        price: 0,
        era: Era::Elsewhere,
        weight: 9,
    },
    Model {
        name: "Renault Logan",
        wmi: "X7L",
        vds: "4SRAT",
        plant: 'B',
        price: 0,
        era: Era::Elsewhere,
        weight: 7,
    },
];

const BUYER_SOURCES: &[(&str, u32)] = &[
    ("Визит в салон", 30),
    ("Сайт дилера", 25),
    ("Рекомендация", 15),
    ("Автопортал", 15),
    ("Трейд-ин", 10),
    ("Звонок", 5),
];
const LEAD_SOURCES: &[(&str, u32)] = &[
    ("Тест-драйв", 35),
    ("Сайт дилера", 25),
    ("Звонок", 20),
    ("Автопортал", 15),
    ("Визит в салон", 5),
];
const SERVICE_SOURCES: &[(&str, u32)] =
    &[("Онлайн-запись на сервис", 40), ("Звонок", 30), ("Рекомендация", 20), ("Визит в салон", 10)];
/// Each used by at most 4 clients whatever the dealer's size (below `rare_k` = 5).
pub(crate) const RARE_SOURCES: &[(&str, u64)] = &[
    ("Автосалон «Моторшоу»", 4),
    ("Радио", 3),
    ("Корпоративный парк", 2),
    ("Лизинговая компания", 1),
];

const NOTES: &[&str] = &[
    "Интересуется трейд-ином",
    "Просил \"не звонить\" по выходным",
    "Корпоративный клиент; счета на организацию",
    "Ездит много, трасса",
    "Хочет кредит; одобрение получено",
    "Недоволен сроками поставки",
];
const ACCESSORIES: &[(&str, i64)] = &[
    ("Комплект ковриков", 450_000),
    ("Защита картера", 980_000),
    ("Комплект зимних шин", 4_800_000),
    ("Сигнализация с автозапуском", 3_200_000),
    ("Тонировка", 1_200_000),
];
const PARTS: &[(&str, i64)] = &[
    ("Масло моторное 4 л", 420_000),
    ("Щётки стеклоочистителя", 240_000),
    ("Аккумулятор", 1_150_000),
    ("Тормозные колодки", 380_000),
];
const PRAISE: &[&str] =
    &["Всё быстро и качественно", "Отличный мастер-приёмщик", "Машину вернули чистой; спасибо"];
const NEUTRAL: &[&str] = &["Нормально, но долго ждать", "Дороговато, но качественно"];
const COMPLAINTS: &[&str] = &[
    "Навязывают лишние работы",
    "Не уложились в срок",
    "Дорого; в независимом сервисе в два раза дешевле",
    "Проблема \"не решена\" с первого раза",
];

#[derive(Clone, Copy)]
struct Visit {
    day: Day,
    minute: u16,
    branch: usize,
    kind: &'static str,
    car: usize,
    mileage: u32,
}

#[derive(Clone, Copy)]
struct Sale {
    day: Day,
    minute: u16,
    category: &'static str,
    item: &'static str,
    amount: i64,
    department: &'static str,
    /// Index into the client's cars for the VIN column.
    car: Option<usize>,
}

struct Car {
    model: usize,
    vin: String,
    plate: String,
    bought: Day,
    /// Kilometres a day this owner drives.
    km_per_day: f32,
}

#[derive(Default)]
pub(crate) struct Scratch {
    cars: Vec<Car>,
    visits: Vec<Visit>,
    sales: Vec<Sale>,
    feedback: Vec<Answer>,
    /// The last odometer reading written per car.
    km: Vec<u32>,
}

/// The dealer: what the shared run needs.
pub(crate) const BUSINESS: Business<Owner, Scratch> = Business {
    profile: Profile::AutoService,
    headers: &[CLIENTS_HEADER, SALES_HEADER, VISITS_HEADER, FEEDBACK_HEADER],
    who,
    life,
    write,
    mapping_toml,
};

/// 1C-style client codes: "00-00000001".
pub(crate) fn client_id(idx: u64) -> String {
    format!("00-{:08}", idx + 1)
}

/// VIN model-year characters from 2010 on (the letters I, O, Q, U, Z and the digit 0 are
/// never used).
const VIN_YEARS: &[u8] = b"ABCDEFGHJKLMNPRSTVWXY123456789";

fn vin_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => (c - b'0') as u32,
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => 0,
    }
}

/// A 17-character VIN with a valid check digit (ISO 3779 / the North American rule that
/// most manufacturers follow): WMI, model code, check digit, model year, plant, serial.
pub fn vin<R: Rng>(rng: &mut R, wmi: &str, vds: &str, plant: char, year: i32) -> String {
    let mut b = [b'0'; 17];
    b[..3].copy_from_slice(wmi.as_bytes());
    b[3..8].copy_from_slice(vds.as_bytes());
    b[9] = VIN_YEARS[(year - 2010).clamp(0, VIN_YEARS.len() as i32 - 1) as usize];
    b[10] = plant as u8;
    let serial: u32 = rng.random_range(0..1_000_000);
    b[11..].copy_from_slice(format!("{serial:06}").as_bytes());
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let sum: u32 = b.iter().zip(WEIGHTS).map(|(&c, w)| vin_value(c) * w).sum();
    b[8] = match sum % 11 {
        10 => b'X',
        d => b'0' + d as u8,
    };
    String::from_utf8(b.to_vec()).expect("ASCII")
}

/// A Russian plate of the Sverdlovsk region: "А123ВС 196".
fn plate<R: Rng>(rng: &mut R) -> String {
    const LETTERS: [char; 12] = ['А', 'В', 'Е', 'К', 'М', 'Н', 'О', 'Р', 'С', 'Т', 'У', 'Х'];
    let l = |rng: &mut R| LETTERS[rng.random_range(0..LETTERS.len())];
    let (a, b, c) = (l(rng), l(rng), l(rng));
    let region = pick(rng, &[66, 96, 196]);
    format!("{a}{:03}{b}{c} {region}", rng.random_range(1..1000u32))
}

fn pick_model(rng: &mut ChaCha8Rng, ok: impl Fn(Era) -> bool) -> usize {
    let total: u32 = MODELS.iter().filter(|m| ok(m.era)).map(|m| m.weight).sum();
    let mut r = rng.random_range(0..total);
    for (k, m) in MODELS.iter().enumerate() {
        if ok(m.era) {
            if r < m.weight {
                return k;
            }
            r -= m.weight;
        }
    }
    0
}

/// Prices rise 4% a year: kopecks of a price `p` (roubles at the as-of date) on `day`.
fn priced(p: i64, day: Day, as_of: Day) -> i64 {
    super::priced(p, day, as_of, 0.96, 1000)
}

fn service_minute<R: Rng>(rng: &mut R) -> u16 {
    rng.random_range(8 * 4..19 * 4) * 15
}

/// Simulate client `idx` (0-based) and write its rows.
/// Who a client is: the person and their contacts; what they bought and had serviced is
/// their life's.
pub(crate) struct Owner {
    id: String,
    female: bool,
    person: Person,
    birth: Day,
    phone: String,
    email: String,
    postal: String,
    branch: usize,
    /// Agreed to mailings.
    consent: bool,
    /// Set by the client's life: when the record was made and from where, the passport (for
    /// buyers, mostly) and the note.
    registered: Day,
    source: &'static str,
    passport: String,
    comment: String,
}

fn who(base: &Base, idx: u64, rng: &mut ChaCha8Rng) -> Owner {
    let as_of = base.as_of;
    let female = rng.random_bool(0.33);
    let person = Person::random(rng, female);
    let years: i32 = match rng.random_range(0..100u32) {
        0..=14 => rng.random_range(21..=29),
        15..=74 => rng.random_range(30..=54),
        _ => rng.random_range(55..=76),
    };
    let birth = as_of - (years as f32 * 365.25) as Day - rng.random_range(0..365);
    let phone = if rng.random_bool(0.98) {
        names::phone(rng)
    } else {
        String::new()
    };
    let email = if rng.random_bool(0.55) {
        names::email(rng, &person, date_of(birth).year())
    } else {
        String::new()
    };
    let postal = names::postal_code(rng);
    let branch = rng.random_range(0..2usize);
    let consent = rng.random_bool(0.6);
    Owner {
        id: client_id(idx),
        female,
        person,
        birth,
        phone,
        email,
        postal,
        branch,
        consent,
        registered: 0,
        source: "",
        passport: String::new(),
        comment: String::new(),
    }
}

impl Reset for Scratch {
    fn reset(&mut self) {
        self.cars.clear();
        self.visits.clear();
        self.sales.clear();
        self.feedback.clear();
    }
}

/// The client's life: a lead, a buyer (with trade-ins and the service of each car) or an
/// owner of a car bought elsewhere, serviced here.
fn life(base: &Base, idx: u64, rng: &mut ChaCha8Rng, o: &mut Owner, sc: &mut Scratch) {
    let as_of = base.as_of;
    let sales_start = as_of - SALES_HISTORY_DAYS;
    let service_start = as_of - SERVICE_HISTORY_DAYS;
    let brands_left = as_of - 4 * 365 - 120;
    let Owner { female, branch, .. } = *o;
    let kind = rng.random_range(0..100u32);
    let (registered, source, passport) = if kind < 22 {
        // A lead: a test drive or an enquiry, nothing bought, nothing serviced.
        let registered = rng.random_range(service_start..=as_of);
        (registered, pick_weighted(rng, LEAD_SOURCES), false)
    } else if kind < 80 {
        let mut bought = rng.random_range(sales_start..=as_of);
        let registered = (bought - rng.random_range(0..=45)).max(sales_start);
        let source = pick_weighted(rng, BUYER_SOURCES);
        // Purchases: the first, then trade-ins four to six years on for about a third.
        while bought <= as_of && sc.cars.len() < 6 {
            let model = pick_model(rng, |e| match e {
                Era::Always => true,
                Era::Before => bought < brands_left,
                Era::After => bought >= brands_left,
                Era::Elsewhere => false,
            });
            let car = new_car(rng, model, bought);
            let k = sc.cars.len();
            sc.cars.push(car);
            purchase(rng, sc, k, as_of);
            let next = match rng.random_range(0..100u32) {
                0..=4 => Some(bought + rng.random_range(730..=1460)),
                5..=37 => Some(bought + rng.random_range(1460..=2190)),
                _ => None,
            };
            let until = next.unwrap_or(Day::MAX);
            service_car(
                rng, sc, k, true, bought, until, as_of, service_start, branch,
            );
            match next {
                Some(n) => bought = n,
                None => break,
            }
        }
        (registered, source, rng.random_bool(0.9))
    } else {
        // Bought elsewhere, serviced here.
        let first = rng.random_range(service_start..=as_of);
        // Cars bought elsewhere include the brands that left: they are still on the road.
        let model = pick_model(rng, |_| true);
        let bought = first - rng.random_range(200..=2900);
        let car = new_car(rng, model, bought);
        sc.cars.push(car);
        service_car(
            rng,
            sc,
            0,
            false,
            first,
            Day::MAX,
            as_of,
            service_start,
            branch,
        );
        (
            first,
            pick_weighted(rng, SERVICE_SOURCES),
            rng.random_bool(0.15),
        )
    };
    let source = base.rare_source(idx).unwrap_or(source);
    let passport = if passport {
        names::passport(rng)
    } else {
        String::new()
    };
    let comment = match rng.random_range(0..100u32) {
        0..=74 => String::new(),
        75..=79 => format!(
            "Машиной также пользуется {}",
            Person::random(rng, !female).full_name()
        ),
        80..=83 => format!("Доп. телефон {}", names::phone(rng)),
        _ => pick(rng, NOTES).to_string(),
    };
    o.registered = registered;
    o.source = source;
    o.passport = passport;
    o.comment = comment;
}

/// The client's rows, each file in time order.
fn write(base: &Base, idx: u64, o: &Owner, sc: &mut Scratch, out: &mut Out) -> io::Result<()> {
    let cal = &out.cal;
    let [clients, sales, visits, feedback] = &mut out.files[..] else {
        unreachable!("the dealer writes four files")
    };
    let f = &mut *clients;
    f.plain(&o.id);
    f.text(&o.person.full_name());
    f.date(cal, o.birth);
    f.plain(if o.female { "Ж" } else { "М" });
    f.text(&o.phone);
    f.text(&o.email);
    f.text(&o.passport);
    f.text(&o.postal);
    f.plain(BRANCHES[o.branch]);
    f.date(cal, o.registered);
    f.text(o.source);
    f.plain(if o.consent { "Да" } else { "Нет" });
    f.text(&o.comment);
    f.end_row()?;

    sc.sales.sort_by_key(|s| (s.day, s.minute));
    for (k, s) in sc.sales.iter().enumerate() {
        let f = &mut *sales;
        f.padded(
            document_number(base.seed, 0x6175_7361, idx, k as u64, 10_000, 11),
            11,
        );
        f.datetime(cal, s.day, s.minute);
        f.plain(&o.id);
        f.plain(s.category);
        f.text(s.item);
        f.uint(1);
        f.money(s.amount, true);
        f.plain(s.department);
        match s.car {
            Some(c) => f.plain(&sc.cars[c].vin),
            None => f.empty(),
        }
        f.end_row()?;
    }

    sc.visits.sort_by_key(|v| (v.day, v.minute));
    // Odometer readings never go back: a reading noted a little high stays the floor.
    sc.km.clear();
    sc.km.resize(sc.cars.len(), 0);
    for v in &sc.visits {
        let f = &mut *visits;
        let car = &sc.cars[v.car];
        let mileage = v.mileage.max(sc.km[v.car]);
        sc.km[v.car] = mileage;
        f.plain(&o.id);
        f.datetime(cal, v.day, v.minute);
        f.plain(BRANCHES[v.branch]);
        f.plain(v.kind);
        f.plain(MODELS[car.model].name);
        f.plain(&car.vin);
        f.text(&car.plate);
        f.uint(mileage as u64);
        f.end_row()?;
    }

    write_answers(feedback, cal, &o.id, &mut sc.feedback)
}

fn new_car(rng: &mut ChaCha8Rng, model: usize, bought: Day) -> Car {
    let m = &MODELS[model];
    let year = date_of(bought).year();
    // ~15,000 km a year on average, from town-only to long-distance drivers.
    let km_year: f32 = match rng.random_range(0..100u32) {
        0..=19 => rng.random_range(6_000.0..11_000.0),
        20..=84 => rng.random_range(11_000.0..20_000.0),
        _ => rng.random_range(20_000.0..35_000.0),
    };
    Car {
        model,
        vin: vin(rng, m.wmi, m.vds, m.plant, year),
        plate: plate(rng),
        bought,
        km_per_day: km_year / 365.0,
    }
}

/// The vehicle sale and what is sold with it.
fn purchase(rng: &mut ChaCha8Rng, sc: &mut Scratch, k: usize, as_of: Day) {
    let car = &sc.cars[k];
    let day = car.bought;
    let m = &MODELS[car.model];
    let minute = rng.random_range(10 * 60..20 * 60);
    let discount = if rng.random_bool(0.3) {
        rng.random_range(30_000..=150_000) / 10_000 * 10_000 * 100
    } else {
        0
    };
    sc.sales.push(Sale {
        day,
        minute,
        category: CAT_VEHICLE,
        item: m.name,
        amount: priced(m.price, day, as_of) - discount,
        department: "Отдел продаж",
        car: Some(k),
    });
    if rng.random_bool(0.55) {
        let (item, p) = pick(rng, ACCESSORIES);
        sc.sales.push(Sale {
            day,
            minute: minute + 5,
            category: CAT_PARTS,
            item,
            amount: priced(p / 100, day, as_of),
            department: "Склад запчастей",
            car: Some(k),
        });
    }
    if rng.random_bool(0.3) {
        sc.sales.push(Sale {
            day,
            minute: minute + 10,
            category: CAT_INSURANCE,
            item: "КАСКО",
            amount: priced(m.price * 45 / 1000, day, as_of),
            department: "Страхование",
            car: Some(k),
        });
    }
    if rng.random_bool(0.15) {
        sc.sales.push(Sale {
            day,
            minute: minute + 12,
            category: CAT_CONTRACT,
            item: "Сервисный контракт «3 ТО»",
            amount: priced(45_000, day, as_of),
            department: "Сервис",
            car: Some(k),
        });
    }
    if rng.random_bool(0.12) {
        sc.sales.push(Sale {
            day,
            minute: minute + 14,
            category: CAT_WARRANTY,
            item: "Продлённая гарантия +2 года",
            amount: priced(38_000, day, as_of),
            department: "Сервис",
            car: Some(k),
        });
    }
    // A CSI survey after the handover.
    if rng.random_bool(0.45) && day + 3 <= as_of {
        let when = day + rng.random_range(1..=3);
        let s = feedback(rng, when, 0.8);
        sc.feedback.push(s);
    }
}

/// The service visits of car `k` from `from` (the purchase for a car sold here, the first
/// visit for one bought elsewhere) until it is traded in (`until`) or the history ends.
#[allow(clippy::too_many_arguments)]
fn service_car(
    rng: &mut ChaCha8Rng,
    sc: &mut Scratch,
    k: usize,
    sold_here: bool,
    from: Day,
    until: Day,
    as_of: Day,
    service_start: Day,
    branch: usize,
) {
    let km_per_day = sc.cars[k].km_per_day;
    let bought = sc.cars[k].bought;
    let satisfaction: f32 = rng.random();
    // Maintenance visits: the first one 11–14 months after a purchase here (sooner for
    // those who reach 15,000 km first), the first one at `from` for a car bought elsewhere.
    let mut schedule: Vec<Day> = Vec::new();
    let mut t = if sold_here {
        if !rng.random_bool(0.82) {
            return; // never comes back after the purchase
        }
        let by_km = (15_000.0 / km_per_day) as Day;
        let by_time = rng.random_range(335..=420);
        from + by_time.min(by_km.max(270) + rng.random_range(0..=25))
    } else {
        from
    };
    loop {
        if t >= until || t > as_of {
            break;
        }
        schedule.push(t);
        let age_years = (t - bought) as f32 / 365.0;
        let stay = if age_years < 3.0 { 0.88 } else { 0.62 } * (0.85 + 0.2 * satisfaction as f64);
        if !rng.random_bool(stay.min(0.97)) {
            break;
        }
        let interval =
            ((15_000.0 / km_per_day) as Day).clamp(250, 365) + rng.random_range(-30..=45);
        t += interval;
        if rng.random_bool(0.08) {
            t += 365; // skipped a year (or went elsewhere once)
        }
    }
    let Some(&last_planned) = schedule.last() else {
        return;
    };
    let loyal_until = (last_planned + rng.random_range(200..=330)).min(until);
    let first = schedule[0];

    let c = CarService {
        k,
        bought,
        km_per_day,
        satisfaction,
        branch,
        service_start,
        until,
        as_of,
    };

    for &d in &schedule {
        let km = (d - bought) as f32 * km_per_day;
        let n = ((km / 15_000.0).round() as usize).clamp(1, 8);
        const TO: [&str; 8] = ["ТО-1", "ТО-2", "ТО-3", "ТО-4", "ТО-5", "ТО-6", "ТО-7", "ТО-8"];
        let amount = 11_000 + if n % 2 == 0 { 9_000 } else { 0 } + rng.random_range(0..4_000);
        visit(rng, sc, &c, d, KIND_MAINTENANCE, TO[n - 1], amount);
    }
    // Between maintenance visits: repairs (under warranty in the first three years),
    // diagnostics, body work; and the seasonal tyre change for some owners.
    let tyres = rng.random_bool(0.3);
    let mut m = first + 30;
    while m < loyal_until && m <= as_of {
        let age_years = (m - bought) as f32 / 365.0;
        let u: f32 = rng.random();
        if u < 0.006 {
            if age_years < 3.0 {
                visit(rng, sc, &c, m, KIND_WARRANTY, KIND_WARRANTY, 0);
            } else {
                let amount = (rng.random_range(2.0f32..11.5)).exp() as i64 + 3_000;
                visit(
                    rng,
                    sc,
                    &c,
                    m,
                    KIND_REPAIR,
                    KIND_REPAIR,
                    amount.min(150_000),
                );
            }
        } else if u < 0.008 {
            let amount = rng.random_range(2_500..=4_500);
            visit(rng, sc, &c, m, KIND_DIAGNOSTICS, KIND_DIAGNOSTICS, amount);
        } else if u < 0.009 {
            let amount = rng.random_range(25_000..=180_000);
            visit(rng, sc, &c, m, KIND_BODY, KIND_BODY, amount);
        }
        if tyres {
            let dt = date_of(m);
            if (dt.month() == 4 && dt.day() <= 7) || (dt.month() == 10 && dt.day() <= 7) {
                let d = m + rng.random_range(0..=30);
                let amount = rng.random_range(2_800..=4_800);
                visit(rng, sc, &c, d, KIND_TYRES, KIND_TYRES, amount);
                m += 60;
                continue;
            }
        }
        m += 7;
    }
}

/// What every service visit of one car needs: the car, its owner's satisfaction and home
/// branch, and the window visits fall in.
struct CarService {
    k: usize,
    bought: Day,
    km_per_day: f32,
    satisfaction: f32,
    branch: usize,
    service_start: Day,
    until: Day,
    as_of: Day,
}

/// A service visit on `day` (within the window): the odometer reading, the invoice and now
/// and then parts, and sometimes a CSI survey.
fn visit(
    rng: &mut ChaCha8Rng,
    sc: &mut Scratch,
    c: &CarService,
    day: Day,
    kind: &'static str,
    item: &'static str,
    amount: i64,
) {
    if day < c.service_start || day > c.as_of || day >= c.until {
        return;
    }
    let minute = service_minute(rng);
    let vbranch = if rng.random_bool(0.1) {
        1 - c.branch
    } else {
        c.branch
    };
    let jitter = rng.random_range(0.97f32..1.03);
    let mileage = ((day - c.bought).max(1) as f32 * c.km_per_day * jitter) as u32;
    sc.visits.push(Visit {
        day,
        minute,
        branch: vbranch,
        kind,
        car: c.k,
        mileage: mileage.max(5),
    });
    if amount > 0 {
        sc.sales.push(Sale {
            day,
            minute: (minute + rng.random_range(90..=300)).min(21 * 60),
            category: CAT_SERVICE,
            item,
            amount: priced(amount, day, c.as_of),
            department: "Сервис",
            car: Some(c.k),
        });
        if rng.random_bool(0.12) {
            let (item, p) = pick(rng, PARTS);
            sc.sales.push(Sale {
                day,
                minute: (minute + 20).min(21 * 60),
                category: CAT_PARTS,
                item,
                amount: priced(p / 100, day, c.as_of),
                department: "Склад запчастей",
                car: None,
            });
        }
    }
    if rng.random_bool(0.3) && day + 5 <= c.as_of {
        let when = day + rng.random_range(1..=5);
        let fb = feedback(rng, when, c.satisfaction);
        sc.feedback.push(fb);
    }
}

/// CSI surveys after a purchase or a visit: the score follows the owner's satisfaction.
const SURVEY: Survey = Survey {
    base: 5.5,
    slope: 4.5,
    penalty: 0.0,
    comment_p: 0.4,
    praise: PRAISE,
    neutral: NEUTRAL,
    complaints: COMPLAINTS,
};

fn feedback(rng: &mut ChaCha8Rng, day: Day, satisfaction: f32) -> Answer {
    SURVEY.answer(rng, day, satisfaction, false, |rng, score, comment| {
        if score >= 9 && rng.random_bool(0.2) {
            let _ = write!(
                comment,
                ". Спасибо мастеру {}",
                Person::random(rng, false).short_name()
            );
        }
    })
}

/// The mapping text.
pub fn mapping_toml(info: &MappingInfo) -> String {
    let mut t = String::with_capacity(6000);
    mapping_preamble(
        &mut t,
        Profile::AutoService,
        info,
        "A car dealer's showroom and service. The VIN columns identify a car, and through its\n\
         registration the owner: they are mapped as the direct field `vin`, never exported.\n\
         Left unmapped on purpose: \"Согласие на рассылку\" (marketing consent) and\n\
         \"Госномер\" (the licence plate, personal data the analysis does not need).",
    );
    // The [tables.*] sections, the same for every run: data (see `crate::mapping`).
    t.push_str(include_str!("../../mappings/auto_service.tables.toml"));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn vins_have_a_valid_check_digit() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for m in MODELS {
            let v = vin(&mut rng, m.wmi, m.vds, m.plant, 2024);
            assert_eq!(v.len(), 17);
            assert!(!v.contains(['I', 'O', 'Q']), "{v}");
            let weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
            let sum: u32 = v.bytes().zip(weights).map(|(c, w)| vin_value(c) * w).sum();
            let check = match sum % 11 {
                10 => 'X',
                d => char::from(b'0' + d as u8),
            };
            assert_eq!(v.as_bytes()[8] as char, check, "{v}");
            assert_eq!(v.as_bytes()[9], b'R', "2024 is R");
        }
        // The textbook example: 1M8GDM9AXKP042788.
        let v = b"1M8GDM9AXKP042788";
        let sum: u32 = v
            .iter()
            .zip([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2])
            .map(|(&c, w)| vin_value(c) * w)
            .sum();
        assert_eq!(sum % 11, 10);
    }
}
