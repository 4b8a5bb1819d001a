//! GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their `_RO` forms: Redis
//! 7.0's `georadiusGeneric`, with its argument order, its checks in its order and its
//! error texts, then the search, the sort by distance and the reply or the stored set.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::search::{self, Kind, Point, Shape};
use super::{distance_reply, float, hash, lon_lat, position, unit, zset, Ctx, Reply};
use crate::cmd::args::{int, upper};
use crate::db::zset::{Limits, ZSet};
use crate::db::{Entry, Value};
use crate::reply::{err, int as integer};

/// Which command runs (Redis's `RADIUS_*` / `GEOSEARCH*` flags).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Coords { store: bool },
    Member { store: bool },
    Search,
    SearchStore,
}

impl Mode {
    fn of(name: &[u8]) -> Mode {
        match upper(name).as_str() {
            "GEORADIUS" => Mode::Coords { store: true },
            "GEORADIUS_RO" => Mode::Coords { store: false },
            "GEORADIUSBYMEMBER" => Mode::Member { store: true },
            "GEORADIUSBYMEMBER_RO" => Mode::Member { store: false },
            "GEOSEARCHSTORE" => Mode::SearchStore,
            _ => Mode::Search,
        }
    }

    fn search(self) -> bool {
        matches!(self, Mode::Search | Mode::SearchStore)
    }

