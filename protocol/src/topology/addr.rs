//! [`NodeAddr`]: where a node listens for clients, `host:port`.

use std::fmt;
use std::str::FromStr;

use super::TopologyError;

/// A client address as cluster replies spell it. The host is kept as given (an IP, a
/// hostname, or empty when a node does not know its own IP yet); IPv6 hosts are not
/// bracketed, so the port is whatever follows the last `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr {
    pub host: String,
    pub port: u16,
}

impl NodeAddr {
    pub fn new(host: impl Into<String>, port: u16) -> NodeAddr {
        NodeAddr {
            host: host.into(),
            port,
        }
    }

    /// Parses `host:port`, splitting at the last `:`.
    pub fn parse(text: &str) -> Result<NodeAddr, TopologyError> {
        let (host, port) = text.rsplit_once(':').ok_or_else(|| invalid(text))?;
        let port = parse_port(port).ok_or_else(|| invalid(text))?;
        Ok(NodeAddr::new(host, port))
    }
}

/// A decimal TCP port: digits only, at most 65535.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn invalid(text: &str) -> TopologyError {
    TopologyError::invalid("address", text)
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl FromStr for NodeAddr {
    type Err = TopologyError;

    fn from_str(s: &str) -> Result<NodeAddr, TopologyError> {
        NodeAddr::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_ipv6_and_names() {
        assert_eq!(
            NodeAddr::parse("127.0.0.1:6381").unwrap(),
            NodeAddr::new("127.0.0.1", 6381)
        );
        assert_eq!(
            NodeAddr::parse("::1:7000").unwrap(),
            NodeAddr::new("::1", 7000)
        );
        assert_eq!(
            NodeAddr::parse("redis-0.svc:7000").unwrap(),
            NodeAddr::new("redis-0.svc", 7000)
        );
        assert_eq!(NodeAddr::parse(":7000").unwrap(), NodeAddr::new("", 7000));
    }

    #[test]
    fn round_trips() {
        for text in ["127.0.0.1:6381", "::1:7000", ":0", "host:65535"] {
            assert_eq!(NodeAddr::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_ports() {
        for text in ["127.0.0.1", "127.0.0.1:", "h:65536", "h:+1", "h:-1", "h:1x"] {
            assert!(NodeAddr::parse(text).is_err(), "{text}");
        }
    }
}
