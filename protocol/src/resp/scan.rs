//! The frame-length scanner: finds where the next complete reply ends without building a
//! tree, so the proxy can forward a reply as raw bytes. Resumable: across partial reads it
//! keeps its position and the stack of elements still owed by open aggregates, so nothing
//! already validated is scanned again.

use super::line::{find_line_end, parse_i64};
use super::{Limits, ProtocolError};

/// Resumable scanner over a growing buffer; keep one per connection.
#[derive(Debug)]
pub struct FrameScanner {
    limits: Limits,
    /// Bytes of the current frame already validated.
    pos: usize,
    /// Elements still owed, innermost aggregate last; `[1]` = one whole frame.
    owed: Vec<u64>,
}

impl Default for FrameScanner {
    fn default() -> Self {
        FrameScanner::new(Limits::default())
    }
}

impl FrameScanner {
    pub fn new(limits: Limits) -> Self {
        FrameScanner {
            limits,
            pos: 0,
            owed: vec![1],
        }
    }

    /// Length in bytes of the complete frame at the front of `buf`, or `Ok(None)` if it has
    /// not fully arrived. After `Ok(Some(n))` the caller consumes `n` bytes and the scanner is
    /// ready for the next frame. `buf` must keep its front between calls.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        loop {
            let Some(&type_byte) = buf.get(self.pos) else {
                return Ok(None);
            };
            let Some(cr) = find_line_end(buf, self.pos + 1) else {
                if buf.len() - self.pos > self.limits.max_inline_len {
                    return Err(ProtocolError::InvalidLine("oversized header"));
                }
                return Ok(None);
            };
            let line = &buf[self.pos + 1..cr];
            let after_line = cr + 2;
            match type_byte {
                b'+' | b'-' => self.finish_scalar(after_line),
                b':' => {
                    parse_i64(line).ok_or(ProtocolError::InvalidLine("integer"))?;
                    self.finish_scalar(after_line);
                }
                b'_' if line.is_empty() => self.finish_scalar(after_line),
                b'#' if line == b"t" || line == b"f" => self.finish_scalar(after_line),
                b',' => {
                    super::decode::parse_double(line)
                        .ok_or(ProtocolError::InvalidLine("double"))?;
                    self.finish_scalar(after_line);
                }
                b'(' => {
                    super::decode::check_big_number(line)?;
                    self.finish_scalar(after_line);
                }
                b'$' | b'!' | b'=' => {
                    let len = parse_i64(line).ok_or(ProtocolError::InvalidBulkLength)?;
                    if len == -1 && type_byte == b'$' {
                        self.finish_scalar(after_line);
                    } else {
                        let len = self.bulk_len(len)?;
                        if type_byte == b'=' && len < 4 {
                            return Err(ProtocolError::InvalidLine("verbatim"));
                        }
                        let end = after_line + len;
                        if buf.len() < end + 2 {
                            return Ok(None);
                        }
                        if &buf[end..end + 2] != b"\r\n" {
                            return Err(ProtocolError::MissingCrlf);
                        }
                        self.finish_scalar(end + 2);
                    }
                }
                b'*' | b'~' | b'>' | b'%' | b'|' => {
                    let count = parse_i64(line).ok_or(ProtocolError::InvalidMultibulkLength)?;
                    if count == -1 && type_byte == b'*' {
                        self.finish_scalar(after_line);
                    } else {
                        self.open_aggregate(type_byte, count, after_line)?;
                    }
                }
                other => return Err(ProtocolError::InvalidType(other)),
            }
            if self.owed.is_empty() {
                let len = self.pos;
                self.pos = 0;
                self.owed.push(1);
                return Ok(Some(len));
            }
        }
    }

    fn bulk_len(&self, len: i64) -> Result<usize, ProtocolError> {
        if len < 0 || len as u64 > self.limits.max_bulk_len as u64 {
            return Err(ProtocolError::InvalidBulkLength);
        }
        Ok(len as usize)
    }

    fn open_aggregate(
        &mut self,
        type_byte: u8,
        count: i64,
        after_line: usize,
    ) -> Result<(), ProtocolError> {
        if count < 0 || count as u64 > self.limits.max_multibulk_len as u64 {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        let count = count as u64;
        let owed = match type_byte {
            b'%' => count * 2,
            // Attributes are followed by the value they describe, which the parent still
            // owes: they take no element of their own.
            b'|' => count * 2,
            _ => count,
        };
        if type_byte != b'|' {
            self.take_one();
        }
        self.pos = after_line;
        if owed > 0 {
            if self.owed.len() >= self.limits.max_depth {
                return Err(ProtocolError::TooDeep(self.limits.max_depth));
            }
            self.owed.push(owed);
        }
        self.pop_finished();
        Ok(())
    }

    fn finish_scalar(&mut self, end: usize) {
        self.pos = end;
        self.take_one();
        self.pop_finished();
    }

    fn take_one(&mut self) {
        if let Some(top) = self.owed.last_mut() {
            *top -= 1;
        }
    }

    fn pop_finished(&mut self) {
        while self.owed.last() == Some(&0) {
            self.owed.pop();
        }
    }
}
