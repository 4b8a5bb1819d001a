//! The sorted set: a member → score map plus an ordered index of (score, member), which
//! together give O(1) ZSCORE and ordered range walks. It also remembers Redis's encoding
//! decision: a listpack turns into a skiplist once it outgrows the configured [`Limits`]
//! and never turns back (only a freshly built result, as *STORE makes, starts small again).

use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::Bytes;

use super::value::Map;

/// A score ordered numerically: `-0` and `0` are one score (scores are never NaN).
#[derive(Debug, Clone, Copy)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .partial_cmp(&other.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// `zset-max-listpack-entries` and `zset-max-listpack-value`: the largest sorted set Redis
/// keeps as a listpack.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

/// A sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    scores: Map<Bytes, f64>,
    order: BTreeSet<(Score, Bytes)>,
    /// Outgrew the listpack limits at some point (Redis's encoding is then `skiplist`).
    skiplist: bool,
}

impl ZSet {
    /// A new set holding `items` (later duplicates win), encoded by its final size.
    pub fn build(items: impl IntoIterator<Item = (Bytes, f64)>, limits: Limits) -> ZSet {
        let mut z = ZSet::default();
        for (member, score) in items {
            z.insert(member, score);
        }
        z.skiplist = z.len() > limits.entries || z.longest_member() > limits.value;
        if !z.skiplist {
            let negative_zeros: Vec<Bytes> = z
                .scores
                .iter()
                .filter(|(_, s)| **s == 0.0 && s.is_sign_negative())
                .map(|(m, _)| m.clone())
                .collect();
            for member in negative_zeros {
                z.insert(member, 0.0);
            }
        }
        z
    }

    /// [`ZSet::insert`] for commands: a new member that breaks `limits` converts the set
    /// to a skiplist for good, like Redis's `zsetAdd`. A listpack keeps `-0` as `0` (it
    /// stores scores as text), a skiplist keeps the sign.
    pub fn add(&mut self, member: Bytes, score: f64, limits: Limits) -> Option<f64> {
        let grows = !self.scores.contains_key(&member);
        if grows && (member.len() > limits.value || self.len() >= limits.entries) {
            self.skiplist = true;
        }
        let score = if self.skiplist {
            score
        } else {
            fix_zero(score)
        };
        self.insert(member, score)
    }

    /// Whether the set has been converted to a skiplist.
    pub fn is_skiplist(&self) -> bool {
        self.skiplist
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets a member's score; returns the previous one.
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let old = self.scores.insert(member.clone(), score);
        if let Some(old) = old {
            self.order.remove(&(Score(old), member.clone()));
        }
        self.order.insert((Score(score), member));
        old
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (key, old) = self.scores.remove_entry(member)?;
        self.order.remove(&(Score(old), key));
        Some(old)
    }

    /// Members in ascending (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
        self.order.iter().map(|(s, m)| (m, s.0))
    }

    /// Members from the first with a score of at least `min`, ascending.
    pub fn from_score(&self, min: f64) -> impl Iterator<Item = (&Bytes, f64)> {
        self.from_entry(min, b"")
    }

    /// Members from `(score, member)` (or the next one after it), ascending.
    pub fn from_entry(&self, score: f64, member: &[u8]) -> impl Iterator<Item = (&Bytes, f64)> {
        self.order
            .range((Score(score), Bytes::copy_from_slice(member))..)
            .map(|(s, m)| (m, s.0))
    }

    /// Members from `(score, member)` (or the one before it), descending.
    pub fn down_from_entry(
        &self,
        score: f64,
        member: &[u8],
    ) -> impl Iterator<Item = (&Bytes, f64)> {
        self.order
            .range(..=(Score(score), Bytes::copy_from_slice(member)))
            .rev()
            .map(|(s, m)| (m, s.0))
    }

    /// The score all members share, if they do (member order is then lex order).
    pub fn single_score(&self) -> Option<f64> {
        let (first, last) = (self.order.first()?, self.order.last()?);
        (first.0 == last.0).then_some(first.0 .0)
    }

    /// Members from the last with a score of at most `max`, descending.
    pub fn down_from_score(&self, max: f64) -> impl Iterator<Item = (&Bytes, f64)> {
        let end = if max == f64::INFINITY {
            Bound::Unbounded
        } else {
            Bound::Excluded((Score(max.next_up()), Bytes::new()))
        };
        self.order
            .range((Bound::Unbounded, end))
            .rev()
            .map(|(s, m)| (m, s.0))
    }

    /// 0-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(
            self.order
                .range(..(Score(score), Bytes::copy_from_slice(member)))
                .count(),
        )
    }

    pub fn longest_member(&self) -> usize {
        self.scores.keys().map(Bytes::len).max().unwrap_or(0)
    }
}

/// `-0` as `0`, as a listpack stores it.
fn fix_zero(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_by_score_then_member() {
        let mut z = ZSet::default();
        z.insert(Bytes::from_static(b"b"), 1.0);
        z.insert(Bytes::from_static(b"a"), 1.0);
        z.insert(Bytes::from_static(b"c"), 0.5);
        let order: Vec<_> = z.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(order, vec!["c", "a", "b"]);
        assert_eq!(z.rank(b"b"), Some(2));
        assert_eq!(z.insert(Bytes::from_static(b"c"), 9.0), Some(0.5));
        assert_eq!(z.rank(b"c"), Some(2));
        assert_eq!(z.remove(b"a"), Some(1.0));
        assert_eq!(z.len(), 2);
        z.insert(Bytes::from_static(b"i"), f64::INFINITY);
        let up: Vec<_> = z.from_score(1.0).map(|(m, _)| m.clone()).collect();
        assert_eq!(up, vec!["b", "c", "i"]);
        let down: Vec<_> = z.down_from_score(9.0).map(|(m, _)| m.clone()).collect();
        assert_eq!(down, vec!["c", "b"]);
        assert_eq!(z.down_from_score(f64::INFINITY).count(), 3);
        assert_eq!(z.single_score(), None);
        let mut lex = ZSet::default();
        for m in ["a", "b", "c"] {
            lex.insert(Bytes::from(m), 0.0);
        }
        assert_eq!(lex.single_score(), Some(0.0));
        assert_eq!(lex.from_entry(0.0, b"b").count(), 2);
        assert_eq!(lex.down_from_entry(0.0, b"bb").count(), 2);
    }

    #[test]
    fn skiplist_is_sticky_until_rebuilt() {
        let limits = Limits {
            entries: 2,
            value: 4,
        };
        let mut z = ZSet::default();
        z.add(Bytes::from_static(b"a"), 1.0, limits);
        z.add(Bytes::from_static(b"b"), 1.0, limits);
        assert!(!z.is_skiplist());
        z.add(Bytes::from_static(b"c"), 1.0, limits);
        assert!(z.is_skiplist());
        z.remove(b"c");
        assert!(z.is_skiplist());
        let copy = ZSet::build(z.iter().map(|(m, s)| (m.clone(), s)), limits);
        assert!(!copy.is_skiplist());
        z.add(Bytes::from_static(b"a"), -0.0, limits);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_negative()));
        let copy = ZSet::build(z.iter().map(|(m, s)| (m.clone(), s)), limits);
        assert!(copy.score(b"a").is_some_and(|s| s.is_sign_positive()));
        let mut small = ZSet::default();
        small.add(Bytes::from_static(b"longer"), 1.0, limits);
        assert!(small.is_skiplist());
    }
}
