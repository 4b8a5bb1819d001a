//! Cluster commands: CLUSTER and its subcommands, ASKING, READONLY / READWRITE, and the
//! key-moving trio MIGRATE / DUMP / RESTORE (in `crate::cluster::migrate`). CLUSTER is
//! queued like any command inside MULTI, so `redis-cli --cluster fix`'s transactions work.

use bytes::Bytes;
use slotgate_protocol::topology::{cluster_shards_reply, cluster_slots_reply, NodeFlags, NodeId};
use slotgate_protocol::{key_slot, Frame};

use super::args::{int, upper};
use super::flag::{DENYOOM, WRITE};
use super::{spec, Ctx, Reply, Spec};
use crate::cluster::failover::{self, Mode};
use crate::cluster::state::{Cluster, Node, BAN_TTL_MS};
use crate::cluster::{admin, after_change, migrate, nodes_conf, view};
use crate::reply::int as integer;

pub const COMMANDS: &[Spec] = &[
    spec("cluster", -2, 0, cluster),
    spec("asking", 1, 0, asking),
    spec("readonly", 1, 0, readonly),
    spec("readwrite", 1, 0, readwrite),
    spec("migrate", -6, WRITE, migrate::migrate),
    spec("dump", 2, 0, migrate::dump),
    spec("restore", -4, WRITE | DENYOOM, migrate::restore),
    spec("restore-asking", -4, WRITE | DENYOOM, migrate::restore),
];

fn disabled() -> Frame {
    Frame::error("ERR This instance has cluster support disabled")
}

fn state_of<'a>(ctx: &'a mut Ctx) -> Result<&'a mut Cluster, Frame> {
    ctx.state.cluster.as_deref_mut().ok_or_else(disabled)
}

fn asking(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    state_of(ctx)?;
    ctx.client.cluster.asking = true;
    Ok(Frame::ok())
}

fn readonly(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    state_of(ctx)?;
    ctx.client.cluster.readonly = true;
    Ok(Frame::ok())
}

fn readwrite(ctx: &mut Ctx, _: &[Bytes]) -> Reply {
    state_of(ctx)?;
    ctx.client.cluster.readonly = false;
    Ok(Frame::ok())
}

fn text(text: String) -> Frame {
    Frame::Verbatim(*b"txt", Bytes::from(text))
}

fn arity(sub: &str) -> Frame {
    Frame::error(format!(
        "ERR wrong number of arguments for 'cluster|{}' command",
        sub.to_ascii_lowercase()
    ))
}

