//! Recognising the backend replies the proxy hides from clients: MOVED and ASK (follow
//! them), TRYAGAIN and CLUSTERDOWN (back off and retry). Looks only at the first bytes of a
//! raw reply, so ordinary replies cost one byte comparison.

/// A reply that asks the proxy to act instead of forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect<'a> {
    /// `-MOVED <slot> <host>:<port>`: the slot lives elsewhere now.
    Moved(&'a str),
    /// `-ASK <slot> <host>:<port>`: this once, ask there (with ASKING).
    Ask(&'a str),
    /// `-TRYAGAIN …`, `-CLUSTERDOWN …`: retry after a short wait.
    Retry,
}

/// Classifies a raw reply; `None` for anything the client should see.
pub fn classify(reply: &[u8]) -> Option<Redirect<'_>> {
    let text = reply.strip_prefix(b"-")?;
    if text.starts_with(b"TRYAGAIN") || text.starts_with(b"CLUSTERDOWN") {
        return Some(Redirect::Retry);
    }
    let (moved, rest) = if let Some(rest) = text.strip_prefix(b"MOVED ") {
        (true, rest)
    } else {
        (false, text.strip_prefix(b"ASK ")?)
    };
    let line = std::str::from_utf8(rest).ok()?.trim_end();
    let addr = line.split(' ').nth(1)?;
    Some(if moved {
        Redirect::Moved(addr)
    } else {
        Redirect::Ask(addr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(
            classify(b"-MOVED 3999 127.0.0.1:6381\r\n"),
            Some(Redirect::Moved("127.0.0.1:6381"))
        );
        assert_eq!(
            classify(b"-ASK 3999 127.0.0.1:6381\r\n"),
            Some(Redirect::Ask("127.0.0.1:6381"))
        );
        assert_eq!(
            classify(b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"),
            Some(Redirect::Retry)
        );
        assert_eq!(
            classify(b"-CLUSTERDOWN The cluster is down\r\n"),
            Some(Redirect::Retry)
        );
        assert_eq!(classify(b"-ERR nope\r\n"), None);
        assert_eq!(classify(b"+OK\r\n"), None);
    }
}
