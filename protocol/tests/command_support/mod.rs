//! Shared by the `command_*` integration tests: a throwaway `redis-server` on a random
//! loopback port (killed by PID on drop), a tiny RESP client built on our own codec, and
//! normalizers for the parts of Redis's replies that come in hash order.

#![allow(dead_code)] // each test crate uses its own part of these helpers

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand::Rng;
use slotgate_protocol::resp::{encode_request, ReplyDecoder};
use slotgate_protocol::{Frame, Limits};

/// A running `redis-server`, killed by PID on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// Starts one on a free port in 20000–29999; `None` (with a message) when redis-server
    /// is not installed.
    pub fn start() -> Option<Redis> {
        for _ in 0..20 {
            let port = rand::thread_rng().gen_range(20000..30000);
            let spawned = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    eprintln!("SKIPPED: redis-server is not installed");
                    return None;
                }
                Err(e) => panic!("cannot start redis-server: {e}"),
            };
            let mut redis = Redis { child, port };
            if redis.wait_ready() {
                return Some(redis);
            }
        }
        panic!("redis-server did not start on any port tried");
    }

    /// Waits for PING; false if the server exited (port taken) or never answered.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return false;
            }
            if let Some(mut client) = self.try_client() {
                if client.call(&["PING"]) == Frame::Simple(Bytes::from_static(b"PONG")) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn try_client(&self) -> Option<Client> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        Some(Client {
            stream,
            buf: BytesMut::new(),
            decoder: ReplyDecoder::new(Limits::default()),
        })
    }

    /// A new connection.
    pub fn client(&self) -> Client {
        self.try_client().expect("connect to redis-server")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One RESP connection.
pub struct Client {
    stream: TcpStream,
    buf: BytesMut,
    decoder: ReplyDecoder,
}

impl Client {
    /// Sends one request and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
        let mut out = BytesMut::new();
        encode_request(args, &mut out);
        self.stream.write_all(&out).expect("write request");
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).expect("valid reply") {
                return frame;
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(n > 0, "redis-server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Request arguments from one space-separated string (`""` stands for an empty argument).
pub fn args(request: &str) -> Vec<Bytes> {
    let arg = |a: &str| {
        if a == "\"\"" {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(a.as_bytes())
        }
    };
    request.split(' ').map(arg).collect()
}

/// The items of an array (or set) frame.
pub fn items(frame: Frame) -> Vec<Frame> {
    match frame {
        Frame::Array(items) | Frame::Set(items) => items,
        other => panic!("expected an array, got {other:?}"),
    }
}

/// A `COMMAND INFO` entry with its subcommands (entry 9) sorted by name, recursively.
pub fn sorted_info(entry: Frame) -> Frame {
    let mut fields = items(entry);
    if let Some(subs) = fields.get_mut(9) {
        let mut list: Vec<Frame> = items(std::mem::replace(subs, Frame::Null))
            .into_iter()
            .map(sorted_info)
            .collect();
        list.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        *subs = Frame::Array(list);
    }
    Frame::Array(fields)
}

fn name_of(entry: &Frame) -> &[u8] {
    match entry {
        Frame::Array(fields) => fields.first().and_then(Frame::as_bytes).unwrap_or_default(),
        _ => &[],
    }
}

/// A RESP2 `COMMAND DOCS` docs map with its `subcommands` map sorted by name, recursively.
pub fn sorted_docs(docs: Frame) -> Frame {
    let mut fields = items(docs);
    let at = fields
        .iter()
        .position(|f| f.as_bytes() == Some(b"subcommands"));
    if let Some(i) = at {
        let subs = std::mem::replace(&mut fields[i + 1], Frame::Null);
        fields[i + 1] = Frame::Array(sorted_pairs(items(subs), sorted_docs));
    }
    Frame::Array(fields)
}

/// A flat RESP2 map `[k, v, …]` with its pairs sorted by key, values passed through `f`.
pub fn sorted_pairs(flat: Vec<Frame>, f: fn(Frame) -> Frame) -> Vec<Frame> {
    let mut pairs: Vec<(Frame, Frame)> = Vec::new();
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, f(v)));
    }
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(&b.0.as_bytes()));
    pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()
}
