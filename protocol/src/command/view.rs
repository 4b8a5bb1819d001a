//! [`Command`]: a parsed request seen through the table — its spec, keys and slot — and the
//! errors Redis gives for unknown commands and wrong arity, with Redis's exact texts.

use bytes::Bytes;

use super::keys::routing_positions;
use super::routing::Routing;
use super::spec::CommandSpec;
use super::table::table;
use crate::resp::Frame;
use crate::slot::{key_slot, Slot};

/// A request whose command exists and whose arity is right.
#[derive(Debug, Clone, Copy)]
pub struct Command<'a> {
    pub spec: &'static CommandSpec,
    pub args: &'a [Bytes],
}

/// Why Redis would reject a request before running it. `Display` is the error reply text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `args` is the quoted argument list, already cut as Redis cuts it.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    /// `container` is the command as sent, uppercased.
    #[error("ERR unknown subcommand '{subcommand}'. Try {container} HELP.")]
    UnknownSubcommand {
        container: String,
        subcommand: String,
    },
    /// The spec's full name: `get`, `cluster|info`.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(&'static str),
}

/// The keys of one request hash to different slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("CROSSSLOT Keys in request don't hash to the same slot")]
pub struct CrossSlot;

impl<'a> Command<'a> {
    /// Looks the request up and checks its arity, as Redis does before running anything.
    pub fn parse(args: &'a [Bytes]) -> Result<Command<'a>, CommandError> {
        let Some(spec) = table().resolve(args) else {
            return Err(unknown(args));
        };
        if !spec.arity_ok(args.len()) {
            return Err(CommandError::WrongArity(&spec.name));
        }
        Ok(Command { spec, args })
    }

    /// The full lowercase name: `get`, `config|get`.
    pub fn name(&self) -> &'static str {
        &self.spec.name
    }

    /// The arguments that choose the slot: the keys (in Redis's `COMMAND GETKEYS` order),
    /// or the shard channel of SPUBLISH/SSUBSCRIBE/SUNSUBSCRIBE.
    pub fn keys(&self) -> impl Iterator<Item = &'a Bytes> {
        let args = self.args;
        routing_positions(self.spec, args).filter_map(move |i| args.get(i))
    }

    /// The one slot of all keys; `None` for a request without keys.
    pub fn slot(&self) -> Result<Option<Slot>, CrossSlot> {
        let mut slots = self.keys().map(|key| key_slot(key));
        let Some(first) = slots.next() else {
            return Ok(None);
        };
        match slots.all(|slot| slot == first) {
            true => Ok(Some(first)),
            false => Err(CrossSlot),
        }
    }

    /// Whether the command may modify data.
    pub fn is_write(&self) -> bool {
        self.spec.is_write()
    }

    /// How the proxy routes it.
    pub fn routing(&self) -> Routing {
        self.spec.routing
    }
}

impl CommandError {
    /// "unknown command" for `args`, whatever the table holds: for a server that runs only
    /// part of the table and refuses the rest as Redis refuses names it has never heard of.
    pub fn unknown_command(args: &[Bytes]) -> CommandError {
        CommandError::UnknownCommand {
            name: printable(args.first().map_or(&[][..], |a| &a[..]), 128),
            args: quoted_args(args),
        }
    }

    /// The error as a reply frame.
    pub fn to_frame(&self) -> Frame {
        Frame::error(self.to_string())
    }
}

impl CrossSlot {
    /// The error as a reply frame.
    pub fn to_frame(&self) -> Frame {
        Frame::error(self.to_string())
    }
}

/// Redis's `commandCheckExistence` message for a request it cannot find.
fn unknown(args: &[Bytes]) -> CommandError {
    let name = args.first().map_or(&[][..], |a| &a[..]);
    let container = table().get(name).filter(|spec| spec.is_container());
    match (container, args.get(1)) {
        (Some(_), Some(sub)) => CommandError::UnknownSubcommand {
            container: printable(name, usize::MAX).to_uppercase(),
            subcommand: printable(sub, 128),
        },
        _ => CommandError::unknown_command(args),
    }
}

/// `'a1' 'a2' …`: each argument quoted and followed by a space, added while the text is
/// shorter than 128 bytes, each cut to what is left of those 128.
fn quoted_args(args: &[Bytes]) -> String {
    let mut text = String::new();
    for arg in args.iter().skip(1) {
        if text.len() >= 128 {
            break;
        }
        let room = 128 - text.len();
        text.push('\'');
        text.push_str(&printable(arg, room));
        text.push_str("' ");
    }
    text
}

/// An argument as C's `%.<max>s` prints it (up to the first NUL, at most `max` bytes), with
/// CR and LF turned into spaces as Redis does to keep the error on one line.
fn printable(arg: &[u8], max: usize) -> String {
    let end = arg
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(arg.len())
        .min(max);
    let text = String::from_utf8_lossy(&arg[..end]);
    text.replace(['\r', '\n'], " ")
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

    fn error(parts: &[&str]) -> String {
        Command::parse(&args(parts))
            .map(|c| c.name().to_owned())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn redis_error_texts() {
        assert_eq!(
            error(&["foo", "a", "b"]),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            error(&["foo"]),
            "ERR unknown command 'foo', with args beginning with: "
        );
        assert_eq!(
            error(&["cluster", "x"]),
            "ERR unknown subcommand 'x'. Try CLUSTER HELP."
        );
        assert_eq!(
            error(&["GET"]),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            error(&["cluster", "info", "x"]),
            "ERR wrong number of arguments for 'cluster|info' command"
        );
        assert_eq!(
            error(&["cluster"]),
            "ERR wrong number of arguments for 'cluster' command"
        );
        assert_eq!(
            error(&["foo", "a\r\nb"]),
            "ERR unknown command 'foo', with args beginning with: 'a  b' "
        );
        assert_eq!(error(&["Config", "GET", "x"]), "config|get");
        assert_eq!(
            CommandError::unknown_command(&args(&["xinfo", "stream"])).to_string(),
            "ERR unknown command 'xinfo', with args beginning with: 'stream' "
        );
    }

    #[test]
    fn long_arguments_are_cut_like_redis() {
        let long = "x".repeat(200);
        let text = error(&["foo", &long, "b"]);
        let want = format!(
            "ERR unknown command 'foo', with args beginning with: '{}' ",
            "x".repeat(128)
        );
        assert_eq!(text, want);
    }

    #[test]
    fn slot_or_crossslot() {
        let same = args(&["mget", "{u}a", "{u}b"]);
        let slot = Command::parse(&same).map(|c| c.slot());
        assert_eq!(slot, Ok(Ok(Some(key_slot(b"u")))));
        let cross = args(&["mget", "a", "b"]);
        assert_eq!(Command::parse(&cross).map(|c| c.slot()), Ok(Err(CrossSlot)));
        assert_eq!(
            CrossSlot.to_string(),
            "CROSSSLOT Keys in request don't hash to the same slot"
        );
        let keyless = args(&["ping"]);
        assert_eq!(Command::parse(&keyless).map(|c| c.slot()), Ok(Ok(None)));
    }

    #[test]
    fn write_flag() {
        assert_eq!(
            Command::parse(&args(&["set", "k", "v"])).map(|c| c.is_write()),
            Ok(true)
        );
        assert_eq!(
            Command::parse(&args(&["get", "k"])).map(|c| c.is_write()),
            Ok(false)
        );
    }
}
