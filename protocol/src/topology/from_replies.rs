//! Building a [`SlotMap`] from the three topology replies a node gives: `CLUSTER SLOTS`,
//! `CLUSTER SHARDS` and `CLUSTER NODES`. Hosts a node leaves empty (it does not know its
//! own IP) read as `fallback_host`, the host that was asked.

use crate::Frame;

use super::{
    parse_cluster_nodes, parse_cluster_shards, parse_cluster_slots, ClusterNode, NodeAddr,
    NodeHealth, Shard, ShardNode, ShardRole, ShardView, SlotMap, SlotsNode, TopologyError,
};

impl SlotMap {
    /// From a `CLUSTER SLOTS` reply (RESP2 or RESP3). An empty endpoint means the node that
    /// answered: pass its host as `fallback_host`.
    pub fn from_cluster_slots(
        frame: &Frame,
        fallback_host: &str,
    ) -> Result<SlotMap, TopologyError> {
        let node = |node: &SlotsNode| ShardNode {
            addr: NodeAddr::new(or_fallback(&node.endpoint, fallback_host), node.port),
            id: node.id,
        };
        let entries = parse_cluster_slots(frame)?;
        SlotMap::from_assignments(entries.iter().map(|entry| {
            let shard = Shard {
                master: node(&entry.master),
                replicas: entry.replicas.iter().map(node).collect(),
            };
            (entry.range, shard)
        }))
    }

    /// From a `CLUSTER SHARDS` reply (RESP2 or RESP3). Only online replicas are kept; a
    /// shard without a master is skipped. Empty endpoints read as `fallback_host`.
    pub fn from_cluster_shards(
        frame: &Frame,
        fallback_host: &str,
    ) -> Result<SlotMap, TopologyError> {
        let views = parse_cluster_shards(frame)?;
        let shards = views
            .iter()
            .filter_map(|view| Some((view, shard_of_view(view, fallback_host)?)));
        SlotMap::from_assignments(
            shards.flat_map(|(view, shard)| view.slots.iter().map(move |&r| (r, shard.clone()))),
        )
    }

    /// From `CLUSTER NODES` text. Replicas flagged `fail`, `handshake` or `noaddr` are left
    /// out. Empty hosts read as `fallback_host`.
    pub fn from_cluster_nodes(text: &str, fallback_host: &str) -> Result<SlotMap, TopologyError> {
        let nodes = parse_cluster_nodes(text)?;
        let shard_node = |node: &ClusterNode| ShardNode {
            addr: NodeAddr::new(or_fallback(&node.addr.host, fallback_host), node.addr.port),
            id: Some(node.id),
        };
        let replicas_of = |master: &ClusterNode| -> Vec<ShardNode> {
            let usable = |n: &&ClusterNode| !(n.flags.fail || n.flags.handshake || n.flags.noaddr);
            let follows = |n: &&ClusterNode| n.flags.replica && n.master == Some(master.id);
            nodes
                .iter()
                .filter(follows)
                .filter(usable)
                .map(shard_node)
                .collect()
        };
        let masters = nodes
            .iter()
            .filter(|node| node.flags.master && !node.slots.is_empty());
        SlotMap::from_assignments(masters.flat_map(|master| {
            let shard = Shard {
                master: shard_node(master),
                replicas: replicas_of(master),
            };
            master
                .slots
                .iter()
                .map(move |&range| (range, shard.clone()))
        }))
    }
}

fn or_fallback<'a>(host: &'a str, fallback_host: &'a str) -> &'a str {
    if host.is_empty() {
        fallback_host
    } else {
        host
    }
}

