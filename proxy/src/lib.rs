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
//! 1. **accept** — [`server`] admits the connection and starts a [`session`].
//! 2. **parse** — the session takes every complete request from its read buffer at once
//!    (zero-copy `Bytes` arguments, size limits enforced by the decoder).
//! 3. **route** — [`router::plan`] looks the command up and picks a plan from its routing
//!    class and its keys' slots; the slot's owner comes from the current [`cluster::Routes`]
//!    snapshot, read without a lock.
//! 4. **forward** — each part is encoded once and queued on the owner's shared connection;
//!    the connection task writes everything queued since its last write in one write, and
//!    matches replies FIFO, returning raw frame bytes tagged with (request, part).
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, UnixListener};

use crate::backend::{LinkSettings, Pool};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::server::Proxy;

/// Runs the proxy until SIGINT or SIGTERM, on a multi-thread runtime sized by the config.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(config.workers()).enable_all().build()?;
    runtime.block_on(serve(config))
}

/// Binds the listeners, discovers the cluster and serves until a shutdown signal.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.proxy.listen).await?;
    let unix = match &config.proxy.unix_socket {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            Some(UnixListener::bind(path)?)
        }
        None => None,
    };
    let settings = LinkSettings {
        user: config.cluster.user.clone(),
        password: config.cluster.password.clone(),
        connect_timeout: config.cluster.connect_timeout,
    };
    let pool = Pool::new(settings, config.connections_per_node());
    let cluster = Arc::new(Cluster::new(&config.cluster, pool));
    if let Err(err) = tokio::time::timeout(Duration::from_secs(5), cluster.refresh()).await.unwrap_or_else(|_| Err(anyhow::anyhow!("timed out"))) {
        tracing::warn!(%err, "cluster not reachable yet; serving CLUSTERDOWN until it is");
    }
    tokio::spawn(cluster.clone().run_refresh());
    tracing::info!(listen = %config.proxy.listen, "slotgate serving");
    let proxy = Arc::new(Proxy { config: ArcSwap::from_pointee(config), cluster, clients: Default::default(), started: Instant::now() });
    let tcp = tokio::spawn(server::accept_tcp(proxy.clone(), listener));
    let unix = unix.map(|listener| tokio::spawn(server::accept_unix(proxy.clone(), listener)));
    let _ops = ops::start(&proxy).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    tcp.abort();
    if let Some(unix) = unix {
        unix.abort();
    }
    Ok(())
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
