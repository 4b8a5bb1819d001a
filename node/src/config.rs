//! The node's configuration: redis.conf directives and `--directive value` overrides, kept
//! as one table of parameters (name, default, kind, runtime-changeable) so that start-up
//! parsing, `CONFIG GET/SET/REWRITE` and `INFO` all read the same truth. The few values
//! read on every command are also kept parsed ([`Hot`]).

mod hot;

pub use hot::Hot;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What values a parameter accepts, and how it is normalised for `CONFIG GET`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bool,
    Int(i64, i64),
    /// Sizes like `64mb`; stored as a plain byte count.
    Memory,
    Enum(&'static [&'static str]),
    Str,
}

/// One known parameter.
struct Param {
    name: &'static str,
    default: &'static str,
    kind: Kind,
    mutable: bool,
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
const MAX: i64 = i64::MAX;

/// Every parameter the node knows, in `CONFIG REWRITE` order.
static PARAMS: &[Param] = &[
    p("port", "6379", Kind::Int(0, 65535), false),
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
        Kind::Int(0, MAX),
        true,
    ),
    p("auto-aof-rewrite-min-size", "67108864", Kind::Memory, true),
    p("requirepass", "", Kind::Str, true),
    p("masterauth", "", Kind::Str, true),
    p("masteruser", "", Kind::Str, true),
    p("protected-mode", "yes", Kind::Bool, true),
    p("maxclients", "10000", Kind::Int(1, MAX), true),
    p("timeout", "0", Kind::Int(0, MAX), true),
    p("tcp-keepalive", "300", Kind::Int(0, MAX), true),
    p("tcp-backlog", "511", Kind::Int(0, MAX), false),
    p("databases", "16", Kind::Int(1, 1 << 20), false),
    p("maxmemory", "0", Kind::Memory, true),
    p("maxmemory-policy", "noeviction", Kind::Enum(POLICIES), true),
    p("maxmemory-samples", "5", Kind::Int(1, 64), true),
    p(
        "loglevel",
        "notice",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        true,
    ),
    p("logfile", "", Kind::Str, false),
    p("daemonize", "no", Kind::Bool, false),
    p(
        "supervised",
        "no",
        Kind::Enum(&["no", "upstart", "systemd", "auto"]),
        false,
    ),
    p("pidfile", "", Kind::Str, false),
    p("hz", "10", Kind::Int(1, 500), true),
    p("io-threads", "1", Kind::Int(1, 128), false),
    p(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        Kind::Str,
        true,
    ),
    p(
        "client-query-buffer-limit",
        "1073741824",
        Kind::Memory,
        true,
    ),
    p("proto-max-bulk-len", "536870912", Kind::Memory, true),
    p("cluster-enabled", "no", Kind::Bool, false),
    p("cluster-config-file", "nodes.conf", Kind::Str, false),
    p("cluster-node-timeout", "15000", Kind::Int(0, MAX), true),
    p("cluster-port", "0", Kind::Int(0, 65535), false),
    p("cluster-require-full-coverage", "yes", Kind::Bool, true),
    p(
        "cluster-replica-validity-factor",
        "10",
        Kind::Int(0, MAX),
        true,
    ),
    p("cluster-migration-barrier", "1", Kind::Int(0, MAX), true),
    p("cluster-allow-reads-when-down", "no", Kind::Bool, true),
    p("cluster-announce-ip", "", Kind::Str, true),
    p("cluster-announce-port", "0", Kind::Int(0, 65535), true),
    p("cluster-announce-bus-port", "0", Kind::Int(0, 65535), true),
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
    p("repl-backlog-size", "1048576", Kind::Memory, true),
    p("repl-ping-replica-period", "10", Kind::Int(1, MAX), true),
    p("repl-timeout", "60", Kind::Int(1, MAX), true),
    p("replica-priority", "100", Kind::Int(0, MAX), true),
    p("notify-keyspace-events", "", Kind::Str, true),
    p("slowlog-log-slower-than", "10000", Kind::Int(-1, MAX), true),
    p("slowlog-max-len", "128", Kind::Int(0, MAX), true),
    p("latency-monitor-threshold", "0", Kind::Int(0, MAX), true),
    p("list-max-listpack-size", "-2", Kind::Int(-5, MAX), true),
    p("list-compress-depth", "0", Kind::Int(0, MAX), true),
    p("hash-max-listpack-entries", "512", Kind::Int(0, MAX), true),
    p("hash-max-listpack-value", "64", Kind::Int(0, MAX), true),
    p("set-max-intset-entries", "512", Kind::Int(0, MAX), true),
    p("zset-max-listpack-entries", "128", Kind::Int(0, MAX), true),
    p("zset-max-listpack-value", "64", Kind::Int(0, MAX), true),
    p("lazyfree-lazy-user-del", "no", Kind::Bool, true),
    p("activerehashing", "yes", Kind::Bool, true),
];

