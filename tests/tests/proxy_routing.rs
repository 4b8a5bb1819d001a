//! Every routing class through slotgate in front of a real 3+3 cluster (redis-server 7 and
//! slotgate-node, one test each): single key,
//! same-slot multi-key, fan-out with merge order, CROSSSLOT, all-masters (KEYS, full SCAN,
//! DBSIZE, RANDOMKEY, SCRIPT LOAD + EVALSHA, FLUSHALL), EVAL, local commands, transactions,
//! blocking pops, pub/sub, unsupported and unknown commands, and the proxy password.
//! One cluster for the whole file (each test function runs in its own process in CI).

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use slotgate_protocol::Frame;
use slotgate_tests::both_servers;
use slotgate_tests::client::frame_text;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, Client};

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn array(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

fn strings(frame: Frame) -> Vec<String> {
    match frame {
        Frame::Array(items) => items.iter().map(frame_text).collect(),
        other => panic!("not an array: {other:?}"),
    }
}

both_servers! {
    every_routing_class => every_routing_class_through_the_proxy_slotgate_node, every_routing_class_through_the_proxy_redis;
}

fn every_routing_class(kind: ServerKind) {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let proxy = Slotgate::start(&[cluster.nodes[0].port], "", "");
    let mut c = proxy.client();
    assert_eq!(c.text(&["FLUSHALL"]).unwrap(), "OK");
    single_slot(&mut c);
    fan_out(&mut c);
    cross_slot(&mut c);
    all_masters(&mut c);
    scripts(&mut c);
    local_commands(&mut c);
    transactions(&proxy);
    blocking_pop(&proxy);
    blocking_stream_reads(&proxy);
    pub_sub(&proxy);
    shard_pub_sub(&proxy, &cluster);
    wait(&proxy);
    refused(&mut c);
    resp3(&proxy);
    password(&cluster);
}

fn single_slot(c: &mut Client) {
    assert_eq!(c.text(&["SET", "foo", "bar"]).unwrap(), "OK");
    assert_eq!(c.text(&["GET", "foo"]).unwrap(), "bar");
    assert_eq!(c.text(&["INCR", "counter"]).unwrap(), "1");
    assert_eq!(c.text(&["HSET", "h", "f", "v"]).unwrap(), "1");
    assert_eq!(c.text(&["HGET", "h", "f"]).unwrap(), "v");
    // Several keys of one slot go as one request.
    assert_eq!(c.text(&["MSET", "{u}a", "1", "{u}b", "2"]).unwrap(), "OK");
    assert_eq!(c.text(&["RENAME", "{u}a", "{u}c"]).unwrap(), "OK");
    assert_eq!(c.text(&["MSETNX", "{u}x", "1", "{u}y", "2"]).unwrap(), "1");
    assert_eq!(
        c.cmd(&["MGET", "{u}b", "{u}c", "{u}a"]).unwrap(),
        Frame::Array(vec![bulk("2"), bulk("1"), Frame::NullBulk])
    );
}

fn fan_out(c: &mut Client) {
    let keys: Vec<String> = (0..20).map(|i| format!("fan:{i}")).collect();
    let mut mset = vec!["MSET".to_owned()];
    for (i, key) in keys.iter().enumerate() {
        mset.push(key.clone());
        mset.push(format!("v{i}"));
    }
    assert_eq!(c.text(&mset).unwrap(), "OK");
    let mut mget = vec!["MGET".to_owned()];
    mget.extend(keys.iter().rev().cloned());
    mget.push("fan:missing".to_owned());
    let mut expected: Vec<String> = (0..20).rev().map(|i| format!("v{i}")).collect();
    expected.push("(nil)".to_owned());
    assert_eq!(strings(c.cmd(&mget).unwrap()), expected);
    assert_eq!(
        c.text(&["EXISTS", "fan:1", "fan:2", "fan:missing", "fan:1"])
            .unwrap(),
        "3"
    );
    assert_eq!(c.text(&["TOUCH", "fan:1", "fan:2", "fan:3"]).unwrap(), "3");
    assert_eq!(
        c.text(&["DEL", "fan:1", "fan:2", "fan:3", "fan:missing"])
            .unwrap(),
        "3"
    );
    assert_eq!(c.text(&["UNLINK", "fan:4", "fan:5"]).unwrap(), "2");
    assert_eq!(c.text(&["EXISTS", "fan:1", "fan:4", "fan:6"]).unwrap(), "1");
    // MGET of a non-string key gives nil for it, as on one node.
    assert_eq!(c.text(&["LPUSH", "fan:list", "x"]).unwrap(), "1");
    assert_eq!(
        c.cmd(&["MGET", "fan:list", "fan:6"]).unwrap(),
        Frame::Array(vec![Frame::NullBulk, bulk("v6")])
    );
}

fn cross_slot(c: &mut Client) {
    let crossslot = "-CROSSSLOT Keys in request don't hash to the same slot";
    for cmd in [
        &["RENAME", "a", "b"][..],
        &["MSETNX", "a", "1", "b", "2"],
        &["SINTER", "a", "b"],
        &["SUNIONSTORE", "a", "b", "c"],
        &["LMOVE", "a", "b", "LEFT", "RIGHT"],
        &["SMOVE", "a", "b", "m"],
        &["EVAL", "return 1", "2", "a", "b"],
    ] {
        assert_eq!(c.text(cmd).unwrap(), crossslot, "{cmd:?}");
    }
}

fn all_masters(c: &mut Client) {
    assert_eq!(c.text(&["FLUSHALL"]).unwrap(), "OK");
    for i in 0..300 {
        c.send(&["SET", &format!("scan:{i}"), "x"]).unwrap();
    }
    for _ in 0..300 {
        assert_eq!(frame_text(&c.read_reply().unwrap()), "OK");
    }
    let expected: BTreeSet<String> = (0..300).map(|i| format!("scan:{i}")).collect();
    assert_eq!(c.text(&["DBSIZE"]).unwrap(), "300");
    let keys: BTreeSet<String> = strings(c.cmd(&["KEYS", "scan:*"]).unwrap())
        .into_iter()
        .collect();
    assert_eq!(keys, expected);
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_owned();
    for round in 0.. {
        assert!(round < 1000, "SCAN does not end");
        let Frame::Array(reply) = c.cmd(&["SCAN", &cursor, "COUNT", "40"]).unwrap() else {
            panic!("SCAN reply")
        };
        cursor = frame_text(&reply[0]);
        seen.extend(strings(reply[1].clone()));
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, expected, "a full SCAN visits every key");
    assert!(c.text(&["RANDOMKEY"]).unwrap().starts_with("scan:"));
    assert!(c.text(&["INFO"]).unwrap().contains("db0:keys=300,"));
    assert_eq!(c.text(&["FLUSHALL"]).unwrap(), "OK");
    assert_eq!(c.text(&["DBSIZE"]).unwrap(), "0");
    assert_eq!(c.cmd(&["RANDOMKEY"]).unwrap(), Frame::NullBulk);
}

/// SCRIPT LOAD on every master, then EVALSHA on one. slotgate-node has no scripting (not
/// in its command set): there the node's own unknown-command error comes through.
fn scripts(c: &mut Client) {
    assert_eq!(c.text(&["SET", "script:7", "x"]).unwrap(), "OK");
    let load = ["SCRIPT", "LOAD", "return redis.call('GET', KEYS[1])"];
    let sha = c.text(&load).unwrap();
    assert_eq!(sha.len(), 40, "{sha}");
    assert_eq!(c.text(&["EVALSHA", &sha, "1", "script:7"]).unwrap(), "x");
    assert_eq!(
        c.cmd(&["SCRIPT", "EXISTS", &sha, "0000"]).unwrap(),
        Frame::Array(vec![Frame::Integer(1), Frame::Integer(0)])
    );
    // EVAL with several keys of one slot runs on its owner; of several slots, CROSSSLOT.
    let swap = "local a = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], a) return a";
    assert_eq!(c.text(&["SET", "{sw}a", "old"]).unwrap(), "OK");
    assert_eq!(
        c.text(&["EVAL", swap, "2", "{sw}a", "{sw}b", "new"])
            .unwrap(),
        "old"
    );
    assert_eq!(
        c.cmd(&["MGET", "{sw}a", "{sw}b"]).unwrap(),
        array(&["new", "old"])
    );
    assert_eq!(
        c.text(&["EVAL", swap, "2", "a", "b", "new"]).unwrap(),
        "-CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert_eq!(
        c.text(&["EVAL", "return ARGV[1]", "0", "keyless"]).unwrap(),
        "keyless"
    );
}

fn local_commands(c: &mut Client) {
    assert_eq!(c.text(&["PING"]).unwrap(), "PONG");
    assert_eq!(c.text(&["PING", "hi"]).unwrap(), "hi");
    assert_eq!(c.text(&["ECHO", "hello"]).unwrap(), "hello");
    assert_eq!(c.text(&["SELECT", "0"]).unwrap(), "OK");
    assert_eq!(
        c.text(&["SELECT", "1"]).unwrap(),
        "-ERR SELECT is not allowed in cluster mode"
    );
    assert_eq!(c.text(&["CLIENT", "GETNAME"]).unwrap(), "(nil)");
    assert_eq!(c.text(&["CLIENT", "SETNAME", "tester"]).unwrap(), "OK");
    assert_eq!(c.text(&["CLIENT", "GETNAME"]).unwrap(), "tester");
    assert!(c.text(&["CLIENT", "LIST"]).unwrap().contains("name=tester"));
    assert!(
        c.text(&["COMMAND", "COUNT"])
            .unwrap()
            .parse::<u32>()
            .unwrap()
            > 200
    );
    let Frame::Array(info) = c.cmd(&["COMMAND", "INFO", "get"]).unwrap() else {
        panic!("COMMAND INFO")
    };
    assert!(matches!(&info[0], Frame::Array(entry) if entry[0] == bulk("get")));
    let Frame::Array(time) = c.cmd(&["TIME"]).unwrap() else {
        panic!("TIME")
    };
    assert_eq!(time.len(), 2);
    assert_eq!(c.text(&["READONLY"]).unwrap(), "OK");
    assert_eq!(c.text(&["CLUSTER", "KEYSLOT", "foo"]).unwrap(), "12182");
    let hello = c.cmd(&["HELLO", "2"]).unwrap();
    assert!(
        matches!(&hello, Frame::Array(items) if items.contains(&bulk("proto")) && items.contains(&Frame::Integer(2))),
        "{hello:?}"
    );
}

fn transactions(proxy: &Slotgate) {
    let mut c = proxy.client();
    assert_eq!(c.text(&["MULTI"]).unwrap(), "OK");
    assert_eq!(c.text(&["SET", "{t}a", "1"]).unwrap(), "QUEUED");
    assert_eq!(c.text(&["INCR", "{t}a"]).unwrap(), "QUEUED");
    assert_eq!(
        c.cmd(&["EXEC"]).unwrap(),
        Frame::Array(vec![Frame::ok(), Frame::Integer(2)])
    );
    // A command for another slot inside MULTI: CROSSSLOT, and the transaction is discarded.
    assert_eq!(c.text(&["MULTI"]).unwrap(), "OK");
    assert_eq!(c.text(&["SET", "{t}a", "10"]).unwrap(), "QUEUED");
    assert_eq!(
        c.text(&["SET", "other", "1"]).unwrap(),
        "-CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert_eq!(
        c.text(&["EXEC"]).unwrap(),
        "-EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(c.text(&["GET", "{t}a"]).unwrap(), "2");
    assert_eq!(c.text(&["EXEC"]).unwrap(), "-ERR EXEC without MULTI");
    // WATCH: a change by another client makes EXEC return nil.
    let mut other = proxy.client();
    assert_eq!(c.text(&["WATCH", "{t}a"]).unwrap(), "OK");
    assert_eq!(other.text(&["SET", "{t}a", "changed"]).unwrap(), "OK");
    assert_eq!(c.text(&["MULTI"]).unwrap(), "OK");
    assert_eq!(c.text(&["SET", "{t}a", "mine"]).unwrap(), "QUEUED");
    assert_eq!(c.cmd(&["EXEC"]).unwrap(), Frame::NullArray);
    assert_eq!(c.text(&["GET", "{t}a"]).unwrap(), "changed");
    assert_eq!(c.text(&["MULTI"]).unwrap(), "OK");
    assert_eq!(c.text(&["DISCARD"]).unwrap(), "OK");
}

fn blocking_pop(proxy: &Slotgate) {
    let mut waiter = proxy.client();
    let mut pusher = proxy.client();
    waiter.send(&["BLPOP", "queue", "10"]).unwrap();
    // Other traffic is not held behind the blocked pop.
    assert_eq!(pusher.text(&["SET", "queue-other", "1"]).unwrap(), "OK");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(pusher.text(&["RPUSH", "queue", "job1"]).unwrap(), "1");
    assert_eq!(waiter.read_reply().unwrap(), array(&["queue", "job1"]));
    assert_eq!(
        waiter.cmd(&["BLPOP", "queue", "0.1"]).unwrap(),
        Frame::NullArray
    );
    assert_eq!(waiter.text(&["PING"]).unwrap(), "PONG");
}

/// XREAD and XREADGROUP with BLOCK wait on their own connection, like BLPOP.
fn blocking_stream_reads(proxy: &Slotgate) {
    let mut reader = proxy.client();
    let mut writer = proxy.client();
    let entry = |id: &str, n: &str| {
        Frame::Array(vec![Frame::Array(vec![
            bulk("events"),
            Frame::Array(vec![Frame::Array(vec![bulk(id), array(&["n", n])])]),
        ])])
    };
    assert_eq!(
        writer.text(&["XADD", "events", "1-1", "n", "1"]).unwrap(),
        "1-1"
    );
    reader
        .send(&["XREAD", "BLOCK", "10000", "STREAMS", "events", "$"])
        .unwrap();
    // Other traffic is not held behind the blocked read.
    assert_eq!(writer.text(&["SET", "events-other", "1"]).unwrap(), "OK");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        writer.text(&["XADD", "events", "2-1", "n", "2"]).unwrap(),
        "2-1"
    );
    assert_eq!(reader.read_reply().unwrap(), entry("2-1", "2"));

    let group = ["XGROUP", "CREATE", "events", "workers", "$"];
    assert_eq!(writer.text(&group).unwrap(), "OK");
    let read_group = [
        "XREADGROUP",
        "GROUP",
        "workers",
        "alice",
        "BLOCK",
        "10000",
        "STREAMS",
        "events",
        ">",
    ];
    reader.send(&read_group).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        writer.text(&["XADD", "events", "3-1", "n", "3"]).unwrap(),
        "3-1"
    );
    assert_eq!(reader.read_reply().unwrap(), entry("3-1", "3"));
    assert_eq!(
        writer.text(&["XACK", "events", "workers", "3-1"]).unwrap(),
        "1"
    );
    assert_eq!(
        reader
            .cmd(&["XREAD", "BLOCK", "100", "STREAMS", "events", "$"])
            .unwrap(),
        Frame::NullArray
    );
    assert_eq!(reader.text(&["PING"]).unwrap(), "PONG");
}

