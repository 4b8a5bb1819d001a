//! Bitmap commands (Redis 7.0's `bitops.c`) on string values: SETBIT, GETBIT, BITCOUNT,
//! BITPOS, BITOP here; BITFIELD and BITFIELD_RO in [`bitfield`]; the bit arithmetic in
//! [`bits`].
//!
//! Writes edit the string in place the way Redis's `lookupStringForBitCommand` does:
//! created or zero-grown as needed, `raw`-encoded, its TTL kept, WATCHers flagged, one
//! change per write (so the command is propagated as is).

mod bitfield;
mod bits;

use bytes::{Bytes, BytesMut};
use slotgate_protocol::Frame;

use super::args::{int, read, upper};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::db::{parse_i64, Entry, Value};
use crate::reply::{err, int as integer};

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("setbit", 4, W, setbit),
    spec("getbit", 3, 0, getbit),
    spec("bitcount", -2, 0, bitcount),
    spec("bitpos", -3, 0, bitpos),
    spec("bitop", -4, W, bitop),
    spec("bitfield", -2, W, bitfield::bitfield),
    spec("bitfield_ro", -2, 0, bitfield::bitfield_ro),
];

/// A bit offset argument, as `getBitOffsetFromArgument` reads it: `#n` means `n` fields of
/// `field_bits` bits (BITFIELD only: `field_bits > 0`); below `proto-max-bulk-len` bytes.
fn bit_offset(ctx: &Ctx, arg: &[u8], field_bits: u32) -> Result<u64, Frame> {
    let error = || Frame::error("ERR bit offset is not an integer or out of range");
    let (digits, scale) = match arg.strip_prefix(b"#") {
        Some(rest) if field_bits > 0 => (rest, i64::from(field_bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits).ok_or_else(error)?.wrapping_mul(scale);
    let limit = ctx.state.config.get_int("proto-max-bulk-len");
    if offset < 0 || offset >> 3 >= limit {
        return Err(error());
    }
    Ok(offset as u64)
}

/// The string under `key` (`None` when absent), WRONGTYPE for another type.
fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Bytes>, Frame> {
    Ok(read(ctx, key, Value::as_str)?.cloned())
}

/// Runs `edit` on the string under `key`, created or zero-grown to at least `len` bytes;
/// the result is `raw`-encoded and keeps its TTL. WRONGTYPE (nothing changed) for
/// another type. Records one change and flags WATCHers.
fn edit_string<R>(
    ctx: &mut Ctx,
    key: &[u8],
    len: usize,
    edit: impl FnOnce(&mut [u8]) -> R,
) -> Result<R, Frame> {
    let now = ctx.now;
    let db = ctx.db();
    let result = match db.entry_mut_unflagged(key, now) {
        Some(entry) => {
            let (Value::Str(s) | Value::RawStr(s)) = &mut entry.value else {
                return Err(err::wrong_type());
            };
            let mut own = std::mem::take(s)
                .try_into_mut()
                .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
            if own.len() < len {
                own.resize(len, 0);
            }
            let result = edit(&mut own);
            entry.value = Value::RawStr(own.freeze());
            db.touch(key);
            result
        }
        None => {
            let mut own = BytesMut::zeroed(len);
            let result = edit(&mut own);
            db.insert(key, Entry::new(Value::RawStr(own.freeze())));
            result
        }
    };
    ctx.changed(1);
    Ok(result)
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let offset = bit_offset(ctx, &args[2], 0)?;
    let on = parse_i64(&args[3])
        .filter(|v| *v & !1 == 0)
        .ok_or_else(|| Frame::error("ERR bit is not an integer or out of range"))?;
    let len = (offset >> 3) as usize + 1;
    let old = edit_string(ctx, &args[1], len, |s| bits::set(s, offset, on == 1))?;
    Ok(integer(i64::from(old)))
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let offset = bit_offset(ctx, &args[2], 0)?;
    let value = read_string(ctx, &args[1])?.unwrap_or_default();
    Ok(integer(i64::from(bits::get(&value, offset))))
}

/// The optional `BYTE|BIT` unit of BITCOUNT / BITPOS: `true` for BIT.
fn in_bits(arg: Option<&Bytes>) -> Result<bool, Frame> {
    match arg.map(|a| upper(a)).as_deref() {
        None | Some("BYTE") => Ok(false),
        Some("BIT") => Ok(true),
        Some(_) => Err(err::syntax()),
    }
}

/// The bits a `start end` range (in bytes, or in bits with `in_bits`) covers in a
/// `len`-byte string by Redis's rules — negative counts from the end, both clamped to the
/// string — as an inclusive bit span; `None` when empty.
fn span(len: usize, start: i64, end: i64, in_bits: bool) -> Option<(u64, u64)> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let from_end = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(total - 1));
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

/// BITCOUNT key [start end [BYTE|BIT]]. As in 7.0, a missing key answers 0 before the
/// arguments are looked at.
fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(value) = read_string(ctx, &args[1])? else {
        return Ok(integer(0));
    };
    let covered = match args.len() {
        2 => span(value.len(), 0, -1, false),
        4 | 5 => {
            let (start, end) = (int(&args[2])?, int(&args[3])?);
            let in_bits = in_bits(args.get(4))?;
            if start < 0 && end < 0 && start > end {
                return Ok(integer(0));
            }
            span(value.len(), start, end, in_bits)
        }
        _ => return Err(err::syntax()),
    };
    let count = covered.map_or(0, |(from, to)| bits::count_ones(&value, from, to));
    Ok(integer(count))
}

