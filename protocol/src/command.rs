//! The Redis 7.0 command table (being written).