fn pub_sub(proxy: &Slotgate) {
    let mut subscriber = proxy.client();
    let mut publisher = proxy.client();
    let confirm = subscriber.cmd(&["SUBSCRIBE", "news"]).unwrap();
    assert_eq!(
        confirm,
        Frame::Array(vec![bulk("subscribe"), bulk("news"), Frame::Integer(1)])
    );
    assert_eq!(
        subscriber
            .text(&["GET", "x"])
            .unwrap()
            .split(':')
            .next()
            .unwrap(),
        "-ERR Can't execute 'get'"
    );
    let Frame::Integer(_) = publisher.cmd(&["PUBLISH", "news", "hello"]).unwrap() else {
        panic!("PUBLISH")
    };
    assert_eq!(
        subscriber.read_reply().unwrap(),
        array(&["message", "news", "hello"])
    );
    assert_eq!(subscriber.cmd(&["PING"]).unwrap(), array(&["pong", ""]));
    assert_eq!(
        subscriber.cmd(&["UNSUBSCRIBE", "news"]).unwrap(),
        Frame::Array(vec![bulk("unsubscribe"), bulk("news"), Frame::Integer(0)])
    );
    assert_eq!(subscriber.text(&["SET", "after-sub", "1"]).unwrap(), "OK");
}

/// SSUBSCRIBE / SPUBLISH by slot: counts across shards as one Redis connection shows them,
/// messages delivered, and the subscription follows its slot to a new owner.
fn shard_pub_sub(proxy: &Slotgate, cluster: &RedisCluster) {
    let mut subscriber = proxy.client();
    let mut publisher = proxy.client();
    // Two channels on different shards.
    let a = "{s0}chan";
    let owner = owner_of(cluster, a);
    let b = &(1..)
        .map(|i| format!("{{s{i}}}chan"))
        .find(|b| owner_of(cluster, b) != owner)
        .unwrap();
    let b = b.as_str();
    let confirm = |kind: &str, channel: &str, n: i64| {
        Frame::Array(vec![bulk(kind), bulk(channel), Frame::Integer(n)])
    };
    assert_eq!(
        subscriber.cmd(&["SSUBSCRIBE", a]).unwrap(),
        confirm("ssubscribe", a, 1)
    );
    assert_eq!(
        subscriber.cmd(&["SSUBSCRIBE", b]).unwrap(),
        confirm("ssubscribe", b, 2)
    );
    assert_eq!(
        subscriber.text(&["SSUBSCRIBE", a, b]).unwrap(),
        "-CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert!(subscriber
        .text(&["GET", "x"])
        .unwrap()
        .starts_with("-ERR Can't execute 'get'"));
    // Each channel's count comes from its own shard, in the order asked.
    assert_eq!(
        publisher
            .cmd(&["PUBSUB", "SHARDNUMSUB", b, "{s0}none", a])
            .unwrap(),
        Frame::Array(vec![
            bulk(b),
            Frame::Integer(1),
            bulk("{s0}none"),
            Frame::Integer(0),
            bulk(a),
            Frame::Integer(1),
        ])
    );
    for channel in [a, b] {
        assert_eq!(publisher.text(&["SPUBLISH", channel, "hi"]).unwrap(), "1");
        assert_eq!(
            subscriber.read_reply().unwrap(),
            array(&["smessage", channel, "hi"])
        );
    }
    // Move `a`'s slot to another master: the subscription follows it.
    let slot = slotgate_protocol::key_slot(a.as_bytes()).to_string();
    let target = cluster
        .master_ports()
        .into_iter()
        .find(|&p| p != owner)
        .unwrap();
    let target_id = Client::connect(target)
        .unwrap()
        .text(&["CLUSTER", "MYID"])
        .unwrap();
    for port in [target, owner] {
        let mut node = Client::connect(port).unwrap();
        let set = [
            "CLUSTER",
            "SETSLOT",
            slot.as_str(),
            "NODE",
            target_id.as_str(),
        ];
        assert_eq!(node.text(&set).unwrap(), "OK");
    }
    eventually(Duration::from_secs(20), || {
        match publisher.text(&["SPUBLISH", a, "moved"]) {
            Ok(n) if n == "1" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(
        subscriber.read_reply().unwrap(),
        array(&["smessage", a, "moved"])
    );
    assert_eq!(
        subscriber.cmd(&["SUNSUBSCRIBE", a]).unwrap(),
        confirm("sunsubscribe", a, 1)
    );
    assert_eq!(
        subscriber.cmd(&["SUNSUBSCRIBE"]).unwrap(),
        confirm("sunsubscribe", b, 0)
    );
    assert_eq!(
        subscriber.cmd(&["SUNSUBSCRIBE"]).unwrap(),
        Frame::Array(vec![
            bulk("sunsubscribe"),
            Frame::NullBulk,
            Frame::Integer(0)
        ])
    );
    assert_eq!(subscriber.text(&["SET", "after-ssub", "1"]).unwrap(), "OK");
}

/// The port of the master serving `key` (the one that answers instead of redirecting).
fn owner_of(cluster: &RedisCluster, key: &str) -> u16 {
    cluster
        .master_ports()
        .into_iter()
        .find(|&p| {
            let reply = Client::connect(p).unwrap().text(&["EXISTS", key]).unwrap();
            !reply.starts_with('-')
        })
        .expect("a master serves the key")
}

/// WAIT counts the replicas that acknowledged the client's last write, without holding
/// other clients' traffic on the shared connection while it waits.
fn wait(proxy: &Slotgate) {
    let mut c = proxy.client();
    let mut other = proxy.client();
    assert_eq!(
        c.text(&["WAIT", "0", "0"]).unwrap(),
        "1",
        "nothing written yet"
    );
    assert_eq!(c.text(&["SET", "waited", "1"]).unwrap(), "OK");
    assert_eq!(c.text(&["WAIT", "1", "5000"]).unwrap(), "1");
    // Two replicas are wanted and only one exists: WAIT runs to its timeout while another
    // client's requests on the same node keep flowing.
    c.send(&["SET", "waited", "2"]).unwrap();
    c.send(&["WAIT", "2", "1500"]).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(frame_text(&c.read_reply().unwrap()), "OK");
    assert_eq!(other.text(&["GET", "waited"]).unwrap(), "2");
    assert!(started.elapsed() < Duration::from_millis(1000));
    assert_eq!(frame_text(&c.read_reply().unwrap()), "1");
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert_eq!(
        c.text(&["WAIT", "1", "-1"]).unwrap(),
        "-ERR timeout is negative"
    );
    assert_eq!(
        c.text(&["WAIT", "x", "0"]).unwrap(),
        "-ERR value is not an integer or out of range"
    );
}

fn refused(c: &mut Client) {
    assert_eq!(
        c.text(&["MONITOR"]).unwrap(),
        "-ERR unsupported command 'monitor'"
    );
    assert_eq!(
        c.text(&["CLUSTER", "INFO"]).unwrap(),
        "-ERR unsupported command 'cluster info'"
    );
    assert_eq!(
        c.text(&["FOO", "bar"]).unwrap(),
        "-ERR unknown command 'FOO', with args beginning with: 'bar' "
    );
    assert_eq!(
        c.text(&["GET"]).unwrap(),
        "-ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        c.text(&["PING"]).unwrap(),
        "PONG",
        "the connection stays open"
    );
}

fn resp3(proxy: &Slotgate) {
    let mut c = proxy.client();
    let Frame::Map(hello) = c.cmd(&["HELLO", "3"]).unwrap() else {
        panic!("HELLO 3 gives a map")
    };
    assert!(hello.contains(&(bulk("proto"), Frame::Integer(3))));
    assert_eq!(c.cmd(&["GET", "resp3:missing"]).unwrap(), Frame::Null);
    assert_eq!(c.text(&["HSET", "resp3:h", "f", "v"]).unwrap(), "1");
    assert_eq!(
        c.cmd(&["HGETALL", "resp3:h"]).unwrap(),
        Frame::Map(vec![(bulk("f"), bulk("v"))])
    );
    assert_eq!(
        c.cmd(&["MGET", "resp3:h2", "resp3:missing2"]).unwrap(),
        Frame::Array(vec![Frame::Null, Frame::Null])
    );
}

fn password(cluster: &RedisCluster) {
    let proxy = Slotgate::start(
        &[cluster.nodes[1].port],
        "password = \"sekret\"\nmax_clients = 3",
        "",
    );
    let mut c = proxy.client();
    assert_eq!(
        c.text(&["GET", "foo"]).unwrap(),
        "-NOAUTH Authentication required."
    );
    assert_eq!(
        c.text(&["AUTH", "wrong"]).unwrap(),
        "-WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(c.text(&["AUTH", "sekret"]).unwrap(), "OK");
    assert_eq!(c.text(&["SET", "authed", "1"]).unwrap(), "OK");
    let mut hello = proxy.client();
    assert!(matches!(
        hello
            .cmd(&["HELLO", "3", "AUTH", "default", "sekret"])
            .unwrap(),
        Frame::Map(_)
    ));
    assert_eq!(hello.text(&["GET", "authed"]).unwrap(), "1");
    // `max_clients`: with three connected, a fourth is refused.
    let _third = proxy.client();
    eventually(Duration::from_secs(5), || {
        match proxy.client().cmd(&["PING"]) {
            Ok(Frame::Error(text)) if &text[..] == b"ERR max number of clients reached" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}
