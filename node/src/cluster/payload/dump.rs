//! Writing a DUMP payload Redis 7.0 RESTOREs into the same value, with the plainest
//! encodings it loads: strings raw (or as an 8/16/32-bit integer, like Redis), lists as
//! RDB_TYPE_LIST, sets as RDB_TYPE_SET, zsets as RDB_TYPE_ZSET_2 (binary scores), hashes
//! as RDB_TYPE_HASH, each element a string, and streams as RDB_TYPE_STREAM_LISTPACKS_2
//! (see `stream`); then the RDB version and the CRC-64.

use bytes::{BufMut, Bytes, BytesMut};

use super::{rdb_type as t, stream, RDB_VERSION};
use crate::cluster::checksum::crc64;
use crate::db::value::{parse_i64, Value};

/// An RDB length's 14-bit form marker, and the 32- and 64-bit forms' first bytes.
const LEN_14BIT: u8 = 0x40;
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
/// The first byte of an integer-encoded string: 8, 16, 32 bits.
const ENC_INT8: u8 = 0xc0;
const ENC_INT16: u8 = 0xc1;
const ENC_INT32: u8 = 0xc2;

/// Serializes `value` as Redis 7.0 does.
pub fn dump(value: &Value) -> Bytes {
    let mut out = BytesMut::new();
    put_object(&mut out, None, value);
    out.put_u16_le(RDB_VERSION);
    let crc = crc64(&out);
    out.put_u64_le(crc);
    out.freeze()
}

/// Writes `value` as an RDB file holds a key: its type byte, then `key` (a DUMP payload has
/// none), then the object.
pub fn put_object(out: &mut BytesMut, key: Option<&[u8]>, value: &Value) {
    out.put_u8(match value {
        Value::Str(_) | Value::RawStr(_) => t::STRING,
        Value::List(_) => t::LIST,
        Value::Set(_) => t::SET,
        Value::ZSet(_) => t::ZSET_2,
        Value::Hash(_) => t::HASH,
        Value::Stream(_) => t::STREAM_LISTPACKS_2,
    });
    if let Some(key) = key {
        put_string(out, key);
    }
    match value {
        Value::Str(s) | Value::RawStr(s) => put_string(out, s),
        Value::List(items) => {
            put_len(out, items.len() as u64);
            items.iter().for_each(|item| put_string(out, item));
        }
        Value::Set(members) => {
            put_len(out, members.len() as u64);
            members.iter().for_each(|member| put_string(out, member));
        }
        Value::ZSet(zset) => {
            put_len(out, zset.len() as u64);
            for (member, score) in zset.iter() {
                put_string(out, member);
                out.put_f64_le(score);
            }
        }
        Value::Hash(fields) => {
            put_len(out, fields.len() as u64);
            for (field, value) in fields.iter() {
                put_string(out, field);
                put_string(out, value);
            }
        }
        Value::Stream(s) => stream::encode(out, s),
    }
}

/// An RDB length in the shortest of its forms.
pub fn put_len(out: &mut BytesMut, len: u64) {
    match len {
        0..=0x3f => out.put_u8(len as u8),
        0x40..=0x3fff => out.put_u16(u16::from(LEN_14BIT) << 8 | len as u16),
        _ => match u32::try_from(len) {
            Ok(len) => {
                out.put_u8(LEN_32BIT);
                out.put_u32(len);
            }
            Err(_) => {
                out.put_u8(LEN_64BIT);
                out.put_u64(len);
            }
        },
    }
}

