//! Profile `classes`: a school of group classes (languages, robotics, programming, chess,
//! drawing, dance) for children and adults, with two branches, as a Russian class-school CRM
//! exports it.
//!
//! Files: `students.csv` (students and leads; a child's phone and e-mail are the parent's, who
//! is the contact person), `subscriptions.csv` (monthly subscriptions of 4, 8 or 12 lessons to
//! one programme), `attendance.csv` (attended lessons, kind = the programme), `payments.csv`
//! (subscriptions, single and trial lessons, materials, events; open invoices marked
//! "Не оплачен") and `feedback.csv` (satisfaction surveys with a free-text review).
//!
//! The funnel of SPEC §5.3 and the stages of the `classes` profile drive the model: a lead
//! books a trial lesson (~60%), comes to it (~70%), mostly buys a subscription, attends one to
//! three times a week on a fixed timetable for months or years (children often pause over
//! the summer and some do not come back), fades out over the last weeks and leaves; the CRM
//! then sets the archive date, though not always. New Year and public holidays have no
//! lessons; September and January bring the enrolment peaks.

use super::{mapping_preamble, write_answers, Answer, Base, Business, Out, Profile, Reset, Survey};
use crate::behaviour::{minute_in, pick, pick_weighted};
use crate::calendar::{date_of, end_after_months, weekday_index, Day};
use crate::ids::document_number;
use crate::mapping::MappingInfo;
use crate::names::{self, feminine_surname, Person};
use chrono::Datelike;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io;

/// Days of history before the as-of date (four school years).
pub const HISTORY_DAYS: Day = 4 * 365 + 1;

pub const STUDENTS_FILE: &str = "students.csv";
pub const SUBSCRIPTIONS_FILE: &str = "subscriptions.csv";
pub const ATTENDANCE_FILE: &str = "attendance.csv";
pub const PAYMENTS_FILE: &str = "payments.csv";
pub const FEEDBACK_FILE: &str = "feedback.csv";

pub const FILES: [(&str, &str); 5] = [
    ("clients", STUDENTS_FILE),
    ("memberships", SUBSCRIPTIONS_FILE),
    ("visits", ATTENDANCE_FILE),
    ("sales", PAYMENTS_FILE),
    ("feedback", FEEDBACK_FILE),
];

pub const STUDENTS_HEADER: &[&str] = &[
    "ID",
    "ФИО ученика",
    "Дата рождения",
    "Пол",
    "Контактное лицо",
    "Телефон",
    "E-mail",
    "Индекс",
    "Филиал",
    "Дата добавления",
    "Источник",
    "Запись на пробный урок",
    "Дата архивации",
    "Причина архивации",
    "Комментарий",
];
pub const SUBSCRIPTIONS_HEADER: &[&str] = &[
    "Номер абонемента", "ID ученика", "Филиал", "Программа", "Занятий", "Дата продажи",
    "Дата начала", "Дата окончания", "Стоимость", "Статус", "Дней заморозки",
];
pub const ATTENDANCE_HEADER: &[&str] =
    &["ID ученика", "Дата и время", "Филиал", "Программа", "Группа"];
pub const PAYMENTS_HEADER: &[&str] = &[
    "Номер платежа", "ID ученика", "Дата и время", "Категория", "Назначение", "Кол-во", "Сумма",
    "Статус оплаты",
];
pub const FEEDBACK_HEADER: &[&str] = &["ID ученика", "Дата", "Оценка", "Отзыв"];

/// Columns left unmapped on purpose (dropped by the pseudonymizer, listed in the manifest).
pub const UNMAPPED: &[(&str, &str)] = &[
    (STUDENTS_FILE, "Причина архивации"),
    (SUBSCRIPTIONS_FILE, "Занятий"),
    (ATTENDANCE_FILE, "Группа"),
];

pub const BRANCHES: [&str; 2] = ["Центр", "Академический"];

/// Subscription statuses as the CRM prints them. "Завершён" (used up, expired) is not a state
/// of its own: whether a subscription is current follows from its dates.
pub const STATUS_ACTIVE: &str = "Активен";
pub const STATUS_DONE: &str = "Завершён";
pub const STATUS_FROZEN: &str = "Заморожен";
pub const STATUS_CANCELLED: &str = "Отменён";

