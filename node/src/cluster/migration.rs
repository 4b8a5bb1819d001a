//! Replica migration (Redis's `clusterHandleSlaveMigration`): an orphaned master — one
//! serving slots, not failing, that used to have replicas (`Node::migrate_to`) and has no
//! working one left — gets a spare replica from the master with the most working
//! replicas. Only the replica with the smallest node id among that master's replicas
//! moves, only when its master keeps more than `cluster-migration-barrier` working
//! replicas, only while the cluster state is ok, and only after the orphan has been
//! orphaned for [`MIGRATION_DELAY_MS`] (so a failover's own replicas have time to
//! re-attach first). `cluster-allow-replica-migration no` turns it off.

use slotgate_protocol::topology::NodeId;

use super::state::{Cluster, Node};
use crate::state::State;

/// How long a master must stay orphaned before a replica migrates to it.
const MIGRATION_DELAY_MS: i64 = 5000;

/// The 100 ms step, on a replica.
pub fn cron(state: &mut State, now: i64) {
    if !state.config.get_bool("cluster-allow-replica-migration") {
        return;
    }
    let barrier = state.config.get_int("cluster-migration-barrier").max(0) as usize;
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let Some(my_master) = cluster.me().master.filter(|_| !cluster.me().is_master()) else {
        return;
    };
    note_replicated_masters(cluster);
    let orphans = cluster
        .nodes
        .values()
        .filter(|n| n.is_master() && !n.flags.fail && n.num_slots > 0 && n.migrate_to)
        .filter(|n| working_replicas(cluster, n) == 0)
        .count();
    let max = cluster
        .nodes
        .values()
        .filter(|n| n.is_master() && !n.flags.fail)
        .map(|n| working_replicas(cluster, n))
        .max()
        .unwrap_or(0);
    let mine = cluster
        .nodes
        .get(&my_master)
        .filter(|m| m.is_master() && !m.flags.fail)
        .map_or(0, |m| working_replicas(cluster, m));
    if orphans > 0 && max >= 2 && mine == max {
        migrate_if_candidate(cluster, my_master, max, barrier, now);
    }
}

/// A master that has (or had) a replica may become orphaned: remember it had one.
fn note_replicated_masters(cluster: &mut Cluster) {
    let masters: Vec<NodeId> = cluster
        .nodes
        .values()
        .filter(|n| !n.is_master())
        .filter_map(|n| n.master)
        .collect();
    for id in masters {
        if let Some(master) = cluster.nodes.get_mut(&id) {
            master.migrate_to = true;
        }
    }
}

/// Replicas of `master` not flagged FAIL (Redis's `clusterCountNonFailingSlaves`).
fn working_replicas(cluster: &Cluster, master: &Node) -> usize {
    cluster
        .replicas_of(&master.id)
        .filter(|r| !r.flags.fail)
        .count()
}

