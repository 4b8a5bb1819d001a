//! slotgate-tests: the harness for end-to-end tests that start real processes — our
//! binaries, Debian's `redis-server`, `redis-cli` and client libraries — on loopback ports
//! they choose, and stop them by PID.
//!
//! Layout:
//! - [`ports`]: free loopback ports whose cluster bus port (+10000) stays below 32768.
//! - [`process`]: [`process::Child`], a spawned process killed (by PID) when dropped, and
//!   the paths of our own binaries.
//! - [`client`]: [`client::Client`], a tiny synchronous RESP client for assertions.
//! - [`redis`]: [`redis::RedisServer`] and [`redis::RedisCluster`], real Redis 7 to compare
//!   against and to put behind the proxy.
//! - [`proxy`]: [`proxy::Slotgate`], our proxy started in front of a cluster.
//! - [`eventually`]: bounded waiting for convergence — never a bare sleep.

pub mod client;
pub mod differential;
pub mod eventually;
pub mod ops;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod redis;

pub use client::Client;
pub use eventually::eventually;
pub use ports::free_port;
pub use process::Child;
