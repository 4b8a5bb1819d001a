//! The Redis 7.0 command table: every command and subcommand with its arity, flags, key
//! specs, docs and the routing class the proxy uses, plus a [`Command`] view over a parsed
//! request and the `COMMAND` replies. The facts come from a real redis-server, kept in
//! `data/commands.json` (regenerate with `data/generate.py`; the integration test
//! `tests/command_table_vs_redis.rs` checks the file against a running server).
//!
//! Layout:
//! - `flags`: [`Flags`] and [`KeyFlags`], `u32` bitsets with Redis's names and order.
//! - `spec`: [`CommandSpec`], [`KeySpec`], [`BeginSearch`], [`FindKeys`].
//! - `docs`: [`Docs`] and [`Arg`], what `COMMAND DOCS` says.
//! - `table`: [`table()`] and [`CommandTable`] — allocation-free lookup by name.
//! - `keys`: [`key_indices`] / [`key_refs`] — a request's keys, as `COMMAND GETKEYS` finds
//!   them; `native_keys` emulates the commands whose own key finder Redis prefers.
//! - `routing`: [`Routing`] and its parts, derived from flags, key specs and one override
//!   list.
//! - `view`: [`Command`] — name, keys, slot or [`CrossSlot`], and [`CommandError`] with
//!   Redis's texts.
//! - `reply`, `info_frame`, `docs_frame`, `glob`: [`command_reply`], the `COMMAND` replies.

mod docs;
mod docs_frame;
mod flags;
mod glob;
mod info_frame;
mod keys;
mod native_keys;
mod reply;
mod routing;
mod spec;
mod table;
mod view;

pub use docs::{Arg, Docs};
pub use flags::{Flags, KeyFlags};
pub use keys::{key_indices, key_refs, routing_indices, KeyRef};
pub use reply::{command_reply, RespVersion};
pub use routing::{routing_for, FanOut, Merge, Pin, Routing, OVERRIDES};
pub use spec::{BeginSearch, CommandSpec, FindKeys, KeySpec};
pub use table::{table, CommandTable};
pub use view::{Command, CommandError, CrossSlot};
