//! DUMP payloads in Redis 7.0's own format, so RESTORE and MIGRATE work between us and a
//! real redis-server in both directions: `<rdb type><rdb-encoded object><RDB version, 2
//! bytes LE><CRC-64 of everything before, 8 bytes LE>`.
//!
//! - `reader`: RDB lengths, strings (raw, integer, LZF) and doubles, bounds-checked.
//! - `lzf`: LZF decompression (Redis compresses strings longer than 20 bytes).
//! - `listpack`, `ziplist`: the packed encodings of small lists, hashes, sets and zsets,
//!   read; listpacks also written (stream nodes).
//! - `stream`: streams (RDB_TYPE_STREAM_LISTPACKS and _2): listpack nodes, counters,
//!   consumer groups with their pending entries and consumers.
//! - `restore`: every object type Redis 7.0 loads (except modules).
//! - `dump`: the simplest encodings Redis 7.0 loads back into the same value.
//!
//! The RDB file ([`crate::replication::snapshot`]) holds its keys' objects in these same
//! encodings.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod dump;
mod listpack;
mod lzf;
mod reader;
mod restore;
mod stream;
mod ziplist;

pub use dump::{dump, put_len, put_object, put_string};
pub use reader::Reader;
pub use restore::{object as read_object, restore};

/// The RDB version Redis 7.0 writes (and the newest it accepts).
const RDB_VERSION: u16 = 10;
/// The version and the checksum after the object.
const FOOTER_LEN: usize = 2 + 8;

/// Redis's RDB object type bytes (`RDB_TYPE_*`).
mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
}

/// Why RESTORE refuses a payload; `Display` is the error reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("ERR DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    #[error("ERR Bad data format")]
    BadData,
}

/// A parse step: any malformed body is [`PayloadError::BadData`].
type Parse<T> = Result<T, PayloadError>;
