//! Connection commands: PING, ECHO, AUTH, HELLO (authenticating through [`super::acl`]),
//! SELECT, QUIT, RESET, CLIENT, COMMAND.

use bytes::Bytes;
use slotgate_protocol::command::{command_reply, RespVersion};
use slotgate_protocol::Frame;

use super::args::{int, is, upper};
use super::flag::{NOAUTH, NOQUEUE, PUBSUB};
use super::{spec, Ctx, Reply, Spec};
use crate::acl::{Identity, DEFAULT};
use crate::reply::{bulk, err, int as integer, simple};

pub const COMMANDS: &[Spec] = &[
    spec("ping", -1, PUBSUB, ping),
    spec("echo", 2, 0, echo),
    spec("auth", -2, NOAUTH | NOQUEUE, auth),
    spec("hello", -1, NOAUTH | NOQUEUE, hello),
    spec("select", 2, 0, select),
    spec("quit", -1, NOAUTH | PUBSUB | NOQUEUE, quit),
    spec("reset", 1, NOAUTH | PUBSUB | NOQUEUE, reset),
    spec("client", -2, 0, client),
    spec("command", -1, 0, command),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() > 2 {
        return Err(err::arity("ping"));
    }
    if ctx.client.in_pubsub_mode() {
        let message = args.get(1).cloned().unwrap_or_default();
        return Ok(Frame::Array(vec![
            Frame::Bulk(Bytes::from_static(b"pong")),
            Frame::Bulk(message),
        ]));
    }
    Ok(args.get(1).map_or_else(|| simple("PONG"), bulk))
}

fn echo(_: &mut Ctx, args: &[Bytes]) -> Reply {
    Ok(bulk(&args[1]))
}

