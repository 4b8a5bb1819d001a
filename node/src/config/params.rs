//! The table of parameters the node knows — name, default, accepted values, whether
//! CONFIG SET may change it — with Redis 7.0's ranges, aliases and error texts.

use super::output_limits::{OutputLimits, DEFAULT as OUTPUT_LIMITS};
use crate::db::parse_i64;

/// What values a parameter accepts, and how it is normalised for `CONFIG GET`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Bool,
    /// An integer (Redis's `string2ll`) within the bounds.
    Int(i64, i64),
    /// Sizes like `64mb` within the bounds; stored as a plain byte count.
    Memory(u64, u64),
    /// A size, or a percentage written `N%` (`maxmemory-clients`).
    MemoryOrPercent,
    Enum(&'static [&'static str]),
    /// `client-output-buffer-limit`: classes updated one by one.
    OutputLimits,
    Str,
}

/// One known parameter.
pub(super) struct Param {
    pub name: &'static str,
    pub default: &'static str,
    pub kind: Kind,
    pub mutable: bool,
}

const fn p(name: &'static str, default: &'static str, kind: Kind, mutable: bool) -> Param {
    Param {
        name,
        default,
        kind,
        mutable,
    }
}

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LLONG_MAX: i64 = i64::MAX;
const MB: u64 = 1024 * 1024;
const SIZE: Kind = Kind::Int(0, LLONG_MAX);
const PORT: Kind = Kind::Int(0, 65535);

/// Every parameter the node knows, in `CONFIG REWRITE` order.
pub(super) static PARAMS: &[Param] = &[
    p("port", "6379", PORT, false),
    p("bind", "* -::*", Kind::Str, false),
    p("dir", "", Kind::Str, false),
    p("save", "3600 1 300 100 60 10000", Kind::Str, true),
    p("dbfilename", "dump.rdb", Kind::Str, true),
    p("appendonly", "no", Kind::Bool, true),
    p("appendfilename", "appendonly.aof", Kind::Str, false),
    p("appenddirname", "appendonlydir", Kind::Str, false),
    p(
        "appendfsync",
        "everysec",
        Kind::Enum(&["always", "everysec", "no"]),
        true,
    ),
    p("aof-load-truncated", "yes", Kind::Bool, true),
    p(
        "auto-aof-rewrite-percentage",
        "100",
        Kind::Int(0, INT_MAX),
        true,
    ),
    p(
        "auto-aof-rewrite-min-size",
        "67108864",
        Kind::Memory(0, LLONG_MAX as u64),
        true,
    ),
    p("requirepass", "", Kind::Str, true),
    p("masterauth", "", Kind::Str, true),
    p("masteruser", "", Kind::Str, true),
    p("protected-mode", "yes", Kind::Bool, true),
    p("maxclients", "10000", Kind::Int(1, UINT_MAX), true),
    p("timeout", "0", Kind::Int(0, INT_MAX), true),
    p("tcp-keepalive", "300", Kind::Int(0, INT_MAX), true),
    p("tcp-backlog", "511", Kind::Int(0, INT_MAX), false),
    p("databases", "16", Kind::Int(1, INT_MAX), false),
    p("maxmemory", "0", Kind::Memory(0, u64::MAX), true),
    p("maxmemory-policy", "noeviction", Kind::Enum(POLICIES), true),
    p("maxmemory-samples", "5", Kind::Int(1, INT_MAX), true),
    p("maxmemory-eviction-tenacity", "10", Kind::Int(0, 100), true),
    p("maxmemory-clients", "0", Kind::MemoryOrPercent, true),
    p(
        "loglevel",
        "notice",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        true,
    ),
    p("logfile", "", Kind::Str, false),
    p("daemonize", "no", Kind::Bool, false),
    p(
        "supervised",
        "no",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        false,
    ),
    p("pidfile", "", Kind::Str, false),
    p("hz", "10", Kind::Int(0, INT_MAX), true),
    p("io-threads", "1", Kind::Int(1, 128), false),
    p(
        "client-output-buffer-limit",
        OUTPUT_LIMITS,
        Kind::OutputLimits,
        true,
    ),
    p(
        "client-query-buffer-limit",
        "1073741824",
        Kind::Memory(MB, LLONG_MAX as u64),
        true,
    ),
    p(
        "proto-max-bulk-len",
        "536870912",
        Kind::Memory(MB, LLONG_MAX as u64),
        true,
    ),
    p("cluster-enabled", "no", Kind::Bool, false),
    p("cluster-config-file", "nodes.conf", Kind::Str, false),
    p("cluster-node-timeout", "15000", SIZE, true),
    p("cluster-port", "0", PORT, false),
    p("cluster-require-full-coverage", "yes", Kind::Bool, true),
    p(
        "cluster-replica-validity-factor",
        "10",
        Kind::Int(0, INT_MAX),
        true,
    ),
    p(
        "cluster-migration-barrier",
        "1",
        Kind::Int(0, INT_MAX),
        true,
    ),
    p("cluster-allow-reads-when-down", "no", Kind::Bool, true),
    p("cluster-announce-ip", "", Kind::Str, true),
    p("cluster-announce-port", "0", PORT, true),
    p("cluster-announce-bus-port", "0", PORT, true),
    p("cluster-announce-hostname", "", Kind::Str, true),
    p("cluster-allow-replica-migration", "yes", Kind::Bool, true),
    p("cluster-replica-no-failover", "no", Kind::Bool, true),
    p(
        "cluster-allow-pubsubshard-when-down",
        "yes",
        Kind::Bool,
        true,
    ),
    p("replica-read-only", "yes", Kind::Bool, true),
    p("replicaof", "", Kind::Str, false),
    p(
        "repl-backlog-size",
        "1048576",
        Kind::Memory(1, LLONG_MAX as u64),
        true,
    ),
    p(
        "repl-ping-replica-period",
        "10",
        Kind::Int(1, INT_MAX),
        true,
    ),
    p("repl-timeout", "60", Kind::Int(1, INT_MAX), true),
    p("replica-priority", "100", Kind::Int(0, INT_MAX), true),
    p("notify-keyspace-events", "", Kind::Str, true),
    p(
        "slowlog-log-slower-than",
        "10000",
        Kind::Int(-1, LLONG_MAX),
        true,
    ),
    p("slowlog-max-len", "128", SIZE, true),
    // Milliseconds a script may run before the node stops it (see `cmd::scripting`).
    p("busy-reply-threshold", "5000", SIZE, true),
    p("latency-monitor-threshold", "0", SIZE, true),
    p(
        "list-max-listpack-size",
        "-2",
        Kind::Int(INT_MIN, INT_MAX),
        true,
    ),
    p("list-compress-depth", "0", Kind::Int(0, INT_MAX), true),
    p("hash-max-listpack-entries", "512", SIZE, true),
    p(
        "hash-max-listpack-value",
        "64",
        Kind::Memory(0, LLONG_MAX as u64),
        true,
    ),
    p("set-max-intset-entries", "512", SIZE, true),
    p("zset-max-listpack-entries", "128", SIZE, true),
    p(
        "zset-max-listpack-value",
        "64",
        Kind::Memory(0, LLONG_MAX as u64),
        true,
    ),
    p(
        "hll-sparse-max-bytes",
        "3000",
        Kind::Memory(0, LLONG_MAX as u64),
        true,
    ),
    // The node frees synchronously whatever these say.
    p("lazyfree-lazy-eviction", "no", Kind::Bool, true),
    p("lazyfree-lazy-expire", "no", Kind::Bool, true),
    p("lazyfree-lazy-server-del", "no", Kind::Bool, true),
    p("lazyfree-lazy-user-del", "no", Kind::Bool, true),
    p("lazyfree-lazy-user-flush", "no", Kind::Bool, true),
    p("activerehashing", "yes", Kind::Bool, true),
];

