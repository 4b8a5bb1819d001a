//! The snapshot file end to end, every scenario run against slotgate-node and against
//! redis-server 7 started the same way: SAVE then `kill -9` brings every key (and its TTL)
//! back; a BGSAVE taken while a writer runs is one consistent point in time; SHUTDOWN SAVE
//! saves and SHUTDOWN NOSAVE doesn't; with `appendonly yes` the AOF wins over the file.

use std::thread;
use std::time::{Duration, Instant};

use slotgate_protocol::Frame;
use slotgate_tests::client::Client;
use slotgate_tests::redis::{RedisServer, ServerKind};
use slotgate_tests::{eventually, free_port};

const KINDS: [ServerKind; 2] = [ServerKind::SlotgateNode, ServerKind::Redis];

fn start(kind: ServerKind, extra: &[(&str, &str)]) -> RedisServer {
    RedisServer::start(kind, free_port(), extra)
}

/// One field of `INFO persistence`.
fn persistence(c: &mut Client, field: &str) -> String {
    let text = c.text(&["INFO", "persistence"]).expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {text}"))
        .to_owned()
}

fn wait_bgsave_done(c: &mut Client) {
    eventually(Duration::from_secs(20), || {
        match persistence(c, "rdb_bgsave_in_progress").as_str() {
            "0" => Ok(()),
            other => Err(format!("bgsave in progress: {other}")),
        }
    });
}

/// Waits until nothing answers on the server's port (after SHUTDOWN).
fn wait_gone(server: &RedisServer) {
    eventually(Duration::from_secs(20), || {
        match Client::connect(server.port) {
            Err(_) => Ok(()),
            Ok(_) => Err("still accepting"),
        }
    });
}

fn texts(c: &mut Client, commands: &[&[&str]]) -> Vec<String> {
    commands
        .iter()
        .map(|cmd| c.text(cmd).expect("command"))
        .collect()
}

/// What the restarted server must answer (TTLs checked separately).
const READ_BACK: &[&[&str]] = &[
    &["GET", "s"],
    &["GET", "bin\x00key"],
    &["LRANGE", "l", "0", "-1"],
    &["HGET", "h", "f2"],
    &["SCARD", "set"],
    &["ZSCORE", "z", "b"],
    &["GET", "in-db-3"],
    &["EXISTS", "short"],
    &["DBSIZE"],
];

#[test]
fn save_then_kill_9_brings_everything_back() {
    for kind in KINDS {
        let mut server = start(kind, &[]);
        let mut c = server.client();
        for cmd in [
            &["SET", "s", "hello", "EX", "1000"][..],
            &["SET", "bin\x00key", "v\x00\u{1}"],
            &["RPUSH", "l", "a", "b", "c"],
            &["HSET", "h", "f1", "v1", "f2", "v2"],
            &["PEXPIRE", "h", "2000000"],
            &["SADD", "set", "1", "2", "x"],
            &["ZADD", "z", "1.5", "a", "-2", "b"],
            &["SET", "short", "gone", "PX", "1"],
        ] {
            c.cmd(cmd).expect("write");
        }
        c.cmd(&["SELECT", "3"]).expect("select");
        c.cmd(&["SET", "in-db-3", "three"]).expect("set");
        c.cmd(&["SELECT", "0"]).expect("select");
        thread::sleep(Duration::from_millis(20));
        let before = texts(&mut c, READ_BACK);
        assert_eq!(before[0], "hello", "{kind:?}");
        assert_ne!(persistence(&mut c, "rdb_changes_since_last_save"), "0");
        let last = c.text(&["LASTSAVE"]).expect("LASTSAVE");
        thread::sleep(Duration::from_millis(1100));
        assert_eq!(c.text(&["SAVE"]).expect("SAVE"), "OK", "{kind:?}");
        assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(persistence(&mut c, "rdb_last_bgsave_status"), "ok");
        assert!(
            c.text(&["LASTSAVE"]).unwrap() > last,
            "{kind:?}: LASTSAVE moved"
        );
        let dump = server.dir.join("dump.rdb");
        assert!(dump.exists(), "{kind:?}: {} written", dump.display());

        server.kill();
        server.restart();
        let mut c = server.client();
        assert_eq!(texts(&mut c, READ_BACK), before, "{kind:?}");
        let ttl: i64 = c.text(&["TTL", "s"]).unwrap().parse().unwrap();
        assert!((990..=1000).contains(&ttl), "{kind:?}: TTL {ttl}");
        let pttl: i64 = c.text(&["PTTL", "h"]).unwrap().parse().unwrap();
        assert!(
            (1_990_000..=2_000_000).contains(&pttl),
            "{kind:?}: PTTL {pttl}"
        );
        assert_eq!(c.text(&["TTL", "l"]).unwrap(), "-1", "{kind:?}");
        let leftovers: Vec<_> = std::fs::read_dir(&server.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("temp-"))
            .collect();
        assert!(leftovers.is_empty(), "{kind:?}: temp files {leftovers:?}");
    }
}

