//! Bit arithmetic on byte strings in Redis's order (bit 0 is the most significant bit of
//! byte 0): single bits, counting and searching an inclusive bit span, and BITFIELD's
//! integer fields with the overflow rules of Redis's `bitops.c`, quirks included.

/// Bit `offset` of `s`; zero past the end.
pub fn get(s: &[u8], offset: u64) -> bool {
    let byte = (offset >> 3) as usize;
    s.get(byte).is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Sets bit `offset` (inside `s`) to `on`; returns the old bit.
pub fn set(s: &mut [u8], offset: u64, on: bool) -> bool {
    let byte = &mut s[(offset >> 3) as usize];
    let mask = 0x80 >> (offset & 7);
    let old = *byte & mask != 0;
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    old
}

/// The bits of byte `from / 8` at or after `from`.
fn head_mask(from: u64) -> u8 {
    0xFF >> (from & 7)
}

/// The bits of byte `to / 8` at or before `to`.
fn tail_mask(to: u64) -> u8 {
    !((0xFFu32 >> ((to & 7) + 1)) as u8)
}

/// Set bits in `s`, a machine word at a time.
fn popcount(s: &[u8]) -> u64 {
    let words = s.chunks_exact(8);
    let rest: u64 = words
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum();
    let whole: u64 = words
        .map(|w| u64::from(u64::from_ne_bytes(w.try_into().unwrap_or_default()).count_ones()))
        .sum();
    whole + rest
}

/// Set bits among bits `from..=to` (both inside `s`).
pub fn count_ones(s: &[u8], from: u64, to: u64) -> u64 {
    let (first, last) = ((from >> 3) as usize, (to >> 3) as usize);
    let outside =
        (s[first] & !head_mask(from)).count_ones() + (s[last] & !tail_mask(to)).count_ones();
    popcount(&s[first..=last]) - u64::from(outside)
}

/// The first bit equal to `bit` among bits `from..=to` (both inside `s`).
pub fn find(s: &[u8], from: u64, to: u64, bit: bool) -> Option<u64> {
    let (first, last) = ((from >> 3) as usize, (to >> 3) as usize);
    // Looking for ones in `wanted(byte)`.
    let wanted = |b: u8| if bit { b } else { !b };
    let hit = |i: usize, b: u8| (b != 0).then(|| i as u64 * 8 + u64::from(b.leading_zeros()));
    let head = wanted(s[first]) & head_mask(from);
    if first == last {
        return hit(first, head & tail_mask(to));
    }
    if let Some(found) = hit(first, head) {
        return Some(found);
    }
    let skip = if bit { 0x00 } else { 0xFF };
    let middle = &s[first + 1..last];
    if let Some(i) = middle.iter().position(|&b| b != skip) {
        return hit(first + 1 + i, wanted(middle[i]));
    }
    hit(last, wanted(s[last]) & tail_mask(to))
}

/// The `bits`-wide unsigned field at `offset`, zero-padded past the end of `s`.
pub fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    (offset..offset + u64::from(bits)).fold(0, |v, i| v << 1 | u64::from(get(s, i)))
}

/// The `bits`-wide two's complement field at `offset`, zero-padded past the end of `s`.
pub fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(s, offset, bits) as i64;
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        v | (-1i64 << bits)
    } else {
        v
    }
}

/// Writes the low `bits` bits of `value` at `offset` (the field lies inside `s`).
pub fn set_field(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        set(s, offset + u64::from(j), value >> (bits - 1 - j) & 1 != 0);
    }
}

/// BITFIELD's OVERFLOW modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// What an overflow `mode` makes of a result past the field: the wrapped or saturated
/// value, or `None` (FAIL).
fn settle<T>(mode: Overflow, wrapped: impl FnOnce() -> T, saturated: T) -> Option<T> {
    match mode {
        Overflow::Wrap => Some(wrapped()),
        Overflow::Sat => Some(saturated),
        Overflow::Fail => None,
    }
}

/// `value + incr` for a `bits`-wide signed field, as `checkSignedBitfieldOverflow` decides
/// (its wrapping `maxincr` included, so a SET far below the range saturates up).
pub fn signed_add(value: i64, incr: i64, bits: u32, mode: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let sum = (value as u64).wrapping_add(incr as u64);
        if bits == 64 {
            return sum as i64;
        }
        let high = u64::MAX << bits;
        let negative = sum & (1 << (bits - 1)) != 0;
        (if negative { sum | high } else { sum & !high }) as i64
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        return settle(mode, wrap, max);
    }
    if value < min || (bits != 64 && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr)
    {
        return settle(mode, wrap, min);
    }
    Some(value.wrapping_add(incr))
}

