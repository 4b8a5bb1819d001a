//! Generic key commands: DEL, EXISTS, TYPE, RENAME, COPY, MOVE, the EXPIRE family, TTLs,
//! KEYS, RANDOMKEY, OBJECT.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{int, is, upper};
use super::flag::WRITE;
use super::{spec, Ctx, Reply, Spec};
use crate::glob;
use crate::reply::{err, int as integer, simple};

pub const COMMANDS: &[Spec] = &[
    spec("del", -2, WRITE, del),
    spec("unlink", -2, WRITE, del),
    spec("exists", -2, 0, exists),
    spec("touch", -2, 0, exists),
    spec("type", 2, 0, type_of),
    spec("rename", 3, WRITE, rename),
    spec("renamenx", 3, WRITE, rename),
    spec("copy", -3, WRITE, copy),
    spec("move", 3, WRITE, move_key),
    spec("expire", -3, WRITE, expire),
    spec("pexpire", -3, WRITE, expire),
    spec("expireat", -3, WRITE, expire),
    spec("pexpireat", -3, WRITE, expire),
    spec("ttl", 2, 0, ttl),
    spec("pttl", 2, 0, ttl),
    spec("expiretime", 2, 0, ttl),
    spec("pexpiretime", 2, 0, ttl),
    spec("persist", 2, WRITE, persist),
    spec("keys", 2, 0, keys),
    spec("randomkey", 1, 0, randomkey),
    spec("object", -2, 0, object),
];

fn del(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    let mut n = 0;
    for key in &args[1..] {
        if ctx.db().get(key, now).is_some() {
            ctx.db().remove(key);
            n += 1;
        }
    }
    ctx.changed(n);
    Ok(integer(n))
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    Ok(integer(
        args[1..]
            .iter()
            .filter(|k| ctx.db().get(k, now).is_some())
            .count(),
    ))
}

fn type_of(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    let name = ctx
        .db()
        .get(&args[1], now)
        .map_or("none", |e| e.value.type_name());
    Ok(simple(name))
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let nx = is(&args[0], "renamenx");
    let (from, to) = (&args[1], &args[2]);
    let now = ctx.now;
    if ctx.db().get(from, now).is_none() {
        return Err(err::no_key());
    }
    if from == to {
        return Ok(if nx { integer(0) } else { Frame::ok() });
    }
    if nx && ctx.db().get(to, now).is_some() {
        return Ok(integer(0));
    }
    let entry = ctx.db().remove(from).ok_or_else(err::no_key)?;
    ctx.db().insert(to, entry);
    ctx.changed(1);
    Ok(if nx { integer(1) } else { Frame::ok() })
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (from, to) = (&args[1], &args[2]);
    let (mut target_db, mut replace) = (ctx.client.db, false);
    let mut i = 3;
    while i < args.len() {
        match upper(&args[i]).as_str() {
            "REPLACE" => replace = true,
            "DB" if i + 1 < args.len() => {
                target_db = usize::try_from(int(&args[i + 1])?)
                    .ok()
                    .filter(|d| *d < ctx.state.dbs.len())
                    .ok_or_else(err::db_index)?;
                i += 1;
            }
            _ => return Err(err::syntax()),
        }
        i += 1;
    }
    if from == to && target_db == ctx.client.db {
        return Err(Frame::error(
            "ERR source and destination objects are the same",
        ));
    }
    let now = ctx.now;
    let Some(entry) = ctx.db().get(from, now).cloned() else {
        return Ok(integer(0));
    };
    let target = &mut ctx.state.dbs[target_db];
    if target.get(to, now).is_some() && !replace {
        return Ok(integer(0));
    }
    target.insert(to, entry);
    ctx.changed(1);
    Ok(integer(1))
}

