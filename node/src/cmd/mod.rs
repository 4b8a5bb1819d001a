//! Command dispatch: one table built from every family's `COMMANDS` list, and
//! [`execute`], the single path every request takes — lookup (unknown command), arity,
//! auth, ACL permissions, pub/sub context, MULTI queueing, maxmemory, then the handler,
//! then propagation.
//! (Cluster mode's slot check / redirect goes in [`execute`] right before the handler.)
//!
//! A family is one file with `pub const COMMANDS: &[Spec]` whose handlers have the shape
//! `fn(&mut Ctx, &[Bytes]) -> Reply` (`args[0]` is the command name). Adding a family is
//! one file plus one line in [`FAMILIES`].
//!
//! Layout: `connection`, `acl`, `server`, `config_cmd`, `strings`, `bitmaps`, `hyperloglog`,
//! `keys`, `sort`, `hashes`, `lists`, `lcs`, `sets`, `zsets`, `streams`, `geo`, `scans`,
//! `pubsub`, `tx`, `scripting` (EVAL, SCRIPT), plus `args` (argument parsing helpers) and
//! `help` (HELP texts).

mod acl;
pub mod args;
mod bitmaps;
pub mod cluster;
mod config_cmd;
mod connection;
mod geo;
mod hashes;
pub(crate) mod help;
mod hyperloglog;
mod keys;
mod lcs;
mod lists;
mod lolwut;
mod long_double;
mod pubsub;
mod scans;
mod scripting;
mod server;
mod sets;
mod sort;
mod streams;
mod strings;
mod tx;
mod zsets;

pub use pubsub::output_limit;

use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use slotgate_protocol::command::{Command, CommandError, CommandSpec, Flags};
use slotgate_protocol::Frame;

use crate::blocking::Block;
use crate::client::Client;
use crate::db::{Db, Map};
use crate::info::StatKey;
use crate::state::{now_ms, State};

/// A handler's outcome: the reply, or an error reply (so handlers can use `?`).
pub type Reply = Result<Frame, Frame>;

/// Handler of one command.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> Reply;

/// Command flags.
pub mod flag {
    /// Changes data: propagated, refused under OOM when also `DENYOOM`.
    pub const WRITE: u32 = 1;
    /// May grow memory.
    pub const DENYOOM: u32 = 2;
    /// Allowed before AUTH.
    pub const NOAUTH: u32 = 4;
    /// Allowed in RESP2 subscribe mode.
    pub const PUBSUB: u32 = 8;
    /// Runs even inside MULTI instead of being queued.
    pub const NOQUEUE: u32 = 16;
    /// Not allowed inside MULTI at all.
    pub const NOMULTI: u32 = 32;
    /// Not itself logged in SLOWLOG (EXEC: its commands are).
    pub const SKIP_SLOWLOG: u32 = 64;
}

/// One command: name (lower case), Redis arity (negative = at least), flags, handler.
pub struct Spec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub handler: Handler,
}

impl Spec {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// Shorthand for family tables.
pub const fn spec(name: &'static str, arity: i32, flags: u32, handler: Handler) -> Spec {
    Spec {
        name,
        arity,
        flags,
        handler,
    }
}

/// Every command family. Add a family here.
const FAMILIES: &[&[Spec]] = &[
    connection::COMMANDS,
    acl::COMMANDS,
    cluster::COMMANDS,
    server::COMMANDS,
    config_cmd::COMMANDS,
    strings::COMMANDS,
    bitmaps::COMMANDS,
    hyperloglog::COMMANDS,
    lcs::COMMANDS,
    keys::COMMANDS,
    scans::COMMANDS,
    hashes::COMMANDS,
    lists::COMMANDS,
    sets::COMMANDS,
    sort::COMMANDS,
    zsets::COMMANDS,
    streams::COMMANDS,
    geo::COMMANDS,
    pubsub::COMMANDS,
    tx::COMMANDS,
    scripting::COMMANDS,
    crate::replication::COMMANDS,
    crate::monitor::COMMANDS,
    lolwut::COMMANDS,
];

/// A command this node runs: its handler and what Redis's table says of it.
struct Known {
    /// Position in [`FAMILIES`], flattened: the command's INFO commandstats slot.
    index: usize,
    spec: &'static Spec,
    redis: &'static CommandSpec,
}

fn table() -> &'static Map<&'static [u8], Known> {
    static TABLE: OnceLock<Map<&'static [u8], Known>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let redis = slotgate_protocol::command::table();
        FAMILIES
            .iter()
            .flat_map(|f| f.iter())
            .enumerate()
            .filter_map(|(index, spec)| {
                let redis = redis.get(spec.name.as_bytes())?;
                Some((spec.name.as_bytes(), Known { index, spec, redis }))
            })
            .collect()
    })
}

