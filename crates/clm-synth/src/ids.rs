//! Ids that are unique without a global counter.
//!
//! Clients are simulated independently (any order, any subset), so membership and receipt
//! numbers cannot come from a running sequence. They are derived from (client index,
//! per-client sequence) through a keyed permutation instead: unique by construction, and
//! without the visible pattern of a sequence that would hint at the client behind them.

/// A 64-bit mixer (SplitMix64) for deriving ids and rare-source picks from the seed.
pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A keyed permutation of `[0, m)`: a 4-round Feistel network on the smallest even number of
/// bits that covers `m`, cycle-walked back into range. Ids made this way are unique without
/// a global counter (so clients can be generated independently) and show no pattern that
/// would give away the client behind them.
pub(crate) fn permute(x: u64, m: u64, key: u64) -> u64 {
    let mut bits = 64 - (m - 1).leading_zeros();
    bits += bits & 1;
    let half = bits / 2;
    let mask = (1u64 << half) - 1;
    let mut v = x;
    loop {
        let (mut l, mut r) = (v >> half, v & mask);
        for round in 0..4u64 {
            let f = splitmix(key ^ (round << 56) ^ r) & mask;
            (l, r) = (r, l ^ f);
        }
        v = (l << half) | r;
        if v < m {
            return v;
        }
    }
}

/// Membership numbers: 9 digits from (client index, card sequence < 100).
pub fn membership_number(seed: u64, idx: u64, seq: u64) -> u64 {
    permute(idx * 100 + seq, 1_000_000_000, splitmix(seed ^ 0x6d65_6d62))
}

/// Receipt numbers: 11 digits from (client index, receipt sequence < 10 000).
pub fn receipt_number(seed: u64, idx: u64, seq: u64) -> u64 {
    permute(
        idx * 10_000 + seq,
        100_000_000_000,
        splitmix(seed ^ 0x7361_6c65),
    )
}

/// Document numbers of the other profiles (contracts, invoices, orders): `digits` digits from
/// (client index, sequence < `per_client`), unique per `salt` as long as
/// clients × `per_client` ≤ 10^`digits`.
pub fn document_number(
    seed: u64,
    salt: u64,
    idx: u64,
    seq: u64,
    per_client: u64,
    digits: u32,
) -> u64 {
    debug_assert!(seq < per_client);
    permute(
        idx * per_client + seq,
        10u64.pow(digits),
        splitmix(seed ^ salt),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn permutation_is_a_bijection() {
        for m in [10u64, 1000, 4097] {
            let seen: HashSet<u64> = (0..m).map(|x| permute(x, m, 42)).collect();
            assert_eq!(seen.len() as u64, m);
            assert!(seen.iter().all(|&v| v < m));
        }
    }

    #[test]
    fn ids_do_not_collide_across_clients() {
        let mut seen = HashSet::new();
        for idx in [0u64, 1, 2, 99, 9_999_998] {
            for seq in 0..100 {
                assert!(seen.insert(membership_number(1, idx, seq)));
            }
        }
    }
}
