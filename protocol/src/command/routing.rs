//! [`Routing`]: how the proxy sends a command to the cluster.
//!
//! Every spec's class is derived once, when the table loads, by [`routing_for`]:
//!
//! 1. An explicit entry in [`OVERRIDES`] for the full name (`client|setname`) wins, then
//!    one for the container (`cluster` covers every `cluster|…` not listed itself).
//! 2. Otherwise a command with key specs is [`Routing::SingleSlot`] (all its keys must hash
//!    to one slot, else CROSSSLOT) — unless it is `blocking` (→ [`Pin::Blocking`]) or
//!    `admin` (→ [`Routing::Unsupported`]). Shard channels (SPUBLISH) count as keys here.
//! 3. A keyless command is [`Routing::Unsupported`] when it is `admin` or `write` (it would
//!    change one arbitrary node), else [`Routing::Keyless`] (LOLWUT, MEMORY STATS).
//!
//! So a new write command can never silently become a harmless read: it is either keyed
//! (and goes to its slot's master) or refused until someone lists it here.
//!
//! Choices worth knowing: CLUSTER, CONFIG, ACL, replication, persistence, MONITOR, DEBUG,
//! SHUTDOWN, MIGRATE, MOVE, SWAPDB, FAILOVER and connection-state commands a shared backend
//! connection cannot carry (CLIENT TRACKING/CACHING/PAUSE, ASKING, ROLE) are
//! unsupported; `CLUSTER KEYSLOT` is answered locally (a pure function of the key);
//! `CONFIG GET` by the proxy, which asks one master and leaves out the cluster's credentials.
//! MSETNX stays single-slot (it cannot be split atomically). XREAD/XREADGROUP are
//! single-slot; the proxy pins them itself when they carry BLOCK. PUBLISH and PUBSUB
//! CHANNELS/NUMSUB/NUMPAT go to the node the proxy subscribes on ([`Routing::PubSubHome`]),
//! PUBSUB SHARDCHANNELS to every master, PUBSUB SHARDNUMSUB split by channel slot.

use super::flags::Flags;
use super::spec::CommandSpec;

/// How the proxy routes one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Routing {
    /// Keyed: to the master (or replica) of the keys' one slot; several keys must share it.
    SingleSlot,
    /// No keys: any node will do (LOLWUT, MEMORY STATS).
    Keyless,
    /// PUBLISH and PUBSUB CHANNELS/NUMSUB/NUMPAT: cluster pub/sub is broadcast, so any node
    /// would deliver, but PUBLISH's count and PUBSUB's answers are one node's own; they go to
    /// the node the proxy's SUBSCRIBE connections use, so they count the proxy's clients.
    PubSubHome,
    /// Multi-key command split per slot and merged back.
    FanOut(FanOut),
    /// Sent to every master, replies merged.
    AllMasters(Merge),
    /// Answered by the proxy itself.
    Local,
    /// Needs one backend connection for the session (or a while).
    Pinned(Pin),
    /// Refused with an error: makes no sense, or is unsafe, through a proxy.
    #[default]
    Unsupported,
}

/// How a fanned-out multi-key command is split and merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOut {
    /// MGET: one key per part, replies in key order.
    Mget,
    /// MSET: key/value pairs per part, OK once every part is OK.
    Mset,
    /// DEL UNLINK EXISTS TOUCH: integer replies summed.
    SumInts,
    /// PUBSUB SHARDNUMSUB: channels split by slot (shard channels live on their slot's
    /// node), channel/count pairs in the client's channel order.
    ShardNumSub,
}

/// How the replies of an all-masters broadcast are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Arrays concatenated (KEYS, PUBSUB SHARDCHANNELS).
    Concat,
    /// Integers summed (DBSIZE).
    Sum,
    /// OK once every master said OK (FLUSHALL, FLUSHDB, SCRIPT FLUSH, FUNCTION FLUSH…).
    AllOk,
    /// A cursor walked master by master (SCAN).
    Scan,
    /// Any master's non-null answer (RANDOMKEY).
    Random,
    /// Every master must succeed; the first reply is returned (SCRIPT LOAD's sha).
    First,
    /// Arrays of 0/1 combined elementwise with AND (SCRIPT EXISTS).
    AndFlags,
}

/// Why a command needs a pinned backend connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// MULTI EXEC DISCARD WATCH UNWATCH: one slot's master for the transaction.
    Transaction,
    /// Blocking pops: the connection waits for data.
    Blocking,
    /// SUBSCRIBE & co.: the connection turns into a pub/sub stream.
    Subscribe,
    /// WAIT counts the replicas of the connection's own writes.
    Wait,
}

use Merge::*;
use Routing::{AllMasters, Keyless, Local, Pinned, PubSubHome, SingleSlot, Unsupported};

