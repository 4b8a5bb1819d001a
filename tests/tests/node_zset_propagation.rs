//! Sorted-set writes reach the AOF (the replication stream's twin) the way Redis 7.0
//! propagates them: ZMPOP, BZMPOP and BZPOPMIN/MAX, served at once or after blocking, as
//! `ZPOPMIN|ZPOPMAX key [count]`; *STORE and ZREMRANGEBY* as sent; reads and no-ops not at
//! all. The same script runs against redis-server 7 to prove the expectations.

use std::path::Path;
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use slotgate_protocol::resp::RequestDecoder;
use slotgate_protocol::Frame;
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::{RedisServer, ServerKind};
use slotgate_tests::{eventually, free_port};

/// Commands sent one after another on one connection.
const SCRIPT: &[&[&str]] = &[
    &[
        "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
    ],
    &["ZMPOP", "2", "nosuch", "z", "MAX", "COUNT", "2"],
    &["ZMPOP", "1", "nosuch", "MIN"],
    &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "1"],
    &["BZPOPMAX", "z", "0"],
    &["ZRANDMEMBER", "z", "2"],
    &["ZRANGESTORE", "d", "z", "0", "-1"],
    &["ZUNIONSTORE", "u", "2", "z", "d", "WEIGHTS", "1", "2"],
    &["ZREMRANGEBYSCORE", "z", "100", "200"],
    &["ZREMRANGEBYRANK", "u", "0", "0"],
    &["ZINTERSTORE", "none", "2", "z", "nosuch"],
    &["ZPOPMIN", "z", "0"],
    &["ZREM", "z", "nosuch"],
    &["ZADD", "z", "XX", "1", "nosuch"],
    &["ZINCRBY", "z", "0", "c"],
];

/// What the AOF must hold afterwards (SELECT, MULTI and EXEC left out).
const PROPAGATED: &[&[&str]] = &[
    &[
        "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
    ],
    &["ZPOPMAX", "z", "2"],
    &["ZPOPMIN", "z", "1"],
    &["ZPOPMAX", "z"],
    &["ZRANGESTORE", "d", "z", "0", "-1"],
    &["ZUNIONSTORE", "u", "2", "z", "d", "WEIGHTS", "1", "2"],
    &["ZREMRANGEBYRANK", "u", "0", "0"],
    &["ZADD", "w", "1", "x", "2", "y", "3", "q"],
    &["ZPOPMAX", "w", "2"],
    &["ZADD", "v", "1", "x"],
    &["ZPOPMIN", "v"],
];

/// Every request in the server's AOF (redis-server 7 keeps it in `appendonlydir/`).
fn aof_commands(dir: &Path) -> Vec<Vec<String>> {
    let multi_part = dir.join("appendonlydir");
    let files: Vec<_> = match std::fs::read_dir(&multi_part) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
            .collect(),
        Err(_) => vec![dir.join("appendonly.aof")],
    };
    let mut commands = Vec::new();
    for file in files {
        let mut buf = BytesMut::from(&std::fs::read(&file).unwrap()[..]);
        let mut decoder = RequestDecoder::default();
        while let Some(request) = decoder.decode(&mut buf).unwrap() {
            commands.push(
                request
                    .args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
            );
        }
    }
    commands
}

/// A reply as text, arrays as `[a, b]`.
fn show(frame: &Frame) -> String {
    match frame {
        Frame::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        other => frame_text(other),
    }
}

fn blocked_clients(server: &RedisServer) -> Result<(), String> {
    let info = server.client().text(&["INFO", "clients"]).unwrap();
    if info.contains("blocked_clients:1") {
        Ok(())
    } else {
        Err(info)
    }
}

/// Blocks `command` on a connection of its own, then feeds it with `feed`; returns the
/// blocked command's reply.
fn served_after_blocking(server: &RedisServer, command: &[&str], feed: &[&str]) -> Frame {
    let mut waiter = server.client();
    let owned: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    let handle = thread::spawn(move || waiter.cmd(&owned).unwrap());
    eventually(Duration::from_secs(10), || blocked_clients(server));
    let reply = server.client().cmd(feed).unwrap();
    assert!(!matches!(reply, Frame::Error(_)), "{feed:?}: {reply:?}");
    handle.join().unwrap()
}

#[test]
fn zset_pops_propagate_as_zpop() {
    for kind in [ServerKind::SlotgateNode, ServerKind::Redis] {
        let server = RedisServer::start(
            kind,
            free_port(),
            &[("appendonly", "yes"), ("appendfsync", "always")],
        );
        let mut client = server.client();
        for command in SCRIPT {
            let reply = client.cmd(command).unwrap();
            assert!(
                !matches!(reply, Frame::Error(_)),
                "{kind:?} {command:?}: {reply:?}"
            );
        }
        let popped = served_after_blocking(
            &server,
            &["BZMPOP", "0", "2", "nosuch", "w", "MAX", "COUNT", "2"],
            &["ZADD", "w", "1", "x", "2", "y", "3", "q"],
        );
        assert_eq!(show(&popped), "[w, [[q, 3], [y, 2]]]", "{kind:?}");
        let popped =
            served_after_blocking(&server, &["BZPOPMIN", "v", "0"], &["ZADD", "v", "1", "x"]);
        assert_eq!(show(&popped), "[v, x, 1]", "{kind:?}");
        let written: Vec<Vec<String>> = aof_commands(&server.dir)
            .into_iter()
            .filter(|c| {
                !matches!(
                    c[0].to_ascii_uppercase().as_str(),
                    "SELECT" | "MULTI" | "EXEC"
                )
            })
            .collect();
        let want: Vec<Vec<String>> = PROPAGATED
            .iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(written, want, "{kind:?}");
    }
}
