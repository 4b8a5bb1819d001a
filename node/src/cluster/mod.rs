//! Cluster mode (`cluster-enabled yes`): this node as one of many sharing the 16384 hash
//! slots, Redis Cluster-compatible so that `redis-cli --cluster` and cluster clients work.
//!
//! Layout:
//! - `state`: [`state::Cluster`] — myself, the node table, slot owners, epochs, open slots.
//! - `nodes_conf`: loading and atomically saving `nodes.conf`.
//! - `bus`: the cluster bus — listener, outbound links, the wire format, sending.
//! - `gossip`: processing received bus messages; `config_update`: slot claims and epoch
//!   collisions; `failure`: PFAIL / FAIL; `election`: replica elections, votes and
//!   promotion; `failover`: CLUSTER FAILOVER; `migration`: replica migration.
//! - `cron`: the 100 ms tick.
//! - `view`: what CLUSTER NODES / INFO / SLOTS / SHARDS show.
//! - `redirect`: the per-command MOVED / ASK / TRYAGAIN / CLUSTERDOWN / CROSSSLOT check.
//! - `migrate`, `payload`, `checksum`: MIGRATE, DUMP and RESTORE.
//!
//! The state lives in [`crate::state::State::cluster`], under the server's one lock, so
//! commands, the bus and the tick see one consistent view.

pub mod admin;
pub mod bus;
pub mod checksum;
pub mod config_update;
pub mod cron;
pub mod election;
pub mod failover;
pub mod failure;
pub mod gossip;
pub mod migrate;
pub mod migration;
pub mod nodes_conf;
pub mod payload;
pub mod redirect;
pub mod state;
pub mod view;

use std::sync::Arc;

use bytes::Bytes;
use slotgate_protocol::topology::{NodeFlags, NodeId};

use crate::config::Config;
use crate::state::{now_ms, Shared, State};
use bus::message::Body;
use state::{Cluster, Node};

/// A client's cluster flags.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientFlags {
    /// ASKING was sent: the next command may touch an importing slot.
    pub asking: bool,
    /// READONLY: reads of the master's slots are served by this replica.
    pub readonly: bool,
}

/// The bus port this node listens on.
fn bus_port(config: &Config) -> u16 {
    match config.get_int("cluster-port") {
        0 => (config.get_int("port") + 10000) as u16,
        port => port as u16,
    }
}

/// The cluster state for `config`: loaded from nodes.conf, or a fresh node; `None` when
/// cluster mode is off.
pub fn init(config: &Config) -> anyhow::Result<Option<Box<Cluster>>> {
    if !config.get_bool("cluster-enabled") {
        return Ok(None);
    }
    let now = now_ms();
    let path = config.dir().join(config.get("cluster-config-file"));
    let mut cluster = match nodes_conf::load(&path, now)? {
        Some(cluster) => cluster,
        None => {
            let flags = NodeFlags {
                myself: true,
                master: true,
                ..NodeFlags::default()
            };
            Cluster::new(Node::new(NodeId::random(), "", 0, 0, flags, now), path, now)
        }
    };
    let announced = |name: &str| Some(config.get_int(name) as u16).filter(|p| *p != 0);
    cluster.announce_ip = config.get("cluster-announce-ip").to_owned();
    let port = announced("cluster-announce-port").unwrap_or(config.get_int("port") as u16);
    let cport = announced("cluster-announce-bus-port").unwrap_or_else(|| bus_port(config));
    let announce_ip = cluster.announce_ip.clone();
    let me = cluster.me_mut();
    (me.port, me.cport) = (port, cport);
    me.hostname = config.get("cluster-announce-hostname").to_owned();
    if !announce_ip.is_empty() {
        me.ip = announce_ip;
    }
    tracing::info!("Cluster node id {}", cluster.myself);
    nodes_conf::save(&cluster, true)?;
    Ok(Some(Box::new(cluster)))
}

/// Starts the bus listener and the tick (nothing when cluster mode is off). A bus port
/// that cannot be bound ends the process, as in Redis.
pub fn spawn(shared: &Arc<Shared>) {
    let (bind, cport) = {
        let state = shared.state.lock();
        if state.cluster.is_none() {
            return;
        }
        (state.config.get("bind").to_owned(), bus_port(&state.config))
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        match bus::bind(&bind, cport).await {
            Ok(listeners) => listeners
                .into_iter()
                .for_each(|l| drop(tokio::spawn(bus::accept(shared.clone(), l)))),
            Err(e) => {
                tracing::error!("{e}");
                std::process::exit(1);
            }
        }
        cron::run(shared).await;
    });
}

/// PUBLISH / SPUBLISH in cluster mode: every node (SPUBLISH: the shard) delivers it too.
pub fn publish(state: &mut State, shard: bool, channel: &Bytes, message: &Bytes) {
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let (channel, message) = (channel.clone(), message.clone());
    let body = if shard {
        Body::PublishShard { channel, message }
    } else {
        Body::Publish { channel, message }
    };
    bus::send::broadcast(cluster, body, shard);
}

/// What the cluster learns from replication: myself's offset (sent in every heartbeat)
/// and `cluster-replica-no-failover`.
pub fn note_replication(state: &mut State) {
    let offset = state.repl.offset().max(0) as u64;
    let no_failover = state.config.get_bool("cluster-replica-no-failover");
    if let Some(cluster) = state.cluster.as_deref_mut() {
        let me = cluster.me_mut();
        me.repl_offset = offset;
        me.flags.nofailover = no_failover;
    }
}

/// Replication follows myself's cluster role: a replica replicates its master (once its
/// address is known), a master replicates nobody.
fn sync_role(state: &mut State) {
    let Some(cluster) = state.cluster.as_deref() else {
        return;
    };
    let me = cluster.me();
    if me.is_master() {
        if state.repl.is_replica() {
            crate::replication::promote(state);
        }
        return;
    }
    let master = me.master.and_then(|m| cluster.nodes.get(&m));
    let Some((host, port)) = master
        .filter(|m| !m.ip.is_empty() && m.port != 0)
        .map(|m| (m.ip.clone(), m.port))
    else {
        return;
    };
    crate::replication::replicate_to(state, &host, port);
}

/// After the cluster state changed: replication follows the role, keys of slots lost to
/// another master go, and nodes.conf is saved if needed.
pub fn after_change(state: &mut State) {
    sync_role(state);
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let lost = std::mem::take(&mut cluster.lost_slots);
    if cluster.todo_save {
        let durable = std::mem::take(&mut cluster.todo_fsync);
        cluster.todo_save = false;
        if let Err(e) = nodes_conf::save(cluster, durable) {
            tracing::warn!(
                "Could not save the cluster config {}: {e}",
                cluster.path.display()
            );
        }
    }
    for slot in lost {
        let Some(db) = state.dbs.first_mut() else {
            return;
        };
        let keys = db.keys_in_slot(slot, i64::MIN);
        keys.iter().for_each(|k| drop(db.remove(k)));
        for key in keys {
            state.propagate(0, &[Bytes::from_static(b"DEL"), key]);
        }
    }
}
