//! String commands: SET family, GET family, counters, APPEND, ranges, LCS.

use bytes::{Bytes, BytesMut};
use slotgate_protocol::Frame;

use super::args::{int, owned, read, upper};
use super::flag::{DENYOOM, WRITE};
use super::long_double::LongDouble;
use super::{spec, Ctx, Reply, Spec};
use crate::db::{Entry, Value};
use crate::reply::{bulk, err, int as integer};

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("set", -3, W, set),
    spec("get", 2, 0, get),
    spec("getex", -2, WRITE, getex),
    spec("getdel", 2, WRITE, getdel),
    spec("getset", 3, W, getset),
    spec("setnx", 3, W, setnx),
    spec("setex", 4, W, setex),
    spec("psetex", 4, W, setex),
    spec("mget", -2, 0, mget),
    spec("mset", -3, W, mset),
    spec("msetnx", -3, W, mset),
    spec("incr", 2, W, incr),
    spec("decr", 2, W, incr),
    spec("incrby", 3, W, incr),
    spec("decrby", 3, W, incr),
    spec("incrbyfloat", 3, W, incrbyfloat),
    spec("append", 3, W, append),
    spec("strlen", 2, 0, strlen),
    spec("getrange", 4, 0, getrange),
    spec("substr", 4, 0, getrange),
    spec("setrange", 4, W, setrange),
];

