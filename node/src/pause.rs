//! Client pauses, as Redis's `pauseClients`: `CLIENT PAUSE <ms> [WRITE|ALL]` /
//! `CLIENT UNPAUSE`, and the write pause of a master during a coordinated manual failover
//! (`cluster::failover`). A paused command is not refused: its connection holds it (and
//! everything pipelined after it) and retries until the pause ends.
//!
//! WRITE holds what may reach the replication stream — write commands, PUBLISH /
//! SPUBLISH, and EXEC of a transaction with a write queued — so a master's offset stands
//! still; ALL holds every command. The strictest pause in force wins; `CLIENT UNPAUSE`
//! ends only the one set by `CLIENT PAUSE`. Active expiry waits during any pause, and a
//! lazily found expired key is not removed (see `holds`).

use bytes::Bytes;
use slotgate_protocol::Frame;

use crate::client::Client;
use crate::cmd::args::upper;
use crate::cmd::{flag, lookup, Ctx, Reply};
use crate::state::State;

/// Commands that are not writes but still feed the replication stream (Redis 7.0's
/// `may-replicate` ones that exist here).
const MAY_REPLICATE: &[&str] = &["publish", "spublish"];

/// The pause `CLIENT PAUSE` set.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientPause {
    /// Unix ms when it ends; 0: none.
    until: i64,
    /// ALL (every command) rather than WRITE.
    all: bool,
}

/// `CLIENT PAUSE` and `CLIENT UNPAUSE` (`args[1]` is the subcommand).
pub fn command(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if upper(&args[1]) == "UNPAUSE" {
        ctx.state.client_pause = ClientPause::default();
        return Ok(Frame::ok());
    }
    if args.len() > 4 {
        return Err(Frame::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&args[1])
        )));
    }
    let all = match args.get(3).map(|m| upper(m)).as_deref() {
        None | Some("ALL") => true,
        Some("WRITE") => false,
        Some(_) => {
            return Err(Frame::error("ERR CLIENT PAUSE mode must be WRITE or ALL"));
        }
    };
    let ms = String::from_utf8_lossy(&args[2])
        .parse::<i64>()
        .map_err(|_| Frame::error("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(Frame::error("ERR timeout is negative"));
    }
    let until = ctx.now.saturating_add(ms);
    let old = ctx.state.client_pause;
    // A new pause never weakens one in force: the later end, the stricter mode.
    let in_force = old.until > ctx.now;
    ctx.state.client_pause = ClientPause {
        until: if in_force {
            until.max(old.until)
        } else {
            until
        },
        all: all || (in_force && old.all),
    };
    Ok(Frame::ok())
}

/// Called before each command: whether `client`'s command `args` must wait for a pause to
/// end (Unix ms `now`). While any pause is in force the dataset also stands still: keys
/// past their deadline read as absent but are not removed ([`crate::db::Db::set_frozen`];
/// the databases are told only when that changes).
pub fn holds(state: &mut State, client: &Client, args: &[Bytes], now: i64) -> bool {
    let mode = in_force(state, now);
    let frozen = mode.is_some();
    if frozen != state.keyspace_frozen {
        state.keyspace_frozen = frozen;
        state.dbs.iter_mut().for_each(|db| db.set_frozen(frozen));
    }
    match mode {
        None => false,
        Some(Mode::All) => true,
        Some(Mode::Write) => may_replicate(client, args),
    }
}

/// Whether writes are paused now: active expiry waits too (the offset stands still).
pub fn writes_paused(state: &State, now: i64) -> bool {
    in_force(state, now).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Write,
    All,
}

/// The strictest pause in force.
fn in_force(state: &State, now: i64) -> Option<Mode> {
    let by_command = state.client_pause;
    if by_command.until > now {
        return Some(if by_command.all {
            Mode::All
        } else {
            Mode::Write
        });
    }
    crate::cluster::failover::pausing_writes(state, now).then_some(Mode::Write)
}

/// A write, a may-replicate command, or EXEC of a transaction holding a write.
fn may_replicate(client: &Client, args: &[Bytes]) -> bool {
    let Some(spec) = args.first().and_then(|name| lookup(name)) else {
        return false;
    };
    let writes =
        |spec: &crate::cmd::Spec| spec.has(flag::WRITE) || MAY_REPLICATE.contains(&spec.name);
    if spec.name == "exec" {
        let queue = client.multi.as_ref().map(|m| m.queue.as_slice());
        return queue.unwrap_or_default().iter().any(|queued| {
            queued
                .first()
                .and_then(|name| lookup(name))
                .is_some_and(writes)
        });
    }
    writes(spec)
}
