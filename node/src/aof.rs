//! The append-only file: every propagated write as a RESP request (the format
//! `redis-check-aof` reads), written before the replies of its batch leave — once for all
//! the connections that ran batches in the same turn (`conn::Conn::flush_aof`) — and
//! fsynced per `appendfsync` (`always`: before replying; `everysec`: by a background
//! thread; `no`: by the OS). Under `everysec`, as in Redis, a write is postponed (up to two
//! seconds) while the background fsync runs, so a slow disk doesn't stall every client on
//! write(2). Also start-up replay (truncated tail dropped with a warning, corruption
//! refused with its byte offset; a `MULTI` … `EXEC` applied as a unit, and a `MULTI` with
//! no `EXEC` — the writer died mid-transaction — reverted like a truncated tail, as Redis
//! 7.0 does) and rewriting (BGREWRITEAOF) from the live keyspace.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::{encode_request, RequestDecoder};

use crate::client::Client;
use crate::cmd;
use crate::db::stream::Stream;
use crate::db::Value;
use crate::state::State;

/// When the file is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn from_config(value: &str) -> Fsync {
        match value {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// An open AOF.
#[derive(Debug)]
pub struct Aof {
    path: PathBuf,
    file: Arc<File>,
    /// Commands since the last [`Aof::flush`], encoded (written once per batch).
    buf: BytesMut,
    last_db: Option<usize>,
    /// The `everysec` thread is fsyncing the file right now.
    syncing: Arc<AtomicBool>,
    /// When a write was first postponed because of a running fsync.
    postponed: Option<Instant>,
    pub fsync: Fsync,
    /// Current size and size after the last rewrite (for the automatic rewrite).
    pub size: u64,
    pub base_size: u64,
    pub rewrites: u64,
}

impl Aof {
    /// Opens (creating) the file for appending.
    pub fn open(path: &Path, fsync: Fsync) -> std::io::Result<Aof> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Aof {
            path: path.to_owned(),
            file: Arc::new(file),
            buf: BytesMut::new(),
            last_db: None,
            syncing: Arc::default(),
            postponed: None,
            fsync,
            size,
            base_size: size,
            rewrites: 0,
        })
    }

    /// Buffers one command (preceded by SELECT when the database changes).
    pub fn append(&mut self, db: usize, args: &[Bytes]) {
        if self.last_db != Some(db) {
            let mut index = itoa::Buffer::new();
            encode_request(
                &[&b"SELECT"[..], index.format(db).as_bytes()],
                &mut self.buf,
            );
            self.last_db = Some(db);
        }
        encode_request(args, &mut self.buf);
    }

    /// Whether commands wait in the buffer for [`Aof::flush`].
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// After a batch: [`Aof::flush`], unless `everysec`'s fsync is running (then the write
    /// waits for a later batch or the cron tick, at most two seconds, like Redis's
    /// postponed `flushAppendOnlyFile`).
    pub fn flush_batch(&mut self) -> std::io::Result<()> {
        if self.fsync == Fsync::EverySec && self.syncing.load(Ordering::Acquire) {
            let since = *self.postponed.get_or_insert_with(Instant::now);
            if since.elapsed() < Duration::from_secs(2) {
                return Ok(());
            }
        }
        self.flush()
    }

    /// Writes the buffered commands (and fsyncs under `always`).
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.postponed = None;
        if self.buf.is_empty() {
            return Ok(());
        }
        (&*self.file).write_all(&self.buf)?;
        self.size += self.buf.len() as u64;
        self.buf.clear();
        if self.fsync == Fsync::Always {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// The file handle, for the `everysec` fsync thread.
    pub fn handle(&self) -> Arc<File> {
        self.file.clone()
    }

    /// The flag the `everysec` thread raises while it fsyncs.
    pub fn syncing(&self) -> Arc<AtomicBool> {
        self.syncing.clone()
    }

    /// Replaces the file with a compact one built from `state`'s keyspace.
    pub fn rewrite(state: &mut State) -> std::io::Result<()> {
        let Some(aof) = state.aof.as_mut() else {
            return Ok(());
        };
        aof.flush()?;
        let tmp = aof.path.with_extension("rewrite.tmp");
        let mut out = BytesMut::new();
        dump(state, &mut out);
        let mut file = File::create(&tmp)?;
        file.write_all(&out)?;
        file.sync_all()?;
        let Some(aof) = state.aof.as_mut() else {
            return Ok(());
        };
        std::fs::rename(&tmp, &aof.path)?;
        let fresh = Aof::open(&aof.path, aof.fsync)?;
        *aof = Aof {
            rewrites: aof.rewrites + 1,
            base_size: fresh.size,
            ..fresh
        };
        Ok(())
    }
}

