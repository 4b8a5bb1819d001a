//! The cursor commands: SCAN over the keyspace (the cursor is the next hash slot) and
//! SSCAN / HSCAN / ZSCAN over one collection (answered in one pass, cursor 0, as Redis
//! does for small encodings; the guarantees of SCAN hold either way).

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{int, read, upper};
use super::{spec, Ctx, Reply, Spec};
use crate::db::Value;
use crate::glob;
use crate::reply::err;

pub const COMMANDS: &[Spec] = &[
    spec("scan", -2, 0, scan),
    spec("sscan", -3, 0, collection_scan),
    spec("hscan", -3, 0, collection_scan),
    spec("zscan", -3, 0, collection_scan),
];

/// MATCH / COUNT / TYPE options.
struct Options {
    pattern: Option<Bytes>,
    count: usize,
    kind: Option<String>,
}

/// Redis's `parseScanCursorOrReply`: an unsigned 64-bit cursor (`strtoull` semantics).
fn cursor(arg: &[u8]) -> Result<u64, Frame> {
    let text = std::str::from_utf8(arg).ok();
    let parsed = text.and_then(|t| {
        t.parse::<u64>()
            .ok()
            .or_else(|| t.parse::<i64>().ok().map(|n| n as u64))
    });
    parsed.ok_or_else(|| Frame::error("ERR invalid cursor"))
}

fn options(args: &[Bytes], allow_type: bool) -> Result<Options, Frame> {
    let mut o = Options {
        pattern: None,
        count: 10,
        kind: None,
    };
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).ok_or_else(err::syntax)?;
        match upper(&args[i]).as_str() {
            "MATCH" => o.pattern = Some(value.clone()),
            "COUNT" => {
                let n = int(value)?;
                if n < 1 {
                    return Err(err::syntax());
                }
                o.count = n as usize;
            }
            "TYPE" if allow_type => {
                o.kind = Some(String::from_utf8_lossy(value).to_ascii_lowercase())
            }
            _ => return Err(err::syntax()),
        }
        i += 2;
    }
    Ok(o)
}

fn matches(o: &Options, item: &[u8]) -> bool {
    o.pattern
        .as_ref()
        .is_none_or(|p| p.as_ref() == b"*" || glob::matches(p, item, false))
}

fn reply(next: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(next.to_string())),
        Frame::Array(items),
    ])
}

fn scan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let start = cursor(&args[1])?;
    let o = options(&args[2..], true)?;
    let now = ctx.now;
    let mut found = Vec::new();
    let next = ctx.db().scan(
        usize::try_from(start).unwrap_or(usize::MAX),
        o.count,
        now,
        &mut found,
    );
    let keys = found
        .into_iter()
        .filter(|(k, t)| matches(&o, k) && o.kind.as_ref().is_none_or(|want| want == t))
        .map(|(k, _)| Frame::Bulk(k))
        .collect();
    Ok(reply(next as u64, keys))
}

fn collection_scan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    cursor(&args[2])?;
    let which = upper(&args[0]);
    let pick: fn(&Value) -> Option<&Value> = match which.as_str() {
        "SSCAN" => |v| v.as_set().map(|_| v),
        "HSCAN" => |v| v.as_hash().map(|_| v),
        _ => |v| v.as_zset().map(|_| v),
    };
    let value = read(ctx, &args[1], pick)?.cloned();
    let o = options(&args[3..], false)?;
    let items: Vec<Frame> = match value {
        None => Vec::new(),
        Some(Value::Set(s)) => {
            super::sets::ordered(&s, ctx.state.config.get_int("set-max-intset-entries"))
                .into_iter()
                .filter(|m| matches(&o, m))
                .map(|m| Frame::Bulk(m.clone()))
                .collect()
        }
        Some(Value::Hash(h)) => h
            .iter()
            .filter(|(f, _)| matches(&o, f))
            .flat_map(|(f, v)| [Frame::Bulk(f.clone()), Frame::Bulk(v.clone())])
            .collect(),
        Some(Value::ZSet(z)) => z
            .iter()
            .filter(|(m, _)| matches(&o, m))
            .flat_map(|(m, s)| [Frame::Bulk(m.clone()), Frame::Double(s)])
            .collect(),
        Some(_) => return Err(err::wrong_type()),
    };
    Ok(reply(0, items))
}
