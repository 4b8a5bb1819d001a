//! Property tests for the topology parsers: anything a peer sends parses or errors (never
//! panics), and what we format parses back to the same value.

use proptest::prelude::*;
use slotgate_protocol::redirect::ClusterError;
use slotgate_protocol::topology::{
    parse_cluster_nodes, ranges_from_slots, ClusterNode, LinkState, NodeAddr, NodeFlags, NodeId,
    NodesConf, OpenSlot, SlotRange,
};
use slotgate_protocol::Slot;

fn node_id() -> impl Strategy<Value = NodeId> {
    "[0-9a-f]{40}".prop_map(|text| text.parse().expect("valid id"))
}

fn slot() -> impl Strategy<Value = Slot> {
    (0u16..16384).prop_map(|n| Slot::new(n).expect("in range"))
}

fn flags() -> impl Strategy<Value = NodeFlags> {
    proptest::collection::vec(any::<bool>(), 8).prop_map(|b| NodeFlags {
        myself: b[0],
        master: b[1],
        replica: b[2],
        pfail: b[3],
        fail: b[4],
        handshake: b[5],
        noaddr: b[6],
        nofailover: b[7],
    })
}

fn open_slot() -> impl Strategy<Value = OpenSlot> {
    (slot(), node_id(), any::<bool>()).prop_map(|(slot, peer, migrating)| match migrating {
        true => OpenSlot::Migrating { slot, to: peer },
        false => OpenSlot::Importing { slot, from: peer },
    })
}

prop_compose! {
    fn cluster_node()(
        id in node_id(),
        host in "(|127\\.0\\.0\\.1|::1|[a-z][a-z0-9.-]{0,20})",
        ports in (any::<u16>(), any::<u16>(), any::<u16>()),
        hostname in proptest::option::of("[a-z][a-z0-9.-]{0,20}"),
        shard_id in proptest::option::of(node_id()),
        flags in flags(),
        master in proptest::option::of(node_id()),
        times in (any::<u64>(), any::<u64>(), any::<u64>()),
        connected in any::<bool>(),
        slots in proptest::collection::vec(slot(), 0..40),
        open_slots in proptest::collection::vec(open_slot(), 0..3),
    ) -> ClusterNode {
        ClusterNode {
            id,
            addr: NodeAddr::new(host, ports.0),
            bus_port: ports.1,
            hostname,
            tls_port: ports.2,
            shard_id,
            flags,
            master,
            ping_sent: times.0,
            pong_recv: times.1,
            config_epoch: times.2,
            link: if connected { LinkState::Connected } else { LinkState::Disconnected },
            slots: ranges_from_slots(slots),
            open_slots,
        }
    }
}

proptest! {
    #[test]
    fn cluster_nodes_line_round_trips(node in cluster_node()) {
        let parsed = ClusterNode::parse_line(&node.format_line()).expect("parses");
        let expected = ClusterNode { tls_port: 0, shard_id: None, ..node };
        prop_assert_eq!(parsed, expected);
    }

    #[test]
    fn nodes_conf_round_trips(nodes in proptest::collection::vec(cluster_node(), 0..4),
                              epochs in (any::<u64>(), any::<u64>())) {
        let conf = NodesConf {
            nodes,
            vars: slotgate_protocol::topology::ClusterVars {
                current_epoch: epochs.0,
                last_vote_epoch: epochs.1,
            },
        };
        prop_assert_eq!(NodesConf::parse(&conf.to_string()).expect("parses"), conf);
    }

    #[test]
    fn slot_ranges_round_trip(a in slot(), b in slot()) {
        let range = SlotRange::new(a.min(b), a.max(b)).expect("ordered");
        prop_assert_eq!(SlotRange::parse(&range.to_string()).expect("parses"), range);
    }

    #[test]
    fn peer_text_never_panics(text in "[ -~\n]{0,300}") {
        let _ = parse_cluster_nodes(&text);
        let _ = NodesConf::parse(&text);
        let _ = ClusterError::parse(text.as_bytes());
    }

    #[test]
    fn mangled_lines_never_panic(node in cluster_node(), cut in 0usize..400, junk in "[ ,:@\\[\\]<>-]{0,3}") {
        let mut line = node.format_conf_line();
        let cut = cut.min(line.len());
        if line.is_char_boundary(cut) {
            line.insert_str(cut, &junk);
        }
        let _ = ClusterNode::parse_line(&line);
    }
}