/// A string, integer-encoded when it is the canonical text of a 32-bit integer (as Redis's
/// `rdbTryIntegerEncoding` does), else raw.
pub fn put_string(out: &mut BytesMut, s: &[u8]) {
    match parse_i64(s) {
        Some(v) if i8::try_from(v).is_ok() => {
            out.put_u8(ENC_INT8);
            out.put_i8(v as i8);
        }
        Some(v) if i16::try_from(v).is_ok() => {
            out.put_u8(ENC_INT16);
            out.put_i16_le(v as i16);
        }
        Some(v) if i32::try_from(v).is_ok() => {
            out.put_u8(ENC_INT32);
            out.put_i32_le(v as i32);
        }
        _ => {
            put_len(out, s.len() as u64);
            out.put_slice(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::super::{restore, PayloadError};
    use super::*;
    use crate::db::value::{Hash, Set};
    use crate::db::zset::ZSet;

    /// A payload Redis 7.0.15 made: `SET k hello; DUMP k`.
    const REDIS_STRING: &[u8] = b"\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a";

    #[test]
    fn matches_redis_for_a_plain_string() {
        assert_eq!(
            &dump(&Value::Str(Bytes::from_static(b"hello")))[..],
            REDIS_STRING
        );
    }

    #[test]
    fn encodes_lengths_and_integers_like_redis() {
        let mut out = BytesMut::new();
        for len in [5, 300, 70000, 1 << 33] {
            put_len(&mut out, len);
        }
        let expected: &[u8] = &[
            0x05, 0x41, 0x2c, 0x80, 0, 1, 0x11, 0x70, 0x81, 0, 0, 0, 2, 0, 0, 0, 0,
        ];
        assert_eq!(&out[..], expected);
        let mut out = BytesMut::new();
        for s in ["-2", "12345", "-2147483648", "2147483648", "007"] {
            put_string(&mut out, s.as_bytes());
        }
        let expected: &[u8] = b"\xc0\xfe\xc1\x39\x30\xc2\x00\x00\x00\x80\x0a2147483648\x03007";
        assert_eq!(&out[..], expected);
    }

    /// A value's elements in a fixed order (a set's iteration order is not).
    fn sorted(value: &Value) -> Vec<Bytes> {
        let mut items: Vec<Bytes> = match value {
            Value::Str(s) | Value::RawStr(s) => vec![s.clone()],
            Value::Stream(_) => Vec::new(),
            Value::List(l) => return l.iter().cloned().collect(),
            Value::Set(s) => s.iter().cloned().collect(),
            Value::Hash(h) => return h.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect(),
            Value::ZSet(z) => {
                return z
                    .iter()
                    .map(|(m, s)| Bytes::from(format!("{m:?}{s}")))
                    .collect()
            }
        };
        items.sort();
        items
    }

    #[test]
    fn round_trips_every_type() {
        let mut hash = Hash::default();
        hash.insert(Bytes::from_static(b"f"), Bytes::from_static(b"v"));
        hash.insert(Bytes::from_static(b"n"), Bytes::from_static(b"42"));
        let mut zset = ZSet::default();
        zset.insert(Bytes::from_static(b"m"), 1.5);
        zset.insert(Bytes::from_static(b"low"), f64::NEG_INFINITY);
        let set: Set<Bytes> = ["1", "x"].iter().map(|s| Bytes::from(*s)).collect();
        let list: VecDeque<Bytes> = ["a", "7", ""].iter().map(|s| Bytes::from(*s)).collect();
        for value in [
            Value::Str(Bytes::from_static(b"hello")),
            Value::Str(Bytes::from_static(b"-77")),
            Value::Hash(Box::new(hash)),
            Value::ZSet(Box::new(zset)),
            Value::Set(Box::new(set)),
            Value::List(Box::new(list)),
        ] {
            let payload = dump(&value);
            let back = restore(&payload).unwrap();
            assert_eq!(
                format!("{:?}", sorted(&back)),
                format!("{:?}", sorted(&value))
            );
            let mut bad = payload.to_vec();
            bad[1] ^= 0xff;
            assert_eq!(restore(&bad).unwrap_err(), PayloadError::VersionOrChecksum);
        }
        assert_eq!(
            restore(b"short").unwrap_err(),
            PayloadError::VersionOrChecksum
        );
    }
}
