//! Reading reply frames from peers: strings, integers, arrays and maps, the same way for
//! RESP2 (maps flattened to `[key, value, …]` arrays) and RESP3.

use crate::Frame;

use super::{NodeId, TopologyError};

/// One reply being read, named for error messages (`"CLUSTER SLOTS"`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader {
    pub reply: &'static str,
}

impl Reader {
    pub fn error(self, reason: &'static str) -> TopologyError {
        TopologyError::Reply {
            reply: self.reply,
            reason,
        }
    }

    /// The elements of an array (or RESP3 set).
    pub fn array(self, frame: &Frame) -> Result<&[Frame], TopologyError> {
        match frame {
            Frame::Array(items) | Frame::Set(items) => Ok(items),
            _ => Err(self.error("expected an array")),
        }
    }

    /// The key/value pairs of a RESP3 map or of a RESP2 flat array, keys as bytes.
    pub fn pairs(self, frame: &Frame) -> Result<Vec<(&[u8], &Frame)>, TopologyError> {
        match frame {
            Frame::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| Ok((self.string(k)?, v)))
                .collect(),
            Frame::Array(items) if items.len() % 2 == 0 => items
                .chunks_exact(2)
                .map(|pair| match pair {
                    [k, v] => Ok((self.string(k)?, v)),
                    _ => Err(self.error("odd map length")),
                })
                .collect(),
            _ => Err(self.error("expected a map")),
        }
    }

    /// The bytes of a simple, bulk or verbatim string.
    pub fn string(self, frame: &Frame) -> Result<&[u8], TopologyError> {
        frame
            .as_bytes()
            .ok_or_else(|| self.error("expected a string"))
    }

    /// A string that must be UTF-8 (hosts, roles).
    pub fn text(self, frame: &Frame) -> Result<String, TopologyError> {
        let bytes = self.string(frame)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| TopologyError::invalid("text", bytes))
    }

    /// A string, or the empty string for any null.
    pub fn text_or_empty(self, frame: &Frame) -> Result<String, TopologyError> {
        match frame {
            Frame::Null | Frame::NullBulk => Ok(String::new()),
            _ => self.text(frame),
        }
    }

    pub fn integer(self, frame: &Frame) -> Result<i64, TopologyError> {
        match frame {
            Frame::Integer(n) => Ok(*n),
            _ => Err(self.error("expected an integer")),
        }
    }

    pub fn port(self, frame: &Frame) -> Result<u16, TopologyError> {
        let n = self.integer(frame)?;
        u16::try_from(n).map_err(|_| TopologyError::invalid("port", n.to_string()))
    }

    pub fn node_id(self, frame: &Frame) -> Result<NodeId, TopologyError> {
        NodeId::parse(self.string(frame)?)
    }
}

/// A map as a RESP3 map or, for RESP2, a flat `[key, value, …]` array of bulk strings.
pub(crate) fn map_frame(pairs: Vec<(&str, Frame)>, resp3: bool) -> Frame {
    let pairs = pairs
        .into_iter()
        .map(|(key, value)| (Frame::bulk(key), value));
    if resp3 {
        Frame::Map(pairs.collect())
    } else {
        Frame::Array(pairs.flat_map(|(key, value)| [key, value]).collect())
    }
}
