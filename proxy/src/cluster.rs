//! The cluster's topology as the proxy routes by it: a [`Routes`] snapshot (slot → master's
//! shared connections, and its replicas' for reads) held in an `ArcSwap`, so every request
//! reads it without a lock, and
//! the task that refreshes it with `CLUSTER SLOTS` — periodically, and soon after a MOVED
//! or a connection failure (rate-limited, asking the node that redirected first).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use slotgate_protocol::topology::SlotMap;
use slotgate_protocol::Slot;
use tokio::sync::Notify;
use tokio::time::timeout;

use crate::backend::{query, NodeLinks, Pool};

/// One immutable view of who serves which slot: the protocol crate's [`SlotMap`] plus each
/// shard master's shared connections.
#[derive(Debug)]
pub struct Routes {
    /// Shards in the order of the first slot each serves (SCAN cursors count on it).
    map: SlotMap,
    /// `masters[i]` serves the slots of `map.shards()[i]`.
    masters: Vec<NodeLinks>,
    /// `replicas[i]`: the `READONLY` connections to the replicas of `map.shards()[i]`.
    replicas: Vec<Vec<NodeLinks>>,
}

impl Routes {
    /// Nothing known yet: every slot is unserved.
    pub fn empty() -> Routes {
        Routes {
            map: SlotMap::new(),
            masters: Vec::new(),
            replicas: Vec::new(),
        }
    }

    /// Routes for `map`, with each master's connections from `pool`.
    fn new(map: SlotMap, pool: &Pool) -> Routes {
        let map = by_first_slot(&map).unwrap_or(map);
        let masters = map
            .masters()
            .map(|master| pool.node(&master.addr.to_string()))
            .collect();
        let replicas = map
            .shards()
            .iter()
            .map(|shard| {
                let addrs = shard.replicas.iter();
                addrs.map(|r| pool.replica(&r.addr.to_string())).collect()
            })
            .collect();
        Routes {
            map,
            masters,
            replicas,
        }
    }

    /// The master serving `slot`, if any.
    pub fn owner(&self, slot: Slot) -> Option<&NodeLinks> {
        self.masters.get(self.map.shard_index(slot)?)
    }

    /// The replicas of the shard serving `slot` (reads only: `READONLY` connections).
    pub fn replicas(&self, slot: Slot) -> &[NodeLinks] {
        let shard = self.map.shard_index(slot);
        shard
            .and_then(|i| self.replicas.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// Every replica, shard by shard.
    pub fn all_replicas(&self) -> impl Iterator<Item = &NodeLinks> {
        self.replicas.iter().flatten()
    }

    /// Every master, in a stable order (by the first slot it owns).
    pub fn masters(&self) -> &[NodeLinks] {
        &self.masters
    }

    /// The master the proxy's SUBSCRIBE connections use, and so PUBLISH and PUBSUB too: the
    /// first one (of the lowest slots), so every session and every retry agree.
    pub fn pubsub_home(&self) -> Option<&NodeLinks> {
        self.masters.first()
    }

    /// Whether every slot has an owner.
    pub fn is_complete(&self) -> bool {
        self.map.is_complete()
    }
}

/// The same map with its shards numbered by the first slot each serves, so the master order
/// does not depend on the order a node listed them in.
fn by_first_slot(map: &SlotMap) -> Option<SlotMap> {
    let shards = map.shards();
    let ranges = map.ranges().into_iter();
    SlotMap::from_assignments(ranges.filter_map(|(range, i)| Some((range, shards.get(i)?.clone()))))
        .ok()
}

/// The live topology and its refresher. Seeds and refresh timings are read from the live
/// config at each use, so a reload applies to the next refresh.
#[derive(Debug)]
pub struct Cluster {
    routes: ArcSwap<Routes>,
    pool: Pool,
    wake: Notify,
    /// A node to ask first on the next refresh (the one that sent a MOVED).
    hint: Mutex<Option<String>>,
}

impl Cluster {
    pub fn new(pool: Pool) -> Cluster {
        Cluster {
            routes: ArcSwap::from_pointee(Routes::empty()),
            pool,
            wake: Notify::new(),
            hint: Mutex::new(None),
        }
    }

    /// The current snapshot.
    pub fn routes(&self) -> Arc<Routes> {
        self.routes.load_full()
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Asks for a refresh soon (rate-limited), starting with node `from` if given.
    pub fn refresh_soon(&self, from: Option<&str>) {
        if let Some(from) = from {
            *self.hint.lock().unwrap_or_else(|p| p.into_inner()) = Some(from.to_owned());
        }
        self.wake.notify_one();
    }

    /// Refreshes forever: every `refresh_interval`, or when woken, at most once per
    /// `min_refresh_gap`.
    pub async fn run_refresh(self: Arc<Self>) {
        loop {
            let started = Instant::now();
            let refreshed = self.refresh().await;
            crate::metrics::metrics().topology_refresh(refreshed.is_ok());
            if let Err(err) = refreshed {
                tracing::warn!(%err, "slot map refresh failed");
            }
            let gap = self.pool.upstream().config.load().cluster.min_refresh_gap;
            tokio::time::sleep(gap).await;
            self.wait_turn(started).await;
        }
    }

    /// Waits until `refresh_interval` has passed since `since`, or a refresh is asked for.
    /// The interval is re-read every second, so a reload shortens a long wait.
    async fn wait_turn(&self, since: Instant) {
        loop {
            let interval = self.pool.upstream().config.load().cluster.refresh_interval;
            let left = interval.saturating_sub(since.elapsed());
            let slice = left.min(Duration::from_secs(1));
            if left.is_zero() || timeout(slice, self.wake.notified()).await.is_ok() {
                return;
            }
        }
    }

    /// Reads `CLUSTER SLOTS` from the first node that answers: the hint, then the known
    /// masters, then the seeds — skipping nodes the health checks mark down.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let hint = self.hint.lock().unwrap_or_else(|p| p.into_inner()).take();
        let current = self.routes();
        let upstream = self.pool.upstream();
        let (health, config) = (&upstream.health, upstream.config.load_full());
        let candidates = hint
            .into_iter()
            .chain(current.masters().iter().map(|m| m.addr.to_string()))
            .chain(config.cluster.seeds.iter().cloned())
            .filter(|addr| !health.is_down(addr));
        let mut last_err = anyhow::anyhow!("no seed nodes");
        for addr in candidates {
            let host = addr.rsplit_once(':').map_or("127.0.0.1", |(host, _)| host);
            let reply =
                match query(&addr, &self.pool.upstream().link(), &["CLUSTER", "SLOTS"]).await {
                    Ok(reply) => reply,
                    Err(err) => {
                        last_err = anyhow::anyhow!("{addr}: {err}");
                        continue;
                    }
                };
            match SlotMap::from_cluster_slots(&reply, host) {
                Ok(map) if map.is_complete() || current.masters().is_empty() => {
                    self.routes.store(Arc::new(Routes::new(map, &self.pool)));
                    return Ok(());
                }
                Ok(_) => {
                    last_err = anyhow::anyhow!("{addr}: CLUSTER SLOTS does not cover every slot")
                }
                Err(err) => {
                    last_err = anyhow::anyhow!("{addr}: unreadable CLUSTER SLOTS reply: {err}")
                }
            }
        }
        Err(last_err)
    }
}
