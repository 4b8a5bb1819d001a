//! ACL: SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, GENPASS, LOG, DRYRUN, LOAD,
//! SAVE, HELP — and [`refusal`], the permission check [`super::execute`] runs for clients
//! of a restricted user.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::{int, is, upper};
use super::{help, spec, Ctx, Reply, Spec};
use crate::acl::catalog::{catalog, category, CATEGORIES};
use crate::acl::check::{check, Denial};
use crate::acl::log::Event;
use crate::acl::{describe, rules, Identity, DEFAULT};
use crate::reply::{bulk, err, int as integer};

pub const COMMANDS: &[Spec] = &[spec("acl", -2, 0, acl)];

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn acl(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sub = upper(&args[1]);
    match (sub.as_str(), args.len()) {
        ("SETUSER", _) => setuser(ctx, args),
        ("GETUSER", _) => Ok(getuser(ctx, &args[2])),
        ("DELUSER", _) => deluser(ctx, &args[2..]),
        ("USERS", _) => Ok(Frame::Array(
            ctx.state.acl.users().map(|(name, _)| bulk(name)).collect(),
        )),
        ("LIST", _) => Ok(Frame::Array(
            ctx.state
                .acl
                .users()
                .map(|(name, user)| text(describe::line(&String::from_utf8_lossy(name), user)))
                .collect(),
        )),
        ("WHOAMI", _) => Ok(Frame::Bulk(Bytes::copy_from_slice(ctx.client.user.name()))),
        ("CAT", 2) => Ok(Frame::Array(CATEGORIES.iter().map(|c| text(*c)).collect())),
        ("CAT", 3) => cat(&args[2]),
        ("GENPASS", 2 | 3) => genpass(args.get(2)),
        ("LOG", 2 | 3) => log(ctx, args.get(2)),
        ("DRYRUN", _) => dryrun(ctx, &args[2], &args[3..]),
        ("LOAD" | "SAVE", _) => Err(Frame::error(NO_ACL_FILE)),
        ("HELP", _) => Ok(help::reply(help::ACL)),
        _ => Err(Frame::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
    }
}

fn text(s: impl Into<String>) -> Frame {
    Frame::Bulk(Bytes::from(s.into()))
}

fn setuser(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = &args[2];
    if name.iter().any(|&b| b == b' ' || b == 0) {
        return Err(Frame::error(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let mut user = ctx.state.acl.get(name).cloned().unwrap_or_default();
    for rule in &args[3..] {
        rules::apply(&mut user, rule).map_err(|e| {
            Frame::error(format!(
                "ERR Error in ACL SETUSER modifier '{}': {}",
                String::from_utf8_lossy(rule),
                e.text()
            ))
        })?;
    }
    ctx.state.acl.put(name.clone(), user);
    Ok(Frame::ok())
}

fn getuser(ctx: &Ctx, name: &[u8]) -> Frame {
    let Some(user) = ctx.state.acl.get(name) else {
        return Frame::NullBulk;
    };
    let strings = |items: Vec<String>| Frame::Array(items.into_iter().map(text).collect());
    let flags = describe::flags(user)
        .into_iter()
        .map(str::to_owned)
        .collect();
    Frame::Map(vec![
        (text("flags"), strings(flags)),
        (text("passwords"), strings(user.passwords.clone())),
        (text("commands"), text(describe::commands(&user.commands))),
        (text("keys"), text(describe::keys(user))),
        (text("channels"), text(describe::channels(user))),
        (text("selectors"), Frame::Array(Vec::new())),
    ])
}

/// Deletes users and disconnects their clients (the caller after this reply).
fn deluser(ctx: &mut Ctx, names: &[Bytes]) -> Reply {
    if names.iter().any(|n| n.as_ref() == DEFAULT) {
        return Err(Frame::error("ERR The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for name in names {
        let Some(ids) = ctx.state.acl.remove(name) else {
            continue;
        };
        deleted += 1;
        for id in ids {
            if id == ctx.client.id {
                ctx.client.close = true;
            } else if let Some(meta) = ctx.state.clients.get(&id) {
                let _ = meta.mailbox.tx.send(crate::client::Out::Kill);
            }
        }
    }
    Ok(integer(deleted))
}

/// The commands of a category, subcommands included.
fn cat(name: &[u8]) -> Reply {
    let mask = category(&String::from_utf8_lossy(name)).ok_or_else(|| {
        Frame::error(format!(
            "ERR Unknown category '{}'",
            String::from_utf8_lossy(name)
        ))
    })?;
    let names = catalog()
        .entries
        .iter()
        .filter(|e| e.categories & mask != 0)
        .map(|e| text(e.spec.name.as_str()))
        .collect();
    Ok(Frame::Array(names))
}

/// `bits` (256 by default) random bits as lowercase hex.
fn genpass(bits: Option<&Bytes>) -> Reply {
    let bits = bits.map_or(Ok(256), |b| int(b))?;
    if !(1..=4096).contains(&bits) {
        return Err(Frame::error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"));
    }
    let chars = (bits as usize).div_ceil(4);
    let hex: String = (0..chars)
        .map(|_| char::from(b"0123456789abcdef"[rand::random::<usize>() % 16]))
        .collect();
    Ok(text(hex))
}

fn log(ctx: &mut Ctx, arg: Option<&Bytes>) -> Reply {
    let count = match arg {
        None => 10,
        Some(a) if is(a, "reset") => {
            ctx.state.acl.log.reset();
            return Ok(Frame::ok());
        }
        Some(a) => int(a)?.max(0) as usize,
    };
    Ok(ctx.state.acl.log.reply(count, ctx.now))
}

/// Whether `user` could run `command`, without running it.
fn dryrun(ctx: &mut Ctx, name: &Bytes, command: &[Bytes]) -> Reply {
    let Some(user) = ctx.state.acl.get(name) else {
        return Err(Frame::error(format!(
            "ERR User '{}' not found",
            String::from_utf8_lossy(name)
        )));
    };
    let c = catalog();
    let id = c.resolve(command).ok_or_else(|| {
        Frame::error(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(&command[0])
        ))
    })?;
    let spec = c.entries[id].spec;
    if !spec.arity_ok(command.len()) {
        return Err(err::arity(&spec.name));
    }
    match check(user, id, command) {
        Ok(()) => Ok(Frame::ok()),
        Err(denial) => Ok(text(denial.verbose(&spec.name, command))),
    }
}

/// The NOPERM refusal of `args` for the client's user, logged in the ACL LOG; `None` when
/// it may run.
pub(super) fn refusal(ctx: &mut Ctx, args: &[Bytes]) -> Option<Frame> {
    let name = ctx.client.user.name();
    let id = catalog().resolve(args)?;
    let denial = match ctx.state.acl.get(name) {
        Some(user) => check(user, id, args).err()?,
        None => Denial::Command,
    };
    let command = catalog().entries[id].spec.name.as_str();
    let object = match denial {
        Denial::Command => command.to_owned(),
        Denial::Key(pos) | Denial::Channel(pos) => String::from_utf8_lossy(&args[pos]).into_owned(),
    };
    let username = String::from_utf8_lossy(ctx.client.user.name()).into_owned();
    record(ctx, denial.reason(), object, username);
    Some(Frame::error(format!("NOPERM {}", denial.text(command))))
}

/// Adds an ACL LOG entry: `reason` about `object`, by `username` (a failed AUTH names the
/// user tried).
fn record(ctx: &mut Ctx, reason: &'static str, object: String, username: String) {
    let event = Event {
        reason,
        context: if ctx.client.multi.is_some() {
            "multi"
        } else {
            "toplevel"
        },
        object,
        username,
    };
    let info = super::connection::client_line(ctx, ctx.client.id);
    ctx.state.acl.log.add(event, ctx.now, info);
}

/// Authenticates the client as `name` with `password`: WRONGPASS (logged) when the user
/// is missing, off, or the password does not match.
pub(super) fn authenticate(
    ctx: &mut Ctx,
    name: &Bytes,
    password: &[u8],
    command: &Bytes,
) -> Result<(), Frame> {
    let ok = ctx.state.acl.get(name).is_some_and(|u| u.accepts(password));
    if !ok {
        let object = String::from_utf8_lossy(command).into_owned();
        record(
            ctx,
            "auth",
            object,
            String::from_utf8_lossy(name).into_owned(),
        );
        return Err(Frame::error(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    ctx.client.authenticated = true;
    ctx.client.user = if name.as_ref() == DEFAULT {
        Identity::Default
    } else {
        Identity::Named(name.clone())
    };
    ctx.state.acl.bind(ctx.client.id, &ctx.client.user);
    Ok(())
}
