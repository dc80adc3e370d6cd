//! Fake people: Cyrillic full names, phones, e-mails, passports, addresses, postal codes.
//!
//! Everything here is made up from short word lists, so that the export *looks* like a real
//! club's CRM (the PII detectors and the audit must have something realistic to find) while
//! pointing at nobody. E-mails only use the reserved `example.*` domains (RFC 2606), so a
//! synthetic address can never reach a real mailbox.

use rand::Rng;
use std::fmt::Write as _;

/// Male surnames in the masculine form; the feminine form is derived by [`feminine_surname`]
/// so that a woman's surname always agrees with her gender, as the name detector expects.
const SURNAMES: &[&str] = &[
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
    "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв",
    "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев",
    "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев",
    "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов",
    "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Гаврилов", "Тихонов",
    "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов",
    "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв",
    "Быков", "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов",
    "Пономарёв", "Голубев", "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников",
    "Трофимов", "Леонов", "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров",
    "Грачёв", "Котов", "Гришин", "Ефремов", "Архипов", "Громов", "Кириллов", "Малышев", "Панов",
    "Моисеев", "Румянцев", "Акимов", "Кондратьев", "Бирюков", "Горбунов", "Анисимов", "Ерёмин",
    "Тихомиров", "Галкин", "Лукьянов", "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров",
    "Симонов", "Прокофьев", "Харитонов", "Князев", "Цветков", "Левин", "Митрофанов", "Воронов",
    "Аксёнов", "Софронов", "Мальцев", "Логинов", "Горшков", "Савин", "Краснов", "Майоров",
    "Демидов", "Елисеев", "Рыбаков", "Сафонов", "Плотников", "Демин", "Хохлов", "Жданов",
    "Маринин", "Шестаков", "Островский", "Вишневский", "Ковальский", "Покровский", "Шевченко",
    "Бондаренко", "Коваленко",
];

const MALE_NAMES: &[&str] = &[
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Василий", "Виктор",
    "Виталий", "Владимир", "Владислав", "Вячеслав", "Георгий", "Глеб", "Григорий", "Данил",
    "Денис", "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья", "Кирилл", "Константин",
    "Леонид", "Максим", "Марк", "Матвей", "Михаил", "Никита", "Николай", "Олег", "Павел", "Пётр",
    "Роман", "Руслан", "Семён", "Сергей", "Станислав", "Степан", "Тимур", "Фёдор", "Юрий",
    "Ярослав",
];

const FEMALE_NAMES: &[&str] = &[
    "Александра", "Алина", "Алла", "Анастасия", "Анна", "Валентина", "Валерия", "Вера", "Вероника",
    "Виктория", "Галина", "Дарья", "Диана", "Евгения", "Екатерина", "Елена", "Елизавета", "Жанна",
    "Зоя", "Инна", "Ирина", "Карина", "Кристина", "Ксения", "Лариса", "Лидия", "Любовь", "Людмила",
    "Маргарита", "Марина", "Мария", "Надежда", "Наталья", "Нина", "Оксана", "Ольга", "Полина",
    "Светлана", "Софья", "Татьяна", "Ульяна", "Юлия", "Яна",
];

/// Father's names with both patronymic forms written out: the suffix rules of Russian
/// patronymics have enough exceptions (Ильич, Никитична, Львович) that a table is safer than
/// a rule, and a wrong form would make a fake name easy to tell apart from a real one.
const PATRONYMICS: &[(&str, &str)] = &[
    ("Александрович", "Александровна"),
    ("Алексеевич", "Алексеевна"),
    ("Андреевич", "Андреевна"),
    ("Анатольевич", "Анатольевна"),
    ("Антонович", "Антоновна"),
    ("Борисович", "Борисовна"),
    ("Вадимович", "Вадимовна"),
    ("Васильевич", "Васильевна"),
    ("Викторович", "Викторовна"),
    ("Витальевич", "Витальевна"),
    ("Владимирович", "Владимировна"),
    ("Вячеславович", "Вячеславовна"),
    ("Геннадьевич", "Геннадьевна"),
    ("Георгиевич", "Георгиевна"),
    ("Григорьевич", "Григорьевна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Евгеньевич", "Евгеньевна"),
    ("Иванович", "Ивановна"),
    ("Игоревич", "Игоревна"),
    ("Ильич", "Ильинична"),
    ("Константинович", "Константиновна"),
    ("Леонидович", "Леонидовна"),
    ("Львович", "Львовна"),
    ("Максимович", "Максимовна"),
    ("Михайлович", "Михайловна"),
    ("Никитич", "Никитична"),
    ("Николаевич", "Николаевна"),
    ("Олегович", "Олеговна"),
    ("Павлович", "Павловна"),
    ("Петрович", "Петровна"),
    ("Романович", "Романовна"),
    ("Семёнович", "Семёновна"),
    ("Сергеевич", "Сергеевна"),
    ("Станиславович", "Станиславовна"),
    ("Степанович", "Степановна"),
    ("Фёдорович", "Фёдоровна"),
    ("Юрьевич", "Юрьевна"),
];

