//! List commands, including the blocking ones (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP),
//! which leave a [`Block`] in the context when every key is empty.

use std::collections::VecDeque;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{
    int, is, numkeys, owned, positive, read, timeout, upper, write, write_or_create,
};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::blocking::Block;
use crate::db::{parse_i64, Value};
use crate::reply::{bulk, err, int as integer};

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("lpush", -3, W, push),
    spec("rpush", -3, W, push),
    spec("lpushx", -3, W, push),
    spec("rpushx", -3, W, push),
    spec("lpop", -2, WRITE, pop_cmd),
    spec("rpop", -2, WRITE, pop_cmd),
    spec("llen", 2, 0, llen),
    spec("lrange", 4, 0, lrange),
    spec("lindex", 3, 0, lindex),
    spec("lset", 4, W, lset),
    spec("linsert", 5, W, linsert),
    spec("lrem", 4, WRITE, lrem),
    spec("ltrim", 4, WRITE, ltrim),
    spec("lpos", -3, 0, lpos),
    spec("lmove", 5, WRITE, lmove),
    spec("rpoplpush", 3, WRITE, lmove),
    spec("lmpop", -4, WRITE, lmpop),
    spec("blpop", -3, WRITE, bpop),
    spec("brpop", -3, WRITE, bpop),
    spec("blmove", 6, WRITE, lmove),
    spec("brpoplpush", 4, WRITE, lmove),
    spec("blmpop", -5, WRITE, lmpop),
];

fn new_list() -> Value {
    Value::List(Box::default())
}

fn list<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a VecDeque<Bytes>>, Frame> {
    read(ctx, key, Value::as_list)
}

/// Waits for `keys` unless blocking is not allowed here (then answers `on_timeout`).
pub fn block(ctx: &mut Ctx, keys: &[Bytes], timeout_ms: i64, on_timeout: Frame) -> Reply {
    if !ctx.no_block {
        let deadline = (timeout_ms > 0).then(|| ctx.now.saturating_add(timeout_ms));
        ctx.block = Some(Block {
            keys: keys.to_vec(),
            deadline,
            on_timeout: on_timeout.clone(),
        });
    }
    Ok(on_timeout)
}

fn push(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = upper(&args[0]);
    let left = name.starts_with('L');
    let list = if name.ends_with('X') {
        match write(ctx, &args[1], Value::as_list_mut)? {
            Some(list) => list,
            None => return Ok(integer(0)),
        }
    } else {
        write_or_create(ctx, &args[1], new_list, Value::as_list_mut)?
    };
    for value in &args[2..] {
        if left {
            list.push_front(owned(value));
        } else {
            list.push_back(owned(value));
        }
    }
    let len = list.len();
    ctx.changed(1);
    ctx.signal_ready(&args[1]);
    Ok(integer(len))
}

/// Pops up to `count` elements from one end; `None` when the key is absent.
fn pop(ctx: &mut Ctx, key: &[u8], left: bool, count: usize) -> Result<Option<Vec<Bytes>>, Frame> {
    let Some(list) = write(ctx, key, Value::as_list_mut)? else {
        return Ok(None);
    };
    let n = count.min(list.len());
    let popped: Vec<Bytes> = if left {
        list.drain(..n).collect()
    } else {
        (0..n).filter_map(|_| list.pop_back()).collect()
    };
    ctx.db().remove_if_empty(key);
    ctx.changed(1);
    Ok(Some(popped))
}

fn pop_cmd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let left = is(&args[0], "lpop");
    let count = match args.len() {
        2 => None,
        3 => Some(positive(&args[2], "ERR value is out of range, must be positive")? as usize),
        _ => return Err(err::arity(&String::from_utf8_lossy(&args[0]))),
    };
    let popped = pop(ctx, &args[1], left, count.unwrap_or(1))?;
    Ok(match (popped, count) {
        (None, Some(_)) => Frame::NullArray,
        (None, None) => Frame::NullBulk,
        (Some(v), None) => v.first().map_or(Frame::NullBulk, bulk),
        (Some(v), Some(_)) => Frame::Array(v.iter().map(bulk).collect()),
    })
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(list(ctx, &args[1])?.map_or(0, |l| l.len())))
}