fn known(name: &[u8]) -> Option<&'static Known> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().get(&*lower)
}

/// Every command's name, in the order of the commandstats slots ([`StatKey::Plain`]).
pub fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().flat_map(|f| f.iter()).map(|spec| spec.name)
}

/// Where `args` counts in INFO commandstats, as Redis's `lookupCommand` finds it: the
/// command, or a container's subcommand (bare `COMMAND` is itself); `None` when there is
/// no such command.
fn stat_key(args: &[Bytes]) -> Option<StatKey> {
    let k = known(args.first()?)?;
    match args.get(1) {
        Some(sub) if k.redis.is_container() => Some(StatKey::Sub(&k.redis.subcommand(sub)?.name)),
        _ => Some(StatKey::Plain(k.index)),
    }
}

/// The spec for a command name, any case.
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    known(name).map(|k| k.spec)
}

/// Redis's checks before anything else: the command exists (in Redis 7.0's table, and here)
/// and the arity is right, with Redis's texts (`'client|setname'` for a subcommand).
/// Also Redis's flags for the (sub)command. One lookup for a plain command; containers
/// and refusals take the table's longer road.
fn resolve(args: &[Bytes]) -> Result<(&'static Spec, Flags, StatKey), Frame> {
    let plain = args
        .first()
        .and_then(|name| known(name))
        .filter(|k| !k.redis.is_container() && k.redis.arity_ok(args.len()));
    if let Some(k) = plain {
        return Ok((k.spec, k.redis.flags, StatKey::Plain(k.index)));
    }
    let flags = Command::parse(args).map_err(|e| e.to_frame())?.spec.flags;
    let found = lookup(&args[0]).zip(stat_key(args));
    let (spec, key) = found.ok_or_else(|| CommandError::unknown_command(args).to_frame())?;
    Ok((spec, flags, key))
}

/// What a handler sees: the state (locked), its client, the time, and where it reports
/// writes, a blocking wait, or a different command to propagate.
pub struct Ctx<'a> {
    pub state: &'a mut State,
    pub client: &'a mut Client,
    /// Unix ms, fixed for the whole command (like Redis's cached `mstime`).
    pub now: i64,
    /// When the next command [`call`] runs started (the slowlog measures from here).
    pub started: Instant,
    /// Changes made by this command (Redis's `server.dirty` delta).
    pub dirty: u64,
    /// Propagate these commands instead of the one executed.
    pub rewrite: Option<Vec<Vec<Bytes>>>,
    /// The command must wait: set by blocking commands that found nothing.
    pub block: Option<Block>,
    /// Blocking commands must not wait (inside MULTI, or when served).
    pub no_block: bool,
    /// Where the next [`call`] counts in INFO commandstats, when [`execute`] resolved it.
    stat: Option<StatKey>,
}

impl<'a> Ctx<'a> {
    pub fn new(state: &'a mut State, client: &'a mut Client) -> Ctx<'a> {
        Ctx::at(state, client, now_ms(), Instant::now())
    }

    /// A context for a command that started at `started`, Unix ms `now` (a batch's clock).
    pub fn at(state: &'a mut State, client: &'a mut Client, now: i64, started: Instant) -> Ctx<'a> {
        Ctx {
            state,
            client,
            now,
            started,
            dirty: 0,
            rewrite: None,
            block: None,
            no_block: false,
            stat: None,
        }
    }

    /// The client's selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.state.dbs[self.client.db]
    }

    /// Records `n` changes.
    pub fn changed(&mut self, n: u64) {
        self.dirty += n;
    }

    /// Propagate `args` (in addition to other rewrites) instead of the original command.
    pub fn propagate_as(&mut self, args: Vec<Bytes>) {
        self.rewrite.get_or_insert_with(Vec::new).push(args);
    }

    /// Tells blocked clients that `key` may have data now.
    pub fn signal_ready(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.state.blocked.signal(db, key);
    }
}