/// A string key's bytes (`None` if absent).
pub fn get_str(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Bytes>, Frame> {
    Ok(read(ctx, key, Value::as_str)?.cloned())
}

/// Stores a string value, replacing any value; `keep_ttl` keeps the old deadline.
fn store(ctx: &mut Ctx, key: &[u8], value: Value, expire_at: Option<i64>, keep_ttl: bool) {
    let now = ctx.now;
    let db = ctx.db();
    let expire_at = if keep_ttl {
        db.get(key, now).and_then(|e| e.expire_at)
    } else {
        expire_at
    };
    db.insert(key, Entry { value, expire_at });
    ctx.changed(1);
}

/// The options of SET / GETEX: a deadline and the flags.
#[derive(Default)]
struct SetOptions {
    expire_at: Option<i64>,
    nx: bool,
    xx: bool,
    keep_ttl: bool,
    get: bool,
    persist: bool,
}

/// Parses an expiry amount (`EX` seconds … `PXAT` ms) into a Unix ms deadline.
fn deadline(ctx: &Ctx, unit: &str, arg: &[u8], cmd: &str) -> Result<i64, Frame> {
    let n = int(arg)?;
    if n <= 0 {
        return Err(err::invalid_expire(cmd));
    }
    let at = match unit {
        "EX" => n.checked_mul(1000).and_then(|ms| ms.checked_add(ctx.now)),
        "PX" => n.checked_add(ctx.now),
        "EXAT" => n.checked_mul(1000),
        _ => Some(n),
    };
    at.ok_or_else(|| err::invalid_expire(cmd))
}

fn parse_options(ctx: &Ctx, args: &[Bytes], cmd: &str, getex: bool) -> Result<SetOptions, Frame> {
    let mut o = SetOptions::default();
    let mut i = 0;
    // Like Redis, repeating the same unit is allowed (the last one wins).
    let mut unit: Option<String> = None;
    while i < args.len() {
        let word = upper(&args[i]);
        let timed = unit.is_some();
        match word.as_str() {
            "NX" if !getex && !o.xx => o.nx = true,
            "XX" if !getex && !o.nx => o.xx = true,
            "GET" if !getex => o.get = true,
            "KEEPTTL" if !getex && !timed => o.keep_ttl = true,
            "PERSIST" if getex && !timed => o.persist = true,
            "EX" | "PX" | "EXAT" | "PXAT"
                if unit.as_ref().is_none_or(|u| *u == word)
                    && !o.keep_ttl
                    && !o.persist
                    && i + 1 < args.len() =>
            {
                o.expire_at = Some(deadline(ctx, &word, &args[i + 1], cmd)?);
                unit = Some(word.clone());
                i += 1;
            }
            _ => return Err(err::syntax()),
        }
        i += 1;
    }
    Ok(o)
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let o = parse_options(ctx, &args[3..], "set", false)?;
    let key = &args[1];
    let old = if o.get { get_str(ctx, key)? } else { None };
    let now = ctx.now;
    let exists = ctx.db().get(key, now).is_some();
    if o.nx && exists || o.xx && !exists {
        return Ok(if o.get {
            old.map_or(Frame::NullBulk, |v| bulk(&v))
        } else {
            Frame::NullBulk
        });
    }
    store(
        ctx,
        key,
        Value::Str(owned(&args[2])),
        o.expire_at,
        o.keep_ttl,
    );
    if let Some(at) = o.expire_at {
        let mut rewritten = vec![
            Bytes::from_static(b"SET"),
            key.clone(),
            args[2].clone(),
            Bytes::from_static(b"PXAT"),
        ];
        rewritten.push(Bytes::from(at.to_string()));
        if o.get {
            rewritten.push(Bytes::from_static(b"GET"));
        }
        ctx.propagate_as(rewritten);
    }
    Ok(if o.get {
        old.map_or(Frame::NullBulk, |v| bulk(&v))
    } else {
        Frame::ok()
    })
}

fn get(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let value = get_str(ctx, &args[1])?;
    let stats = &mut ctx.state.stats;
    if value.is_some() {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
    Ok(value.map_or(Frame::NullBulk, |v| bulk(&v)))
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let o = parse_options(ctx, &args[2..], "getex", true)?;
    let key = &args[1];
    let Some(value) = get_str(ctx, key)? else {
        return Ok(Frame::NullBulk);
    };
    let now = ctx.now;
    if let Some(at) = o.expire_at {
        ctx.db().set_expire(key, Some(at), now);
        ctx.changed(1);
        ctx.propagate_as(vec![
            Bytes::from_static(b"PEXPIREAT"),
            key.clone(),
            Bytes::from(at.to_string()),
        ]);
    } else if o.persist
        && ctx
            .db()
            .get(key, now)
            .is_some_and(|e| e.expire_at.is_some())
    {
        ctx.db().set_expire(key, None, now);
        ctx.changed(1);
        ctx.propagate_as(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
    }
    Ok(bulk(&value))
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(value) = get_str(ctx, &args[1])? else {
        return Ok(Frame::NullBulk);
    };
    ctx.db().remove(&args[1]);
    ctx.changed(1);
    Ok(bulk(&value))
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let old = get_str(ctx, &args[1])?;
    store(ctx, &args[1], Value::Str(owned(&args[2])), None, false);
    Ok(old.map_or(Frame::NullBulk, |v| bulk(&v)))
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    if ctx.db().get(&args[1], now).is_some() {
        return Ok(integer(0));
    }
    store(ctx, &args[1], Value::Str(owned(&args[2])), None, false);
    Ok(integer(1))
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let unit = if name == "setex" { "EX" } else { "PX" };
    let at = deadline(ctx, unit, &args[2], &name)?;
    store(ctx, &args[1], Value::Str(owned(&args[3])), Some(at), false);
    let pxat = Bytes::from(at.to_string());
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        args[1].clone(),
        args[3].clone(),
        Bytes::from_static(b"PXAT"),
        pxat,
    ]);
    Ok(Frame::ok())
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    let db = ctx.db();
    let values = args[1..]
        .iter()
        .map(|key| match db.get(key, now).map(|e| &e.value) {
            Some(Value::Str(v) | Value::RawStr(v)) => bulk(v),
            _ => Frame::NullBulk,
        })
        .collect();
    Ok(Frame::Array(values))
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let nx = args[0].eq_ignore_ascii_case(b"msetnx");
    if args.len().is_multiple_of(2) {
        return Err(err::arity(if nx { "msetnx" } else { "mset" }));
    }
    let now = ctx.now;
    if nx
        && args[1..]
            .chunks(2)
            .any(|pair| ctx.db().get(&pair[0], now).is_some())
    {
        return Ok(integer(0));
    }
    for pair in args[1..].chunks(2) {
        store(ctx, &pair[0], Value::Str(owned(&pair[1])), None, false);
    }
    Ok(if nx { integer(1) } else { Frame::ok() })
}

/// INCR, DECR, INCRBY, DECRBY: one keyspace lookup, the new digits stored in place (the
/// deadline stays); an absent key counts from 0.
fn incr(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let by = if args.len() == 3 { int(&args[2])? } else { 1 };
    let by = if args[0][0].eq_ignore_ascii_case(&b'd') {
        by.checked_neg()
            .ok_or_else(|| Frame::error("ERR decrement would overflow"))?
    } else {
        by
    };
    let now = ctx.now;
    let db = ctx.db();
    let n = match db.entry_mut_unflagged(&args[1], now) {
        Some(entry) => {
            let (Value::Str(text) | Value::RawStr(text)) = &mut entry.value else {
                return Err(err::wrong_type());
            };
            let n = int(text)?.checked_add(by).ok_or_else(err::overflow)?;
            entry.value = Value::Str(digits(n, std::mem::take(text)));
            db.touch(&args[1]);
            n
        }
        None => {
            db.insert(&args[1], Entry::new(Value::Str(digits(by, Bytes::new()))));
            by
        }
    };
    ctx.changed(1);
    Ok(integer(n))
}

/// `n` in decimal, written over `old` when its allocation is ours alone and of the right
/// size (as Redis updates a counter in place), else in a new allocation.
fn digits(n: i64, old: Bytes) -> Bytes {
    let mut text = itoa::Buffer::new();
    let text = text.format(n).as_bytes();
    match old.try_into_mut() {
        Ok(mut own) if own.capacity() == text.len() => {
            own.clear();
            own.extend_from_slice(text);
            own.freeze()
        }
        _ => Bytes::copy_from_slice(text),
    }
}

/// INCRBYFLOAT in C `long double`, as Redis computes it (see [`LongDouble`]).
fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let current = match get_str(ctx, &args[1])? {
        None => LongDouble::default(),
        Some(v) => LongDouble::parse(&v).ok_or_else(err::not_float)?,
    };
    let by = LongDouble::parse(&args[2]).ok_or_else(err::not_float)?;
    let sum = current
        .checked_add(by)
        .ok_or_else(|| Frame::error("ERR increment would produce NaN or Infinity"))?;
    let text = Bytes::from(sum.to_human());
    store(ctx, &args[1], Value::Str(text.clone()), None, true);
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        args[1].clone(),
        text.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    Ok(Frame::Bulk(text))
}

