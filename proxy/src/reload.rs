//! Config hot reload: the file is polled every 500 ms (its modification time and a hash of
//! its text) and re-read on SIGHUP. A changed file is loaded and validated with the function
//! the caller gives; on success the new config is handed to `apply` (which swaps it into the
//! live `ArcSwap`) and the diff is logged — dotted key names with old → new values, secrets
//! only as "changed"; keys that need a restart are logged as such. On failure the running
//! config stays, the reason is logged and `slotgate_config_reloads_total{result="error"}`
//! rises.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::signal::unix::{signal, SignalKind};

use crate::metrics::metrics;

/// How often the file is checked.
const POLL: Duration = Duration::from_millis(500);

/// Keys read only at start: a change is logged as needing a restart.
const RESTART_KEYS: &[&str] = &[
    "proxy.listen",
    "proxy.unix_socket",
    "proxy.workers",
    "admin.listen",
    "cluster.connections_per_node",
];

/// What a reload did.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The file did not change.
    Unchanged,
    /// The new config was applied; these are the changed keys, as log lines.
    Applied(Vec<String>),
    /// The file was rejected; the running config stays.
    Rejected(String),
}

/// Parses and validates a config file's text.
type Load<C> = Box<dyn Fn(&str) -> anyhow::Result<C> + Send>;

/// One watched config file and the text of the running config.
pub struct Reloader<C> {
    path: PathBuf,
    stamp: (Option<SystemTime>, u64),
    running: toml::Value,
    load: Load<C>,
    apply: Box<dyn Fn(C, String) + Send>,
}

impl<C> Reloader<C> {
    /// Watches `path`, whose current text `running` is the config in effect. `load` parses
    /// and validates text; `apply` receives a new config and its redacted JSON.
    pub fn new(
        path: PathBuf,
        running: &str,
        load: impl Fn(&str) -> anyhow::Result<C> + Send + 'static,
        apply: impl Fn(C, String) + Send + 'static,
    ) -> Reloader<C> {
        // No modification time yet: the first check reads the file and compares it with
        // `running`, so a change made between loading the config and starting the reloader
        // is not missed.
        let stamp = (None, hash(running));
        let running = running
            .parse()
            .unwrap_or_else(|_| toml::Value::Table(Default::default()));
        Reloader {
            path,
            stamp,
            running,
            load: Box::new(load),
            apply: Box::new(apply),
        }
    }

    /// Re-reads the file; loads it when it changed or when `force`d (SIGHUP).
    pub fn check(&mut self, force: bool) -> Outcome {
        let mtime = modified(&self.path);
        if !force && mtime == self.stamp.0 {
            return Outcome::Unchanged;
        }
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) => return self.reject(format!("reading {}: {err}", self.path.display())),
        };
        let stamp = (mtime, hash(&text));
        if !force && stamp.1 == self.stamp.1 {
            self.stamp = stamp;
            return Outcome::Unchanged;
        }
        self.stamp = stamp;
        match (self.load)(&text) {
            Ok(config) => {
                let value: toml::Value = text
                    .parse()
                    .unwrap_or_else(|_| toml::Value::Table(Default::default()));
                let changes = diff(&self.running, &value);
                (self.apply)(config, redacted_json(&value));
                self.running = value;
                metrics().config_reload(true);
                Outcome::Applied(changes)
            }
            Err(err) => self.reject(format!("{}: {err:#}", self.path.display())),
        }
    }

    fn reject(&mut self, reason: String) -> Outcome {
        metrics().config_reload(false);
        Outcome::Rejected(reason)
    }

    /// Polls the file and listens for SIGHUP until the task is dropped, logging outcomes.
    pub async fn run(mut self) {
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(err) => {
                tracing::warn!(%err, "SIGHUP reload unavailable");
                None
            }
        };
        let mut poll = tokio::time::interval(POLL);
        loop {
            let forced = tokio::select! {
                _ = poll.tick() => false,
                Some(()) = async { hangup.as_mut()?.recv().await } => true,
            };
            log(&self.check(forced), forced);
        }
    }
}