/// Old names Redis still accepts for a parameter (and lists in `CONFIG GET` globs).
pub(super) const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("slave-read-only", "replica-read-only"),
    ("lua-time-limit", "busy-reply-threshold"),
    ("slaveof", "replicaof"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("slave-priority", "replica-priority"),
    (
        "cluster-slave-validity-factor",
        "cluster-replica-validity-factor",
    ),
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
];

/// The parameter called `name` (any case, old names too).
pub(super) fn param(name: &str) -> Option<&'static Param> {
    let lower = name.to_ascii_lowercase();
    let canonical = ALIASES
        .iter()
        .find(|(old, _)| *old == lower)
        .map_or(lower.as_str(), |(_, new)| new);
    PARAMS.iter().find(|p| p.name == canonical)
}

/// Every name `CONFIG GET` globs match: each parameter's, then each alias.
pub(super) fn names() -> impl Iterator<Item = (&'static str, &'static Param)> {
    let canonical = PARAMS.iter().map(|p| (p.name, p));
    let aliases = ALIASES
        .iter()
        .filter_map(|(old, new)| Some((*old, PARAMS.iter().find(|p| p.name == *new)?)));
    canonical.chain(aliases)
}

/// Validates `value` for `param` (whose value is now `current`) and returns the text
/// `CONFIG GET` shows, or Redis's reason for refusing it.
pub(super) fn normalise(param: &Param, value: &str, current: &str) -> Result<String, String> {
    let between = |min: &dyn ToString, max: &dyn ToString| {
        format!(
            "argument must be between {} and {} inclusive",
            min.to_string(),
            max.to_string()
        )
    };
    match param.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            v @ ("yes" | "no") => Ok(v.to_owned()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n = parse_i64(value.as_bytes())
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_owned())?;
            if n < min || n > max {
                return Err(between(&min, &max));
            }
            // Redis clamps `hz` to 1..=500 rather than refusing.
            let n = if param.name == "hz" {
                n.clamp(1, 500)
            } else {
                n
            };
            Ok(n.to_string())
        }
        Kind::Memory(min, max) => {
            let n = parse_memory(value).ok_or("argument must be a memory value")?;
            if n < min || n > max {
                return Err(between(&min, &max));
            }
            Ok(n.to_string())
        }
        Kind::MemoryOrPercent => {
            let percent = value
                .strip_suffix('%')
                .and_then(|n| parse_i64(n.as_bytes()))
                .filter(|n| *n >= 0);
            match (parse_memory(value), percent) {
                (Some(n), _) => Ok(n.to_string()),
                (None, Some(n)) => Ok(format!("{n}%")),
                _ => Err("argument must be a memory or percent value".into()),
            }
        }
        Kind::Enum(options) => {
            let lower = value.to_ascii_lowercase();
            options
                .iter()
                .find(|o| **o == lower)
                .map(|o| (*o).to_owned())
                .ok_or_else(|| {
                    format!(
                        "argument(s) must be one of the following: {}",
                        options.join(", ")
                    )
                })
        }
        Kind::OutputLimits => {
            let mut limits = OutputLimits::parse(current)?;
            limits.update(value)?;
            Ok(limits.to_string())
        }
        Kind::Str => Ok(value.to_owned()),
    }
}

/// Redis's `memtoull`: `1gb`, `100mb`, `5k` (k = 1000, kb = 1024); no digits is 0.
pub fn parse_memory(value: &str) -> Option<u64> {
    let lower = value.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n = if digits.is_empty() {
        0
    } else {
        digits.parse::<u64>().ok()?
    };
    n.checked_mul(mul)
}
