//! What the CLUSTER read commands show: the `CLUSTER NODES` lines (also the nodes.conf
//! lines), `CLUSTER INFO`, and the entries of `CLUSTER SLOTS` and `CLUSTER SHARDS`, built
//! from a [`Cluster`] with the protocol crate's formatters.

use std::collections::HashMap;
use std::fmt::Write;

use slotgate_protocol::topology::{
    ClusterNode, LinkState, NodeAddr, NodeHealth, NodeId, OpenSlot, ShardNodeView, ShardRole,
    ShardView, SlotRange, SlotsEntry, SlotsNode,
};
use slotgate_protocol::Slot;

use super::bus::message::Kind;
use super::state::{Cluster, Node};

/// The maximal runs of slots with one owner, in slot order.
fn runs(cluster: &Cluster) -> Vec<(NodeId, SlotRange)> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < cluster.slots.len() {
        let owner = cluster.slots.get(start).copied().flatten();
        let owned = owner
            .and_then(|id| cluster.nodes.get(&id))
            .map(|n| &n.slots);
        let mut end = start;
        while owned.is_some_and(|bits| bits.get(end + 1)) {
            end += 1;
        }
        let range = Slot::new(start as u16)
            .zip(Slot::new(end as u16))
            .and_then(|(a, b)| SlotRange::new(a, b));
        if let Some((owner, range)) = owner.zip(range) {
            runs.push((owner, range));
        }
        start = end + 1;
    }
    runs
}

/// Every owner's slots as maximal ranges.
pub fn ranges_by_owner(cluster: &Cluster) -> HashMap<NodeId, Vec<SlotRange>> {
    let mut ranges: HashMap<NodeId, Vec<SlotRange>> = HashMap::new();
    for (owner, range) in runs(cluster) {
        ranges.entry(owner).or_default().push(range);
    }
    ranges
}

/// One node as a `CLUSTER NODES` line.
pub fn describe(
    cluster: &Cluster,
    node: &Node,
    ranges: &HashMap<NodeId, Vec<SlotRange>>,
) -> ClusterNode {
    let open_slots = if node.flags.myself {
        open_slots(cluster)
    } else {
        Vec::new()
    };
    let (ping_sent, pong_recv) = if node.flags.myself {
        (0, 0)
    } else {
        (node.ping_sent, node.pong_recv)
    };
    ClusterNode {
        id: node.id,
        addr: NodeAddr::new(node.ip.clone(), node.port),
        bus_port: node.cport,
        hostname: Some(node.hostname.clone()).filter(|h| !h.is_empty()),
        tls_port: 0,
        shard_id: Some(node.shard_id),
        flags: node.flags,
        master: node.master.filter(|_| !node.is_master()),
        ping_sent: ping_sent.max(0) as u64,
        pong_recv: pong_recv.max(0) as u64,
        config_epoch: cluster.epoch_of(&node.id),
        link: if node.link_connected() {
            LinkState::Connected
        } else {
            LinkState::Disconnected
        },
        slots: ranges.get(&node.id).cloned().unwrap_or_default(),
        open_slots,
    }
}

fn open_slots(cluster: &Cluster) -> Vec<OpenSlot> {
    let slot = |s: &usize| Slot::new(*s as u16);
    let migrating = cluster.migrating.iter().filter_map(|(s, to)| {
        Some(OpenSlot::Migrating {
            slot: slot(s)?,
            to: *to,
        })
    });
    let importing = cluster.importing.iter().filter_map(|(s, from)| {
        Some(OpenSlot::Importing {
            slot: slot(s)?,
            from: *from,
        })
    });
    migrating.chain(importing).collect()
}

/// The `CLUSTER NODES` text: myself first, then the others by id.
pub fn nodes_text(cluster: &Cluster) -> String {
    let ranges = ranges_by_owner(cluster);
    let mut nodes: Vec<&Node> = cluster.nodes.values().collect();
    nodes.sort_by_key(|n| (!n.flags.myself, n.id));
    nodes
        .iter()
        .map(|n| describe(cluster, n, &ranges).format_line() + "\n")
        .collect()
}

/// `CLUSTER REPLICAS <id>` lines.
pub fn replica_lines(cluster: &Cluster, master: &NodeId) -> Vec<String> {
    let ranges = ranges_by_owner(cluster);
    cluster
        .replicas_of(master)
        .map(|n| describe(cluster, n, &ranges).format_line() + "\n")
        .collect()
}

