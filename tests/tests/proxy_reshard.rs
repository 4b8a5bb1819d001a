//! Hidden redirections: `redis-cli --cluster reshard` moves 2,000 slots behind slotgate's
//! back while 50 clients read and write through it. The clients see no MOVED, no ASK and no
//! error, every value read back is the last one written, and after the moves every key
//! still holds its last value (nothing lost, nothing stale). Runs against a redis-server
//! cluster and a slotgate-node cluster.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use slotgate_tests::both_servers;
use slotgate_tests::client::frame_text;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, Background, Client};

const CLIENTS: usize = 50;
const KEYS_PER_CLIENT: usize = 20;
/// Slots moved per reshard; two reshards move 2,000 slots.
const SLOTS_PER_MOVE: &str = "1000";

/// What one client did: its rounds (the value its keys last got) and the replies that were
/// wrong.
struct Outcome {
    rounds: usize,
    problems: Vec<String>,
}

/// Writes and reads back `key:<worker>:<i>` in a loop until `stop`.
fn worker(port: u16, id: usize, stop: &AtomicBool) -> Outcome {
    let mut client = Client::connect(port).expect("connect");
    let mut problems = Vec::new();
    let mut rounds = 0usize;
    while !stop.load(Ordering::Relaxed) {
        rounds += 1;
        let value = rounds.to_string();
        for i in 0..KEYS_PER_CLIENT {
            let key = format!("key:{id}:{i}");
            let set = frame_text(&client.cmd(&["SET", &key, &value]).expect("SET"));
            let get = frame_text(&client.cmd(&["GET", &key]).expect("GET"));
            if set != "OK" || get != value {
                problems.push(format!("{key}: SET -> {set}, GET -> {get} (want {value})"));
            }
        }
        let mget = frame_text(
            &client
                .cmd(&["MGET", &format!("key:{id}:1"), &format!("key:{id}:2")])
                .expect("MGET"),
        );
        if mget.starts_with('-') {
            problems.push(format!("MGET -> {mget}"));
        }
    }
    Outcome { rounds, problems }
}

fn node_id(port: u16) -> String {
    Client::connect(port)
        .expect("connect")
        .text(&["CLUSTER", "MYID"])
        .expect("CLUSTER MYID")
}

fn reshard(from: u16, to: u16) {
    let out = Command::new("redis-cli")
        .args(["--cluster", "reshard", &format!("127.0.0.1:{from}")])
        .args([
            "--cluster-from",
            &node_id(from),
            "--cluster-to",
            &node_id(to),
        ])
        .args([
            "--cluster-slots",
            SLOTS_PER_MOVE,
            "--cluster-yes",
            "--cluster-pipeline",
            "20",
        ])
        .output()
        .expect("run redis-cli --cluster reshard");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn resharding_is_invisible(kind: ServerKind) {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let proxy = Slotgate::start(&[cluster.nodes[0].port], "", "");
    let masters = cluster.master_ports();
    let port = proxy.port;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|id| Background::spawn(move |stop| worker(port, id, stop)))
        .collect();
    for (from, to) in [(masters[0], masters[1]), (masters[1], masters[2])] {
        // redis-cli refuses to reshard until every node agrees on the last move.
        eventually(Duration::from_secs(30), || cluster.check());
        reshard(from, to);
    }
    let outcomes: Vec<Outcome> = workers.into_iter().map(Background::finish).collect();
    let problems: Vec<&String> = outcomes.iter().flat_map(|o| &o.problems).collect();
    assert!(
        problems.is_empty(),
        "client-visible problems: {problems:#?}"
    );
    let rounds: usize = outcomes.iter().map(|o| o.rounds).sum();
    assert!(
        outcomes.iter().all(|o| o.rounds >= 2),
        "every client ran during the reshard ({rounds} rounds in all)"
    );
    eventually(Duration::from_secs(30), || cluster.check());
    // Nothing lost or stale: every key holds the last value its client wrote.
    let mut check = proxy.client();
    for (id, outcome) in outcomes.iter().enumerate() {
        for i in 0..KEYS_PER_CLIENT {
            let key = format!("key:{id}:{i}");
            assert_eq!(
                check.text(&["GET", &key]).unwrap(),
                outcome.rounds.to_string(),
                "{key} after the reshard"
            );
        }
    }
}

both_servers! {
    resharding_is_invisible => resharding_behind_the_proxy_is_invisible_slotgate_node, resharding_behind_the_proxy_is_invisible_redis;
}
