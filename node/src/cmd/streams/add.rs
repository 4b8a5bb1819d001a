//! XADD and XTRIM with their shared trimming options (`MAXLEN|MINID [=|~] n [LIMIT n]`),
//! XDEL, XLEN and XSETID. Trims propagate exact (`MAXLEN = <length after>` when they were
//! approximate) and XADD propagates the id it generated, so replicas and the AOF converge.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::super::args::{int, is, owned, write_or_create};
use super::super::{Ctx, Reply};
use super::id::{self, Parsed};
use super::{num, stream, stream_mut, word};
use crate::db::stream::{StreamId, Trim};
use crate::db::Value;
use crate::reply::{bulk, err, int as integer};

/// Redis's default LIMIT of an approximate trim: 100 × `stream-node-max-entries`.
const APPROX_LIMIT: u64 = 10_000;

/// A parsed trimming request.
struct TrimArgs {
    strategy: Trim,
    approx: bool,
    limit: u64,
}

/// XADD's / XTRIM's options: the trim, NOMKSTREAM, the id (XADD) and where the
/// field/value pairs start.
struct Options {
    trim: Option<TrimArgs>,
    no_mkstream: bool,
    id: Option<Parsed>,
    fields_at: usize,
}

fn mixed() -> Frame {
    Frame::error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
}

