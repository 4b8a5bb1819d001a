//! One client connection, from its first byte to its last.
//!
//! The session reads whatever the client sent, takes every complete request out of the
//! buffer (pipelining), routes each ([`crate::router`]) and either answers it itself or
//! hands its parts to backends, each tagged with the request's sequence number. Backend
//! replies come back through the session's inbox in any order across nodes; the
//! [`queue::ReplyQueue`] puts them back in request order and the session writes every reply
//! that is ready, in one write per turn. A client with too many requests in flight is not
//! read from until replies drain (back-pressure), so memory stays bounded however deep the
//! pipeline.
//!
//! Layout:
//! - this file: the [`Session`] state and its event loop.
//! - `dispatch`: requests → parts → backends; replies, redirections, retries, timeouts.
//! - `local`: commands the proxy answers itself (PING, HELLO, AUTH, CLIENT, …).
//! - `tx`: MULTI/EXEC/WATCH on the session's own connection to one node.
//! - `pubsub`: SUBSCRIBE and friends on a dedicated connection that survives failover;
//!   SSUBSCRIBE on one per shard.
//! - `wait`: WAIT, answered by polling the master the client last wrote to.
//! - `scan`: SCAN walking every master behind one cursor.
//! - `queue`: the in-order reply queue.

mod dispatch;
mod local;
mod pubsub;
mod queue;
mod scan;
mod tx;
mod wait;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::{Request, RequestDecoder};
use slotgate_protocol::{Limits, Slot};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::MissedTickBehavior;

use crate::backend::{mailbox, Backend, Inbox, Proto, Receiver, Reply, Tag};
use crate::cluster::Routes;
use crate::config::Config;
use crate::error::ProxyError;
use crate::server::{Proxy, WAKE_UP};
use queue::{Entry, ReplyQueue};
pub(crate) use scan::Walk;

/// How often deadlines, retries and the idle timeout are checked.
const TICK: Duration = Duration::from_millis(20);

/// Replies smaller than this wait up to [`HOLD_TURNS`] scheduler turns before they are
/// written when later replies of the same pipeline are still in flight on shared
/// connections: the other nodes' replies to a batch usually land by then, so the client gets
/// one write instead of one per node (fewer syscalls and wake-ups on both ends).
const HOLD_LIMIT: usize = 16 * 1024;
const HOLD_TURNS: u32 = 1;

/// How much the request scratch buffer grows by at a time.
const SCRATCH_CHUNK: usize = 16 * 1024;

/// Per-client settings the client itself changes.
#[derive(Debug)]
struct ClientState {
    authed: bool,
    proto: Proto,
    name: String,
    replies: Replies,
}

/// `CLIENT REPLY`: which replies the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replies {
    On,
    Off,
    /// None for the next command (`SKIP`).
    SkipNext,
}

/// What woke a session's turn.
enum Event {
    /// Backend replies arrived (in the session's reply buffer).
    Replies,
    /// A pub/sub frame.
    Push(Bytes),
    /// Bytes read from the client (0: it closed the connection).
    Read(usize),
    /// The timer: deadlines, retries, the idle timeout.
    Tick,
    /// The scheduler's other tasks ran once: while a write was held back (see
    /// [`HOLD_LIMIT`]), or before requests back-pressure left in the input are taken.
    Yielded,
}

