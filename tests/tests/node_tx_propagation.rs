//! MULTI/EXEC between real processes, as Redis 7.0 propagates it: an EXEC's writes reach the
//! AOF and the replicas as one `MULTI` … `EXEC` (one write alone, none not at all), a
//! replica applies its master's transaction as a unit — even one split across many reads —
//! and passes it on wrapped the same way (its AOF, its own replicas), and an AOF whose
//! writer died inside a transaction loads without it. Runs against redis-server 7 too where
//! the behaviour is Redis's, to prove the test itself.

mod node_replication_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use node_replication_common::{field, pair, start, wait_online};
use slotgate_protocol::resp::encode_request;
use slotgate_protocol::Frame;
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::ServerKind;
use slotgate_tests::{both_servers, eventually};

both_servers! {
    exec_propagates_one_transaction => exec_propagates_one_transaction_slotgate, exec_propagates_one_transaction_redis;
    big_transaction_is_applied_whole => big_transaction_is_applied_whole_slotgate, big_transaction_is_applied_whole_redis;
}

const AOF: [(&str, &str); 2] = [("appendonly", "yes"), ("appendfsync", "always")];

/// MULTI; SET a 1; INCR a; SET b x; EXEC → the AOF holds MULTI, the three, EXEC; a
/// transaction with one write holds just that write, one with none nothing. The replica
/// (with an AOF of its own, wrapped the same way) and its replica get the values, and so
/// does the master restarted from its AOF.
fn exec_propagates_one_transaction(kind: ServerKind) {
    let (mut master, replica) = pair(kind, &AOF, &AOF);
    let chained = start(kind, &[]);
    let port = replica.port.to_string();
    let reply = chained.client().text(&["REPLICAOF", "127.0.0.1", &port]);
    assert_eq!(reply.unwrap(), "OK", "{kind:?}");
    wait_online(&replica, 1);

    let mut m = master.client();
    transaction(
        &mut m,
        &[&["SET", "a", "1"], &["INCR", "a"], &["SET", "b", "x"]],
    );
    transaction(
        &mut m,
        &[&["GET", "a"], &["SET", "single", "s"], &["GET", "b"]],
    );
    transaction(&mut m, &[&["GET", "a"], &["EXISTS", "b"]]);
    assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1", "{kind:?}");

    let want = [
        "MULTI",
        "SET a 1",
        "INCR a",
        "SET b x",
        "EXEC",
        "SET single s",
    ];
    assert_eq!(
        slotgate_tests::aof::commands(&master.dir),
        want,
        "{kind:?} master AOF"
    );
    let values = [("a", "2"), ("b", "x"), ("single", "s")];
    assert_values(&mut replica.client(), &values, &format!("{kind:?} replica"));
    eventually(Duration::from_secs(10), || {
        let got = slotgate_tests::aof::commands(&replica.dir);
        match got.ends_with(&want.map(String::from)) {
            true => Ok(()),
            false => Err(format!("replica AOF {got:?}")),
        }
    });
    eventually(Duration::from_secs(10), || {
        let mut c = chained.client();
        let got = [c.text(&["GET", "a"]), c.text(&["GET", "b"])];
        match got.iter().map(|r| r.as_deref().ok()).collect::<Vec<_>>()[..] {
            [Some("2"), Some("x")] => Ok(()),
            _ => Err(format!("chained replica has {got:?}")),
        }
    });

    drop(m);
    master.restart();
    assert_values(
        &mut master.client(),
        &values,
        &format!("{kind:?} after restart"),
    );
}

