//! Hash commands: HSET, HGET, HMGET, HDEL, HLEN, HEXISTS, HGETALL, HKEYS, HVALS, HINCRBY,
//! HINCRBYFLOAT, HSETNX, HSTRLEN, HRANDFIELD, HSCAN.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{int, is, owned, read, write, write_or_create};
use super::flag::{DENYOOM, WRITE};
use super::long_double::LongDouble;
use super::{spec, Ctx, Reply, Spec};
use crate::db::{hash_remove, Hash, Value};
use crate::reply::{bulk, err, int as integer};

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("hset", -4, W, hset),
    spec("hmset", -4, W, hset),
    spec("hsetnx", 4, W, hsetnx),
    spec("hget", 3, 0, hget),
    spec("hmget", -3, 0, hmget),
    spec("hdel", -3, WRITE, hdel),
    spec("hlen", 2, 0, hlen),
    spec("hstrlen", 3, 0, hstrlen),
    spec("hexists", 3, 0, hexists),
    spec("hgetall", 2, 0, hgetall),
    spec("hkeys", 2, 0, hgetall),
    spec("hvals", 2, 0, hgetall),
    spec("hincrby", 4, W, hincrby),
    spec("hincrbyfloat", 4, W, hincrbyfloat),
    spec("hrandfield", -2, 0, hrandfield),
];

fn new_hash() -> Value {
    Value::Hash(Box::default())
}

fn hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Hash>, Frame> {
    read(ctx, key, Value::as_hash)
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if !args.len().is_multiple_of(2) {
        return Err(err::arity(&String::from_utf8_lossy(&args[0])));
    }
    let h = write_or_create(ctx, &args[1], new_hash, Value::as_hash_mut)?;
    let added = args[2..]
        .chunks(2)
        .filter(|p| set_field(h, &p[0], &p[1]))
        .count();
    ctx.changed(1);
    Ok(if is(&args[0], "hmset") {
        Frame::ok()
    } else {
        integer(added)
    })
}

/// Sets one field; true when it is new. An existing field keeps its stored name (no copy).
fn set_field(h: &mut Hash, field: &Bytes, value: &Bytes) -> bool {
    match h.get_mut(&field[..]) {
        Some(stored) => {
            *stored = owned(value);
            false
        }
        None => {
            h.insert(owned(field), owned(value));
            true
        }
    }
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if hash(ctx, &args[1])?.is_some_and(|h| h.contains_key(&args[2])) {
        return Ok(integer(0));
    }
    write_or_create(ctx, &args[1], new_hash, Value::as_hash_mut)?
        .insert(owned(&args[2]), owned(&args[3]));
    ctx.changed(1);
    Ok(integer(1))
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(hash(ctx, &args[1])?
        .and_then(|h| h.get(&args[2]))
        .map_or(Frame::NullBulk, bulk))
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let h = hash(ctx, &args[1])?;
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|f| h.and_then(|h| h.get(f)).map_or(Frame::NullBulk, bulk))
            .collect(),
    ))
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(h) = write(ctx, &args[1], Value::as_hash_mut)? else {
        return Ok(integer(0));
    };
    let removed = args[2..]
        .iter()
        .filter(|f| hash_remove(h, f).is_some())
        .count();
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed(removed as u64);
    Ok(integer(removed))
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(hash(ctx, &args[1])?.map_or(0, |h| h.len())))
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(
        hash(ctx, &args[1])?
            .and_then(|h| h.get(&args[2]))
            .map_or(0, |v| v.len()),
    ))
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(
        hash(ctx, &args[1])?.is_some_and(|h| h.contains_key(&args[2])),
    ))
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let which = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let Some(h) = hash(ctx, &args[1])? else {
        return Ok(if which == "hgetall" {
            Frame::Map(Vec::new())
        } else {
            Frame::Array(Vec::new())
        });
    };
    Ok(match which.as_str() {
        "hkeys" => Frame::Array(h.keys().map(bulk).collect()),
        "hvals" => Frame::Array(h.values().map(bulk).collect()),
        _ => Frame::Map(h.iter().map(|(k, v)| (bulk(k), bulk(v))).collect()),
    })
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let by = int(&args[3])?;
    let current = match hash(ctx, &args[1])?.and_then(|h| h.get(&args[2])) {
        None => 0,
        Some(v) => int(v).map_err(|_| Frame::error("ERR hash value is not an integer"))?,
    };
    let n = current.checked_add(by).ok_or_else(err::overflow)?;
    write_or_create(ctx, &args[1], new_hash, Value::as_hash_mut)?
        .insert(owned(&args[2]), Bytes::from(n.to_string()));
    ctx.changed(1);
    Ok(integer(n))
}

/// HINCRBYFLOAT in C `long double`, as Redis computes it (see [`LongDouble`]).
fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let by = LongDouble::parse(&args[3]).ok_or_else(err::not_float)?;
    if !by.is_finite() {
        return Err(Frame::error("ERR value is NaN or Infinity"));
    }
    let current = match hash(ctx, &args[1])?.and_then(|h| h.get(&args[2])) {
        None => LongDouble::default(),
        Some(v) => {
            LongDouble::parse(v).ok_or_else(|| Frame::error("ERR hash value is not a float"))?
        }
    };
    let sum = current
        .checked_add(by)
        .ok_or_else(|| Frame::error("ERR increment would produce NaN or Infinity"))?;
    let text = Bytes::from(sum.to_human());
    write_or_create(ctx, &args[1], new_hash, Value::as_hash_mut)?
        .insert(owned(&args[2]), text.clone());
    ctx.changed(1);
    ctx.propagate_as(vec![
        Bytes::from_static(b"HSET"),
        args[1].clone(),
        args[2].clone(),
        text.clone(),
    ]);
    Ok(Frame::Bulk(text))
}

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let count = args.get(2).map(|c| int(c)).transpose()?;
    let with_values = match args.get(3) {
        None => false,
        Some(w) if is(w, "withvalues") && args.len() == 4 => true,
        Some(_) => return Err(err::syntax()),
    };
    let Some(h) = hash(ctx, &args[1])? else {
        return Ok(if count.is_some() {
            Frame::Array(Vec::new())
        } else {
            Frame::NullBulk
        });
    };
    let pairs: Vec<(&Bytes, &Bytes)> = h.iter().collect();
    let Some(count) = count else {
        return Ok(bulk(pairs[rand::random::<usize>() % pairs.len()].0));
    };
    let picked = super::sets::sample(pairs.len(), count)?;
    let mut out = Vec::new();
    for i in picked {
        out.push(bulk(pairs[i].0));
        if with_values {
            out.push(bulk(pairs[i].1));
        }
    }
    Ok(Frame::Array(out))
}