/// One client's state.
struct Session {
    proxy: Arc<Proxy>,
    /// The live config as of the current request batch (re-read per batch, so a reload's
    /// timeouts, limits and password reach existing sessions).
    config: Arc<Config>,
    id: u64,
    client: ClientState,
    inbox: Inbox,
    queue: ReplyQueue,
    /// The routes requests of the current batch are planned with.
    routes: Arc<Routes>,
    /// Parts waiting to be sent again (after TRYAGAIN, CLUSTERDOWN, a failed connect).
    retries: Vec<(Instant, Tag)>,
    /// The session's own connections, by node: transactions and blocking commands.
    private: Vec<(Arc<str>, Backend)>,
    tx: Option<tx::Transaction>,
    /// The node WATCH ran on (its private connection holds the watch).
    watching: Option<Arc<str>>,
    pubsub: pubsub::PubSub,
    /// Pub/sub frames waiting for earlier replies to be written.
    pushes: VecDeque<Bytes>,
    /// Where requests are encoded; parts are frozen slices of it.
    scratch: BytesMut,
    /// Deadline for the requests of the current batch.
    deadline: Instant,
    /// Reply to what is queued, then close (QUIT, protocol error).
    closing: bool,
    /// The slot of the client's last single-slot write (for WAIT).
    last_write: Option<Slot>,
}

/// Serves one client until it disconnects, QUITs, idles out, breaks the protocol or the
/// proxy shuts down (after answering everything it sent).
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(proxy: Arc<Proxy>, id: u64, stream: S) {
    let (inbox, rx) = mailbox();
    proxy.clients.set_inbox(id, inbox.clone());
    let config = proxy.config.load_full();
    let routes = proxy.cluster.routes();
    let authed = config.proxy.password.is_none();
    let mut session = Session {
        client: ClientState {
            authed,
            proto: Proto::Resp2,
            name: String::new(),
            replies: Replies::On,
        },
        deadline: Instant::now(),
        proxy,
        config,
        id,
        inbox,
        queue: ReplyQueue::default(),
        routes,
        retries: Vec::new(),
        private: Vec::new(),
        tx: None,
        watching: None,
        pubsub: pubsub::PubSub::default(),
        pushes: VecDeque::new(),
        scratch: BytesMut::new(),
        closing: false,
        last_write: None,
    };
    if let Err(err) = session.run(stream, rx).await {
        tracing::debug!(id, %err, "client connection ended");
    }
}

