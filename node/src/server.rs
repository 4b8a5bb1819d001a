//! The server: loads the AOF (or else the snapshot file), binds, accepts (one task per
//! connection), and runs the periodic work — active expiry, the `everysec` fsync, save
//! points, automatic AOF rewrites — until SHUTDOWN.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::aof::{self, Aof, Fsync};
use crate::config::Config;
use crate::state::{now_ms, Shared, State};

/// Builds the state from `config`: replays the AOF when `appendonly` is on, else loads the
/// snapshot file if there is one (as Redis does).
pub fn prepare(config: Config) -> anyhow::Result<Arc<Shared>> {
    let mut state = State::new(config);
    state.cluster = crate::cluster::init(&state.config)?;
    if state.config.get_bool("appendonly") {
        let path = state.config.dir().join(state.config.get("appendfilename"));
        let loaded = aof::load(&mut state, &path)?;
        tracing::info!("DB loaded from append only file: {loaded} commands");
        state.aof = Some(Aof::open(
            &path,
            Fsync::from_config(state.config.get("appendfsync")),
        )?);
        state.dirty = 0;
    } else {
        crate::rdb::load(&mut state)?;
    }
    Ok(Arc::new(Shared::new(state)))
}

/// Binds every address of `bind` on `port`.
pub async fn bind(config: &Config) -> anyhow::Result<Vec<TcpListener>> {
    let port = config.get_int("port");
    let mut listeners = Vec::new();
    for host in config.get("bind").split_whitespace() {
        let optional = host.starts_with('-');
        let host = host.trim_start_matches('-');
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match TcpListener::bind(&addr).await {
            Ok(listener) => listeners.push(listener),
            Err(e) if optional => tracing::debug!("skipping {addr}: {e}"),
            Err(e) => anyhow::bail!("Could not create server TCP listening socket {addr}: {e}"),
        }
    }
    Ok(listeners)
}

/// Accepts on `listeners` until SHUTDOWN.
pub async fn run(shared: Arc<Shared>, listeners: Vec<TcpListener>) {
    for listener in listeners {
        tokio::spawn(accept(shared.clone(), listener));
    }
    tokio::spawn(cron(shared.clone()));
    crate::cluster::spawn(&shared);
    tokio::spawn(crate::replication::run(shared.clone()));
    spawn_fsync_thread(&shared);
    shared.shutdown.notified().await;
    let mut state = shared.state.lock();
    if let Some(aof) = state.aof.as_mut() {
        let _ = aof.flush();
        let _ = aof.handle().sync_all();
    }
}

async fn accept(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                tokio::spawn(crate::conn::serve(shared.clone(), stream, addr));
            }
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The periodic work, `hz` times a second.
async fn cron(shared: Arc<Shared>) {
    loop {
        let hz = shared.state.lock().config.get_int("hz").clamp(1, 500) as u64;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        let mut state = shared.state.lock();
        let now = now_ms();
        let paused = crate::pause::writes_paused(&state, now);
        for db in (0..state.dbs.len()).filter(|_| !paused) {
            // Like Redis: keep sweeping while more than a quarter of what we look at is dead.
            while state.dbs[db].expire_cycle(now, 200) > 50 {}
            state.propagate_expired(db);
        }
        crate::blocking::serve(&mut state);
        crate::rdb::cron(&mut state);
        sync_aof_config(&mut state);
        if let Some(aof) = state.aof.as_mut() {
            let _ = aof.flush_batch();
        }
    }
}

/// Applies runtime changes of `appendonly` / `appendfsync`, and rewrites by growth.
fn sync_aof_config(state: &mut State) {
    let wanted = state.config.get_bool("appendonly");
    match (&mut state.aof, wanted) {
        (Some(aof), true) => aof.fsync = Fsync::from_config(state.config.get("appendfsync")),
        (Some(_), false) => state.aof = None,
        (None, true) => {
            let path = state.config.dir().join(state.config.get("appendfilename"));
            match Aof::open(&path, Fsync::from_config(state.config.get("appendfsync"))) {
                Ok(aof) => {
                    state.aof = Some(aof);
                    if let Err(e) = Aof::rewrite(state) {
                        tracing::warn!("Background append only file rewriting error: {e}");
                    }
                }
                Err(e) => tracing::warn!("Can't open the append-only file: {e}"),
            }
        }
        (None, false) => {}
    }
    let percentage = state.config.get_int("auto-aof-rewrite-percentage") as u64;
    let min = state.config.get_int("auto-aof-rewrite-min-size") as u64;
    let grown = state.aof.as_ref().is_some_and(|a| {
        percentage > 0 && a.size >= min && a.size > a.base_size * (100 + percentage) / 100
    });
    if grown {
        if let Err(e) = Aof::rewrite(state) {
            tracing::warn!("Background append only file rewriting error: {e}");
        }
    }
}

/// `appendfsync everysec`: fsync once a second off the lock.
fn spawn_fsync_thread(shared: &Arc<Shared>) {
    let shared = shared.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let handle = {
            let state = shared.state.lock();
            state
                .aof
                .as_ref()
                .filter(|a| a.fsync == Fsync::EverySec)
                .map(|a| (a.handle(), a.syncing()))
        };
        if let Some((file, syncing)) = handle {
            syncing.store(true, Ordering::Release);
            let _ = file.sync_data();
            syncing.store(false, Ordering::Release);
        }
    });
}

/// Address helper for logs.
pub fn describe(listeners: &[TcpListener]) -> Vec<SocketAddr> {
    listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect()
}
