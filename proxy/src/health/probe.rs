//! The active health checks: one task per backend node, each on its own dedicated connection
//! (authenticated like the data connections), sending `PING` and `ROLE` pipelined every
//! `health.interval`. A supervisor ([`run`]) keeps one task per node: every master and
//! replica the topology names, plus every replica the masters report in `ROLE`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::BytesMut;
use slotgate_protocol::resp::{encode_request, ReplyDecoder};
use slotgate_protocol::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::{HealthConfig, HealthTable, Role};
use crate::backend::{open, LinkSettings, Proto};
use crate::metrics::metrics;

/// Where the checks get their inputs, re-read every round (so reloads apply).
pub struct Inputs {
    /// The current health settings.
    pub config: Box<dyn Fn() -> HealthConfig + Send + Sync>,
    /// How to connect and authenticate.
    pub link: Box<dyn Fn() -> LinkSettings + Send + Sync>,
    /// The masters and replicas the topology names now.
    pub nodes: Box<dyn Fn() -> Vec<String> + Send + Sync>,
}

/// Keeps one probe task per node until dropped (aborts them when its task is aborted).
pub async fn run(table: Arc<HealthTable>, inputs: Arc<Inputs>) {
    let mut probes: HashMap<String, JoinHandle<()>> = HashMap::new();
    loop {
        let targets = targets(&table, &inputs);
        probes.retain(|addr, task| {
            let keep = targets.contains(addr);
            if !keep {
                task.abort();
            }
            keep
        });
        table.retain(&targets);
        for addr in targets {
            probes
                .entry(addr.clone())
                .or_insert_with(|| tokio::spawn(probe_loop(table.clone(), inputs.clone(), addr)));
        }
        let interval = (inputs.config)().interval;
        tokio::time::sleep(interval).await;
    }
}

/// The topology's nodes, and the replicas its masters reported.
fn targets(table: &HealthTable, inputs: &Inputs) -> Vec<String> {
    let nodes = (inputs.nodes)();
    let snapshot = table.snapshot();
    let replicas = nodes
        .iter()
        .filter_map(|m| snapshot.get(m))
        .flat_map(|s| s.replicas.iter().cloned());
    let mut all: Vec<String> = nodes.iter().cloned().chain(replicas).collect();
    all.sort();
    all.dedup();
    all
}

/// Probes one node forever on one connection, reconnecting after a failure.
async fn probe_loop(table: Arc<HealthTable>, inputs: Arc<Inputs>, addr: String) {
    let mut conn: Option<TcpStream> = None;
    loop {
        let config = (inputs.config)();
        let link = (inputs.link)();
        let answer = tokio::time::timeout(config.timeout, probe(&mut conn, &addr, &link)).await;
        let answer = match answer {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(err)) => {
                tracing::debug!(node = %addr, %err, "health probe failed");
                None
            }
            Err(_) => None,
        };
        if answer.is_none() {
            conn = None;
        }
        metrics().health_check(answer.is_some());
        table.observe(&addr, answer, &config);
        tokio::select! {
            _ = tokio::time::sleep(config.interval) => {}
            _ = table.probe_now.notified() => {}
        }
    }
}

/// One `PING` + `ROLE` round trip: the node's role and its replicas.
async fn probe(
    conn: &mut Option<TcpStream>,
    addr: &str,
    link: &LinkSettings,
) -> std::io::Result<(Role, Vec<String>)> {
    if conn.is_none() {
        *conn = Some(open(addr, Proto::Resp2, link).await?);
    }
    let stream = conn.as_mut().ok_or(std::io::ErrorKind::NotConnected)?;
    let mut out = BytesMut::new();
    encode_request(&["PING"], &mut out);
    encode_request(&["ROLE"], &mut out);
    stream.write_all(&out).await?;
    let (mut decoder, mut buf) = (ReplyDecoder::default(), BytesMut::new());
    let mut replies = Vec::with_capacity(2);
    while replies.len() < 2 {
        match decoder.decode(&mut buf).map_err(std::io::Error::other)? {
            Some(frame) => replies.push(frame),
            None if stream.read_buf(&mut buf).await? == 0 => {
                return Err(std::io::ErrorKind::UnexpectedEof.into())
            }
            None => {}
        }
    }
    if let Frame::Error(text) = &replies[0] {
        return Err(std::io::Error::other(
            String::from_utf8_lossy(text).into_owned(),
        ));
    }
    parse_role(&replies[1], addr)
        .ok_or_else(|| std::io::Error::other(format!("unreadable ROLE reply {:?}", replies[1])))
}

/// Reads a `ROLE` reply: `["master", offset, [[ip, port, offset], …]]` or `["slave", …]`.
fn parse_role(reply: &Frame, addr: &str) -> Option<(Role, Vec<String>)> {
    let Frame::Array(fields) = reply else {
        return None;
    };
    match fields.first()?.as_bytes()? {
        b"master" => {
            let Some(Frame::Array(replicas)) = fields.get(2) else {
                return Some((Role::Master, Vec::new()));
            };
            let fallback_host = addr.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
            let replicas = replicas
                .iter()
                .filter_map(|r| replica_addr(r, fallback_host))
                .collect();
            Some((Role::Master, replicas))
        }
        b"slave" | b"replica" => Some((Role::Replica, Vec::new())),
        _ => None,
    }
}

fn replica_addr(entry: &Frame, fallback_host: &str) -> Option<String> {
    let Frame::Array(parts) = entry else {
        return None;
    };
    let host = String::from_utf8_lossy(parts.first()?.as_bytes()?).into_owned();
    let port = String::from_utf8_lossy(parts.get(1)?.as_bytes()?).into_owned();
    let host = if host.is_empty() || host == "?" {
        fallback_host.to_owned()
    } else {
        host
    };
    Some(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(Bytes::from(s.to_owned()))
    }

    #[test]
    fn role_replies_are_read() {
        let master = Frame::Array(vec![
            bulk("master"),
            Frame::Integer(10),
            Frame::Array(vec![Frame::Array(vec![
                bulk("127.0.0.1"),
                bulk("7003"),
                bulk("10"),
            ])]),
        ]);
        assert_eq!(
            parse_role(&master, "127.0.0.1:7000"),
            Some((Role::Master, vec!["127.0.0.1:7003".to_owned()]))
        );
        let replica = Frame::Array(vec![
            bulk("slave"),
            bulk("127.0.0.1"),
            Frame::Integer(7000),
            bulk("connected"),
            Frame::Integer(10),
        ]);
        assert_eq!(
            parse_role(&replica, "x:1"),
            Some((Role::Replica, Vec::new()))
        );
        assert_eq!(parse_role(&Frame::Integer(1), "x:1"), None);
    }
}
