//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER,
//! SMOVE, SINTER/SUNION/SDIFF (and STORE), SINTERCARD.

use bytes::Bytes;
use rand::seq::SliceRandom;
use slotgate_protocol::Frame;

use super::args::{int, is, numkeys, owned, positive, read, upper, write, write_or_create};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::db::{Entry, Set, Value};
use crate::reply::{bulk, err, int as integer};

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("sadd", -3, W, sadd),
    spec("srem", -3, WRITE, srem),
    spec("smembers", 2, 0, smembers),
    spec("sismember", 3, 0, sismember),
    spec("smismember", -3, 0, smismember),
    spec("scard", 2, 0, scard),
    spec("spop", -2, WRITE, spop),
    spec("srandmember", -2, 0, srandmember),
    spec("smove", 4, WRITE, smove),
    spec("sinter", -2, 0, combine),
    spec("sunion", -2, 0, combine),
    spec("sdiff", -2, 0, combine),
    spec("sinterstore", -3, W, combine),
    spec("sunionstore", -3, W, combine),
    spec("sdiffstore", -3, W, combine),
    spec("sintercard", -3, 0, sintercard),
];

fn new_set() -> Value {
    Value::Set(Box::default())
}

fn set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Set<Bytes>>, Frame> {
    read(ctx, key, Value::as_set)
}

/// The most repeats a negative count may ask for. Redis streams such a reply and would
/// exhaust its memory on a huge count; the node refuses instead of building it.
const MAX_REPEATED_PICKS: u64 = 1 << 24;

/// Indices to pick for a random-sample reply: distinct when `count >= 0`, with repeats
/// when negative (Redis's SRANDMEMBER / HRANDFIELD / ZRANDMEMBER rule).
pub fn sample(len: usize, count: i64) -> Result<Vec<usize>, Frame> {
    if count >= 0 {
        let mut all: Vec<usize> = (0..len).collect();
        all.shuffle(&mut rand::thread_rng());
        all.truncate(count as usize);
        return Ok(all);
    }
    if count.unsigned_abs() > MAX_REPEATED_PICKS {
        return Err(Frame::error(format!(
            "ERR value is out of range, a negative count may ask for at most {MAX_REPEATED_PICKS} elements"
        )));
    }
    Ok((0..count.unsigned_abs())
        .map(|_| rand::random::<usize>() % len.max(1))
        .collect())
}

/// Members in the order Redis lists them: an intset (all integers, up to
/// `set-max-intset-entries`) is sorted numerically; a hashtable has no order to match.
pub fn ordered(set: &Set<Bytes>, max_intset: i64) -> Vec<&Bytes> {
    let mut members: Vec<&Bytes> = set.iter().collect();
    let ints: Option<Vec<i64>> = members.iter().map(|m| crate::db::parse_i64(m)).collect();
    if let Some(mut ints) = ints.filter(|i| i.len() as i64 <= max_intset) {
        ints.sort_unstable();
        let by_value: crate::db::Map<i64, &Bytes> = members
            .iter()
            .map(|m| (crate::db::parse_i64(m).unwrap_or(0), *m))
            .collect();
        members = ints
            .iter()
            .filter_map(|i| by_value.get(i).copied())
            .collect();
    }
    members
}

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let s = write_or_create(ctx, &args[1], new_set, Value::as_set_mut)?;
    let added = args[2..].iter().filter(|m| s.insert(owned(m))).count();
    ctx.changed(added as u64);
    Ok(integer(added))
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(s) = write(ctx, &args[1], Value::as_set_mut)? else {
        return Ok(integer(0));
    };
    let removed = args[2..].iter().filter(|m| s.remove(&m[..])).count();
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed(removed as u64);
    Ok(integer(removed))
}

/// A set reply with the members in Redis's order (see [`ordered`]).
fn members_reply(set: &Set<Bytes>, max_intset: i64) -> Frame {
    Frame::Set(ordered(set, max_intset).into_iter().map(bulk).collect())
}

fn max_intset(ctx: &Ctx) -> i64 {
    ctx.state.config.get_int("set-max-intset-entries")
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let max = max_intset(ctx);
    Ok(set(ctx, &args[1])?.map_or(Frame::Set(Vec::new()), |s| members_reply(s, max)))
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(
        set(ctx, &args[1])?.is_some_and(|s| s.contains(&args[2])),
    ))
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let s = set(ctx, &args[1])?;
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|m| integer(s.is_some_and(|s| s.contains(m))))
            .collect(),
    ))
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(set(ctx, &args[1])?.map_or(0, |s| s.len())))
}

