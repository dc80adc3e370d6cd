//! PII detectors shared by the pseudonymizer's category scan and the audit's content scan
//! (SPEC §3.5).
//!
//! The two callers pay for mistakes in opposite ways: a miss in the pseudonymizer lets personal
//! data into a bundle, a false alarm in the audit fails a clean bundle. So every detector
//! validates whatever can be validated (Luhn, SNILS and INN check digits, IBAN mod-97, Russian
//! numbering plan) and otherwise leans towards firing — except where a false alarm would be
//! *systematic*: the 32-hex pseudonyms and GUIDs that fill every bundle must never fire,
//! whatever digits they happen to contain.
//!
//! # Number boundaries
//!
//! A digit run counts only as a standalone token. About 8% of random 32-hex pseudonyms contain
//! a run of ten or more decimal digits, and a tenth of such runs pass a single check digit
//! (INN, Luhn), so a detector that looked for digits *inside* words would fail most audits by
//! chance. The rule: text is cut into "segments", maximal runs of ASCII letters, digits and
//! `-`; a segment holding any ASCII letter is opaque, so none of its digits can start, end or
//! belong to a number. Within a letter-free segment, hyphen-joined digit groups are atomic: a
//! number may not begin or end at a hyphen that has a digit on its other side, so a letter-free
//! GUID is taken whole (32 digits, longer than any detector accepts) and never as a card-sized
//! piece. The same holds for `.` between digits and for a decimal comma, which make decimals,
//! dates and versions out of what would otherwise be separate numbers ("1 500,00",
//! "12.03.2025", "0.30000000000000004").
//! Cyrillic letters next to digits do not block a number ("Тел89123456789" is a phone): they
//! never occur in pseudonyms, and Russian labels are often glued to the number they introduce.
//!
//! # Cost
//!
//! The audit feeds every string value of a bundle through [`first_hit`], millions of them,
//! mostly pseudonyms and short category names. One vectorised pass over the bytes decides
//! which detectors can possibly fire: e-mail needs `@`, numbers need enough digits outside
//! opaque segments, a full name needs a Cyrillic word ending like a patronymic (or, for a
//! transliterated one, an ASCII capital and a Latin word ending like one), an IBAN needs an
//! ASCII capital. A pseudonym stops there. Nothing on the no-hit path allocates; the one regex
//! (e-mail) is compiled once and only run on text containing `@`.

use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// One kind of personal data the detectors recognise.
///
/// The order of the variants is the order of [`Detector::ALL`], which is the order
/// [`first_hit`] and [`DetectorSet::scan`] try them in; a value that several detectors would
/// flag (an 11-digit number can be a phone and a SNILS) is thus always reported under the same
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detector {
    Email,
    Phone,
    PaymentCard,
    Passport,
    Snils,
    Inn,
    FullName,
    Iban,
    Vin,
}

impl Detector {
    /// Every detector, in scan order.
    pub const ALL: [Detector; 9] = [
        Detector::Email,
        Detector::Phone,
        Detector::PaymentCard,
        Detector::Passport,
        Detector::Snils,
        Detector::Inn,
        Detector::FullName,
        Detector::Iban,
        Detector::Vin,
    ];

    /// Stable snake_case name, used in configs and reports (it never changes, so reports of
    /// successive exports stay comparable).
    pub const fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::PaymentCard => "payment_card",
            Detector::Passport => "passport",
            Detector::Snils => "snils",
            Detector::Inn => "inn",
            Detector::FullName => "full_name",
            Detector::Iban => "iban",
            Detector::Vin => "vin",
        }
    }

    /// Inverse of [`Detector::name`], for configs that pick detectors by name.
    pub fn from_name(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Byte range of the first (leftmost) match of this detector inside `text`.
    ///
    /// The range lets a caller redact or locate the hit without the detector ever handing the
    /// matched value itself to a log.
    pub fn find(self, text: &str) -> Option<Range<usize>> {
        let possible = DetectorSet::only(&[self]).possible(text);
        if possible.is_empty() {
            return None;
        }
        self.find_unfiltered(text)
    }

    /// The full search, for text the byte-census pre-filter did not rule out.
    ///
    /// Kept out of line: the callers' no-hit path is then a short loop with no large stack
    /// frame to set up.
    #[inline(never)]
    fn find_unfiltered(self, text: &str) -> Option<Range<usize>> {
        match self {
            Detector::Email => EMAIL.find(text).map(|m| m.range()),
            Detector::Phone => find_phone(text),
            Detector::PaymentCard => find_card(text),
            Detector::Passport => find_passport(text),
            Detector::Snils => find_snils(text),
            Detector::Inn => find_inn(text),
            Detector::FullName => find_full_name(text),
            Detector::Iban => find_iban(text),
            Detector::Vin => find_vin(text),
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The first detector, in [`Detector::ALL`] order, that fires anywhere in `text`.
///
/// This is the audit's hot path; see the module documentation for why it is cheap.
pub fn first_hit(text: &str) -> Option<Detector> {
    DetectorSet::all().scan(text)
}

/// Every detector that fires anywhere in `text`, in [`Detector::ALL`] order.
pub fn hits(text: &str) -> Vec<Detector> {
    DetectorSet::all().hits(text)
}

/// A subset of the detectors, so that a configuration can switch some off (for instance an
/// INN scan on a column of legal-entity suppliers) without the callers changing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DetectorSet {
    mask: u16,
}

impl DetectorSet {
    /// Every detector.
    pub const fn all() -> Self {
        DetectorSet {
            mask: (1 << Detector::ALL.len()) - 1,
        }
    }

    /// No detector: every scan passes.
    pub const fn empty() -> Self {
        DetectorSet { mask: 0 }
    }

    /// Exactly the given detectors (duplicates are harmless).
    pub fn only(detectors: &[Detector]) -> Self {
        detectors.iter().copied().collect()
    }

    /// This set plus `d`.
    pub const fn with(self, d: Detector) -> Self {
        DetectorSet {
            mask: self.mask | d.bit(),
        }
    }

    /// This set minus `d`.
    pub const fn without(self, d: Detector) -> Self {
        DetectorSet {
            mask: self.mask & !d.bit(),
        }
    }

    pub const fn contains(self, d: Detector) -> bool {
        self.mask & d.bit() != 0
    }

    pub const fn is_empty(self) -> bool {
        self.mask == 0
    }

    /// The detectors of the set, in [`Detector::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Detector> {
        Detector::ALL.into_iter().filter(move |d| self.contains(*d))
    }

    /// The first detector of the set, in [`Detector::ALL`] order, that fires in `text`.
    pub fn scan(&self, text: &str) -> Option<Detector> {
        self.find(text).map(|(d, _)| d)
    }

    /// Like [`DetectorSet::scan`], with the byte range of the hit.
    pub fn find(&self, text: &str) -> Option<(Detector, Range<usize>)> {
        self.possible(text)
            .iter()
            .find_map(|d| d.find_unfiltered(text).map(|r| (d, r)))
    }

    /// Every detector of the set that fires in `text`, in [`Detector::ALL`] order.
    pub fn hits(&self, text: &str) -> Vec<Detector> {
        self.possible(text)
            .iter()
            .filter(|d| d.find_unfiltered(text).is_some())
            .collect()
    }

    /// The members of this set that the pre-filter cannot rule out for `text`.
    fn possible(self, text: &str) -> DetectorSet {
        if self.is_empty() {
            return self;
        }
        let p = Profile::of(text);
        let mut mask = 0;
        if p.at {
            mask |= Detector::Email.bit();
        }
        let numbers = [
            (Detector::Phone, 8),
            (Detector::PaymentCard, 13),
            (Detector::Passport, 10),
            (Detector::Snils, 11),
            (Detector::Inn, 10),
        ];
        for (d, min_digits) in numbers {
            if p.clean_digits >= min_digits {
                mask |= d.bit();
            }
        }
        if p.upper && text.len() >= 15 {
            mask |= Detector::Iban.bit();
        }
        if p.upper && text.len() >= VIN_LEN {
            mask |= Detector::Vin.bit();
        }
        mask &= self.mask;
        // Last and only when asked for: the one pre-filter that is a second pass over the text.
        if self.contains(Detector::FullName)
            && ((p.non_ascii && has_patronymic_tail(text.as_bytes()))
                || (p.upper && has_latin_patronymic_tail(text.as_bytes())))
        {
            mask |= Detector::FullName.bit();
        }
        DetectorSet { mask }
    }
}

impl Default for DetectorSet {
    /// All detectors: forgetting to configure the scan must not weaken it.
    fn default() -> Self {
        DetectorSet::all()
    }
}

impl FromIterator<Detector> for DetectorSet {
    fn from_iter<I: IntoIterator<Item = Detector>>(iter: I) -> Self {
        iter.into_iter()
            .fold(DetectorSet::empty(), DetectorSet::with)
    }
}

// ---------------------------------------------------------------------------------------------
// Pre-filter
// ---------------------------------------------------------------------------------------------

/// Byte classes: `SEG` marks the bytes of a segment (ASCII letter, digit, `-`); see the module
/// documentation for why segments with letters are opaque to the number detectors.
const SEG: u8 = 1;
const ALPHA: u8 = 2;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphabetic() {
            SEG | ALPHA
        } else if b.is_ascii_digit() || b == b'-' {
            SEG
        } else {
            0
        };
        i += 1;
    }
    t
};