/// The `CLUSTER INFO` text.
pub fn info_text(cluster: &Cluster) -> String {
    let owners = cluster.nodes.values();
    let assigned: usize = owners.clone().map(|n| n.num_slots).sum();
    let pfail: usize = owners
        .clone()
        .filter(|n| n.flags.pfail)
        .map(|n| n.num_slots)
        .sum();
    let fail: usize = owners.filter(|n| n.flags.fail).map(|n| n.num_slots).sum();
    let mut text = String::new();
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(text, "{k}:{v}\r\n");
    };
    line(
        "cluster_state",
        &if cluster.state_ok { "ok" } else { "fail" },
    );
    line("cluster_slots_assigned", &assigned);
    line("cluster_slots_ok", &(assigned - pfail - fail));
    line("cluster_slots_pfail", &pfail);
    line("cluster_slots_fail", &fail);
    line("cluster_known_nodes", &cluster.nodes.len());
    line("cluster_size", &cluster.size());
    line("cluster_current_epoch", &cluster.current_epoch);
    line("cluster_my_epoch", &cluster.epoch_of(&cluster.myself));
    for (direction, counts) in [
        ("sent", &cluster.stats.sent),
        ("received", &cluster.stats.received),
    ] {
        for (kind, count) in Kind::ALL.iter().zip(counts.iter()).filter(|(_, &n)| n > 0) {
            line(
                &format!("cluster_stats_messages_{}_{direction}", kind.name()),
                count,
            );
        }
        line(
            &format!("cluster_stats_messages_{direction}"),
            &counts.iter().sum::<u64>(),
        );
    }
    line("total_cluster_links_buffer_limit_exceeded", &0);
    text
}

fn slots_node(node: &Node) -> SlotsNode {
    let extra = if node.hostname.is_empty() {
        Vec::new()
    } else {
        vec![("hostname".to_owned(), node.hostname.clone())]
    };
    SlotsNode {
        endpoint: node.ip.clone(),
        port: node.port,
        id: Some(node.id),
        extra,
    }
}

/// The `CLUSTER SLOTS` entries: one per maximal run of slots with one owner.
pub fn slots_entries(cluster: &Cluster) -> Vec<SlotsEntry> {
    let entry = |(owner, range): (NodeId, SlotRange)| {
        let master = cluster.nodes.get(&owner)?;
        let replicas = cluster
            .replicas_of(&owner)
            .filter(|r| !r.flags.fail && r.repl_offset != 0)
            .map(slots_node)
            .collect();
        Some(SlotsEntry {
            range,
            master: slots_node(master),
            replicas,
        })
    };
    runs(cluster).into_iter().filter_map(entry).collect()
}

fn shard_node(cluster: &Cluster, node: &Node) -> ShardNodeView {
    let health = match (node.flags.fail, node.is_master(), node.repl_offset) {
        (true, _, _) => NodeHealth::Fail,
        (false, false, 0) => NodeHealth::Loading,
        _ => NodeHealth::Online,
    };
    let offset = if node.flags.myself {
        cluster.me().repl_offset
    } else {
        node.repl_offset
    };
    ShardNodeView {
        id: node.id,
        port: Some(node.port),
        tls_port: None,
        ip: node.ip.clone(),
        endpoint: node.ip.clone(),
        hostname: Some(node.hostname.clone()).filter(|h| !h.is_empty()),
        role: if node.is_master() {
            ShardRole::Master
        } else {
            ShardRole::Replica
        },
        replication_offset: offset as i64,
        health,
    }
}

/// The `CLUSTER SHARDS` entries: one per master, its replicas after it.
pub fn shards(cluster: &Cluster) -> Vec<ShardView> {
    let ranges = ranges_by_owner(cluster);
    let mut masters: Vec<&Node> = cluster
        .nodes
        .values()
        .filter(|n| n.is_master() && !n.flags.handshake)
        .collect();
    masters.sort_by_key(|n| n.id);
    masters
        .into_iter()
        .map(|master| {
            let nodes = std::iter::once(master)
                .chain(cluster.replicas_of(&master.id))
                .map(|n| shard_node(cluster, n))
                .collect();
            ShardView {
                slots: ranges.get(&master.id).cloned().unwrap_or_default(),
                nodes,
            }
        })
        .collect()
}
