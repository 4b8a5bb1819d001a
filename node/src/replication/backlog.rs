//! The replication stream and its backlog: every byte a master sends its replicas, with
//! Redis's offsets (the first byte ever sent is offset 1; `master_repl_offset` is the offset
//! of the last one). One [`Backlog`] holds the tail of the stream as shared, immutable
//! chunks: the last `repl-backlog-size` bytes for partial resyncs, plus whatever an attached
//! replica has not been sent yet (so a replica busy loading a snapshot is not cut off — up
//! to the `client-output-buffer-limit` hard limit for replicas). Replica sender tasks read
//! from it under its own small lock, never the server's.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, MutexGuard};
use slotgate_protocol::resp::encode_request;
use tokio::sync::Notify;

use crate::db::Map;

/// The tail is sealed into a chunk once it holds this many bytes.
const CHUNK: usize = 16 * 1024;

/// The backlog plus the wake-up for replica sender tasks.
#[derive(Debug, Default)]
pub struct Stream {
    backlog: Mutex<Backlog>,
    /// Woken whenever bytes are added or replicas are dropped.
    pub notify: Notify,
}

impl Stream {
    pub fn lock(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock()
    }

    /// Adds a command (preceded by `SELECT db` when the stream's database differs) and
    /// wakes the senders.
    pub fn feed<A: AsRef<[u8]>>(&self, db: Option<usize>, args: &[A]) {
        let wake = self.lock().feed(db, args);
        if wake {
            self.notify.notify_waiters();
        }
    }

    /// Adds bytes exactly as received from our own master (a replica's stream) and wakes
    /// the senders.
    pub fn append(&self, raw: Bytes) {
        let wake = self.lock().append(raw);
        if wake {
            self.notify.notify_waiters();
        }
    }

    /// Detaches every replica (their senders notice and close the connection).
    pub fn disconnect_all(&self) {
        self.lock().cursors.clear();
        self.notify.notify_waiters();
    }
}

/// The retained tail of the stream.
#[derive(Debug)]
pub struct Backlog {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    /// Offset of the first byte held.
    start: i64,
    /// `master_repl_offset`: offset of the last byte ever added.
    offset: i64,
    /// `repl-backlog-size`.
    size: i64,
    /// Replicas further behind than this are dropped.
    limit: i64,
    /// Redis creates the backlog when the first replica attaches; until then nothing is
    /// recorded and the offset does not move.
    active: bool,
    /// The database the stream last selected (`None`: SELECT before the next command).
    selected: Option<usize>,
    /// Attached replicas → offset of the next byte each must be sent.
    cursors: Map<u64, i64>,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog {
            chunks: VecDeque::new(),
            tail: BytesMut::new(),
            start: 1,
            offset: 0,
            size: 1024 * 1024,
            limit: 256 * 1024 * 1024,
            active: false,
            selected: None,
            cursors: Map::default(),
        }
    }
}

impl Backlog {
    /// `master_repl_offset`.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Creates the backlog (first replica) without losing the current offset.
    pub fn activate(&mut self) {
        if !self.active {
            self.active = true;
            self.start = self.offset + 1;
        }
    }

    /// Starts over at `offset` (a replica after a full sync, or restored at start-up).
    pub fn reset(&mut self, offset: i64) {
        self.chunks.clear();
        self.tail.clear();
        self.offset = offset;
        self.start = offset + 1;
        self.active = true;
        self.selected = None;
    }

    /// Applies `repl-backlog-size` and the replicas' hard output limit.
    pub fn configure(&mut self, size: i64, limit: i64) {
        self.size = size.max(16 * 1024);
        self.limit = if limit > 0 { limit } else { i64::MAX };
    }

    /// Makes the next command start with a SELECT.
    pub fn reselect(&mut self) {
        self.selected = None;
    }

    /// Offset of the oldest byte a partial resync can start from (0 when inactive).
    pub fn first_byte(&self) -> i64 {
        if !self.active {
            return 0;
        }
        self.start.max(self.offset + 1 - self.size)
    }

    /// `repl_backlog_histlen`.
    pub fn histlen(&self) -> i64 {
        if self.active {
            self.offset + 1 - self.first_byte()
        } else {
            0
        }
    }

    /// Whether a replica asking for bytes from `from` on can be served from here.
    pub fn can_continue(&self, from: i64) -> bool {
        self.active && from >= self.first_byte() && from <= self.offset + 1
    }

    fn feed<A: AsRef<[u8]>>(&mut self, db: Option<usize>, args: &[A]) -> bool {
        if !self.active {
            return false;
        }
        let before = self.tail.len();
        if let Some(db) = db.filter(|db| self.selected != Some(*db)) {
            encode_request(&[&b"SELECT"[..], db.to_string().as_bytes()], &mut self.tail);
            self.selected = Some(db);
        }
        encode_request(args, &mut self.tail);
        self.offset += (self.tail.len() - before) as i64;
        if self.tail.len() >= CHUNK {
            self.seal();
        }
        !self.cursors.is_empty()
    }

