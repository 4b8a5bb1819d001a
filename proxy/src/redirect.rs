//! Recognising the backend replies the proxy hides from clients — MOVED and ASK (follow
//! them), TRYAGAIN and CLUSTERDOWN (back off and retry) — with the protocol crate's
//! [`ClusterError::parse`]. Ordinary replies cost one byte comparison.

use slotgate_protocol::redirect::ClusterError;

/// Classifies a raw reply frame (`-MOVED 3999 host:port\r\n`); `None` for anything the
/// client should see, CROSSSLOT included (retrying cannot help it).
pub fn classify(reply: &[u8]) -> Option<ClusterError> {
    let text = reply.strip_prefix(b"-")?;
    let text = text.strip_suffix(b"\r\n").unwrap_or(text);
    ClusterError::parse(text).filter(|err| *err != ClusterError::CrossSlot)
}

#[cfg(test)]
mod tests {
    use slotgate_protocol::redirect::ClusterDownKind;
    use slotgate_protocol::topology::NodeAddr;
    use slotgate_protocol::Slot;

    use super::*;

    #[test]
    fn classifies_raw_replies() {
        let slot = Slot::new(3999).unwrap();
        let addr = NodeAddr::new("127.0.0.1", 6381);
        assert_eq!(
            classify(b"-MOVED 3999 127.0.0.1:6381\r\n"),
            Some(ClusterError::Moved {
                slot,
                addr: addr.clone()
            })
        );
        assert_eq!(
            classify(b"-ASK 3999 127.0.0.1:6381\r\n"),
            Some(ClusterError::Ask { slot, addr })
        );
        assert_eq!(
            classify(b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"),
            Some(ClusterError::TryAgain)
        );
        assert_eq!(
            classify(b"-CLUSTERDOWN The cluster is down\r\n"),
            Some(ClusterError::ClusterDown(ClusterDownKind::Down))
        );
        assert_eq!(classify(b"-CROSSSLOT Keys in request don't hash\r\n"), None);
        assert_eq!(classify(b"-ERR nope\r\n"), None);
        assert_eq!(classify(b"+OK\r\n"), None);
    }
}