/// Steps 1–4 of Redis's algorithm: the state is ok, myself's master keeps enough
/// replicas, myself is the candidate, the orphan has waited long enough.
fn migrate_if_candidate(
    cluster: &mut Cluster,
    my_master: NodeId,
    max: usize,
    barrier: usize,
    now: i64,
) {
    if !cluster.state_ok {
        return;
    }
    let ok_siblings = cluster
        .replicas_of(&my_master)
        .filter(|r| !r.is_failing())
        .count();
    if ok_siblings <= barrier {
        return;
    }
    let orphaned: Vec<(NodeId, bool)> = cluster
        .nodes
        .values()
        .map(|n| {
            let orphan =
                n.is_master() && !n.flags.fail && n.migrate_to && working_replicas(cluster, n) == 0;
            (n.id, orphan)
        })
        .collect();
    for (id, orphan) in &orphaned {
        if let Some(node) = cluster.nodes.get_mut(id) {
            node.orphaned_time = match (orphan, node.orphaned_time) {
                (false, _) => 0,
                (true, 0) => now,
                (true, since) => since,
            };
        }
    }
    let target = orphaned
        .iter()
        .filter(|(id, orphan)| *orphan && cluster.slot_count(id) > 0)
        .map(|(id, _)| *id)
        .min();
    let candidate = cluster
        .nodes
        .values()
        .filter(|n| n.is_master() && working_replicas(cluster, n) == max)
        .flat_map(|n| cluster.replicas_of(&n.id))
        .map(|r| r.id)
        .chain([cluster.myself])
        .min();
    let Some(target) = target.and_then(|id| cluster.nodes.get(&id)) else {
        return;
    };
    if candidate == Some(cluster.myself) && now - target.orphaned_time > MIGRATION_DELAY_MS {
        let target = target.id;
        tracing::info!("Migrating to orphaned master {target}");
        cluster.replicate(target);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use slotgate_protocol::topology::NodeFlags;

    use super::*;

    /// Node ids in a known order: `id(1) < id(2) < …`.
    fn id(n: u8) -> NodeId {
        format!("{:040x}", n).parse().expect("node id")
    }

    fn node(n: u8, master: Option<u8>, myself: bool) -> Node {
        let flags = NodeFlags {
            myself,
            master: master.is_none(),
            replica: master.is_some(),
            ..NodeFlags::default()
        };
        let mut node = Node::new(id(n), "127.0.0.1", 7000 + u16::from(n), 0, flags, 0);
        node.master = master.map(id);
        node
    }

    /// Masters 1 (replicas 4, 5), 2 (replica 6), 3 (no replica), each with slots; myself
    /// is `me` (4 or 5).
    fn cluster(me: u8) -> Cluster {
        let mut c = Cluster::new(node(me, Some(1), true), PathBuf::from("nodes.conf"), 0);
        let others = [
            (1, None),
            (2, None),
            (3, None),
            (4, Some(1)),
            (5, Some(1)),
            (6, Some(2)),
        ];
        for (n, master) in others.into_iter().filter(|(n, _)| *n != me) {
            c.nodes.insert(id(n), node(n, master, false));
        }
        for (slot, owner) in [(0, 1), (1, 2), (2, 3)] {
            c.add_slot(slot, id(owner));
        }
        c.state_ok = true;
        note_replicated_masters(&mut c);
        c
    }

    fn orphan_master_2(c: &mut Cluster) {
        if let Some(replica) = c.nodes.get_mut(&id(6)) {
            replica.flags.fail = true;
        }
    }

    #[test]
    fn the_smallest_replica_migrates_after_the_delay() {
        let mut c = cluster(4);
        orphan_master_2(&mut c);
        migrate_if_candidate(&mut c, id(1), 2, 1, 10_000);
        assert_eq!(
            c.me().master,
            Some(id(1)),
            "the orphan waits the delay first"
        );
        migrate_if_candidate(&mut c, id(1), 2, 1, 10_000 + MIGRATION_DELAY_MS + 1);
        assert_eq!(c.me().master, Some(id(2)));
    }

    #[test]
    fn only_the_candidate_and_only_above_the_barrier() {
        let mut c = cluster(5);
        orphan_master_2(&mut c);
        migrate_if_candidate(&mut c, id(1), 2, 1, 0);
        migrate_if_candidate(&mut c, id(1), 2, 1, MIGRATION_DELAY_MS + 1);
        assert_eq!(c.me().master, Some(id(1)), "5 is not the smallest id");
        let mut c = cluster(4);
        orphan_master_2(&mut c);
        migrate_if_candidate(&mut c, id(1), 2, 2, 0);
        migrate_if_candidate(&mut c, id(1), 2, 2, MIGRATION_DELAY_MS + 1);
        assert_eq!(
            c.me().master,
            Some(id(1)),
            "master 1 would keep fewer than 2"
        );
    }

    #[test]
    fn a_master_that_never_had_replicas_is_no_orphan() {
        let mut c = cluster(4);
        migrate_if_candidate(&mut c, id(1), 2, 1, 0);
        migrate_if_candidate(&mut c, id(1), 2, 1, MIGRATION_DELAY_MS + 1);
        assert_eq!(c.me().master, Some(id(1)), "master 3 never had a replica");
        assert_eq!(c.nodes[&id(3)].orphaned_time, 0);
    }
}
