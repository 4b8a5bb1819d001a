//! XPENDING (summary and extended form), XCLAIM and XAUTOCLAIM. Claims propagate as one
//! `XCLAIM … TIME t RETRYCOUNT n FORCE JUSTID LASTID id` per changed entry, so replicas
//! need neither the clock nor the idle filters.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::super::args::{int, is};
use super::super::{Ctx, Reply};
use super::range::entry;
use super::read::{claim_pending, setid_command};
use super::{id, no_group, stream, stream_mut};
use crate::db::parse_i64;
use crate::db::stream::{Group, Stream, StreamId};
use crate::reply::{bulk, err, int as integer};

/// The stream and group for a claim (`-NOGROUP` when either is missing).
fn stream_and_group<'a>(ctx: &'a mut Ctx, args: &[Bytes]) -> Result<&'a mut Stream, Frame> {
    match stream_mut(ctx, &args[1])? {
        Some(s) if s.groups.contains_key(&args[2][..]) => Ok(s),
        _ => Err(no_group(&args[1], &args[2])),
    }
}

/// An integer with a custom error text.
fn int_or(arg: &[u8], text: &str) -> Result<i64, Frame> {
    parse_i64(arg).ok_or_else(|| Frame::error(format!("ERR {text}")))
}

/// An inclusive range start (`(` excludes).
fn start_of(arg: &[u8]) -> Result<StreamId, Frame> {
    match id::interval(arg, 0)? {
        (id, false) => Ok(id),
        (id, true) => id
            .next()
            .ok_or_else(|| Frame::error("ERR invalid start ID for the interval")),
    }
}

pub fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let n = args.len();
    if n != 3 && !(6..=9).contains(&n) {
        return Err(err::syntax());
    }
    let mut range = None;
    if n >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(&args[3], "idle") {
            min_idle = int(&args[4])?;
            if n < 8 {
                return Err(err::syntax());
            }
            at = 5;
        }
        let count = int(&args[at + 2])?.max(0) as usize;
        let start = start_of(&args[at])?;
        let end = match id::interval(&args[at + 1], u64::MAX)? {
            (id, false) => id,
            (id, true) => id
                .prev()
                .ok_or_else(|| Frame::error("ERR invalid end ID for the interval"))?,
        };
        range = Some((start, end, count, min_idle, args.get(at + 3)));
    }
    let now = ctx.now;
    let g = match super::stream(ctx, &args[1])?.and_then(|s| s.groups.get(&args[2][..])) {
        Some(g) => g,
        None => return Err(no_group(&args[1], &args[2])),
    };
    let Some((start, end, count, min_idle, consumer)) = range else {
        return Ok(summary(g));
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(&name[..]) {
            Some(c) if start <= end => c.pending.range(start..=end).copied().collect(),
            Some(_) => Vec::new(),
            None => return Ok(Frame::Array(Vec::new())),
        },
        None if start <= end => g.pel.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let rows = ids
        .iter()
        .filter_map(|id| Some((id, g.pel.get(id)?)))
        .filter(|(_, p)| min_idle == 0 || now - p.delivered_at >= min_idle)
        .take(count)
        .map(|(id, p)| {
            Frame::Array(vec![
                bulk(&id.to_bytes()),
                bulk(&p.consumer),
                integer((now - p.delivered_at).max(0)),
                integer(p.deliveries as i64),
            ])
        })
        .collect();
    Ok(Frame::Array(rows))
}

/// XPENDING key group: count, first, last, and pending counts per consumer.
fn summary(g: &Group) -> Frame {
    let (Some(first), Some(last)) = (g.pel.keys().next(), g.pel.keys().next_back()) else {
        return Frame::Array(vec![
            integer(0),
            Frame::NullBulk,
            Frame::NullBulk,
            Frame::NullArray,
        ]);
    };
    let consumers = g
        .consumers
        .iter()
        .filter(|(_, c)| !c.pending.is_empty())
        .map(|(name, c)| {
            Frame::Array(vec![
                bulk(name),
                bulk(&Bytes::from(c.pending.len().to_string())),
            ])
        })
        .collect();
    Frame::Array(vec![
        integer(g.pel.len() as i64),
        bulk(&first.to_bytes()),
        bulk(&last.to_bytes()),
        Frame::Array(consumers),
    ])
}

