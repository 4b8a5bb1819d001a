//! The reply decoder: turns the next complete reply into a [`Frame`] tree. The
//! [`FrameScanner`] first proves the frame complete and well formed (one pass over new bytes
//! only); the tree is then built from the frozen frame, whose every string is a zero-copy
//! slice.

use bytes::{Bytes, BytesMut};

use super::line::parse_i64;
use super::{Frame, FrameScanner, Limits, ProtocolError};

/// Incremental reply decoder; keep one per connection.
#[derive(Debug, Default)]
pub struct ReplyDecoder {
    scanner: FrameScanner,
}

impl ReplyDecoder {
    pub fn new(limits: Limits) -> Self {
        ReplyDecoder {
            scanner: FrameScanner::new(limits),
        }
    }

    /// Takes the next complete reply from the front of `buf`; `Ok(None)` if it has not fully
    /// arrived.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        let Some(len) = self.scanner.scan(buf)? else {
            return Ok(None);
        };
        let bytes = buf.split_to(len).freeze();
        let mut cursor = Cursor {
            bytes: &bytes,
            pos: 0,
        };
        cursor.frame().map(Some)
    }
}

/// Parses one complete, already-scanned frame. Errors here only guard against a scanner bug.
struct Cursor<'a> {
    bytes: &'a Bytes,
    pos: usize,
}

impl Cursor<'_> {
    /// The type byte and the rest of the header line, as a zero-copy slice.
    fn line(&mut self) -> Result<(u8, Bytes), ProtocolError> {
        let start = self.pos;
        let type_byte = *self
            .bytes
            .get(start)
            .ok_or(ProtocolError::InvalidLine("frame"))?;
        let cr = super::line::find_line_end(self.bytes, start + 1)
            .ok_or(ProtocolError::InvalidLine("frame"))?;
        self.pos = cr + 2;
        Ok((type_byte, self.bytes.slice(start + 1..cr)))
    }

    fn payload(&mut self, len: usize) -> Bytes {
        let out = self.bytes.slice(self.pos..self.pos + len);
        self.pos += len + 2;
        out
    }

    fn count(line: &[u8]) -> Result<usize, ProtocolError> {
        parse_i64(line)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(ProtocolError::InvalidMultibulkLength)
    }

    fn frames(&mut self, n: usize) -> Result<Vec<Frame>, ProtocolError> {
        (0..n).map(|_| self.frame()).collect()
    }

    fn pairs(&mut self, n: usize) -> Result<Vec<(Frame, Frame)>, ProtocolError> {
        (0..n).map(|_| Ok((self.frame()?, self.frame()?))).collect()
    }

    fn frame(&mut self) -> Result<Frame, ProtocolError> {
        let (type_byte, text) = self.line()?;
        let line = &text[..];
        Ok(match type_byte {
            b'+' => Frame::Simple(text.clone()),
            b'-' => Frame::Error(text.clone()),
            b':' => Frame::Integer(parse_i64(line).ok_or(ProtocolError::InvalidLine("integer"))?),
            b'_' => Frame::Null,
            b'#' => Frame::Boolean(line == b"t"),
            b',' => Frame::Double(parse_double(line).ok_or(ProtocolError::InvalidLine("double"))?),
            b'(' => Frame::BigNumber(text.clone()),
            b'$' | b'!' | b'=' => {
                let len = parse_i64(line).ok_or(ProtocolError::InvalidBulkLength)?;
                if len < 0 {
                    return Ok(Frame::NullBulk);
                }
                let payload = self.payload(len as usize);
                match type_byte {
                    b'$' => Frame::Bulk(payload),
                    b'!' => Frame::Error(payload),
                    _ => {
                        let format = [payload[0], payload[1], payload[2]];
                        Frame::Verbatim(format, payload.slice(4..))
                    }
                }
            }
            b'*' if line == b"-1" => Frame::NullArray,
            b'*' => {
                let n = Self::count(line)?;
                Frame::Array(self.frames(n)?)
            }
            b'~' => {
                let n = Self::count(line)?;
                Frame::Set(self.frames(n)?)
            }
            b'>' => {
                let n = Self::count(line)?;
                Frame::Push(self.frames(n)?)
            }
            b'%' => {
                let n = Self::count(line)?;
                Frame::Map(self.pairs(n)?)
            }
            b'|' => {
                let n = Self::count(line)?;
                let attrs = self.pairs(n)?;
                Frame::Attribute(attrs, Box::new(self.frame()?))
            }
            other => return Err(ProtocolError::InvalidType(other)),
        })
    }
}

/// A RESP3 double: decimal or exponent notation, `inf`, `-inf` or `nan`.
pub(crate) fn parse_double(line: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(line).ok()?;
    match text {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

/// A RESP3 big number: an optional `-` and at least one digit.
pub(crate) fn check_big_number(line: &[u8]) -> Result<(), ProtocolError> {
    let digits = line.strip_prefix(b"-").unwrap_or(line);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(ProtocolError::InvalidLine("big number"))
    }
}