/// `value + incr` for a `bits`-wide (at most 63) unsigned field, as
/// `checkUnsignedBitfieldOverflow` decides.
pub fn unsigned_add(value: u64, incr: i64, bits: u32, mode: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let sum = value.wrapping_add(incr as u64);
    if value > max || (incr > 0 && incr > max_incr) {
        return settle(mode, || sum & max, max);
    }
    if incr < 0 && incr < min_incr {
        return settle(mode, || sum & max, 0);
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Overflow::{Fail, Sat, Wrap};

    #[test]
    fn single_bits_and_counts() {
        let mut s = [0u8; 2];
        assert!(!set(&mut s, 1, true));
        assert!(set(&mut s, 1, true));
        set(&mut s, 15, true);
        assert_eq!(s, [0x40, 0x01]);
        assert!(get(&s, 1) && get(&s, 15) && !get(&s, 16) && !get(&s, 1 << 40));
        let foobar = b"foobar";
        assert_eq!(count_ones(foobar, 0, 47), 26);
        assert_eq!(count_ones(foobar, 8, 15), 6);
        assert_eq!(count_ones(foobar, 5, 30), 17);
        assert_eq!(count_ones(foobar, 3, 3), 0);
    }

    #[test]
    fn find_respects_span_edges() {
        let s = [0xFF, 0xF0, 0x00];
        assert_eq!(find(&s, 0, 23, false), Some(12));
        assert_eq!(find(&s, 0, 11, false), None);
        assert_eq!(find(&s, 0, 23, true), Some(0));
        assert_eq!(find(&s, 12, 23, true), None);
        assert_eq!(find(&s, 3, 5, true), Some(3));
        assert_eq!(find(&s, 13, 13, false), Some(13));
        assert_eq!(find(&[0u8; 40], 0, 319, true), None);
        let mut long = [0u8; 40];
        long[33] = 0x02;
        assert_eq!(find(&long, 4, 318, true), Some(33 * 8 + 6));
    }

    #[test]
    fn fields_read_and_write_big_endian() {
        let mut s = [0u8; 9];
        set_field(&mut s, 4, 8, 0xAB);
        assert_eq!(s[..2], [0x0A, 0xB0]);
        assert_eq!(get_unsigned(&s, 4, 8), 0xAB);
        assert_eq!(get_signed(&s, 4, 8), 0xAB - 256);
        assert_eq!(get_signed(&s, 4, 4), -6);
        set_field(&mut s, 0, 64, i64::MIN as u64);
        assert_eq!(get_signed(&s, 0, 64), i64::MIN);
        assert_eq!(get_unsigned(&[0xFF], 4, 8), 0xF0);
    }

    #[test]
    fn signed_overflow_modes() {
        assert_eq!(signed_add(100, 27, 8, Fail), Some(127));
        assert_eq!(signed_add(100, 28, 8, Wrap), Some(-128));
        assert_eq!(signed_add(100, 28, 8, Sat), Some(127));
        assert_eq!(signed_add(100, 28, 8, Fail), None);
        assert_eq!(signed_add(-100, -29, 8, Sat), Some(-128));
        assert_eq!(signed_add(-100, -29, 8, Wrap), Some(127));
        assert_eq!(signed_add(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_add(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(signed_add(i64::MIN, 5, 64, Fail), Some(i64::MIN + 5));
        // SET of a value far below an i8's range: Redis's wrapping maxincr says "up".
        assert_eq!(signed_add(i64::MIN, 0, 8, Sat), Some(127));
        assert_eq!(signed_add(-1000, 0, 8, Sat), Some(-128));
        assert_eq!(signed_add(300, 0, 8, Wrap), Some(44));
    }

    #[test]
    fn unsigned_overflow_modes() {
        assert_eq!(unsigned_add(250, 5, 8, Fail), Some(255));
        assert_eq!(unsigned_add(250, 6, 8, Wrap), Some(0));
        assert_eq!(unsigned_add(250, 6, 8, Sat), Some(255));
        assert_eq!(unsigned_add(3, -4, 8, Sat), Some(0));
        assert_eq!(unsigned_add(3, -4, 8, Wrap), Some(255));
        assert_eq!(unsigned_add(3, -4, 8, Fail), None);
        assert_eq!(unsigned_add(-1i64 as u64, 0, 8, Sat), Some(255));
        assert_eq!(unsigned_add(u64::MAX >> 1, 1, 63, Wrap), Some(0));
        assert_eq!(unsigned_add(0, i64::MAX, 63, Fail), Some(i64::MAX as u64));
    }
}
