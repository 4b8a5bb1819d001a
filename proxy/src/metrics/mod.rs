//! Prometheus metrics: one process-wide [`Metrics`] ([`metrics()`]) with a small API the data
//! path calls. Every family is declared once in [`families`]; label values are bounded
//! (command names from the command table, else `unknown`; backend addresses; fixed kinds).
//!
//! The hot path stays cheap: per-command handles live in an array indexed by the command's
//! position in the table and are resolved on first use (one lock, once); after that a call
//! is the table's position lookup of the name plus atomic adds — no allocation, no lock.
//! Backend handles are resolved once per connection ([`Metrics::backend`]); a connection's
//! reader counts into a local [`BackendTally`] flushed once per batch of replies.
//! [`Metrics::set_enabled`] — the config's `[metrics] enabled` — turns every hot-path call
//! into one relaxed load.

mod families;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use prometheus::local::{LocalHistogram, LocalIntCounter};
use prometheus::{Encoder, Histogram, IntCounter, Registry, TextEncoder};
use slotgate_protocol::command::table;
use slotgate_protocol::redirect::ClusterError;

use families::Families;
pub use families::NAMES;

/// The label value of a command the table does not know.
const UNKNOWN: &str = "unknown";

/// The process-wide metrics, created on first use.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Kinds of backend redirections and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    Moved,
    Ask,
    TryAgain,
    ClusterDown,
}

impl Redirect {
    /// The kind of a cluster error reply (CROSSSLOT, never retried, counts as CLUSTERDOWN).
    pub fn of(err: &ClusterError) -> Redirect {
        match err {
            ClusterError::Moved { .. } => Redirect::Moved,
            ClusterError::Ask { .. } => Redirect::Ask,
            ClusterError::TryAgain => Redirect::TryAgain,
            ClusterError::ClusterDown(_) | ClusterError::CrossSlot => Redirect::ClusterDown,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Redirect::Moved => "moved",
            Redirect::Ask => "ask",
            Redirect::TryAgain => "tryagain",
            Redirect::ClusterDown => "clusterdown",
        }
    }
}

/// A backend node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

/// One command's pre-resolved series.
struct CommandSeries {
    ok: IntCounter,
    error: IntCounter,
    latency: Histogram,
}

/// One backend node's pre-resolved series; cheap to clone, kept by its connection.
#[derive(Clone)]
pub struct BackendMetrics {
    requests: IntCounter,
    errors: IntCounter,
    latency: Histogram,
}

impl BackendMetrics {
    /// A local tally for a connection's reader (see [`BackendTally`]).
    pub fn tally(&self) -> BackendTally {
        BackendTally {
            requests: self.requests.local(),
            errors: self.errors.local(),
            latency: self.latency.local(),
        }
    }

    /// Counts `n` requests that got no reply (connect failed, connection lost).
    pub fn failed(&self, n: usize) {
        if n == 0 || !enabled() {
            return;
        }
        self.requests.inc_by(n as u64);
        self.errors.inc_by(n as u64);
    }
}

/// One connection reader's counts of its backend's round trips, kept without atomics and
/// added to the shared series once per batch of replies ([`BackendTally::flush`]).
pub struct BackendTally {
    requests: LocalIntCounter,
    errors: LocalIntCounter,
    latency: LocalHistogram,
}

impl BackendTally {
    /// Counts one backend round trip (`ok` = a non-error reply arrived).
    pub fn request(&mut self, ok: bool, seconds: f64) {
        if !enabled() {
            return;
        }
        self.requests.inc();
        if !ok {
            self.errors.inc();
        }
        self.latency.observe(seconds);
    }

    /// Adds what was counted since the last flush to the shared series.
    pub fn flush(&mut self) {
        self.requests.flush();
        self.errors.flush();
        self.latency.flush();
    }
}

