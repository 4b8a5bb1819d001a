//! Size limits the decoders enforce so that no peer can make us reserve memory it has not
//! sent, or recurse without bound.

/// Bounds on what a decoder accepts. Defaults are Redis's (`proto-max-bulk-len 512mb`,
/// a 64 KiB inline line, multibulk counts up to `i32::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string accepted, in bytes.
    pub max_bulk_len: usize,
    /// Largest element count of one multibulk request or aggregate reply.
    pub max_multibulk_len: usize,
    /// Deepest nesting of aggregate replies.
    pub max_depth: usize,
    /// Longest inline command line (and longest header line), in bytes.
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            max_depth: 128,
            max_inline_len: 64 * 1024,
        }
    }
}

/// Arguments or elements reserved up front at most, whatever count a header declares.
pub(crate) const MAX_PREALLOC: usize = 1024;