/// Runs one request for `client` with the state locked. A blocking command that must wait
/// leaves its [`Block`] in `ctx.block`. Error replies are counted for INFO errorstats.
pub fn execute(ctx: &mut Ctx, args: &[Bytes]) -> Frame {
    let reply = dispatch(ctx, args);
    if let Frame::Error(text) = &reply {
        ctx.state.stats.errors.record(text);
    }
    reply
}

fn dispatch(ctx: &mut Ctx, args: &[Bytes]) -> Frame {
    let (spec, flags, key) = match resolve(args) {
        Ok(found) => found,
        Err(refusal) => {
            let key = stat_key(args);
            ctx.client.last_command = key.map_or("NULL", refused_name);
            if ctx.client.multi.is_some() && args[0].eq_ignore_ascii_case(b"exec") {
                count_rejected(ctx, key);
                return tx::abort(ctx, &refusal);
            }
            return reject(ctx, key, refusal);
        }
    };
    let key = Some(key);
    // Redis's `c->lastcmd`: set for every command it finds, queued or refused too (NULL
    // for an unknown one, above).
    ctx.client.last_command = full_name(spec, key);
    if !ctx.client.authenticated && !spec.has(flag::NOAUTH) {
        return reject(ctx, key, Frame::error("NOAUTH Authentication required."));
    }
    if ctx.state.acl.restricts(&ctx.client.user) {
        if let Some(refusal) = acl::refusal(ctx, args) {
            return reject(ctx, key, refusal);
        }
    }
    if ctx.client.in_pubsub_mode() && !spec.has(flag::PUBSUB) {
        count_rejected(ctx, key);
        return Frame::error(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        ));
    }
    if let Some(refusal) = crate::monitor::refusal(ctx.state, ctx.client, flags) {
        return reject(ctx, key, refusal);
    }
    if let Some(redirect) = crate::cluster::redirect::check(ctx.state, ctx.client, args, ctx.now) {
        return reject(ctx, key, redirect);
    }
    if let Some(refusal) = crate::replication::refuse_write(ctx.state, ctx.client, spec) {
        return reject(ctx, key, refusal);
    }
    if ctx.client.multi.is_some() && !spec.has(flag::NOQUEUE) {
        if spec.has(flag::NOMULTI) {
            return reject(
                ctx,
                key,
                Frame::error(format!(
                    "ERR Command not allowed inside a transaction: {}",
                    spec.name
                )),
            );
        }
        if let Some(multi) = ctx.client.multi.as_mut() {
            multi.queue.push(args.to_vec());
        }
        return Frame::Simple(Bytes::from_static(b"QUEUED"));
    }
    if spec.has(flag::DENYOOM) && !ctx.client.loading && !crate::memory::ensure_room(ctx.state) {
        return reject(
            ctx,
            key,
            Frame::error("OOM command not allowed when used memory > 'maxmemory'."),
        );
    }
    ctx.stat = key;
    let reply = call(ctx, spec, args);
    crate::monitor::feed(ctx.state, ctx.client, flags, args);
    reply
}

/// Runs the handler, counts it in INFO commandstats when [`execute`] resolved it (not yet
/// the master's stream nor a served blocked command) and propagates what it changed.
pub fn call(ctx: &mut Ctx, spec: &'static Spec, args: &[Bytes]) -> Frame {
    let key = ctx.stat.take();
    ctx.state.stats.commands += 1;
    let started = ctx.started;
    let reply = (spec.handler)(ctx, args).unwrap_or_else(|e| e);
    // After the handler: EXEC's queued commands leave `exec`, as in Redis.
    ctx.client.last_command = full_name(spec, key);
    let ended = Instant::now();
    ctx.started = ended;
    if ctx.block.is_none() && !ctx.client.loading {
        if let Some(key) = key {
            let usec = (ended - started).as_micros() as u64;
            let failed = matches!(reply, Frame::Error(_));
            ctx.state.stats.commands_by_name.call(key, usec, failed);
        }
    }
    if !spec.has(flag::SKIP_SLOWLOG) {
        crate::slowlog::record(ctx.state, ctx.client, args, ended - started);
    }
    let db = ctx.client.db;
    ctx.state.propagate_expired(db);
    if ctx.dirty > 0 && spec.has(flag::WRITE) {
        ctx.state.dirty += ctx.dirty;
        if !ctx.client.loading {
            match ctx.rewrite.take() {
                Some(commands) => commands.iter().for_each(|c| ctx.state.propagate(db, c)),
                None => ctx.state.propagate(db, args),
            }
            ctx.client.woff = ctx.state.repl.offset();
        }
    }
    ctx.dirty = 0;
    ctx.rewrite = None;
    reply
}

