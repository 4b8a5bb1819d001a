//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS and XINFO HELP, with
//! Redis 7.0's fields (maps in RESP3).

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::super::args::{int, is, upper};
use super::super::{help, Ctx, Reply};
use super::groups::sub_syntax;
use super::range::entry;
use super::{no_such_group, stream};
use crate::db::stream::{Group, Stream, StreamId};
use crate::reply::{bulk, err, int as integer};

fn field(name: &'static str, value: Frame) -> (Frame, Frame) {
    (Frame::Bulk(Bytes::from_static(name.as_bytes())), value)
}

fn id(id: StreamId) -> Frame {
    bulk(&id.to_bytes())
}

fn optional(n: Option<i64>) -> Frame {
    n.map_or(Frame::NullBulk, integer)
}

pub fn xinfo(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sub = upper(&args[1]);
    if sub == "HELP" {
        if args.len() != 2 {
            return Err(sub_syntax(args));
        }
        return Ok(help::reply(help::XINFO));
    }
    let Some(key) = args.get(2) else {
        return Err(sub_syntax(args));
    };
    let now = ctx.now;
    let s = stream(ctx, key)?.ok_or_else(err::no_key)?;
    match (sub.as_str(), args.len()) {
        ("CONSUMERS", 4) => {
            let g = s
                .groups
                .get(&args[3][..])
                .ok_or_else(|| no_such_group(key, &args[3]))?;
            Ok(Frame::Array(
                g.consumers
                    .iter()
                    .map(|(name, c)| {
                        Frame::Map(vec![
                            field("name", bulk(name)),
                            field("pending", integer(c.pending.len() as i64)),
                            field("idle", integer((now - c.seen_at).max(0))),
                        ])
                    })
                    .collect(),
            ))
        }
        ("GROUPS", 3) => Ok(Frame::Array(
            s.groups
                .iter()
                .map(|(name, g)| {
                    Frame::Map(vec![
                        field("name", bulk(name)),
                        field("consumers", integer(g.consumers.len() as i64)),
                        field("pending", integer(g.pel.len() as i64)),
                        field("last-delivered-id", id(g.last_id)),
                        field("entries-read", optional(g.entries_read)),
                        field("lag", optional(s.lag(g))),
                    ])
                })
                .collect(),
        )),
        ("STREAM", 3) => Ok(summary(s)),
        ("STREAM", 4 | 6) if is(&args[3], "full") => {
            let count = match args.get(4..6) {
                Some([word, n]) if is(word, "count") => match int(n)? {
                    n if n < 0 => 10,
                    0 => usize::MAX,
                    n => n as usize,
                },
                Some(_) => return Err(sub_syntax(args)),
                None => 10,
            };
            Ok(full(s, count))
        }
        _ => Err(sub_syntax(args)),
    }
}

/// The fields XINFO STREAM starts with, with or without FULL.
fn head(s: &Stream) -> Vec<(Frame, Frame)> {
    vec![
        field("length", integer(s.len() as i64)),
        field("radix-tree-keys", integer(s.nodes().count() as i64)),
        field("radix-tree-nodes", integer(s.rax_nodes() as i64)),
        field("last-generated-id", id(s.last_id)),
        field("max-deleted-entry-id", id(s.max_deleted)),
        field("entries-added", integer(s.entries_added as i64)),
        field("recorded-first-entry-id", id(s.first_id())),
    ]
}

fn summary(s: &Stream) -> Frame {
    let mut fields = head(s);
    fields.push(field("groups", integer(s.groups.len() as i64)));
    let edge =
        |e: Option<(&StreamId, &Vec<Bytes>)>| e.map_or(Frame::NullBulk, |(i, f)| entry(i, f));
    fields.push(field("first-entry", edge(s.first())));
    fields.push(field("last-entry", edge(s.last())));
    Frame::Map(fields)
}

fn full(s: &Stream, count: usize) -> Frame {
    let mut fields = head(s);
    let entries = s
        .range(StreamId::MIN, StreamId::MAX)
        .take(count)
        .map(|(i, f)| entry(i, f))
        .collect();
    fields.push(field("entries", Frame::Array(entries)));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| group(s, name, g, count))
        .collect();
    fields.push(field("groups", Frame::Array(groups)));
    Frame::Map(fields)
}

fn group(s: &Stream, name: &Bytes, g: &Group, count: usize) -> Frame {
    let pending = g
        .pel
        .iter()
        .take(count)
        .map(|(i, p)| {
            Frame::Array(vec![
                id(*i),
                bulk(&p.consumer),
                integer(p.delivered_at),
                integer(p.deliveries as i64),
            ])
        })
        .collect();
    let consumers = g
        .consumers
        .iter()
        .map(|(cname, c)| {
            let pel = c
                .pending
                .iter()
                .take(count)
                .filter_map(|i| {
                    let p = g.pel.get(i)?;
                    Some(Frame::Array(vec![
                        id(*i),
                        integer(p.delivered_at),
                        integer(p.deliveries as i64),
                    ]))
                })
                .collect();
            Frame::Map(vec![
                field("name", bulk(cname)),
                field("seen-time", integer(c.seen_at)),
                field("pel-count", integer(c.pending.len() as i64)),
                field("pending", Frame::Array(pel)),
            ])
        })
        .collect();
    Frame::Map(vec![
        field("name", bulk(name)),
        field("last-delivered-id", id(g.last_id)),
        field("entries-read", optional(g.entries_read)),
        field("lag", optional(s.lag(g))),
        field("pel-count", integer(g.pel.len() as i64)),
        field("pending", Frame::Array(pending)),
        field("consumers", Frame::Array(consumers)),
    ])
}
