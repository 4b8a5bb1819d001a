//! Cluster-mode acceptance (issue 4), the same scenario against six `slotgate-node`s and
//! against six real `redis-server`s (so we know the test tests Redis's behaviour): the
//! real `redis-cli --cluster create … --cluster-replicas 1 -a strongpass`, CLUSTER INFO,
//! `--cluster check`, MOVED / ASK / ASKING / CROSSSLOT / TRYAGAIN, `redis-cli -c`, then
//! `--cluster add-node` and `--cluster reshard` of 1000 slots while a client keeps writing
//! and reading, with every key and TTL checked afterwards; `--cluster fix` of an open slot,
//! `--cluster rebalance`, `--cluster del-node`; and a restart of every node.

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use slotgate_protocol::{key_slot, Frame};
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, RedisServer, ServerKind};
use slotgate_tests::{eventually, free_port, Background, Client};

const PASSWORD: &str = "strongpass";

fn spec(kind: ServerKind) -> ClusterSpec {
    ClusterSpec {
        password: Some(PASSWORD.into()),
        appendonly: true,
        ..ClusterSpec::three_by_one(kind)
    }
}

/// `redis-cli -a strongpass …`, its stdout; panics with the output when it fails.
fn redis_cli(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-a", PASSWORD, "--no-auth-warning"])
        .args(args)
        .output()
        .expect("run redis-cli");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "redis-cli {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A client that follows MOVED, ASK and TRYAGAIN like the cluster libraries do.
struct ClusterClient {
    slots: HashMap<u16, u16>,
    conns: HashMap<u16, Client>,
    seed: u16,
}

impl ClusterClient {
    fn new(seed: u16) -> ClusterClient {
        let mut client = ClusterClient {
            slots: HashMap::new(),
            conns: HashMap::new(),
            seed,
        };
        client.refresh();
        client
    }

    fn conn(&mut self, port: u16) -> &mut Client {
        self.conns
            .entry(port)
            .or_insert_with(|| Client::connect_auth(port, Some(PASSWORD)).expect("connect"))
    }

    fn refresh(&mut self) {
        let seed = self.seed;
        let Frame::Array(ranges) = self
            .conn(seed)
            .cmd(&["CLUSTER", "SLOTS"])
            .expect("cluster slots")
        else {
            panic!("CLUSTER SLOTS")
        };
        for range in ranges {
            let Frame::Array(items) = range else { continue };
            let (Frame::Integer(start), Frame::Integer(end), Frame::Array(master)) =
                (&items[0], &items[1], &items[2])
            else {
                continue;
            };
            let Frame::Integer(port) = master[1] else {
                continue;
            };
            for s in *start..=*end {
                self.slots.insert(s as u16, port as u16);
            }
        }
    }

    /// Runs a keyed command on the node owning `key`, following redirections.
    fn cmd(&mut self, key: &str, args: &[&str]) -> Frame {
        let mut port = self.slots[&key_slot(key.as_bytes()).get()];
        let mut asking = false;
        for _ in 0..50 {
            let conn = self.conn(port);
            if asking {
                assert_eq!(conn.cmd(&["ASKING"]).expect("asking"), Frame::ok());
            }
            let reply = conn.cmd(args).expect("command");
            let Frame::Error(e) = &reply else {
                return reply;
            };
            let text = String::from_utf8_lossy(e).into_owned();
            let words: Vec<&str> = text.split(' ').collect();
            match words[0] {
                "MOVED" | "ASK" => {
                    port = words[2]
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse().ok())
                        .expect("redirect port");
                    asking = words[0] == "ASK";
                    if !asking {
                        self.slots.insert(words[1].parse().expect("slot"), port);
                    }
                }
                "TRYAGAIN" => std::thread::sleep(Duration::from_millis(20)),
                _ => return reply,
            }
        }
        panic!("too many redirections for {args:?}");
    }
}

fn check_info(cluster: &RedisCluster) {
    let info = cluster.nodes[0]
        .client()
        .text(&["CLUSTER", "INFO"])
        .expect("cluster info");
    assert_eq!(info_field(&info, "cluster_state"), "ok", "{info}");
    assert_eq!(info_field(&info, "cluster_slots_assigned"), "16384");
    assert_eq!(info_field(&info, "cluster_known_nodes"), "6");
    assert_eq!(info_field(&info, "cluster_size"), "3");
    let via_cli = redis_cli(&["-p", &cluster.nodes[0].port.to_string(), "cluster", "info"]);
    assert_eq!(info_field(&via_cli, "cluster_state"), "ok");
    cluster.check().expect("redis-cli --cluster check");
}