const STREETS: &[&str] = &[
    "ул. Ленина", "ул. Мира", "ул. Малышева", "ул. Гагарина", "ул. Садовая", "ул. Школьная",
    "ул. Советская", "ул. Первомайская", "ул. Луначарского", "ул. Чапаева", "ул. Крауля",
    "ул. Белинского", "ул. Фрунзе", "ул. Победы", "ул. Космонавтов", "ул. Уральская",
    "ул. Сибирская", "ул. Лесная", "ул. Молодёжная", "ул. Энергетиков", "пр. Ленина",
    "пр. Космонавтов", "пр. Седова", "б-р Культуры", "пер. Северный", "пер. Встречный",
];

/// Transliteration close to the passport (ICAO) table, good enough for believable logins.
fn translit_char(c: char, out: &mut String) {
    let s = match c.to_lowercase().next().unwrap_or(c) {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' => "i",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'ю' => "iu",
        'я' => "ia",
        other => {
            if other.is_ascii_alphanumeric() {
                out.push(other.to_ascii_lowercase());
            }
            return;
        }
    };
    out.push_str(s);
}

/// Lower-case Latin transliteration of a Cyrillic word.
pub fn translit(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        translit_char(c, &mut out);
    }
    out
}

/// Feminine form of a masculine surname (Иванов → Иванова, Островский → Островская,
/// Шевченко stays).
pub fn feminine_surname(male: &str) -> String {
    if let Some(stem) = male.strip_suffix("ский") {
        format!("{stem}ская")
    } else if male.ends_with("ов")
        || male.ends_with("ев")
        || male.ends_with("ёв")
        || male.ends_with("ин")
        || male.ends_with("ын")
    {
        format!("{male}а")
    } else {
        male.to_string()
    }
}

/// A fake person's name parts, gender-consistent.
#[derive(Debug, Clone)]
pub struct Person {
    pub female: bool,
    pub surname: String,
    pub first: &'static str,
    pub patronymic: &'static str,
}

impl Person {
    pub fn random<R: Rng>(rng: &mut R, female: bool) -> Self {
        let male_surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
        let (m, f) = PATRONYMICS[rng.random_range(0..PATRONYMICS.len())];
        if female {
            Person {
                female,
                surname: feminine_surname(male_surname),
                first: FEMALE_NAMES[rng.random_range(0..FEMALE_NAMES.len())],
                patronymic: f,
            }
        } else {
            Person {
                female,
                surname: male_surname.to_string(),
                first: MALE_NAMES[rng.random_range(0..MALE_NAMES.len())],
                patronymic: m,
            }
        }
    }

    /// "Фамилия Имя Отчество", the order 1C and most Russian CRMs use in ФИО columns.
    pub fn full_name(&self) -> String {
        format!("{} {} {}", self.surname, self.first, self.patronymic)
    }

    /// "Фамилия Имя", how a trainer or a friend is usually mentioned in a note.
    pub fn short_name(&self) -> String {
        format!("{} {}", self.surname, self.first)
    }
}

