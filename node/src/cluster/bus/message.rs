//! The cluster bus wire format (ours): a fixed header — magic `SGcb`, version, message
//! type, body length (bounded by [`MAX_BODY`]) and the CRC-64 of the body — then a body
//! that always starts with the sender's [`Header`] (id, epochs, flags, slots, address)
//! and continues by type: gossip entries for PING/PONG/MEET, a node id for FAIL, a slot
//! claim for UPDATE, a channel and message for PUBLISH; AUTH_REQUEST, AUTH_ACK and MFSTART
//! are the header alone.
//!
//! Everything read here comes from a peer: decoding never panics, and a bad magic,
//! version, length or checksum is an error the link answers by closing.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use bytes::{Buf, BufMut, Bytes, BytesMut};
use slotgate_protocol::topology::{NodeFlags, NodeId, NODE_ID_LEN};
use slotgate_protocol::{Slot, SLOT_COUNT};

/// Bytes of a slot bitmap.
const BITMAP_LEN: usize = SLOT_COUNT as usize / 8;

use crate::cluster::checksum::crc64;

const MAGIC: &[u8; 4] = b"SGcb";
const VERSION: u8 = 1;
/// magic, version, type, body length, checksum.
const PREFIX_LEN: usize = 4 + 1 + 1 + 4 + 8;
/// The largest body accepted (PUBLISH carries user payloads).
pub const MAX_BODY: usize = 64 << 20;

/// Message types; `NAMES` gives the CLUSTER INFO statistic names in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ping,
    Pong,
    Meet,
    Fail,
    Publish,
    PublishShard,
    Update,
    AuthRequest,
    AuthAck,
    MfStart,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Ping,
        Kind::Pong,
        Kind::Meet,
        Kind::Fail,
        Kind::Publish,
        Kind::PublishShard,
        Kind::Update,
        Kind::AuthRequest,
        Kind::AuthAck,
        Kind::MfStart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Ping => "ping",
            Kind::Pong => "pong",
            Kind::Meet => "meet",
            Kind::Fail => "fail",
            Kind::Publish => "publish",
            Kind::PublishShard => "publishshard",
            Kind::Update => "update",
            Kind::AuthRequest => "auth-req",
            Kind::AuthAck => "auth-ack",
            Kind::MfStart => "mfstart",
        }
    }

    fn from_byte(byte: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(byte)).copied()
    }
}

/// A set of slots, one bit each.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBits(Box<[u8; BITMAP_LEN]>);

impl Default for SlotBits {
    fn default() -> Self {
        SlotBits(Box::new([0; BITMAP_LEN]))
    }
}

impl std::fmt::Debug for SlotBits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotBits({} slots)", self.iter().count())
    }
}

impl SlotBits {
    pub fn get(&self, slot: usize) -> bool {
        self.0
            .get(slot / 8)
            .is_some_and(|b| b & (1 << (slot % 8)) != 0)
    }

    pub fn set(&mut self, slot: usize) {
        if let Some(byte) = self.0.get_mut(slot / 8) {
            *byte |= 1 << (slot % 8);
        }
    }

    pub fn clear(&mut self, slot: usize) {
        if let Some(byte) = self.0.get_mut(slot / 8) {
            *byte &= !(1 << (slot % 8));
        }
    }

    /// The slots set, ascending (empty bytes skipped whole).
    pub fn iter(&self) -> impl Iterator<Item = Slot> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, &byte)| byte != 0)
            .flat_map(|(i, &byte)| {
                (0..8)
                    .filter(move |bit| byte & (1 << bit) != 0)
                    .filter_map(move |bit| Slot::new((i * 8 + bit) as u16))
            })
    }
}

/// What every message says about its sender (Redis's `clusterMsg` header).
#[derive(Clone)]
pub struct Header {
    pub sender: NodeId,
    pub current_epoch: u64,
    /// The sender's configEpoch, or its master's when it is a replica.
    pub config_epoch: u64,
    pub repl_offset: u64,
    pub master: Option<NodeId>,
    /// Announced IP; empty means "use the address you see".
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub hostname: String,
    pub flags: NodeFlags,
    pub state_ok: bool,
    /// Message flag: the sender is a master pausing writes for a manual failover.
    pub paused: bool,
    /// Message flag: an AUTH_REQUEST of a manual failover (vote even if the master is up).
    pub force_ack: bool,
    /// The sender's slots, or its master's when it is a replica.
    pub slots: SlotBits,
    pub shard_id: NodeId,
}

