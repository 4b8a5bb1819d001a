//! `WAIT numreplicas timeout`: blocks the calling client (only it) until `numreplicas`
//! replicas have acknowledged the calling client's last write (the stream offset right
//! after it, `Client::woff`, as Redis's `c->woff`), or the timeout passes; answers the
//! number that did. Other clients' later writes do not make it wait longer.
//!
//! It parks through the server's blocked-client machinery like BLPOP: the waiter blocks on
//! a private key no client can know, and when its replicas have acknowledged (or its time
//! is up) [`serve`] signals that key and the waiter's `WAIT` is re-run, which then answers
//! the count prepared for it in [`Waits::serving`]. A `REPLCONF GETACK *` is put in the
//! stream so replicas acknowledge without waiting for their one-second ACK.

use bytes::Bytes;
use slotgate_protocol::Frame;

use crate::blocking::{self, Block};
use crate::cmd::args::int;
use crate::cmd::{Ctx, Reply};
use crate::reply::int as integer;
use crate::state::{now_ms, State};

const ON_REPLICA: &str = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.";

/// One blocked WAIT.
#[derive(Debug)]
struct Waiter {
    key: Bytes,
    db: usize,
    target: i64,
    needed: usize,
    deadline: Option<i64>,
}

/// Blocked WAITs.
#[derive(Debug, Default)]
pub struct Waits {
    waiters: Vec<Waiter>,
    /// The count a re-run WAIT answers (set only while [`serve`] wakes one).
    serving: Option<usize>,
    next: u64,
    /// Stream offset right after the last GETACK we sent (to send one per batch of writes).
    last_getack: i64,
}

impl Waits {
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}

/// The WAIT command.
pub fn wait(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if let Some(count) = ctx.state.repl.waits.serving.take() {
        return Ok(integer(count));
    }
    if ctx.state.repl.is_replica() {
        return Err(Frame::error(ON_REPLICA));
    }
    let needed = int(&args[1])?;
    let timeout =
        int(&args[2]).map_err(|_| Frame::error("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(Frame::error("ERR timeout is negative"));
    }
    let repl = &mut ctx.state.repl;
    let target = ctx.client.woff;
    let acked = repl.acked(target);
    if acked as i64 >= needed || ctx.no_block {
        return Ok(integer(acked));
    }
    let waits = &mut repl.waits;
    waits.next += 1;
    let key = Bytes::from(format!(
        "\0wait\0{}\0{:016x}",
        waits.next,
        rand::random::<u64>()
    ));
    waits.waiters.push(Waiter {
        key: key.clone(),
        db: ctx.client.db,
        target,
        needed: needed as usize,
        deadline: (timeout > 0).then(|| ctx.now + timeout),
    });
    request_acks(ctx.state);
    ctx.block = Some(Block {
        keys: vec![key],
        deadline: None,
        on_timeout: integer(acked),
    });
    Ok(Frame::Null)
}

/// Puts `REPLCONF GETACK *` in the stream, unless it is already the last thing there.
fn request_acks(state: &mut State) {
    let repl = &mut state.repl;
    if repl.offset() != repl.waits.last_getack {
        repl.stream.feed(None, &["REPLCONF", "GETACK", "*"]);
        repl.waits.last_getack = repl.offset();
    }
}

/// Answers every WAIT that has its acknowledgements or is out of time.
pub fn serve(state: &mut State) {
    answer(state, false);
}

/// Answers every WAIT now, with the count so far (the role changed).
pub fn serve_all(state: &mut State) {
    answer(state, true);
}

fn answer(state: &mut State, all: bool) {
    if state.repl.waits.is_empty() {
        return;
    }
    let now = now_ms();
    let mut done = Vec::new();
    let repl = &mut state.repl;
    let waiters = std::mem::take(&mut repl.waits.waiters);
    for waiter in waiters {
        let count = repl.acked(waiter.target);
        let due = waiter.deadline.is_some_and(|at| at <= now);
        if all || due || count >= waiter.needed {
            done.push((waiter, count));
        } else {
            repl.waits.waiters.push(waiter);
        }
    }
    for (waiter, count) in done {
        state.repl.waits.serving = Some(count);
        state.blocked.signal(waiter.db, &waiter.key);
        blocking::serve(state);
        state.repl.waits.serving = None;
    }
}

/// The earliest WAIT deadline, for the periodic task's next wake-up.
pub fn next_deadline(state: &State) -> Option<i64> {
    state
        .repl
        .waits
        .waiters
        .iter()
        .filter_map(|w| w.deadline)
        .min()
}