/// What one pass over the bytes tells about which detectors could fire at all.
///
/// Computed once per scan and shared by all detectors, so a pseudonym costs two SIMD steps.
#[derive(Debug, Clone, Copy, Default)]
struct Profile {
    /// Contains `@` (e-mail).
    at: bool,
    /// Contains a non-ASCII byte (Cyrillic names).
    non_ascii: bool,
    /// Contains an ASCII capital (IBAN country code).
    upper: bool,
    /// Digits outside opaque (letter-holding) segments: an upper bound on any number's length.
    clean_digits: usize,
}

impl Profile {
    fn of(text: &str) -> Profile {
        let b = text.as_bytes();
        // One branch-free pass the compiler can vectorise; the exact count of digits outside
        // opaque segments is needed only in the rare case the cheap bounds cannot settle it.
        let (digits, flags) = byte_census(b);
        let (alpha, non_seg) = (flags & ALPHA_F != 0, flags & NON_SEG_F != 0);
        let clean_digits = if digits < 8 {
            // Below every threshold already; no need to be exact.
            digits
        } else if !non_seg {
            // One segment, like every pseudonym and GUID: opaque as soon as it has a letter.
            if alpha {
                0
            } else {
                digits
            }
        } else {
            clean_digit_count(b)
        };
        Profile {
            at: flags & AT_F != 0,
            non_ascii: flags & HIGH_F != 0,
            upper: flags & UPPER_F != 0,
            clean_digits,
        }
    }
}

const ALPHA_F: u8 = 1;
const UPPER_F: u8 = 2;
const AT_F: u8 = 4;
const HIGH_F: u8 = 8;
const NON_SEG_F: u8 = 16;

#[inline(always)]
fn census_byte(c: u8) -> (u8, u8) {
    let digit = c.wrapping_sub(b'0') < 10;
    let letter = (c | 0x20).wrapping_sub(b'a') < 26;
    let flags = (u8::from(letter) * ALPHA_F)
        | (u8::from(c.wrapping_sub(b'A') < 26) * UPPER_F)
        | (u8::from(c == b'@') * AT_F)
        | (u8::from(c >= 0x80) * HIGH_F)
        | (u8::from(!(digit || letter || c == b'-')) * NON_SEG_F);
    (u8::from(digit), flags)
}

/// Number of ASCII digits and the OR of the `*_F` flags over `b`.
///
/// Written as fixed 16-byte lanes with byte-wide accumulators so that it compiles to SIMD:
/// this is the whole cost of scanning a pseudonym.
fn byte_census(b: &[u8]) -> (usize, u8) {
    const LANES: usize = 16;
    let mut digits = 0usize;
    let mut lane_digits = [0u8; LANES];
    let mut lane_flags = [0u8; LANES];
    let mut blocks = b.chunks_exact(LANES);
    for (n, block) in (&mut blocks).enumerate() {
        for i in 0..LANES {
            let (d, f) = census_byte(block[i]);
            lane_digits[i] += d;
            lane_flags[i] |= f;
        }
        // Flush before a lane counter can wrap.
        if n % 255 == 254 {
            digits += lane_digits.iter().map(|&d| usize::from(d)).sum::<usize>();
            lane_digits = [0; LANES];
        }
    }
    digits += lane_digits.iter().map(|&d| usize::from(d)).sum::<usize>();
    let mut flags = lane_flags.iter().fold(0, |a, &f| a | f);
    for &c in blocks.remainder() {
        let (d, f) = census_byte(c);
        digits += usize::from(d);
        flags |= f;
    }
    (digits, flags)
}

/// Digits outside segments that hold an ASCII letter.
fn clean_digit_count(b: &[u8]) -> usize {
    b.split(|&c| CLASS[usize::from(c)] & SEG == 0)
        .filter(|seg| !seg.iter().any(u8::is_ascii_alphabetic))
        .map(|seg| seg.iter().filter(|c| c.is_ascii_digit()).count())
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// A maximal run of ASCII digits in a letter-free segment (byte offsets).
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
}

impl Run {
    fn len(self) -> usize {
        self.end - self.start
    }
}

/// The digit runs of `b` that may belong to a number, left to right.
///
/// It is `Clone` so that a detector can look ahead from a run without disturbing the outer
/// walk; and resuming at the end of a yielded run is sound because the rest of that run's
/// segment is known to be letter-free.
#[derive(Clone)]
struct Runs<'a> {
    b: &'a [u8],
    pos: usize,
    /// End of the letter-free segment being walked (`pos >= seg_end` when outside one).
    seg_end: usize,
}

impl<'a> Runs<'a> {
    fn new(b: &'a [u8]) -> Self {
        Runs {
            b,
            pos: 0,
            seg_end: 0,
        }
    }

