//! The full-resync snapshot: our own compact format of the whole keyspace, written by the
//! master under the lock and read by the replica off it. Checked by a trailing CRC-64
//! (Redis's polynomial); every length is bounds-checked, so a corrupt or hostile payload is
//! an error, never a panic.
//!
//! Format: `SLOTGATE-SNAPSHOT-1\n`, the database the stream has selected at the
//! snapshot's offset (`db:u32`, so a replica of a replica continues in it), then per
//! non-empty database `0xFE db:u32`, then per key
//! `type:u8 expire:i64 (-1 = none) key` and the value (strings: bytes; lists and sets: a
//! count and items; hashes: a count and field/value pairs; sorted sets: a count and
//! member/score pairs; streams: see [`put_stream`]), then `0xFF` and the CRC-64 of
//! everything before it. Integers are
//! little-endian; byte strings are `len:u32` then the bytes.

use bytes::Bytes;

use crate::cluster::checksum::crc64;
use crate::db::stream::{Group, Node, Pending, Stream, StreamId};
use crate::db::zset::ZSet;
use crate::db::{Db, Entry, Hash, Set, Value};
use crate::state::{now_ms, State};

const MAGIC: &[u8] = b"SLOTGATE-SNAPSHOT-1\n";
const SELECT_DB: u8 = 0xFE;
const END: u8 = 0xFF;
const STR: u8 = 0;
const LIST: u8 = 1;
const SET: u8 = 2;
const HASH: u8 = 3;
const ZSET: u8 = 4;
const STREAM: u8 = 5;

/// Why a snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a slotgate snapshot")]
    Magic,
    #[error("snapshot checksum mismatch")]
    Checksum,
    #[error("snapshot truncated")]
    Truncated,
    #[error("unknown record type {0} in snapshot")]
    Record(u8),
    #[error("snapshot holds database {0}, beyond `databases`")]
    Database(u32),
}

/// Serialises every live key of every database; `stream_db` is the database selected in
/// the replication stream at this point.
pub fn write(state: &State, stream_db: usize) -> Vec<u8> {
    let now = now_ms();
    let mut out = Vec::with_capacity(1024 + state.dbs.iter().map(|d| d.len() * 32).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(stream_db as u32).to_le_bytes());
    for (index, db) in state.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        out.push(SELECT_DB);
        out.extend_from_slice(&(index as u32).to_le_bytes());
        for (key, entry) in db.entries(now) {
            put_entry(&mut out, key, entry);
        }
    }
    out.push(END);
    let sum = crc64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn put_entry(out: &mut Vec<u8>, key: &[u8], entry: &Entry) {
    let kind = match &entry.value {
        Value::Str(_) | Value::RawStr(_) => STR,
        Value::List(_) => LIST,
        Value::Set(_) => SET,
        Value::Hash(_) => HASH,
        Value::ZSet(_) => ZSET,
        Value::Stream(_) => STREAM,
    };
    out.push(kind);
    out.extend_from_slice(&entry.expire_at.unwrap_or(-1).to_le_bytes());
    put_bytes(out, key);
    match &entry.value {
        Value::Str(s) | Value::RawStr(s) => put_bytes(out, s),
        Value::List(l) => put_items(out, l.len(), l.iter().map(|i| (i, None))),
        Value::Set(s) => put_items(out, s.len(), s.iter().map(|i| (i, None))),
        Value::Hash(h) => put_items(out, h.len(), h.iter().map(|(f, v)| (f, Some(&v[..])))),
        Value::ZSet(z) => {
            out.extend_from_slice(&(z.len() as u32).to_le_bytes());
            for (member, score) in z.iter() {
                put_bytes(out, member);
                out.extend_from_slice(&score.to_bits().to_le_bytes());
            }
        }
        Value::Stream(s) => put_stream(out, s),
    }
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_u64(out, id.ms);
    put_u64(out, id.seq);
}

/// A stream: `last_id entries_added max_deleted`, a count of nodes each `master inserted
/// bytes` with a count of its entries (`id`, a count of field/value items), then a count of
/// groups each `name last_id entries_read (-1 = unknown)`, a count of pending entries
/// (`id consumer delivered_at deliveries`) and a count of consumers (`name seen_at`).
/// Ids are two u64s; every number is 64-bit.
fn put_stream(out: &mut Vec<u8>, s: &Stream) {
    put_id(out, s.last_id);
    put_u64(out, s.entries_added);
    put_id(out, s.max_deleted);
    let nodes: Vec<_> = s.nodes().collect();
    put_u64(out, nodes.len() as u64);
    for (i, (master, node)) in nodes.iter().enumerate() {
        put_id(out, **master);
        put_u64(out, node.inserted as u64);
        put_u64(out, node.bytes as u64);
        let end = nodes
            .get(i + 1)
            .and_then(|(next, _)| next.prev())
            .unwrap_or(StreamId::MAX);
        let entries: Vec<_> = s.range(**master, end).collect();
        put_u64(out, entries.len() as u64);
        for (id, fields) in entries {
            put_id(out, *id);
            put_items(out, fields.len(), fields.iter().map(|f| (f, None)));
        }
    }
    put_u64(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        put_bytes(out, name);
        put_id(out, g.last_id);
        out.extend_from_slice(&g.entries_read.unwrap_or(-1).to_le_bytes());
        put_u64(out, g.pel.len() as u64);
        for (id, p) in &g.pel {
            put_id(out, *id);
            put_bytes(out, &p.consumer);
            out.extend_from_slice(&p.delivered_at.to_le_bytes());
            put_u64(out, p.deliveries);
        }
        put_u64(out, g.consumers.len() as u64);
        for (name, c) in &g.consumers {
            put_bytes(out, name);
            out.extend_from_slice(&c.seen_at.to_le_bytes());
        }
    }
}

