//! Output buffer limits for a connection's replies (`client-output-buffer-limit`, the
//! `normal` class, or `pubsub` for a subscribed client). Redis keeps running a pipelining
//! client's requests while their replies pile up unsent and closes the client once the
//! pile passes the hard limit, or stays above the soft limit past the soft seconds. The
//! node writes each batch's replies before it reads more requests, so the pile is what a
//! batch leaves unsent once the socket is full: [`send`] writes what the socket takes
//! now, refuses the rest when it breaks the hard limit, and waits for the socket at most
//! the soft seconds while the rest is above the soft limit.

use std::io::ErrorKind;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::client::Client;
use crate::config::OutputLimit;

/// How a write ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    All,
    /// The socket failed.
    Broken,
    /// The unsent replies broke the limit: close the client.
    OverLimit,
}

/// Writes `out` to `stream` within `limit`.
pub async fn send(stream: &mut TcpStream, out: &[u8], limit: OutputLimit) -> Sent {
    if limit.is_unlimited() {
        return written(stream.write_all(out).await);
    }
    let mut sent = 0;
    while sent < out.len() {
        match stream.try_write(&out[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(_) => return Sent::Broken,
        }
    }
    let unsent = (out.len() - sent) as u64;
    if limit.hard > 0 && unsent > limit.hard {
        return Sent::OverLimit;
    }
    let rest = stream.write_all(&out[sent..]);
    if limit.soft > 0 && unsent > limit.soft {
        // Redis measures the grace in whole seconds from the first time it saw the excess.
        let grace = Duration::from_secs(limit.soft_seconds.max(1));
        return match tokio::time::timeout(grace, rest).await {
            Ok(result) => written(result),
            Err(_) => Sent::OverLimit,
        };
    }
    written(rest.await)
}

fn written(result: std::io::Result<()>) -> Sent {
    if result.is_ok() {
        Sent::All
    } else {
        Sent::Broken
    }
}

/// Redis's warning when it closes a client for its output buffer.
pub fn log_closed(client: &Client) {
    let addr = client.addr.map(|a| a.to_string()).unwrap_or_default();
    let laddr = client.laddr.map(|a| a.to_string()).unwrap_or_default();
    let name = client
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    tracing::warn!(
        "Client id={} addr={addr} laddr={laddr} name={name} db={} cmd={} scheduled to be closed ASAP for overcoming of output buffer limits.",
        client.id,
        client.db,
        client.last_command,
    );
}
