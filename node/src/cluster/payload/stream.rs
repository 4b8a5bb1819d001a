//! Streams in Redis 7.0's RDB format (`rdbSaveObject` / `rdbLoadObject`): written as
//! RDB_TYPE_STREAM_LISTPACKS_2, read as that or the older RDB_TYPE_STREAM_LISTPACKS.
//!
//! - The nodes: their count, then per node its master id (16 bytes, big endian, as an RDB
//!   string) and its listpack (`streamAppendItem`): the master entry (live count, deleted
//!   count, master field count, the master fields, 0), then per entry its flags
//!   (DELETED = 1, SAMEFIELDS = 2), ms and seq as differences from the master id, the field
//!   count and field/value pairs (only the values when SAMEFIELDS), and its lp-count.
//! - The stream's length and last id; (v2 only) its first id, max deleted id and entries
//!   added.
//! - The groups: per group its name, last id, (v2 only) entries read, the global PEL (raw
//!   ids, delivery time as 8-byte LE ms, delivery count), then the consumers (name, seen
//!   time, their PEL as raw ids).
//!
//! We write one listpack per node of our model, holding only its live entries (deleted
//! ones are not kept), with the first live entry's fields as master fields. Reading
//! rebuilds the nodes with their inserted/live counts, so node keys, `XINFO`'s radix-tree
//! figures and later trimming follow Redis's. Anything inconsistent (counts, ids out of
//! order, a pending entry without a consumer) is bad data.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::dump::{put_len, put_string};
use super::listpack::{self, Writer};
use super::reader::Reader;
use super::{Parse, PayloadError};
use crate::db::stream::{Consumer, Fields, Group, Node, Pending, Stream, StreamId};
use crate::db::value::parse_i64;

/// An entry's flags.
const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;
/// A group's entries read when unknown (Redis's `SCG_INVALID_ENTRIES_READ`, -1) as saved.
const UNKNOWN_ENTRIES_READ: u64 = u64::MAX;

/// Writes `stream` after its type byte.
pub fn encode(out: &mut BytesMut, stream: &Stream) {
    let masters: Vec<StreamId> = stream.nodes().map(|(master, _)| *master).collect();
    put_len(out, masters.len() as u64);
    let mut entries = stream.entries().peekable();
    for (i, &master) in masters.iter().enumerate() {
        let next = masters.get(i + 1);
        let node: Vec<(&StreamId, &Fields)> =
            std::iter::from_fn(|| entries.next_if(|(id, _)| next.is_none_or(|next| *id < next)))
                .collect();
        put_string(out, &raw_id(master));
        put_string(out, &node_listpack(master, &node));
    }
    put_len(out, stream.len() as u64);
    put_id(out, stream.last_id);
    put_id(out, stream.first_id());
    put_id(out, stream.max_deleted);
    put_len(out, stream.entries_added);
    put_len(out, stream.groups.len() as u64);
    for (name, group) in &stream.groups {
        put_string(out, name);
        put_id(out, group.last_id);
        put_len(
            out,
            group
                .entries_read
                .map_or(UNKNOWN_ENTRIES_READ, |read| read as u64),
        );
        put_len(out, group.pel.len() as u64);
        for (id, pending) in &group.pel {
            out.put_slice(&raw_id(*id));
            out.put_i64_le(pending.delivered_at);
            put_len(out, pending.deliveries);
        }
        put_len(out, group.consumers.len() as u64);
        for (name, consumer) in &group.consumers {
            put_string(out, name);
            out.put_i64_le(consumer.seen_at);
            put_len(out, consumer.pending.len() as u64);
            for id in &consumer.pending {
                out.put_slice(&raw_id(*id));
            }
        }
    }
}

