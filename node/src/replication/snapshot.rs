//! The full-resync snapshot, which is also the `dump.rdb` file: Redis 7.0's RDB format
//! (version 10), so `redis-check-rdb`, `redis-cli --rdb` and redis-server itself read what
//! we write, and we load what redis-server writes.
//!
//! Written: `REDIS0010`; aux fields (`redis-ver`, `redis-bits`, `ctime`, `used-mem`,
//! `repl-stream-db`: the database the replication stream has selected at the snapshot's
//! offset, so a replica of a replica continues in it, and `aof-base`); per non-empty
//! database SELECTDB and RESIZEDB; per key an EXPIRETIME_MS when it has a TTL, then the
//! value's RDB type, the key and the object, encoded as a DUMP payload encodes it
//! ([`crate::cluster::payload`]); then EOF and the CRC-64 of everything before it.
//!
//! Read: every opcode Redis 7.0 writes — aux fields (kept: `repl-stream-db`), RESIZEDB,
//! EXPIRETIME in seconds or ms, IDLE and FREQ (skipped) — and every object type the DUMP
//! reader knows. Functions and module data are refused with a clear error; keys that are
//! empty collections are skipped, as Redis skips them. A checksum of zero means "not
//! computed" (`rdbchecksum no`). Every length is bounds-checked, so a corrupt or hostile
//! file is an error, never a panic.

use bytes::{BufMut, Bytes, BytesMut};

use crate::cluster::checksum::crc64;
use crate::cluster::payload::{put_len, put_object, put_string, read_object, PayloadError, Reader};
use crate::db::{Db, Entry};
use crate::state::{now_ms, State};

const MAGIC: &[u8] = b"REDIS";
/// The RDB version written, and the newest one read.
const VERSION: u32 = 10;

/// RDB opcodes (`RDB_OPCODE_*`).
mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Why a snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not an RDB file (bad signature)")]
    Magic,
    #[error("RDB version {0} is newer than this server reads (10)")]
    Version(u32),
    #[error("RDB checksum mismatch")]
    Checksum,
    #[error("RDB file truncated or malformed")]
    Malformed,
    #[error("RDB holds functions or module data, which this server does not support")]
    Unsupported,
    #[error("RDB holds database {0}, beyond `databases`")]
    Database(usize),
}

impl From<PayloadError> for SnapshotError {
    fn from(_: PayloadError) -> SnapshotError {
        SnapshotError::Malformed
    }
}

/// Serialises every live key of every database; `stream_db` is the database selected in
/// the replication stream at this point.
pub fn write(state: &State, stream_db: usize) -> Vec<u8> {
    let now = now_ms();
    let mut out =
        BytesMut::with_capacity(1024 + state.dbs.iter().map(|d| d.len() * 32).sum::<usize>());
    out.put_slice(MAGIC);
    out.put_slice(format!("{VERSION:04}").as_bytes());
    let aux = [
        ("redis-ver", "7.0.15".to_owned()),
        ("redis-bits", "64".to_owned()),
        ("ctime", (now / 1000).to_string()),
        ("used-mem", crate::memory::used().to_string()),
        ("repl-stream-db", stream_db.to_string()),
        ("aof-base", "0".to_owned()),
    ];
    for (name, value) in aux {
        out.put_u8(opcode::AUX);
        put_string(&mut out, name.as_bytes());
        put_string(&mut out, value.as_bytes());
    }
    for (index, db) in state.dbs.iter().enumerate() {
        let (keys, expiring) = db.entries(now).fold((0, 0), |(keys, expiring), (_, e)| {
            (keys + 1, expiring + usize::from(e.expire_at.is_some()))
        });
        if keys == 0 {
            continue;
        }
        out.put_u8(opcode::SELECTDB);
        put_len(&mut out, index as u64);
        out.put_u8(opcode::RESIZEDB);
        put_len(&mut out, keys as u64);
        put_len(&mut out, expiring as u64);
        for (key, entry) in db.entries(now) {
            if let Some(at) = entry.expire_at {
                out.put_u8(opcode::EXPIRETIME_MS);
                out.put_i64_le(at);
            }
            put_object(&mut out, Some(key), &entry.value);
        }
    }
    out.put_u8(opcode::EOF);
    let sum = crc64(&out);
    out.put_u64_le(sum);
    out.into()
}

