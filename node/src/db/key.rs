//! [`Key`]: a stored key, kept inside its table node when short (nearly all are), so a lookup
//! compares it without following one more pointer — and a short key costs no allocation of
//! its own.

use std::ops::Deref;

/// Keys up to this long live inline (the enum stays 24 bytes).
const INLINE: usize = 22;

/// A key's bytes, inline or boxed.
#[derive(Debug)]
pub enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Boxed(Box<[u8]>),
}

impl From<&[u8]> for Key {
    fn from(key: &[u8]) -> Key {
        if key.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Boxed(key.into())
        }
    }
}

impl Deref for Key {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Boxed(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_inline_long_keys_boxed() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        for len in [0, 1, INLINE, INLINE + 1, 100] {
            let bytes = vec![b'k'; len];
            let key = Key::from(&bytes[..]);
            assert_eq!(&*key, &bytes[..]);
            assert_eq!(matches!(key, Key::Inline { .. }), len <= INLINE);
        }
    }
}
