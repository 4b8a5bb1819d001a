//! LCS: the longest common subsequence of two strings, ported from Redis 7.0's
//! `lcsCommand` — the same dynamic-programming table, the same backward walk, so the
//! string, `LEN` and the `IDX` ranges (with `MINMATCHLEN` / `WITHMATCHLEN`) come out in
//! Redis's order and shape (a map in RESP3, a flat array in RESP2).

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{int, upper};
use super::{spec, Ctx, Reply, Spec};
use crate::db::Value;
use crate::reply::{err, int as integer};

pub const COMMANDS: &[Spec] = &[spec("lcs", -3, 0, lcs)];

/// The options after the two keys.
#[derive(Default)]
struct Options {
    idx: bool,
    len: bool,
    with_match_len: bool,
    min_match_len: u64,
}

fn parse(args: &[Bytes]) -> Result<Options, Frame> {
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        match upper(&args[i]).as_str() {
            "IDX" => o.idx = true,
            "LEN" => o.len = true,
            "WITHMATCHLEN" => o.with_match_len = true,
            "MINMATCHLEN" if i + 1 < args.len() => {
                o.min_match_len = int(&args[i + 1])?.max(0) as u64;
                i += 1;
            }
            _ => return Err(err::syntax()),
        }
        i += 1;
    }
    if o.idx && o.len {
        return Err(Frame::error(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(o)
}

/// The string at `key` for LCS: empty when absent; `None` when it holds another type.
fn operand(ctx: &mut Ctx, key: &[u8]) -> Option<Bytes> {
    let now = ctx.now;
    match ctx.db().get(key, now).map(|e| &e.value) {
        None => Some(Bytes::new()),
        Some(Value::Str(s) | Value::RawStr(s)) => Some(s.clone()),
        Some(_) => None,
    }
}

fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (Some(a), Some(b)) = (operand(ctx, &args[1]), operand(ctx, &args[2])) else {
        return Err(Frame::error(
            "ERR The specified keys must contain string values",
        ));
    };
    let o = parse(&args[3..])?;
    let table = Table::build(&a, &b)?;
    let total = table.at(a.len(), b.len());
    if o.len {
        return Ok(integer(total));
    }
    let walk = table.walk(&a, &b, &o);
    if !o.idx {
        return Ok(Frame::Bulk(Bytes::from(walk.common)));
    }
    Ok(Frame::Map(vec![
        (
            Frame::Bulk(Bytes::from_static(b"matches")),
            Frame::Array(walk.ranges),
        ),
        (Frame::Bulk(Bytes::from_static(b"len")), integer(total)),
    ]))
}

/// `LCS(i, j)`: the LCS length of `a[..i]` and `b[..j]`, row-major.
struct Table {
    cells: Vec<u32>,
    width: usize,
}

/// What the backward walk produces: the common string and the `IDX` ranges.
struct Walk {
    common: Vec<u8>,
    ranges: Vec<Frame>,
}

impl Table {
    fn build(a: &[u8], b: &[u8]) -> Result<Table, Frame> {
        if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
            return Err(Frame::error("ERR String too long for LCS"));
        }
        let width = b.len() + 1;
        let size = (a.len() + 1).checked_mul(width);
        let mut cells = Vec::new();
        if size.is_none_or(|n| cells.try_reserve_exact(n).is_err()) {
            return Err(Frame::error(
                "ERR Insufficient memory, failed allocating transient memory for LCS",
            ));
        }
        cells.resize(size.unwrap_or(0), 0u32);
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
            }
        }
        Ok(Table { cells, width })
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Redis's walk from the bottom-right corner: matches are collected backwards, and a
    /// range of contiguous matches is emitted when it ends (or reaches either start).
    fn walk(&self, a: &[u8], b: &[u8], o: &Options) -> Walk {
        let mut common = vec![0u8; self.at(a.len(), b.len()) as usize];
        let mut ranges = Vec::new();
        let mut idx = common.len();
        // `None` plays Redis's `arange_start == alen`: no range open.
        let mut range: Option<[usize; 4]> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                common[idx - 1] = a[i - 1];
                match range.as_mut() {
                    None => range = Some([i - 1, i - 1, j - 1, j - 1]),
                    Some(r) if r[0] == i && r[2] == j => {
                        r[0] -= 1;
                        r[2] -= 1;
                    }
                    Some(_) => emit = true,
                }
                if range.is_some_and(|r| r[0] == 0 || r[2] == 0) {
                    emit = true;
                }
                idx -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = range.is_some();
            }
            if let (true, Some([a0, a1, b0, b1])) = (emit, range) {
                let match_len = (a1 - a0 + 1) as u64;
                if o.idx && match_len >= o.min_match_len {
                    let pair = |x: usize, y: usize| Frame::Array(vec![integer(x), integer(y)]);
                    let mut item = vec![pair(a0, a1), pair(b0, b1)];
                    if o.with_match_len {
                        item.push(integer(match_len));
                    }
                    ranges.push(Frame::Array(item));
                }
                range = None;
            }
        }
        Walk { common, ranges }
    }
}
