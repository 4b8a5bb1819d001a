//! `nodes.conf`: the cluster configuration file, in Redis's format (the protocol crate's
//! [`NodesConf`]). [`save`] writes it two ways. When an epoch changed (a vote, an election,
//! a bump) it is replaced durably: temporary file, fsync, rename, fsync of the directory.
//! Otherwise — slot moves, which a reshard makes several times per slot — it is overwritten
//! in place like Redis 7.0 does: one write padded with newlines to the old length, then a
//! truncation, no fsync. A rename over the old file would cost a new inode and, on ext4, a
//! writeback of the file each time (three times slower SETSLOTs); the cluster re-learns
//! slot ownership from its peers anyway. [`load`] rebuilds a [`Cluster`] from the file at
//! start (blank lines, the padding, are skipped).

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

/// Writes the file: replaced durably (`durable`), else overwritten in place.
pub fn save(cluster: &Cluster, durable: bool) -> std::io::Result<()> {
    let text = render(cluster);
    if durable {
        replace(&cluster.path, &text)
    } else {
        overwrite(&cluster.path, text)
    }
}

/// Temporary file, fsync, rename, fsync of the directory.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Redis 7.0's `clusterSaveConfig` without fsync: the new text padded with newlines to the
/// old length in one write, so the file always parses, then cut to the text's length.
fn overwrite(path: &Path, text: String) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let len = text.len();
    let mut bytes = text.into_bytes();
    let old = usize::try_from(file.metadata()?.len()).unwrap_or(0);
    if old > len {
        bytes.resize(old, b'\n');
    }
    file.write_all(&bytes)?;
    if bytes.len() != len {
        file.set_len(len as u64)?;
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

#[cfg(test)]
mod tests {
    use slotgate_protocol::topology::{NodeFlags, NodeId};

    use super::*;

    fn node(port: u16, myself: bool) -> Node {
        let flags = NodeFlags {
            myself,
            master: true,
            ..NodeFlags::default()
        };
        Node::new(NodeId::random(), "127.0.0.1", port, port + 10000, flags, 0)
    }

    #[test]
    fn shorter_overwrite_and_durable_replace_load_back() {
        let dir = std::env::temp_dir().join(format!("nodes-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nodes.conf");
        let mut cluster = Cluster::new(node(7000, true), path.clone(), 0);
        let other = node(7001, false);
        let other_id = other.id;
        cluster.nodes.insert(other_id, other);
        (0..100).for_each(|slot| cluster.add_slot(slot, other_id));
        save(&cluster, false).unwrap();
        let long = std::fs::metadata(&path).unwrap().len();
        cluster.del_node(&other_id);
        save(&cluster, false).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() < long);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&cluster));
        let loaded = load(&path, 0).unwrap().unwrap();
        assert_eq!((loaded.myself, loaded.nodes.len()), (cluster.myself, 1));
        cluster.current_epoch = 7;
        save(&cluster, true).unwrap();
        assert_eq!(load(&path, 0).unwrap().unwrap().current_epoch, 7);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
