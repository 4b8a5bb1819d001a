//! slotgate-proxy: the stateless sharding proxy (being written).
