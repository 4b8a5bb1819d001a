//! [`NodeId`]: a cluster node's name, 40 lowercase hex characters.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

use super::TopologyError;

/// Length of a node id in characters.
pub const NODE_ID_LEN: usize = 40;

/// A node id: always exactly 40 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; NODE_ID_LEN]);

impl NodeId {
    /// The all-zero id (`0000…0000`), which Redis uses for "no node".
    pub const ZERO: NodeId = NodeId([b'0'; NODE_ID_LEN]);

    /// A fresh random id, as a new node names itself.
    pub fn random() -> NodeId {
        let mut rng = rand::thread_rng();
        let mut id = [0u8; NODE_ID_LEN];
        for byte in &mut id {
            let nibble = rng.gen_range(0..16u8);
            *byte = if nibble < 10 {
                b'0' + nibble
            } else {
                b'a' + nibble - 10
            };
        }
        NodeId(id)
    }

    /// Parses 40 lowercase hex characters.
    pub fn parse(text: &[u8]) -> Result<NodeId, TopologyError> {
        let id: [u8; NODE_ID_LEN] = text
            .try_into()
            .map_err(|_| TopologyError::invalid("node id", text))?;
        if !id.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(TopologyError::invalid("node id", text));
        }
        Ok(NodeId(id))
    }

    pub fn is_zero(&self) -> bool {
        *self == NodeId::ZERO
    }

    pub fn as_bytes(&self) -> &[u8; NODE_ID_LEN] {
        &self.0
    }

    /// The id as text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.as_str())
    }
}

impl FromStr for NodeId {
    type Err = TopologyError;

    fn from_str(s: &str) -> Result<NodeId, TopologyError> {
        NodeId::parse(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        let text = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
        let id: NodeId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(id.as_str(), text);
        assert!(!id.is_zero());
    }

    #[test]
    fn rejects_wrong_length_case_and_digits() {
        assert!(NodeId::parse(b"e7d1").is_err());
        assert!(NodeId::parse(b"E7D1EECCE10FD6BB5EB35B9F99A514335D9BA9CA").is_err());
        assert!(NodeId::parse(b"g7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca").is_err());
        assert!(NodeId::parse(b"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca0").is_err());
    }

    #[test]
    fn zero_and_random() {
        assert_eq!(NodeId::ZERO.to_string(), "0".repeat(40));
        assert!(NodeId::ZERO.is_zero());
        let (a, b) = (NodeId::random(), NodeId::random());
        assert_ne!(a, b);
        assert_eq!(NodeId::parse(a.as_bytes()), Ok(a));
    }
}
