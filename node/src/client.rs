//! One connected client's session state (the part commands read and change): database,
//! protocol version, authentication and ACL user, MULTI queue, WATCHed keys, subscriptions, and the
//! channel its connection task drains for pushed messages.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use slotgate_protocol::Frame;
use tokio::sync::mpsc;

use crate::db::Set;

/// What other parts of the server send to a connection task.
#[derive(Debug)]
pub enum Out {
    /// A pushed message (pub/sub, a served blocking command).
    Frame(Frame),
    /// Close the connection (CLIENT KILL, output buffer limit).
    Kill,
}

/// The handle other clients use to reach one connection: its mailbox and how many bytes
/// wait there (for the output buffer limit).
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub tx: mpsc::UnboundedSender<Out>,
    pub queued: Arc<AtomicUsize>,
}

impl Mailbox {
    /// Queues a push; false (and the client is told to close) past `limit` bytes.
    pub fn push(&self, frame: Frame, size: usize, limit: usize) -> bool {
        let queued = self.queued.fetch_add(size, Ordering::Relaxed) + size;
        if limit > 0 && queued > limit {
            let _ = self.tx.send(Out::Kill);
            return false;
        }
        self.tx.send(Out::Frame(frame)).is_ok()
    }
}

/// What CLIENT LIST shows of a client besides address, name and age: read live for the
/// caller, copied into the shared `ClientMeta` once per batch for everyone else.
#[derive(Debug, Clone, Copy)]
pub struct Visible {
    pub db: usize,
    /// Channels, patterns, shard channels.
    pub subs: [usize; 3],
    /// Commands queued in MULTI; -1 outside a transaction.
    pub multi: i64,
    pub resp: u8,
    /// A WATCHed key changed (flag `d`).
    pub dirty_cas: bool,
    pub readonly: bool,
    pub no_evict: bool,
    /// The last command run, `container|sub` for a subcommand.
    pub last_command: &'static str,
}

impl Default for Visible {
    /// A client that has run nothing yet.
    fn default() -> Visible {
        Visible {
            db: 0,
            subs: [0; 3],
            multi: -1,
            resp: 2,
            dirty_cas: false,
            readonly: false,
            no_evict: false,
            last_command: "NULL",
        }
    }
}

/// A queued MULTI transaction.
#[derive(Debug, Default)]
pub struct Multi {
    pub queue: Vec<Vec<Bytes>>,
    /// A command was rejected while queueing: EXEC answers EXECABORT.
    pub failed: bool,
}

/// Session state of one client.
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub addr: Option<SocketAddr>,
    pub laddr: Option<SocketAddr>,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub resp: u8,
    pub authenticated: bool,
    /// The ACL user it acts as.
    pub user: crate::acl::Identity,
    pub multi: Option<Multi>,
    /// Keys WATCHed, as (db, key).
    pub watching: Vec<(usize, Bytes)>,
    /// Set when a WATCHed key changes.
    pub dirty: Arc<AtomicBool>,
    pub channels: Set<Bytes>,
    pub patterns: Set<Bytes>,
    pub shard_channels: Set<Bytes>,
    pub mailbox: Mailbox,
    pub created: Instant,
    pub last_command: &'static str,
    /// Close after this reply is written (QUIT, protocol errors).
    pub close: bool,
    /// CLIENT REPLY OFF: no replies at all.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: the next command's reply is dropped.
    pub skip_next_reply: bool,
    /// CLIENT NO-EVICT ON (shown as flag `e`; the node never evicts clients).
    pub no_evict: bool,
    /// Replaying the AOF: no auth, no propagation.
    pub loading: bool,
    /// ASKING / READONLY (cluster mode).
    pub cluster: crate::cluster::ClientFlags,
    /// MONITOR lines of this (monitoring) client's own commands, written right after each
    /// one's reply rather than through the mailbox, so they keep Redis's order.
    pub own_feed: Vec<Frame>,
    /// The replication offset right after this client's last propagated write (what
    /// WAIT waits for; Redis's `c->woff`).
    pub woff: i64,
}

impl Client {
    pub fn new(id: u64, mailbox: Mailbox, authenticated: bool) -> Client {
        Client {
            id,
            addr: None,
            laddr: None,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            resp: 2,
            authenticated,
            user: crate::acl::Identity::Default,
            multi: None,
            watching: Vec::new(),
            dirty: Arc::new(AtomicBool::new(false)),
            channels: Set::default(),
            patterns: Set::default(),
            shard_channels: Set::default(),
            mailbox,
            created: Instant::now(),
            last_command: "NULL",
            close: false,
            reply_off: false,
            skip_next_reply: false,
            no_evict: false,
            loading: false,
            cluster: Default::default(),
            own_feed: Vec::new(),
            woff: 0,
        }
    }

    /// A client with no connection (AOF replay, served blocked commands).
    pub fn detached(db: usize, resp: u8) -> Client {
        let (tx, _) = mpsc::unbounded_channel();
        let mut client = Client::new(
            0,
            Mailbox {
                tx,
                queued: Arc::default(),
            },
            true,
        );
        client.db = db;
        client.resp = resp;
        client.user = crate::acl::Identity::Internal;
        client
    }

    /// Subscriptions of every kind.
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    /// Whether the reply of the command just run goes out (CLIENT REPLY); `skipped` is the
    /// SKIP taken before running it. CLIENT REPLY OFF and SKIP themselves get no reply.
    pub fn replies(&self, skipped: bool) -> bool {
        !(self.reply_off || skipped || self.skip_next_reply)
    }

    /// What CLIENT LIST shows of this client now.
    pub fn visible(&self) -> Visible {
        Visible {
            db: self.db,
            subs: [
                self.channels.len(),
                self.patterns.len(),
                self.shard_channels.len(),
            ],
            multi: self.multi.as_ref().map_or(-1, |m| m.queue.len() as i64),
            resp: self.resp,
            dirty_cas: self.dirty.load(Ordering::Relaxed),
            readonly: self.cluster.readonly,
            no_evict: self.no_evict,
            last_command: self.last_command,
        }
    }

    /// RESP2 clients with subscriptions may only run the pub/sub commands.
    pub fn in_pubsub_mode(&self) -> bool {
        self.resp == 2 && self.subscriptions() > 0
    }
}
