//! The two CLUSTER subcommands that reshape ownership most: SETSLOT (the steps of a slot
//! migration: IMPORTING, MIGRATING, NODE, STABLE) and RESET (forget the cluster).

use bytes::Bytes;
use slotgate_protocol::topology::NodeId;
use slotgate_protocol::Frame;

use super::bus::send;
use crate::cmd::args::upper;
use crate::cmd::cluster::{lookup, slot_arg};
use crate::cmd::{Ctx, Reply};

fn cluster_of<'a>(ctx: &'a mut Ctx) -> Result<&'a mut super::state::Cluster, Frame> {
    ctx.state
        .cluster
        .as_deref_mut()
        .ok_or_else(|| Frame::error("ERR This instance has cluster support disabled"))
}

/// `CLUSTER SETSLOT <slot> IMPORTING|MIGRATING|NODE <id>` / `STABLE`.
pub fn setslot(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now;
    let slot = slot_arg(&args[0])?;
    let keys = ctx.state.dbs[0].keys_in_slot(slot, now).len();
    let cluster = cluster_of(ctx)?;
    if !cluster.me().is_master() {
        return Err(Frame::error("ERR Please use SETSLOT only with masters."));
    }
    let action = upper(&args[1]);
    let target = match (action.as_str(), args.get(2)) {
        ("STABLE", None) => None,
        ("IMPORTING" | "MIGRATING" | "NODE", Some(id)) => {
            let node = lookup(cluster, id).map_err(|_| {
                Frame::error(format!(
                    "ERR I don't know about node {}",
                    String::from_utf8_lossy(id)
                ))
            })?;
            if !node.is_master() {
                return Err(Frame::error("ERR Target node is not a master"));
            }
            Some(node.id)
        }
        _ => {
            return Err(Frame::error(
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ))
        }
    };
    let mine = cluster.slots[slot] == Some(cluster.myself);
    match (action.as_str(), target) {
        ("MIGRATING", Some(to)) if mine => drop(cluster.migrating.insert(slot, to)),
        ("MIGRATING", _) => {
            return Err(Frame::error(format!(
                "ERR I'm not the owner of hash slot {slot}"
            )))
        }
        ("IMPORTING", Some(_)) if mine => {
            return Err(Frame::error(format!(
                "ERR I'm already the owner of hash slot {slot}"
            )))
        }
        ("IMPORTING", Some(from)) => drop(cluster.importing.insert(slot, from)),
        ("NODE", Some(owner)) => assign(cluster, slot, owner, keys)?,
        _ => {
            cluster.migrating.remove(&slot);
            cluster.importing.remove(&slot);
        }
    }
    cluster.todo_save = true;
    Ok(Frame::ok())
}

/// SETSLOT NODE: `owner` now serves `slot`.
fn assign(
    cluster: &mut super::state::Cluster,
    slot: usize,
    owner: NodeId,
    keys: usize,
) -> Result<(), Frame> {
    let me = cluster.myself;
    let was_mine = cluster.slots[slot] == Some(me);
    if was_mine && owner != me && keys != 0 {
        return Err(Frame::error(format!("ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot.")));
    }
    if keys == 0 {
        cluster.migrating.remove(&slot);
    }
    cluster.add_slot(slot, owner);
    if was_mine && owner != me && cluster.slot_count(&me) == 0 {
        cluster.replicate(owner);
    }
    if owner == me && cluster.importing.remove(&slot).is_some() {
        if cluster.bump_epoch_without_consensus() {
            tracing::info!("configEpoch updated after importing slot {slot}");
        }
        send::broadcast_pong(cluster, false);
    }
    Ok(())
}

/// `CLUSTER RESET [HARD|SOFT]`.
pub fn reset(ctx: &mut Ctx, mode: Option<&Bytes>) -> Reply {
    let hard = match mode.map(|m| upper(m)).as_deref() {
        None | Some("SOFT") => false,
        Some("HARD") => true,
        Some(_) => return Err(Frame::error("ERR syntax error")),
    };
    let has_keys = ctx.state.dbs.iter().any(|db| !db.is_empty());
    let cluster = cluster_of(ctx)?;
    let master = cluster.me().is_master();
    if master && has_keys {
        return Err(Frame::error(
            "ERR CLUSTER RESET can't be called with master nodes containing keys",
        ));
    }
    let me = cluster.myself;
    cluster.set_as_master(&me);
    cluster.migrating.clear();
    cluster.importing.clear();
    (0..cluster.slots.len()).for_each(|slot| cluster.del_slot(slot));
    let others: Vec<NodeId> = cluster
        .nodes
        .keys()
        .filter(|id| **id != me)
        .copied()
        .collect();
    others.iter().for_each(|id| cluster.del_node(id));
    cluster.banned.clear();
    if hard {
        cluster.current_epoch = 0;
        cluster.last_vote_epoch = 0;
        cluster.me_mut().config_epoch = 0;
        cluster.todo_fsync = true;
        cluster.rename(&me, NodeId::random());
        cluster.myself = *cluster.nodes.keys().next().unwrap_or(&me);
    }
    cluster.todo_save = true;
    if !master {
        ctx.state.dbs.iter_mut().for_each(|db| db.clear());
    }
    Ok(Frame::ok())
}
