//! Backend health: every node's state (up → suspect → down, with hysteresis) and role,
//! shared as a [`HealthTable`] the data path reads without a lock, and a notification the
//! topology refresher waits on when a master goes down or a node becomes master.
//!
//! Signals:
//! - **active** — [`probe`]: one task per node, on a dedicated connection, sends `PING` and
//!   `ROLE` every `health.interval`; `down_after` failures in a row mark the node down,
//!   `up_after` successes in a row bring a down node back.
//! - **passive** — the data path calls [`HealthTable::report_failure`] on a connection error
//!   or timeout: an up node becomes suspect and is probed at once. Passive signals alone
//!   never mark a node down; the probe decides.
//!
//! Layout: this file holds the settings, the state machine and the table; `probe` the
//! checker tasks.

pub mod probe;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::Notify;

use crate::metrics::metrics;
pub use crate::metrics::Role;

/// The `[health]` section of the config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// How often each node is probed.
    #[serde(default = "defaults::interval", deserialize_with = "duration")]
    pub interval: Duration,
    /// A probe without both replies within this long failed.
    #[serde(default = "defaults::timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// Failed probes in a row that mark a node down.
    #[serde(default = "defaults::down_after")]
    pub down_after: u32,
    /// Successful probes in a row that bring a down node back up.
    #[serde(default = "defaults::up_after")]
    pub up_after: u32,
}

impl Default for HealthConfig {
    fn default() -> HealthConfig {
        HealthConfig {
            interval: defaults::interval(),
            timeout: defaults::timeout(),
            down_after: defaults::down_after(),
            up_after: defaults::up_after(),
        }
    }
}

impl HealthConfig {
    /// Every problem with the values (prefixed `health.`).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.interval < Duration::from_millis(10) {
            problems.push("health.interval must be at least 10ms".to_owned());
        }
        if self.timeout.is_zero() {
            problems.push("health.timeout must be above 0".to_owned());
        }
        if self.down_after == 0 || self.up_after == 0 {
            problems.push("health.down_after and health.up_after must be at least 1".to_owned());
        }
        problems
    }
}

mod defaults {
    use std::time::Duration;
    pub fn interval() -> Duration {
        Duration::from_secs(1)
    }
    pub fn timeout() -> Duration {
        Duration::from_millis(500)
    }
    pub fn down_after() -> u32 {
        3
    }
    pub fn up_after() -> u32 {
        2
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    crate::config::parse_duration(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration like \"250ms\" or \"5s\""
        ))
    })
}

/// A node's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Up,
    /// A probe or a request failed; not yet down.
    Suspect,
    Down,
}

/// What the data path and the admin endpoint see of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub state: State,
    /// From the node's own `ROLE` reply; `None` until it answered once.
    pub role: Option<Role>,
    /// Replica addresses a master reported in `ROLE`.
    pub replicas: Vec<String>,
}

/// One node's state machine.
#[derive(Debug, Clone)]
struct Tracker {
    status: NodeStatus,
    failures: u32,
    successes: u32,
}

impl Tracker {
    fn new() -> Tracker {
        Tracker {
            status: NodeStatus {
                state: State::Up,
                role: None,
                replicas: Vec::new(),
            },
            failures: 0,
            successes: 0,
        }
    }

    /// Applies one probe result and returns the new state.
    fn observe(&mut self, ok: bool, config: &HealthConfig) -> State {
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if self.status.state == State::Suspect || self.successes >= config.up_after {
                self.status.state = State::Up;
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            self.status.state = if self.failures >= config.down_after {
                State::Down
            } else {
                self.status.state.max_suspect()
            };
        }
        self.status.state
    }
}

impl State {
    /// Up becomes suspect; suspect and down stay.
    fn max_suspect(self) -> State {
        match self {
            State::Up => State::Suspect,
            other => other,
        }
    }
}

/// Every tracked node's health, shared by the probes, the data path and the admin endpoint.
#[derive(Debug, Default)]
pub struct HealthTable {
    trackers: Mutex<HashMap<String, Tracker>>,
    snapshot: ArcSwap<HashMap<String, NodeStatus>>,
    /// Whether the snapshot marks any node down: the data path asks [`HealthTable::is_down`]
    /// for every request, and this spares it the map lookup while every node is up.
    any_down: AtomicBool,
    /// Signalled when a master goes down or a node becomes master: refresh the topology.
    topology_changed: Notify,
    /// Signalled by a passive failure: probe now.
    probe_now: Notify,
}

impl HealthTable {
    pub fn new() -> Arc<HealthTable> {
        Arc::new(HealthTable::default())
    }

    /// Every node's status (lock-free read).
    pub fn snapshot(&self) -> Arc<HashMap<String, NodeStatus>> {
        self.snapshot.load_full()
    }

    /// Whether `addr` is known to be down (unknown nodes are not).
    pub fn is_down(&self, addr: &str) -> bool {
        self.any_down.load(Ordering::Acquire)
            && self
                .snapshot
                .load()
                .get(addr)
                .is_some_and(|s| s.state == State::Down)
    }

