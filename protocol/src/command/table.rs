//! [`CommandTable`]: the Redis 7.0 command table, loaded once from `data/commands.json`
//! (generated from a real redis-server by `data/generate.py`), looked up without allocating.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use bytes::Bytes;

use super::routing::routing_for;
use super::spec::CommandSpec;

/// The table as generated from redis-server 7.0's `COMMAND` and `COMMAND DOCS`.
const COMMANDS_JSON: &str = include_str!("../../data/commands.json");

/// Longer names cannot be commands (the longest, `georadiusbymember_ro`, has 20 bytes).
const MAX_NAME_LEN: usize = 32;

/// Every top-level command, with an index by lowercase name.
#[derive(Debug)]
pub struct CommandTable {
    commands: Vec<CommandSpec>,
    by_name: HashMap<Box<[u8]>, usize, BuildHasherDefault<NameHasher>>,
}

/// FNV-1a: command names are short and come from a fixed table, so a keyed hash (std's
/// SipHash) only costs time on every request.
struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The process-wide table, parsed on first use.
pub fn table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The JSON is compiled in and checked by tests, so a failure here is a build bug.
        CommandTable::from_json(COMMANDS_JSON).expect("data/commands.json is a valid table")
    })
}

impl CommandTable {
    /// Parses a table in the `commands.json` format and derives every routing class.
    pub fn from_json(json: &str) -> Result<CommandTable, serde_json::Error> {
        let mut commands: Vec<CommandSpec> = serde_json::from_str(json)?;
        commands.iter_mut().for_each(assign_routing);
        let by_name = commands
            .iter()
            .enumerate()
            .map(|(i, spec)| (spec.name.as_bytes().into(), i))
            .collect();
        Ok(CommandTable { commands, by_name })
    }

    /// The top-level command called `name`, in any letter case.
    pub fn get(&self, name: &[u8]) -> Option<&CommandSpec> {
        self.position(name).map(|i| &self.commands[i])
    }

    /// Where the top-level command called `name` (any letter case) is in [`Self::iter`]'s
    /// order: a dense index, for per-command arrays.
    pub fn position(&self, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; MAX_NAME_LEN];
        let lower = buf.get_mut(..name.len())?;
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&*lower).copied()
    }

    /// The spec that handles `args`, as Redis's `lookupCommand` finds it: the command named
    /// by `args[0]`; for a container with a second argument, the subcommand that argument
    /// names (`None` if it names none — Redis's "unknown subcommand").
    pub fn resolve(&self, args: &[Bytes]) -> Option<&CommandSpec> {
        let base = self.get(args.first()?)?;
        match args.get(1) {
            Some(sub) if base.is_container() => base.subcommand(sub),
            _ => Some(base),
        }
    }

    /// A command by its full name, `get` or `config|get` (any case), as `COMMAND INFO` and
    /// `COMMAND DOCS` accept them.
    pub fn lookup(&self, full_name: &[u8]) -> Option<&CommandSpec> {
        let mut parts = full_name.split(|&b| b == b'|');
        let base = self.get(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(base),
            (Some(sub), None) => base.subcommand(sub),
            (Some(_), Some(_)) => None,
        }
    }

    /// Top-level commands in name order.
    pub fn iter(&self) -> impl Iterator<Item = &CommandSpec> {
        self.commands.iter()
    }

    /// Every command and subcommand, each container followed by its subcommands.
    pub fn iter_all(&self) -> impl Iterator<Item = &CommandSpec> {
        self.commands
            .iter()
            .flat_map(|c| std::iter::once(c).chain(&c.subcommands))
    }

    /// Number of top-level commands (`COMMAND COUNT`).
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether the table has no command at all.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

fn assign_routing(spec: &mut CommandSpec) {
    spec.routing = routing_for(spec);
    spec.subcommands.iter_mut().for_each(assign_routing);
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
    fn loads_every_redis_7_command() {
        assert_eq!(table().len(), 240);
        assert_eq!(table().iter_all().count(), 366);
    }

    #[test]
    fn get_is_case_insensitive() {
        assert_eq!(table().get(b"GeT").map(|s| s.arity), Some(2));
        assert!(table().get(b"nosuchcommand").is_none());
        assert!(table().get(&[b'x'; 100]).is_none());
        assert!(table().get(b"").is_none());
    }

    #[test]
    fn resolve_descends_into_subcommands() {
        let name = |parts: &[&str]| table().resolve(&args(parts)).map(|s| s.name.as_str());
        assert_eq!(name(&["CONFIG", "Get", "x"]), Some("config|get"));
        assert_eq!(name(&["config"]), Some("config"));
        assert_eq!(name(&["config", "nope"]), None);
        assert_eq!(name(&["get", "k"]), Some("get"));
        assert_eq!(name(&[]), None);
    }

    #[test]
    fn lookup_by_full_name() {
        assert_eq!(table().lookup(b"CLUSTER|Info").map(|s| s.arity), Some(2));
        assert!(table().lookup(b"get|x").is_none());
        assert!(table().lookup(b"cluster|info|x").is_none());
    }
}
