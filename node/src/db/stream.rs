//! The stream type: entries by [`StreamId`], the counters Redis 7.0 keeps (last id,
//! entries added, max deleted id), consumer groups with their pending entries lists, and a
//! model of Redis's listpack nodes (which entries share a node), because approximate
//! trimming (`MAXLEN ~`) and `XINFO`'s radix-tree figures depend on it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

/// An entry id: milliseconds and sequence, ordered as a pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The id right after this one (Redis's `streamIncrID`); `None` past the last.
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The id right before this one (Redis's `streamDecrID`); `None` before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An entry's fields and values, flat: `f1 v1 f2 v2 …`.
pub type Fields = Vec<Bytes>;

/// Redis's defaults for `stream-node-max-entries` and `stream-node-max-bytes`.
const NODE_MAX_ENTRIES: usize = 100;
const NODE_MAX_BYTES: usize = 4096;

/// One listpack node of Redis's rax, keyed by its master (first inserted) id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Entries ever inserted into it (deleted ones still take room).
    pub inserted: usize,
    /// Entries not deleted.
    pub live: usize,
    /// An estimate of the listpack's size.
    pub bytes: usize,
}

impl Node {
    /// What an entry of `fields` adds to [`Node::bytes`].
    pub fn entry_bytes(fields: &[Bytes]) -> usize {
        fields.iter().map(|f| f.len() + 2).sum::<usize>() + 8
    }
}

/// A pending (delivered, not acknowledged) entry of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub consumer: Bytes,
    /// Unix ms of the last delivery.
    pub delivered_at: i64,
    pub deliveries: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consumer {
    /// Unix ms of its last read or claim.
    pub seen_at: i64,
    /// Its pending entries (a view of the group's PEL).
    pub pending: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    /// Redis's `entries_read`; `None` when unknown (its -1).
    pub entries_read: Option<i64>,
    pub pel: BTreeMap<StreamId, Pending>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<i64>) -> Group {
        Group {
            last_id,
            entries_read,
            ..Group::default()
        }
    }

    /// The consumer `name`, created (seen `now`) when absent; true when created.
    pub fn consumer(&mut self, name: &Bytes, now: i64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let consumer = self
            .consumers
            .entry(Bytes::copy_from_slice(name))
            .or_insert_with(|| Consumer {
                seen_at: now,
                pending: BTreeSet::new(),
            });
        (consumer, created)
    }

    /// Records a delivery of `id` to `consumer` (moving it from another consumer).
    pub fn deliver(&mut self, id: StreamId, consumer: &Bytes, now: i64, deliveries: u64) {
        let previous = self.pel.insert(
            id,
            Pending {
                consumer: Bytes::copy_from_slice(consumer),
                delivered_at: now,
                deliveries,
            },
        );
        if let Some(c) = previous.and_then(|p| self.consumers.get_mut(&p.consumer)) {
            c.pending.remove(&id);
        }
        self.consumer(consumer, now).0.pending.insert(id);
    }

    /// Acknowledges `id`; true when it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&p.consumer) {
            c.pending.remove(&id);
        }
        true
    }

    /// Removes a consumer and its pending entries; how many it had.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pending {
            self.pel.remove(id);
        }
        Some(consumer.pending.len())
    }
}

/// A stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    entries: BTreeMap<StreamId, Fields>,
    nodes: BTreeMap<StreamId, Node>,
    pub last_id: StreamId,
    pub entries_added: u64,
    pub max_deleted: StreamId,
    pub groups: BTreeMap<Bytes, Group>,
}

