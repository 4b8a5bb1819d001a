//! The `CLUSTER SHARDS` reply: per shard a map `{slots: [s1, e1, …], nodes: [node-map…]}`,
//! node maps keyed `id`, `port`, `tls-port`, `ip`, `endpoint`, `hostname`, `role`,
//! `replication-offset`, `health` in that order. [`parse_cluster_shards`] reads it (RESP2
//! flat arrays or RESP3 maps); [`cluster_shards_reply`] builds Redis's frame.

use crate::Frame;

use super::reply::{map_frame, Reader};
use super::{NodeId, SlotRange, TopologyError};

const READ: Reader = Reader {
    reply: "CLUSTER SHARDS",
};

/// One shard: the slots it serves and its nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardView {
    pub slots: Vec<SlotRange>,
    pub nodes: Vec<ShardNodeView>,
}

/// One node of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardNodeView {
    pub id: NodeId,
    /// The plain TCP port, when the node has one.
    pub port: Option<u16>,
    /// The TLS port, when the node has one.
    pub tls_port: Option<u16>,
    pub ip: String,
    /// The preferred endpoint (the IP by default).
    pub endpoint: String,
    pub hostname: Option<String>,
    pub role: ShardRole,
    pub replication_offset: i64,
    pub health: NodeHealth,
}

/// `role` of a shard node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShardRole {
    Master,
    Replica,
}

/// `health` of a shard node; `Loading` is a replica that has not synced (offset 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeHealth {
    Online,
    Fail,
    Loading,
}

impl ShardRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardRole::Master => "master",
            ShardRole::Replica => "replica",
        }
    }

    fn parse(text: &[u8]) -> Result<ShardRole, TopologyError> {
        match text {
            b"master" => Ok(ShardRole::Master),
            b"replica" => Ok(ShardRole::Replica),
            _ => Err(TopologyError::invalid("role", text)),
        }
    }
}

impl NodeHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeHealth::Online => "online",
            NodeHealth::Fail => "fail",
            NodeHealth::Loading => "loading",
        }
    }

    fn parse(text: &[u8]) -> Result<NodeHealth, TopologyError> {
        match text {
            b"online" => Ok(NodeHealth::Online),
            b"fail" => Ok(NodeHealth::Fail),
            b"loading" => Ok(NodeHealth::Loading),
            _ => Err(TopologyError::invalid("health", text)),
        }
    }
}

/// Reads a `CLUSTER SHARDS` reply. Keys it does not know are skipped.
pub fn parse_cluster_shards(frame: &Frame) -> Result<Vec<ShardView>, TopologyError> {
    READ.array(frame)?.iter().map(parse_shard).collect()
}

fn parse_shard(frame: &Frame) -> Result<ShardView, TopologyError> {
    let mut shard = ShardView {
        slots: Vec::new(),
        nodes: Vec::new(),
    };
    for (key, value) in READ.pairs(frame)? {
        match key {
            b"slots" => shard.slots = parse_slots(value)?,
            b"nodes" => {
                shard.nodes = READ
                    .array(value)?
                    .iter()
                    .map(parse_node)
                    .collect::<Result<_, _>>()?
            }
            _ => {}
        }
    }
    Ok(shard)
}

fn parse_slots(frame: &Frame) -> Result<Vec<SlotRange>, TopologyError> {
    let bounds = READ.array(frame)?;
    if bounds.len() % 2 != 0 {
        return Err(READ.error("odd number of slot bounds"));
    }
    let numbers = bounds
        .iter()
        .map(|n| READ.integer(n))
        .collect::<Result<Vec<_>, _>>()?;
    numbers
        .chunks_exact(2)
        .map(|pair| match *pair {
            [start, end] => SlotRange::from_numbers(start, end)
                .ok_or_else(|| TopologyError::invalid("slot range", format!("{start}-{end}"))),
            _ => Err(READ.error("odd number of slot bounds")),
        })
        .collect()
}

/// A node map as read, before the required keys are checked.
#[derive(Default)]
struct NodeFields {
    id: Option<NodeId>,
    port: Option<u16>,
    tls_port: Option<u16>,
    ip: Option<String>,
    endpoint: Option<String>,
    hostname: Option<String>,
    role: Option<ShardRole>,
    offset: Option<i64>,
    health: Option<NodeHealth>,
}

fn parse_node(frame: &Frame) -> Result<ShardNodeView, TopologyError> {
    let mut fields = NodeFields::default();
    for (key, value) in READ.pairs(frame)? {
        match key {
            b"id" => fields.id = Some(READ.node_id(value)?),
            b"port" => fields.port = Some(READ.port(value)?),
            b"tls-port" => fields.tls_port = Some(READ.port(value)?),
            b"ip" => fields.ip = Some(READ.text_or_empty(value)?),
            b"endpoint" => fields.endpoint = Some(READ.text_or_empty(value)?),
            b"hostname" => fields.hostname = Some(READ.text(value)?),
            b"role" => fields.role = Some(ShardRole::parse(READ.string(value)?)?),
            b"replication-offset" => fields.offset = Some(READ.integer(value)?),
            b"health" => fields.health = Some(NodeHealth::parse(READ.string(value)?)?),
            _ => {}
        }
    }
    Ok(ShardNodeView {
        id: fields.id.ok_or(TopologyError::Missing("id"))?,
        port: fields.port,
        tls_port: fields.tls_port,
        ip: fields.ip.unwrap_or_default(),
        endpoint: fields.endpoint.unwrap_or_default(),
        hostname: fields.hostname,
        role: fields.role.ok_or(TopologyError::Missing("role"))?,
        replication_offset: fields
            .offset
            .ok_or(TopologyError::Missing("replication-offset"))?,
        health: fields.health.ok_or(TopologyError::Missing("health"))?,
    })
}

