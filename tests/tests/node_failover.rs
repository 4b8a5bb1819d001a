//! Automatic and manual failover (issue 5) between real processes, 3 masters + 3 replicas,
//! `cluster-node-timeout 5000`, against slotgate-node and against redis-server 7 (so we
//! know the test tests Redis's behaviour). A client writes continuously, each write
//! followed by `WAIT 1 1000`; every write WAIT acknowledged must survive:
//! - `kill -9` of a master: its replica takes over within node timeout + 5 s, every
//!   surviving node says `cluster_state:ok`, `redis-cli --cluster check` passes, and the
//!   killed node, restarted, rejoins as a replica of the new master;
//! - `CLUSTER FAILOVER` on a replica under load, plain SETs and MULTI/SET/EXEC
//!   transactions: no error but MOVED (the master pauses writes and EXECs of writes);
//! - `kill -STOP` of a master until its replica took over, then `kill -CONT`: the old
//!   master steps down and redirects writes for its old slots to the new master;
//! - replica migration: a spare replica of a master with two moves to a master whose only
//!   replica died.

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use slotgate_protocol::{key_slot, Frame};
use slotgate_tests::both_servers;
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, RedisServer, ServerKind};
use slotgate_tests::{eventually, free_port, Background, Client};

const NODE_TIMEOUT: Duration = Duration::from_millis(5000);

fn spec(kind: ServerKind) -> ClusterSpec {
    ClusterSpec {
        node_timeout_ms: NODE_TIMEOUT.as_millis() as u64,
        ..ClusterSpec::three_by_one(kind)
    }
}

fn text(port: u16, args: &[&str]) -> Result<String, String> {
    Client::connect(port)
        .and_then(|mut c| c.text(args))
        .map_err(|e| format!("{port}: {e}"))
}

/// `field:value` of an INFO / CLUSTER INFO text.
fn field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The replica (port) of the master on `master` port, as `seed` sees it.
fn replica_of(seed: u16, master: u16) -> Result<u16, String> {
    let nodes = text(seed, &["CLUSTER", "NODES"])?;
    let port_of = |line: &str| -> u16 {
        let addr = line.split(' ').nth(1).unwrap_or_default();
        let port = addr
            .split('@')
            .next()
            .unwrap_or_default()
            .rsplit(':')
            .next();
        port.and_then(|p| p.parse().ok()).unwrap_or(0)
    };
    let master_id = nodes
        .lines()
        .find(|l| port_of(l) == master)
        .and_then(|l| l.split(' ').next())
        .ok_or_else(|| format!("no master {master} in {nodes}"))?;
    nodes
        .lines()
        .find(|l| l.split(' ').nth(3) == Some(master_id))
        .map(port_of)
        .ok_or_else(|| format!("no replica of {master} in {nodes}"))
}

/// What the writer saw.
#[derive(Default)]
struct Outcome {
    /// Key → value of every write that WAIT acknowledged with 1.
    acked: HashMap<String, String>,
    /// Errors other than MOVED, and connection failures.
    errors: Vec<String>,
    writes: usize,
}

/// How a [`Writer`] writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `SET key:N vN`.
    Plain,
    /// `MULTI`, `SET tx:N vN`, `EXEC`.
    Transaction,
}

/// A client writing `key:N` (or `tx:N`) keys in a loop, following MOVED.
struct Writer(Background<Outcome>);

impl Writer {
    fn start(ports: Vec<u16>, mode: Mode) -> Writer {
        Writer(Background::spawn(move |stop| {
            write_loop(&ports, mode, stop)
        }))
    }

    fn finish(self) -> Outcome {
        self.0.finish()
    }
}

