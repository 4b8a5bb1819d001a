//! Replication between real processes: a slotgate-node replica of a slotgate-node master —
//! every type replicates, WAIT counts acknowledgements, the replica refuses writes with
//! Redis's text, `masterauth` is used, INFO replication / ROLE show Redis's fields, and
//! REPLICAOF NO ONE promotes with the old replid kept as replid2 so a sibling and the
//! demoted master continue partially. Each scenario also runs against redis-server 7 to
//! prove the test itself.

mod node_replication_common;

use std::time::{Duration, Instant};

use node_replication_common::{field, norm, pair, start, wait_online, KINDS};
use slotgate_protocol::Frame;
use slotgate_tests::client::frame_text;

/// Writes of every type, across two databases.
const WRITES: &[&[&str]] = &[
    &["SET", "s", "hello"],
    &["APPEND", "s", " world"],
    &["INCRBY", "n", "5"],
    &["RPUSH", "l", "a", "b", "c"],
    &["LPOP", "l"],
    &["SADD", "st", "a", "b", "c"],
    &["SREM", "st", "a"],
    &["HSET", "h", "f", "v", "g", "w"],
    &["HDEL", "h", "g"],
    &["ZADD", "z", "1", "a", "2", "b"],
    &["ZINCRBY", "z", "5", "a"],
    &["SET", "e", "v", "EX", "1000"],
    &["PEXPIRE", "s", "1000000"],
    &["SET", "gone", "x"],
    &["DEL", "gone"],
    &["MSET", "m1", "1", "m2", "2"],
    &["SELECT", "1"],
    &["SET", "other-db", "yes"],
    &["SELECT", "0"],
];

