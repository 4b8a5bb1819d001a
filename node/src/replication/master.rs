//! The master side: answering `PSYNC` (partial from the backlog, or full with a snapshot)
//! and then serving the attached replica on its own task — the connection is handed over
//! from the client loop ([`adopt`]) — which streams the backlog out and reads
//! `REPLCONF ACK`s in until either side fails, the replica lags past the output limit, or
//! `repl-timeout` passes without an ACK.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::RequestDecoder;
use slotgate_protocol::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::{wait, Replica, Stream};
use crate::cmd::Ctx;
use crate::state::{Shared, State};

/// What the client loop leaves for [`adopt`] after a successful PSYNC.
#[derive(Debug)]
pub struct Handoff {
    /// A full resync's snapshot, sent before the stream.
    snapshot: Option<Vec<u8>>,
}

/// How a PSYNC is answered.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// `+CONTINUE`: stream from this offset.
    Continue(i64),
    Full,
}

/// PSYNC (and SYNC, `announce` false): decides, replies, and marks the connection for
/// hand-off. The reply is the `+FULLRESYNC` / `+CONTINUE` line.
pub fn psync(ctx: &mut Ctx, replid: &[u8], from: i64, announce: bool) -> Result<Frame, Frame> {
    let id = ctx.client.id;
    let repl = &mut ctx.state.repl;
    if repl.is_replica() && repl.link.state != super::LinkState::Connected {
        return Err(Frame::error(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    let plan = plan(repl, replid, from);
    let (start, snapshot, reply) = match plan {
        Plan::Continue(from) => {
            repl.stats.partial_ok += 1;
            let reply = format!("CONTINUE {}", repl.replid);
            (from, None, reply)
        }
        Plan::Full => {
            if replid != b"?" {
                repl.stats.partial_err += 1;
            }
            repl.stats.full += 1;
            let offset = {
                let mut backlog = repl.stream.lock();
                backlog.activate();
                backlog.reselect();
                backlog.offset()
            };
            let reply = format!("FULLRESYNC {} {offset}", repl.replid);
            let db = ctx.state.repl.stream_db;
            let snapshot = super::snapshot::write(ctx.state, db);
            (offset + 1, Some(snapshot), reply)
        }
    };
    register(ctx.state, id, ctx.client.addr, start, snapshot.is_none());
    ctx.state.repl.handoffs.insert(id, Handoff { snapshot });
    ctx.client.close = true;
    Ok(if announce {
        Frame::Simple(Bytes::from(reply))
    } else {
        crate::reply::several(Vec::new())
    })
}

/// Partial when the replica's history is ours (`replid`, or `replid2` up to where it was
/// valid) and the backlog still holds everything from `from` on.
fn plan(repl: &super::Replication, replid: &[u8], from: i64) -> Plan {
    let ours = replid == repl.replid.as_bytes()
        || (replid == repl.replid2.as_bytes() && from <= repl.second_offset);
    if ours && repl.stream.lock().can_continue(from) {
        Plan::Continue(from)
    } else {
        Plan::Full
    }
}

/// Lists the replica and attaches its cursor at `start`.
fn register(
    state: &mut State,
    id: u64,
    addr: Option<std::net::SocketAddr>,
    start: i64,
    online: bool,
) {
    let repl = &mut state.repl;
    let (port, ip) = repl.hellos.remove(&id).unwrap_or_default();
    let peer = addr.map(|a| a.ip().to_string()).unwrap_or_default();
    repl.replicas.insert(
        id,
        Replica {
            ip: ip.unwrap_or(peer),
            port: port.unwrap_or(0),
            online,
            ack_offset: 0,
            ack_time: Instant::now(),
        },
    );
    repl.stream.lock().attach(id, start);
}

/// Called for every client connection that ends: a replica's connection (one that
/// PSYNCed) continues here, on the same task, until the replica goes away.
pub async fn adopt(shared: Arc<Shared>, id: u64, stream: TcpStream) {
    let (handoff, feed, timeout) = {
        let mut state = shared.state.lock();
        state.repl.hellos.remove(&id);
        let Some(handoff) = state.repl.handoffs.remove(&id) else {
            return;
        };
        (handoff, state.repl.stream.clone(), ack_timeout(&state))
    };
    let (rd, wr) = stream.into_split();
    let reason = tokio::select! {
        r = send(&shared, &feed, id, wr, handoff.snapshot) => r,
        r = receive(&shared, id, rd, timeout) => r,
    };
    tracing::info!("Connection with replica {id} lost: {reason}");
    let mut state = shared.state.lock();
    state.repl.replicas.remove(&id);
    state.repl.stream.lock().detach(id);
}

/// Sends the snapshot (if any), then the stream as it grows.
async fn send(
    shared: &Shared,
    feed: &Stream,
    id: u64,
    mut wr: OwnedWriteHalf,
    snapshot: Option<Vec<u8>>,
) -> String {
    if let Some(snapshot) = snapshot {
        let header = format!("${}\r\n", snapshot.len());
        if let Err(e) = write_all(&mut wr, &[header.as_bytes(), &snapshot]).await {
            return e.to_string();
        }
        drop(snapshot);
        let mut state = shared.state.lock();
        if let Some(replica) = state.repl.replicas.get_mut(&id) {
            replica.online = true;
            replica.ack_time = Instant::now();
        }
        tracing::info!("Synchronization with replica {id} succeeded");
    }
    loop {
        let notified = feed.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let Some(chunks) = feed.lock().read(id) else {
            return "dropped (lagging past the output buffer limit, or role change)".into();
        };
        if chunks.is_empty() {
            notified.await;
            // Let the other connections' batches run first, so one write carries many
            // clients' commands instead of one syscall (and one replica wake-up) each.
            tokio::task::yield_now().await;
            continue;
        }
        let parts: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        if let Err(e) = write_all(&mut wr, &parts).await {
            return e.to_string();
        }
    }
}

async fn write_all(wr: &mut OwnedWriteHalf, parts: &[&[u8]]) -> std::io::Result<()> {
    for part in parts {
        wr.write_all(part).await?;
    }
    Ok(())
}

/// How long a replica may stay silent: `repl-timeout` plus half of the one-second ACK
/// period, for jitter.
fn ack_timeout(state: &State) -> Duration {
    let secs = state.config.get_int("repl-timeout").max(1) as u64;
    Duration::from_millis(secs * 1000 + 500)
}

/// Reads `REPLCONF ACK <offset>` from the replica until it fails or falls silent.
async fn receive(shared: &Shared, id: u64, mut rd: OwnedReadHalf, mut timeout: Duration) -> String {
    let mut buf = BytesMut::with_capacity(1024);
    let mut decoder = RequestDecoder::default();
    loop {
        match tokio::time::timeout(timeout, rd.read_buf(&mut buf)).await {
            Err(_) => return "timeout: no ACK within repl-timeout".into(),
            Ok(Ok(0)) => return "closed by replica".into(),
            Ok(Err(e)) => return e.to_string(),
            Ok(Ok(_)) => {}
        }
        let mut acked = None;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(request)) => acked = ack_offset(&request.args).or(acked),
                Ok(None) => break,
                Err(e) => return e.to_string(),
            }
        }
        if let Some(offset) = acked {
            let mut state = shared.state.lock();
            if let Some(replica) = state.repl.replicas.get_mut(&id) {
                replica.ack_offset = replica.ack_offset.max(offset);
                replica.ack_time = Instant::now();
            }
            wait::serve(&mut state);
            timeout = ack_timeout(&state);
        }
    }
}