/// One gossip entry: what the sender knows about a third node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gossip {
    pub id: NodeId,
    pub ping_sent: u32,
    pub pong_recv: u32,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub flags: NodeFlags,
}

/// The part after the header.
#[derive(Clone)]
pub enum Body {
    Ping(Vec<Gossip>),
    Pong(Vec<Gossip>),
    Meet(Vec<Gossip>),
    Fail(NodeId),
    Publish {
        channel: Bytes,
        message: Bytes,
    },
    PublishShard {
        channel: Bytes,
        message: Bytes,
    },
    Update {
        config_epoch: u64,
        node: NodeId,
        slots: SlotBits,
    },
    AuthRequest,
    AuthAck,
    MfStart,
}

/// A whole bus message.
#[derive(Clone)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("bad magic")]
    Magic,
    #[error("unsupported version")]
    Version,
    #[error("body too long")]
    TooLong,
    #[error("checksum mismatch")]
    Checksum,
    #[error("truncated or invalid field")]
    Field,
}

impl Message {
    pub fn kind(&self) -> Kind {
        match self.body {
            Body::Ping(_) => Kind::Ping,
            Body::Pong(_) => Kind::Pong,
            Body::Meet(_) => Kind::Meet,
            Body::Fail(_) => Kind::Fail,
            Body::Publish { .. } => Kind::Publish,
            Body::PublishShard { .. } => Kind::PublishShard,
            Body::Update { .. } => Kind::Update,
            Body::AuthRequest => Kind::AuthRequest,
            Body::AuthAck => Kind::AuthAck,
            Body::MfStart => Kind::MfStart,
        }
    }

    /// The framed bytes.
    pub fn encode(&self) -> Bytes {
        let mut body = BytesMut::with_capacity(2600);
        put_header(&mut body, &self.header);
        match &self.body {
            Body::Ping(gossip) | Body::Pong(gossip) | Body::Meet(gossip) => {
                body.put_u16(gossip.len() as u16);
                gossip.iter().for_each(|g| put_gossip(&mut body, g));
            }
            Body::Fail(id) => body.put_slice(id.as_bytes()),
            Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
                put_blob(&mut body, channel);
                put_blob(&mut body, message);
            }
            Body::Update {
                config_epoch,
                node,
                slots,
            } => {
                body.put_u64(*config_epoch);
                body.put_slice(node.as_bytes());
                body.put_slice(&slots.0[..]);
            }
            Body::AuthRequest | Body::AuthAck | Body::MfStart => {}
        }
        let mut out = BytesMut::with_capacity(PREFIX_LEN + body.len());
        out.put_slice(MAGIC);
        out.put_u8(VERSION);
        out.put_u8(self.kind() as u8);
        out.put_u32(body.len() as u32);
        out.put_u64(crc64(&body));
        out.put_slice(&body);
        out.freeze()
    }
}

/// Takes one message off the front of `buf`: `Ok(None)` until it is complete.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Message>, Malformed> {
    let Some(prefix) = buf.get(..PREFIX_LEN) else {
        return Ok(None);
    };
    let mut prefix = prefix;
    if prefix.get(..4) != Some(&MAGIC[..]) {
        return Err(Malformed::Magic);
    }
    prefix.advance(4);
    if prefix.get_u8() != VERSION {
        return Err(Malformed::Version);
    }
    let kind = Kind::from_byte(prefix.get_u8()).ok_or(Malformed::Field)?;
    let len = prefix.get_u32() as usize;
    let checksum = prefix.get_u64();
    if len > MAX_BODY {
        return Err(Malformed::TooLong);
    }
    if buf.len() < PREFIX_LEN + len {
        return Ok(None);
    }
    buf.advance(PREFIX_LEN);
    let body = buf.split_to(len).freeze();
    if crc64(&body) != checksum {
        return Err(Malformed::Checksum);
    }
    let mut reader = Reader(body);
    let message = reader.message(kind).ok_or(Malformed::Field)?;
    Ok(Some(message))
}

