//! The read policy (`cluster.read_from`): which node of a shard serves a read-only command.
//! Pure, like the rest of the router: it gets the replicas' health and returns a choice.
//!
//! - `master` (default): every command goes to the slot's master.
//! - `replica_preferred`: reads go to a replica that is **up**; a suspect, down or missing
//!   replica sends the read to the master (Lettuce's `REPLICA_PREFERRED`, redis-rs
//!   `read_from_replicas`, ioredis `scaleReads: "slave"`, which all fall back to the master).
//! - `replica`: reads go to any replica that is **not down** (a suspect one keeps its reads
//!   until the probes decide); only when no replica is left does the read fall back to the
//!   master. Lettuce's `REPLICA` fails such reads instead; a proxy answering errors for a
//!   shard whose master is healthy would turn a replica outage into an outage, so slotgate
//!   falls back (and a read that fails on a replica is retried on the master).
//!
//! Writes never consult the policy: they always go to the master.

use serde::{Deserialize, Serialize};

use crate::health::State;

/// Where read-only commands go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    #[default]
    Master,
    Replica,
    ReplicaPreferred,
}

impl ReadFrom {
    /// Which of a shard's replicas (their health in order, `None` when not probed yet)
    /// serves a read, spread by `spread` (the session id) among those the policy accepts;
    /// `None` means the master.
    pub fn pick<I>(self, replicas: I, spread: u64) -> Option<usize>
    where
        I: Iterator<Item = Option<State>> + Clone,
    {
        let accept = |state: &Option<State>| match self {
            ReadFrom::Master => false,
            ReadFrom::Replica => *state != Some(State::Down),
            ReadFrom::ReplicaPreferred => matches!(state, None | Some(State::Up)),
        };
        let count = replicas.clone().filter(accept).count();
        if count == 0 {
            return None;
        }
        let nth = (spread % count as u64) as usize;
        replicas
            .enumerate()
            .filter(|(_, s)| accept(s))
            .nth(nth)
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(policy: ReadFrom, states: &[Option<State>], spread: u64) -> Option<usize> {
        policy.pick(states.iter().copied(), spread)
    }

    #[test]
    fn policies_choose_and_fall_back() {
        let (up, suspect, down) = (Some(State::Up), Some(State::Suspect), Some(State::Down));
        assert_eq!(pick(ReadFrom::Master, &[up, up], 0), None);
        assert_eq!(pick(ReadFrom::Replica, &[up, up], 0), Some(0));
        assert_eq!(pick(ReadFrom::Replica, &[up, up], 3), Some(1));
        assert_eq!(pick(ReadFrom::Replica, &[down, suspect], 0), Some(1));
        assert_eq!(pick(ReadFrom::ReplicaPreferred, &[down, suspect], 0), None);
        assert_eq!(
            pick(ReadFrom::ReplicaPreferred, &[suspect, None], 5),
            Some(1)
        );
        assert_eq!(pick(ReadFrom::Replica, &[down], 0), None);
        assert_eq!(pick(ReadFrom::Replica, &[], 0), None);
    }

    #[test]
    fn the_key_parses() {
        #[derive(Deserialize)]
        struct T {
            read_from: ReadFrom,
        }
        let t: T = toml::from_str("read_from = \"replica_preferred\"").unwrap();
        assert_eq!(t.read_from, ReadFrom::ReplicaPreferred);
        assert!(toml::from_str::<T>("read_from = \"slave\"").is_err());
    }
}
