//! XRANGE / XREVRANGE, and the entry replies every stream reader shares.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::super::args::{int, is};
use super::super::{Ctx, Reply};
use super::{id, stream};
use crate::db::stream::{Fields, StreamId};
use crate::reply::{bulk, bulks, err};

/// One entry: `[id, [field, value, …]]`.
pub fn entry(id: &StreamId, fields: &Fields) -> Frame {
    Frame::Array(vec![bulk(&id.to_bytes()), bulks(fields)])
}

/// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n].
pub fn xrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let rev = is(&args[0], "xrevrange");
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let (mut start, start_ex) = id::interval(start_arg, 0)?;
    if start_ex {
        start = start
            .next()
            .ok_or_else(|| Frame::error("ERR invalid start ID for the interval"))?;
    }
    let (mut end, end_ex) = id::interval(end_arg, u64::MAX)?;
    if end_ex {
        end = end
            .prev()
            .ok_or_else(|| Frame::error("ERR invalid end ID for the interval"))?;
    }
    let mut count = None;
    let mut rest = args[4..].iter();
    while let Some(opt) = rest.next() {
        match rest.next() {
            Some(n) if is(opt, "count") => count = Some(int(n)?.max(0) as usize),
            _ => return Err(err::syntax()),
        }
    }
    if count == Some(0) {
        return Ok(Frame::NullArray);
    }
    let Some(s) = stream(ctx, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let count = count.unwrap_or(usize::MAX);
    let range = s.range(start, end);
    let items: Vec<Frame> = if rev {
        range
            .rev()
            .take(count)
            .map(|(id, f)| entry(id, f))
            .collect()
    } else {
        range.take(count).map(|(id, f)| entry(id, f)).collect()
    };
    Ok(Frame::Array(items))
}
