//! The vocabulary of the synthetic club: branches, products, statuses, the staff roster, and
//! the rows the life simulation hands to a [`Sink`].
//!
//! Labels are the Russian strings a club's CRM would print; the canonical values they map to
//! live in `mapping.rs`, next to the mapping text, so that the two cannot drift apart.

use crate::calendar::Day;
use crate::names::Person;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch {
    Central,
    North,
}

impl Branch {
    pub const ALL: [Branch; 2] = [Branch::Central, Branch::North];

    pub fn label(self) -> &'static str {
        match self {
            Branch::Central => "Центральный",
            Branch::North => "Северный",
        }
    }

    pub fn other(self) -> Branch {
        match self {
            Branch::Central => Branch::North,
            Branch::North => Branch::Central,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Standard1,
    Standard3,
    Unlimited6,
    Unlimited12,
    Morning12,
}

impl Product {
    pub fn label(self) -> &'static str {
        match self {
            Product::Standard1 => "Стандарт 1 месяц",
            Product::Standard3 => "Стандарт 3 месяца",
            Product::Unlimited6 => "Безлимит 6 месяцев",
            Product::Unlimited12 => "Безлимит 12 месяцев",
            Product::Morning12 => "Утренний 12 месяцев",
        }
    }

    pub fn months(self) -> u32 {
        match self {
            Product::Standard1 => 1,
            Product::Standard3 => 3,
            Product::Unlimited6 => 6,
            Product::Unlimited12 | Product::Morning12 => 12,
        }
    }

    /// Standard cards exclude group classes (they are sold as packs) and the other branch.
    pub fn is_standard(self) -> bool {
        matches!(self, Product::Standard1 | Product::Standard3)
    }

    /// List price in kopecks at the start of the history, at the central branch.
    pub fn base_price(self) -> i64 {
        match self {
            Product::Standard1 => 390_000,
            Product::Standard3 => 1_050_000,
            Product::Unlimited6 => 2_100_000,
            Product::Unlimited12 => 3_600_000,
            Product::Morning12 => 2_200_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipStatus {
    Active,
    Frozen,
    Cancelled,
    Closed,
}

impl MembershipStatus {
    pub fn label(self) -> &'static str {
        match self {
            MembershipStatus::Active => "Активен",
            MembershipStatus::Frozen => "Заморожен",
            MembershipStatus::Cancelled => "Аннулирован",
            MembershipStatus::Closed => "Закрыт",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitKind {
    Gym,
    Group,
    Pool,
}

impl VisitKind {
    pub fn label(self) -> &'static str {
        match self {
            VisitKind::Gym => "Тренажёрный зал",
            VisitKind::Group => "Групповое занятие",
            VisitKind::Pool => "Бассейн",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Department {
    Gym,
    Group,
    Pool,
}

impl Department {
    pub fn label(self) -> &'static str {
        match self {
            Department::Gym => "Тренажёрный зал",
            Department::Group => "Групповые программы",
            Department::Pool => "Бассейн",
        }
    }

    pub fn visit_kind(self) -> VisitKind {
        match self {
            Department::Gym => VisitKind::Gym,
            Department::Group => VisitKind::Group,
            Department::Pool => VisitKind::Pool,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Intro,
    Testing,
    Program,
    Personal,
    Group,
}

impl Service {
    pub const STARTER: [Service; 3] = [Service::Intro, Service::Testing, Service::Program];

    pub fn label(self) -> &'static str {
        match self {
            Service::Intro => "Вводная тренировка",
            Service::Testing => "Функциональное тестирование",
            Service::Program => "Составление программы",
            Service::Personal => "Персональная тренировка",
            Service::Group => "Групповая программа",
        }
    }

    pub fn category(self) -> &'static str {
        match self {
            Service::Intro | Service::Testing | Service::Program => "Стартовый пакет",
            Service::Personal => "Персональная тренировка",
            Service::Group => "Групповое занятие",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceStatus {
    Done,
    NoShow,
    Cancelled,
}

impl ServiceStatus {
    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Done => "Проведено",
            ServiceStatus::NoShow => "Неявка",
            ServiceStatus::Cancelled => "Отменено",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleCategory {
    Membership,
    Starter,
    PersonalTraining,
    Group,
    Bar,
    Shop,
    Services,
}

impl SaleCategory {
    pub fn label(self) -> &'static str {
        match self {
            SaleCategory::Membership => "Абонемент",
            SaleCategory::Starter => "Стартовый пакет",
            SaleCategory::PersonalTraining => "Персональные тренировки",
            SaleCategory::Group => "Групповые",
            SaleCategory::Bar => "Бар",
            SaleCategory::Shop => "Магазин",
            SaleCategory::Services => "Услуги",
        }
    }
}

/// Lead sources with weights; the rare ones are handed out separately to a handful of
/// clients so that the `rare_k` rule has something to replace.
pub const LEAD_SOURCES: &[(&str, u32)] =
    &[("Сайт", 30), ("Instagram", 22), ("Рекомендация", 20), ("Вывеска", 15), ("Агрегатор", 13)];

/// Each used by at most 4 clients whatever the club size (below `rare_k` = 5).
pub const RARE_SOURCES: &[(&str, u64)] = &[
    ("Радио", 4),
    ("Выставка «Спорт-Экспо»", 3),
    ("Корпоративный договор", 2),
    ("Листовка в ТЦ", 1),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Trainer,
    Manager,
    Bar,
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub code: String,
    pub name: String,
    pub person: Person,
    pub role: Role,
    pub branch: Branch,
}

/// The club's employees. Derived from the seed alone (its own RNG stream), so every client's
/// simulation sees the same trainers whatever order clients are generated in.
#[derive(Debug, Clone)]
pub struct Roster {
    pub staff: Vec<Staff>,
    /// `by[branch][role]` = indices into `staff`.
    by: [[Vec<u16>; 3]; 2],
}

impl Roster {
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::MAX);
        let mut staff = Vec::new();
        let mut by: [[Vec<u16>; 3]; 2] = Default::default();
        for branch in Branch::ALL {
            for (role, count, code_base) in
                [(Role::Trainer, 9u32, 1000u32), (Role::Manager, 3, 2000), (Role::Bar, 2, 3000)]
            {
                for k in 1..=count {
                    // Trainers are mostly men in the gym, and the receptionists mostly women,
                    // as in most clubs; it does not matter for analysis, only for realism.
                    let female = match role {
                        Role::Trainer => rng.random_bool(0.4),
                        _ => rng.random_bool(0.75),
                    };
                    let person = Person::random(&mut rng, female);
                    let code = format!("{}", code_base + (branch.index() as u32 + 1) * 100 + k);
                    by[branch.index()][role as usize].push(staff.len() as u16);
                    staff.push(Staff {
                        code,
                        name: person.full_name(),
                        person,
                        role,
                        branch,
                    });
                }
            }
        }
        Roster { staff, by }
    }

    pub fn of(&self, branch: Branch, role: Role) -> &[u16] {
        &self.by[branch.index()][role as usize]
    }

    pub fn pick<R: Rng>(&self, rng: &mut R, branch: Branch, role: Role) -> u16 {
        let v = self.of(branch, role);
        v[rng.random_range(0..v.len())]
    }

    pub fn get(&self, i: u16) -> &Staff {
        &self.staff[i as usize]
    }
}

/// One client or lead, as the clients table prints it.
pub struct ClientRow<'a> {
    pub id: &'a str,
    pub full_name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub birth: Day,
    pub female: bool,
    pub passport: &'a str,
    pub address: &'a str,
    pub comment: &'a str,
    pub branch: Branch,
    pub registered: Day,
    pub source: &'a str,
    pub trial: Option<Day>,
    pub archived: Option<Day>,
    pub postal: &'a str,
}

pub struct MembershipRow {
    pub number: u64,
    pub branch: Branch,
    pub product: Product,
    pub sold: Day,
    pub start: Day,
    pub end: Day,
    pub price: i64,
    pub status: MembershipStatus,
    pub freeze_days: u32,
}

#[derive(Clone, Copy)]
pub struct VisitRow {
    pub day: Day,
    pub minute: u16,
    pub branch: Branch,
    pub kind: VisitKind,
}

#[derive(Clone, Copy)]
pub struct ServiceRow {
    pub day: Day,
    pub minute: u16,
    pub service: Service,
    pub department: Department,
    pub staff: u16,
    pub status: ServiceStatus,
}

#[derive(Clone, Copy)]
pub struct SaleRow {
    pub number: u64,
    pub day: Day,
    pub minute: u16,
    pub category: SaleCategory,
    pub item: &'static str,
    pub quantity: u32,
    /// Total of the line in kopecks.
    pub amount: i64,
    pub department: &'static str,
    pub staff: u16,
}

pub struct FeedbackRow<'a> {
    pub day: Day,
    pub score: u8,
    pub comment: &'a str,
}

/// Where the simulation sends rows: the CSV export, or a test's collector.
pub trait Sink {
    fn client(&mut self, c: &ClientRow) -> io::Result<()>;
    fn membership(&mut self, client: &str, m: &MembershipRow) -> io::Result<()>;
    fn visit(&mut self, client: &str, v: &VisitRow) -> io::Result<()>;
    fn service(&mut self, client: &str, s: &ServiceRow) -> io::Result<()>;
    fn sale(&mut self, client: &str, s: &SaleRow) -> io::Result<()>;
    fn feedback(&mut self, client: &str, f: &FeedbackRow) -> io::Result<()>;
}
