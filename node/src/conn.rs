//! One client connection: read, decode every complete request in the buffer, run the batch
//! with the state locked once, flush the AOF, write all replies in one write. Pushed
//! messages (pub/sub) arrive on the client's mailbox; a blocking command parks the
//! connection until it is served, times out, or the client goes away. A client idle for
//! longer than `timeout` seconds is closed, unless it is subscribed (or blocked), as in
//! Redis's `clientsCronHandleTimeout`; so is one whose unfinished request outgrows
//! `client-query-buffer-limit`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::RequestDecoder;
use slotgate_protocol::{Frame, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::aof::Aof;
use crate::blocking::{self, Block};
use crate::client::{Client, Mailbox, Out};
use crate::cmd::{self, Ctx};
use crate::config::{ClientClass, OutputLimit};
use crate::obuf;
use crate::reply;
use crate::state::{now_ms, ClientMeta, Clock, Shared, State};

/// Requests run per lock, at most.
const BATCH: usize = 512;

/// What a batch left to do.
struct Batch {
    /// A command that must wait.
    parked: Option<Parked>,
    /// The AOF holds commands not yet written.
    aof_pending: bool,
}

/// A blocked command waiting for its reply.
struct Parked {
    id: u64,
    rx: oneshot::Receiver<Frame>,
    deadline: Option<i64>,
    on_timeout: Frame,
}

/// Serves one accepted connection until it closes.
pub async fn serve(shared: Arc<Shared>, mut stream: TcpStream, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mailbox = Mailbox {
        tx,
        queued: Arc::default(),
    };
    let id = shared.next_id();
    let Some(mut client) = admit(&shared, id, mailbox, &stream, addr) else {
        return;
    };
    let query_limit = shared
        .state
        .lock()
        .config
        .get_int("client-query-buffer-limit");
    let mut conn = Conn {
        shared: shared.clone(),
        decoder: RequestDecoder::new(Limits::default()),
        pending: VecDeque::new(),
        paused: false,
        query_limit: query_limit as usize,
        output_limit: OutputLimit::default(),
    };
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut idle_check = tokio::time::interval(Duration::from_secs(1));
    idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Idle time is counted in whole ticks of `idle_check` (no clock read per request).
    let mut last_active = Instant::now();
    let mut active = false;
    loop {
        tokio::select! {
            biased;
            read = stream.read_buf(&mut inbuf) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                active = true;
                // Pushes queued before these requests arrived go out before their replies
                // (a MONITOR client sees the lines of earlier commands first, as in Redis).
                let flushed = match rx.try_recv() {
                    Ok(Out::Frame(frame)) => push(&mut client, &mut rx, frame, &mut stream).await,
                    Ok(Out::Kill) => false,
                    Err(_) => true,
                };
                if !flushed {
                    break;
                }
                if !conn.run(&mut client, &mut inbuf, &mut out, &mut stream).await {
                    break;
                }
                if inbuf.len() > conn.query_limit {
                    tracing::warn!(
                        "Closing client that reached max query buffer length: id={} addr={addr} (qbuf initial bytes: {:?})",
                        client.id,
                        String::from_utf8_lossy(&inbuf[..inbuf.len().min(64)])
                    );
                    break;
                }
            }
            Some(msg) = rx.recv() => {
                let Out::Frame(frame) = msg else { break };
                if !push(&mut client, &mut rx, frame, &mut stream).await {
                    break;
                }
            }
            _ = idle_check.tick() => {
                if std::mem::take(&mut active) {
                    last_active = Instant::now();
                } else if timed_out(&shared, &client, last_active) {
                    break;
                }
            }
        }
    }
    leave(&shared, &mut client);
    crate::replication::adopt(shared, client.id, stream).await;
}

/// Registers the client, or refuses it (maxclients, protected mode) with Redis's text.
fn admit(
    shared: &Shared,
    id: u64,
    mailbox: Mailbox,
    stream: &TcpStream,
    addr: SocketAddr,
) -> Option<Client> {
    let mut state = shared.state.lock();
    let refusal = refusal(&state, &addr);
    if let Some(text) = refusal {
        state.stats.rejected_connections += 1;
        let _ = stream.try_write(text.as_bytes());
        return None;
    }
    state.stats.connections += 1;
    // As Redis: a new connection is `default`'s, authenticated when that user is on and
    // has `nopass` (`requirepass` empty, or `ACL SETUSER default nopass`).
    let authenticated = state.acl.default_needs_no_auth();
    let mut client = Client::new(id, mailbox, authenticated);
    client.addr = Some(addr);
    client.laddr = stream.local_addr().ok();
    let meta = ClientMeta {
        addr: addr.to_string(),
        laddr: client.laddr.map(|a| a.to_string()).unwrap_or_default(),
        name: None,
        created: client.created,
        last_active: client.created,
        visible: Default::default(),
        blocked: false,
        mailbox: client.mailbox.clone(),
    };
    state.clients.insert(id, meta);
    Some(client)
}