/// Every key as the commands that recreate it.
fn dump(state: &mut State, out: &mut BytesMut) {
    let now = crate::state::now_ms();
    for (index, db) in state.dbs.iter_mut().enumerate() {
        if db.is_empty() {
            continue;
        }
        encode_request(&[&b"SELECT"[..], index.to_string().as_bytes()], out);
        let keys: Vec<Bytes> = db.keys(now).map(Bytes::copy_from_slice).collect();
        for key in keys {
            let Some(entry) = db.get(&key, now) else {
                continue;
            };
            for command in recreate(&key, &entry.value) {
                encode_request(&command, out);
            }
            if let Some(at) = entry.expire_at {
                encode_request(&[&b"PEXPIREAT"[..], &key, at.to_string().as_bytes()], out);
            }
        }
    }
}

/// The commands that rebuild one value (collections in chunks of 64 elements).
fn recreate(key: &Bytes, value: &Value) -> Vec<Vec<Bytes>> {
    let cmd = |name: &'static str| vec![Bytes::from_static(name.as_bytes()), key.clone()];
    let chunked = |name: &'static str, items: Vec<Bytes>, per: usize| -> Vec<Vec<Bytes>> {
        items
            .chunks(64 * per)
            .map(|chunk| [cmd(name), chunk.to_vec()].concat())
            .collect()
    };
    match value {
        Value::Str(s) | Value::RawStr(s) => vec![[cmd("SET"), vec![s.clone()]].concat()],
        Value::List(l) => chunked("RPUSH", l.iter().cloned().collect(), 1),
        Value::Set(s) => chunked("SADD", s.iter().cloned().collect(), 1),
        Value::Hash(h) => chunked(
            "HSET",
            h.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect(),
            2,
        ),
        Value::ZSet(z) => {
            let items = z
                .iter()
                .flat_map(|(m, s)| {
                    [
                        Bytes::from(slotgate_protocol::resp::format_double(s)),
                        m.clone(),
                    ]
                })
                .collect();
            chunked("ZADD", items, 2)
        }
        Value::Stream(s) => recreate_stream(key, s),
    }
}

/// A stream as Redis's `rewriteStreamObject` rebuilds it: its entries (an empty stream
/// via `XADD … MAXLEN 0`), XSETID with the counters, then per group XGROUP CREATE with
/// ENTRIESREAD, its consumers, and one forced XCLAIM per pending entry.
fn recreate_stream(key: &Bytes, s: &Stream) -> Vec<Vec<Bytes>> {
    let b = |text: &'static str| Bytes::from_static(text.as_bytes());
    let n = |v: &dyn ToString| Bytes::from(v.to_string());
    let mut out: Vec<Vec<Bytes>> = s
        .entries()
        .map(|(id, fields)| [vec![b("XADD"), key.clone(), id.to_bytes()], fields.clone()].concat())
        .collect();
    if out.is_empty() {
        out.push(vec![
            b("XADD"),
            key.clone(),
            b("MAXLEN"),
            b("0"),
            b("0-1"),
            b("x"),
            b("y"),
        ]);
    }
    out.push(vec![
        b("XSETID"),
        key.clone(),
        s.last_id.to_bytes(),
        b("ENTRIESADDED"),
        n(&s.entries_added),
        b("MAXDELETEDID"),
        s.max_deleted.to_bytes(),
    ]);
    for (name, g) in &s.groups {
        out.push(vec![
            b("XGROUP"),
            b("CREATE"),
            key.clone(),
            name.clone(),
            g.last_id.to_bytes(),
            b("ENTRIESREAD"),
            n(&g.entries_read.unwrap_or(-1)),
        ]);
        for consumer in g.consumers.keys() {
            out.push(vec![
                b("XGROUP"),
                b("CREATECONSUMER"),
                key.clone(),
                name.clone(),
                consumer.clone(),
            ]);
        }
        for (id, p) in &g.pel {
            out.push(vec![
                b("XCLAIM"),
                key.clone(),
                name.clone(),
                p.consumer.clone(),
                b("0"),
                id.to_bytes(),
                b("TIME"),
                n(&p.delivered_at),
                b("RETRYCOUNT"),
                n(&p.deliveries),
                b("JUSTID"),
                b("FORCE"),
            ]);
        }
    }
    out
}