/// How a claimed entry is answered.
fn claimed(s: &Stream, id: StreamId, justid: bool) -> Frame {
    match (justid, s.get(&id)) {
        (true, _) => bulk(&id.to_bytes()),
        (false, Some(fields)) => entry(&id, fields),
        (false, None) => Frame::NullBulk,
    }
}

/// Gives `id` (pending in `group`) to `consumer`: delivered at `time`, its count set or
/// bumped; returns the XCLAIM to propagate.
fn give(
    s: &mut Stream,
    args: &[Bytes],
    id: StreamId,
    time: i64,
    retry: Option<u64>,
    justid: bool,
    now: i64,
) -> Option<Vec<Bytes>> {
    let (key, group, consumer) = (&args[1], &args[2], &args[3]);
    let g = s.groups.get_mut(&group[..])?;
    let deliveries = match (retry, g.pel.get(&id)) {
        (Some(n), _) => n,
        (None, Some(p)) if !justid => p.deliveries + 1,
        (None, Some(p)) => p.deliveries,
        (None, None) => 1 + u64::from(!justid),
    };
    g.consumer(consumer, now).0.seen_at = now;
    g.deliver(id, consumer, time, deliveries);
    let p = g.pel.get(&id)?;
    Some(claim_pending(key, group, id, p, g.last_id))
}

/// Drops a pending entry whose stream entry is gone; returns the XCLAIM to propagate.
fn drop_gone(s: &mut Stream, args: &[Bytes], id: StreamId) -> Option<Vec<Bytes>> {
    let g = s.groups.get_mut(&args[2][..])?;
    let p = g.pel.get(&id)?.clone();
    g.ack(id);
    Some(claim_pending(&args[1], &args[2], id, &p, g.last_id))
}

/// XCLAIM's trailing options.
struct ClaimOptions {
    /// The delivery time to set (IDLE or TIME, checked: else now).
    time: i64,
    retry: Option<u64>,
    force: bool,
    justid: bool,
    last_id: StreamId,
}