    /// The next run, provided it starts at or before `limit`. The limit keeps look-ahead from
    /// one run to the next proportional to the short gap a number may contain, not to the text.
    fn next_within(&mut self, limit: usize) -> Option<Run> {
        let b = self.b;
        loop {
            while self.pos < self.seg_end {
                if self.pos > limit {
                    return None;
                }
                if b[self.pos].is_ascii_digit() {
                    let start = self.pos;
                    while self.pos < self.seg_end && b[self.pos].is_ascii_digit() {
                        self.pos += 1;
                    }
                    return Some(Run {
                        start,
                        end: self.pos,
                    });
                }
                self.pos += 1;
            }
            while self.pos < b.len() && CLASS[usize::from(b[self.pos])] & SEG == 0 {
                if self.pos > limit {
                    return None;
                }
                self.pos += 1;
            }
            if self.pos >= b.len() || self.pos > limit {
                return None;
            }
            let seg_start = self.pos;
            let mut alpha = false;
            while self.pos < b.len() {
                let k = CLASS[usize::from(b[self.pos])];
                if k & SEG == 0 {
                    break;
                }
                alpha |= k & ALPHA != 0;
                self.pos += 1;
            }
            if !alpha {
                self.seg_end = self.pos;
                self.pos = seg_start;
            }
        }
    }
}

impl Iterator for Runs<'_> {
    type Item = Run;

    fn next(&mut self) -> Option<Run> {
        self.next_within(usize::MAX)
    }
}

/// True when the run starting at `i` continues a number to its left (a hyphen chain, a
/// decimal, a date): a number must not start there.
fn glued_before(b: &[u8], i: usize) -> bool {
    i >= 2 && b[i - 2].is_ascii_digit() && glue(b, i - 1)
}

/// Mirror of `glued_before` for the run ending at `i`.
fn glued_after(b: &[u8], i: usize) -> bool {
    i + 1 < b.len() && b[i + 1].is_ascii_digit() && glue(b, i)
}

/// Whether the separator at `i`, which has digits on both sides, joins them into one number.
///
/// `-` and `.` always do ("12.03.2025", "0.30000000000000004"). A comma does when it looks
/// like a decimal comma or a thousands separator — at most three digits before it
/// ("0,30000000000000004", "1,500,000") or at most two after it ("1 500,00") — and otherwise
/// separates a list ("89123456789,89161234567"), where gluing would hide both phones.
fn glue(b: &[u8], i: usize) -> bool {
    fn run<'a>(digits: impl Iterator<Item = &'a u8>) -> usize {
        digits.take(4).take_while(|c| c.is_ascii_digit()).count()
    }
    match b[i] {
        b'-' | b'.' => true,
        b',' => run(b[..i].iter().rev()) <= 3 || run(b[i + 1..].iter()) <= 2,
        _ => false,
    }
}

/// A `+` right before the run, itself not glued to a word or number ("1+7…" is arithmetic).
fn plus_before(b: &[u8], i: usize) -> bool {
    i >= 1 && b[i - 1] == b'+' && (i < 2 || !b[i - 2].is_ascii_alphanumeric())
}

/// Widest gap between two groups of one number, in bytes: three separators of up to three
/// bytes each ("(", " ", "№").
const MAX_GAP_BYTES: usize = 12;
/// Most groups any detector accepts ("+7 (912) 345-67-89" has five).
const MAX_RUNS: usize = 6;

/// Leftmost window of consecutive runs, joined by gaps that `gap_ok` accepts, for which
/// `accept` returns a range.
///
/// Windows start and end only where no hyphen/decimal glue continues the number, so a chain is
/// either taken whole or not at all.
fn find_number(
    text: &str,
    max_runs: usize,
    max_digits: usize,
    gap_ok: fn(&str) -> bool,
    accept: impl Fn(&[Run]) -> Option<Range<usize>>,
) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let max_runs = max_runs.min(MAX_RUNS);
    let mut runs = Runs::new(b);
    while let Some(first) = runs.next() {
        if glued_before(b, first.start) {
            continue;
        }
        let mut window = [first; MAX_RUNS];
        let mut n = 1;
        let mut digits = first.len();
        let mut ahead = runs.clone();
        while digits <= max_digits {
            let last = window[n - 1];
            if !glued_after(b, last.end) {
                if let Some(range) = accept(&window[..n]) {
                    return Some(range);
                }
            }
            if n == max_runs {
                break;
            }
            let Some(next) = ahead.next_within(last.end + MAX_GAP_BYTES) else {
                break;
            };
            if !gap_ok(&text[last.end..next.start]) {
                break;
            }
            window[n] = next;
            n += 1;
            digits += next.len();
        }
    }
    None
}

/// The digits of a window as values 0–9. Callers only pass windows of at most 19 digits.
struct Digits {
    d: [u8; 20],
    n: usize,
}

impl Digits {
    fn of(b: &[u8], window: &[Run]) -> Digits {
        let mut out = Digits { d: [0; 20], n: 0 };
        for r in window {
            for &c in &b[r.start..r.end] {
                if out.n < out.d.len() {
                    out.d[out.n] = c - b'0';
                    out.n += 1;
                }
            }
        }
        out
    }

    fn as_slice(&self) -> &[u8] {
        &self.d[..self.n]
    }
}

fn span(window: &[Run]) -> Range<usize> {
    window[0].start..window[window.len() - 1].end
}

fn gap<'t>(text: &'t str, window: &[Run], i: usize) -> &'t str {
    &text[window[i].end..window[i + 1].start]
}

/// Characters that group digits for readability; Excel and 1C write thin and no-break spaces.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{2007}' | '\u{2009}' | '\u{202f}')
}

fn single_char(gap: &str, ok: impl Fn(char) -> bool) -> bool {
    let mut chars = gap.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if ok(c))
}

/// One space or hyphen: how cards and SNILS are grouped.
fn card_gap(gap: &str) -> bool {
    single_char(gap, |c| c == '-' || is_space(c))
}

/// Up to three of space, hyphen and parentheses: "+7 (912) 345-67-89".
fn phone_gap(gap: &str) -> bool {
    let mut n = 0;
    for c in gap.chars() {
        n += 1;
        if n > 3 || !(is_space(c) || matches!(c, '-' | '(' | ')')) {
            return false;
        }
    }
    n > 0
}

/// Up to three of space and one "№": "4510 №123456", "4510 № 123456".
fn passport_gap(gap: &str) -> bool {
    let (mut n, mut numero) = (0, 0);
    for c in gap.chars() {
        n += 1;
        if c == '№' {
            numero += 1;
        } else if !is_space(c) {
            return false;
        }
    }
    (1..=3).contains(&n) && numero <= 1
}

/// Thousands grouping ("78 000 000 000", "+10 000 000"): amounts, not phones. Real phones end
/// in a group of two or four digits in every common notation.
fn grouped_like_amount(text: &str, w: &[Run]) -> bool {
    w.len() >= 2
        && w[1..].iter().all(|r| r.len() == 3)
        && (0..w.len() - 1).all(|i| single_char(gap(text, w, i), is_space))
}

/// Russian numbers (11 digits: country prefix 7, or trunk prefix 8 without "+", then an area
/// or mobile code starting with 3, 4, 8 or 9 — which rules out dates and most counters) and
/// any E.164 number written with its "+".
///
/// Ten digits without a prefix ("912 345-67-89") are not taken: they are indistinguishable
/// from ten-digit order numbers, and the INN detector already sees ten-digit runs.
fn find_phone(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    find_number(text, MAX_RUNS, 15, phone_gap, |w| {
        let plus = plus_before(b, w[0].start);
        let d = Digits::of(b, w);
        let d = d.as_slice();
        let russian =
            d.len() == 11 && (d[0] == 7 || (d[0] == 8 && !plus)) && matches!(d[1], 3 | 4 | 8 | 9);
        let e164 = plus && (8..=15).contains(&d.len()) && d[0] != 0;
        if !(russian || e164) || grouped_like_amount(text, w) {
            return None;
        }
        let r = span(w);
        Some(if plus { r.start - 1..r.end } else { r })
    })
}

