//! ACL SETUSER rules (`on`, `>pass`, `~pat`, `+@cat`, …) applied to a [`User`], with the
//! error texts Redis 7.0 gives for a rule it refuses.

use bytes::Bytes;

use super::catalog::{catalog, category};
use super::user::{Commands, KeyPattern, User, READ, WRITE};

/// Why a rule was refused (Redis's errno cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    UnknownCommand,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    /// Redis's text for the error.
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Applies one rule to `user` (an empty rule does nothing).
pub fn apply(user: &mut User, rule: &[u8]) -> Result<(), RuleError> {
    if rule.is_empty() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(rule);
    match text.to_ascii_lowercase().as_str() {
        "on" => user.enabled = true,
        "off" => user.enabled = false,
        "nopass" => {
            user.nopass = true;
            user.passwords.clear();
        }
        "resetpass" => {
            user.nopass = false;
            user.passwords.clear();
        }
        "sanitize-payload" => user.sanitize = Some(true),
        "skip-sanitize-payload" => user.sanitize = Some(false),
        "allkeys" => all_keys(user),
        "resetkeys" => {
            user.all_keys = false;
            user.keys.clear();
        }
        "allchannels" => all_channels(user),
        "resetchannels" => {
            user.all_channels = false;
            user.channels.clear();
        }
        "allcommands" | "+@all" => user.commands = Commands::every(),
        "nocommands" | "-@all" => user.commands = Commands::none(),
        "reset" => {
            *user = User {
                sanitize: Some(true),
                ..User::default()
            }
        }
        _ => return apply_with_argument(user, rule),
    }
    Ok(())
}

/// Rules whose first byte says what follows: passwords, patterns, commands.
fn apply_with_argument(user: &mut User, rule: &[u8]) -> Result<(), RuleError> {
    let (&op, rest) = rule.split_first().ok_or(RuleError::Syntax)?;
    match op {
        b'>' => add_password(user, super::user::hash(rest)),
        b'#' => add_password(user, checked_hash(rest)?),
        b'<' => remove_password(user, &super::user::hash(rest))?,
        b'!' => remove_password(user, &checked_hash(rest)?)?,
        b'~' | b'%' => add_key_pattern(user, op, rest)?,
        b'&' => add_channel(user, rest)?,
        b'+' | b'-' => change_commands(&mut user.commands, op == b'+', rest)?,
        _ => return Err(RuleError::Syntax),
    }
    Ok(())
}

fn add_password(user: &mut User, digest: String) {
    if !user.passwords.contains(&digest) {
        user.passwords.push(digest);
    }
    user.nopass = false;
}

fn remove_password(user: &mut User, digest: &str) -> Result<(), RuleError> {
    let before = user.passwords.len();
    user.passwords.retain(|p| p != digest);
    if user.passwords.len() == before {
        return Err(RuleError::NoSuchPassword);
    }
    user.nopass = false;
    Ok(())
}

fn checked_hash(hex: &[u8]) -> Result<String, RuleError> {
    let ok = hex.len() == 64 && hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| String::from_utf8_lossy(hex).into_owned())
        .ok_or(RuleError::BadHash)
}

fn all_keys(user: &mut User) {
    user.all_keys = true;
    user.keys.clear();
}

fn all_channels(user: &mut User) {
    user.all_channels = true;
    user.channels.clear();
}

/// `~pattern` (read and write) or `%R~` / `%W~` / `%RW~pattern`.
fn add_key_pattern(user: &mut User, op: u8, rest: &[u8]) -> Result<(), RuleError> {
    if user.all_keys {
        return Err(RuleError::KeyAfterAll);
    }
    let (access, pattern) = if op == b'%' {
        access_prefix(rest)?
    } else {
        (READ | WRITE, rest)
    };
    if pattern == b"*" && access == READ | WRITE {
        all_keys(user);
        return Ok(());
    }
    if pattern.contains(&b' ') {
        return Err(RuleError::Syntax);
    }
    match user.keys.iter_mut().find(|k| k.pattern == pattern) {
        Some(existing) => existing.access |= access,
        None => user.keys.push(KeyPattern {
            access,
            pattern: Bytes::copy_from_slice(pattern),
        }),
    }
    Ok(())
}