/// Redis's `streamParseAddOrTrimArgsOrReply`.
fn options(args: &[Bytes], xadd: bool) -> Result<Options, Frame> {
    let (mut trim, mut approx, mut limit) = (None, false, None);
    let (mut no_mkstream, mut id) = (false, None);
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && &opt[..] == b"*" {
            break;
        }
        if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if trim.is_some() {
                return Err(mixed());
            }
            approx = false;
            match &args[i + 1][..] {
                b"~" if more >= 2 => {
                    approx = true;
                    i += 1;
                }
                b"=" if more >= 2 => i += 1,
                _ => {}
            }
            let value = &args[i + 1];
            trim = Some(if is(opt, "maxlen") {
                let n = int(value)?;
                if n < 0 {
                    return Err(Frame::error("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(id::strict(value)?)
            });
            i += 2;
        } else if is(opt, "limit") && more > 0 {
            let n = int(&args[i + 1])?;
            if n < 0 {
                return Err(Frame::error("ERR The LIMIT argument must be >= 0."));
            }
            limit = Some(n as u64);
            i += 2;
        } else if xadd && is(opt, "nomkstream") {
            no_mkstream = true;
            i += 1;
        } else if xadd {
            id = Some(id::for_xadd(opt)?);
            break;
        } else {
            return Err(err::syntax());
        }
    }
    if limit.is_some_and(|l| l > 0) && trim.is_none() {
        return Err(Frame::error(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && trim.is_none() {
        return Err(Frame::error(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit.is_some() && !approx {
        return Err(Frame::error(
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    let limit = match (approx, limit) {
        (true, None) => APPROX_LIMIT,
        (_, limit) => limit.unwrap_or(0),
    };
    Ok(Options {
        trim: trim.map(|strategy| TrimArgs {
            strategy,
            approx,
            limit,
        }),
        no_mkstream,
        id,
        fields_at: i + 1,
    })
}

/// The trim to propagate: exact, and by the resulting length when it was approximate.
fn exact_trim(trim: &TrimArgs, len: usize) -> Vec<Bytes> {
    match (trim.approx, trim.strategy) {
        (true, _) => vec![word("MAXLEN"), word("="), num(len)],
        (false, Trim::MaxLen(n)) => vec![word("MAXLEN"), word("="), num(n)],
        (false, Trim::MinId(id)) => vec![word("MINID"), word("="), id.to_bytes()],
    }
}

fn new_stream() -> Value {
    Value::Stream(Box::default())
}

pub fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let o = options(args, true)?;
    let fields = args.get(o.fields_at..).unwrap_or_default();
    if fields.len() < 2 || !fields.len().is_multiple_of(2) {
        return Err(err::arity("xadd"));
    }
    if o.id.is_some_and(|p| p.seq_given && p.id.is_zero()) {
        return Err(Frame::error(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let key = &args[1];
    let exists = stream(ctx, key)?.is_some();
    if !exists && o.no_mkstream {
        return Ok(Frame::NullBulk);
    }
    let now = ctx.now;
    let s = write_or_create(ctx, key, new_stream, Value::as_stream_mut)?;
    if s.last_id == StreamId::MAX {
        return Err(Frame::error(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let too_small = || {
        Frame::error(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let new_id = match o.id {
        Some(Parsed {
            id,
            seq_given: true,
        }) => id,
        Some(Parsed { id, .. }) if id.ms == s.last_id.ms => s
            .last_id
            .next()
            .filter(|n| n.ms == id.ms)
            .ok_or_else(too_small)?,
        Some(Parsed { id, .. }) => id,
        None => match u64::try_from(now).unwrap_or(0) {
            ms if ms > s.last_id.ms => StreamId::new(ms, 0),
            _ => s.last_id.next().ok_or_else(too_small)?,
        },
    };
    if new_id <= s.last_id {
        return Err(too_small());
    }
    s.append(new_id, fields.iter().map(owned).collect());
    let mut propagated = vec![word("XADD"), key.clone()];
    if o.no_mkstream {
        propagated.push(word("NOMKSTREAM"));
    }
    if let Some(trim) = &o.trim {
        s.trim(trim.strategy, trim.approx, trim.limit);
        propagated.extend(exact_trim(trim, s.len()));
    }
    propagated.push(new_id.to_bytes());
    propagated.extend(fields.iter().cloned());
    ctx.changed(1);
    ctx.propagate_as(propagated);
    ctx.signal_ready(key);
    Ok(bulk(&new_id.to_bytes()))
}

pub fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let o = options(args, false)?;
    let Some(trim) = o.trim else {
        return Err(err::syntax());
    };
    let Some(s) = stream_mut(ctx, &args[1])? else {
        return Ok(integer(0));
    };
    let deleted = s.trim(trim.strategy, trim.approx, trim.limit);
    let len = s.len();
    if deleted > 0 {
        let mut propagated = vec![word("XTRIM"), args[1].clone()];
        propagated.extend(exact_trim(&trim, len));
        ctx.changed(deleted);
        ctx.propagate_as(propagated);
    }
    Ok(integer(deleted as i64))
}

pub fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if stream(ctx, &args[1])?.is_none() {
        return Ok(integer(0));
    }
    let ids = args[2..]
        .iter()
        .map(|a| id::strict(a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(s) = stream_mut(ctx, &args[1])? else {
        return Ok(integer(0));
    };
    let mut deleted = 0u64;
    for id in ids {
        if s.delete(id) {
            s.max_deleted = s.max_deleted.max(id);
            deleted += 1;
        }
    }
    ctx.changed(deleted);
    Ok(integer(deleted as i64))
}

pub fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(stream(ctx, &args[1])?.map_or(0, |s| s.len())))
}

pub fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let id = id::strict(&args[2])?;
    let (mut entries_added, mut max_deleted) = (None, StreamId::MIN);
    let mut i = 3;
    while i < args.len() {
        let value = args.get(i + 1).ok_or_else(err::syntax)?;
        if is(&args[i], "entriesadded") {
            let n = int(value)?;
            if n < 0 {
                return Err(Frame::error("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if is(&args[i], "maxdeletedid") {
            max_deleted = id::strict(value)?;
            if id < max_deleted {
                return Err(Frame::error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
            }
        } else {
            return Err(err::syntax());
        }
        i += 2;
    }
    let s = stream_mut(ctx, &args[1])?.ok_or_else(err::no_key)?;
    if !s.is_empty() {
        if id < s.max_deleted {
            return Err(Frame::error(
                "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id",
            ));
        }
        if id < s.last_live_id() {
            return Err(Frame::error(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return Err(Frame::error("ERR The entries_added specified in XSETID is smaller than the target stream length"));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.max_deleted = max_deleted;
    }
    ctx.changed(1);
    Ok(Frame::ok())
}
