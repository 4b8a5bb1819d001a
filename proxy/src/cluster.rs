//! The cluster's topology as the proxy routes by it: a [`Routes`] snapshot (slot → master's
//! shared connections) held in an `ArcSwap`, so every request reads it without a lock, and
//! the task that refreshes it with `CLUSTER SLOTS` — periodically, and soon after a MOVED
//! or a connection failure (rate-limited, asking the node that redirected first).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use slotgate_protocol::{Frame, Slot, SLOT_COUNT};
use tokio::sync::Notify;

use crate::backend::{query, NodeLinks, Pool};
use crate::config::ClusterConfig;

const UNASSIGNED: u16 = u16::MAX;

/// One immutable view of who serves which slot.
#[derive(Debug)]
pub struct Routes {
    /// Slot → index into `masters`, or `UNASSIGNED`.
    slots: Box<[u16]>,
    /// The masters, in the order of the first slot each owns.
    masters: Vec<NodeLinks>,
}

impl Routes {
    /// Nothing known yet: every slot is unserved.
    pub fn empty() -> Routes {
        Routes {
            slots: vec![UNASSIGNED; usize::from(SLOT_COUNT)].into_boxed_slice(),
            masters: Vec::new(),
        }
    }

    /// The master serving `slot`, if any.
    pub fn owner(&self, slot: Slot) -> Option<&NodeLinks> {
        let index = *self.slots.get(slot.index())?;
        self.masters.get(usize::from(index))
    }

    /// Every master, in a stable order (by the first slot it owns).
    pub fn masters(&self) -> &[NodeLinks] {
        &self.masters
    }

    /// The index of the master with address `addr`.
    pub fn master_index(&self, addr: &str) -> Option<usize> {
        self.masters.iter().position(|m| &*m.addr == addr)
    }

    /// Builds routes from a `CLUSTER SLOTS` reply; an empty host means `fallback_host`.
    fn from_cluster_slots(reply: &Frame, fallback_host: &str, pool: &Pool) -> Option<Routes> {
        let Frame::Array(entries) = reply else {
            return None;
        };
        let mut ranges: Vec<(u16, u16, String)> = Vec::with_capacity(entries.len());
        for entry in entries {
            let Frame::Array(fields) = entry else {
                return None;
            };
            let (
                Some(Frame::Integer(start)),
                Some(Frame::Integer(end)),
                Some(Frame::Array(master)),
            ) = (fields.first(), fields.get(1), fields.get(2))
            else {
                return None;
            };
            let host = master
                .first()
                .and_then(Frame::as_bytes)
                .map(|h| String::from_utf8_lossy(h).into_owned())?;
            let Some(Frame::Integer(port)) = master.get(1) else {
                return None;
            };
            let host = if host.is_empty() || host == "?" {
                fallback_host.to_owned()
            } else {
                host
            };
            let (start, end) = (u16::try_from(*start).ok()?, u16::try_from(*end).ok()?);
            if start > end || end >= SLOT_COUNT {
                return None;
            }
            ranges.push((start, end, format!("{host}:{port}")));
        }
        ranges.sort_by_key(|r| r.0);
        let mut routes = Routes::empty();
        for (start, end, addr) in ranges {
            let index = match routes.master_index(&addr) {
                Some(index) => index,
                None => {
                    routes.masters.push(pool.node(&addr));
                    routes.masters.len() - 1
                }
            };
            let index = u16::try_from(index).ok()?;
            routes.slots[usize::from(start)..=usize::from(end)].fill(index);
        }
        Some(routes)
    }

    /// Whether every slot has an owner.
    pub fn is_complete(&self) -> bool {
        self.slots.iter().all(|&s| s != UNASSIGNED)
    }
}

/// The live topology and its refresher.
#[derive(Debug)]
pub struct Cluster {
    routes: ArcSwap<Routes>,
    pool: Pool,
    seeds: Vec<String>,
    refresh_interval: Duration,
    min_refresh_gap: Duration,
    wake: Notify,
    /// A node to ask first on the next refresh (the one that sent a MOVED).
    hint: Mutex<Option<String>>,
}

impl Cluster {
    pub fn new(config: &ClusterConfig, pool: Pool) -> Cluster {
        Cluster {
            routes: ArcSwap::from_pointee(Routes::empty()),
            pool,
            seeds: config.seeds.clone(),
            refresh_interval: config.refresh_interval,
            min_refresh_gap: config.min_refresh_gap,
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
            let refreshed = self.refresh().await;
            crate::metrics::metrics().topology_refresh(refreshed.is_ok());
            if let Err(err) = refreshed {
                tracing::warn!(%err, "slot map refresh failed");
            }
            tokio::time::sleep(self.min_refresh_gap).await;
            let _ = tokio::time::timeout(self.refresh_interval, self.wake.notified()).await;
        }
    }

    /// Reads `CLUSTER SLOTS` from the first node that answers: the hint, then the known
    /// masters, then the seeds.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let hint = self.hint.lock().unwrap_or_else(|p| p.into_inner()).take();
        let current = self.routes();
        let candidates = hint
            .into_iter()
            .chain(current.masters().iter().map(|m| m.addr.to_string()))
            .chain(self.seeds.iter().cloned());
        let mut last_err = anyhow::anyhow!("no seed nodes");
        for addr in candidates {
            let host = addr.rsplit_once(':').map_or("127.0.0.1", |(host, _)| host);
            match query(&addr, self.pool.settings(), &["CLUSTER", "SLOTS"]).await {
                Ok(reply) => match Routes::from_cluster_slots(&reply, host, &self.pool) {
                    Some(routes) if routes.is_complete() || current.masters().is_empty() => {
                        self.routes.store(Arc::new(routes));
                        return Ok(());
                    }
                    Some(_) => {
                        last_err =
                            anyhow::anyhow!("{addr}: CLUSTER SLOTS does not cover every slot")
                    }
                    None => {
                        last_err =
                            anyhow::anyhow!("{addr}: unreadable CLUSTER SLOTS reply {reply:?}")
                    }
                },
                Err(err) => last_err = anyhow::anyhow!("{addr}: {err}"),
            }
        }
        Err(last_err)
    }
}