/// Why an AOF could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("Bad file format reading the append only file {path}: corrupt command at byte offset {offset}")]
    Corrupt { path: String, offset: u64 },
    #[error(
        "Unknown command '{name}' reading the append only file {path} at byte offset {offset}"
    )]
    UnknownCommand {
        path: String,
        name: String,
        offset: u64,
    },
    #[error("Unexpected end of file reading the append only file {path} at byte offset {offset} (aof-load-truncated is no)")]
    Truncated { path: String, offset: u64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Replays the file at `path` into `state`. A truncated last command is cut off (with a
/// warning) when `aof-load-truncated` is yes, and so is an incomplete transaction at the
/// end (`MULTI` without `EXEC`: its commands were queued, never run), from its `MULTI` on.
/// Returns the number of commands loaded.
pub fn load(state: &mut State, path: &Path) -> Result<usize, LoadError> {
    let Ok(data) = std::fs::read(path) else {
        return Ok(0);
    };
    let total = data.len() as u64;
    let shown = path.display().to_string();
    let mut buf = BytesMut::from(&data[..]);
    let mut decoder = RequestDecoder::default();
    let mut client = Client::detached(0, 2);
    client.loading = true;
    let mut loaded = 0;
    // Where the open transaction's MULTI starts, and the commands loaded before it.
    let mut multi: Option<(u64, usize)> = None;
    loop {
        let offset = total - buf.len() as u64;
        if let Some((start, before)) = multi.filter(|_| buf.is_empty()) {
            tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file");
            return truncate(state, path, start, before);
        }
        if buf.is_empty() {
            return Ok(loaded);
        }
        if buf[0] != b'*' {
            return Err(LoadError::Corrupt {
                path: shown,
                offset,
            });
        }
        match decoder.decode(&mut buf) {
            Ok(Some(request)) => {
                if cmd::lookup(&request.args[0]).is_none() {
                    let name = String::from_utf8_lossy(&request.args[0]).into_owned();
                    return Err(LoadError::UnknownCommand {
                        path: shown,
                        name,
                        offset,
                    });
                }
                let queueing = client.multi.is_some();
                cmd::replay(state, &mut client, &request.args);
                loaded += 1;
                multi = match (queueing, client.multi.is_some()) {
                    (false, true) => Some((offset, loaded - 1)),
                    (_, false) => None,
                    (true, true) => multi,
                };
            }
            Ok(None) => {
                let (offset, loaded) = match multi {
                    Some(before) => {
                        tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file");
                        before
                    }
                    None => (offset, loaded),
                };
                return truncate(state, path, offset, loaded);
            }
            Err(_) => {
                return Err(LoadError::Corrupt {
                    path: shown,
                    offset,
                })
            }
        }
    }
}

fn truncate(state: &State, path: &Path, offset: u64, loaded: usize) -> Result<usize, LoadError> {
    if !state.config.get_bool("aof-load-truncated") {
        return Err(LoadError::Truncated {
            path: path.display().to_string(),
            offset,
        });
    }
    tracing::warn!(
        "!!! Warning: short read while loading the AOF file {}!!! AOF loaded anyway because aof-load-truncated is enabled; truncated to {offset} bytes",
        path.display()
    );
    OpenOptions::new().write(true).open(path)?.set_len(offset)?;
    Ok(loaded)
}
