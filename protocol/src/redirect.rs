//! Typed cluster errors: the redirections a node sends instead of an answer (MOVED, ASK)
//! and the errors that say "not now" (TRYAGAIN, CLUSTERDOWN) or "never" (CROSSSLOT).
//! [`ClusterError::parse`] reads them from a reply's error text by its first word, as
//! cluster clients do; `Display` and [`ClusterError::to_frame`] write Redis's exact texts.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::fmt;

use crate::topology::NodeAddr;
use crate::{Frame, Slot};

/// A cluster error reply. `Display` gives the text without the leading `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// `MOVED <slot> <host>:<port>`: the slot lives elsewhere for good; update the map.
    #[error("MOVED {slot} {addr}")]
    Moved { slot: Slot, addr: NodeAddr },
    /// `ASK <slot> <host>:<port>`: for this one request, send `ASKING` and retry there.
    #[error("ASK {slot} {addr}")]
    Ask { slot: Slot, addr: NodeAddr },
    /// `TRYAGAIN …`: a multi-key request hit a slot being migrated; retry later.
    #[error("TRYAGAIN Multiple keys request during rehashing of slot")]
    TryAgain,
    /// `CLUSTERDOWN …`
    #[error("CLUSTERDOWN {0}")]
    ClusterDown(ClusterDownKind),
    /// `CROSSSLOT …`: the keys hash to different slots; retrying cannot help.
    #[error("CROSSSLOT Keys in request don't hash to the same slot")]
    CrossSlot,
}

/// Why the cluster is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterDownKind {
    /// `The cluster is down`
    Down,
    /// `The cluster is down and only accepts read commands` (a write while down with
    /// `cluster-allow-reads-when-down`)
    ReadOnlyDown,
    /// `Hash slot not served`
    Unbound,
}

impl ClusterDownKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterDownKind::Down => "The cluster is down",
            ClusterDownKind::ReadOnlyDown => "The cluster is down and only accepts read commands",
            ClusterDownKind::Unbound => "Hash slot not served",
        }
    }

    /// The kind named by a CLUSTERDOWN message; an unknown message is plain `Down`.
    fn from_message(message: &[u8]) -> ClusterDownKind {
        [ClusterDownKind::ReadOnlyDown, ClusterDownKind::Unbound]
            .into_iter()
            .find(|kind| kind.as_str().as_bytes() == message)
            .unwrap_or(ClusterDownKind::Down)
    }
}

impl fmt::Display for ClusterDownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ClusterError {
    /// Reads an error reply's text (without the leading `-`). `None` if its first word is
    /// not a cluster error, or if a MOVED/ASK does not read as `<slot> <host>:<port>`.
    pub fn parse(error_text: &[u8]) -> Option<ClusterError> {
        let (word, rest) = match memchr::memchr(b' ', error_text) {
            Some(space) => (error_text.get(..space)?, error_text.get(space + 1..)?),
            None => (error_text, &b""[..]),
        };
        match word {
            b"MOVED" => parse_target(rest).map(|(slot, addr)| ClusterError::Moved { slot, addr }),
            b"ASK" => parse_target(rest).map(|(slot, addr)| ClusterError::Ask { slot, addr }),
            b"TRYAGAIN" => Some(ClusterError::TryAgain),
            b"CLUSTERDOWN" => Some(ClusterError::ClusterDown(ClusterDownKind::from_message(
                rest,
            ))),
            b"CROSSSLOT" => Some(ClusterError::CrossSlot),
            _ => None,
        }
    }

    /// The error reply frame.
    pub fn to_frame(&self) -> Frame {
        Frame::error(self.to_string())
    }
}

/// `<slot> <host>:<port>`, the port after the last `:`.
fn parse_target(text: &[u8]) -> Option<(Slot, NodeAddr)> {
    let text = std::str::from_utf8(text).ok()?;
    let (slot, addr) = text.split_once(' ')?;
    if slot.is_empty() || !slot.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let slot = slot.parse().ok().and_then(Slot::new)?;
    Some((slot, NodeAddr::parse(addr).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(n: u16) -> Slot {
        Slot::new(n).unwrap()
    }

    #[test]
    fn displays_redis_texts() {
        let moved = ClusterError::Moved {
            slot: slot(3999),
            addr: NodeAddr::new("127.0.0.1", 6381),
        };
        let cases = [
            (moved, "MOVED 3999 127.0.0.1:6381"),
            (
                ClusterError::Ask {
                    slot: slot(3999),
                    addr: NodeAddr::new("::1", 6381),
                },
                "ASK 3999 ::1:6381",
            ),
            (
                ClusterError::TryAgain,
                "TRYAGAIN Multiple keys request during rehashing of slot",
            ),
            (
                ClusterError::ClusterDown(ClusterDownKind::Down),
                "CLUSTERDOWN The cluster is down",
            ),
            (
                ClusterError::ClusterDown(ClusterDownKind::ReadOnlyDown),
                "CLUSTERDOWN The cluster is down and only accepts read commands",
            ),
            (
                ClusterError::ClusterDown(ClusterDownKind::Unbound),
                "CLUSTERDOWN Hash slot not served",
            ),
            (
                ClusterError::CrossSlot,
                "CROSSSLOT Keys in request don't hash to the same slot",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
            assert_eq!(
                ClusterError::parse(text.as_bytes()),
                Some(error.clone()),
                "{text}"
            );
            assert_eq!(error.to_frame(), Frame::error(text));
        }
    }

    #[test]
    fn parses_by_first_word() {
        assert_eq!(
            ClusterError::parse(b"TRYAGAIN"),
            Some(ClusterError::TryAgain)
        );
        assert_eq!(
            ClusterError::parse(b"CLUSTERDOWN something new"),
            Some(ClusterError::ClusterDown(ClusterDownKind::Down))
        );
        assert_eq!(
            ClusterError::parse(b"CROSSSLOT whatever"),
            Some(ClusterError::CrossSlot)
        );
        for text in [
            &b"ERR unknown command"[..],
            b"MOVEDX 1 h:1",
            b"moved 1 h:1",
            b"",
            b"READONLY x",
        ] {
            assert_eq!(ClusterError::parse(text), None);
        }
    }

    #[test]
    fn rejects_malformed_targets() {
        for text in [
            &b"MOVED"[..],
            b"MOVED 3999",
            b"MOVED 16384 h:1",
            b"MOVED -1 h:1",
            b"MOVED x h:1",
            b"ASK 1 h",
            b"ASK 1 h:99999",
            b"ASK 1 \xff:1",
        ] {
            assert_eq!(
                ClusterError::parse(text),
                None,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            ClusterError::parse(b"MOVED 7 redis-2.svc:7002"),
            Some(ClusterError::Moved {
                slot: slot(7),
                addr: NodeAddr::new("redis-2.svc", 7002)
            })
        );
    }
}