    /// The state of `addr`, `None` while it is not tracked.
    pub fn state(&self, addr: &str) -> Option<State> {
        self.snapshot.load().get(addr).map(|s| s.state)
    }

    /// Waits until a master went down or a node became master since the last wait.
    pub async fn topology_changed(&self) {
        self.topology_changed.notified().await;
    }

    /// A passive failure (connection error, timeout) on a request to `addr`.
    pub fn report_failure(&self, addr: &str) {
        let changed = {
            let mut trackers = self.lock();
            match trackers.get_mut(addr) {
                Some(t) if t.status.state == State::Up => {
                    t.status.state = State::Suspect;
                    true
                }
                _ => false,
            }
        };
        if changed {
            tracing::info!(node = addr, "backend suspect after a failed request");
            self.publish();
            self.probe_now.notify_waiters();
        }
    }

    /// Applies one probe result (`role` and `replicas` when it answered).
    fn observe(&self, addr: &str, answer: Option<(Role, Vec<String>)>, config: &HealthConfig) {
        let (before, after) = {
            let mut trackers = self.lock();
            let tracker = trackers.entry(addr.to_owned()).or_insert_with(Tracker::new);
            let before = tracker.status.clone();
            tracker.observe(answer.is_some(), config);
            if let Some((role, replicas)) = answer {
                tracker.status.role = Some(role);
                tracker.status.replicas = replicas;
            }
            (before, tracker.status.clone())
        };
        if before == after {
            return;
        }
        self.publish();
        metrics().backend_state(addr, after.state != State::Down, after.role);
        if before.state != after.state {
            tracing::warn!(node = addr, from = ?before.state, to = ?after.state, role = ?after.role, "backend health changed");
        }
        let master_down = after.state == State::Down
            && before.state != State::Down
            && after.role != Some(Role::Replica);
        let promoted = after.role == Some(Role::Master) && before.role == Some(Role::Replica);
        if master_down || promoted {
            self.topology_changed.notify_one();
        }
    }

    /// Stops tracking nodes not in `keep`.
    fn retain(&self, keep: &[String]) {
        let gone: Vec<String> = {
            let mut trackers = self.lock();
            let gone = trackers
                .keys()
                .filter(|a| !keep.contains(a))
                .cloned()
                .collect();
            trackers.retain(|a, _| keep.contains(a));
            gone
        };
        if !gone.is_empty() {
            gone.iter().for_each(|addr| metrics().backend_gone(addr));
            self.publish();
        }
    }

    fn publish(&self) {
        let snapshot: HashMap<String, NodeStatus> = self
            .lock()
            .iter()
            .map(|(a, t)| (a.clone(), t.status.clone()))
            .collect();
        let any_down = snapshot.values().any(|s| s.state == State::Down);
        self.snapshot.store(Arc::new(snapshot));
        self.any_down.store(any_down, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tracker>> {
        self.trackers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: HealthConfig = HealthConfig {
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        down_after: 3,
        up_after: 2,
    };

    #[test]
    fn down_needs_failures_in_a_row_and_up_needs_successes() {
        let mut t = Tracker::new();
        assert_eq!(t.observe(false, &CONFIG), State::Suspect);
        assert_eq!(t.observe(true, &CONFIG), State::Up);
        assert_eq!(t.observe(false, &CONFIG), State::Suspect);
        assert_eq!(t.observe(false, &CONFIG), State::Suspect);
        assert_eq!(t.observe(false, &CONFIG), State::Down);
        assert_eq!(
            t.observe(true, &CONFIG),
            State::Down,
            "one success is not enough"
        );
        assert_eq!(t.observe(false, &CONFIG), State::Down);
        assert_eq!(t.observe(true, &CONFIG), State::Down);
        assert_eq!(t.observe(true, &CONFIG), State::Up);
    }

    #[tokio::test]
    async fn a_master_going_down_asks_for_a_refresh() {
        let table = HealthTable::new();
        table.observe("m:1", Some((Role::Master, vec!["r:2".into()])), &CONFIG);
        table.report_failure("m:1");
        assert_eq!(table.snapshot()["m:1"].state, State::Suspect);
        for _ in 0..3 {
            table.observe("m:1", None, &CONFIG);
        }
        assert!(table.is_down("m:1"));
        tokio::time::timeout(Duration::from_secs(1), table.topology_changed())
            .await
            .expect("notified");
        table.retain(&[]);
        assert!(table.snapshot().is_empty());
    }

    #[test]
    fn the_section_parses_with_defaults() {
        let config: HealthConfig = toml::from_str("interval = \"200ms\"").unwrap();
        assert_eq!(config.interval, Duration::from_millis(200));
        assert_eq!(config.down_after, 3);
        assert!(toml::from_str::<HealthConfig>("bogus = 1").is_err());
        assert!(
            HealthConfig {
                down_after: 0,
                ..HealthConfig::default()
            }
            .problems()
            .len()
                == 1
        );
    }
}
