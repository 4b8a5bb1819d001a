//! HyperLogLog commands (Redis 7.0's `hyperloglog.c`): PFADD, PFCOUNT, PFMERGE. HLLs are
//! plain string values whose bytes are Redis's exactly ([`registers`]), so GET / SET /
//! DUMP of an HLL interoperate; hashing in [`murmur`], the estimator in [`estimate`].
//! PFDEBUG and PFSELFTEST are not implemented.
//!
//! Like Redis, PFCOUNT on one key stores the estimate in the header when the cache is
//! stale, and that counts as a change: the command is propagated as is (Redis's
//! `server.dirty++` in `pfcountCommand`), although PFCOUNT is not a write command.

mod estimate;
mod murmur;
mod registers;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::db::{Entry, Value};
use crate::reply::{err, int};
use registers::{Corrupt, REGISTERS};

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("pfadd", -2, W, pfadd),
    spec("pfcount", -2, 0, pfcount),
    spec("pfmerge", -2, W, pfmerge),
];

fn not_hll() -> Frame {
    Frame::error("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupted(_: Corrupt) -> Frame {
    Frame::error("INVALIDOBJ Corrupted HLL object detected")
}

fn sparse_max_bytes(ctx: &Ctx) -> u64 {
    ctx.state.config.get_int("hll-sparse-max-bytes").max(0) as u64
}

/// The HLL under `key` for reading (`None` when absent); WRONGTYPE for another type or a
/// string that is not an HLL.
fn read_hll(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Bytes>, Frame> {
    let now = ctx.now;
    match ctx.db().get(key, now) {
        None => Ok(None),
        Some(entry) => {
            let s = entry.value.as_str().ok_or_else(err::wrong_type)?;
            if !registers::is_hll(s) {
                return Err(not_hll());
            }
            Ok(Some(s.clone()))
        }
    }
}

/// The HLL under `key` taken out of its entry for changing (put it back with [`put`]);
/// checked like [`read_hll`].
fn take(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Frame> {
    let now = ctx.now;
    let Some(entry) = ctx.db().entry_mut_unflagged(key, now) else {
        return Ok(None);
    };
    let (Value::Str(s) | Value::RawStr(s)) = &mut entry.value else {
        return Err(err::wrong_type());
    };
    if !registers::is_hll(s) {
        return Err(not_hll());
    }
    Ok(Some(Vec::from(std::mem::take(s))))
}

/// Stores `hll` back under `key` (which [`take`] found), `raw`-encoded, TTL kept.
fn put(ctx: &mut Ctx, key: &[u8], hll: Vec<u8>) {
    let now = ctx.now;
    if let Some(entry) = ctx.db().entry_mut_unflagged(key, now) {
        entry.value = Value::RawStr(Bytes::from(hll));
    }
}

/// PFADD key [element …]: 1 when a register changed or the key was created.
fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let max_bytes = sparse_max_bytes(ctx);
    let key = &args[1];
    let (mut hll, existed) = match take(ctx, key)? {
        Some(hll) => (hll, true),
        None => (registers::new_sparse(), false),
    };
    let mut updated = u64::from(!existed);
    let mut failed = None;
    for element in &args[2..] {
        let (index, count) = murmur::pattern(element);
        match registers::set(&mut hll, index, count, max_bytes) {
            Ok(changed) => updated += u64::from(changed),
            Err(corrupt) => {
                failed = Some(corrupt);
                break;
            }
        }
    }
    if failed.is_none() && updated > 0 {
        registers::invalidate_cache(&mut hll);
    }
    if existed {
        put(ctx, key, hll);
    } else {
        ctx.db()
            .insert(key, Entry::new(Value::RawStr(Bytes::from(hll))));
    }
    if let Some(corrupt) = failed {
        return Err(corrupted(corrupt));
    }
    if updated > 0 {
        ctx.db().touch(key);
        ctx.changed(updated);
    }
    Ok(int(i64::from(updated > 0)))
}

/// PFCOUNT key [key …]: one key answers (and caches) its estimate; several keys the
/// estimate of their union, not cached.
fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() > 2 {
        let mut max = vec![0u8; REGISTERS];
        for key in &args[1..] {
            if let Some(hll) = read_hll(ctx, key)? {
                registers::merge_into(&mut max, &hll).map_err(corrupted)?;
            }
        }
        let card = estimate::count(&registers::raw_histogram(&max));
        return Ok(int(card));
    }
    let key = &args[1];
    let Some(mut hll) = take(ctx, key)? else {
        return Ok(int(0));
    };
    if let Some(card) = registers::cached(&hll) {
        put(ctx, key, hll);
        return Ok(int(card));
    }
    let histogram = match registers::histogram(&hll) {
        Ok(histogram) => histogram,
        Err(corrupt) => {
            put(ctx, key, hll);
            return Err(corrupted(corrupt));
        }
    };
    let card = estimate::count(&histogram);
    registers::set_cache(&mut hll, card);
    put(ctx, key, hll);
    ctx.db().touch(key);
    cache_written(ctx, args);
    Ok(int(card))
}

/// Counts and propagates PFCOUNT's cache update as Redis does for a read-only command
/// that incremented `server.dirty` (the dispatcher only does so for writes).
fn cache_written(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.state.dirty += 1;
    if !ctx.client.loading {
        let db = ctx.client.db;
        ctx.state.propagate(db, args);
        ctx.client.woff = ctx.state.repl.offset();
    }
}

/// PFMERGE destkey [sourcekey …]: `destkey` (itself a source) holds the union; it becomes
/// dense when any source is dense.
fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let max_bytes = sparse_max_bytes(ctx);
    let mut max = vec![0u8; REGISTERS];
    let mut dense = false;
    for key in &args[1..] {
        if let Some(hll) = read_hll(ctx, key)? {
            dense |= registers::encoding(&hll) == registers::DENSE;
            registers::merge_into(&mut max, &hll).map_err(corrupted)?;
        }
    }
    let dest = &args[1];
    let (mut hll, existed) = match take(ctx, dest)? {
        Some(hll) => (hll, true),
        None => (registers::new_sparse(), false),
    };
    let converted = if dense {
        registers::sparse_to_dense(&mut hll)
    } else {
        Ok(())
    };
    if converted.is_ok() {
        for (index, &count) in max.iter().enumerate() {
            if count > 0 {
                // As in Redis, a failure here (a corrupt destination) is ignored.
                let _ = registers::set(&mut hll, index, count, max_bytes);
            }
        }
        registers::invalidate_cache(&mut hll);
    }
    if existed {
        put(ctx, dest, hll);
    } else {
        ctx.db()
            .insert(dest, Entry::new(Value::RawStr(Bytes::from(hll))));
    }
    converted.map_err(corrupted)?;
    ctx.db().touch(dest);
    ctx.changed(1);
    Ok(Frame::Simple(Bytes::from_static(b"OK")))
}
