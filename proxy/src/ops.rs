//! The operations side wired into a running proxy: the health probes (and a topology
//! refresh when they see a master go down or a replica promoted), the slot-coverage gauge,
//! the admin endpoint (the proxy as its [`AdminSource`]), the config reloader, and the
//! `[metrics] enabled` switch (applied at start and on every reload).
//! [`start`] spawns them; dropping the returned [`Ops`] stops them.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde_json::json;
use slotgate_protocol::{Slot, SLOT_COUNT};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::admin::{self, AdminSource};
use crate::backend::LinkSettings;
use crate::config::Config;
use crate::health::{probe, HealthTable, NodeStatus, Role};
use crate::metrics::{metrics, Metrics};
use crate::reload::{redacted_json, Reloader};
use crate::server::Proxy;

/// The running operations tasks; aborted when dropped.
pub struct Ops {
    pub health: Arc<HealthTable>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Ops {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// Starts health checks, the coverage gauge, the admin endpoint (when `[admin]` is set) and
/// the reloader (when the config came from a file).
pub async fn start(proxy: &Arc<Proxy>) -> anyhow::Result<Ops> {
    let config = proxy.config.load_full();
    Metrics::set_enabled(config.metrics.enabled);
    let health = proxy.health.clone();
    let text = config.source_text.clone();
    let running = Arc::new(ArcSwap::from_pointee(redacted_json(
        &text
            .parse()
            .unwrap_or(toml::Value::Table(Default::default())),
    )));
    let mut tasks = vec![
        tokio::spawn(probe::run(health.clone(), Arc::new(probe_inputs(proxy)))),
        tokio::spawn(refresh_on_health(proxy.clone(), health.clone())),
        tokio::spawn(track_coverage(proxy.clone(), health.clone())),
    ];
    if let Some(admin) = &config.admin {
        let listener = TcpListener::bind(admin.listen).await?;
        tracing::info!(listen = %admin.listen, "admin endpoint serving");
        let source = Arc::new(Source {
            proxy: proxy.clone(),
            health: health.clone(),
            running: running.clone(),
        });
        tasks.push(tokio::spawn(admin::serve(listener, source)));
    }
    if let Some(path) = config.source.clone() {
        let (target, source) = (proxy.clone(), path.clone());
        let load = move |text: &str| {
            Config::parse(text).map(|c| Config {
                source: Some(source.clone()),
                source_text: text.to_owned(),
                ..c
            })
        };
        let apply = move |config: Config, json: String| {
            Metrics::set_enabled(config.metrics.enabled);
            target.config.store(Arc::new(config));
            running.store(Arc::new(json));
        };
        tasks.push(tokio::spawn(Reloader::new(path, &text, load, apply).run()));
    }
    Ok(Ops { health, tasks })
}

/// What the probes read each round: live settings and the topology's masters and replicas.
fn probe_inputs(proxy: &Arc<Proxy>) -> probe::Inputs {
    let (p1, p2, p3) = (proxy.clone(), proxy.clone(), proxy.clone());
    probe::Inputs {
        config: Box::new(move || p1.config.load().health.clone()),
        link: Box::new(move || LinkSettings::of(&p2.config.load().cluster)),
        nodes: Box::new(move || {
            let routes = p3.cluster.routes();
            let nodes = routes.masters().iter().chain(routes.all_replicas());
            nodes.map(|node| node.addr.to_string()).collect()
        }),
    }
}

/// Refreshes the slot map whenever a master goes down or a node becomes master.
async fn refresh_on_health(proxy: Arc<Proxy>, health: Arc<HealthTable>) {
    loop {
        health.topology_changed().await;
        proxy.cluster.refresh_soon(None);
    }
}

/// Keeps `slotgate_slots_covered` current.
async fn track_coverage(proxy: Arc<Proxy>, health: Arc<HealthTable>) {
    loop {
        metrics().slots_covered(
            slot_owners(&proxy)
                .iter()
                .filter(|o| o.as_ref().is_some_and(|a| !health.is_down(a)))
                .count(),
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Every slot's master address, in slot order.
fn slot_owners(proxy: &Proxy) -> Vec<Option<Arc<str>>> {
    let routes = proxy.cluster.routes();
    (0..SLOT_COUNT)
        .map(|n| {
            Slot::new(n)
                .and_then(|s| routes.owner(s))
                .map(|node| node.addr.clone())
        })
        .collect()
}

/// The proxy as the admin endpoint sees it.
struct Source {
    proxy: Arc<Proxy>,
    health: Arc<HealthTable>,
    running: Arc<ArcSwap<String>>,
}

impl AdminSource for Source {
    fn ready(&self) -> bool {
        slot_owners(&self.proxy)
            .iter()
            .all(|o| o.as_ref().is_some_and(|a| !self.health.is_down(a)))
    }

    fn topology_json(&self) -> String {
        let snapshot = self.health.snapshot();
        let node = |addr: &str| {
            let status = snapshot.get(addr);
            json!({ "addr": addr, "health": status.map(|s| s.state), "role": status.and_then(role_name) })
        };
        let mut ranges = Vec::new();
        let owners = slot_owners(&self.proxy);
        let mut start = 0;
        for end in 0..owners.len() {
            if end + 1 < owners.len() && owners[end + 1] == owners[start] {
                continue;
            }
            if let Some(addr) = &owners[start] {
                let replicas: Vec<_> = snapshot
                    .get(&**addr)
                    .map(|s| s.replicas.iter().map(|r| node(r)).collect())
                    .unwrap_or_default();
                ranges.push(json!({ "start": start, "end": end, "master": node(addr), "replicas": replicas }));
            }
            start = end + 1;
        }
        let covered = owners.iter().filter(|o| o.is_some()).count();
        serde_json::to_string_pretty(&json!({ "slots_assigned": covered, "ranges": ranges }))
            .unwrap_or_default()
    }

    fn config_json(&self) -> String {
        self.running.load().to_string()
    }
}

fn role_name(status: &NodeStatus) -> Option<&'static str> {
    status.role.map(|r| match r {
        Role::Master => "master",
        Role::Replica => "replica",
    })
}
