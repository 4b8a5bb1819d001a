//! Memory accounting and eviction. A counting global allocator over jemalloc (as Redis
//! uses: tight size classes, no per-chunk header, little fragmentation) gives
//! `used_memory` the way Redis's zmalloc does; [`ensure_room`] evicts keys by `maxmemory-policy` (sampling
//! `maxmemory-samples` keys) before a command that may grow memory.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use tikv_jemallocator::Jemalloc;

use crate::state::State;

/// jemalloc, counting live bytes.
pub struct Counting;

static USED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to jemalloc unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        USED.fetch_add(layout.size(), Ordering::Relaxed);
        Jemalloc.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        USED.fetch_add(layout.size(), Ordering::Relaxed);
        Jemalloc.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
        Jemalloc.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        USED.fetch_add(new_size, Ordering::Relaxed);
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
        Jemalloc.realloc(ptr, layout, new_size)
    }
}

/// Bytes currently allocated.
pub fn used() -> usize {
    USED.load(Ordering::Relaxed)
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
