//! Hidden redirections: `redis-cli --cluster reshard` moves slots behind slotgate's back
//! while clients read and write through it. The clients see no MOVED, no ASK and no error,
//! and every value read back is the last one written.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use slotgate_tests::client::frame_text;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, Client};

/// Writes and reads back `key:<worker>:<i>` in a loop; returns the replies that were wrong.
fn worker(port: u16, id: usize, stop: Arc<AtomicBool>) -> (usize, Vec<String>) {
    let mut client = Client::connect(port).expect("connect");
    let mut problems = Vec::new();
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        for i in 0..50 {
            let key = format!("key:{id}:{i}");
            let value = format!("{round}");
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
    (round, problems)
}

fn node_id(port: u16) -> String {
    Client::connect(port)
        .expect("connect")
        .text(&["CLUSTER", "MYID"])
        .expect("CLUSTER MYID")
}

#[test]
fn resharding_behind_the_proxy_is_invisible() {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(ServerKind::Redis));
    let proxy = Slotgate::start(&[cluster.nodes[0].port], "", "");
    let masters = cluster.master_ports();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|id| {
            let (port, stop) = (proxy.port, stop.clone());
            thread::spawn(move || worker(port, id, stop))
        })
        .collect();
    for (from, to) in [(masters[0], masters[1]), (masters[1], masters[2])] {
        // redis-cli refuses to reshard until every node agrees on the last move.
        eventually(Duration::from_secs(30), || cluster.check());
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
                "300",
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
    stop.store(true, Ordering::Relaxed);
    let mut rounds = 0;
    for handle in workers {
        let (done, problems) = handle.join().expect("worker");
        assert!(
            problems.is_empty(),
            "client-visible problems: {problems:#?}"
        );
        rounds += done;
    }
    assert!(
        rounds >= 8,
        "the workers ran during the reshard ({rounds} rounds)"
    );
    eventually(Duration::from_secs(30), || cluster.check());
}
