//! The cluster bus: a listener on the bus port (port + 10000, or `cluster-port`) whose
//! inbound connections receive messages and answer PING/MEET with PONG, and one outbound
//! link per known node that carries myself's messages and brings back the PONGs. A link
//! that fails to connect is retried with a growing delay; a malformed packet closes the
//! connection it came on and is counted.
//!
//! Layout: `message` (the wire format), `send` (building and queueing messages).

pub mod message;
pub mod send;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use slotgate_protocol::topology::NodeId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::gossip::{self, Origin};
use super::state::{Cluster, Link};
use crate::state::{now_ms, Shared};

/// Reconnect delays after failed connects grow up to this.
const MAX_RECONNECT_DELAY_MS: i64 = 1000;

/// Binds the bus port on every `bind` address.
pub async fn bind(bind: &str, cport: u16) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for host in bind.split_whitespace() {
        let optional = host.starts_with('-');
        let host = match host.trim_start_matches('-') {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let addr = if host.contains(':') {
            format!("[{host}]:{cport}")
        } else {
            format!("{host}:{cport}")
        };
        match TcpListener::bind(&addr).await {
            Ok(listener) => listeners.push(listener),
            Err(e) if optional => tracing::debug!("skipping cluster bus {addr}: {e}"),
            Err(e) => anyhow::bail!("Could not bind the cluster bus port {addr}: {e}"),
        }
    }
    Ok(listeners)
}

/// Accepts bus connections until the process ends.
pub async fn accept(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(inbound(shared.clone(), stream, peer));
            }
            Err(e) => {
                tracing::warn!("Accepting cluster bus connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Hands one decoded message to the cluster state.
fn receive(shared: &Shared, message: message::Message, origin: &Origin) -> Option<Bytes> {
    let mut state = shared.state.lock();
    let reply = gossip::process(&mut state, message, origin);
    super::after_change(&mut state);
    reply
}

fn count_dropped(shared: &Shared, error: message::Malformed, from: &str) {
    tracing::debug!("dropping cluster bus packet from {from}: {error}");
    if let Some(cluster) = shared.state.lock().cluster.as_deref_mut() {
        cluster.stats.dropped += 1;
    }
}

/// Decodes every complete message in `buf` and hands it on; false when the stream is
/// corrupt (the connection must close).
async fn drain(
    shared: &Shared,
    buf: &mut BytesMut,
    origin: &Origin,
    reply_to: Option<&mut tokio::net::tcp::OwnedWriteHalf>,
) -> bool {
    let mut replies = BytesMut::new();
    let ok = loop {
        match message::decode(buf) {
            Ok(Some(message)) => {
                if let Some(reply) = receive(shared, message, origin) {
                    replies.extend_from_slice(&reply);
                }
            }
            Ok(None) => break true,
            Err(e) => {
                count_dropped(shared, e, &origin.describe());
                break false;
            }
        }
    };
    match reply_to {
        Some(writer) if !replies.is_empty() => ok && writer.write_all(&replies).await.is_ok(),
        _ => ok,
    }
}

/// One connection a peer opened to us.
async fn inbound(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let local = stream
        .local_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let origin = Origin::Inbound {
        peer_ip: peer.ip().to_string(),
        local_ip: local,
    };
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    while matches!(reader.read_buf(&mut buf).await, Ok(n) if n > 0) {
        if !drain(&shared, &mut buf, &origin, Some(&mut writer)).await {
            return;
        }
    }
}

/// Opens (in the background) the outbound link to `id`.
pub fn connect(
    shared: &Arc<Shared>,
    cluster: &mut Cluster,
    id: &NodeId,
    now: i64,
    timeout_ms: i64,
) {
    let link_id = cluster.next_link_id;
    cluster.next_link_id += 1;
    let Some(node) = cluster.nodes.get_mut(id) else {
        return;
    };
    let (tx, rx) = mpsc::unbounded_channel();
    node.link = Some(Link {
        id: link_id,
        tx,
        created: now,
        connected: false,
    });
    let addr = format!("{}:{}", node.ip, node.cport);
    let timeout = Duration::from_millis(timeout_ms.max(100) as u64);
    tokio::spawn(outbound(shared.clone(), link_id, addr, rx, timeout));
}

async fn outbound(
    shared: Arc<Shared>,
    link_id: u64,
    addr: String,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
    timeout: Duration,
) {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Ok(Ok(stream)) => stream,
        _ => return closed(&shared, link_id, false),
    };
    let _ = stream.set_nodelay(true);
    gossip::link_up(&mut shared.state.lock(), link_id);
    let (mut reader, mut writer) = stream.into_split();
    let origin = Origin::Outbound(link_id);
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(bytes) => if writer.write_all(&bytes).await.is_err() { break },
                None => return,
            },
            read = reader.read_buf(&mut buf) => {
                if !matches!(read, Ok(n) if n > 0) || !drain(&shared, &mut buf, &origin, None).await {
                    break;
                }
            }
        }
    }
    closed(&shared, link_id, true);
}

/// A link ended: forget it, and back off before the next connect if it never came up
/// (a connect that failed counts as a ping without answer).
fn closed(shared: &Shared, link_id: u64, was_up: bool) {
    let mut state = shared.state.lock();
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let now = now_ms();
    let Some(node) = cluster.node_by_link(link_id) else {
        return;
    };
    node.link = None;
    if !was_up && node.ping_sent == 0 {
        // Failure detection needs a pending ping: count one as sent now (it will be once
        // a connect succeeds), as Redis does.
        node.ping_sent = now;
    }
    node.reconnect_delay = if was_up {
        0
    } else {
        (node.reconnect_delay * 2).clamp(100, MAX_RECONNECT_DELAY_MS)
    };
    node.reconnect_at = now + node.reconnect_delay;
}
