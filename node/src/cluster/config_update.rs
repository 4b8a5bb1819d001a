//! Slot ownership changes learned from peers (Redis's `clusterUpdateSlotsConfigWith`):
//! a master's claim wins for every slot whose current owner has an older configEpoch;
//! a master that loses its last slot to the claimant becomes its replica; slots lost
//! while holding keys are queued for purging. And the configEpoch collision rule.

use slotgate_protocol::topology::NodeId;

use super::bus::message::SlotBits;
use super::state::Cluster;

/// `sender` (a master) claims `slots` with `config_epoch`.
pub fn update_slots(cluster: &mut Cluster, sender: &NodeId, config_epoch: u64, slots: &SlotBits) {
    if *sender == cluster.myself {
        return;
    }
    let my_master = cluster.my_master();
    let mut took_from_my_master = false;
    let already = cluster.slots_of(sender);
    for slot in slots.iter().map(|s| s.index()) {
        if already.get(slot) || cluster.importing.contains_key(&slot) {
            continue;
        }
        let owner = cluster.slots.get(slot).copied().flatten();
        let newer = match owner {
            None => true,
            Some(owner) => cluster.epoch_of(&owner) < config_epoch,
        };
        if !newer {
            continue;
        }
        if owner == Some(cluster.myself) {
            cluster.lost_slots.push(slot);
            cluster.migrating.remove(&slot);
        }
        took_from_my_master |= owner.is_some() && owner == my_master;
        cluster.add_slot(slot, *sender);
        cluster.todo_save = true;
    }
    let emptied = my_master.is_some_and(|m| cluster.slot_count(&m) == 0);
    if took_from_my_master && emptied {
        cluster.replicate(*sender);
        cluster.lost_slots.clear();
    }
}

/// Two masters share a configEpoch: the one with the smaller id takes a new one.
pub fn epoch_collision(cluster: &mut Cluster, sender: &NodeId) {
    if *sender <= cluster.myself {
        return;
    }
    cluster.current_epoch += 1;
    let epoch = cluster.current_epoch;
    cluster.me_mut().config_epoch = epoch;
    cluster.todo_save = true;
    cluster.todo_fsync = true;
}
