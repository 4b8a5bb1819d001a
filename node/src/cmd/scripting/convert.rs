//! Replies to Lua values and back, as Redis 7.0's `script_lua.c` converts them: integers
//! to numbers, bulks to strings, nulls to `false` (RESP2) or `nil` (RESP3), status and error
//! replies to `{ok=…}` / `{err=…}`; and a script's result (numbers truncated, arrays up to
//! the first `nil`, `{err=…}`, `{ok=…}`, RESP3's `{double=…}`, `{map=…}`, `{set=…}`, …).

use bytes::Bytes;
use mlua::{Lua, Table, Value};
use slotgate_protocol::Frame;

use crate::reply::g17;

/// Deeper results are refused, as Redis refuses them when the Lua stack runs out.
const MAX_DEPTH: usize = 1000;

/// The text of the `{err=…}` table Redis's `luaPushErrorBuff` builds: `-CODE msg` keeps its
/// code, anything else gets `ERR`; CR/LF trimmed from the message's ends.
pub fn error_text(raw: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match raw.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", raw),
    };
    let crlf = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = msg.iter().position(|b| !crlf(b)).unwrap_or(msg.len());
    let end = msg.iter().rposition(|b| !crlf(b)).map_or(start, |i| i + 1);
    [code, b" ", &msg[start..end]].concat()
}

/// `{err=…}` for an error text (see [`error_text`]).
pub fn error_table(lua: &Lua, raw: &[u8]) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("err", lua.create_string(error_text(raw))?)?;
    Ok(table)
}

/// A command's reply as the script sees it, in the script's protocol (`redis.setresp`).
pub fn to_lua(lua: &Lua, frame: &Frame, resp: u8) -> mlua::Result<Value> {
    let string = |b: &[u8]| lua.create_string(b).map(Value::String);
    let wrap = |field: &str, value: Value| -> mlua::Result<Value> {
        let table = lua.create_table()?;
        table.raw_set(field, value)?;
        Ok(Value::Table(table))
    };
    Ok(match frame {
        Frame::Integer(n) => Value::Number(*n as f64),
        Frame::Bulk(b) => string(b)?,
        Frame::Simple(s) => wrap("ok", string(s)?)?,
        Frame::Error(e) => Value::Table(error_table(lua, &[b"-", &e[..]].concat())?),
        Frame::NullBulk | Frame::NullArray | Frame::Null if resp == 2 => Value::Boolean(false),
        Frame::NullBulk | Frame::NullArray | Frame::Null => Value::Nil,
        Frame::Boolean(b) if resp == 2 => Value::Number(f64::from(u8::from(*b))),
        Frame::Boolean(b) => Value::Boolean(*b),
        Frame::Double(d) if resp == 2 => string(g17(*d).as_bytes())?,
        Frame::Double(d) => wrap("double", Value::Number(*d))?,
        Frame::BigNumber(b) if resp == 2 => string(b)?,
        Frame::BigNumber(b) => wrap("big_number", string(b)?)?,
        Frame::Verbatim(_, text) if resp == 2 => string(text)?,
        Frame::Verbatim(format, text) => {
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            wrap("verbatim_string", Value::Table(inner))?
        }
        Frame::Array(items) | Frame::Push(items) => array(lua, items.iter(), resp)?,
        Frame::Set(items) if resp == 2 => array(lua, items.iter(), resp)?,
        Frame::Set(items) => {
            let set = lua.create_table()?;
            for item in items {
                set.raw_set(to_lua(lua, item, resp)?, true)?;
            }
            wrap("set", Value::Table(set))?
        }
        Frame::Map(pairs) if resp == 2 => array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?,
        Frame::Map(pairs) => {
            let map = lua.create_table()?;
            for (k, v) in pairs {
                map.raw_set(to_lua(lua, k, resp)?, to_lua(lua, v, resp)?)?;
            }
            wrap("map", Value::Table(map))?
        }
        Frame::Attribute(_, value) => to_lua(lua, value, resp)?,
    })
}

fn array<'f>(lua: &Lua, items: impl Iterator<Item = &'f Frame>, resp: u8) -> mlua::Result<Value> {
    let table = lua.create_table()?;
    for (i, item) in items.enumerate() {
        table.raw_set(i + 1, to_lua(lua, item, resp)?)?;
    }
    Ok(Value::Table(table))
}

