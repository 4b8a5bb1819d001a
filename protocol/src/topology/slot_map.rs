//! [`SlotMap`]: which [`Shard`] (a master and its replicas) serves each of the 16384 slots.
//! Kept compact — one `u16` shard index per slot; [`SlotMap::set_owner`] applies a MOVED.
//! The constructors from topology replies are in `from_replies`.

use std::collections::HashMap;
use std::fmt;

use crate::{Slot, SLOT_COUNT};

use super::{NodeAddr, NodeId, SlotRange, TopologyError};

/// Owner index of a slot nobody serves.
const UNASSIGNED: u16 = u16::MAX;

/// A node of a shard, as routing needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShardNode {
    pub addr: NodeAddr,
    /// Unknown for a master learned only from a MOVED.
    pub id: Option<NodeId>,
}

/// A master and the replicas that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub master: ShardNode,
    pub replicas: Vec<ShardNode>,
}

/// Slot → shard. Every shard in the map serves at least one slot, and no two shards have
/// the same master address. Two maps are equal when every slot has equal shards in both,
/// whatever their shard indexes.
#[derive(Clone)]
pub struct SlotMap {
    owners: Box<[u16; SLOT_COUNT as usize]>,
    shards: Vec<Shard>,
}

impl SlotMap {
    /// A map in which no slot is served.
    pub fn new() -> SlotMap {
        SlotMap {
            owners: Box::new([UNASSIGNED; SLOT_COUNT as usize]),
            shards: Vec::new(),
        }
    }

    /// Builds a map from ranges and their shards. Shards with the same master address are
    /// one shard (the first one's replicas are kept); a later range wins over an earlier one
    /// for the slots they share.
    pub fn from_assignments(
        assignments: impl IntoIterator<Item = (SlotRange, Shard)>,
    ) -> Result<SlotMap, TopologyError> {
        let mut map = SlotMap::new();
        let mut by_master: HashMap<NodeAddr, u16> = HashMap::new();
        for (range, shard) in assignments {
            let index = match by_master.get(&shard.master.addr) {
                Some(&index) => index,
                None => {
                    let index = u16::try_from(map.shards.len())
                        .ok()
                        .filter(|&index| index < SLOT_COUNT)
                        .ok_or(TopologyError::TooManyShards)?;
                    by_master.insert(shard.master.addr.clone(), index);
                    map.shards.push(shard);
                    index
                }
            };
            map.assign(range, index);
        }
        map.prune();
        Ok(map)
    }

    /// The shard serving `slot`.
    pub fn shard_of(&self, slot: Slot) -> Option<&Shard> {
        self.shard_index(slot)
            .and_then(|index| self.shards.get(index))
    }

    /// Index into [`SlotMap::shards`] of the shard serving `slot`.
    pub fn shard_index(&self, slot: Slot) -> Option<usize> {
        let owner = *self.owners.get(slot.index())?;
        (owner != UNASSIGNED).then_some(usize::from(owner))
    }

    /// Every shard, each serving at least one slot.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// Every shard's master.
    pub fn masters(&self) -> impl Iterator<Item = &ShardNode> {
        self.shards.iter().map(|shard| &shard.master)
    }

    /// How many slots have an owner.
    pub fn covered_slots(&self) -> usize {
        self.owners
            .iter()
            .filter(|&&owner| owner != UNASSIGNED)
            .count()
    }

    /// Whether all 16384 slots have an owner.
    pub fn is_complete(&self) -> bool {
        self.covered_slots() == usize::from(SLOT_COUNT)
    }

    /// Maximal runs of slots with the same owner, ascending, with the owner's shard index.
    pub fn ranges(&self) -> Vec<(SlotRange, usize)> {
        let mut ranges: Vec<(SlotRange, usize)> = Vec::new();
        for slot in Slot::all() {
            let Some(index) = self.shard_index(slot) else {
                continue;
            };
            match ranges.last_mut() {
                Some((range, last)) if *last == index && range.end.get() + 1 == slot.get() => {
                    range.end = slot
                }
                _ => ranges.push((SlotRange::single(slot), index)),
            }
        }
        ranges
    }

    /// Records that the master at `addr` now serves `slot` (a MOVED): the shard with that
    /// master address, or a new one. A shard left serving nothing is dropped, so shard
    /// indexes may change.
    pub fn set_owner(&mut self, slot: Slot, addr: NodeAddr) {
        let index = match self
            .shards
            .iter()
            .position(|shard| shard.master.addr == addr)
        {
            Some(index) => index,
            None => {
                let master = ShardNode { addr, id: None };
                self.shards.push(Shard {
                    master,
                    replicas: Vec::new(),
                });
                self.shards.len() - 1
            }
        };
        // Every shard serves a slot, so there are at most 16384 + 1 of them here.
        let index = u16::try_from(index).unwrap_or(UNASSIGNED);
        self.assign(SlotRange::single(slot), index);
        self.prune();
    }