fn cluster(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sub = upper(&args[1]);
    if sub == "HELP" {
        return Ok(help());
    }
    state_of(ctx)?;
    let n = args.len();
    let reply = match (sub.as_str(), n) {
        ("INFO", 2) => Ok(text(view::info_text(state_of(ctx)?))),
        ("NODES", 2) => Ok(text(view::nodes_text(state_of(ctx)?))),
        ("SLOTS", 2) => Ok(cluster_slots_reply(
            &view::slots_entries(state_of(ctx)?),
            ctx.client.resp >= 3,
        )),
        ("SHARDS", 2) => Ok(cluster_shards_reply(
            &view::shards(state_of(ctx)?),
            ctx.client.resp >= 3,
        )),
        ("MYID", 2) => Ok(Frame::bulk(state_of(ctx)?.myself.as_bytes())),
        ("MYSHARDID", 2) => Ok(Frame::bulk(state_of(ctx)?.me().shard_id.as_bytes())),
        ("KEYSLOT", 3) => Ok(integer(key_slot(&args[2]).get())),
        ("COUNTKEYSINSLOT", 3) => count_keys(ctx, &args[2]),
        ("GETKEYSINSLOT", 4) => get_keys(ctx, &args[2], &args[3]),
        ("ADDSLOTS" | "DELSLOTS", 3..) => slots_command(ctx, &sub, &args[2..], false),
        ("ADDSLOTSRANGE" | "DELSLOTSRANGE", 4..) if n.is_multiple_of(2) => {
            slots_command(ctx, &sub, &args[2..], true)
        }
        ("FLUSHSLOTS", 2) => flush_slots(ctx),
        ("MEET", 4 | 5) => meet(ctx, &args[2..]),
        ("FORGET", 3) => forget(ctx, &args[2]),
        ("REPLICATE", 3) => replicate(ctx, &args[2]),
        ("FAILOVER", 2 | 3) => failover(ctx, args.get(2)),
        ("SETSLOT", 4 | 5) => admin::setslot(ctx, &args[2..]),
        ("SET-CONFIG-EPOCH", 3) => set_config_epoch(ctx, &args[2]),
        ("BUMPEPOCH", 2) => bump_epoch(ctx),
        ("RESET", 2 | 3) => admin::reset(ctx, args.get(2)),
        ("SAVECONFIG", 2) => save_config(ctx),
        ("COUNT-FAILURE-REPORTS", 3) => {
            lookup(state_of(ctx)?, &args[2]).map(|n| integer(n.fail_reports.len()))
        }
        ("REPLICAS" | "SLAVES", 3) => replicas(ctx, &args[2]),
        ("LINKS", 2) => Ok(links(state_of(ctx)?)),
        (name, _) if KNOWN.contains(&name) => Err(arity(name)),
        _ => Err(Frame::error(format!(
            "ERR unknown subcommand '{}'. Try CLUSTER HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
    };
    changed(ctx);
    reply
}

const KNOWN: &[&str] = &[
    "INFO",
    "NODES",
    "SLOTS",
    "SHARDS",
    "MYID",
    "MYSHARDID",
    "KEYSLOT",
    "COUNTKEYSINSLOT",
    "GETKEYSINSLOT",
    "ADDSLOTS",
    "DELSLOTS",
    "ADDSLOTSRANGE",
    "DELSLOTSRANGE",
    "FLUSHSLOTS",
    "MEET",
    "FORGET",
    "REPLICATE",
    "FAILOVER",
    "SETSLOT",
    "SET-CONFIG-EPOCH",
    "BUMPEPOCH",
    "RESET",
    "SAVECONFIG",
    "COUNT-FAILURE-REPORTS",
    "REPLICAS",
    "SLAVES",
    "LINKS",
];

/// Recomputes the cluster state and persists whatever changed.
pub fn changed(ctx: &mut Ctx) {
    let require_coverage = ctx.state.config.get_bool("cluster-require-full-coverage");
    let node_timeout = ctx.state.config.get_int("cluster-node-timeout");
    if let Some(cluster) = ctx.state.cluster.as_deref_mut() {
        cluster.update_state(ctx.now, require_coverage, node_timeout);
    }
    after_change(ctx.state);
}

fn help() -> Frame {
    let lines = [
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "BUMPEPOCH",
        "COUNT-FAILURE-REPORTS <node-id>",
        "COUNTKEYSINSLOT <slot>",
        "DELSLOTS <slot> [<slot> ...]",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "FAILOVER [FORCE|TAKEOVER]",
        "FLUSHSLOTS",
        "FORGET <node-id>",
        "GETKEYSINSLOT <slot> <count>",
        "INFO",
        "KEYSLOT <key>",
        "LINKS",
        "MEET <ip> <port> [<bus-port>]",
        "MYID",
        "MYSHARDID",
        "NODES",
        "REPLICATE <node-id>",
        "RESET [HARD|SOFT]",
        "SET-CONFIG-EPOCH <epoch>",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "REPLICAS <node-id>",
        "SAVECONFIG",
        "SHARDS",
        "SLAVES <node-id>",
        "SLOTS",
        "HELP",
    ];
    Frame::Array(
        lines
            .iter()
            .map(|l| Frame::Simple(Bytes::from_static(l.as_bytes())))
            .collect(),
    )
}

/// A slot argument: 0..=16383, else Redis's error.
pub fn slot_arg(arg: &[u8]) -> Result<usize, Frame> {
    let invalid = || Frame::error("ERR Invalid or out of range slot");
    let n = std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(invalid)?;
    usize::try_from(n)
        .ok()
        .filter(|&s| s < 16384)
        .ok_or_else(invalid)
}

/// A known node by id argument.
pub fn lookup<'a>(cluster: &'a Cluster, arg: &[u8]) -> Result<&'a Node, Frame> {
    let unknown = || Frame::error(format!("ERR Unknown node {}", String::from_utf8_lossy(arg)));
    let id = NodeId::parse(arg).map_err(|_| unknown())?;
    cluster.nodes.get(&id).ok_or_else(unknown)
}

fn count_keys(ctx: &mut Ctx, arg: &[u8]) -> Reply {
    let slot = int(arg)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&s| s < 16384)
        .ok_or_else(|| Frame::error("ERR Invalid slot"))?;
    let now = ctx.now;
    Ok(integer(ctx.state.dbs[0].keys_in_slot(slot, now).len()))
}

