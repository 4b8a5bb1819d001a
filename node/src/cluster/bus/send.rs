//! Building and sending bus messages: the [`Header`] every message carries, PING / PONG /
//! MEET with a random gossip sample, and broadcasts (PONG to all, FAIL, UPDATE, PUBLISH).
//! Messages go into a node's outbound link queue; replies on inbound links are returned
//! to the caller, which writes them on the socket the request came from.

use bytes::Bytes;
use rand::seq::SliceRandom;
use slotgate_protocol::topology::NodeId;

use super::message::{Body, Gossip, Header, Message};
use crate::cluster::state::{Cluster, Node};

/// What myself says about itself in every message.
pub fn header(cluster: &Cluster) -> Header {
    let me = cluster.me();
    let slots = cluster
        .my_master()
        .map(|m| cluster.slots_of(&m))
        .unwrap_or_default();
    Header {
        sender: cluster.myself,
        current_epoch: cluster.current_epoch,
        config_epoch: cluster.epoch_of(&cluster.myself),
        repl_offset: me.repl_offset,
        master: me.master.filter(|_| !me.is_master()),
        ip: cluster.announce_ip.clone(),
        port: me.port,
        cport: me.cport,
        hostname: me.hostname.clone(),
        flags: me.flags,
        state_ok: cluster.state_ok,
        paused: me.is_master() && cluster.mf.end != 0,
        force_ack: false,
        slots,
        shard_id: me.shard_id,
    }
}

/// Frames `body` from myself and counts it as sent.
pub fn frame(cluster: &mut Cluster, body: Body) -> Bytes {
    framed(cluster, header(cluster), body)
}

/// Frames `body` under `header` and counts it as sent.
fn framed(cluster: &mut Cluster, header: Header, body: Body) -> Bytes {
    let message = Message { header, body };
    cluster.stats.sent[message.kind() as usize] += 1;
    message.encode()
}

fn gossip_entry(node: &Node) -> Gossip {
    Gossip {
        id: node.id,
        ping_sent: (node.ping_sent / 1000) as u32,
        pong_recv: (node.pong_recv / 1000) as u32,
        ip: node.ip.clone(),
        port: node.port,
        cport: node.cport,
        flags: node.flags,
    }
}

/// A random sample of what myself knows for `receiver`: max(3, n/10) nodes (at most
/// n − 2), never myself, the receiver, handshake / address-less nodes or disconnected
/// slotless ones — plus every node myself thinks may be failing (connected or not).
pub fn gossip_for(cluster: &Cluster, receiver: Option<&NodeId>) -> Vec<Gossip> {
    let eligible = |n: &&Node| {
        let disconnected_slotless = n.link.is_none() && n.num_slots == 0;
        let excluded =
            n.flags.myself || n.flags.handshake || n.flags.noaddr || disconnected_slotless;
        !excluded && Some(&n.id) != receiver
    };
    let candidates: Vec<&Node> = cluster.nodes.values().filter(eligible).collect();
    let known = cluster.nodes.len();
    let wanted = (known / 10).max(3).min(known.saturating_sub(2));
    let mut chosen: Vec<&Node> = candidates
        .choose_multiple(&mut rand::thread_rng(), wanted)
        .copied()
        .collect();
    // As Redis: every PFAIL node, even a disconnected slotless one (a dead replica must
    // reach FAIL too).
    let failing = cluster
        .nodes
        .values()
        .filter(|n| n.flags.pfail && !n.flags.handshake && !n.flags.noaddr)
        .filter(|n| Some(&n.id) != receiver && !chosen.iter().any(|c| c.id == n.id))
        .collect::<Vec<_>>();
    chosen.extend(failing);
    chosen.into_iter().map(gossip_entry).collect()
}

/// Queues `bytes` on the outbound link to `to`; false without a connected link.
pub fn send_to(cluster: &Cluster, to: &NodeId, bytes: Bytes) -> bool {
    let link = cluster
        .nodes
        .get(to)
        .and_then(|n| n.link.as_ref())
        .filter(|l| l.connected);
    link.is_some_and(|l| l.tx.send(bytes).is_ok())
}

/// Sends a PING (or MEET to a node met by CLUSTER MEET) and notes when.
pub fn ping(cluster: &mut Cluster, to: &NodeId, now: i64) {
    let Some(node) = cluster.nodes.get(to) else {
        return;
    };
    let gossip = gossip_for(cluster, Some(to));
    let body = if node.meet {
        Body::Meet(gossip)
    } else {
        Body::Ping(gossip)
    };
    let bytes = frame(cluster, body);
    if send_to(cluster, to, bytes) {
        if let Some(node) = cluster.nodes.get_mut(to) {
            if node.ping_sent == 0 {
                node.ping_sent = now;
            }
        }
    }
}

/// The PONG answering a PING or MEET from `receiver` (unknown senders get one too).
pub fn pong(cluster: &mut Cluster, receiver: &NodeId) -> Bytes {
    let gossip = gossip_for(cluster, Some(receiver));
    frame(cluster, Body::Pong(gossip))
}

/// Sends `body` to every connected node (`shard_only`: only myself's master and its
/// replicas).
pub fn broadcast(cluster: &mut Cluster, body: Body, shard_only: bool) {
    let bytes = frame(cluster, body);
    broadcast_bytes(cluster, &bytes, shard_only);
}

/// Asks every node for its vote (FORCEACK: a manual failover, vote though my master is up).
pub fn auth_request(cluster: &mut Cluster, force_ack: bool) {
    let mut header = header(cluster);
    header.force_ack = force_ack;
    let bytes = framed(cluster, header, Body::AuthRequest);
    broadcast_bytes(cluster, &bytes, false);
}

fn broadcast_bytes(cluster: &Cluster, bytes: &Bytes, shard_only: bool) {
    for id in targets(cluster, shard_only) {
        send_to(cluster, &id, bytes.clone());
    }
}

/// Every other node past its handshake (`shard_only`: myself's master and its replicas).
fn targets(cluster: &Cluster, shard_only: bool) -> Vec<NodeId> {
    let shard = cluster.my_master();
    let in_shard = |n: &Node| shard.is_some_and(|m| n.id == m || n.master == Some(m));
    cluster
        .nodes
        .values()
        .filter(|n| !n.flags.myself && !n.flags.handshake && (!shard_only || in_shard(n)))
        .map(|n| n.id)
        .collect()
}

/// A PONG with fresh gossip to every connected node: "my configuration changed"
/// (`shard_only`: to myself's master and its replicas).
pub fn broadcast_pong(cluster: &mut Cluster, shard_only: bool) {
    for id in targets(cluster, shard_only) {
        let bytes = pong(cluster, &id);
        send_to(cluster, &id, bytes);
    }
}

/// Tells `to` who really owns the slots it claims: `owner`'s newer configuration.
pub fn update(cluster: &mut Cluster, to: &NodeId, owner: &NodeId) {
    let body = Body::Update {
        config_epoch: cluster.epoch_of(owner),
        node: *owner,
        slots: cluster.slots_of(owner),
    };
    let bytes = frame(cluster, body);
    send_to(cluster, to, bytes);
}
