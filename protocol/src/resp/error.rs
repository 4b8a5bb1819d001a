//! Protocol errors: every malformed input the decoders reject, with the exact text Redis
//! sends for it. A protocol error always means "reply with this error, then close the
//! connection": the stream can no longer be framed.

use thiserror::Error;

/// A violation of the RESP grammar or of the configured [`Limits`](super::Limits).
///
/// `Display` yields the text after the `-` of the error reply, e.g.
/// `ERR Protocol error: invalid bulk length`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("ERR Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    #[error("ERR Protocol error: too big bulk count string")]
    TooBigBulkCount,
    #[error("ERR Protocol error: too big inline request")]
    TooBigInline,
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("ERR Protocol error: expected '$', got '{}'", char::from(*.0))]
    ExpectedBulk(u8),
    #[error("ERR Protocol error: invalid reply type byte '{}'", char::from(*.0))]
    InvalidType(u8),
    #[error("ERR Protocol error: invalid {0} line")]
    InvalidLine(&'static str),
    #[error("ERR Protocol error: nesting deeper than {0} levels")]
    TooDeep(usize),
    #[error("ERR Protocol error: missing CRLF after bulk payload")]
    MissingCrlf,
}

impl ProtocolError {
    /// The error as a complete RESP error reply, ready to write before closing.
    pub fn to_reply(&self) -> Vec<u8> {
        format!("-{self}\r\n").into_bytes()
    }
}
