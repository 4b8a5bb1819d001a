//! ACL users, as Redis 7.0 has them: [`Acl`] holds every user by name (the `default` user
//! follows `requirepass`), which user each connection is authenticated as, and the ACL LOG.
//!
//! Layout:
//! - `catalog`: the command table numbered for per-user bitmaps, and the categories.
//! - `user`: [`User`] — flags, passwords, commands, key and channel patterns.
//! - `rules`: ACL SETUSER rules applied to a user, with Redis's error texts.
//! - `describe`: ACL LIST / GETUSER rendering.
//! - `check`: may a user run a request (command, keys, channels)?
//! - `log`: the ACL LOG.

pub mod catalog;
pub mod check;
pub mod describe;
pub mod log;
pub mod rules;
pub mod user;

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::db::Map;
pub use user::User;

/// The name of the user every connection starts as.
pub const DEFAULT: &[u8] = b"default";

/// Who a client acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The server itself (AOF replay, the master's stream): never checked.
    Internal,
    /// The `default` user.
    Default,
    /// Another user, by name.
    Named(Bytes),
}

impl Identity {
    /// The user's name (`default` for internal clients too, as CLIENT LIST shows them).
    pub fn name(&self) -> &[u8] {
        match self {
            Identity::Named(name) => name,
            Identity::Internal | Identity::Default => DEFAULT,
        }
    }
}

/// Every user, the connections authenticated as a user other than `default`, the log.
pub struct Acl {
    users: BTreeMap<Bytes, User>,
    /// The `default` user may do anything: its clients skip every check.
    default_open: bool,
    /// Client id → user name, for clients not of the `default` user.
    sessions: Map<u64, Bytes>,
    pub log: log::Log,
}

impl Acl {
    /// The users at start-up: only `default`, following `requirepass`.
    pub fn new(requirepass: &str) -> Acl {
        let mut acl = Acl {
            users: BTreeMap::new(),
            default_open: true,
            sessions: Map::default(),
            log: log::Log::default(),
        };
        acl.put(Bytes::from_static(DEFAULT), User::default_for(requirepass));
        acl
    }

    pub fn get(&self, name: &[u8]) -> Option<&User> {
        self.users.get(name)
    }

    /// Every user in name order.
    pub fn users(&self) -> impl Iterator<Item = (&Bytes, &User)> {
        self.users.iter()
    }

    /// Creates or replaces a user.
    pub fn put(&mut self, name: Bytes, user: User) {
        if name.as_ref() == DEFAULT {
            self.default_open = user.unrestricted();
        }
        self.users.insert(name, user);
    }

    /// Deletes a user; the ids of the clients authenticated as it (to disconnect).
    pub fn remove(&mut self, name: &[u8]) -> Option<Vec<u64>> {
        self.users.remove(name)?;
        let ids: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, user)| user.as_ref() == name)
            .map(|(id, _)| *id)
            .collect();
        Some(ids)
    }

    /// CONFIG SET requirepass: the `default` user's only password, or `nopass`.
    pub fn set_default_password(&mut self, password: &str) {
        if let Some(user) = self.users.get_mut(DEFAULT) {
            user.set_password(password);
        }
    }

    /// Whether a new (or RESET) connection is authenticated already: `default` is on and
    /// has `nopass`.
    pub fn default_needs_no_auth(&self) -> bool {
        self.get(DEFAULT).is_some_and(|u| u.enabled && u.nopass)
    }

    /// Whether clients of `identity` must have their commands checked.
    #[inline]
    pub fn restricts(&self, identity: &Identity) -> bool {
        match identity {
            Identity::Internal => false,
            Identity::Default => !self.default_open,
            Identity::Named(_) => true,
        }
    }

    /// Records that client `id` now acts as `identity`.
    pub fn bind(&mut self, id: u64, identity: &Identity) {
        match identity {
            Identity::Named(name) => {
                self.sessions.insert(id, name.clone());
            }
            Identity::Internal | Identity::Default => {
                self.sessions.remove(&id);
            }
        }
    }

    /// The user client `id` acts as.
    pub fn user_of(&self, id: u64) -> &[u8] {
        self.sessions.get(&id).map_or(DEFAULT, |name| name)
    }
}
