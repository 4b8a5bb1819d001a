//! Lua scripting, Redis 7.0's EVAL family: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
//! LOAD / EXISTS / FLUSH / KILL / HELP. The script cache (SHA1 → body) lives in the node's
//! [`State`](crate::state::State). Each thread keeps one Lua state ([`lua`]) and reuses it
//! for every run; a run gets fresh globals (`KEYS`, `ARGV`, `redis`, its own environment
//! over read-only libraries), so nothing one script does is seen by the next. Its
//! `redis.call` goes back through this node's commands with the caller's [`Ctx`] — same
//! client, same state, under the same lock, so the script is atomic.
//!
//! As in Redis 7, a script's effects are replicated, not the script: every write command it
//! runs goes through [`call`](super::call) as usual, and EVAL itself never is propagated.
//! The state holds those commands back while the script runs and then propagates them as
//! Redis 7.0 does: two or more wrapped in `MULTI` … `EXEC`, a single one alone.
//!
//! Time limit: a script still running after `busy-reply-threshold` ms (alias
//! `lua-time-limit`) is stopped by the node itself with Redis's SCRIPT KILL error — the
//! lock it holds keeps every other client (and so SCRIPT KILL) out, so nobody else could.
//! Unlike Redis, which refuses SCRIPT KILL once a script has written (`UNKILLABLE`, leaving
//! only SHUTDOWN NOSAVE), a script is stopped even after writes, and those writes stay
//! (and are propagated). 0 means no limit (and no hook), as in Redis.
//!
//! Layout: this file (commands and the per-command checks of `redis.call`), [`lua`] (the
//! Lua environment, the `redis` library, error texts), [`libs`] (`bit`, `cjson`, `struct`,
//! `cmsgpack`), [`convert`] (replies ↔ Lua values).

mod convert;
mod libs;
mod lua;

use std::time::Duration;

use bytes::Bytes;
use slotgate_protocol::command::{Command, CommandError, Flags};
use slotgate_protocol::Frame;

use super::args::{int, is, upper};
use super::{help, spec, Ctx, Reply, Spec};
use crate::reply::{err, int as int_reply};

pub const COMMANDS: &[Spec] = &[
    spec("eval", -3, 0, eval),
    spec("evalsha", -3, 0, evalsha),
    spec("eval_ro", -3, 0, eval_ro),
    spec("evalsha_ro", -3, 0, evalsha_ro),
    spec("script", -2, 0, script),
];

/// The lowercase SHA1 hex of `body`, the script's name in the cache.
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