fn get_keys(ctx: &mut Ctx, slot: &[u8], count: &[u8]) -> Reply {
    let invalid = || Frame::error("ERR Invalid slot or number of keys");
    let slot = int(slot).map_err(|_| invalid())?;
    let count = int(count).map_err(|_| invalid())?;
    if !(0..16384).contains(&slot) || count < 0 {
        return Err(invalid());
    }
    let now = ctx.now;
    let keys = ctx.state.dbs[0].keys_in_slot(slot as usize, now);
    Ok(Frame::Array(
        keys.into_iter()
            .take(count as usize)
            .map(Frame::Bulk)
            .collect(),
    ))
}

/// ADDSLOTS / DELSLOTS (and the RANGE forms): all checked first, then all applied.
fn slots_command(ctx: &mut Ctx, sub: &str, args: &[Bytes], ranges: bool) -> Reply {
    let mut slots = Vec::new();
    if ranges {
        for pair in args.chunks(2) {
            let (start, end) = (slot_arg(&pair[0])?, slot_arg(&pair[1])?);
            if start > end {
                return Err(Frame::error(format!(
                    "ERR start slot number {start} is greater than end slot number {end}"
                )));
            }
            slots.extend(start..=end);
        }
    } else {
        slots = args.iter().map(|a| slot_arg(a)).collect::<Result<_, _>>()?;
    }
    let add = sub.starts_with("ADD");
    let cluster = state_of(ctx)?;
    let mut seen = vec![false; 16384];
    for &slot in &slots {
        if std::mem::replace(&mut seen[slot], true) {
            return Err(Frame::error(format!(
                "ERR Slot {slot} specified multiple times"
            )));
        }
        match (add, cluster.slots[slot].is_some()) {
            (true, true) => return Err(Frame::error(format!("ERR Slot {slot} is already busy"))),
            (false, false) => {
                return Err(Frame::error(format!(
                    "ERR Slot {slot} is already unassigned"
                )))
            }
            _ => {}
        }
    }
    let me = cluster.myself;
    for slot in slots {
        if add {
            cluster.importing.remove(&slot);
            cluster.add_slot(slot, me);
        } else {
            cluster.del_slot(slot);
        }
    }
    cluster.todo_save = true;
    Ok(Frame::ok())
}

fn flush_slots(ctx: &mut Ctx) -> Reply {
    if !ctx.state.dbs[0].is_empty() {
        return Err(Frame::error(
            "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.",
        ));
    }
    let cluster = state_of(ctx)?;
    let me = cluster.myself;
    for slot in 0..cluster.slots.len() {
        if cluster.slots[slot] == Some(me) {
            cluster.del_slot(slot);
        }
    }
    cluster.todo_save = true;
    Ok(Frame::ok())
}

fn meet(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let port_arg = |arg: &Bytes, what: &str| {
        int(arg)
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| {
                Frame::error(format!(
                    "ERR Invalid {what} port specified: {}",
                    String::from_utf8_lossy(arg)
                ))
            })
    };
    let port = port_arg(&args[1], "base")?;
    let cport = match args.get(2) {
        Some(arg) => port_arg(arg, "bus")?,
        None => port
            .checked_add(10000)
            .ok_or_else(|| Frame::error("ERR Invalid node address specified"))?,
    };
    let ip_text = String::from_utf8_lossy(&args[0]).into_owned();
    let ip: std::net::IpAddr = ip_text.parse().map_err(|_| {
        Frame::error(format!(
            "ERR Invalid node address specified: {ip_text}:{port}"
        ))
    })?;
    let ip = ip.to_string();
    let now = ctx.now;
    let cluster = state_of(ctx)?;
    let pending = cluster
        .nodes
        .values()
        .any(|n| n.flags.handshake && n.ip == ip && n.port == port && n.cport == cport);
    if !pending {
        let mut node = Node::new(
            NodeId::random(),
            &ip,
            port,
            cport,
            NodeFlags {
                handshake: true,
                ..NodeFlags::default()
            },
            now,
        );
        node.meet = true;
        cluster.nodes.insert(node.id, node);
    }
    Ok(Frame::ok())
}