/// A fake Russian mobile number in one of the spellings real front desks type, so that the
/// pseudonymizer's `normalize = "digits"` and the phone detector meet every variant.
pub fn phone<R: Rng>(rng: &mut R) -> String {
    let code: u32 = rng.random_range(900..=999);
    let a: u32 = rng.random_range(0..1000);
    let b: u32 = rng.random_range(0..100);
    let c: u32 = rng.random_range(0..100);
    match rng.random_range(0..10u32) {
        0..=2 => format!("+7 ({code}) {a:03}-{b:02}-{c:02}"),
        3..=5 => format!("8{code}{a:03}{b:02}{c:02}"),
        6..=7 => format!("8-{code}-{a:03}-{b:02}-{c:02}"),
        _ => format!("+7{code}{a:03}{b:02}{c:02}"),
    }
}

/// A fake e-mail at example.com / example.org / example.net only (never a real domain).
pub fn email<R: Rng>(rng: &mut R, p: &Person, birth_year: i32) -> String {
    let domain = ["example.com", "example.org", "example.net"][rng.random_range(0..3)];
    let first = translit(p.first);
    let last = translit(&p.surname);
    let mut local = match rng.random_range(0..5u32) {
        0 => format!("{first}.{last}"),
        1 => format!("{last}.{first}"),
        2 => format!("{}{last}", &first[..1]),
        3 => format!("{last}{}", birth_year % 100),
        _ => format!("{first}_{last}{}", rng.random_range(1..1000)),
    };
    // Some people type their address with capitals; the mapping folds case for matching.
    if rng.random_bool(0.1) {
        let mut chars: Vec<char> = local.chars().collect();
        if let Some(c) = chars.first_mut() {
            *c = c.to_ascii_uppercase();
        }
        local = chars.into_iter().collect();
    }
    format!("{local}@{domain}")
}

/// "4510 123456": 4 digits of series (region + year of issue), a space, 6 digits of number.
pub fn passport<R: Rng>(rng: &mut R) -> String {
    let region: u32 = [65, 65, 65, 66, 45, 74][rng.random_range(0..6)];
    let year: u32 = rng.random_range(0..25);
    let number: u32 = rng.random_range(100_000..1_000_000);
    format!("{region:02}{year:02} {number:06}")
}

/// A 6-digit postal code. Most members live in the club's city (prefix 620), so the postal
/// prefix is a weak quasi-identifier, with a thin tail of other prefixes for the k-anonymity
/// check to flag.
pub fn postal_code<R: Rng>(rng: &mut R) -> String {
    let u: f64 = rng.random();
    let prefix: u32 = if u < 0.78 {
        620
    } else if u < 0.88 {
        623
    } else if u < 0.96 {
        624
    } else {
        rng.random_range(101..700)
    };
    format!("{prefix:03}{:03}", rng.random_range(0..1000u32))
}

/// A street address in the club's city; it is left unmapped to show deny-by-default.
pub fn address<R: Rng>(rng: &mut R) -> String {
    let mut s = String::with_capacity(64);
    s.push_str("г. Екатеринбург, ");
    s.push_str(STREETS[rng.random_range(0..STREETS.len())]);
    let _ = write!(s, ", д. {}", rng.random_range(1..160u32));
    if rng.random_bool(0.2) {
        let _ = write!(s, ", корп. {}", rng.random_range(1..4u32));
    }
    if rng.random_bool(0.85) {
        let _ = write!(s, ", кв. {}", rng.random_range(1..300u32));
    }
    s
}

const COMPANY_ROOTS: &[&str] = &[
    "Урал", "Сиб", "Техно", "Строй", "Агро", "Мед", "Транс", "Энерго", "Пром", "Инвест", "Гранит",
    "Восток", "Север", "Альфа", "Вектор", "Профи", "Сфера", "Меридиан", "Кедр", "Малахит",
];
const COMPANY_TAILS: &[&str] = &[
    "Сервис", "Групп", "Трейд", "Маркет", "Консалт", "Проект", "Снаб", "Лайн", "Систем",
    "Комплект", "Логистик", "Мастер", "Инжиниринг", "Стандарт",
];