/// 5,000 SETs with 100-byte values in one transaction: several reads' worth of stream for
/// the replica. A client polling the replica's DBSIZE meanwhile only ever sees none or all
/// of them, and after WAIT every key is there; the master counts 5,000 SETs in one EXEC.
fn big_transaction_is_applied_whole(kind: ServerKind) {
    const N: usize = 5_000;
    let (master, replica) = pair(kind, &[], &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        let port = replica.port;
        std::thread::spawn(move || {
            let mut r = slotgate_tests::Client::connect(port).expect("poller connects");
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                seen.insert(r.text(&["DBSIZE"]).expect("DBSIZE"));
            }
            seen
        })
    };

    let mut m = master.client();
    let value = "v".repeat(100);
    m.send(&["MULTI"]).unwrap();
    for i in 0..N {
        m.send(&["SET", &format!("key:{i}"), &value]).unwrap();
    }
    m.send(&["EXEC"]).unwrap();
    assert_eq!(frame_text(&m.read_reply().unwrap()), "OK", "{kind:?}");
    for _ in 0..N {
        assert_eq!(frame_text(&m.read_reply().unwrap()), "QUEUED", "{kind:?}");
    }
    match m.read_reply().unwrap() {
        Frame::Array(replies) => assert_eq!(replies.len(), N, "{kind:?}"),
        other => panic!("{kind:?}: EXEC answered {other:?}"),
    }
    assert_eq!(m.text(&["WAIT", "1", "10000"]).unwrap(), "1", "{kind:?}");

    let mut r = replica.client();
    assert_eq!(r.text(&["DBSIZE"]).unwrap(), N.to_string(), "{kind:?}");
    stop.store(true, Ordering::Relaxed);
    let seen = poller.join().expect("poller");
    let whole = ["0".to_owned(), N.to_string()];
    assert!(
        seen.iter().all(|s| whole.contains(s)),
        "{kind:?}: the replica showed a partial transaction: {seen:?}"
    );
    let keys: Vec<String> = (0..N).map(|i| format!("key:{i}")).collect();
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    match r.cmd(&mget).unwrap() {
        Frame::Array(values) => {
            assert_eq!(values.len(), N, "{kind:?}");
            assert!(
                values.iter().all(|v| frame_text(v) == value),
                "{kind:?}: a key is missing on the replica"
            );
        }
        other => panic!("{kind:?}: MGET answered {other:?}"),
    }
    let stats = m.text(&["INFO", "commandstats"]).unwrap();
    let calls = |name: &str| {
        field(&stats, &format!("cmdstat_{name}"))
            .and_then(|v| v.split("calls=").nth(1)?.split(',').next()?.parse().ok())
    };
    assert_eq!(calls("set"), Some(N as u64), "{kind:?}: {stats}");
    assert_eq!(calls("exec"), Some(1), "{kind:?}: {stats}");
    assert_eq!(m.text(&["DBSIZE"]).unwrap(), N.to_string(), "{kind:?}");
}

/// slotgate-node only (redis-server 7 keeps a multi-part AOF): the AOF's tail is a MULTI
/// with no EXEC — whole commands after it, or a torn one. The node starts, the incomplete
/// transaction's writes are absent, what came before is there, and the file is cut back to
/// before the MULTI, so later writes are not swallowed by it after another restart.
#[test]
fn aof_ending_inside_multi_drops_the_transaction() {
    let mut tail = BytesMut::new();
    encode_request(&["MULTI"], &mut tail);
    encode_request(&["SET", "inside", "1"], &mut tail);
    encode_request(&["INCR", "before"], &mut tail);
    let whole = tail.to_vec();
    let torn = [&whole[..], b"*3\r\n$3\r\nSET\r\n$4\r\nto"].concat();
    for tail in [whole, torn] {
        let mut node = start(ServerKind::SlotgateNode, &AOF);
        node.kill();
        let mut data = BytesMut::new();
        encode_request(&["SELECT", "0"], &mut data);
        encode_request(&["SET", "before", "1"], &mut data);
        encode_request(&["MULTI"], &mut data);
        encode_request(&["SET", "done", "1"], &mut data);
        encode_request(&["EXEC"], &mut data);
        let kept = data.len() as u64;
        data.extend_from_slice(&tail);
        let path = node.dir.join("appendonly.aof");
        std::fs::write(&path, &data).unwrap();
        node.restart();

        let mut c = node.client();
        assert_values(&mut c, &[("before", "1"), ("done", "1")], "loaded");
        assert_eq!(c.text(&["EXISTS", "inside"]).unwrap(), "0");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), kept);
        let log = std::fs::read_to_string(node.dir.join("server.log")).unwrap_or_default();
        assert!(
            log.contains("Revert incomplete MULTI/EXEC transaction in AOF file"),
            "{log}"
        );

        assert_eq!(c.text(&["SET", "after", "1"]).unwrap(), "OK");
        drop(c);
        node.restart();
        c = node.client();
        let loaded = [("before", "1"), ("done", "1"), ("after", "1")];
        assert_values(&mut c, &loaded, "after a second restart");
        assert_eq!(c.text(&["EXISTS", "inside"]).unwrap(), "0");
    }
}

/// Sends MULTI, `commands`, EXEC on one connection and checks the replies.
fn transaction(c: &mut slotgate_tests::Client, commands: &[&[&str]]) {
    assert_eq!(c.text(&["MULTI"]).unwrap(), "OK");
    for command in commands {
        assert_eq!(c.text(command).unwrap(), "QUEUED");
    }
    match c.cmd(&["EXEC"]).unwrap() {
        Frame::Array(replies) => assert_eq!(replies.len(), commands.len()),
        other => panic!("EXEC answered {other:?}"),
    }
}

/// Checks `GET key` for each `(key, value)`.
fn assert_values(c: &mut slotgate_tests::Client, values: &[(&str, &str)], what: &str) {
    for (key, want) in values {
        assert_eq!(c.text(&["GET", key]).unwrap(), *want, "{what}: {key}");
    }
}
