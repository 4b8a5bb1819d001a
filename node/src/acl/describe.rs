//! A [`User`] as Redis 7.0 prints it: the ACL LIST line and the ACL GETUSER fields. The
//! command rules are rebuilt from the bitmap as Redis does: start from `+@all` or `-@all`,
//! add (or remove) each category that covers more commands than it misses, then list the
//! single commands that still differ.

use super::catalog::{catalog, CATEGORIES};
use super::user::{Commands, User, READ, WRITE};

/// The flags GETUSER lists, in Redis's order.
pub fn flags(user: &User) -> Vec<&'static str> {
    let mut flags = vec![if user.enabled { "on" } else { "off" }];
    if user.nopass {
        flags.push("nopass");
    }
    match user.sanitize {
        Some(false) => flags.push("skip-sanitize-payload"),
        Some(true) => flags.push("sanitize-payload"),
        None => {}
    }
    flags
}

/// The key patterns: `~*`, or each as `~pat`, `%R~pat`, `%W~pat`.
pub fn keys(user: &User) -> String {
    if user.all_keys {
        return "~*".to_owned();
    }
    let pattern = |k: &super::user::KeyPattern| {
        let prefix = match k.access {
            READ => "%R~",
            WRITE => "%W~",
            _ => "~",
        };
        format!("{prefix}{}", String::from_utf8_lossy(&k.pattern))
    };
    user.keys.iter().map(pattern).collect::<Vec<_>>().join(" ")
}

/// The channel patterns: `&*`, or each as `&pat`.
pub fn channels(user: &User) -> String {
    if user.all_channels {
        return "&*".to_owned();
    }
    let channel = |c: &bytes::Bytes| format!("&{}", String::from_utf8_lossy(c));
    user.channels
        .iter()
        .map(channel)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ACL LIST line: `user <name> <flags> <#hashes> <keys> <channels> <commands>`.
pub fn line(name: &str, user: &User) -> String {
    let mut parts = vec!["user".to_owned(), name.to_owned()];
    parts.extend(flags(user).into_iter().map(str::to_owned));
    parts.extend(user.passwords.iter().map(|p| format!("#{p}")));
    let keys = keys(user);
    if !keys.is_empty() {
        parts.push(keys);
    }
    if !user.all_channels {
        parts.push("resetchannels".to_owned());
    }
    let channels = channels(user);
    if !channels.is_empty() {
        parts.push(channels);
    }
    parts.push(commands(&user.commands));
    parts.join(" ")
}

/// The command rules, as Redis's `ACLDescribeSelectorCommandRules` derives them.
pub fn commands(user: &Commands) -> String {
    let additive = !user.future;
    let mut rules = vec![if additive { "-@all" } else { "+@all" }.to_owned()];
    let mut fake = if additive {
        Commands::none()
    } else {
        Commands::every()
    };
    let entries = &catalog().entries;
    for (i, name) in CATEGORIES.iter().enumerate() {
        let mask = 1 << i;
        let (mut on, mut off) = (0usize, 0usize);
        for (id, entry) in entries.iter().enumerate() {
            if entry.categories & mask != 0 {
                if user.get(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        if (additive && on > off) || (!additive && off > on) {
            rules.push(format!("{}@{name}", if additive { '+' } else { '-' }));
            fake.change_category(mask, additive);
        }
    }
    for (id, entry) in entries.iter().enumerate() {
        let bit = user.get(id);
        if bit != fake.get(id) {
            rules.push(format!(
                "{}{}",
                if bit { '+' } else { '-' },
                entry.spec.name
            ));
            fake.change(id, bit);
        }
        if !bit {
            for arg in user.first_args_of(id) {
                let arg = String::from_utf8_lossy(arg);
                rules.push(format!("+{}|{arg}", entry.spec.name));
            }
        }
    }
    rules.join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::rules::apply;
    use super::*;

    fn described(rules: &[&str]) -> String {
        let mut user = User::default();
        for rule in rules {
            apply(&mut user, rule.as_bytes()).unwrap();
        }
        line("u", &user)
    }

    #[test]
    fn like_redis() {
        assert_eq!(
            line("default", &User::default_for("")),
            "user default on nopass ~* &* +@all"
        );
        assert_eq!(described(&[]), "user u off resetchannels -@all");
        assert_eq!(
            described(&[
                "+get",
                "+@hash",
                "-hget",
                "%R~bar",
                "%W~baz",
                "~q",
                "allchannels"
            ]),
            "user u off %R~bar %W~baz ~q &* -@all +@hash +get -hget"
        );
        assert_eq!(
            described(&["+acl", "-acl|whoami", "&a", "+select|0"]),
            "user u off resetchannels &a -@all +acl -acl|whoami +select|0"
        );
        assert_eq!(
            described(&["+@all", "-get", "reset", "nopass"]),
            "user u off nopass sanitize-payload resetchannels -@all"
        );
    }
}
