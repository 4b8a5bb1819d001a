//! [`Catalog`]: every command and subcommand of the Redis 7.0 table numbered densely (a
//! container followed by its subcommands), with its ACL categories as a bitmask, so a
//! user's allowed commands are a bitmap over these ids.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use bytes::Bytes;
use slotgate_protocol::command::{table, CommandSpec};

/// Redis 7.0's ACL categories, in the order `ACL CAT` lists them (bit `i` is `CATEGORIES[i]`).
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of category `name` (any case; `None` for an unknown one).
pub fn category(name: &str) -> Option<u32> {
    let i = CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))?;
    Some(1 << i)
}

/// One command or subcommand.
pub struct Entry {
    pub spec: &'static CommandSpec,
    /// The bits of its categories.
    pub categories: u32,
    /// The ids of its subcommands (empty unless a container).
    pub subs: Range<usize>,
    /// Whether it is a subcommand.
    pub is_sub: bool,
}

/// The numbered command table.
pub struct Catalog {
    pub entries: Vec<Entry>,
    by_name: HashMap<&'static str, usize>,
}

/// The process-wide catalog, built on first use.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(build)
}

fn build() -> Catalog {
    let mut entries = Vec::new();
    for spec in table().iter() {
        let first = entries.len() + 1;
        entries.push(entry(spec, first..first + spec.subcommands.len(), false));
        for sub in &spec.subcommands {
            entries.push(entry(sub, 0..0, true));
        }
    }
    let by_name = entries
        .iter()
        .enumerate()
        .map(|(id, e)| (e.spec.name.as_str(), id))
        .collect();
    Catalog { entries, by_name }
}

fn entry(spec: &'static CommandSpec, subs: Range<usize>, is_sub: bool) -> Entry {
    let categories = spec
        .acl_categories
        .iter()
        .filter_map(|c| category(c.trim_start_matches('@')))
        .fold(0, |acc, bit| acc | bit);
    Entry {
        spec,
        categories,
        subs,
        is_sub,
    }
}

impl Catalog {
    /// The id of `name`: `get` or `config|get`, any case.
    pub fn find(&self, name: &str) -> Option<usize> {
        let spec = table().lookup(name.as_bytes())?;
        self.by_name.get(spec.name.as_str()).copied()
    }

    /// The id of the (sub)command a request runs, as Redis's `lookupCommand` finds it.
    pub fn resolve(&self, args: &[Bytes]) -> Option<usize> {
        let spec = table().resolve(args)?;
        self.by_name.get(spec.name.as_str()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cover_subcommands() {
        let c = catalog();
        let config = c.find("CONFIG").unwrap();
        let get = c.find("config|get").unwrap();
        assert!(c.entries[config].subs.contains(&get));
        assert!(c.entries[get].is_sub);
        assert_eq!(c.find("config|get|x"), None);
        assert_ne!(
            c.entries[c.find("get").unwrap()].categories & category("READ").unwrap(),
            0
        );
    }
}
