//! The connection task behind a [`Backend`](super::Backend) handle.
//!
//! It connects lazily (on its first job) and then runs two halves: this task writes — it
//! drains every job queued since the last write, encodes them into one buffer and writes
//! it once — while a reader task scans complete reply frames with `FrameScanner` and hands
//! each, as raw bytes, to the job at the front of the in-flight queue. When the connection
//! breaks, jobs in flight fail as `Lost`, jobs not yet written wait for the reconnect, and a
//! failed connect fails the jobs waiting for it as `NotSent` and backs off; both failures
//! are reported to the health table. Each batch written is stamped with one `Instant`; the
//! reader takes one per read, so a reply's backend latency costs no extra clock reads.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use slotgate_protocol::resp::FrameScanner;
use slotgate_protocol::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

use super::link::{open, LinkSettings};
use super::{next_backoff, BackendError, Job, Proto, Receiver, Reply, Upstream};
use crate::metrics::{metrics, BackendMetrics};

/// Jobs written and awaiting replies, oldest first, each with the time its batch was
/// written; `None` marks a reply to swallow (the `+OK` of an `ASKING`).
type InFlight = Arc<Mutex<VecDeque<(Instant, Option<Job>)>>>;

/// Initial capacity of the job and in-flight queues (they grow as needed).
const BATCH: usize = 1024;
const ASKING: &[u8] = b"*1\r\n$6\r\nASKING\r\n";

/// The task: connect on demand, serve until the connection breaks, repeat (`readonly`:
/// send `READONLY` after each connect, for reads from a replica).
pub(super) async fn run(
    addr: Arc<str>,
    proto: Proto,
    upstream: Upstream,
    readonly: bool,
    mut rx: Receiver<Job>,
) {
    let stats = metrics().backend(&addr);
    let mut jobs = Vec::with_capacity(BATCH);
    let mut backoff = Duration::ZERO;
    loop {
        if jobs.is_empty() && rx.recv_all(&mut jobs).await == 0 {
            return;
        }
        let link = LinkSettings {
            readonly,
            ..upstream.link()
        };
        match open(&addr, proto, &link).await {
            Ok(stream) => {
                tracing::debug!(%addr, ?proto, "backend connected");
                backoff = Duration::ZERO;
                if serve(stream, &mut rx, &mut jobs, &stats).await {
                    tracing::debug!(%addr, "backend connection broke");
                    upstream.health.report_failure(&addr);
                }
            }
            Err(err) => {
                tracing::warn!(%addr, %err, "backend connect failed");
                upstream.health.report_failure(&addr);
                stats.failed(jobs.len());
                jobs.drain(..)
                    .for_each(|job| job.fail(BackendError::NotSent));
                backoff = next_backoff(backoff);
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

/// Writes batches until the connection breaks (`true`) or every handle is gone (`false`);
/// `jobs` holds the first batch and, on return, nothing.
async fn serve(
    stream: TcpStream,
    rx: &mut Receiver<Job>,
    jobs: &mut Vec<Job>,
    stats: &BackendMetrics,
) -> bool {
    let (rd, mut wr) = stream.into_split();
    let in_flight: InFlight = Arc::new(Mutex::new(VecDeque::with_capacity(BATCH)));
    let mut reader = tokio::spawn(read_replies(rd, in_flight.clone(), stats.clone()));
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut reader_ended = false;
    let broken = loop {
        if jobs.is_empty() {
            tokio::select! {
                n = rx.recv_all(jobs) => if n == 0 { break false },
                _ = &mut reader => {
                    reader_ended = true;
                    break true;
                }
            }
            // Let every session that is ready this turn queue its requests too, then write
            // them all at once.
            tokio::task::yield_now().await;
            rx.try_recv_all(jobs);
        }
        {
            let sent = Instant::now();
            let mut queue = lock(&in_flight);
            for job in jobs.drain(..) {
                if job.asking {
                    out.put_slice(ASKING);
                    queue.push_back((sent, None));
                }
                out.put_slice(&job.payload);
                queue.push_back((sent, Some(job)));
            }
        }
        if wr.write_all(&out).await.is_err() {
            break true;
        }
        out.clear();
    };
    // A finished JoinHandle must not be polled again.
    if !reader_ended {
        reader.abort();
        let _ = reader.await;
    }
    let lost: Vec<Job> = lock(&in_flight)
        .drain(..)
        .filter_map(|(_, job)| job)
        .collect();
    stats.failed(lost.len());
    lost.into_iter()
        .for_each(|job| job.fail(BackendError::Lost));
    broken
}

/// Reads replies and completes in-flight jobs in order until the connection ends or sends
/// something that is not a reply we are owed.
async fn read_replies(mut rd: OwnedReadHalf, in_flight: InFlight, stats: BackendMetrics) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let limits = Limits {
        max_bulk_len: usize::MAX >> 1,
        ..Limits::default()
    };
    let mut scanner = FrameScanner::new(limits);
    let mut tally = stats.tally();
    loop {
        // What the last batch counted goes out before waiting for the next one.
        tally.flush();
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let now = Instant::now();
        let mut queue = lock(&in_flight);
        loop {
            let len = match scanner.scan(&buf) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(%err, "backend sent a malformed reply");
                    return;
                }
            };
            let frame = buf.split_to(len).freeze();
            match queue.pop_front() {
                Some((sent, Some(job))) => {
                    let ok = !matches!(frame.first(), Some(b'-' | b'!'));
                    tally.request(ok, now.saturating_duration_since(sent).as_secs_f64());
                    let reply = Reply {
                        tag: job.tag,
                        result: Ok(frame),
                    };
                    let _ = job.inbox.send(reply);
                }
                Some((_, None)) => {}
                None => {
                    tracing::warn!("backend sent a reply nobody asked for");
                    return;
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
