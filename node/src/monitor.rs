//! MONITOR: a client that sent it receives one status line per command any client runs,
//! in Redis 7.0's format (`+<sec>.<usec> [<db> <addr>] "arg" …`), fed after the command
//! ran (so SELECT shows the new db, MULTI's commands appear before EXEC) except for
//! `admin` commands, commands refused before running, AOF replay and served blocked
//! commands. AUTH's and HELLO AUTH's credentials are shown as `(redacted)`. Nobody
//! monitoring costs one `is_empty` branch per command.

use std::fmt::Write;

use bytes::Bytes;
use slotgate_protocol::command::Flags;
use slotgate_protocol::Frame;

use crate::client::{Client, Mailbox};
use crate::cmd::flag::NOAUTH;
use crate::cmd::{spec, Ctx, Reply, Spec};
use crate::config::ClientClass;
use crate::state::{now_us, State};

pub const COMMANDS: &[Spec] = &[spec("monitor", 1, NOAUTH, monitor)];

/// The clients in MONITOR mode, by client id.
#[derive(Default)]
pub struct Monitors(Vec<(u64, Mailbox)>);

impl Monitors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, id: u64) -> bool {
        self.0.iter().any(|(m, _)| *m == id)
    }

    /// Stops feeding client `id` (RESET, disconnection).
    pub fn remove(&mut self, id: u64) {
        self.0.retain(|(m, _)| *m != id);
    }
}

fn monitor(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    if ctx.no_block {
        return Err(Frame::error(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    if ctx.state.monitors.contains(ctx.client.id) {
        return Ok(crate::reply::several(Vec::new()));
    }
    let entry = (ctx.client.id, ctx.client.mailbox.clone());
    ctx.state.monitors.0.push(entry);
    Ok(Frame::ok())
}

/// Redis's refusal of keyspace commands from a MONITOR client (it is flagged a replica).
pub fn refusal(state: &State, client: &Client, flags: Flags) -> Option<Frame> {
    let keyspace = Flags::READONLY | Flags::WRITE | Flags::MAY_REPLICATE;
    (!state.monitors.is_empty() && flags.intersects(keyspace) && state.monitors.contains(client.id))
        .then(|| Frame::error("ERR Replica can't interact with the keyspace"))
}

/// Sends the command `client` just ran to every monitor (Redis's `replicationFeedMonitors`).
/// The running client's own line is kept in [`Client::own_feed`].
pub fn feed(state: &mut State, client: &mut Client, flags: Flags, args: &[Bytes]) {
    if state.monitors.is_empty()
        || client.loading
        || flags.intersects(Flags::ADMIN | Flags::SKIP_MONITOR)
    {
        return;
    }
    let line = line(now_us(), client, args);
    let size = line.len();
    let frame = Frame::Simple(Bytes::from(line));
    // Redis counts a monitor as a normal client (`getClientType`), not a replica.
    let limit = crate::cmd::output_limit(state, ClientClass::Normal);
    state.monitors.0.retain(|(id, mailbox)| {
        if *id == client.id {
            client.own_feed.push(frame.clone());
            return true;
        }
        mailbox.push(frame.clone(), size, limit)
    });
}

/// `<sec>.<usec> [<db> <addr>] "arg" …` with credentials redacted.
fn line(now_us: i64, client: &Client, args: &[Bytes]) -> String {
    let addr = client.addr.map(|a| a.to_string()).unwrap_or_default();
    let mut line = format!(
        "{}.{:06} [{} {addr}]",
        now_us / 1_000_000,
        now_us % 1_000_000,
        client.db
    );
    let redacted = crate::redact::secrets(args);
    for (i, arg) in args.iter().enumerate() {
        line.push(' ');
        if redacted.contains(&i) {
            line.push_str("\"(redacted)\"");
        } else {
            repr(&mut line, arg);
        }
    }
    line
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes, `\xhh` for the rest.
fn repr(out: &mut String, arg: &[u8]) {
    out.push('"');
    for &b in arg {
        match b {
            b'\\' | b'"' => {
                out.push('\\');
                out.push(b as char);
            }
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b' '..=b'~' => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(parts: &[&[u8]]) -> Vec<Bytes> {
        parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
    }

    fn shown(parts: &[&[u8]]) -> String {
        let mut client = Client::detached(3, 2);
        client.addr = Some("127.0.0.1:5000".parse().unwrap());
        line(1_700_000_000_000_042, &client, &args(parts))
    }

    #[test]
    fn quotes_like_sdscatrepr() {
        assert_eq!(
            shown(&[b"SET", b"k", b"a\"b\\c\nd\re\tf\x07\x08\x01\xff~ "]),
            r#"1700000000.000042 [3 127.0.0.1:5000] "SET" "k" "a\"b\\c\nd\re\tf\a\b\x01\xff~ ""#
        );
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            shown(&[b"auth", b"user", b"pw"]),
            r#"1700000000.000042 [3 127.0.0.1:5000] "auth" "(redacted)" "(redacted)""#
        );
        assert_eq!(
            shown(&[b"HELLO", b"3", b"SETNAME", b"auth", b"AUTH", b"u", b"p"]),
            r#"1700000000.000042 [3 127.0.0.1:5000] "HELLO" "3" "SETNAME" "auth" "AUTH" "(redacted)" "(redacted)""#
        );
    }
}
