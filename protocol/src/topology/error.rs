//! [`TopologyError`]: what is wrong with a topology reply, line or field from a peer.

/// Longest piece of offending input quoted back in an error.
const QUOTE_MAX: usize = 64;

/// Malformed topology input. Offending text is quoted, cut to 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// A field that does not parse, e.g. `what = "node id"`.
    #[error("invalid {what}: {text:?}")]
    Invalid { what: &'static str, text: String },
    /// A required field or map key is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A reply frame of the wrong shape, e.g. a string where an array belongs.
    #[error("malformed {reply} reply: {reason}")]
    Reply {
        reply: &'static str,
        reason: &'static str,
    },
    /// A line of `CLUSTER NODES` text or of `nodes.conf` (1-based) failed to parse.
    #[error("line {line}: {source}")]
    Line {
        line: usize,
        source: Box<TopologyError>,
    },
    /// More distinct masters than there are slots.
    #[error("more shards than hash slots")]
    TooManyShards,
}

impl TopologyError {
    /// [`TopologyError::Invalid`] quoting (a prefix of) `text`.
    pub(crate) fn invalid(what: &'static str, text: impl AsRef<[u8]>) -> TopologyError {
        let text = text.as_ref();
        let quoted = text.get(..QUOTE_MAX).unwrap_or(text);
        TopologyError::Invalid {
            what,
            text: String::from_utf8_lossy(quoted).into_owned(),
        }
    }

    /// This error, tagged with the 1-based line number it came from.
    pub(crate) fn at_line(self, index: usize) -> TopologyError {
        TopologyError::Line {
            line: index + 1,
            source: Box::new(self),
        }
    }
}
