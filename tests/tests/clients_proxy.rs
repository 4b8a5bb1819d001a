//! Real, cluster-unaware client libraries through slotgate in front of a real 3+3 cluster
//! (redis-server 7 and slotgate-node, one test each): redis-py (`Redis(protocol=2)` and `Redis(protocol=3)`) and ioredis (`new
//! Redis({port})`) each run `tests/clients/*/proxy_suite.*` — every routing class, pipelines,
//! transactions, pub/sub, BLPOP, local commands — without and with a proxy password; redis-rs's
//! sync `redis::Client` runs a shorter suite here. One cluster for the whole file.

mod clients_common;

use std::time::Duration;

use clients_common::run_suite;
use slotgate_tests::both_servers;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};

const SUITE_TIMEOUT: Duration = Duration::from_secs(90);

both_servers! {
    plain_client_libraries => plain_client_libraries_through_the_proxy_slotgate_node, plain_client_libraries_through_the_proxy_redis;
}

fn plain_client_libraries(kind: ServerKind) {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let open = Slotgate::start(&[cluster.nodes[0].port], "", "");
    let locked = Slotgate::start(&[cluster.nodes[1].port], "password = \"sekret\"", "");
    let port = open.port.to_string();
    let with_password = [locked.port.to_string(), "sekret".to_owned()];

    run_suite(
        "python3",
        "python/proxy_suite.py",
        std::slice::from_ref(&port),
        SUITE_TIMEOUT,
    );
    run_suite(
        "python3",
        "python/proxy_suite.py",
        &with_password,
        SUITE_TIMEOUT,
    );
    run_suite("node", "node/proxy_suite.js", &[port], SUITE_TIMEOUT);
    run_suite("node", "node/proxy_suite.js", &with_password, SUITE_TIMEOUT);
    redis_rs_sync(open.port);
}

/// redis-rs's plain synchronous client: single keys, fan-out, CROSSSLOT, a 1,000-command
/// pipeline, an atomic pipeline on one slot and a full SCAN.
fn redis_rs_sync(port: u16) {
    use redis::Commands;

    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();

    let _: () = con.set("rs:s", "v").unwrap();
    assert_eq!(con.get::<_, String>("rs:s").unwrap(), "v");
    let _: () = con.del("rs:n").unwrap();
    assert_eq!(con.incr::<_, _, i64>("rs:n", 5).unwrap(), 5);
    let _: () = con.hset("rs:h", "f", "1").unwrap();
    assert_eq!(con.hget::<_, _, String>("rs:h", "f").unwrap(), "1");

    // Fan-out across slots, merged in key order.
    let keys: Vec<String> = (0..40).map(|i| format!("rs:fan:{i}")).collect();
    let pairs: Vec<(String, usize)> = keys.iter().cloned().zip(0..).collect();
    let _: () = con.mset(&pairs).unwrap();
    let values: Vec<usize> = con.mget(&keys).unwrap();
    assert_eq!(values, (0..40).collect::<Vec<_>>());
    assert_eq!(con.exists::<_, usize>(&keys).unwrap(), 40);
    assert_eq!(con.del::<_, usize>(&keys).unwrap(), 40);

    // Cross-slot RENAME cannot be split.
    let _: () = con.set("{a}rs", 1).unwrap();
    let err = con.rename::<_, _, ()>("{a}rs", "{b}rs").unwrap_err();
    assert_eq!(err.code(), Some("CROSSSLOT"), "{err}");

    // A 1,000-command pipeline across all slots, replies in order.
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.set(format!("rs:p:{i}"), i)
            .ignore()
            .get(format!("rs:p:{i}"));
    }
    let got: Vec<usize> = pipe.query(&mut con).unwrap();
    assert_eq!(got, (0..500).collect::<Vec<_>>());

    // MULTI/EXEC on one slot.
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .set("{rstx}a", 1)
        .ignore()
        .incr("{rstx}a", 1)
        .incr("{rstx}b", 10)
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b > 0), (2, true));

    // A full SCAN sees every key of every master.
    let scan_keys: Vec<String> = (0..200).map(|i| format!("rs:scan:{i}")).collect();
    let pairs: Vec<(String, i32)> = scan_keys.iter().map(|k| (k.clone(), 1)).collect();
    let _: () = con.mset(&pairs).unwrap();
    let mut seen: Vec<String> = con.scan_match("rs:scan:*").unwrap().collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 200);
    println!("redis-rs sync client through the proxy: ok");
}