fn no_script() -> Frame {
    Frame::error("NOSCRIPT No matching script. Please use EVAL.")
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    generic(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    generic(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    generic(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    generic(ctx, args, true, true)
}

/// Redis's `evalGenericCommand`: the SHA's length (EVALSHA), `numkeys`, the body (cached
/// when EVAL compiles it), then the run.
fn generic(ctx: &mut Ctx, args: &[Bytes], by_sha: bool, read_only: bool) -> Reply {
    if by_sha && args[1].len() != 40 {
        return Err(no_script());
    }
    let numkeys = int(&args[2])?;
    if numkeys > (args.len() - 3) as i64 {
        return Err(Frame::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(Frame::error("ERR Number of keys can't be negative"));
    }
    let sha = match by_sha {
        true => String::from_utf8_lossy(&args[1]).to_ascii_lowercase(),
        false => sha1_hex(&args[1]),
    };
    let body = match ctx.state.scripts.get(sha.as_bytes()) {
        Some(body) => body.clone(),
        None if by_sha => return Err(no_script()),
        None => {
            if let Some(error) = lua::compile_error(&args[1]) {
                return Err(error);
            }
            let body = Bytes::copy_from_slice(&args[1]);
            ctx.state
                .scripts
                .insert(Bytes::from(sha.clone()), body.clone());
            body
        }
    };
    let (keys, argv) = args[3..].split_at(numkeys as usize);
    Ok(run(ctx, &sha, &body, keys, argv, read_only))
}

/// Runs a script for the caller: blocking commands do not wait, and SELECT inside the
/// script does not change the caller's database.
fn run(
    ctx: &mut Ctx,
    sha: &str,
    body: &[u8],
    keys: &[Bytes],
    argv: &[Bytes],
    read_only: bool,
) -> Frame {
    let db = ctx.client.db;
    let resp = ctx.client.resp;
    let no_block = std::mem::replace(&mut ctx.no_block, true);
    let holding = ctx.state.hold_propagation();
    let mut wrote = false;
    let limit = Duration::from_millis(ctx.state.config.hot().busy_reply_threshold);
    let reply = lua::run(sha, body, keys, argv, limit, &mut |args, script_resp| {
        ctx.client.resp = script_resp;
        let reply = script_call(ctx, args, read_only, &mut wrote);
        ctx.client.resp = resp;
        reply
    });
    ctx.no_block = no_block;
    ctx.client.db = db;
    if holding && ctx.state.release_propagation() {
        // WAIT counts from the end of what this client's script propagated.
        ctx.client.woff = ctx.state.repl.offset();
    }
    reply
}

/// Commands Redis marks `may_replicate` (hidden from COMMAND): refused by read-only
/// scripts like writes.
const MAY_REPLICATE: &[&str] = &["publish", "spublish", "pfcount"];

/// One `redis.call`: Redis's `scriptCall` checks (existence and arity, `noscript`,
/// read-only scripts, a read-only replica, OOM, cluster slots), then the command through
/// [`call`](super::call), counted, slow-logged and propagated like any other.
fn script_call(
    ctx: &mut Ctx,
    args: &[Bytes],
    read_only: bool,
    wrote: &mut bool,
) -> Result<Frame, Vec<u8>> {
    let refuse = |text: &str| Err(text.as_bytes().to_vec());
    match Command::parse(args) {
        Err(CommandError::WrongArity(_)) => {
            return refuse("Wrong number of args calling Redis command from script")
        }
        Err(_) => return refuse("Unknown Redis command called from script"),
        Ok(_) => {}
    }
    let Ok((spec, flags, key)) = super::resolve(args) else {
        return refuse("Unknown Redis command called from script");
    };
    if flags.contains(Flags::NOSCRIPT) {
        return refuse("This Redis command is not allowed from script");
    }
    let write = flags.contains(Flags::WRITE);
    if read_only && (write || MAY_REPLICATE.contains(&spec.name)) {
        return refuse("Write commands are not allowed from read-only scripts.");
    }
    if write && !*wrote {
        let with_dash = |f: Frame| match f {
            Frame::Error(text) => [b"-", &text[..]].concat(),
            _ => Vec::new(),
        };
        if let Some(refusal) = crate::replication::refuse_write(ctx.state, ctx.client, spec) {
            return Err(with_dash(refusal));
        }
        let oom = flags.contains(Flags::DENYOOM)
            && !ctx.client.loading
            && !crate::memory::ensure_room(ctx.state);
        if oom {
            return Err(with_dash(Frame::error(
                "OOM command not allowed when used memory > 'maxmemory'.",
            )));
        }
    }
    *wrote |= write;
    if ctx.state.cluster.is_some() && !ctx.client.loading {
        let asking = ctx.client.cluster.asking;
        let redirect = crate::cluster::redirect::check(ctx.state, ctx.client, args, ctx.now);
        ctx.client.cluster.asking = asking;
        if let Some(Frame::Error(text)) = redirect {
            return refuse(
                if text.starts_with(b"CLUSTERDOWN") && text.ends_with(b"readonly") {
                    "Script attempted to execute a write command while the cluster is down and readonly"
                } else if text.starts_with(b"CLUSTERDOWN The cluster is down") {
                    "Script attempted to execute a command while the cluster is down"
                } else {
                    "Script attempted to access a non local key in a cluster node"
                },
            );
        }
    }
    ctx.stat = Some(key);
    Ok(super::call(ctx, spec, args))
}

/// SCRIPT LOAD / EXISTS / FLUSH / KILL / HELP (arity checked by the table).
fn script(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match upper(&args[1]).as_str() {
        "LOAD" => {
            if let Some(error) = lua::compile_error(&args[2]) {
                return Err(error);
            }
            let sha = sha1_hex(&args[2]);
            let body = Bytes::copy_from_slice(&args[2]);
            ctx.state.scripts.insert(Bytes::from(sha.clone()), body);
            Ok(Frame::Bulk(Bytes::from(sha)))
        }
        "EXISTS" => Ok(Frame::Array(
            args[2..]
                .iter()
                .map(|sha| {
                    let sha = sha.to_ascii_lowercase();
                    int_reply(i64::from(ctx.state.scripts.contains_key(&sha[..])))
                })
                .collect(),
        )),
        "FLUSH" => {
            let mode_ok = match args.get(2) {
                None => args.len() == 2,
                Some(mode) => args.len() == 3 && (is(mode, "sync") || is(mode, "async")),
            };
            if !mode_ok {
                return Err(Frame::error(
                    "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
                ));
            }
            ctx.state.scripts.clear();
            lua::reset();
            Ok(Frame::ok())
        }
        "KILL" => Err(Frame::error("NOTBUSY No scripts in execution right now.")),
        "DEBUG" => match upper(&args[2]).as_str() {
            "NO" => Ok(Frame::ok()),
            "YES" | "SYNC" => Err(Frame::error(
                "ERR SCRIPT DEBUG is not supported by this server",
            )),
            _ => Err(Frame::error("ERR Use SCRIPT DEBUG YES/SYNC/NO")),
        },
        "HELP" => Ok(help::reply(help::SCRIPT)),
        _ => Err(err::unknown_subcommand(&args[1], "script")),
    }
}
