//! CLUSTER FORGET's 60 s ban against gossip, the same scenario against a 3+3 `slotgate-node`
//! cluster and a 3+3 `redis-server` cluster: a replica is forgotten by every node but one
//! (as if `redis-cli --cluster del-node` had reached only some nodes) and not reset, so the
//! one node that still knows it keeps gossiping about it, and the forgotten replica keeps
//! pinging everyone. For the 60 s of the ban it must not come back on the nodes that forgot
//! it; once the ban expires, the gossip brings it back (proving the gossip did carry it).

use std::time::{Duration, Instant};

use slotgate_tests::eventually;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};

/// Redis's ban (`CLUSTER_BLACKLIST_TTL`).
const BAN: Duration = Duration::from_secs(60);

fn nodes_text(cluster: &RedisCluster, port: u16) -> String {
    let node = cluster.nodes.iter().find(|n| n.port == port).expect("node");
    node.client()
        .text(&["CLUSTER", "NODES"])
        .expect("cluster nodes")
}

fn known_by(cluster: &RedisCluster, port: u16, id: &str) -> bool {
    nodes_text(cluster, port).lines().any(|l| l.starts_with(id))
}

fn scenario(kind: ServerKind) {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let nodes = nodes_text(&cluster, cluster.nodes[0].port);
    let replica = nodes
        .lines()
        .find(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("slave")))
        .expect("a replica");
    let port_of = |line: &str| -> u16 { line.split([':', '@']).nth(1).unwrap().parse().unwrap() };
    let id = replica.split(' ').next().unwrap().to_owned();
    let port = port_of(replica);
    let master = replica.split(' ').nth(3).unwrap();
    let master_port = port_of(nodes.lines().find(|l| l.starts_with(master)).unwrap());
    // The keeper: a master other than the replica's own, which never forgets it.
    let keeper = cluster
        .master_ports()
        .into_iter()
        .find(|p| *p != master_port)
        .expect("another master");
    let forgetters: Vec<u16> = cluster
        .nodes
        .iter()
        .map(|n| n.port)
        .filter(|p| *p != port && *p != keeper)
        .collect();
    for &p in &forgetters {
        let node = cluster.nodes.iter().find(|n| n.port == p).unwrap();
        let reply = node.client().text(&["CLUSTER", "FORGET", &id]).unwrap();
        assert_eq!(reply, "OK", "FORGET on {p}");
    }
    let forgotten_at = Instant::now();
    let again = cluster
        .nodes
        .iter()
        .find(|n| n.port == forgetters[0])
        .unwrap();
    let again = again.client().cmd(&["CLUSTER", "FORGET", &id]).unwrap();
    assert_eq!(
        again,
        slotgate_protocol::Frame::error(format!("ERR Unknown node {id}")),
        "FORGET of an already forgotten node"
    );

    // During the ban: the keeper still lists it, nobody who forgot it does.
    while forgotten_at.elapsed() < BAN - Duration::from_secs(5) {
        assert!(known_by(&cluster, keeper, &id), "the keeper lost {id}");
        for &p in &forgetters {
            assert!(
                !known_by(&cluster, p, &id),
                "{kind:?}: {p} re-learned the forgotten {id} after {:?}",
                forgotten_at.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    // After the ban: the keeper's gossip brings it back everywhere.
    std::thread::sleep(BAN.saturating_sub(forgotten_at.elapsed()));
    eventually(Duration::from_secs(30), || -> Result<(), String> {
        match forgetters.iter().find(|p| !known_by(&cluster, **p, &id)) {
            Some(p) => Err(format!("{p} has not re-learned {id} yet")),
            None => Ok(()),
        }
    });
    eprintln!(
        "{kind:?}: {id} stayed forgotten through the ban and came back after {:?}",
        forgotten_at.elapsed()
    );
}

#[test]
fn forget_ban_holds_against_gossip_on_slotgate_node() {
    scenario(ServerKind::SlotgateNode);
}

#[test]
fn forget_ban_holds_against_gossip_on_redis_server() {
    scenario(ServerKind::Redis);
}
