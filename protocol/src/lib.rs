//! slotgate-protocol: everything slotgate's proxy and node both speak. No sockets, no
//! runtime — pure data and parsers, so both programs (and the fuzzers) share one truth.
//!
//! Layout:
//! - [`resp`]: the RESP2/RESP3 codec — request decoder (multibulk + inline), reply decoder,
//!   frame-length scanner for raw forwarding, encoder, limits and Redis's protocol errors.
//! - [`slot`]: [`Slot`] and [`key_slot`], CRC16/XMODEM with hash tags.
//! - [`command`]: the Redis 7.0 command table (arity, flags, key specs, routing class) and
//!   the [`command::Command`] view that yields a request's keys and slot.
//! - [`topology`]: [`topology::NodeId`], slot ranges, [`topology::SlotMap`] and
//!   [`topology::Shard`]; `CLUSTER SLOTS` / `SHARDS` / `NODES` parsing and formatting.
//! - [`redirect`]: typed cluster errors — MOVED, ASK, TRYAGAIN, CLUSTERDOWN, CROSSSLOT.

#![forbid(unsafe_code)]

pub mod command;
pub mod redirect;
pub mod resp;
pub mod slot;
pub mod topology;

pub use resp::{Frame, Limits, ProtocolError, Request};
pub use slot::{key_slot, Slot, SLOT_COUNT};
