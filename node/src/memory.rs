//! Memory accounting and eviction. [`Counting`], a global allocator over jemalloc (as Redis
//! uses: tight size classes, no per-chunk header, little fragmentation), gives
//! `used_memory` the way Redis's zmalloc does; [`ensure_room`] evicts keys by
//! `maxmemory-policy` (sampling `maxmemory-samples` keys) before a command that may grow
//! memory.
//!
//! The library does not install the allocator: each binary that runs a node
//! (`slotgate-node`, and `slotgate` for `slotgate node`) declares it with
//! `#[global_allocator]`. Each thread counts into its own cell and folds the count into the
//! shared total once it drifts by [`FOLD_BYTES`], so an allocation costs no shared atomic;
//! [`used`] is exact to within that drift per thread.
//!
//! As in Redis, the Lua VMs' memory is not part of `used_memory` (Redis allocates it
//! outside zmalloc): the scripting engine reports what its states hold ([`add_lua`]), and
//! [`used`] leaves it out, so scripts' garbage neither triggers eviction nor shows up as
//! data. INFO shows it as `used_memory_lua`.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

use tikv_jemallocator::Jemalloc;

use crate::state::State;

/// jemalloc, counting live bytes.
pub struct Counting;

/// A thread's unfolded count is added to [`USED`] once it reaches this many bytes either way.
const FOLD_BYTES: isize = 64 * 1024;

static USED: AtomicIsize = AtomicIsize::new(0);
/// Bytes held by the Lua states (also counted in [`USED`]).
static LUA: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// This thread's allocations minus deallocations not yet in [`USED`]. No destructor, so
    /// allocations made while the thread exits still reach it.
    static DRIFT: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let folded = DRIFT
        .try_with(|drift| {
            let now = drift.get() + delta;
            if now.abs() >= FOLD_BYTES {
                drift.set(0);
                now
            } else {
                drift.set(now);
                0
            }
        })
        .unwrap_or(delta);
    if folded != 0 {
        USED.fetch_add(folded, Ordering::Relaxed);
    }
}

// SAFETY: forwards to jemalloc unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        Jemalloc.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        Jemalloc.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        Jemalloc.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        Jemalloc.realloc(ptr, layout, new_size)
    }
}

/// Bytes currently allocated, the Lua states' aside (0 when the binary does not install
/// [`Counting`]).
pub fn used() -> usize {
    (USED.load(Ordering::Relaxed) - LUA.load(Ordering::Relaxed)).max(0) as usize
}

/// A Lua state grew (or, negative, shrank or was dropped) by `delta` bytes.
pub fn add_lua(delta: isize) {
    LUA.fetch_add(delta, Ordering::Relaxed);
}

/// Bytes the Lua states hold.
pub fn lua() -> usize {
    LUA.load(Ordering::Relaxed).max(0) as usize
}

/// Resident set size from /proc, in bytes.
pub fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Evicts until memory is under `maxmemory`; false when that is impossible (OOM).
pub fn ensure_room(state: &mut State) -> bool {
    let limit = state.config.hot().maxmemory as usize;
    if limit == 0 || used() <= limit {
        return true;
    }
    let policy = state.config.get("maxmemory-policy").to_owned();
    if policy == "noeviction" {
        return false;
    }
    let volatile_only = policy.starts_with("volatile");
    let samples = state.config.get_int("maxmemory-samples").max(1) as usize;
    while used() > limit {
        let Some((db, key)) = pick_victim(state, volatile_only, &policy, samples) else {
            return false;
        };
        state.dbs[db].remove(&key);
        state.stats.evicted_keys += 1;
        state.propagate(db, &[bytes::Bytes::from_static(b"DEL"), key]);
    }
    true
}

/// Samples keys and picks the best victim for `policy` (ttl: soonest deadline; lru/lfu
/// approximated by random sampling, as there is no access clock yet).
fn pick_victim(
    state: &mut State,
    volatile_only: bool,
    policy: &str,
    samples: usize,
) -> Option<(usize, bytes::Bytes)> {
    let now = crate::state::now_ms();
    let mut best: Option<(usize, bytes::Bytes, i64)> = None;
    for (index, db) in state.dbs.iter_mut().enumerate() {
        if db.is_empty() || volatile_only && db.volatile() == 0 {
            continue;
        }
        for _ in 0..samples * 4 {
            let Some(key) = db.random_key(now) else { break };
            let deadline = db.get(&key, now).and_then(|e| e.expire_at);
            if volatile_only && deadline.is_none() {
                continue;
            }
            let rank = if policy == "volatile-ttl" {
                deadline.unwrap_or(i64::MAX)
            } else {
                0
            };
            if best.as_ref().is_none_or(|b| rank < b.2) {
                best = Some((index, key, rank));
            }
        }
        if best.is_some() {
            break;
        }
    }
    best.map(|(db, key, _)| (db, key))
}