pub const PAID: &str = "Оплачен";
pub const OPEN: &str = "Не оплачен";

pub const CAT_SUBSCRIPTION: &str = "Абонемент";
pub const CAT_SINGLE: &str = "Разовое занятие";
pub const CAT_TRIAL: &str = "Пробный урок";
pub const CAT_MATERIALS: &str = "Учебные материалы";
pub const CAT_EVENTS: &str = "Мероприятия";

struct Programme {
    name: &'static str,
    /// Short code in group names.
    code: &'static str,
    /// One lesson's list price at the start of the history, kopecks.
    lesson: i64,
    /// Ages of the children's groups (inclusive); (0, 0) when there are none.
    kids: (i32, i32),
    kids_weight: u32,
    adults_weight: u32,
    materials: Option<(&'static str, i64)>,
}

const fn prog(
    name: &'static str,
    code: &'static str,
    lesson: i64,
    kids: (i32, i32),
    kids_weight: u32,
    adults_weight: u32,
    materials: Option<(&'static str, i64)>,
) -> Programme {
    Programme {
        name,
        code,
        lesson,
        kids,
        kids_weight,
        adults_weight,
        materials,
    }
}

/// name, code, lesson price, children's ages, weights among children and adults, materials.
#[rustfmt::skip]
const PROGRAMMES: &[Programme] = &[
    prog("Английский язык", "АНГ", 80_000, (5, 17), 30, 40, Some(("Учебник и рабочая тетрадь", 240_000))),
    prog("Китайский язык", "КИТ", 95_000, (8, 17), 5, 12, Some(("Учебник и прописи", 210_000))),
    prog("Немецкий язык", "НЕМ", 80_000, (8, 17), 5, 9, Some(("Учебник и рабочая тетрадь", 240_000))),
    prog("Робототехника", "РОБ", 100_000, (6, 14), 18, 0, Some(("Робототехнический набор", 690_000))),
    prog("Программирование на Python", "ПРГ", 110_000, (10, 17), 10, 12, None),
    prog("Шахматы", "ШАХ", 65_000, (5, 14), 12, 0, Some(("Шахматный задачник", 90_000))),
    prog("Рисование", "РИС", 70_000, (5, 14), 10, 12, Some(("Набор художника", 280_000))),
    prog("Современные танцы", "ТАН", 65_000, (6, 17), 10, 15, None),
];

const LEAD_SOURCES: &[(&str, u32)] = &[
    ("Сайт", 28),
    ("ВКонтакте", 22),
    ("Рекомендация", 24),
    ("Яндекс.Карты", 12),
    ("Вывеска", 8),
    ("Листовка", 6),
];

/// Each used by at most 4 students whatever the school size (below `rare_k` = 5).
pub(crate) const RARE_SOURCES: &[(&str, u64)] = &[
    ("Радио", 4),
    ("Выставка «Образование»", 3),
    ("Партнёрский детский сад", 2),
    ("Городской форум", 1),
];

const NOTES: &[&str] = &[
    "Левша",
    "Аллергия на латекс",
    "Хочет в группу к другу",
    "Готовится к экзамену",
    "Просили \"не звонить\" до 18:00; писать в мессенджер",
    "Занимался раньше в другой школе",
    "Скидка для многодетных",
    "Нужен вечерний график",
];

const ARCHIVE_REASONS: &[&str] = &[
    "Переезд",
    "Не подошло расписание",
    "Дорого",
    "Потерял интерес",
    "Перешёл в другую школу",
    "Не вышел на связь",
    "Окончил курс",
];

const PRAISE: &[&str] = &[
    "Ребёнку очень нравится, ходит с удовольствием",
    "Отличный преподаватель",
    "Видим прогресс; спасибо школе",
    "Удобное расписание и расположение",
];
const NEUTRAL: &[&str] =
    &["В целом хорошо", "Хотелось бы меньше учеников в группе", "Мало домашних заданий"];
const COMPLAINTS: &[&str] = &[
    "Часто меняются преподаватели",
    "Дорого",
    "Отменяют занятия в последний момент",
    "Нет \"обратной связи\" о прогрессе",
];

/// No lessons on these days: the New Year holidays and the public holidays.
fn holiday(d: Day) -> bool {
    let dt = date_of(d);
    matches!(
        (dt.month(), dt.day()),
        (1, 1..=8) | (2, 23) | (3, 8) | (5, 1) | (5, 9) | (6, 12) | (11, 4)
    )
}

/// Enrolment seasonality by month of registration: September and January peaks, a summer lull.
const MONTH_WEIGHT: [f32; 12] = [1.3, 1.0, 0.9, 0.8, 0.7, 0.5, 0.45, 0.9, 2.0, 1.4, 1.0, 0.8];

/// One programme a student attends: its timetable and how it ends.
struct Enrolment {
    prog: usize,
    lessons: u32,
    days: [bool; 7],
    minute: u16,
    group: String,
    start: Day,
    /// Probability of attending a scheduled lesson.
    attend: f32,
    /// Monthly probability of leaving after the current subscription.
    leave_p: f64,
    summer_pause: bool,
    return_p: f64,
}

struct Sub {
    number: u64,
    prog: usize,
    lessons: u32,
    sold: Day,
    start: Day,
    end: Day,
    price: i64,
    status: &'static str,
    freeze_days: u32,
}

#[derive(Clone, Copy)]
struct Visit {
    day: Day,
    minute: u16,
    prog: usize,
    /// Index into the student's enrolments (the group name); `usize::MAX` for a trial lesson.
    enrolment: usize,
}

#[derive(Clone, Copy)]
struct Payment {
    day: Day,
    minute: u16,
    category: &'static str,
    item: &'static str,
    quantity: u32,
    amount: i64,
    open: bool,
}

/// Per-run scratch space reused for every student.
#[derive(Default)]
pub(crate) struct Scratch {
    enrolments: Vec<Enrolment>,
    subs: Vec<Sub>,
    visits: Vec<Visit>,
    payments: Vec<Payment>,
    feedback: Vec<Answer>,
}

/// The school: what the shared run needs.
pub(crate) const BUSINESS: Business<Student, Scratch> = Business {
    profile: Profile::Classes,
    headers: &[
        STUDENTS_HEADER, SUBSCRIPTIONS_HEADER, ATTENDANCE_HEADER, PAYMENTS_HEADER, FEEDBACK_HEADER,
    ],
    who,
    life,
    write,
    mapping_toml,
};

fn registration_day(rng: &mut ChaCha8Rng, first: Day, last: Day) -> Day {
    loop {
        let d = rng.random_range(first..=last);
        let w = MONTH_WEIGHT[date_of(d).month0() as usize];
        if rng.random::<f32>() * 2.0 < w {
            return d;
        }
    }
}

fn pick_programme(rng: &mut ChaCha8Rng, age: i32, not: Option<usize>) -> usize {
    let weight = |k: usize| -> u32 {
        let p = &PROGRAMMES[k];
        if Some(k) == not {
            0
        } else if age >= 18 {
            p.adults_weight
        } else if (p.kids.0..=p.kids.1).contains(&age) {
            p.kids_weight
        } else {
            0
        }
    };
    let total: u32 = (0..PROGRAMMES.len()).map(weight).sum();
    if total == 0 {
        return 0;
    }
    let mut r = rng.random_range(0..total);
    for k in 0..PROGRAMMES.len() {
        let w = weight(k);
        if r < w {
            return k;
        }
        r -= w;
    }
    0
}

/// Price in kopecks of a month of `lessons` lessons: the list price rises 8% a year, larger
/// subscriptions are cheaper per lesson, rounded to whole hundreds of roubles.
fn price(prog: usize, lessons: u32, sold: Day, history_start: Day) -> i64 {
    let years = ((sold - history_start).max(0) / 365) as i64;
    let per = PROGRAMMES[prog].lesson * (100 + 8 * years) / 100;
    let discount = match lessons {
        4 => 100,
        8 => 93,
        _ => 87,
    };
    let p = per * lessons as i64 * discount / 100;
    (p + 5_000) / 10_000 * 10_000
}

const WEEKDAY_SHORT: [&str; 7] = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"];

fn timetable(rng: &mut ChaCha8Rng, lessons: u32, adult: bool) -> ([bool; 7], u16) {
    let sets: &[&[usize]] = match lessons {
        4 => &[&[0], &[1], &[2], &[3], &[4], &[5]],
        8 => &[&[0, 2], &[1, 3], &[2, 4], &[1, 4], &[5, 6]],
        _ => &[&[0, 2, 4], &[1, 3, 5]],
    };
    let set = pick(rng, sets);
    let mut days = [false; 7];
    for &d in set {
        days[d] = true;
    }
    let weekend = set.iter().all(|&d| d >= 5);
    let minute = if weekend {
        rng.random_range(10..=16) * 60
    } else if adult {
        pick(rng, &[18 * 60 + 30, 19 * 60, 19 * 60 + 30, 20 * 60])
    } else {
        pick(
            rng,
            &[15 * 60, 16 * 60, 16 * 60 + 30, 17 * 60, 17 * 60 + 30, 18 * 60],
        )
    };
    (days, minute)
}

fn group_name(prog: usize, days: &[bool; 7], minute: u16) -> String {
    let mut g = String::with_capacity(32);
    g.push_str(PROGRAMMES[prog].code);
    g.push('-');
    let mut first = true;
    for (k, &on) in days.iter().enumerate() {
        if on {
            if !first {
                g.push('/');
            }
            g.push_str(WEEKDAY_SHORT[k]);
            first = false;
        }
    }
    let _ = write!(g, " {:02}:{:02}", minute / 60, minute % 60);
    g
}

/// Simulate student `idx` (0-based) and write its rows.
/// Who a student is (with the parent for a child), and how they came to the school.
pub(crate) struct Student {
    id: String,
    female: bool,
    years: i32,
    birth: Day,
    student: Person,
    /// A child's parent, the contact person.
    contact: Option<Person>,
    phone: String,
    email: String,
    postal: String,
    branch: usize,
    /// Taken over from the old system, already attending.
    imported: bool,
    registered: Day,
    source: &'static str,
    comment: String,
    /// Set by the student's life: the trial lesson booked, the CRM's archive date and reason.
    trial: Option<Day>,
    archived: Option<Day>,
    reason: &'static str,
}

fn who(base: &Base, idx: u64, rng: &mut ChaCha8Rng) -> Student {
    let as_of = base.as_of;
    let history_start = as_of - HISTORY_DAYS;
    // --- who they are ---
    let child = rng.random_bool(0.65);
    let female = rng.random_bool(if child { 0.5 } else { 0.68 });
    let years: i32 = if child {
        match rng.random_range(0..100u32) {
            0..=14 => rng.random_range(5..=6),
            15..=69 => rng.random_range(7..=11),
            _ => rng.random_range(12..=17),
        }
    } else {
        match rng.random_range(0..100u32) {
            0..=24 => rng.random_range(18..=24),
            25..=69 => rng.random_range(25..=39),
            _ => rng.random_range(40..=62),
        }
    };
    let birth = as_of - (years as f32 * 365.25) as Day - rng.random_range(0..365);
    // One family name for the student and the parent, each in their own gender's form.
    let family = Person::random(rng, false).surname;
    let form = |f: bool| {
        if f {
            feminine_surname(&family)
        } else {
            family.clone()
        }
    };
    let mut student = Person::random(rng, female);
    student.surname = form(female);
    let contact = if child {
        let mother = rng.random_bool(0.8);
        let mut parent = Person::random(rng, mother);
        parent.surname = form(mother);
        Some(parent)
    } else {
        None
    };
    let reach = contact.as_ref().unwrap_or(&student);
    let reach_birth_year = date_of(birth).year() - if child { 29 } else { 0 };
    let phone = if rng.random_bool(0.97) {
        names::phone(rng)
    } else {
        String::new()
    };
    let email = if rng.random_bool(0.6) {
        names::email(rng, reach, reach_birth_year)
    } else {
        String::new()
    };
    let postal = names::postal_code(rng);
    let branch = if rng.random_bool(0.55) { 0 } else { 1 };
    let imported = rng.random_bool(0.1);
    let registered = if imported {
        history_start + rng.random_range(0..=30)
    } else {
        registration_day(rng, history_start, as_of)
    };
    let source = match base.rare_source(idx) {
        Some(s) => s,
        None => pick_weighted(rng, LEAD_SOURCES),
    };
    let comment = match rng.random_range(0..100u32) {
        0..=69 => String::new(),
        70..=75 if child => {
            let granny = Person::random(rng, true);
            format!("Забирает бабушка — {}", granny.full_name())
        }
        76..=79 => format!("Второй телефон: {}", names::phone(rng)),
        _ => pick(rng, NOTES).to_string(),
    };
    Student {
        id: (idx + 1).to_string(),
        female,
        years,
        birth,
        student,
        contact,
        phone,
        email,
        postal,
        branch,
        imported,
        registered,
        source,
        comment,
        trial: None,
        archived: None,
        reason: "",
    }
}

impl Reset for Scratch {
    fn reset(&mut self) {
        self.enrolments.clear();
        self.subs.clear();
        self.visits.clear();
        self.payments.clear();
        self.feedback.clear();
    }
}

/// The student's life: the trial lesson, enrolments and their months, then the archive.
fn life(base: &Base, idx: u64, rng: &mut ChaCha8Rng, st: &mut Student, sc: &mut Scratch) {
    let as_of = base.as_of;
    let Student {
        years,
        imported,
        registered,
        ..
    } = *st;
    let engagement: f32 = (rng.random::<f32>() + rng.random::<f32>()) / 2.0;
    let first_prog = pick_programme(rng, years, None);
    let mut trial = None;
    let mut first_start = None;
    if imported {
        // Taken over from the old system: already attending (the first subscription in the
        // new CRM is sold at most five days before it starts, after the record exists).
        first_start = Some(registered + rng.random_range(6..=20));
    } else if rng.random_bool(0.6) {
        let booked = registered + rng.random_range(0..=7);
        if booked <= as_of {
            trial = Some(booked);
            let lesson = booked + rng.random_range(1..=8);
            if rng.random_bool(0.7) && lesson <= as_of {
                let paid_trial = rng.random_bool(0.4);
                let minute = if years >= 18 {
                    minute_in(rng, 18, 21)
                } else {
                    minute_in(rng, 15, 19)
                };
                sc.visits.push(Visit {
                    day: lesson,
                    minute,
                    prog: first_prog,
                    enrolment: usize::MAX,
                });
                if paid_trial {
                    sc.payments.push(Payment {
                        day: lesson,
                        minute: minute.saturating_sub(10),
                        category: CAT_TRIAL,
                        item: PROGRAMMES[first_prog].name,
                        quantity: 1,
                        amount: 50_000,
                        open: false,
                    });
                }
                if rng.random_bool(0.78) {
                    first_start = Some(lesson + rng.random_range(2..=14));
                }
            }
        }
    } else if rng.random_bool(0.06) {
        // Signed up straight away, without a trial lesson.
        first_start = Some(registered + rng.random_range(6..=15));
    }

    if let Some(start) = first_start {
        let adult = years >= 18;
        let knobs = base.knobs;
        // Lessons are on a timetable: a club's visit knob moves attendance less than gym visits.
        let class_visits = 1.0 + (knobs.visits - 1.0) * 0.4;
        let mut add = |rng: &mut ChaCha8Rng, prog: usize, start: Day| {
            let lessons = match rng.random_range(0..100u32) {
                0..=29 => 4,
                30..=84 => 8,
                _ => 12,
            };
            let (days, minute) = timetable(rng, lessons, adult);
            let e = (engagement + rng.random_range(-0.1f32..0.1)).clamp(0.0, 1.0);
            sc.enrolments.push(Enrolment {
                prog,
                lessons,
                days,
                minute,
                group: group_name(prog, &days, minute),
                start,
                attend: ((0.7 + 0.25 * e) * class_visits).min(0.98),
                leave_p: (0.11 - 0.085 * e as f64 - knobs.renewal / 3.0).max(0.005),
                summer_pause: rng.random_bool(if adult { 0.4 } else { 0.7 }),
                return_p: 0.55 + 0.4 * e as f64,
            });
        };
        add(rng, first_prog, start);
        if rng.random_bool(0.15) {
            let second = pick_programme(rng, years, Some(first_prog));
            let later = start + rng.random_range(30..=200);
            add(rng, second, later);
        }
    }

    let mut seq = 0u64;
    for k in 0..sc.enrolments.len() {
        enrol(base, rng, sc, k, idx, &mut seq);
    }

    let last_visit = sc.visits.iter().map(|v| v.day).max();
    let still_enrolled = sc
        .subs
        .iter()
        .any(|s| s.status != STATUS_CANCELLED && s.end + s.freeze_days as Day >= as_of);
    // The CRM's archive: set by hand, so not always, and some days after the fact.
    let archived = match (last_visit, first_start) {
        (Some(last), Some(_)) if !still_enrolled => rng
            .random_bool(0.75)
            .then(|| last + rng.random_range(5..=45)),
        (Some(last), None) => rng
            .random_bool(0.6)
            .then(|| last + rng.random_range(7..=45)),
        (None, _) => match trial {
            Some(t) => rng.random_bool(0.5).then(|| t + rng.random_range(14..=60)),
            None => rng
                .random_bool(0.45)
                .then(|| registered + rng.random_range(30..=150)),
        },
        _ => None,
    }
    .filter(|&d| d <= as_of);
    let reason = if archived.is_some() && rng.random_bool(0.7) {
        pick(rng, ARCHIVE_REASONS)
    } else {
        ""
    };
    st.trial = trial;
    st.archived = archived;
    st.reason = reason;
}

/// The student's rows, each file in time order.
fn write(base: &Base, idx: u64, st: &Student, sc: &mut Scratch, out: &mut Out) -> io::Result<()> {
    let cal = &out.cal;
    let [students, subscriptions, attendance, payments, feedback] = &mut out.files[..] else {
        unreachable!("the school writes five files")
    };
    let f = &mut *students;
    f.plain(&st.id);
    f.text(&st.student.full_name());
    f.date(cal, st.birth);
    f.plain(if st.female { "Ж" } else { "М" });
    match &st.contact {
        Some(p) => f.text(&p.full_name()),
        None => f.empty(),
    }
    f.text(&st.phone);
    f.text(&st.email);
    f.text(&st.postal);
    f.plain(BRANCHES[st.branch]);
    f.date(cal, st.registered);
    f.text(st.source);
    f.opt_date(cal, st.trial);
    f.opt_date(cal, st.archived);
    f.text(st.reason);
    f.text(&st.comment);
    f.end_row()?;

    sc.subs.sort_by_key(|s| (s.start, s.sold, s.number));
    for s in &sc.subs {
        let f = &mut *subscriptions;
        f.padded(s.number, 10);
        f.plain(&st.id);
        f.plain(BRANCHES[st.branch]);
        f.plain(PROGRAMMES[s.prog].name);
        f.uint(s.lessons as u64);
        f.date(cal, s.sold);
        f.date(cal, s.start);
        f.date(cal, s.end);
        f.money(s.price, true);
        f.plain(s.status);
        f.uint(s.freeze_days as u64);
        f.end_row()?;
    }

    sc.visits.sort_by_key(|v| (v.day, v.minute));
    for v in &sc.visits {
        let f = &mut *attendance;
        f.plain(&st.id);
        f.datetime(cal, v.day, v.minute);
        f.plain(BRANCHES[st.branch]);
        f.plain(PROGRAMMES[v.prog].name);
        match sc.enrolments.get(v.enrolment) {
            Some(e) => f.text(&e.group),
            None => f.plain("Пробный урок"),
        }
        f.end_row()?;
    }

    sc.payments.sort_by_key(|p| (p.day, p.minute));
    for (k, p) in sc.payments.iter().enumerate() {
        let f = &mut *payments;
        f.padded(
            document_number(base.seed, 0x636c_7061, idx, k as u64, 10_000, 11),
            11,
        );
        f.plain(&st.id);
        f.datetime(cal, p.day, p.minute);
        f.plain(p.category);
        f.text(p.item);
        f.uint(p.quantity as u64);
        f.money(p.amount, false);
        f.plain(if p.open { OPEN } else { PAID });
        f.end_row()?;
    }

    write_answers(feedback, cal, &st.id, &mut sc.feedback)
}

/// Whether an invoice of `day` is still unpaid at the as-of date: a share of the recent ones,
/// and a thin tail of old debts nobody collected.
fn open_invoice(rng: &mut ChaCha8Rng, day: Day, as_of: Day) -> bool {
    let age = as_of - day;
    let p = match age {
        ..=14 => 0.25,
        15..=45 => 0.07,
        _ => 0.006,
    };
    rng.random_bool(p)
}

/// One enrolment's monthly subscriptions, lessons, payments and surveys, until the student
/// leaves the programme or the history ends.
fn enrol(base: &Base, rng: &mut ChaCha8Rng, sc: &mut Scratch, k: usize, idx: u64, seq: &mut u64) {
    let as_of = base.as_of;
    let history_start = as_of - HISTORY_DAYS;
    let (prog, lessons, days, minute, attend, leave_p, summer_pause, return_p, mut s) = {
        let e = &sc.enrolments[k];
        (
            e.prog, e.lessons, e.days, e.minute, e.attend, e.leave_p, e.summer_pause, e.return_p,
            e.start,
        )
    };
    let mut month = 0u32;
    let mut paid_materials_year = None;
    loop {
        // Summer: many pause from June to September; some do not come back.
        let dt = date_of(s);
        if summer_pause && (6..=8).contains(&dt.month()) && month > 0 {
            if !rng.random_bool(return_p) {
                break;
            }
            let sept = crate::calendar::day_of(
                chrono::NaiveDate::from_ymd_opt(dt.year(), 9, 1).expect("1 September"),
            );
            s = sept + rng.random_range(0..=12);
        }
        // Paid a few days ahead; the first month after the trial lesson at most two days ahead.
        let sold = s - rng.random_range(0..=if month == 0 { 2 } else { 5 });
        if sold > as_of || *seq >= 990 {
            break;
        }
        let leaving = rng.random_bool(if month == 0 { leave_p + 0.12 } else { leave_p });
        let end = end_after_months(s, 1);
        let freeze = (rng.random_bool(0.04)).then(|| {
            let fs = s + rng.random_range(3..=20);
            (fs, rng.random_range(7..=14u32))
        });
        let freeze_days = freeze.map_or(0, |f| f.1);
        let eff_end = end + freeze_days as Day;
        let status = match freeze {
            Some((fs, fd)) if fs <= as_of && as_of < fs + fd as Day => STATUS_FROZEN,
            _ if as_of <= eff_end => STATUS_ACTIVE,
            _ => STATUS_DONE,
        };
        let amount = price(prog, lessons, sold, history_start);
        sc.subs.push(Sub {
            number: document_number(base.seed, 0x636c_6162, idx, *seq, 1000, 10),
            prog,
            lessons,
            sold,
            start: s,
            end,
            price: amount,
            status,
            freeze_days,
        });
        *seq += 1;
        let pay_minute = minute.saturating_sub(rng.random_range(5..=40));
        sc.payments.push(Payment {
            day: sold,
            minute: pay_minute,
            category: CAT_SUBSCRIPTION,
            item: PROGRAMMES[prog].name,
            quantity: lessons,
            amount,
            open: open_invoice(rng, sold, as_of) || (leaving && rng.random_bool(0.12)),
        });
        // Materials at the start and each September.
        if let Some((item, cost)) = PROGRAMMES[prog].materials {
            let year = date_of(s).year() - if date_of(s).month() < 9 { 1 } else { 0 };
            if paid_materials_year != Some(year) && (month == 0 || date_of(s).month() == 9) {
                paid_materials_year = Some(year);
                if rng.random_bool(0.5) {
                    sc.payments.push(Payment {
                        day: sold,
                        minute: pay_minute + 1,
                        category: CAT_MATERIALS,
                        item,
                        quantity: 1,
                        amount: cost,
                        open: false,
                    });
                }
            }
        }

        // The lessons of this month; the last month of a leaver fades out and may stop early.
        let stop = if leaving && rng.random_bool(0.4) {
            s + rng.random_range(3..=20)
        } else {
            eff_end
        };
        let p_attend = if leaving { attend * 0.7 } else { attend };
        let last = eff_end.min(stop).min(as_of);
        let group = Group {
            k,
            prog,
            days,
            minute,
        };
        attend_lessons(rng, sc, &group, (s, last), freeze, p_attend);
        extras(rng, sc, &group, s, as_of, history_start);
        // A survey after the second month and about twice a year.
        if (month == 1 && rng.random_bool(0.3))
            || (month > 1 && month % 6 == 0 && rng.random_bool(0.25))
        {
            let day = s + rng.random_range(5..=25);
            if day <= as_of {
                let fb = feedback(rng, day, attend, leaving);
                sc.feedback.push(fb);
            }
        }

        month += 1;
        if leaving {
            // Some pay for the next month and then ask for the money back.
            if rng.random_bool(0.08) {
                let sold = eff_end - rng.random_range(0..=5);
                if sold <= as_of && *seq < 990 {
                    let start = eff_end + 1;
                    sc.subs.push(Sub {
                        number: document_number(base.seed, 0x636c_6162, idx, *seq, 1000, 10),
                        prog,
                        lessons,
                        sold,
                        start,
                        end: end_after_months(start, 1),
                        price: amount,
                        status: STATUS_CANCELLED,
                        freeze_days: 0,
                    });
                    *seq += 1;
                }
            }
            break;
        }
        s = eff_end + 1;
        if rng.random_bool(0.12) {
            // Holidays or an illness without a freeze: a gap before the next month.
            s += rng.random_range(3..=20);
        }
    }
}

/// The group a student attends: enrolment `k`, its programme and timetable.
struct Group {
    k: usize,
    prog: usize,
    days: [bool; 7],
    minute: u16,
}

/// The lessons attended from `from` to `last`: the group's weekdays but holidays and the
/// freeze, each with probability `p_attend`.
fn attend_lessons(
    rng: &mut ChaCha8Rng,
    sc: &mut Scratch,
    g: &Group,
    (from, last): (Day, Day),
    freeze: Option<(Day, u32)>,
    p_attend: f32,
) {
    for day in from..=last {
        if !g.days[weekday_index(day)] || holiday(day) {
            continue;
        }
        if let Some((fs, fd)) = freeze {
            if day >= fs && day < fs + fd as Day {
                continue;
            }
        }
        if rng.random::<f32>() < p_attend {
            sc.visits.push(Visit {
                day,
                minute: g.minute,
                prog: g.prog,
                enrolment: g.k,
            });
        }
    }
}

/// Now and then, in the month starting `s`, a make-up lesson or a master class, paid
/// separately.
fn extras(
    rng: &mut ChaCha8Rng,
    sc: &mut Scratch,
    g: &Group,
    s: Day,
    as_of: Day,
    history_start: Day,
) {
    if rng.random_bool(0.04) && s + 10 <= as_of {
        sc.payments.push(Payment {
            day: s + rng.random_range(3..=10),
            minute: g.minute.saturating_sub(15),
            category: CAT_SINGLE,
            item: PROGRAMMES[g.prog].name,
            quantity: 1,
            amount: price(g.prog, 4, s, history_start) / 4,
            open: false,
        });
    }
    if rng.random_bool(0.03) && s + 20 <= as_of {
        sc.payments.push(Payment {
            day: s + rng.random_range(5..=20),
            minute: minute_in(rng, 11, 19),
            category: CAT_EVENTS,
            item: pick(
                rng,
                &["Мастер-класс", "Открытый урок для родителей", "Праздничный концерт"],
            ),
            quantity: 1,
            amount: pick(rng, &[90_000, 120_000, 150_000]),
            open: false,
        });
    }
}

/// Satisfaction surveys: the score follows attendance, lower for those about to leave.
const SURVEY: Survey = Survey {
    base: 2.0,
    slope: 9.0,
    penalty: 2.5,
    comment_p: 0.45,
    praise: PRAISE,
    neutral: NEUTRAL,
    complaints: COMPLAINTS,
};

fn feedback(rng: &mut ChaCha8Rng, day: Day, attend: f32, leaving: bool) -> Answer {
    SURVEY.answer(rng, day, attend, leaving, |rng, score, comment| {
        if score <= 6 && rng.random_bool(0.15) {
            comment.push_str(". Перезвоните: ");
            comment.push_str(&names::phone(rng));
        }
    })
}

/// The mapping text.
pub fn mapping_toml(info: &MappingInfo) -> String {
    let mut t = String::with_capacity(6000);
    mapping_preamble(
        &mut t,
        Profile::Classes,
        info,
        "A school of group classes. Students are children and adults; for a child, the phone and\n\
         e-mail are the parent's, and the parent is the contact person (a direct field).\n\
         Left unmapped on purpose: \"Причина архивации\" (free text), \"Занятий\" (the lessons\n\
         in a subscription; the payment's quantity carries it) and \"Группа\" (the timetable).",
    );
    // The [tables.*] sections, the same for every run: data (see `crate::mapping`).
    t.push_str(include_str!("../../mappings/classes.tables.toml"));
    t
}