/// Checks `[user] password`: AUTH with only a password is for the `default` user, and an
/// error when that user needs none.
fn check_password(
    ctx: &mut Ctx,
    user: Option<&Bytes>,
    password: &[u8],
    command: &Bytes,
) -> Result<(), Frame> {
    let nopass = ctx.state.acl.get(DEFAULT).is_some_and(|u| u.nopass);
    if nopass && user.is_none() {
        return Err(Frame::error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let default = Bytes::from_static(DEFAULT);
    super::acl::authenticate(ctx, user.unwrap_or(&default), password, command)
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args.len() {
        2 => check_password(ctx, None, &args[1], &args[0])?,
        3 => check_password(ctx, Some(&args[1]), &args[2], &args[0])?,
        _ => return Err(err::syntax()),
    }
    Ok(Frame::ok())
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let mut version = ctx.client.resp;
    let mut i = 1;
    if let Some(v) = args.get(1) {
        let n = int(v)
            .map_err(|_| Frame::error("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&n) {
            return Err(Frame::error("NOPROTO unsupported protocol version"));
        }
        version = n as u8;
        i = 2;
    }
    let mut name = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        match upper(&args[i]).as_str() {
            "AUTH" if more >= 2 => {
                check_password(ctx, Some(&args[i + 1]), &args[i + 2], &args[0])?;
                i += 3;
            }
            "SETNAME" if more >= 1 => {
                name = Some(args[i + 1].clone());
                i += 2;
            }
            _ => {
                return Err(Frame::error(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&args[i])
                )))
            }
        }
    }
    if !ctx.client.authenticated {
        return Err(Frame::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(name) = name {
        set_name(ctx, name)?;
    }
    ctx.client.resp = version;
    let text = |s: &'static str| Frame::Bulk(Bytes::from_static(s.as_bytes()));
    Ok(Frame::Map(vec![
        (text("server"), text("redis")),
        (text("version"), text("7.0.15")),
        (text("proto"), integer(version)),
        (text("id"), integer(ctx.client.id)),
        (
            text("mode"),
            text(if ctx.state.config.get_bool("cluster-enabled") {
                "cluster"
            } else {
                "standalone"
            }),
        ),
        (text("role"), text("master")),
        (text("modules"), Frame::Array(Vec::new())),
    ]))
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let n = int(&args[1])?;
    if n < 0 || n as usize >= ctx.state.dbs.len() {
        return Err(err::db_index());
    }
    if n != 0 && ctx.state.config.get_bool("cluster-enabled") {
        return Err(Frame::error("ERR SELECT is not allowed in cluster mode"));
    }
    ctx.client.db = n as usize;
    Ok(Frame::ok())
}

fn quit(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    ctx.client.close = true;
    Ok(Frame::ok())
}

fn reset(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    super::tx::discard_state(ctx);
    super::pubsub::unsubscribe_all(ctx.state, ctx.client);
    ctx.state.monitors.remove(ctx.client.id);
    ctx.client.db = 0;
    ctx.client.resp = 2;
    ctx.client.name = None;
    ctx.client.user = Identity::Default;
    ctx.state.acl.bind(ctx.client.id, &Identity::Default);
    ctx.client.authenticated = ctx.state.acl.default_needs_no_auth();
    Ok(Frame::Simple(Bytes::from_static(b"RESET")))
}

fn set_name(ctx: &mut Ctx, name: Bytes) -> Result<(), Frame> {
    if name.iter().any(|&b| b <= b' ' || b > b'~') {
        return Err(Frame::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    ctx.client.name = (!name.is_empty()).then_some(name);
    Ok(())
}

fn client(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sub = upper(&args[1]);
    let wrong = || {
        Err(Frame::error(format!(
            "ERR wrong number of arguments for 'client|{}' command",
            sub.to_ascii_lowercase()
        )))
    };
    match (sub.as_str(), args.len()) {
        ("ID", 2) => Ok(integer(ctx.client.id)),
        ("SETNAME", 3) => set_name(ctx, args[2].clone()).map(|_| Frame::ok()),
        ("GETNAME", 2) => Ok(ctx.client.name.as_ref().map_or(Frame::NullBulk, bulk)),
        ("SETINFO", 4) => {
            match upper(&args[2]).as_str() {
                "LIB-NAME" => ctx.client.lib_name = Some(args[3].clone()),
                "LIB-VER" => ctx.client.lib_ver = Some(args[3].clone()),
                _ => {
                    return Err(Frame::error(format!(
                        "ERR Unrecognized option '{}'",
                        String::from_utf8_lossy(&args[2])
                    )))
                }
            }
            Ok(Frame::ok())
        }
        ("REPLY", 3) => {
            match upper(&args[2]).as_str() {
                "ON" => ctx.client.reply_off = false,
                "OFF" => ctx.client.reply_off = true,
                "SKIP" => ctx.client.skip_next_reply = !ctx.client.reply_off,
                _ => return Err(err::syntax()),
            }
            Ok(Frame::ok())
        }
        ("NO-EVICT", 3) => {
            ctx.client.no_evict = match upper(&args[2]).as_str() {
                "ON" => true,
                "OFF" => false,
                _ => return Err(err::syntax()),
            };
            Ok(Frame::ok())
        }
        ("INFO", 2) => Ok(Frame::Verbatim(
            *b"txt",
            Bytes::from(client_line(ctx, ctx.client.id) + "\n"),
        )),
        ("LIST", _) => {
            let ids = list_ids(ctx, &args[2..])?;
            let line = |id: &u64| client_line(ctx, *id) + "\n";
            let text: String = ids.iter().map(line).collect();
            Ok(Frame::Verbatim(*b"txt", Bytes::from(text)))
        }
        ("KILL", n) if n >= 3 => kill(ctx, &args[2..]),
        ("PAUSE" | "UNPAUSE", _) => crate::pause::command(ctx, args),
        ("HELP", 2) => Ok(super::help::reply(super::help::CLIENT)),
        ("ID" | "SETNAME" | "GETNAME" | "SETINFO" | "NO-EVICT" | "INFO" | "KILL" | "REPLY", _) => {
            wrong()
        }
        _ => Err(err::unknown_subcommand(&args[1], "client")),
    }
}

/// The clients `CLIENT LIST [TYPE type | ID id …]` shows, in id order.
fn list_ids(ctx: &Ctx, options: &[Bytes]) -> Result<Vec<u64>, Frame> {
    let mut ids: Vec<u64> = ctx.state.clients.keys().copied().collect();
    ids.sort_unstable();
    match options {
        [] => Ok(ids),
        [word, kind] if is(word, "type") => {
            let ps = &ctx.state.pubsub;
            let subscribed = |id: &u64| {
                [&ps.channels, &ps.patterns, &ps.shard_channels]
                    .iter()
                    .any(|m| m.values().any(|subs| subs.contains_key(id)))
            };
            let pubsub = match upper(kind).as_str() {
                "NORMAL" => false,
                "PUBSUB" => true,
                "MASTER" | "REPLICA" | "SLAVE" => return Ok(Vec::new()),
                _ => {
                    return Err(Frame::error(format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(kind)
                    )))
                }
            };
            ids.retain(|id| subscribed(id) == pubsub);
            Ok(ids)
        }
        [word, wanted @ ..] if is(word, "id") && !wanted.is_empty() => {
            let mut picked = Vec::new();
            for arg in wanted {
                let id = int(arg).map_err(|_| Frame::error("ERR Invalid client ID"))?;
                if ctx.state.clients.contains_key(&(id as u64)) {
                    picked.push(id as u64);
                }
            }
            Ok(picked)
        }
        _ => Err(err::syntax()),
    }
}

/// One client's CLIENT LIST line, fields in Redis 7.0's order. The caller's own state is
/// read live (its `cmd` is the running `client|<sub>`); other clients show what their
/// connection last copied into the shared state.
pub(super) fn client_line(ctx: &Ctx, id: u64) -> String {
    let Some(meta) = ctx.state.clients.get(&id) else {
        return String::new();
    };
    let name = meta
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let age = meta.created.elapsed().as_secs();
    let me = id == ctx.client.id;
    let (v, idle) = if me {
        (ctx.client.visible(), 0)
    } else {
        (meta.visible, meta.last_active.elapsed().as_secs())
    };
    let flags = flags(ctx, id, &v, meta.blocked && !me);
    let [sub, psub, ssub] = v.subs;
    format!(
        "id={id} addr={} laddr={} fd=8 name={name} age={age} idle={idle} flags={flags} db={} sub={sub} psub={psub} ssub={ssub} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user={} redir=-1 resp={}",
        meta.addr,
        meta.laddr,
        v.db,
        v.multi,
        v.last_command,
        String::from_utf8_lossy(ctx.state.acl.user_of(id)),
        v.resp,
    )
}

/// Redis's client flag letters, in its order, for what the node tracks: `O` monitor, `P`
/// subscribed, `x` in MULTI, `b` blocked, `d` a WATCHed key changed, `r`
/// READONLY, `e` no-evict; `N` for none.
fn flags(ctx: &Ctx, id: u64, v: &crate::client::Visible, blocked: bool) -> String {
    let monitor = ctx.state.monitors.contains(id);
    let flags: String = [
        (monitor, 'O'),
        (v.subs.iter().any(|&n| n > 0), 'P'),
        (v.multi >= 0, 'x'),
        (blocked, 'b'),
        (v.dirty_cas, 'd'),
        (v.readonly, 'r'),
        (v.no_evict, 'e'),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, letter)| *letter)
    .collect();
    if flags.is_empty() {
        "N".to_owned()
    } else {
        flags
    }
}

/// CLIENT KILL addr | ID id | ADDR addr | LADDR addr | SKIPME yes/no …
fn kill(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() == 1 {
        let addr = String::from_utf8_lossy(&args[0]).into_owned();
        let id = ctx
            .state
            .clients
            .iter()
            .find(|(_, m)| m.addr == addr)
            .map(|(id, _)| *id);
        let id = id.ok_or_else(|| Frame::error("ERR No such client"))?;
        kill_ids(ctx, &[id]);
        return Ok(Frame::ok());
    }
    if !args.len().is_multiple_of(2) {
        return Err(err::syntax());
    }
    let mut skip_me = true;
    let mut ids: Vec<u64> = ctx.state.clients.keys().copied().collect();
    for pair in args.chunks(2) {
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        match upper(&pair[0]).as_str() {
            "ID" => {
                let id = int(&pair[1])
                    .map_err(|_| Frame::error("ERR client-id should be greater than 0"))?;
                ids.retain(|i| *i as i64 == id);
            }
            "ADDR" => ids.retain(|i| ctx.state.clients[i].addr == value),
            "LADDR" => ids.retain(|i| ctx.state.clients[i].laddr == value),
            "SKIPME" if is(&pair[1], "yes") || is(&pair[1], "no") => skip_me = is(&pair[1], "yes"),
            "USER" => {
                if ctx.state.acl.get(&pair[1]).is_none() {
                    return Err(Frame::error(format!("ERR No such user '{value}'")));
                }
                ids.retain(|i| ctx.state.acl.user_of(*i) == pair[1].as_ref());
            }
            "TYPE" | "MAXAGE" => {}
            _ => return Err(err::syntax()),
        }
    }
    if skip_me {
        ids.retain(|i| *i != ctx.client.id);
    }
    kill_ids(ctx, &ids);
    Ok(integer(ids.len()))
}

fn kill_ids(ctx: &mut Ctx, ids: &[u64]) {
    for id in ids {
        if *id == ctx.client.id {
            ctx.client.close = true;
        } else if let Some(meta) = ctx.state.clients.get(id) {
            let _ = meta.mailbox.tx.send(crate::client::Out::Kill);
        }
    }
}

/// COMMAND and its subcommands, from the shared table: real key positions for cluster
/// clients.
fn command(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let version = match ctx.client.resp {
        3 => RespVersion::Resp3,
        _ => RespVersion::Resp2,
    };
    Ok(command_reply(args, version))
}