/// MOVED names the owner from CLUSTER SLOTS; CROSSSLOT; `redis-cli -c` follows MOVED.
fn check_moved_and_crossslot(cluster: &RedisCluster) {
    let routing = ClusterClient::new(cluster.nodes[0].port);
    let owner = routing.slots[&key_slot(b"foo").get()];
    let other = cluster
        .nodes
        .iter()
        .map(|n| n.port)
        .find(|p| *p != owner && routing.slots.values().any(|o| o == p))
        .expect("another master");
    let mut client = Client::connect_auth(other, Some(PASSWORD)).expect("connect");
    assert_eq!(
        client.text(&["SET", "foo", "bar"]).unwrap(),
        format!("-MOVED 12182 127.0.0.1:{owner}")
    );
    let crossslot = client.text(&["MSET", "a", "1", "b", "2"]).unwrap();
    assert_eq!(
        crossslot,
        "-CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert_eq!(
        client.text(&["SELECT", "1"]).unwrap(),
        "-ERR SELECT is not allowed in cluster mode"
    );
    let port = other.to_string();
    assert_eq!(
        redis_cli(&["-c", "-p", &port, "set", "foo", "bar"]).trim(),
        "OK"
    );
    assert_eq!(redis_cli(&["-c", "-p", &port, "get", "foo"]).trim(), "bar");
}

/// ASK while a slot migrates, ASKING on the importing node, TRYAGAIN for split multi-key.
fn check_ask_and_tryagain(cluster: &RedisCluster) {
    let routing = ClusterClient::new(cluster.nodes[0].port);
    let (key, present) = ("{mig}absent", "{mig}present");
    let slot = key_slot(key.as_bytes()).get().to_string();
    let source = routing.slots[&key_slot(key.as_bytes()).get()];
    let target = cluster
        .nodes
        .iter()
        .map(|n| n.port)
        .find(|p| *p != source && routing.slots.values().any(|o| o == p))
        .expect("target");
    let id = |port: u16| {
        Client::connect_auth(port, Some(PASSWORD))
            .unwrap()
            .text(&["CLUSTER", "MYID"])
            .unwrap()
    };
    let (source_id, target_id) = (id(source), id(target));
    let mut src = Client::connect_auth(source, Some(PASSWORD)).unwrap();
    let mut dst = Client::connect_auth(target, Some(PASSWORD)).unwrap();
    assert_eq!(src.text(&["SET", present, "v"]).unwrap(), "OK");
    assert_eq!(
        dst.text(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &source_id])
            .unwrap(),
        "OK"
    );
    assert_eq!(
        src.text(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &target_id])
            .unwrap(),
        "OK"
    );
    assert_eq!(
        src.text(&["GET", key]).unwrap(),
        format!("-ASK {slot} 127.0.0.1:{target}")
    );
    assert_eq!(src.text(&["GET", present]).unwrap(), "v");
    assert_eq!(
        src.text(&["MGET", present, key]).unwrap(),
        "-TRYAGAIN Multiple keys request during rehashing of slot"
    );
    assert_eq!(
        dst.text(&["GET", key]).unwrap(),
        format!("-MOVED {slot} 127.0.0.1:{source}")
    );
    assert_eq!(dst.text(&["ASKING"]).unwrap(), "OK");
    assert_eq!(dst.text(&["SET", key, "new"]).unwrap(), "OK");
    let migrate = [
        "MIGRATE",
        "127.0.0.1",
        &target.to_string(),
        "",
        "0",
        "5000",
        "AUTH",
        PASSWORD,
        "KEYS",
        present,
    ];
    assert_eq!(src.text(&migrate).unwrap(), "OK");
    for node in [&mut dst, &mut src] {
        assert_eq!(
            node.text(&["CLUSTER", "SETSLOT", &slot, "NODE", &target_id])
                .unwrap(),
            "OK"
        );
    }
    let mut routing = ClusterClient::new(target);
    assert_eq!(frame_text(&routing.cmd(present, &["GET", present])), "v");
    assert_eq!(frame_text(&routing.cmd(key, &["GET", key])), "new");
    eventually(Duration::from_secs(20), || cluster.check());
}