/// The routing shard of a `CLUSTER SHARDS` entry, `None` without a master.
fn shard_of_view(view: &ShardView, fallback_host: &str) -> Option<Shard> {
    let nodes = view.nodes.iter().filter_map(|node| {
        let host = or_fallback(&node.endpoint, or_fallback(&node.ip, fallback_host));
        let port = node.port.or(node.tls_port)?;
        Some((
            node,
            ShardNode {
                addr: NodeAddr::new(host, port),
                id: Some(node.id),
            },
        ))
    });
    let (masters, replicas): (Vec<_>, Vec<_>) =
        nodes.partition(|(node, _)| node.role == ShardRole::Master);
    let (_, master) = masters.into_iter().next()?;
    let replicas = replicas
        .into_iter()
        .filter(|(node, _)| node.health == NodeHealth::Online);
    Some(Shard {
        master,
        replicas: replicas.map(|(_, replica)| replica).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{cluster_shards_reply, cluster_slots_reply, NodeId, SlotRange};
    use crate::Slot;

    const A: &str = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
    const B: &str = "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f";
    const C: &str = "824fe116063bc5fcf9f4ffd895bc17aee7731ac3";
    const A_REPLICA: &str = "6749c7ed2f2d62a0e6d24cc8ec1ab4f0f5a4c0b2";

    fn slot(n: u16) -> Slot {
        Slot::new(n).unwrap()
    }

    fn node(host: &str, port: i64, id: &str) -> Frame {
        let items = vec![
            Frame::bulk(host),
            Frame::Integer(port),
            Frame::bulk(id),
            Frame::Array(vec![]),
        ];
        Frame::Array(items)
    }

    fn entry(start: i64, end: i64, nodes: Vec<Frame>) -> Frame {
        Frame::Array(
            [Frame::Integer(start), Frame::Integer(end)]
                .into_iter()
                .chain(nodes)
                .collect(),
        )
    }

    /// A: 0-5460 and 16000-16383 (with a replica), B: 5461-10922 (empty host), C: the rest.
    fn cluster_slots() -> Frame {
        Frame::Array(vec![
            entry(
                0,
                5460,
                vec![node("10.0.0.1", 7000, A), node("10.0.0.4", 7003, A_REPLICA)],
            ),
            entry(5461, 10922, vec![node("", 7001, B)]),
            entry(10923, 15999, vec![node("10.0.0.3", 7002, C)]),
            entry(
                16000,
                16383,
                vec![node("10.0.0.1", 7000, A), node("10.0.0.4", 7003, A_REPLICA)],
            ),
        ])
    }

    #[test]
    fn from_cluster_slots_covers_and_groups() {
        let map = SlotMap::from_cluster_slots(&cluster_slots(), "seed").unwrap();
        assert!(map.is_complete());
        assert_eq!(map.shards().len(), 3);
        let a = map.shard_of(slot(16383)).unwrap();
        assert_eq!(a.master.addr, NodeAddr::new("10.0.0.1", 7000));
        assert_eq!(a.master.id, Some(A.parse().unwrap()));
        assert_eq!(a.replicas[0].addr, NodeAddr::new("10.0.0.4", 7003));
        assert_eq!(
            map.shard_of(slot(6000)).unwrap().master.addr,
            NodeAddr::new("seed", 7001)
        );
        assert_eq!(map.shard_index(slot(0)), map.shard_index(slot(16000)));
        let ranges: Vec<String> = map
            .ranges()
            .iter()
            .map(|(r, i)| format!("{r}:{i}"))
            .collect();
        assert_eq!(
            ranges,
            ["0-5460:0", "5461-10922:1", "10923-15999:2", "16000-16383:0"]
        );
        assert_eq!(map.masters().count(), 3);
    }

    #[test]
    fn resp3_cluster_slots_gives_the_same_map() {
        let entries = parse_cluster_slots(&cluster_slots()).unwrap();
        let resp3 = cluster_slots_reply(&entries, true);
        assert_eq!(
            SlotMap::from_cluster_slots(&resp3, "seed").unwrap(),
            SlotMap::from_cluster_slots(&cluster_slots(), "seed").unwrap()
        );
    }

    #[test]
    fn from_cluster_nodes_text() {
        let text = format!(
            "{A} 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 16000-16383\n\
             {A_REPLICA} 10.0.0.4:7003@17003 slave {A} 0 1 1 connected\n\
             {B} :7001@17001 master - 0 1 2 connected 5461-10922\n\
             {C} 10.0.0.3:7002@17002 master - 0 1 3 connected 10923-15999\n\
             {} 10.0.0.5:7004@17004 slave,fail {C} 0 1 3 disconnected\n",
            NodeId::random()
        );
        let map = SlotMap::from_cluster_nodes(&text, "seed").unwrap();
        assert_eq!(
            map,
            SlotMap::from_cluster_slots(&cluster_slots(), "seed").unwrap()
        );
    }

    #[test]
    fn from_cluster_shards_matches_cluster_slots() {
        let view = |slots: &[(i64, i64)], nodes: &[(&str, u16, &str, ShardRole)]| ShardView {
            slots: slots
                .iter()
                .map(|&(s, e)| SlotRange::from_numbers(s, e).unwrap())
                .collect(),
            nodes: nodes
                .iter()
                .map(|&(ip, port, id, role)| crate::topology::ShardNodeView {
                    id: id.parse().unwrap(),
                    port: Some(port),
                    tls_port: None,
                    ip: ip.into(),
                    endpoint: ip.into(),
                    hostname: None,
                    role,
                    replication_offset: 1,
                    health: NodeHealth::Online,
                })
                .collect(),
        };
        let shards = [
            view(&[(5461, 10922)], &[("", 7001, B, ShardRole::Master)]),
            view(
                &[(0, 5460), (16000, 16383)],
                &[
                    ("10.0.0.4", 7003, A_REPLICA, ShardRole::Replica),
                    ("10.0.0.1", 7000, A, ShardRole::Master),
                ],
            ),
            view(
                &[(10923, 15999)],
                &[("10.0.0.3", 7002, C, ShardRole::Master)],
            ),
            view(&[], &[("10.0.0.8", 7008, A_REPLICA, ShardRole::Master)]),
        ];
        for resp3 in [false, true] {
            let frame = cluster_shards_reply(&shards, resp3);
            let map = SlotMap::from_cluster_shards(&frame, "seed").unwrap();
            let expected = SlotMap::from_cluster_slots(&cluster_slots(), "seed").unwrap();
            assert_eq!(map.ranges().len(), 4);
            assert_eq!(map, expected);
        }
    }
}