/// Redis's inclusive range normalisation: `None` when empty.
pub fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    (start <= end && start < len).then_some((start as usize, end as usize))
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let Some(l) = list(ctx, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    Ok(Frame::Array(
        range(start, end, l.len())
            .map_or_else(Vec::new, |(s, e)| l.range(s..=e).map(bulk).collect()),
    ))
}

fn index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let i = int(&args[2])?;
    let Some(l) = list(ctx, &args[1])? else {
        return Ok(Frame::NullBulk);
    };
    Ok(index(i, l.len()).map_or(Frame::NullBulk, |i| bulk(&l[i])))
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let i = int(&args[2])?;
    let l = write(ctx, &args[1], Value::as_list_mut)?.ok_or_else(err::no_key)?;
    let i = index(i, l.len()).ok_or_else(|| Frame::error("ERR index out of range"))?;
    l[i] = owned(&args[3]);
    ctx.changed(1);
    Ok(Frame::ok())
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let before = match upper(&args[2]).as_str() {
        "BEFORE" => true,
        "AFTER" => false,
        _ => return Err(err::syntax()),
    };
    let Some(l) = write(ctx, &args[1], Value::as_list_mut)? else {
        return Ok(integer(0));
    };
    let Some(at) = l.iter().position(|v| v == &args[3]) else {
        return Ok(integer(-1));
    };
    l.insert(if before { at } else { at + 1 }, owned(&args[4]));
    let len = l.len();
    ctx.changed(1);
    Ok(integer(len))
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let count = int(&args[2])?;
    let Some(l) = write(ctx, &args[1], Value::as_list_mut)? else {
        return Ok(integer(0));
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut positions: Vec<usize> = l
        .iter()
        .enumerate()
        .filter(|(_, v)| *v == &args[3])
        .map(|(i, _)| i)
        .collect();
    if count < 0 {
        positions.reverse();
    }
    positions.truncate(limit);
    positions.sort_unstable_by(|a, b| b.cmp(a));
    for i in &positions {
        l.remove(*i);
    }
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed(positions.len() as u64);
    Ok(integer(positions.len()))
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let Some(l) = write(ctx, &args[1], Value::as_list_mut)? else {
        return Ok(Frame::ok());
    };
    match range(start, end, l.len()) {
        Some((s, e)) => {
            l.truncate(e + 1);
            l.drain(..s);
        }
        None => l.clear(),
    }
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed(1);
    Ok(Frame::ok())
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    for pair in args[3..].chunks(2) {
        let value = pair.get(1).ok_or_else(err::syntax)?;
        match upper(&pair[0]).as_str() {
            "RANK" => {
                // Redis negates the rank; LLONG_MIN stays negative and acts as -1.
                rank = match int(value)? {
                    i64::MIN => -1,
                    r => r,
                };
                if rank == 0 {
                    return Err(Frame::error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
                }
            }
            "COUNT" => count = Some(positive(value, "ERR COUNT can't be negative")? as usize),
            "MAXLEN" => maxlen = positive(value, "ERR MAXLEN can't be negative")? as usize,
            _ => return Err(err::syntax()),
        }
    }
    let Some(l) = list(ctx, &args[1])? else {
        return Ok(if count.is_some() {
            Frame::Array(Vec::new())
        } else {
            Frame::NullBulk
        });
    };
    let limit = if maxlen == 0 {
        l.len()
    } else {
        maxlen.min(l.len())
    };
    let order: Box<dyn Iterator<Item = usize>> = if rank > 0 {
        Box::new(0..limit)
    } else {
        Box::new((l.len() - limit..l.len()).rev())
    };
    let wanted = count.map_or(1, |c| if c == 0 { usize::MAX } else { c });
    let hits: Vec<usize> = order
        .filter(|&i| l[i] == args[2])
        .skip(rank.unsigned_abs() as usize - 1)
        .take(wanted)
        .collect();
    Ok(match count {
        Some(_) => Frame::Array(hits.into_iter().map(integer).collect()),
        None => hits.first().map_or(Frame::NullBulk, |&i| integer(i)),
    })
}

fn side(arg: &[u8]) -> Result<bool, Frame> {
    match upper(arg).as_str() {
        "LEFT" => Ok(true),
        "RIGHT" => Ok(false),
        _ => Err(err::syntax()),
    }
}

/// LMOVE / RPOPLPUSH / BLMOVE / BRPOPLPUSH.
fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = upper(&args[0]);
    let (from_left, to_left) = if name.contains("RPOPLPUSH") {
        (false, true)
    } else {
        (side(&args[3])?, side(&args[4])?)
    };
    let wait = if name.starts_with('B') {
        Some(timeout(&args[args.len() - 1])?)
    } else {
        None
    };
    let (source, dest) = (&args[1], &args[2]);
    list(ctx, dest)?;
    let Some(value) = pop(ctx, source, from_left, 1)?.and_then(|v| v.into_iter().next()) else {
        // Like Redis: a timed-out BLMOVE answers a null array, a non-blocking one (or one
        // inside MULTI) a null bulk.
        return match wait {
            Some(ms) if !ctx.no_block => {
                block(ctx, std::slice::from_ref(source), ms, Frame::NullArray)
            }
            _ => Ok(Frame::NullBulk),
        };
    };
    let l = write_or_create(ctx, dest, new_list, Value::as_list_mut)?;
    if to_left {
        l.push_front(value.clone());
    } else {
        l.push_back(value.clone());
    }
    ctx.signal_ready(dest);
    let word = |left: bool| Bytes::from_static(if left { b"LEFT" } else { b"RIGHT" });
    ctx.propagate_as(vec![
        Bytes::from_static(b"LMOVE"),
        source.clone(),
        dest.clone(),
        word(from_left),
        word(to_left),
    ]);
    Ok(Frame::Bulk(value))
}

