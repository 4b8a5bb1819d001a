//! Failover under load: a master is killed (SIGKILL) while a client writes through
//! slotgate. Errors are allowed only until its replica takes over; after that every
//! request succeeds again, without restarting slotgate or the client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use slotgate_tests::client::frame_text;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, Client};

/// One request's outcome: when it finished and whether it succeeded.
type Outcome = (Instant, bool);

fn writer(port: u16, stop: Arc<AtomicBool>) -> Vec<Outcome> {
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

#[test]
fn master_failover_under_load() {
    let mut cluster = RedisCluster::start(ClusterSpec::three_by_one(ServerKind::Redis));
    let entry = cluster.nodes[0].port;
    let proxy = Slotgate::start(
        &[entry, cluster.nodes[1].port, cluster.nodes[2].port],
        "",
        "",
    );
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let (port, stop) = (proxy.port, stop.clone());
        thread::spawn(move || writer(port, stop))
    };
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
    stop.store(true, Ordering::Relaxed);
    let outcomes = handle.join().expect("writer");
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
