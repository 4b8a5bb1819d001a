//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::flag::{NOQUEUE, SKIP_SLOWLOG};
use super::{spec, Ctx, Reply, Spec};
use crate::client::{Client, Multi};
use crate::state::State;

pub const COMMANDS: &[Spec] = &[
    spec("multi", 1, NOQUEUE, multi),
    spec("exec", 1, NOQUEUE | SKIP_SLOWLOG, exec),
    spec("discard", 1, NOQUEUE, discard),
    spec("watch", -2, NOQUEUE, watch),
    spec("unwatch", 1, 0, unwatch),
];

fn multi(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    if ctx.client.multi.is_some() {
        return Err(Frame::error("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Multi::default());
    Ok(Frame::ok())
}

fn exec(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    let Some(multi) = ctx.client.multi.take() else {
        return Err(Frame::error("ERR EXEC without MULTI"));
    };
    let dirty = ctx.client.dirty.load(Ordering::Relaxed) || watched_key_expired(ctx);
    unwatch_all(ctx.state, ctx.client);
    if multi.failed {
        return Err(Frame::error(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if dirty {
        return Ok(Frame::NullArray);
    }
    let replies = run_queued(ctx, &multi.queue, super::execute);
    Ok(Frame::Array(replies))
}

/// Runs a transaction's queued commands as one unit with `each` (a client's EXEC: the full
/// [`execute`](super::execute) path; the master's stream on a replica: straight to the
/// handler). Blocking commands don't wait, and what the commands change is propagated as
/// Redis 7.0's `propagatePendingCommands` does, the same way as a script's effects: two or
/// more writes wrapped in `MULTI` … `EXEC`, one alone, none not at all (see
/// [`State::hold_propagation`]). Inside an outer unit (a transaction within a script is
/// impossible, but a script within a transaction is not), the outer one releases.
pub fn run_queued(
    ctx: &mut Ctx,
    queue: &[Vec<Bytes>],
    mut each: impl FnMut(&mut Ctx, &[Bytes]) -> Frame,
) -> Vec<Frame> {
    let no_block = std::mem::replace(&mut ctx.no_block, true);
    let holding = ctx.state.hold_propagation();
    let mut replies = Vec::with_capacity(queue.len());
    for args in queue {
        replies.push(each(ctx, args));
    }
    ctx.no_block = no_block;
    if holding && ctx.state.release_propagation() && !ctx.client.loading {
        // WAIT counts from the end of what this transaction propagated.
        ctx.client.woff = ctx.state.repl.offset();
    }
    replies
}

/// Redis 7 also fails EXEC when a WATCHed key expired after WATCH.
fn watched_key_expired(ctx: &mut Ctx) -> bool {
    let now = ctx.now;
    let watching = ctx.client.watching.clone();
    for (db, key) in watching {
        ctx.state.dbs[db].get(&key, now);
    }
    ctx.client.dirty.load(Ordering::Relaxed)
}

fn discard(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    if ctx.client.multi.is_none() {
        return Err(Frame::error("ERR DISCARD without MULTI"));
    }
    discard_state(ctx);
    Ok(Frame::ok())
}

/// EXEC refused before running (wrong arity) inside MULTI: like Redis's
/// `execCommandAbort`, the transaction is discarded and the reason given.
pub fn abort(ctx: &mut Ctx, refusal: &Frame) -> Frame {
    discard_state(ctx);
    let text = match refusal {
        Frame::Error(text) => String::from_utf8_lossy(text).into_owned(),
        _ => String::new(),
    };
    let reason = text.strip_prefix("ERR ").unwrap_or(&text);
    Frame::error(format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ))
}

/// Drops a pending transaction and every WATCH.
pub fn discard_state(ctx: &mut Ctx) {
    ctx.client.multi = None;
    unwatch_all(ctx.state, ctx.client);
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if ctx.client.multi.is_some() {
        return Err(Frame::error("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in &args[1..] {
        if ctx
            .client
            .watching
            .iter()
            .any(|(d, k)| *d == db && k == key)
        {
            continue;
        }
        // A key already past its deadline is removed first, before this client watches it:
        // like Redis 7.0 (`wk->expired`), its later expiry is no change to this client.
        let now = ctx.now;
        ctx.state.dbs[db].get(key, now);
        ctx.state.dbs[db].watch(key, &ctx.client.dirty);
        ctx.client.watching.push((db, key.clone()));
    }
    Ok(Frame::ok())
}

fn unwatch(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    unwatch_all(ctx.state, ctx.client);
    Ok(Frame::ok())
}

/// Forgets every WATCHed key of `client` and clears its dirty flag.
pub fn unwatch_all(state: &mut State, client: &mut Client) {
    for (db, key) in client.watching.drain(..) {
        state.dbs[db].unwatch(&key, &client.dirty);
    }
    client.dirty.store(false, Ordering::Relaxed);
}
