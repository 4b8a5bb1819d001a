//! Replies to `COMMAND` and its subcommands, built from the table, byte-for-byte as Redis
//! 7.0 sends them (in RESP2; RESP3 uses maps and sets where Redis does). Only the order of
//! whole-table replies differs: Redis lists commands in hash order, we in name order.

use bytes::Bytes;

use super::docs_frame::docs_frame;
use super::flags::Flags;
use super::glob::glob_match;
use super::info_frame::{info_frame, simple};
use super::keys::key_refs;
use super::spec::CommandSpec;
use super::table::table;
use super::view::Command;
use crate::resp::Frame;

/// The protocol version a reply is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespVersion {
    Resp2,
    Resp3,
}

/// The reply to a `COMMAND …` request (`args[0]` is `COMMAND`): errors included.
pub fn command_reply(args: &[Bytes], version: RespVersion) -> Frame {
    let command = match Command::parse(args) {
        Ok(command) => command,
        Err(e) => return e.to_frame(),
    };
    let out = Out(version);
    let rest = args.get(2..).unwrap_or_default();
    match command.name() {
        "command" => Frame::Array(table().iter().map(|s| info_frame(s, out)).collect()),
        "command|count" => Frame::Integer(table().len() as i64),
        "command|list" => list(rest),
        "command|info" => info(rest, out),
        "command|docs" => docs(rest, out),
        "command|getkeys" => getkeys(rest, None),
        "command|getkeysandflags" => getkeys(rest, Some(out)),
        "command|help" => Frame::Array(HELP.iter().map(simple).collect()),
        other => Frame::error(format!("ERR '{other}' is not a COMMAND request")),
    }
}

/// `COMMAND INFO [name …]`: every command when no name is given, null for unknown names.
fn info(names: &[Bytes], out: Out) -> Frame {
    if names.is_empty() {
        return Frame::Array(table().iter().map(|s| info_frame(s, out)).collect());
    }
    let entry = |name: &Bytes| {
        table()
            .lookup(name)
            .map_or(out.null(), |s| info_frame(s, out))
    };
    Frame::Array(names.iter().map(entry).collect())
}

/// `COMMAND DOCS [name …]`: a name → docs map; unknown names are left out.
fn docs(names: &[Bytes], out: Out) -> Frame {
    let entry = |spec: &CommandSpec| (Frame::bulk(&spec.name), docs_frame(spec, out));
    let entries = match names.is_empty() {
        true => table().iter().map(entry).collect(),
        false => names
            .iter()
            .filter_map(|n| table().lookup(n))
            .map(entry)
            .collect(),
    };
    out.map_of(entries)
}

/// `COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]`: names of commands and
/// subcommands.
fn list(options: &[Bytes]) -> Frame {
    let filter: Box<dyn Fn(&CommandSpec) -> bool> = match options {
        [] => Box::new(|_| true),
        [by, kind, arg] if by.eq_ignore_ascii_case(b"filterby") => {
            match kind.to_ascii_lowercase().as_slice() {
                b"module" => Box::new(|_| false),
                b"aclcat" => Box::new(move |spec| in_category(spec, arg)),
                b"pattern" => Box::new(move |spec| glob_match(arg, spec.name.as_bytes())),
                _ => return syntax_error(),
            }
        }
        _ => return syntax_error(),
    };
    let names = table()
        .iter_all()
        .filter(|s| filter(s))
        .map(|s| Frame::bulk(&s.name));
    Frame::Array(names.collect())
}

fn in_category(spec: &CommandSpec, category: &[u8]) -> bool {
    spec.acl_categories.iter().any(|c| {
        c.as_bytes()
            .get(1..)
            .is_some_and(|c| c.eq_ignore_ascii_case(category))
    })
}

fn syntax_error() -> Frame {
    Frame::error("ERR syntax error")
}

