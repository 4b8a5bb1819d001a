//! The connection task behind a [`Backend`](super::Backend) handle.
//!
//! It connects lazily (on its first job) and then runs two halves: this task writes — it
//! drains every job queued since the last write, encodes them into one buffer and writes
//! it once — while a reader task scans complete reply frames with `FrameScanner` and hands
//! each, as raw bytes, to the job at the front of the in-flight queue. When the connection
//! breaks, jobs in flight fail as `Lost`, jobs not yet written wait for the reconnect, and a
//! failed connect fails the jobs waiting for it as `NotSent` and backs off.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use slotgate_protocol::resp::FrameScanner;
use slotgate_protocol::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::link::{open, LinkSettings};
use super::{next_backoff, BackendError, Job, Proto, Reply};

/// Jobs written and awaiting replies, oldest first; `None` marks a reply to swallow (the
/// `+OK` of an `ASKING`).
type InFlight = Arc<Mutex<VecDeque<Option<Job>>>>;

const BATCH: usize = 1024;
const ASKING: &[u8] = b"*1\r\n$6\r\nASKING\r\n";

/// The task: connect on demand, serve until the connection breaks, repeat.
pub(super) async fn run(
    addr: Arc<str>,
    proto: Proto,
    settings: Arc<LinkSettings>,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let mut jobs = Vec::with_capacity(BATCH);
    let mut backoff = Duration::ZERO;
    loop {
        if jobs.is_empty() && rx.recv_many(&mut jobs, BATCH).await == 0 {
            return;
        }
        match open(&addr, proto, &settings).await {
            Ok(stream) => {
                tracing::debug!(%addr, ?proto, "backend connected");
                backoff = Duration::ZERO;
                serve(stream, &mut rx, &mut jobs).await;
                tracing::debug!(%addr, "backend connection closed");
            }
            Err(err) => {
                tracing::warn!(%addr, %err, "backend connect failed");
                jobs.drain(..)
                    .for_each(|job| job.fail(BackendError::NotSent));
                backoff = next_backoff(backoff);
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

/// Writes batches until the connection breaks or every handle is gone; `jobs` holds the
/// first batch and, on return, nothing.
async fn serve(stream: TcpStream, rx: &mut mpsc::UnboundedReceiver<Job>, jobs: &mut Vec<Job>) {
    let (rd, mut wr) = stream.into_split();
    let in_flight: InFlight = Arc::new(Mutex::new(VecDeque::with_capacity(BATCH)));
    let mut reader = tokio::spawn(read_replies(rd, in_flight.clone()));
    let mut out = BytesMut::with_capacity(64 * 1024);
    loop {
        if jobs.is_empty() {
            tokio::select! {
                n = rx.recv_many(jobs, BATCH) => if n == 0 { break },
                _ = &mut reader => break,
            }
            // Let every session that is ready this turn queue its requests too, then write
            // them all at once.
            tokio::task::yield_now().await;
            while let Ok(job) = rx.try_recv() {
                jobs.push(job);
            }
        }
        {
            let mut queue = lock(&in_flight);
            for job in jobs.drain(..) {
                if job.asking {
                    out.put_slice(ASKING);
                    queue.push_back(None);
                }
                out.put_slice(&job.payload);
                queue.push_back(Some(job));
            }
        }
        if wr.write_all(&out).await.is_err() {
            break;
        }
        out.clear();
    }
    reader.abort();
    let _ = reader.await;
    lock(&in_flight)
        .drain(..)
        .flatten()
        .for_each(|job| job.fail(BackendError::Lost));
}

/// Reads replies and completes in-flight jobs in order until the connection ends or sends
/// something that is not a reply we are owed.
async fn read_replies(mut rd: OwnedReadHalf, in_flight: InFlight) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let limits = Limits {
        max_bulk_len: usize::MAX >> 1,
        ..Limits::default()
    };
    let mut scanner = FrameScanner::new(limits);
    loop {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
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
                Some(Some(job)) => {
                    let _ = job.inbox.send(Reply {
                        tag: job.tag,
                        result: Ok(frame),
                    });
                }
                Some(None) => {}
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