fn move_key(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let target = usize::try_from(int(&args[2])?)
        .ok()
        .filter(|d| *d < ctx.state.dbs.len())
        .ok_or_else(err::db_index)?;
    if target == ctx.client.db {
        return Err(Frame::error(
            "ERR source and destination objects are the same",
        ));
    }
    let now = ctx.now;
    if ctx.db().get(&args[1], now).is_none() || ctx.state.dbs[target].get(&args[1], now).is_some() {
        return Ok(integer(0));
    }
    let entry = ctx.db().remove(&args[1]).ok_or_else(err::no_key)?;
    ctx.state.dbs[target].insert(&args[1], entry);
    ctx.changed(1);
    Ok(integer(1))
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT with NX / XX / GT / LT.
fn expire(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let n = int(&args[2])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        match upper(opt).as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "GT" => gt = true,
            "LT" => lt = true,
            other => return Err(Frame::error(format!("ERR Unsupported option {other}"))),
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Frame::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Frame::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let at = match name.as_str() {
        "expire" => n.checked_mul(1000).and_then(|ms| ms.checked_add(ctx.now)),
        "pexpire" => n.checked_add(ctx.now),
        "expireat" => n.checked_mul(1000),
        _ => Some(n),
    }
    .ok_or_else(|| err::invalid_expire(&name))?;
    let now = ctx.now;
    let Some(entry) = ctx.db().get(&args[1], now) else {
        return Ok(integer(0));
    };
    let current = entry.expire_at;
    let skip = match current {
        None => xx || gt,
        Some(cur) => nx || gt && at <= cur || lt && at >= cur,
    };
    if skip {
        return Ok(integer(0));
    }
    if at <= now {
        ctx.db().remove(&args[1]);
        ctx.propagate_as(vec![Bytes::from_static(b"DEL"), args[1].clone()]);
    } else {
        ctx.db().set_expire(&args[1], Some(at), now);
        ctx.propagate_as(vec![
            Bytes::from_static(b"PEXPIREAT"),
            args[1].clone(),
            Bytes::from(at.to_string()),
        ]);
    }
    ctx.changed(1);
    Ok(integer(1))
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let now = ctx.now;
    let Some(entry) = ctx.db().get(&args[1], now) else {
        return Ok(integer(-2));
    };
    let Some(at) = entry.expire_at else {
        return Ok(integer(-1));
    };
    Ok(integer(match name.as_str() {
        "ttl" => (at - now + 500) / 1000,
        "pttl" => at - now,
        "expiretime" => at / 1000,
        _ => at,
    }))
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    let has = ctx
        .db()
        .get(&args[1], now)
        .is_some_and(|e| e.expire_at.is_some());
    if !has {
        return Ok(integer(0));
    }
    ctx.db().set_expire(&args[1], None, now);
    ctx.changed(1);
    Ok(integer(1))
}

fn keys(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    let pattern = &args[1];
    let all = pattern.as_ref() == b"*";
    let found = ctx
        .db()
        .keys(now)
        .filter(|k| all || glob::matches(pattern, k, false))
        .map(|k| Frame::Bulk(Bytes::copy_from_slice(k)))
        .collect();
    Ok(Frame::Array(found))
}

fn randomkey(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    let now = ctx.now;
    Ok(ctx
        .db()
        .random_key(now)
        .map_or(Frame::NullBulk, Frame::Bulk))
}

fn object(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sub = upper(&args[1]);
    if sub == "HELP" {
        return Ok(super::help::reply(super::help::OBJECT));
    }
    if !matches!(sub.as_str(), "ENCODING" | "REFCOUNT" | "IDLETIME" | "FREQ") {
        return Err(err::unknown_subcommand(&args[1], "object"));
    }
    if args.len() != 3 {
        return Err(Frame::error(format!(
            "ERR wrong number of arguments for 'object|{}' command",
            sub.to_ascii_lowercase()
        )));
    }
    let now = ctx.now;
    let Some(entry) = ctx.state.dbs[ctx.client.db].get(&args[2], now) else {
        return Ok(Frame::NullBulk);
    };
    Ok(match sub.as_str() {
        "ENCODING" => Frame::bulk(entry.value.encoding(&ctx.state.config)),
        "REFCOUNT" => integer(1),
        "IDLETIME" => integer(0),
        _ => {
            let lfu = ctx.state.config.get("maxmemory-policy").contains("lfu");
            if !lfu {
                return Err(Frame::error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
            }
            integer(0)
        }
    })
}