/// The listpack of the node `master` holding `entries`, as `streamAppendItem` builds it.
fn node_listpack(master: StreamId, entries: &[(&StreamId, &Fields)]) -> Vec<u8> {
    let master_fields: Vec<&Bytes> = entries
        .first()
        .map(|(_, fields)| fields.iter().step_by(2).collect())
        .unwrap_or_default();
    let mut lp = Writer::default();
    lp.int(entries.len() as i64);
    lp.int(0);
    lp.int(master_fields.len() as i64);
    master_fields.iter().for_each(|field| lp.string(field));
    lp.int(0);
    for (id, fields) in entries {
        let pairs = fields.len() / 2;
        let same = pairs == master_fields.len()
            && fields.iter().step_by(2).eq(master_fields.iter().copied());
        lp.int(if same { FLAG_SAMEFIELDS } else { 0 });
        lp.int(id.ms.wrapping_sub(master.ms) as i64);
        lp.int(id.seq.wrapping_sub(master.seq) as i64);
        if same {
            fields.iter().skip(1).step_by(2).for_each(|v| lp.string(v));
        } else {
            lp.int(pairs as i64);
            fields.iter().for_each(|item| lp.string(item));
        }
        lp.int(lp_count(pairs, same) as i64);
    }
    lp.finish()
}

/// An entry's lp-count: flags, ms, seq, the values, and unless SAMEFIELDS the field count
/// and the fields.
fn lp_count(pairs: usize, same: bool) -> usize {
    if same {
        3 + pairs
    } else {
        4 + 2 * pairs
    }
}

/// An id as Redis keys its radix trees: ms and seq, big endian.
fn raw_id(id: StreamId) -> [u8; 16] {
    let mut raw = [0; 16];
    let (ms, seq) = raw.split_at_mut(8);
    ms.copy_from_slice(&id.ms.to_be_bytes());
    seq.copy_from_slice(&id.seq.to_be_bytes());
    raw
}

/// An id as two RDB lengths.
fn put_id(out: &mut BytesMut, id: StreamId) {
    put_len(out, id.ms);
    put_len(out, id.seq);
}

/// Reads a stream after its type byte; `v2` for RDB_TYPE_STREAM_LISTPACKS_2.
pub fn decode(r: &mut Reader, v2: bool) -> Parse<Stream> {
    let mut stream = Stream::default();
    let mut top = None;
    for _ in 0..r.count()? {
        let master = id_from_raw(r.string()?)?;
        let blob = r.string()?;
        read_node(&mut stream, master, &blob, &mut top)?;
    }
    if r.u64()? != stream.len() as u64 {
        return Err(PayloadError::BadData);
    }
    stream.last_id = read_id(r)?;
    if top.is_some_and(|top| stream.last_id < top) {
        return Err(PayloadError::BadData);
    }
    if v2 {
        read_id(r)?; // The first id: ours is the first live entry's.
        stream.max_deleted = read_id(r)?;
        stream.entries_added = r.u64()?;
    } else {
        stream.entries_added = stream.len() as u64;
    }
    if stream.entries_added < stream.len() as u64 || i64::try_from(stream.entries_added).is_err() {
        return Err(PayloadError::BadData);
    }
    for _ in 0..r.count()? {
        let name = r.string()?;
        let group = read_group(r, &stream, v2)?;
        if stream.groups.insert(name, group).is_some() {
            return Err(PayloadError::BadData);
        }
    }
    Ok(stream)
}

/// The listpack items of a node, read in order.
struct Items(std::vec::IntoIter<Bytes>);

impl Items {
    fn next(&mut self) -> Parse<Bytes> {
        self.0.next().ok_or(PayloadError::BadData)
    }

    fn int(&mut self) -> Parse<i64> {
        parse_i64(&self.next()?).ok_or(PayloadError::BadData)
    }

    fn count(&mut self) -> Parse<usize> {
        usize::try_from(self.int()?).map_err(|_| PayloadError::BadData)
    }

    fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}