/// 13–19 digits passing Luhn, bare or grouped as on a card: a first group of four, then groups
/// of three to six (4-4-4-4, 4-6-5, 4-4-4-4-3), all with the same separator. The grouping rule
/// keeps phone numbers, amounts and dates that happen to sum right from being read as cards.
fn find_card(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    find_number(text, MAX_RUNS, 19, card_gap, |w| {
        let d = Digits::of(b, w);
        if d.n < 13 {
            return None;
        }
        if w.len() > 1 {
            let sep = gap(text, w, 0);
            if w[0].len() != 4
                || w[1..].iter().any(|r| !(3..=6).contains(&r.len()))
                || (1..w.len() - 1).any(|i| gap(text, w, i) != sep)
            {
                return None;
            }
        }
        luhn_valid(d.as_slice()).then(|| span(w))
    })
}

fn luhn_valid(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum % 10 == 0
}

/// Series (four digits, or "45 10") and number (six digits) with a visible separator.
///
/// Bare ten digits count only when the text itself says "паспорт": a passport number has no
/// check digit, so without that word every ten-digit order number, barcode fragment or
/// unprefixed phone would be flagged, failing audits of clean bundles; ten-digit runs with a
/// valid checksum are caught by the INN detector anyway, and the audit's leak check (§3.6.4)
/// looks for the actual passport values of the source.
fn find_passport(text: &str) -> Option<Range<usize>> {
    find_number(text, 3, 10, passport_gap, |w| {
        let ok = match w {
            [r] => r.len() == 10 && mentions_passport(text),
            [s, n] => s.len() == 4 && n.len() == 6,
            [s1, s2, n] => {
                s1.len() == 2
                    && s2.len() == 2
                    && n.len() == 6
                    && single_char(gap(text, w, 0), is_space)
            }
            _ => false,
        };
        ok.then(|| span(w))
    })
}

fn mentions_passport(text: &str) -> bool {
    text.contains("паспорт") || text.contains("Паспорт") || text.contains("ПАСПОРТ")
}

/// "112-233-445 95" (any of space or hyphen between groups) or 11 bare digits, with a valid
/// check number.
fn find_snils(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    find_number(text, 4, 11, card_gap, |w| {
        let shape = match w {
            [r] => r.len() == 11,
            [g1, g2, g3, check] => {
                g1.len() == 3 && g2.len() == 3 && g3.len() == 3 && check.len() == 2
            }
            _ => false,
        };
        (shape && snils_valid(Digits::of(b, w).as_slice())).then(|| span(w))
    })
}

/// The Pension Fund algorithm. The check number is defined only for numbers above
/// 001-001-998; below, "000-000-000 00" and its neighbours would pass by construction, so they
/// are not taken.
fn snils_valid(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let number = d[..9].iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    if number <= 1_001_998 {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .zip((1..=9u32).rev())
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    let check = match sum {
        0..=99 => sum,
        100 | 101 => 0,
        _ => match sum % 101 {
            100 => 0,
            r => r,
        },
    };
    check == u32::from(d[9]) * 10 + u32::from(d[10])
}

/// Ten (organisation) or twelve (individual) bare digits with valid check digit(s). Only bare:
/// the tax service never groups an INN, and grouped ten-digit numbers are usually phones.
fn find_inn(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    find_number(
        text,
        1,
        12,
        |_| false,
        |w| inn_valid(Digits::of(b, w).as_slice()).then(|| span(w)),
    )
}

/// Official weights. Region code 00 does not exist, which rejects "0000000000" and kin.
fn inn_valid(d: &[u8]) -> bool {
    fn check(d: &[u8], weights: &[u32]) -> u8 {
        let sum: u32 = d.iter().zip(weights).map(|(&x, &w)| u32::from(x) * w).sum();
        (sum % 11 % 10) as u8
    }
    const W10: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    if d.len() < 2 || d[..2] == [0, 0] {
        return false;
    }
    match d.len() {
        10 => check(d, &W10) == d[9],
        12 => check(d, &W11) == d[10] && check(d, &W12) == d[11],
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

/// local@domain.tld with Unicode letters allowed (Cyrillic mailboxes and .рф domains exist);
/// no quoted local parts or IP-literal domains, which do not appear in CRM data.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // Local part: dot-separated atoms.
        r"[\p{L}\p{N}_%+\-]+(?:\.[\p{L}\p{N}_%+\-]+)*",
        "@",
        // Domain: labels not starting or ending with a hyphen, then an alphabetic TLD.
        r"(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+\p{L}{2,}",
    ))
    .expect("e-mail pattern is valid")
});

// ---------------------------------------------------------------------------------------------
// Full names
// ---------------------------------------------------------------------------------------------

fn is_cyrillic_letter(c: char) -> bool {
    matches!(c, 'А'..='я' | 'Ё' | 'ё')
}

fn is_upper_cyrillic(c: char) -> bool {
    matches!(c, 'А'..='Я' | 'Ё')
}

/// Lower case of a Cyrillic or ASCII letter.
fn lower_cyrillic(c: char) -> char {
    match c {
        'А'..='Я' => char::from_u32(c as u32 + 0x20).unwrap_or(c),
        'Ё' => 'ё',
        _ => c.to_ascii_lowercase(),
    }
}

/// The two scripts names are written in: Cyrillic, and Latin transliteration.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Cyrillic,
    Latin,
}

fn script_of(c: char) -> Option<Script> {
    if is_cyrillic_letter(c) {
        Some(Script::Cyrillic)
    } else if c.is_ascii_alphabetic() {
        Some(Script::Latin)
    } else {
        None
    }
}

fn is_upper_letter(c: char) -> bool {
    is_upper_cyrillic(c) || c.is_ascii_uppercase()
}

fn eq_ci(word: &str, lower: &str) -> bool {
    word.chars().map(lower_cyrillic).eq(lower.chars())
}

fn ends_with_ci(word: &str, lower_suffix: &str) -> bool {
    let mut w = word.chars().rev().map(lower_cyrillic);
    lower_suffix.chars().rev().all(|s| w.next() == Some(s))
}

/// Any word ending in "ч"/"Ч" or "на"/"НА": every patronymic does, most category words do not,
/// and the byte test is several times cheaper than splitting the text into words.
fn has_patronymic_tail(b: &[u8]) -> bool {
    // Cyrillic letters are two bytes led by 0xD0 or 0xD1; a word ends where an ASCII byte or
    // the lead byte of some other character begins, or at the end of the text.
    let tail_before = |j: usize| {
        (j >= 2 && matches!(b[j - 2..j], [0xD1, 0x87] | [0xD0, 0xA7]))
            || (j >= 4 && matches!(b[j - 4..j], [0xD0, 0xBD | 0x9D, 0xD0, 0xB0 | 0x90]))
    };
    tail_before(b.len())
        || b.iter()
            .enumerate()
            .any(|(j, &c)| (c < 0x80 || (c >= 0xC0 && c != 0xD0 && c != 0xD1)) && tail_before(j))
}

