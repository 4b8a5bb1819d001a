//! `nodes.conf`, the file a cluster node persists its view in: one [`ClusterNode`] line
//! per known node with an extended address field
//! (`ip:port@cport,<hostname-or-empty>,tls-port=N,shard-id=<id>`), and a
//! [`ClusterVars`] line `vars currentEpoch N lastVoteEpoch N`.

use std::fmt;

use super::{ClusterNode, TopologyError};

/// The epochs saved on the `vars` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterVars {
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
}

impl ClusterVars {
    /// Parses `vars <name> <value>…`; unknown names are skipped, absent ones stay 0.
    pub fn parse(line: &str) -> Result<ClusterVars, TopologyError> {
        let invalid = || TopologyError::invalid("vars line", line);
        let fields: Vec<&str> = line.split(' ').collect();
        let ["vars", pairs @ ..] = fields.as_slice() else {
            return Err(invalid());
        };
        let mut vars = ClusterVars::default();
        for pair in pairs.chunks(2) {
            let [name, value] = pair else {
                return Err(invalid());
            };
            let value = || value.parse::<u64>().map_err(|_| invalid());
            match *name {
                "currentEpoch" => vars.current_epoch = value()?,
                "lastVoteEpoch" => vars.last_vote_epoch = value()?,
                _ => {}
            }
        }
        Ok(vars)
    }
}

impl fmt::Display for ClusterVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vars currentEpoch {} lastVoteEpoch {}",
            self.current_epoch, self.last_vote_epoch
        )
    }
}

impl ClusterNode {
    /// The `nodes.conf` line, without a line end: the address field always carries the
    /// hostname slot (possibly empty) and `tls-port`, then `shard-id` when known.
    pub fn format_conf_line(&self) -> String {
        let hostname = self.hostname.as_deref().unwrap_or("");
        let mut address = format!(
            "{}@{},{hostname},tls-port={}",
            self.addr, self.bus_port, self.tls_port
        );
        if let Some(shard_id) = self.shard_id {
            address.push_str(",shard-id=");
            address.push_str(shard_id.as_str());
        }
        self.line_with_address(&address)
    }
}

/// The whole file: node lines in order and the vars.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodesConf {
    pub nodes: Vec<ClusterNode>,
    pub vars: ClusterVars,
}

impl NodesConf {
    /// Parses the file. Blank lines are skipped and the `vars` line may stand anywhere;
    /// node lines may use either address form. Errors name the 1-based line.
    pub fn parse(text: &str) -> Result<NodesConf, TopologyError> {
        let mut conf = NodesConf::default();
        for (index, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let parsed = if line.starts_with("vars ") {
                ClusterVars::parse(line).map(|vars| conf.vars = vars)
            } else {
                ClusterNode::parse_line(line).map(|node| conf.nodes.push(node))
            };
            parsed.map_err(|e| e.at_line(index))?;
        }
        Ok(conf)
    }
}

impl fmt::Display for NodesConf {
    /// Node lines, then the vars line, each ending `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for node in &self.nodes {
            writeln!(f, "{}", node.format_conf_line())?;
        }
        writeln!(f, "{}", self.vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::NodeId;

    const SHARD: &str = "a5f3c8a1e9b2d4f6a7c8e9b0d1f2a3c4e5f6a7b8";
    const CONF: &str = "\
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:7000@17000,,tls-port=0,shard-id=a5f3c8a1e9b2d4f6a7c8e9b0d1f2a3c4e5f6a7b8 myself,master - 0 0 1 connected 0-5460 [93->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
6749c7ed2f2d62a0e6d24cc8ec1ab4f0f5a4c0b2 127.0.0.1:7003@17003,replica-0,tls-port=0,shard-id=a5f3c8a1e9b2d4f6a7c8e9b0d1f2a3c4e5f6a7b8 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238316232 1 connected
vars currentEpoch 6 lastVoteEpoch 2
";

    #[test]
    fn round_trips_the_extended_form() {
        let conf = NodesConf::parse(CONF).unwrap();
        assert_eq!(
            conf.vars,
            ClusterVars {
                current_epoch: 6,
                last_vote_epoch: 2
            }
        );
        assert_eq!(
            conf.nodes[0].shard_id,
            Some(SHARD.parse::<NodeId>().unwrap())
        );
        assert_eq!(conf.nodes[0].hostname, None);
        assert_eq!(conf.nodes[1].hostname.as_deref(), Some("replica-0"));
        assert_eq!(conf.to_string(), CONF);
    }

    #[test]
    fn cluster_nodes_form_drops_the_extensions() {
        let conf = NodesConf::parse(CONF).unwrap();
        assert!(conf.nodes[0].format_line().starts_with(
            "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:7000@17000 myself,master - 0 0 1"
        ));
        assert!(conf.nodes[1]
            .format_line()
            .contains(" 127.0.0.1:7003@17003,replica-0 slave "));
    }

    #[test]
    fn loader_is_lenient_where_redis_is() {
        let text = "vars lastVoteEpoch 3 futureVar 9 currentEpoch 4\n\n\
            e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:7000@17000,,tls-port=0,nodename=x myself,master - 0 0 1 connected\n";
        let conf = NodesConf::parse(text).unwrap();
        assert_eq!(
            conf.vars,
            ClusterVars {
                current_epoch: 4,
                last_vote_epoch: 3
            }
        );
        assert_eq!(conf.nodes.len(), 1);
        assert!(NodesConf::parse("vars currentEpoch").is_err());
        assert!(NodesConf::parse("vars currentEpoch x").is_err());
        assert_eq!(NodesConf::parse("").unwrap(), NodesConf::default());
    }
}
