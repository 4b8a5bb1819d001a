//! [`Flags`] and [`KeyFlags`]: the command flags and key-spec flags of Redis 7.0 as `u32`
//! bitsets, each with its Redis name, listed in the order Redis's `COMMAND` prints them.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Declares a bitset type over `u32` with named constants and a name table in Redis's order.
macro_rules! bitset {
    ($(#[$doc:meta])* $ty:ident { $($(#[$fdoc:meta])* $flag:ident = $name:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
        #[serde(try_from = "Vec<String>")]
        pub struct $ty(u32);

        impl $ty {
            bitset!(@consts 0u32; $($(#[$fdoc])* $flag,)+);

            /// Every flag with its Redis name, in the order Redis replies with them.
            pub const NAMES: &'static [($ty, &'static str)] = &[$(($ty::$flag, $name),)+];

            /// No flag set.
            pub const fn empty() -> Self {
                $ty(0)
            }

            /// The raw bits.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether every flag of `other` is set.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether any flag of `other` is set.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// The flag Redis calls `name` (exact spelling).
            pub fn from_name(name: &str) -> Option<Self> {
                Self::NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
            }

            /// The names of the set flags, in Redis's order.
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::NAMES.iter().filter(move |(f, _)| self.contains(*f)).map(|(_, n)| *n)
            }
        }

        impl BitOr for $ty {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                $ty(self.0 | rhs.0)
            }
        }

        impl BitOrAssign for $ty {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl TryFrom<Vec<String>> for $ty {
            type Error = String;
            fn try_from(names: Vec<String>) -> Result<Self, String> {
                names.iter().try_fold($ty::empty(), |acc, name| {
                    $ty::from_name(name)
                        .map(|f| acc | f)
                        .ok_or_else(|| format!("unknown {} `{name}`", stringify!($ty)))
                })
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.names()).finish()
            }
        }
    };
    (@consts $bit:expr; $(#[$fdoc:meta])* $flag:ident, $($rest:tt)*) => {
        $(#[$fdoc])*
        pub const $flag: Self = Self(1 << $bit);
        bitset!(@consts $bit + 1; $($rest)*);
    };
    (@consts $bit:expr;) => {};
}

bitset! {
    /// Command flags (`CMD_*` in Redis). `MAY_REPLICATE`, `SENTINEL`, `ONLY_SENTINEL` and
    /// `PROTECTED` exist in Redis but `COMMAND` hides them, so the generated table never
    /// sets them; they are here so code can name every Redis flag.
    Flags {
        WRITE = "write",
        READONLY = "readonly",
        DENYOOM = "denyoom",
        MODULE = "module",
        ADMIN = "admin",
        PUBSUB = "pubsub",
        NOSCRIPT = "noscript",
        BLOCKING = "blocking",
        LOADING = "loading",
        STALE = "stale",
        SKIP_MONITOR = "skip_monitor",
        SKIP_SLOWLOG = "skip_slowlog",
        ASKING = "asking",
        FAST = "fast",
        NO_AUTH = "no_auth",
        MAY_REPLICATE = "may_replicate",
        SENTINEL = "sentinel",
        ONLY_SENTINEL = "only_sentinel",
        NO_MANDATORY_KEYS = "no_mandatory_keys",
        PROTECTED = "protected",
        NO_ASYNC_LOADING = "no_async_loading",
        NO_MULTI = "no_multi",
        MOVABLEKEYS = "movablekeys",
        ALLOW_BUSY = "allow_busy",
    }
}

bitset! {
    /// Key-spec flags (`CMD_KEY_*` in Redis): how a command touches one of its keys.
    KeyFlags {
        /// Read-only access.
        RO = "RO",
        /// Read-write access.
        RW = "RW",
        /// Overwrite: the old value is not read.
        OW = "OW",
        /// Remove the key.
        RM = "RM",
        ACCESS = "access",
        UPDATE = "update",
        INSERT = "insert",
        DELETE = "delete",
        /// A shard channel, not a key (SPUBLISH, SSUBSCRIBE).
        NOT_KEY = "not_key",
        /// The spec may miss keys; Redis falls back to the command's own key finder.
        INCOMPLETE = "incomplete",
        /// The flags depend on the arguments (SET … GET, BITFIELD).
        VARIABLE_FLAGS = "variable_flags",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_redis_order_whatever_the_input_order() {
        let flags = Flags::try_from(vec!["fast".to_owned(), "readonly".to_owned()]);
        let names = flags.map(|f| f.names().collect::<Vec<_>>());
        assert_eq!(names, Ok(vec!["readonly", "fast"]));
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert!(KeyFlags::try_from(vec!["RO".to_owned(), "bogus".to_owned()]).is_err());
    }

    #[test]
    fn contains_and_intersects() {
        let f = KeyFlags::RW | KeyFlags::ACCESS;
        assert!(f.contains(KeyFlags::RW));
        assert!(!f.contains(KeyFlags::RW | KeyFlags::DELETE));
        assert!(f.intersects(KeyFlags::ACCESS | KeyFlags::DELETE));
    }
}
