//! Cluster topology: who owns which of the 16384 slots, and the three replies that say so —
//! `CLUSTER SLOTS`, `CLUSTER SHARDS` and `CLUSTER NODES` — parsed from peers and formatted
//! byte for byte as Redis 7 prints them, plus the `nodes.conf` file a node persists.
//!
//! Layout:
//! - `node_id`: [`NodeId`], 40 lowercase hex characters.
//! - `addr`: [`NodeAddr`], `host:port` (the port after the last `:`, so IPv6 works).
//! - `range`: [`SlotRange`] (`N` or `A-B`) and [`ranges_from_slots`].
//! - `slot_map`: [`SlotMap`] (slot → [`Shard`]: master + replicas), MOVED updates.
//! - `from_replies`: [`SlotMap`] from a `CLUSTER SLOTS`, `SHARDS` or `NODES` reply.
//! - `cluster_slots`: [`SlotsEntry`], parse and build the `CLUSTER SLOTS` reply.
//! - `cluster_shards`: [`ShardView`], parse and build the `CLUSTER SHARDS` reply.
//! - `nodes`: [`ClusterNode`], one `CLUSTER NODES` line; [`parse_cluster_nodes`].
//! - `node_fields`: the typed fields of that line — [`NodeFlags`], [`LinkState`],
//!   [`OpenSlot`].
//! - `nodes_conf`: [`NodesConf`], the `nodes.conf` file with its extended address field and
//!   its [`ClusterVars`] line.
//! - `reply`: reading strings, integers and maps out of reply frames (RESP2 and RESP3).
//! - `wire` (tests only): Redis's reply bytes decoded and frames encoded back, for the
//!   byte-for-byte checks of the reply builders.
//! - `error`: [`TopologyError`] for malformed input.
//!
//! Everything here parses input from peers, so nothing may panic on it.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod addr;
mod cluster_shards;
mod cluster_slots;
mod error;
mod from_replies;
mod node_fields;
mod node_id;
mod nodes;
mod nodes_conf;
mod range;
mod reply;
mod slot_map;
#[cfg(test)]
mod wire;

pub use addr::NodeAddr;
pub use cluster_shards::{
    cluster_shards_reply, parse_cluster_shards, NodeHealth, ShardNodeView, ShardRole, ShardView,
};
pub use cluster_slots::{cluster_slots_reply, parse_cluster_slots, SlotsEntry, SlotsNode};
pub use error::TopologyError;
pub use node_fields::{LinkState, NodeFlags, OpenSlot};
pub use node_id::{NodeId, NODE_ID_LEN};
pub use nodes::{parse_cluster_nodes, ClusterNode};
pub use nodes_conf::{ClusterVars, NodesConf};
pub use range::{ranges_from_slots, SlotRange};
pub use slot_map::{Shard, ShardNode, SlotMap};