/// Writes keys (odd ones with a TTL), then reshards 1000 slots to a new node while a
/// second client keeps writing and reading; every key, value and TTL survives.
fn check_add_node_and_reshard(cluster: &mut RedisCluster) {
    let seed = cluster.nodes[0].port;
    let mut client = ClusterClient::new(seed);
    for i in 0..2000 {
        let key = format!("key:{i}");
        let reply = if i % 2 == 1 {
            client.cmd(&key, &["SET", &key, &i.to_string(), "EX", "3600"])
        } else {
            client.cmd(&key, &["SET", &key, &i.to_string()])
        };
        assert_eq!(reply, Frame::ok());
    }
    let timeout = cluster.spec.node_timeout_ms.to_string();
    let extra = [
        ("cluster-enabled", "yes"),
        ("cluster-config-file", "nodes.conf"),
        ("cluster-node-timeout", timeout.as_str()),
        ("appendonly", "yes"),
        ("requirepass", PASSWORD),
        ("masterauth", PASSWORD),
    ];
    let new = RedisServer::start(cluster.spec.kind, free_port(), &extra);
    redis_cli(&[
        "--cluster",
        "add-node",
        &format!("127.0.0.1:{}", new.port),
        &format!("127.0.0.1:{seed}"),
    ]);
    let new_id = new.client().text(&["CLUSTER", "MYID"]).unwrap();
    cluster.nodes.push(new);
    eventually(Duration::from_secs(30), || -> Result<(), String> {
        for node in &cluster.nodes {
            let info = node
                .client()
                .text(&["CLUSTER", "INFO"])
                .map_err(|e| e.to_string())?;
            if info_field(&info, "cluster_state") != "ok"
                || info_field(&info, "cluster_known_nodes") != "7"
            {
                return Err(format!(
                    "{}: {}",
                    node.port,
                    info_field(&info, "cluster_state")
                ));
            }
        }
        Ok(())
    });
    let writer = Background::spawn(move |stop| write_while_resharding(seed, stop));
    let started = Instant::now();
    let from = format!("127.0.0.1:{seed}");
    redis_cli(&[
        "--cluster",
        "reshard",
        &from,
        "--cluster-from",
        "all",
        "--cluster-to",
        &new_id,
        "--cluster-slots",
        "1000",
        "--cluster-yes",
    ]);
    eprintln!(
        "{:?}: reshard of 1000 slots took {:?}",
        cluster.spec.kind,
        started.elapsed()
    );
    let written = writer.finish();
    assert!(written > 0);
    eventually(Duration::from_secs(20), || cluster.check());
    check_keys(seed);
    let moved = cluster
        .nodes
        .last()
        .unwrap()
        .client()
        .cmd(&["DBSIZE"])
        .unwrap();
    assert!(matches!(moved, Frame::Integer(n) if n > 0), "{moved:?}");
}

/// Every `key:<i>` holds `i`; the odd ones still have their TTL.
fn check_keys(seed: u16) {
    let mut client = ClusterClient::new(seed);
    for i in 0..2000 {
        let key = format!("key:{i}");
        assert_eq!(
            frame_text(&client.cmd(&key, &["GET", &key])),
            i.to_string(),
            "{key}"
        );
        let ttl: i64 = frame_text(&client.cmd(&key, &["TTL", &key]))
            .parse()
            .unwrap();
        assert_eq!(ttl > 0, i % 2 == 1, "{key} ttl {ttl}");
    }
}