/// BLPOP / BRPOP key… timeout.
fn bpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let left = is(&args[0], "blpop");
    let ms = timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for key in keys {
        if let Some(value) = pop(ctx, key, left, 1)?.and_then(|v| v.into_iter().next()) {
            ctx.propagate_as(vec![
                Bytes::from_static(if left { b"LPOP" } else { b"RPOP" }),
                key.clone(),
            ]);
            return Ok(Frame::Array(vec![bulk(key), Frame::Bulk(value)]));
        }
    }
    block(ctx, keys, ms, Frame::NullArray)
}

/// LMPOP numkeys key… LEFT|RIGHT [COUNT n] / BLMPOP timeout numkeys …
fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let blocking = is(&args[0], "blmpop");
    let ms = if blocking {
        Some(timeout(&args[1])?)
    } else {
        None
    };
    let rest = &args[1 + usize::from(blocking)..];
    let (keys, left, count) = parse_mpop(rest, ["left", "right"])?;
    for key in keys {
        if let Some(values) = pop(ctx, key, left, count)? {
            let n = Bytes::from(values.len().to_string());
            ctx.propagate_as(vec![
                Bytes::from_static(if left { b"LPOP" } else { b"RPOP" }),
                key.clone(),
                n,
            ]);
            return Ok(Frame::Array(vec![
                bulk(key),
                Frame::Array(values.iter().map(bulk).collect()),
            ]));
        }
    }
    match ms {
        Some(ms) => block(ctx, keys, ms, Frame::NullArray),
        None => Ok(Frame::NullArray),
    }
}

/// `numkeys key… END [COUNT n]`, END one of `ends` (LEFT/RIGHT here, MIN/MAX for the
/// sorted-set MPOPs): the keys, whether END is `ends[0]`, and the count.
pub fn parse_mpop<'a>(
    rest: &'a [Bytes],
    ends: [&str; 2],
) -> Result<(&'a [Bytes], bool, usize), Frame> {
    let n = numkeys(&rest[0])?;
    if rest.len() < n + 2 {
        return Err(err::syntax());
    }
    let keys = &rest[1..=n];
    let first = match &rest[n + 1] {
        end if is(end, ends[0]) => true,
        end if is(end, ends[1]) => false,
        _ => return Err(err::syntax()),
    };
    let count = match &rest[n + 2..] {
        [] => 1,
        [word, value] if is(word, "count") => parse_i64(value)
            .filter(|c| *c > 0)
            .ok_or_else(|| Frame::error("ERR count should be greater than 0"))?
            as usize,
        _ => return Err(err::syntax()),
    };
    Ok((keys, first, count))
}