/// Parses a snapshot into `databases` fresh databases and the stream's database.
pub fn read(data: &[u8], databases: usize) -> Result<(Vec<Db>, usize), SnapshotError> {
    let body_len = data.len().checked_sub(8).ok_or(SnapshotError::Malformed)?;
    let (body, sum) = data.split_at(body_len);
    let version = header_version(body)?;
    if version > VERSION {
        return Err(SnapshotError::Version(version));
    }
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| SnapshotError::Malformed)?);
    if sum != 0 && crc64(body) != sum {
        return Err(SnapshotError::Checksum);
    }
    let mut dbs: Vec<Db> = (0..databases).map(|_| Db::default()).collect();
    let mut r = Reader::new(Bytes::copy_from_slice(&body[MAGIC.len() + 4..]));
    let mut current = 0usize;
    let mut stream_db = 0usize;
    let mut expire_at = None;
    loop {
        match r.u8()? {
            opcode::EOF if r.is_empty() => return Ok((dbs, stream_db)),
            opcode::EOF => return Err(SnapshotError::Malformed),
            opcode::AUX => {
                let name = r.string()?;
                let value = r.string()?;
                if &name[..] == b"repl-stream-db" {
                    stream_db = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .filter(|db| *db < databases)
                        .ok_or(SnapshotError::Malformed)?;
                }
            }
            opcode::SELECTDB => {
                current = r.len()?;
                if current >= databases {
                    return Err(SnapshotError::Database(current));
                }
            }
            opcode::RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            opcode::EXPIRETIME_MS => expire_at = Some(le_i64(&r.take(8)?)),
            opcode::EXPIRETIME => {
                let seconds = u32::from_le_bytes(fixed(&r.take(4)?)?);
                expire_at = Some(i64::from(seconds) * 1000);
            }
            opcode::IDLE => {
                r.len()?;
            }
            opcode::FREQ => {
                r.u8()?;
            }
            opcode::FUNCTION | opcode::FUNCTION2 | opcode::MODULE_AUX => {
                return Err(SnapshotError::Unsupported)
            }
            kind => {
                let key = r.string()?;
                let value = read_object(kind, &mut r)?;
                let entry = Entry {
                    value,
                    expire_at: expire_at.take(),
                };
                if !entry.value.is_empty_collection() {
                    dbs[current].insert(&key, entry);
                }
            }
        }
    }
}

/// The version in `REDIS<4 digits>`.
fn header_version(body: &[u8]) -> Result<u32, SnapshotError> {
    let digits = body
        .strip_prefix(MAGIC)
        .and_then(|rest| rest.get(..4))
        .filter(|d| d.iter().all(u8::is_ascii_digit))
        .ok_or(SnapshotError::Magic)?;
    Ok(digits.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], SnapshotError> {
    bytes.try_into().map_err(|_| SnapshotError::Malformed)
}

fn le_i64(bytes: &[u8]) -> i64 {
    fixed(bytes).map_or(0, i64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::db::zset::ZSet;
    use crate::db::{Hash, Value};

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
        assert!(data.starts_with(b"REDIS0010"));
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
    fn corruption_is_an_error_not_a_panic() {
        let state = sample();
        let data = write(&state, 0);
        let mut flipped = data.clone();
        flipped[MAGIC.len() + 6] ^= 1;
        assert!(matches!(read(&flipped, 16), Err(SnapshotError::Checksum)));
        for cut in 0..data.len() {
            assert!(read(&data[..cut], 16).is_err());
        }
        assert!(matches!(read(&data, 2), Err(SnapshotError::Database(3))));
        let mut newer = data.clone();
        newer[8] = b'9';
        assert!(matches!(read(&newer, 16), Err(SnapshotError::Version(19))));
    }

    #[test]
    fn crc64_matches_redis() {
        // Redis's crc64 test vector.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }
}
