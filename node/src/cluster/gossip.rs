//! Processing what the bus brings (Redis's `clusterProcessPacket`): epochs, handshakes
//! (a met node's PONG gives it its real name), roles, slot claims, gossip about third
//! nodes, FAIL, UPDATE, PUBLISH, and the failover messages (AUTH_REQUEST / AUTH_ACK,
//! MFSTART). A packet whose sender we do not know is dropped and
//! counted, except MEET (which introduces a node) and PING (answered with PONG).

use slotgate_protocol::topology::{NodeFlags, NodeId};

use super::bus::message::{Body, Gossip, Header, Kind, Message};
use super::bus::send;
use super::config_update::update_slots;
use super::state::{Cluster, Node};
use super::{election, failover, failure};
use crate::pubsub::Kind as Channel;
use crate::state::{now_ms, State};

/// Where a packet arrived.
pub enum Origin {
    /// A connection the peer opened; replies go back on it.
    Inbound { peer_ip: String, local_ip: String },
    /// Myself's link to a node, by link id.
    Outbound(u64),
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Inbound { peer_ip, .. } => peer_ip.clone(),
            Origin::Outbound(id) => format!("link {id}"),
        }
    }
}

/// The outbound link `link_id` connected: greet the node.
pub fn link_up(state: &mut State, link_id: u64) {
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let Some(node) = cluster.node_by_link(link_id) else {
        return;
    };
    if let Some(link) = node.link.as_mut() {
        link.connected = true;
    }
    let id = node.id;
    send::ping(cluster, &id, now_ms());
}

/// Handles one packet; the reply to write back, if any.
pub fn process(state: &mut State, message: Message, origin: &Origin) -> Option<bytes::Bytes> {
    let now = now_ms();
    let node_timeout = state.config.get_int("cluster-node-timeout");
    let kind = message.kind();
    super::note_replication(state);
    let cluster = state.cluster.as_deref_mut()?;
    cluster.stats.received[kind as usize] += 1;
    let header = &message.header;
    let known = known(cluster, &header.sender);
    if known {
        note_sender(cluster, header, now);
    } else if !matches!(kind, Kind::Meet | Kind::Ping) && !matches!(origin, Origin::Outbound(_)) {
        cluster.stats.dropped += 1;
        return None;
    }
    let reply = match &message.body {
        Body::Ping(gossip) | Body::Pong(gossip) | Body::Meet(gossip) => {
            heartbeat(cluster, &message, gossip, origin, now, node_timeout)
        }
        Body::Fail(id) => {
            failure::on_fail_message(cluster, known, id, now);
            None
        }
        Body::AuthRequest => {
            election::on_auth_request(cluster, header, now, node_timeout);
            None
        }
        Body::AuthAck => {
            election::on_auth_ack(cluster, header);
            None
        }
        Body::MfStart => {
            failover::on_mfstart(cluster, &header.sender, now);
            None
        }
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            if known {
                on_update(state, *config_epoch, node, slots);
            }
            None
        }
        Body::Publish {
            channel,
            message: payload,
        }
        | Body::PublishShard {
            channel,
            message: payload,
        } => {
            if known {
                let channel_kind = if kind == Kind::Publish {
                    Channel::Channel
                } else {
                    Channel::Shard
                };
                state.pubsub.publish(channel_kind, channel, payload, 0);
            }
            None
        }
    };
    let require_coverage = state.config.get_bool("cluster-require-full-coverage");
    if let Some(cluster) = state.cluster.as_deref_mut() {
        cluster.update_state(now, require_coverage, node_timeout);
    }
    reply
}

fn known(cluster: &Cluster, id: &NodeId) -> bool {
    cluster.nodes.get(id).is_some_and(|n| !n.flags.handshake)
}

/// Every packet from a known node: epochs, offset, liveness.
fn note_sender(cluster: &mut Cluster, header: &Header, now: i64) {
    if header.current_epoch > cluster.current_epoch {
        cluster.current_epoch = header.current_epoch;
        cluster.todo_save = true;
        cluster.todo_fsync = true;
    }
    let Some(sender) = cluster.nodes.get_mut(&header.sender) else {
        return;
    };
    if header.config_epoch > sender.config_epoch {
        sender.config_epoch = header.config_epoch;
        cluster.todo_save = true;
        cluster.todo_fsync = true;
    }
    sender.repl_offset = header.repl_offset;
    sender.data_recv = now;
}

