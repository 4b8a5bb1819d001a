//! Stream commands (Redis 7.0's `t_stream.c`).
//!
//! Layout:
//! - `id`: id arguments (`ms-seq`, `-`, `+`, `(`, `ms-*`).
//! - `add`: XADD, XTRIM (and their trimming options), XDEL, XLEN, XSETID.
//! - `range`: XRANGE, XREVRANGE, and the entry replies every reader shares.
//! - `read`: XREAD, XREADGROUP (blocking too).
//! - `groups`: XGROUP, XACK.
//! - `claim`: XPENDING, XCLAIM, XAUTOCLAIM.
//! - `info`: XINFO.

mod add;
mod claim;
mod groups;
mod id;
mod info;
mod range;
mod read;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{read as read_value, write};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Spec};
use crate::db::stream::{Group, Stream};
use crate::db::Value;

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("xadd", -5, W, add::xadd),
    spec("xtrim", -4, WRITE, add::xtrim),
    spec("xdel", -3, WRITE, add::xdel),
    spec("xlen", 2, 0, add::xlen),
    spec("xsetid", -3, W, add::xsetid),
    spec("xrange", -4, 0, range::xrange),
    spec("xrevrange", -4, 0, range::xrange),
    spec("xread", -4, 0, read::xread),
    spec("xreadgroup", -7, WRITE, read::xread),
    spec("xgroup", -2, WRITE, groups::xgroup),
    spec("xack", -4, WRITE, groups::xack),
    spec("xpending", -3, 0, claim::xpending),
    spec("xclaim", -6, WRITE, claim::xclaim),
    spec("xautoclaim", -6, WRITE, claim::xautoclaim),
    spec("xinfo", -2, 0, info::xinfo),
];

/// The stream under `key`, if any (`WRONGTYPE` for another type).
fn stream<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Stream>, Frame> {
    read_value(ctx, key, Value::as_stream)
}

/// The stream under `key` for changing, if any.
fn stream_mut<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Stream>, Frame> {
    write(ctx, key, Value::as_stream_mut)
}

/// `-NOGROUP` for a missing group, as XACK-like commands word it.
fn no_group(key: &[u8], group: &[u8]) -> Frame {
    Frame::error(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// `-NOGROUP` as XGROUP and XINFO CONSUMERS word it.
fn no_such_group(key: &[u8], group: &[u8]) -> Frame {
    Frame::error(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

/// The group `name` of the stream under `key`, for changing (`-NOGROUP` when either is
/// missing).
fn group_mut<'a>(ctx: &'a mut Ctx, key: &[u8], name: &[u8]) -> Result<&'a mut Group, Frame> {
    stream_mut(ctx, key)?
        .and_then(|s| s.groups.get_mut(name))
        .ok_or_else(|| no_group(key, name))
}

/// A command word as a `Bytes`.
fn word(w: &'static str) -> Bytes {
    Bytes::from_static(w.as_bytes())
}

/// A number as a `Bytes` argument.
fn num(n: impl ToString) -> Bytes {
    Bytes::from(n.to_string())
}
