//! The encoder: writes any [`Frame`] (and requests) as RESP bytes.

use bytes::{BufMut, BytesMut};

use super::Frame;

/// Appends `frame` to `out` exactly as RESP spells it.
pub fn encode(frame: &Frame, out: &mut BytesMut) {
    match frame {
        Frame::Simple(s) => line(out, b'+', s),
        Frame::Error(e) => line(out, b'-', e),
        Frame::Integer(n) => header(out, b':', *n),
        Frame::Bulk(b) => encode_bulk(b, out),
        Frame::NullBulk => out.put_slice(b"$-1\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Null => out.put_slice(b"_\r\n"),
        Frame::Array(items) => aggregate(out, b'*', items),
        Frame::Set(items) => aggregate(out, b'~', items),
        Frame::Push(items) => aggregate(out, b'>', items),
        Frame::Map(pairs) => pairs_of(out, b'%', pairs),
        Frame::Attribute(attrs, value) => {
            pairs_of(out, b'|', attrs);
            encode(value, out);
        }
        Frame::Double(d) => {
            out.put_u8(b',');
            out.put_slice(format_double(*d).as_bytes());
            out.put_slice(b"\r\n");
        }
        Frame::Boolean(b) => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Frame::BigNumber(digits) => line(out, b'(', digits),
        Frame::Verbatim(format, text) => {
            header(out, b'=', (text.len() + 4) as i64);
            out.put_slice(format);
            out.put_u8(b':');
            out.put_slice(text);
            out.put_slice(b"\r\n");
        }
    }
}

/// Appends a request (an array of bulk strings), as clients send it.
pub fn encode_request<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    header(out, b'*', args.len() as i64);
    for arg in args {
        encode_bulk(arg.as_ref(), out);
    }
}

/// Appends one bulk string.
pub fn encode_bulk(bytes: &[u8], out: &mut BytesMut) {
    header(out, b'$', bytes.len() as i64);
    out.put_slice(bytes);
    out.put_slice(b"\r\n");
}

/// Appends `<type><n>\r\n`, the header of integers, bulks and aggregates.
pub fn header(out: &mut BytesMut, type_byte: u8, n: i64) {
    let mut digits = itoa::Buffer::new();
    out.put_u8(type_byte);
    out.put_slice(digits.format(n).as_bytes());
    out.put_slice(b"\r\n");
}

/// A double as Redis writes it: `inf`, `-inf`, `nan`, or the shortest text that reads back
/// as the same value.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_owned()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{d}")
    }
}

fn line(out: &mut BytesMut, type_byte: u8, text: &[u8]) {
    out.put_u8(type_byte);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, type_byte: u8, items: &[Frame]) {
    header(out, type_byte, items.len() as i64);
    for item in items {
        encode(item, out);
    }
}

fn pairs_of(out: &mut BytesMut, type_byte: u8, pairs: &[(Frame, Frame)]) {
    header(out, type_byte, pairs.len() as i64);
    for (key, value) in pairs {
        encode(key, out);
        encode(value, out);
    }
}
