//! The ACL LOG: refused commands, keys, channels and failed AUTHs, newest first, with
//! Redis's grouping (the same reason, context, object and user within 60 s count once).

use std::collections::VecDeque;

use bytes::Bytes;
use slotgate_protocol::Frame;

/// Entries this close in time (ms) to an identical one are merged into it.
const GROUPING_MS: i64 = 60_000;

/// Redis's `acllog-max-len` default.
const MAX_LEN: usize = 128;

/// What was refused, as ACL LOG shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel` or `multi`.
    pub context: &'static str,
    pub object: String,
    pub username: String,
}

#[derive(Debug)]
struct Entry {
    event: Event,
    count: u64,
    /// Unix ms of the latest occurrence.
    at: i64,
    client_info: String,
}

/// The log, newest first.
#[derive(Debug, Default)]
pub struct Log {
    entries: VecDeque<Entry>,
}

impl Log {
    /// Records `event` at Unix ms `now`, seen from the client `client_info` describes.
    pub fn add(&mut self, event: Event, now: i64, client_info: String) {
        let same = self
            .entries
            .iter()
            .position(|e| e.event == event && now - e.at <= GROUPING_MS);
        let entry = match same.and_then(|i| self.entries.remove(i)) {
            Some(old) => Entry {
                count: old.count + 1,
                at: now,
                client_info,
                event,
            },
            None => Entry {
                event,
                count: 1,
                at: now,
                client_info,
            },
        };
        self.entries.push_front(entry);
        self.entries.truncate(MAX_LEN);
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// The newest `count` entries as ACL LOG replies them.
    pub fn reply(&self, count: usize, now: i64) -> Frame {
        let text = |s: &str| Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()));
        let entry = |e: &Entry| {
            Frame::Map(vec![
                (text("count"), Frame::Integer(e.count as i64)),
                (text("reason"), text(e.event.reason)),
                (text("context"), text(e.event.context)),
                (text("object"), text(&e.event.object)),
                (text("username"), text(&e.event.username)),
                (
                    text("age-seconds"),
                    Frame::Double((now - e.at) as f64 / 1000.0),
                ),
                (text("client-info"), text(&e.client_info)),
            ])
        };
        Frame::Array(self.entries.iter().take(count).map(entry).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(object: &str) -> Event {
        Event {
            reason: "key",
            context: "toplevel",
            object: object.to_owned(),
            username: "u".to_owned(),
        }
    }

    #[test]
    fn groups_within_a_minute() {
        let mut log = Log::default();
        log.add(event("a"), 0, String::new());
        log.add(event("b"), 1, String::new());
        log.add(event("a"), 2, String::new());
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[0].count, 2);
        log.add(event("a"), 50_000, String::new());
        assert_eq!(log.entries[0].count, 3);
        log.add(event("b"), 200_000, String::new());
        assert_eq!(log.entries.len(), 3);
    }
}
