//! Removing and sampling: ZPOPMIN/MAX, BZPOPMIN/MAX, ZMPOP, BZMPOP (blocking through
//! [`crate::blocking`] like the list pops) and ZRANDMEMBER. Pops replicate as
//! `ZPOPMIN|ZPOPMAX key [count]`, as Redis propagates them.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::{with_scores, zset, Ctx, Reply};
use crate::cmd::args::{int, is, positive, timeout, write};
use crate::cmd::lists::{block, parse_mpop};
use crate::cmd::sets::sample;
use crate::db::Value;
use crate::reply::{bulk, err};

/// Pops up to `count` lowest (or highest) members of `key`; none when it is absent.
fn pop(ctx: &mut Ctx, key: &Bytes, max: bool, count: usize) -> Result<Vec<(Bytes, f64)>, Frame> {
    if count == 0 || zset(ctx, key)?.is_none() {
        return Ok(Vec::new());
    }
    let Some(z) = write(ctx, key, Value::as_zset_mut)? else {
        return Ok(Vec::new());
    };
    let owned = |(m, s): (&Bytes, f64)| (m.clone(), s);
    let picked: Vec<(Bytes, f64)> = if max {
        z.iter().rev().take(count).map(owned).collect()
    } else {
        z.iter().take(count).map(owned).collect()
    };
    for (m, _) in &picked {
        z.remove(m);
    }
    ctx.db().remove_if_empty(key);
    ctx.changed(picked.len() as u64);
    Ok(picked)
}

/// The command a pop from `key` replicates as.
fn propagate(ctx: &mut Ctx, key: &Bytes, max: bool, count: Option<usize>) {
    let mut command = vec![
        Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" }),
        key.clone(),
    ];
    command.extend(count.map(|c| Bytes::from(c.to_string())));
    ctx.propagate_as(command);
}

/// ZPOPMIN / ZPOPMAX key [count].
pub fn zpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let max = is(&args[0], "zpopmax");
    let count = match args.len() {
        2 => None,
        3 => Some(positive(&args[2], "ERR value is out of range, must be positive")? as usize),
        _ => return Err(err::syntax()),
    };
    let picked = pop(ctx, &args[1], max, count.unwrap_or(1))?;
    let resp = ctx.client.resp;
    Ok(with_scores(
        picked,
        true,
        if count.is_some() { resp } else { 2 },
    ))
}

/// BZPOPMIN / BZPOPMAX key… timeout.
pub fn bzpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let max = is(&args[0], "bzpopmax");
    let ms = timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for key in keys {
        if let Some((m, s)) = pop(ctx, key, max, 1)?.into_iter().next() {
            propagate(ctx, key, max, None);
            return Ok(Frame::Array(vec![
                bulk(key),
                Frame::Bulk(m),
                Frame::Double(s),
            ]));
        }
    }
    block(ctx, keys, ms, Frame::NullArray)
}

/// ZMPOP numkeys key… MIN|MAX [COUNT n] / BZMPOP timeout numkeys key… MIN|MAX [COUNT n].
pub fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let blocking = is(&args[0], "bzmpop");
    let (keys, min, count) = parse_mpop(&args[1 + usize::from(blocking)..], ["min", "max"])?;
    let ms = if blocking {
        Some(timeout(&args[1])?)
    } else {
        None
    };
    for key in keys {
        let picked = pop(ctx, key, !min, count)?;
        if !picked.is_empty() {
            propagate(ctx, key, !min, Some(count));
            return Ok(Frame::Array(vec![bulk(key), with_scores(picked, true, 3)]));
        }
    }
    match ms {
        Some(ms) => block(ctx, keys, ms, Frame::NullArray),
        None => Ok(Frame::NullArray),
    }
}

/// `-LONG_MAX`..`LONG_MAX`, then ±`LONG_MAX / 2` with WITHSCORES (Redis's bounds).
const COUNT_MAX: i64 = i64::MAX;
const COUNT_MAX_WITH_SCORES: i64 = i64::MAX / 2;

/// ZRANDMEMBER key [count [WITHSCORES]].
pub fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(count) = args.get(2) else {
        let Some(z) = zset(ctx, &args[1])? else {
            return Ok(Frame::NullBulk);
        };
        let pick = rand::random::<usize>() % z.len().max(1);
        return Ok(z.iter().nth(pick).map_or(Frame::NullBulk, |(m, _)| bulk(m)));
    };
    let count = int(count)?;
    if count < -COUNT_MAX {
        return Err(Frame::error(format!(
            "ERR value is out of range, value must between {} and {COUNT_MAX}",
            -COUNT_MAX
        )));
    }
    let scores = match &args[3..] {
        [] => false,
        [word] if is(word, "withscores") => true,
        _ => return Err(err::syntax()),
    };
    if scores && !(-COUNT_MAX_WITH_SCORES..=COUNT_MAX_WITH_SCORES).contains(&count) {
        return Err(Frame::error("ERR value is out of range"));
    }
    let resp = ctx.client.resp;
    let Some(z) = zset(ctx, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    // Redis walks a sorted set from its end when it replies it whole.
    let all: Vec<(&Bytes, f64)> = z.iter().rev().collect();
    let picks = if count >= all.len() as i64 {
        (0..all.len()).collect()
    } else {
        sample(all.len(), count)?
    };
    let items = picks
        .into_iter()
        .map(|i| (all[i].0.clone(), all[i].1))
        .collect();
    Ok(with_scores(items, scores, resp))
}
