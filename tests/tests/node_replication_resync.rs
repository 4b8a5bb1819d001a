//! Resynchronisation between real processes, under a continuous writer: a replica stopped
//! for 2 s (`kill -STOP` / `-CONT`) continues from the backlog (`+CONTINUE`, counted in
//! `sync_partial_ok`); one that fell further behind than `repl-backlog-size` gets a full
//! resync; a replica killed and restarted with its AOF continues partially. The first two
//! also run against redis-server 7 to prove the test.

mod node_replication_common;

use std::time::Duration;

use node_replication_common::{field, pair, start, wait_equal, wait_online, Writer, KINDS};
use slotgate_tests::eventually;
use slotgate_tests::redis::{RedisServer, ServerKind};

/// The master's sync counters: (sync_full, sync_partial_ok, sync_partial_err).
fn sync_stats(master: &RedisServer) -> (u64, u64, u64) {
    let stats = master.client().text(&["INFO", "stats"]).unwrap();
    let get = |key| field(&stats, key).and_then(|v| v.parse().ok()).unwrap();
    (
        get("sync_full"),
        get("sync_partial_ok"),
        get("sync_partial_err"),
    )
}

/// Waits until the writer has made `rounds` more rounds on `master`.
fn writes_flow(master: &RedisServer, rounds: u64) {
    let start: u64 = master
        .client()
        .text(&["GET", "counter"])
        .unwrap()
        .parse()
        .unwrap_or(0);
    eventually(Duration::from_secs(10), || -> Result<(), u64> {
        let now = master.client().text(&["GET", "counter"]).unwrap();
        let now: u64 = now.parse().unwrap_or(0);
        if now >= start + rounds {
            Ok(())
        } else {
            Err(now)
        }
    });
}

/// Stops the replica for 2 s while the writer keeps writing, then lets it go on.
fn pause_replica(master: &RedisServer, replica: &RedisServer) {
    replica.child().signal("STOP");
    std::thread::sleep(Duration::from_secs(2));
    replica.child().signal("CONT");
    writes_flow(master, 100);
}

#[test]
fn replica_stopped_for_two_seconds_continues_partially() {
    for kind in KINDS {
        let master_conf = [("repl-timeout", "1"), ("repl-backlog-size", "64mb")];
        let (master, replica) = pair(kind, &master_conf, &[]);
        let writer = Writer::start(master.port);
        writes_flow(&master, 200);
        let (full, partial, _) = sync_stats(&master);
        pause_replica(&master, &replica);
        wait_online(&master, 1);
        let rounds = writer.stop();
        wait_equal(&master, &replica);
        let (full_after, partial_after, _) = sync_stats(&master);
        assert_eq!(full_after, full, "{kind:?}: no full resync");
        assert!(
            partial_after > partial,
            "{kind:?}: a partial resync happened"
        );
        assert!(rounds > 300, "{kind:?}: the writer kept writing ({rounds})");
    }
}

#[test]
fn replica_behind_more_than_the_backlog_resyncs_fully() {
    for kind in KINDS {
        let master_conf = [("repl-timeout", "1"), ("repl-backlog-size", "16kb")];
        let (master, replica) = pair(kind, &master_conf, &[]);
        let writer = Writer::start(master.port);
        writes_flow(&master, 200);
        let (full, _, errors) = sync_stats(&master);
        replica.child().signal("STOP");
        let mut m = master.client();
        let big = "x".repeat(4096);
        for i in 0..500 {
            m.cmd(&["SET", &format!("big{i}"), &big]).unwrap();
        }
        std::thread::sleep(Duration::from_secs(2));
        replica.child().signal("CONT");
        writes_flow(&master, 100);
        wait_online(&master, 1);
        writer.stop();
        wait_equal(&master, &replica);
        let (full_after, _, errors_after) = sync_stats(&master);
        assert_eq!(full_after, full + 1, "{kind:?}: one more full resync");
        assert_eq!(
            errors_after,
            errors + 1,
            "{kind:?}: the partial attempt failed"
        );
        let value = replica.client().text(&["GET", "big499"]).unwrap();
        assert_eq!(value.len(), 4096, "{kind:?}");
    }
}

#[test]
fn replica_restarted_with_its_aof_continues_partially() {
    let kind = ServerKind::SlotgateNode;
    let master = start(kind, &[]);
    let replicaof = format!("127.0.0.1 {}", master.port);
    let mut replica = start(kind, &[("replicaof", &replicaof), ("appendonly", "yes")]);
    wait_online(&master, 1);
    let mut m = master.client();
    // Database 3: after the restart the stream continues in the database it had selected.
    m.cmd(&["SELECT", "3"]).unwrap();
    let push = |m: &mut slotgate_tests::Client, range: std::ops::Range<u32>| {
        for i in range {
            m.cmd(&["RPUSH", "list", &i.to_string()]).unwrap();
        }
    };
    push(&mut m, 0..200);
    assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1");
    replica.kill();
    push(&mut m, 200..300);
    replica.restart();
    wait_online(&master, 1);
    assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1");
    let mut r = replica.client();
    r.cmd(&["SELECT", "3"]).unwrap();
    assert_eq!(
        r.text(&["LLEN", "list"]).unwrap(),
        "300",
        "each command once"
    );
    assert_eq!(r.text(&["LINDEX", "list", "-1"]).unwrap(), "299");
    r.cmd(&["SELECT", "0"]).unwrap();
    assert_eq!(
        r.text(&["DBSIZE"]).unwrap(),
        "0",
        "nothing in the wrong database"
    );
    assert_eq!(
        sync_stats(&master),
        (1, 1, 0),
        "first sync full, after restart partial"
    );
}
