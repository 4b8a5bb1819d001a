//! Argument parsing shared by the families: numbers with Redis's error texts, option
//! keywords, and typed key access (`WRONGTYPE` when a key holds another type).

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::Ctx;
use crate::db::{parse_f64, parse_i64, Value};
use crate::reply::err;

/// An integer argument (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> Result<i64, Frame> {
    parse_i64(arg).ok_or_else(err::not_int)
}

/// A float argument (`ERR value is not a valid float`).
pub fn float(arg: &[u8]) -> Result<f64, Frame> {
    parse_f64(arg).ok_or_else(err::not_float)
}

/// A non-negative integer, with a custom error for negatives.
pub fn positive(arg: &[u8], negative: &str) -> Result<i64, Frame> {
    let n = int(arg)?;
    if n < 0 {
        return Err(Frame::error(negative));
    }
    Ok(n)
}

/// A `numkeys` argument: Redis's range check from 1, one message for every failure.
pub fn numkeys(arg: &[u8]) -> Result<usize, Frame> {
    parse_i64(arg)
        .filter(|n| *n >= 1)
        .map(|n| n as usize)
        .ok_or_else(|| Frame::error("ERR numkeys should be greater than 0"))
}

/// A blocking command's timeout in seconds → milliseconds (0 = forever). Like Redis 7.0,
/// which casts the rounded-up milliseconds to a `long long`: a value past its range
/// (infinity included) becomes negative, and a tiny negative one rounds up to 0.
pub fn timeout(arg: &[u8]) -> Result<i64, Frame> {
    let secs =
        parse_f64(arg).ok_or_else(|| Frame::error("ERR timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    if !(0.0..I64_END).contains(&ms) {
        return Err(Frame::error("ERR timeout is negative"));
    }
    Ok(ms as i64)
}

/// 2^63: the first `f64` past `i64::MAX`.
const I64_END: f64 = 9_223_372_036_854_775_808.0;

/// Case-insensitive keyword comparison.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// The upper-cased keyword, for `match`.
pub fn upper(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).to_ascii_uppercase()
}

/// A live key's value when it has the type `pick` accepts; `WRONGTYPE` otherwise.
pub fn read<'a, T: ?Sized>(
    ctx: &'a mut Ctx,
    key: &[u8],
    pick: fn(&Value) -> Option<&T>,
) -> Result<Option<&'a T>, Frame> {
    let now = ctx.now;
    match ctx.db().get(key, now) {
        None => Ok(None),
        Some(entry) => pick(&entry.value).map(Some).ok_or_else(err::wrong_type),
    }
}

/// A live key's value for changing, when it has the type `pick` accepts.
pub fn write<'a, T: ?Sized>(
    ctx: &'a mut Ctx,
    key: &[u8],
    pick: fn(&mut Value) -> Option<&mut T>,
) -> Result<Option<&'a mut T>, Frame> {
    let now = ctx.now;
    match ctx.db().entry_mut(key, now) {
        None => Ok(None),
        Some(entry) => pick(&mut entry.value).map(Some).ok_or_else(err::wrong_type),
    }
}

/// Like [`write`], creating the key with `make()` when it is absent.
pub fn write_or_create<'a, T: ?Sized>(
    ctx: &'a mut Ctx,
    key: &[u8],
    make: fn() -> Value,
    pick: fn(&mut Value) -> Option<&mut T>,
) -> Result<&'a mut T, Frame> {
    let now = ctx.now;
    let entry = ctx.db().entry_or_insert(key, now, make);
    pick(&mut entry.value).ok_or_else(err::wrong_type)
}

/// Copies an argument out of the request buffer, so stored data never pins a whole read.
pub fn owned(arg: &Bytes) -> Bytes {
    Bytes::copy_from_slice(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_like_redis() {
        let negative = Err(Frame::error("ERR timeout is negative"));
        let not_float = Err(Frame::error("ERR timeout is not a float or out of range"));
        assert_eq!(timeout(b"1.5"), Ok(1500));
        assert_eq!(timeout(b"1e-300"), Ok(1));
        assert_eq!(timeout(b"-0.0001"), Ok(0));
        assert_eq!(timeout(b"9223372036854774"), Ok(9_223_372_036_854_773_760));
        assert_eq!(timeout(b"99999999999999999999"), negative);
        assert_eq!(timeout(b"inf"), negative);
        assert_eq!(timeout(b"-inf"), negative);
        assert_eq!(timeout(b"-1"), negative);
        assert_eq!(timeout(b"nan"), not_float);
        assert_eq!(timeout(b"1 "), not_float);
    }
}
