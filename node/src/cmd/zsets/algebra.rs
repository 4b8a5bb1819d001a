//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: Redis's
//! `zunionInterDiffGenericCommand`, with WEIGHTS, AGGREGATE SUM|MIN|MAX, plain sets as
//! inputs (every member scoring 1), and its NaN rule (a NaN product or sum counts as 0).

use std::cmp::Ordering;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::{store, with_scores, Ctx, Reply};
use crate::cmd::args::{float, int, is, upper};
use crate::db::{parse_i64, Map, Value};
use crate::reply::{err, int as integer};

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`.
    fn fold(self, acc: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let sum = acc + value;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min if value < acc => value,
            Aggregate::Max if value > acc => value,
            _ => acc,
        }
    }
}

/// One input: its members and scores (empty when the key is missing) and its weight.
struct Input {
    members: Map<Bytes, f64>,
    weight: f64,
}

impl Input {
    /// `weight × score`, NaN counted as 0.
    fn weighted(&self, score: f64) -> f64 {
        let product = self.weight * score;
        if product.is_nan() {
            0.0
        } else {
            product
        }
    }
}

/// A sorted set's or a set's members; WRONGTYPE for any other type.
fn input(ctx: &mut Ctx, key: &[u8]) -> Result<Input, Frame> {
    let now = ctx.now;
    let members = match ctx.db().get(key, now).map(|e| &e.value) {
        None => Map::default(),
        Some(Value::ZSet(z)) => z.iter().map(|(m, s)| (m.clone(), s)).collect(),
        Some(Value::Set(s)) => s.iter().map(|m| (m.clone(), 1.0)).collect(),
        Some(_) => return Err(err::wrong_type()),
    };
    Ok(Input {
        members,
        weight: 1.0,
    })
}

/// ZUNION / ZINTER / ZDIFF numkeys key… [WEIGHTS w…] [AGGREGATE a] [WITHSCORES], the STORE
/// forms (destination first, no WITHSCORES) and ZINTERCARD numkeys key… [LIMIT n].
pub fn combine(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = upper(&args[0]);
    let card = name == "ZINTERCARD";
    let dst = name.ends_with("STORE").then(|| &args[1]);
    let op = match &name[1..4] {
        "UNI" => Op::Union,
        "INT" => Op::Inter,
        _ => Op::Diff,
    };
    let at = 1 + usize::from(dst.is_some());
    let n = int(&args[at])?;
    if n < 1 {
        return Err(Frame::error(format!(
            "ERR at least 1 input key is needed for '{}' command",
            name.to_ascii_lowercase()
        )));
    }
    if n as u64 > (args.len() - at - 1) as u64 {
        return Err(err::syntax());
    }
    let n = n as usize;
    let mut inputs = Vec::with_capacity(n);
    for key in &args[at + 1..at + 1 + n] {
        inputs.push(input(ctx, key)?);
    }
    let (mut aggregate, mut scores, mut limit) = (Aggregate::Sum, false, 0usize);
    let mut rest = &args[at + 1 + n..];
    while let Some(word) = rest.first() {
        let algebra = op != Op::Diff && !card;
        if algebra && rest.len() > n && is(word, "weights") {
            for (input, w) in inputs.iter_mut().zip(&rest[1..=n]) {
                input.weight =
                    float(w).map_err(|_| Frame::error("ERR weight value is not a float"))?;
            }
            rest = &rest[n + 1..];
        } else if algebra && rest.len() >= 2 && is(word, "aggregate") {
            aggregate = match upper(&rest[1]).as_str() {
                "SUM" => Aggregate::Sum,
                "MIN" => Aggregate::Min,
                "MAX" => Aggregate::Max,
                _ => return Err(err::syntax()),
            };
            rest = &rest[2..];
        } else if dst.is_none() && !card && is(word, "withscores") {
            scores = true;
            rest = &rest[1..];
        } else if card && rest.len() >= 2 && is(word, "limit") {
            limit = parse_i64(&rest[1])
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| Frame::error("ERR LIMIT can't be negative"))?;
            rest = &rest[2..];
        } else {
            return Err(err::syntax());
        }
    }
    if op != Op::Diff {
        inputs.sort_by_key(|i| i.members.len());
    }
    if card {
        let found = intersection(&inputs, aggregate).len();
        return Ok(integer(if limit > 0 { found.min(limit) } else { found }));
    }
    let mut result: Vec<(Bytes, f64)> = match op {
        Op::Union => union(&inputs, aggregate).into_iter().collect(),
        Op::Inter => intersection(&inputs, aggregate),
        Op::Diff => difference(&inputs),
    };
    if let Some(dst) = dst {
        return store(ctx, dst, result);
    }
    result.sort_by(|(a, x), (b, y)| {
        x.partial_cmp(y)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.cmp(b))
    });
    let resp = ctx.client.resp;
    Ok(with_scores(result, scores, resp))
}

fn union(inputs: &[Input], aggregate: Aggregate) -> Map<Bytes, f64> {
    let mut acc: Map<Bytes, f64> = Map::default();
    for input in inputs {
        for (member, score) in &input.members {
            let value = input.weighted(*score);
            acc.entry(member.clone())
                .and_modify(|a| *a = aggregate.fold(*a, value))
                .or_insert(value);
        }
    }
    acc
}

/// Members of every input (smallest first), scored like Redis.
fn intersection(inputs: &[Input], aggregate: Aggregate) -> Vec<(Bytes, f64)> {
    let Some((first, others)) = inputs.split_first() else {
        return Vec::new();
    };
    first
        .members
        .iter()
        .filter_map(|(member, score)| {
            others
                .iter()
                .try_fold(first.weighted(*score), |acc, input| {
                    let value = input.members.get(member)? * input.weight;
                    Some(aggregate.fold(acc, value))
                })
                .map(|score| (member.clone(), score))
        })
        .collect()
}

/// The first input's members found in no other, with their own scores.
fn difference(inputs: &[Input]) -> Vec<(Bytes, f64)> {
    let Some((first, others)) = inputs.split_first() else {
        return Vec::new();
    };
    first
        .members
        .iter()
        .filter(|(member, _)| others.iter().all(|i| !i.members.contains_key(*member)))
        .map(|(member, score)| (member.clone(), *score))
        .collect()
}