/// Old names Redis still accepts for a parameter.
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("slave-read-only", "replica-read-only"),
    ("slaveof", "replicaof"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("slave-priority", "replica-priority"),
];

fn param(name: &str) -> Option<&'static Param> {
    let lower = name.to_ascii_lowercase();
    let canonical = ALIASES
        .iter()
        .find(|(old, _)| *old == lower)
        .map_or(lower.as_str(), |(_, new)| new);
    PARAMS.iter().find(|p| p.name == canonical)
}

/// A start-up configuration problem, shaped like Redis's FATAL CONFIG FILE ERROR.
#[derive(Debug, thiserror::Error)]
#[error("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
pub struct ConfigFileError {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// The live configuration: every parameter's normalised value.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// The per-command values, parsed (follows `values`).
    hot: Hot,
    /// The file it was loaded from, for `CONFIG REWRITE`.
    pub file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let values = PARAMS
            .iter()
            .map(|p| (p.name, p.default.to_owned()))
            .collect();
        let mut config = Config {
            values,
            hot: Hot::default(),
            file: None,
        };
        config.hot = Hot::read(&config);
        config
    }
}

impl Config {
    /// Loads `redis-server`-style arguments: `[config-file] [--directive value …]`.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigFileError> {
        let mut config = Config::default();
        let mut rest = args;
        let mut lines: Vec<(usize, Vec<String>, String)> = Vec::new();
        let mut line_no = 0;
        if let Some(first) = args.first().filter(|a| !a.starts_with("--")) {
            let path = PathBuf::from(first);
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigFileError {
                line: 0,
                text: first.clone(),
                reason: format!("Fatal error, can't open config file '{first}': {e}"),
            })?;
            for raw in text.lines() {
                line_no += 1;
                let trimmed = raw.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let words = split_args(trimmed).ok_or_else(|| {
                    bad_line(line_no, trimmed, "Unbalanced quotes in configuration line")
                })?;
                lines.push((line_no, words, trimmed.to_owned()));
            }
            config.file = Some(std::fs::canonicalize(&path).unwrap_or(path));
            rest = &args[1..];
        }
        line_no += 1;
        for words in split_options(rest) {
            line_no += 1;
            let text = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        w.clone()
                    } else {
                        format!("\"{w}\"")
                    }
                })
                .collect::<Vec<_>>();
            lines.push((line_no, words, text.join(" ")));
        }
        for (line, words, text) in lines {
            config
                .apply_line(&words)
                .map_err(|reason| bad_line(line, &text, &reason))?;
        }
        config.resolve_dir();
        Ok(config)
    }

    fn apply_line(&mut self, words: &[String]) -> Result<(), String> {
        let bad = || "Bad directive or wrong number of arguments".to_owned();
        let (name, values) = words.split_first().ok_or_else(bad)?;
        let param = param(name).ok_or_else(bad)?;
        let value = match param.name {
            "save" | "bind" | "client-output-buffer-limit" | "replicaof" => values.join(" "),
            _ if values.len() == 1 => values[0].clone(),
            _ => return Err(bad()),
        };
        let normal = normalise(param, &value)?;
        self.store(param.name, normal);
        Ok(())
    }

    /// Makes `dir` absolute (default: the working directory) and moves there, as Redis does.
    fn resolve_dir(&mut self) {
        let dir = self.get("dir").to_owned();
        if !dir.is_empty() {
            let _ = std::env::set_current_dir(&dir);
        }
        if let Ok(cwd) = std::env::current_dir() {
            self.store("dir", cwd.display().to_string());
        }
    }

    /// The normalised value of a known parameter (empty for unknown names).
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    pub fn get_int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// The values read on every command, already parsed.
    pub fn hot(&self) -> &Hot {
        &self.hot
    }

    pub fn dir(&self) -> &Path {
        Path::new(self.get("dir"))
    }

    /// `CONFIG GET` pairs for every parameter whose name matches one of the globs.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for param in PARAMS {
            let hit = patterns
                .iter()
                .any(|pat| crate::glob::matches(pat, param.name.as_bytes(), true));
            if hit && !out.iter().any(|(n, _)| *n == param.name) {
                out.push((param.name, self.get(param.name).to_owned()));
            }
        }
        out
    }

    /// `CONFIG SET name value`: Redis's error text on failure.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let fail = |why: &str| {
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
        };
        let param =
            param(name).ok_or_else(|| fail("Unknown option or number of args for CONFIG SET"))?;
        if !param.mutable {
            return Err(fail("can't set immutable config"));
        }
        let normal = normalise(param, value).map_err(|e| fail(&e))?;
        self.store(param.name, normal);
        Ok(())
    }

    /// Sets a parameter's normalised value, keeping [`Hot`] in step.
    fn store(&mut self, name: &'static str, value: String) {
        self.values.insert(name, value);
        self.hot = Hot::read(self);
    }

    /// `CONFIG REWRITE`: writes every non-default parameter back to the config file.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .file
            .as_ref()
            .ok_or("ERR The server is running without a config file")?;
        let mut text = String::from("# Generated by CONFIG REWRITE\n");
        for param in PARAMS {
            let value = self.get(param.name);
            if value != param.default && param.name != "dir" {
                text.push_str(&format!("{} {}\n", param.name, quote(value)));
            }
        }
        text.push_str(&format!("dir {}\n", quote(self.get("dir"))));
        std::fs::write(path, text).map_err(|e| format!("ERR Rewriting config file: {e}"))
    }
}

