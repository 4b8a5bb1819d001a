//! Replies on the wire. Commands build RESP3-rich [`Frame`]s (maps, sets, doubles, pushes)
//! with RESP2's two nulls; [`encode`] writes them in the client's protocol version, so no
//! command has to care which one it is talking to. Also the shared error texts.

use bytes::{BufMut, Bytes, BytesMut};
use slotgate_protocol::resp::{self, encode_bulk, format_double, header};
use slotgate_protocol::Frame;

/// Several top-level replies from one command (SUBSCRIBE a b c confirms each channel):
/// marked as an attribute-less [`Frame::Attribute`] around an array, which [`encode`]
/// writes as the items one after another.
pub fn several(mut replies: Vec<Frame>) -> Frame {
    if replies.len() == 1 {
        return replies.remove(0);
    }
    Frame::Attribute(Vec::new(), Box::new(Frame::Array(replies)))
}

/// Appends `frame` to `out` as RESP2 (`resp == 2`) or RESP3.
pub fn encode(frame: &Frame, resp: u8, out: &mut BytesMut) {
    if let Frame::Attribute(attrs, inner) = frame {
        if let (true, Frame::Array(items)) = (attrs.is_empty(), &**inner) {
            items.iter().for_each(|i| encode(i, resp, out));
            return;
        }
    }
    if resp >= 3 {
        match frame {
            Frame::NullBulk | Frame::NullArray => out.put_slice(b"_\r\n"),
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let kind = match frame {
                    Frame::Set(_) => b'~',
                    Frame::Push(_) => b'>',
                    _ => b'*',
                };
                header(out, kind, items.len() as i64);
                items.iter().for_each(|i| encode(i, resp, out));
            }
            Frame::Map(pairs) => {
                header(out, b'%', pairs.len() as i64);
                for (k, v) in pairs {
                    encode(k, resp, out);
                    encode(v, resp, out);
                }
            }
            other => resp::encode(other, out),
        }
        return;
    }
    match frame {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            header(out, b'*', items.len() as i64);
            items.iter().for_each(|i| encode(i, resp, out));
        }
        Frame::Map(pairs) => {
            header(out, b'*', 2 * pairs.len() as i64);
            for (k, v) in pairs {
                encode(k, resp, out);
                encode(v, resp, out);
            }
        }
        Frame::Null => out.put_slice(b"$-1\r\n"),
        Frame::Double(d) => encode_bulk(format_double(*d).as_bytes(), out),
        Frame::Boolean(b) => header(out, b':', i64::from(*b)),
        Frame::BigNumber(b) | Frame::Verbatim(_, b) => encode_bulk(b, out),
        Frame::Attribute(_, value) => encode(value, resp, out),
        other => resp::encode(other, out),
    }
}

/// `:n`
pub fn int(n: impl TryInto<i64>) -> Frame {
    Frame::Integer(n.try_into().unwrap_or(i64::MAX))
}

/// A bulk string sharing `bytes`.
pub fn bulk(bytes: &Bytes) -> Frame {
    Frame::Bulk(bytes.clone())
}

/// An array of bulk strings.
pub fn bulks<'a>(items: impl IntoIterator<Item = &'a Bytes>) -> Frame {
    Frame::Array(items.into_iter().map(bulk).collect())
}

/// `+text`
pub fn simple(text: &'static str) -> Frame {
    Frame::Simple(Bytes::from_static(text.as_bytes()))
}

/// A RESP3 double (a bulk string in RESP2).
pub fn double(d: f64) -> Frame {
    Frame::Double(d)
}

/// Redis's error texts, one place for all of them.
pub mod err {
    use slotgate_protocol::Frame;

    pub fn syntax() -> Frame {
        Frame::error("ERR syntax error")
    }
    pub fn wrong_type() -> Frame {
        Frame::error("WRONGTYPE Operation against a key holding the wrong kind of value")
    }
    pub fn not_int() -> Frame {
        Frame::error("ERR value is not an integer or out of range")
    }
    pub fn not_float() -> Frame {
        Frame::error("ERR value is not a valid float")
    }
    pub fn overflow() -> Frame {
        Frame::error("ERR increment or decrement would overflow")
    }
    pub fn no_key() -> Frame {
        Frame::error("ERR no such key")
    }
    pub fn arity(name: &str) -> Frame {
        Frame::error(format!(
            "ERR wrong number of arguments for '{}' command",
            name.to_ascii_lowercase()
        ))
    }
    pub fn invalid_expire(cmd: &str) -> Frame {
        Frame::error(format!(
            "ERR invalid expire time in '{}' command",
            cmd.to_ascii_lowercase()
        ))
    }
    pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> Frame {
        Frame::error(format!(
            "ERR unknown subcommand '{}'. Try {}",
            String::from_utf8_lossy(&sub[..sub.len().min(128)]),
            format_args!("{} HELP.", cmd.to_ascii_uppercase())
        ))
    }
    pub fn db_index() -> Frame {
        Frame::error("ERR DB index is out of range")
    }
}
