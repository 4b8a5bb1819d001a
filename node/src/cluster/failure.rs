//! Failure detection: failure reports gossiped by masters, PFAIL → FAIL once a majority of
//! slot-serving masters agree (then FAIL is broadcast), FAIL messages, and clearing FAIL
//! when a node answers again.

use slotgate_protocol::topology::NodeId;

use super::bus::message::Body;
use super::bus::send;
use super::state::Cluster;

/// Reports older than node_timeout × this are forgotten.
const REPORT_VALIDITY_MULT: i64 = 2;
/// A master with slots stays FAIL at least node_timeout × this.
const FAIL_UNDO_TIME_MULT: i64 = 2;

/// `reporter` (a master) says `id` is failing (`failing`) or fine.
pub fn report(
    cluster: &mut Cluster,
    id: &NodeId,
    reporter: &NodeId,
    failing: bool,
    now: i64,
    node_timeout: i64,
) {
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    node.fail_reports.retain(|(r, _)| r != reporter);
    if failing {
        node.fail_reports.push((*reporter, now));
        mark_failed_if_needed(cluster, id, now, node_timeout);
    }
}

/// PFAIL becomes FAIL when enough masters report it.
pub fn mark_failed_if_needed(cluster: &mut Cluster, id: &NodeId, now: i64, node_timeout: i64) {
    let quorum = cluster.size() / 2 + 1;
    let me_master = cluster.me().is_master();
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    node.fail_reports
        .retain(|(_, at)| now - at <= node_timeout * REPORT_VALIDITY_MULT);
    if !node.flags.pfail || node.flags.fail {
        return;
    }
    let votes = node.fail_reports.len() + usize::from(me_master);
    if votes < quorum {
        return;
    }
    node.flags.pfail = false;
    node.flags.fail = true;
    node.fail_time = now;
    tracing::info!("Marking node {id} as failing (quorum reached).");
    cluster.todo_save = true;
    send::broadcast(cluster, Body::Fail(*id), false);
}

/// A FAIL message from `known` sender about `id`.
pub fn on_fail_message(cluster: &mut Cluster, known: bool, id: &NodeId, now: i64) {
    if !known {
        return;
    }
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    if node.flags.fail || node.flags.myself {
        return;
    }
    node.flags.fail = true;
    node.flags.pfail = false;
    node.fail_time = now;
    cluster.todo_save = true;
}

/// `id` answered: clear PFAIL, and FAIL where that is safe.
pub fn clear_if_alive(cluster: &mut Cluster, id: &NodeId, now: i64, node_timeout: i64) {
    let slots = cluster.slot_count(id);
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    node.flags.pfail = false;
    if !node.flags.fail {
        return;
    }
    let replica_or_empty = !node.is_master() || slots == 0;
    let long_ago = now - node.fail_time > node_timeout * FAIL_UNDO_TIME_MULT;
    if replica_or_empty || long_ago {
        node.flags.fail = false;
        cluster.todo_save = true;
    }
}
