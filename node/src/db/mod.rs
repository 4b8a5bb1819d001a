//! The keyspace of one database, partitioned by hash slot: 16384 small tables, so cluster
//! mode's COUNTKEYSINSLOT / GETKEYSINSLOT / slot migration touch one table, and SCAN walks
//! slot by slot (its cursor is the next slot). Expiry is lazy (every access checks the
//! deadline) plus [`Db::expire_cycle`], the active sweep. Every mutation goes through
//! [`Db::entry_mut`], [`Db::insert`] or [`Db::remove`], which flag WATCHing clients.
//!
//! Memory: a table slot is one pointer to a [`Node`] holding the key (inline when short)
//! and its [`Entry`] together (one allocation per key instead of a wide bucket at half
//! load), and small string values are copied out of the request buffer so they don't pin
//! it. A key's slot and hash are computed once per access.
//!
//! Layout:
//! - `key`: [`key::Key`], short keys stored inline in their node.
//! - `value`: [`Value`], the six types, encodings, number parsing.
//! - `zset`: [`zset::ZSet`], the sorted set.
//! - `stream`: [`stream::Stream`], the stream with its consumer groups.

mod key;
pub mod stream;
pub mod value;
pub mod zset;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use hashbrown::{hash_table, DefaultHashBuilder, HashTable};
use slotgate_protocol::{key_slot, SLOT_COUNT};

use key::Key;

pub use value::{hash_remove, parse_f64, parse_i64, Hash, Map, Set, Value};

/// A key's value and deadline.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Unix time in ms after which the key is gone; `None` for persistent keys.
    pub expire_at: Option<i64>,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry {
            value,
            expire_at: None,
        }
    }

    fn expired(&self, now: i64) -> bool {
        self.expire_at.is_some_and(|at| at <= now)
    }

    /// Strings shorter than this are copied into their own allocation when stored, so a
    /// value sliced from a request buffer doesn't keep the whole buffer alive.
    const COPY_BELOW: usize = 4096;

    fn detached(mut self) -> Entry {
        if let Value::Str(s) | Value::RawStr(s) = &mut self.value {
            if s.len() < Self::COPY_BELOW {
                *s = standalone(std::mem::take(s));
            }
        }
        self
    }
}

/// `bytes` in an allocation of its own and of its size: kept when it already is one (a value a
/// command built, like INCR's digits), else copied (a slice of a request buffer).
fn standalone(bytes: Bytes) -> Bytes {
    match bytes.try_into_mut() {
        Ok(own) if own.capacity() == own.len() => own.freeze(),
        Ok(own) => Bytes::copy_from_slice(&own),
        Err(shared) => Bytes::copy_from_slice(&shared),
    }
}

/// Flags every client in `watched` WATCHing `key`.
fn flag_watchers(watched: &Map<Bytes, Vec<Arc<AtomicBool>>>, key: &[u8]) {
    if watched.is_empty() {
        return;
    }
    for flag in watched.get(key).into_iter().flatten() {
        flag.store(true, Ordering::Relaxed);
    }
}

/// A stored key with its entry (80 bytes with jemalloc's size classes).
#[derive(Debug)]
struct Node {
    key: Key,
    entry: Entry,
}

type Table = HashTable<Box<Node>>;

/// One hasher for every table of every database (SWAPDB moves tables between them).
static HASHER: LazyLock<DefaultHashBuilder> = LazyLock::new(DefaultHashBuilder::default);

