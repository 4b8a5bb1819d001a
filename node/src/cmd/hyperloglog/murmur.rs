//! MurmurHash64A (Redis's endian-neutral variant) and `hllPatLen`: the register an
//! element lands in and the length of its `000…1` pattern.

use super::registers::{P, Q};

/// MurmurHash2, 64-bit version, as `hyperloglog.c` computes it (words read little endian).
pub fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4a7935bd1e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        let mut k = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate() {
            h ^= u64::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The seed Redis hashes HLL elements with.
const SEED: u32 = 0xadc83b19;

/// `(register index, pattern length)` for `element`: the low [`P`] bits of the hash, and
/// 1 + the trailing zeros of the rest (a sentinel at bit [`Q`] caps it at `Q + 1`).
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & ((1 << P) - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Computed with Redis's C implementation.
        assert_eq!(murmur64a(b"", SEED), 0xd8dfea6585bc9732);
        assert_eq!(murmur64a(b"a", SEED), 0x53d2470a9b43b1a7);
        assert_eq!(murmur64a(b"foo", SEED), 0xe64609b8b0141cb4);
        assert_eq!(murmur64a(b"hello world", SEED), 0xa919bc3051f624b7);
        assert_eq!(
            murmur64a(b"0123456789abcdef\xff\x80", SEED),
            0xf5d6804cd4df0da4
        );
    }

    #[test]
    fn patterns_follow_the_hash() {
        let (index, count) = pattern(b"foo");
        assert_eq!(index, (0xe64609b8b0141cb4u64 & 0x3fff) as usize);
        let rest = 0xe64609b8b0141cb4u64 >> 14;
        assert_eq!(count as u32, rest.trailing_zeros() + 1);
        assert!((1..=51).contains(&count));
    }
}
