//! Pub/sub. Cluster pub/sub is broadcast to every node, so a client's SUBSCRIBE and
//! PSUBSCRIBE go to one master over a connection of the client's own, and every frame that
//! connection receives (confirmations and messages alike) is forwarded raw. The connection
//! task remembers the channels and patterns; when its node dies or leaves, it reconnects to
//! a current master and subscribes again, swallowing the confirmations, so the client
//! notices nothing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::{encode_request, FrameScanner, ReplyDecoder};
use slotgate_protocol::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Session;
use crate::backend::{open, Proto};
use crate::cluster::Cluster;

/// The session's end of its pub/sub connection.
pub(super) struct PubSub {
    commands: mpsc::UnboundedSender<Vec<Bytes>>,
    frames: mpsc::UnboundedReceiver<Bytes>,
    task: JoinHandle<()>,
    /// Subscriptions, as the last confirmation counted them.
    count: i64,
}

impl Drop for PubSub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The next frame from the pub/sub connection; never ready without one.
pub(super) async fn next(pubsub: &mut Option<PubSub>) -> Option<Bytes> {
    match pubsub {
        Some(p) => p.frames.recv().await,
        None => std::future::pending().await,
    }
}

/// `(kind, count)` of a subscribe/unsubscribe confirmation.
fn confirmation(frame: &Bytes) -> Option<(Bytes, i64)> {
    let mut buf = BytesMut::from(&frame[..]);
    let (Frame::Array(items) | Frame::Push(items)) =
        ReplyDecoder::default().decode(&mut buf).ok()??
    else {
        return None;
    };
    let kind = items.first()?.as_bytes()?.to_ascii_lowercase();
    let Some(Frame::Integer(count)) = items.get(2) else {
        return None;
    };
    matches!(
        &kind[..],
        b"subscribe" | b"unsubscribe" | b"psubscribe" | b"punsubscribe"
    )
    .then(|| (Bytes::from(kind), *count))
}

impl Session {
    /// Whether this is a RESP2 client with subscriptions (which limits what it may send).
    pub(super) fn in_subscribed_mode(&self) -> bool {
        self.client.proto == Proto::Resp2 && self.pubsub.as_ref().is_some_and(|p| p.count > 0)
    }

    /// (P)SUBSCRIBE, (P)UNSUBSCRIBE, and PING while subscribed: to the pub/sub connection.
    pub(super) fn subscribe(&mut self, args: &[Bytes]) {
        let pubsub = self.pubsub.get_or_insert_with(|| {
            let (commands, rx) = mpsc::unbounded_channel();
            let (tx, frames) = mpsc::unbounded_channel();
            let task = tokio::spawn(run(self.proxy.cluster.clone(), self.client.proto, rx, tx));
            PubSub {
                commands,
                frames,
                task,
                count: 0,
            }
        });
        let _ = pubsub.commands.send(args.to_vec());
    }

    /// A frame from the pub/sub connection: counted, then written once earlier replies are.
    pub(super) fn on_push(&mut self, frame: Bytes) {
        if let (Some((_, count)), Some(pubsub)) = (confirmation(&frame), self.pubsub.as_mut()) {
            pubsub.count = count;
        }
        self.pushes.push_back(frame);
    }
}

/// Channels and patterns the client holds, to restore after a reconnect.
#[derive(Default)]
struct Subscriptions {
    channels: BTreeSet<Bytes>,
    patterns: BTreeSet<Bytes>,
}

impl Subscriptions {
    fn track(&mut self, args: &[Bytes]) {
        let Some((name, rest)) = args.split_first() else {
            return;
        };
        let (set, add) = match name.to_ascii_lowercase().as_slice() {
            b"subscribe" => (&mut self.channels, true),
            b"psubscribe" => (&mut self.patterns, true),
            b"unsubscribe" => (&mut self.channels, false),
            b"punsubscribe" => (&mut self.patterns, false),
            _ => return,
        };
        match (add, rest.is_empty()) {
            (true, _) => set.extend(rest.iter().cloned()),
            (false, true) => set.clear(),
            (false, false) => rest.iter().for_each(|c| {
                set.remove(c);
            }),
        }
    }

    /// The commands that restore every subscription, and how many confirmations they bring.
    fn restore(&self, out: &mut BytesMut) -> usize {
        for (command, set) in [
            ("SUBSCRIBE", &self.channels),
            ("PSUBSCRIBE", &self.patterns),
        ] {
            if !set.is_empty() {
                let args: Vec<&[u8]> = std::iter::once(command.as_bytes())
                    .chain(set.iter().map(|c| &c[..]))
                    .collect();
                encode_request(&args, out);
            }
        }
        self.channels.len() + self.patterns.len()
    }
}

/// The connection task: (re)connect to a master, restore subscriptions, relay.
async fn run(
    cluster: Arc<Cluster>,
    proto: Proto,
    mut commands: mpsc::UnboundedReceiver<Vec<Bytes>>,
    frames: mpsc::UnboundedSender<Bytes>,
) {
    let mut subs = Subscriptions::default();
    loop {
        let addr = cluster.routes().masters().first().map(|m| m.addr.clone());
        let stream = match addr {
            Some(addr) => open(&addr, proto, &cluster.pool().upstream().link())
                .await
                .ok(),
            None => None,
        };
        if let Some(stream) = stream {
            if !relay(stream, &mut subs, &mut commands, &frames).await {
                return;
            }
        }
        cluster.refresh_soon(None);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Relays until the connection breaks (`true`: reconnect) or the session is gone (`false`).
async fn relay(
    mut stream: TcpStream,
    subs: &mut Subscriptions,
    commands: &mut mpsc::UnboundedReceiver<Vec<Bytes>>,
    frames: &mpsc::UnboundedSender<Bytes>,
) -> bool {
    let mut out = BytesMut::new();
    let mut swallow = subs.restore(&mut out);
    if stream.write_all(&out).await.is_err() {
        return true;
    }
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut scanner = FrameScanner::default();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(args) = command else { return false };
                subs.track(&args);
                out.clear();
                encode_request(&args, &mut out);
                if stream.write_all(&out).await.is_err() {
                    return true;
                }
            }
            read = stream.read_buf(&mut buf) => {
                if !matches!(read, Ok(n) if n > 0) {
                    return true;
                }
                while let Ok(Some(len)) = scanner.scan(&buf) {
                    let frame = buf.split_to(len).freeze();
                    if swallow > 0 && confirmation(&frame).is_some() {
                        swallow -= 1;
                    } else if frames.send(frame).is_err() {
                        return false;
                    }
                }
            }
        }
    }
}