/// Any ASCII word ending like a transliterated patronymic ("-ich", "-itch", "-ych", "-tsch",
/// "-vna", "-wna", "-chna", in any case). Pseudonyms (lower-case hexadecimal) never get
/// here: the caller asks for an ASCII capital first.
fn has_latin_patronymic_tail(b: &[u8]) -> bool {
    const TAILS: [&[u8]; 7] = [b"ich", b"itch", b"ych", b"tsch", b"vna", b"wna", b"chna"];
    (1..=b.len()).any(|j| {
        b[j - 1].is_ascii_alphabetic()
            && (j == b.len() || !b[j].is_ascii_alphabetic())
            && TAILS.iter().any(|t| {
                j >= t.len()
                    && b[j - t.len()..j]
                        .iter()
                        .zip(t.iter())
                        .all(|(x, y)| x.to_ascii_lowercase() == *y)
            })
    })
}

/// "Иванова", "Смирнова-Петрова", "ИВАНОВ" or "Ivanova": names are written capitalised or,
/// in official documents, in capitals; lower-case words are ordinary vocabulary.
fn name_cased(word: &str) -> bool {
    let mut chars = word.chars();
    if !chars.next().is_some_and(is_upper_letter) {
        return false;
    }
    let (mut letters, mut title, mut caps, mut after_hyphen) = (1, true, true, false);
    for c in chars {
        if c == '-' {
            after_hyphen = true;
            continue;
        }
        letters += 1;
        if is_upper_letter(c) {
            title &= after_hyphen;
        } else {
            caps = false;
        }
        after_hyphen = false;
    }
    letters >= 2 && (title || caps)
}

/// Endings that make a patronymic on any stem.
const PATRONYMIC_SUFFIXES: [&str; 5] = ["ович", "евич", "овна", "евна", "инична"];

/// Patronymics in bare "-ич"/"-ична" (from names in -а/-я). Taken from a closed list because
/// these endings are shared with plenty of ordinary words (кирпич, кулич, Москвич; отлична,
/// типична, публична) while the patronymics themselves are few.
const PATRONYMICS_ICH: [&str; 10] = [
    "ильич",
    "кузьмич",
    "лукич",
    "фомич",
    "никитич",
    "саввич",
    "фокич",
    "никитична",
    "саввична",
    "фокична",
];

/// Ordinary words with a patronymic ending that can be capitalised in a product or title
/// ("Спящая Царевна", "Иван Царевич").
const NOT_PATRONYMICS: [&str; 15] = [
    "царевич",
    "королевич",
    "царевна",
    "королевна",
    "условна",
    "безусловна",
    "виновна",
    "невиновна",
    "духовна",
    "бездуховна",
    "любовна",
    "полюбовна",
    "греховна",
    "бескровна",
    "верховна",
];

/// Transliterated patronymic endings (BGN/PCGN, passport and older French and German
/// spellings, Ukrainian): Petrovich, Sergeyevich, Aleksandrovitch, Iwanowitsch, Petrovych;
/// Sergeevna, Petrowna, Petrivna, Ilinichna.
const LATIN_PATRONYMIC_SUFFIXES: [&str; 14] = [
    "ovich", "evich", "ovitch", "evitch", "owitsch", "ewitsch", "ovych", "evych", "ovna", "evna",
    "owna", "ewna", "ivna", "inichna",
];

/// The bare "-ich"/"-ichna" patronymics in Latin letters (a closed list: Sandwich, Zurich,
/// Greenwich and Munich end alike).
const LATIN_PATRONYMICS_ICH: [&str; 14] = [
    "ilyich",
    "ilich",
    "ilitch",
    "kuzmich",
    "kuzmitch",
    "lukich",
    "fomich",
    "nikitich",
    "savvich",
    "savich",
    "fokich",
    "nikitichna",
    "savvichna",
    "fokichna",
];

/// Latin words with a patronymic ending that are no patronymic ("Ivan Tsarevich").
const LATIN_NOT_PATRONYMICS: [&str; 6] = [
    "tsarevich",
    "tsarevitch",
    "tzarevich",
    "tsarevna",
    "korolevich",
    "korolevna",
];

fn is_latin_patronymic(word: &str) -> bool {
    if LATIN_PATRONYMICS_ICH.iter().any(|p| eq_ci(word, p)) {
        return true;
    }
    word.len() >= 6
        && LATIN_PATRONYMIC_SUFFIXES
            .iter()
            .any(|s| ends_with_ci(word, s))
        && !LATIN_NOT_PATRONYMICS.iter().any(|w| eq_ci(word, w))
}

fn is_patronymic(word: &str) -> bool {
    if word.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return is_latin_patronymic(word);
    }
    // Every entry below ends in "ч" or "на"; most words are rejected here.
    if !(ends_with_ci(word, "ч") || ends_with_ci(word, "на")) {
        return false;
    }
    if PATRONYMICS_ICH.iter().any(|p| eq_ci(word, p)) {
        return true;
    }
    // The shortest real ones ("Львович", "Львовна") have seven letters; six keeps a margin.
    word.chars().count() >= 6
        && PATRONYMIC_SUFFIXES.iter().any(|s| ends_with_ci(word, s))
        && !NOT_PATRONYMICS.iter().any(|w| eq_ci(word, w))
}

/// Three name-cased words of one script (Cyrillic, or Latin for a transliterated name)
/// separated only by white space, the second or third a patronymic: "Иванова Мария
/// Петровна", "Мария Петровна Иванова", "Ivanova Anna Sergeevna".
///
/// Two words ("Мария Петровна") are not enough: that is how people are addressed in notes and
/// staff lists, and with "Петровна" alone the risk of common-word collisions grows; the spec
/// asks for surname, name and patronymic together. Punctuation between the words breaks the
/// sequence, so lists of products do not join into names.
fn find_full_name(text: &str) -> Option<Range<usize>> {
    #[derive(Clone, Copy, Default)]
    struct Word {
        start: usize,
        patronymic: bool,
    }
    let mut chain = [Word::default(); 2];
    let mut chained = 0usize;
    let mut chain_script = Script::Cyrillic;
    let mut last_end = usize::MAX;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let Some(script) = script_of(c) else {
            if !c.is_whitespace() {
                chained = 0;
            }
            continue;
        };
        let same = |d: char| script_of(d) == Some(script);
        let mut end = start + c.len_utf8();
        loop {
            match chars.peek() {
                Some(&(i, d)) if same(d) => {
                    end = i + d.len_utf8();
                    chars.next();
                }
                Some(&(i, '-')) if text[i + 1..].chars().next().is_some_and(same) => {
                    chars.next();
                }
                _ => break,
            }
        }
        let word = &text[start..end];
        // A word glued to one of the other script ("Ivanов"), or a change of script: the
        // chain starts again.
        let glued = start == last_end;
        last_end = end;
        if glued || script != chain_script {
            chained = 0;
            chain_script = script;
        }
        if glued || !name_cased(word) {
            chained = 0;
            continue;
        }
        let w = Word {
            start,
            patronymic: is_patronymic(word),
        };
        if chained == 2 && (chain[1].patronymic || w.patronymic) {
            return Some(chain[0].start..end);
        }
        chain = [chain[1], w];
        chained = (chained + 1).min(2);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// IBAN
// ---------------------------------------------------------------------------------------------

/// Country code, two check digits and the BBAN, either contiguous or in groups of four
/// separated by single spaces, upper case, with the registry length of the country and a
/// valid mod-97.
///
/// The exact length per country (rather than any 15–34) pins down where an IBAN ends, so a
/// word that follows it cannot change the verdict, and it means no 32-character string — an
/// upper-cased pseudonym included — can pass for one (only Saint Lucia has 32, and "LC" is
/// not hexadecimal). Lower case is not accepted: pseudonyms are lower-case alphanumerics.
fn find_iban(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(3)).find_map(|i| {
        let head = b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !head {
            return None;
        }
        let len = iban_length([b[i], b[i + 1]])?;
        iban_at(b, i, len).map(|end| i..end)
    })
}

