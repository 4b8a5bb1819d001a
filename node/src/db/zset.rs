//! The sorted set: a member → score map plus an ordered index of (score, member), which
//! together give O(1) ZSCORE and ordered range walks.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::value::Map;

/// A score with a total order (scores are never NaN).
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
        self.0.total_cmp(&other.0)
    }
}

/// A sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    scores: Map<Bytes, f64>,
    order: BTreeSet<(Score, Bytes)>,
}

impl ZSet {
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
        self.order.insert((Score(fix_zero(score)), member));
        old
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (key, old) = self.scores.remove_entry(member)?;
        self.order.remove(&(Score(fix_zero(old)), key));
        Some(old)
    }

    /// Members in ascending (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
        self.order.iter().map(|(s, m)| (m, s.0))
    }

    /// 0-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(
            self.order
                .range(..(Score(fix_zero(score)), Bytes::copy_from_slice(member)))
                .count(),
        )
    }

    pub fn longest_member(&self) -> usize {
        self.scores.keys().map(Bytes::len).max().unwrap_or(0)
    }
}

/// `-0.0` and `0.0` sort as one score.
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
    }
}
