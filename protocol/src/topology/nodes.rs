//! [`ClusterNode`]: one line of `CLUSTER NODES`, parsed from a peer or formatted byte for
//! byte as Redis 7 writes it:
//!
//! `<id> <ip>:<port>@<cport>[,<hostname>] <flags> <master-id|-> <ping-sent> <pong-recv>
//! <config-epoch> <link-state>[ <slot-or-range>…][ <open-slot>…]`
//!
//! The `nodes.conf` form of the same line (an extended address field) is in `nodes_conf`.

use std::fmt::Write;

use super::addr::parse_port;
use super::{LinkState, NodeAddr, NodeFlags, NodeId, OpenSlot, SlotRange, TopologyError};

/// One node as another node (or itself, `myself`) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub id: NodeId,
    /// Client address; the host is empty while the node has not learned its IP.
    pub addr: NodeAddr,
    /// Cluster-bus port (normally the client port + 10000).
    pub bus_port: u16,
    /// Announced hostname, if any.
    pub hostname: Option<String>,
    /// TLS port; only `nodes.conf` carries it (`tls-port=N`), 0 when none.
    pub tls_port: u16,
    /// Shard id; only `nodes.conf` carries it (`shard-id=<id>`).
    pub shard_id: Option<NodeId>,
    pub flags: NodeFlags,
    /// The master this replica follows; `None` prints as `-`.
    pub master: Option<NodeId>,
    /// Unix ms of the pending ping, 0 when none.
    pub ping_sent: u64,
    /// Unix ms of the last pong received.
    pub pong_recv: u64,
    /// The node's config epoch (for a replica, its master's).
    pub config_epoch: u64,
    pub link: LinkState,
    /// Owned slots, ascending maximal ranges.
    pub slots: Vec<SlotRange>,
    /// Migrating/importing markers, only on the `myself` line.
    pub open_slots: Vec<OpenSlot>,
}

/// Parses `CLUSTER NODES` text: one node per line, blank lines skipped. Errors name the
/// 1-based line.
pub fn parse_cluster_nodes(text: &str) -> Result<Vec<ClusterNode>, TopologyError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(index, line)| ClusterNode::parse_line(line).map_err(|e| e.at_line(index)))
        .collect()
}

impl ClusterNode {
    /// Parses one line, with either the `CLUSTER NODES` or the `nodes.conf` address field.
    pub fn parse_line(line: &str) -> Result<ClusterNode, TopologyError> {
        let fields: Vec<&str> = line.split(' ').collect();
        let [id, address, flags, master, ping, pong, epoch, link, tail @ ..] = fields.as_slice()
        else {
            return Err(TopologyError::invalid(
                "node line (fewer than 8 fields)",
                line,
            ));
        };
        let address = AddressField::parse(address)?;
        let (slots, open_slots) = parse_slot_tokens(tail)?;
        Ok(ClusterNode {
            id: NodeId::parse(id.as_bytes())?,
            addr: address.addr,
            bus_port: address.bus_port,
            hostname: address.hostname,
            tls_port: address.tls_port,
            shard_id: address.shard_id,
            flags: NodeFlags::parse(flags)?,
            master: parse_master(master)?,
            ping_sent: parse_number("ping-sent", ping)?,
            pong_recv: parse_number("pong-recv", pong)?,
            config_epoch: parse_number("config epoch", epoch)?,
            link: LinkState::parse(link)?,
            slots,
            open_slots,
        })
    }

    /// The `CLUSTER NODES` line, without a line end.
    pub fn format_line(&self) -> String {
        let mut address = format!("{}@{}", self.addr, self.bus_port);
        if let Some(hostname) = self.hostname.as_deref().filter(|h| !h.is_empty()) {
            address.push(',');
            address.push_str(hostname);
        }
        self.line_with_address(&address)
    }

    /// The line with `address` as its second field: shared by `CLUSTER NODES` and
    /// `nodes.conf`.
    pub(crate) fn line_with_address(&self, address: &str) -> String {
        let mut line = String::with_capacity(128);
        let master = self.master.as_ref().map_or("-", NodeId::as_str);
        // Writing to a String cannot fail.
        let _ = write!(
            line,
            "{} {address} {} {master} {} {} {} {}",
            self.id,
            self.flags,
            self.ping_sent,
            self.pong_recv,
            self.config_epoch,
            self.link.as_str()
        );
        for range in &self.slots {
            let _ = write!(line, " {range}");
        }
        for open in &self.open_slots {
            let _ = write!(line, " {open}");
        }
        line
    }
}