    fn assign(&mut self, range: SlotRange, index: u16) {
        for slot in range.slots() {
            if let Some(owner) = self.owners.get_mut(slot.index()) {
                *owner = index;
            }
        }
    }

    /// Drops shards that serve no slot and renumbers the rest.
    fn prune(&mut self) {
        let mut used = vec![false; self.shards.len()];
        for &owner in self.owners.iter() {
            if let Some(used) = used.get_mut(usize::from(owner)) {
                *used = true;
            }
        }
        if used.iter().all(|&used| used) {
            return;
        }
        let mut kept = 0u16;
        let renumber: Vec<u16> = used
            .iter()
            .map(|&used| {
                if used {
                    kept += 1;
                    kept - 1
                } else {
                    UNASSIGNED
                }
            })
            .collect();
        for owner in self.owners.iter_mut() {
            *owner = renumber
                .get(usize::from(*owner))
                .copied()
                .unwrap_or(UNASSIGNED);
        }
        let shards = std::mem::take(&mut self.shards);
        self.shards = shards
            .into_iter()
            .zip(used)
            .filter_map(|(s, used)| used.then_some(s))
            .collect();
    }
}

impl Default for SlotMap {
    fn default() -> SlotMap {
        SlotMap::new()
    }
}

impl PartialEq for SlotMap {
    fn eq(&self, other: &SlotMap) -> bool {
        Slot::all().all(|slot| self.shard_of(slot) == other.shard_of(slot))
    }
}

impl Eq for SlotMap {}

impl fmt::Debug for SlotMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotMap")
            .field("ranges", &self.ranges())
            .field("shards", &self.shards)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(n: u16) -> Slot {
        Slot::new(n).unwrap()
    }

    fn shard(host: &str, port: u16) -> Shard {
        let master = ShardNode {
            addr: NodeAddr::new(host, port),
            id: Some(NodeId::random()),
        };
        Shard {
            master,
            replicas: Vec::new(),
        }
    }

    fn range(text: &str) -> SlotRange {
        SlotRange::parse(text).unwrap()
    }

    /// a: 0-5460 and 16000-16383, b: 5461-10922, c: 10923-15999.
    fn three_shards() -> SlotMap {
        let (a, b, c) = (shard("a", 1), shard("b", 2), shard("c", 3));
        let assignments = [
            (range("0-5460"), a.clone()),
            (range("5461-10922"), b),
            (range("10923-15999"), c),
            (range("16000-16383"), a),
        ];
        SlotMap::from_assignments(assignments).unwrap()
    }

    #[test]
    fn groups_ranges_by_master() {
        let map = three_shards();
        assert!(map.is_complete());
        assert_eq!(map.shards().len(), 3);
        assert_eq!(map.shard_index(slot(0)), map.shard_index(slot(16383)));
        let ranges: Vec<String> = map
            .ranges()
            .iter()
            .map(|(r, i)| format!("{r}:{i}"))
            .collect();
        assert_eq!(
            ranges,
            ["0-5460:0", "5461-10922:1", "10923-15999:2", "16000-16383:0"]
        );
        let ports: Vec<u16> = map.masters().map(|m| m.addr.port).collect();
        assert_eq!(ports, [1, 2, 3]);
    }

    #[test]
    fn later_ranges_win_and_idle_shards_are_dropped() {
        let map = SlotMap::from_assignments([
            (range("0-9"), shard("a", 1)),
            (range("0-99"), shard("b", 2)),
        ])
        .unwrap();
        assert_eq!(map.covered_slots(), 100);
        assert_eq!(map.shards().len(), 1);
        assert!(!map.is_complete());
        assert!(map.shard_of(slot(100)).is_none());
        assert!(SlotMap::new().ranges().is_empty());
        assert_ne!(map, SlotMap::new());
    }

    #[test]
    fn set_owner_moves_adds_and_drops_shards() {
        let mut map = three_shards();
        map.set_owner(slot(0), NodeAddr::new("c", 3));
        assert_eq!(map.shard_of(slot(0)).unwrap().master.addr.port, 3);
        map.set_owner(slot(1), NodeAddr::new("d", 4));
        let new = map.shard_of(slot(1)).unwrap();
        assert_eq!((new.master.id, new.replicas.len()), (None, 0));
        assert_eq!(map.shards().len(), 4);
        map.set_owner(slot(1), NodeAddr::new("a", 1));
        assert_eq!(
            map.shards().len(),
            3,
            "the shard that lost its only slot is dropped"
        );
        assert!(map.is_complete());
        for start in [5461, 10923, 16000].map(slot) {
            assert!(map.shard_of(start).is_some());
        }
    }

    #[test]
    fn equality_ignores_shard_order() {
        let (a, b) = (shard("a", 1), shard("b", 2));
        let ab =
            SlotMap::from_assignments([(range("0-10"), a.clone()), (range("11-20"), b.clone())]);
        let ba = SlotMap::from_assignments([(range("11-20"), b), (range("0-10"), a)]);
        assert_eq!(ab.unwrap(), ba.unwrap());
    }
}
