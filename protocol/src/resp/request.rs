//! The request decoder: multibulk arrays of bulk strings and inline commands, as Redis's
//! `processMultibulkBuffer` / `processInlineBuffer` accept them.
//!
//! The decoder is incremental and one-pass: it remembers how far into the buffer it has
//! validated and where each argument lies, so a request that arrives in many reads is never
//! scanned twice. Nothing is consumed from the buffer until a request is complete; then the
//! request's bytes are split off, frozen, and every argument is a zero-copy slice of them.

use bytes::{Buf, Bytes, BytesMut};

use super::inline::split_inline_args;
use super::limits::MAX_PREALLOC;
use super::line::{find_line_end, parse_i64};
use super::{Limits, ProtocolError};

/// One client request: the command name and its arguments, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub args: Vec<Bytes>,
    /// The request exactly as it arrived, when that is the canonical multibulk encoding of
    /// `args` (every line ended by `\r\n`), so a proxy can forward it without re-encoding.
    pub raw: Option<Bytes>,
}

impl Request {
    /// A request from literal parts; handy for clients and tests.
    pub fn new<I, A>(args: I) -> Request
    where
        I: IntoIterator<Item = A>,
        A: Into<Bytes>,
    {
        Request {
            args: args.into_iter().map(Into::into).collect(),
            raw: None,
        }
    }

    /// The command name as sent (not case-folded).
    pub fn name(&self) -> &[u8] {
        self.args.first().map_or(&[], |a| &a[..])
    }
}

/// Progress through a multibulk request that has not fully arrived yet.
#[derive(Debug, Default)]
struct Partial {
    /// Bytes at the front of the buffer already validated.
    pos: usize,
    /// Arguments the `*<n>` header declared; `None` before the header is read.
    declared: Option<usize>,
    /// Where each complete argument lies in the buffer.
    args: Vec<(usize, usize)>,
    /// Length announced by a `$<n>` header whose payload has not fully arrived.
    pending_bulk: Option<usize>,
    /// A line end so far was not `\r\n` (Redis skips the byte after `\r` unchecked).
    irregular: bool,
}

/// Incremental request decoder; keep one per connection.
#[derive(Debug, Default)]
pub struct RequestDecoder {
    limits: Limits,
    partial: Partial,
    /// Fill [`Request::raw`] (see [`RequestDecoder::keeping_raw`]).
    keep_raw: bool,
}

