//! Merging the replies of a request that was split into parts (fan-out by slot, or one
//! part per master) into the one reply the client expects. Only split requests pay for
//! parsing replies into frames; single-part replies pass through as raw bytes.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::{encode, ReplyDecoder};
use slotgate_protocol::Frame;

use crate::backend::Proto;
use crate::session::Walk;

/// How the parts' replies become one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merger {
    /// One part: its reply as is.
    Pass,
    /// MGET: arrays re-interleaved into key order; `order[i]` is the part holding key `i`.
    Mget { order: Vec<u32> },
    /// PUBSUB SHARDNUMSUB: channel/count pairs (flat arrays or RESP3 maps) re-interleaved
    /// into channel order, as a map; `order[i]` is the part holding channel `i`.
    Pairs { order: Vec<u32> },
    /// DEL, UNLINK, EXISTS, TOUCH, DBSIZE: integers summed.
    Sum,
    /// MSET, FLUSHALL, SCRIPT FLUSH: `+OK` once every part said OK.
    AllOk,
    /// KEYS: arrays concatenated.
    Concat,
    /// RANDOMKEY: the first non-null reply.
    Random,
    /// SCRIPT LOAD: every master answers the same; the first reply.
    First,
    /// SCRIPT EXISTS: element-wise AND of the 0/1 arrays.
    AndFlags,
    /// SCAN: the walk over the masters, answered page by page (see `session::scan`).
    Scan(Walk),
    /// INFO: the proxy's own sections (`sections`, each followed by a blank line), then the
    /// keyspace summed from every master's `INFO keyspace`.
    Info { sections: String },
    /// MULTI … EXEC run as parts: the EXEC reply (the last part).
    Exec,
    /// The parts run for their effect only (an UNWATCH); the client gets this reply.
    Replace(Bytes),
    /// CONFIG GET of one master, without the backends' credentials (see [`SECRETS`]).
    HideSecrets,
    /// WAIT, answered by polling `INFO replication` (see `session::wait`): `replicas` wanted,
    /// until when (`None`: no timeout), and the master's replication offset to reach.
    Wait {
        replicas: i64,
        until: Option<Instant>,
        target: Option<u64>,
    },
}

const OK: &[u8] = b"+OK\r\n";

impl Merger {
    /// Merges the parts' replies (in part order) into the client's reply.
    pub fn merge(&self, replies: Vec<Bytes>, proto: Proto) -> Bytes {
        match self {
            Merger::Pass | Merger::First | Merger::Wait { .. } => {
                return replies.into_iter().next().unwrap_or_default()
            }
            Merger::Exec => return replies.into_iter().last().unwrap_or_default(),
            Merger::Replace(reply) => return reply.clone(),
            _ => {}
        }
        if let Some(err) = replies.iter().find(|r| r.first() == Some(&b'-')) {
            return err.clone();
        }
        // MSET's parts all say OK: nothing to parse.
        if *self == Merger::AllOk && replies.iter().all(|r| r[..] == OK[..]) {
            return Bytes::from_static(OK);
        }
        let frames: Vec<Frame> = replies.iter().filter_map(parse).collect();
        if frames.len() != replies.len() {
            return error("ERR unreadable backend reply");
        }
        let merged = match self {
            Merger::HideSecrets => hide_secrets(frames),
            Merger::Mget { order } => Frame::Array(interleave(order, 1, frames)),
            Merger::Pairs { order } => {
                let flat = interleave(order, 2, frames);
                let mut items = flat.into_iter();
                let mut pairs = Vec::new();
                while let (Some(channel), Some(count)) = (items.next(), items.next()) {
                    pairs.push((channel, count));
                }
                Frame::Map(pairs)
            }
            Merger::Sum => Frame::Integer(frames.iter().map(integer).sum()),
            Merger::AllOk => Frame::ok(),
            Merger::Concat => Frame::Array(frames.into_iter().flat_map(elements).collect()),
            Merger::Random => frames
                .into_iter()
                .find(|f| !is_null(f))
                .unwrap_or(Frame::NullBulk),
            Merger::AndFlags => and_flags(frames),
            Merger::Info { sections } => info(sections, &frames),
            Merger::Pass
            | Merger::First
            | Merger::Exec
            | Merger::Replace(_)
            | Merger::Scan(_)
            | Merger::Wait { .. } => Frame::NullBulk,
        };
        to_bytes(&for_client(merged, proto))
    }
}

fn parse(reply: &Bytes) -> Option<Frame> {
    let mut buf = BytesMut::from(&reply[..]);
    ReplyDecoder::default().decode(&mut buf).ok().flatten()
}

fn error(text: &str) -> Bytes {
    Bytes::from(format!("-{text}\r\n"))
}

fn integer(frame: &Frame) -> i64 {
    match frame {
        Frame::Integer(n) => *n,
        _ => 0,
    }
}

fn is_null(frame: &Frame) -> bool {
    matches!(frame, Frame::Null | Frame::NullBulk | Frame::NullArray)
}

