//! Every metric slotgate exports, declared once in one list — name, type, help, labels —
//! as twemproxy's `nc_stats.h` does. [`Families`] holds the registered families; the
//! hot-path API in the parent module resolves label values into handles up front.

use prometheus::core::Collector;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Latency buckets in seconds: 100 µs to 10 s.
const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Parts of one fanned-out request.
const PARTS: &[f64] = &[1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0];
/// Requests taken from one client read.
const DEPTH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

/// A metric type that can be built from a name, help, labels and (for histograms) buckets.
trait Declare: Collector + Clone + Sized + 'static {
    fn declare(
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> prometheus::Result<Self>;
}

impl Declare for IntCounter {
    fn declare(name: &str, help: &str, _: &[&str], _: &[f64]) -> prometheus::Result<Self> {
        IntCounter::with_opts(Opts::new(name, help))
    }
}

impl Declare for IntGauge {
    fn declare(name: &str, help: &str, _: &[&str], _: &[f64]) -> prometheus::Result<Self> {
        IntGauge::with_opts(Opts::new(name, help))
    }
}

impl Declare for IntCounterVec {
    fn declare(name: &str, help: &str, labels: &[&str], _: &[f64]) -> prometheus::Result<Self> {
        IntCounterVec::new(Opts::new(name, help), labels)
    }
}

impl Declare for IntGaugeVec {
    fn declare(name: &str, help: &str, labels: &[&str], _: &[f64]) -> prometheus::Result<Self> {
        IntGaugeVec::new(Opts::new(name, help), labels)
    }
}

impl Declare for Histogram {
    fn declare(name: &str, help: &str, _: &[&str], buckets: &[f64]) -> prometheus::Result<Self> {
        Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
    }
}

impl Declare for HistogramVec {
    fn declare(
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> prometheus::Result<Self> {
        HistogramVec::new(
            HistogramOpts::new(name, help).buckets(buckets.to_vec()),
            labels,
        )
    }
}

/// Declares the [`Families`] struct, its registration, and [`NAMES`] from one list.
macro_rules! families {
    ($($field:ident: $ty:ty = $name:literal, $help:literal, [$($label:literal),*], $buckets:expr;)*) => {
        /// Every metric family, registered in one registry.
        #[derive(Clone)]
        pub struct Families {
            $(pub $field: $ty,)*
        }

        impl Families {
            /// Builds every family and registers it in `registry`.
            pub fn register(registry: &Registry) -> prometheus::Result<Families> {
                Ok(Families {
                    $($field: {
                        let metric = <$ty>::declare($name, $help, &[$($label),*], $buckets)?;
                        registry.register(Box::new(metric.clone()))?;
                        metric
                    },)*
                })
            }
        }

        /// The name of every family, in declaration order (dashboards are checked against it).
        pub const NAMES: &[&str] = &[$($name),*];
    };
}

families! {
    client_connections: IntGauge = "slotgate_client_connections", "Clients connected now.", [], &[];
    client_connections_total: IntCounter = "slotgate_client_connections_total", "Clients accepted since start.", [], &[];
    client_rejected_total: IntCounter = "slotgate_client_rejected_total", "Clients refused because max_clients were connected.", [], &[];
    client_read_bytes_total: IntCounter = "slotgate_client_read_bytes_total", "Bytes read from clients.", [], &[];
    client_written_bytes_total: IntCounter = "slotgate_client_written_bytes_total", "Bytes written to clients.", [], &[];
    pipeline_depth: Histogram = "slotgate_pipeline_depth", "Complete requests taken from one client read.", [], DEPTH;
    commands_total: IntCounterVec = "slotgate_commands_total", "Client commands answered, by command and result (ok or error).", ["command", "result"], &[];
    command_duration_seconds: HistogramVec = "slotgate_command_duration_seconds", "Time from a command's arrival to its reply being ready, by command.", ["command"], SECONDS;
    slow_commands_total: IntCounterVec = "slotgate_slow_commands_total", "Commands slower than proxy.slowlog_threshold, by command.", ["command"], &[];
    fanout_parts: Histogram = "slotgate_fanout_parts", "Parts a multi-key or all-masters command was split into.", [], PARTS;
    backend_requests_total: IntCounterVec = "slotgate_backend_requests_total", "Requests sent to a backend node.", ["backend"], &[];
    backend_errors_total: IntCounterVec = "slotgate_backend_errors_total", "Backend requests that failed (connection error, timeout) or got an error reply.", ["backend"], &[];
    backend_request_duration_seconds: HistogramVec = "slotgate_backend_request_duration_seconds", "Backend round-trip time, by node.", ["backend"], SECONDS;
    backend_up: IntGaugeVec = "slotgate_backend_up", "1 when the backend node answers health checks (up or suspect), 0 when down.", ["backend"], &[];
    backend_role: IntGaugeVec = "slotgate_backend_role", "1 for the node's current role (master or replica), 0 for the other.", ["backend", "role"], &[];
    health_checks_total: IntCounterVec = "slotgate_health_checks_total", "Active health checks (PING), by result.", ["result"], &[];
    redirects_seen_total: IntCounterVec = "slotgate_redirects_seen_total", "MOVED, ASK, TRYAGAIN and CLUSTERDOWN replies received from backends.", ["kind"], &[];
    redirects_retried_total: IntCounterVec = "slotgate_redirects_retried_total", "Requests re-sent after a MOVED, ASK, TRYAGAIN or CLUSTERDOWN.", ["kind"], &[];
    topology_refreshes_total: IntCounterVec = "slotgate_topology_refreshes_total", "Slot map refreshes, by result (ok or error).", ["result"], &[];
    slots_covered: IntGauge = "slotgate_slots_covered", "Hash slots (of 16384) whose master is known and not down.", [], &[];
    config_reloads_total: IntCounterVec = "slotgate_config_reloads_total", "Config reloads, by result (ok or error).", ["result"], &[];
    config_last_reload_success_timestamp_seconds: IntGauge = "slotgate_config_last_reload_success_timestamp_seconds", "Unix time of the last config load that succeeded.", [], &[];
    build_info: IntGaugeVec = "slotgate_build_info", "Always 1; the version label says which slotgate runs.", ["version"], &[];
}
