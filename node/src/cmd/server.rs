//! Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, LASTSAVE, SAVE, BGSAVE,
//! BGREWRITEAOF, SHUTDOWN, MEMORY, SLOWLOG, LATENCY, DEBUG (refused). (WAIT is in
//! `replication`.)

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{int, upper};
use super::flag::{NOMULTI, WRITE};
use super::{help, spec, Ctx, Reply, Spec};
use crate::aof::Aof;
use crate::rdb;
use crate::reply::{err, int as integer, simple};
use crate::state::now_us;

pub const COMMANDS: &[Spec] = &[
    spec("info", -1, 0, info),
    spec("dbsize", 1, 0, dbsize),
    spec("flushdb", -1, WRITE, flush),
    spec("flushall", -1, WRITE, flush),
    spec("swapdb", 3, WRITE, swapdb),
    spec("time", 1, 0, time),
    spec("lastsave", 1, 0, lastsave),
    spec("save", 1, NOMULTI, save),
    spec("bgsave", -1, 0, bgsave),
    spec("bgrewriteaof", 1, NOMULTI, bgrewriteaof),
    spec("shutdown", -1, NOMULTI, shutdown),
    spec("memory", -2, 0, memory),
    spec("slowlog", -2, 0, slowlog),
    spec("latency", -2, 0, latency),
    spec("debug", -2, 0, debug),
];

fn info(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sections: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    rdb::reconcile(ctx.state);
    let text = crate::info::render(ctx.state, &sections);
    Ok(Frame::Verbatim(*b"txt", Bytes::from(text)))
}

fn dbsize(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    Ok(integer(ctx.db().len()))
}

fn flush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args.get(1).map(|a| upper(a)) {
        None => {}
        Some(mode) if args.len() == 2 && (mode == "ASYNC" || mode == "SYNC") => {}
        Some(_) => return Err(err::syntax()),
    }
    if upper(&args[0]) == "FLUSHALL" {
        ctx.state.dbs.iter_mut().for_each(|db| db.clear());
    } else {
        ctx.db().clear();
    }
    ctx.changed(1);
    Ok(Frame::ok())
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let index = |a: &[u8], what: &str| -> Result<usize, Frame> {
        let n = int(a).map_err(|_| Frame::error(format!("ERR invalid {what} DB index")))?;
        usize::try_from(n).map_err(|_| err::db_index())
    };
    let (a, b) = (index(&args[1], "first")?, index(&args[2], "second")?);
    if a >= ctx.state.dbs.len() || b >= ctx.state.dbs.len() {
        return Err(err::db_index());
    }
    if a != b {
        let (low, high) = (a.min(b), a.max(b));
        let (left, right) = ctx.state.dbs.split_at_mut(high);
        left[low].swap_data(&mut right[0]);
    }
    ctx.changed(1);
    Ok(Frame::ok())
}

fn time(_: &mut Ctx, _: &[Bytes]) -> Reply {
    let us = now_us();
    Ok(Frame::Array(vec![
        Frame::Bulk(Bytes::from((us / 1_000_000).to_string())),
        Frame::Bulk(Bytes::from((us % 1_000_000).to_string())),
    ]))
}

fn lastsave(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    rdb::reconcile(ctx.state);
    Ok(integer(ctx.state.last_save))
}

/// SAVE: the snapshot file, written now.
fn save(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    rdb::reconcile(ctx.state);
    if ctx.state.rdb.in_progress() {
        return Err(Frame::error("ERR Background save already in progress"));
    }
    rdb::save(ctx.state).map_err(|_| Frame::error("ERR"))?;
    Ok(Frame::ok())
}

/// BGSAVE [SCHEDULE]: the snapshot file, written by a thread.
fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args {
        [_] => {}
        [_, word] if upper(word) == "SCHEDULE" => {}
        _ => return Err(err::syntax()),
    }
    rdb::bgsave(ctx.state).map_err(Frame::error)?;
    Ok(simple("Background saving started"))
}

