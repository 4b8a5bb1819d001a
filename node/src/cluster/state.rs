//! [`Cluster`]: this node's view of the cluster — myself, the node table, which node owns
//! each of the 16384 slots, the epochs, slots being migrated or imported, the forget ban
//! list — and the small operations every other part builds on (assign a slot, become a
//! replica, bump the epoch, recompute `cluster_state`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use bytes::Bytes;
use slotgate_protocol::topology::{NodeFlags, NodeId};
use slotgate_protocol::SLOT_COUNT;
use tokio::sync::mpsc::UnboundedSender;

use super::bus::message::{Kind, SlotBits};
use super::election::Election;
use super::failover::ManualFailover;
use super::migrate::TargetCache;

/// A forgotten node may not come back through gossip for this long.
pub const BAN_TTL_MS: i64 = 60_000;
/// A master keeps `cluster_state:fail` this long after start.
const WRITABLE_DELAY_MS: i64 = 2000;

/// The outbound bus connection to one node (the task behind it owns the socket).
#[derive(Debug)]
pub struct Link {
    pub id: u64,
    pub tx: UnboundedSender<Bytes>,
    pub created: i64,
    pub connected: bool,
}

/// One known node (myself included).
#[derive(Debug)]
pub struct Node {
    pub id: NodeId,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub hostname: String,
    pub flags: NodeFlags,
    /// The master of a replica.
    pub master: Option<NodeId>,
    pub config_epoch: u64,
    pub repl_offset: u64,
    pub shard_id: NodeId,
    /// The slots the slot table gives this node, and how many (both kept by `add_slot`
    /// and `del_slot`).
    pub slots: SlotBits,
    pub num_slots: usize,
    /// Unix ms of the PING we wait an answer for; 0 when none is pending.
    pub ping_sent: i64,
    pub pong_recv: i64,
    pub data_recv: i64,
    pub created: i64,
    pub fail_time: i64,
    /// Last time myself voted for a replica of this master.
    pub voted_time: i64,
    /// Masters that said this node is failing, and when.
    pub fail_reports: Vec<(NodeId, i64)>,
    /// A master that has or had replicas (or a promoted replica): replica migration may
    /// give it one when orphaned (Redis's MIGRATE_TO flag).
    pub migrate_to: bool,
    /// Since when this master has been orphaned (replica migration); 0: it is not.
    pub orphaned_time: i64,
    /// A handshake node created by CLUSTER MEET: greet it with MEET, not PING.
    pub meet: bool,
    pub link: Option<Link>,
    /// No reconnect before this time (backoff after failed connects).
    pub reconnect_at: i64,
    pub reconnect_delay: i64,
}

impl Node {
    pub fn new(id: NodeId, ip: &str, port: u16, cport: u16, flags: NodeFlags, now: i64) -> Node {
        Node {
            id,
            ip: ip.to_owned(),
            port,
            cport,
            hostname: String::new(),
            flags,
            master: None,
            config_epoch: 0,
            repl_offset: 0,
            shard_id: NodeId::random(),
            slots: SlotBits::default(),
            num_slots: 0,
            ping_sent: 0,
            pong_recv: 0,
            data_recv: 0,
            created: now,
            fail_time: 0,
            voted_time: 0,
            fail_reports: Vec::new(),
            migrate_to: false,
            orphaned_time: 0,
            meet: false,
            link: None,
            reconnect_at: 0,
            reconnect_delay: 0,
        }
    }

    pub fn is_master(&self) -> bool {
        self.flags.master
    }

    pub fn is_failing(&self) -> bool {
        self.flags.pfail || self.flags.fail
    }

    pub fn link_connected(&self) -> bool {
        self.flags.myself || self.link.as_ref().is_some_and(|l| l.connected)
    }

    /// `ip:port`, as redirections name it.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }
}

/// Bus message counters (CLUSTER INFO) and refused packets.
#[derive(Debug, Default)]
pub struct BusStats {
    pub sent: [u64; Kind::ALL.len()],
    pub received: [u64; Kind::ALL.len()],
    /// Packets dropped: malformed, or from a sender we do not know.
    pub dropped: u64,
}