fn write_loop(ports: &[u16], mode: Mode, stop: &AtomicBool) -> Outcome {
    let mut outcome = Outcome::default();
    let mut owners: HashMap<u16, u16> = HashMap::new();
    let mut conns: HashMap<u16, Client> = HashMap::new();
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let prefix = if mode == Mode::Plain { "key" } else { "tx" };
        let (key, value) = (format!("{prefix}:{n}"), format!("v{n}"));
        let slot = key_slot(key.as_bytes()).get();
        let port = *owners.get(&slot).unwrap_or(&ports[n % ports.len()]);
        let conn = Conn {
            conns: &mut conns,
            owners: &mut owners,
            mode,
        };
        let result = write_one(conn, port, &key, &value, slot);
        outcome.writes += 1;
        match result {
            Ok(true) => drop(outcome.acked.insert(key, value)),
            Ok(false) => {}
            Err(e) => {
                outcome.errors.push(e);
                conns.remove(&port);
                owners.remove(&slot);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    outcome
}

/// A writer's connections (by port), known slot owners, and mode.
struct Conn<'a> {
    conns: &'a mut HashMap<u16, Client>,
    owners: &'a mut HashMap<u16, u16>,
    mode: Mode,
}

/// SET (or a transaction of it) then WAIT 1 1000 on the slot's owner, following up to 5
/// MOVEDs. Ok(true) when WAIT said 1.
fn write_one(w: Conn, mut port: u16, key: &str, value: &str, slot: u16) -> Result<bool, String> {
    for _ in 0..5 {
        let conn = match w.conns.entry(port) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(Client::connect(port).map_err(|e| format!("connect {port}: {e}"))?)
            }
        };
        let reply = match w.mode {
            Mode::Plain => conn.cmd(&["SET", key, value]),
            Mode::Transaction => transaction(conn, key, value),
        };
        match reply.map_err(|e| format!("SET on {port}: {e}"))? {
            Frame::Error(e) if e.starts_with(b"MOVED ") => {
                port = moved_port(&String::from_utf8_lossy(&e))?;
                w.owners.insert(slot, port);
                continue;
            }
            Frame::Error(e) => return Err(String::from_utf8_lossy(&e).into_owned()),
            Frame::Array(replies) if replies != [Frame::ok()] => {
                return Err(format!("EXEC on {port}: {replies:?}"));
            }
            _ => {}
        }
        let acks = conn
            .cmd(&["WAIT", "1", "1000"])
            .map_err(|e| format!("WAIT on {port}: {e}"))?;
        return match acks {
            Frame::Integer(n) => Ok(n >= 1),
            // Redis unblocks a WAIT in flight when its master turns replica: that write is
            // simply not acknowledged, and the connection is dropped as Redis may close it.
            Frame::Error(e) if e.starts_with(b"UNBLOCKED ") => {
                w.conns.remove(&port);
                Ok(false)
            }
            other => Err(format!("WAIT on {port}: {}", frame_text(&other))),
        };
    }
    Err(format!("too many redirections for {key}"))
}

/// MULTI, SET, EXEC: EXEC's reply, or the SET's error (MOVED) after DISCARD.
fn transaction(conn: &mut Client, key: &str, value: &str) -> std::io::Result<Frame> {
    conn.cmd(&["MULTI"])?;
    let queued = conn.cmd(&["SET", key, value])?;
    if let Frame::Error(_) = queued {
        conn.cmd(&["DISCARD"])?;
        return Ok(queued);
    }
    conn.cmd(&["EXEC"])
}

fn moved_port(error: &str) -> Result<u16, String> {
    error
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("bad MOVED: {error}"))
}

/// Reads `key` from its owner, following MOVED from `seed`.
fn read(seed: u16, key: &str) -> Result<Option<String>, String> {
    let mut port = seed;
    for _ in 0..5 {
        let reply = Client::connect(port)
            .and_then(|mut c| c.cmd(&["GET", key]))
            .map_err(|e| format!("GET {key} on {port}: {e}"))?;
        match reply {
            Frame::Error(e) if e.starts_with(b"MOVED ") => {
                port = moved_port(&String::from_utf8_lossy(&e))?;
            }
            Frame::Null => return Ok(None),
            other => return Ok(Some(frame_text(&other))),
        }
    }
    Err(format!("too many redirections for {key}"))
}

