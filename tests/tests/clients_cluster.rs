//! Cluster-aware client libraries straight to a cluster (no proxy): redis-py `RedisCluster`
//! (protocol 2 and 3), ioredis `Redis.Cluster` and redis-rs `cluster::ClusterClient` — keys
//! on every master and MOVED handling — run alike against a real Redis 7 cluster and a
//! slotgate-node cluster (3 masters + 3 replicas each, `requirepass`/`masterauth` as in the
//! seed, formed by `redis-cli --cluster create`), so the suite is known to test Redis's
//! behaviour.

mod clients_common;

use std::time::Duration;

use clients_common::run_suite;
use slotgate_tests::both_servers;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};

const SUITE_TIMEOUT: Duration = Duration::from_secs(90);
const PASSWORD: &str = "strongpass";

both_servers! {
    cluster_clients => cluster_clients_against_slotgate_node_cluster, cluster_clients_against_redis_cluster;
}

/// The seed's setup: `requirepass` / `masterauth` on every node, clients given the password.
fn cluster_clients(kind: ServerKind) {
    let cluster = RedisCluster::start(ClusterSpec {
        password: Some(PASSWORD.into()),
        ..ClusterSpec::three_by_one(kind)
    });
    let args = [cluster.nodes[0].port.to_string(), PASSWORD.to_owned()];
    run_suite("python3", "python/cluster_suite.py", &args, SUITE_TIMEOUT);
    run_suite("node", "node/cluster_suite.js", &args, SUITE_TIMEOUT);
    redis_rs_cluster(cluster.nodes[0].port);
}

/// redis-rs's sync cluster client: 10,000 keys on every slot range and 10,000 under one hash
/// tag (cluster pipelines), a hash-tagged MGET, and a plain connection to a node that does
/// not own a key getting MOVED to the owner.
fn redis_rs_cluster(seed: u16) {
    use redis::Commands;

    let client =
        redis::cluster::ClusterClient::new(vec![format!("redis://:{PASSWORD}@127.0.0.1:{seed}/")])
            .expect("cluster client");
    let mut con = client.get_connection().expect("cluster connection");
    for prefix in ["rsc:", "{rsc}:t:"] {
        let mut set = redis::cluster::cluster_pipe();
        for i in 0..10_000 {
            set.set(format!("{prefix}{i}"), i).ignore();
        }
        let () = set.query(&mut con).unwrap();
        let mut get = redis::cluster::cluster_pipe();
        for i in 0..10_000 {
            get.get(format!("{prefix}{i}"));
        }
        let values: Vec<i32> = get.query(&mut con).unwrap();
        assert!(values.into_iter().eq(0..10_000), "{prefix} keys read back");
    }
    let _: () = con.mset(&[("{rsc}a", 1), ("{rsc}b", 2)]).unwrap();
    let values: Vec<i32> = con.mget(&["{rsc}a", "{rsc}b"]).unwrap();
    assert_eq!(values, [1, 2]);

    // Some node answers MOVED for rsc:0: exactly the masters that do not own it.
    let mut moved = 0;
    let slots: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).unwrap();
    for range in slots {
        let redis::Value::Array(fields) = range else {
            continue;
        };
        let redis::Value::Array(master) = &fields[2] else {
            continue;
        };
        let port: u16 = redis::from_redis_value(&master[1]).unwrap();
        let plain = redis::Client::open(format!("redis://:{PASSWORD}@127.0.0.1:{port}/")).unwrap();
        match plain.get_connection().unwrap().get::<_, i32>("rsc:0") {
            Ok(value) => assert_eq!(value, 0),
            Err(err) => {
                assert_eq!(err.kind(), redis::ErrorKind::Moved, "{err}");
                moved += 1;
            }
        }
    }
    assert!(moved >= 2, "only {moved} masters answered MOVED");
}
