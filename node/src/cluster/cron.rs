//! The cluster's 100 ms tick (Redis's `clusterCron`): expire handshakes and bans, open
//! missing links, ping (a random sample every second, and anyone whose PONG is older than
//! half the node timeout), drop links that stopped answering, mark silent nodes PFAIL,
//! promote PFAIL to FAIL, run manual failovers, elections and replica migration, recompute the state, save
//! the config when it changed.

use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use slotgate_protocol::topology::NodeId;

use super::bus::{self, send};
use super::state::{Cluster, Node};
use super::{election, failover, failure, migration};
use crate::state::{now_ms, Shared, State};

const TICK: Duration = Duration::from_millis(100);
/// Idle MIGRATE target connections close after this.
const TARGET_IDLE_MS: i64 = 10_000;

/// Runs the tick until the process ends.
pub async fn run(shared: Arc<Shared>) {
    let mut iteration: u64 = 0;
    loop {
        tokio::time::sleep(TICK).await;
        iteration += 1;
        let mut state = shared.state.lock();
        tick(&shared, &mut state, iteration);
    }
}

fn tick(shared: &Arc<Shared>, state: &mut State, iteration: u64) {
    let now = now_ms();
    super::note_replication(state);
    let node_timeout = state.config.get_int("cluster-node-timeout").max(1);
    let require_coverage = state.config.get_bool("cluster-require-full-coverage");
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    expire(cluster, now, node_timeout);
    open_links(shared, cluster, now, node_timeout);
    if iteration.is_multiple_of(10) {
        ping_random(cluster, now);
    }
    let ids: Vec<NodeId> = cluster.nodes.keys().copied().collect();
    for id in &ids {
        check_node(cluster, id, now, node_timeout);
    }
    for id in &ids {
        failure::mark_failed_if_needed(cluster, id, now, node_timeout);
    }
    cluster.targets.close_idle(now, TARGET_IDLE_MS);
    failover::cron(state, now);
    election::cron(state, now, node_timeout);
    migration::cron(state, now);
    if let Some(cluster) = state.cluster.as_deref_mut() {
        cluster.update_state(now, require_coverage, node_timeout);
    }
    super::after_change(state);
}

/// Handshakes that never completed, and ended bans.
fn expire(cluster: &mut Cluster, now: i64, node_timeout: i64) {
    let limit = node_timeout.max(1000);
    let stale: Vec<NodeId> = cluster
        .nodes
        .values()
        .filter(|n| n.flags.handshake && now - n.created > limit)
        .map(|n| n.id)
        .collect();
    for id in stale {
        tracing::debug!("Handshake with node {id} timed out");
        cluster.del_node(&id);
    }
    cluster.banned.retain(|_, until| *until > now);
}

fn open_links(shared: &Arc<Shared>, cluster: &mut Cluster, now: i64, node_timeout: i64) {
    let wanted: Vec<NodeId> = cluster
        .nodes
        .values()
        .filter(|n| {
            !n.flags.myself
                && !n.flags.noaddr
                && n.link.is_none()
                && now >= n.reconnect_at
                && !n.ip.is_empty()
        })
        .map(|n| n.id)
        .collect();
    for id in wanted {
        bus::connect(shared, cluster, &id, now, node_timeout);
    }
}

/// Once a second: of five random connected nodes without a pending ping, ping the one
/// heard from least recently.
fn ping_random(cluster: &mut Cluster, now: i64) {
    let idle: Vec<&Node> = cluster
        .nodes
        .values()
        .filter(|n| {
            !n.flags.myself
                && !n.flags.handshake
                && n.ping_sent == 0
                && n.link.as_ref().is_some_and(|l| l.connected)
        })
        .collect();
    let sample = idle.choose_multiple(&mut rand::thread_rng(), 5);
    if let Some(oldest) = sample.min_by_key(|n| n.pong_recv).map(|n| n.id) {
        send::ping(cluster, &oldest, now);
    }
}

/// Liveness of one node: reconnect a silent link, ping when due, mark PFAIL.
fn check_node(cluster: &mut Cluster, id: &NodeId, now: i64, node_timeout: i64) {
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    if node.flags.myself || node.flags.noaddr || node.flags.handshake {
        return;
    }
    let half = node_timeout / 2;
    let ping_age = if node.ping_sent == 0 {
        0
    } else {
        now - node.ping_sent
    };
    let stale_link = node
        .link
        .as_ref()
        .is_some_and(|l| now - l.created > node_timeout)
        && ping_age > half
        && now - node.data_recv > half;
    if stale_link {
        node.link = None;
    }
    let connected = node.link.as_ref().is_some_and(|l| l.connected);
    if connected && node.ping_sent == 0 && now - node.pong_recv > half {
        send::ping(cluster, id, now);
        return;
    }
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    if node.ping_sent == 0 {
        return;
    }
    let delay = (now - node.ping_sent).min(now - node.data_recv);
    if delay > node_timeout && !node.is_failing() {
        tracing::info!("*** NODE {id} possibly failing");
        node.flags.pfail = true;
        cluster.todo_save = true;
    }
}
