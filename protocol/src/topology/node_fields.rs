//! The typed fields of a `CLUSTER NODES` line: [`NodeFlags`], [`LinkState`] and the
//! open-slot markers [`OpenSlot`].

use std::fmt;

use crate::Slot;

use super::range::parse_slot;
use super::{NodeId, TopologyError};

/// The flags field. Written in Redis's fixed order
/// `myself,master,slave,fail?,fail,handshake,noaddr,nofailover`, or `noflags` when none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeFlags {
    pub myself: bool,
    pub master: bool,
    /// `slave`
    pub replica: bool,
    /// `fail?`: this node suspects the node is down.
    pub pfail: bool,
    /// `fail`: the cluster agreed the node is down.
    pub fail: bool,
    pub handshake: bool,
    pub noaddr: bool,
    pub nofailover: bool,
}

impl NodeFlags {
    /// Each flag's name and whether it is set, in Redis's order.
    fn named(&self) -> [(&'static str, bool); 8] {
        [
            ("myself", self.myself),
            ("master", self.master),
            ("slave", self.replica),
            ("fail?", self.pfail),
            ("fail", self.fail),
            ("handshake", self.handshake),
            ("noaddr", self.noaddr),
            ("nofailover", self.nofailover),
        ]
    }

    /// Parses a comma list of flag names, in any order; `noflags` stands for none.
    /// Unknown names are an error, as in Redis's own `nodes.conf` loader.
    pub fn parse(text: &str) -> Result<NodeFlags, TopologyError> {
        let mut flags = NodeFlags::default();
        for name in text.split(',') {
            let flag = match name {
                "myself" => &mut flags.myself,
                "master" => &mut flags.master,
                "slave" => &mut flags.replica,
                "fail?" => &mut flags.pfail,
                "fail" => &mut flags.fail,
                "handshake" => &mut flags.handshake,
                "noaddr" => &mut flags.noaddr,
                "nofailover" => &mut flags.nofailover,
                "noflags" => continue,
                _ => return Err(TopologyError::invalid("node flag", name)),
            };
            *flag = true;
        }
        Ok(flags)
    }
}

impl fmt::Display for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut set = self
            .named()
            .into_iter()
            .filter(|&(_, on)| on)
            .map(|(name, _)| name);
        let Some(first) = set.next() else {
            return f.write_str("noflags");
        };
        f.write_str(first)?;
        set.try_for_each(|name| write!(f, ",{name}"))
    }
}

/// State of the cluster-bus link to a node (`myself` is always connected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    Connected,
    Disconnected,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connected => "connected",
            LinkState::Disconnected => "disconnected",
        }
    }

    pub fn parse(text: &str) -> Result<LinkState, TopologyError> {
        match text {
            "connected" => Ok(LinkState::Connected),
            "disconnected" => Ok(LinkState::Disconnected),
            _ => Err(TopologyError::invalid("link state", text)),
        }
    }
}

/// A slot being moved, shown only on the `myself` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenSlot {
    /// `[<slot>->-<to>]`: this node is handing `slot` over to `to`.
    Migrating { slot: Slot, to: NodeId },
    /// `[<slot>-<-<from>]`: this node is taking `slot` over from `from`.
    Importing { slot: Slot, from: NodeId },
}

impl OpenSlot {
    /// Parses a bracketed marker; `None` if `token` is not bracketed (a plain slot range).
    pub fn parse(token: &str) -> Option<Result<OpenSlot, TopologyError>> {
        let inner = token.strip_prefix('[')?;
        let marker = || -> Option<OpenSlot> {
            let inner = inner.strip_suffix(']')?;
            if let Some((slot, to)) = inner.split_once("->-") {
                return Some(OpenSlot::Migrating {
                    slot: parse_slot(slot)?,
                    to: peer(to)?,
                });
            }
            let (slot, from) = inner.split_once("-<-")?;
            Some(OpenSlot::Importing {
                slot: parse_slot(slot)?,
                from: peer(from)?,
            })
        };
        Some(marker().ok_or_else(|| TopologyError::invalid("open slot", token)))
    }
}

fn peer(text: &str) -> Option<NodeId> {
    NodeId::parse(text.as_bytes()).ok()
}

impl fmt::Display for OpenSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenSlot::Migrating { slot, to } => write!(f, "[{slot}->-{to}]"),
            OpenSlot::Importing { slot, from } => write!(f, "[{slot}-<-{from}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_format_in_redis_order() {
        let flags = NodeFlags::parse("fail?,slave,myself").unwrap();
        assert_eq!(flags.to_string(), "myself,slave,fail?");
        assert_eq!(NodeFlags::default().to_string(), "noflags");
        assert_eq!(NodeFlags::parse("noflags").unwrap(), NodeFlags::default());
        let all = "myself,master,slave,fail?,fail,handshake,noaddr,nofailover";
        assert_eq!(NodeFlags::parse(all).unwrap().to_string(), all);
        assert!(NodeFlags::parse("master,bogus").is_err());
        assert!(NodeFlags::parse("").is_err());
    }

    #[test]
    fn link_state() {
        for text in ["connected", "disconnected"] {
            assert_eq!(LinkState::parse(text).unwrap().as_str(), text);
        }
        assert!(LinkState::parse("up").is_err());
    }

    #[test]
    fn open_slots_round_trip() {
        let id = "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f";
        for text in [format!("[93-<-{id}]"), format!("[16383->-{id}]")] {
            let open = OpenSlot::parse(&text).unwrap().unwrap();
            assert_eq!(open.to_string(), text);
        }
        assert!(OpenSlot::parse("0-5460").is_none());
        for bad in ["[93]", "[93->-abc]", "[16384-<-{id}]", "[93->-{id}"] {
            assert!(
                OpenSlot::parse(&bad.replace("{id}", id)).unwrap().is_err(),
                "{bad}"
            );
        }
    }
}
