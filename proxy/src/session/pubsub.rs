//! Pub/sub. Each subscription connection is the client's own and every frame it receives
//! (confirmations and messages alike) is forwarded raw, except as noted below.
//!
//! - SUBSCRIBE and PSUBSCRIBE: cluster pub/sub is broadcast to every node, so they go to
//!   one master over one connection: `Routes::pubsub_home`, where PUBLISH and PUBSUB go too,
//!   so PUBLISH's count and PUBSUB's answers include this proxy's subscribers.
//! - SSUBSCRIBE and SUNSUBSCRIBE: shard channels live on the master owning the channel's
//!   slot, so the session keeps one connection per slot it subscribed in, to that slot's
//!   current owner. Their confirmations count the client's shard channels across all those
//!   connections (the session rewrites the count, as one Redis connection would show it).
//!
//! Each connection task remembers its channels and patterns. When its node dies, or (shard
//! connections) the node answers MOVED, drops the channels because their slot moved away
//! (an unrequested `sunsubscribe`, as Redis sends), or the slot map names another owner
//! (checked every [`OWNER_CHECK`]), it reconnects to the current owner and subscribes again,
//! swallowing the confirmations the client already had, so the client notices nothing.

use std::collections::BTreeSet;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::{encode_request, FrameScanner, ReplyDecoder};
use slotgate_protocol::{key_slot, Frame, Slot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Session;

/// How often a shard connection compares its node with the slot's owner in the slot map.
const OWNER_CHECK: Duration = Duration::from_millis(250);
use crate::backend::{open, Proto};
use crate::cluster::Cluster;
use crate::merge::{for_client, to_bytes};

/// Which node a subscription connection follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Any master (broadcast pub/sub).
    Broadcast,
    /// The master owning this slot (shard channels).
    Shard(Slot),
}