    /// Accepts `STORE key` / `STOREDIST key`.
    fn store_keys(self) -> bool {
        matches!(
            self,
            Mode::Coords { store: true } | Mode::Member { store: true }
        )
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// Everything the arguments say.
struct Query {
    xy: [f64; 2],
    kind: Kind,
    conversion: f64,
    store: Option<Bytes>,
    storedist: bool,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    count: usize,
    any: bool,
    frommember: bool,
    fromloc: bool,
    byradius: bool,
    bybox: bool,
}

/// `could not decode requested zset member`.
fn no_member() -> Frame {
    Frame::error("ERR could not decode requested zset member")
}

/// The member's position in the set.
fn member_xy(z: &ZSet, member: &[u8]) -> Result<[f64; 2], Frame> {
    z.score(member)
        .and_then(hash::decode_score)
        .ok_or_else(no_member)
}

/// `extractDistanceOrReply`: radius and meters per unit.
fn radius(args: &[Bytes]) -> Result<(f64, f64), Frame> {
    let r = float(&args[0]).map_err(|_| Frame::error("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(Frame::error("ERR radius cannot be negative"));
    }
    Ok((r, unit(&args[1])?))
}

/// `extractBoxOrReply`: width, height and meters per unit.
fn box_sizes(args: &[Bytes]) -> Result<(f64, f64, f64), Frame> {
    let w = float(&args[0]).map_err(|_| Frame::error("ERR need numeric width"))?;
    let h = float(&args[1]).map_err(|_| Frame::error("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(Frame::error("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(&args[2])?))
}

impl Query {
    fn new() -> Query {
        Query {
            xy: [0.0; 2],
            kind: Kind::Radius(0.0),
            conversion: 1.0,
            store: None,
            storedist: false,
            withdist: false,
            withhash: false,
            withcoord: false,
            sort: Sort::None,
            count: 0,
            any: false,
            frommember: false,
            fromloc: false,
            byradius: false,
            bybox: false,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            xy: self.xy,
            kind: self.kind,
            conversion: self.conversion,
        }
    }

    fn set_radius(&mut self, args: &[Bytes]) -> Result<(), Frame> {
        let (r, conversion) = radius(args)?;
        self.kind = Kind::Radius(r);
        self.conversion = conversion;
        Ok(())
    }

    /// The fixed arguments of each command; returns where the options start.
    fn fixed(&mut self, mode: Mode, z: Option<&ZSet>, args: &[Bytes]) -> Result<usize, Frame> {
        match mode {
            Mode::Coords { .. } => {
                self.xy = lon_lat(&args[2..4])?;
                self.set_radius(&args[4..6])?;
                Ok(6)
            }
            Mode::Member { .. } => {
                if let Some(z) = z {
                    self.xy = member_xy(z, &args[2])?;
                    self.set_radius(&args[3..5])?;
                }
                Ok(5)
            }
            Mode::Search => Ok(2),
            Mode::SearchStore => {
                self.store = Some(args[1].clone());
                Ok(3)
            }
        }
    }

    /// One option at `args[i]`; returns how many more arguments it took.
    fn option(
        &mut self,
        mode: Mode,
        z: Option<&ZSet>,
        args: &[Bytes],
        i: usize,
    ) -> Result<usize, Frame> {
        let left = args.len() - i - 1;
        let arg = upper(&args[i]);
        match arg.as_str() {
            "WITHDIST" => self.withdist = true,
            "WITHHASH" => self.withhash = true,
            "WITHCOORD" => self.withcoord = true,
            "ANY" => self.any = true,
            "ASC" => self.sort = Sort::Asc,
            "DESC" => self.sort = Sort::Desc,
            "COUNT" if left >= 1 => {
                let n = int(&args[i + 1])?;
                if n <= 0 {
                    return Err(Frame::error("ERR COUNT must be > 0"));
                }
                self.count = n as usize;
                return Ok(1);
            }
            "STORE" | "STOREDIST" if left >= 1 && mode.store_keys() => {
                self.store = Some(args[i + 1].clone());
                self.storedist = arg == "STOREDIST";
                return Ok(1);
            }
            "STOREDIST" if mode == Mode::SearchStore => self.storedist = true,
            _ if mode.search() => return self.search_option(&arg, z, &args[i + 1..]),
            _ => return Err(err::syntax()),
        }
        Ok(0)
    }

    /// GEOSEARCH's FROMMEMBER / FROMLONLAT / BYRADIUS / BYBOX; `rest` follows the word.
    fn search_option(
        &mut self,
        arg: &str,
        z: Option<&ZSet>,
        rest: &[Bytes],
    ) -> Result<usize, Frame> {
        match arg {
            "FROMMEMBER" if !rest.is_empty() && !self.fromloc => {
                if let Some(z) = z {
                    self.xy = member_xy(z, &rest[0])?;
                }
                self.frommember = true;
                Ok(1)
            }
            "FROMLONLAT" if rest.len() >= 2 && !self.frommember => {
                self.xy = lon_lat(rest)?;
                self.fromloc = true;
                Ok(2)
            }
            "BYRADIUS" if rest.len() >= 2 && !self.bybox => {
                self.set_radius(rest)?;
                self.byradius = true;
                Ok(2)
            }
            "BYBOX" if rest.len() >= 3 && !self.byradius => {
                let (width, height, conversion) = box_sizes(rest)?;
                self.kind = Kind::Box { width, height };
                self.conversion = conversion;
                self.bybox = true;
                Ok(3)
            }
            _ => Err(err::syntax()),
        }
    }

    /// The checks after the options, in Redis's order.
    fn validate(&self, mode: Mode, name: &Bytes) -> Result<(), Frame> {
        if self.store.is_some() && (self.withdist || self.withhash || self.withcoord) {
            let who = if mode == Mode::SearchStore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            };
            return Err(Frame::error(format!(
                "ERR {who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
            )));
        }
        let name = String::from_utf8_lossy(name);
        if mode.search() && !(self.frommember || self.fromloc) {
            return Err(Frame::error(format!(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
            )));
        }
        if mode.search() && !(self.byradius || self.bybox) {
            return Err(Frame::error(format!(
                "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
            )));
        }
        if self.any && self.count == 0 {
            return Err(Frame::error("ERR the ANY argument requires COUNT argument"));
        }
        Ok(())
    }

    /// Parses everything: fixed arguments, options, checks.
    fn parse(mode: Mode, z: Option<&ZSet>, args: &[Bytes]) -> Result<Query, Frame> {
        let mut q = Query::new();
        let mut i = q.fixed(mode, z, args)?;
        while i < args.len() {
            i += 1 + q.option(mode, z, args, i)?;
        }
        q.validate(mode, &args[0])?;
        Ok(q)
    }

    /// The search itself, sorted and cut to COUNT.
    fn run(&mut self, z: &ZSet) -> Vec<Point> {
        if self.count != 0 && self.sort == Sort::None && !self.any {
            self.sort = Sort::Asc;
        }
        let limit = if self.any { self.count } else { 0 };
        let mut found = search::members(z, &self.shape(), limit);
        // glibc's qsort is a stable merge sort.
        let by_dist = |a: &Point, b: &Point| {
            a.dist
                .partial_cmp(&b.dist)
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        match self.sort {
            Sort::Asc => found.sort_by(by_dist),
            Sort::Desc => found.sort_by(|a, b| by_dist(b, a)),
            Sort::None => {}
        }
        if self.count != 0 {
            found.truncate(self.count);
        }
        for p in &mut found {
            p.dist /= self.conversion;
        }
        found
    }

    /// One result in the reply: the member alone, or with what was asked.
    fn item(&self, p: Point, resp: u8) -> Frame {
        if !(self.withdist || self.withhash || self.withcoord) {
            return Frame::Bulk(p.member);
        }
        let mut parts = vec![Frame::Bulk(p.member)];
        if self.withdist {
            parts.push(distance_reply(p.dist));
        }
        if self.withhash {
            parts.push(integer(p.score as i64));
        }
        if self.withcoord {
            parts.push(position(p.xy, resp));
        }
        Frame::Array(parts)
    }
}

/// Every GEORADIUS* / GEOSEARCH* command.
pub fn georadius(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mode = Mode::of(&args[0]);
    let src = if mode == Mode::SearchStore { 2 } else { 1 };
    let resp = ctx.client.resp;
    let z = zset(ctx, &args[src])?;
    let mut q = Query::parse(mode, z, args)?;
    let found = z.map(|z| q.run(z));
    let Some(dst) = q.store.clone() else {
        let items = found.unwrap_or_default();
        return Ok(Frame::Array(
            items.into_iter().map(|p| q.item(p, resp)).collect(),
        ));
    };
    let items = found.unwrap_or_default();
    let stored: Vec<(Bytes, f64)> = items
        .into_iter()
        .map(|p| (p.member, if q.storedist { p.dist } else { p.score }))
        .collect();
    store(ctx, &dst, stored)
}

/// Stores the result under `dst` (an empty one deletes `dst`); replies its size.
fn store(ctx: &mut Ctx, dst: &Bytes, items: Vec<(Bytes, f64)>) -> Reply {
    if items.is_empty() {
        if ctx.db().remove(dst).is_some() {
            ctx.changed(1);
        }
        return Ok(integer(0));
    }
    let hot = ctx.state.config.hot();
    let limits = Limits {
        entries: hot.zset_max_listpack_entries,
        value: hot.zset_max_listpack_value,
    };
    let n = items.len();
    let result = ZSet::build(items, limits);
    ctx.db()
        .insert(dst, Entry::new(Value::ZSet(Box::new(result))));
    ctx.changed(n as u64);
    ctx.signal_ready(dst);
    Ok(integer(n))
}
