//! Reading a DUMP payload: the footer (RDB version, CRC-64), then the object of any type
//! Redis 7.0 loads — strings, lists (plain, ziplist, quicklist of ziplists or listpacks),
//! sets (plain, intset, listpack), zsets (text or binary scores, ziplist, listpack) and
//! hashes (plain, ziplist, listpack) and streams (see `stream`). Module values are
//! refused.

use std::collections::VecDeque;

use bytes::{Buf, Bytes};

use super::reader::Reader;
use super::{
    listpack, rdb_type as t, stream, ziplist, Parse, PayloadError, FOOTER_LEN, RDB_VERSION,
};
use crate::cluster::checksum::crc64;
use crate::db::value::{parse_f64, Hash, Set, Value};
use crate::db::zset::ZSet;

/// A quicklist node holding one element as it is.
const QUICKLIST_PLAIN: usize = 1;
/// A quicklist node holding a listpack.
const QUICKLIST_PACKED: usize = 2;

/// The value in `payload`.
pub fn restore(payload: &[u8]) -> Result<Value, PayloadError> {
    let body = verify(payload)?;
    let mut reader = Reader::new(Bytes::copy_from_slice(body));
    let kind = reader.u8()?;
    let value = object(kind, &mut reader)?;
    if !reader.is_empty() || value.is_empty_collection() {
        return Err(PayloadError::BadData);
    }
    Ok(value)
}

/// The object bytes of a payload whose version and checksum are right.
fn verify(payload: &[u8]) -> Result<&[u8], PayloadError> {
    let wrong = PayloadError::VersionOrChecksum;
    let split = payload.len().checked_sub(FOOTER_LEN).ok_or(wrong)?;
    let (body, mut footer) = payload.split_at(split);
    let version = footer.get_u16_le();
    let crc = footer.get_u64_le();
    let checked = payload.get(..split + 2).ok_or(wrong)?;
    if version > RDB_VERSION || crc64(checked) != crc {
        return Err(wrong);
    }
    Ok(body)
}

/// The object of type `kind` (a DUMP payload's, or a key's in an RDB file).
pub fn object(kind: u8, r: &mut Reader) -> Parse<Value> {
    match kind {
        t::STRING => Ok(Value::Str(r.string()?)),
        t::LIST => {
            let count = r.count()?;
            list(r.strings(count)?)
        }
        t::LIST_ZIPLIST => list(ziplist::decode(&r.string()?)?),
        t::LIST_QUICKLIST => list(quicklist(r)?),
        t::LIST_QUICKLIST_2 => list(quicklist_2(r)?),
        t::SET => {
            let count = r.count()?;
            set(r.strings(count)?)
        }
        t::SET_INTSET => set(ziplist::intset(&r.string()?)?),
        t::SET_LISTPACK => set(listpack::decode(&r.string()?)?),
        t::ZSET | t::ZSET_2 => zset_pairs(kind, r),
        t::ZSET_ZIPLIST => zset_flat(ziplist::decode(&r.string()?)?),
        t::ZSET_LISTPACK => zset_flat(listpack::decode(&r.string()?)?),
        t::HASH => {
            let count = r.count()?;
            hash(r.strings(count.checked_mul(2).ok_or(PayloadError::BadData)?)?)
        }
        t::HASH_ZIPLIST => hash(ziplist::decode(&r.string()?)?),
        t::HASH_LISTPACK => hash(listpack::decode(&r.string()?)?),
        t::STREAM_LISTPACKS | t::STREAM_LISTPACKS_2 => {
            let v2 = kind == t::STREAM_LISTPACKS_2;
            Ok(Value::Stream(Box::new(stream::decode(r, v2)?)))
        }
        _ => Err(PayloadError::BadData),
    }
}

/// RDB_TYPE_LIST_QUICKLIST: a count of ziplists.
fn quicklist(r: &mut Reader) -> Parse<Vec<Bytes>> {
    let mut items = Vec::new();
    for _ in 0..r.count()? {
        items.extend(ziplist::decode(&r.string()?)?);
    }
    Ok(items)
}

/// RDB_TYPE_LIST_QUICKLIST_2: a count of nodes, each a container kind (a plain element or
/// a listpack) and a string.
fn quicklist_2(r: &mut Reader) -> Parse<Vec<Bytes>> {
    let mut items = Vec::new();
    for _ in 0..r.count()? {
        let container = r.len()?;
        let node = r.string()?;
        match container {
            QUICKLIST_PLAIN => items.push(node),
            QUICKLIST_PACKED => items.extend(listpack::decode(&node)?),
            _ => return Err(PayloadError::BadData),
        }
    }
    Ok(items)
}

fn list(items: Vec<Bytes>) -> Parse<Value> {
    Ok(Value::List(Box::new(VecDeque::from(items))))
}

/// A set; a repeated member is bad data, as in Redis.
fn set(members: Vec<Bytes>) -> Parse<Value> {
    let mut set = Set::with_capacity(members.len());
    for member in members {
        if !set.insert(member) {
            return Err(PayloadError::BadData);
        }
    }
    Ok(Value::Set(Box::new(set)))
}

/// RDB_TYPE_ZSET (text scores) and RDB_TYPE_ZSET_2 (binary scores): a count of pairs.
fn zset_pairs(kind: u8, r: &mut Reader) -> Parse<Value> {
    let mut zset = ZSet::default();
    for _ in 0..r.count()? {
        let member = r.string()?;
        let score = if kind == t::ZSET_2 {
            r.binary_double()?
        } else {
            r.text_double()?
        };
        add_member(&mut zset, member, score)?;
    }
    Ok(Value::ZSet(Box::new(zset)))
}

/// A packed zset: member, score, member, score, …
fn zset_flat(items: Vec<Bytes>) -> Parse<Value> {
    let mut zset = ZSet::default();
    for (member, score) in pairs(items)? {
        let score = parse_f64(&score).ok_or(PayloadError::BadData)?;
        add_member(&mut zset, member, score)?;
    }
    Ok(Value::ZSet(Box::new(zset)))
}

/// Adds a member; a NaN score or a repeated member is bad data, as in Redis.
fn add_member(zset: &mut ZSet, member: Bytes, score: f64) -> Parse<()> {
    if score.is_nan() || zset.insert(member, score).is_some() {
        return Err(PayloadError::BadData);
    }
    Ok(())
}

/// A hash from field, value, field, value, …; a repeated field is bad data.
fn hash(items: Vec<Bytes>) -> Parse<Value> {
    let mut hash = Hash::default();
    for (field, value) in pairs(items)? {
        if hash.insert(field, value).is_some() {
            return Err(PayloadError::BadData);
        }
    }
    Ok(Value::Hash(Box::new(hash)))
}

/// `items` taken two by two; an odd count is bad data.
fn pairs(items: Vec<Bytes>) -> Parse<impl Iterator<Item = (Bytes, Bytes)>> {
    if !items.len().is_multiple_of(2) {
        return Err(PayloadError::BadData);
    }
    let mut iter = items.into_iter();
    Ok(std::iter::from_fn(move || {
        Some((iter.next()?, iter.next()?))
    }))
}
