//! GEO commands (Redis 7.0's `geo.c`): GEO sets are sorted sets whose scores are 52-bit
//! geohashes.
//!
//! Layout:
//! - here: the table, GEOADD (ZADD with geohash scores, run through ZADD's handler),
//!   GEOPOS, GEODIST, GEOHASH, and Redis's argument helpers and reply formats.
//! - `query`: GEOSEARCH, GEOSEARCHSTORE and the GEORADIUS family (`georadiusGeneric`).
//! - `search`: the nine-cell area search; `hash`: geohash encoding, decoding and
//!   neighbours; `distance`: haversine distance, shape tests, steps by radius.

mod distance;
mod hash;
mod query;
mod search;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{float, read, upper};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::db::zset::ZSet;
use crate::db::Value;
use crate::reply::err;

const W: u32 = WRITE | DENYOOM;

pub const COMMANDS: &[Spec] = &[
    spec("geoadd", -5, W, geoadd),
    spec("geopos", -2, 0, geopos),
    spec("geodist", -4, 0, geodist),
    spec("geohash", -2, 0, geohash),
    spec("georadius", -6, W, query::georadius),
    spec("georadius_ro", -6, 0, query::georadius),
    spec("georadiusbymember", -5, W, query::georadius),
    spec("georadiusbymember_ro", -5, 0, query::georadius),
    spec("geosearch", -7, 0, query::georadius),
    spec("geosearchstore", -8, W, query::georadius),
];

fn zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a ZSet>, Frame> {
    read(ctx, key, Value::as_zset)
}

/// `extractLongLatOrReply`: a longitude and a latitude within Redis's limits.
fn lon_lat(args: &[Bytes]) -> Result<[f64; 2], Frame> {
    let xy = [float(&args[0])?, float(&args[1])?];
    let long_ok = (hash::LONG_MIN..=hash::LONG_MAX).contains(&xy[0]);
    let lat_ok = (hash::LAT_MIN..=hash::LAT_MAX).contains(&xy[1]);
    if !long_ok || !lat_ok {
        return Err(Frame::error(format!(
            "ERR invalid longitude,latitude pair {},{}",
            c_f(xy[0]),
            c_f(xy[1])
        )));
    }
    Ok(xy)
}

/// C's `%f`.
fn c_f(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    format!("{v:.6}")
}

/// `extractUnitOrReply`: meters per unit.
fn unit(arg: &[u8]) -> Result<f64, Frame> {
    match upper(arg).as_str() {
        "M" => Ok(1.0),
        "KM" => Ok(1000.0),
        "FT" => Ok(0.3048),
        "MI" => Ok(1609.34),
        _ => Err(Frame::error(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// `addReplyDoubleDistance`: `%.4f`, as a bulk string in every protocol.
fn distance_reply(d: f64) -> Frame {
    Frame::Bulk(Bytes::from(format!("{d:.4}")))
}

/// `ld2string(…, LD_STR_HUMAN)` of a double: `%.17Lf` without trailing zeros.
fn human(v: f64) -> String {
    let mut text = format!("{v:.17}");
    if text.contains('.') {
        let kept = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(kept);
    }
    if text == "-0" {
        text = "0".to_owned();
    }
    text
}

/// `addReplyHumanLongDouble`: a bulk string in RESP2. RESP3 gets a double (Redis sends
/// the same `%.17Lf` text after `,`, which a `Frame::Double` cannot carry).
fn coordinate(v: f64, resp: u8) -> Frame {
    if resp >= 3 {
        Frame::Double(v)
    } else {
        Frame::Bulk(Bytes::from(human(v)))
    }
}

fn position(xy: [f64; 2], resp: u8) -> Frame {
    Frame::Array(vec![coordinate(xy[0], resp), coordinate(xy[1], resp)])
}

/// GEOADD key [NX|XX] [CH] longitude latitude member …: ZADD with geohash scores (also
/// propagated as that ZADD, like Redis's `replaceClientCommandVector`).
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (mut nx, mut xx, mut first) = (false, false, 2);
    while first < args.len() {
        match upper(&args[first]).as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "CH" => {}
            _ => break,
        }
        first += 1;
    }
    if !(args.len() - first).is_multiple_of(3) || (nx && xx) {
        return Err(err::syntax());
    }
    let mut zadd = vec![Bytes::from_static(b"zadd")];
    zadd.extend_from_slice(&args[1..first]);
    for point in args[first..].chunks(3) {
        let [x, y] = lon_lat(point)?;
        let score = hash::score_of(x, y).unwrap_or(0);
        zadd.push(Bytes::from(score.to_string()));
        zadd.push(point[2].clone());
    }
    let spec = super::lookup(b"zadd").ok_or_else(err::syntax)?;
    let reply = (spec.handler)(ctx, &zadd);
    ctx.propagate_as(zadd);
    reply
}

/// Each member's decoded position, or `None`.
fn positions(ctx: &mut Ctx, key: &[u8], members: &[Bytes]) -> Result<Vec<Option<[f64; 2]>>, Frame> {
    let z = zset(ctx, key)?;
    Ok(members
        .iter()
        .map(|m| z.and_then(|z| z.score(m)).and_then(hash::decode_score))
        .collect())
}

fn geopos(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let resp = ctx.client.resp;
    let found = positions(ctx, &args[1], &args[2..])?;
    Ok(Frame::Array(
        found
            .into_iter()
            .map(|xy| xy.map_or(Frame::NullArray, |xy| position(xy, resp)))
            .collect(),
    ))
}

fn geohash(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let found = positions(ctx, &args[1], &args[2..])?;
    Ok(Frame::Array(
        found
            .into_iter()
            .map(|xy| {
                xy.and_then(hash::standard_text)
                    .map_or(Frame::NullBulk, |t| Frame::Bulk(Bytes::copy_from_slice(&t)))
            })
            .collect(),
    ))
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let to_meter = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(err::syntax()),
    };
    let Some(z) = zset(ctx, &args[1])? else {
        return Ok(Frame::NullBulk);
    };
    let at = |m: &Bytes| z.score(m).and_then(hash::decode_score);
    Ok(match (at(&args[2]), at(&args[3])) {
        (Some(a), Some(b)) => distance_reply(distance::distance(a[0], a[1], b[0], b[1]) / to_meter),
        _ => Frame::NullBulk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_redis() {
        assert_eq!(human(13.361389338970184), "13.36138933897018433");
        assert_eq!(human(-0.0), "0");
        assert_eq!(human(180.0), "180");
        assert_eq!(c_f(200.0), "200.000000");
        assert_eq!(c_f(f64::NEG_INFINITY), "-inf");
        assert_eq!(
            distance_reply(190.44242).to_owned(),
            Frame::Bulk("190.4424".into())
        );
    }
}
