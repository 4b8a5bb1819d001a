//! Replication, Redis-style: a master streams every write to its replicas as RESP commands;
//! a replica syncs with `PSYNC <replid> <offset>` — a full resync ships a snapshot then the
//! live stream, a partial one continues from the master's backlog — applies the stream
//! without replying, and acknowledges its offset (`REPLCONF ACK`) every second and on
//! `REPLCONF GETACK`, which is what `WAIT` counts.
//!
//! [`Replication`] lives in [`State`] (field `repl`); writes reach it through
//! [`State::propagate`]. The API the cluster (`CLUSTER REPLICATE`, failover) builds on:
//! [`replicate_to`], [`promote`], [`Replication::offset`], [`Replication::replicas`] (acked
//! offsets), [`Replication::master`] and [`Replication::link`] (link state, last I/O).
//!
//! Layout:
//! - `backlog`: the stream and its backlog ring, offsets, per-replica cursors.
//! - `snapshot`: the full-resync snapshot format (our own, CRC-64 checked).
//! - `master`: PSYNC/SYNC and serving an attached replica (stream out, ACKs in).
//! - `link`: the replica side — handshake, sync, applying the stream, ACKs, timeouts.
//! - `task`: the supervisor (connects, reconnects with backoff) and the periodic work.
//! - `wait`: `WAIT numreplicas timeout`.
//! - `record`: the replid/offset saved beside the AOF, for a partial resync after restart.
//! - `commands`: REPLCONF, PSYNC, SYNC, REPLICAOF, SLAVEOF, ROLE, WAIT.
//! - `info`: INFO replication and ROLE's view of it.

mod backlog;
mod commands;
mod info;
mod link;
mod master;
mod record;
pub(crate) mod snapshot;
mod task;
mod wait;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

pub use backlog::Stream;
pub use commands::COMMANDS;
pub use info::render as info;
pub use master::adopt;
pub use task::run;

use slotgate_protocol::Frame;

use crate::client::Client;
use crate::cmd::flag::WRITE;
use crate::cmd::Spec;
use crate::db::Map;
use crate::state::State;

/// Where a replica replicates from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterAddr {
    pub host: String,
    pub port: u16,
}

/// The replica side's link to its master, as `ROLE` names its states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Handshake,
    Sync,
    Connected,
}

/// The replica side's view of its link (INFO's master_* fields).
#[derive(Debug, Clone)]
pub struct Link {
    pub state: LinkState,
    /// Last time anything arrived from the master.
    pub last_io: Option<Instant>,
    pub down_since: Instant,
    /// Offset of the last byte read (applied or not): `slave_read_repl_offset`.
    pub read_offset: i64,
}

/// An attached replica, as the master sees it.
#[derive(Debug, Clone)]
pub struct Replica {
    pub ip: String,
    /// Its `REPLCONF listening-port`.
    pub port: u16,
    /// False while its snapshot is still being sent.
    pub online: bool,
    /// Last offset it acknowledged (`REPLCONF ACK`).
    pub ack_offset: i64,
    pub ack_time: Instant,
}

/// INFO stats counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncStats {
    pub full: u64,
    pub partial_ok: u64,
    pub partial_err: u64,
}

/// Replication state: role, replication ids, the stream, attached replicas, WAITers.
#[derive(Debug)]
pub struct Replication {
    master: Option<MasterAddr>,
    replid: String,
    replid2: String,
    /// Last offset (+1) valid under `replid2`; -1 when there is none.
    second_offset: i64,
    stream: Arc<Stream>,
    replicas: Map<u64, Replica>,
    /// `REPLCONF listening-port` / `ip-address` of connections that have not PSYNCed yet.
    hellos: Map<u64, (Option<u16>, Option<String>)>,
    handoffs: Map<u64, master::Handoff>,
    link: Link,
    waits: wait::Waits,
    pub stats: SyncStats,
    /// Bumped on every change of master; the supervisor watches it and a stale link
    /// refuses to apply anything.
    changes: watch::Sender<u64>,
    /// Whether our data continues `replid`'s history, so PSYNC may try a partial resync
    /// (false on a fresh replica: `PSYNC ? -1`).
    resumable: bool,
    /// The database our master's stream has selected, as of our offset (a replica's
    /// stream continues in it after a reconnection or restart).
    stream_db: usize,
}

impl Replication {
    /// A master with a fresh replication id, or a fresh replica of `replicaof`
    /// (`"host port"`, as the directive reads).
    pub fn new(replicaof: &str) -> Replication {
        let master = parse_addr(replicaof);
        Replication {
            resumable: master.is_none(),
            master,
            replid: new_replid(),
            replid2: "0".repeat(40),
            second_offset: -1,
            stream: Arc::default(),
            replicas: Map::default(),
            hellos: Map::default(),
            handoffs: Map::default(),
            link: Link {
                state: LinkState::Connect,
                last_io: None,
                down_since: Instant::now(),
                read_offset: 0,
            },
            waits: wait::Waits::default(),
            stats: SyncStats::default(),
            changes: watch::channel(0).0,
            stream_db: 0,
        }
    }