    fn append(&mut self, raw: Bytes) -> bool {
        if raw.is_empty() {
            return false;
        }
        self.activate();
        self.seal();
        self.offset += raw.len() as i64;
        self.chunks.push_back(raw);
        self.trim();
        !self.cursors.is_empty()
    }

    /// Moves the tail into the chunk list and drops what nobody needs any more.
    fn seal(&mut self) {
        if !self.tail.is_empty() {
            self.chunks.push_back(self.tail.split().freeze());
            self.trim();
        }
    }

    fn trim(&mut self) {
        let limit = self.limit;
        let offset = self.offset;
        self.cursors.retain(|_, next| offset + 1 - *next <= limit);
        let floor = self
            .cursors
            .values()
            .fold(offset + 1 - self.size, |floor, next| floor.min(*next));
        while let Some(front) = self.chunks.front() {
            let end = self.start + front.len() as i64;
            if end > floor {
                break;
            }
            self.start = end;
            self.chunks.pop_front();
        }
    }

    /// Attaches replica `id`, to be sent every byte from `from` on.
    pub fn attach(&mut self, id: u64, from: i64) {
        self.activate();
        self.cursors.insert(id, from);
    }

    pub fn detach(&mut self, id: u64) {
        self.cursors.remove(&id);
    }

    /// The bytes replica `id` has not been sent yet (advancing its cursor); `None` when it
    /// was detached (dropped for lagging, or disconnected on a role change).
    pub fn read(&mut self, id: u64) -> Option<Vec<Bytes>> {
        let from = *self.cursors.get(&id)?;
        let mut out = Vec::new();
        if from > self.offset {
            return Some(out);
        }
        self.seal();
        let mut end = self.offset + 1;
        for chunk in self.chunks.iter().rev() {
            let begin = end - chunk.len() as i64;
            if begin >= from {
                out.push(chunk.clone());
            } else {
                out.push(chunk.slice((from - begin) as usize..));
                break;
            }
            if begin == from {
                break;
            }
            end = begin;
        }
        out.reverse();
        self.cursors.insert(id, self.offset + 1);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(chunks: Vec<Bytes>) -> Vec<u8> {
        chunks.concat()
    }

    #[test]
    fn offsets_count_every_byte_and_select_is_inserted() {
        let mut b = Backlog::default();
        b.feed(Some(0), &["SET", "k", "v"]);
        assert_eq!(b.offset(), 0, "inactive backlog records nothing");
        b.attach(1, 1);
        b.feed(Some(0), &["SET", "k", "v"]);
        let expected =
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert_eq!(b.offset(), expected.len() as i64);
        assert_eq!(joined(b.read(1).unwrap()), expected);
        b.feed(Some(0), &["PING"]);
        assert_eq!(joined(b.read(1).unwrap()), b"*1\r\n$4\r\nPING\r\n");
        assert!(b.read(1).unwrap().is_empty());
    }

    #[test]
    fn partial_resync_window_and_trimming() {
        let mut b = Backlog::default();
        b.configure(16 * 1024, 0);
        b.activate();
        for _ in 0..2000 {
            b.feed(None, &["SET", "key", "value"]);
        }
        let offset = b.offset();
        assert_eq!(b.histlen(), 16 * 1024);
        assert!(b.can_continue(offset + 1));
        assert!(b.can_continue(b.first_byte()));
        assert!(!b.can_continue(b.first_byte() - 1));
        assert!(!b.can_continue(offset + 2));
        b.attach(7, b.first_byte() + 3);
        let bytes = joined(b.read(7).unwrap());
        assert_eq!(bytes.len() as i64, offset + 1 - (b.first_byte() + 3));
    }

    #[test]
    fn lagging_replica_is_kept_until_the_hard_limit() {
        let mut b = Backlog::default();
        b.configure(16 * 1024, 64 * 1024);
        b.attach(1, 1);
        for _ in 0..1000 {
            b.feed(None, &["SET", "key", "value"]);
        }
        assert!(
            b.read(1).is_some(),
            "within the limit the replica keeps its bytes"
        );
        for _ in 0..5000 {
            b.feed(None, &["SET", "key", "value"]);
        }
        assert!(b.read(1).is_none(), "past the limit it is dropped");
    }

    #[test]
    fn raw_appends_keep_offsets() {
        let mut b = Backlog::default();
        b.reset(100);
        b.attach(1, 101);
        b.append(Bytes::from_static(b"*1\r\n$4\r\nPING\r\n"));
        assert_eq!(b.offset(), 114);
        assert_eq!(b.first_byte(), 101);
        assert_eq!(joined(b.read(1).unwrap()), b"*1\r\n$4\r\nPING\r\n");
    }
}
