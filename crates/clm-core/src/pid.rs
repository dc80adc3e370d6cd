//! Pseudonyms (SPEC §3.2).
//!
//! `pid = hex(HMAC-SHA256(K_p, domain ‖ 0x1F ‖ normalize(id))[0..16])`. Keyed, so that a
//! phone number or a short numeric id cannot be found again by hashing a dictionary; per
//! domain, so that client 17 and trainer 17 get unrelated pids; deterministic, so that the
//! monthly exports of one club join.

use std::borrow::Cow;
use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::keys::PseudonymKey;

type HmacSha256 = Hmac<Sha256>;

/// Separates id spaces so equal raw ids in different roles get unrelated pids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Client,
    Staff,
    Membership,
    Sale,
    Lead,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Client => "client",
            Domain::Staff => "staff",
            Domain::Membership => "membership",
            Domain::Sale => "sale",
            Domain::Lead => "lead",
        }
    }

    pub fn parse(s: &str) -> Option<Domain> {
        Some(match s {
            "client" => Domain::Client,
            "staff" => Domain::Staff,
            "membership" => Domain::Membership,
            "sale" => Domain::Sale,
            "lead" => Domain::Lead,
            _ => return None,
        })
    }
}

/// How an id is normalized before hashing. White space is always trimmed; leading zeros
/// are significant (`"007"` and `"7"` are different clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    #[default]
    Trim,
    /// Phones used as ids: keep the digits only.
    Digits,
    /// Case-insensitive ids such as e-mails.
    Casefold,
}

pub fn normalize(id: &str, how: Normalize) -> Cow<'_, str> {
    let t = id.trim();
    match how {
        Normalize::Trim => Cow::Borrowed(t),
        Normalize::Digits => {
            if t.bytes().all(|b| b.is_ascii_digit()) {
                Cow::Borrowed(t)
            } else {
                Cow::Owned(t.chars().filter(|c| c.is_ascii_digit()).collect())
            }
        }
        Normalize::Casefold => {
            if t.chars().any(|c| c.is_uppercase()) {
                Cow::Owned(t.to_lowercase())
            } else {
                Cow::Borrowed(t)
            }
        }
    }
}

/// Computes pids with one key. Keying HMAC once and cloning the keyed state saves two of
/// the four SHA-256 compressions per id.
#[derive(Clone)]
pub struct Pseudonymizer {
    keyed: HmacSha256,
}

impl Pseudonymizer {
    pub fn new(key: &PseudonymKey) -> Self {
        Pseudonymizer {
            keyed: <HmacSha256 as KeyInit>::new_from_slice(key.as_bytes()).expect("any key length"),
        }
    }

    /// The pid of an already normalized id, as 32 lowercase hex bytes.
    pub fn pid_bytes(&self, domain: Domain, normalized_id: &str) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(domain.as_str().as_bytes());
        mac.update(&[0x1F]);
        mac.update(normalized_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 32];
        hex::encode_to_slice(&tag[..16], &mut out).expect("32 = 2 × 16");
        out
    }

    /// The pid of an already normalized id.
    pub fn pid(&self, domain: Domain, normalized_id: &str) -> String {
        let b = self.pid_bytes(domain, normalized_id);
        String::from_utf8(b.to_vec()).expect("hex is ASCII")
    }
}

/// Remembers the pids of recently seen ids of one domain, so that 10 M visit rows of 100 k
/// clients cost about 100 k HMACs, not 10 M, when a client's rows come close together (as
/// exports list them: by client, or by date within a period). Bounded: when full it starts
/// over, so memory stays flat (~2 MiB) however many clients there are.
pub struct PidCache {
    domain: Domain,
    /// aHash rather than SipHash: the keys are the club's own ids, hashed once per row.
    map: HashMap<Box<str>, [u8; 32], ahash::RandomState>,
    cap: usize,
}

impl PidCache {
    pub const DEFAULT_CAPACITY: usize = 1 << 14;

    pub fn new(domain: Domain, cap: usize) -> Self {
        PidCache {
            domain,
            map: HashMap::default(),
            cap,
        }
    }

    pub fn get(&mut self, p: &Pseudonymizer, normalized_id: &str) -> [u8; 32] {
        if self.cap == 0 {
            // Ids that never repeat (sales, memberships): nothing to remember.
            return p.pid_bytes(self.domain, normalized_id);
        }
        if let Some(v) = self.map.get(normalized_id) {
            return *v;
        }
        let v = p.pid_bytes(self.domain, normalized_id);
        if self.map.len() >= self.cap {
            self.map.clear();
        }
        self.map.insert(normalized_id.into(), v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Secret32;

    fn hmac_hex(key: &[u8], data: &[u8]) -> String {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap();
        m.update(data);
        hex::encode(m.finalize().into_bytes())
    }

    /// RFC 4231 test cases 1, 2, 6 and 7 (HMAC-SHA256): the primitive under every pid.
    #[test]
    fn rfc4231_vectors() {
        assert_eq!(
            hmac_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(
            hmac_hex(
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
            ),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        );
    }

    #[test]
    fn pid_formula() {
        let key = PseudonymKey(Secret32::from_bytes([0x42; 32]));
        let p = Pseudonymizer::new(&key);
        let expected = &hmac_hex(&[0x42; 32], b"client\x1f0001234")[..32];
        assert_eq!(p.pid(Domain::Client, "0001234"), expected);
        assert_eq!(p.pid(Domain::Client, "0001234").len(), 32);
        // domains separate id spaces
        assert_ne!(p.pid(Domain::Client, "17"), p.pid(Domain::Staff, "17"));
        // leading zeros are significant
        assert_ne!(p.pid(Domain::Client, "007"), p.pid(Domain::Client, "7"));
        // another key, another pid
        let other = Pseudonymizer::new(&PseudonymKey(Secret32::from_bytes([0x43; 32])));
        assert_ne!(p.pid(Domain::Client, "17"), other.pid(Domain::Client, "17"));
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("  0012 ", Normalize::Trim), "0012");
        assert_eq!(
            normalize("+7 (912) 345-67-89", Normalize::Digits),
            "79123456789"
        );
        assert_eq!(
            normalize(" Ann@Example.COM ", Normalize::Casefold),
            "ann@example.com"
        );
    }

    #[test]
    fn cache_agrees_and_stays_bounded() {
        let key = PseudonymKey(Secret32::from_bytes([1; 32]));
        let p = Pseudonymizer::new(&key);
        let mut c = PidCache::new(Domain::Client, 3);
        let mut none = PidCache::new(Domain::Client, 0);
        for i in 0..10 {
            let id = format!("{}", i % 5);
            assert_eq!(&c.get(&p, &id), p.pid(Domain::Client, &id).as_bytes());
            assert!(c.map.len() <= 3);
            assert_eq!(&none.get(&p, &id), p.pid(Domain::Client, &id).as_bytes());
            assert!(none.map.is_empty());
        }
    }
}