impl Drop for BackendTally {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The registry and every handle the data path uses.
pub struct Metrics {
    registry: Registry,
    families: Families,
    /// Each top-level command's series, at its position in the command table (the last
    /// slot is `unknown`).
    commands: Vec<OnceLock<CommandSeries>>,
    backends: Mutex<HashMap<String, BackendMetrics>>,
}

static ENABLED: AtomicBool = AtomicBool::new(true);

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        // The list is static and every name is distinct, so registration cannot fail.
        let families = Families::register(&registry).expect("metric families register");
        families
            .build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        touch_fixed_labels(&families);
        let _ = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        let commands = (0..=table().len()).map(|_| OnceLock::new()).collect();
        Metrics {
            registry,
            families,
            commands,
            backends: Mutex::new(HashMap::new()),
        }
    }

    /// Turns the hot-path counters on or off (gauges and the endpoint keep working).
    pub fn set_enabled(on: bool) {
        ENABLED.store(on, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(64 * 1024);
        // Encoding into a Vec only fails on invalid metric families, which the list rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// A command was answered: `name` as the table spells it (`get`, `config|get`, any
    /// case is not accepted — use the table's lowercase name), `ok` = not an error reply.
    pub fn command_done(&self, name: &str, ok: bool, seconds: f64) {
        if !enabled() {
            return;
        }
        let series = self.command_series(name);
        if ok { &series.ok } else { &series.error }.inc();
        series.latency.observe(seconds);
    }

    /// A command exceeded the slow-command threshold.
    pub fn slow_command(&self, name: &str) {
        let top = top_level(name);
        let label = if table().position(top.as_bytes()).is_some() {
            top
        } else {
            UNKNOWN
        };
        self.families
            .slow_commands_total
            .with_label_values(&[label])
            .inc();
    }

    fn command_series(&self, name: &str) -> &CommandSeries {
        let top = top_level(name);
        let (index, label) = match table().position(top.as_bytes()) {
            Some(index) => (index, top),
            None => (self.commands.len() - 1, UNKNOWN),
        };
        self.commands[index].get_or_init(|| CommandSeries {
            ok: self
                .families
                .commands_total
                .with_label_values(&[label, "ok"]),
            error: self
                .families
                .commands_total
                .with_label_values(&[label, "error"]),
            latency: self
                .families
                .command_duration_seconds
                .with_label_values(&[label]),
        })
    }

    /// The handles of backend `addr` (resolve once per connection, then call `request`).
    pub fn backend(&self, addr: &str) -> BackendMetrics {
        let mut backends = self.backends.lock().unwrap_or_else(|p| p.into_inner());
        let f = &self.families;
        backends
            .entry(addr.to_owned())
            .or_insert_with(|| BackendMetrics {
                requests: f.backend_requests_total.with_label_values(&[addr]),
                errors: f.backend_errors_total.with_label_values(&[addr]),
                latency: f
                    .backend_request_duration_seconds
                    .with_label_values(&[addr]),
            })
            .clone()
    }

    /// A backend's health and role, as the health checker sees them.
    pub fn backend_state(&self, addr: &str, up: bool, role: Option<Role>) {
        let f = &self.families;
        f.backend_up.with_label_values(&[addr]).set(i64::from(up));
        if let Some(role) = role {
            f.backend_role
                .with_label_values(&[addr, "master"])
                .set(i64::from(role == Role::Master));
            f.backend_role
                .with_label_values(&[addr, "replica"])
                .set(i64::from(role == Role::Replica));
        }
    }

    /// A backend left the topology: its gauges are removed.
    pub fn backend_gone(&self, addr: &str) {
        let f = &self.families;
        let _ = f.backend_up.remove_label_values(&[addr]);
        let _ = f.backend_role.remove_label_values(&[addr, "master"]);
        let _ = f.backend_role.remove_label_values(&[addr, "replica"]);
    }

    /// One active health check finished.
    pub fn health_check(&self, ok: bool) {
        self.families
            .health_checks_total
            .with_label_values(&[result(ok)])
            .inc();
    }

    /// A backend answered with a redirection or a retryable error.
    pub fn redirect_seen(&self, kind: Redirect) {
        if enabled() {
            self.families
                .redirects_seen_total
                .with_label_values(&[kind.label()])
                .inc();
        }
    }

    /// A request was re-sent because of `kind`.
    pub fn redirect_retried(&self, kind: Redirect) {
        if enabled() {
            self.families
                .redirects_retried_total
                .with_label_values(&[kind.label()])
                .inc();
        }
    }

    pub fn client_connected(&self) {
        self.families.client_connections.inc();
        self.families.client_connections_total.inc();
    }

    pub fn client_disconnected(&self) {
        self.families.client_connections.dec();
    }

    pub fn client_rejected(&self) {
        self.families.client_rejected_total.inc();
    }

    pub fn topology_refresh(&self, ok: bool) {
        self.families
            .topology_refreshes_total
            .with_label_values(&[result(ok)])
            .inc();
    }

    pub fn slots_covered(&self, slots: usize) {
        self.families
            .slots_covered
            .set(i64::try_from(slots).unwrap_or(i64::MAX));
    }

    /// A config load or reload finished; success also stamps the time.
    pub fn config_reload(&self, ok: bool) {
        self.families
            .config_reloads_total
            .with_label_values(&[result(ok)])
            .inc();
        if ok {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            self.families
                .config_last_reload_success_timestamp_seconds
                .set(i64::try_from(now).unwrap_or(i64::MAX));
        }
    }

    /// A request was split into `parts` parts.
    pub fn fanout_parts(&self, parts: usize) {
        if enabled() {
            self.families.fanout_parts.observe(parts as f64);
        }
    }

    /// One client read yielded `requests` complete requests.
    pub fn pipeline_depth(&self, requests: usize) {
        if enabled() {
            self.families.pipeline_depth.observe(requests as f64);
        }
    }

    pub fn bytes_in(&self, n: usize) {
        if enabled() {
            self.families.client_read_bytes_total.inc_by(n as u64);
        }
    }

    pub fn bytes_out(&self, n: usize) {
        if enabled() {
            self.families.client_written_bytes_total.inc_by(n as u64);
        }
    }
}

/// Creates every series whose label values are a fixed set, so dashboards and alerts see
/// zeros instead of no data before the first event.
fn touch_fixed_labels(f: &Families) {
    for kind in [
        Redirect::Moved,
        Redirect::Ask,
        Redirect::TryAgain,
        Redirect::ClusterDown,
    ] {
        f.redirects_seen_total.with_label_values(&[kind.label()]);
        f.redirects_retried_total.with_label_values(&[kind.label()]);
    }
    for ok in [true, false] {
        f.topology_refreshes_total.with_label_values(&[result(ok)]);
        f.config_reloads_total.with_label_values(&[result(ok)]);
        f.health_checks_total.with_label_values(&[result(ok)]);
    }
}

fn top_level(name: &str) -> &str {
    name.split('|').next().unwrap_or(name)
}

fn result(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()
    }

    #[test]
    fn commands_are_counted_by_name_and_result() {
        let m = metrics();
        m.command_done("get", true, 0.001);
        m.command_done("config|get", false, 0.002);
        m.command_done("no-such-command", true, 0.0);
        let text = m.encode();
        assert!(
            line_value(
                &text,
                r#"slotgate_commands_total{command="get",result="ok"}"#
            )
            .unwrap()
                >= 1.0,
            "{text}"
        );
        assert!(
            line_value(
                &text,
                r#"slotgate_commands_total{command="config",result="error"}"#
            )
            .unwrap()
                >= 1.0
        );
        assert!(
            line_value(
                &text,
                r#"slotgate_commands_total{command="unknown",result="ok"}"#
            )
            .unwrap()
                >= 1.0
        );
        assert!(
            text.contains(r#"slotgate_command_duration_seconds_bucket{command="get",le="0.001"}"#)
        );
        assert!(
            !text.contains(r#"command="zadd""#),
            "unused commands export nothing"
        );
    }

    #[test]
    fn every_declared_family_is_exported() {
        let m = metrics();
        let mut tally = m.backend("127.0.0.1:1").tally();
        tally.request(false, 0.01);
        tally.flush();
        m.backend_state("127.0.0.1:1", true, Some(Role::Replica));
        for kind in [
            Redirect::Moved,
            Redirect::Ask,
            Redirect::TryAgain,
            Redirect::ClusterDown,
        ] {
            m.redirect_seen(kind);
            m.redirect_retried(kind);
        }
        m.command_done("get", true, 0.001);
        m.slow_command("get");
        m.health_check(true);
        m.topology_refresh(true);
        m.config_reload(true);
        m.fanout_parts(3);
        m.pipeline_depth(16);
        let text = m.encode();
        for name in NAMES {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} missing");
        }
        assert!(text.contains(r#"slotgate_backend_role{backend="127.0.0.1:1",role="replica"} 1"#));
        assert!(text.contains("process_resident_memory_bytes"));
        m.backend_gone("127.0.0.1:1");
        assert!(!metrics()
            .encode()
            .contains(r#"slotgate_backend_up{backend="127.0.0.1:1"}"#));
    }

    #[test]
    fn names_follow_the_convention() {
        for name in NAMES {
            assert!(name.starts_with("slotgate_"), "{name}");
        }
    }
}