const VIN_LEN: usize = 17;

/// A vehicle identification number (ISO 3779): a standalone token of 17 capitals and digits
/// without I, O and Q, holding a letter, whose last four characters are digits (the serial
/// number, numeric for every maker). A VIN names one car and, through its registration, its
/// owner. No check digit: only North American VINs carry one. Lowercase is not taken: VINs
/// are written in capitals, and pseudonyms (lowercase hex) must never come near this check.
fn find_vin(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let vin_char =
        |c: u8| c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, b'I' | b'O' | b'Q'));
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        // a token: a maximal run of ASCII letters and digits
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let tok = &b[start..i];
        if tok.len() == VIN_LEN
            && tok.iter().all(|&c| vin_char(c))
            && tok.iter().any(|c| c.is_ascii_uppercase())
            && tok[VIN_LEN - 4..].iter().all(u8::is_ascii_digit)
        {
            return Some(start..i);
        }
    }
    None
}

/// Reads an IBAN of `len` characters at `start`; returns its end offset if valid.
fn iban_at(b: &[u8], start: usize, len: usize) -> Option<usize> {
    let check = (b[start + 2] - b'0') * 10 + (b[start + 3] - b'0');
    if !(2..=98).contains(&check) {
        return None;
    }
    let mut pos = start;
    let mut count = 0;
    let mut spaced: Option<bool> = None;
    let mut rem = 0u32;
    while count < len {
        if count > 0 && count % 4 == 0 {
            let space = b.get(pos) == Some(&b' ');
            if *spaced.get_or_insert(space) != space {
                return None;
            }
            pos += usize::from(space);
        }
        let c = *b.get(pos)?;
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return None,
        };
        if count >= 4 {
            rem = mod97_push(rem, v);
        }
        count += 1;
        pos += 1;
    }
    if b.get(pos).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    for &c in &b[start..start + 4] {
        let v = if c.is_ascii_digit() {
            c - b'0'
        } else {
            c - b'A' + 10
        };
        rem = mod97_push(rem, v);
    }
    (rem == 1).then_some(pos)
}

/// Appends one IBAN character (0–35, letters standing for two decimal digits) to a running
/// remainder mod 97.
fn mod97_push(rem: u32, v: u8) -> u32 {
    let v = u32::from(v);
    if v < 10 {
        (rem * 10 + v) % 97
    } else {
        (rem * 100 + v) % 97
    }
}

/// IBAN length by country, from the SWIFT IBAN registry; territories that use their parent's
/// format (Åland, the French overseas collectivities, the Crown Dependencies) included.
fn iban_length(cc: [u8; 2]) -> Option<usize> {
    Some(match &cc {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"AX" | b"FK" | b"FO" | b"GL" | b"NL" | b"SD" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"MN" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GG" | b"IM" | b"JE" | b"GE" | b"IE" | b"ME"
        | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"OM" | b"SO" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"LY" | b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"BI" | b"DJ" | b"FR" | b"GF" | b"GP" | b"MQ" | b"RE" | b"PF" | b"TF" | b"YT" | b"NC"
        | b"BL" | b"MF" | b"PM" | b"WF" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HN" | b"HU" | b"LB" | b"NI" | b"PL"
        | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" | b"YE" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        b"RU" => 33,
        _ => return None,
    })
}

#[cfg(test)]
mod vin_tests {
    use super::*;

    #[test]
    fn vins_are_found_as_whole_tokens() {
        // synthetic VINs of a Russian and a European maker's shape
        for text in [
            "XTA21990012345678",
            "VIN: WVWZZZ1KZ6W000001",
            "авто XW8ZZZ61ZJG012345, ТО",
        ] {
            assert!(Detector::Vin.find(text).is_some(), "{text}");
            assert_eq!(first_hit(text), Some(Detector::Vin), "{text}");
        }
        let r = Detector::Vin.find("VIN: WVWZZZ1KZ6W000001").unwrap();
        assert_eq!(r, 5..22);
    }