fn bgrewriteaof(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    if ctx.state.aof.is_some() {
        Aof::rewrite(ctx.state).map_err(|e| {
            Frame::error(format!(
                "ERR Background append only file rewriting error: {e}"
            ))
        })?;
    }
    Ok(simple("Background append only file rewriting started"))
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: saves first when asked to (or when save
/// points are configured and NOSAVE is absent); a failed save cancels it unless FORCE.
fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let words: Vec<String> = args[1..].iter().map(|a| upper(a)).collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    let known = ["NOSAVE", "SAVE", "NOW", "FORCE", "ABORT"];
    if words.iter().any(|w| !known.contains(&w.as_str()))
        || has("ABORT") && words.len() > 1
        || has("NOSAVE") && has("SAVE")
    {
        return Err(err::syntax());
    }
    if has("ABORT") {
        return Err(Frame::error("ERR No shutdown in progress."));
    }
    let save = has("SAVE") || !has("NOSAVE") && !rdb::save_points(&ctx.state.config).is_empty();
    if save && rdb::save(ctx.state).is_err() && !has("FORCE") {
        return Err(Frame::error("ERR Errors trying to SHUTDOWN. Check logs."));
    }
    ctx.state.shutdown = true;
    ctx.client.close = true;
    Ok(Frame::ok())
}

fn memory(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match (upper(&args[1]).as_str(), args.len()) {
        ("USAGE", n) if n >= 3 => {
            // `[SAMPLES count]`, repeatable, checked like Redis (the estimate is exact here).
            let mut options = args[3..].chunks(2);
            options.try_for_each(|o| match o {
                [word, count] if upper(word) == "SAMPLES" => match int(count)? {
                    n if n < 0 => Err(err::syntax()),
                    _ => Ok(()),
                },
                _ => Err(err::syntax()),
            })?;
            let now = ctx.now;
            let key = &args[2];
            Ok(ctx.db().get(key, now).map_or(Frame::NullBulk, |e| {
                integer(e.value.memory() + key.len() + 48)
            }))
        }
        ("DOCTOR", 2) => Ok(verbatim(memory_doctor())),
        ("HELP", 2) => Ok(help::reply(help::MEMORY)),
        ("DOCTOR" | "HELP", _) => Err(sub_arity("memory", &args[1])),
        _ => Err(err::unknown_subcommand(&args[1], "memory")),
    }
}

/// DEBUG: refused, as Redis 7.0 does with its default `enable-debug-command no`.
fn debug(_: &mut Ctx, _: &[Bytes]) -> Reply {
    Err(Frame::error(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
         you can run it from a local connection, otherwise you need to set this option in the \
         configuration file, and then restart the server.",
    ))
}

fn slowlog(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    crate::slowlog::command(ctx.state, args)
}

/// LATENCY: the node records no latency events, so there is never a sample to show.
fn latency(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match (upper(&args[1]).as_str(), args.len()) {
        ("LATEST" | "HISTORY", _) => Ok(Frame::Array(Vec::new())),
        ("RESET", _) => Ok(integer(0)),
        ("DOCTOR", 2) => Ok(verbatim(
            if ctx.state.config.get_int("latency-monitor-threshold") == 0 {
                LATENCY_DISABLED
            } else {
                LATENCY_QUIET
            },
        )),
        ("HELP", 2) => Ok(help::reply(help::LATENCY)),
        ("DOCTOR" | "HELP", _) => Err(sub_arity("latency", &args[1])),
        _ => Err(err::unknown_subcommand(&args[1], "latency")),
    }
}

const LATENCY_DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const LATENCY_QUIET: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";

/// MEMORY DOCTOR's report: Redis declines to judge under 5 MB allocated; the node has no
/// fragmentation or buffer figures to report issues from.
fn memory_doctor() -> &'static str {
    if crate::memory::used() < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    }
}

fn verbatim(text: &'static str) -> Frame {
    Frame::Verbatim(*b"txt", Bytes::from_static(text.as_bytes()))
}

/// `ERR wrong number of arguments for 'memory|doctor' command`.
fn sub_arity(container: &str, sub: &[u8]) -> Frame {
    Frame::error(format!(
        "ERR wrong number of arguments for '{container}|{}' command",
        String::from_utf8_lossy(sub).to_ascii_lowercase()
    ))
}
