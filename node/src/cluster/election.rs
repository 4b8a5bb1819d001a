//! Replica election and promotion (Redis's `clusterHandleSlaveFailover`): a replica whose
//! master is FAIL (or whose manual failover may start) waits `500 ms + random(0..500) +
//! rank × 1000 ms`, bumps currentEpoch, asks the masters for their vote (AUTH_REQUEST),
//! and with a majority takes its master's slots under the election epoch. Masters vote
//! here too: once per epoch, not twice within 2 × node timeout for replicas of one master,
//! never for a claim older than a slot's current owner.

use rand::Rng;
use slotgate_protocol::topology::NodeId;

use super::bus::message::{Body, Header};
use super::bus::send;
use super::nodes_conf;
use super::state::Cluster;
use crate::state::State;

/// `cluster-replica-validity-factor`'s unit: `repl-ping-replica-period` (10 s).
const REPL_PING_PERIOD_MS: i64 = 10_000;

/// Myself's election, as a replica (Redis's `failover_auth_*`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Election {
    /// When the election may start (scheduled), or started.
    pub time: i64,
    /// Votes received.
    pub count: usize,
    /// AUTH_REQUEST sent for this attempt.
    pub sent: bool,
    pub rank: usize,
    /// currentEpoch of the election.
    pub epoch: u64,
}

/// The 100 ms step of a replica's election.
pub fn cron(state: &mut State, now: i64, node_timeout: i64) {
    let no_failover = state.config.get_bool("cluster-replica-no-failover");
    let validity = state.config.get_int("cluster-replica-validity-factor");
    let offset = state.repl.offset();
    let data_age = data_age_ms(state, node_timeout);
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let Some(master) = failed_master(cluster) else {
        return;
    };
    let manual = cluster.mf.end != 0 && cluster.mf.can_start;
    let master_down = cluster.nodes.get(&master).is_some_and(|m| m.flags.fail);
    if !manual && (!master_down || no_failover) {
        return;
    }
    let max_age = REPL_PING_PERIOD_MS + node_timeout * validity;
    if !manual && validity > 0 && data_age > max_age {
        return;
    }
    let auth_timeout = (node_timeout * 2).max(2000);
    if now - cluster.election.time > auth_timeout * 2 {
        schedule(cluster, now, offset, manual);
        return;
    }
    if !cluster.election.sent && !manual {
        let rank = rank(cluster, offset);
        let election = &mut cluster.election;
        if rank > election.rank {
            election.time += (rank - election.rank) as i64 * 1000;
        }
        election.rank = rank;
    }
    let election = cluster.election;
    if now < election.time || now - election.time > auth_timeout {
        return;
    }
    if !election.sent {
        request_votes(cluster, manual);
    } else if election.count > cluster.size() / 2 {
        tracing::info!("Failover election won: I'm the new master.");
        let epoch = election.epoch;
        cluster.me_mut().config_epoch = epoch;
        replace_master(state);
    }
}

/// Myself's master, when myself is a replica of a known master that owns slots.
fn failed_master(cluster: &Cluster) -> Option<NodeId> {
    let me = cluster.me();
    let master = me.master.filter(|_| !me.is_master())?;
    (cluster.slot_count(&master) > 0).then_some(master)
}

/// How old the replica's data may be: time since the master was last heard on the
/// replication link, past the node timeout.
fn data_age_ms(state: &State, node_timeout: i64) -> i64 {
    let link = state.repl.link();
    let since = match (link.state, link.last_io) {
        (crate::replication::LinkState::Connected, Some(io)) => io,
        _ => link.down_since,
    };
    let age = since.elapsed().as_millis() as i64;
    if age > node_timeout {
        age - node_timeout
    } else {
        age
    }
}

/// Sibling replicas (able to fail over) with more data than myself.
fn rank(cluster: &Cluster, offset: i64) -> usize {
    let Some(master) = cluster.me().master else {
        return 0;
    };
    cluster
        .replicas_of(&master)
        .filter(|r| !r.flags.myself && !r.flags.nofailover && r.repl_offset as i64 > offset)
        .count()
}

