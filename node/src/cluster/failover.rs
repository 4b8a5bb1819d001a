//! Manual failover, `CLUSTER FAILOVER [FORCE|TAKEOVER]` on a replica. The default is
//! coordinated: the replica sends MFSTART, its master pauses client writes and keeps
//! pinging the replica with the PAUSED flag and its final offset, the replica catches up to
//! that offset and then runs an immediate election whose vote requests carry FORCEACK.
//! FORCE skips the master; TAKEOVER skips the election too (an epoch bump without
//! consensus). Either side gives up after 5 s; the master unpauses when it ends.

use slotgate_protocol::topology::NodeId;
use slotgate_protocol::Frame;

use super::bus::message::{Body, Header};
use super::bus::send;
use super::election;
use super::state::Cluster;
use crate::state::{now_ms, State};

/// A manual failover gives up after this.
const MF_TIMEOUT_MS: i64 = 5000;
/// The master pauses writes at most MF_TIMEOUT × this.
const MF_PAUSE_MULT: i64 = 2;

/// A manual failover in progress (Redis's `mf_*`); `end == 0` when none.
#[derive(Debug, Default, Clone, Copy)]
pub struct ManualFailover {
    pub end: i64,
    /// Replica side: caught up with the paused master (or FORCE): the election may start.
    pub can_start: bool,
    /// Master side: the replica taking over.
    pub replica: Option<NodeId>,
    /// Replica side: the paused master's offset to reach.
    pub master_offset: Option<u64>,
    /// Master side: client writes wait until then.
    pub paused_until: i64,
}

/// How `CLUSTER FAILOVER` was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Default,
    Force,
    Takeover,
}

/// `CLUSTER FAILOVER`: checks, then starts the switch (it completes asynchronously).
pub fn start(state: &mut State, mode: Mode) -> Result<(), Frame> {
    let now = now_ms();
    let cluster = state
        .cluster
        .as_deref_mut()
        .ok_or_else(|| Frame::error("ERR This instance has cluster support disabled"))?;
    let me = cluster.me();
    if me.is_master() {
        return Err(Frame::error(
            "ERR You should send CLUSTER FAILOVER to a replica",
        ));
    }
    let Some(master) = me.master.and_then(|m| cluster.nodes.get(&m)) else {
        return Err(Frame::error(
            "ERR I'm a replica but my master is unknown to me",
        ));
    };
    if mode == Mode::Default && (master.is_failing() || !master.link_connected()) {
        return Err(Frame::error(
            "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE",
        ));
    }
    let master = master.id;
    cluster.mf = ManualFailover {
        end: now + MF_TIMEOUT_MS,
        ..ManualFailover::default()
    };
    match mode {
        Mode::Takeover => {
            tracing::info!("Taking over the master (user request).");
            cluster.bump_epoch_without_consensus();
            election::replace_master(state);
        }
        Mode::Force => {
            tracing::info!("Forced failover user request accepted.");
            cluster.mf.can_start = true;
        }
        Mode::Default => {
            tracing::info!("Manual failover user request accepted.");
            let bytes = send::frame(cluster, Body::MfStart);
            send::send_to(cluster, &master, bytes);
        }
    }
    Ok(())
}

/// MFSTART from a replica of mine: pause writes and show it my offset.
pub fn on_mfstart(cluster: &mut Cluster, sender: &NodeId, now: i64) {
    let mine = cluster.nodes.get(sender).is_some_and(|n| {
        !n.is_master() && n.master == Some(cluster.myself) && cluster.me().is_master()
    });
    if !mine {
        return;
    }
    tracing::info!("Manual failover requested by replica {sender}.");
    cluster.mf = ManualFailover {
        end: now + MF_TIMEOUT_MS,
        replica: Some(*sender),
        paused_until: now + MF_TIMEOUT_MS * MF_PAUSE_MULT,
        ..ManualFailover::default()
    };
    send::ping(cluster, sender, now);
}

/// A heartbeat from myself's master: during a manual failover, a PAUSED one gives the
/// offset to reach.
pub fn on_heartbeat(cluster: &mut Cluster, header: &Header) {
    let me = cluster.me();
    let from_master = !me.is_master() && me.master == Some(header.sender);
    let mf = &mut cluster.mf;
    if from_master && header.paused && mf.end != 0 && mf.master_offset.is_none() {
        tracing::info!(
            "Received replication offset for paused master manual failover: {}",
            header.repl_offset
        );
        mf.master_offset = Some(header.repl_offset);
    }
}

/// The 100 ms step: time out, let a caught-up replica start, keep the replica informed.
pub fn cron(state: &mut State, now: i64) {
    let offset = state.repl.offset();
    let Some(cluster) = state.cluster.as_deref_mut() else {
        return;
    };
    let mf = cluster.mf;
    if mf.end == 0 {
        return;
    }
    if now > mf.end {
        tracing::warn!("Manual failover timed out.");
        cluster.mf = ManualFailover::default();
        return;
    }
    if let Some(replica) = mf.replica {
        send::ping(cluster, &replica, now);
    }
    if !mf.can_start
        && mf
            .master_offset
            .is_some_and(|o| offset >= 0 && offset as u64 == o)
    {
        tracing::info!("All master replication stream processed, manual failover can start.");
        cluster.mf.can_start = true;
    }
}

/// Whether myself is a master pausing client writes for a replica's manual failover (the
/// pause ends with the failover: when it times out or myself becomes a replica).
pub fn pausing_writes(state: &State, now: i64) -> bool {
    state
        .cluster
        .as_deref()
        .is_some_and(|c| c.mf.paused_until > now && c.me().is_master())
}