    #[test]
    fn near_misses_and_pseudonyms_are_not_vins() {
        for text in [
            "XTA2199001234567",                 // 16 characters
            "XTA219900123456789",               // 18 characters
            "XTA2199001234567X",                // the serial ends in a letter
            "XTAI1990012345678",                // I is not a VIN character
            "12345678901234567",                // digits only: no letter
            "xta21990012345678",                // lowercase
            "4f1c2e8a9b7d6c5e4f1c2e8a9b7d6c5e", // a pseudonym
            "Lada Vesta 1.6 MT",
        ] {
            assert_eq!(Detector::Vin.find(text), None, "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fires(d: Detector, text: &str) -> bool {
        d.find(text).is_some()
    }

    fn assert_hits(d: Detector, texts: &[&str]) {
        for t in texts {
            assert!(fires(d, t), "{d} should fire on {t:?}");
        }
    }

    fn assert_misses(d: Detector, texts: &[&str]) {
        for t in texts {
            assert_eq!(d.find(t), None, "{d} should not fire on {t:?}");
        }
    }

    #[test]
    fn email() {
        assert_hits(
            Detector::Email,
            &[
                "ivan@example.ru",
                "Написать ivan.petrov@example.org сегодня",
                "a+b@sub.example.com",
                "иван@почта.рф",
                "USER_1@EXAMPLE.ORG",
                "<ivan-p@mail-box.co.uk>",
            ],
        );
        assert_misses(
            Detector::Email,
            &[
                "@fitclub",
                "Инстаграм @fit.club",
                "ivan@",
                "ivan@localhost",
                "10@20.5",
                "Скидка 20% @ весна",
                "info at mail.ru",
            ],
        );
    }

    #[test]
    fn email_range() {
        let t = "Почта: ivan@example.ru.";
        assert_eq!(&t[Detector::Email.find(t).unwrap()], "ivan@example.ru");
    }

    #[test]
    fn phone() {
        assert_hits(
            Detector::Phone,
            &[
                "Позвонить +7 912 345-67-89",
                "+7 (912) 345-67-89",
                "8-912-345-67-89",
                "89123456789",
                "+79123456789",
                "8 (495) 123 45 67",
                "тел.89123456789",
                "Тел89123456789",
                "79123456789",
                "8 800 555 35 35",
                "+44 20 7946 0958",
                "+1 (555) 123-4567",
                "+4915112345678",
                "89123456789,89161234567",
                "Телефоны: 89123456789;+79161234567",
            ],
        );
        assert_misses(
            Detector::Phone,
            &[
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                "Заказ 12345678",
                "12.03.2025",
                "12.03.2025 10:30",
                "10:30:00",
                "1 500,00",
                "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                "c89123456789a7b1c2d3e4f5a6b7c8d9",
                "78 000 000 000",
                "+10 000 000",
                "912 345-67-89",
                "89123456789.50",
                "id89123456789",
                "8-912-345-67-89-01-02",
                "81234567890",
            ],
        );
    }

    #[test]
    fn phone_range_includes_plus() {
        let t = "Позвонить +7 (912) 345-67-89!";
        assert_eq!(&t[Detector::Phone.find(t).unwrap()], "+7 (912) 345-67-89");
    }

    #[test]
    fn payment_card() {
        assert_hits(
            Detector::PaymentCard,
            &[
                "4111 1111 1111 1111",
                "4111-1111-1111-1111",
                "Оплата картой 5500000000000004",
                "3782 822463 10005",
                "2200\u{a0}0000\u{a0}0000\u{a0}0004",
                "карта:6011111111111117;",
                "4012 8888 8888 1881 exp 12/27",
            ],
        );
        assert_misses(
            Detector::PaymentCard,
            &[
                "4111 1111 1111 1112",
                "1234567812345678",
                "4111111111111",
                "41111 111 1111 1111",
                "4111 1111-1111 1111",
                "12345678-1234-1234-1234-123456789012",
                "x4111111111111111",
                "4111111111111111a",
                "4111 1111 1111 1111,00",
                "Заказ 12345678",
                "0.4111111111111111",
                "0,4111111111111111",
                "4111111111111111.5",
            ],
        );
    }

    #[test]
    fn passport() {
        assert_hits(
            Detector::Passport,
            &[
                "4510 123456",
                "45 10 123456",
                "4510 №123456",
                "4510 № 123456",
                "Паспорт 4510123456",
                "серия и номер: 45 10 123456, выдан",
            ],
        );
        assert_misses(
            Detector::Passport,
            &[
                "4510123456",
                "Заказ 12345678",
                "4510 12345",
                "4510 1234567",
                "451 0123456",
                "45101 23456",
                "x4510 123456",
                "4510-123456",
                "4510 123456,00",
            ],
        );
    }

    #[test]
    fn snils() {
        assert_hits(
            Detector::Snils,
            &[
                "112-233-445 95",
                "11223344595",
                "СНИЛС 123-456-789 64",
                "987-654-321 83",
                "471 392 841 01",
                "555-666-777-50",
            ],
        );
        assert_misses(
            Detector::Snils,
            &[
                "112-233-445 96",
                "11223344596",
                "001-001-998 64",
                "000-000-000 00",
                "a11223344595",
                "112-233-445 95-1",
                "1122-33-445 95",
            ],
        );
    }

    #[test]
    fn inn() {
        assert_hits(
            Detector::Inn,
            &[
                "7707083893",
                "ИНН 500100732259",
                "ИНН:7734123457",
                "366406939705",
                "5401234566",
                "ИНН/КПП 7707083893/770701001",
            ],
        );
        assert_misses(
            Detector::Inn,
            &[
                "7707083894",
                "500100732258",
                "0012345673",
                "77070838930",
                "7707083893a",
                "7707 083 893",
                "7707083893-01",
                "3f2504e0-4f89-11d3-9a0c-7707083893ab",
            ],
        );
    }

    #[test]
    fn full_name() {
        assert_hits(
            Detector::FullName,
            &[
                "Иванова Мария Петровна",
                "Мария Петровна Иванова",
                "ИВАНОВ ИВАН ИВАНОВИЧ",
                "Сергей Ильич Кузьмин",
                "Тренер: Петров Сергей Александрович",
                "Анна Сергеевна Смирнова-Петрова",
                "Котова Ирина Ильинична",
                "ИВАНОВ Иван Иванович",
                "Фёдор Саввич Ёлкин",
            ],
        );
        assert_misses(
            Detector::FullName,
            &[
                "Стандарт 12 месяцев",
                "Персональная тренировка",
                "Безлимит 12 месяцев",
                "Тренажёрный зал",
                "Групповое занятие",
                "улица Петровка",
                "Проспект Ильича",
                "Кирпич Облицовочный Красный",
                "Москвич 412",
                "Кулич Пасхальный Большой",
                "Спящая Царевна Роза",
                "Мария Петровна",
                "иванова мария петровна",
                "Иванова, Мария, Петровна",
                "Абонемент Утро Безлимит",
            ],
        );
    }

    #[test]
    fn transliterated_full_name() {
        assert_hits(
            Detector::FullName,
            &[
                "Ivanov Ivan Petrovich",
                "Ivanova Anna Sergeevna",
                "Anna Sergeyevna Ivanova",
                "IVANOV IVAN IVANOVICH",
                "Sergey Ilyich Kuzmin",
                "Petrov Sergei Alexandrovitch",
                "Iwanow Iwan Iwanowitsch",
                "Shevchenko Taras Hryhorovych",
                "Ivanenko Olga Petrivna",
                "Kotova Irina Ilinichna",
                "Trainer: Petrov Sergey Aleksandrovich",
                "Smirnova-Petrova Anna Lvovna",
                "VIP Ivanova Anna Sergeevna",
            ],
        );
        assert_misses(
            Detector::FullName,
            &[
                "Novichok Fitness Club",
                "Club Sandwich Deluxe",
                "Ham Sandwich Special",
                "Greenwich Mean Time",
                "Norwich City Club",
                "Zurich Insurance Group",
                "Munich Training Camp",
                "Ivan Tsarevich Story",
                "Sergeevna",
                "Anna Sergeevna",
                "ivanov ivan petrovich",
                "Ivanov, Ivan, Petrovich",
                "Ivanov Иван Петрович",
                "Yoga Flow Vienna",
                "Rich Coach Beach",
            ],
        );
        // Pseudonyms stay clear whatever letters they hold.
        assert_misses(
            Detector::FullName,
            &[
                "3f2504e04f8911d39a0c0305e82c3301",
                "ab12ich cd34vna ef56ovich",
            ],
        );
    }

    #[test]
    fn full_name_range() {
        let t = "Тренер: Петров Сергей Александрович.";
        assert_eq!(
            &t[Detector::FullName.find(t).unwrap()],
            "Петров Сергей Александрович"
        );
    }

    #[test]
    fn iban() {
        assert_hits(
            Detector::Iban,
            &[
                "DE89 3704 0044 0532 0130 00",
                "GB29NWBK60161331926819",
                "IBAN: FR14 2004 1010 0505 0001 3M02 606",
                "NL91ABNA0417164300",
                "CH9300762011623852957",
                "RU8404452522500407028101234567890",
                "NO93 8601 1117 947 EUR",
            ],
        );
        assert_misses(
            Detector::Iban,
            &[
                "DE89 3704 0044 0532 0130 01",
                "DE89370400440532013000X",
                "XDE89370400440532013000",
                "de89370400440532013000",
                "DE89 3704 0044 0532 0130",
                "DE893704 0044 0532 0130 00",
                "ZZ89370400440532013000",
                "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
            ],
        );
    }

    #[test]
    fn ordinary_values_pass() {
        for t in [
            "",
            "other",
            "Стандарт 12 месяцев",
            "Персональная тренировка",
            "Безлимит 12 месяцев",
            "Тренажёрный зал",
            "Групповое занятие",
            "Филиал на Ленина, 15",
            "Йога для начинающих (утро)",
            "Заказ 12345678",
            "12.03.2025",
            "2025-03-12 10:30:00",
            "1 500,00",
            "Instagram",
            "Сайт / форма заявки",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "12345678901234567890123456789012",
            "12345678-1234-1234-1234-123456789012",
        ] {
            assert_eq!(first_hit(t), None, "{t:?}");
        }
    }

    #[test]
    fn first_hit_and_hits_follow_all_order() {
        assert_eq!(
            first_hit("ivan@example.ru 89123456789"),
            Some(Detector::Email)
        );
        assert_eq!(
            hits("ivan@example.ru, 89123456789, Иванова Мария Петровна"),
            vec![Detector::Email, Detector::Phone, Detector::FullName]
        );
        assert!(hits("Стандарт 12 месяцев").is_empty());
    }

    #[test]
    fn detector_set() {
        let set = DetectorSet::only(&[Detector::Inn, Detector::Phone]);
        assert!(set.contains(Detector::Inn) && !set.contains(Detector::Email));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Detector::Phone, Detector::Inn]
        );
        assert_eq!(set.scan("ivan@example.ru"), None);
        assert_eq!(set.scan("ИНН 7707083893"), Some(Detector::Inn));
        assert_eq!(DetectorSet::empty().scan("ivan@example.ru"), None);
        assert_eq!(DetectorSet::default(), DetectorSet::all());
        assert_eq!(
            DetectorSet::all()
                .without(Detector::Email)
                .scan("ivan@example.ru"),
            None
        );
        let t = "тел. 89123456789";
        let (d, r) = DetectorSet::all().find(t).unwrap();
        assert_eq!((d, &t[r]), (Detector::Phone, "89123456789"));
    }

