//! slotgate-benches: see `benches/` and README.md.
