//! SCAN across every master, with one cursor for the client.
//!
//! The client's cursor is `node_cursor * SCAN_STRIDE + master_index`: which master the walk
//! is on and where on it. A request asks that master; when the master says it is done
//! (cursor 0) and the page so far holds fewer than COUNT keys, the same request goes on to
//! the next master. So a small keyspace comes back whole with cursor 0, as from one Redis,
//! and a full walk still visits every master's keys exactly as Redis guarantees. A cursor
//! naming no master ends the walk, as an out-of-range cursor does in Redis.

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::{encode, ReplyDecoder};
use slotgate_protocol::Frame;

use super::queue::{Part, Route};
use super::Session;
use crate::backend::Tag;
use crate::error::ProxyError;
use crate::merge::Merger;

/// Client cursors: `node_cursor * SCAN_STRIDE + master_index`.
pub const SCAN_STRIDE: u64 = 1024;

/// Redis's page size when SCAN has no COUNT.
const DEFAULT_COUNT: usize = 10;

/// A SCAN on its way through the masters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// The master asked now, by index in the routes' master list.
    master: usize,
    /// The arguments after the cursor (MATCH, COUNT, TYPE).
    options: Vec<Bytes>,
    /// The page size asked for (COUNT).
    count: usize,
    /// The keys found so far, encoded, and how many.
    found: BytesMut,
    found_count: usize,
}

impl Session {
    /// `SCAN cursor [MATCH p] [COUNT n] [TYPE t]`.
    pub(super) fn scan(&mut self, args: &[Bytes]) {
        let Some(cursor) = args.get(1).and_then(|c| parse_cursor(c)) else {
            return self.reply_err(ProxyError::Other("invalid cursor".to_owned()));
        };
        if self.routes.masters().is_empty() {
            return self.reply_err(ProxyError::SlotNotServed);
        }
        let options = args[2..].to_vec();
        let walk = Walk {
            master: (cursor % SCAN_STRIDE) as usize,
            count: page_size(&options),
            options,
            found: BytesMut::new(),
            found_count: 0,
        };
        let Some(part) = self.scan_part(&walk, cursor / SCAN_STRIDE) else {
            return self.reply_frame(page(0, Vec::new()));
        };
        let deadline = Some(self.deadline);
        self.start([part], Merger::Scan(walk), deadline, true);
    }

    /// The request for the walk's master, from `node_cursor`; `None` when no master has
    /// that index.
    fn scan_part(&mut self, walk: &Walk, node_cursor: u64) -> Option<Part> {
        let addr = self.routes.masters().get(walk.master)?.addr.clone();
        let mut args = vec![
            Bytes::from_static(b"SCAN"),
            Bytes::from(node_cursor.to_string()),
        ];
        args.extend(walk.options.iter().cloned());
        Some(Part::new(self.encode(&args), Route::Node(addr)))
    }

    /// A master's page for the SCAN `tag` belongs to: answer, or ask the next master.
    pub(super) fn scan_progress(&mut self, tag: Tag, reply: Bytes) {
        let Some((node_cursor, keys)) = parse_page(&reply) else {
            // An error (a bad MATCH or COUNT) is the answer.
            return self.queue.finish(tag.seq, reply);
        };
        let masters = self.routes.masters().len();
        let Some(work) = self.queue.work_mut(tag.seq) else {
            return;
        };
        let Merger::Scan(walk) = &mut work.merger else {
            return;
        };
        for key in &keys {
            encode(key, &mut walk.found);
        }
        walk.found_count += keys.len();
        let next_master = walk.master + 1;
        let go_on = node_cursor == 0 && next_master < masters && walk.found_count < walk.count;
        if !go_on {
            let cursor = if node_cursor != 0 {
                node_cursor
                    .saturating_mul(SCAN_STRIDE)
                    .saturating_add(walk.master as u64)
            } else if next_master < masters {
                next_master as u64
            } else {
                0
            };
            let mut reply = BytesMut::new();
            reply.extend_from_slice(b"*2\r\n");
            encode(&Frame::bulk(cursor.to_string()), &mut reply);
            reply.extend_from_slice(format!("*{}\r\n", walk.found_count).as_bytes());
            reply.extend_from_slice(&walk.found);
            return self.queue.finish(tag.seq, reply.freeze());
        }
        walk.master = next_master;
        let walk = walk.clone();
        let Some(part) = self.scan_part(&walk, 0) else {
            return;
        };
        if let Some(work) = self.queue.work_mut(tag.seq) {
            work.merger = Merger::Scan(walk);
            work.first = part;
        }
        self.send(tag);
    }
}

/// One page for the client: `[cursor, keys]`.
fn page(cursor: u64, keys: Vec<Frame>) -> Frame {
    Frame::Array(vec![Frame::bulk(cursor.to_string()), Frame::Array(keys)])
}

/// A node's SCAN reply: its cursor and keys; `None` for an error or anything unexpected.
fn parse_page(reply: &Bytes) -> Option<(u64, Vec<Frame>)> {
    let mut buf = BytesMut::from(&reply[..]);
    let Frame::Array(mut items) = ReplyDecoder::default().decode(&mut buf).ok()?? else {
        return None;
    };
    let keys = match items.pop()? {
        Frame::Array(keys) | Frame::Set(keys) => keys,
        _ => return None,
    };
    let cursor = std::str::from_utf8(items.pop()?.as_bytes()?)
        .ok()?
        .parse()
        .ok()?;
    Some((cursor, keys))
}

/// The COUNT option's value (the last one wins, as in Redis), else Redis's default.
fn page_size(options: &[Bytes]) -> usize {
    options
        .windows(2)
        .filter(|pair| pair[0].eq_ignore_ascii_case(b"count"))
        .filter_map(|pair| std::str::from_utf8(&pair[1]).ok()?.parse().ok())
        .last()
        .unwrap_or(DEFAULT_COUNT)
}

/// A SCAN cursor as Redis reads it (`strtoul`): decimal digits with an optional sign, a
/// negative number wrapping around; empty reads as 0. `None`: Redis's "invalid cursor".
fn parse_cursor(text: &[u8]) -> Option<u64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ if text.is_empty() => return Some(0),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"1025"), Some(1025));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"-"), None);
        assert_eq!(parse_cursor(b"1x"), None);
        assert_eq!(parse_cursor(b" 1"), None);
    }

    #[test]
    fn pages_and_counts() {
        let reply = Bytes::from_static(b"*2\r\n$2\r\n17\r\n*1\r\n$1\r\na\r\n");
        assert_eq!(parse_page(&reply), Some((17, vec![Frame::bulk("a")])));
        assert_eq!(
            parse_page(&Bytes::from_static(b"-ERR syntax error\r\n")),
            None
        );
        let options = |words: &[&'static str]| -> Vec<Bytes> {
            words
                .iter()
                .map(|w| Bytes::from_static(w.as_bytes()))
                .collect()
        };
        assert_eq!(page_size(&options(&["MATCH", "a*"])), 10);
        assert_eq!(page_size(&options(&["count", "5", "COUNT", "100"])), 100);
    }
}
