//! The `CLUSTER SLOTS` reply: `[start, end, master, replica…]` per range, each node
//! `[endpoint, port, id, {extra}]`. [`parse_cluster_slots`] reads it (RESP2 or RESP3);
//! [`cluster_slots_reply`] builds the frame that encodes to Redis's bytes.

use crate::Frame;

use super::reply::{map_frame, Reader};
use super::{NodeId, SlotRange, TopologyError};

const READ: Reader = Reader {
    reply: "CLUSTER SLOTS",
};

/// One node of a `CLUSTER SLOTS` range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotsNode {
    /// The preferred endpoint: an IP by default, empty when the node does not know it (a
    /// null endpoint also reads as empty). Clients substitute the host they asked.
    pub endpoint: String,
    pub port: u16,
    /// Absent only in replies of Redis before 4.0.
    pub id: Option<NodeId>,
    /// The extra metadata map in order, e.g. `hostname` (Redis 7); written only with an id.
    pub extra: Vec<(String, String)>,
}

/// One maximal run of slots with the same owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotsEntry {
    pub range: SlotRange,
    pub master: SlotsNode,
    pub replicas: Vec<SlotsNode>,
}

/// Reads a `CLUSTER SLOTS` reply.
pub fn parse_cluster_slots(frame: &Frame) -> Result<Vec<SlotsEntry>, TopologyError> {
    READ.array(frame)?.iter().map(parse_entry).collect()
}

fn parse_entry(frame: &Frame) -> Result<SlotsEntry, TopologyError> {
    let [start, end, master, replicas @ ..] = READ.array(frame)? else {
        return Err(READ.error("range entry shorter than 3"));
    };
    let (start, end) = (READ.integer(start)?, READ.integer(end)?);
    let range = SlotRange::from_numbers(start, end)
        .ok_or_else(|| TopologyError::invalid("slot range", format!("{start}-{end}")))?;
    Ok(SlotsEntry {
        range,
        master: parse_node(master)?,
        replicas: replicas.iter().map(parse_node).collect::<Result<_, _>>()?,
    })
}

fn parse_node(frame: &Frame) -> Result<SlotsNode, TopologyError> {
    let [endpoint, port, rest @ ..] = READ.array(frame)? else {
        return Err(READ.error("node entry shorter than 2"));
    };
    let id = rest.first().map(|id| READ.node_id(id)).transpose()?;
    let extra = match rest.get(1) {
        Some(map) => parse_extra(map)?,
        None => Vec::new(),
    };
    Ok(SlotsNode {
        endpoint: READ.text_or_empty(endpoint)?,
        port: READ.port(port)?,
        id,
        extra,
    })
}

fn parse_extra(frame: &Frame) -> Result<Vec<(String, String)>, TopologyError> {
    READ.pairs(frame)?
        .into_iter()
        .map(|(key, value)| {
            let key = String::from_utf8(key.to_vec())
                .map_err(|_| TopologyError::invalid("metadata key", key))?;
            Ok((key, READ.text(value)?))
        })
        .collect()
}

/// The `CLUSTER SLOTS` reply for `entries`, as Redis writes it for a RESP3 (`resp3`) or
/// RESP2 client: the extra map is a map in RESP3 and a flat array in RESP2.
pub fn cluster_slots_reply(entries: &[SlotsEntry], resp3: bool) -> Frame {
    Frame::Array(
        entries
            .iter()
            .map(|entry| entry_frame(entry, resp3))
            .collect(),
    )
}

fn entry_frame(entry: &SlotsEntry, resp3: bool) -> Frame {
    let bounds = [entry.range.start, entry.range.end].map(|s| Frame::Integer(s.get().into()));
    let nodes = std::iter::once(&entry.master).chain(&entry.replicas);
    Frame::Array(
        bounds
            .into_iter()
            .chain(nodes.map(|node| node_frame(node, resp3)))
            .collect(),
    )
}

fn node_frame(node: &SlotsNode, resp3: bool) -> Frame {
    let mut items = vec![
        Frame::bulk(&node.endpoint),
        Frame::Integer(node.port.into()),
    ];
    if let Some(id) = node.id {
        let extra = node
            .extra
            .iter()
            .map(|(k, v)| (k.as_str(), Frame::bulk(v)))
            .collect();
        items.push(Frame::bulk(id.as_bytes()));
        items.push(map_frame(extra, resp3));
    }
    Frame::Array(items)
}

#[cfg(test)]
mod tests {
    use super::super::wire::{decode, encoded};
    use super::*;

    const REDIS_RESP2: &[u8] = b"*2\r\n*4\r\n:0\r\n:5460\r\n\
        *4\r\n$9\r\n127.0.0.1\r\n:30001\r\n$40\r\ne7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca\r\n*0\r\n\
        *4\r\n$9\r\n127.0.0.1\r\n:30004\r\n$40\r\n6749c7ed2f2d62a0e6d24cc8ec1ab4f0f5a4c0b2\r\n*2\r\n\
        $8\r\nhostname\r\n$5\r\nhost4\r\n\
        *3\r\n:5461\r\n:16383\r\n\
        *4\r\n$0\r\n\r\n:30002\r\n$40\r\n292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f\r\n*0\r\n";

    #[test]
    fn parses_redis_bytes_and_rebuilds_them() {
        let entries = parse_cluster_slots(&decode(REDIS_RESP2)).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].range.to_string(), "0-5460");
        assert_eq!(
            entries[0].replicas[0].extra,
            [("hostname".into(), "host4".into())]
        );
        assert_eq!(entries[1].master.endpoint, "");
        assert_eq!(encoded(&cluster_slots_reply(&entries, false)), REDIS_RESP2);
    }

    #[test]
    fn resp3_uses_maps_and_round_trips() {
        let entries = parse_cluster_slots(&decode(REDIS_RESP2)).unwrap();
        let frame = cluster_slots_reply(&entries, true);
        let bytes = encoded(&frame);
        assert!(bytes.windows(4).any(|w| w == b"%0\r\n"));
        assert_eq!(parse_cluster_slots(&decode(&bytes)).unwrap(), entries);
    }

    #[test]
    fn rejects_malformed_replies() {
        let bad = [
            Frame::bulk("x"),
            Frame::Array(vec![Frame::Array(vec![
                Frame::Integer(0),
                Frame::Integer(1),
            ])]),
            Frame::Array(vec![Frame::Array(vec![
                Frame::Integer(5),
                Frame::Integer(4),
                Frame::Array(vec![Frame::bulk("h"), Frame::Integer(1)]),
            ])]),
            Frame::Array(vec![Frame::Array(vec![
                Frame::Integer(0),
                Frame::Integer(4),
                Frame::Array(vec![Frame::bulk("h"), Frame::Integer(70000)]),
            ])]),
        ];
        for frame in bad {
            assert!(parse_cluster_slots(&frame).is_err(), "{frame:?}");
        }
    }
}
