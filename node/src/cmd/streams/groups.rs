//! XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP) and XACK.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::super::args::{int, is, upper, write_or_create};
use super::super::{help, Ctx, Reply};
use super::{group_mut, id, no_such_group, stream, stream_mut};
use crate::db::stream::{Group, StreamId};
use crate::db::Value;
use crate::reply::{err, int as integer};

/// `ENTRIESREAD n`: a count, or -1 for unknown.
fn entries_read(arg: &[u8]) -> Result<Option<i64>, Frame> {
    match int(arg)? {
        -1 => Ok(None),
        n if n < 0 => Err(Frame::error(
            "ERR value for ENTRIESREAD must be positive or -1",
        )),
        n => Ok(Some(n)),
    }
}

/// Options after `<id>`: `MKSTREAM` (CREATE only) and `ENTRIESREAD n`.
fn options(args: &[Bytes], create: bool) -> Result<(bool, Option<i64>), Frame> {
    let (mut mkstream, mut read) = (false, None);
    let mut i = 5;
    while i < args.len() {
        if create && is(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if is(&args[i], "entriesread") && i + 1 < args.len() {
            read = entries_read(&args[i + 1])?;
            i += 2;
        } else {
            return Err(sub_syntax(args));
        }
    }
    Ok((mkstream, read))
}

/// Redis's `addReplySubcommandSyntaxError`.
pub fn sub_syntax(args: &[Bytes]) -> Frame {
    Frame::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1][..args[1].len().min(128)]),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

/// Redis's checks before any XGROUP subcommand: the key exists (unless MKSTREAM), and the
/// group too for those that change it.
fn check(ctx: &mut Ctx, sub: &str, key: &[u8], group: &[u8], mkstream: bool) -> Result<(), Frame> {
    if mkstream {
        return Ok(());
    }
    let Some(s) = stream(ctx, key)? else {
        return Err(Frame::error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
    };
    let needs_group = matches!(sub, "SETID" | "CREATECONSUMER" | "DELCONSUMER");
    if needs_group && !s.groups.contains_key(group) {
        return Err(no_such_group(key, group));
    }
    Ok(())
}

pub fn xgroup(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sub = upper(&args[1]);
    if sub == "HELP" && args.len() == 2 {
        return Ok(help::reply(help::XGROUP));
    }
    let (Some(key), Some(group)) = (args.get(2), args.get(3)) else {
        return Err(sub_syntax(args));
    };
    let (mkstream, read) = match sub.as_str() {
        "CREATE" | "SETID" => options(args, sub == "CREATE")?,
        _ => (false, None),
    };
    check(ctx, &sub, key, group, mkstream)?;
    let now = ctx.now;
    match (sub.as_str(), args.len()) {
        ("CREATE", 5..=8) => {
            let last = stream(ctx, key)?.map_or(StreamId::MIN, |s| s.last_id);
            let at = if &args[4][..] == b"$" {
                last
            } else {
                id::strict(&args[4])?
            };
            let s = write_or_create(
                ctx,
                key,
                || Value::Stream(Box::default()),
                Value::as_stream_mut,
            )?;
            if s.groups.contains_key(&group[..]) {
                return Err(Frame::error("BUSYGROUP Consumer Group name already exists"));
            }
            s.groups
                .insert(Bytes::copy_from_slice(group), Group::new(at, read));
            ctx.changed(1);
            Ok(Frame::ok())
        }
        ("SETID", 5 | 7) => {
            let s = stream_mut(ctx, key)?.ok_or_else(err::no_key)?;
            let at = if &args[4][..] == b"$" {
                s.last_id
            } else {
                id::lenient(&args[4], 0)?
            };
            if let Some(g) = s.groups.get_mut(&group[..]) {
                g.last_id = at;
                g.entries_read = read;
            }
            ctx.changed(1);
            Ok(Frame::ok())
        }
        ("DESTROY", 4) => {
            let removed = stream_mut(ctx, key)?.and_then(|s| s.groups.remove(&group[..]));
            if removed.is_none() {
                return Ok(integer(0));
            }
            ctx.changed(1);
            ctx.signal_ready(key);
            Ok(integer(1))
        }
        ("CREATECONSUMER", 5) => {
            let g = group_mut(ctx, key, group)?;
            let created = g.consumer(&args[4], now).1;
            if created {
                ctx.changed(1);
            }
            Ok(integer(i64::from(created)))
        }
        ("DELCONSUMER", 5) => {
            let g = group_mut(ctx, key, group)?;
            let pending = g.remove_consumer(&args[4]);
            if pending.is_some() {
                ctx.changed(1);
            }
            Ok(integer(pending.unwrap_or(0) as i64))
        }
        _ => Err(sub_syntax(args)),
    }
}

/// XACK key group id…
pub fn xack(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let has_group = stream(ctx, &args[1])?.is_some_and(|s| s.groups.contains_key(&args[2][..]));
    if !has_group {
        return Ok(integer(0));
    }
    let ids = args[3..]
        .iter()
        .map(|a| id::strict(a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(g) = stream_mut(ctx, &args[1])?.and_then(|s| s.groups.get_mut(&args[2][..])) else {
        return Ok(integer(0));
    };
    let acked = ids.into_iter().filter(|id| g.ack(*id)).count();
    ctx.changed(acked as u64);
    Ok(integer(acked as i64))
}
