//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::upper;
use super::flag::PUBSUB;
use super::{spec, Ctx, Reply, Spec};
use crate::client::Client;
use crate::config::ClientClass;
use crate::db::Set;
use crate::glob;
use crate::pubsub::Kind;
use crate::reply::{err, int as integer, several};
use crate::state::State;

pub const COMMANDS: &[Spec] = &[
    spec("subscribe", -2, PUBSUB, subscribe),
    spec("psubscribe", -2, PUBSUB, subscribe),
    spec("ssubscribe", -2, PUBSUB, subscribe),
    spec("unsubscribe", -1, PUBSUB, unsubscribe),
    spec("punsubscribe", -1, PUBSUB, unsubscribe),
    spec("sunsubscribe", -1, PUBSUB, unsubscribe),
    spec("publish", 3, 0, publish),
    spec("spublish", 3, 0, publish),
    spec("pubsub", -2, 0, pubsub),
];

/// The namespace of a (P|S)(UN)SUBSCRIBE command.
fn kind_of(name: &[u8]) -> Kind {
    match name.to_ascii_lowercase().as_slice() {
        b"psubscribe" | b"punsubscribe" => Kind::Pattern,
        b"ssubscribe" | b"sunsubscribe" => Kind::Shard,
        _ => Kind::Channel,
    }
}

fn names(client: &mut Client, kind: Kind) -> &mut Set<Bytes> {
    match kind {
        Kind::Channel => &mut client.channels,
        Kind::Pattern => &mut client.patterns,
        Kind::Shard => &mut client.shard_channels,
    }
}

/// The confirmation (`subscribe`, channel, count) as a push, pushed in order.
fn confirm(word: &str, name: Option<&Bytes>, count: usize) -> Frame {
    let name = name.map_or(Frame::NullBulk, |n| Frame::Bulk(n.clone()));
    Frame::Push(vec![Frame::bulk(word), name, integer(count)])
}

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if ctx.client.multi.is_some() && ctx.client.resp == 2 {
        return Err(Frame::error(format!(
            "ERR Command not allowed inside a transaction: {}",
            upper(&args[0]).to_ascii_lowercase()
        )));
    }
    let kind = kind_of(&args[0]);
    let word = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let mut replies = Vec::new();
    for name in &args[1..] {
        let name = Bytes::copy_from_slice(name);
        if names(ctx.client, kind).insert(name.clone()) {
            ctx.state
                .pubsub
                .subscribe(kind, &name, ctx.client.id, &ctx.client.mailbox);
        }
        let count = if kind == Kind::Shard {
            ctx.client.shard_channels.len()
        } else {
            ctx.client.channels.len() + ctx.client.patterns.len()
        };
        replies.push(confirm(&word, Some(&name), count));
    }
    Ok(several(replies))
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let kind = kind_of(&args[0]);
    let word = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let targets: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        names(ctx.client, kind).iter().cloned().collect()
    };
    let mut replies = Vec::new();
    for name in &targets {
        if names(ctx.client, kind).remove(name) {
            ctx.state.pubsub.unsubscribe(kind, name, ctx.client.id);
        }
        let count = if kind == Kind::Shard {
            ctx.client.shard_channels.len()
        } else {
            ctx.client.channels.len() + ctx.client.patterns.len()
        };
        replies.push(confirm(&word, Some(name), count));
    }
    if replies.is_empty() {
        let count = ctx.client.subscriptions();
        replies.push(confirm(&word, None, count));
    }
    Ok(several(replies))
}

/// Drops every subscription (RESET, disconnect).
pub fn unsubscribe_all(state: &mut State, client: &mut Client) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        let id = client.id;
        for name in names(client, kind).drain() {
            state.pubsub.unsubscribe(kind, &name, id);
        }
    }
}

/// The hard limit of `class` from `client-output-buffer-limit` (0 = none).
pub fn output_limit(state: &State, class: ClientClass) -> usize {
    state.config.output_limit(class).hard as usize
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let kind = if upper(&args[0]) == "SPUBLISH" {
        Kind::Shard
    } else {
        Kind::Channel
    };
    let limit = output_limit(ctx.state, ClientClass::PubSub);
    crate::cluster::publish(ctx.state, kind == Kind::Shard, &args[1], &args[2]);
    Ok(integer(
        ctx.state.pubsub.publish(kind, &args[1], &args[2], limit),
    ))
}

fn pubsub(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let ps = &ctx.state.pubsub;
    let list = |map: &crate::db::Map<Bytes, _>| {
        let pattern = args.get(2);
        Frame::Array(
            map.keys()
                .filter(|c| pattern.is_none_or(|p| glob::matches(p, c, false)))
                .map(|c: &Bytes| Frame::Bulk(c.clone()))
                .collect(),
        )
    };
    let counts = |map: &crate::db::Map<Bytes, crate::db::Map<u64, crate::client::Mailbox>>| {
        Frame::Array(
            args[2..]
                .iter()
                .flat_map(|c| {
                    [
                        Frame::Bulk(c.clone()),
                        integer(map.get(c).map_or(0, |s| s.len())),
                    ]
                })
                .collect(),
        )
    };
    match (upper(&args[1]).as_str(), args.len()) {
        ("CHANNELS", 2 | 3) => Ok(list(&ps.channels)),
        ("SHARDCHANNELS", 2 | 3) => Ok(list(&ps.shard_channels)),
        ("NUMSUB", _) => Ok(counts(&ps.channels)),
        ("SHARDNUMSUB", _) => Ok(counts(&ps.shard_channels)),
        ("NUMPAT", 2) => Ok(integer(ps.patterns.len())),
        ("HELP", 2) => Ok(super::help::reply(super::help::PUBSUB)),
        _ => Err(err::unknown_subcommand(&args[1], "pubsub")),
    }
}
