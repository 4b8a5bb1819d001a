//! Values stored under keys: the six Redis types, with their `TYPE` names, `OBJECT
//! ENCODING` names (chosen by Redis's size thresholds), and a memory estimate.

use std::collections::VecDeque;

use bytes::Bytes;

use super::stream::Stream;
use super::zset::ZSet;
use crate::config::Config;

pub type Map<K, V> = hashbrown::HashMap<K, V>;
pub type Set<K> = hashbrown::HashSet<K>;

/// A hash's fields in insertion order: Redis keeps small hashes in a listpack, whose order
/// HGETALL / HKEYS / HSCAN show, so ours must keep it too.
pub type Hash = indexmap::IndexMap<Bytes, Bytes, hashbrown::DefaultHashBuilder>;

/// Up to this many fields a removal keeps the order (a listpack's, in Redis); past it the
/// hash is a hashtable in Redis, with no order to keep, and removal is O(1).
const ORDERED_REMOVAL_UP_TO: usize = 1024;

/// Removes `field` from `hash` (see [`ORDERED_REMOVAL_UP_TO`]).
pub fn hash_remove(hash: &mut Hash, field: &[u8]) -> Option<Bytes> {
    if hash.len() <= ORDERED_REMOVAL_UP_TO {
        hash.shift_remove(field)
    } else {
        hash.swap_remove(field)
    }
}

/// A value of any type.
#[derive(Debug, Clone)]
pub enum Value {
    Str(Bytes),
    /// A string Redis holds `raw`-encoded whatever its length or content: what APPEND or
    /// SETRANGE leave on an existing value (Redis edits its `sds` in place). Only
    /// `OBJECT ENCODING` tells it from [`Value::Str`]; copies (snapshots, DUMP) are `Str`.
    RawStr(Bytes),
    Hash(Box<Hash>),
    List(Box<VecDeque<Bytes>>),
    Set(Box<Set<Bytes>>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

impl Value {
    /// The name `TYPE` answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) | Value::RawStr(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name `OBJECT ENCODING` answers, by Redis 7.0's rules.
    pub fn encoding(&self, config: &Config) -> &'static str {
        let small = |n: usize, longest: usize, entries: &str, value: &str| {
            n as i64 <= config.get_int(entries) && longest as i64 <= config.get_int(value)
        };
        match self {
            Value::Str(s) if s.len() <= 20 && parse_i64(s).is_some() => "int",
            Value::Str(s) if s.len() <= 44 => "embstr",
            Value::Str(_) | Value::RawStr(_) => "raw",
            Value::List(_) => "quicklist",
            Value::Stream(_) => "stream",
            Value::Hash(h) => {
                let longest = h
                    .iter()
                    .map(|(k, v)| k.len().max(v.len()))
                    .max()
                    .unwrap_or(0);
                if small(
                    h.len(),
                    longest,
                    "hash-max-listpack-entries",
                    "hash-max-listpack-value",
                ) {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => {
                let ints = s.iter().all(|m| parse_i64(m).is_some());
                if ints && s.len() as i64 <= config.get_int("set-max-intset-entries") {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if !z.is_skiplist()
                    && small(
                        z.len(),
                        z.longest_member(),
                        "zset-max-listpack-entries",
                        "zset-max-listpack-value",
                    )
                {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
        }
    }

    pub fn as_str(&self) -> Option<&Bytes> {
        match self {
            Value::Str(s) | Value::RawStr(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_hash(&self) -> Option<&Hash> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    pub fn as_hash_mut(&mut self) -> Option<&mut Hash> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&VecDeque<Bytes>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_list_mut(&mut self) -> Option<&mut VecDeque<Bytes>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_set(&self) -> Option<&Set<Bytes>> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_set_mut(&mut self) -> Option<&mut Set<Bytes>> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_zset(&self) -> Option<&ZSet> {
        match self {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }

    pub fn as_zset_mut(&mut self) -> Option<&mut ZSet> {
        match self {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }

    pub fn as_stream(&self) -> Option<&Stream> {
        match self {
            Value::Stream(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_stream_mut(&mut self) -> Option<&mut Stream> {
        match self {
            Value::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// Whether a collection became empty (and its key must go, as Redis deletes it; an
    /// empty stream stays).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) | Value::RawStr(_) | Value::Stream(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }

    /// A rough byte count, for `MEMORY USAGE`.
    pub fn memory(&self) -> usize {
        let pair = |a: &Bytes, b: usize| a.len() + b + 48;
        match self {
            Value::Str(s) | Value::RawStr(s) => s.len() + 16,
            Value::Hash(h) => h.iter().map(|(k, v)| pair(k, v.len())).sum(),
            Value::List(l) => l.iter().map(|v| v.len() + 24).sum(),
            Value::Set(s) => s.iter().map(|m| pair(m, 0)).sum(),
            Value::ZSet(z) => z.len() * 96,
            Value::Stream(s) => s.memory(),
        }
    }
}

/// Redis's `string2ll`: a canonical decimal i64 (no `+`, no leading zeros, no spaces).
pub use slotgate_protocol::resp::parse_i64;

/// Redis's `string2ld`-like float parse: rejects spaces, empty and NaN.
pub fn parse_f64(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return None;
    }
    let v: f64 = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => text.parse().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_like_redis() {
        assert_eq!(parse_i64(b"123"), Some(123));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-10"), Some(-10));
        for bad in [
            &b"-9223372036854775809"[..],
            b"00",
            b"-01",
            b"1a",
            b"\xff",
            b"01",
            b"+1",
            b" 1",
            b"",
            b"-",
            b"-0",
            b"9223372036854775808",
            b"1.0",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn floats_like_redis() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
    }
}