fn refusal(state: &State, addr: &SocketAddr) -> Option<&'static str> {
    if state.clients.len() as i64 >= state.config.get_int("maxclients") {
        return Some("-ERR max number of clients reached\r\n");
    }
    let open = state.config.get_bool("protected-mode") && state.acl.default_needs_no_auth();
    if open && !addr.ip().is_loopback() {
        return Some(DENIED);
    }
    None
}

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart the server using the '--protected-mode no' option. 4) Setup a bind address or an authorized user for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// The `timeout` directive: idle for more than that many seconds (0: never), and not a
/// subscriber.
fn timed_out(shared: &Shared, client: &Client, last_active: Instant) -> bool {
    if client.subscriptions() > 0 {
        return false;
    }
    let limit = shared.state.lock().config.get_int("timeout");
    limit > 0 && last_active.elapsed() > Duration::from_secs(limit as u64)
}

/// Writes what the AOF buffers (unless `everysec`'s fsync postpones it).
fn flush_aof(state: &mut State) {
    if let Some(aof) = state.aof.as_mut() {
        if let Err(e) = aof.flush_batch() {
            tracing::error!("Error writing to the AOF file: {e}");
        }
    }
}

/// Unregisters a closing client from every registry.
fn leave(shared: &Shared, client: &mut Client) {
    let mut state = shared.state.lock();
    state.clients.remove(&client.id);
    crate::cmd::forget_client(&mut state, client);
}

