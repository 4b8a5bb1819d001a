//! The replica side: one connection to the master, from handshake to the end of the link.
//! `PING`, `AUTH [masteruser] masterauth`, `REPLCONF listening-port`, `REPLCONF capa eof
//! capa psync2`, then `PSYNC <replid> <offset+1>` (or `PSYNC ? -1` with no usable
//! history). A full resync loads the snapshot (parsed off the lock, swapped in under it);
//! then every command of the stream is applied without a reply — as the master's client,
//! so read-only does not apply — and its exact bytes go to our own backlog, so our offset is
//! the master's and our replicas (and, after a promotion, our siblings) can continue from
//! us. `REPLCONF ACK <offset>` goes back every second and after a `REPLCONF GETACK`.
//!
//! A `MULTI` … `EXEC` from the master is applied as one unit, like Redis's master client:
//! the commands are queued (no WATCH, no EXECABORT) and run together, under one lock, at
//! `EXEC` — so a transaction split across reads is never half-applied or half-visible —
//! and propagated to our AOF wrapped in `MULTI` … `EXEC` ([`State::hold_propagation`]).
//! Until its `EXEC` the transaction is not counted in our offset (Redis's `reploff` stays
//! before the `MULTI`), so its bytes reach our replicas only whole, and a link lost in the
//! middle resumes (PSYNC) from the `MULTI`.

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use slotgate_protocol::resp::{encode_request, RequestDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::record::{self, Record};
use super::snapshot::{self, SnapshotError};
use super::{LinkState, MasterAddr};
use crate::aof::Aof;
use crate::client::{Client, Multi};
use crate::cmd::{self, Ctx};
use crate::state::{Shared, State};

/// Longest status line accepted from the master.
const MAX_LINE: usize = 64 * 1024;
/// The length of the random mark that ends a diskless snapshot.
const EOF_MARK_LEN: usize = 40;

/// Why a link ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timeout: nothing from the master within repl-timeout")]
    Timeout,
    #[error("connection closed by the master")]
    Closed,
    #[error("the master answered {step} with {reply}")]
    Refused { step: &'static str, reply: String },
    #[error("protocol error from the master: {0}")]
    Protocol(String),
    #[error("loading the snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
    #[error("the master was changed")]
    Stale,
}

/// What the handshake needs, read under the lock once.
struct Setup {
    /// (masteruser, masterauth)
    auth: Option<(String, String)>,
    port: String,
    timeout: Duration,
    psync: [String; 2],
}

/// Runs one link to `target` until it fails; returns why.
pub async fn run(shared: &Shared, target: &MasterAddr, generation: u64) -> LinkError {
    let outcome: Result<Infallible, LinkError> = async {
        let setup = setup(shared);
        set_state(shared, generation, LinkState::Connecting)?;
        let addr = (target.host.as_str(), target.port);
        let stream = tokio::time::timeout(setup.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| LinkError::Timeout)??;
        stream.set_nodelay(true)?;
        let mut conn = MasterConn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            timeout: setup.timeout,
        };
        set_state(shared, generation, LinkState::Handshake)?;
        handshake(&mut conn, &setup).await?;
        synchronise(shared, generation, &mut conn, &setup).await?;
        follow(shared, generation, conn).await
    }
    .await;
    match outcome {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

fn setup(shared: &Shared) -> Setup {
    let state = shared.state.lock();
    let config = &state.config;
    let auth = Some(config.get("masterauth"))
        .filter(|pass| !pass.is_empty())
        .map(|pass| (config.get("masteruser").to_owned(), pass.to_owned()));
    let repl = &state.repl;
    let psync = if repl.resumable {
        [repl.replid.clone(), (repl.offset() + 1).to_string()]
    } else {
        ["?".to_owned(), "-1".to_owned()]
    };
    Setup {
        auth,
        port: config.get("port").to_owned(),
        timeout: Duration::from_secs(config.get_int("repl-timeout").max(1) as u64),
        psync,
    }
}

/// Fails with [`LinkError::Stale`] once the master was changed under this link.
fn current(state: &State, generation: u64) -> Result<(), LinkError> {
    if state.repl.generation() == generation {
        Ok(())
    } else {
        Err(LinkError::Stale)
    }
}

fn set_state(shared: &Shared, generation: u64, link: LinkState) -> Result<(), LinkError> {
    let mut state = shared.state.lock();
    current(&state, generation)?;
    state.repl.link.state = link;
    if link == LinkState::Connected {
        state.repl.link.last_io = Some(std::time::Instant::now());
    }
    Ok(())
}

async fn handshake(conn: &mut MasterConn, setup: &Setup) -> Result<(), LinkError> {
    let pong = conn.command(&["PING"]).await?;
    let auth_needed = pong.starts_with("-NOAUTH") || pong.starts_with("-NOPERM");
    if !pong.starts_with('+') && !auth_needed {
        return Err(refused("PING", pong));
    }
    if let Some((user, pass)) = &setup.auth {
        let reply = if user.is_empty() {
            conn.command(&["AUTH", pass]).await?
        } else {
            conn.command(&["AUTH", user, pass]).await?
        };
        if reply != "+OK" {
            return Err(refused("AUTH", reply));
        }
    }
    for args in [
        &["REPLCONF", "listening-port", &setup.port][..],
        &["REPLCONF", "capa", "eof", "capa", "psync2"],
    ] {
        let reply = conn.command(args).await?;
        if reply.starts_with('-') {
            tracing::warn!(
                "(Non critical) Master does not understand {}: {reply}",
                args[1]
            );
        }
    }
    Ok(())
}

/// PSYNC, then either loads the snapshot or continues.
async fn synchronise(
    shared: &Shared,
    generation: u64,
    conn: &mut MasterConn,
    setup: &Setup,
) -> Result<(), LinkError> {
    let [replid, offset] = &setup.psync;
    let reply = conn.command(&["PSYNC", replid, offset]).await?;
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut words = rest.split_whitespace();
        let (Some(replid), Some(Ok(offset))) = (words.next(), words.next().map(str::parse)) else {
            return Err(LinkError::Protocol(reply));
        };
        tracing::info!("Full resync from master: {replid}:{offset}");
        set_state(shared, generation, LinkState::Sync)?;
        let payload = conn.payload().await?;
        load(shared, generation, replid.to_owned(), offset, &payload)
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        tracing::info!("Successful partial resynchronization with master");
        let mut state = shared.state.lock();
        current(&state, generation)?;
        let replid = rest.trim();
        if !replid.is_empty() && replid != state.repl.replid {
            state.repl.shift_replid(replid.to_owned());
        }
        Ok(())
    } else {
        Err(refused("PSYNC", reply))
    }
}

/// Replaces the keyspace with the snapshot's and takes the master's replid and offset.
fn load(
    shared: &Shared,
    generation: u64,
    replid: String,
    offset: i64,
    payload: &[u8],
) -> Result<(), LinkError> {
    let databases = shared.state.lock().dbs.len();
    let (mut fresh, db) = snapshot::read(payload, databases)?;
    let record = {
        let mut state = shared.state.lock();
        current(&state, generation)?;
        for (db, new) in state.dbs.iter_mut().zip(fresh.iter_mut()) {
            db.clear();
            db.swap_data(new);
        }
        state.repl.synced(replid, offset, db);
        if state.aof.is_some() {
            if let Err(e) = Aof::rewrite(&mut state) {
                tracing::warn!("Rewriting the AOF after the sync: {e}");
            }
        }
        record::capture(&mut state)
    };
    record.iter().for_each(Record::save);
    tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    Ok(())
}

/// What woke the stream loop.
enum Event {
    Read(usize),
    Tick,
}

/// Applies the stream until the link fails.
async fn follow(
    shared: &Shared,
    generation: u64,
    mut conn: MasterConn,
) -> Result<Infallible, LinkError> {
    set_state(shared, generation, LinkState::Connected)?;
    let db = shared.state.lock().repl.stream_db;
    let mut applier = Applier {
        master: Client::detached(db, 2),
        decoder: RequestDecoder::default(),
        raw: BytesMut::from(&conn.buf[..]),
        queued: 0,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut deadline = Instant::now() + conn.timeout;
    let mut fresh = !conn.buf.is_empty();
    loop {
        if fresh {
            let step = applier.apply(shared, generation, &mut conn.buf);
            let (offset, getack, record) = step?;
            record.iter().for_each(Record::save);
            if getack {
                conn.ack(offset).await?;
            }
        }
        let event = tokio::select! {
            read = conn.read_more() => Event::Read(read?),
            _ = tick.tick() => Event::Tick,
            _ = tokio::time::sleep_until(deadline) => return Err(LinkError::Timeout),
        };
        fresh = match event {
            Event::Read(0) => return Err(LinkError::Closed),
            Event::Read(n) => {
                applier
                    .raw
                    .extend_from_slice(&conn.buf[conn.buf.len() - n..]);
                deadline = Instant::now() + conn.timeout;
                true
            }
            Event::Tick => {
                let (offset, record) = {
                    let mut state = shared.state.lock();
                    current(&state, generation)?;
                    (state.repl.offset(), record::capture(&mut state))
                };
                record.iter().for_each(Record::save);
                conn.ack(offset).await?;
                false
            }
        };
    }
}

/// Applies complete commands of the stream.
struct Applier {
    /// The master's client: keeps its SELECTed database across reads.
    master: Client,
    decoder: RequestDecoder,
    /// The unapplied bytes exactly as received: the master's transaction being queued, if
    /// any, then what the read buffer still holds.
    raw: BytesMut,
    /// How many bytes at the start of `raw` are the queued transaction's (decoded, not yet
    /// applied: they count in our offset at its EXEC).
    queued: usize,
}

impl Applier {
    /// Applies every complete command in `buf`; returns the new offset, whether a GETACK
    /// was seen, and the record to save.
    fn apply(
        &mut self,
        shared: &Shared,
        generation: u64,
        buf: &mut BytesMut,
    ) -> Result<(i64, bool, Option<Record>), LinkError> {
        let mut state = shared.state.lock();
        current(&state, generation)?;
        // Bytes of `raw` decoded so far (the queued transaction's from earlier reads first),
        // and of those, applied.
        let (mut read, mut used, mut getack, mut failure) = (self.queued, 0, false, None);
        loop {
            let before = buf.len();
            match self.decoder.decode(buf) {
                Ok(Some(request)) => {
                    read += before - buf.len();
                    getack |= execute(&mut state, &mut self.master, &request.args);
                    // Applied up to here unless a transaction is still being queued.
                    if self.master.multi.is_none() {
                        used = read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(LinkError::Protocol(e.to_string()));
                    break;
                }
            }
        }
        self.queued = read - used;
        state.repl.stream.append(self.raw.split_to(used).freeze());
        state.repl.stream_db = self.master.db;
        if let Some(aof) = state.aof.as_mut() {
            if let Err(e) = aof.flush() {
                tracing::error!("Error writing to the AOF file: {e}");
            }
        }
        let offset = state.repl.offset();
        let link = &mut state.repl.link;
        link.last_io = Some(std::time::Instant::now());
        link.read_offset = offset + self.raw.len() as i64;
        match failure {
            Some(e) => Err(e),
            None => Ok((offset, getack, record::capture(&mut state))),
        }
    }
}

/// Runs one command from the master — or queues it inside the master's `MULTI`, the
/// transaction running at `EXEC`; true for `REPLCONF GETACK` (answered by the caller).
fn execute(state: &mut State, master: &mut Client, args: &[Bytes]) -> bool {
    let Some(name) = args.first() else {
        return false;
    };
    let getack = args
        .get(1)
        .is_some_and(|a| a.eq_ignore_ascii_case(b"getack"));
    if name.eq_ignore_ascii_case(b"replconf") && getack {
        return true;
    }
    let Some(spec) = runnable(args) else {
        return false;
    };
    match (spec.name, master.multi.as_mut()) {
        ("multi", None) => master.multi = Some(Multi::default()),
        // Redis refuses a nested MULTI and keeps the transaction going.
        ("multi", Some(_)) => tracing::warn!("Master sent MULTI inside MULTI: ignored"),
        ("discard", Some(_)) => master.multi = None,
        ("exec", Some(_)) => {
            let queue = master.multi.take().map(|m| m.queue).unwrap_or_default();
            let mut ctx = Ctx::new(state, master);
            let holding = ctx.state.hold_propagation();
            for args in &queue {
                apply_one(&mut ctx, args);
            }
            if holding {
                ctx.state.release_propagation();
            }
        }
        (_, Some(multi)) => multi.queue.push(args.to_vec()),
        (_, None) => {
            apply_one(&mut Ctx::new(state, master), args);
        }
    }
    false
}

/// The spec of a command from the master when this node can run it (a warning if not).
fn runnable(args: &[Bytes]) -> Option<&'static cmd::Spec> {
    let name = args.first()?;
    let spec = cmd::lookup(name).filter(|spec| cmd::arity_ok(spec.arity, args.len()));
    if spec.is_none() {
        let shown = String::from_utf8_lossy(&name[..name.len().min(64)]);
        tracing::warn!(
            "Master sent a command we can't run: '{shown}' ({} args)",
            args.len()
        );
    }
    spec
}

/// Runs one command from the master straight to its handler (read-only does not apply),
/// propagated to our AOF as it propagates.
fn apply_one(ctx: &mut Ctx, args: &[Bytes]) {
    if let Some(spec) = runnable(args) {
        ctx.no_block = true;
        cmd::call(ctx, spec, args);
    }
}

fn refused(step: &'static str, reply: String) -> LinkError {
    LinkError::Refused { step, reply }
}

/// The connection to the master, with its read buffer.
struct MasterConn {
    stream: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl MasterConn {
    /// Reads more into `buf` (cancel-safe).
    async fn read_more(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        self.stream.read_buf(&mut self.buf).await
    }

    /// Reads more within `repl-timeout`; end of stream is an error.
    async fn fill(&mut self) -> Result<(), LinkError> {
        match tokio::time::timeout(self.timeout, self.read_more()).await {
            Err(_) => Err(LinkError::Timeout),
            Ok(Ok(0)) => Err(LinkError::Closed),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
        }
    }

    /// One status line (keep-alive newlines before it are skipped), without its CRLF.
    async fn line(&mut self) -> Result<String, LinkError> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.advance(1);
            }
            if let Some(end) = memchr::memchr(b'\n', &self.buf) {
                let line = self.buf.split_to(end + 1);
                return Ok(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(LinkError::Protocol("status line too long".into()));
            }
            self.fill().await?;
        }
    }

    async fn command(&mut self, args: &[&str]) -> Result<String, LinkError> {
        let mut out = BytesMut::new();
        encode_request(args, &mut out);
        self.stream.write_all(&out).await?;
        self.line().await
    }

    /// The snapshot: `$<len>\r\n` and exactly `len` bytes, or, from a diskless master
    /// (we announce `capa eof`), `$EOF:<40-byte mark>\r\n`, the bytes, then the mark.
    async fn payload(&mut self) -> Result<Bytes, LinkError> {
        let header = self.line().await?;
        let bad = || LinkError::Protocol(format!("bad snapshot header '{header}'"));
        if let Some(mark) = header.strip_prefix("$EOF:") {
            return match mark.len() {
                EOF_MARK_LEN => self.until_mark(mark.as_bytes()).await,
                _ => Err(bad()),
            };
        }
        let len: usize = header
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        while self.buf.len() < len {
            self.buf.reserve((len - self.buf.len()).min(16 << 20));
            self.fill().await?;
        }
        Ok(self.buf.split_to(len).freeze())
    }

    /// The bytes before `mark`, which ends a diskless snapshot (the master sends nothing
    /// after it until our first ACK).
    async fn until_mark(&mut self, mark: &[u8]) -> Result<Bytes, LinkError> {
        let mut searched: usize = 0;
        loop {
            let from = searched.saturating_sub(mark.len());
            if let Some(at) = memchr::memmem::find(&self.buf[from..], mark) {
                let snapshot = self.buf.split_to(from + at).freeze();
                self.buf.advance(mark.len());
                return Ok(snapshot);
            }
            searched = self.buf.len();
            self.fill().await?;
        }
    }

    async fn ack(&mut self, offset: i64) -> Result<(), LinkError> {
        let mut out = BytesMut::new();
        encode_request(&["REPLCONF", "ACK", &offset.to_string()], &mut out);
        Ok(self.stream.write_all(&out).await?)
    }
}
