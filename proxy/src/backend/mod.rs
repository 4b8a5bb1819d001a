//! Backend nodes: the connections requests travel on.
//!
//! A [`Backend`] is the handle of one connection task. Shared backends are multiplexed: many
//! sessions send [`Job`]s to the same handle; the task batches every job queued since its
//! last write into one write, and its reader matches replies to jobs first-in first-out,
//! handing each reply back as the raw bytes of one frame (never a parsed tree). Sessions also
//! spawn private backends of the same kind for pinned work (MULTI, blocking commands).
//!
//! Every connection reads its credentials from the live config when it (re)connects, so a
//! reload applies to new connections; it reports connect failures and broken connections to
//! the [`HealthTable`], and feeds the `slotgate_backend_*` metrics (one clock read per
//! batch written and per batch of replies read).
//!
//! Layout:
//! - `link`: connect + handshake (AUTH / HELLO 3) and one-off queries (CLUSTER SLOTS).
//! - `conn`: the connection task: lazy connect, batched writes, FIFO reply matching,
//!   reconnect with backoff.
//! - `mailbox`: the queue jobs reach a connection task through, and replies a session.
//! - `replica`: the pool's `READONLY` connections to replicas (for `cluster.read_from`).
//! - this file: the message types, the [`Upstream`] every connection shares and the
//!   [`Pool`] of shared connections per node.

mod conn;
mod link;
mod mailbox;
mod replica;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::runtime::Handle;

pub use link::{open, query, LinkSettings};
pub use mailbox::{mailbox, Mailbox, Receiver};

use crate::config::Config;
use crate::health::HealthTable;

/// What every backend connection shares: the live config (read at each connect) and the
/// health table failures are reported to. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub config: Arc<ArcSwap<Config>>,
    pub health: Arc<HealthTable>,
}

impl Upstream {
    /// How to connect and authenticate, per the config in effect now.
    pub fn link(&self) -> LinkSettings {
        LinkSettings::of(&self.config.load().cluster)
    }
}

/// RESP version spoken on a connection; backends speak what their clients speak, so replies
/// are always forwarded as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Resp2 = 0,
    Resp3 = 1,
}

/// Which request (and which part of a split request) a reply belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub seq: u64,
    pub part: u32,
}

/// Why a backend produced no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendError {
    /// The request was never written (no connection): safe to retry.
    NotSent,
    /// The connection broke after the request was written: it may or may not have run.
    Lost,
}

/// What a session's inbox receives for one job.
#[derive(Debug)]
pub struct Reply {
    pub tag: Tag,
    pub result: Result<Bytes, BackendError>,
}

/// Where a reply goes: the session's inbox.
pub type Inbox = Mailbox<Reply>;

/// One request for a backend: its encoded bytes and where its reply goes.
#[derive(Debug)]
pub struct Job {
    /// The encoded request (a RESP array of bulk strings).
    pub payload: Bytes,
    /// Send `ASKING` first (after an ASK redirection); its `+OK` is swallowed.
    pub asking: bool,
    pub tag: Tag,
    pub inbox: Inbox,
}

impl Job {
    fn fail(self, err: BackendError) {
        let _ = self.inbox.send(Reply {
            tag: self.tag,
            result: Err(err),
        });
    }
}

/// Handle of one connection task; cheap to clone.
#[derive(Debug, Clone)]
pub struct Backend {
    jobs: Arc<JobBox>,
}

/// The connection task's job mailbox, closed when the last [`Backend`] handle is dropped
/// (the task then ends).
#[derive(Debug)]
struct JobBox(Mailbox<Job>);

impl Drop for JobBox {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Backend {
    /// Starts a connection task to `addr`; it connects when its first job arrives and ends
    /// when every handle is dropped.
    pub fn spawn(addr: Arc<str>, proto: Proto, upstream: Upstream) -> Backend {
        Backend::spawn_on(&Handle::current(), addr, proto, upstream, false)
    }

