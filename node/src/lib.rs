//! slotgate-node: a Redis-compatible data node (cluster mode and replication build on it).
//!
//! Layout:
//! - [`cli`]: the command line (`slotgate-node …`, also `slotgate node …`).
//! - [`config`]: redis.conf directives and `--directive value` overrides; CONFIG GET/SET.
//! - [`server`]: AOF load, bind, accept, periodic work (expiry, fsync, rewrites).
//! - [`conn`]: one connection — batched pipelined execution, pushes, blocking waits.
//! - [`state`]: [`state::State`], the shared state behind one lock, and the write
//!   propagation hook ([`state::State::propagate`]).
//! - [`client`]: one client's session state and mailbox.
//! - [`acl`]: ACL users, their permission checks and the ACL LOG.
//! - [`cmd`]: the dispatch table and one file per command family.
//! - [`db`]: the slot-partitioned keyspace, values and expiry.
//! - [`blocking`]: clients blocked on keys and their FIFO wake-up.
//! - [`pubsub`]: channel / pattern / shard-channel subscribers.
//! - [`aof`]: append-only file writing, replay and rewriting.
//! - [`rdb`]: the snapshot file — SAVE, BGSAVE, save points, loading at start-up.
//! - [`memory`]: allocation accounting and `maxmemory` eviction.
//! - [`info`]: the INFO sections.
//! - [`monitor`]: MONITOR clients and the lines fed to them.
//! - [`obuf`]: output buffer limits on a connection's replies.
//! - [`pause`]: CLIENT PAUSE / UNPAUSE and a manual failover's write pause.
//! - [`slowlog`]: SLOWLOG entries.
//! - [`redact`]: the credentials MONITOR and SLOWLOG hide.
//! - [`reply`]: RESP2/RESP3 reply encoding and Redis's error texts.
//! - [`glob`]: Redis's glob matching.
//! - [`cluster`]: cluster mode — slots, the cluster bus, redirections, MIGRATE.
//! - [`replication`]: master and replica sides of PSYNC replication, the backlog, WAIT.

pub mod acl;
pub mod aof;
pub mod blocking;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod db;
pub mod glob;
pub mod info;
pub mod memory;
pub mod monitor;
pub mod obuf;
pub mod pause;
pub mod pubsub;
pub mod rdb;
pub mod redact;
pub mod replication;
pub mod reply;
pub mod server;
pub mod slowlog;
pub mod state;