/// Every acknowledged write reads back from `seed`'s view of the cluster.
fn assert_acked_readable(seed: u16, outcome: &Outcome) {
    assert!(
        outcome.acked.len() > 20,
        "too few acknowledged writes: {} of {}",
        outcome.acked.len(),
        outcome.writes
    );
    for (key, value) in &outcome.acked {
        let got = read(seed, key).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got.as_deref(),
            Some(value.as_str()),
            "acknowledged {key} lost"
        );
    }
}

/// `redis-cli --cluster check` against `port` passes.
fn cluster_check(port: u16) {
    let out = Command::new("redis-cli")
        .args(["--cluster", "check", &format!("127.0.0.1:{port}")])
        .output()
        .expect("run redis-cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("[OK] All nodes agree")
            && stdout.contains("[OK] All 16384 slots covered"),
        "cluster check failed:\n{stdout}"
    );
}

/// Waits until `port` is a master and every port of `survivors` says `cluster_state:ok`;
/// the time it took since `since`.
fn wait_taken_over(port: u16, survivors: &[u16], since: Instant, within: Duration) -> Duration {
    eventually(within, || -> Result<(), String> {
        let role = field(&text(port, &["INFO", "replication"])?, "role");
        if role != "master" {
            return Err(format!("{port} is still {role}"));
        }
        for &node in survivors {
            let info = text(node, &["CLUSTER", "INFO"])?;
            if field(&info, "cluster_state") != "ok" {
                return Err(format!("{node}: cluster_state not ok"));
            }
        }
        Ok(())
    });
    since.elapsed()
}

/// Waits until `port` is a replica of `master` with its link up.
fn wait_replica_of(port: u16, master: u16, within: Duration) {
    eventually(within, || -> Result<(), String> {
        let info = text(port, &["INFO", "replication"])?;
        let ok = field(&info, "role") == "slave"
            && field(&info, "master_port") == master.to_string()
            && field(&info, "master_link_status") == "up";
        ok.then_some(()).ok_or(info)
    });
}

/// The master that is not node 0 (so node 0 keeps answering), its replica, and the
/// ports of every other node.
fn victim(cluster: &RedisCluster) -> (u16, u16, Vec<u16>) {
    let seed = cluster.nodes[0].port;
    let master = *cluster
        .master_ports()
        .iter()
        .find(|&&p| p != seed)
        .expect("a second master");
    let replica = eventually(Duration::from_secs(10), || replica_of(seed, master));
    let others = cluster
        .nodes
        .iter()
        .map(|n| n.port)
        .filter(|&p| p != master)
        .collect();
    (master, replica, others)
}

/// Sends `sig` (STOP, CONT) to the node on `port`.
fn signal(cluster: &RedisCluster, port: u16, sig: &str) {
    let node = cluster.nodes.iter().find(|n| n.port == port);
    node.expect("a node on that port").child().signal(sig);
}

fn kill_master(kind: ServerKind) {
    let mut cluster = RedisCluster::start(spec(kind));
    let (master, replica, survivors) = victim(&cluster);
    let writer = Writer::start(survivors.clone(), Mode::Plain);
    std::thread::sleep(Duration::from_secs(2));
    cluster.node_mut(master).kill();
    let killed = Instant::now();
    let took = wait_taken_over(
        replica,
        &survivors,
        killed,
        NODE_TIMEOUT + Duration::from_secs(5),
    );
    eprintln!("{kind:?}: kill -9 → replica master and cluster_state:ok everywhere in {took:?}");
    std::thread::sleep(Duration::from_secs(1));
    let outcome = writer.finish();
    cluster_check(survivors[0]);
    assert_acked_readable(survivors[0], &outcome);
    cluster.node_mut(master).restart();
    wait_replica_of(master, replica, Duration::from_secs(20));
}

