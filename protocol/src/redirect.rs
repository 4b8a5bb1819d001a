//! Typed cluster redirections and errors (being written).