/// An aggregate's elements; a map's as flat key, value, key, value.
fn elements(frame: Frame) -> Vec<Frame> {
    match frame {
        Frame::Array(items) | Frame::Set(items) => items,
        Frame::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

/// The parts' elements, `width` at a time, back in request order: `order[i]` is the part
/// holding the `i`th group (a missing element reads as null).
fn interleave(order: &[u32], width: usize, frames: Vec<Frame>) -> Vec<Frame> {
    let mut parts: Vec<std::vec::IntoIter<Frame>> = frames
        .into_iter()
        .map(|f| elements(f).into_iter())
        .collect();
    let mut values = Vec::with_capacity(order.len() * width);
    for &p in order {
        for _ in 0..width {
            let value = parts.get_mut(p as usize).and_then(Iterator::next);
            values.push(value.unwrap_or(Frame::NullBulk));
        }
    }
    values
}

/// CONFIG parameters a proxy client must not read from a backend: they are the cluster's
/// credentials, not the proxy's.
const SECRETS: &[&[u8]] = &[b"requirepass", b"masterauth", b"masteruser"];

/// CONFIG GET's name/value pairs (a flat array, or a RESP3 map) minus [`SECRETS`].
fn hide_secrets(frames: Vec<Frame>) -> Frame {
    let secret = |name: &Frame| {
        name.as_bytes()
            .is_some_and(|n| SECRETS.iter().any(|s| n.eq_ignore_ascii_case(s)))
    };
    match frames.into_iter().next() {
        Some(Frame::Map(pairs)) => {
            Frame::Map(pairs.into_iter().filter(|(k, _)| !secret(k)).collect())
        }
        Some(Frame::Array(items)) => {
            let mut kept = Vec::with_capacity(items.len());
            let mut items = items.into_iter();
            while let (Some(name), Some(value)) = (items.next(), items.next()) {
                if !secret(&name) {
                    kept.extend([name, value]);
                }
            }
            Frame::Array(kept)
        }
        other => other.unwrap_or(Frame::Array(Vec::new())),
    }
}

fn and_flags(frames: Vec<Frame>) -> Frame {
    let mut result: Option<Vec<i64>> = None;
    for frame in frames {
        let flags: Vec<i64> = elements(frame).iter().map(integer).collect();
        result = Some(match result {
            None => flags,
            Some(acc) => acc.iter().zip(&flags).map(|(a, b)| a & b).collect(),
        });
    }
    Frame::Array(
        result
            .unwrap_or_default()
            .into_iter()
            .map(Frame::Integer)
            .collect(),
    )
}

fn info(sections: &str, keyspaces: &[Frame]) -> Frame {
    let mut text = sections.to_owned();
    text.push_str("# Keyspace\r\n");
    let (mut keys, mut expires, mut ttl_weight) = (0u64, 0u64, 0u128);
    let lines = keyspaces
        .iter()
        .filter_map(Frame::as_bytes)
        .flat_map(|text| text.split(|&b| b == b'\n'));
    for line in lines {
        // `db0:keys=1,expires=0,avg_ttl=0`: a cluster has only db 0.
        let Some(fields) = line.trim_ascii_end().strip_prefix(b"db0:") else {
            continue;
        };
        let field = |name: &str| {
            fields
                .split(|&b| b == b',')
                .find_map(|f| f.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
                .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let node_expires = field("expires");
        keys += field("keys");
        expires += node_expires;
        ttl_weight += u128::from(field("avg_ttl")) * u128::from(node_expires);
    }
    if keys > 0 {
        let avg_ttl = ttl_weight.checked_div(u128::from(expires)).unwrap_or(0);
        text.push_str(&format!(
            "db0:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n"
        ));
    }
    info_text(text)
}

/// An INFO reply: verbatim text (a bulk string for RESP2 clients, see [`for_client`]).
pub fn info_text(text: String) -> Frame {
    Frame::Verbatim(*b"txt", Bytes::from(text))
}

/// Rewrites RESP3-only types for a RESP2 client (maps flatten, nulls become `$-1`).
pub fn for_client(frame: Frame, proto: Proto) -> Frame {
    if proto == Proto::Resp3 {
        return frame;
    }
    match frame {
        Frame::Null => Frame::NullBulk,
        Frame::Map(pairs) => Frame::Array(
            pairs
                .into_iter()
                .flat_map(|(k, v)| [for_client(k, proto), for_client(v, proto)])
                .collect(),
        ),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            Frame::Array(items.into_iter().map(|f| for_client(f, proto)).collect())
        }
        Frame::Boolean(b) => Frame::Integer(i64::from(b)),
        Frame::Double(d) => Frame::bulk(slotgate_protocol::resp::format_double(d)),
        Frame::Verbatim(_, text) => Frame::Bulk(text),
        Frame::BigNumber(digits) => Frame::Bulk(digits),
        other => other,
    }
}

/// Encodes a frame to bytes.
pub fn to_bytes(frame: &Frame) -> Bytes {
    let mut out = BytesMut::new();
    encode(frame, &mut out);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn merges() {
        let mget = Merger::Mget {
            order: vec![1, 0, 1],
        };
        let out = mget.merge(
            vec![b("*1\r\n$1\r\nb\r\n"), b("*2\r\n$1\r\na\r\n$-1\r\n")],
            Proto::Resp2,
        );
        assert_eq!(out, b("*3\r\n$1\r\na\r\n$1\r\nb\r\n$-1\r\n"));
        assert_eq!(
            Merger::Sum.merge(vec![b(":2\r\n"), b(":3\r\n")], Proto::Resp2),
            b(":5\r\n")
        );
        assert_eq!(
            Merger::AllOk.merge(vec![b("+OK\r\n"), b("-ERR x\r\n")], Proto::Resp2),
            b("-ERR x\r\n")
        );
    }
}