/// BITPOS key bit [start [end [BYTE|BIT]]]. A missing key is all zeros; looking for a 0
/// with no explicit end finds the bit right after the string when the range has none.
fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let bit = int(&args[2])?;
    if bit != 0 && bit != 1 {
        return Err(Frame::error("ERR The bit argument must be 1 or 0."));
    }
    let Some(value) = read_string(ctx, &args[1])? else {
        return Ok(integer(-bit));
    };
    if args.len() > 6 {
        return Err(err::syntax());
    }
    let start = args.get(3).map_or(Ok(0), |a| int(a))?;
    let in_bits = in_bits(args.get(5))?;
    let end = args.get(4).map(|a| int(a)).transpose()?;
    let Some((from, to)) = span(value.len(), start, end.unwrap_or(-1), in_bits) else {
        return Ok(integer(-1));
    };
    let pos = match bits::find(&value, from, to, bit == 1) {
        Some(found) => found as i64,
        None if bit == 0 && end.is_none() => to as i64 + 1,
        None => -1,
    };
    Ok(integer(pos))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// The result of `op` over `sources` (absent keys are empty), as long as the longest,
/// shorter sources zero-padded.
fn combine(op: BitOp, sources: &[Option<Bytes>]) -> Vec<u8> {
    let len = sources.iter().flatten().map(Bytes::len).max().unwrap_or(0);
    let mut out = sources[0].as_deref().unwrap_or_default().to_vec();
    out.resize(len, 0);
    if op == BitOp::Not {
        out.iter_mut().for_each(|b| *b = !*b);
        return out;
    }
    for source in &sources[1..] {
        let source = source.as_deref().unwrap_or_default();
        for (o, s) in out.iter_mut().zip(source) {
            match op {
                BitOp::And => *o &= s,
                BitOp::Or => *o |= s,
                _ => *o ^= s,
            }
        }
        if op == BitOp::And {
            out[source.len()..].fill(0);
        }
    }
    out
}

/// BITOP AND|OR|XOR|NOT destkey key [key …]: stores the result (no TTL) or deletes
/// `destkey` when it is empty; replies its length.
fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let op = match upper(&args[1]).as_str() {
        "AND" => BitOp::And,
        "OR" => BitOp::Or,
        "XOR" => BitOp::Xor,
        "NOT" => BitOp::Not,
        _ => return Err(err::syntax()),
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(Frame::error(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let sources = args[3..]
        .iter()
        .map(|key| read_string(ctx, key))
        .collect::<Result<Vec<_>, _>>()?;
    let result = combine(op, &sources);
    let (dest, len) = (&args[2], result.len());
    if len > 0 {
        ctx.db()
            .insert(dest, Entry::new(Value::RawStr(Bytes::from(result))));
        ctx.changed(1);
    } else if ctx.db().remove(dest).is_some() {
        ctx.changed(1);
    }
    Ok(integer(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_follow_redis_ranges() {
        assert_eq!(span(6, 0, -1, false), Some((0, 47)));
        assert_eq!(span(6, 1, 1, false), Some((8, 15)));
        assert_eq!(span(6, -2, -1, false), Some((32, 47)));
        assert_eq!(span(6, -100, 100, false), Some((0, 47)));
        assert_eq!(span(6, 5, 30, true), Some((5, 30)));
        assert_eq!(span(6, -3, -1, true), Some((45, 47)));
        assert_eq!(span(6, 4, 2, false), None);
        assert_eq!(span(6, 6, 10, false), None);
        assert_eq!(span(0, 0, -1, false), None);
        assert_eq!(span(3, i64::MIN, i64::MAX, true), Some((0, 23)));
    }

    #[test]
    fn combine_pads_and_truncates_like_redis() {
        let b = |s: &'static [u8]| Some(Bytes::from_static(s));
        assert_eq!(
            combine(BitOp::And, &[b(b"\xff\xff"), b(b"\x0f")]),
            b"\x0f\x00"
        );
        assert_eq!(
            combine(BitOp::Or, &[b(b"\x01"), None, b(b"\x00\x80")]),
            b"\x01\x80"
        );
        assert_eq!(
            combine(BitOp::Xor, &[b(b"\xff"), b(b"\x0f\x01")]),
            b"\xf0\x01"
        );
        assert_eq!(combine(BitOp::Not, &[b(b"\x0f")]), b"\xf0");
        assert_eq!(combine(BitOp::And, &[b(b"\xff"), None]), b"\x00");
        assert!(combine(BitOp::Or, &[None, None]).is_empty());
    }
}
