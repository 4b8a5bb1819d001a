//! Pub/sub registry: channel, pattern and shard-channel subscribers, each reached through
//! its connection's [`Mailbox`]. A subscriber whose queued output passes the `pubsub`
//! hard limit of `client-output-buffer-limit` is disconnected, not allowed to eat memory.

use bytes::Bytes;
use slotgate_protocol::Frame;

use crate::client::Mailbox;
use crate::db::Map;
use crate::glob;

type Subscribers = Map<Bytes, Map<u64, Mailbox>>;

/// Who listens to what.
#[derive(Debug, Default)]
pub struct PubSub {
    pub channels: Subscribers,
    pub patterns: Subscribers,
    pub shard_channels: Subscribers,
}

/// Which of the three namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl PubSub {
    fn map(&mut self, kind: Kind) -> &mut Subscribers {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    pub fn subscribe(&mut self, kind: Kind, name: &Bytes, client: u64, mailbox: &Mailbox) {
        self.map(kind)
            .entry(name.clone())
            .or_default()
            .insert(client, mailbox.clone());
    }

    pub fn unsubscribe(&mut self, kind: Kind, name: &[u8], client: u64) {
        let map = self.map(kind);
        if let Some(subs) = map.get_mut(name) {
            subs.remove(&client);
            if subs.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Delivers `message`; returns how many clients received it.
    pub fn publish(&self, kind: Kind, channel: &Bytes, message: &Bytes, limit: usize) -> usize {
        let size = channel.len() + message.len() + 32;
        let word: &'static [u8] = if kind == Kind::Shard {
            b"smessage"
        } else {
            b"message"
        };
        let mut receivers = 0;
        let map = if kind == Kind::Shard {
            &self.shard_channels
        } else {
            &self.channels
        };
        if let Some(subs) = map.get(channel) {
            for mailbox in subs.values() {
                let frame = Frame::Push(vec![
                    Frame::Bulk(Bytes::from_static(word)),
                    Frame::Bulk(channel.clone()),
                    Frame::Bulk(message.clone()),
                ]);
                receivers += usize::from(mailbox.push(frame, size, limit));
            }
        }
        if kind == Kind::Channel {
            for (pattern, subs) in &self.patterns {
                if !glob::matches(pattern, channel, false) {
                    continue;
                }
                for mailbox in subs.values() {
                    let frame = Frame::Push(vec![
                        Frame::Bulk(Bytes::from_static(b"pmessage")),
                        Frame::Bulk(pattern.clone()),
                        Frame::Bulk(channel.clone()),
                        Frame::Bulk(message.clone()),
                    ]);
                    receivers += usize::from(mailbox.push(frame, size, limit));
                }
            }
        }
        receivers
    }
}
