//! Our DUMP payload: a value serialized as `type, contents`, then a 2-byte format version
//! and the CRC-64 of everything before it (the same layout as Redis's, with our own value
//! encoding). A payload whose version or checksum is wrong is refused with Redis's text.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::checksum::crc64;
use crate::db::value::{Hash, Set, Value};
use crate::db::zset::ZSet;

const VERSION: u16 = 1;
const FOOTER_LEN: usize = 2 + 8;

/// Why RESTORE refuses a payload; `Display` is the error reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("ERR DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    #[error("ERR Bad data format")]
    BadData,
}

/// Serializes `value`.
pub fn dump(value: &Value) -> Bytes {
    let mut out = BytesMut::new();
    match value {
        Value::Str(s) | Value::RawStr(s) => {
            out.put_u8(0);
            put(&mut out, s);
        }
        Value::List(items) => {
            out.put_u8(1);
            put_all(&mut out, items.iter());
        }
        Value::Set(members) => {
            out.put_u8(2);
            put_all(&mut out, members.iter());
        }
        Value::ZSet(zset) => {
            out.put_u8(3);
            out.put_u32(zset.len() as u32);
            for (member, score) in zset.iter() {
                put(&mut out, member);
                out.put_u64(score.to_bits());
            }
        }
        Value::Hash(fields) => {
            out.put_u8(4);
            out.put_u32(fields.len() as u32);
            for (field, value) in fields.iter() {
                put(&mut out, field);
                put(&mut out, value);
            }
        }
    }
    out.put_u16_le(VERSION);
    let crc = crc64(&out);
    out.put_u64_le(crc);
    out.freeze()
}

fn put(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(bytes.len() as u32);
    out.put_slice(bytes);
}

fn put_all<'a>(out: &mut BytesMut, items: impl ExactSizeIterator<Item = &'a Bytes>) {
    out.put_u32(items.len() as u32);
    items.for_each(|item| put(out, item));
}

/// Reads a payload made by [`dump`].
pub fn restore(payload: &[u8]) -> Result<Value, PayloadError> {
    let split = payload
        .len()
        .checked_sub(FOOTER_LEN)
        .ok_or(PayloadError::VersionOrChecksum)?;
    let (body, mut footer) = payload.split_at(split);
    let version = footer.get_u16_le();
    let crc = footer.get_u64_le();
    let checked = payload
        .get(..split + 2)
        .ok_or(PayloadError::VersionOrChecksum)?;
    if version != VERSION || crc64(checked) != crc {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut reader = Reader(Bytes::copy_from_slice(body));
    let value = reader.value().ok_or(PayloadError::BadData)?;
    if !reader.0.is_empty() {
        return Err(PayloadError::BadData);
    }
    Ok(value)
}

struct Reader(Bytes);

impl Reader {
    fn u32(&mut self) -> Option<u32> {
        (self.0.len() >= 4).then(|| self.0.get_u32())
    }

    fn bytes(&mut self) -> Option<Bytes> {
        let len = self.u32()? as usize;
        (self.0.len() >= len).then(|| self.0.split_to(len))
    }

    fn value(&mut self) -> Option<Value> {
        let kind = *self.0.first()?;
        self.0.advance(1);
        let count = if kind == 0 { 0 } else { self.u32()? as usize };
        let value = match kind {
            0 => Value::Str(self.bytes()?),
            1 => Value::List(Box::new(
                (0..count)
                    .map(|_| self.bytes())
                    .collect::<Option<VecDeque<_>>>()?,
            )),
            2 => Value::Set(Box::new(
                (0..count)
                    .map(|_| self.bytes())
                    .collect::<Option<Set<_>>>()?,
            )),
            3 => {
                let mut zset = ZSet::default();
                for _ in 0..count {
                    let member = self.bytes()?;
                    let score = (self.0.len() >= 8).then(|| f64::from_bits(self.0.get_u64()))?;
                    zset.insert(member, score);
                }
                Value::ZSet(Box::new(zset))
            }
            4 => Value::Hash(Box::new(
                (0..count)
                    .map(|_| Some((self.bytes()?, self.bytes()?)))
                    .collect::<Option<Hash>>()?,
            )),
            _ => return None,
        };
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_corruption() {
        let mut hash = Hash::default();
        hash.insert(Bytes::from_static(b"f"), Bytes::from_static(b"v"));
        let mut zset = ZSet::default();
        zset.insert(Bytes::from_static(b"m"), 1.5);
        for value in [
            Value::Str(Bytes::from_static(b"hello")),
            Value::Hash(Box::new(hash)),
            Value::ZSet(Box::new(zset)),
        ] {
            let payload = dump(&value);
            let back = restore(&payload).unwrap();
            assert_eq!(dump(&back), payload);
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