/// The cluster as this node sees it.
pub struct Cluster {
    pub myself: NodeId,
    pub nodes: HashMap<NodeId, Node>,
    /// Owner of every slot.
    pub slots: Vec<Option<NodeId>>,
    pub migrating: BTreeMap<usize, NodeId>,
    pub importing: BTreeMap<usize, NodeId>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    pub state_ok: bool,
    /// Forgotten nodes → unix ms when the ban ends.
    pub banned: HashMap<NodeId, i64>,
    pub stats: BusStats,
    /// The nodes.conf path.
    pub path: PathBuf,
    /// The configuration changed and must be saved.
    pub todo_save: bool,
    /// … and durably (epochs changed): the save must fsync.
    pub todo_fsync: bool,
    pub started: i64,
    /// Last time myself was in a partition without the majority of masters.
    pub minority_since: i64,
    pub next_link_id: u64,
    pub targets: TargetCache,
    /// `cluster-announce-ip`; empty: peers use the address they see.
    pub announce_ip: String,
    /// Slots lost to another master while holding keys here: their keys go.
    pub lost_slots: Vec<usize>,
    /// Myself's election, when a replica.
    pub election: Election,
    /// A manual failover in progress.
    pub mf: ManualFailover,
}

impl Cluster {
    /// A fresh cluster of one: a new master named at random.
    pub fn new(me: Node, path: PathBuf, now: i64) -> Cluster {
        let myself = me.id;
        Cluster {
            myself,
            nodes: HashMap::from([(myself, me)]),
            slots: vec![None; usize::from(SLOT_COUNT)],
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            state_ok: false,
            banned: HashMap::new(),
            stats: BusStats::default(),
            path,
            todo_save: true,
            todo_fsync: false,
            started: now,
            minority_since: 0,
            next_link_id: 1,
            targets: TargetCache::default(),
            announce_ip: String::new(),
            lost_slots: Vec::new(),
            election: Election::default(),
            mf: ManualFailover::default(),
        }
    }

    pub fn me(&self) -> &Node {
        &self.nodes[&self.myself]
    }

    pub fn me_mut(&mut self) -> &mut Node {
        self.nodes
            .get_mut(&self.myself)
            .expect("myself is always in the node table")
    }

    /// The master whose slots myself serves: myself, or the master of myself.
    pub fn my_master(&self) -> Option<NodeId> {
        let me = self.me();
        if me.is_master() {
            Some(self.myself)
        } else {
            me.master
        }
    }

    /// A node's configEpoch as peers see it: a replica's is its master's.
    pub fn epoch_of(&self, id: &NodeId) -> u64 {
        let Some(node) = self.nodes.get(id) else {
            return 0;
        };
        match node.master.and_then(|m| self.nodes.get(&m)) {
            Some(master) if !node.is_master() => master.config_epoch,
            _ => node.config_epoch,
        }
    }

    pub fn owner(&self, slot: usize) -> Option<&Node> {
        self.slots
            .get(slot)
            .copied()
            .flatten()
            .and_then(|id| self.nodes.get(&id))
    }

