//! [`Frame`]: one RESP2 or RESP3 value, as a tree.

use bytes::Bytes;

/// Any RESP2/RESP3 value. RESP2's two nulls (`$-1`, `*-1`) are kept apart from RESP3's `_`
/// so that a decoded reply re-encodes to the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(Bytes),
    /// `-ERR …` (the text after the `-`)
    Error(Bytes),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// RESP2 null bulk string `$-1`
    NullBulk,
    /// RESP2 null array `*-1`
    NullArray,
    /// RESP3 null `_`
    Null,
    /// `*<n>`
    Array(Vec<Frame>),
    /// RESP3 `%<n>`: key/value pairs in order
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~<n>`
    Set(Vec<Frame>),
    /// RESP3 `|<n>` attributes, followed by the value they describe
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
    /// RESP3 `><n>` out-of-band push (pub/sub messages, invalidations)
    Push(Vec<Frame>),
    /// RESP3 `,<double>`
    Double(f64),
    /// RESP3 `#t` / `#f`
    Boolean(bool),
    /// RESP3 `(<digits>`
    BigNumber(Bytes),
    /// RESP3 `=<n>\r\n<fmt>:<text>`: a three-byte format (`txt`, `mkd`) and the text
    Verbatim([u8; 3], Bytes),
}

impl Frame {
    /// `+OK`
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// An error reply from its text (without the leading `-`).
    pub fn error(text: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(text.into()))
    }

    /// A bulk string copied from any bytes.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(bytes.as_ref()))
    }

    /// The error text if this is an error reply.
    pub fn as_error(&self) -> Option<&[u8]> {
        match self {
            Frame::Error(text) => Some(text),
            _ => None,
        }
    }

    /// The bytes of a simple, bulk or verbatim string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim(_, b) => Some(b),
            _ => None,
        }
    }
}
