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
//! - [`background`]: [`background::Background`], a worker thread stopped by a flag.
//! - [`eventually`]: bounded waiting for convergence — never a bare sleep.
//! - [`both_servers!`]: one scenario declared as a test against each server kind.

pub mod aof;
pub mod background;
pub mod client;
pub mod differential;
pub mod eventually;
pub mod ops;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod redis;

pub use background::Background;
pub use client::Client;
pub use eventually::eventually;
pub use ports::free_port;
pub use process::Child;

/// Declares, for each `scenario => slotgate_test, redis_test;`, two tests that run
/// `scenario(kind: ServerKind)`: one against slotgate-node, one against redis-server 7 (so the
/// test is known to test Redis's behaviour).
#[macro_export]
macro_rules! both_servers {
    ($($scenario:ident => $slotgate:ident, $redis:ident;)*) => {$(
        #[test]
        fn $slotgate() {
            $scenario($crate::redis::ServerKind::SlotgateNode);
        }

        #[test]
        fn $redis() {
            $scenario($crate::redis::ServerKind::Redis);
        }
    )*};
}
