//! [`State`]: everything commands share — config, databases, pub/sub, blocked clients, the
//! AOF, statistics, the client registry — behind one mutex ([`Shared::state`]). A
//! connection locks it once per batch of pipelined commands, so every command is atomic and
//! MULTI/EXEC isolated, exactly as in Redis's single-threaded model; with `io-threads` above
//! 1, parsing and socket I/O run in parallel on that many threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::aof::Aof;
use crate::blocking::Blocked;
use crate::client::Mailbox;
use crate::config::Config;
use crate::db::{Db, Map};
use crate::pubsub::PubSub;

/// Counters INFO stats shows.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: u64,
    pub commands: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Error replies by their code (INFO errorstats).
    pub errors: crate::info::ErrorStats,
    /// Calls, time and errors per command (INFO commandstats).
    pub commands_by_name: crate::info::CommandStats,
}

/// What CLIENT LIST / KILL know about a connection; `visible` and `last_active` are
/// refreshed after each batch of its commands.
#[derive(Debug, Clone)]
pub struct ClientMeta {
    pub addr: String,
    pub laddr: String,
    pub name: Option<Bytes>,
    pub created: Instant,
    /// When its last batch of commands started (CLIENT LIST `idle`).
    pub last_active: Instant,
    pub visible: crate::client::Visible,
    /// Parked on a blocking command (flag `b`).
    pub blocked: bool,
    pub mailbox: Mailbox,
}

/// The shared server state.
pub struct State {
    pub config: Config,
    pub dbs: Vec<Db>,
    pub pubsub: PubSub,
    pub blocked: Blocked,
    pub aof: Option<Aof>,
    pub stats: Stats,
    pub clients: Map<u64, ClientMeta>,
    pub monitors: crate::monitor::Monitors,
    /// Writes since the last save (Redis's `server.dirty`).
    pub dirty: u64,
    pub last_save: i64,
    /// SLOWLOG entries.
    pub slowlog: crate::slowlog::Slowlog,
    /// The snapshot file: BGSAVE in flight, INFO persistence figures.
    pub rdb: crate::rdb::Rdb,
    pub run_id: String,
    pub started: Instant,
    /// A SHUTDOWN was requested.
    pub shutdown: bool,
    /// Cluster mode's state; `None` when `cluster-enabled` is off.
    pub cluster: Option<Box<crate::cluster::state::Cluster>>,
    /// Role, replication ids, the stream to replicas and its backlog.
    pub repl: crate::replication::Replication,
    /// The pause `CLIENT PAUSE` set.
    pub client_pause: crate::pause::ClientPause,
    /// Whether the databases were last told to freeze (see [`crate::pause::holds`]).
    pub keyspace_frozen: bool,
    /// The Lua script cache: lowercase SHA1 hex → body (EVAL, SCRIPT LOAD; SCRIPT FLUSH).
    pub scripts: Map<Bytes, Bytes>,
    /// ACL users, who each client is, the ACL LOG.
    pub acl: crate::acl::Acl,
    /// Commands [`State::propagate`] holds back (database, command) while a script or a
    /// transaction (EXEC) runs, to go out together from [`State::release_propagation`].
    held: Option<Vec<(usize, Vec<Bytes>)>>,
}

impl State {
    pub fn new(config: Config) -> State {
        let databases = config.get_int("databases").max(1) as usize;
        let repl = crate::replication::Replication::new(config.get("replicaof"));
        let acl = crate::acl::Acl::new(config.get("requirepass"));
        State {
            config,
            dbs: (0..databases).map(|_| Db::default()).collect(),
            pubsub: PubSub::default(),
            blocked: Blocked::default(),
            aof: None,
            stats: Stats::default(),
            clients: Map::default(),
            monitors: Default::default(),
            dirty: 0,
            last_save: now_ms() / 1000,
            rdb: crate::rdb::Rdb::default(),
            slowlog: crate::slowlog::Slowlog::default(),
            run_id: (0..40)
                .map(|_| char::from(b"0123456789abcdef"[rand::random::<usize>() % 16]))
                .collect(),
            started: Instant::now(),
            shutdown: false,
            cluster: None,
            repl,
            client_pause: Default::default(),
            keyspace_frozen: false,
            scripts: Map::default(),
            acl,
            held: None,
        }
    }

    /// The write-propagation hook: every change, as the command that reproduces it, goes
    /// to the AOF (and, later, to replicas) from here.
    pub fn propagate(&mut self, db: usize, args: &[Bytes]) {
        if let Some(held) = &mut self.held {
            held.push((db, args.to_vec()));
            return;
        }
        if let Some(aof) = &mut self.aof {
            aof.append(db, args);
        }
        self.repl.feed(db, args);
    }

    /// Starts holding back what is propagated, for a unit that must reach the AOF and the
    /// replicas as one transaction (a script's effects, an EXEC's — a client's, or the
    /// master's stream applied on a replica). False when already holding: the outer unit
    /// releases everything.
    pub fn hold_propagation(&mut self) -> bool {
        if self.held.is_some() {
            return false;
        }
        self.held = Some(Vec::new());
        true
    }

    /// Propagates what was held since [`State::hold_propagation`] as Redis 7.0's
    /// `propagatePendingCommands` does: several commands wrapped in `MULTI` … `EXEC` (MULTI
    /// in the first command's database, EXEC in the last's, so no extra SELECT), one alone,
    /// none not at all. True when something was propagated.
    pub fn release_propagation(&mut self) -> bool {
        let Some(held) = self.held.take() else {
            return false;
        };
        let (Some((first, _)), Some((last, _))) = (held.first(), held.last()) else {
            return false;
        };
        let (first, last, wrap) = (*first, *last, held.len() > 1);
        if wrap {
            self.propagate(first, &[Bytes::from_static(b"MULTI")]);
        }
        for (db, args) in &held {
            self.propagate(*db, args);
        }
        if wrap {
            self.propagate(last, &[Bytes::from_static(b"EXEC")]);
        }
        true
    }

    /// Propagates the DELs of keys that expired in `db` since the last call.
    pub fn propagate_expired(&mut self, db: usize) {
        let expired = self.dbs[db].take_expired();
        self.stats.expired_keys += expired.len() as u64;
        for key in expired {
            self.propagate(db, &[Bytes::from_static(b"DEL"), key]);
        }
    }
}

/// The state plus what lives outside the lock.
pub struct Shared {
    pub state: Mutex<State>,
    pub next_client_id: AtomicU64,
    /// Wakes the accept loop when SHUTDOWN runs.
    pub shutdown: tokio::sync::Notify,
}

impl Shared {
    pub fn new(state: State) -> Shared {
        Shared {
            state: Mutex::new(state),
            next_client_id: AtomicU64::new(1),
            shutdown: tokio::sync::Notify::new(),
        }
    }

    pub fn next_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// The clock of one batch of commands: the wall time is read once, and each command's time
/// follows from the monotonic instant it started at — the end of the command before, which
/// the slowlog reads anyway — so a command costs one clock read instead of four.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    unix_us: i64,
    base: Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            unix_us: now_us(),
            base: Instant::now(),
        }
    }

    /// When the batch started.
    pub fn base(&self) -> Instant {
        self.base
    }

    /// Unix time in milliseconds at `at`.
    pub fn unix_ms(&self, at: Instant) -> i64 {
        let since = at.saturating_duration_since(self.base).as_micros() as i64;
        (self.unix_us + since) / 1000
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix time in microseconds.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