/// Parses XCLAIM's options from `args[at..]`.
fn claim_options(args: &[Bytes], mut at: usize, now: i64) -> Result<ClaimOptions, Frame> {
    let mut o = ClaimOptions {
        time: now,
        retry: None,
        force: false,
        justid: false,
        last_id: StreamId::MIN,
    };
    let mut time = None;
    while at < args.len() {
        let (opt, value) = (&args[at], args.get(at + 1));
        let text = |what: &str| format!("Invalid {what} option argument for XCLAIM");
        match value {
            _ if is(opt, "force") => o.force = true,
            _ if is(opt, "justid") => o.justid = true,
            Some(v) if is(opt, "idle") => time = Some(now.wrapping_sub(int_or(v, &text("IDLE"))?)),
            Some(v) if is(opt, "time") => time = Some(int_or(v, &text("TIME"))?),
            Some(v) if is(opt, "retrycount") => {
                let n = int_or(v, &text("RETRYCOUNT"))?;
                o.retry = u64::try_from(n).ok();
            }
            Some(v) if is(opt, "lastid") => o.last_id = id::strict(v)?,
            _ => {
                return Err(Frame::error(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
        at += if is(opt, "force") || is(opt, "justid") {
            1
        } else {
            2
        };
    }
    o.time = time.filter(|t| (0..=now).contains(t)).unwrap_or(now);
    Ok(o)
}

/// Reports the changes `propagate` replays.
fn propagate_all(ctx: &mut Ctx, propagate: Vec<Vec<Bytes>>) {
    ctx.changed(propagate.len() as u64);
    propagate.into_iter().for_each(|c| ctx.propagate_as(c));
}

/// XCLAIM key group consumer min-idle id… [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
pub fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    stream_and_group(ctx, args)?;
    let min_idle = int_or(&args[4], "Invalid min-idle-time argument for XCLAIM")?.max(0);
    let ids: Vec<StreamId> = args[5..].iter().map_while(|a| id::strict(a).ok()).collect();
    let now = ctx.now;
    let o = claim_options(args, 5 + ids.len(), now)?;
    let s = stream_and_group(ctx, args)?;
    let mut propagate = Vec::new();
    let mut moved_last = false;
    if let Some(g) = s.groups.get_mut(&args[2][..]) {
        if o.last_id > g.last_id {
            g.last_id = o.last_id;
            moved_last = true;
        }
    }
    let mut replies = Vec::new();
    for id in ids {
        let pending = s
            .groups
            .get(&args[2][..])
            .and_then(|g| g.pel.get(&id))
            .map(|p| p.delivered_at);
        if s.get(&id).is_none() {
            propagate.extend(drop_gone(s, args, id));
            continue;
        }
        match pending {
            None if !o.force => continue,
            Some(at) if min_idle > 0 && now - at < min_idle => continue,
            _ => {}
        }
        propagate.extend(give(s, args, id, o.time, o.retry, o.justid, now));
        replies.push(claimed(s, id, o.justid));
    }
    if moved_last && propagate.is_empty() {
        if let Some(g) = s.groups.get(&args[2][..]) {
            propagate.push(setid_command(&args[1], &args[2], g));
        }
    }
    propagate_all(ctx, propagate);
    Ok(Frame::Array(replies))
}

/// XAUTOCLAIM key group consumer min-idle start [COUNT n] [JUSTID]
pub fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let min_idle = int_or(&args[4], "Invalid min-idle-time argument for XAUTOCLAIM")?.max(0);
    let start = start_of(&args[5])?;
    let (mut count, mut justid) = (100usize, false);
    let mut j = 6;
    while j < args.len() {
        if is(&args[j], "count") && j + 1 < args.len() {
            const MAX: i64 = i64::MAX / 16;
            count = parse_i64(&args[j + 1])
                .filter(|n| (1..=MAX).contains(n))
                .ok_or_else(|| Frame::error("ERR COUNT must be > 0"))? as usize;
            j += 1;
        } else if is(&args[j], "justid") {
            justid = true;
        } else {
            return Err(err::syntax());
        }
        j += 1;
    }
    if stream(ctx, &args[1])?.is_none() {
        return Err(no_group(&args[1], &args[2]));
    }
    let now = ctx.now;
    let s = stream_and_group(ctx, args)?;
    let pel: Vec<(StreamId, i64)> = s.groups.get(&args[2][..]).map_or_else(Vec::new, |g| {
        g.pel
            .range(start..)
            .map(|(id, p)| (*id, p.delivered_at))
            .collect()
    });
    let mut attempts = count.saturating_mul(10);
    let (mut replies, mut deleted, mut propagate) = (Vec::new(), Vec::new(), Vec::new());
    let mut examined = 0;
    for (id, at) in &pel {
        if attempts == 0 || count == 0 {
            break;
        }
        attempts -= 1;
        examined += 1;
        if s.get(id).is_none() {
            propagate.extend(drop_gone(s, args, *id));
            deleted.push(bulk(&id.to_bytes()));
            count -= 1;
            continue;
        }
        if min_idle > 0 && now - at < min_idle {
            continue;
        }
        propagate.extend(give(s, args, *id, now, None, justid, now));
        replies.push(claimed(s, *id, justid));
        count -= 1;
    }
    let cursor = pel.get(examined).map_or(StreamId::MIN, |(id, _)| *id);
    propagate_all(ctx, propagate);
    Ok(Frame::Array(vec![
        bulk(&cursor.to_bytes()),
        Frame::Array(replies),
        Frame::Array(deleted),
    ]))
}
