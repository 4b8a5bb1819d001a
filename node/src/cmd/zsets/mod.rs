//! Sorted-set commands, the whole Redis 7.0 family.
//!
//! Layout:
//! - here: the table, ZADD (NX/XX/GT/LT/CH/INCR), ZINCRBY, ZSCORE, ZMSCORE, ZCARD, ZREM,
//!   ZRANK/ZREVRANK, and what the others share (replies with scores, storing a result).
//! - `ranges`: score and lex ranges; ZCOUNT, ZLEXCOUNT, the ZRANGE family (BYSCORE / BYLEX /
//!   REV / LIMIT / WITHSCORES and the legacy forms), ZRANGESTORE, ZREMRANGEBY*.
//! - `algebra`: ZUNION / ZINTER / ZDIFF (and STORE), ZINTERCARD.
//! - `pops`: ZPOPMIN/MAX, BZPOPMIN/MAX, ZMPOP, BZMPOP, ZRANDMEMBER.

mod algebra;
mod pops;
mod ranges;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{float, is, owned, read, upper, write, write_or_create};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::db::zset::{Limits, ZSet};
use crate::db::{Entry, Value};
use crate::reply::{err, int as integer};

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("zadd", -4, W, zadd),
    spec("zincrby", 4, W, zincrby),
    spec("zscore", 3, 0, zscore),
    spec("zmscore", -3, 0, zmscore),
    spec("zcard", 2, 0, zcard),
    spec("zrem", -3, WRITE, zrem),
    spec("zrank", 3, 0, zrank),
    spec("zrevrank", 3, 0, zrank),
    spec("zcount", 4, 0, ranges::zcount),
    spec("zlexcount", 4, 0, ranges::zlexcount),
    spec("zrange", -4, 0, ranges::zrange),
    spec("zrevrange", -4, 0, ranges::zrange),
    spec("zrangebyscore", -4, 0, ranges::zrange),
    spec("zrevrangebyscore", -4, 0, ranges::zrange),
    spec("zrangebylex", -4, 0, ranges::zrange),
    spec("zrevrangebylex", -4, 0, ranges::zrange),
    spec("zrangestore", -5, W, ranges::zrange),
    spec("zremrangebyrank", 4, WRITE, ranges::zremrange),
    spec("zremrangebyscore", 4, WRITE, ranges::zremrange),
    spec("zremrangebylex", 4, WRITE, ranges::zremrange),
    spec("zunion", -3, 0, algebra::combine),
    spec("zinter", -3, 0, algebra::combine),
    spec("zdiff", -3, 0, algebra::combine),
    spec("zunionstore", -4, W, algebra::combine),
    spec("zinterstore", -4, W, algebra::combine),
    spec("zdiffstore", -4, W, algebra::combine),
    spec("zintercard", -3, 0, algebra::combine),
    spec("zpopmin", -2, WRITE, pops::zpop),
    spec("zpopmax", -2, WRITE, pops::zpop),
    spec("bzpopmin", -3, WRITE, pops::bzpop),
    spec("bzpopmax", -3, WRITE, pops::bzpop),
    spec("zmpop", -4, WRITE, pops::zmpop),
    spec("bzmpop", -5, WRITE, pops::zmpop),
    spec("zrandmember", -2, 0, pops::zrandmember),
];

fn new_zset() -> Value {
    Value::ZSet(Box::default())
}

fn zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a ZSet>, Frame> {
    read(ctx, key, Value::as_zset)
}

/// The listpack limits in force (`zset-max-listpack-entries` / `-value`).
fn limits(ctx: &Ctx) -> Limits {
    let hot = ctx.state.config.hot();
    Limits {
        entries: hot.zset_max_listpack_entries,
        value: hot.zset_max_listpack_value,
    }
}

/// Members, with their scores when asked: flat pairs in RESP2, `[member, score]` arrays in
/// RESP3 (Redis's WITHSCORES shape everywhere).
fn with_scores(items: Vec<(Bytes, f64)>, scores: bool, resp: u8) -> Frame {
    Frame::Array(match (scores, resp >= 3) {
        (false, _) => items.into_iter().map(|(m, _)| Frame::Bulk(m)).collect(),
        (true, false) => items
            .into_iter()
            .flat_map(|(m, s)| [Frame::Bulk(m), Frame::Double(s)])
            .collect(),
        (true, true) => items
            .into_iter()
            .map(|(m, s)| Frame::Array(vec![Frame::Bulk(m), Frame::Double(s)]))
            .collect(),
    })
}

