//! Lua scripting between real processes: the writes an EVAL / EVALSHA makes on a master
//! reach its replica (Redis 7 replicates a script's effects, several writes as one
//! MULTI … EXEC) and survive a restart from the AOF; a script that never ends is stopped
//! at `busy-reply-threshold`. Runs against redis-server 7 too, to prove the test itself.

mod node_replication_common;

use std::time::{Duration, Instant};

use node_replication_common::{pair, start, KINDS};
use slotgate_protocol::Frame;
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::ServerKind;

const SCRIPT: &str = "redis.call('set', KEYS[1], ARGV[1]) \
                      redis.call('incrby', KEYS[2], 5) \
                      return redis.call('get', KEYS[1])";

#[test]
fn script_writes_reach_the_replica_and_survive_an_aof_restart() {
    for kind in KINDS {
        let aof = [("appendonly", "yes"), ("appendfsync", "always")];
        let (mut master, replica) = pair(kind, &aof, &[]);
        let mut m = master.client();
        let reply = m
            .text(&["EVAL", SCRIPT, "2", "sk", "counter", "v"])
            .unwrap();
        assert_eq!(reply, "v", "{kind:?}");
        let sha = m.text(&["SCRIPT", "LOAD", SCRIPT]).unwrap();
        let reply = m
            .text(&["EVALSHA", &sha, "2", "sk", "counter", "w"])
            .unwrap();
        assert_eq!(reply, "w", "{kind:?}");
        // One write goes alone, none goes nowhere.
        let one = "return redis.call('set', KEYS[1], ARGV[1])";
        let reply = m.text(&["EVAL", one, "1", "single", "s"]).unwrap();
        assert_eq!(reply, "OK", "{kind:?}");
        let none = "return redis.call('get', KEYS[1])";
        assert_eq!(m.text(&["EVAL", none, "1", "sk"]).unwrap(), "w", "{kind:?}");
        assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1", "{kind:?}");
        let commands: Vec<String> = slotgate_tests::aof::commands(&master.dir)
            .into_iter()
            .filter(|c| !c.starts_with("SELECT "))
            .collect();
        let two = [
            "MULTI",
            "SET sk v",
            "INCRBY counter 5",
            "EXEC",
            "MULTI",
            "SET sk w",
            "INCRBY counter 5",
            "EXEC",
            "SET single s",
        ];
        assert_eq!(commands, two, "{kind:?} AOF");
        let mut r = replica.client();
        assert_eq!(r.text(&["GET", "sk"]).unwrap(), "w", "{kind:?} replica");
        assert_eq!(
            r.text(&["GET", "counter"]).unwrap(),
            "10",
            "{kind:?} replica"
        );
        drop(m);
        master.restart();
        let mut m = master.client();
        assert_eq!(
            m.text(&["GET", "sk"]).unwrap(),
            "w",
            "{kind:?} after restart"
        );
        assert_eq!(
            m.text(&["GET", "counter"]).unwrap(),
            "10",
            "{kind:?} after restart"
        );
        assert_eq!(
            m.text(&["GET", "single"]).unwrap(),
            "s",
            "{kind:?} after restart"
        );
    }
}

const KILLED: &str = "-ERR Script killed by user with SCRIPT KILL... script: ";

/// A script that never ends is stopped once it has run `busy-reply-threshold` ms (Redis:
/// once SCRIPT KILL comes, which another connection sends here after a BUSY refusal), with
/// Redis's SCRIPT KILL error; other connections are answered right after.
#[test]
fn an_endless_script_is_stopped_at_the_busy_threshold() {
    for kind in KINDS {
        let server = start(kind, &[]);
        let mut c = server.client();
        let set = ["CONFIG", "SET", "busy-reply-threshold", "200"];
        assert_eq!(c.text(&set).unwrap(), "OK", "{kind:?}");
        let get = c.cmd(&["CONFIG", "GET", "lua-time-limit"]).unwrap();
        let Frame::Array(pair) = get else {
            panic!("{kind:?}: {get:?}")
        };
        let pair: Vec<String> = pair.iter().map(frame_text).collect();
        assert_eq!(pair, ["lua-time-limit", "200"], "{kind:?}");
        let started = Instant::now();
        let endless = std::thread::spawn(move || {
            c.cmd(&["EVAL", "while true do end", "0"])
                .expect("EVAL reply")
        });
        std::thread::sleep(Duration::from_millis(50));
        let mut other = server.client();
        loop {
            match other.cmd(&["PING"]).unwrap() {
                Frame::Error(e) if e.starts_with(b"BUSY") => {
                    assert_eq!(kind, ServerKind::Redis, "the node never answers BUSY");
                    other.cmd(&["SCRIPT", "KILL"]).unwrap();
                }
                reply => {
                    assert_eq!(frame_text(&reply), "PONG", "{kind:?}");
                    break;
                }
            }
        }
        let reply = frame_text(&endless.join().expect("EVAL thread"));
        assert!(reply.starts_with(KILLED), "{kind:?}: {reply}");
        assert!(reply.ends_with(", on @user_script:1."), "{kind:?}: {reply}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{kind:?} took {took:?}");
        assert_eq!(other.text(&["PING"]).unwrap(), "PONG", "{kind:?}");
        if kind == ServerKind::SlotgateNode {
            assert!(
                took >= Duration::from_millis(200),
                "stopped early: {took:?}"
            );
            // `pcall` does not keep it alive, and what it wrote before stays (Redis
            // refuses SCRIPT KILL after a write).
            let body = "redis.call('set', KEYS[1], 'x') \
                        while true do pcall(function() while true do end end) end";
            let reply = frame_text(&other.cmd(&["EVAL", body, "1", "before"]).unwrap());
            assert!(reply.starts_with(KILLED), "{reply}");
            assert_eq!(other.text(&["GET", "before"]).unwrap(), "x");
            assert_eq!(other.text(&["EVAL", "return 1", "0"]).unwrap(), "1");
        }
    }
}
