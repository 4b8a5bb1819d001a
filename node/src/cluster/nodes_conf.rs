//! `nodes.conf`: the cluster configuration file, in Redis's format (the protocol crate's
//! [`NodesConf`]). [`save`] rewrites it atomically — temporary file, rename — and, when an
//! epoch changed (a vote, an election, a bump), durably: fsync of the file before the
//! rename and of the directory after. Like Redis, slot moves alone are not fsynced: a
//! reshard saves the file several times per slot, and the cluster re-learns ownership
//! from its peers anyway. [`load`] rebuilds a [`Cluster`] from the file at start.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use slotgate_protocol::topology::{ClusterNode, ClusterVars, NodesConf, OpenSlot};

use super::state::{Cluster, Node};

/// The file's text for the current state (handshake nodes are left out).
pub fn render(cluster: &Cluster) -> String {
    let ranges = super::view::ranges_by_owner(cluster);
    let nodes = cluster
        .nodes
        .values()
        .filter(|n| !n.flags.handshake)
        .map(|n| super::view::describe(cluster, n, &ranges))
        .collect();
    let vars = ClusterVars {
        current_epoch: cluster.current_epoch,
        last_vote_epoch: cluster.last_vote_epoch,
    };
    NodesConf { nodes, vars }.to_string()
}

/// Writes the file atomically; `durable`: fsynced too.
pub fn save(cluster: &Cluster, durable: bool) -> std::io::Result<()> {
    let text = render(cluster);
    let path = &cluster.path;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        if durable {
            file.sync_all()?;
        }
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path
        .parent()
        .filter(|d| durable && !d.as_os_str().is_empty())
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Reads the file; `Ok(None)` when it is missing or empty (a fresh node).
pub fn load(path: &Path, now: i64) -> anyhow::Result<Option<Cluster>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let conf = NodesConf::parse(&text).map_err(|e| {
        anyhow::anyhow!(
            "Unrecoverable error: corrupted cluster config file \"{}\": {e}",
            path.display()
        )
    })?;
    let me = conf
        .nodes
        .iter()
        .find(|n| n.flags.myself)
        .ok_or_else(|| anyhow::anyhow!("{}: no line for myself", path.display()))?;
    let mut cluster = Cluster::new(node_from(me, now), path.to_path_buf(), now);
    let mut owners: HashMap<usize, _> = HashMap::new();
    for line in &conf.nodes {
        for range in &line.slots {
            owners.extend(range.slots().map(|s| (s.index(), line.id)));
        }
        if !line.flags.myself {
            cluster.nodes.insert(line.id, node_from(line, now));
        }
    }
    owners
        .into_iter()
        .for_each(|(slot, id)| cluster.add_slot(slot, id));
    for open in &me.open_slots {
        match *open {
            OpenSlot::Migrating { slot, to } => cluster.migrating.insert(slot.index(), to),
            OpenSlot::Importing { slot, from } => cluster.importing.insert(slot.index(), from),
        };
    }
    cluster.current_epoch = conf.vars.current_epoch.max(cluster.max_epoch());
    cluster.last_vote_epoch = conf.vars.last_vote_epoch;
    cluster.todo_save = false;
    Ok(Some(cluster))
}

fn node_from(line: &ClusterNode, now: i64) -> Node {
    let mut node = Node::new(
        line.id,
        &line.addr.host,
        line.addr.port,
        line.bus_port,
        line.flags,
        now,
    );
    node.hostname = line.hostname.clone().unwrap_or_default();
    node.master = line.master;
    node.config_epoch = if line.flags.replica {
        0
    } else {
        line.config_epoch
    };
    node.shard_id = line.shard_id.unwrap_or(node.shard_id);
    node.pong_recv = if line.pong_recv != 0 { now } else { 0 };
    node.flags.handshake = false;
    node
}
