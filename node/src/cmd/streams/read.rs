//! XREAD and XREADGROUP: one parser, then per stream either new entries (`$`/an id for
//! XREAD, `>` for a group: delivered, added to the PEL, the group advanced) or a
//! consumer's history. When nothing is served and BLOCK was given, the client waits
//! with its ids resolved (`$` → the current last id) and COUNT defaulting to 1000.
//! A group read propagates as XCLAIM per delivered entry plus XGROUP SETID / CREATECONSUMER.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::super::args::is;
use super::super::lists::block;
use super::super::{Ctx, Reply};
use super::range::entry;
use super::{id, num, stream, word};
use crate::db::parse_i64;
use crate::db::stream::{Group, Pending, Stream, StreamId};
use crate::reply::{bulk, err};

/// COUNT while blocked when none was given (Redis's `XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_COUNT: usize = 1000;

/// Parsed options.
struct Request<'a> {
    block_ms: Option<i64>,
    count: usize,
    noack: bool,
    group: Option<(&'a Bytes, &'a Bytes)>,
    keys: &'a [Bytes],
    ids: &'a [Bytes],
}

fn parse<'a>(args: &'a [Bytes], group_cmd: bool) -> Result<Request<'a>, Frame> {
    let mut r = Request {
        block_ms: None,
        count: 0,
        noack: false,
        group: None,
        keys: &[],
        ids: &[],
    };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let o = &args[i];
        if is(o, "block") && more > 0 {
            i += 1;
            let ms = parse_i64(&args[i])
                .ok_or_else(|| Frame::error("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(Frame::error("ERR timeout is negative"));
            }
            r.block_ms = Some(ms);
        } else if is(o, "count") && more > 0 {
            i += 1;
            r.count = super::super::args::int(&args[i])?.max(0) as usize;
        } else if is(o, "streams") && more > 0 {
            let rest = &args[i + 1..];
            if !rest.len().is_multiple_of(2) {
                let (name, symbol) = if group_cmd {
                    ("XREADGROUP", '>')
                } else {
                    ("XREAD", '$')
                };
                return Err(Frame::error(format!("ERR Unbalanced {name} list of streams: for each stream key an ID or '{symbol}' must be specified.")));
            }
            (r.keys, r.ids) = rest.split_at(rest.len() / 2);
            break;
        } else if is(o, "group") && more >= 2 {
            if !group_cmd {
                return Err(Frame::error(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if is(o, "noack") {
            if !group_cmd {
                return Err(Frame::error(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(err::syntax());
        }
        i += 1;
    }
    if r.keys.is_empty() {
        return Err(err::syntax());
    }
    if group_cmd && r.group.is_none() {
        return Err(Frame::error("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// Where reading starts for one stream: after an id, or the group's new entries (`>`).
#[derive(Clone, Copy, PartialEq)]
enum Start {
    After(StreamId),
    New,
}

/// Resolves every id (and checks the groups exist), before anything is served.
fn resolve(ctx: &mut Ctx, r: &Request) -> Result<Vec<Start>, Frame> {
    let mut out = Vec::with_capacity(r.keys.len());
    for (key, arg) in r.keys.iter().zip(r.ids) {
        let s = stream(ctx, key)?;
        if let Some((group, _)) = r.group {
            if !s.is_some_and(|s| s.groups.contains_key(&group[..])) {
                if ctx.state.blocked.serving {
                    return Err(Frame::error(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    ));
                }
                return Err(Frame::error(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(group)
                )));
            }
        }
        out.push(match &arg[..] {
            b"$" if r.group.is_some() => return Err(Frame::error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")),
            b"$" => Start::After(s.map_or(StreamId::MIN, |s| s.last_id)),
            b">" if r.group.is_none() => return Err(Frame::error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")),
            b">" => Start::New,
            _ => Start::After(id::strict(arg)?),
        });
    }
    Ok(out)
}

pub fn xread(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let r = parse(args, is(&args[0], "xreadgroup"))?;
    let from = resolve(ctx, &r)?;
    let limit = if r.count == 0 { usize::MAX } else { r.count };
    let mut served = Vec::new();
    for (key, from) in r.keys.iter().zip(&from) {
        let entries = match r.group {
            Some((group, consumer)) => {
                read_group(ctx, (key, group, consumer), *from, limit, r.noack)
            }
            None => read_plain(ctx, key, *from, limit)?,
        };
        if let Some(entries) = entries {
            served.push((bulk(key), Frame::Array(entries)));
        }
    }
    if !served.is_empty() {
        return Ok(if ctx.client.resp >= 3 {
            Frame::Map(served)
        } else {
            Frame::Array(
                served
                    .into_iter()
                    .map(|(k, v)| Frame::Array(vec![k, v]))
                    .collect(),
            )
        });
    }
    let Some(ms) = r.block_ms else {
        return Ok(Frame::NullArray);
    };
    if !ctx.no_block {
        let count = if r.count == 0 { BLOCKED_COUNT } else { r.count };
        let mut rerun = vec![args[0].clone()];
        if let Some((group, consumer)) = r.group {
            rerun.extend([word("GROUP"), group.clone(), consumer.clone()]);
        }
        if r.noack {
            rerun.push(word("NOACK"));
        }
        rerun.extend([word("COUNT"), num(count), word("STREAMS")]);
        rerun.extend(r.keys.iter().cloned());
        rerun.extend(from.iter().map(|f| match f {
            Start::After(id) => id.to_bytes(),
            Start::New => word(">"),
        }));
        ctx.state.blocked.rerun_as(rerun);
    }
    block(ctx, r.keys, ms, Frame::NullArray)
}

/// XREAD's entries of one stream after `from`, when there are any.
fn read_plain(
    ctx: &mut Ctx,
    key: &[u8],
    from: Start,
    limit: usize,
) -> Result<Option<Vec<Frame>>, Frame> {
    let (Some(s), Start::After(after)) = (stream(ctx, key)?, from) else {
        return Ok(None);
    };
    if s.is_empty() || s.last_live_id() <= after {
        return Ok(None);
    }
    let start = after.next().unwrap_or(StreamId::MAX);
    Ok(Some(
        s.range(start, StreamId::MAX)
            .take(limit)
            .map(|(id, f)| entry(id, f))
            .collect(),
    ))
}

/// One XREADGROUP on one stream: who reads, and the commands that replay it.
struct GroupRead<'a> {
    key: &'a Bytes,
    group: &'a Bytes,
    consumer: &'a Bytes,
    now: i64,
    propagate: Vec<Vec<Bytes>>,
}

/// XREADGROUP's entries of one stream, when it is served; propagates what it changed.
fn read_group(
    ctx: &mut Ctx,
    (key, group, consumer): (&Bytes, &Bytes, &Bytes),
    from: Start,
    limit: usize,
    noack: bool,
) -> Option<Vec<Frame>> {
    let now = ctx.now;
    let s = super::stream_mut(ctx, key).ok().flatten()?;
    let last_live = s.last_live_id();
    let unread = !s.is_empty();
    let g = s.groups.get_mut(&group[..])?;
    if from == Start::New && !(unread && last_live > g.last_id) {
        return None;
    }
    let mut r = GroupRead {
        key,
        group,
        consumer,
        now,
        propagate: Vec::new(),
    };
    let (c, created) = g.consumer(consumer, now);
    c.seen_at = now;
    if created {
        r.propagate.push(vec![
            word("XGROUP"),
            word("CREATECONSUMER"),
            key.clone(),
            group.clone(),
            consumer.clone(),
        ]);
    }
    let replies = match from {
        Start::After(after) => history(s, &mut r, after, limit),
        Start::New => deliver(s, &mut r, limit, noack),
    };
    if !r.propagate.is_empty() {
        ctx.changed(1);
        r.propagate.into_iter().for_each(|c| ctx.propagate_as(c));
    }
    Some(replies)
}

/// The XCLAIM that reproduces a delivery on a replica.
pub fn claim_command(key: &Bytes, group: &Bytes, id: StreamId, g: &Group) -> Option<Vec<Bytes>> {
    Some(claim_pending(key, group, id, g.pel.get(&id)?, g.last_id))
}

/// The XCLAIM that gives `id` to `p`'s consumer with `p`'s delivery (or drops it on a
/// replica where the entry is gone).
pub fn claim_pending(
    key: &Bytes,
    group: &Bytes,
    id: StreamId,
    p: &Pending,
    last_id: StreamId,
) -> Vec<Bytes> {
    vec![
        word("XCLAIM"),
        key.clone(),
        group.clone(),
        p.consumer.clone(),
        word("0"),
        id.to_bytes(),
        word("TIME"),
        num(p.delivered_at),
        word("RETRYCOUNT"),
        num(p.deliveries),
        word("FORCE"),
        word("JUSTID"),
        word("LASTID"),
        last_id.to_bytes(),
    ]
}

/// The XGROUP SETID that reproduces a group's position on a replica.
pub fn setid_command(key: &Bytes, group: &Bytes, g: &Group) -> Vec<Bytes> {
    vec![
        word("XGROUP"),
        word("SETID"),
        key.clone(),
        group.clone(),
        g.last_id.to_bytes(),
        word("ENTRIESREAD"),
        num(g.entries_read.unwrap_or(-1)),
    ]
}

/// New entries for a group (`>`): the group advances; unless NOACK they become pending.
fn deliver(s: &mut Stream, r: &mut GroupRead, limit: usize, noack: bool) -> Vec<Frame> {
    let group = r.group;
    let start = s
        .groups
        .get(&group[..])
        .map_or(StreamId::MAX, |g| g.last_id.next().unwrap_or(StreamId::MAX));
    let ids: Vec<StreamId> = s
        .range(start, StreamId::MAX)
        .take(limit)
        .map(|(id, _)| *id)
        .collect();
    let mut replies = Vec::with_capacity(ids.len());
    for id in &ids {
        s.advance_group(group, *id);
        if let Some(fields) = s.get(id) {
            replies.push(entry(id, fields));
        }
        let Some(g) = s.groups.get_mut(&group[..]) else {
            continue;
        };
        if !noack {
            g.deliver(*id, r.consumer, r.now, 1);
            r.propagate.extend(claim_command(r.key, group, *id, g));
        }
    }
    if let Some(g) = s.groups.get(&group[..]).filter(|_| !ids.is_empty()) {
        r.propagate.push(setid_command(r.key, group, g));
    }
    replies
}

/// A consumer's pending entries after `after`: each delivered again.
fn history(s: &mut Stream, r: &mut GroupRead, after: StreamId, limit: usize) -> Vec<Frame> {
    let group = r.group;
    let Some(g) = s.groups.get(&group[..]) else {
        return Vec::new();
    };
    let ids: Vec<StreamId> = match (g.consumers.get(&r.consumer[..]), after.next()) {
        (Some(c), Some(start)) => c.pending.range(start..).take(limit).copied().collect(),
        _ => Vec::new(),
    };
    let mut replies = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(fields) = s.get(&id).cloned() else {
            replies.push(Frame::Array(vec![bulk(&id.to_bytes()), Frame::NullArray]));
            continue;
        };
        replies.push(entry(&id, &fields));
        let Some(g) = s.groups.get_mut(&group[..]) else {
            continue;
        };
        if let Some(p) = g.pel.get_mut(&id) {
            p.delivered_at = r.now;
            p.deliveries += 1;
        }
        r.propagate.extend(claim_command(r.key, group, id, g));
    }
    replies
}
