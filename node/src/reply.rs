//! Replies on the wire. Commands build RESP3-rich [`Frame`]s (maps, sets, doubles, pushes)
//! with RESP2's two nulls; [`encode`] writes them in the client's protocol version, so no
//! command has to care which one it is talking to. Also the shared error texts.

use bytes::{BufMut, Bytes, BytesMut};
use slotgate_protocol::resp::{self, encode_bulk, header};
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
            Frame::Double(d) => {
                out.put_u8(b',');
                out.put_slice(g17(*d).as_bytes());
                out.put_slice(b"\r\n");
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
        Frame::Double(d) => encode_bulk(g17(*d).as_bytes(), out),
        Frame::Boolean(b) => header(out, b':', i64::from(*b)),
        Frame::BigNumber(b) | Frame::Verbatim(_, b) => encode_bulk(b, out),
        Frame::Attribute(_, value) => encode(value, resp, out),
        other => resp::encode(other, out),
    }
}

/// A double as Redis 7.0 replies it: C's `%.17g` (`inf` / `-inf` spelled out).
pub fn g17(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |t: &str| {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            t.to_owned()
        }
    };
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mantissa), exp.abs());
    }
    trim(&format!("{d:.*}", (16 - exp).max(0) as usize))
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

#[cfg(test)]
mod tests {
    use super::g17;

    #[test]
    fn doubles_like_printf_g17() {
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(1.5), "1.5");
        assert_eq!(g17(2.0), "2");
        assert_eq!(g17(1e20), "1e+20");
        assert_eq!(g17(-3.25e-7), "-3.2500000000000001e-07");
        assert_eq!(g17(123456.0), "123456");
    }
}