fn spop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let count = match args.len() {
        2 => None,
        3 => Some(positive(
            &args[2],
            "ERR value is out of range, must be positive",
        )?),
        _ => return Err(err::syntax()),
    };
    let Some(s) = write(ctx, &args[1], Value::as_set_mut)? else {
        return Ok(if count.is_some() {
            Frame::Set(Vec::new())
        } else {
            Frame::NullBulk
        });
    };
    let members: Vec<Bytes> = s.iter().cloned().collect();
    let picked: Vec<Bytes> = sample(members.len(), count.unwrap_or(1))?
        .into_iter()
        .map(|i| members[i].clone())
        .collect();
    for m in &picked {
        s.remove(m);
    }
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed(picked.len() as u64);
    for m in &picked {
        ctx.propagate_as(vec![
            Bytes::from_static(b"SREM"),
            args[1].clone(),
            m.clone(),
        ]);
    }
    Ok(match count {
        None => picked.first().map_or(Frame::NullBulk, bulk),
        Some(_) => Frame::Set(picked.iter().map(bulk).collect()),
    })
}

fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let count = match args.len() {
        2 => None,
        3 => Some(int(&args[2])?),
        _ => return Err(err::syntax()),
    };
    let Some(s) = set(ctx, &args[1])? else {
        return Ok(if count.is_some() {
            Frame::Array(Vec::new())
        } else {
            Frame::NullBulk
        });
    };
    let members: Vec<&Bytes> = s.iter().collect();
    Ok(match count {
        None => bulk(members[rand::random::<usize>() % members.len()]),
        Some(n) => Frame::Array(
            sample(members.len(), n)?
                .into_iter()
                .map(|i| bulk(members[i]))
                .collect(),
        ),
    })
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    set(ctx, &args[2])?;
    let Some(source) = write(ctx, &args[1], Value::as_set_mut)? else {
        return Ok(integer(0));
    };
    if !source.remove(&args[3][..]) {
        return Ok(integer(0));
    }
    ctx.db().remove_if_empty(&args[1]);
    write_or_create(ctx, &args[2], new_set, Value::as_set_mut)?.insert(owned(&args[3]));
    ctx.changed(1);
    Ok(integer(1))
}

/// The result of SINTER / SUNION / SDIFF over `keys`.
fn compute(ctx: &mut Ctx, op: &str, keys: &[Bytes]) -> Result<Set<Bytes>, Frame> {
    let mut sets = Vec::with_capacity(keys.len());
    for key in keys {
        sets.push(set(ctx, key)?.cloned());
    }
    let mut iter = sets.into_iter();
    let first = iter.next().flatten().unwrap_or_default();
    Ok(iter.fold(first, |acc, next| {
        let next = next.unwrap_or_default();
        match op {
            "INTER" => acc.into_iter().filter(|m| next.contains(m)).collect(),
            "UNION" => acc.into_iter().chain(next).collect(),
            _ => acc.into_iter().filter(|m| !next.contains(m)).collect(),
        }
    }))
}

fn combine(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = upper(&args[0]);
    let op = &name[1..name.len() - if name.ends_with("STORE") { 5 } else { 0 }];
    if !name.ends_with("STORE") {
        let result = compute(ctx, op, &args[1..])?;
        return Ok(members_reply(&result, max_intset(ctx)));
    }
    let result = compute(ctx, op, &args[2..])?;
    let len = result.len();
    let db = ctx.db();
    db.remove(&args[1]);
    if len > 0 {
        db.insert(&args[1], Entry::new(Value::Set(Box::new(result))));
    }
    ctx.changed(1);
    Ok(integer(len))
}

fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let n = numkeys(&args[1])?;
    if args.len() < 2 + n {
        return Err(Frame::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    match &args[2 + n..] {
        [] => {}
        [word, value] if is(word, "limit") => {
            limit = positive(value, "ERR LIMIT can't be negative")? as usize
        }
        _ => return Err(err::syntax()),
    }
    let len = compute(ctx, "INTER", &args[2..2 + n])?.len();
    Ok(integer(if limit > 0 { len.min(limit) } else { len }))
}
