//! The per-command cluster check (Redis's `getNodeByQuery`), run before a keyed command
//! executes or is queued: all keys in one slot (else CROSSSLOT), the slot served (else
//! CLUSTERDOWN Hash slot not served), the cluster up (else CLUSTERDOWN), and the slot
//! owned here — or being migrated with the keys still here, or imported with ASKING, or
//! read by a READONLY client of a replica of the owner — else MOVED / ASK / TRYAGAIN.

use bytes::Bytes;
use slotgate_protocol::command::Command;
use slotgate_protocol::redirect::{ClusterDownKind, ClusterError};
use slotgate_protocol::topology::{NodeAddr, NodeId};
use slotgate_protocol::{key_slot, Frame, Slot};

use super::state::Cluster;
use crate::client::Client;
use crate::state::State;

/// What the keys of a request (or of a whole MULTI queue) look like.
#[derive(Default)]
struct Query {
    slot: Option<Slot>,
    multiple: bool,
    write: bool,
    existing: usize,
    missing: usize,
}

/// The redirection or error replacing the command's reply, if any.
pub fn check(state: &mut State, client: &mut Client, args: &[Bytes], now: i64) -> Option<Frame> {
    if state.cluster.is_none() || client.loading {
        return None;
    }
    let name = args.first()?;
    let is = |command: &[u8]| name.eq_ignore_ascii_case(command);
    let asking = client.cluster.asking || is(b"restore-asking");
    if client.multi.is_none() && !is(b"asking") {
        client.cluster.asking = false;
    }
    let queued: Vec<&[Bytes]>;
    let commands = match &client.multi {
        Some(multi) if is(b"exec") => {
            queued = multi.queue.iter().map(Vec::as_slice).collect();
            &queued[..]
        }
        _ => std::slice::from_ref(&args),
    };
    let error = match inspect(state, commands, now) {
        Ok(query) => {
            let cluster = state.cluster.as_deref()?;
            let slot = query.slot?;
            let allow_reads = state.config.hot().cluster_allow_reads_when_down;
            decide(
                cluster,
                &query,
                slot,
                asking,
                client.cluster.readonly,
                allow_reads,
                is(b"migrate"),
            )?
        }
        Err(error) => error,
    };
    if is(b"exec") {
        client.multi = None;
    }
    Some(error.to_frame())
}

/// Reads the keys: their slot, whether they exist where that matters.
fn inspect(state: &mut State, commands: &[&[Bytes]], now: i64) -> Result<Query, ClusterError> {
    let State { cluster, dbs, .. } = state;
    let Some(cluster) = cluster.as_deref() else {
        return Ok(Query::default());
    };
    let mut query = Query::default();
    for args in commands {
        let Ok(command) = Command::parse(args) else {
            continue;
        };
        query.write |= command.is_write();
        for key in command.keys() {
            let slot = key_slot(key);
            match query.slot {
                None => {
                    cluster
                        .owner(slot.index())
                        .ok_or(ClusterError::ClusterDown(ClusterDownKind::Unbound))?;
                    query.slot = Some(slot);
                }
                Some(first) if first != slot => return Err(ClusterError::CrossSlot),
                Some(_) => query.multiple = true,
            }
            let open = cluster.migrating.contains_key(&slot.index())
                || cluster.importing.contains_key(&slot.index());
            if open {
                match dbs.first_mut().and_then(|db| db.get(key, now)) {
                    Some(_) => query.existing += 1,
                    None => query.missing += 1,
                }
            }
        }
    }
    Ok(query)
}

fn decide(
    cluster: &Cluster,
    query: &Query,
    slot: Slot,
    asking: bool,
    readonly: bool,
    allow_reads: bool,
    is_migrate: bool,
) -> Option<ClusterError> {
    if !cluster.state_ok {
        if !allow_reads {
            return Some(ClusterError::ClusterDown(ClusterDownKind::Down));
        }
        if query.write {
            return Some(ClusterError::ClusterDown(ClusterDownKind::ReadOnlyDown));
        }
    }
    let owner = cluster.owner(slot.index())?;
    let migrating = owner.id == cluster.myself && cluster.migrating.contains_key(&slot.index());
    let importing = cluster.importing.contains_key(&slot.index());
    if (migrating || importing) && is_migrate {
        return None;
    }
    if migrating && query.missing > 0 {
        if query.existing > 0 {
            return Some(ClusterError::TryAgain);
        }
        let target = cluster
            .migrating
            .get(&slot.index())
            .and_then(|id| address(cluster, id))?;
        return Some(ClusterError::Ask { slot, addr: target });
    }
    if importing && asking {
        return (query.multiple && query.missing > 0).then_some(ClusterError::TryAgain);
    }
    let me = cluster.me();
    if readonly && !query.write && !me.is_master() && me.master == Some(owner.id) {
        return None;
    }
    if owner.id != cluster.myself {
        return Some(ClusterError::Moved {
            slot,
            addr: NodeAddr::new(owner.ip.clone(), owner.port),
        });
    }
    None
}

fn address(cluster: &Cluster, id: &NodeId) -> Option<NodeAddr> {
    cluster
        .nodes
        .get(id)
        .map(|n| NodeAddr::new(n.ip.clone(), n.port))
}