impl Stream {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first live entry's id, 0-0 when empty (Redis's `first_id`).
    pub fn first_id(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or_default()
    }

    /// The last live entry's id, 0-0 when empty.
    pub fn last_live_id(&self) -> StreamId {
        self.entries.keys().next_back().copied().unwrap_or_default()
    }

    pub fn first(&self) -> Option<(&StreamId, &Fields)> {
        self.entries.iter().next()
    }

    pub fn last(&self) -> Option<(&StreamId, &Fields)> {
        self.entries.iter().next_back()
    }

    pub fn get(&self, id: &StreamId) -> Option<&Fields> {
        self.entries.get(id)
    }

    /// Entries with ids in `from..=to`, oldest first.
    pub fn range(
        &self,
        from: StreamId,
        to: StreamId,
    ) -> impl DoubleEndedIterator<Item = (&StreamId, &Fields)> {
        (from <= to)
            .then(|| self.entries.range(from..=to))
            .into_iter()
            .flatten()
    }

    /// The listpack nodes: (master id, node).
    pub fn nodes(&self) -> impl Iterator<Item = (&StreamId, &Node)> {
        self.nodes.iter()
    }

    /// How many nodes Redis's radix tree holds for these node keys (16-byte big-endian
    /// ids): XINFO's `radix-tree-nodes`.
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self
            .nodes
            .keys()
            .map(|id| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&id.ms.to_be_bytes());
                k[8..].copy_from_slice(&id.seq.to_be_bytes());
                k
            })
            .collect();
        if keys.is_empty() {
            1
        } else {
            rax_subtree(&keys, 0)
        }
    }

    /// Appends an entry with a new top id (the caller checked it), as Redis fills nodes.
    pub fn append(&mut self, id: StreamId, fields: Fields) {
        let bytes = Node::entry_bytes(&fields);
        match self.nodes.last_key_value() {
            Some((_, n)) if n.inserted < NODE_MAX_ENTRIES && n.bytes + bytes < NODE_MAX_BYTES => {}
            _ => {
                self.nodes.insert(id, Node::default());
            }
        }
        if let Some(mut node) = self.nodes.last_entry() {
            let node = node.get_mut();
            node.inserted += 1;
            node.live += 1;
            node.bytes += bytes;
        }
        self.entries.insert(id, fields);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Restores a node as saved (snapshots); its entries follow with
    /// [`Stream::restore_entry`].
    pub fn restore_node(&mut self, master: StreamId, node: Node) {
        self.nodes.insert(master, node);
    }

    /// Restores an entry as saved, its node already restored.
    pub fn restore_entry(&mut self, id: StreamId, fields: Fields) {
        self.entries.insert(id, fields);
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = (&StreamId, &Fields)> {
        self.entries.iter()
    }

    /// The master id of the node holding `id`.
    pub fn node_of(&self, id: &StreamId) -> Option<StreamId> {
        self.nodes.range(..=*id).next_back().map(|(k, _)| *k)
    }

    /// Deletes one entry (without touching `max_deleted`); true when it existed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        if let Some(master) = self.node_of(&id) {
            if let Some(node) = self.nodes.get_mut(&master) {
                node.live = node.live.saturating_sub(1);
                if node.live == 0 {
                    self.nodes.remove(&master);
                }
            }
        }
        true
    }

    /// Redis's `streamTrim`: whole nodes first, then (when exact) single entries of the
    /// next node; `limit` caps the entries removed (0 = none). Returns how many went.
    pub fn trim(&mut self, strategy: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&master, node)) = self.nodes.first_key_value() {
            if let Trim::MaxLen(max) = strategy {
                if self.len() as u64 <= max {
                    break;
                }
            }
            let live = node.live as u64;
            if limit > 0 && deleted + live > limit {
                break;
            }
            let next_master = self.nodes.range(master..).nth(1).map(|(k, _)| *k);
            let remove_node = match strategy {
                Trim::MaxLen(max) => self.len() as u64 - live >= max,
                Trim::MinId(min) => {
                    let last = match next_master {
                        Some(next) => self.entries.range(master..next).next_back(),
                        None => self.entries.range(master..).next_back(),
                    };
                    last.is_some_and(|(id, _)| *id < min)
                }
            };
            if remove_node {
                let ids: Vec<StreamId> = match next_master {
                    Some(next) => self.entries.range(master..next).map(|(k, _)| *k).collect(),
                    None => self.entries.range(master..).map(|(k, _)| *k).collect(),
                };
                ids.iter().for_each(|id| {
                    self.entries.remove(id);
                });
                self.nodes.remove(&master);
                deleted += live;
                continue;
            }
            if approx {
                break;
            }
            let candidates: Vec<StreamId> = self.entries.range(master..).map(|(k, _)| *k).collect();
            for id in candidates {
                let done = match strategy {
                    Trim::MaxLen(max) => self.len() as u64 <= max,
                    Trim::MinId(min) => id >= min,
                };
                if done || next_master.is_some_and(|next| id >= next) {
                    break;
                }
                self.delete(id);
                deleted += 1;
            }
            break;
        }
        deleted
    }

    /// Redis's `streamRangeHasTombstones` from `start` to the end.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        !(self.is_empty()
            || self.max_deleted.is_zero()
            || self.first_id() > self.max_deleted
            || start > self.max_deleted)
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`; `None` when unknown.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<i64> {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.is_empty() && id <= self.last_id {
            return Some(added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        let first = self.first_id();
        if self.max_deleted.is_zero() || self.max_deleted < first {
            if id < first {
                return Some(added - self.len() as i64);
            }
            if id == first {
                return Some(added - self.len() as i64 + 1);
            }
        }
        None
    }

    /// A group's lag as XINFO reports it (Redis's `streamReplyWithCGLag`).
    pub fn lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let added = self.entries_added as i64;
        match group.entries_read {
            Some(read) if !self.has_tombstones_from(group.last_id) => Some(added - read),
            _ => self
                .estimate_entries_read(group.last_id)
                .map(|read| added - read),
        }
    }

    /// Advances `group` past `id` after delivering it (XREADGROUP `>`).
    pub fn advance_group(&mut self, name: &[u8], id: StreamId) {
        let tombstones = self.has_tombstones_from(id);
        let estimate = self.estimate_entries_read(id);
        let added = self.entries_added;
        let Some(group) = self.groups.get_mut(name) else {
            return;
        };
        if id <= group.last_id {
            return;
        }
        match group.entries_read {
            Some(read) if !tombstones => group.entries_read = Some(read + 1),
            _ if added > 0 => group.entries_read = estimate,
            _ => {}
        }
        group.last_id = id;
    }

    /// A rough byte count, for `MEMORY USAGE`.
    pub fn memory(&self) -> usize {
        let entries: usize = self
            .entries
            .values()
            .map(|f| f.iter().map(|v| v.len() + 4).sum::<usize>() + 16)
            .sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| name.len() + 64 + g.pel.len() * 80 + g.consumers.len() * 64)
            .sum();
        entries + groups + self.nodes.len() * 64 + 64
    }
}

/// Rax nodes under the point at `depth` shared by `keys` (sorted, distinct, 16 bytes):
/// a chain is one compressed node, a fork one node plus, per child, a compressed node
/// for the rest of its edge when longer than one byte; a key's end is a leaf node.
fn rax_subtree(keys: &[[u8; 16]], depth: usize) -> usize {
    let Some(first) = keys.first() else {
        return 0;
    };
    if depth >= 16 {
        return 1;
    }
    let shared = |from: usize, group: &[[u8; 16]]| -> usize {
        let (a, b) = (&group[0], &group[group.len() - 1]);
        (from..16).find(|&i| a[i] != b[i]).unwrap_or(16)
    };
    let last = &keys[keys.len() - 1];
    if first[depth] == last[depth] {
        return 1 + rax_subtree(keys, shared(depth, keys));
    }
    let mut total = 1;
    let mut rest = keys;
    while let Some(head) = rest.first() {
        let n = rest.iter().take_while(|k| k[depth] == head[depth]).count();
        let (group, tail) = rest.split_at(n);
        let end = shared(depth + 1, group);
        total += usize::from(end > depth + 1) + rax_subtree(group, end);
        rest = tail;
    }
    total
}

/// A trimming strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(n: u64) -> Stream {
        let mut s = Stream::default();
        for i in 1..=n {
            s.append(StreamId::new(i, 0), vec![Bytes::from_static(b"f")]);
        }
        s
    }

    #[test]
    fn ids_step_and_saturate() {
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
        assert_eq!(StreamId::new(5, 7).to_string(), "5-7");
    }

    #[test]
    fn approximate_trim_removes_whole_nodes_only() {
        let mut s = stream_of(250);
        assert_eq!(s.nodes().count(), 3);
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.trim(Trim::MaxLen(10), false, 0), 140);
        assert_eq!(s.len(), 10);
        assert_eq!(s.first_id(), StreamId::new(241, 0));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(245, 0)), false, 0), 4);
    }

    #[test]
    fn deleting_every_entry_of_a_node_drops_it() {
        let mut s = stream_of(2);
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert!(s.delete(StreamId::new(2, 0)));
        assert_eq!(s.nodes().count(), 0);
        assert_eq!(s.last_id, StreamId::new(2, 0));
    }
}
