//! Hash slots: which of the 16384 slots a key belongs to, by Redis's `keyHashSlot` rule —
//! CRC16/XMODEM of the key, or of its hash tag (the bytes between the first `{` and the
//! first `}` after it, when there is at least one), modulo 16384.

use std::fmt;

/// Number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: u16 = 16384;

/// A hash slot, always below [`SLOT_COUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(u16);

impl Slot {
    /// `Some` for `0..16384`.
    pub fn new(n: u16) -> Option<Slot> {
        (n < SLOT_COUNT).then_some(Slot(n))
    }

    pub fn get(self) -> u16 {
        self.0
    }

    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Every slot in order.
    pub fn all() -> impl Iterator<Item = Slot> {
        (0..SLOT_COUNT).map(Slot)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The part of `key` that is hashed: its hash tag if it has a non-empty one, else all of it.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = memchr::memchr(b'{', key) {
        if let Some(len) = memchr::memchr(b'}', &key[open + 1..]) {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

/// The slot `key` hashes to.
pub fn key_slot(key: &[u8]) -> Slot {
    Slot(crc16::State::<crc16::XMODEM>::calculate(hash_tag(key)) & (SLOT_COUNT - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_table() {
        assert_eq!(
            crc16::State::<crc16::XMODEM>::calculate(b"123456789"),
            0x31C3
        );
        let cases: &[(&str, u16)] = &[
            ("foo", 12182),
            ("bar", 5061),
            ("hello", 866),
            ("key", 12539),
            ("a", 15495),
            ("mykey", 14687),
            ("{user1000}.following", 3443),
            ("{user1000}.followers", 3443),
            ("user1000", 3443),
            ("foo{}{bar}", 8363),
            ("foo{{bar}}zap", 4015),
            ("foo{bar}{zap}", 5061),
            ("{}foo", 9500),
            ("", 0),
        ];
        for &(key, slot) in cases {
            assert_eq!(key_slot(key.as_bytes()).get(), slot, "{key}");
        }
    }

    #[test]
    fn slot_bounds() {
        assert!(Slot::new(16383).is_some());
        assert!(Slot::new(16384).is_none());
        assert_eq!(Slot::all().count(), 16384);
    }
}