fn flags_bits(flags: NodeFlags) -> u16 {
    let bits = [
        flags.myself,
        flags.master,
        flags.replica,
        flags.pfail,
        flags.fail,
        flags.handshake,
        flags.noaddr,
        flags.nofailover,
    ];
    bits.iter()
        .enumerate()
        .fold(0, |acc, (i, &on)| acc | (u16::from(on) << i))
}

fn flags_from(bits: u16) -> NodeFlags {
    let on = |i: u16| bits & (1 << i) != 0;
    NodeFlags {
        myself: on(0),
        master: on(1),
        replica: on(2),
        pfail: on(3),
        fail: on(4),
        handshake: on(5),
        noaddr: on(6),
        nofailover: on(7),
    }
}

fn put_header(out: &mut BytesMut, h: &Header) {
    out.put_slice(h.sender.as_bytes());
    out.put_u64(h.current_epoch);
    out.put_u64(h.config_epoch);
    out.put_u64(h.repl_offset);
    out.put_slice(h.master.unwrap_or(NodeId::ZERO).as_bytes());
    put_text(out, &h.ip);
    out.put_u16(h.port);
    out.put_u16(h.cport);
    put_text(out, &h.hostname);
    out.put_u16(flags_bits(h.flags));
    out.put_u8(u8::from(h.state_ok) | u8::from(h.paused) << 1 | u8::from(h.force_ack) << 2);
    out.put_slice(&h.slots.0[..]);
    out.put_slice(h.shard_id.as_bytes());
}

fn put_gossip(out: &mut BytesMut, g: &Gossip) {
    out.put_slice(g.id.as_bytes());
    out.put_u32(g.ping_sent);
    out.put_u32(g.pong_recv);
    put_text(out, &g.ip);
    out.put_u16(g.port);
    out.put_u16(g.cport);
    out.put_u16(flags_bits(g.flags));
}

fn put_text(out: &mut BytesMut, text: &str) {
    out.put_u16(text.len() as u16);
    out.put_slice(text.as_bytes());
}

fn put_blob(out: &mut BytesMut, blob: &[u8]) {
    out.put_u32(blob.len() as u32);
    out.put_slice(blob);
}

/// Bounds-checked reads from a body; `None` on anything short or invalid.
struct Reader(Bytes);

impl Reader {
    fn take(&mut self, n: usize) -> Option<Bytes> {
        (self.0.len() >= n).then(|| self.0.split_to(n))
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        Some(self.take(2)?.get_u16())
    }

    fn u32(&mut self) -> Option<u32> {
        Some(self.take(4)?.get_u32())
    }

    fn u64(&mut self) -> Option<u64> {
        Some(self.take(8)?.get_u64())
    }

    fn id(&mut self) -> Option<NodeId> {
        NodeId::parse(&self.take(NODE_ID_LEN)?).ok()
    }

