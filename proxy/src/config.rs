//! The proxy's TOML configuration: typed, with units in the values (`"250ms"`, `"64MiB"`),
//! unknown keys rejected, and [`Config::validate`] listing every problem at once. The whole
//! `Config` is immutable once loaded; a reload (issue 7) builds a new one and swaps it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub proxy: ProxyConfig,
    /// The HTTP admin endpoint (`/metrics`, `/healthz`, …); parsed now, served with issue 7.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    pub cluster: ClusterConfig,
    /// Backend health checks (`health::HealthConfig`).
    #[serde(default)]
    pub health: crate::health::HealthConfig,
    /// The data path's metrics.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The file this config was loaded from (watched for hot reload); not a TOML key.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// The text it was loaded from: what the reloader compares the file with.
    #[serde(skip)]
    pub source_text: String,
}

/// The client-facing side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// TCP address legacy clients connect to.
    pub listen: SocketAddr,
    /// Optional unix socket path to listen on as well.
    #[serde(default)]
    pub unix_socket: Option<PathBuf>,
    /// When set, clients must `AUTH` with it before anything else.
    #[serde(default)]
    pub password: Option<String>,
    /// Connections beyond this get `-ERR max number of clients reached` and are closed.
    #[serde(default = "defaults::max_clients")]
    pub max_clients: usize,
    /// Close a client idle for this long; `"0s"` never does.
    #[serde(default = "defaults::zero", deserialize_with = "duration")]
    pub idle_timeout: Duration,
    /// Largest bulk argument a client may send.
    #[serde(default = "defaults::max_request_size", deserialize_with = "size")]
    pub max_request_size: usize,
    /// Stop reading from a client with this many requests awaiting their replies.
    #[serde(default = "defaults::max_pending")]
    pub max_pending: usize,
    /// Worker threads; 0 = one per core but one (at least one): see [`Config::workers`].
    #[serde(default)]
    pub workers: usize,
    /// A command slower than this (arrival to reply) is logged at `warn` and counted.
    #[serde(default = "defaults::slowlog_threshold", deserialize_with = "duration")]
    pub slowlog_threshold: Duration,
    /// On SIGTERM/SIGINT, how long clients get to receive the replies to what they sent.
    #[serde(default = "defaults::shutdown_timeout", deserialize_with = "duration")]
    pub shutdown_timeout: Duration,
}

/// The admin HTTP endpoint (issue 7).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub listen: SocketAddr,
}

/// The `[metrics]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Count commands, backend requests, redirections, bytes and pipeline depth; `false`
    /// leaves only the gauges (health, slots, clients) and process metrics. Hot-reloadable.
    #[serde(default = "defaults::yes")]
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> MetricsConfig {
        MetricsConfig { enabled: true }
    }
}

/// The backend Redis Cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Any reachable nodes, `host:port`; the rest of the cluster is discovered.
    pub seeds: Vec<String>,
    /// ACL user for backend connections (with `password`); default user when absent.
    #[serde(default)]
    pub user: Option<String>,
    /// Backend `requirepass`.
    #[serde(default)]
    pub password: Option<String>,
    /// How often the slot map is re-read even when nothing forces it.
    #[serde(default = "defaults::refresh_interval", deserialize_with = "duration")]
    pub refresh_interval: Duration,
    /// Minimum time between two refreshes triggered by MOVED or failures.
    #[serde(default = "defaults::min_refresh_gap", deserialize_with = "duration")]
    pub min_refresh_gap: Duration,
    #[serde(default = "defaults::connect_timeout", deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// A request (redirections and retries included) fails after this long.
    #[serde(default = "defaults::request_timeout", deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// Redirections (MOVED/ASK) and retries (TRYAGAIN/CLUSTERDOWN) per request.
    #[serde(default = "defaults::max_redirects")]
    pub max_redirects: u8,
    /// Shared, multiplexed connections per backend node on each worker thread (0 means 1).
    #[serde(default)]
    pub connections_per_node: usize,
    /// Where read-only commands go: `"master"`, `"replica"` or `"replica_preferred"`
    /// (see [`crate::router::ReadFrom`]); writes always go to the master.
    #[serde(default)]
    pub read_from: crate::router::ReadFrom,
}

mod defaults {
    use std::time::Duration;
    pub fn yes() -> bool {
        true
    }
    pub fn max_clients() -> usize {
        10_000
    }
    pub fn zero() -> Duration {
        Duration::ZERO
    }
    pub fn max_request_size() -> usize {
        512 << 20
    }
    pub fn max_pending() -> usize {
        4096
    }
    pub fn slowlog_threshold() -> Duration {
        Duration::from_millis(100)
    }
    pub fn shutdown_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub fn refresh_interval() -> Duration {
        Duration::from_secs(10)
    }
    pub fn min_refresh_gap() -> Duration {
        Duration::from_millis(100)
    }
    pub fn connect_timeout() -> Duration {
        Duration::from_secs(1)
    }
    pub fn request_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub fn max_redirects() -> u8 {
        5
    }
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let config =
            Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Config {
            source: Some(path.to_owned()),
            source_text: text,
            ..config
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        config
            .validate()
            .map_err(|problems| anyhow::anyhow!("invalid config:\n  {}", problems.join("\n  ")))?;
        Ok(config)
    }