fn log(outcome: &Outcome, forced: bool) {
    match outcome {
        Outcome::Unchanged => {}
        Outcome::Applied(changes) if changes.is_empty() => {
            tracing::info!(sighup = forced, "config reloaded: nothing changed")
        }
        Outcome::Applied(changes) => {
            for change in changes {
                tracing::info!("config reloaded: {change}");
            }
        }
        Outcome::Rejected(reason) => {
            tracing::error!("config reload rejected, the running config stays: {reason}")
        }
    }
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn hash(text: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// Whether a key holds a secret (its value is never printed).
fn is_secret(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    ["password", "pass", "secret", "token"]
        .iter()
        .any(|s| last.contains(s))
}

/// Every leaf of a TOML document by dotted key.
fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, value, out);
            }
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf.to_string());
        }
    }
}

/// One log line per changed key: `key: old → new`, secrets as `key: changed`.
pub fn diff(old: &toml::Value, new: &toml::Value) -> Vec<String> {
    let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
    flatten("", old, &mut before);
    flatten("", new, &mut after);
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let unset = "(unset)".to_owned();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            let restart = if RESTART_KEYS.contains(&key.as_str()) {
                " (needs a restart to take effect)"
            } else {
                ""
            };
            if is_secret(key) {
                format!("{key}: changed{restart}")
            } else {
                format!(
                    "{key}: {} → {}{restart}",
                    before.get(key).unwrap_or(&unset),
                    after.get(key).unwrap_or(&unset)
                )
            }
        })
        .collect()
}

/// The document as JSON, every secret's value replaced by `"***"`.
pub fn redacted_json(value: &toml::Value) -> String {
    fn redact(value: &mut serde_json::Value) {
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map.iter_mut() {
                if is_secret(key) {
                    *value = serde_json::Value::String("***".to_owned());
                } else {
                    redact(value);
                }
            }
        }
    }
    let mut json = serde_json::to_value(value).unwrap_or_default();
    redact(&mut json);
    serde_json::to_string_pretty(&json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    const OLD: &str = "[proxy]\nlisten = \"127.0.0.1:1\"\npassword = \"a\"\n[cluster]\nrequest_timeout = \"5s\"\n";

    #[test]
    fn the_diff_names_keys_and_hides_secrets() {
        let new = "[proxy]\nlisten = \"127.0.0.1:2\"\npassword = \"b\"\n[cluster]\nrequest_timeout = \"2s\"\nseeds = []\n";
        let changes = diff(&OLD.parse().unwrap(), &new.parse().unwrap());
        assert_eq!(
            changes,
            vec![
                "cluster.request_timeout: \"5s\" → \"2s\"",
                "cluster.seeds: (unset) → []",
                "proxy.listen: \"127.0.0.1:1\" → \"127.0.0.1:2\" (needs a restart to take effect)",
                "proxy.password: changed",
            ]
        );
        let json = redacted_json(&new.parse().unwrap());
        assert!(
            json.contains("\"password\": \"***\"") && !json.contains("\"b\""),
            "{json}"
        );
    }

    #[test]
    fn a_bad_file_keeps_the_running_config() {
        let dir = std::env::temp_dir().join(format!("slotgate-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, OLD).unwrap();
        let applied = Arc::new(Mutex::new(Vec::new()));
        let sink = applied.clone();
        let load = |text: &str| {
            if text.contains("bad") {
                anyhow::bail!("bad value")
            } else {
                Ok(text.len())
            }
        };
        let mut reloader = Reloader::new(path.clone(), OLD, load, move |n, _| {
            sink.lock().unwrap().push(n)
        });
        assert_eq!(reloader.check(false), Outcome::Unchanged);
        assert_eq!(reloader.check(false), Outcome::Unchanged);
        std::fs::write(&path, "bad = 1\n").unwrap();
        assert!(
            matches!(reloader.check(true), Outcome::Rejected(reason) if reason.contains("bad value"))
        );
        std::fs::write(&path, OLD.replace("5s", "1s")).unwrap();
        assert_eq!(
            reloader.check(true),
            Outcome::Applied(vec!["cluster.request_timeout: \"5s\" → \"1s\"".to_owned()])
        );
        assert_eq!(applied.lock().unwrap().len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