fn manual_failover(kind: ServerKind) {
    let cluster = RedisCluster::start(spec(kind));
    let (master, replica, _) = victim(&cluster);
    let all: Vec<u16> = cluster.nodes.iter().map(|n| n.port).collect();
    let writer = Writer::start(all.clone(), Mode::Plain);
    let tx_writer = Writer::start(all.clone(), Mode::Transaction);
    std::thread::sleep(Duration::from_secs(2));
    let ok = text(replica, &["CLUSTER", "FAILOVER"]).expect("cluster failover");
    assert_eq!(ok, "OK");
    let took = wait_taken_over(replica, &all, Instant::now(), Duration::from_secs(15));
    eprintln!("{kind:?}: CLUSTER FAILOVER done in {took:?}");
    wait_replica_of(master, replica, Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(1));
    for outcome in [writer.finish(), tx_writer.finish()] {
        assert!(
            outcome.errors.is_empty(),
            "client errors: {:?}",
            outcome.errors
        );
        assert_acked_readable(all[0], &outcome);
    }
    cluster_check(all[0]);
}

fn pause_master(kind: ServerKind) {
    let cluster = RedisCluster::start(spec(kind));
    let (master, replica, survivors) = victim(&cluster);
    let writer = Writer::start(survivors.clone(), Mode::Plain);
    std::thread::sleep(Duration::from_secs(2));
    signal(&cluster, master, "STOP");
    let stopped = Instant::now();
    let took = wait_taken_over(
        replica,
        &survivors,
        stopped,
        NODE_TIMEOUT + Duration::from_secs(10),
    );
    eprintln!("{kind:?}: kill -STOP → failover in {took:?}");
    signal(&cluster, master, "CONT");
    wait_replica_of(master, replica, Duration::from_secs(20));
    let outcome = writer.finish();
    assert_acked_readable(survivors[0], &outcome);
    let key = outcome.acked.keys().find(|k| {
        let slot = key_slot(k.as_bytes()).get();
        let slots = text(replica, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]);
        slots.is_ok_and(|n| n != "0")
    });
    let key = key.expect("an acknowledged key the new master serves");
    let reply = Client::connect(master)
        .and_then(|mut c| c.cmd(&["SET", key, "split-brain"]))
        .expect("write to the old master");
    assert!(
        frame_text(&reply).starts_with("-MOVED "),
        "the old master still accepts writes: {reply:?}"
    );
    cluster_check(survivors[0]);
}

/// The node timeout of the replica-migration scenario (failure detection of a replica
/// is not what it tests).
const MIGRATION_NODE_TIMEOUT_MS: u64 = 2000;

/// `CLUSTER NODES` lines as (id, port, flags, master id).
fn nodes_table(port: u16) -> Result<Vec<(String, u16, String, String)>, String> {
    let nodes = text(port, &["CLUSTER", "NODES"])?;
    let row = |line: &str| {
        let f: Vec<&str> = line.split(' ').collect();
        let port = f
            .get(1)?
            .split('@')
            .next()?
            .rsplit(':')
            .next()?
            .parse()
            .ok()?;
        Some((
            f[0].to_owned(),
            port,
            f.get(2)?.to_string(),
            f.get(3)?.to_string(),
        ))
    };
    Ok(nodes.lines().filter_map(row).collect())
}