fn forget(ctx: &mut Ctx, arg: &[u8]) -> Reply {
    let now = ctx.now;
    let cluster = state_of(ctx)?;
    // A node already forgotten (banned) is unknown again, as in Redis 7.0.
    let id = lookup(cluster, arg)?.id;
    if id == cluster.myself {
        return Err(Frame::error(
            "ERR I tried hard but I can't forget myself...",
        ));
    }
    if !cluster.me().is_master() && cluster.me().master == Some(id) {
        return Err(Frame::error("ERR Can't forget my master!"));
    }
    cluster.banned.insert(id, now + BAN_TTL_MS);
    cluster.del_node(&id);
    Ok(Frame::ok())
}

fn replicate(ctx: &mut Ctx, arg: &[u8]) -> Reply {
    let has_keys = !ctx.state.dbs[0].is_empty();
    let cluster = state_of(ctx)?;
    let target = lookup(cluster, arg)?;
    let id = target.id;
    if id == cluster.myself {
        return Err(Frame::error("ERR Can't replicate myself"));
    }
    if !target.is_master() {
        return Err(Frame::error(
            "ERR I can only replicate a master, not a replica.",
        ));
    }
    if cluster.me().is_master() && (cluster.slot_count(&cluster.myself) > 0 || has_keys) {
        return Err(Frame::error(
            "ERR To set a master the node must be empty and without assigned slots.",
        ));
    }
    cluster.replicate(id);
    Ok(Frame::ok())
}

/// `CLUSTER FAILOVER [FORCE|TAKEOVER]`: OK at once, the switch happens in the background.
fn failover(ctx: &mut Ctx, mode: Option<&Bytes>) -> Reply {
    let mode = match mode.map(|m| upper(m)).as_deref() {
        None => Mode::Default,
        Some("FORCE") => Mode::Force,
        Some("TAKEOVER") => Mode::Takeover,
        Some(_) => return Err(Frame::error("ERR syntax error")),
    };
    failover::start(ctx.state, mode)?;
    Ok(Frame::ok())
}

fn set_config_epoch(ctx: &mut Ctx, arg: &[u8]) -> Reply {
    let epoch = int(arg)?;
    let cluster = state_of(ctx)?;
    if epoch < 0 {
        return Err(Frame::error(format!(
            "ERR Invalid config epoch specified: {epoch}"
        )));
    }
    if cluster.nodes.len() > 1 {
        return Err(Frame::error("ERR The user can assign a config epoch only when the node does not know any other node."));
    }
    if cluster.me().config_epoch != 0 {
        return Err(Frame::error("ERR Node config epoch is already non-zero"));
    }
    let epoch = epoch as u64;
    cluster.me_mut().config_epoch = epoch;
    cluster.current_epoch = cluster.current_epoch.max(epoch);
    cluster.todo_save = true;
    cluster.todo_fsync = true;
    Ok(Frame::ok())
}

fn bump_epoch(ctx: &mut Ctx) -> Reply {
    let cluster = state_of(ctx)?;
    let word = if cluster.bump_epoch_without_consensus() {
        "BUMPED"
    } else {
        "STILL"
    };
    Ok(Frame::Simple(Bytes::from(format!(
        "{word} {}",
        cluster.me().config_epoch
    ))))
}

fn save_config(ctx: &mut Ctx) -> Reply {
    let cluster = state_of(ctx)?;
    nodes_conf::save(cluster, true)
        .map_err(|e| Frame::error(format!("ERR error saving the cluster node config: {e}")))?;
    Ok(Frame::ok())
}

fn replicas(ctx: &mut Ctx, arg: &[u8]) -> Reply {
    let cluster = state_of(ctx)?;
    let node = lookup(cluster, arg)?;
    if !node.is_master() {
        return Err(Frame::error("ERR The specified node is not a master"));
    }
    Ok(Frame::Array(
        view::replica_lines(cluster, &node.id)
            .into_iter()
            .map(Frame::bulk)
            .collect(),
    ))
}

fn links(cluster: &Cluster) -> Frame {
    let link = |node: &Node| {
        let link = node.link.as_ref()?;
        Some(Frame::Map(vec![
            (Frame::bulk("direction"), Frame::bulk("to")),
            (Frame::bulk("node"), Frame::bulk(node.id.as_bytes())),
            (Frame::bulk("create-time"), integer(link.created)),
            (
                Frame::bulk("events"),
                Frame::bulk(if link.connected { "rw" } else { "" }),
            ),
            (Frame::bulk("send-buffer-allocated"), integer(0)),
            (Frame::bulk("send-buffer-used"), integer(0)),
        ]))
    };
    Frame::Array(cluster.nodes.values().filter_map(link).collect())
}