/// PING, PONG and MEET.
fn heartbeat(
    cluster: &mut Cluster,
    message: &Message,
    gossip: &[Gossip],
    origin: &Origin,
    now: i64,
    node_timeout: i64,
) -> Option<bytes::Bytes> {
    let header = &message.header;
    let kind = message.kind();
    let mut reply = None;
    if let Origin::Inbound { peer_ip, local_ip } = origin {
        if (kind == Kind::Meet || cluster.me().ip.is_empty())
            && cluster.announce_ip.is_empty()
            && cluster.me().ip != *local_ip
        {
            cluster.me_mut().ip = local_ip.clone();
            cluster.todo_save = true;
        }
        if kind == Kind::Meet && !cluster.nodes.contains_key(&header.sender) {
            meet_from(cluster, header, peer_ip, now);
        }
        if kind != Kind::Pong {
            reply = Some(send::pong(cluster, &header.sender));
        }
        if kind == Kind::Ping && known(cluster, &header.sender) {
            update_address(cluster, &header.sender, header, peer_ip);
        }
    }
    if let Origin::Outbound(link_id) = origin {
        if !outbound_reply(cluster, *link_id, header, now, node_timeout) {
            return reply;
        }
    }
    if known(cluster, &header.sender) {
        failover::on_heartbeat(cluster, header);
        from_known_sender(cluster, header, gossip, now, node_timeout);
    } else if kind == Kind::Meet {
        gossip_section(cluster, None, gossip, now, node_timeout);
    }
    reply
}

/// A MEET from a node we never heard of: add it, still in handshake.
fn meet_from(cluster: &mut Cluster, header: &Header, peer_ip: &str, now: i64) {
    let ip = if header.ip.is_empty() {
        peer_ip
    } else {
        &header.ip
    };
    let flags = NodeFlags {
        handshake: true,
        master: header.flags.master,
        ..NodeFlags::default()
    };
    let node = Node::new(NodeId::random(), ip, header.port, header.cport, flags, now);
    learn(cluster, node);
}

/// A node learned from the bus (a MEET's sender, a gossip entry) joins the table.
fn learn(cluster: &mut Cluster, node: Node) {
    cluster.nodes.insert(node.id, node);
    cluster.todo_save = true;
}

/// A packet on myself's link to a node: complete a handshake, note the PONG. False when
/// the packet must not be processed further (the handshake node was a duplicate).
fn outbound_reply(
    cluster: &mut Cluster,
    link_id: u64,
    header: &Header,
    now: i64,
    node_timeout: i64,
) -> bool {
    let Some(node) = cluster.node_by_link(link_id) else {
        return false;
    };
    let id = node.id;
    if node.flags.handshake {
        if known(cluster, &header.sender) {
            cluster.del_node(&id);
            return false;
        }
        cluster.rename(&id, header.sender);
        if let Some(node) = cluster.nodes.get_mut(&header.sender) {
            node.flags.handshake = false;
            node.meet = false;
            node.flags.master = header.flags.master;
            node.flags.replica = header.flags.replica;
        }
        note_sender(cluster, header, now);
    } else if id != header.sender {
        if let Some(node) = cluster.nodes.get_mut(&id) {
            node.flags.noaddr = true;
            node.link = None;
        }
        return false;
    }
    if let Some(node) = cluster.nodes.get_mut(&header.sender) {
        node.pong_recv = now;
        node.ping_sent = 0;
    }
    failure::clear_if_alive(cluster, &header.sender, now, node_timeout);
    true
}

/// A known node moved (PING from a new address): remember it and reconnect.
fn update_address(cluster: &mut Cluster, id: &NodeId, header: &Header, peer_ip: &str) {
    let ip = if header.ip.is_empty() {
        peer_ip
    } else {
        &header.ip
    };
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    if node.ip == ip && node.port == header.port && node.cport == header.cport {
        return;
    }
    node.ip = ip.to_owned();
    node.port = header.port;
    node.cport = header.cport;
    node.flags.noaddr = false;
    node.link = None;
    cluster.todo_save = true;
}