/// A writer keeps adding `k:<n>` and bumping `count` to n in one MULTI; a BGSAVE taken
/// meanwhile must hold, for its `count`, exactly the keys `k:1..=count`.
#[test]
fn bgsave_during_writes_is_consistent() {
    for kind in KINDS {
        let mut server = start(kind, &[]);
        let port = server.port;
        let writer = thread::spawn(move || {
            let mut c = Client::connect(port).expect("connect");
            let started = Instant::now();
            let mut n = 0u64;
            while started.elapsed() < Duration::from_millis(1500) {
                n += 1;
                let key = format!("k:{n}");
                c.send(&["MULTI"]).unwrap();
                c.send(&["SET", &key, "x"]).unwrap();
                c.send(&["INCR", "count"]).unwrap();
                c.send(&["EXEC"]).unwrap();
                for _ in 0..4 {
                    c.read_reply().unwrap();
                }
            }
            n
        });
        thread::sleep(Duration::from_millis(500));
        let mut c = server.client();
        let reply = c.cmd(&["BGSAVE"]).expect("BGSAVE");
        assert_eq!(
            reply,
            Frame::Simple("Background saving started".into()),
            "{kind:?}"
        );
        wait_bgsave_done(&mut c);
        assert_eq!(persistence(&mut c, "rdb_last_bgsave_status"), "ok");
        let written = writer.join().expect("writer");

        server.kill();
        server.restart();
        let mut c = server.client();
        let count: u64 = c.text(&["GET", "count"]).unwrap().parse().unwrap();
        assert!(
            count > 0 && count <= written,
            "{kind:?}: {count} of {written}"
        );
        let dbsize: u64 = c.text(&["DBSIZE"]).unwrap().parse().unwrap();
        assert_eq!(dbsize, count + 1, "{kind:?}: keys k:1..=count and count");
        let last = format!("k:{count}");
        let next = format!("k:{}", count + 1);
        assert_eq!(c.text(&["EXISTS", &last, &next]).unwrap(), "1", "{kind:?}");
    }
}

#[test]
fn shutdown_save_saves_and_nosave_does_not() {
    for kind in KINDS {
        let mut server = start(kind, &[]);
        let mut c = server.client();
        c.cmd(&["SET", "a", "1"]).unwrap();
        // `save ""` (the harness's): plain SHUTDOWN and NOSAVE both leave no file.
        let _ = c.cmd(&["SHUTDOWN", "NOSAVE"]);
        wait_gone(&server);
        server.restart();
        let mut c = server.client();
        assert_eq!(c.text(&["EXISTS", "a"]).unwrap(), "0", "{kind:?}");
        assert_eq!(
            c.text(&["SHUTDOWN", "SAVE", "NOSAVE"]).unwrap(),
            "-ERR syntax error",
            "{kind:?}"
        );
        assert_eq!(
            c.text(&["SHUTDOWN", "ABORT"]).unwrap(),
            "-ERR No shutdown in progress.",
            "{kind:?}"
        );
        c.cmd(&["SET", "b", "2"]).unwrap();
        let _ = c.cmd(&["SHUTDOWN", "SAVE"]);
        wait_gone(&server);
        server.restart();
        let mut c = server.client();
        assert_eq!(c.text(&["GET", "b"]).unwrap(), "2", "{kind:?}");
        assert_eq!(
            persistence(&mut c, "rdb_last_load_keys_loaded"),
            "1",
            "{kind:?}"
        );
    }
}

/// A snapshot file holding a key the AOF never saw: `appendonly yes` ignores it.
#[test]
fn with_appendonly_the_aof_wins_over_the_snapshot() {
    for kind in KINDS {
        let plain = start(kind, &[]);
        let mut c = plain.client();
        c.cmd(&["SET", "only-in-snapshot", "x"]).unwrap();
        assert_eq!(c.text(&["SAVE"]).unwrap(), "OK");

        let mut aof = start(kind, &[("appendonly", "yes"), ("appendfsync", "always")]);
        aof.client().cmd(&["SET", "in-aof", "y"]).unwrap();
        std::fs::copy(plain.dir.join("dump.rdb"), aof.dir.join("dump.rdb")).unwrap();
        aof.kill();
        aof.restart();
        let mut c = aof.client();
        assert_eq!(
            c.text(&["EXISTS", "in-aof", "only-in-snapshot"]).unwrap(),
            "1",
            "{kind:?}"
        );
    }
}