/// A script's result as the reply, `resp` being the script's protocol (`true` is `:1` and
/// `false` a null in RESP2, booleans in RESP3).
pub fn to_frame(value: &Value, resp: u8) -> Frame {
    convert(value, resp, 0)
}

fn convert(value: &Value, resp: u8, depth: usize) -> Frame {
    if depth > MAX_DEPTH {
        return Frame::error("ERR reached lua stack limit");
    }
    match value {
        Value::Boolean(b) if resp == 2 => match b {
            true => Frame::Integer(1),
            false => Frame::NullBulk,
        },
        Value::Boolean(b) => Frame::Boolean(*b),
        Value::Integer(n) => Frame::Integer(*n),
        Value::Number(n) => Frame::Integer(truncate(*n)),
        Value::String(s) => Frame::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Table(t) => table(t, resp, depth).unwrap_or(Frame::NullBulk),
        _ => Frame::NullBulk,
    }
}

/// C's `(long long)` of a double on x86-64: out of range (and NaN) is `i64::MIN`.
fn truncate(n: f64) -> i64 {
    const END: f64 = 9_223_372_036_854_775_808.0;
    match (-END..END).contains(&n) {
        true => n as i64,
        false => i64::MIN,
    }
}

fn table(t: &Table, resp: u8, depth: usize) -> mlua::Result<Frame> {
    let field = |name: &str| t.raw_get::<Value>(name);
    if let Value::String(err) = field("err")? {
        return Ok(Frame::Error(one_line(&err.as_bytes(), true)));
    }
    if let Value::String(ok) = field("ok")? {
        return Ok(Frame::Simple(one_line(&ok.as_bytes(), false)));
    }
    match field("double")? {
        Value::Number(d) => return Ok(Frame::Double(d)),
        Value::Integer(d) => return Ok(Frame::Double(d as f64)),
        _ => {}
    }
    if let Value::String(big) = field("big_number")? {
        return Ok(Frame::BigNumber(one_line(&big.as_bytes(), false)));
    }
    if let Value::Table(verbatim) = field("verbatim_string")? {
        let format = verbatim.raw_get::<Value>("format")?;
        let text = verbatim.raw_get::<Value>("string")?;
        if let (Value::String(format), Value::String(text)) = (format, text) {
            let mut fmt = *b"txt";
            for (slot, b) in fmt.iter_mut().zip(format.as_bytes().iter()) {
                *slot = *b;
            }
            return Ok(Frame::Verbatim(
                fmt,
                Bytes::copy_from_slice(&text.as_bytes()),
            ));
        }
    }
    if let Value::Table(map) = field("map")? {
        let mut pairs = Vec::new();
        for pair in map.pairs::<Value, Value>() {
            let (k, v) = pair?;
            pairs.push((convert(&k, resp, depth + 1), convert(&v, resp, depth + 1)));
        }
        return Ok(Frame::Map(pairs));
    }
    if let Value::Table(set) = field("set")? {
        let mut items = Vec::new();
        for pair in set.pairs::<Value, Value>() {
            let (k, _) = pair?;
            items.push(convert(&k, resp, depth + 1));
        }
        return Ok(Frame::Set(items));
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i)? {
            Value::Nil => break,
            item => items.push(convert(&item, resp, depth + 1)),
        }
    }
    Ok(Frame::Array(items))
}

/// A status or error text on one line, as `addReplyStatusLength` / `addReplyErrorFormat`
/// send it: CR and LF become spaces (errors also lose them at the ends first).
fn one_line(text: &[u8], trim: bool) -> Bytes {
    let crlf = |b: &u8| *b == b'\r' || *b == b'\n';
    let text = match trim {
        true => {
            let start = text.iter().position(|b| !crlf(b)).unwrap_or(text.len());
            let end = text.iter().rposition(|b| !crlf(b)).map_or(start, |i| i + 1);
            &text[start..end]
        }
        false => text,
    };
    text.iter()
        .map(|b| if crlf(b) { b' ' } else { *b })
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_like_lua_push_error() {
        assert_eq!(error_text(b"-WRONGTYPE Operation"), b"WRONGTYPE Operation");
        assert_eq!(error_text(b"-boom"), b"ERR boom");
        assert_eq!(error_text(b"plain text\r\n"), b"ERR plain text");
    }

    #[test]
    fn numbers_truncate_like_c() {
        assert_eq!(truncate(3.99), 3);
        assert_eq!(truncate(-3.99), -3);
        assert_eq!(truncate(f64::NAN), i64::MIN);
    }
}