/// Role, slots and gossip of a known sender.
fn from_known_sender(
    cluster: &mut Cluster,
    header: &Header,
    gossip: &[Gossip],
    now: i64,
    node_timeout: i64,
) {
    let id = header.sender;
    if let Some(sender) = cluster.nodes.get_mut(&id) {
        sender.flags.nofailover = header.flags.nofailover;
        if !header.hostname.is_empty() || !sender.hostname.is_empty() {
            sender.hostname.clone_from(&header.hostname);
        }
        sender.shard_id = header.shard_id;
    }
    set_role(cluster, &id, header.master);
    let sender_master = if header.master.is_none() {
        Some(id)
    } else {
        header.master
    };
    let view = sender_master.map(|m| cluster.slots_of(&m));
    let dirty = view.as_ref().is_some_and(|v| *v != header.slots);
    if dirty && header.master.is_none() {
        update_slots(cluster, &id, header.config_epoch, &header.slots);
    }
    if let Some(view) = view.filter(|_| dirty) {
        let changed = header.slots.iter().filter(|s| !view.get(s.index()));
        let stale = changed.into_iter().find_map(|slot| {
            let owner = cluster.owner(slot.index())?;
            (owner.id != id && cluster.epoch_of(&owner.id) > header.config_epoch)
                .then_some(owner.id)
        });
        if let Some(owner) = stale {
            send::update(cluster, &id, &owner);
        }
    }
    let me = cluster.me();
    if me.is_master() && header.master.is_none() && header.config_epoch == me.config_epoch {
        super::config_update::epoch_collision(cluster, &id);
    }
    gossip_section(cluster, Some(&id), gossip, now, node_timeout);
}

/// The sender says it is a master (`master == None`) or a replica of `master`.
fn set_role(cluster: &mut Cluster, id: &NodeId, master: Option<NodeId>) {
    let Some(sender) = cluster.nodes.get(id) else {
        return;
    };
    match master {
        None if !sender.is_master() => {
            cluster.set_as_master(id);
            cluster.todo_save = true;
        }
        None => {}
        Some(master) => {
            if sender.is_master() {
                cluster.del_node_slots(id);
            }
            let master_known = cluster.nodes.contains_key(&master);
            if let Some(sender) = cluster.nodes.get_mut(id) {
                if sender.is_master() || (master_known && sender.master != Some(master)) {
                    sender.flags.master = false;
                    sender.flags.replica = true;
                    sender.master = Some(master);
                    cluster.todo_save = true;
                }
            }
        }
    }
}

/// What a node says about third nodes: failure reports, liveness, new nodes.
fn gossip_section(
    cluster: &mut Cluster,
    sender: Option<&NodeId>,
    gossip: &[Gossip],
    now: i64,
    node_timeout: i64,
) {
    let reporter = sender
        .filter(|s| cluster.nodes.get(s).is_some_and(Node::is_master))
        .copied();
    for entry in gossip {
        let failing = entry.flags.pfail || entry.flags.fail;
        if cluster.nodes.contains_key(&entry.id) {
            if let Some(reporter) = reporter.filter(|_| entry.id != cluster.myself) {
                failure::report(cluster, &entry.id, &reporter, failing, now, node_timeout);
            }
            if let Some(node) = cluster.nodes.get_mut(&entry.id) {
                let pong = i64::from(entry.pong_recv) * 1000;
                if !failing
                    && node.ping_sent == 0
                    && node.fail_reports.is_empty()
                    && pong <= now + 500
                    && pong > node.pong_recv
                {
                    node.pong_recv = pong;
                }
            }
        } else if sender.is_some()
            && !entry.flags.noaddr
            && !entry.ip.is_empty()
            && !cluster.is_banned(&entry.id, now)
        {
            let flags = NodeFlags {
                master: entry.flags.master,
                replica: entry.flags.replica,
                ..NodeFlags::default()
            };
            learn(
                cluster,
                Node::new(entry.id, &entry.ip, entry.port, entry.cport, flags, now),
            );
        }
    }
}

/// UPDATE: `node` owns `slots` as of `config_epoch`.
fn on_update(
    state: &mut State,
    config_epoch: u64,
    node: &NodeId,
    slots: &super::bus::message::SlotBits,
) {
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let Some(target) = cluster.nodes.get(node) else {
        return;
    };
    if target.config_epoch >= config_epoch {
        return;
    }
    if !target.is_master() {
        cluster.set_as_master(node);
    }
    if let Some(target) = cluster.nodes.get_mut(node) {
        target.config_epoch = config_epoch;
    }
    update_slots(cluster, node, config_epoch, slots);
}
