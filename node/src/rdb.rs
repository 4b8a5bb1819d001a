//! The snapshot file (`dir`/`dbfilename`): SAVE, BGSAVE, the `save` points, SHUTDOWN SAVE
//! and loading it at start-up when `appendonly` is off. The format is the replication
//! full-sync snapshot's: Redis 7.0's RDB ([`crate::replication::snapshot`]), written
//! atomically: a temp file in `dir`, fsynced, renamed over the old one, then the directory
//! fsynced.
//!
//! BGSAVE serialises the keyspace under the lock (a consistent point in time, like Redis's
//! fork) and hands the bytes to a thread that writes the file; its outcome is picked up by
//! [`reconcile`] (from the cron, INFO, LASTSAVE and the save commands), which then does
//! what Redis does when the child exits: `dirty` minus the writes made before the fork,
//! `lastsave`, `rdb_last_bgsave_status`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Instant;

use crate::config::Config;
use crate::replication::snapshot;
use crate::state::{now_ms, State};

/// Redis's `CONFIG_BGSAVE_RETRY_DELAY`: after a failed save, save points wait this long.
const RETRY_DELAY_SECS: i64 = 5;

/// Snapshot bookkeeping for INFO persistence.
#[derive(Debug)]
pub struct Rdb {
    job: Option<Job>,
    /// The last SAVE / BGSAVE succeeded.
    pub last_ok: bool,
    /// Unix seconds of the last save attempt (for the retry delay).
    last_try: i64,
    /// Successful saves since start (`rdb_saves`).
    pub saves: u64,
    /// Duration of the last BGSAVE in seconds, -1 before the first.
    pub last_bgsave_secs: i64,
    /// Keys read from the file at start-up.
    pub loaded_keys: u64,
}

impl Default for Rdb {
    fn default() -> Rdb {
        Rdb {
            job: None,
            last_ok: true,
            last_try: 0,
            saves: 0,
            last_bgsave_secs: -1,
            loaded_keys: 0,
        }
    }
}

impl Rdb {
    /// Seconds the running BGSAVE has taken so far, -1 when none runs.
    pub fn current_bgsave_secs(&self) -> i64 {
        self.job
            .as_ref()
            .map_or(-1, |job| job.started.elapsed().as_secs() as i64)
    }

    pub fn in_progress(&self) -> bool {
        self.job.is_some()
    }
}

/// A BGSAVE being written by its thread.
#[derive(Debug)]
struct Job {
    done: Receiver<std::io::Result<()>>,
    /// `dirty` when the keyspace was serialised.
    dirty_before: u64,
    started: Instant,
    /// Unix seconds of the serialisation (the save's point in time).
    at: i64,
}

/// Where the snapshot lives.
pub fn path(config: &Config) -> PathBuf {
    config.dir().join(config.get("dbfilename"))
}

/// The `save` points as (seconds, changes) pairs; empty when saving is off.
pub fn save_points(config: &Config) -> Vec<(i64, u64)> {
    let numbers: Vec<&str> = config.get("save").split_whitespace().collect();
    numbers
        .chunks_exact(2)
        .filter_map(|p| Some((p[0].parse().ok()?, p[1].parse().ok()?)))
        .collect()
}

/// SAVE: writes the snapshot now, under the lock.
pub fn save(state: &mut State) -> std::io::Result<()> {
    reconcile(state);
    let data = snapshot::write(state, 0);
    let now = now_ms() / 1000;
    state.rdb.last_try = now;
    let result = write_atomically(&path(&state.config), &data);
    let dirty = state.dirty;
    finish(state, &result, now, dirty);
    result
}

/// Records how a save ended, as Redis does: on success `dirty` loses the writes the file
/// holds (`dirty_before`) and `lastsave` becomes the snapshot's time `at`.
fn finish(state: &mut State, outcome: &std::io::Result<()>, at: i64, dirty_before: u64) {
    match outcome {
        Ok(()) => {
            state.dirty = state.dirty.saturating_sub(dirty_before);
            state.last_save = at;
            state.rdb.saves += 1;
            state.rdb.last_ok = true;
            tracing::info!("DB saved on disk");
        }
        Err(e) => {
            state.rdb.last_ok = false;
            tracing::warn!("Error saving DB on disk: {e}");
        }
    }
}

/// BGSAVE: serialises now, writes on a thread. `Err` when one is already running.
pub fn bgsave(state: &mut State) -> Result<(), &'static str> {
    reconcile(state);
    if state.rdb.job.is_some() {
        return Err("ERR Background save already in progress");
    }
    let data = snapshot::write(state, 0);
    let target = path(&state.config);
    let (tx, done) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            let _ = tx.send(write_atomically(&target, &data));
        });
    if let Err(e) = spawned {
        tracing::warn!("Can't save in background: {e}");
        state.rdb.last_ok = false;
        return Err("ERR");
    }
    let at = now_ms() / 1000;
    state.rdb.last_try = at;
    state.rdb.job = Some(Job {
        done,
        dirty_before: state.dirty,
        started: Instant::now(),
        at,
    });
    tracing::info!("Background saving started");
    Ok(())
}

/// Applies a finished BGSAVE's outcome.
pub fn reconcile(state: &mut State) {
    let Some(job) = &state.rdb.job else { return };
    let outcome = match job.done.try_recv() {
        Ok(outcome) => outcome,
        Err(TryRecvError::Empty) => return,
        Err(TryRecvError::Disconnected) => Err(std::io::Error::other("bgsave thread died")),
    };
    let Some(job) = state.rdb.job.take() else {
        return;
    };
    state.rdb.last_bgsave_secs = job.started.elapsed().as_secs() as i64;
    finish(state, &outcome, job.at, job.dirty_before);
}

/// The periodic part: picks up a finished BGSAVE and starts one when a save point is due.
pub fn cron(state: &mut State) {
    reconcile(state);
    if state.rdb.job.is_some() {
        return;
    }
    let now = now_ms() / 1000;
    let retry_ok = state.rdb.last_ok || now - state.rdb.last_try > RETRY_DELAY_SECS;
    let due = save_points(&state.config)
        .into_iter()
        .any(|(secs, changes)| state.dirty >= changes && now - state.last_save > secs);
    if due && retry_ok {
        let _ = bgsave(state);
    }
}

/// Loads the snapshot file into the (fresh) keyspace, if there is one.
pub fn load(state: &mut State) -> anyhow::Result<()> {
    let path = path(&state.config);
    let data = match std::fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => anyhow::bail!("Fatal error loading the DB {}: {e}", path.display()),
    };
    let (mut fresh, _) = snapshot::read(&data, state.dbs.len())
        .map_err(|e| anyhow::anyhow!("Fatal error loading the DB {}: {e}", path.display()))?;
    let mut keys = 0;
    for (db, new) in state.dbs.iter_mut().zip(fresh.iter_mut()) {
        db.swap_data(new);
        keys += db.len() as u64;
    }
    state.rdb.loaded_keys = keys;
    tracing::info!("DB loaded from disk: {keys} keys");
    Ok(())
}

/// Writes `data` to `target` via an fsynced temp file in the same directory and a rename.
fn write_atomically(target: &Path, data: &[u8]) -> std::io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = target.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        "temp-{}-{}.rdb",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temp, target)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_points_parse_like_redis_conf() {
        let mut config = Config::default();
        assert_eq!(
            save_points(&config),
            vec![(3600, 1), (300, 100), (60, 10000)]
        );
        config.set("save", "").unwrap();
        assert!(save_points(&config).is_empty());
    }
}