/// The name CLIENT LIST shows: `container|sub` for a subcommand.
fn full_name(spec: &'static Spec, key: Option<StatKey>) -> &'static str {
    match key {
        Some(StatKey::Sub(full)) => full,
        _ => spec.name,
    }
}

/// The name of a command refused before it was resolved (wrong arity): a slow path.
fn refused_name(key: StatKey) -> &'static str {
    match key {
        StatKey::Plain(i) => names().nth(i).unwrap_or("NULL"),
        StatKey::Sub(full) => full,
    }
}

/// An error before execution, counted as the command's `rejected_calls`; inside MULTI it
/// also dooms the transaction.
fn reject(ctx: &mut Ctx, key: Option<StatKey>, reply: Frame) -> Frame {
    count_rejected(ctx, key);
    if let Some(multi) = ctx.client.multi.as_mut() {
        multi.failed = true;
    }
    reply
}

fn count_rejected(ctx: &mut Ctx, key: Option<StatKey>) {
    if let Some(key) = key.filter(|_| !ctx.client.loading) {
        ctx.state.stats.commands_by_name.reject(key);
    }
}

pub(crate) fn arity_ok(arity: i32, n: usize) -> bool {
    let n = n as i32;
    if arity >= 0 {
        n == arity
    } else {
        n >= -arity
    }
}

/// Unregisters a closing client: subscriptions and WATCHes.
pub fn forget_client(state: &mut State, client: &mut Client) {
    pubsub::unsubscribe_all(state, client);
    tx::unwatch_all(state, client);
    state.monitors.remove(client.id);
    state.acl.bind(client.id, &crate::acl::Identity::Default);
}

/// Runs `args` for a connection-less client (AOF replay).
pub fn replay(state: &mut State, client: &mut Client, args: &[Bytes]) -> Frame {
    let mut ctx = Ctx::new(state, client);
    ctx.no_block = true;
    execute(&mut ctx, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(parts: &[&str]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    #[test]
    fn refusals_use_redis_texts() {
        let text = |parts: &[&str]| resolve(&args(parts)).map(|(s, _, _)| s.name);
        assert_eq!(
            text(&["foo", "a", "b"]),
            Err(Frame::error(
                "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
            ))
        );
        assert_eq!(
            text(&["fcall", "f", "0", "a"]),
            Err(Frame::error(
                "ERR unknown command 'fcall', with args beginning with: 'f' '0' 'a' "
            ))
        );
        assert_eq!(
            text(&["client", "setname"]),
            Err(Frame::error(
                "ERR wrong number of arguments for 'client|setname' command"
            ))
        );
        assert_eq!(
            text(&["config", "nope"]),
            Err(Frame::error(
                "ERR unknown subcommand 'nope'. Try CONFIG HELP."
            ))
        );
        assert_eq!(text(&["GeT", "k"]), Ok("get"));
    }

    #[test]
    fn names_are_unique_lower_case_and_redis_s() {
        let mut seen = std::collections::HashSet::new();
        let redis = slotgate_protocol::command::table();
        for spec in FAMILIES.iter().flat_map(|f| f.iter()) {
            assert!(seen.insert(spec.name), "duplicate {}", spec.name);
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            let same = redis.get(spec.name.as_bytes()).map(|r| r.arity);
            assert_eq!(same, Some(spec.arity), "{} differs from Redis", spec.name);
        }
        assert!(lookup(b"GeT").is_some());
    }
}
