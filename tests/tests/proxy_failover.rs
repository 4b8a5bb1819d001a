//! Failover under load: a master is killed (SIGKILL) while a client writes through
//! slotgate. Errors are allowed only until its replica takes over; after that every
//! request succeeds again, without restarting slotgate or the client. And a master that
//! hangs (SIGSTOP): requests for its slots fail within the request timeout — at once with
//! CLUSTERDOWN once the health checks mark it down — other shards are unaffected, and its
//! slots work again after the failover. Each runs against a redis-server cluster and a
//! slotgate-node cluster.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use slotgate_tests::both_servers;
use slotgate_tests::client::frame_text;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, Background, Client};

/// One request's outcome: when it finished and whether it succeeded.
type Outcome = (Instant, bool);

fn writer(port: u16, stop: &AtomicBool) -> Vec<Outcome> {
    let mut client = Client::connect(port).expect("connect");
    let mut outcomes = Vec::new();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let key = format!("fo:{}", i % 300);
        let ok = client
            .cmd(&["SET", &key, &i.to_string()])
            .map(|f| frame_text(&f) == "OK")
            .unwrap_or(false);
        outcomes.push((Instant::now(), ok));
        if !ok {
            thread::sleep(Duration::from_millis(20));
        }
    }
    outcomes
}

both_servers! {
    master_failover_under_load => master_failover_under_load_slotgate_node, master_failover_under_load_redis;
}

fn master_failover_under_load(kind: ServerKind) {
    let mut cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let entry = cluster.nodes[0].port;
    let proxy = Slotgate::start(
        &[entry, cluster.nodes[1].port, cluster.nodes[2].port],
        "",
        "",
    );
    let port = proxy.port;
    let load = Background::spawn(move |stop| writer(port, stop));
    thread::sleep(Duration::from_millis(500));
    let victim = cluster
        .master_ports()
        .into_iter()
        .find(|&p| p != entry)
        .expect("a master other than the entry node");
    let killed_at = Instant::now();
    cluster.node_mut(victim).kill();
    eventually(Duration::from_secs(40), || {
        let masters = cluster.master_ports();
        if masters.len() == 3 && !masters.contains(&victim) {
            Ok(())
        } else {
            Err(format!("masters {masters:?}"))
        }
    });
    // Whatever the proxy still needs to notice, give it a moment of traffic, then check.
    let healed_at = Instant::now();
    thread::sleep(Duration::from_secs(3));
    let outcomes = load.finish();
    let failures_before_heal = outcomes
        .iter()
        .filter(|(at, ok)| !ok && *at < healed_at)
        .count();
    let settle = healed_at + Duration::from_secs(1);
    let late_failures = outcomes
        .iter()
        .filter(|(at, ok)| !ok && *at > settle)
        .count();
    let late_successes = outcomes
        .iter()
        .filter(|(at, ok)| *ok && *at > settle)
        .count();
    eprintln!(
        "failover took {:?}; {failures_before_heal} failed requests before it",
        healed_at - killed_at
    );
    assert_eq!(late_failures, 0, "requests still fail after the failover");
    assert!(
        late_successes > 100,
        "traffic flows again ({late_successes} requests)"
    );
    let mut client = proxy.client();
    assert_eq!(client.text(&["SET", "after", "1"]).unwrap(), "OK");
}

/// A key the master on `port` serves (it answers instead of redirecting) and one it does not.
fn keys_split_by(port: u16) -> (String, String) {
    let mut node = Client::connect(port).expect("connect to the node");
    let mut served = |key: &str| !frame_text(&node.cmd(&["EXISTS", key]).unwrap()).starts_with('-');
    let mut keys = (0..).map(|i| format!("stop:{i}"));
    let mine = keys.by_ref().find(|k| served(k)).unwrap();
    let other = keys.find(|k| !served(k)).unwrap();
    (mine, other)
}

both_servers! {
    a_stopped_master_fails_fast => a_stopped_master_fails_fast_until_its_replica_takes_over_slotgate_node, a_stopped_master_fails_fast_until_its_replica_takes_over_redis;
}

fn a_stopped_master_fails_fast(kind: ServerKind) {
    let timeout = Duration::from_secs(2);
    let mut cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let seeds: Vec<u16> = cluster.nodes.iter().map(|n| n.port).collect();
    let health = "[health]\ninterval = \"250ms\"\ntimeout = \"250ms\"\n";
    let proxy = Slotgate::start(&seeds, "", &format!("request_timeout = \"2s\"\n{health}"));
    let entry = cluster.nodes[0].port;
    let victim = cluster
        .master_ports()
        .into_iter()
        .find(|&p| p != entry)
        .unwrap();
    let (mine, other) = keys_split_by(victim);
    let (mut c, mut d) = (proxy.client(), proxy.client());
    assert_eq!(c.text(&["SET", &other, "2"]).unwrap(), "OK");
    assert_eq!(c.text(&["SET", &mine, "1"]).unwrap(), "OK");
    // Replication is asynchronous: make sure the replica has `mine` before its master stops.
    assert_eq!(c.text(&["WAIT", "1", "10000"]).unwrap(), "1");
    cluster.node_mut(victim).child().signal("STOP");
    let stopped = Instant::now();
    let mut fast_failures = 0;
    while cluster.master_ports().contains(&victim) {
        assert!(stopped.elapsed() < Duration::from_secs(40), "no failover");
        let started = Instant::now();
        let reply = frame_text(&c.cmd(&["GET", &mine]).unwrap());
        let took = started.elapsed();
        assert!(took < timeout + Duration::from_secs(1), "GET took {took:?}");
        if reply.starts_with("-CLUSTERDOWN") && took < Duration::from_millis(200) {
            fast_failures += 1;
        }
        let started = Instant::now();
        assert_eq!(
            d.text(&["GET", &other]).unwrap(),
            "2",
            "other shards unaffected"
        );
        assert!(started.elapsed() < Duration::from_millis(500));
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        fast_failures > 0,
        "the down master's requests never failed fast"
    );
    eventually(Duration::from_secs(20), || match c.text(&["GET", &mine]) {
        Ok(value) if value == "1" => Ok(()),
        other => Err(format!("{other:?}\n{}", proxy.child().log())),
    });
    assert_eq!(c.text(&["SET", &mine, "3"]).unwrap(), "OK");
    cluster.node_mut(victim).child().signal("CONT");
}