    /// Every problem with the values, or `Ok`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.cluster.seeds.is_empty() {
            problems.push("cluster.seeds: at least one seed node is needed".to_owned());
        }
        for seed in &self.cluster.seeds {
            if !seed
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            {
                problems.push(format!("cluster.seeds: {seed:?} is not host:port"));
            }
        }
        if self.cluster.user.is_some() && self.cluster.password.is_none() {
            problems.push("cluster.user needs cluster.password".to_owned());
        }
        if self.proxy.max_clients == 0 {
            problems.push("proxy.max_clients must be at least 1".to_owned());
        }
        if self.proxy.max_pending == 0 {
            problems.push("proxy.max_pending must be at least 1".to_owned());
        }
        if self.proxy.slowlog_threshold.is_zero() {
            problems.push("proxy.slowlog_threshold must be above 0".to_owned());
        }
        if self.proxy.shutdown_timeout > Duration::from_secs(3600) {
            problems.push("proxy.shutdown_timeout must be at most 1h".to_owned());
        }
        if self.cluster.request_timeout.is_zero() {
            problems.push("cluster.request_timeout must be above 0".to_owned());
        }
        if self.cluster.connect_timeout.is_zero() {
            problems.push("cluster.connect_timeout must be above 0".to_owned());
        }
        if self.cluster.refresh_interval < Duration::from_millis(100) {
            problems.push("cluster.refresh_interval must be at least 100ms".to_owned());
        }
        problems.extend(self.health.problems());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Worker threads to run: the configured count, or one per core but one (at least one).
    /// The default leaves a core to the rest of the machine: a proxy request is mostly
    /// kernel TCP work on both of its sockets, the clients, the kernel's network path and
    /// often the backends share the proxy's cores, and a worker per core only splits each
    /// backend's batches in two (measured on 2 cores, GET -P 1: one worker needs 30% less
    /// proxy CPU and a third less backend CPU per request than two; benches/README.md).
    pub fn workers(&self) -> usize {
        match self.proxy.workers {
            0 => std::thread::available_parallelism()
                .map_or(1, usize::from)
                .saturating_sub(1)
                .max(1),
            n => n,
        }
    }

    /// Shared connections per backend node on each worker thread.
    pub fn connections_per_node(&self) -> usize {
        self.cluster.connections_per_node.max(1)
    }
}

/// `"250ms"`, `"5s"`, `"2m"`, `"1h"`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    Some(match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    })
}

/// `"512"`, `"64KiB"`, `"64MiB"`, `"1GiB"` (also `kb`/`mb`/`gb`, as binary units like Redis).
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: usize = number.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "kib" | "kb" | "k" => 10,
        "mib" | "mb" | "m" => 20,
        "gib" | "gb" | "g" => 30,
        _ => return None,
    };
    n.checked_mul(1usize << shift)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration like \"250ms\" or \"5s\""
        ))
    })
}

fn size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let text = String::deserialize(d)?;
    parse_size(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a size like \"64MiB\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("1xb"), None);
    }

    #[test]
    fn the_example_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/slotgate.toml");
        let config = Config::load(&path).expect("config/slotgate.toml");
        assert_eq!(config.proxy.listen.port(), 7777);
        assert_eq!(config.cluster.max_redirects, 5);
        assert_eq!(config.proxy.slowlog_threshold, Duration::from_millis(100));
        assert_eq!(config.proxy.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(config.cluster.read_from, crate::router::ReadFrom::Master);
        assert!(config.metrics.enabled);
    }

    #[test]
    fn slowlog_and_shutdown_settings() {
        let base = "[cluster]\nseeds = [\"127.0.0.1:7000\"]\n[proxy]\nlisten = \"127.0.0.1:1\"\n";
        let config = Config::parse(base).expect("defaults");
        assert_eq!(config.proxy.slowlog_threshold, Duration::from_millis(100));
        assert_eq!(config.proxy.shutdown_timeout, Duration::from_secs(5));
        let text = format!("{base}slowlog_threshold = \"10ms\"\nshutdown_timeout = \"2s\"\n");
        let config = Config::parse(&text).expect("set");
        assert_eq!(config.proxy.slowlog_threshold, Duration::from_millis(10));
        assert_eq!(config.proxy.shutdown_timeout, Duration::from_secs(2));
        let zero = format!("{base}slowlog_threshold = \"0s\"\n");
        let err = Config::parse(&zero).expect_err("zero").to_string();
        assert!(err.contains("slowlog_threshold"), "{err}");
        let bad = format!("{base}slowlog_threshold = \"10\"\n");
        assert!(Config::parse(&bad).is_err());
    }

    #[test]
    fn read_policy() {
        let base = "[proxy]\nlisten = \"127.0.0.1:1\"\n[cluster]\nseeds = [\"127.0.0.1:7000\"]\n";
        let config = Config::parse(&format!("{base}read_from = \"replica\"\n")).expect("replica");
        assert_eq!(config.cluster.read_from, crate::router::ReadFrom::Replica);
        let err = Config::parse(&format!("{base}read_from = \"slaves\"\n"))
            .expect_err("unknown policy")
            .to_string();
        assert!(err.contains("read_from") || err.contains("slaves"), "{err}");
        let off = Config::parse(&format!("{base}[metrics]\nenabled = false\n")).expect("off");
        assert!(!off.metrics.enabled);
    }

    #[test]
    fn every_problem_is_listed() {
        let text = "[proxy]\nlisten = \"127.0.0.1:1\"\nmax_clients = 0\n[cluster]\nseeds = [\"nope\"]\nuser = \"u\"\n";
        let err = Config::parse(text).expect_err("invalid").to_string();
        for needle in ["not host:port", "needs cluster.password", "max_clients"] {
            assert!(err.contains(needle), "{err}");
        }
        assert!(Config::parse(
            "[proxy]\nlisten = \"127.0.0.1:1\"\nbogus = 1\n[cluster]\nseeds = []\n"
        )
        .is_err());
    }
}