/// The second field: `ip:port@cport`, then `,hostname` and, in `nodes.conf`, `key=value`
/// extensions (`tls-port`, `shard-id`; others are skipped, as Redis does).
struct AddressField {
    addr: NodeAddr,
    bus_port: u16,
    hostname: Option<String>,
    tls_port: u16,
    shard_id: Option<NodeId>,
}

impl AddressField {
    fn parse(text: &str) -> Result<AddressField, TopologyError> {
        let invalid = || TopologyError::invalid("node address", text);
        let mut parts = text.split(',');
        let (addr, bus_port) = parts
            .next()
            .and_then(|p| p.rsplit_once('@'))
            .ok_or_else(invalid)?;
        let mut field = AddressField {
            addr: NodeAddr::parse(addr)?,
            bus_port: parse_port(bus_port).ok_or_else(invalid)?,
            hostname: parts.next().filter(|h| !h.is_empty()).map(str::to_owned),
            tls_port: 0,
            shard_id: None,
        };
        for extension in parts {
            match extension.split_once('=').ok_or_else(invalid)? {
                ("tls-port", port) => field.tls_port = parse_port(port).ok_or_else(invalid)?,
                ("shard-id", id) => field.shard_id = Some(NodeId::parse(id.as_bytes())?),
                _ => {}
            }
        }
        Ok(field)
    }
}

fn parse_master(text: &str) -> Result<Option<NodeId>, TopologyError> {
    match text {
        "-" => Ok(None),
        id => NodeId::parse(id.as_bytes()).map(Some),
    }
}

fn parse_number(what: &'static str, text: &str) -> Result<u64, TopologyError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TopologyError::invalid(what, text));
    }
    text.parse().map_err(|_| TopologyError::invalid(what, text))
}

fn parse_slot_tokens(tokens: &[&str]) -> Result<(Vec<SlotRange>, Vec<OpenSlot>), TopologyError> {
    let mut slots = Vec::new();
    let mut open_slots = Vec::new();
    for token in tokens {
        match OpenSlot::parse(token) {
            Some(open) => open_slots.push(open?),
            None => slots.push(SlotRange::parse(token)?),
        }
    }
    Ok((slots, open_slots))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
    const SAMPLE: &str = "\
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [93-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
6749c7ed2f2d62a0e6d24cc8ec1ab4f0f5a4c0b2 127.0.0.1:30005@31005 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238316232 1 connected
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30002@31002,node-2.example master - 0 1426238318243 2 connected 5461-10922 12000
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 :30003@31003 master,fail?,nofailover - 1426238317239 1426238316232 3 disconnected
";

    #[test]
    fn parses_the_reference_example() {
        let nodes = parse_cluster_nodes(SAMPLE).unwrap();
        assert_eq!(nodes.len(), 4);
        let me = &nodes[0];
        assert!(me.flags.myself && me.flags.master);
        assert_eq!(me.slots, [SlotRange::parse("0-5460").unwrap()]);
        assert_eq!(me.open_slots.len(), 1);
        assert_eq!(
            nodes[1].master.map(|id| id.to_string()).as_deref(),
            Some(MASTER)
        );
        assert_eq!(nodes[1].pong_recv, 1426238316232);
        assert_eq!(nodes[2].hostname.as_deref(), Some("node-2.example"));
        assert_eq!(nodes[2].slots.len(), 2);
        assert_eq!(nodes[3].addr, NodeAddr::new("", 30003));
        assert_eq!(nodes[3].link, LinkState::Disconnected);
    }

    #[test]
    fn format_line_round_trips() {
        let nodes = parse_cluster_nodes(SAMPLE).unwrap();
        let text: String = nodes.iter().map(|n| n.format_line() + "\n").collect();
        assert_eq!(text, SAMPLE);
    }

    #[test]
    fn rejects_malformed_lines() {
        let good = SAMPLE.lines().nth(1).unwrap();
        let bad = [
            good.replace(" connected", ""),
            good.replace("@31005", ""),
            good.replace("slave", "primary"),
            good.replace(" 0 1426238316232", " x 1426238316232"),
            good.replace(" 1 connected", " -1 connected"),
            good.replace("connected", "connected 0-16384"),
            good.replace("connected", "connected  1"),
            good.replace(MASTER, "abc"),
        ];
        for line in bad {
            assert!(ClusterNode::parse_line(&line).is_err(), "{line}");
        }
        let err = parse_cluster_nodes(&format!("{good}\n\nbogus\n")).unwrap_err();
        assert!(matches!(err, TopologyError::Line { line: 3, .. }), "{err}");
    }
}