/// Reads whose answers must agree between master and replica.
const READS: &[&[&str]] = &[
    &["GET", "s"],
    &["GET", "n"],
    &["LRANGE", "l", "0", "-1"],
    &["SMEMBERS", "st"],
    &["HGETALL", "h"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["EXISTS", "gone"],
    &["MGET", "m1", "m2"],
    &["DBSIZE"],
];

#[test]
fn writes_of_every_type_replicate_and_wait_counts_the_replica() {
    for kind in KINDS {
        let (master, replica) = pair(kind, &[], &[]);
        let mut m = master.client();
        for write in WRITES {
            let reply = m.cmd(write).unwrap();
            assert!(
                !matches!(reply, Frame::Error(_)),
                "{kind:?} {write:?}: {reply:?}"
            );
        }
        assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1", "{kind:?}");
        let mut r = replica.client();
        for read in READS {
            let sorted = matches!(read[0], "SMEMBERS" | "HGETALL");
            let want = norm(&m.cmd(read).unwrap(), sorted);
            let got = norm(&r.cmd(read).unwrap(), sorted);
            assert_eq!(want, got, "{kind:?} {read:?}");
        }
        let ttl: i64 = r.text(&["TTL", "e"]).unwrap().parse().unwrap();
        assert!(ttl > 900, "{kind:?}: TTL on the replica {ttl}");
        let pttl: i64 = r.text(&["PTTL", "s"]).unwrap().parse().unwrap();
        assert!(pttl > 0, "{kind:?}: PEXPIRE replicated");
        r.cmd(&["SELECT", "1"]).unwrap();
        assert_eq!(r.text(&["GET", "other-db"]).unwrap(), "yes", "{kind:?}");
    }
}

#[test]
fn replica_refuses_writes_and_wait() {
    for kind in KINDS {
        let (_master, replica) = pair(kind, &[], &[]);
        let mut r = replica.client();
        assert_eq!(
            r.text(&["SET", "k", "v"]).unwrap(),
            "-READONLY You can't write against a read only replica.",
            "{kind:?}"
        );
        assert_eq!(
            r.text(&["WAIT", "1", "10"]).unwrap(),
            "-ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
            "{kind:?}"
        );
        assert_eq!(r.text(&["GET", "k"]).unwrap(), "(nil)", "reads are served");
    }
}

#[test]
fn wait_times_out_with_the_count_so_far() {
    for kind in KINDS {
        let (master, _replica) = pair(kind, &[], &[]);
        let mut m = master.client();
        m.cmd(&["SET", "k", "v"]).unwrap();
        let started = Instant::now();
        assert_eq!(m.text(&["WAIT", "2", "300"]).unwrap(), "1", "{kind:?}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(290),
            "{kind:?}: returned after {took:?}"
        );
        assert!(
            took < Duration::from_secs(3),
            "{kind:?}: returned after {took:?}"
        );
        let alone = start(kind, &[]);
        let mut a = alone.client();
        a.cmd(&["SET", "k", "v"]).unwrap();
        assert_eq!(a.text(&["WAIT", "1", "100"]).unwrap(), "0", "{kind:?}");
        assert_eq!(a.text(&["WAIT", "0", "0"]).unwrap(), "0", "{kind:?}");
        assert!(a.text(&["WAIT", "1", "-1"]).unwrap().starts_with("-ERR"));
    }
}

#[test]
fn info_replication_and_role_have_redis_fields() {
    for kind in KINDS {
        let (master, replica) = pair(kind, &[], &[]);
        let mut m = master.client();
        m.cmd(&["SET", "k", "v"]).unwrap();
        assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1");
        let info = m.text(&["INFO", "replication"]).unwrap();
        for key in [
            "role",
            "connected_slaves",
            "slave0",
            "master_failover_state",
            "master_replid",
            "master_replid2",
            "master_repl_offset",
            "second_repl_offset",
            "repl_backlog_active",
            "repl_backlog_size",
            "repl_backlog_first_byte_offset",
            "repl_backlog_histlen",
        ] {
            assert!(
                field(&info, key).is_some(),
                "{kind:?}: master lacks {key}:\n{info}"
            );
        }
        assert_eq!(field(&info, "role").as_deref(), Some("master"));
        let slave0 = field(&info, "slave0").unwrap();
        let expected = format!("ip=127.0.0.1,port={},state=online,offset=", replica.port);
        assert!(slave0.starts_with(&expected), "{kind:?}: {slave0}");
        let offset = field(&info, "master_repl_offset").unwrap();
        let rinfo = replica.client().text(&["INFO", "replication"]).unwrap();
        for key in [
            "role",
            "master_host",
            "master_port",
            "master_link_status",
            "master_last_io_seconds_ago",
            "master_sync_in_progress",
            "slave_read_repl_offset",
            "slave_repl_offset",
            "slave_priority",
            "slave_read_only",
            "replica_announced",
            "connected_slaves",
            "master_replid",
            "master_repl_offset",
        ] {
            assert!(
                field(&rinfo, key).is_some(),
                "{kind:?}: replica lacks {key}:\n{rinfo}"
            );
        }
        assert_eq!(field(&rinfo, "role").as_deref(), Some("slave"));
        assert_eq!(field(&rinfo, "master_link_status").as_deref(), Some("up"));
        assert_eq!(field(&rinfo, "master_port"), Some(master.port.to_string()));
        assert_eq!(
            field(&rinfo, "master_replid"),
            field(&info, "master_replid")
        );
        let replica_offset: i64 = field(&rinfo, "slave_repl_offset").unwrap().parse().unwrap();
        assert!(
            replica_offset >= offset.parse::<i64>().unwrap() - 100,
            "{kind:?}"
        );
        let role = m.cmd(&["ROLE"]).unwrap();
        let Frame::Array(parts) = &role else {
            panic!("{role:?}")
        };
        assert_eq!(frame_text(&parts[0]), "master");
        let rrole = replica.client().cmd(&["ROLE"]).unwrap();
        let Frame::Array(rparts) = &rrole else {
            panic!("{rrole:?}")
        };
        assert_eq!(frame_text(&rparts[0]), "slave");
        assert_eq!(frame_text(&rparts[2]), master.port.to_string());
        assert_eq!(frame_text(&rparts[3]), "connected");
    }
}

#[test]
fn promotion_keeps_history_so_sibling_and_old_master_continue() {
    for kind in KINDS {
        let (master, first) = pair(kind, &[], &[]);
        let second = start(kind, &[]);
        let to_old = ["REPLICAOF", "127.0.0.1", &master.port.to_string()];
        assert_eq!(second.client().text(&to_old).unwrap(), "OK");
        wait_online(&master, 2);
        let mut m = master.client();
        for i in 0..100 {
            m.cmd(&["SET", &format!("k{i}"), &i.to_string()]).unwrap();
        }
        assert_eq!(m.text(&["WAIT", "2", "5000"]).unwrap(), "2", "{kind:?}");
        let old_replid = field(&m.text(&["INFO", "replication"]).unwrap(), "master_replid");
        // Failover: promote the first replica, point the second and the old master at it.
        let mut p = first.client();
        assert_eq!(p.text(&["REPLICAOF", "NO", "ONE"]).unwrap(), "OK");
        let info = p.text(&["INFO", "replication"]).unwrap();
        assert_eq!(field(&info, "role").as_deref(), Some("master"), "{kind:?}");
        assert_eq!(field(&info, "master_replid2"), old_replid, "{kind:?}");
        assert_ne!(field(&info, "master_replid"), old_replid, "{kind:?}");
        let to_new = ["REPLICAOF", "127.0.0.1", &first.port.to_string()];
        assert_eq!(second.client().text(&to_new).unwrap(), "OK");
        assert_eq!(master.client().text(&to_new).unwrap(), "OK");
        wait_online(&first, 2);
        p.cmd(&["SET", "after", "failover"]).unwrap();
        assert_eq!(p.text(&["WAIT", "2", "5000"]).unwrap(), "2", "{kind:?}");
        for node in [&second, &master] {
            let mut c = node.client();
            assert_eq!(c.text(&["GET", "after"]).unwrap(), "failover", "{kind:?}");
            assert_eq!(c.text(&["GET", "k99"]).unwrap(), "99", "{kind:?}");
        }
        let stats = p.text(&["INFO", "stats"]).unwrap();
        assert_eq!(
            field(&stats, "sync_partial_ok").as_deref(),
            Some("2"),
            "{kind:?}:\n{stats}"
        );
        assert_eq!(field(&stats, "sync_full").as_deref(), Some("0"), "{kind:?}");
    }
}

#[test]
fn replica_authenticates_with_masterauth() {
    for kind in KINDS {
        let auth = [("requirepass", "s3cret")];
        let (master, replica) = pair(kind, &auth, &[("masterauth", "s3cret")]);
        let mut m = master.client();
        m.cmd(&["SET", "k", "v"]).unwrap();
        assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1", "{kind:?}");
        assert_eq!(
            replica.client().text(&["GET", "k"]).unwrap(),
            "v",
            "{kind:?}"
        );
    }
}

/// WAIT waits for the calling client's last write only: with the replica stopped, a
/// client whose write the replica acknowledged before gets 1 at once, although another
/// client wrote since; the other client times out with 0.
#[test]
fn wait_counts_acks_of_the_callers_last_write() {
    for kind in KINDS {
        let (master, replica) = pair(kind, &[], &[]);
        let (mut early, mut late) = (master.client(), master.client());
        early.cmd(&["SET", "early", "1"]).unwrap();
        assert_eq!(early.text(&["WAIT", "1", "5000"]).unwrap(), "1", "{kind:?}");
        replica.child().signal("STOP");
        late.cmd(&["SET", "late", "1"]).unwrap();
        let started = Instant::now();
        assert_eq!(early.text(&["WAIT", "1", "2000"]).unwrap(), "1", "{kind:?}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{kind:?}: WAIT waited for another client's write"
        );
        assert_eq!(late.text(&["WAIT", "1", "300"]).unwrap(), "0", "{kind:?}");
        replica.child().signal("CONT");
    }
}

/// CLIENT PAUSE / UNPAUSE: Redis's errors; WRITE holds writes, PUBLISH and EXEC of a
/// transaction holding a write (queued before the pause) but not reads or a read-only
/// EXEC; a held command runs once the pause ends; ALL holds everything.
#[test]
fn client_pause_holds_writes_and_exec_of_writes() {
    let pause_errors: &[&[&str]] = &[
        &["CLIENT", "PAUSE"],
        &["CLIENT", "PAUSE", "10", "WRITE", "x"],
        &["CLIENT", "PAUSE", "abc"],
        &["CLIENT", "PAUSE", "-1"],
        &["CLIENT", "PAUSE", "10", "foo"],
        &["CLIENT", "UNPAUSE", "x"],
    ];
    let mut seen: Vec<Vec<String>> = Vec::new();
    for kind in KINDS {
        let server = start(kind, &[]);
        let mut admin = server.client();
        let errors = pause_errors
            .iter()
            .map(|args| admin.text(args).unwrap())
            .collect::<Vec<_>>();
        assert!(errors.iter().all(|e| e.starts_with("-ERR")), "{errors:?}");
        seen.push(errors);
        let mut tx = server.client();
        assert_eq!(tx.text(&["MULTI"]).unwrap(), "OK");
        assert_eq!(tx.text(&["SET", "k", "queued"]).unwrap(), "QUEUED");
        assert_eq!(
            admin.text(&["CLIENT", "PAUSE", "800", "WRITE"]).unwrap(),
            "OK"
        );
        let started = Instant::now();
        assert_eq!(admin.text(&["GET", "k"]).unwrap(), "(nil)", "{kind:?}");
        let read_tx: &[&[&str]] = &[&["MULTI"], &["GET", "k"], &["EXEC"]];
        let mut reader = server.client();
        let replies: Vec<String> = read_tx.iter().map(|c| reader.text(c).unwrap()).collect();
        assert!(replies[2].contains("Null"), "{kind:?}: {replies:?}");
        assert!(started.elapsed() < Duration::from_millis(500), "{kind:?}");
        let exec = tx.cmd(&["EXEC"]).unwrap();
        assert_eq!(exec, Frame::Array(vec![Frame::ok()]), "{kind:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(700),
            "{kind:?}: EXEC of a write ran during the pause"
        );
        assert_eq!(
            admin.text(&["CLIENT", "PAUSE", "60000", "WRITE"]).unwrap(),
            "OK"
        );
        let publisher = std::thread::spawn({
            let mut c = server.client();
            move || (c.text(&["PUBLISH", "ch", "m"]).unwrap(), Instant::now())
        });
        std::thread::sleep(Duration::from_millis(300));
        let unpaused = Instant::now();
        assert_eq!(admin.text(&["CLIENT", "UNPAUSE"]).unwrap(), "OK");
        let (published, at) = publisher.join().unwrap();
        assert_eq!(published, "0");
        assert!(at >= unpaused, "{kind:?}: PUBLISH ran during the pause");
        assert_eq!(admin.text(&["CLIENT", "PAUSE", "300"]).unwrap(), "OK");
        let started = Instant::now();
        assert_eq!(admin.text(&["PING"]).unwrap(), "PONG");
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "{kind:?}: ALL"
        );
    }
    assert_eq!(seen[0], seen[1], "error texts differ from redis-server");
}