/// `--cluster fix` closes a slot left MIGRATING on purpose; `--cluster rebalance` evens
/// the slots out; `--cluster del-node` removes a replica.
fn check_fix_rebalance_del_node(cluster: &mut RedisCluster) {
    let seed = format!("127.0.0.1:{}", cluster.nodes[0].port);
    let routing = ClusterClient::new(cluster.nodes[0].port);
    let slot = key_slot(b"key:1").get();
    let owner = routing.slots[&slot];
    let target = routing
        .slots
        .values()
        .copied()
        .find(|p| *p != owner)
        .expect("another master");
    let target_id = Client::connect_auth(target, Some(PASSWORD))
        .unwrap()
        .text(&["CLUSTER", "MYID"])
        .unwrap();
    let mut source = Client::connect_auth(owner, Some(PASSWORD)).unwrap();
    let migrating = [
        "CLUSTER",
        "SETSLOT",
        &slot.to_string(),
        "MIGRATING",
        &target_id,
    ];
    assert_eq!(source.text(&migrating).unwrap(), "OK");
    assert!(cluster.check().is_err(), "check must report the open slot");
    redis_cli(&["--cluster", "fix", &seed]);
    eventually(Duration::from_secs(20), || cluster.check());
    let started = Instant::now();
    redis_cli(&["--cluster", "rebalance", &seed]);
    eprintln!(
        "{:?}: rebalance took {:?}",
        cluster.spec.kind,
        started.elapsed()
    );
    eventually(Duration::from_secs(20), || cluster.check());
    let nodes = cluster.nodes[0]
        .client()
        .text(&["CLUSTER", "NODES"])
        .unwrap();
    let replica = nodes
        .lines()
        .find(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("slave")))
        .expect("a replica");
    let (id, port) = (
        replica.split(' ').next().unwrap(),
        replica.split([':', '@']).nth(1).unwrap(),
    );
    redis_cli(&["--cluster", "del-node", &seed, id]);
    let port: u16 = port.parse().unwrap();
    cluster.nodes.retain(|n| n.port != port);
    eventually(Duration::from_secs(20), || -> Result<(), String> {
        let info = cluster.nodes[0]
            .client()
            .text(&["CLUSTER", "INFO"])
            .map_err(|e| e.to_string())?;
        (info_field(&info, "cluster_known_nodes") == cluster.nodes.len().to_string())
            .then_some(())
            .ok_or(info)
    });
    eventually(Duration::from_secs(20), || cluster.check());
    check_keys(cluster.nodes[0].port);
}

/// Stops every node (SIGKILL) and starts it again: nodes.conf and the AOF bring the
/// cluster and every key back.
fn check_restart(cluster: &mut RedisCluster) {
    let started = Instant::now();
    cluster.nodes.iter_mut().for_each(RedisServer::kill);
    cluster.nodes.iter_mut().for_each(RedisServer::restart);
    eventually(Duration::from_secs(60), || -> Result<(), String> {
        for node in &cluster.nodes {
            let info = node
                .client()
                .text(&["CLUSTER", "INFO"])
                .map_err(|e| e.to_string())?;
            if info_field(&info, "cluster_state") != "ok" {
                return Err(format!("{} not ok yet", node.port));
            }
        }
        cluster.check().map(drop)
    });
    eprintln!(
        "{:?}: all nodes restarted, cluster ok in {:?}",
        cluster.spec.kind,
        started.elapsed()
    );
    check_keys(cluster.nodes[0].port);
}

/// The concurrent client: writes `live:<n>` and reads back an earlier key each round.
fn write_while_resharding(seed: u16, stop: &AtomicBool) -> usize {
    let mut client = ClusterClient::new(seed);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("live:{n}");
        assert_eq!(
            client.cmd(&key, &["SET", &key, &n.to_string()]),
            Frame::ok(),
            "{key}"
        );
        let back = format!("live:{}", n / 2);
        assert_eq!(
            frame_text(&client.cmd(&back, &["GET", &back])),
            (n / 2).to_string(),
            "{back}"
        );
        n += 1;
    }
    for i in 0..n {
        let key = format!("live:{i}");
        assert_eq!(
            frame_text(&client.cmd(&key, &["GET", &key])),
            i.to_string(),
            "{key} after the reshard"
        );
    }
    n
}

fn scenario(kind: ServerKind) {
    let started = Instant::now();
    let mut cluster = RedisCluster::start(spec(kind));
    eprintln!(
        "{kind:?}: cluster created and healthy in {:?}",
        started.elapsed()
    );
    check_info(&cluster);
    check_moved_and_crossslot(&cluster);
    check_ask_and_tryagain(&cluster);
    check_add_node_and_reshard(&mut cluster);
    check_fix_rebalance_del_node(&mut cluster);
    check_restart(&mut cluster);
    eprintln!("{kind:?}: whole scenario {:?}", started.elapsed());
}

#[test]
fn slotgate_node_cluster() {
    scenario(ServerKind::SlotgateNode);
}

#[test]
fn redis_server_cluster() {
    scenario(ServerKind::Redis);
}
