//! slotgate-node: a Redis-Cluster-compatible data node (being written).
