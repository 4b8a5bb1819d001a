//! C `long double` arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis 7.0 parses both operands with `strtold`, adds them as `long double` (the x87
//! 80-bit format on x86_64) and prints the sum with `"%.17Lf"` minus trailing zeros
//! (`util.c`: `string2ld`, `ld2string(…, LD_STR_HUMAN)`). The replies show that format's
//! rounding (`0.1 + 0.2` → `0.3`, `5000.002` → `5000.00199999999999978`), its range
//! (`1e400` is a valid value) and glibc's parser (hex, `inf`). Emulating 80-bit floats
//! and glibc's decimal conversions in Rust would be a large, subtle piece of code; a
//! 60-line C file (`csrc/long_double.c`, built by `build.rs` with the `cc` crate) calls
//! the same libc functions Redis does, so the results are exact by construction, on
//! x86_64 and on any other target (where `long double` is whatever Redis gets there too).
//! Values cross the boundary as 16 opaque bytes, wrapped in [`LongDouble`].

use std::os::raw::{c_char, c_int};

/// The longest sum text Redis can print (its `MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;

extern "C" {
    fn slotgate_ld_parse(text: *const c_char, len: usize, out: *mut LongDouble) -> c_int;
    fn slotgate_ld_add(a: *const LongDouble, b: *const LongDouble, out: *mut LongDouble) -> c_int;
    fn slotgate_ld_is_finite(a: *const LongDouble) -> c_int;
    fn slotgate_ld_format_human(a: *const LongDouble, out: *mut c_char, cap: usize) -> usize;
}

/// A C `long double`, stored as its bytes (16 covers every target's format).
#[derive(Clone, Copy, Default)]
#[repr(C, align(16))]
pub struct LongDouble([u8; 16]);

impl LongDouble {
    /// Redis's `string2ld`: the whole text, no leading blank, no NaN, no overflow.
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        let mut value = LongDouble::default();
        // SAFETY: the C side reads `len` bytes of `text` and writes one value to `out`.
        let ok = unsafe { slotgate_ld_parse(text.as_ptr().cast(), text.len(), &mut value) };
        (ok != 0).then_some(value)
    }

    /// The sum, or `None` when it is NaN or infinite.
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let mut sum = LongDouble::default();
        // SAFETY: reads two values and writes one, all owned by this frame.
        let ok = unsafe { slotgate_ld_add(&self, &other, &mut sum) };
        (ok != 0).then_some(sum)
    }

    pub fn is_finite(self) -> bool {
        // SAFETY: reads one value.
        unsafe { slotgate_ld_is_finite(&self) != 0 }
    }

    /// `ld2string(…, LD_STR_HUMAN)`: `"%.17Lf"` without trailing zeros, `-0` as `0`.
    pub fn to_human(self) -> Vec<u8> {
        let mut out = vec![0u8; MAX_CHARS];
        // SAFETY: the C side writes at most `out.len()` bytes and returns how many.
        let len = unsafe { slotgate_ld_format_human(&self, out.as_mut_ptr().cast(), out.len()) };
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(value: &str, by: &str) -> Option<String> {
        let sum =
            LongDouble::parse(value.as_bytes())?.checked_add(LongDouble::parse(by.as_bytes())?)?;
        Some(String::from_utf8(sum.to_human()).unwrap())
    }

    #[test]
    fn sums_like_redis() {
        assert_eq!(incr("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(incr("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(
            incr("5000", "2e-3").as_deref(),
            Some("5000.00199999999999978")
        );
        assert_eq!(
            incr("9223372036854775807", "1").as_deref(),
            Some("9223372036854775808")
        );
        assert_eq!(incr("0", "0x10").as_deref(), Some("16"));
        assert_eq!(incr("0", "1e-20").as_deref(), Some("0"));
        assert_eq!(incr("-0", "-0").as_deref(), Some("0"));
        assert_eq!(incr("0", "1e400").map(|s| s.len()), Some(401));
        assert_eq!(incr("1", "inf"), None);
    }

    #[test]
    fn parses_like_string2ld() {
        for bad in ["", " 1", "1 ", "1\0", "abc", "nan", "1e5000", "1e-5000"] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert!(LongDouble::parse(b"inf").is_some_and(|v| !v.is_finite()));
        assert!(LongDouble::parse(b"1e4000").is_some_and(|v| v.is_finite()));
    }
}
