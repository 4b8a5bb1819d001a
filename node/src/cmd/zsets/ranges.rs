//! Ranges over a sorted set: by rank, by score (`1.5`, `(1.5`, `-inf`, `+inf`) and by
//! member (`[a`, `(a`, `-`, `+`), with Redis's parsing, walking and error texts. Serves
//! ZCOUNT, ZLEXCOUNT, ZRANGE and its legacy forms, ZRANGESTORE and ZREMRANGEBY*.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::{store, with_scores, zset, Ctx, Reply};
use crate::cmd::args::{int, is, upper, write};
use crate::cmd::lists::range as rank_range;
use crate::db::zset::ZSet;
use crate::db::Value;
use crate::reply::{err, int as integer};

/// Members with their scores, in some order.
type Members<'a> = Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a>;

/// One end of a lex range.
#[derive(Clone, PartialEq)]
enum Lex {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[m` (inclusive) or `(m` (exclusive).
    Member(Bytes, bool),
}

impl Lex {
    /// Redis's `zslParseLexRangeItem`.
    fn parse(arg: &[u8]) -> Option<Lex> {
        let alone = arg.get(1).is_none_or(|b| *b == 0);
        match arg.first()? {
            b'-' if alone => Some(Lex::Min),
            b'+' if alone => Some(Lex::Max),
            b'[' => Some(Lex::Member(Bytes::copy_from_slice(&arg[1..]), false)),
            b'(' => Some(Lex::Member(Bytes::copy_from_slice(&arg[1..]), true)),
            _ => None,
        }
    }

    /// Position for comparing two ends (`-` < members < `+`), and exclusiveness.
    fn key(&self) -> ((u8, &[u8]), bool) {
        match self {
            Lex::Min => ((0, &[]), true),
            Lex::Max => ((2, &[]), true),
            Lex::Member(m, ex) => ((1, m), *ex),
        }
    }
}

/// A score or lex interval; `min`/`max` tests mirror Redis's `…GteMin` / `…LteMax`.
enum Interval {
    Score {
        min: f64,
        min_ex: bool,
        max: f64,
        max_ex: bool,
    },
    Lex {
        min: Lex,
        max: Lex,
    },
}

impl Interval {
    /// Redis's `zslParseRange`: `(` marks an exclusive end, the rest is `strtod`'s.
    fn scores(min: &[u8], max: &[u8]) -> Result<Interval, Frame> {
        let end = |arg: &[u8]| {
            let (text, ex) = match arg.strip_prefix(b"(") {
                Some(rest) => (rest, true),
                None => (arg, false),
            };
            strtod(text)
                .map(|v| (v, ex))
                .ok_or_else(|| Frame::error("ERR min or max is not a float"))
        };
        let ((min, min_ex), (max, max_ex)) = (end(min)?, end(max)?);
        Ok(Interval::Score {
            min,
            min_ex,
            max,
            max_ex,
        })
    }

    fn lex(min: &[u8], max: &[u8]) -> Result<Interval, Frame> {
        let bad = || Frame::error("ERR min or max not valid string range item");
        Ok(Interval::Lex {
            min: Lex::parse(min).ok_or_else(bad)?,
            max: Lex::parse(max).ok_or_else(bad)?,
        })
    }

    /// Holds nothing by construction (min above max, or equal ends with one exclusive).
    fn is_empty(&self) -> bool {
        let (order, exclusive) = match self {
            Interval::Score {
                min,
                min_ex,
                max,
                max_ex,
            } => (min.partial_cmp(max), *min_ex || *max_ex),
            Interval::Lex { min, max } => {
                let ((a, a_ex), (b, b_ex)) = (min.key(), max.key());
                (Some(a.cmp(&b)), a_ex || b_ex)
            }
        };
        match order {
            Some(std::cmp::Ordering::Greater) | None => true,
            Some(std::cmp::Ordering::Equal) => exclusive,
            Some(std::cmp::Ordering::Less) => false,
        }
    }

    fn above_min(&self, member: &[u8], score: f64) -> bool {
        match self {
            Interval::Score { min, min_ex, .. } => {
                if *min_ex {
                    score > *min
                } else {
                    score >= *min
                }
            }
            Interval::Lex { min, .. } => match min {
                Lex::Min => true,
                Lex::Max => false,
                Lex::Member(m, true) => member > &m[..],
                Lex::Member(m, false) => member >= &m[..],
            },
        }
    }

    fn below_max(&self, member: &[u8], score: f64) -> bool {
        match self {
            Interval::Score { max, max_ex, .. } => {
                if *max_ex {
                    score < *max
                } else {
                    score <= *max
                }
            }
            Interval::Lex { max, .. } => match max {
                Lex::Min => false,
                Lex::Max => true,
                Lex::Member(m, true) => member < &m[..],
                Lex::Member(m, false) => member <= &m[..],
            },
        }
    }

    /// The members in the interval, walked like Redis: from the first member past the
    /// near end while the far end holds (ascending, or descending when `rev`).
    fn walk<'a>(&'a self, z: &'a ZSet, rev: bool) -> Members<'a> {
        if self.is_empty() {
            return Box::new(std::iter::empty());
        }
        // Scores are ordered, so a score walk starts at its near end's score.
        let (up, down): (Members<'a>, Members<'a>) = match self {
            Interval::Score { min, max, .. } => (
                Box::new(z.from_score(*min)),
                Box::new(z.down_from_score(*max)),
            ),
            // So are members when they share one score (the usual lex-range set).
            Interval::Lex { min, max } => {
                let score = z.single_score();
                let up: Members<'a> = match (score, min) {
                    (Some(s), Lex::Member(m, _)) => Box::new(z.from_entry(s, m)),
                    _ => Box::new(z.iter()),
                };
                let down: Members<'a> = match (score, max) {
                    (Some(s), Lex::Member(m, _)) => Box::new(z.down_from_entry(s, m)),
                    _ => Box::new(z.iter().rev()),
                };
                (up, down)
            }
        };
        if rev {
            Box::new(
                down.skip_while(|(m, s)| !self.below_max(m, *s))
                    .take_while(|(m, s)| self.above_min(m, *s)),
            )
        } else {
            Box::new(
                up.skip_while(|(m, s)| !self.above_min(m, *s))
                    .take_while(|(m, s)| self.below_max(m, *s)),
            )
        }
    }
}

/// C's `strtod` over the whole argument, as `zslParseRange` uses it: leading blanks are
/// skipped, an empty text is 0, `inf`/`infinity` any case, hex floats, overflow is ±inf;
/// trailing garbage and NaN are refused.
fn strtod(text: &[u8]) -> Option<f64> {
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(text.len());
    if text.is_empty() {
        return Some(0.0);
    }
    let rest = std::str::from_utf8(&text[start..])
        .ok()?
        .to_ascii_lowercase();
    let (negative, unsigned) = match rest.as_bytes().first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, &rest[..]),
    };
    let value = match unsigned.strip_prefix("0x") {
        Some(hex) => hex_float(hex)?,
        None if unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == 'i') => {
            unsigned.parse::<f64>().ok()?
        }
        None => return None,
    };
    Some(if negative { -value } else { value })
}

/// The digits of a C hex float after `0x`: `h[.h][p±d]`.
fn hex_float(text: &str) -> Option<f64> {
    let (mantissa, exp) = match text.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for c in whole.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}

pub fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let interval = Interval::scores(&args[2], &args[3])?;
    count(ctx, &args[1], &interval)
}

pub fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let interval = Interval::lex(&args[2], &args[3])?;
    count(ctx, &args[1], &interval)
}

fn count(ctx: &mut Ctx, key: &[u8], interval: &Interval) -> Reply {
    Ok(integer(
        zset(ctx, key)?.map_or(0, |z| interval.walk(z, false).count()),
    ))
}

/// What a ZRANGE-style command selects.
enum Select {
    /// Inclusive start and stop ranks (negative from the end).
    Rank(i64, i64),
    /// An interval, after skipping `offset` members, at most `limit` (negative: all).
    Within {
        interval: Interval,
        offset: i64,
        limit: i64,
    },
}

impl Select {
    fn items(&self, z: &ZSet, rev: bool) -> Vec<(Bytes, f64)> {
        let owned = |(m, s): (&Bytes, f64)| (m.clone(), s);
        match self {
            Select::Rank(start, stop) => {
                let Some((first, last)) = rank_range(*start, *stop, z.len()) else {
                    return Vec::new();
                };
                let taken = last - first + 1;
                if rev {
                    z.iter().rev().skip(first).take(taken).map(owned).collect()
                } else {
                    z.iter().skip(first).take(taken).map(owned).collect()
                }
            }
            Select::Within {
                interval,
                offset,
                limit,
            } => {
                if *offset < 0 || *offset > 0 && *offset as usize >= z.len() {
                    return Vec::new();
                }
                let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                interval
                    .walk(z, rev)
                    .skip(*offset as usize)
                    .take(limit)
                    .map(owned)
                    .collect()
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// Redis's `zrangeGenericCommand` for every form: ZRANGE (BYSCORE / BYLEX / REV / LIMIT /
/// WITHSCORES), ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX and ZRANGESTORE.
pub fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = upper(&args[0]);
    let storing = name == "ZRANGESTORE";
    let (mut by, mut rev) = match name.as_str() {
        "ZRANGE" | "ZRANGESTORE" => (None, None),
        "ZREVRANGE" => (Some(By::Rank), Some(true)),
        "ZRANGEBYSCORE" => (Some(By::Score), Some(false)),
        "ZREVRANGEBYSCORE" => (Some(By::Score), Some(true)),
        "ZRANGEBYLEX" => (Some(By::Lex), Some(false)),
        _ => (Some(By::Lex), Some(true)),
    };
    let at = usize::from(storing) + 1;
    let (key, mut lo, mut hi) = (&args[at], &args[at + 1], &args[at + 2]);
    let (mut scores, mut offset, mut limit) = (false, 0, -1);
    let mut i = at + 3;
    while i < args.len() {
        let word = &args[i];
        if !storing && is(word, "withscores") {
            scores = true;
        } else if is(word, "limit") && i + 2 < args.len() {
            offset = int(&args[i + 1])?;
            limit = int(&args[i + 2])?;
            i += 2;
        } else if rev.is_none() && is(word, "rev") {
            rev = Some(true);
        } else if by.is_none() && is(word, "bylex") {
            by = Some(By::Lex);
        } else if by.is_none() && is(word, "byscore") {
            by = Some(By::Score);
        } else {
            return Err(err::syntax());
        }
        i += 1;
    }
    let (by, rev) = (by.unwrap_or(By::Rank), rev.unwrap_or(false));
    if limit != -1 && by == By::Rank {
        return Err(Frame::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if scores && by == By::Lex {
        return Err(Frame::error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && by != By::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let select = match by {
        By::Rank => Select::Rank(int(lo)?, int(hi)?),
        By::Score => Select::Within {
            interval: Interval::scores(lo, hi)?,
            offset,
            limit,
        },
        By::Lex => Select::Within {
            interval: Interval::lex(lo, hi)?,
            offset,
            limit,
        },
    };
    let items = zset(ctx, key)?.map_or_else(Vec::new, |z| select.items(z, rev));
    if storing {
        return store(ctx, &args[1], items);
    }
    let resp = ctx.client.resp;
    Ok(with_scores(items, scores, resp))
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key a b.
pub fn zremrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (a, b) = (&args[2], &args[3]);
    let select = match upper(&args[0]).as_str() {
        "ZREMRANGEBYRANK" => Select::Rank(int(a)?, int(b)?),
        name => Select::Within {
            interval: if name == "ZREMRANGEBYSCORE" {
                Interval::scores(a, b)?
            } else {
                Interval::lex(a, b)?
            },
            offset: 0,
            limit: -1,
        },
    };
    let doomed = zset(ctx, &args[1])?.map_or_else(Vec::new, |z| select.items(z, false));
    if doomed.is_empty() {
        return Ok(integer(0));
    }
    if let Some(z) = write(ctx, &args[1], Value::as_zset_mut)? {
        for (member, _) in &doomed {
            z.remove(member);
        }
    }
    ctx.db().remove_if_empty(&args[1]);
    ctx.changed(doomed.len() as u64);
    Ok(integer(doomed.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_like_c() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 1.5"), Some(1.5));
        assert_eq!(strtod(b"1.5 "), None);
        assert_eq!(strtod(b"  "), None);
        assert_eq!(strtod(b"-INF"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(strtod(b"1e400"), Some(f64::INFINITY));
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b".5"), Some(0.5));
    }

    #[test]
    fn lex_ends_like_redis() {
        assert!(Lex::parse(b"-") == Some(Lex::Min));
        assert!(Lex::parse(b"+\x00x") == Some(Lex::Max));
        assert!(Lex::parse(b"+a").is_none());
        assert!(Lex::parse(b"a").is_none());
        assert!(Lex::parse(b"").is_none());
        let empty = Interval::lex(b"(a", b"[a").unwrap_or_else(|_| unreachable!());
        assert!(empty.is_empty());
        let all = Interval::lex(b"-", b"+").unwrap_or_else(|_| unreachable!());
        assert!(!all.is_empty());
    }
}