/// The offset of a `REPLCONF ACK <offset> [FACK <offset>]`.
fn ack_offset(args: &[Bytes]) -> Option<i64> {
    let is = |i: usize, word: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    if !(is(0, "replconf") && is(1, "ack")) {
        return None;
    }
    std::str::from_utf8(args.get(2)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::Replication;

    #[test]
    fn plan_follows_replid_and_backlog() {
        let mut repl = Replication::new("");
        repl.stream.lock().attach(9, 1);
        repl.stream.feed(Some(0), &["SET", "a", "b"]);
        let id = repl.replid.clone().into_bytes();
        assert_eq!(plan(&repl, &id, 1), Plan::Continue(1));
        assert_eq!(
            plan(&repl, &id, repl.offset() + 1),
            Plan::Continue(repl.offset() + 1)
        );
        assert_eq!(plan(&repl, &id, repl.offset() + 2), Plan::Full);
        assert_eq!(plan(&repl, b"?", -1), Plan::Full);
        let old = repl.replid.clone().into_bytes();
        repl.shift_replid("f".repeat(40));
        let at = repl.second_offset;
        assert_eq!(plan(&repl, &old, at), Plan::Continue(at));
        repl.stream.feed(Some(0), &["SET", "a", "c"]);
        assert_eq!(plan(&repl, &old, repl.offset() + 1), Plan::Full);
    }

    #[test]
    fn acks_are_parsed() {
        let args = |v: &[&'static str]| {
            v.iter()
                .map(|s| Bytes::from_static(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ack_offset(&args(&["REPLCONF", "ACK", "42"])), Some(42));
        assert_eq!(
            ack_offset(&args(&["replconf", "ack", "7", "FACK", "3"])),
            Some(7)
        );
        assert_eq!(ack_offset(&args(&["REPLCONF", "ACK", "x"])), None);
        assert_eq!(ack_offset(&args(&["PING"])), None);
    }
}