/// Replica migration: 3 masters, one ("rich") with 2 replicas, another ("poor") with
/// one. Killing the poor master's replica orphans it, and one of the rich master's
/// replicas (the one with the smallest id) migrates to it, leaving the rich master
/// `cluster-migration-barrier` (1) replica.
fn replica_migration(kind: ServerKind) {
    let cluster = RedisCluster::start(ClusterSpec {
        node_timeout_ms: MIGRATION_NODE_TIMEOUT_MS,
        ..ClusterSpec::three_by_one(kind)
    });
    let (poor, poor_replica, others) = victim(&cluster);
    let seed = *others
        .iter()
        .find(|&&p| p != poor_replica)
        .expect("a node that stays");
    let rich = *cluster
        .master_ports()
        .iter()
        .find(|&&p| p != poor)
        .expect("a second master");
    let timeout = MIGRATION_NODE_TIMEOUT_MS.to_string();
    let spare = RedisServer::start(
        kind,
        free_port(),
        &[
            ("cluster-enabled", "yes"),
            ("cluster-config-file", "nodes.conf"),
            ("cluster-node-timeout", &timeout),
        ],
    );
    let barrier = spare
        .client()
        .cmd(&["CONFIG", "GET", "cluster-migration-barrier"]);
    let Ok(Frame::Array(barrier)) = barrier else {
        panic!("CONFIG GET: {barrier:?}");
    };
    let barrier: Vec<String> = barrier.iter().map(frame_text).collect();
    assert_eq!(barrier, ["cluster-migration-barrier", "1"]);
    let set = text(
        spare.port,
        &["CONFIG", "SET", "cluster-migration-barrier", "1"],
    );
    assert_eq!(set.expect("config set"), "OK");
    let meet = text(
        spare.port,
        &["CLUSTER", "MEET", "127.0.0.1", &seed.to_string()],
    );
    assert_eq!(meet.expect("cluster meet"), "OK");
    let rich_id = text(rich, &["CLUSTER", "MYID"]).expect("myid");
    eventually(Duration::from_secs(20), || {
        text(spare.port, &["CLUSTER", "REPLICATE", &rich_id])
            .and_then(|r| (r == "OK").then_some(()).ok_or(r))
    });
    wait_replica_of(spare.port, rich, Duration::from_secs(20));
    let poor_id = text(poor, &["CLUSTER", "MYID"]).expect("myid");
    let everyone: Vec<u16> = cluster.nodes.iter().map(|n| n.port).collect();
    eventually(Duration::from_secs(20), || -> Result<(), String> {
        for &port in everyone.iter().chain([&spare.port]) {
            let table = nodes_table(port)?;
            let rich_replicas = table.iter().filter(|n| n.3 == rich_id).count();
            if rich_replicas != 2 {
                return Err(format!("{port} does not know both replicas yet: {table:?}"));
            }
        }
        Ok(())
    });
    let mut cluster = cluster;
    cluster.node_mut(poor_replica).kill();
    let killed = Instant::now();
    let migrated = eventually(Duration::from_secs(30), || -> Result<u16, String> {
        let table = nodes_table(seed)?;
        table
            .iter()
            .find(|n| n.3 == poor_id && n.1 != poor_replica && !n.2.contains("fail"))
            .map(|n| n.1)
            .ok_or(format!("no spare replica of the orphan yet: {table:?}"))
    });
    eprintln!(
        "{kind:?}: replica {migrated} migrated to the orphaned master {poor} {:?} after the kill",
        killed.elapsed()
    );
    wait_replica_of(migrated, poor, Duration::from_secs(20));
    let table = nodes_table(seed).expect("cluster nodes");
    let rich_left = table.iter().filter(|n| n.3 == rich_id).count();
    assert_eq!(rich_left, 1, "the rich master keeps one replica: {table:?}");
    let smallest = table.iter().filter(|n| n.3 == rich_id || n.1 == migrated);
    let smallest = smallest.min_by(|a, b| a.0.cmp(&b.0)).map(|n| n.1);
    assert_eq!(
        smallest,
        Some(migrated),
        "the smallest id migrates: {table:?}"
    );
}

both_servers! {
    kill_master => kill_master_slotgate, kill_master_redis;
    manual_failover => manual_failover_slotgate, manual_failover_redis;
    pause_master => pause_master_slotgate, pause_master_redis;
    replica_migration => replica_migration_slotgate, replica_migration_redis;
}
