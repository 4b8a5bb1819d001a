//! May a user run a request? Redis 7.0's `ACLSelectorCheckCmd`: the command bit (or an
//! allowed first argument), then every key against the patterns granting the access the
//! key spec needs, then the channels of PUBLISH / SUBSCRIBE-like commands.

use bytes::Bytes;
use slotgate_protocol::command::{key_refs, CommandSpec, Flags, KeyFlags};

use super::catalog::catalog;
use super::user::{User, READ, WRITE};

/// Why a request is refused; the position is the offending argument's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denial {
    /// The NOPERM text (without `NOPERM `).
    pub fn text(self, command: &str) -> String {
        match self {
            Denial::Command => {
                format!("this user has no permissions to run the '{command}' command")
            }
            Denial::Key(_) => {
                "this user has no permissions to access one of the keys used as arguments".into()
            }
            Denial::Channel(_) => {
                "this user has no permissions to access one of the channels used as arguments"
                    .into()
            }
        }
    }

    /// ACL DRYRUN's text, naming the key or channel.
    pub fn verbose(self, command: &str, args: &[Bytes]) -> String {
        let arg = |pos: usize| String::from_utf8_lossy(args.get(pos).map_or(&b""[..], |a| a));
        match self {
            Denial::Command => {
                format!("This user has no permissions to run the '{command}' command")
            }
            Denial::Key(pos) => {
                format!(
                    "This user has no permissions to access the '{}' key",
                    arg(pos)
                )
            }
            Denial::Channel(pos) => {
                format!(
                    "This user has no permissions to access the '{}' channel",
                    arg(pos)
                )
            }
        }
    }

    /// ACL LOG's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Denial::Command => "command",
            Denial::Key(_) => "key",
            Denial::Channel(_) => "channel",
        }
    }
}

/// Checks `args` (resolved to catalog id `id`) for `user`.
pub fn check(user: &User, id: usize, args: &[Bytes]) -> Result<(), Denial> {
    let Some(entry) = catalog().entries.get(id) else {
        return Err(Denial::Command);
    };
    let spec = entry.spec;
    if !user.commands.all && !spec.flags.contains(Flags::NO_AUTH) && !user.commands.get(id) {
        let first = args.get(1);
        let allowed = user.commands.first_args_of(id);
        if !first.is_some_and(|f| allowed.iter().any(|a| a.eq_ignore_ascii_case(f))) {
            return Err(Denial::Command);
        }
    }
    if !user.all_keys && spec.has_keys() {
        check_keys(user, spec, args)?;
    }
    if !user.all_channels {
        check_channels(user, spec, args)?;
    }
    Ok(())
}

fn check_keys(user: &User, spec: &CommandSpec, args: &[Bytes]) -> Result<(), Denial> {
    for key in key_refs(spec, args) {
        let mut needed = 0;
        if key.flags.contains(KeyFlags::ACCESS) {
            needed |= READ;
        }
        if key
            .flags
            .intersects(KeyFlags::INSERT | KeyFlags::DELETE | KeyFlags::UPDATE)
        {
            needed |= WRITE;
        }
        let name = args.get(key.pos).map_or(&b""[..], |a| a);
        let granted = user
            .keys
            .iter()
            .any(|p| p.access & needed == needed && crate::glob::matches(&p.pattern, name, false));
        if !granted {
            return Err(Denial::Key(key.pos));
        }
    }
    Ok(())
}

/// Where the channels a request publishes or subscribes to are: (first position, whether
/// they are patterns (matched literally), whether there is only one).
fn channel_args(spec: &CommandSpec) -> Option<(usize, bool, bool)> {
    match spec.name.as_str() {
        "publish" | "spublish" => Some((1, false, true)),
        "subscribe" | "ssubscribe" => Some((1, false, false)),
        "psubscribe" => Some((1, true, false)),
        _ => None,
    }
}

fn check_channels(user: &User, spec: &CommandSpec, args: &[Bytes]) -> Result<(), Denial> {
    let Some((first, is_pattern, single)) = channel_args(spec) else {
        return Ok(());
    };
    let last = if single { first + 1 } else { args.len() };
    for (pos, channel) in args.iter().enumerate().take(last).skip(first) {
        let granted = user.channels.iter().any(|p| {
            if is_pattern {
                p == channel
            } else {
                crate::glob::matches(p, channel, false)
            }
        });
        if !granted {
            return Err(Denial::Channel(pos));
        }
    }
    Ok(())
}
