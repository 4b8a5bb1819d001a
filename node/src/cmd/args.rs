//! Argument parsing shared by the families: numbers with Redis's error texts, option
//! keywords, and typed key access (`WRONGTYPE` when a key holds another type).

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::Ctx;
use crate::db::{parse_f64, parse_i64, Entry, Value};
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

/// A blocking command's timeout in seconds → milliseconds (0 = forever).
pub fn timeout(arg: &[u8]) -> Result<i64, Frame> {
    let secs = parse_f64(arg)
        .filter(|s| s.is_finite())
        .ok_or_else(|| Frame::error("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(Frame::error("ERR timeout is negative"));
    }
    Ok((secs * 1000.0).ceil() as i64)
}

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
    let db = ctx.db();
    if db.get(key, now).is_none() {
        db.insert(key, Entry::new(make()));
    }
    match db.entry_mut(key, now) {
        Some(entry) => pick(&mut entry.value).ok_or_else(err::wrong_type),
        None => Err(err::wrong_type()),
    }
}

/// Copies an argument out of the request buffer, so stored data never pins a whole read.
pub fn owned(arg: &Bytes) -> Bytes {
    Bytes::copy_from_slice(arg)
}