    #[test]
    fn names_round_trip() {
        for d in Detector::ALL {
            assert_eq!(Detector::from_name(d.name()), Some(d));
            assert_eq!(d.to_string(), d.name());
        }
        assert_eq!(Detector::from_name("ssn"), None);
    }

    /// Deterministic sweep, far larger than proptest's default case count: a false alarm on
    /// pseudonyms would be systematic, so it is worth many samples.
    #[test]
    fn many_pseudonyms_pass() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut long_runs = 0;
        for _ in 0..200_000 {
            let pid = format!("{:016x}{:016x}", next(), next());
            long_runs += usize::from(has_digit_run(&pid, 10));
            assert_eq!(first_hit(&pid), None, "{pid}");
            let uuid = format!(
                "{}-{}-{}-{}-{}",
                &pid[..8],
                &pid[8..12],
                &pid[12..16],
                &pid[16..20],
                &pid[20..]
            );
            assert_eq!(first_hit(&uuid), None, "{uuid}");
            assert_eq!(first_hit(&uuid.to_uppercase()), None, "{uuid}");
        }
        // The sweep did exercise the dangerous case.
        assert!(long_runs > 10_000, "{long_runs}");
    }

    fn has_digit_run(s: &str, n: usize) -> bool {
        s.as_bytes()
            .split(|b| !b.is_ascii_digit())
            .any(|r| r.len() >= n)
    }

    fn luhn_digit(prefix: &[u8]) -> u8 {
        (0..10)
            .find(|&x| {
                let mut d = prefix.to_vec();
                d.push(x);
                luhn_valid(&d)
            })
            .unwrap()
    }

    fn digits_str(d: &[u8]) -> String {
        d.iter().map(|x| char::from(b'0' + x)).collect()
    }

    proptest! {
        #[test]
        fn random_hex_never_hits(pid in "[0-9a-f]{32}") {
            prop_assert_eq!(first_hit(&pid), None);
        }

        #[test]
        fn random_uuid_never_hits(
            a in "[0-9a-f]{8}", b in "[0-9a-f]{4}", c in "[0-9a-f]{4}",
            d in "[0-9a-f]{4}", e in "[0-9a-f]{12}",
        ) {
            let uuid = format!("{a}-{b}-{c}-{d}-{e}");
            prop_assert_eq!(first_hit(&uuid), None);
            prop_assert_eq!(first_hit(&uuid.to_uppercase()), None);
            prop_assert_eq!(first_hit(&format!("{{{uuid}}}")), None);
        }

        #[test]
        fn mostly_digit_hex_never_hits(pid in "[0-9]{10,31}[a-f][0-9]{0,21}") {
            prop_assert_eq!(first_hit(&pid), None);
        }

        #[test]
        fn luhn_failing_16_digits_are_not_cards(
            prefix in proptest::collection::vec(0u8..10, 15),
            bump in 1u8..10,
        ) {
            let mut d = prefix.clone();
            d.push((luhn_digit(&prefix) + bump) % 10);
            let s = digits_str(&d);
            prop_assert_eq!(Detector::PaymentCard.find(&s), None);
            let grouped = format!("{} {} {} {}", &s[..4], &s[4..8], &s[8..12], &s[12..]);
            prop_assert_eq!(Detector::PaymentCard.find(&grouped), None);
        }

        #[test]
        fn luhn_valid_16_digits_are_cards(prefix in proptest::collection::vec(0u8..10, 15)) {
            let mut d = prefix.clone();
            d.push(luhn_digit(&prefix));
            let s = digits_str(&d);
            let grouped = format!("Карта {}-{}-{}-{}.", &s[..4], &s[4..8], &s[8..12], &s[12..]);
            prop_assert!(fires(Detector::PaymentCard, &s));
            prop_assert!(fires(Detector::PaymentCard, &grouped));
        }

        #[test]
        fn valid_inn_and_snils_are_found(
            inn in proptest::collection::vec(0u8..10, 9),
            snils in 1_001_999u32..=999_999_999,
        ) {
            let mut d = inn.clone();
            let sum: u32 = d
                .iter()
                .zip([2, 4, 10, 3, 5, 9, 4, 6, 8])
                .map(|(&x, w)| u32::from(x) * w)
                .sum();
            d.push((sum % 11 % 10) as u8);
            prop_assert_eq!(fires(Detector::Inn, &digits_str(&d)), d[..2] != [0, 0]);

            let nine = format!("{snils:09}");
            let sum: u32 = nine
                .bytes()
                .zip((1..=9u32).rev())
                .map(|(c, w)| u32::from(c - b'0') * w)
                .sum();
            let check = match sum {
                0..=99 => sum,
                100 | 101 => 0,
                _ => sum % 101 % 100,
            };
            let formatted = format!("{}-{}-{} {check:02}", &nine[..3], &nine[3..6], &nine[6..]);
            prop_assert!(fires(Detector::Snils, &formatted), "{}", formatted);
            prop_assert!(fires(Detector::Snils, &formatted.replace(['-', ' '], "")));
        }

        #[test]
        fn short_numbers_never_hit(n in 0u32..100_000_000, text in "[А-Яа-я ]{0,12}") {
            let value = format!("{text} {n}");
            prop_assert_eq!(first_hit(&value), None);
        }
    }
}
