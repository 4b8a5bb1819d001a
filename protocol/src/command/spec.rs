//! [`CommandSpec`]: one command (or subcommand) of the table as Redis's `COMMAND` describes
//! it, and its [`KeySpec`]s — where the keys are in a request.

use serde::Deserialize;

use super::docs::Docs;
use super::flags::{Flags, KeyFlags};
use super::routing::Routing;

/// One command or subcommand: what `COMMAND INFO` reports, its docs, and how the proxy
/// routes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Lowercase, as Redis names it: `get`; subcommands `cluster|info`.
    pub name: String,
    /// Argument count including the name; negative means "at least -arity".
    pub arity: i32,
    pub flags: Flags,
    /// Legacy key positions (`COMMAND`'s first/last/step); key specs are the full story.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// ACL categories with their `@`, as `COMMAND` prints them.
    pub acl_categories: Vec<String>,
    /// Hints for clients and proxies, e.g. `request_policy:all_shards`.
    pub tips: Vec<String>,
    pub key_specs: Vec<KeySpec>,
    /// Subcommands in name order; empty unless this is a container (CLUSTER, CONFIG, …).
    pub subcommands: Vec<CommandSpec>,
    /// The `COMMAND DOCS` group: `string`, `server`, `cluster`, …
    pub group: String,
    pub docs: Docs,
    /// Filled in when the table loads, from the flags, key specs and override list.
    #[serde(skip)]
    pub routing: Routing,
}

impl CommandSpec {
    /// Whether this command only dispatches to subcommands (CONFIG, CLUSTER, …).
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// The subcommand named `name` (case-insensitive, without the `container|` prefix).
    pub fn subcommand(&self, name: &[u8]) -> Option<&CommandSpec> {
        self.subcommands
            .iter()
            .find(|sub| sub.short_name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The name without its container: `info` for `cluster|info`, `get` for `get`.
    pub fn short_name(&self) -> &str {
        self.name.rsplit('|').next().unwrap_or(&self.name)
    }

    /// Whether a request of `argc` arguments (name included) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = i64::from(self.arity);
        let argc = argc as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Whether the command may modify data (Redis's `write` flag).
    pub fn is_write(&self) -> bool {
        self.flags.contains(Flags::WRITE)
    }

    /// Whether any key spec names a real key (not only shard channels) — Redis's
    /// `doesCommandHaveKeys`.
    pub fn has_keys(&self) -> bool {
        self.key_specs
            .iter()
            .any(|k| !k.flags.contains(KeyFlags::NOT_KEY))
    }
}

/// Where one group of keys sits in a request: find the start, then the keys from there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Redis's free-text remark, when it has one.
    #[serde(default)]
    pub notes: Option<String>,
    pub flags: KeyFlags,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

/// How to find the first key of a [`KeySpec`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    tag = "type",
    content = "spec",
    rename_all = "lowercase",
    deny_unknown_fields
)]
pub enum BeginSearch {
    /// At a fixed argument index.
    Index { index: i32 },
    /// Just after `keyword`, searched from `startfrom` (forward if positive, backward from
    /// the end if negative).
    Keyword { keyword: String, startfrom: i32 },
    /// Only the command's own code knows (SORT's BY/GET/STORE).
    Unknown,
}

/// How to find the rest of a [`KeySpec`]'s keys once the first is known.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    tag = "type",
    content = "spec",
    rename_all = "lowercase",
    deny_unknown_fields
)]
pub enum FindKeys {
    /// Keys up to `lastkey` (relative to the first; negative counts from the end), every
    /// `keystep`; with `limit`, only 1/limit of the remaining arguments (XREAD STREAMS).
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` says how many keys follow, starting at `firstkey`
    /// (both relative to the first position): EVAL, ZUNIONSTORE, LMPOP, …
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    /// Only the command's own code knows.
    Unknown,
}
