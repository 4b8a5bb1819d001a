//! Sorted-set commands: ZADD, ZINCRBY, ZSCORE, ZMSCORE, ZCARD, ZREM, ZRANK, ZREVRANK,
//! ZCOUNT, the ZRANGE family (BYSCORE / BYLEX / REV / LIMIT / WITHSCORES), ZPOPMIN/MAX and
//! BZPOPMIN/MAX.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{float, int, is, owned, positive, read, timeout, upper, write, write_or_create};
use super::flag::{DENYOOM, WRITE};
use super::lists::{block, range};
use super::{spec, Ctx, Reply, Spec};
use crate::db::zset::ZSet;
use crate::db::{parse_f64, Value};
use crate::reply::{bulk, err, int as integer};

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
    spec("zcount", 4, 0, zcount),
    spec("zrange", -4, 0, zrange),
    spec("zrevrange", -4, 0, zrange),
    spec("zrangebyscore", -4, 0, zrange),
    spec("zrevrangebyscore", -4, 0, zrange),
    spec("zpopmin", -2, WRITE, zpop),
    spec("zpopmax", -2, WRITE, zpop),
    spec("bzpopmin", -3, WRITE, bzpop),
    spec("bzpopmax", -3, WRITE, bzpop),
];

fn new_zset() -> Value {
    Value::ZSet(Box::default())
}

fn zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a ZSet>, Frame> {
    read(ctx, key, Value::as_zset)
}

fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        match upper(&args[i]).as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "GT" => gt = true,
            "LT" => lt = true,
            "CH" => ch = true,
            "INCR" => incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(err::syntax());
    }
    if nx && xx {
        return Err(Frame::error(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if gt && lt || nx && (gt || lt) {
        return Err(Frame::error(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs.len() > 2 {
        return Err(Frame::error(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores = pairs
        .chunks(2)
        .map(|p| float(&p[0]))
        .collect::<Result<Vec<f64>, Frame>>()?;
    if xx && zset(ctx, &args[1])?.is_none() {
        return Ok(if incr { Frame::NullBulk } else { integer(0) });
    }
    let z = write_or_create(ctx, &args[1], new_zset, Value::as_zset_mut)?;
    let (mut added, mut changed, mut last) = (0, 0, None);
    for (pair, score) in pairs.chunks(2).zip(scores) {
        let old = z.score(&pair[1]);
        if nx && old.is_some() || xx && old.is_none() {
            continue;
        }
        let new = if incr {
            old.unwrap_or(0.0) + score
        } else {
            score
        };
        if new.is_nan() {
            return Err(Frame::error("ERR resulting score is not a number (NaN)"));
        }
        if let Some(old) = old {
            if gt && new <= old || lt && new >= old {
                continue;
            }
            changed += usize::from(old != new);
        } else {
            added += 1;
        }
        z.insert(owned(&pair[1]), new);
        last = Some(new);
    }
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed((added + changed) as u64);
    ctx.signal_ready(&args[1]);
    if incr {
        return Ok(last.map_or(Frame::NullBulk, Frame::Double));
    }
    Ok(integer(if ch { added + changed } else { added }))
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let by = float(&args[2])?;
    let z = write_or_create(ctx, &args[1], new_zset, Value::as_zset_mut)?;
    let new = z.score(&args[3]).unwrap_or(0.0) + by;
    if new.is_nan() {
        return Err(Frame::error("ERR resulting score is not a number (NaN)"));
    }
    z.insert(owned(&args[3]), new);
    ctx.changed(1);
    ctx.signal_ready(&args[1]);
    Ok(Frame::Double(new))
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
    let Some(z) = write(ctx, &args[1], Value::as_zset_mut)? else {
        return Ok(integer(0));
    };
    let removed = args[2..].iter().filter(|m| z.remove(m).is_some()).count();
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

/// A score bound: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
#[derive(Clone, Copy)]
struct Bound {
    value: f64,
    exclusive: bool,
}

fn bound(arg: &[u8]) -> Result<Bound, Frame> {
    let bad = || Frame::error("ERR min or max is not a float");
    match arg.strip_prefix(b"(") {
        Some(rest) => Ok(Bound {
            value: parse_f64(rest).ok_or_else(bad)?,
            exclusive: true,
        }),
        None => Ok(Bound {
            value: parse_f64(arg).ok_or_else(bad)?,
            exclusive: false,
        }),
    }
}

fn in_range(score: f64, min: Bound, max: Bound) -> bool {
    let above = if min.exclusive {
        score > min.value
    } else {
        score >= min.value
    };
    let below = if max.exclusive {
        score < max.value
    } else {
        score <= max.value
    };
    above && below
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (min, max) = (bound(&args[2])?, bound(&args[3])?);
    Ok(integer(zset(ctx, &args[1])?.map_or(0, |z| {
        z.iter().filter(|(_, s)| in_range(*s, min, max)).count()
    })))
}

/// Members with scores as the client's protocol wants them.
fn with_scores(items: Vec<(Bytes, f64)>, scores: bool, resp: u8) -> Frame {
    if !scores {
        return Frame::Array(items.into_iter().map(|(m, _)| Frame::Bulk(m)).collect());
    }
    if resp >= 3 {
        return Frame::Array(
            items
                .into_iter()
                .map(|(m, s)| Frame::Array(vec![Frame::Bulk(m), Frame::Double(s)]))
                .collect(),
        );
    }
    Frame::Array(
        items
            .into_iter()
            .flat_map(|(m, s)| [Frame::Bulk(m), Frame::Double(s)])
            .collect(),
    )
}

/// ZRANGE key start stop [BYSCORE] [REV] [LIMIT off count] [WITHSCORES] and the old forms.
fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = upper(&args[0]);
    let (mut by_score, mut rev, mut scores, mut limit) = (
        name.contains("BYSCORE"),
        name.starts_with("ZREV"),
        false,
        None,
    );
    let mut i = 4;
    while i < args.len() {
        match upper(&args[i]).as_str() {
            "BYSCORE" if name == "ZRANGE" => by_score = true,
            "REV" if name == "ZRANGE" => rev = true,
            "WITHSCORES" => scores = true,
            "LIMIT" if i + 2 < args.len() => {
                limit = Some((int(&args[i + 1])?, int(&args[i + 2])?));
                i += 2;
            }
            _ => return Err(err::syntax()),
        }
        i += 1;
    }
    if limit.is_some() && !by_score {
        return Err(Frame::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    let resp = ctx.client.resp;
    let (lo, hi) = (&args[2], &args[3]);
    let items: Vec<(Bytes, f64)> = if by_score {
        let (min, max) = if rev && name == "ZRANGE" || name == "ZREVRANGEBYSCORE" {
            (bound(hi)?, bound(lo)?)
        } else {
            (bound(lo)?, bound(hi)?)
        };
        let Some(z) = zset(ctx, &args[1])? else {
            return Ok(Frame::Array(Vec::new()));
        };
        let all = z
            .iter()
            .filter(|(_, s)| in_range(*s, min, max))
            .map(|(m, s)| (m.clone(), s));
        let ordered: Vec<(Bytes, f64)> = if rev {
            all.rev().collect()
        } else {
            all.collect()
        };
        let (offset, count) = limit.unwrap_or((0, -1));
        if offset < 0 {
            Vec::new()
        } else {
            let taken = ordered.into_iter().skip(offset as usize);
            if count < 0 {
                taken.collect()
            } else {
                taken.take(count as usize).collect()
            }
        }
    } else {
        let (start, stop) = (int(lo)?, int(hi)?);
        let Some(z) = zset(ctx, &args[1])? else {
            return Ok(Frame::Array(Vec::new()));
        };
        let Some((s, e)) = range(start, stop, z.len()) else {
            return Ok(Frame::Array(Vec::new()));
        };
        let all: Vec<(Bytes, f64)> = if rev {
            z.iter().rev().map(|(m, s)| (m.clone(), s)).collect()
        } else {
            z.iter().map(|(m, s)| (m.clone(), s)).collect()
        };
        all[s..=e].to_vec()
    };
    Ok(with_scores(items, scores, resp))
}

/// Pops `count` lowest (or highest) members.
fn pop(ctx: &mut Ctx, key: &Bytes, max: bool, count: usize) -> Result<Vec<(Bytes, f64)>, Frame> {
    let Some(z) = write(ctx, key, Value::as_zset_mut)? else {
        return Ok(Vec::new());
    };
    let picked: Vec<(Bytes, f64)> = if max {
        z.iter()
            .rev()
            .take(count)
            .map(|(m, s)| (m.clone(), s))
            .collect()
    } else {
        z.iter().take(count).map(|(m, s)| (m.clone(), s)).collect()
    };
    for (m, _) in &picked {
        z.remove(m);
    }
    ctx.db().remove_if_empty(key);
    ctx.changed(picked.len() as u64);
    Ok(picked)
}

fn zpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let max = is(&args[0], "zpopmax");
    let count = match args.len() {
        2 => None,
        3 => Some(positive(&args[2], "ERR value is out of range, must be positive")? as usize),
        _ => return Err(err::syntax()),
    };
    let picked = pop(ctx, &args[1], max, count.unwrap_or(1))?;
    let resp = ctx.client.resp;
    if count.is_some() && resp >= 3 {
        return Ok(with_scores(picked, true, resp));
    }
    Ok(Frame::Array(
        picked
            .into_iter()
            .flat_map(|(m, s)| [Frame::Bulk(m), Frame::Double(s)])
            .collect(),
    ))
}

fn bzpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let max = is(&args[0], "bzpopmax");
    let ms = timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for key in keys {
        if let Some((m, s)) = pop(ctx, key, max, 1)?.into_iter().next() {
            let word = Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" });
            ctx.propagate_as(vec![word, key.clone()]);
            return Ok(Frame::Array(vec![
                bulk(key),
                Frame::Bulk(m),
                Frame::Double(s),
            ]));
        }
    }
    block(ctx, keys, ms, Frame::NullArray)
}
