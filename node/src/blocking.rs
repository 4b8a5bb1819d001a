//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD, …). A blocking command that finds
//! nothing registers a [`Waiter`]; a write that may have fed a watched key signals it; after
//! the command, [`serve`] re-runs the waiters' commands for each ready key in FIFO order
//! (Redis's fair wake-up) and sends each reply to the waiting connection.

use std::collections::VecDeque;

use bytes::Bytes;
use slotgate_protocol::Frame;
use tokio::sync::oneshot;

use crate::client::Client;
use crate::cmd::{self, Ctx};
use crate::db::Map;
use crate::state::State;

/// What a blocking command asks for when it must wait.
#[derive(Debug)]
pub struct Block {
    pub keys: Vec<Bytes>,
    /// Unix ms deadline; `None` waits forever.
    pub deadline: Option<i64>,
    /// The reply on timeout.
    pub on_timeout: Frame,
}

/// One waiting client.
#[derive(Debug)]
struct Waiter {
    db: usize,
    resp: u8,
    args: Vec<Bytes>,
    keys: Vec<Bytes>,
    tx: oneshot::Sender<Frame>,
}

/// The registry of blocked clients.
#[derive(Debug, Default)]
pub struct Blocked {
    /// (db, key) → waiter ids in arrival order.
    by_key: Map<(usize, Bytes), VecDeque<u64>>,
    waiters: Map<u64, Waiter>,
    next_id: u64,
    /// Keys signalled since the last [`serve`].
    ready: Vec<(usize, Bytes)>,
    /// What the next [`Blocked::add`] re-runs instead of the client's command: set by a
    /// blocking command whose arguments resolve against the data at call time (XREAD's
    /// `$`, its default COUNT while blocked).
    rerun: Option<Vec<Bytes>>,
    /// True while [`serve`] re-runs a waiter's command (XREADGROUP words a vanished group
    /// differently then).
    pub serving: bool,
}

impl Blocked {
    /// Makes the next [`Blocked::add`] wait with `args` instead of the command it gets.
    pub fn rerun_as(&mut self, args: Vec<Bytes>) {
        self.rerun = Some(args);
    }

    /// Registers a client; its reply will arrive on the returned receiver.
    pub fn add(
        &mut self,
        client: &Client,
        args: Vec<Bytes>,
        keys: Vec<Bytes>,
    ) -> (u64, oneshot::Receiver<Frame>) {
        let (tx, rx) = oneshot::channel();
        let args = self.rerun.take().unwrap_or(args);
        self.next_id += 1;
        let id = self.next_id;
        for key in &keys {
            self.by_key
                .entry((client.db, key.clone()))
                .or_default()
                .push_back(id);
        }
        self.waiters.insert(
            id,
            Waiter {
                db: client.db,
                resp: client.resp,
                args,
                keys,
                tx,
            },
        );
        (id, rx)
    }

    /// Unregisters a waiter (timeout, disconnect); false when it was already served.
    pub fn cancel(&mut self, id: u64) -> bool {
        self.take(id).is_some()
    }

    fn take(&mut self, id: u64) -> Option<Waiter> {
        let waiter = self.waiters.remove(&id)?;
        for key in &waiter.keys {
            let slot = (waiter.db, key.clone());
            if let Some(queue) = self.by_key.get_mut(&slot) {
                queue.retain(|w| *w != id);
                if queue.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        Some(waiter)
    }

    /// Notes that `key` may have data, when someone waits for it.
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if self.by_key.is_empty() {
            return;
        }
        let slot = (db, Bytes::copy_from_slice(key));
        if self.by_key.contains_key(&slot) && !self.ready.contains(&slot) {
            self.ready.push(slot);
        }
    }

    pub fn count(&self) -> usize {
        self.waiters.len()
    }

    /// Total keys clients are blocked on.
    pub fn keys(&self) -> usize {
        self.by_key.len()
    }
}

/// Serves waiters on every ready key, oldest first, until a key runs dry.
pub fn serve(state: &mut State) {
    while !state.blocked.ready.is_empty() {
        let ready = std::mem::take(&mut state.blocked.ready);
        for slot in ready {
            serve_key(state, &slot);
        }
    }
}

fn serve_key(state: &mut State, slot: &(usize, Bytes)) {
    loop {
        let Some(&id) = state.blocked.by_key.get(slot).and_then(|q| q.front()) else {
            return;
        };
        let Some(waiter) = state.blocked.waiters.get(&id) else {
            return;
        };
        let (args, db, resp) = (waiter.args.clone(), waiter.db, waiter.resp);
        let mut client = Client::detached(db, resp);
        let Some(spec) = cmd::lookup(&args[0]) else {
            return;
        };
        state.blocked.serving = true;
        let reply = {
            let mut ctx = Ctx::new(state, &mut client);
            ctx.no_block = true;
            cmd::call(&mut ctx, spec, &args)
        };
        state.blocked.serving = false;
        if reply == Frame::NullArray || reply == Frame::NullBulk {
            return;
        }
        if let Some(waiter) = state.blocked.take(id) {
            let _ = waiter.tx.send(reply);
        }
    }
}