    fn text(&mut self) -> Option<String> {
        let len = usize::from(self.u16()?);
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    fn blob(&mut self) -> Option<Bytes> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn slots(&mut self) -> Option<SlotBits> {
        let bytes = self.take(BITMAP_LEN)?;
        let mut bits = SlotBits::default();
        bits.0.copy_from_slice(&bytes);
        Some(bits)
    }

    fn header(&mut self) -> Option<Header> {
        let sender = self.id()?;
        let (current_epoch, config_epoch, repl_offset) = (self.u64()?, self.u64()?, self.u64()?);
        let master = Some(self.id()?).filter(|id| !id.is_zero());
        let ip = self.text()?;
        let (port, cport) = (self.u16()?, self.u16()?);
        let hostname = self.text()?;
        let flags = flags_from(self.u16()?);
        let state = self.u8()?;
        let (state_ok, paused, force_ack) = (state & 1 != 0, state & 2 != 0, state & 4 != 0);
        let slots = self.slots()?;
        let shard_id = self.id()?;
        Some(Header {
            sender,
            current_epoch,
            config_epoch,
            repl_offset,
            master,
            ip,
            port,
            cport,
            hostname,
            flags,
            state_ok,
            paused,
            force_ack,
            slots,
            shard_id,
        })
    }

    fn gossip(&mut self) -> Option<Vec<Gossip>> {
        let count = self.u16()?;
        (0..count)
            .map(|_| {
                let id = self.id()?;
                let (ping_sent, pong_recv) = (self.u32()?, self.u32()?);
                let ip = self.text()?;
                let (port, cport) = (self.u16()?, self.u16()?);
                Some(Gossip {
                    id,
                    ping_sent,
                    pong_recv,
                    ip,
                    port,
                    cport,
                    flags: flags_from(self.u16()?),
                })
            })
            .collect()
    }

    fn message(&mut self, kind: Kind) -> Option<Message> {
        let header = self.header()?;
        let body = match kind {
            Kind::Ping => Body::Ping(self.gossip()?),
            Kind::Pong => Body::Pong(self.gossip()?),
            Kind::Meet => Body::Meet(self.gossip()?),
            Kind::Fail => Body::Fail(self.id()?),
            Kind::Publish => Body::Publish {
                channel: self.blob()?,
                message: self.blob()?,
            },
            Kind::PublishShard => Body::PublishShard {
                channel: self.blob()?,
                message: self.blob()?,
            },
            Kind::Update => Body::Update {
                config_epoch: self.u64()?,
                node: self.id()?,
                slots: self.slots()?,
            },
            Kind::AuthRequest => Body::AuthRequest,
            Kind::AuthAck => Body::AuthAck,
            Kind::MfStart => Body::MfStart,
        };
        self.0.is_empty().then_some(Message { header, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        let mut slots = SlotBits::default();
        slots.set(0);
        slots.set(16383);
        Header {
            sender: NodeId::random(),
            current_epoch: 7,
            config_epoch: 3,
            repl_offset: 99,
            master: None,
            ip: "127.0.0.1".into(),
            port: 7000,
            cport: 17000,
            hostname: String::new(),
            flags: NodeFlags {
                master: true,
                ..NodeFlags::default()
            },
            state_ok: true,
            paused: false,
            force_ack: true,
            slots,
            shard_id: NodeId::random(),
        }
    }

    #[test]
    fn round_trips_in_pieces() {
        let gossip = Gossip {
            id: NodeId::random(),
            ping_sent: 1,
            pong_recv: 2,
            ip: "10.0.0.1".into(),
            port: 1,
            cport: 2,
            flags: NodeFlags {
                pfail: true,
                ..NodeFlags::default()
            },
        };
        let message = Message {
            header: header(),
            body: Body::Ping(vec![gossip.clone()]),
        };
        let bytes = message.encode();
        let mut buf = BytesMut::new();
        for chunk in bytes.chunks(100) {
            assert!(buf.is_empty() || decode(&mut buf.clone()).unwrap().is_none());
            buf.extend_from_slice(chunk);
        }
        let back = decode(&mut buf).unwrap().unwrap();
        assert!(buf.is_empty());
        assert_eq!(back.kind(), Kind::Ping);
        assert_eq!(back.header.current_epoch, 7);
        assert!(back.header.slots.get(16383) && !back.header.slots.get(1));
        assert!(matches!(back.body, Body::Ping(g) if g == vec![gossip]));
    }

    #[test]
    fn refuses_corruption() {
        let bytes = Message {
            header: header(),
            body: Body::Fail(NodeId::random()),
        }
        .encode();
        let mut flipped = BytesMut::from(&bytes[..]);
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(decode(&mut flipped).err(), Some(Malformed::Checksum));
        let mut bad_magic = BytesMut::from(&b"XXXXXXXXXXXXXXXXXXXXXXXX"[..]);
        assert_eq!(decode(&mut bad_magic).err(), Some(Malformed::Magic));
        let mut huge = BytesMut::from(&bytes[..PREFIX_LEN]);
        huge[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&mut huge).err(), Some(Malformed::TooLong));
    }
}