fn bad_line(line: usize, text: &str, reason: &str) -> ConfigFileError {
    ConfigFileError {
        line,
        text: text.to_owned(),
        reason: reason.to_owned(),
    }
}

fn quote(value: &str) -> String {
    if value.is_empty() || value.contains([' ', '"', '\'']) {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        value.to_owned()
    }
}

/// Groups `--name v1 v2 --other v` into directive lines, as `redis-server` does.
fn split_options(args: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for arg in args {
        match arg.strip_prefix("--") {
            Some(name) => out.push(vec![name.to_owned()]),
            None => match out.last_mut() {
                Some(line) => line.push(arg.clone()),
                None => out.push(vec![arg.clone()]),
            },
        }
    }
    out
}

/// Splits a config line into words with Redis's quoting (`"…"` with escapes, `'…'`).
pub fn split_args(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' if first == '"' => word.push(unescape(chars.next()?)),
                    c if c == first => break,
                    c => word.push(c),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return None;
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        other => other,
    }
}

/// Validates `value` for `param` and returns the text `CONFIG GET` shows.
fn normalise(param: &Param, value: &str) -> Result<String, String> {
    match param.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            v @ ("yes" | "no") => Ok(v.to_owned()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n: i64 = value
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_owned())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Memory => parse_memory(value)
            .map(|n| n.to_string())
            .ok_or_else(|| "argument must be a memory value".into()),
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
        Kind::Str => Ok(value.to_owned()),
    }
}

/// Redis's `memtoull`: `1gb`, `100mb`, `5k` (k = 1000, kb = 1024).
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
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_overrides_and_empty_save() {
        let c = Config::from_args(&args(&[
            "--port",
            "7001",
            "--save",
            "",
            "--maxmemory",
            "1mb",
        ]))
        .unwrap();
        assert_eq!(c.get("port"), "7001");
        assert_eq!(c.get("save"), "");
        assert_eq!(c.get("maxmemory"), "1048576");
    }

    #[test]
    fn bad_directive_has_redis_shape() {
        let err = Config::from_args(&args(&["--port", "1", "--foo", "bar"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "at line 3\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments"
            ),
            "{err}"
        );
    }

    #[test]
    fn config_set_validates() {
        let mut c = Config::default();
        assert!(c.set("maxmemory-policy", "allkeys-lru").is_ok());
        assert!(c
            .set("appendonly", "maybe")
            .unwrap_err()
            .contains("'yes' or 'no'"));
        assert!(c.set("port", "1").unwrap_err().contains("immutable"));
    }

    #[test]
    fn example_config_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/node-7000.conf");
        let c = Config::from_args(&args(&[path, "--port", "7001"])).unwrap();
        assert_eq!(c.get("port"), "7001");
        assert!(c.get_bool("cluster-enabled") && c.get_bool("appendonly"));
        assert_eq!(c.get("cluster-node-timeout"), "5000");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            split_args(r#"requirepass "a b" 'c'"#).unwrap(),
            vec!["requirepass", "a b", "c"]
        );
        assert!(split_args("x \"open").is_none());
    }
}