/// The `CLUSTER SHARDS` reply for `shards`, in the given order, as Redis writes it for a
/// RESP3 (`resp3`) or RESP2 client.
pub fn cluster_shards_reply(shards: &[ShardView], resp3: bool) -> Frame {
    Frame::Array(
        shards
            .iter()
            .map(|shard| shard_frame(shard, resp3))
            .collect(),
    )
}

fn shard_frame(shard: &ShardView, resp3: bool) -> Frame {
    let bounds = shard
        .slots
        .iter()
        .flat_map(|range| [range.start, range.end]);
    let slots = Frame::Array(
        bounds
            .map(|slot| Frame::Integer(slot.get().into()))
            .collect(),
    );
    let nodes = Frame::Array(
        shard
            .nodes
            .iter()
            .map(|node| node_frame(node, resp3))
            .collect(),
    );
    map_frame(vec![("slots", slots), ("nodes", nodes)], resp3)
}

fn node_frame(node: &ShardNodeView, resp3: bool) -> Frame {
    let mut pairs = vec![("id", Frame::bulk(node.id.as_bytes()))];
    if let Some(port) = node.port {
        pairs.push(("port", Frame::Integer(port.into())));
    }
    if let Some(port) = node.tls_port {
        pairs.push(("tls-port", Frame::Integer(port.into())));
    }
    pairs.push(("ip", Frame::bulk(&node.ip)));
    pairs.push(("endpoint", Frame::bulk(&node.endpoint)));
    if let Some(hostname) = &node.hostname {
        pairs.push(("hostname", Frame::bulk(hostname)));
    }
    pairs.push(("role", Frame::bulk(node.role.as_str())));
    pairs.push((
        "replication-offset",
        Frame::Integer(node.replication_offset),
    ));
    pairs.push(("health", Frame::bulk(node.health.as_str())));
    map_frame(pairs, resp3)
}

#[cfg(test)]
mod tests {
    use super::super::wire::{decode, encoded};
    use super::*;

    /// One shard as Redis 7.0 prints it to a RESP2 client.
    const REDIS_RESP2: &[u8] = b"*1\r\n*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:5460\r\n:6000\r\n:6000\r\n\
        $5\r\nnodes\r\n*2\r\n\
        *14\r\n$2\r\nid\r\n$40\r\nc376e45eb47f36cddb63f1d6ecf18cd8dcfef73b\r\n$4\r\nport\r\n:21001\r\n\
        $2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
        $18\r\nreplication-offset\r\n:1234\r\n$6\r\nhealth\r\n$6\r\nonline\r\n\
        *16\r\n$2\r\nid\r\n$40\r\nc60248f157157178e32561972b4e3c2788cb3be7\r\n$4\r\nport\r\n:21004\r\n\
        $2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$8\r\nhostname\r\n$2\r\nh4\r\n\
        $4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n";

    #[test]
    fn parses_redis_bytes_and_rebuilds_them() {
        let shards = parse_cluster_shards(&decode(REDIS_RESP2)).unwrap();
        let shard = &shards[0];
        assert_eq!(
            shard
                .slots
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>(),
            ["0-5460", "6000"]
        );
        assert_eq!(shard.nodes[0].role, ShardRole::Master);
        assert_eq!(shard.nodes[0].replication_offset, 1234);
        assert_eq!(shard.nodes[1].hostname.as_deref(), Some("h4"));
        assert_eq!(shard.nodes[1].health, NodeHealth::Loading);
        assert_eq!(encoded(&cluster_shards_reply(&shards, false)), REDIS_RESP2);
    }

    #[test]
    fn resp3_round_trips() {
        let shards = parse_cluster_shards(&decode(REDIS_RESP2)).unwrap();
        let bytes = encoded(&cluster_shards_reply(&shards, true));
        assert!(bytes.starts_with(b"*1\r\n%2\r\n$5\r\nslots\r\n"));
        assert_eq!(parse_cluster_shards(&decode(&bytes)).unwrap(), shards);
    }

    #[test]
    fn rejects_missing_keys_and_bad_values() {
        let node = |pairs: Vec<(&str, Frame)>| {
            let nodes = Frame::Array(vec![map_frame(pairs, true)]);
            Frame::Array(vec![map_frame(
                vec![("slots", Frame::Array(vec![])), ("nodes", nodes)],
                true,
            )])
        };
        assert_eq!(
            parse_cluster_shards(&node(vec![("port", Frame::Integer(1))])),
            Err(TopologyError::Missing("id"))
        );
        assert!(parse_cluster_shards(&node(vec![("id", Frame::bulk("zz"))])).is_err());
        let odd = Frame::Array(vec![map_frame(
            vec![("slots", Frame::Array(vec![Frame::Integer(1)]))],
            false,
        )]);
        assert!(parse_cluster_shards(&odd).is_err());
    }
}
