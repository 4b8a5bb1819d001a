//! [`User`]: one ACL user — on/off, passwords (SHA-256 hex), the commands it may run (a
//! bitmap over the [`catalog`](super::catalog) with Redis's first-arg exceptions), and its
//! key and channel patterns.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::catalog::catalog;

/// Read access to keys matching a pattern (`%R~`).
pub const READ: u8 = 1;
/// Write access (`%W~`).
pub const WRITE: u8 = 2;

/// A key pattern and the access it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub access: u8,
    pub pattern: Bytes,
}

/// The commands a user may run.
#[derive(Debug, Clone, Default)]
pub struct Commands {
    /// One bit per catalog id.
    pub bits: Vec<u64>,
    /// `+@all` without a later removal: everything, no per-command check.
    pub all: bool,
    /// `+@all` was the last reset: the description starts from `+@all`.
    pub future: bool,
    /// First arguments allowed for a command otherwise denied (`+select|0`), by id.
    pub first_args: Vec<(usize, Vec<Bytes>)>,
}

impl Commands {
    /// Nothing allowed (`-@all`).
    pub fn none() -> Commands {
        Commands {
            bits: vec![0; catalog().entries.len().div_ceil(64)],
            ..Commands::default()
        }
    }

    /// Everything allowed (`+@all`).
    pub fn every() -> Commands {
        Commands {
            bits: vec![u64::MAX; catalog().entries.len().div_ceil(64)],
            all: true,
            future: true,
            first_args: Vec::new(),
        }
    }

    pub fn get(&self, id: usize) -> bool {
        self.bits
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(word) = self.bits.get_mut(id / 64) {
            if on {
                *word |= 1 << (id % 64);
            } else {
                *word &= !(1 << (id % 64));
            }
        }
    }

    /// Redis's `ACLChangeSelectorPerm`: the command, its subcommands, no first args.
    pub fn change(&mut self, id: usize, on: bool) {
        self.set_bit(id, on);
        self.first_args.retain(|(i, _)| *i != id);
        if let Some(entry) = catalog().entries.get(id) {
            entry.subs.clone().for_each(|sub| self.set_bit(sub, on));
        }
        if !on {
            self.all = false;
        }
    }

    /// Every command (and subcommand) of the categories in `mask`.
    pub fn change_category(&mut self, mask: u32, on: bool) {
        for (id, entry) in catalog().entries.iter().enumerate() {
            if entry.categories & mask != 0 {
                self.change(id, on);
            }
        }
        if !on {
            self.all = false;
        }
    }

    /// Allows `arg` as the first argument of command `id`.
    pub fn allow_first_arg(&mut self, id: usize, arg: Bytes) {
        match self.first_args.iter_mut().find(|(i, _)| *i == id) {
            Some((_, args)) if !args.contains(&arg) => args.push(arg),
            Some(_) => {}
            None => self.first_args.push((id, vec![arg])),
        }
    }

    /// The first arguments allowed for command `id`.
    pub fn first_args_of(&self, id: usize) -> &[Bytes] {
        self.first_args
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(&[], |(_, args)| args)
    }
}

/// One user.
#[derive(Debug, Clone)]
pub struct User {
    pub enabled: bool,
    pub nopass: bool,
    /// `sanitize-payload` (true) or `skip-sanitize-payload` (false), when set.
    pub sanitize: Option<bool>,
    /// SHA-256 hex digests, in the order added.
    pub passwords: Vec<String>,
    pub commands: Commands,
    /// `allkeys` / `~*`.
    pub all_keys: bool,
    pub keys: Vec<KeyPattern>,
    /// `allchannels` / `&*`.
    pub all_channels: bool,
    pub channels: Vec<Bytes>,
}

impl Default for User {
    /// A new user as ACL SETUSER creates it: `off resetchannels -@all`.
    fn default() -> User {
        User {
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            commands: Commands::none(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
        }
    }
}

impl User {
    /// The `default` user for `requirepass`: `on nopass ~* &* +@all`, or with that password.
    pub fn default_for(requirepass: &str) -> User {
        let mut user = User {
            enabled: true,
            commands: Commands::every(),
            all_keys: true,
            all_channels: true,
            ..User::default()
        };
        user.set_password(requirepass);
        user
    }

    /// `resetpass` then `>password`, or `nopass` when empty (Redis's requirepass rule).
    pub fn set_password(&mut self, password: &str) {
        self.passwords.clear();
        self.nopass = password.is_empty();
        if !self.nopass {
            self.passwords.push(hash(password.as_bytes()));
        }
    }

    /// Whether `password` lets a client authenticate as this user.
    pub fn accepts(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let digest = hash(password);
        self.passwords
            .iter()
            .any(|p| same_secret(p.as_bytes(), digest.as_bytes()))
    }

    /// Whether the user may do anything: no check needed on its commands.
    pub fn unrestricted(&self) -> bool {
        self.commands.all && self.all_keys && self.all_channels
    }
}

/// The lowercase SHA-256 hex digest of `password`, as Redis stores passwords.
pub fn hash(password: &[u8]) -> String {
    Sha256::digest(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time comparison: the time taken does not depend on where bytes differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_sha256_hex() {
        assert_eq!(
            hash(b"password"),
            "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
        );
        let user = User::default_for("pw");
        assert!(user.accepts(b"pw") && !user.accepts(b"px"));
        assert!(User::default_for("").accepts(b"anything"));
        assert!(!User::default().accepts(b""));
    }

    #[test]
    fn secrets() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }

    #[test]
    fn containers_carry_their_subcommands() {
        let c = catalog();
        let mut commands = Commands::none();
        commands.change(c.find("config").unwrap(), true);
        assert!(commands.get(c.find("config|get").unwrap()));
        commands.change(c.find("config|get").unwrap(), false);
        assert!(!commands.get(c.find("config|get").unwrap()));
        assert!(commands.get(c.find("config|set").unwrap()));
    }
}
