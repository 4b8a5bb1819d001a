//! INFO replication (Redis 7.0's fields, in its order) and ROLE.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::{LinkState, Replication};
use crate::state::State;

impl LinkState {
    /// The name ROLE shows.
    fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// The `# Replication` section.
pub fn render(state: &State) -> Vec<(String, String)> {
    let repl = &state.repl;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |key: &str, value: String| out.push((key.to_owned(), value));
    put(
        "role",
        if repl.is_replica() { "slave" } else { "master" }.into(),
    );
    if let Some(master) = &repl.master {
        put("master_host", master.host.clone());
        put("master_port", master.port.to_string());
        replica_fields(state, &mut put);
    }
    put("connected_slaves", repl.replicas.len().to_string());
    for (i, r) in replicas_by_id(repl).iter().enumerate() {
        let state = if r.online { "online" } else { "wait_bgsave" };
        let lag = r.ack_time.elapsed().as_secs();
        let line = format!(
            "ip={},port={},state={state},offset={},lag={lag}",
            r.ip, r.port, r.ack_offset
        );
        put(&format!("slave{i}"), line);
    }
    let backlog = repl.stream.lock();
    put("master_failover_state", "no-failover".into());
    put("master_replid", repl.replid.clone());
    put("master_replid2", repl.replid2.clone());
    put("master_repl_offset", backlog.offset().to_string());
    put("second_repl_offset", repl.second_offset.to_string());
    put(
        "repl_backlog_active",
        u8::from(backlog.is_active()).to_string(),
    );
    put(
        "repl_backlog_size",
        state.config.get("repl-backlog-size").into(),
    );
    put(
        "repl_backlog_first_byte_offset",
        backlog.first_byte().to_string(),
    );
    put("repl_backlog_histlen", backlog.histlen().to_string());
    drop(backlog);
    out
}

/// The fields only a replica shows, after master_port.
fn replica_fields(state: &State, put: &mut impl FnMut(&str, String)) {
    let repl = &state.repl;
    let link = &repl.link;
    let up = link.state == LinkState::Connected;
    put("master_link_status", if up { "up" } else { "down" }.into());
    let io = link.last_io.map_or(-1, |t| t.elapsed().as_secs() as i64);
    put("master_last_io_seconds_ago", io.to_string());
    let syncing = link.state == LinkState::Sync;
    put("master_sync_in_progress", u8::from(syncing).to_string());
    let offset = repl.offset();
    put(
        "slave_read_repl_offset",
        link.read_offset.max(offset).to_string(),
    );
    put("slave_repl_offset", offset.to_string());
    if !up {
        let down = link.down_since.elapsed().as_secs();
        put("master_link_down_since_seconds", down.to_string());
    }
    put(
        "slave_priority",
        state.config.get("replica-priority").into(),
    );
    let read_only = state.config.get_bool("replica-read-only");
    put("slave_read_only", u8::from(read_only).to_string());
    put("replica_announced", "1".into());
}

/// Attached replicas in connection order (the order Redis lists them).
fn replicas_by_id(repl: &Replication) -> Vec<&super::Replica> {
    let mut ids: Vec<&u64> = repl.replicas.keys().collect();
    ids.sort();
    ids.into_iter()
        .filter_map(|id| repl.replicas.get(id))
        .collect()
}

/// ROLE: `master, offset, [[ip, port, acked]…]` or `slave, host, port, state, offset`.
pub fn role(state: &State) -> Frame {
    let repl = &state.repl;
    let bulk = |s: String| Frame::Bulk(Bytes::from(s));
    match &repl.master {
        None => {
            let replicas = replicas_by_id(repl)
                .into_iter()
                .map(|r| {
                    let fields = [r.ip.clone(), r.port.to_string(), r.ack_offset.to_string()];
                    Frame::Array(fields.into_iter().map(bulk).collect())
                })
                .collect();
            Frame::Array(vec![
                bulk("master".into()),
                Frame::Integer(repl.offset()),
                Frame::Array(replicas),
            ])
        }
        Some(master) => {
            let connected = repl.link.state == LinkState::Connected;
            Frame::Array(vec![
                bulk("slave".into()),
                bulk(master.host.clone()),
                Frame::Integer(i64::from(master.port)),
                bulk(repl.link.state.name().into()),
                Frame::Integer(if connected { repl.offset() } else { -1 }),
            ])
        }
    }
}
