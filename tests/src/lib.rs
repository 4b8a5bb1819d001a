//! slotgate-tests: harness for end-to-end tests with real processes (being written).
