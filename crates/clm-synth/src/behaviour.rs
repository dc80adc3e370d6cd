//! One client's life at the club, from registration to the as-of date.
//!
//! Each client is simulated on its own RNG, seeded from (seed, client index), so a client's
//! rows do not depend on which clients came before: the run streams client by client with
//! memory flat in N, and a bug report can name one client and get the same rows back.
//!
//! The model is deliberately simple but shaped for the analyses of SPEC §5: a latent
//! engagement drives visit frequency, renewal, personal training and NPS; clients who will
//! not renew fade out over the weeks before they stop; long cards go unused for months
//! (inactive members); renewals are sometimes bought in advance; cards get frozen and, now
//! and then, cancelled. Nothing after the as-of date is written, except the start and end
//! dates of cards already sold — as in a real export taken that day.

use crate::calendar::{end_after_months, Calendar, Day};
use crate::catalog::*;
use crate::club::Knobs;
use crate::ids::{membership_number, receipt_number, splitmix};
use crate::model::*;
use crate::names::{self, Person};
use chrono::Datelike;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io;

/// Days of history before the as-of date (about three years).
pub const HISTORY_DAYS: Day = 3 * 365;

/// What every client's simulation shares: the dates, the staff, the rare lead sources.
pub struct Ctx {
    pub seed: u64,
    pub clients: u64,
    pub as_of: Day,
    pub history_start: Day,
    pub cal: Calendar,
    pub roster: Roster,
    /// How this club's members behave ([`Knobs::NEUTRAL`]: the default club).
    pub knobs: Knobs,
    /// (client index, source) for the few clients with a rare lead source, sorted.
    rare: Vec<(u64, &'static str)>,
}

impl Ctx {
    pub fn new(seed: u64, clients: u64, as_of: Day) -> Self {
        let history_start = as_of - HISTORY_DAYS;
        Ctx {
            seed,
            clients,
            as_of,
            history_start,
            cal: calendar_for(as_of),
            roster: Roster::new(seed),
            knobs: Knobs::NEUTRAL,
            rare: rare_assignments(seed, clients, RARE_SOURCES),
        }
    }

    fn rare_source(&self, idx: u64) -> Option<&'static str> {
        rare_lookup(&self.rare, idx)
    }
}