/// Adds the node `master` from its listpack `blob` to `stream`; `top` is the highest id
/// read so far (every id must be above it).
fn read_node(
    stream: &mut Stream,
    master: StreamId,
    blob: &Bytes,
    top: &mut Option<StreamId>,
) -> Parse<()> {
    let bad = PayloadError::BadData;
    if top.is_some_and(|top| master <= top) {
        return Err(bad);
    }
    let mut items = Items(listpack::decode(blob)?.into_iter());
    let count = items.count()?;
    let deleted = items.count()?;
    let master_fields = (0..items.count()?)
        .map(|_| items.next())
        .collect::<Parse<Vec<Bytes>>>()?;
    if items.int()? != 0 {
        return Err(bad);
    }
    let (mut live, mut dead, mut bytes) = (Vec::new(), 0, 0);
    while !items.is_empty() {
        let flags = items.int()?;
        let ms = master.ms.wrapping_add(items.int()? as u64);
        let seq = master.seq.wrapping_add(items.int()? as u64);
        let id = StreamId::new(ms, seq);
        if id < master || top.is_some_and(|top| id <= top) {
            return Err(bad);
        }
        *top = Some(id);
        let same = flags & FLAG_SAMEFIELDS != 0;
        let mut fields = Fields::new();
        if same {
            for field in &master_fields {
                fields.extend([field.clone(), items.next()?]);
            }
        } else {
            for _ in 0..items.count()? {
                fields.extend([items.next()?, items.next()?]);
            }
        }
        if items.count()? != lp_count(fields.len() / 2, same) {
            return Err(bad);
        }
        bytes += Node::entry_bytes(&fields);
        if flags & FLAG_DELETED == 0 {
            live.push((id, fields));
        } else {
            dead += 1;
        }
    }
    if live.is_empty() || live.len() != count || dead != deleted {
        return Err(bad);
    }
    let node = Node {
        inserted: live.len() + dead,
        live: live.len(),
        bytes,
    };
    stream.restore_node(master, node);
    live.into_iter()
        .for_each(|(id, fields)| stream.restore_entry(id, fields));
    Ok(())
}

/// A group after its name: last id, entries read (v2), the global PEL, the consumers.
fn read_group(r: &mut Reader, stream: &Stream, v2: bool) -> Parse<Group> {
    let bad = PayloadError::BadData;
    let last_id = read_id(r)?;
    let entries_read = if v2 {
        match r.u64()? {
            UNKNOWN_ENTRIES_READ => None,
            read => Some(i64::try_from(read).map_err(|_| bad)?),
        }
    } else {
        stream.estimate_entries_read(last_id)
    };
    let mut group = Group::new(last_id, entries_read);
    let mut unowned = BTreeMap::new();
    for _ in 0..r.count()? {
        let id = id_from_raw(r.take(16)?)?;
        let delivery = (read_time(r)?, r.u64()?);
        if unowned.insert(id, delivery).is_some() {
            return Err(bad);
        }
    }
    for _ in 0..r.count()? {
        let name = r.string()?;
        let seen_at = read_time(r)?;
        let mut pending = BTreeSet::new();
        for _ in 0..r.count()? {
            let id = id_from_raw(r.take(16)?)?;
            let (delivered_at, deliveries) = unowned.remove(&id).ok_or(bad)?;
            let entry = Pending {
                consumer: name.clone(),
                delivered_at,
                deliveries,
            };
            group.pel.insert(id, entry);
            pending.insert(id);
        }
        if group
            .consumers
            .insert(name, Consumer { seen_at, pending })
            .is_some()
        {
            return Err(bad);
        }
    }
    if !unowned.is_empty() {
        return Err(bad);
    }
    Ok(group)
}

/// An id from its 16 raw bytes.
fn id_from_raw(mut raw: Bytes) -> Parse<StreamId> {
    if raw.len() != 16 {
        return Err(PayloadError::BadData);
    }
    Ok(StreamId::new(raw.get_u64(), raw.get_u64()))
}

/// An id as two RDB lengths.
fn read_id(r: &mut Reader) -> Parse<StreamId> {
    Ok(StreamId::new(r.u64()?, r.u64()?))
}

