//! The front door: the [`Proxy`] state every session shares, the accept loops (TCP and an
//! optional unix socket) with the `max_clients` limit, and graceful shutdown: on
//! [`Clients::drain`] the accept loops stop and every session is woken to finish what its
//! client already sent, then close (see [`Clients::draining`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use crate::backend::{Inbox, Reply, Tag};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::error::ProxyError;
use crate::health::HealthTable;
use crate::session;

/// What every session shares.
#[derive(Debug)]
pub struct Proxy {
    /// The live config; a reload swaps it whole.
    pub config: Arc<ArcSwap<Config>>,
    /// Every backend node's health; a master marked down fails its requests at once.
    pub health: Arc<HealthTable>,
    pub cluster: Arc<Cluster>,
    pub clients: Clients,
    pub started: Instant,
}

/// The proxy's own clients (for `max_clients`, `CLIENT LIST`, `INFO`).
#[derive(Debug, Default)]
pub struct Clients {
    next_id: AtomicU64,
    count: AtomicUsize,
    table: Mutex<BTreeMap<u64, ClientRecord>>,
    /// Set once shutdown begins (read by sessions on every turn, so an atomic).
    draining: AtomicBool,
    /// Flips to `true` when shutdown begins (awaited by the accept loops).
    stop: watch::Sender<bool>,
}

/// One connected client as `CLIENT LIST` shows it.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub addr: String,
    pub name: String,
    pub since: Instant,
    /// The session's inbox, to wake it when shutdown begins or it is killed.
    pub inbox: Option<Inbox>,
    /// `CLIENT KILL` picked it: the session closes when woken.
    pub killed: bool,
}

/// Which clients `CLIENT KILL` closes (Redis's filters; every given one must match).
#[derive(Debug, Default)]
pub struct KillFilter {
    pub id: Option<u64>,
    pub addr: Option<String>,
    /// The one asking, spared unless `SKIPME no`.
    pub skip: Option<u64>,
    /// A filter nothing here matches (`TYPE pubsub`, `LADDR`): kill none.
    pub none: bool,
}

impl Clients {
    /// Registers a client unless `max` are connected; returns its id.
    fn admit(&self, addr: String, max: usize) -> Option<u64> {
        if self.count.fetch_add(1, Ordering::AcqRel) >= max {
            self.count.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock().insert(
            id,
            ClientRecord {
                addr,
                name: String::new(),
                since: Instant::now(),
                inbox: None,
                killed: false,
            },
        );
        Some(id)
    }

    fn leave(&self, id: u64) {
        self.lock().remove(&id);
        self.count.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn set_name(&self, id: u64, name: String) {
        if let Some(record) = self.lock().get_mut(&id) {
            record.name = name;
        }
    }

    /// Registers a session's inbox so [`Clients::drain`] can wake it.
    pub fn set_inbox(&self, id: u64, inbox: Inbox) {
        if let Some(record) = self.lock().get_mut(&id) {
            record.inbox = Some(inbox);
        }
    }

    /// Begins shutdown: the accept loops stop, and every session is woken to notice
    /// [`Clients::draining`].
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.stop.send_replace(true);
        for inbox in self.lock().values().filter_map(|r| r.inbox.as_ref()) {
            let _ = inbox.send(wake_up());
        }
    }

    /// Marks every client `filter` picks to be closed, wakes them, and returns how many.
    pub fn kill(&self, filter: &KillFilter) -> usize {
        if filter.none {
            return 0;
        }
        let mut table = self.lock();
        let picked = table.iter_mut().filter(|(id, r)| {
            filter.id.is_none_or(|want| want == **id)
                && filter.addr.as_ref().is_none_or(|want| *want == r.addr)
                && filter.skip != Some(**id)
        });
        let mut count = 0;
        for (_, record) in picked {
            record.killed = true;
            if let Some(inbox) = &record.inbox {
                let _ = inbox.send(wake_up());
            }
            count += 1;
        }
        count
    }

    /// Whether `CLIENT KILL` picked client `id`.
    pub fn killed(&self, id: u64) -> bool {
        self.lock().get(&id).is_some_and(|r| r.killed)
    }

    /// Whether shutdown has begun: a session closes once its client is answered and idle.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Resolves when shutdown begins.
    async fn stopped(&self) {
        let _ = self.stop.subscribe().wait_for(|stop| *stop).await;
    }

    pub fn connected(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Every client, by id.
    pub fn list(&self) -> Vec<(u64, ClientRecord)> {
        self.lock().iter().map(|(id, r)| (*id, r.clone())).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ClientRecord>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sequence number of [`wake_up`]'s reply, which answers no request.
pub const WAKE_UP: u64 = u64::MAX;

/// A reply for no request: wakes a session so it sees shutdown, or that it was killed.
fn wake_up() -> Reply {
    Reply {
        tag: Tag {
            seq: WAKE_UP,
            part: 0,
        },
        result: Ok(Bytes::new()),
    }
}

/// Accepts TCP clients until shutdown begins (or the task is dropped).
pub async fn accept_tcp(proxy: Arc<Proxy>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = proxy.clients.stopped() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                admit(&proxy, stream, peer.to_string());
            }
            Err(err) => {
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Accepts unix-socket clients until the task is dropped.
pub async fn accept_unix(proxy: Arc<Proxy>, listener: UnixListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => admit(&proxy, stream, "unix".to_owned()),
            Err(err) => {
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Starts a session for a new connection, or refuses it when too many are connected.
fn admit<S>(proxy: &Arc<Proxy>, mut stream: S, addr: String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max = proxy.config.load().proxy.max_clients;
    let proxy = proxy.clone();
    tokio::spawn(async move {
        let Some(id) = proxy.clients.admit(addr.clone(), max) else {
            crate::metrics::metrics().client_rejected();
            let _ = stream.write_all(&ProxyError::MaxClients.reply()).await;
            return;
        };
        tracing::debug!(id, %addr, "client connected");
        crate::metrics::metrics().client_connected();
        session::serve(proxy.clone(), id, stream).await;
        proxy.clients.leave(id);
        crate::metrics::metrics().client_disconnected();
        tracing::debug!(id, %addr, "client gone");
    });
}
