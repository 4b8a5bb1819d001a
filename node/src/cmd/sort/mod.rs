//! SORT and SORT_RO, as Redis 7.0's `sortCommandGeneric` (`sort.c`): lists, sets and
//! sorted sets sorted numerically or with ALPHA, by the elements or by `BY` pattern keys,
//! with `LIMIT`, `GET` patterns, `ASC`/`DESC` and (SORT only) `STORE` into a list.
//!
//! What makes the output byte-exact with Redis:
//! - numeric weights are read like C's `strtod` (leading blanks, hex floats, up to a NUL
//!   byte; a missing `BY` key weighs 0) and ties are broken by the elements' bytes;
//! - ALPHA compares like `strcoll` in the C locale (bytes, up to the first NUL) unless the
//!   result is STOREd (then whole binary strings, Redis's `compareStringObjects`);
//! - a full sort is stable (glibc's `qsort` is a merge sort), a `BY` + `LIMIT` sort is
//!   Redis's own partial quicksort (`pqsort.c`), ported in [`pqsort`] so that ties land
//!   where Redis puts them;
//! - `BY nosort` keeps lists' and sorted sets' own order (DESC reverses it) and takes the
//!   LIMIT range directly; a set keeps its order (an intset's is ascending) unless the
//!   result is STOREd, when it is sorted ALPHA for determinism;
//! - a listpack sorted set is converted to a skiplist, as Redis's `zsetConvert` does.

mod pqsort;
mod strtod;

use std::cmp::Ordering;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{int, is};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::db::zset::{Limits, ZSet};
use crate::db::{parse_i64, Entry, Value};
use crate::reply::{bulk, err, int as integer};
use pqsort::pqsort;
use strtod::{c_str, c_strtod};

pub const COMMANDS: &[Spec] = &[
    spec("sort", -2, WRITE | DENYOOM, sort),
    spec("sort_ro", -2, 0, sort_ro),
];

fn sort(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    generic(ctx, args, true)
}

/// One element to sort (Redis's `redisSortObject`).
struct Item {
    obj: Bytes,
    score: f64,
    by: Option<Bytes>,
}

/// How elements compare (Redis's `server.sort_*` globals).
#[derive(Clone, Copy)]
struct Mode {
    desc: bool,
    alpha: bool,
    by_pattern: bool,
    store: bool,
}

