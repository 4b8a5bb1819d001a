//! `cluster.read_from` against a real Redis 7 cluster (3 masters + 3 replicas): with
//! `read_from = "replica"` (over `READONLY` connections) the reads show up in the replicas' `INFO commandstats` and not in
//! the masters', while writes still reach the masters only; when a replica is killed, reads
//! of its shard fall back to the master without a single failed request.

use std::time::{Duration, Instant};

use slotgate_protocol::Frame;
use slotgate_tests::client::frame_text;
use slotgate_tests::ops::command_calls;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, Client};

const KEYS: usize = 300;

fn reset_stats(ports: &[u16]) {
    for &port in ports {
        let mut client = Client::connect(port).expect("connect to a node");
        assert_eq!(client.text(&["CONFIG", "RESETSTAT"]).unwrap(), "OK");
    }
}

fn total(ports: &[u16], command: &str) -> u64 {
    ports.iter().map(|&p| command_calls(p, command)).sum()
}

/// Reads every key once; the number of error replies.
fn read_all(client: &mut Client) -> usize {
    (0..KEYS)
        .filter(|i| {
            let reply = client
                .cmd(&["GET", &format!("rf:{i}")])
                .map(|f| frame_text(&f));
            !matches!(reply.as_deref(), Ok(text) if !text.starts_with('-'))
        })
        .count()
}

#[test]
fn reads_go_to_replicas_and_fall_back_to_the_master() {
    let mut cluster = RedisCluster::start(ClusterSpec::three_by_one(ServerKind::Redis));
    let masters = cluster.master_ports();
    let replicas = cluster.other_ports(&masters);
    assert_eq!((masters.len(), replicas.len()), (3, 3));
    let proxy = Slotgate::start(
        &[masters[0]],
        "",
        "read_from = \"replica\"\nrefresh_interval = \"500ms\"\n[health]\ninterval = \"200ms\"",
    );
    let mut client = proxy.client();
    for i in 0..KEYS {
        let reply = client
            .cmd(&["SET", &format!("rf:{i}"), &i.to_string()])
            .unwrap();
        assert_eq!(frame_text(&reply), "OK");
    }
    // Redis lists a replica in CLUSTER SLOTS once its replication offset is above 0 (after
    // the writes above reach it); from the next refresh on, every replica serves reads, and
    // they have every write once each key reads back through them.
    eventually(Duration::from_secs(30), || {
        let stale = (0..KEYS)
            .filter(|i| {
                let reply = client.cmd(&["GET", &format!("rf:{i}")]).unwrap();
                frame_text(&reply) != i.to_string()
            })
            .count();
        let idle = replicas
            .iter()
            .filter(|&&p| command_calls(p, "get") == 0)
            .count();
        match (stale, idle) {
            (0, 0) => Ok(()),
            _ => Err(format!(
                "{stale} keys not replicated, {idle} replicas without reads"
            )),
        }
    });

    let all: Vec<u16> = masters.iter().chain(&replicas).copied().collect();
    reset_stats(&all);
    assert_eq!(read_all(&mut client), 0);
    let mget = match client.cmd(&["MGET", "rf:1", "rf:2", "rf:3"]).unwrap() {
        Frame::Array(items) => items.iter().map(frame_text).collect::<Vec<_>>(),
        other => panic!("MGET: {other:?}"),
    };
    assert_eq!(mget, ["1", "2", "3"]);
    assert_eq!(total(&masters, "get"), 0, "reads reached a master");
    assert_eq!(total(&masters, "mget"), 0, "MGET parts reached a master");
    assert_eq!(total(&replicas, "get"), KEYS as u64);
    assert!(total(&replicas, "mget") >= 1);
    for &replica in &replicas {
        assert!(
            command_calls(replica, "get") > 0,
            "replica {replica} served no reads"
        );
    }
    let write = client.cmd(&["SET", "rf:write", "1"]).unwrap();
    assert_eq!(frame_text(&write), "OK");
    assert_eq!(total(&masters, "set"), 1, "the write went to a master");

    // Kill one replica: its shard's reads fall back to the master, none fails.
    let victim = replicas[0];
    cluster.node_mut(victim).kill();
    let alive: Vec<u16> = all.iter().copied().filter(|&p| p != victim).collect();
    reset_stats(&alive);
    let started = Instant::now();
    let mut failed = 0;
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(3) {
        failed += read_all(&mut client);
        rounds += 1;
    }
    assert_eq!(failed, 0, "reads failed after a replica died");
    let fallback = total(&masters, "get");
    assert!(fallback > 0, "no read fell back to a master");
    let others = total(&replicas[1..], "get");
    assert!(others > 0, "the surviving replicas stopped serving reads");
    assert_eq!(fallback + others, (rounds * KEYS) as u64);
}
