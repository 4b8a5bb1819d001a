//! BITFIELD and BITFIELD_RO (Redis 7.0's `bitfieldGeneric`): every operation is parsed
//! first (any error aborts the whole command), then run in order on one string. GET-only
//! commands never create the key; a command with a SET or INCRBY grows the string to the
//! farthest field it writes, even when FAIL leaves every write undone.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::super::args::int;
use super::bits::{self, Overflow};
use super::{bit_offset, edit_string, read_string, Ctx, Reply};
use crate::db::parse_i64;
use crate::reply::{err, int as integer};

/// A field: signedness, width and bit offset.
#[derive(Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
    offset: u64,
}

#[derive(Clone, Copy)]
enum Action {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One operation, with the OVERFLOW mode in force where it appeared.
struct Op {
    field: Field,
    action: Action,
    overflow: Overflow,
}

impl Op {
    fn writes(&self) -> bool {
        !matches!(self.action, Action::Get)
    }
}

pub fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    run(ctx, args, false)
}

pub fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    run(ctx, args, true)
}

fn run(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> Reply {
    let ops = parse(ctx, &args[2..])?;
    let key = &args[1];
    let writes = ops.iter().filter(|op| op.writes()).count();
    if writes == 0 {
        let value = read_string(ctx, key)?.unwrap_or_default();
        return Ok(Frame::Array(
            ops.iter().map(|op| get(&value, op.field)).collect(),
        ));
    }
    if read_only {
        return Err(Frame::error(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let farthest = ops
        .iter()
        .filter(|op| op.writes())
        .map(|op| op.field.offset + u64::from(op.field.bits) - 1)
        .max()
        .unwrap_or(0);
    let len = (farthest >> 3) as usize + 1;
    let replies = edit_string(ctx, key, len, |s| {
        ops.iter().map(|op| apply(s, op)).collect()
    })?;
    // One change per SET / INCRBY, as Redis counts them (the edit counted one).
    ctx.changed(writes as u64 - 1);
    Ok(Frame::Array(replies))
}

/// The operations after the key, with Redis's checks in Redis's order.
fn parse(ctx: &Ctx, args: &[Bytes]) -> Result<Vec<Op>, Frame> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < args.len() {
        let rest = args.len() - i - 1;
        let word = args[i].to_ascii_uppercase();
        let takes_value = match &word[..] {
            b"GET" if rest >= 2 => false,
            b"SET" | b"INCRBY" if rest >= 3 => true,
            b"OVERFLOW" if rest >= 1 => {
                overflow = overflow_mode(&args[i + 1])?;
                i += 2;
                continue;
            }
            _ => return Err(err::syntax()),
        };
        let (signed, width) = field_type(&args[i + 1])?;
        let offset = bit_offset(ctx, &args[i + 2], width)?;
        let field = Field {
            signed,
            bits: width,
            offset,
        };
        let action = match (takes_value, &word[..]) {
            (false, _) => Action::Get,
            (true, b"SET") => Action::Set(int(&args[i + 3])?),
            (true, _) => Action::IncrBy(int(&args[i + 3])?),
        };
        ops.push(Op {
            field,
            action,
            overflow,
        });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(ops)
}

fn overflow_mode(arg: &[u8]) -> Result<Overflow, Frame> {
    match &arg.to_ascii_uppercase()[..] {
        b"WRAP" => Ok(Overflow::Wrap),
        b"SAT" => Ok(Overflow::Sat),
        b"FAIL" => Ok(Overflow::Fail),
        _ => Err(Frame::error("ERR Invalid OVERFLOW type specified")),
    }
}

/// `i1`…`i64` or `u1`…`u63` (lower case; the digits end at a NUL, as C's `strlen` says).
fn field_type(arg: &[u8]) -> Result<(bool, u32), Frame> {
    let error = || {
        Frame::error(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(error()),
    };
    let digits = arg[1..].split(|&b| b == 0).next().unwrap_or_default();
    let widest = if signed { 64 } else { 63 };
    let width = parse_i64(digits)
        .filter(|w| (1..=widest).contains(w))
        .ok_or_else(error)?;
    Ok((signed, width as u32))
}

/// A GET's reply (zero past the end of `s`).
fn get(s: &[u8], field: Field) -> Frame {
    if field.signed {
        integer(bits::get_signed(s, field.offset, field.bits))
    } else {
        integer(bits::get_unsigned(s, field.offset, field.bits) as i64)
    }
}

/// Runs one operation on the (already grown) string: GET's value, SET's old value or
/// INCRBY's new one; nil when FAIL refuses an overflow (nothing written).
fn apply(s: &mut [u8], op: &Op) -> Frame {
    let Field {
        signed,
        bits: width,
        offset,
    } = op.field;
    let (incr, set) = match op.action {
        Action::Get => return get(s, op.field),
        Action::Set(v) => (v, true),
        Action::IncrBy(by) => (by, false),
    };
    let (old, new) = if signed {
        let old = bits::get_signed(s, offset, width);
        let new = if set {
            bits::signed_add(incr, 0, width, op.overflow)
        } else {
            bits::signed_add(old, incr, width, op.overflow)
        };
        (old, new.map(|n| n as u64))
    } else {
        let old = bits::get_unsigned(s, offset, width);
        let new = if set {
            bits::unsigned_add(incr as u64, 0, width, op.overflow)
        } else {
            bits::unsigned_add(old, incr, width, op.overflow)
        };
        (old as i64, new)
    };
    let Some(new) = new else {
        return Frame::NullBulk;
    };
    bits::set_field(s, offset, width, new);
    integer(if set { old } else { new as i64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(signed: bool, width: u32, offset: u64, action: Action, overflow: Overflow) -> Op {
        Op {
            field: Field {
                signed,
                bits: width,
                offset,
            },
            action,
            overflow,
        }
    }

    #[test]
    fn types_like_redis() {
        assert_eq!(field_type(b"i64"), Ok((true, 64)));
        assert_eq!(field_type(b"u63"), Ok((false, 63)));
        assert_eq!(field_type(b"u8\x00junk"), Ok((false, 8)));
        for bad in [&b"u64"[..], b"i65", b"i0", b"U8", b"i", b"", b"i08", b"u+8"] {
            assert!(field_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn apply_set_incr_and_fail() {
        let mut s = [0u8; 2];
        let set = op(false, 8, 4, Action::Set(300), Overflow::Wrap);
        assert_eq!(apply(&mut s, &set), Frame::Integer(0));
        assert_eq!(s, [0x02, 0xC0]);
        let incr = op(false, 8, 4, Action::IncrBy(250), Overflow::Fail);
        assert_eq!(apply(&mut s, &incr), Frame::NullBulk);
        let incr = op(true, 8, 4, Action::IncrBy(-100), Overflow::Sat);
        assert_eq!(apply(&mut s, &incr), Frame::Integer(-56));
        let get = op(true, 4, 4, Action::Get, Overflow::Wrap);
        assert_eq!(apply(&mut s, &get), Frame::Integer(-4));
    }
}