/// Redis's `sortCompare`.
fn compare(mode: Mode, a: &Item, b: &Item) -> Ordering {
    let text = |x: &[u8], y: &[u8]| {
        if mode.store {
            x.cmp(y)
        } else {
            c_str(x).cmp(c_str(y))
        }
    };
    let cmp = if !mode.alpha {
        if a.score > b.score {
            Ordering::Greater
        } else if a.score < b.score {
            Ordering::Less
        } else {
            a.obj[..].cmp(&b.obj[..])
        }
    } else if mode.by_pattern {
        match (&a.by, &b.by) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => text(x, y),
        }
    } else {
        text(&a.obj, &b.obj)
    };
    if mode.desc {
        cmp.reverse()
    } else {
        cmp
    }
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is
/// replaced by the element, and a `->field` suffix reads a hash field. `None` when there
/// is no `*`, the key is missing or of the wrong type, or the field is absent.
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], subst: &Bytes) -> Option<Bytes> {
    if pattern.first() == Some(&b'#') && matches!(pattern.get(1), None | Some(0)) {
        return Some(subst.clone());
    }
    let text = c_str(pattern);
    let star = text.iter().position(|&b| b == b'*')?;
    let arrow = text[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|at| star + 1 + at)
        .filter(|&at| at + 2 < text.len());
    let (key_end, field) = match arrow {
        Some(at) => (at, Some(&pattern[at + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(key_end + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let now = ctx.now;
    let value = &ctx.db().get(&key, now)?.value;
    match field {
        Some(field) => value.as_hash()?.get(field).cloned(),
        None => value.as_str().cloned(),
    }
}

/// The source's kind.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// Reads the source key: its kind and elements (a set's in its iteration order, an
/// intset's ascending; a sorted set's by score). A listpack sorted set becomes a skiplist.
fn source(ctx: &mut Ctx, key: &[u8]) -> Result<(Kind, Vec<Bytes>), Frame> {
    let now = ctx.now;
    let max_intset = ctx.state.config.get_int("set-max-intset-entries");
    let Some(entry) = ctx.db().entry_mut_unflagged(key, now) else {
        return Ok((Kind::List, Vec::new()));
    };
    match &mut entry.value {
        Value::List(l) => Ok((Kind::List, l.iter().cloned().collect())),
        Value::Set(s) => {
            let ints: Option<Vec<i64>> = s.iter().map(|m| parse_i64(m)).collect();
            match ints {
                Some(mut ints) if ints.len() as i64 <= max_intset => {
                    ints.sort_unstable();
                    let items = ints.iter().map(|n| Bytes::from(n.to_string())).collect();
                    Ok((Kind::Set, items))
                }
                _ => Ok((Kind::Set, s.iter().cloned().collect())),
            }
        }
        Value::ZSet(z) => {
            if !z.is_skiplist() {
                let items: Vec<(Bytes, f64)> = z.iter().map(|(m, s)| (m.clone(), s)).collect();
                let limits = Limits {
                    entries: 0,
                    value: 0,
                };
                **z = ZSet::build(items, limits);
            }
            Ok((Kind::ZSet, z.iter().map(|(m, _)| m.clone()).collect()))
        }
        _ => Err(err::wrong_type()),
    }
}

fn generic(ctx: &mut Ctx, args: &[Bytes], readonly: bool) -> Reply {
    let (mut desc, mut alpha, mut dontsort) = (false, false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut sortby: Option<&Bytes> = None;
    let mut store: Option<&Bytes> = None;
    let mut gets: Vec<&Bytes> = Vec::new();
    let cluster = ctx.state.cluster.is_some();
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let arg = &args[j];
        if is(arg, "asc") {
            desc = false;
        } else if is(arg, "desc") {
            desc = true;
        } else if is(arg, "alpha") {
            alpha = true;
        } else if is(arg, "limit") && left >= 2 {
            limit_start = int(&args[j + 1])?;
            limit_count = int(&args[j + 2])?;
            j += 2;
        } else if !readonly && is(arg, "store") && left >= 1 {
            store = Some(&args[j + 1]);
            j += 1;
        } else if is(arg, "by") && left >= 1 {
            sortby = Some(&args[j + 1]);
            if !c_str(&args[j + 1]).contains(&b'*') {
                dontsort = true;
            } else if cluster {
                return Err(Frame::error(
                    "ERR BY option of SORT denied in Cluster mode.",
                ));
            }
            j += 1;
        } else if is(arg, "get") && left >= 1 {
            if cluster {
                return Err(Frame::error(
                    "ERR GET option of SORT denied in Cluster mode.",
                ));
            }
            gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(err::syntax());
        }
        j += 1;
    }

    let (kind, elements) = source(ctx, &args[1])?;
    // A set has no order of its own: sort it when the result is kept.
    if dontsort && kind == Kind::Set && store.is_some() {
        dontsort = false;
        alpha = true;
        sortby = None;
    }

    // LIMIT sanity checks, as Redis does them.
    let len = elements.len() as i64;
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 {
        len - 1
    } else {
        start.saturating_add(limit_count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }

    let item = |obj: Bytes| Item {
        obj,
        score: 0.0,
        by: None,
    };
    let mut vector: Vec<Item>;
    if dontsort && kind != Kind::Set {
        // Natural order (DESC reversed), the LIMIT range taken directly.
        vector = Vec::new();
        if end >= start {
            let count = (end - start + 1) as usize;
            let skip = start as usize;
            vector = if desc {
                elements
                    .into_iter()
                    .rev()
                    .skip(skip)
                    .take(count)
                    .map(item)
                    .collect()
            } else {
                elements
                    .into_iter()
                    .skip(skip)
                    .take(count)
                    .map(item)
                    .collect()
            };
            end -= start;
            start = 0;
        }
    } else {
        vector = elements.into_iter().map(item).collect();
    }

    let mut conversion_error = false;
    if !dontsort {
        for it in &mut vector {
            let by = match sortby {
                Some(pattern) => match lookup_by_pattern(ctx, pattern, &it.obj) {
                    Some(value) => value,
                    None => continue,
                },
                None => it.obj.clone(),
            };
            if alpha {
                if sortby.is_some() {
                    it.by = Some(by);
                }
            } else {
                match c_strtod(&by) {
                    Some(score) => it.score = score,
                    None => {
                        // Redis keeps whatever `strtod` made of it; the reply is an error.
                        conversion_error = true;
                    }
                }
            }
        }
        let mode = Mode {
            desc,
            alpha,
            by_pattern: sortby.is_some(),
            store: store.is_some(),
        };
        let cmp = |a: &Item, b: &Item| compare(mode, a, b);
        let n = vector.len() as i64;
        if sortby.is_some() && (start != 0 || end != n - 1) {
            pqsort(&mut vector, &cmp, start, end);
        } else {
            vector.sort_by(cmp);
        }
    }

    if conversion_error {
        return Err(Frame::error(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let range: Vec<Bytes> = if end >= start {
        vector[start as usize..=end as usize]
            .iter()
            .map(|it| it.obj.clone())
            .collect()
    } else {
        Vec::new()
    };

    let Some(dst) = store else {
        let mut out = Vec::with_capacity(range.len() * gets.len().max(1));
        for obj in &range {
            if gets.is_empty() {
                out.push(bulk(obj));
            }
            for pattern in &gets {
                out.push(lookup_by_pattern(ctx, pattern, obj).map_or(Frame::NullBulk, Frame::Bulk));
            }
        }
        return Ok(Frame::Array(out));
    };

    let mut list = std::collections::VecDeque::new();
    for obj in &range {
        if gets.is_empty() {
            list.push_back(obj.clone());
        }
        for pattern in &gets {
            list.push_back(lookup_by_pattern(ctx, pattern, obj).unwrap_or_default());
        }
    }
    let stored = list.len();
    if stored > 0 {
        ctx.db()
            .insert(dst, Entry::new(Value::List(Box::new(list))));
        ctx.changed(stored as u64);
        ctx.signal_ready(dst);
    } else if ctx.db().remove(dst).is_some() {
        ctx.changed(1);
    }
    Ok(integer(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pqsort_sorts_the_range() {
        let items: Vec<i64> = (0..100).map(|i| (i * 37) % 101).collect();
        let mut v: Vec<Item> = items
            .iter()
            .map(|&n| Item {
                obj: Bytes::new(),
                score: n as f64,
                by: None,
            })
            .collect();
        let cmp = |a: &Item, b: &Item| a.score.partial_cmp(&b.score).unwrap();
        pqsort(&mut v, &cmp, 10, 19);
        let mut sorted = items.clone();
        sorted.sort();
        let got: Vec<i64> = v[10..20].iter().map(|i| i.score as i64).collect();
        assert_eq!(got, sorted[10..20]);
    }
}