    /// The master we replicate from; `None` when we are a master.
    pub fn master(&self) -> Option<&MasterAddr> {
        self.master.as_ref()
    }

    pub fn is_replica(&self) -> bool {
        self.master.is_some()
    }

    /// The replica side's link (state, last I/O, down since).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// `master_repl_offset`: on a master, bytes streamed so far; on a replica, bytes of its
    /// master's stream applied so far.
    pub fn offset(&self) -> i64 {
        self.stream.lock().offset()
    }

    pub fn replid(&self) -> &str {
        &self.replid
    }

    /// Attached replicas (by connection id) with their acknowledged offsets.
    pub fn replicas(&self) -> impl Iterator<Item = &Replica> {
        self.replicas.values()
    }

    /// Replicas whose acknowledged offset has reached `offset`.
    pub fn acked(&self, offset: i64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.online && r.ack_offset >= offset)
            .count()
    }

    /// Writes executed here go to the replicas (a replica's own writes do not: it forwards
    /// its master's stream byte for byte instead).
    pub fn feed(&mut self, db: usize, args: &[bytes::Bytes]) {
        if self.master.is_none() {
            self.stream.feed(Some(db), args);
        }
    }

    /// The supervisor's view of changes of master.
    fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn generation(&self) -> u64 {
        *self.changes.borrow()
    }

    fn changed(&mut self) {
        self.changes.send_modify(|g| *g += 1);
    }

    /// Becomes a replica with `replid` at `offset` after loading a full snapshot.
    fn synced(&mut self, replid: String, offset: i64, db: usize) {
        self.replid = replid;
        self.stream_db = db;
        self.replid2 = "0".repeat(40);
        self.second_offset = -1;
        self.resumable = true;
        self.stream.lock().reset(offset);
        self.stream.disconnect_all();
    }

    /// Keeps our history under `replid2` and starts a new one: a promoted replica's
    /// siblings (and our own sub-replicas) can then still continue partially.
    fn shift_replid(&mut self, replid: String) {
        self.replid2 = std::mem::replace(&mut self.replid, replid);
        self.second_offset = self.offset() + 1;
        self.stream.disconnect_all();
    }
}

/// Starts replicating from `host:port` (REPLICAOF, `CLUSTER REPLICATE`, a demoted master).
/// Our data is kept and offered to the new master for a partial resync (PSYNC with our
/// replid and offset); sub-replicas are disconnected and blocked WAITs answered. Returns
/// false when that is already our master.
pub fn replicate_to(state: &mut State, host: &str, port: u16) -> bool {
    let target = MasterAddr {
        host: host.to_owned(),
        port,
    };
    let repl = &mut state.repl;
    if repl.master.as_ref() == Some(&target) {
        return false;
    }
    tracing::info!("Connecting to MASTER {host}:{port}");
    repl.master = Some(target);
    repl.link.state = LinkState::Connect;
    repl.link.down_since = Instant::now();
    repl.stream.disconnect_all();
    repl.changed();
    wait::serve_all(state);
    true
}

/// Stops replicating and becomes a master (REPLICAOF NO ONE, failover promotion): a new
/// replid, the old one kept as replid2 valid up to our offset, so the old master's other
/// replicas continue partially from us. Returns false when already a master.
pub fn promote(state: &mut State) -> bool {
    let repl = &mut state.repl;
    if repl.master.take().is_none() {
        return false;
    }
    tracing::info!("MASTER MODE enabled");
    repl.shift_replid(new_replid());
    repl.resumable = true;
    repl.stream.lock().reselect();
    repl.link.state = LinkState::Connect;
    repl.changed();
    true
}

/// The READONLY refusal of a write on a read-only replica (`replica-read-only`). The
/// master's own stream never comes through here, and AOF replay is exempt.
pub fn refuse_write(state: &State, client: &Client, spec: &Spec) -> Option<Frame> {
    let refused = spec.has(WRITE)
        && !client.loading
        && state.repl.is_replica()
        && state.config.get_bool("replica-read-only");
    refused.then(|| Frame::error("READONLY You can't write against a read only replica."))
}

/// `"host port"` → address; empty or malformed → none.
fn parse_addr(text: &str) -> Option<MasterAddr> {
    let mut words = text.split_whitespace();
    let host = words.next()?.to_owned();
    let port = words.next()?.parse().ok()?;
    Some(MasterAddr { host, port })
}

/// 40 random hex digits.
fn new_replid() -> String {
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rand::random::<usize>() % 16]))
        .collect()
}