/// Checks Redis's 512 MB string limit.
fn check_size(len: usize) -> Result<(), Frame> {
    if len > 512 * 1024 * 1024 {
        return Err(Frame::error(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// APPEND: a new key gets the argument as SET would store it; an existing value becomes
/// `raw`-encoded, as Redis's in-place append leaves it.
fn append(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(old) = get_str(ctx, &args[1])? else {
        store(ctx, &args[1], Value::Str(owned(&args[2])), None, false);
        return Ok(integer(args[2].len()));
    };
    check_size(old.len() + args[2].len())?;
    let mut joined = BytesMut::with_capacity(old.len() + args[2].len());
    joined.extend_from_slice(&old);
    joined.extend_from_slice(&args[2]);
    let len = joined.len();
    store(ctx, &args[1], Value::RawStr(joined.freeze()), None, true);
    Ok(integer(len))
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(integer(get_str(ctx, &args[1])?.map_or(0, |v| v.len())))
}

/// Redis's range normalisation for GETRANGE: negative from the end, clamped.
fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let value = get_str(ctx, &args[1])?.unwrap_or_default();
    let len = value.len() as i64;
    if start < 0 && end < 0 && start > end || len == 0 {
        return Ok(Frame::Bulk(Bytes::new()));
    }
    let fix = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (start, end) = (fix(start), fix(end).min(len - 1));
    if start > end {
        return Ok(Frame::Bulk(Bytes::new()));
    }
    Ok(Frame::Bulk(value.slice(start as usize..=end as usize)))
}

/// SETRANGE: the result is `raw`-encoded, new key or not, as in Redis.
fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let offset = int(&args[2])?;
    if offset < 0 {
        return Err(Frame::error("ERR offset is out of range"));
    }
    let old = get_str(ctx, &args[1])?;
    let patch = &args[3];
    if patch.is_empty() {
        return Ok(integer(old.map_or(0, |v| v.len())));
    }
    let offset = offset as usize;
    check_size(offset + patch.len())?;
    let mut value = BytesMut::from(&old.unwrap_or_default()[..]);
    if value.len() < offset + patch.len() {
        value.resize(offset + patch.len(), 0);
    }
    value[offset..offset + patch.len()].copy_from_slice(patch);
    let len = value.len();
    store(ctx, &args[1], Value::RawStr(value.freeze()), None, true);
    Ok(integer(len))
}