    /// Like [`Backend::spawn`], with the task on the given runtime (`readonly`: the
    /// connection sends `READONLY` after connecting, to read from a replica).
    pub fn spawn_on(
        runtime: &Handle,
        addr: Arc<str>,
        proto: Proto,
        upstream: Upstream,
        readonly: bool,
    ) -> Backend {
        let (jobs, rx) = mailbox();
        runtime.spawn(conn::run(addr, proto, upstream, readonly, rx));
        Backend {
            jobs: Arc::new(JobBox(jobs)),
        }
    }

    /// Queues a job; if the task is gone the job fails at once as not sent.
    pub fn send(&self, job: Job) {
        if let Err(job) = self.jobs.0.send(job) {
            job.fail(BackendError::NotSent);
        }
    }
}

/// The shared connections to one node, for each protocol and each worker thread:
/// `per_worker` connections apiece, connecting lazily.
#[derive(Debug, Clone)]
pub struct NodeLinks {
    pub addr: Arc<str>,
    /// `[protocol][worker][k]`.
    links: Arc<[Vec<Vec<Backend>>; 2]>,
}

impl NodeLinks {
    /// The connection a session uses: one of its own worker thread's, spread by session id.
    pub fn pick(&self, proto: Proto, session: u64) -> &Backend {
        let by_worker = &self.links[proto as usize];
        let mine = &by_worker[worker() % by_worker.len()];
        &mine[(session % mine.len() as u64) as usize]
    }
}

thread_local! {
    /// This thread's worker index (see [`set_worker`]).
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as worker `index`: its sessions use that worker's connections.
pub fn set_worker(index: usize) {
    WORKER.with(|w| w.set(index));
}

fn worker() -> usize {
    WORKER.with(std::cell::Cell::get)
}

/// Every node's shared connections, kept across topology changes. Each worker thread
/// runs its own connection tasks, so a session and the connections it uses share a thread
/// and hand requests over without waking another one.
#[derive(Debug)]
pub struct Pool {
    upstream: Upstream,
    per_worker: usize,
    /// The runtime of each worker thread, where its connection tasks run.
    workers: Vec<Handle>,
    nodes: Mutex<HashMap<Arc<str>, NodeLinks>>,
    /// `READONLY` connections to replicas, by address (see `replica`).
    replicas: Mutex<HashMap<Arc<str>, NodeLinks>>,
}

impl Pool {
    /// A pool with `per_worker` connections per node on each of `workers`.
    pub fn new(upstream: Upstream, per_worker: usize, workers: Vec<Handle>) -> Pool {
        Pool {
            upstream,
            per_worker: per_worker.max(1),
            workers,
            nodes: Mutex::new(HashMap::new()),
            replicas: Mutex::new(HashMap::new()),
        }
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The node's shared connections, created on first use.
    pub fn node(&self, addr: &str) -> NodeLinks {
        self.links(&self.nodes, addr, false)
    }

    /// The shared connections to `addr` kept in `map`, created on first use (`readonly`:
    /// they send `READONLY` after connecting).
    fn links(
        &self,
        map: &Mutex<HashMap<Arc<str>, NodeLinks>>,
        addr: &str,
        readonly: bool,
    ) -> NodeLinks {
        let mut nodes = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(links) = nodes.get(addr) {
            return links.clone();
        }
        let addr: Arc<str> = Arc::from(addr);
        let make = |proto| {
            let on = |handle: &Handle| {
                (0..self.per_worker)
                    .map(|_| {
                        let upstream = self.upstream.clone();
                        Backend::spawn_on(handle, addr.clone(), proto, upstream, readonly)
                    })
                    .collect()
            };
            self.workers.iter().map(on).collect()
        };
        let links = NodeLinks {
            addr: addr.clone(),
            links: Arc::new([make(Proto::Resp2), make(Proto::Resp3)]),
        };
        nodes.insert(addr, links.clone());
        links
    }
}

/// Reconnect backoff: doubles from 10 ms up to 1 s.
fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(Duration::from_millis(10), Duration::from_secs(1))
}