impl Session {
    async fn run<S>(&mut self, mut stream: S, mut rx: Receiver<Reply>) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let limits = Limits {
            max_bulk_len: self.config.proxy.max_request_size,
            ..Limits::default()
        };
        let mut decoder = RequestDecoder::new(limits).keeping_raw();
        let mut request = Request::default();
        let mut input = BytesMut::with_capacity(16 * 1024);
        let mut out = BytesMut::with_capacity(16 * 1024);
        let mut replies = Vec::with_capacity(64);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_input = Instant::now();
        let mut held = 0;
        loop {
            let backlog = self.take_requests(&mut decoder, &mut input, &mut request);
            self.flush(&mut out);
            if !out.is_empty() {
                let hold =
                    held < HOLD_TURNS && out.len() < HOLD_LIMIT && self.queue.front_in_flight();
                held = if hold { held + 1 } else { 0 };
                if !hold {
                    crate::metrics::metrics().bytes_out(out.len());
                    stream.write_all(&out).await?;
                    out.clear();
                }
            }
            if self.closing && self.queue.is_empty() {
                return Ok(());
            }
            let readable = !self.closing && self.queue.len() < self.config.proxy.max_pending;
            // Back-pressure stopped the last take with requests left in `input`, and the
            // flush made room: take them next turn, without waiting for the client to send
            // more (it may have nothing more to send).
            let resume = backlog && readable;
            // Shutting down: close once everything the client sent is answered (the read
            // branch comes first, so bytes already here are still taken).
            let drained =
                self.queue.is_empty() && input.is_empty() && self.proxy.clients.draining();
            let idle_timeout = self.config.proxy.idle_timeout;
            let timers = !self.queue.is_empty() || !idle_timeout.is_zero();
            let event = tokio::select! {
                biased;
                _ = rx.recv_all(&mut replies) => Event::Replies,
                frame = self.pubsub.next() => Event::Push(frame),
                read = stream.read_buf(&mut input), if readable => Event::Read(read?),
                _ = std::future::ready(()), if drained => return Ok(()),
                _ = tokio::task::yield_now(), if held > 0 || resume => Event::Yielded,
                _ = tick.tick(), if timers => Event::Tick,
            };
            // One clock read per turn serves every request and reply it handles.
            let now = Instant::now();
            self.queue.set_clock(now);
            match event {
                Event::Replies => {
                    let woken = replies.iter().any(|r| r.tag.seq == WAKE_UP);
                    if woken && self.proxy.clients.killed(self.id) {
                        return Ok(());
                    }
                    replies.drain(..).for_each(|reply| self.on_reply(reply));
                }
                Event::Push(frame) => self.on_push(frame),
                Event::Read(0) => return Ok(()),
                Event::Read(read) => {
                    crate::metrics::metrics().bytes_in(read);
                    last_input = now;
                }
                Event::Tick => {
                    let idle = now.saturating_duration_since(last_input);
                    if !idle_timeout.is_zero() && self.queue.is_empty() && idle > idle_timeout {
                        return Ok(());
                    }
                    self.on_tick(now);
                }
                Event::Yielded => {}
            }
        }
    }

    /// Takes every complete request out of `input` while back-pressure allows; returns
    /// whether back-pressure stopped it with bytes still in `input`.
    /// `request` is scratch space kept across calls (its argument vector is reused).
    fn take_requests(
        &mut self,
        decoder: &mut RequestDecoder,
        input: &mut BytesMut,
        request: &mut Request,
    ) -> bool {
        if input.is_empty() || self.closing {
            return false;
        }
        self.config = self.proxy.config.load_full();
        self.deadline = self.queue.now() + self.config.cluster.request_timeout;
        self.routes = self.proxy.cluster.routes();
        let mut taken = 0;
        let backlog = loop {
            if self.closing {
                break false;
            }
            if self.queue.len() >= self.config.proxy.max_pending {
                break !input.is_empty();
            }
            match decoder.decode_into(input, request) {
                Ok(true) => {
                    taken += 1;
                    self.on_request(&request.args, request.raw.take());
                    // Let go of the arguments now: they pin the client's input buffer.
                    request.args.clear();
                }
                Ok(false) => break false,
                Err(err) => {
                    tracing::debug!(id = self.id, %err, "protocol error");
                    self.reply_err(ProxyError::Protocol(err));
                    self.closing = true;
                }
            }
        };
        if taken > 0 {
            crate::metrics::metrics().pipeline_depth(taken);
        }
        backlog
    }

    /// Moves ready replies, then (once nothing is waiting) pub/sub frames, into `out`.
    fn flush(&mut self, out: &mut BytesMut) {
        let slow = self.config.proxy.slowlog_threshold;
        self.queue.flush(out, slow, &self.routes);
        if self.queue.is_empty() {
            while let Some(frame) = self.pushes.pop_front() {
                out.extend_from_slice(&frame);
            }
        }
    }

    /// Queues a reply that is ready now.
    fn reply(&mut self, bytes: Bytes) {
        self.queue.push(Entry::Done(bytes));
    }

    fn reply_err(&mut self, err: ProxyError) {
        self.reply(err.reply());
    }

    /// Encodes a request into the scratch buffer and returns it as a cheap `Bytes`. The
    /// buffer is grown a chunk at a time, so encoding costs one allocation per
    /// [`SCRATCH_CHUNK`] bytes rather than a few per request.
    fn encode<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Bytes {
        // Each argument: `$<len>\r\n<bytes>\r\n`; the array header: `*<n>\r\n`.
        let size = args.iter().map(|a| a.as_ref().len() + 24).sum::<usize>() + 24;
        if self.scratch.capacity() < size {
            self.scratch.reserve(size.max(SCRATCH_CHUNK));
        }
        slotgate_protocol::resp::encode_request(args, &mut self.scratch);
        self.scratch.split().freeze()
    }
}
