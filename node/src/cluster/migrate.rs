//! DUMP, RESTORE / RESTORE-ASKING and MIGRATE. MIGRATE talks to the target like Redis
//! does — synchronously, with the keyspace locked, so a key is never seen half-moved —
//! over a connection cached per `host:port` (closed after 10 s idle): `AUTH`, `SELECT`
//! when the db changes, one `RESTORE-ASKING key ttl payload [REPLACE]` per key, then the
//! replies; each key the target accepted is deleted here (unless COPY) and one `DEL` is
//! propagated.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use slotgate_protocol::resp::{encode_request, ReplyDecoder};
use slotgate_protocol::Frame;

use super::payload::{self, PayloadError};
use crate::cmd::args::{int, upper};
use crate::cmd::{Ctx, Reply};
use crate::db::Entry;

/// One cached connection to a MIGRATE target.
pub struct Target {
    stream: TcpStream,
    db: Option<i64>,
    last_use: i64,
}

/// Connections to MIGRATE targets by `host:port`.
#[derive(Default)]
pub struct TargetCache(HashMap<String, Target>);

impl TargetCache {
    pub fn close_idle(&mut self, now: i64, idle_ms: i64) {
        self.0.retain(|_, t| now - t.last_use <= idle_ms);
    }
}

/// `DUMP key`
pub fn dump(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    Ok(match ctx.db().get(&args[1], now) {
        Some(entry) => Frame::Bulk(payload::dump(&entry.value)),
        None => Frame::NullBulk,
    })
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]` (and RESTORE-ASKING).
pub fn restore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (mut replace, mut absolute) = (false, false);
    let mut i = 4;
    while let Some(option) = args.get(i) {
        match upper(option).as_str() {
            "REPLACE" => replace = true,
            "ABSTTL" => absolute = true,
            "IDLETIME" | "FREQ" if i + 1 < args.len() => {
                int(&args[i + 1])?;
                i += 1;
            }
            _ => return Err(Frame::error("ERR syntax error")),
        }
        i += 1;
    }
    let ttl = int(&args[2])?;
    if ttl < 0 {
        return Err(Frame::error("ERR Invalid TTL value, must be >= 0"));
    }
    let (key, now) = (&args[1], ctx.now);
    if !replace && ctx.db().get(key, now).is_some() {
        return Err(Frame::error("BUSYKEY Target key name already exists."));
    }
    let value =
        payload::restore(&args[3]).map_err(|e: PayloadError| Frame::error(e.to_string()))?;
    let expire_at = match (ttl, absolute) {
        (0, _) => None,
        (ttl, true) => Some(ttl),
        (ttl, false) => Some(now + ttl),
    };
    if expire_at.is_some_and(|at| at <= now) {
        if ctx.db().remove(key).is_some() {
            ctx.changed(1);
            ctx.propagate_as(vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        return Ok(Frame::ok());
    }
    ctx.db().insert(key, Entry { value, expire_at });
    ctx.changed(1);
    ctx.signal_ready(key);
    let ttl_arg = Bytes::from(expire_at.unwrap_or(0).to_string());
    ctx.propagate_as(vec![
        Bytes::from_static(b"RESTORE"),
        key.clone(),
        ttl_arg,
        args[3].clone(),
        Bytes::from_static(b"ABSTTL"),
        Bytes::from_static(b"REPLACE"),
    ]);
    Ok(Frame::ok())
}

/// MIGRATE's parsed arguments.
struct Request {
    addr: String,
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    auth: Vec<Bytes>,
    keys: Vec<Bytes>,
}

fn parse(args: &[Bytes]) -> Result<Request, Frame> {
    let syntax = || Frame::error("ERR syntax error");
    let timeout = int(&args[5])?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let addr = format!("{}:{}", String::from_utf8_lossy(&args[1]), int(&args[2])?);
    let mut request = Request {
        addr,
        db: int(&args[4])?,
        timeout,
        copy: false,
        replace: false,
        auth: Vec::new(),
        keys: vec![args[3].clone()],
    };
    let mut i = 6;
    while let Some(option) = args.get(i) {
        match upper(option).as_str() {
            "COPY" => request.copy = true,
            "REPLACE" => request.replace = true,
            "AUTH" => {
                request.auth = vec![args.get(i + 1).ok_or_else(syntax)?.clone()];
                i += 1;
            }
            "AUTH2" => {
                request.auth = args.get(i + 1..i + 3).ok_or_else(syntax)?.to_vec();
                i += 2;
            }
            "KEYS" => {
                if !args[3].is_empty() {
                    return Err(Frame::error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"));
                }
                request.keys = args[i + 1..].to_vec();
                break;
            }
            _ => return Err(syntax()),
        }
        i += 1;
    }
    Ok(request)
}

/// `MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k…]`
pub fn migrate(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let request = parse(args)?;
    let now = ctx.now;
    let mut pipeline = BytesMut::new();
    let mut sent: Vec<Bytes> = Vec::new();
    for key in &request.keys {
        let Some(entry) = ctx.db().get(key, now) else {
            continue;
        };
        let ttl = entry.expire_at.map_or(0, |at| (at - now).max(1));
        let mut restore = vec![
            Bytes::from_static(b"RESTORE-ASKING"),
            key.clone(),
            Bytes::from(ttl.to_string()),
            payload::dump(&entry.value),
        ];
        if request.replace {
            restore.push(Bytes::from_static(b"REPLACE"));
        }
        encode_request(&restore, &mut pipeline);
        sent.push(key.clone());
    }
    if sent.is_empty() {
        return Ok(Frame::Simple(Bytes::from_static(b"NOKEY")));
    }
    let replies = exchange(ctx, &request, &pipeline, sent.len())?;
    let mut first_error = None;
    let mut moved = Vec::new();
    for (key, reply) in sent.iter().zip(replies) {
        match reply {
            Frame::Error(e) => first_error = first_error.or(Some(e)),
            _ if !request.copy => moved.push(key.clone()),
            _ => {}
        }
    }
    if !moved.is_empty() {
        moved.iter().for_each(|k| drop(ctx.db().remove(k)));
        ctx.changed(moved.len() as u64);
        ctx.propagate_as(
            std::iter::once(Bytes::from_static(b"DEL"))
                .chain(moved)
                .collect(),
        );
    }
    match first_error {
        Some(e) => Err(Frame::error(format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(&e)
        ))),
        None => Ok(Frame::ok()),
    }
}

/// Sends the pipeline (with AUTH / SELECT in front when needed) and reads one reply per
/// key; a broken cached connection is replaced once.
fn exchange(
    ctx: &mut Ctx,
    request: &Request,
    restores: &[u8],
    count: usize,
) -> Result<Vec<Frame>, Frame> {
    let cache = &mut ctx
        .state
        .cluster
        .as_deref_mut()
        .ok_or_else(|| Frame::error("ERR This instance has cluster support disabled"))?
        .targets;
    for attempt in 0..2 {
        let target = match cache.0.remove(&request.addr) {
            Some(target) => target,
            None => connect(&request.addr, request.timeout)?,
        };
        match talk(target, request, restores, count) {
            Ok((target, replies)) => {
                cache.0.insert(
                    request.addr.clone(),
                    Target {
                        last_use: crate::state::now_ms(),
                        ..target
                    },
                );
                return replies;
            }
            Err(e)
                if attempt == 0
                    && e.kind() != std::io::ErrorKind::TimedOut
                    && e.kind() != std::io::ErrorKind::WouldBlock =>
            {
                continue
            }
            Err(_) => break,
        }
    }
    Err(Frame::error(
        "IOERR error or timeout reading to target instance",
    ))
}

fn connect(addr: &str, timeout: Duration) -> Result<Target, Frame> {
    let refused = || Frame::error("IOERR error or timeout connecting to the client");
    let sock = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(refused)?;
    let stream = TcpStream::connect_timeout(&sock, timeout).map_err(|_| refused())?;
    let _ = stream.set_nodelay(true);
    Ok(Target {
        stream,
        db: None,
        last_use: 0,
    })
}

type Exchanged = (Target, Result<Vec<Frame>, Frame>);

fn talk(
    mut target: Target,
    request: &Request,
    restores: &[u8],
    count: usize,
) -> std::io::Result<Exchanged> {
    target.stream.set_read_timeout(Some(request.timeout))?;
    target.stream.set_write_timeout(Some(request.timeout))?;
    let mut out = BytesMut::new();
    let mut preamble = 0;
    if !request.auth.is_empty() {
        let auth: Vec<Bytes> = std::iter::once(Bytes::from_static(b"AUTH"))
            .chain(request.auth.iter().cloned())
            .collect();
        encode_request(&auth, &mut out);
        preamble += 1;
    }
    let select = target.db != Some(request.db);
    if select {
        encode_request(
            &[b"SELECT".as_slice(), request.db.to_string().as_bytes()],
            &mut out,
        );
        preamble += 1;
    }
    out.extend_from_slice(restores);
    target.stream.write_all(&out)?;
    let mut replies = read_replies(&mut target.stream, preamble + count)?;
    let rest = replies.split_off(preamble);
    if let Some(Frame::Error(e)) = replies.iter().find(|r| matches!(r, Frame::Error(_))) {
        let error = Frame::error(format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(e)
        ));
        return Ok((target, Err(error)));
    }
    if select {
        target.db = Some(request.db);
    }
    Ok((target, Ok(rest)))
}

fn read_replies(stream: &mut TcpStream, count: usize) -> std::io::Result<Vec<Frame>> {
    let mut decoder = ReplyDecoder::default();
    let mut buf = BytesMut::with_capacity(4096);
    let mut replies = Vec::with_capacity(count);
    while replies.len() < count {
        match decoder.decode(&mut buf).map_err(std::io::Error::other)? {
            Some(frame) => replies.push(frame),
            None => {
                let mut chunk = [0u8; 16 * 1024];
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    Ok(replies)
}
