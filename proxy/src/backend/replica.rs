//! Connections for reads from replicas (`cluster.read_from`): the same shared, per-worker
//! connections as a master's, kept apart and opened with `READONLY` after the handshake, so
//! a replica serves reads of its master's slots instead of answering `MOVED`. They are kept
//! apart from the node's ordinary connections (which never send `READONLY`), so a node that
//! changes role keeps both kinds of connection meaning what they meant.

use super::{NodeLinks, Pool};

impl Pool {
    /// The `READONLY` connections to replica `addr`, created on first use.
    pub fn replica(&self, addr: &str) -> NodeLinks {
        self.links(&self.replicas, addr, true)
    }
}
