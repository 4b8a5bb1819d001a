//! Cluster topology types (being written).
