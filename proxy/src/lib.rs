//! slotgate-proxy: the stateless sharding proxy in front of a Redis Cluster. Legacy,
//! cluster-unaware clients connect to it as if it were one Redis; every command lands on
//! the shard that owns its keys.
//!
//! Layout:
//! - [`config`]: the TOML config (typed, validated, with units).
//! - [`server`]: the shared [`server::Proxy`] state, accept loops, `max_clients`.
//! - [`session`]: one client — pipelining, in-order replies, per-client state.
//! - [`router`]: request → [`router::Plan`] (single slot, fan-out, all masters, local, pinned).
//! - [`cluster`]: the `ArcSwap` slot map ([`cluster::Routes`]) and its refresh.
//! - [`backend`]: multiplexed, pipelined, batched connections to backend nodes.
//! - [`merge`]: fan-out and all-masters replies merged into one.
//! - [`redirect`]: MOVED / ASK / TRYAGAIN / CLUSTERDOWN recognised in raw replies.
//! - [`error`]: every client-visible error and its RESP reply, in one place.
//!
//! The life of a request:
//! 1. **accept** — each worker thread (by default one per core but one; each its own
//!    single-threaded runtime) accepts on its own duplicate of the one listening socket;
//!    [`server`] admits the connection (`max_clients`) and starts a [`session`] on that thread.
//! 2. **parse** — the session takes every complete request from its read buffer at once
//!    (zero-copy `Bytes` arguments, size limits enforced by the decoder).
//! 3. **route** — [`router::plan`] looks the command up and picks a plan from its routing
//!    class and its keys' slots; the slot's owner comes from the current [`cluster::Routes`]
//!    snapshot, read without a lock.
//! 4. **forward** — each part (the client's own bytes when it sent canonical RESP and the
//!    request goes whole to one node, else re-encoded) is queued on the owner's shared
//!    connection through its mailbox;
//!    the connection task (on the session's own worker thread) writes everything queued
//!    during the scheduler turn in one write, and matches replies FIFO, returning raw
//!    frame bytes tagged with (request, part).
//! 5. **reply** — the session's reply queue restores request order; a MOVED/ASK/TRYAGAIN
//!    reply is followed or retried instead of being shown; split requests are merged
//!    ([`merge`]); ready replies are written to the client in one write per turn.

#![forbid(unsafe_code)]

pub mod admin;
pub mod backend;
pub mod cluster;
pub mod config;
pub mod error;
pub mod health;
pub mod local;
pub mod merge;
pub mod metrics;
pub mod ops;
pub mod redirect;
pub mod reload;
pub mod router;
pub mod server;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpSocket, UnixListener};
use tokio::runtime::Handle;

use crate::backend::{Pool, Upstream};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::health::HealthTable;
use crate::server::Proxy;

/// Runs the proxy until SIGINT or SIGTERM, a thread per worker: each worker thread runs its own
/// single-threaded runtime, accepts on its own copy of the one listening socket (whichever
/// worker wakes first takes a client) and owns its share of the backend connections, so a
/// request never wakes another thread on its way to the backend and back. Worker 0, on the
/// calling thread, also runs the topology refresh and the admin side.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtimes = (0..config.workers())
        .map(|_| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let handles: Vec<Handle> = runtimes.iter().map(|r| r.handle().clone()).collect();
    let mut runtimes = runtimes.into_iter();
    let Some(main) = runtimes.next() else {
        anyhow::bail!("no worker threads");
    };
    let socket = {
        let _runtime = main.enter();
        bind(config.proxy.listen)?
    };
    let proxy = main.block_on(start(config, handles))?;
    for (index, runtime) in runtimes.enumerate() {
        let (proxy, socket) = (proxy.clone(), socket.try_clone()?);
        std::thread::Builder::new()
            .name(format!("slotgate-worker-{}", index + 1))
            .spawn(move || {
                backend::set_worker(index + 1);
                runtime.block_on(async move {
                    match TcpListener::from_std(socket) {
                        Ok(listener) => server::accept_tcp(proxy, listener).await,
                        Err(err) => tracing::error!(%err, "worker cannot accept"),
                    }
                    // Keep serving this worker's sessions while the process drains.
                    std::future::pending::<()>().await
                });
            })?;
    }
    main.block_on(async {
        let listener = TcpListener::from_std(socket)?;
        serve_until_shutdown(proxy, listener).await
    })
}

