//! [`SlotRange`]: an inclusive run of slots, written `N` or `A-B`, and
//! [`ranges_from_slots`], which collapses slots into maximal runs.

use std::fmt;
use std::str::FromStr;

use crate::{Slot, SLOT_COUNT};

use super::TopologyError;

/// Slots `start..=end`; `start <= end` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotRange {
    pub start: Slot,
    pub end: Slot,
}

impl SlotRange {
    /// `None` unless `start <= end`.
    pub fn new(start: Slot, end: Slot) -> Option<SlotRange> {
        (start <= end).then_some(SlotRange { start, end })
    }

    /// The range holding just `slot`.
    pub fn single(slot: Slot) -> SlotRange {
        SlotRange {
            start: slot,
            end: slot,
        }
    }

    /// Builds a range from raw numbers, checking both bounds and their order.
    pub fn from_numbers(start: i64, end: i64) -> Option<SlotRange> {
        let slot = |n: i64| u16::try_from(n).ok().and_then(Slot::new);
        SlotRange::new(slot(start)?, slot(end)?)
    }

    /// How many slots the range holds (at least 1).
    pub fn slot_count(&self) -> usize {
        self.end.index() - self.start.index() + 1
    }

    pub fn contains(&self, slot: Slot) -> bool {
        self.start <= slot && slot <= self.end
    }

    /// Every slot of the range in order.
    pub fn slots(&self) -> impl Iterator<Item = Slot> {
        (self.start.get()..=self.end.get()).filter_map(Slot::new)
    }

    /// Parses `N` or `A-B` (decimal, `A <= B < 16384`).
    pub fn parse(text: &str) -> Result<SlotRange, TopologyError> {
        let invalid = || TopologyError::invalid("slot range", text);
        let (start, end) = text.split_once('-').unwrap_or((text, text));
        let start = parse_slot(start).ok_or_else(invalid)?;
        let end = parse_slot(end).ok_or_else(invalid)?;
        SlotRange::new(start, end).ok_or_else(invalid)
    }
}

/// A decimal slot number: digits only, below 16384.
pub(crate) fn parse_slot(text: &str) -> Option<Slot> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().and_then(Slot::new)
}

impl fmt::Display for SlotRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl FromStr for SlotRange {
    type Err = TopologyError;

    fn from_str(s: &str) -> Result<SlotRange, TopologyError> {
        SlotRange::parse(s)
    }
}

/// The maximal contiguous runs of `slots`, ascending. Order and duplicates in the input do
/// not matter.
pub fn ranges_from_slots(slots: impl IntoIterator<Item = Slot>) -> Vec<SlotRange> {
    let mut present = vec![false; usize::from(SLOT_COUNT)];
    for slot in slots {
        if let Some(seen) = present.get_mut(slot.index()) {
            *seen = true;
        }
    }
    let mut ranges: Vec<SlotRange> = Vec::new();
    for slot in Slot::all().filter(|slot| present.get(slot.index()) == Some(&true)) {
        match ranges.last_mut() {
            Some(last) if last.end.get() + 1 == slot.get() => last.end = slot,
            _ => ranges.push(SlotRange::single(slot)),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(n: u16) -> Slot {
        Slot::new(n).unwrap()
    }

    #[test]
    fn parses_and_formats() {
        for text in ["0", "16383", "0-5460", "5461-10922", "7-7"] {
            let range = SlotRange::parse(text).unwrap();
            let expected = if text == "7-7" { "7" } else { text };
            assert_eq!(range.to_string(), expected);
        }
        assert_eq!(SlotRange::parse("0-5460").unwrap().slot_count(), 5461);
    }

    #[test]
    fn rejects_bad_ranges() {
        for text in [
            "", "-", "16384", "5-4", "1-", "-1", "a", "1-2-3", "+1", "000001",
        ] {
            assert!(SlotRange::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn collapses_into_maximal_runs() {
        let slots = [5, 0, 1, 2, 3, 9, 10, 16383, 2].map(slot);
        let ranges: Vec<String> = ranges_from_slots(slots)
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(ranges, ["0-3", "5", "9-10", "16383"]);
        assert!(ranges_from_slots([]).is_empty());
        assert_eq!(
            ranges_from_slots(Slot::all()),
            [SlotRange::parse("0-16383").unwrap()]
        );
    }

    #[test]
    fn from_numbers_checks_bounds() {
        assert!(SlotRange::from_numbers(0, 16383).is_some());
        assert!(SlotRange::from_numbers(-1, 3).is_none());
        assert!(SlotRange::from_numbers(3, 16384).is_none());
        assert!(SlotRange::from_numbers(4, 3).is_none());
    }
}