/// A fake company name as a Russian register prints it: «ООО «УралСнаб»», «АО «Вектор-Трейд»»;
/// a sole proprietor ("ИП Фамилия Имя Отчество") when `person` is given.
pub fn company_name<R: Rng>(rng: &mut R, person: Option<&Person>) -> String {
    if let Some(p) = person {
        return format!("ИП {}", p.full_name());
    }
    let root = COMPANY_ROOTS[rng.random_range(0..COMPANY_ROOTS.len())];
    let tail = COMPANY_TAILS[rng.random_range(0..COMPANY_TAILS.len())];
    let form = if rng.random_bool(0.93) {
        "ООО"
    } else {
        "АО"
    };
    match rng.random_range(0..10u32) {
        0..=5 => format!("{form} «{root}{}»", tail.to_lowercase()),
        6..=8 => format!("{form} «{root}-{tail}»"),
        _ => format!("{form} «{root}{tail} {}»", rng.random_range(1..100u32)),
    }
}

fn inn_check(digits: &[u8], weights: &[u32]) -> u8 {
    let sum: u32 = digits.iter().zip(weights).map(|(&d, w)| d as u32 * w).sum();
    (sum % 11 % 10) as u8
}

fn digits_of(mut n: u64, width: usize, out: &mut Vec<u8>) {
    let start = out.len();
    for _ in 0..width {
        out.push((n % 10) as u8);
        n /= 10;
    }
    out[start..].reverse();
}

/// A company's 10-digit INN with a valid check digit: region (2 digits), `serial` (7 digits,
/// tax office and record number), check digit.
pub fn inn_company(region: u32, serial: u64) -> String {
    let mut d = Vec::with_capacity(10);
    digits_of(region as u64, 2, &mut d);
    digits_of(serial, 7, &mut d);
    let c = inn_check(&d, &[2, 4, 10, 3, 5, 9, 4, 6, 8]);
    d.push(c);
    d.iter().map(|&x| char::from(b'0' + x)).collect()
}

/// A person's (sole proprietor's) 12-digit INN with both check digits: region (2 digits),
/// `serial` (8 digits), two check digits.
pub fn inn_person(region: u32, serial: u64) -> String {
    let mut d = Vec::with_capacity(12);
    digits_of(region as u64, 2, &mut d);
    digits_of(serial, 8, &mut d);
    let c11 = inn_check(&d, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
    d.push(c11);
    let c12 = inn_check(&d, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
    d.push(c12);
    d.iter().map(|&x| char::from(b'0' + x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn inn_check_digits() {
        // Published examples: 7707083893 (a bank), 500100732259 (a person).
        assert_eq!(inn_company(77, 708_389), "7707083893");
        assert_eq!(inn_person(50, 1_007_322), "500100732259");
        assert_eq!(inn_company(66, 1), "6600000010");
        assert_eq!(inn_company(66, 1).len(), 10);
    }

    #[test]
    fn company_names() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..50 {
            let n = company_name(&mut rng, None);
            assert!(n.starts_with("ООО «") || n.starts_with("АО «"), "{n}");
            assert!(n.ends_with('»'), "{n}");
        }
        let p = Person::random(&mut rng, true);
        assert!(company_name(&mut rng, Some(&p)).starts_with("ИП "));
    }

    #[test]
    fn feminine_forms() {
        assert_eq!(feminine_surname("Иванов"), "Иванова");
        assert_eq!(feminine_surname("Соловьёв"), "Соловьёва");
        assert_eq!(feminine_surname("Ильин"), "Ильина");
        assert_eq!(feminine_surname("Островский"), "Островская");
        assert_eq!(feminine_surname("Шевченко"), "Шевченко");
    }

    #[test]
    fn names_agree_with_gender() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let f = Person::random(&mut rng, true);
            assert!(f.patronymic.ends_with("вна") || f.patronymic.ends_with("ична"));
            let m = Person::random(&mut rng, false);
            assert!(m.patronymic.ends_with("ич"));
        }
    }

    #[test]
    fn phones_have_eleven_digits_starting_7_or_8() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..200 {
            let p = phone(&mut rng);
            let digits: String = p.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(digits.len(), 11, "{p}");
            assert!(digits.starts_with('7') || digits.starts_with('8'), "{p}");
        }
    }

    #[test]
    fn emails_are_reserved_domains_and_ascii() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let female = rng.random_bool(0.5);
            let p = Person::random(&mut rng, female);
            let e = email(&mut rng, &p, 1990);
            assert!(e.is_ascii(), "{e}");
            let domain = e.rsplit('@').next().unwrap();
            assert!(["example.com", "example.org", "example.net"].contains(&domain));
        }
    }
}