/// Hands each rare value to `count` clients picked from the seed (fewer when picks collide),
/// whatever the club size, so that the `rare_k` rule has values to replace. Sorted by client.
pub(crate) fn rare_assignments(
    seed: u64,
    clients: u64,
    values: &[(&'static str, u64)],
) -> Vec<(u64, &'static str)> {
    let mut rare = Vec::new();
    // Below ~50 clients a rare source would be most of the club; leave them out.
    if clients >= 50 {
        for (j, &(source, count)) in values.iter().enumerate() {
            for k in 0..count {
                let h = splitmix(seed ^ splitmix(((j as u64) << 32) | k));
                let idx = h % clients;
                if !rare.iter().any(|&(i, _)| i == idx) {
                    rare.push((idx, source));
                }
            }
        }
    }
    rare.sort_unstable();
    rare
}

/// The rare value handed to client `idx`, if any (`rare` as [`rare_assignments`] returns it).
pub(crate) fn rare_lookup(rare: &[(u64, &'static str)], idx: u64) -> Option<&'static str> {
    rare.binary_search_by_key(&idx, |&(i, _)| i)
        .ok()
        .map(|k| rare[k].1)
}

/// The calendar window every event of a run falls in: the history, plus the end dates of
/// cards sold before the as-of date (12 months, a freeze, bought in advance).
pub fn calendar_for(as_of: Day) -> Calendar {
    Calendar::new(as_of - HISTORY_DAYS - 31, as_of + 800)
}

/// Receipts per client stay below this, so that receipt numbers stay unique.
const MAX_SALES: usize = 10_000;

/// Per-run scratch space reused for every client, so the hot path does not allocate.
#[derive(Default)]
pub struct Scratch {
    services: Vec<ServiceRow>,
    sales: Vec<SaleRow>,
    forced: Vec<Forced>,
    text: String,
}

/// A starter session the client will attend: that day gets a visit, and the session takes
/// the visit's time.
#[derive(Clone, Copy)]
struct Forced {
    day: Day,
    service: Service,
    department: Department,
    staff: u16,
}

#[derive(Clone, Copy)]
enum Slot {
    Morning,
    Midday,
    Evening,
}

/// What stays the same about a person across cards.
struct Habits {
    slot: Slot,
    /// Cumulative weights of gym, group, pool.
    kind_cdf: [f32; 3],
    bar: f32,
    shop: f32,
    extras: f32,
    pt_buyer: bool,
    trainer: u16,
}

pub(crate) fn pick<R: Rng, T: Copy>(rng: &mut R, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

pub(crate) fn pick_weighted<R: Rng>(rng: &mut R, items: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = items.iter().map(|x| x.1).sum();
    let mut r = rng.random_range(0..total);
    for &(s, w) in items {
        if r < w {
            return s;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Age in full years on the as-of date, with the skew of a typical club (most members 25–44,
/// a thin tail of teenagers and pensioners for the age bands at both ends).
fn age<R: Rng>(rng: &mut R) -> i32 {
    let u: f32 = rng.random();
    let (lo, hi) = match u {
        u if u < 0.03 => (16, 17),
        u if u < 0.22 => (18, 24),
        u if u < 0.57 => (25, 34),
        u if u < 0.82 => (35, 44),
        u if u < 0.93 => (45, 54),
        u if u < 0.98 => (55, 64),
        _ => (65, 76),
    };
    rng.random_range(lo..=hi)
}

pub(crate) fn minute_in<R: Rng>(rng: &mut R, from_hour: u16, to_hour: u16) -> u16 {
    rng.random_range(from_hour * 60..to_hour * 60)
}

/// Simulate client `idx` (0-based) and send its rows to `sink`.
pub fn simulate<S: Sink>(ctx: &Ctx, idx: u64, sc: &mut Scratch, sink: &mut S) -> io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    rng.set_stream(idx);
    let rng = &mut rng;

    let id = format!("{:07}", idx + 1);
    let as_of = ctx.as_of;

    // --- who they are ---
    let female = rng.random_bool(0.58);
    let person = Person::random(rng, female);
    let full_name = person.full_name();
    let years = age(rng);
    let birth = as_of - (years as f32 * 365.25) as Day - rng.random_range(0..365);
    let birth_year = crate::calendar::date_of(birth).year();
    let phone = if rng.random_bool(0.95) {
        names::phone(rng)
    } else {
        String::new()
    };
    let email = if rng.random_bool(0.7) {
        names::email(rng, &person, birth_year)
    } else {
        String::new()
    };
    let passport = if rng.random_bool(0.6) {
        names::passport(rng)
    } else {
        String::new()
    };
    let address = names::address(rng);
    let postal = names::postal_code(rng);
    let branch = if rng.random_bool(0.58) {
        Branch::Central
    } else {
        Branch::North
    };
    // The CRM starts with the history: its first weeks hold the existing members taken over
    // from the old system and an opening campaign, then a steady stream of newcomers.
    let registered = if rng.random_bool(0.2) {
        ctx.history_start + rng.random_range(0..=60)
    } else {
        ctx.history_start + rng.random_range(0..=HISTORY_DAYS)
    };
    let source = match ctx.rare_source(idx) {
        Some(s) => s,
        None => pick_weighted(rng, LEAD_SOURCES),
    };
    // Notes are where front desks put personal data nobody asked for: other people's names
    // and phone numbers. The audit must see them dropped.
    let comment = match rng.random_range(0..100u32) {
        0..=64 => String::new(),
        65..=71 => {
            let friend_female = rng.random_bool(0.5);
            let friend = Person::random(rng, friend_female);
            format!("Пришёл по рекомендации: {}", friend.full_name())
        }
        72..=76 => format!("Просит связаться по номеру {}", names::phone(rng)),
        77..=80 => {
            let spouse = Person::random(rng, !female);
            format!("Супруг(а) — {}, тоже клиент клуба", spouse.full_name())
        }
        _ => pick(rng, CLIENT_NOTES).to_string(),
    };

    // --- the person's habits and the shape of their story ---
    let buyer = rng.random_bool(0.75);
    let slot = match rng.random_range(0..100u32) {
        0..=21 => Slot::Morning,
        22..=39 => Slot::Midday,
        _ => Slot::Evening,
    };
    let kind_cdf = match rng.random_range(0..100u32) {
        0..=44 => [0.92, 0.97, 1.0],
        45..=79 => [0.55, 0.95, 1.0],
        _ => [0.35, 0.45, 1.0],
    };
    let mut engagement: f32 = (rng.random::<f32>() + rng.random::<f32>()) / 2.0;
    let trainer = ctx.roster.pick(rng, branch, Role::Trainer);
    let habits = Habits {
        slot,
        kind_cdf,
        bar: rng.random::<f32>() * 0.08,
        shop: 0.006,
        extras: 0.008,
        pt_buyer: engagement > 0.5
            && rng.random_bool(((0.15 + engagement as f64 * 0.45) * ctx.knobs.pt).min(0.9)),
        trainer,
    };

    let trial = if rng.random_bool(if buyer { 0.4 } else { 0.55 }) {
        Some(registered + rng.random_range(0..=10)).filter(|&d| d <= as_of)
    } else {
        None
    };
    let trial_attended = trial.is_some() && rng.random_bool(0.75);
    let first_sale = if buyer {
        let base = trial.unwrap_or(registered);
        let delay = match rng.random_range(0..100u32) {
            0..=54 => 0,
            55..=84 => rng.random_range(1..=7),
            _ => rng.random_range(8..=60),
        };
        Some(base + delay)
    } else {
        None
    };
    let archived = if !buyer && registered + 30 <= as_of && rng.random_bool(0.45) {
        Some(registered + rng.random_range(30..=180)).filter(|&d| d <= as_of)
    } else {
        None
    };

    sink.client(&ClientRow {
        id: &id,
        full_name: &full_name,
        phone: &phone,
        email: &email,
        birth,
        female,
        passport: &passport,
        address: &address,
        comment: &comment,
        branch,
        registered,
        source,
        trial,
        archived,
        postal: &postal,
    })?;

    let mut last_visit = Day::MIN;
    if let (Some(t), true) = (trial, trial_attended) {
        let kind = if rng.random_bool(0.7) {
            VisitKind::Gym
        } else {
            VisitKind::Group
        };
        let minute = visit_minute(rng, &ctx.cal, t, habits.slot, false);
        sink.visit(
            &id,
            &VisitRow {
                day: t,
                minute,
                branch,
                kind,
            },
        )?;
        last_visit = t;
    }

    sc.services.clear();
    sc.sales.clear();
    sc.forced.clear();

    if let Some(first_sale) = first_sale {
        let life = Life {
            ctx,
            idx,
            id: &id,
            branch,
            habits: &habits,
        };
        life.memberships(rng, sc, sink, first_sale, &mut engagement, last_visit)?;
    }

    // Services and sales were collected out of order (bookings, packs, retail); print them
    // in time order, as a register would, and number the receipts in that order.
    sc.services
        .sort_by_key(|s| (s.day, s.minute, s.service, s.status as u8));
    for s in &sc.services {
        sink.service(&id, s)?;
    }
    sc.sales.sort_by_key(|s| (s.day, s.minute));
    sc.sales.truncate(MAX_SALES);
    for (seq, s) in sc.sales.iter_mut().enumerate() {
        s.number = receipt_number(ctx.seed, idx, seq as u64);
        sink.sale(&id, s)?;
    }
    Ok(())
}

fn visit_minute<R: Rng>(
    rng: &mut R,
    cal: &Calendar,
    day: Day,
    slot: Slot,
    morning_card: bool,
) -> u16 {
    if morning_card {
        return minute_in(rng, 7, 12);
    }
    if cal.is_weekend(day) {
        return minute_in(rng, 9, 20);
    }
    match slot {
        Slot::Morning => minute_in(rng, 7, 10),
        Slot::Midday => minute_in(rng, 10, 17),
        Slot::Evening => minute_in(rng, 17, 22),
    }
}

struct Life<'a> {
    ctx: &'a Ctx,
    idx: u64,
    id: &'a str,
    branch: Branch,
    habits: &'a Habits,
}

/// Personal training: when the next pack is bought, and sessions left on the current one
/// (carried over from card to card, as clubs do).
struct Pt {
    next_buy: Day,
    left: u32,
}

/// A card's plan, decided when it is sold.
struct Card {
    product: Product,
    start: Day,
    end: Day,
    freeze: Option<(Day, u32)>,
    /// The day after which the client stops coming (before the card runs out for some).
    dropoff: Option<Day>,
    fade_days: i32,
    vacation: Option<(Day, Day)>,
}

impl Life<'_> {
    #[allow(clippy::too_many_arguments)]
    fn memberships<R: Rng, S: Sink>(
        &self,
        rng: &mut R,
        sc: &mut Scratch,
        sink: &mut S,
        first_sale: Day,
        engagement: &mut f32,
        mut last_visit: Day,
    ) -> io::Result<()> {
        let ctx = self.ctx;
        let as_of = ctx.as_of;
        let mut sold = first_sale;
        let mut start = if rng.random_bool(0.9) {
            sold
        } else {
            // "Starting Monday": bought now, starting within two weeks.
            sold + rng.random_range(1..=14)
        };
        let mut first = true;
        let mut seq = 0u64;
        let mut pt = Pt {
            // Most buyers start within the first weeks (starter → PT conversion).
            next_buy: if self.habits.pt_buyer {
                start + rng.random_range(2..=50)
            } else {
                Day::MAX
            },
            left: 0,
        };

        while sold <= as_of && seq < 99 {
            let e = *engagement;
            let product = self.choose_product(rng, first, e);
            let months = product.months();
            let end = end_after_months(start, months);
            let price = self.price(rng, product, sold);
            let manager = ctx.roster.pick(rng, self.branch, Role::Manager);
            let sale_minute = minute_in(rng, 10, 21);
            let number = membership_number(ctx.seed, self.idx, seq);
            seq += 1;

            sc.sales.push(SaleRow {
                number: 0,
                day: sold,
                minute: sale_minute,
                category: SaleCategory::Membership,
                item: product.label(),
                quantity: 1,
                amount: price,
                department: "Отдел продаж",
                staff: manager,
            });

            let branch = self.branch;
            let card_row = move |status, freeze_days| MembershipRow {
                number,
                branch,
                product,
                sold,
                start,
                end,
                price,
                status,
                freeze_days,
            };
            // A few cards are annulled soon after the sale (a mistaken product, a refund):
            // never the first, so the starter package always has a real card to hang on.
            if !first && rng.random_bool(0.045) {
                let cancel_day = (sold + rng.random_range(0..=10)).min(as_of);
                sink.membership(self.id, &card_row(MembershipStatus::Cancelled, 0))?;
                if rng.random_bool(0.65) {
                    // Re-issued as another product the same day.
                    sold = cancel_day;
                    start = start.max(cancel_day);
                    continue;
                }
                break;
            }

            let renew_p = (0.5 + 0.48 * e as f64 + ctx.knobs.renewal).clamp(0.0, 0.95);
            let renew = rng.random_bool(renew_p);
            let span = end - start + 1;
            let freeze = if months >= 3 && rng.random_bool(0.22) {
                let fs = start + 30 + rng.random_range(0..(span - 40).max(1));
                let fd = rng.random_range(7..=30u32);
                Some((fs, fd)).filter(|&(fs, _)| fs <= as_of)
            } else {
                None
            };
            let freeze_days = freeze.map_or(0, |f| f.1);
            let eff_end = end + freeze_days as Day;
            let (dropoff, fade_days) = if renew {
                (None, 0)
            } else {
                let fade = rng.random_range(21..=56);
                let dd = if months >= 3 && rng.random_bool(0.75) {
                    // Gave up on a long card: the card stays current, the visits stop.
                    start + 21 + rng.random_range(0..(eff_end - start - 21).max(1))
                } else if months == 1 && rng.random_bool(0.3) {
                    start + rng.random_range(7..=25)
                } else {
                    eff_end
                };
                (Some(dd), fade)
            };
            // A holiday or an illness; and the "sleeping" members every club has, who keep
            // paying but stay away for weeks (the less engaged, the likelier), so that the
            // inactive stage is not only made of leavers.
            let vacation = if span > 60 {
                let u: f32 = rng.random();
                let len = if u < 0.2 {
                    rng.random_range(7..=18)
                } else if u < 0.2 + 0.75 * (1.0 - e) {
                    rng.random_range(25..=100)
                } else {
                    0
                };
                let vs = start + rng.random_range(20..span - 20);
                (len > 0).then_some((vs, vs + len))
            } else {
                None
            };

            let status = match freeze {
                Some((fs, fd)) if fs <= as_of && as_of < fs + fd as Day => MembershipStatus::Frozen,
                _ if as_of <= eff_end => MembershipStatus::Active,
                _ => MembershipStatus::Closed,
            };
            sink.membership(self.id, &card_row(status, freeze_days))?;

            if first {
                self.starter(rng, sc, start, sold, sale_minute, manager);
            }

            let card = Card {
                product,
                start,
                end: eff_end,
                freeze,
                dropoff,
                fade_days,
                vacation,
            };
            last_visit = self.visits(rng, sc, sink, &card, e, &mut pt, last_visit)?;

            // An NPS survey after the first weeks of some cards.
            if rng.random_bool(0.3) {
                let day = start + rng.random_range(20..=60);
                if day <= as_of {
                    self.feedback(rng, sc, sink, day, e, dropoff.is_some())?;
                }
            }

            first = false;
            *engagement = (e + rng.random_range(-0.12f32..0.10) + ctx.knobs.drift).clamp(0.02, 1.0);
            if renew {
                if rng.random_bool(0.35) {
                    // Renewed in advance: sold before the old card ends, starts after it.
                    sold = (eff_end - rng.random_range(1..=20)).max(sold + 1);
                    start = eff_end + 1;
                } else {
                    let gap = match rng.random_range(0..100u32) {
                        0..=69 => rng.random_range(0..=5),
                        70..=89 => rng.random_range(6..=30),
                        _ => rng.random_range(31..=89),
                    };
                    sold = eff_end + 1 + gap;
                    start = sold;
                }
            } else if rng.random_bool(ctx.knobs.comeback) {
                // Came back after a break, less keen than before.
                sold = eff_end + rng.random_range(60..=400);
                start = sold;
                *engagement = (*engagement * 0.8 + 0.05).min(1.0);
            } else {
                break;
            }
            if self.habits.pt_buyer && pt.next_buy == Day::MAX && rng.random_bool(0.4) {
                pt.next_buy = start + rng.random_range(0..=30);
            }
        }
        Ok(())
    }

    fn choose_product<R: Rng>(&self, rng: &mut R, first: bool, e: f32) -> Product {
        let weights: [u32; 4] = if first {
            [35, 30, 15, 20]
        } else if e > 0.6 {
            [15, 30, 25, 30]
        } else {
            [40, 35, 15, 10]
        };
        let mut r = rng.random_range(0..100u32);
        let mut k = 0;
        while k < 3 && r >= weights[k] {
            r -= weights[k];
            k += 1;
        }
        match k {
            0 => Product::Standard1,
            1 => Product::Standard3,
            2 => Product::Unlimited6,
            _ => {
                let morning_p = if matches!(self.habits.slot, Slot::Morning) {
                    0.6
                } else {
                    0.05
                };
                if rng.random_bool(morning_p) {
                    Product::Morning12
                } else {
                    Product::Unlimited12
                }
            }
        }
    }

    /// Price in kopecks: the list price rises 8% a year, the northern branch is 10% cheaper,
    /// and one sale in seven has a 10% promo discount.
    fn price<R: Rng>(&self, rng: &mut R, product: Product, sold: Day) -> i64 {
        let years = ((sold - self.ctx.history_start).max(0) / 365) as i64;
        let mut p = product.base_price() * (100 + 8 * years) / 100;
        if self.branch == Branch::North {
            p = p * 9 / 10;
        }
        p = (p + 5_000) / 10_000 * 10_000; // whole hundreds of roubles
        if rng.random_bool(0.15) {
            p = p * 9 / 10 / 100 * 100; // whole roubles
        }
        p
    }

    /// The three starter sessions within 30 days of the first card's start. About half of the
    /// new members attend all three; the rest miss or skip some, which is what the
    /// starter-completion metric exists to show.
    fn starter<R: Rng>(
        &self,
        rng: &mut R,
        sc: &mut Scratch,
        start: Day,
        sold: Day,
        sale_minute: u16,
        manager: u16,
    ) {
        let as_of = self.ctx.as_of;
        sc.sales.push(SaleRow {
            number: 0,
            day: sold,
            minute: sale_minute + 2,
            category: SaleCategory::Starter,
            item: "Стартовый пакет «Первые шаги»",
            quantity: 1,
            amount: 199_000,
            department: "Тренажёрный зал",
            staff: manager,
        });
        // Half attend all three, 15 % none; a club's `starter` knob moves points between the two.
        let shift = self.ctx.knobs.starter;
        let attended = match rng.random_range(0..100u32) as i32 {
            r if r < 50 + shift => 3,
            r if r < 70 + shift => 2,
            r if r < 85 + shift => 1,
            _ => 0,
        };
        let offsets =
            [rng.random_range(0..=6), rng.random_range(7..=15), rng.random_range(16..=28)];
        let testing_dept = match rng.random_range(0..100u32) {
            0..=69 => Department::Gym,
            70..=84 => Department::Group,
            _ => Department::Pool,
        };
        let program_dept = if self.habits.kind_cdf[0] < 0.6 && rng.random_bool(0.5) {
            Department::Group
        } else {
            Department::Gym
        };
        for (k, service) in Service::STARTER.into_iter().enumerate() {
            let day = start + offsets[k];
            let department = match service {
                Service::Testing => testing_dept,
                Service::Program => program_dept,
                _ => Department::Gym,
            };
            let staff = self.ctx.roster.pick(rng, self.branch, Role::Trainer);
            if k < attended {
                sc.forced.push(Forced {
                    day,
                    service,
                    department,
                    staff,
                });
            } else if day <= as_of && rng.random_bool(0.6) {
                // Booked and missed; otherwise never booked at all.
                let status = if rng.random_bool(0.6) {
                    ServiceStatus::NoShow
                } else {
                    ServiceStatus::Cancelled
                };
                let minute = visit_minute(rng, &self.ctx.cal, day, self.habits.slot, false);
                sc.services.push(ServiceRow {
                    day,
                    minute,
                    service,
                    department,
                    staff,
                    status,
                });
            }
        }
    }

    /// Day-by-day check-ins over a card, with the personal-training and group sessions,
    /// retail purchases and starter sessions that hang on them. Returns the last visit day.
    #[allow(clippy::too_many_arguments)]
    fn visits<R: Rng, S: Sink>(
        &self,
        rng: &mut R,
        sc: &mut Scratch,
        sink: &mut S,
        card: &Card,
        e: f32,
        pt: &mut Pt,
        mut last_visit: Day,
    ) -> io::Result<Day> {
        let ctx = self.ctx;
        let cal = &ctx.cal;
        let h = self.habits;
        // Weekly visit rate: ~0.5 for the least engaged, 2–4 for the engaged.
        let weekly = (0.9 + 4.1 * e * e.sqrt() + 1.15 * e) * ctx.knobs.visits;
        let base_p = weekly / 7.0;
        let morning_card = card.product == Product::Morning12;
        let network = !card.product.is_standard();
        let mut group_left = 0u32;
        let last = card.end.min(ctx.as_of);
        let from = card.start.max(last_visit.saturating_add(1));
        let mut forced_i = 0usize;

        let mut d = from;
        while d <= last {
            let day = d;
            d += 1;
            if let Some((fs, fd)) = card.freeze {
                if day >= fs && day < fs + fd as Day {
                    continue;
                }
            }
            while forced_i < sc.forced.len() && sc.forced[forced_i].day < day {
                forced_i += 1;
            }
            let forced = (forced_i < sc.forced.len() && sc.forced[forced_i].day == day)
                .then(|| sc.forced[forced_i]);
            if forced.is_none() {
                if let Some((vs, ve)) = card.vacation {
                    if day >= vs && day < ve {
                        continue;
                    }
                }
                let mut p = base_p * cal.factor(day);
                if let Some(dd) = card.dropoff {
                    if day >= dd {
                        p = 0.004;
                    } else if day + card.fade_days > dd {
                        p *= 0.08 + 0.92 * (dd - day) as f32 / card.fade_days as f32;
                    }
                }
                if rng.random::<f32>() >= p {
                    continue;
                }
            }

            let mut kind = match forced {
                Some(f) => f.department.visit_kind(),
                None => {
                    let u: f32 = rng.random();
                    if u < h.kind_cdf[0] {
                        VisitKind::Gym
                    } else if u < h.kind_cdf[1] {
                        VisitKind::Group
                    } else {
                        VisitKind::Pool
                    }
                }
            };
            let minute = visit_minute(rng, cal, day, h.slot, morning_card);
            let branch = if network && forced.is_none() && rng.random_bool(0.08) {
                self.branch.other()
            } else {
                self.branch
            };

            if let Some(f) = forced {
                sc.services.push(ServiceRow {
                    day,
                    minute,
                    service: f.service,
                    department: f.department,
                    staff: f.staff,
                    status: ServiceStatus::Done,
                });
            } else if kind == VisitKind::Group && card.product.is_standard() {
                // Standard cards pay for group classes by the pack.
                if group_left == 0 {
                    if rng.random_bool(0.5) {
                        group_left = 8;
                        sc.sales.push(SaleRow {
                            number: 0,
                            day,
                            minute: minute.saturating_sub(10),
                            category: SaleCategory::Group,
                            item: "Групповые программы, 8 занятий",
                            quantity: 1,
                            amount: if self.branch == Branch::North {
                                360_000
                            } else {
                                400_000
                            },
                            department: "Групповые программы",
                            staff: ctx.roster.pick(rng, self.branch, Role::Manager),
                        });
                    } else {
                        kind = VisitKind::Gym;
                    }
                }
                group_left = group_left.saturating_sub(1);
            } else if kind == VisitKind::Gym && (pt.left > 0 || day >= pt.next_buy) {
                let mut just_bought = false;
                if pt.left == 0 {
                    let qty = match rng.random_range(0..100u32) {
                        0..=19 => 1,
                        20..=64 => 5,
                        _ => 10,
                    };
                    let each: i64 = match qty {
                        1 => 250_000,
                        5 => 230_000,
                        _ => 210_000,
                    };
                    let each = if self.branch == Branch::North {
                        each * 9 / 10
                    } else {
                        each
                    };
                    sc.sales.push(SaleRow {
                        number: 0,
                        day,
                        minute: minute.saturating_sub(5),
                        category: SaleCategory::PersonalTraining,
                        item: "Персональная тренировка",
                        quantity: qty,
                        amount: each * qty as i64,
                        department: "Тренажёрный зал",
                        staff: h.trainer,
                    });
                    pt.left = qty;
                    just_bought = true;
                }
                if just_bought || rng.random_bool(0.6) {
                    let status = match rng.random_range(0..100u32) {
                        0..=87 => ServiceStatus::Done,
                        88..=94 => ServiceStatus::NoShow,
                        _ => ServiceStatus::Cancelled,
                    };
                    sc.services.push(ServiceRow {
                        day,
                        minute,
                        service: Service::Personal,
                        department: Department::Gym,
                        staff: h.trainer,
                        status,
                    });
                    if status != ServiceStatus::Cancelled {
                        pt.left -= 1;
                    }
                    if pt.left == 0 {
                        pt.next_buy = if rng.random_bool((0.35 + 0.5 * e as f64).min(0.95)) {
                            day + rng.random_range(3..=45)
                        } else {
                            Day::MAX
                        };
                    }
                    if status != ServiceStatus::Done {
                        // The client did not come (or called off): no check-in that day.
                        continue;
                    }
                }
            }

            if kind == VisitKind::Group && forced.is_none() {
                let group = ctx.roster.of(branch, Role::Trainer);
                let staff = group[(day as usize + minute as usize / 60) % group.len()];
                sc.services.push(ServiceRow {
                    day,
                    minute,
                    service: Service::Group,
                    department: Department::Group,
                    staff,
                    status: ServiceStatus::Done,
                });
                if rng.random_bool(0.05) {
                    let later = day + rng.random_range(1..=3);
                    if later <= last {
                        sc.services.push(ServiceRow {
                            day: later,
                            minute,
                            service: Service::Group,
                            department: Department::Group,
                            staff,
                            status: if rng.random_bool(0.6) {
                                ServiceStatus::NoShow
                            } else {
                                ServiceStatus::Cancelled
                            },
                        });
                    }
                }
            }

            // Retail: a drink after training, now and then a towel or a massage.
            let r: f32 = rng.random();
            if r < h.bar + h.shop + h.extras && sc.sales.len() < MAX_SALES / 2 {
                let after = (minute + rng.random_range(55..=100)).min(23 * 60 + 50);
                let (category, (item, price), department) = if r < h.bar {
                    (SaleCategory::Bar, pick(rng, BAR_ITEMS), "Бар")
                } else if r < h.bar + h.shop {
                    (SaleCategory::Shop, pick(rng, SHOP_ITEMS), "Магазин")
                } else {
                    (SaleCategory::Services, pick(rng, EXTRA_SERVICES), "Услуги")
                };
                let quantity = if category == SaleCategory::Bar && rng.random_bool(0.2) {
                    2
                } else {
                    1
                };
                sc.sales.push(SaleRow {
                    number: 0,
                    day,
                    minute: after,
                    category,
                    item,
                    quantity,
                    amount: price * quantity as i64,
                    department,
                    staff: ctx.roster.pick(rng, branch, Role::Bar),
                });
            }

            sink.visit(
                self.id,
                &VisitRow {
                    day,
                    minute,
                    branch,
                    kind,
                },
            )?;
            last_visit = day;
        }
        Ok(last_visit)
    }

    /// An NPS answer: the score follows engagement, lower for those already drifting away.
    fn feedback<R: Rng, S: Sink>(
        &self,
        rng: &mut R,
        sc: &mut Scratch,
        sink: &mut S,
        day: Day,
        e: f32,
        leaving: bool,
    ) -> io::Result<()> {
        let noise = (rng.random::<f32>() + rng.random::<f32>() - 1.0) * 3.0;
        let mut s = 5.3 + 6.0 * e + noise;
        if leaving {
            s -= 2.0;
        }
        let score = s.round().clamp(0.0, 10.0) as u8;
        sc.text.clear();
        if rng.random_bool(0.4) {
            let pool = match score {
                9..=10 => PRAISE,
                7..=8 => NEUTRAL,
                _ => COMPLAINTS,
            };
            sc.text.push_str(pick(rng, pool));
            // Free text carries names and numbers people volunteer; it is never exported.
            match rng.random_range(0..10u32) {
                0 if score >= 8 => {
                    let t = self.ctx.roster.get(self.habits.trainer);
                    sc.text.push_str(". Спасибо тренеру ");
                    sc.text.push_str(&t.person.short_name());
                    sc.text.push('!');
                }
                1 if score <= 6 => {
                    sc.text.push_str(". Перезвоните мне: ");
                    sc.text.push_str(&names::phone(rng));
                }
                _ => {}
            }
        }
        sink.feedback(
            self.id,
            &FeedbackRow {
                day,
                score,
                comment: &sc.text,
            },
        )
    }
}
