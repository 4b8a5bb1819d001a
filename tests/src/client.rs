//! A tiny synchronous RESP client for assertions: send a command, get the decoded reply.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use slotgate_protocol::resp::{encode_request, ReplyDecoder};
use slotgate_protocol::Frame;

/// One connection speaking RESP; every call waits for its reply (10 s read timeout).
pub struct Client {
    stream: TcpStream,
    decoder: ReplyDecoder,
    buf: BytesMut,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            decoder: ReplyDecoder::default(),
            buf: BytesMut::with_capacity(16 * 1024),
        })
    }

    /// Connects and authenticates with `AUTH <password>` when one is given.
    pub fn connect_auth(port: u16, password: Option<&str>) -> std::io::Result<Client> {
        let mut client = Client::connect(port)?;
        if let Some(password) = password {
            let reply = client.cmd(&["AUTH", password])?;
            if reply != Frame::ok() {
                return Err(std::io::Error::other(format!("AUTH failed: {reply:?}")));
            }
        }
        Ok(client)
    }

    /// Sends one command and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<Frame> {
        self.send(args)?;
        self.read_reply()
    }

    /// Sends one command without waiting for the reply (for pipelines).
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<()> {
        let mut out = BytesMut::new();
        encode_request(args, &mut out);
        self.stream.write_all(&out)
    }

    /// Writes raw bytes (malformed input tests).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads the next reply.
    pub fn read_reply(&mut self) -> std::io::Result<Frame> {
        loop {
            if let Some(frame) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(std::io::Error::other)?
            {
                return Ok(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and returns its reply as text: bulk/simple strings as is, integers in
    /// decimal, errors prefixed with `-`, nulls as `(nil)`.
    pub fn text<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<String> {
        Ok(frame_text(&self.cmd(args)?))
    }
}

/// A reply as text (see [`Client::text`]); aggregates are rendered with `{:?}`.
pub fn frame_text(frame: &Frame) -> String {
    match frame {
        Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim(_, b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        Frame::Error(e) => format!("-{}", String::from_utf8_lossy(e)),
        Frame::Integer(n) => n.to_string(),
        Frame::NullBulk | Frame::NullArray | Frame::Null => "(nil)".to_owned(),
        other => format!("{other:?}"),
    }
}
