//! The replication commands: REPLCONF, PSYNC, SYNC (a replica's side of the handshake),
//! REPLICAOF / SLAVEOF, ROLE and WAIT.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::{info, master, promote, replicate_to, wait};
use crate::cmd::args::{int, is};
use crate::cmd::flag::NOMULTI;
use crate::cmd::{spec, Ctx, Reply, Spec};
use crate::reply::{err, several};

pub const COMMANDS: &[Spec] = &[
    spec("replconf", -1, 0, replconf),
    spec("psync", -3, NOMULTI, psync),
    spec("sync", 1, NOMULTI, sync),
    spec("replicaof", 3, NOMULTI, replicaof),
    spec("slaveof", 3, NOMULTI, replicaof),
    spec("role", 1, 0, role),
    spec("wait", 3, 0, wait::wait),
];

/// `REPLCONF <option> <value> …`: what a replica tells its master before PSYNC. `ACK` and
/// `GETACK` get no reply at all.
fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let pairs = args[1..].chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err(err::syntax());
    }
    let id = ctx.client.id;
    for pair in pairs {
        let (option, value) = (&pair[0], &pair[1]);
        if is(option, "listening-port") {
            let port = u16::try_from(int(value)?).map_err(|_| err::not_int())?;
            ctx.state.repl.hellos.entry(id).or_default().0 = Some(port);
        } else if is(option, "ip-address") {
            let ip = String::from_utf8_lossy(value).into_owned();
            ctx.state.repl.hellos.entry(id).or_default().1 = Some(ip);
        } else if is(option, "ack") || is(option, "getack") {
            return Ok(several(Vec::new()));
        } else if !is(option, "capa") && !is(option, "rdb-only") {
            return Err(Frame::error(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(option)
            )));
        }
    }
    Ok(Frame::ok())
}

fn psync(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let from = int(&args[2])?;
    master::psync(ctx, &args[1], from, true)
}

fn sync(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    master::psync(ctx, b"?", -1, false)
}

/// `REPLICAOF host port` / `REPLICAOF NO ONE` (and its old name SLAVEOF).
fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if ctx.state.config.get_bool("cluster-enabled") {
        return Err(Frame::error("ERR REPLICAOF not allowed in cluster mode."));
    }
    if is(&args[1], "no") && is(&args[2], "one") {
        promote(ctx.state);
        return Ok(Frame::ok());
    }
    let port = int(&args[2])
        .ok()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| Frame::error("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if !replicate_to(ctx.state, &host, port) {
        return Ok(Frame::Simple(Bytes::from_static(
            b"OK Already connected to specified master",
        )));
    }
    Ok(Frame::ok())
}

fn role(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    Ok(info::role(ctx.state))
}