/// A count, then each item (and its paired value, for hashes).
fn put_items<'a>(
    out: &mut Vec<u8>,
    count: usize,
    items: impl Iterator<Item = (&'a Bytes, Option<&'a [u8]>)>,
) {
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for (item, paired) in items {
        put_bytes(out, item);
        if let Some(paired) = paired {
            put_bytes(out, paired);
        }
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Parses a snapshot into `databases` fresh databases and the stream's database.
pub fn read(data: &[u8], databases: usize) -> Result<(Vec<Db>, usize), SnapshotError> {
    let body_len = data.len().checked_sub(8).ok_or(SnapshotError::Truncated)?;
    let (body, sum) = data.split_at(body_len);
    if !body.starts_with(MAGIC) {
        return Err(SnapshotError::Magic);
    }
    if crc64(body).to_le_bytes() != sum {
        return Err(SnapshotError::Checksum);
    }
    let mut dbs: Vec<Db> = (0..databases).map(|_| Db::default()).collect();
    let mut reader = Reader {
        data: body,
        pos: MAGIC.len(),
    };
    let stream_db = reader.u32()?;
    if stream_db as usize >= databases {
        return Err(SnapshotError::Database(stream_db));
    }
    let mut current = 0usize;
    loop {
        match reader.u8()? {
            END => return Ok((dbs, stream_db as usize)),
            SELECT_DB => {
                let index = reader.u32()?;
                current = index as usize;
                if current >= databases {
                    return Err(SnapshotError::Database(index));
                }
            }
            kind => {
                let expire = reader.i64()?;
                let key = reader.bytes()?;
                let value = reader.value(kind)?;
                let entry = Entry {
                    value,
                    expire_at: (expire >= 0).then_some(expire),
                };
                dbs[current].insert(&key, entry);
            }
        }
    }
}

/// A bounds-checked cursor over the snapshot body.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], SnapshotError> {
        let end = self.pos.checked_add(n).ok_or(SnapshotError::Truncated)?;
        let slice = self
            .data
            .get(self.pos..end)
            .ok_or(SnapshotError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, SnapshotError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<Bytes, SnapshotError> {
        let len = self.u32()? as usize;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    /// A collection's element count, capped for preallocation by what could still follow.
    fn count(&mut self) -> Result<(usize, usize), SnapshotError> {
        let count = self.u32()? as usize;
        let room = (self.data.len() - self.pos) / 4;
        Ok((count, count.min(room)))
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn id(&mut self) -> Result<StreamId, SnapshotError> {
        Ok(StreamId::new(self.u64()?, self.u64()?))
    }

    /// A 64-bit count, refused when more items than bytes remain (each takes several).
    fn count64(&mut self) -> Result<u64, SnapshotError> {
        let n = self.u64()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err(SnapshotError::Truncated);
        }
        Ok(n)
    }

    /// The body [`put_stream`] wrote.
    fn stream(&mut self) -> Result<Stream, SnapshotError> {
        let mut s = Stream::default();
        s.last_id = self.id()?;
        s.entries_added = self.u64()?;
        s.max_deleted = self.id()?;
        for _ in 0..self.count64()? {
            let master = self.id()?;
            let (inserted, bytes) = (self.u64()? as usize, self.u64()? as usize);
            let live = self.count64()?;
            s.restore_node(
                master,
                Node {
                    inserted,
                    live: live as usize,
                    bytes,
                },
            );
            for _ in 0..live {
                let id = self.id()?;
                let (count, room) = self.count()?;
                let mut fields = Vec::with_capacity(room);
                for _ in 0..count {
                    fields.push(self.bytes()?);
                }
                s.restore_entry(id, fields);
            }
        }
        for _ in 0..self.count64()? {
            let name = self.bytes()?;
            let last_id = self.id()?;
            let read = self.i64()?;
            let mut g = Group::new(last_id, (read >= 0).then_some(read));
            for _ in 0..self.count64()? {
                let id = self.id()?;
                let consumer = self.bytes()?;
                let delivered_at = self.i64()?;
                let deliveries = self.u64()?;
                g.pel.insert(
                    id,
                    Pending {
                        consumer: consumer.clone(),
                        delivered_at,
                        deliveries,
                    },
                );
                g.consumer(&consumer, 0).0.pending.insert(id);
            }
            for _ in 0..self.count64()? {
                let name = self.bytes()?;
                let seen_at = self.i64()?;
                g.consumer(&name, seen_at).0.seen_at = seen_at;
            }
            s.groups.insert(name, g);
        }
        Ok(s)
    }

    fn value(&mut self, kind: u8) -> Result<Value, SnapshotError> {
        Ok(match kind {
            STR => Value::Str(self.bytes()?),
            LIST => {
                let (count, room) = self.count()?;
                let mut list = std::collections::VecDeque::with_capacity(room);
                for _ in 0..count {
                    list.push_back(self.bytes()?);
                }
                Value::List(Box::new(list))
            }
            SET => {
                let (count, room) = self.count()?;
                let mut set = Set::with_capacity(room);
                for _ in 0..count {
                    set.insert(self.bytes()?);
                }
                Value::Set(Box::new(set))
            }
            HASH => {
                let (count, room) = self.count()?;
                let mut hash = Hash::with_capacity_and_hasher(room, Default::default());
                for _ in 0..count {
                    hash.insert(self.bytes()?, self.bytes()?);
                }
                Value::Hash(Box::new(hash))
            }
            ZSET => {
                let (count, _) = self.count()?;
                let mut zset = ZSet::default();
                for _ in 0..count {
                    let member = self.bytes()?;
                    let score = f64::from_bits(u64::from_le_bytes(self.array()?));
                    zset.insert(member, score);
                }
                Value::ZSet(Box::new(zset))
            }
            STREAM => Value::Stream(Box::new(self.stream()?)),
            other => return Err(SnapshotError::Record(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn sample() -> State {
        let mut state = State::new(Config::default());
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        let db = &mut state.dbs[0];
        db.insert(b"s", Entry::new(Value::Str(b("hello"))));
        let list = [b("a"), b("b")].into_iter().collect();
        db.insert(
            b"l",
            Entry {
                value: Value::List(Box::new(list)),
                expire_at: Some(i64::MAX / 2),
            },
        );
        let mut hash = Hash::default();
        hash.insert(b("f"), b("v"));
        db.insert(b"h", Entry::new(Value::Hash(Box::new(hash))));
        let mut zset = ZSet::default();
        zset.insert(b("m"), 1.5);
        state.dbs[3].insert(b"z", Entry::new(Value::ZSet(Box::new(zset))));
        state
    }

    #[test]
    fn round_trip() {
        let state = sample();
        let data = write(&state, 5);
        let (mut dbs, stream_db) = read(&data, 16).unwrap();
        assert_eq!(stream_db, 5);
        assert_eq!(dbs[0].len(), 3);
        assert_eq!(dbs[3].len(), 1);
        let list = dbs[0].get(b"l", 0).unwrap();
        assert_eq!(list.expire_at, Some(i64::MAX / 2));
        assert_eq!(list.value.as_list().unwrap().len(), 2);
        let z = dbs[3].get(b"z", 0).unwrap();
        assert_eq!(z.value.as_zset().unwrap().score(b"m"), Some(1.5));
    }

    #[test]
    fn streams_round_trip_with_groups() {
        let mut state = State::new(Config::default());
        let mut stream = Stream::default();
        for i in 1..=150 {
            stream.append(StreamId::new(i, 0), vec![Bytes::from_static(b"f")]);
        }
        stream.delete(StreamId::new(7, 0));
        stream.max_deleted = StreamId::new(7, 0);
        let mut group = Group::new(StreamId::new(3, 0), Some(3));
        group.deliver(StreamId::new(2, 0), &Bytes::from_static(b"alice"), 42, 2);
        group.consumer(&Bytes::from_static(b"idle"), 7);
        stream.groups.insert(Bytes::from_static(b"g"), group);
        stream.groups.insert(
            Bytes::from_static(b"empty"),
            Group::new(StreamId::MIN, None),
        );
        let value = Value::Stream(Box::new(stream.clone()));
        state.dbs[0].insert(b"x", Entry::new(value));
        let (mut dbs, _) = read(&write(&state, 0), 16).unwrap();
        let back = dbs[0].get(b"x", 0).unwrap().value.as_stream().unwrap();
        assert_eq!(*back, stream);
        assert_eq!(back.nodes().count(), 2);
    }

    #[test]
    fn corruption_is_an_error_not_a_panic() {
        let state = sample();
        let data = write(&state, 0);
        let mut flipped = data.clone();
        flipped[MAGIC.len() + 3] ^= 1;
        assert!(matches!(read(&flipped, 16), Err(SnapshotError::Checksum)));
        for cut in 0..data.len() {
            assert!(read(&data[..cut], 16).is_err());
        }
        assert!(matches!(read(&data, 2), Err(SnapshotError::Database(3))));
    }

    #[test]
    fn crc64_matches_redis() {
        // Redis's crc64 test vector.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }
}