/// Writes one pushed message (and any others already queued).
async fn push(
    client: &mut Client,
    rx: &mut mpsc::UnboundedReceiver<Out>,
    first: Frame,
    stream: &mut TcpStream,
) -> bool {
    let mut out = BytesMut::new();
    let mut next = Some(first);
    while let Some(frame) = next.take() {
        let before = out.len();
        reply::encode(&frame, client.resp, &mut out);
        client.mailbox.queued.fetch_sub(
            (out.len() - before).min(client.mailbox.queued.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        match rx.try_recv() {
            Ok(Out::Frame(frame)) => next = Some(frame),
            Ok(Out::Kill) => return false,
            Err(_) => {}
        }
    }
    client.mailbox.queued.store(0, Ordering::Relaxed);
    stream.write_all(&out).await.is_ok()
}

struct Conn {
    shared: Arc<Shared>,
    decoder: RequestDecoder,
    /// Decoded requests not yet run (a blocking command stopped the batch).
    pending: VecDeque<Vec<Bytes>>,
    /// A write waits for the end of a manual failover's pause.
    paused: bool,
    /// `client-query-buffer-limit`, as of the last batch.
    query_limit: usize,
    /// This client's `client-output-buffer-limit`, as of the last batch.
    output_limit: OutputLimit,
}

impl Conn {
    /// Runs everything decodable in `inbuf`; false when the connection must close.
    async fn run(
        &mut self,
        client: &mut Client,
        inbuf: &mut BytesMut,
        out: &mut BytesMut,
        stream: &mut TcpStream,
    ) -> bool {
        loop {
            let protocol_error = self.decode(inbuf);
            if self.pending.is_empty() {
                if let Some(text) = protocol_error {
                    let _ = stream.write_all(text.as_bytes()).await;
                    return false;
                }
                return true;
            }
            let Batch {
                parked,
                aof_pending,
            } = self.execute_batch(client, out);
            if aof_pending {
                self.flush_aof().await;
            }
            if !out.is_empty() {
                if !self.send(client, out, stream).await {
                    return false;
                }
                out.clear();
            }
            if client.close {
                return false;
            }
            if std::mem::take(&mut self.paused) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if let Some(parked) = parked {
                let reply = self.wait(parked, stream, inbuf).await;
                if let Some(meta) = self.shared.state.lock().clients.get_mut(&client.id) {
                    meta.blocked = false;
                }
                let Some(reply) = reply else { return false };
                reply::encode(&reply, client.resp, out);
            }
            if self.pending.is_empty() && protocol_error.is_none() && inbuf.is_empty() {
                if !out.is_empty() {
                    let ok = self.send(client, out, stream).await;
                    out.clear();
                    return ok;
                }
                return true;
            }
        }
    }

    /// Writes a batch's replies within the output buffer limit; false when the connection
    /// must close.
    async fn send(&self, client: &Client, out: &[u8], stream: &mut TcpStream) -> bool {
        match obuf::send(stream, out, self.output_limit).await {
            obuf::Sent::All => true,
            obuf::Sent::Broken => false,
            obuf::Sent::OverLimit => {
                obuf::log_closed(client);
                false
            }
        }
    }

    /// Moves complete requests from `inbuf` to `pending`; a protocol error's reply text.
    fn decode(&mut self, inbuf: &mut BytesMut) -> Option<String> {
        while self.pending.len() < BATCH {
            match self.decoder.decode(inbuf) {
                Ok(Some(request)) => self.pending.push_back(request.args),
                Ok(None) => return None,
                Err(e) => return Some(format!("-{e}\r\n")),
            }
        }
        None
    }

    /// Runs pending requests with the state locked; stops at a command that must block.
    fn execute_batch(&mut self, client: &mut Client, out: &mut BytesMut) -> Batch {
        let mut state = self.shared.state.lock();
        if self.pending.len() > 1 {
            // Overlap the batch's keyspace cache misses (most commands' key is `args[1]`).
            let keys: Vec<&[u8]> = self
                .pending
                .iter()
                .filter_map(|a| a.get(1))
                .map(|k| &k[..])
                .collect();
            state.dbs[client.db].warm(&keys);
        }
        let clock = Clock::start();
        let mut started = clock.base();
        let mut parked = None;
        while let Some(args) = self.pending.pop_front() {
            let now = clock.unix_ms(started);
            if crate::pause::holds(&mut state, client, &args, now) {
                self.pending.push_front(args);
                self.paused = true;
                break;
            }
            let skipped = std::mem::take(&mut client.skip_next_reply);
            let (reply, block) = {
                let mut ctx = Ctx::at(&mut state, client, now, started);
                let reply = cmd::execute(&mut ctx, &args);
                started = ctx.started;
                (reply, ctx.block.take())
            };
            blocking::serve(&mut state);
            if let Some(Block {
                keys,
                deadline,
                on_timeout,
            }) = block
            {
                let (id, rx) = state.blocked.add(client, args, keys);
                parked = Some(Parked {
                    id,
                    rx,
                    deadline,
                    on_timeout,
                });
                break;
            }
            if client.replies(skipped) {
                reply::encode(&reply, client.resp, out);
            }
            for line in client.own_feed.drain(..) {
                reply::encode(&line, client.resp, out);
            }
            if client.close || state.shutdown {
                break;
            }
        }
        self.query_limit = state.config.hot().client_query_buffer_limit;
        // Redis's `getClientType`: any subscription makes a pub/sub client (RESP3 too).
        self.output_limit = state.config.output_limit(if client.subscriptions() > 0 {
            ClientClass::PubSub
        } else {
            ClientClass::Normal
        });
        if let Some(meta) = state.clients.get_mut(&client.id) {
            meta.visible = client.visible();
            meta.last_active = clock.base();
            meta.blocked = parked.is_some();
            meta.name.clone_from(&client.name);
        }
        if state.shutdown {
            self.shared.shutdown.notify_one();
        }
        Batch {
            parked,
            aof_pending: state.aof.as_ref().is_some_and(Aof::has_pending),
        }
    }

    /// Writes the AOF's buffered commands before replies leave, as Redis's `beforeSleep`
    /// does once per event-loop turn: this task first yields, so every other connection
    /// with requests ready runs its batch, and the first to come back writes them all in
    /// one write(2) — a group commit instead of one write per connection.
    async fn flush_aof(&self) {
        tokio::task::yield_now().await;
        flush_aof(&mut self.shared.state.lock());
    }

    /// Waits for a parked command's reply; `None` when the client went away.
    /// Bytes the client sends meanwhile are kept in `inbuf` for after.
    async fn wait(
        &mut self,
        mut parked: Parked,
        stream: &mut TcpStream,
        inbuf: &mut BytesMut,
    ) -> Option<Frame> {
        let sleep = async {
            match parked.deadline {
                Some(at) => {
                    tokio::time::sleep(Duration::from_millis((at - now_ms()).max(0) as u64)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        let mut gone = false;
        loop {
            tokio::select! {
                reply = &mut parked.rx => {
                    flush_aof(&mut self.shared.state.lock());
                    return reply.ok();
                }
                _ = &mut sleep => break,
                read = stream.read_buf(inbuf) => if !matches!(read, Ok(n) if n > 0) {
                    gone = true;
                    break;
                },
            }
        }
        let cancelled = self.shared.state.lock().blocked.cancel(parked.id);
        match (cancelled, gone) {
            (_, true) => None,
            (true, false) => Some(parked.on_timeout),
            (false, false) => parked.rx.try_recv().ok(),
        }
    }
}