/// Stores a *STORE result under `dst`, replacing any value of any type; an empty result
/// deletes `dst` instead. Replies the result's size.
fn store(ctx: &mut Ctx, dst: &Bytes, items: Vec<(Bytes, f64)>) -> Reply {
    if items.is_empty() {
        if ctx.db().remove(dst).is_some() {
            ctx.changed(1);
        }
        return Ok(integer(0));
    }
    let result = ZSet::build(items, limits(ctx));
    let len = result.len();
    ctx.db()
        .insert(dst, Entry::new(Value::ZSet(Box::new(result))));
    ctx.changed(1);
    ctx.signal_ready(dst);
    Ok(integer(len))
}

/// ZADD's options.
#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

impl AddFlags {
    /// The score one `score member` pair leaves the member with (`old` when present), or
    /// `None` when the flags skip it — Redis's `zsetAdd`.
    fn apply(&self, old: Option<f64>, score: f64) -> Result<Option<f64>, Frame> {
        let Some(old) = old else {
            return Ok((!self.xx).then_some(score));
        };
        if self.nx {
            return Ok(None);
        }
        let new = if self.incr { old + score } else { score };
        if new.is_nan() {
            return Err(Frame::error("ERR resulting score is not a number (NaN)"));
        }
        Ok((!(self.gt && new <= old || self.lt && new >= old)).then_some(new))
    }
}

fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let flag = match upper(&args[i]).as_str() {
            "NX" => &mut f.nx,
            "XX" => &mut f.xx,
            "GT" => &mut f.gt,
            "LT" => &mut f.lt,
            "CH" => &mut f.ch,
            "INCR" => &mut f.incr,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    add(ctx, &args[1], &f, &args[i..])
}

/// ZINCRBY key increment member: ZADD key INCR increment member, as in Redis.
fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let incr = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add(ctx, &args[1], &incr, &args[2..])
}

/// ZADD's work after its flags: `pairs` is `score member …`.
fn add(ctx: &mut Ctx, key: &Bytes, f: &AddFlags, pairs: &[Bytes]) -> Reply {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(err::syntax());
    }
    if f.nx && f.xx {
        return Err(Frame::error(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt || f.nx && (f.gt || f.lt) {
        return Err(Frame::error(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(Frame::error(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs: Vec<(f64, &Bytes)> = pairs
        .chunks(2)
        .map(|p| Ok((float(&p[0])?, &p[1])))
        .collect::<Result<_, Frame>>()?;
    // Like Redis, a ZADD that changes nothing leaves the key untouched (WATCH included).
    let mut changes = true;
    if let Some(z) = zset(ctx, key)? {
        changes = false;
        for (score, member) in &pairs {
            let old = z.score(member);
            match f.apply(old, *score)? {
                Some(new) if old != Some(new) => changes = true,
                Some(new) if f.incr => return Ok(Frame::Double(new)),
                _ => {}
            }
        }
    } else if f.xx {
        changes = false;
    }
    if !changes {
        return Ok(if f.incr { Frame::NullBulk } else { integer(0) });
    }
    let limits = limits(ctx);
    let z = write_or_create(ctx, key, new_zset, Value::as_zset_mut)?;
    let (mut added, mut updated, mut last) = (0, 0, None);
    for (score, member) in pairs {
        let old = z.score(member);
        let Some(new) = f.apply(old, score)? else {
            continue;
        };
        if old != Some(new) {
            z.add(owned(member), new, limits);
            if old.is_some() {
                updated += 1;
            } else {
                added += 1;
            }
        }
        last = Some(new);
    }
    ctx.changed((added + updated) as u64);
    ctx.signal_ready(key);
    if f.incr {
        return Ok(last.map_or(Frame::NullBulk, Frame::Double));
    }
    Ok(integer(if f.ch { added + updated } else { added }))
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(zset(ctx, &args[1])?
        .and_then(|z| z.score(&args[2]))
        .map_or(Frame::NullBulk, Frame::Double))
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let z = zset(ctx, &args[1])?;
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| z.score(m))
                    .map_or(Frame::NullBulk, Frame::Double)
            })
            .collect(),
    ))
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(zset(ctx, &args[1])?.map_or(0, ZSet::len)))
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let members = &args[2..];
    let present =
        zset(ctx, &args[1])?.is_some_and(|z| members.iter().any(|m| z.score(m).is_some()));
    if !present {
        return Ok(integer(0));
    }
    let Some(z) = write(ctx, &args[1], Value::as_zset_mut)? else {
        return Ok(integer(0));
    };
    let removed = members.iter().filter(|m| z.remove(m).is_some()).count();
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed(removed as u64);
    Ok(integer(removed))
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let rev = is(&args[0], "zrevrank");
    let Some(z) = zset(ctx, &args[1])? else {
        return Ok(Frame::NullBulk);
    };
    Ok(z.rank(&args[2]).map_or(Frame::NullBulk, |r| {
        integer(if rev { z.len() - 1 - r } else { r })
    }))
}