/// A time in Unix ms (8 bytes LE); Redis never saves a negative one.
fn read_time(r: &mut Reader) -> Parse<i64> {
    let ms = r.take(8)?.get_i64_le();
    if ms < 0 {
        return Err(PayloadError::BadData);
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::super::{dump, restore};
    use super::*;
    use crate::db::value::Value;

    fn fields(items: &[&str]) -> Fields {
        items.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    /// 250 entries over three nodes, some deleted, two groups with pending entries.
    fn sample() -> Stream {
        let mut s = Stream::default();
        for i in 1..=250u64 {
            let f = if i % 3 == 0 {
                fields(&["a", "1", "b", "x"])
            } else {
                fields(&["other", &"v".repeat(i as usize % 40), "n", "-70000"])
            };
            s.append(StreamId::new(1000 + i, i % 2), f);
        }
        for i in [1u64, 5, 120, 249] {
            assert!(s.delete(StreamId::new(1000 + i, i % 2)));
        }
        s.max_deleted = StreamId::new(1249, 1);
        let mut group = Group::new(StreamId::new(1010, 0), Some(10));
        group.deliver(StreamId::new(1002, 0), &Bytes::from("alice"), 1_700_000, 3);
        group.deliver(StreamId::new(1003, 1), &Bytes::from("bob"), 1_700_001, 1);
        group.consumer(&Bytes::from("idle"), 1_600_000);
        s.groups.insert(Bytes::from("g1"), group);
        s.groups
            .insert(Bytes::from("123"), Group::new(StreamId::MIN, None));
        s
    }

    #[test]
    fn round_trips_nodes_counters_and_groups() {
        let stream = sample();
        let payload = dump(&Value::Stream(Box::new(stream.clone())));
        assert_eq!(payload[0], 19);
        let Value::Stream(back) = restore(&payload).unwrap() else {
            panic!("not a stream");
        };
        // Deleted entries are not written, so only the live counts survive.
        let live = |s: &Stream| -> Vec<(StreamId, usize)> {
            s.nodes().map(|(m, n)| (*m, n.live)).collect()
        };
        assert_eq!(live(&back), live(&stream));
        assert_eq!(
            back.entries().collect::<Vec<_>>(),
            stream.entries().collect::<Vec<_>>()
        );
        assert_eq!(
            (back.last_id, back.max_deleted, back.entries_added),
            (stream.last_id, stream.max_deleted, stream.entries_added)
        );
        assert_eq!(back.groups, stream.groups);
    }

    /// Redis 7.0.15 with `rdbcompression no`: `XADD s 5-1 f v; XADD s 5-2 f 7;
    /// XADD s 6-0 g w; DUMP s`.
    const REDIS_STREAM: &[u8] = b"\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01\
        88\x00\x00\x00\x16\x00\x03\x01\x00\x01\x01\x01\x81f\x02\x00\x01\x02\x01\x00\x01\x00\x01\x81v\x02\
        \x04\x01\x02\x01\x00\x01\x01\x01\x07\x01\x04\x01\x00\x01\x01\x01\xdf\xff\x02\x01\x01\x81g\x02\x81w\x02\
        \x06\x01\xff\x03\x06\x00\x05\x01\x00\x00\x03\x00\x0a\x00\x81\x8dn\x16\x91\x16\xb4k";

    #[test]
    fn matches_redis_byte_for_byte() {
        let mut s = Stream::default();
        s.append(StreamId::new(5, 1), fields(&["f", "v"]));
        s.append(StreamId::new(5, 2), fields(&["f", "7"]));
        s.append(StreamId::new(6, 0), fields(&["g", "w"]));
        assert_eq!(&dump(&Value::Stream(Box::new(s.clone())))[..], REDIS_STREAM);
        let Value::Stream(back) = restore(REDIS_STREAM).unwrap() else {
            panic!("not a stream");
        };
        assert_eq!(*back, s);
    }

    #[test]
    fn truncations_are_refused_and_corruption_never_panics() {
        let payload = dump(&Value::Stream(Box::new(sample())));
        let (body, _) = payload.split_at(payload.len() - 10);
        let seal = |body: &[u8]| {
            let mut p = body.to_vec();
            p.extend_from_slice(&10u16.to_le_bytes());
            let crc = crate::cluster::checksum::crc64(&p);
            p.extend_from_slice(&crc.to_le_bytes());
            p
        };
        for len in 1..body.len() {
            assert_eq!(
                restore(&seal(&body[..len])).unwrap_err(),
                PayloadError::BadData
            );
        }
        for at in 1..body.len() {
            let mut bad = body.to_vec();
            bad[at] ^= 0x5a;
            let _ = restore(&seal(&bad));
        }
    }
}