/// The session's end of one subscription connection.
struct Link {
    target: Target,
    commands: mpsc::UnboundedSender<Vec<Bytes>>,
    frames: mpsc::UnboundedReceiver<Bytes>,
    task: JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The session's subscription connections and what its client holds.
#[derive(Default)]
pub(super) struct PubSub {
    links: Vec<Link>,
    /// Channels + patterns, as the last broadcast confirmation counted them.
    count: i64,
    /// Shard channels confirmed to the client.
    shard: BTreeSet<Bytes>,
}

impl PubSub {
    /// The next frame from any subscription connection; never ready without one.
    pub(super) async fn next(&mut self) -> Bytes {
        poll_fn(|cx| {
            for link in &mut self.links {
                if let Poll::Ready(Some(frame)) = link.frames.poll_recv(cx) {
                    return Poll::Ready(frame);
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// A subscribe/unsubscribe confirmation: its kind (lowercase), channel and count.
struct Confirmation {
    kind: Bytes,
    channel: Option<Bytes>,
    count: i64,
    push: bool,
}

fn confirmation(frame: &Bytes) -> Option<Confirmation> {
    if !matches!(frame.first(), Some(b'*' | b'>')) {
        return None;
    }
    let mut buf = BytesMut::from(&frame[..]);
    let decoded = ReplyDecoder::default().decode(&mut buf).ok()??;
    let push = matches!(decoded, Frame::Push(_));
    let (Frame::Array(items) | Frame::Push(items)) = decoded else {
        return None;
    };
    let kind = items.first()?.as_bytes()?.to_ascii_lowercase();
    let Some(Frame::Integer(count)) = items.get(2) else {
        return None;
    };
    matches!(
        &kind[..],
        b"subscribe"
            | b"unsubscribe"
            | b"psubscribe"
            | b"punsubscribe"
            | b"ssubscribe"
            | b"sunsubscribe"
    )
    .then(|| Confirmation {
        kind: Bytes::from(kind),
        channel: items
            .get(1)
            .and_then(Frame::as_bytes)
            .map(Bytes::copy_from_slice),
        count: *count,
        push,
    })
}

/// A confirmation frame of `kind` for `channel` (`None`: nil) with `count`.
fn confirmation_frame(
    kind: &str,
    channel: Option<Bytes>,
    count: i64,
    push: bool,
    proto: Proto,
) -> Bytes {
    let items = vec![
        Frame::bulk(kind),
        channel.map_or(Frame::Null, Frame::Bulk),
        Frame::Integer(count),
    ];
    let frame = if push {
        Frame::Push(items)
    } else {
        Frame::Array(items)
    };
    to_bytes(&for_client(frame, proto))
}

impl Session {
    /// Whether this is a RESP2 client with subscriptions (which limits what it may send).
    pub(super) fn in_subscribed_mode(&self) -> bool {
        self.client.proto == Proto::Resp2
            && (self.pubsub.count > 0 || !self.pubsub.shard.is_empty())
    }

    /// (P)SUBSCRIBE, (P)UNSUBSCRIBE, and PING while subscribed: to the broadcast
    /// connection. SSUBSCRIBE and SUNSUBSCRIBE (`slot`: their channels' slot): to the
    /// connection for that slot.
    pub(super) fn subscribe(&mut self, args: &[Bytes], slot: Option<Slot>) {
        let shard = args[0].eq_ignore_ascii_case(b"ssubscribe")
            || args[0].eq_ignore_ascii_case(b"sunsubscribe");
        if !shard {
            return self.send_to_link(Target::Broadcast, args.to_vec());
        }
        let unsubscribe = args[0].eq_ignore_ascii_case(b"sunsubscribe");
        match slot {
            Some(slot) if !unsubscribe || self.has_link(Target::Shard(slot)) => {
                self.send_to_link(Target::Shard(slot), args.to_vec())
            }
            // SUNSUBSCRIBE of channels nobody subscribed: answered here, as Redis would.
            Some(_) => {
                for channel in &args[1..] {
                    self.shard_unsubscribed(Some(channel.clone()));
                }
            }
            None => {
                let slots: BTreeSet<Slot> = self.pubsub.shard.iter().map(|c| key_slot(c)).collect();
                if slots.is_empty() {
                    return self.shard_unsubscribed(None);
                }
                for slot in slots {
                    self.send_to_link(Target::Shard(slot), args.to_vec());
                }
            }
        }
    }

    fn has_link(&self, target: Target) -> bool {
        self.pubsub.links.iter().any(|l| l.target == target)
    }

    /// Queues a `sunsubscribe` confirmation the proxy makes itself.
    fn shard_unsubscribed(&mut self, channel: Option<Bytes>) {
        let count = self.pubsub.shard.len() as i64;
        let push = self.client.proto == Proto::Resp3;
        let frame = confirmation_frame("sunsubscribe", channel, count, push, self.client.proto);
        self.pushes.push_back(frame);
    }

    /// Sends a command to the connection for `target`, opening it on first use.
    fn send_to_link(&mut self, target: Target, args: Vec<Bytes>) {
        if !self.has_link(target) {
            let (commands, rx) = mpsc::unbounded_channel();
            let (tx, frames) = mpsc::unbounded_channel();
            let task = tokio::spawn(run(
                self.proxy.cluster.clone(),
                self.client.proto,
                target,
                rx,
                tx,
            ));
            self.pubsub.links.push(Link {
                target,
                commands,
                frames,
                task,
            });
        }
        if let Some(link) = self.pubsub.links.iter().find(|l| l.target == target) {
            let _ = link.commands.send(args);
        }
    }

    /// A frame from a subscription connection: counted (shard confirmations recounted
    /// across connections), then written once earlier replies are.
    pub(super) fn on_push(&mut self, frame: Bytes) {
        let Some(confirm) = confirmation(&frame) else {
            return self.pushes.push_back(frame);
        };
        match &confirm.kind[..] {
            b"ssubscribe" => {
                if let Some(channel) = &confirm.channel {
                    self.pubsub.shard.insert(channel.clone());
                }
            }
            b"sunsubscribe" => {
                if let Some(channel) = &confirm.channel {
                    self.pubsub.shard.remove(channel);
                }
            }
            _ => {
                self.pubsub.count = confirm.count;
                return self.pushes.push_back(frame);
            }
        }
        let count = self.pubsub.shard.len() as i64;
        let kind = String::from_utf8_lossy(&confirm.kind).into_owned();
        let frame = confirmation_frame(
            &kind,
            confirm.channel,
            count,
            confirm.push,
            self.client.proto,
        );
        self.pushes.push_back(frame);
    }
}

/// What one connection holds, to restore after a reconnect, and the confirmations its
/// client is still owed.
#[derive(Default)]
struct Subscriptions {
    channels: BTreeSet<Bytes>,
    patterns: BTreeSet<Bytes>,
    /// `(is_pattern, name)` the client asked to subscribe and has no confirmation for.
    owed: BTreeSet<(bool, Bytes)>,
}

impl Subscriptions {
    fn track(&mut self, args: &[Bytes]) {
        let Some((name, rest)) = args.split_first() else {
            return;
        };
        let (pattern, add) = match name.to_ascii_lowercase().as_slice() {
            b"subscribe" | b"ssubscribe" => (false, true),
            b"psubscribe" => (true, true),
            b"unsubscribe" | b"sunsubscribe" => (false, false),
            b"punsubscribe" => (true, false),
            _ => return,
        };
        let set = if pattern {
            &mut self.patterns
        } else {
            &mut self.channels
        };
        match (add, rest.is_empty()) {
            (true, _) => {
                set.extend(rest.iter().cloned());
                self.owed.extend(rest.iter().map(|c| (pattern, c.clone())));
            }
            (false, true) => set.clear(),
            (false, false) => rest.iter().for_each(|c| {
                set.remove(c);
            }),
        }
    }

    /// The commands that restore every subscription.
    fn restore(&self, target: Target, out: &mut BytesMut) {
        let subscribe = match target {
            Target::Broadcast => "SUBSCRIBE",
            Target::Shard(_) => "SSUBSCRIBE",
        };
        for (command, set) in [(subscribe, &self.channels), ("PSUBSCRIBE", &self.patterns)] {
            if !set.is_empty() {
                let args: Vec<&[u8]> = std::iter::once(command.as_bytes())
                    .chain(set.iter().map(|c| &c[..]))
                    .collect();
                encode_request(&args, out);
            }
        }
    }
}

/// What to do with a frame from the node.
enum Verdict {
    Forward,
    Swallow,
    /// The subscriptions are no longer served here: reconnect to the current owner.
    Reconnect,
}

impl Subscriptions {
    fn judge(&mut self, target: Target, frame: &Bytes) -> Verdict {
        let shard = matches!(target, Target::Shard(_));
        if shard && frame.first() == Some(&b'-') {
            // MOVED, ASK, CLUSTERDOWN, TRYAGAIN: the slot is not served here (now).
            return Verdict::Reconnect;
        }
        let Some(confirm) = confirmation(frame) else {
            return Verdict::Forward;
        };
        let Some(channel) = confirm.channel else {
            return Verdict::Forward;
        };
        match &confirm.kind[..] {
            b"subscribe" | b"ssubscribe" | b"psubscribe" => {
                let pattern = &confirm.kind[..] == b"psubscribe";
                if self.owed.remove(&(pattern, channel)) {
                    Verdict::Forward
                } else {
                    Verdict::Swallow
                }
            }
            // The node dropped a channel the client still holds: its slot moved away.
            b"sunsubscribe" if self.channels.contains(&channel) => Verdict::Reconnect,
            _ => Verdict::Forward,
        }
    }
}

/// The connection task: (re)connect to the target's node, restore subscriptions, relay.
async fn run(
    cluster: Arc<Cluster>,
    proto: Proto,
    target: Target,
    mut commands: mpsc::UnboundedReceiver<Vec<Bytes>>,
    frames: mpsc::UnboundedSender<Bytes>,
) {
    let mut subs = Subscriptions::default();
    loop {
        let routes = cluster.routes();
        let node = match target {
            Target::Broadcast => routes.pubsub_home(),
            Target::Shard(slot) => routes.owner(slot),
        };
        let addr = node.map(|n| n.addr.clone());
        drop(routes);
        let stream = match &addr {
            Some(addr) => open(addr, proto, &cluster.pool().upstream().link())
                .await
                .ok(),
            None => None,
        };
        if let (Some(stream), Some(addr)) = (stream, addr) {
            let link = Relay {
                cluster: &cluster,
                addr: &addr,
                target,
            };
            if !link.run(stream, &mut subs, &mut commands, &frames).await {
                return;
            }
        }
        cluster.refresh_soon(None);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One connection of a subscription task: which node, for what.
struct Relay<'a> {
    cluster: &'a Cluster,
    addr: &'a str,
    target: Target,
}

impl Relay<'_> {
    /// Whether the slot map now names another node for a shard connection's slot.
    fn moved(&self) -> bool {
        let Target::Shard(slot) = self.target else {
            return false;
        };
        let routes = self.cluster.routes();
        routes
            .owner(slot)
            .is_some_and(|node| &*node.addr != self.addr)
    }

    /// Relays until the connection must be replaced (`true`: reconnect) or the session is
    /// gone (`false`).
    async fn run(
        &self,
        mut stream: TcpStream,
        subs: &mut Subscriptions,
        commands: &mut mpsc::UnboundedReceiver<Vec<Bytes>>,
        frames: &mpsc::UnboundedSender<Bytes>,
    ) -> bool {
        let target = self.target;
        let mut out = BytesMut::new();
        subs.restore(target, &mut out);
        if stream.write_all(&out).await.is_err() {
            return true;
        }
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let mut scanner = FrameScanner::default();
        let mut check = tokio::time::interval(OWNER_CHECK);
        loop {
            tokio::select! {
                _ = check.tick(), if matches!(target, Target::Shard(_)) => {
                    if self.moved() {
                        return true;
                    }
                }
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
                        match subs.judge(target, &frame) {
                            Verdict::Forward => {
                                if frames.send(frame).is_err() {
                                    return false;
                                }
                            }
                            Verdict::Swallow => {}
                            Verdict::Reconnect => return true,
                        }
                    }
                }
            }
        }
    }
}