fn hash(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

/// Where a key lives: its slot's table index and its hash.
#[derive(Clone, Copy)]
struct Place {
    slot: usize,
    hash: u64,
}

impl Place {
    fn of(key: &[u8]) -> Place {
        Place {
            slot: key_slot(key).index(),
            hash: hash(key),
        }
    }
}

/// One database (`SELECT n`).
#[derive(Debug, Default)]
pub struct Db {
    /// One table per slot; empty until the first key arrives.
    slots: Vec<Table>,
    keys: usize,
    volatile: usize,
    /// WATCHed keys → the dirty flags of the clients watching them.
    watched: Map<Bytes, Vec<Arc<AtomicBool>>>,
    /// Keys removed by expiry since the last [`Db::take_expired`] (to propagate as DEL).
    expired: Vec<Bytes>,
    /// Where the active expiry sweep resumes.
    sweep_slot: usize,
    /// Clients are paused ([`Db::set_frozen`]): expired keys read as absent but stay.
    frozen: bool,
}

impl Db {
    pub fn len(&self) -> usize {
        self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// Keys that have a deadline.
    pub fn volatile(&self) -> usize {
        self.volatile
    }

    fn node(&self, key: &[u8], at: Place) -> Option<&Node> {
        self.slots
            .get(at.slot)?
            .find(at.hash, |n| *n.key == *key)
            .map(|n| &**n)
    }

    fn node_mut(&mut self, key: &[u8], at: Place) -> Option<&mut Node> {
        self.slots
            .get_mut(at.slot)?
            .find_mut(at.hash, |n| *n.key == *key)
            .map(|n| &mut **n)
    }

    /// While clients are paused the dataset stands still, as Redis 7.0's `expireIfNeeded`
    /// keeps it: a key past its deadline reads as absent but is neither removed nor
    /// propagated as a DEL until the pause ends.
    pub fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
    }

    /// Removes `key` if its deadline has passed (unless the keyspace is frozen); true when it
    /// reads as absent.
    fn expire_if_due(&mut self, key: &[u8], at: Place, now: i64) -> bool {
        let due = match self.node(key, at) {
            None => return true,
            Some(node) => node.entry.expired(now),
        };
        if due && !self.frozen {
            self.remove_at(key, at);
            self.expired.push(Bytes::copy_from_slice(key));
        }
        due
    }

    /// Reads what lookups of `keys` read, and the start of string values, and drops it: run
    /// over a batch of requests before they execute, their cache misses overlap instead of
    /// stalling one after another (the keyspace is far larger than the cache, and those
    /// misses are most of a GET's time). In stages over a few keys at a time — every
    /// table header, then every node, then every value — so each stage's loads are
    /// independent of each other.
    pub fn warm(&self, keys: &[&[u8]]) {
        const AT_ONCE: usize = 16;
        for chunk in keys.chunks(AT_ONCE) {
            let mut places = [Place { slot: 0, hash: 0 }; AT_ONCE];
            for (place, key) in places.iter_mut().zip(chunk) {
                *place = Place::of(key);
                std::hint::black_box(self.slots.get(place.slot).map(Table::len));
            }
            let mut nodes = [None; AT_ONCE];
            for ((node, key), place) in nodes.iter_mut().zip(chunk).zip(places) {
                *node = self.node(key, place);
            }
            for node in nodes.iter().flatten() {
                if let Value::Str(s) = &node.entry.value {
                    std::hint::black_box(s.first());
                }
            }
        }
    }

    /// The live entry under `key`, for reading.
    pub fn get(&mut self, key: &[u8], now: i64) -> Option<&Entry> {
        let at = Place::of(key);
        if self.expire_if_due(key, at, now) {
            return None;
        }
        self.node(key, at).map(|n| &n.entry)
    }

    /// The live entry under `key`, for changing it (WATCHers are flagged). One table lookup.
    pub fn entry_mut(&mut self, key: &[u8], now: i64) -> Option<&mut Entry> {
        self.live_mut(key, now, true)
    }

    /// Like [`Db::entry_mut`] without flagging WATCHers, for a command that may still fail:
    /// it calls [`Db::touch`] once it has changed the entry.
    pub fn entry_mut_unflagged(&mut self, key: &[u8], now: i64) -> Option<&mut Entry> {
        self.live_mut(key, now, false)
    }

    fn live_mut(&mut self, key: &[u8], now: i64, flag: bool) -> Option<&mut Entry> {
        let at = Place::of(key);
        let Db {
            slots,
            watched,
            keys,
            volatile,
            expired,
            frozen,
            ..
        } = self;
        let found = slots
            .get_mut(at.slot)?
            .find_entry(at.hash, |n| *n.key == *key)
            .ok()?;
        if flag {
            flag_watchers(watched, key);
        }
        if !found.get().entry.expired(now) {
            return Some(&mut found.into_mut().entry);
        }
        if *frozen {
            return None;
        }
        let (node, _) = found.remove();
        *keys -= 1;
        *volatile -= usize::from(node.entry.expire_at.is_some());
        expired.push(Bytes::copy_from_slice(key));
        None
    }

    /// The live entry under `key` for changing it, created as `make()` when absent (or
    /// expired): one table lookup either way. WATCHers are flagged.
    pub fn entry_or_insert(&mut self, key: &[u8], now: i64, make: fn() -> Value) -> &mut Entry {
        let at = Place::of(key);
        if self.slots.is_empty() {
            self.slots = (0..SLOT_COUNT).map(|_| Table::default()).collect();
        }
        flag_watchers(&self.watched, key);
        let table = &mut self.slots[at.slot];
        match table.entry(at.hash, |n| *n.key == *key, |n| hash(&n.key)) {
            hash_table::Entry::Occupied(found) => {
                let node = found.into_mut();
                if node.entry.expired(now) {
                    self.volatile -= 1;
                    self.expired.push(Bytes::copy_from_slice(key));
                    node.entry = Entry::new(make());
                }
                &mut node.entry
            }
            hash_table::Entry::Vacant(room) => {
                self.keys += 1;
                let node = Box::new(Node {
                    key: key.into(),
                    entry: Entry::new(make()),
                });
                &mut room.insert(node).into_mut().entry
            }
        }
    }

    /// Stores `entry` under `key` (copying the key out of the request buffer).
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        self.touch(key);
        let at = Place::of(key);
        let volatile = entry.expire_at.is_some();
        let entry = entry.detached();
        if self.slots.is_empty() {
            self.slots = (0..SLOT_COUNT).map(|_| Table::default()).collect();
        }
        let old = match self.node_mut(key, at) {
            Some(node) => Some(std::mem::replace(&mut node.entry, entry)),
            None => {
                let node = Box::new(Node {
                    key: key.into(),
                    entry,
                });
                self.slots[at.slot].insert_unique(at.hash, node, |n| hash(&n.key));
                None
            }
        };
        match &old {
            Some(old) => self.volatile -= usize::from(old.expire_at.is_some()),
            None => self.keys += 1,
        }
        self.volatile += usize::from(volatile);
        old
    }

    /// Removes `key` whatever its deadline.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.remove_at(key, Place::of(key))
    }

    fn remove_at(&mut self, key: &[u8], at: Place) -> Option<Entry> {
        let table = self.slots.get_mut(at.slot)?;
        let (node, _) = table.find_entry(at.hash, |n| *n.key == *key).ok()?.remove();
        self.touch(key);
        self.keys -= 1;
        self.volatile -= usize::from(node.entry.expire_at.is_some());
        Some(node.entry)
    }

    /// Removes `key` if its collection value became empty.
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        let at = Place::of(key);
        let empty = self
            .node(key, at)
            .is_some_and(|n| n.entry.value.is_empty_collection());
        if empty {
            self.remove_at(key, at);
        }
    }

    /// Sets or clears the deadline of a live key; false when the key is absent.
    pub fn set_expire(&mut self, key: &[u8], at: Option<i64>, now: i64) -> bool {
        let Some(entry) = self.entry_mut(key, now) else {
            return false;
        };
        let before = entry.expire_at.is_some();
        entry.expire_at = at;
        self.volatile = self.volatile + usize::from(at.is_some()) - usize::from(before);
        true
    }

    /// Every key (expired ones are skipped, not removed).
    pub fn keys(&self, now: i64) -> impl Iterator<Item = &[u8]> {
        self.entries(now).map(|(k, _)| k)
    }

    /// Every live key with its entry (expired ones are skipped, not removed).
    pub fn entries(&self, now: i64) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.slots
            .iter()
            .flat_map(|t| t.iter())
            .filter(move |n| !n.entry.expired(now))
            .map(|n| (&*n.key, &n.entry))
    }

    /// Live keys of one slot.
    pub fn keys_in_slot(&self, slot: usize, now: i64) -> Vec<Bytes> {
        self.slots.get(slot).map_or_else(Vec::new, |t| {
            t.iter()
                .filter(|n| !n.entry.expired(now))
                .map(|n| Bytes::copy_from_slice(&n.key))
                .collect()
        })
    }

    /// SCAN: whole slots starting at `cursor` until at least `count` keys are gathered;
    /// returns the next cursor (0 at the end).
    pub fn scan(
        &self,
        cursor: usize,
        count: usize,
        now: i64,
        out: &mut Vec<(Bytes, &'static str)>,
    ) -> usize {
        let (mut slot, wanted) = (cursor, out.len() + count);
        while slot < self.slots.len() && out.len() < wanted {
            for n in &self.slots[slot] {
                if !n.entry.expired(now) {
                    out.push((Bytes::copy_from_slice(&n.key), n.entry.value.type_name()));
                }
            }
            slot += 1;
        }
        if slot >= self.slots.len() {
            0
        } else {
            slot
        }
    }

    /// A random live key.
    pub fn random_key(&self, now: i64) -> Option<Bytes> {
        if self.keys == 0 {
            return None;
        }
        let start = rand::random::<usize>() % self.slots.len();
        for i in 0..self.slots.len() {
            let table = &self.slots[(start + i) % self.slots.len()];
            if table.is_empty() {
                continue;
            }
            let pick = rand::random::<usize>() % table.len();
            if let Some(n) = table.iter().nth(pick) {
                if !n.entry.expired(now) {
                    return Some(Bytes::copy_from_slice(&n.key));
                }
            }
        }
        None
    }

    /// The active expiry sweep: examines up to `budget` keys from where the last sweep
    /// stopped and removes the expired ones. Returns how many were removed.
    pub fn expire_cycle(&mut self, now: i64, budget: usize) -> usize {
        if self.volatile == 0 || self.slots.is_empty() {
            return 0;
        }
        let mut seen = 0;
        let mut dead: Vec<Bytes> = Vec::new();
        for _ in 0..self.slots.len() {
            let table = &self.slots[self.sweep_slot];
            seen += table.len();
            dead.extend(
                table
                    .iter()
                    .filter(|n| n.entry.expired(now))
                    .map(|n| Bytes::copy_from_slice(&n.key)),
            );
            self.sweep_slot = (self.sweep_slot + 1) % self.slots.len();
            if seen >= budget {
                break;
            }
        }
        for key in &dead {
            self.remove(key);
        }
        let removed = dead.len();
        self.expired.extend(dead);
        removed
    }

    /// Keys removed by expiry since the last call.
    pub fn take_expired(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.expired)
    }

    /// Drops every key (WATCHers of existing keys are flagged).
    pub fn clear(&mut self) {
        let watched: Vec<Bytes> = self.watched.keys().cloned().collect();
        for key in watched {
            if self.node(&key, Place::of(&key)).is_some() {
                self.touch(&key);
            }
        }
        self.slots = Vec::new();
        self.keys = 0;
        self.volatile = 0;
    }

    /// Flags every client WATCHing `key`.
    pub fn touch(&mut self, key: &[u8]) {
        flag_watchers(&self.watched, key);
    }

    pub fn watch(&mut self, key: &[u8], flag: &Arc<AtomicBool>) {
        self.watched
            .entry(Bytes::copy_from_slice(key))
            .or_default()
            .push(flag.clone());
    }

    pub fn unwatch(&mut self, key: &[u8], flag: &Arc<AtomicBool>) {
        if let Some(flags) = self.watched.get_mut(key) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.watched.remove(key);
            }
        }
    }

    /// Swaps contents with `other` (SWAPDB); WATCH lists stay with their database number.
    pub fn swap_data(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.slots, &mut other.slots);
        std::mem::swap(&mut self.keys, &mut other.keys);
        std::mem::swap(&mut self.volatile, &mut other.volatile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &'static str) -> Entry {
        Entry::new(Value::Str(Bytes::from_static(v.as_bytes())))
    }

    #[test]
    fn lazy_and_active_expiry() {
        let mut db = Db::default();
        db.insert(
            b"a",
            Entry {
                expire_at: Some(100),
                ..s("1")
            },
        );
        db.insert(
            b"b",
            Entry {
                expire_at: Some(100),
                ..s("1")
            },
        );
        db.insert(b"c", s("2"));
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 100).is_none());
        assert_eq!(db.len(), 2);
        assert_eq!(db.expire_cycle(100, 1_000_000), 1);
        assert_eq!(db.len(), 1);
        assert_eq!(db.volatile(), 0);
        assert_eq!(db.take_expired().len(), 2);
    }

    #[test]
    fn scan_visits_every_key_once() {
        let mut db = Db::default();
        for i in 0..500 {
            db.insert(format!("k{i}").as_bytes(), s("v"));
        }
        let (mut cursor, mut all) = (0, Vec::new());
        loop {
            cursor = db.scan(cursor, 10, 0, &mut all);
            if cursor == 0 {
                break;
            }
        }
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 500);
    }

    #[test]
    fn stored_strings_own_exactly_their_bytes() {
        let buffer = Bytes::from_static(b"SET k value");
        let slice = buffer.slice(6..);
        let stored = standalone(slice.clone());
        assert_eq!(stored, slice);
        assert_ne!(stored.as_ptr(), slice.as_ptr());
        let built = Bytes::copy_from_slice(b"42");
        let at = built.as_ptr();
        assert_eq!(standalone(built).as_ptr(), at);
    }

    #[test]
    fn a_node_fits_jemalloc_s_80_byte_class() {
        assert!(std::mem::size_of::<Node>() <= 80);
    }

    #[test]
    fn watch_flags_on_change() {
        let mut db = Db::default();
        let flag = Arc::new(AtomicBool::new(false));
        db.watch(b"k", &flag);
        db.insert(b"other", s("v"));
        assert!(!flag.load(Ordering::Relaxed));
        db.insert(b"k", s("v"));
        assert!(flag.load(Ordering::Relaxed));
    }
}
