//! Backend nodes: the connections requests travel on.
//!
//! A [`Backend`] is the handle of one connection task. Shared backends are multiplexed: many
//! sessions send [`Job`]s to the same handle; the task batches every job queued since its
//! last write into one write, and its reader matches replies to jobs first-in first-out,
//! handing each reply back as the raw bytes of one frame (never a parsed tree). Sessions also
//! spawn private backends of the same kind for pinned work (MULTI, blocking commands).
//!
//! Layout:
//! - `link`: connect + handshake (AUTH / HELLO 3) and one-off queries (CLUSTER SLOTS).
//! - `conn`: the connection task: lazy connect, batched writes, FIFO reply matching,
//!   reconnect with backoff.
//! - this file: the message types and the [`Pool`] of shared connections per node.

mod conn;
mod link;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

pub use link::{open, query, LinkSettings};

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
pub type Inbox = mpsc::UnboundedSender<Reply>;

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
    jobs: mpsc::UnboundedSender<Job>,
}

impl Backend {
    /// Starts a connection task to `addr`; it connects when its first job arrives and ends
    /// when every handle is dropped.
    pub fn spawn(addr: Arc<str>, proto: Proto, settings: Arc<LinkSettings>) -> Backend {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(conn::run(addr, proto, settings, rx));
        Backend { jobs }
    }

    /// Queues a job; if the task is gone the job fails at once as not sent.
    pub fn send(&self, job: Job) {
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(job) {
            job.fail(BackendError::NotSent);
        }
    }
}

/// The shared connections to one node: `per_node` of each protocol, created lazily.
#[derive(Debug, Clone)]
pub struct NodeLinks {
    pub addr: Arc<str>,
    links: Arc<[Vec<Backend>; 2]>,
}

impl NodeLinks {
    /// The connection a session uses: sessions spread over the node's connections by id.
    pub fn pick(&self, proto: Proto, session: u64) -> &Backend {
        let links = &self.links[proto as usize];
        &links[(session % links.len() as u64) as usize]
    }
}

/// Every node's shared connections, kept across topology changes.
#[derive(Debug)]
pub struct Pool {
    settings: Arc<LinkSettings>,
    per_node: usize,
    nodes: Mutex<HashMap<Arc<str>, NodeLinks>>,
}

impl Pool {
    pub fn new(settings: LinkSettings, per_node: usize) -> Pool {
        Pool {
            settings: Arc::new(settings),
            per_node: per_node.max(1),
            nodes: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &Arc<LinkSettings> {
        &self.settings
    }

    /// The node's shared connections, created on first use.
    pub fn node(&self, addr: &str) -> NodeLinks {
        let mut nodes = self
            .nodes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(links) = nodes.get(addr) {
            return links.clone();
        }
        let addr: Arc<str> = Arc::from(addr);
        let make = |proto| {
            (0..self.per_node)
                .map(|_| Backend::spawn(addr.clone(), proto, self.settings.clone()))
                .collect()
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