    pub fn add_slot(&mut self, slot: usize, owner: NodeId) {
        self.del_slot(slot);
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = Some(owner);
            if let Some(node) = self.nodes.get_mut(&owner) {
                node.slots.set(slot);
                node.num_slots += 1;
            }
        }
    }

    pub fn del_slot(&mut self, slot: usize) {
        let old = self.slots.get_mut(slot).and_then(Option::take);
        if let Some(node) = old.and_then(|id| self.nodes.get_mut(&id)) {
            node.slots.clear(slot);
            node.num_slots -= 1;
        }
    }

    /// Unassigns every slot of `id`.
    pub fn del_node_slots(&mut self, id: &NodeId) {
        let owned: Vec<usize> = self.slots_of(id).iter().map(|s| s.index()).collect();
        owned.into_iter().for_each(|slot| self.del_slot(slot));
    }

    pub fn slot_count(&self, id: &NodeId) -> usize {
        self.nodes.get(id).map_or(0, |n| n.num_slots)
    }

    pub fn slots_of(&self, id: &NodeId) -> SlotBits {
        self.nodes
            .get(id)
            .map(|n| n.slots.clone())
            .unwrap_or_default()
    }

    /// Masters serving at least one slot (Redis's `cluster->size`).
    pub fn size(&self) -> usize {
        self.masters_with_slots().count()
    }

    /// The replicas of `master`.
    pub fn replicas_of(&self, master: &NodeId) -> impl Iterator<Item = &Node> + '_ {
        let master = *master;
        self.nodes
            .values()
            .filter(move |n| !n.is_master() && n.master == Some(master))
    }

    /// Marks `id` a master (it was a replica, or had no role yet).
    pub fn set_as_master(&mut self, id: &NodeId) {
        if let Some(node) = self.nodes.get_mut(id) {
            node.migrate_to |= node.master.is_some() && !node.flags.myself;
            node.flags.master = true;
            node.flags.replica = false;
            node.master = None;
        }
    }

    /// Myself becomes a replica of `master`: slots stop being open here.
    pub fn replicate(&mut self, master: NodeId) {
        self.migrating.clear();
        self.importing.clear();
        let shard = self.nodes.get(&master).map(|m| m.shard_id);
        let me = self.me_mut();
        me.flags.master = false;
        me.flags.replica = true;
        me.master = Some(master);
        if let Some(shard) = shard {
            me.shard_id = shard;
        }
        self.mf = ManualFailover::default();
        self.todo_save = true;
    }

    /// The largest epoch known: currentEpoch or any node's configEpoch.
    pub fn max_epoch(&self) -> u64 {
        self.nodes
            .values()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch)
    }

    /// A new configEpoch for myself without asking anyone, unless it is already the
    /// unique maximum. True when bumped.
    pub fn bump_epoch_without_consensus(&mut self) -> bool {
        let max = self.max_epoch();
        let mine = self.me().config_epoch;
        if mine != 0 && mine == max {
            return false;
        }
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        self.me_mut().config_epoch = epoch;
        self.todo_save = true;
        self.todo_fsync = true;
        true
    }

    /// The node whose outbound bus link is `link_id`.
    pub fn node_by_link(&mut self, link_id: u64) -> Option<&mut Node> {
        self.nodes
            .values_mut()
            .find(|n| n.link.as_ref().is_some_and(|l| l.id == link_id))
    }

    /// Removes a node and everything that refers to it.
    pub fn del_node(&mut self, id: &NodeId) {
        self.del_node_slots(id);
        self.migrating.retain(|_, to| to != id);
        self.importing.retain(|_, from| from != id);
        for node in self.nodes.values_mut() {
            node.fail_reports.retain(|(reporter, _)| reporter != id);
        }
        self.nodes.remove(id);
        self.todo_save = true;
    }

    /// A handshake node learned its real name.
    pub fn rename(&mut self, old: &NodeId, new: NodeId) {
        if let Some(mut node) = self.nodes.remove(old) {
            node.id = new;
            self.nodes.insert(new, node);
            self.todo_save = true;
        }
    }

    pub fn is_banned(&self, id: &NodeId, now: i64) -> bool {
        self.banned.get(id).is_some_and(|&until| until > now)
    }

    /// Recomputes `cluster_state` (Redis's `clusterUpdateState`).
    pub fn update_state(&mut self, now: i64, require_full_coverage: bool, node_timeout: i64) {
        let me_master = self.me().is_master();
        if me_master && !self.state_ok && now - self.started < WRITABLE_DELAY_MS {
            return;
        }
        let served: usize = self
            .masters_with_slots()
            .filter(|n| !n.flags.fail)
            .map(|n| n.num_slots)
            .sum();
        let mut ok = !require_full_coverage || served == self.slots.len();
        let size = self.size();
        let reachable = self
            .masters_with_slots()
            .filter(|n| !n.is_failing())
            .count();
        if reachable < size / 2 + 1 {
            ok = false;
            self.minority_since = now;
        }
        if ok && !self.state_ok && me_master {
            let rejoin_delay = node_timeout.clamp(500, 5000);
            if now - self.minority_since < rejoin_delay {
                return;
            }
        }
        if ok != self.state_ok {
            tracing::info!("Cluster state changed: {}", if ok { "ok" } else { "fail" });
        }
        self.state_ok = ok;
    }

    fn masters_with_slots(&self) -> impl Iterator<Item = &Node> + '_ {
        self.nodes.values().filter(|n| n.num_slots > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Cluster {
        let me = Node::new(
            NodeId::random(),
            "127.0.0.1",
            7000,
            17000,
            NodeFlags {
                myself: true,
                master: true,
                ..NodeFlags::default()
            },
            0,
        );
        Cluster::new(me, PathBuf::from("nodes.conf"), 0)
    }

    #[test]
    fn state_needs_full_coverage_and_waits_to_rejoin() {
        let mut c = cluster();
        c.update_state(10_000, true, 5000);
        assert!(!c.state_ok);
        let me = c.myself;
        (0..usize::from(SLOT_COUNT)).for_each(|s| c.add_slot(s, me));
        c.update_state(12_000, true, 5000);
        assert!(
            !c.state_ok,
            "a master out of the minority waits the rejoin delay"
        );
        c.update_state(15_000, true, 5000);
        assert!(c.state_ok);
        c.del_slot(5);
        c.update_state(16_000, true, 5000);
        assert!(!c.state_ok);
        c.update_state(16_000, false, 5000);
        assert!(c.state_ok);
    }

    #[test]
    fn epoch_bump_only_when_not_unique_max() {
        let mut c = cluster();
        assert!(c.bump_epoch_without_consensus());
        assert_eq!((c.current_epoch, c.me().config_epoch), (1, 1));
        assert!(!c.bump_epoch_without_consensus());
    }
}
