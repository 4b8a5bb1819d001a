//! Opening a backend connection: TCP connect, then the handshake (`AUTH`, or `HELLO 3` with
//! credentials for RESP3 connections, then `READONLY` on replica connections); and one-off queries on a fresh connection, which the
//! topology refresh uses for `CLUSTER SLOTS`.

use std::time::Duration;

use bytes::BytesMut;
use slotgate_protocol::resp::{encode_request, ReplyDecoder};
use slotgate_protocol::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Proto;
use crate::config::ClusterConfig;

/// How to reach and authenticate with backend nodes.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub user: Option<String>,
    pub password: Option<String>,
    pub connect_timeout: Duration,
    /// Send `READONLY` after the handshake (connections that read from replicas).
    pub readonly: bool,
}

impl LinkSettings {
    /// The settings `[cluster]` gives.
    pub fn of(cluster: &ClusterConfig) -> LinkSettings {
        LinkSettings {
            user: cluster.user.clone(),
            password: cluster.password.clone(),
            connect_timeout: cluster.connect_timeout,
            readonly: false,
        }
    }
}

/// Connects and completes the handshake within the connect timeout.
pub async fn open(addr: &str, proto: Proto, settings: &LinkSettings) -> std::io::Result<TcpStream> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let readonly = settings.readonly.then(|| vec!["READONLY".to_owned()]);
        for command in handshake(proto, settings).into_iter().chain(readonly) {
            let reply = roundtrip(&mut stream, &command).await?;
            if let Frame::Error(text) = reply {
                return Err(std::io::Error::other(format!(
                    "{addr}: handshake refused: {}",
                    String::from_utf8_lossy(&text)
                )));
            }
        }
        Ok(stream)
    };
    tokio::time::timeout(settings.connect_timeout, attempt)
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{addr}: connect timed out"),
            )
        })?
}

/// The handshake command, if one is needed.
fn handshake(proto: Proto, settings: &LinkSettings) -> Option<Vec<String>> {
    let user = settings
        .user
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    match (proto, &settings.password) {
        (Proto::Resp3, Some(password)) => Some(vec![
            "HELLO".into(),
            "3".into(),
            "AUTH".into(),
            user,
            password.clone(),
        ]),
        (Proto::Resp3, None) => Some(vec!["HELLO".into(), "3".into()]),
        (Proto::Resp2, Some(password)) => Some(vec!["AUTH".into(), user, password.clone()]),
        (Proto::Resp2, None) => None,
    }
}

/// Sends one command and reads its reply as a frame.
async fn roundtrip(stream: &mut TcpStream, args: &[String]) -> std::io::Result<Frame> {
    let mut out = BytesMut::new();
    encode_request(args, &mut out);
    stream.write_all(&out).await?;
    let mut decoder = ReplyDecoder::default();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        if let Some(frame) = decoder.decode(&mut buf).map_err(std::io::Error::other)? {
            return Ok(frame);
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// Runs one command on a fresh RESP2 connection to `addr` and returns its reply.
pub async fn query(addr: &str, settings: &LinkSettings, args: &[&str]) -> std::io::Result<Frame> {
    let mut stream = open(addr, Proto::Resp2, settings).await?;
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::time::timeout(settings.connect_timeout * 2, roundtrip(&mut stream, &args))
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{addr}: query timed out"),
            )
        })?
}