/// The `R`/`W` letters before `~` (each at most once) and the pattern after it.
fn access_prefix(rest: &[u8]) -> Result<(u8, &[u8]), RuleError> {
    let mut access = 0;
    for (i, &b) in rest.iter().enumerate() {
        let bit = match b.to_ascii_uppercase() {
            b'R' => READ,
            b'W' => WRITE,
            b'~' if access != 0 => return Ok((access, &rest[i + 1..])),
            _ => return Err(RuleError::Syntax),
        };
        if access & bit != 0 {
            return Err(RuleError::Syntax);
        }
        access |= bit;
    }
    if access == 0 {
        return Err(RuleError::Syntax);
    }
    Ok((access, &[]))
}

fn add_channel(user: &mut User, pattern: &[u8]) -> Result<(), RuleError> {
    if user.all_channels {
        return Err(RuleError::ChannelAfterAll);
    }
    if pattern == b"*" {
        all_channels(user);
        return Ok(());
    }
    if pattern.contains(&b' ') {
        return Err(RuleError::Syntax);
    }
    if !user.channels.iter().any(|c| c == pattern) {
        user.channels.push(Bytes::copy_from_slice(pattern));
    }
    Ok(())
}

/// `+cmd`, `-cmd`, `+cmd|sub`, `+cmd|firstarg`, `+@category`, `-@category`.
fn change_commands(commands: &mut Commands, allow: bool, name: &[u8]) -> Result<(), RuleError> {
    let name = std::str::from_utf8(name).map_err(|_| RuleError::UnknownCommand)?;
    if let Some(cat) = name.strip_prefix('@') {
        let mask = category(cat).ok_or(RuleError::UnknownCommand)?;
        commands.change_category(mask, allow);
        return Ok(());
    }
    let c = catalog();
    match name.rsplit_once('|') {
        Some((base, sub)) if allow => {
            let id = c.find(base).ok_or(RuleError::UnknownCommand)?;
            let entry = &c.entries[id];
            if entry.is_sub {
                return Err(RuleError::FirstArgOfSubcommand);
            }
            if sub.is_empty() {
                return Err(RuleError::Syntax);
            }
            if entry.spec.is_container() {
                let id = c.find(name).ok_or(RuleError::UnknownCommand)?;
                commands.change(id, true);
            } else if !commands.get(id) {
                commands.allow_first_arg(id, Bytes::copy_from_slice(sub.as_bytes()));
            }
        }
        _ => {
            let id = c.find(name).ok_or(RuleError::UnknownCommand)?;
            commands.change(id, allow);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(rules: &[&str]) -> Result<User, RuleError> {
        let mut user = User::default();
        for rule in rules {
            apply(&mut user, rule.as_bytes())?;
        }
        Ok(user)
    }

    #[test]
    fn errors() {
        assert_eq!(applied(&["foo"]).err(), Some(RuleError::Syntax));
        assert_eq!(applied(&["%~x"]).err(), Some(RuleError::Syntax));
        assert_eq!(applied(&["%RR~x"]).err(), Some(RuleError::Syntax));
        assert_eq!(applied(&["+nosuch"]).err(), Some(RuleError::UnknownCommand));
        assert_eq!(applied(&["-get|x"]).err(), Some(RuleError::UnknownCommand));
        assert_eq!(
            applied(&["+config|get|x"]).err(),
            Some(RuleError::FirstArgOfSubcommand)
        );
        assert_eq!(applied(&["~*", "~a"]).err(), Some(RuleError::KeyAfterAll));
        assert_eq!(applied(&["#ABC"]).err(), Some(RuleError::BadHash));
        assert_eq!(applied(&["<x"]).err(), Some(RuleError::NoSuchPassword));
        assert!(applied(&[""]).is_ok());
    }

    #[test]
    fn key_patterns_merge_access() {
        let user = applied(&["%R", "%W~"]).unwrap();
        assert_eq!(user.keys.len(), 1);
        assert_eq!(user.keys[0].access, READ | WRITE);
    }
}