/// `COMMAND GETKEYS cmd …` (`flags` is `None`) or `COMMAND GETKEYSANDFLAGS cmd …`.
fn getkeys(request: &[Bytes], flags: Option<Out>) -> Frame {
    let Some(spec) = table().resolve(request) else {
        return Frame::error("ERR Invalid command specified");
    };
    if !spec.has_keys() {
        return Frame::error("ERR The command has no key arguments");
    }
    if !spec.arity_ok(request.len()) {
        return Frame::error("ERR Invalid number of arguments specified for command");
    }
    let keys = key_refs(spec, request);
    if keys.is_empty() && !spec.flags.contains(Flags::NO_MANDATORY_KEYS) {
        return Frame::error("ERR Invalid arguments specified for command");
    }
    let key = |pos: usize| request.get(pos).map_or(Frame::NullBulk, Frame::bulk);
    let entries = keys.iter().map(|k| match flags {
        None => key(k.pos),
        Some(out) => Frame::Array(vec![
            key(k.pos),
            out.set(k.flags.names().map(simple).collect()),
        ]),
    });
    Frame::Array(entries.collect())
}

/// Aggregate shapes that differ between RESP2 and RESP3.
#[derive(Debug, Clone, Copy)]
pub(super) struct Out(RespVersion);

impl Out {
    /// A map with string keys; RESP2 flattens it into `[k1, v1, k2, v2, …]`.
    pub(super) fn map(self, pairs: Vec<(&str, Frame)>) -> Frame {
        self.map_of(
            pairs
                .into_iter()
                .map(|(k, v)| (Frame::bulk(k), v))
                .collect(),
        )
    }

    pub(super) fn map_of(self, pairs: Vec<(Frame, Frame)>) -> Frame {
        match self.0 {
            RespVersion::Resp3 => Frame::Map(pairs),
            RespVersion::Resp2 => {
                Frame::Array(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect())
            }
        }
    }

    /// A set (RESP3) or array (RESP2).
    pub(super) fn set(self, items: Vec<Frame>) -> Frame {
        match self.0 {
            RespVersion::Resp3 => Frame::Set(items),
            RespVersion::Resp2 => Frame::Array(items),
        }
    }

    pub(super) fn null(self) -> Frame {
        match self.0 {
            RespVersion::Resp3 => Frame::Null,
            RespVersion::Resp2 => Frame::NullBulk,
        }
    }
}

/// Redis 7.0's `COMMAND HELP` text.
const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(parts: &[&str]) -> Frame {
        let args: Vec<Bytes> = parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect();
        command_reply(&args, RespVersion::Resp2)
    }

    fn error(parts: &[&str]) -> String {
        String::from_utf8_lossy(reply(parts).as_error().unwrap_or(b"no error")).into_owned()
    }

    #[test]
    fn count_and_list() {
        assert_eq!(reply(&["command", "count"]), Frame::Integer(240));
        let Frame::Array(all) = reply(&["COMMAND", "LIST"]) else {
            panic!("not an array")
        };
        assert_eq!(all.len(), 366);
        assert_eq!(
            reply(&["command", "list", "filterby", "module", "x"]),
            Frame::Array(vec![])
        );
        let Frame::Array(conf) = reply(&["command", "list", "filterby", "pattern", "config|*"])
        else {
            panic!("not an array")
        };
        assert_eq!(conf.len(), 5);
        assert_eq!(error(&["command", "list", "filterby"]), "ERR syntax error");
    }

    #[test]
    fn getkeys_errors() {
        assert_eq!(
            error(&["command", "getkeys", "nosuch", "x"]),
            "ERR Invalid command specified"
        );
        assert_eq!(
            error(&["command", "getkeys", "config", "get"]),
            "ERR The command has no key arguments"
        );
        assert_eq!(
            error(&["command", "getkeys", "get", "a", "b"]),
            "ERR Invalid number of arguments specified for command"
        );
        assert_eq!(
            error(&["command", "getkeys", "zunion", "0", "a"]),
            "ERR Invalid arguments specified for command"
        );
        assert_eq!(
            reply(&["command", "getkeys", "eval", "s", "0"]),
            Frame::Array(vec![])
        );
    }

    #[test]
    fn info_of_unknown_is_null() {
        assert_eq!(
            reply(&["command", "info", "nosuch"]),
            Frame::Array(vec![Frame::NullBulk])
        );
    }
}
