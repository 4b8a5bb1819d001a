//! Every error a client can see from the proxy, and the one place where each becomes a RESP
//! error reply (`-<CODE> <text>\r\n`) — with Redis's exact text where Redis has one.

use bytes::{BufMut, Bytes, BytesMut};
use slotgate_protocol::ProtocolError;
use thiserror::Error;

use crate::backend::BackendError;

/// An error answered to a client instead of a backend reply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProxyError {
    /// Malformed input: reply, then close the connection.
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    /// A command-table error (unknown command, wrong arity), text as Redis words it.
    #[error("{0}")]
    Command(String),
    #[error("CROSSSLOT Keys in request don't hash to the same slot")]
    CrossSlot,
    #[error("CLUSTERDOWN Hash slot not served")]
    SlotNotServed,
    #[error("ERR unsupported command '{0}'")]
    Unsupported(String),
    /// The health checks mark the node serving the request down.
    #[error("CLUSTERDOWN The cluster is down (node {0} is not answering)")]
    NodeDown(String),
    #[error("ERR backend connection failed")]
    BackendDown,
    #[error("ERR backend connection lost; the command may or may not have run")]
    BackendLost,
    #[error("ERR request timed out")]
    Timeout,
    #[error("ERR too many cluster redirections")]
    TooManyRedirects,
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")]
    NoPasswordSet,
    #[error("ERR max number of clients reached")]
    MaxClients,
    #[error("ERR SELECT is not allowed in cluster mode")]
    Select,
    #[error("EXECABORT Transaction discarded because of previous errors.")]
    ExecAbort,
    #[error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")]
    HelloNoAuth,
    #[error("ERR Client names cannot contain spaces, newlines or special characters.")]
    BadClientName,
    #[error("NOPROTO unsupported protocol version")]
    NoProto,
    #[error("ERR {0}")]
    Other(String),
    /// An error with its own code (the text starts with it).
    #[error("{0}")]
    Raw(String),
}

impl From<BackendError> for ProxyError {
    fn from(err: BackendError) -> ProxyError {
        match err {
            BackendError::NotSent => ProxyError::BackendDown,
            BackendError::Lost => ProxyError::BackendLost,
        }
    }
}

impl ProxyError {
    /// Appends the error reply to `out`.
    pub fn write(&self, out: &mut BytesMut) {
        out.put_u8(b'-');
        out.put_slice(self.to_string().as_bytes());
        out.put_slice(b"\r\n");
    }

    /// The error reply as bytes.
    pub fn reply(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.write(&mut out);
        out.freeze()
    }
}