impl RequestDecoder {
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            partial: Partial::default(),
            keep_raw: false,
        }
    }

    /// Also hand out each canonical request's own bytes as [`Request::raw`] (a proxy
    /// forwards them; a server has no use for them and skips the reference count).
    pub fn keeping_raw(mut self) -> Self {
        self.keep_raw = true;
        self
    }

    /// Replace the limits (e.g. looser ones once a client has authenticated).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Takes the next complete request from the front of `buf`.
    ///
    /// `Ok(None)`: more bytes are needed (call again after the next read; nothing is lost).
    /// `Err`: the stream is malformed; reply with the error and close the connection.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        let mut request = Request::default();
        Ok(self.decode_into(buf, &mut request)?.then_some(request))
    }

    /// Like [`Self::decode`], into `request` (overwritten; `true` when a request was taken):
    /// a caller that keeps one `Request` reuses its argument vector instead of allocating
    /// one per request.
    pub fn decode_into(
        &mut self,
        buf: &mut BytesMut,
        request: &mut Request,
    ) -> Result<bool, ProtocolError> {
        loop {
            if buf.is_empty() {
                return Ok(false);
            }
            let outcome = if self.partial.declared.is_some() || buf[0] == b'*' {
                self.decode_multibulk(buf, request)?
            } else {
                decode_inline(buf, &self.limits, request)?
            };
            match outcome {
                Step::Taken => return Ok(true),
                Step::NeedMore => return Ok(false),
                Step::Empty => continue,
            }
        }
    }

    fn decode_multibulk(
        &mut self,
        buf: &mut BytesMut,
        request: &mut Request,
    ) -> Result<Step, ProtocolError> {
        let limits = self.limits;
        let p = &mut self.partial;
        let declared = match p.declared {
            Some(n) => n,
            None => {
                let Some(cr) = find_line_end(buf, 1) else {
                    return too_big_or_more(
                        buf.len(),
                        &limits,
                        ProtocolError::TooBigMultibulkCount,
                    );
                };
                let count = parse_i64(&buf[1..cr])
                    .filter(|&n| n <= limits.max_multibulk_len.min(i32::MAX as usize) as i64)
                    .ok_or(ProtocolError::InvalidMultibulkLength)?;
                if count <= 0 {
                    let _ = buf.split_to(cr + 2);
                    return Ok(Step::Empty);
                }
                let count = count as usize;
                p.irregular = buf[cr + 1] != b'\n';
                p.pos = cr + 2;
                p.declared = Some(count);
                p.args.reserve(count.min(MAX_PREALLOC));
                count
            }
        };
        while p.args.len() < declared {
            let len = match p.pending_bulk {
                Some(len) => len,
                None => {
                    let Some(cr) = find_line_end(buf, p.pos) else {
                        return too_big_or_more(
                            buf.len() - p.pos,
                            &limits,
                            ProtocolError::TooBigBulkCount,
                        );
                    };
                    if buf[p.pos] != b'$' {
                        return Err(ProtocolError::ExpectedBulk(buf[p.pos]));
                    }
                    let len = parse_i64(&buf[p.pos + 1..cr])
                        .filter(|&n| n >= 0 && n as u64 <= limits.max_bulk_len as u64)
                        .ok_or(ProtocolError::InvalidBulkLength)?
                        as usize;
                    p.irregular |= buf[cr + 1] != b'\n';
                    p.pos = cr + 2;
                    p.pending_bulk = Some(len);
                    len
                }
            };
            // Like Redis, the two bytes after the payload are skipped, not checked.
            if buf.len() - p.pos < len + 2 {
                return Ok(Step::NeedMore);
            }
            p.args.push((p.pos, p.pos + len));
            p.irregular |= buf[p.pos + len..p.pos + len + 2] != *b"\r\n";
            p.pos += len + 2;
            p.pending_bulk = None;
        }
        let mut frozen = buf.split_to(p.pos).freeze();
        request.raw = (self.keep_raw && !p.irregular).then(|| frozen.clone());
        let args = &mut request.args;
        args.clear();
        args.reserve(declared);
        let (last_start, last_end) = p.args.pop().unwrap_or_default();
        args.extend(
            p.args
                .drain(..)
                .map(|(start, end)| frozen.slice(start..end)),
        );
        // The last argument takes the frozen request itself: one reference count fewer.
        frozen.truncate(last_end);
        frozen.advance(last_start);
        args.push(frozen);
        p.pos = 0;
        p.declared = None;
        Ok(Step::Taken)
    }
}

/// What one decoding step produced.
enum Step {
    /// A request, now in the caller's [`Request`].
    Taken,
    /// A request with no arguments (`*0`, an empty inline line): consumed, nothing to run.
    Empty,
    NeedMore,
}

/// An unterminated header line: wait for more, unless it is already longer than any line
/// may be.
fn too_big_or_more(
    unterminated: usize,
    limits: &Limits,
    err: ProtocolError,
) -> Result<Step, ProtocolError> {
    if unterminated > limits.max_inline_len {
        Err(err)
    } else {
        Ok(Step::NeedMore)
    }
}

fn decode_inline(
    buf: &mut BytesMut,
    limits: &Limits,
    request: &mut Request,
) -> Result<Step, ProtocolError> {
    let Some(newline) = memchr::memchr(b'\n', buf) else {
        return too_big_or_more(buf.len(), limits, ProtocolError::TooBigInline);
    };
    if newline > limits.max_inline_len {
        return Err(ProtocolError::TooBigInline);
    }
    let line = buf.split_to(newline + 1).freeze();
    let mut text = &line[..newline];
    if let Some(stripped) = text.strip_suffix(b"\r") {
        text = stripped;
    }
    let args = split_inline_args(text)?;
    if args.is_empty() {
        return Ok(Step::Empty);
    }
    *request = Request { args, raw: None };
    Ok(Step::Taken)
}
