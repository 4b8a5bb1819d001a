//! Automatic and manual failover (issue 5) between real processes, 3 masters + 3 replicas,
//! `cluster-node-timeout 5000`, against slotgate-node and against redis-server 7 (so we
//! know the test tests Redis's behaviour). A client writes continuously, each write
//! followed by `WAIT 1 1000`; every write WAIT acknowledged must survive:
//! - `kill -9` of a master: its replica takes over within node timeout + 5 s, every
//!   surviving node says `cluster_state:ok`, `redis-cli --cluster check` passes, and the
//!   killed node, restarted, rejoins as a replica of the new master;
//! - `CLUSTER FAILOVER` on a replica under load: no error but MOVED;
//! - `kill -STOP` of a master until its replica took over, then `kill -CONT`: the old
//!   master steps down and redirects writes for its old slots to the new master.

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use slotgate_protocol::{key_slot, Frame};
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, Client};

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

/// A client writing `key:N` keys in a loop, following MOVED.
struct Writer {
    stop: Arc<AtomicBool>,
    outcome: Arc<Mutex<Outcome>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn start(ports: Vec<u16>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let (s, o) = (stop.clone(), outcome.clone());
        let thread = std::thread::spawn(move || write_loop(&ports, &s, &o));
        Writer {
            stop,
            outcome,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Outcome {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("writer thread");
        }
        std::mem::take(&mut *self.outcome.lock().expect("outcome"))
    }
}

fn write_loop(ports: &[u16], stop: &AtomicBool, outcome: &Mutex<Outcome>) {
    let mut owners: HashMap<u16, u16> = HashMap::new();
    let mut conns: HashMap<u16, Client> = HashMap::new();
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let (key, value) = (format!("key:{n}"), format!("v{n}"));
        let slot = key_slot(key.as_bytes()).get();
        let port = *owners.get(&slot).unwrap_or(&ports[n % ports.len()]);
        let result = write_one(&mut conns, port, &key, &value, &mut owners, slot);
        let mut outcome = outcome.lock().expect("outcome");
        outcome.writes += 1;
        match result {
            Ok(true) => drop(outcome.acked.insert(key, value)),
            Ok(false) => {}
            Err(e) => {
                outcome.errors.push(e);
                drop(outcome);
                conns.remove(&port);
                owners.remove(&slot);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// SET then WAIT 1 1000 on the slot's owner, following up to 5 MOVEDs. Ok(true) when WAIT
/// said 1.
fn write_one(
    conns: &mut HashMap<u16, Client>,
    mut port: u16,
    key: &str,
    value: &str,
    owners: &mut HashMap<u16, u16>,
    slot: u16,
) -> Result<bool, String> {
    for _ in 0..5 {
        let conn = match conns.entry(port) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(Client::connect(port).map_err(|e| format!("connect {port}: {e}"))?)
            }
        };
        let reply = conn
            .cmd(&["SET", key, value])
            .map_err(|e| format!("SET on {port}: {e}"))?;
        match reply {
            Frame::Error(e) if e.starts_with(b"MOVED ") => {
                port = moved_port(&String::from_utf8_lossy(&e))?;
                owners.insert(slot, port);
                continue;
            }
            Frame::Error(e) => return Err(String::from_utf8_lossy(&e).into_owned()),
            _ => {}
        }
        let acks = conn
            .cmd(&["WAIT", "1", "1000"])
            .map_err(|e| format!("WAIT on {port}: {e}"))?;
        return match acks {
            Frame::Integer(n) => Ok(n >= 1),
            other => Err(format!("WAIT on {port}: {}", frame_text(&other))),
        };
    }
    Err(format!("too many redirections for {key}"))
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

fn kill_master(kind: ServerKind) {
    let mut cluster = RedisCluster::start(spec(kind));
    let (master, replica, survivors) = victim(&cluster);
    let writer = Writer::start(survivors.clone());
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
    let writer = Writer::start(all.clone());
    std::thread::sleep(Duration::from_secs(2));
    let ok = text(replica, &["CLUSTER", "FAILOVER"]).expect("cluster failover");
    assert_eq!(ok, "OK");
    let took = wait_taken_over(replica, &all, Instant::now(), Duration::from_secs(15));
    eprintln!("{kind:?}: CLUSTER FAILOVER done in {took:?}");
    wait_replica_of(master, replica, Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(1));
    let outcome = writer.finish();
    assert!(
        outcome.errors.is_empty(),
        "client errors: {:?}",
        outcome.errors
    );
    assert_acked_readable(all[0], &outcome);
    cluster_check(all[0]);
}

fn pause_master(kind: ServerKind) {
    let cluster = RedisCluster::start(spec(kind));
    let (master, replica, survivors) = victim(&cluster);
    let writer = Writer::start(survivors.clone());
    std::thread::sleep(Duration::from_secs(2));
    cluster
        .nodes
        .iter()
        .find(|n| n.port == master)
        .expect("master")
        .child()
        .signal("STOP");
    let stopped = Instant::now();
    let took = wait_taken_over(
        replica,
        &survivors,
        stopped,
        NODE_TIMEOUT + Duration::from_secs(10),
    );
    eprintln!("{kind:?}: kill -STOP → failover in {took:?}");
    cluster
        .nodes
        .iter()
        .find(|n| n.port == master)
        .expect("master")
        .child()
        .signal("CONT");
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

#[test]
fn kill_master_slotgate() {
    kill_master(ServerKind::SlotgateNode);
}

#[test]
fn kill_master_redis() {
    kill_master(ServerKind::Redis);
}

#[test]
fn manual_failover_slotgate() {
    manual_failover(ServerKind::SlotgateNode);
}

#[test]
fn manual_failover_redis() {
    manual_failover(ServerKind::Redis);
}

#[test]
fn pause_master_slotgate() {
    pause_master(ServerKind::SlotgateNode);
}

#[test]
fn pause_master_redis() {
    pause_master(ServerKind::Redis);
}