/// Plans the next attempt and tells the siblings myself's offset.
fn schedule(cluster: &mut Cluster, now: i64, offset: i64, manual: bool) {
    let rank = if manual { 0 } else { rank(cluster, offset) };
    let delay = if manual {
        0
    } else {
        500 + rand::thread_rng().gen_range(0..500) + rank as i64 * 1000
    };
    cluster.election = Election {
        time: now + delay,
        count: 0,
        sent: false,
        rank,
        epoch: cluster.election.epoch,
    };
    tracing::info!(
        "Start of election delayed for {delay} milliseconds (rank #{rank}, offset {offset})."
    );
    send::broadcast_pong(cluster, true);
}

/// A new epoch, saved durably before anyone hears of it, and the vote request.
fn request_votes(cluster: &mut Cluster, manual: bool) {
    cluster.current_epoch += 1;
    cluster.election.epoch = cluster.current_epoch;
    cluster.election.sent = true;
    if let Err(e) = nodes_conf::save(cluster, true) {
        tracing::warn!("Could not save the cluster config before an election: {e}");
    }
    tracing::info!(
        "Starting a failover election for epoch {}.",
        cluster.current_epoch
    );
    send::auth_request(cluster, manual);
}

/// Promotion: myself becomes a master with all of its old master's slots, stops
/// replicating, saves durably and tells everyone. `config_epoch` must already be set.
pub fn replace_master(state: &mut State) {
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let me = cluster.myself;
    let Some(old) = cluster.me().master.filter(|_| !cluster.me().is_master()) else {
        return;
    };
    cluster.set_as_master(&me);
    let slots: Vec<usize> = cluster.slots_of(&old).iter().map(|s| s.index()).collect();
    slots
        .into_iter()
        .for_each(|slot| cluster.add_slot(slot, me));
    cluster.mf = Default::default();
    cluster.todo_save = true;
    cluster.todo_fsync = true;
    if let Err(e) = nodes_conf::save(cluster, true) {
        tracing::warn!("Could not save the cluster config after promotion: {e}");
    }
    send::broadcast_pong(cluster, false);
    crate::replication::promote(state);
}

/// An AUTH_REQUEST from `header.sender`: vote if every rule allows it.
pub fn on_auth_request(cluster: &mut Cluster, header: &Header, now: i64, node_timeout: i64) {
    let Some(master) = vote_for(cluster, header, now, node_timeout) else {
        return;
    };
    cluster.last_vote_epoch = cluster.current_epoch;
    if let Some(node) = cluster.nodes.get_mut(&master) {
        node.voted_time = now;
    }
    if let Err(e) = nodes_conf::save(cluster, true) {
        tracing::warn!("Could not save the cluster config before voting: {e}");
        return;
    }
    tracing::info!(
        "Failover auth granted to {} for epoch {}",
        header.sender,
        cluster.current_epoch
    );
    let bytes = send::frame(cluster, Body::AuthAck);
    send::send_to(cluster, &header.sender, bytes);
}

/// The master whose replica asks, when myself may vote for it.
fn vote_for(cluster: &Cluster, header: &Header, now: i64, node_timeout: i64) -> Option<NodeId> {
    let me = cluster.me();
    let eligible = me.is_master() && me.num_slots > 0;
    if !eligible
        || header.current_epoch < cluster.current_epoch
        || cluster.last_vote_epoch == cluster.current_epoch
    {
        return None;
    }
    let master = cluster.nodes.get(&header.master?)?;
    if !master.flags.fail && !header.force_ack {
        return None;
    }
    if now - master.voted_time < node_timeout * 2 {
        return None;
    }
    let outdated = header.slots.iter().any(|slot| {
        cluster
            .owner(slot.index())
            .is_some_and(|owner| cluster.epoch_of(&owner.id) > header.config_epoch)
    });
    (!outdated).then_some(master.id)
}

/// An AUTH_ACK: count it if it comes from a master with slots, for this election.
pub fn on_auth_ack(cluster: &mut Cluster, header: &Header) {
    let voter = cluster.nodes.get(&header.sender);
    let counts = voter.is_some_and(|v| v.is_master() && v.num_slots > 0)
        && header.current_epoch >= cluster.election.epoch
        && cluster.election.sent;
    if counts {
        cluster.election.count += 1;
    }
}
