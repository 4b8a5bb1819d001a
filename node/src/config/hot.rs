//! [`Hot`]: the parameters read on every command (or every batch), parsed once whenever the
//! configuration changes rather than looked up by name and parsed each time.

use super::{Config, OutputLimits};

/// Parsed copies of the per-command parameters.
#[derive(Debug, Clone, Default)]
pub struct Hot {
    /// `slowlog-log-slower-than` (µs; negative: off).
    pub slowlog_log_slower_than: i64,
    /// `maxmemory` (bytes; 0: no limit).
    pub maxmemory: u64,
    /// `client-query-buffer-limit` (bytes).
    pub client_query_buffer_limit: usize,
    /// `cluster-allow-reads-when-down`.
    pub cluster_allow_reads_when_down: bool,
    /// `zset-max-listpack-entries` and `zset-max-listpack-value`.
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// `busy-reply-threshold` (ms): how long a script may run before it is stopped (0: no
    /// limit).
    pub busy_reply_threshold: u64,
    /// `client-output-buffer-limit`, every class.
    pub output_limits: OutputLimits,
}

impl Hot {
    pub(super) fn read(config: &Config) -> Hot {
        let size = |name| config.get_int(name).max(0) as usize;
        Hot {
            slowlog_log_slower_than: config.get_int("slowlog-log-slower-than"),
            maxmemory: config.get_int("maxmemory").max(0) as u64,
            client_query_buffer_limit: size("client-query-buffer-limit"),
            cluster_allow_reads_when_down: config.get_bool("cluster-allow-reads-when-down"),
            zset_max_listpack_entries: size("zset-max-listpack-entries"),
            zset_max_listpack_value: size("zset-max-listpack-value"),
            busy_reply_threshold: config.get_int("busy-reply-threshold").max(0) as u64,
            output_limits: OutputLimits::parse(config.get("client-output-buffer-limit"))
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_config_set() {
        let mut config = Config::default();
        assert_eq!(config.hot().slowlog_log_slower_than, 10_000);
        config.set("slowlog-log-slower-than", "-1").unwrap();
        config.set("maxmemory", "1mb").unwrap();
        assert_eq!(config.hot().slowlog_log_slower_than, -1);
        assert_eq!(config.hot().maxmemory, 1024 * 1024);
        assert_eq!(config.hot().busy_reply_threshold, 5000);
        config.set("lua-time-limit", "200").unwrap();
        assert_eq!(config.hot().busy_reply_threshold, 200);
    }
}