/// Serves on the current runtime alone (one worker) until SIGINT or SIGTERM; for embedding
/// (`slotgate local`).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(bind(config.proxy.listen)?)?;
    let proxy = start(config, vec![Handle::current()]).await?;
    serve_until_shutdown(proxy, listener).await
}

/// Discovers the cluster (waiting up to 5 s for a first slot map) and builds the shared
/// state, with backend connections on the `workers` runtimes.
async fn start(config: Config, workers: Vec<Handle>) -> anyhow::Result<Arc<Proxy>> {
    let (per_node, listen, workers_count) = (
        config.connections_per_node(),
        config.proxy.listen,
        config.workers(),
    );
    let config = Arc::new(ArcSwap::from_pointee(config));
    let upstream = Upstream {
        config: config.clone(),
        health: HealthTable::new(),
    };
    let pool = Pool::new(upstream.clone(), per_node, workers);
    let cluster = Arc::new(Cluster::new(pool));
    let first = tokio::time::timeout(Duration::from_secs(5), cluster.refresh()).await;
    if let Err(err) = first.unwrap_or_else(|_| Err(anyhow::anyhow!("timed out"))) {
        tracing::warn!(%err, "cluster not reachable yet; serving CLUSTERDOWN until it is");
    }
    tokio::spawn(cluster.clone().run_refresh());
    tracing::info!(%listen, workers = workers_count, "slotgate serving");
    Ok(Arc::new(Proxy {
        config,
        health: upstream.health,
        cluster,
        clients: Default::default(),
        started: Instant::now(),
    }))
}

/// Accepts on `listener` (and the unix socket, if configured), runs the admin side, and
/// on SIGINT or SIGTERM stops accepting and drains (see [`drain`]) before returning.
async fn serve_until_shutdown(proxy: Arc<Proxy>, listener: TcpListener) -> anyhow::Result<()> {
    let unix = match &proxy.config.load().proxy.unix_socket {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            Some(UnixListener::bind(path)?)
        }
        None => None,
    };
    let tcp = tokio::spawn(server::accept_tcp(proxy.clone(), listener));
    let unix = unix.map(|listener| tokio::spawn(server::accept_unix(proxy.clone(), listener)));
    let _ops = ops::start(&proxy).await?;
    shutdown_signal().await;
    tcp.abort();
    if let Some(unix) = unix {
        unix.abort();
    }
    drain(&proxy).await;
    Ok(())
}

/// Wakes every session to finish the requests its client already sent, and waits until
/// all have closed or `proxy.shutdown_timeout` has passed.
async fn drain(proxy: &Proxy) {
    let timeout = proxy.config.load().proxy.shutdown_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    tracing::info!(
        clients = proxy.clients.connected(),
        ?timeout,
        "shutting down"
    );
    proxy.clients.drain();
    while proxy.clients.connected() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    match proxy.clients.connected() {
        0 => tracing::info!("every client answered; exiting"),
        left => tracing::warn!(left, "shutdown timeout: closing the remaining clients"),
    }
}

/// Binds the client port once, without `SO_REUSEPORT`, so a second slotgate on the same
/// port fails with "address in use" instead of silently sharing it; every worker accepts on
/// a duplicate of this socket. Call inside a runtime; the socket comes back non-blocking.
fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr} (is another slotgate running?)"))?;
    Ok(socket.listen(1024)?.into_std()?)
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
