//! The router: one request → one [`Plan`], from the shared command table's routing class
//! (`slotgate_protocol::command`) and the request's keys. Pure: it reads no sockets and no
//! topology, so every rule is unit-tested.
//!
//! Layout: this file plans requests; `read` holds the read policy (`cluster.read_from`) that
//! sends read-only commands to replicas.

mod read;

use bytes::Bytes;
use slotgate_protocol::command::{Command, CrossSlot, Flags, Routing};
use slotgate_protocol::{key_slot, Slot};

pub use read::ReadFrom;
pub use slotgate_protocol::command::{FanOut, Merge, Pin};

use crate::error::ProxyError;

/// How a request is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Answered by the session itself (PING, HELLO, CLIENT …).
    Local,
    /// One request to the master owning the slot.
    Slot(Slot),
    /// One request to any master (keyless commands such as `EVAL … 0`).
    AnyMaster,
    /// One request to the node the proxy's SUBSCRIBE connections use (PUBLISH, PUBSUB).
    PubSubHome,
    /// Keys split by slot, one part per slot, merged in key order.
    FanOut(FanOut),
    /// The same request to every master, replies merged.
    AllMasters(Merge),
    /// Needs a connection of its own: transactions, blocking commands, pub/sub, WAIT.
    Pinned(Pin, Option<Slot>),
    /// Answered with an error.
    Fail(ProxyError),
}

/// A request's plan and its command's full name (`get`, `client|setname`; empty when the
/// command is unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub name: &'static str,
    pub plan: Plan,
    /// The command only reads (the table's `readonly` flag): the read policy may send it to
    /// a replica.
    pub read: bool,
    /// The command writes (the table's `write` flag): WAIT asks about its shard later.
    pub write: bool,
}

/// Routes one request.
pub fn plan(args: &[Bytes]) -> Routed {
    let command = match Command::parse(args) {
        Ok(command) => command,
        Err(err) => {
            return Routed {
                name: "",
                plan: Plan::Fail(ProxyError::Command(err.to_string())),
                read: false,
                write: false,
            }
        }
    };
    let name = command.name();
    let read = command.spec.flags.contains(Flags::READONLY);
    let write = command.is_write();
    let routing = command.routing();
    let slot = match slot_of(&command) {
        Ok(slot) => slot,
        Err(_) if matches!(routing, Routing::FanOut(_)) => None,
        Err(_) => {
            return Routed {
                name,
                plan: Plan::Fail(ProxyError::CrossSlot),
                read,
                write,
            }
        }
    };
    let plan = match routing {
        Routing::Local => Plan::Local,
        Routing::SingleSlot if is_blocking_stream_read(name, args) => {
            Plan::Pinned(Pin::Blocking, slot)
        }
        Routing::SingleSlot => slot.map_or(Plan::AnyMaster, Plan::Slot),
        Routing::Keyless => Plan::AnyMaster,
        Routing::PubSubHome => Plan::PubSubHome,
        Routing::FanOut(_) if slot.is_some() => slot.map_or(Plan::AnyMaster, Plan::Slot),
        Routing::FanOut(kind) => Plan::FanOut(kind),
        Routing::AllMasters(merge) => Plan::AllMasters(merge),
        Routing::Pinned(pin) => Plan::Pinned(pin, slot),
        Routing::Unsupported => unsupported(name),
    };
    Routed {
        name,
        plan,
        read,
        write,
    }
}

/// The request's slot. Commands whose only key is the first argument (GET, SET, INCR, …
/// — most traffic) take a fast path that allocates nothing; the rest ask the key specs.
fn slot_of(command: &Command<'_>) -> Result<Option<Slot>, CrossSlot> {
    let spec = command.spec;
    if spec.first_key == 1 && spec.last_key == 1 && !spec.flags.contains(Flags::MOVABLEKEYS) {
        if let Some(key) = command.args.get(1) {
            return Ok(Some(key_slot(key)));
        }
    }
    command.slot()
}

fn unsupported(name: &str) -> Plan {
    Plan::Fail(ProxyError::Unsupported(name.replace('|', " ")))
}

/// XREAD / XREADGROUP with a BLOCK option wait like BLPOP does.
fn is_blocking_stream_read(name: &str, args: &[Bytes]) -> bool {
    matches!(name, "xread" | "xreadgroup") && args.iter().any(|a| a.eq_ignore_ascii_case(b"block"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(args: &[&str]) -> Plan {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        plan(&args).plan
    }

    #[test]
    fn classes() {
        assert_eq!(route(&["GET", "foo"]), Plan::Slot(key_slot(b"foo")));
        assert_eq!(
            route(&["SET", "foo", "1", "EX", "10"]),
            Plan::Slot(key_slot(b"foo"))
        );
        assert_eq!(
            route(&["GETEX", "foo", "PERSIST"]),
            Plan::Slot(key_slot(b"foo"))
        );
        assert_eq!(route(&["mget", "{a}1", "{a}2"]), Plan::Slot(key_slot(b"a")));
        assert_eq!(route(&["MGET", "a", "b"]), Plan::FanOut(FanOut::Mget));
        assert_eq!(
            route(&["RENAME", "a", "b"]),
            Plan::Fail(ProxyError::CrossSlot)
        );
        assert_eq!(route(&["PING"]), Plan::Local);
        assert_eq!(route(&["DBSIZE"]), Plan::AllMasters(Merge::Sum));
        assert_eq!(
            route(&["BLPOP", "q", "0"]),
            Plan::Pinned(Pin::Blocking, Some(key_slot(b"q")))
        );
        assert_eq!(
            route(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
            Plan::Pinned(Pin::Blocking, Some(key_slot(b"s")))
        );
        assert_eq!(
            route(&["MONITOR"]),
            Plan::Fail(ProxyError::Unsupported("monitor".to_owned()))
        );
        assert!(matches!(
            route(&["NOPE"]),
            Plan::Fail(ProxyError::Command(_))
        ));
    }

    #[test]
    fn reads_are_marked() {
        let read = |args: &[&str]| {
            let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
            plan(&args).read
        };
        assert!(read(&["GET", "a"]));
        assert!(read(&["MGET", "a", "b"]));
        assert!(!read(&["SET", "a", "1"]));
        assert!(!read(&["INCR", "a"]));
        assert!(!read(&["NOPE"]));
    }
}