/// The explicit routing decisions, by full name or container name (see the module docs).
pub const OVERRIDES: &[(&str, Routing)] = &[
    // Answered locally.
    ("ping", Local),
    ("echo", Local),
    ("quit", Local),
    ("reset", Local),
    ("select", Local),
    ("hello", Local),
    ("auth", Local),
    ("command", Local),
    ("info", Local),
    ("time", Local),
    ("readonly", Local),
    ("readwrite", Local),
    ("client", Unsupported),
    ("client|setname", Local),
    ("client|getname", Local),
    ("client|id", Local),
    ("client|info", Local),
    ("client|list", Local),
    ("client|kill", Local),
    ("client|reply", Local),
    ("client|no-evict", Local),
    ("client|help", Local),
    ("cluster", Unsupported),
    ("cluster|keyslot", Local),
    ("config|get", Local),
    // Multi-key fan-out.
    ("mget", Routing::FanOut(FanOut::Mget)),
    ("mset", Routing::FanOut(FanOut::Mset)),
    ("del", Routing::FanOut(FanOut::SumInts)),
    ("unlink", Routing::FanOut(FanOut::SumInts)),
    ("exists", Routing::FanOut(FanOut::SumInts)),
    ("touch", Routing::FanOut(FanOut::SumInts)),
    // Every master.
    ("keys", AllMasters(Concat)),
    ("scan", AllMasters(Scan)),
    ("dbsize", AllMasters(Sum)),
    ("randomkey", AllMasters(Random)),
    ("flushall", AllMasters(AllOk)),
    ("flushdb", AllMasters(AllOk)),
    ("script|flush", AllMasters(AllOk)),
    ("script|load", AllMasters(First)),
    ("script|exists", AllMasters(AndFlags)),
    ("function|load", AllMasters(First)),
    ("function|delete", AllMasters(AllOk)),
    ("function|flush", AllMasters(AllOk)),
    ("function|restore", AllMasters(AllOk)),
    ("pubsub|shardchannels", AllMasters(Concat)),
    ("pubsub|shardnumsub", Routing::FanOut(FanOut::ShardNumSub)),
    // The node subscriptions use.
    ("publish", PubSubHome),
    ("pubsub|channels", PubSubHome),
    ("pubsub|numsub", PubSubHome),
    ("pubsub|numpat", PubSubHome),
    // Pinned sessions.
    ("multi", Pinned(Pin::Transaction)),
    ("exec", Pinned(Pin::Transaction)),
    ("discard", Pinned(Pin::Transaction)),
    ("watch", Pinned(Pin::Transaction)),
    ("unwatch", Pinned(Pin::Transaction)),
    ("subscribe", Pinned(Pin::Subscribe)),
    ("psubscribe", Pinned(Pin::Subscribe)),
    ("unsubscribe", Pinned(Pin::Subscribe)),
    ("punsubscribe", Pinned(Pin::Subscribe)),
    ("ssubscribe", Pinned(Pin::Subscribe)),
    ("sunsubscribe", Pinned(Pin::Subscribe)),
    ("wait", Pinned(Pin::Wait)),
    ("xread", SingleSlot),
    ("xreadgroup", SingleSlot),
    // Refused: keyed or read-only, but not for a proxy to forward.
    ("migrate", Unsupported),
    ("move", Unsupported),
    ("restore-asking", Unsupported),
    ("asking", Unsupported),
    ("role", Unsupported),
    ("script|kill", Unsupported),
    ("script|debug", Unsupported),
    ("function|kill", Unsupported),
];

/// The routing class of `spec` (see the module docs for the rules).
pub fn routing_for(spec: &CommandSpec) -> Routing {
    let container = spec.name.split('|').next().unwrap_or(&spec.name);
    let explicit = [spec.name.as_str(), container]
        .into_iter()
        .find_map(|name| OVERRIDES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r));
    explicit.unwrap_or_else(|| derived(spec))
}

fn derived(spec: &CommandSpec) -> Routing {
    let flags = spec.flags;
    if !spec.key_specs.is_empty() {
        if flags.contains(Flags::BLOCKING) {
            Pinned(Pin::Blocking)
        } else if flags.contains(Flags::ADMIN) {
            Unsupported
        } else {
            SingleSlot
        }
    } else if flags.intersects(Flags::ADMIN | Flags::WRITE) {
        Unsupported
    } else {
        Keyless
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::table;
    use super::*;

    fn routing(name: &str) -> Routing {
        table()
            .lookup(name.as_bytes())
            .map(|s| s.routing)
            .unwrap_or(Unsupported)
    }

    #[test]
    fn overrides_name_real_commands() {
        for (name, _) in OVERRIDES {
            assert!(
                table().lookup(name.as_bytes()).is_some(),
                "{name} is not a command"
            );
        }
    }

    #[test]
    fn classes_of_well_known_commands() {
        let cases = [
            ("get", SingleSlot),
            ("set", SingleSlot),
            ("msetnx", SingleSlot),
            ("eval", SingleSlot),
            ("spublish", SingleSlot),
            ("publish", PubSubHome),
            ("pubsub|numsub", PubSubHome),
            ("mget", Routing::FanOut(FanOut::Mget)),
            ("blpop", Pinned(Pin::Blocking)),
            ("bzmpop", Pinned(Pin::Blocking)),
            ("xread", SingleSlot),
            ("keys", AllMasters(Concat)),
            ("script|load", AllMasters(First)),
            ("client|setname", Local),
            ("client|kill", Local),
            ("client|pause", Unsupported),
            ("client|tracking", Unsupported),
            ("cluster|info", Unsupported),
            ("cluster|keyslot", Local),
            ("config|get", Local),
            ("config|set", Unsupported),
            ("swapdb", Unsupported),
            ("pfdebug", Unsupported),
            ("shutdown", Unsupported),
            ("command|docs", Local),
        ];
        for (name, want) in cases {
            assert_eq!(routing(name), want, "{name}");
        }
    }

    #[test]
    fn keyed_write_commands_are_never_keyless() {
        for spec in table()
            .iter()
            .flat_map(|c| std::iter::once(c).chain(&c.subcommands))
        {
            if spec.is_write() {
                assert_ne!(spec.routing, Keyless, "{}", spec.name);
            }
        }
    }
}
