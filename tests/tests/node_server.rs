//! slotgate-node end to end: replies compared with a real redis-server started the same
//! way, AOF durability across `kill -9`, truncated-AOF recovery, auth, blocking pops and
//! a 10,000-command `redis-cli --pipe`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use slotgate_protocol::Frame;
use slotgate_tests::redis::{RedisServer, ServerKind};
use slotgate_tests::{eventually, free_port, Child};

fn node(extra: &[(&str, &str)]) -> RedisServer {
    RedisServer::start(ServerKind::SlotgateNode, free_port(), extra)
}

/// Runs every script against both servers and compares replies frame by frame.
#[test]
fn replies_match_redis() {
    let ours = node(&[]);
    let theirs = RedisServer::start(ServerKind::Redis, free_port(), &[]);
    let script: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["GET", "k"],
        &["GET", "missing"],
        &["SET", "k", "v", "NX"],
        &["SET", "k", "w", "XX", "GET"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "EX", "x"],
        &["SET", "k", "v", "NX", "XX"],
        &["INCR", "k"],
        &["SET", "n", "10"],
        &["INCRBY", "n", "5"],
        &["DECRBY", "n", "-5"],
        &["INCRBYFLOAT", "n", "1.5"],
        &["APPEND", "n", "x"],
        &["STRLEN", "n"],
        &["GETRANGE", "n", "0", "-2"],
        &["SETRANGE", "s", "3", "ab"],
        &["GET", "s"],
        &["MSET", "a", "1", "b", "2"],
        &["MGET", "a", "b", "nope"],
        &["MSETNX", "a", "1", "c", "3"],
        &["LPUSH", "k", "x"],
        &["EXPIRE", "a", "100"],
        &["EXPIRE", "a", "50", "GT"],
        &["EXPIRE", "a", "500", "GT"],
        &["TTL", "a"],
        &["PERSIST", "a"],
        &["TTL", "a"],
        &["TTL", "missing"],
        &["TYPE", "a"],
        &["RENAME", "missing", "x"],
        &["RENAME", "a", "a2"],
        &["EXISTS", "a", "a2", "b"],
        &["DEL", "a2", "b", "zz"],
        &["SET", "e1", "12345"],
        &["SET", "e2", "hello"],
        &["OBJECT", "ENCODING", "e1"],
        &["OBJECT", "ENCODING", "e2"],
        &["RPUSH", "l", "a", "b", "c", "b"],
        &["LRANGE", "l", "0", "-1"],
        &["LREM", "l", "1", "b"],
        &["LPOS", "l", "b"],
        &["LINDEX", "l", "-1"],
        &["LPOP", "l", "2"],
        &["HSET", "h", "f", "1", "g", "2"],
        &["HINCRBY", "h", "f", "5"],
        &["HMGET", "h", "f", "nope"],
        &["HLEN", "h"],
        &["SADD", "set", "1", "2", "3"],
        &["SISMEMBER", "set", "2"],
        &["SCARD", "set"],
        &["ZADD", "z", "1", "a", "2", "b", "0.1", "c"],
        &["ZSCORE", "z", "c"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZRANGE", "z", "(0.1", "+inf", "BYSCORE", "LIMIT", "0", "1"],
        &["ZRANK", "z", "b"],
        &["ZADD", "z", "NX", "XX", "1", "a"],
        &["ZPOPMIN", "z"],
        &["SELECT", "99"],
        &["DBSIZE"],
        &["NOSUCHCOMMAND", "a", "b"],
        &["GET"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["CONFIG", "NOPE"],
        &["CLIENT", "SETNAME"],
        &["COMMAND", "COUNT"],
        &["COMMAND", "INFO", "get", "mset", "zunionstore", "nope"],
        &["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"],
        &[
            "COMMAND",
            "GETKEYSANDFLAGS",
            "lmove",
            "a",
            "b",
            "left",
            "right",
        ],
        &["COMMAND", "DOCS", "get"],
        &["COMMAND", "NOPE"],
        &["MULTI"],
        &["SET", "t", "1"],
        &["INCR", "t"],
        &["EXEC"],
        &["EXEC"],
        &["FLUSHALL"],
        &["DBSIZE"],
    ];
    let (mut a, mut b) = (ours.client(), theirs.client());
    for command in script {
        let (x, y) = (a.cmd(command).unwrap(), b.cmd(command).unwrap());
        assert_eq!(x, y, "{command:?}");
    }
}

/// INFO commandstats counts calls, rejected calls (arity, MULTI refusals, subcommands by
/// `container|sub`) and failed calls as Redis does; RESETSTAT clears it. Times are masked.
#[test]
fn commandstats_match_redis() {
    let ours = node(&[]);
    let theirs = RedisServer::start(ServerKind::Redis, free_port(), &[]);
    let script: &[&[&str]] = &[
        &["CONFIG", "RESETSTAT"],
        &["SET", "a", "1"],
        &["GET", "a"],
        &["GET"],
        &["LPUSH", "a", "x"],
        &["CLIENT", "SETNAME"],
        &["CONFIG", "GET", "maxmemory"],
        &["MULTI"],
        &["INCR", "a"],
        &["WATCH", "a"],
        &["EXEC"],
        &["EXEC"],
    ];
    let stats = |server: &RedisServer| {
        let mut client = server.client();
        for command in script {
            client.cmd(command).unwrap();
        }
        let Ok(Frame::Bulk(text)) = client.cmd(&["INFO", "commandstats"]) else {
            panic!("INFO commandstats is not a bulk string");
        };
        let mut lines: Vec<String> = String::from_utf8_lossy(&text)
            .lines()
            .map(|line| {
                let fields = line.split(',').filter(|f| !f.contains("usec"));
                fields.collect::<Vec<_>>().join(",")
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(stats(&ours), stats(&theirs));
    let mut client = ours.client();
    let info = |c: &mut slotgate_tests::client::Client, section: &str| {
        format!("{:?}", c.cmd(&["INFO", section]).unwrap())
    };
    assert!(info(&mut client, "all").contains("cmdstat_get:calls=1"));
    assert!(!info(&mut client, "default").contains("Commandstats"));
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let mut server = node(&[("appendonly", "yes"), ("appendfsync", "always")]);
    let mut client = server.client();
    for i in 0..500 {
        assert_eq!(
            client
                .cmd(&["SET", &format!("key:{i}"), &i.to_string()])
                .unwrap(),
            Frame::ok()
        );
    }
    client.cmd(&["RPUSH", "list", "a", "b"]).unwrap();
    server.kill();
    server.restart();
    let mut client = server.client();
    assert_eq!(client.cmd(&["DBSIZE"]).unwrap(), Frame::Integer(501));
    assert_eq!(client.cmd(&["GET", "key:499"]).unwrap(), Frame::bulk("499"));
    assert_eq!(client.cmd(&["LLEN", "list"]).unwrap(), Frame::Integer(2));
    let check = Command::new("redis-check-aof")
        .arg(server.dir.join("appendonly.aof"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("is valid"),
        "{check:?}"
    );
}

#[test]
fn truncated_aof_tail_is_dropped_and_corrupt_middle_refused() {
    let mut server = node(&[("appendonly", "yes"), ("appendfsync", "always")]);
    server.client().cmd(&["SET", "a", "1"]).unwrap();
    server.client().cmd(&["SET", "b", "2"]).unwrap();
    server.kill();
    let path = server.dir.join("appendonly.aof");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nc")
        .unwrap();
    server.restart();
    assert_eq!(server.client().cmd(&["DBSIZE"]).unwrap(), Frame::Integer(2));
    assert!(
        server.child().log().contains("AOF loaded anyway"),
        "{}",
        server.child().log()
    );
    server.kill();
    let mut data = std::fs::read(&path).unwrap();
    // The `*` that starts the second command (after `SELECT 0`, 23 bytes).
    data[23] = b'!';
    std::fs::write(&path, data).unwrap();
    let port = free_port().to_string();
    let dir = server.dir.display().to_string();
    let args: Vec<String> = [
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir,
        "--appendonly",
        "yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut child = Child::spawn(
        ServerKind::SlotgateNode.binary(),
        &args,
        server.dir.join("corrupt.log"),
    )
    .unwrap();
    let status = child
        .wait_exit(Duration::from_secs(20))
        .expect("refuses to start");
    assert!(!status.success());
    assert!(child.log().contains("byte offset 23"), "{}", child.log());
}

#[test]
fn requirepass_and_bad_config() {
    let server = node(&[("requirepass", "secret")]);
    let mut raw = slotgate_tests::Client::connect(server.port).unwrap();
    assert_eq!(
        raw.cmd(&["GET", "x"]).unwrap(),
        Frame::error("NOAUTH Authentication required.")
    );
    assert_eq!(
        raw.cmd(&["AUTH", "nope"]).unwrap(),
        Frame::error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(
        raw.cmd(&["AUTH", "default", "secret"]).unwrap(),
        Frame::ok()
    );
    assert_eq!(raw.cmd(&["PING"]).unwrap(), Frame::Simple("PONG".into()));
    let out = Command::new(ServerKind::SlotgateNode.binary())
        .args(["--port", "0", "--bogus", "x"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("*** FATAL CONFIG FILE ERROR")
            && text.contains("Bad directive or wrong number of arguments"),
        "{text}"
    );
}

#[test]
fn blocked_clients_wake_in_fifo_order() {
    let server = node(&[]);
    let mut first = server.client();
    let mut second = server.client();
    first.send(&["BLPOP", "q", "5"]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    second.send(&["BLPOP", "q", "5"]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    server.client().cmd(&["RPUSH", "q", "1", "2"]).unwrap();
    let reply = |v: &str| Frame::Array(vec![Frame::bulk("q"), Frame::bulk(v)]);
    assert_eq!(first.read_reply().unwrap(), reply("1"));
    assert_eq!(second.read_reply().unwrap(), reply("2"));
    assert_eq!(first.cmd(&["BLPOP", "q", "0.1"]).unwrap(), Frame::NullArray);
}

#[test]
fn redis_cli_pipe_of_10000_commands() {
    let server = node(&[]);
    let mut input = String::new();
    for i in 0..10_000 {
        input.push_str(&format!("SET key:{i} value:{i}\r\n"));
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &server.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 10000"), "{text}");
    let mut client = server.client();
    eventually(Duration::from_secs(5), || match client.cmd(&["DBSIZE"]) {
        Ok(Frame::Integer(10_000)) => Ok(()),
        other => Err(format!("{other:?}")),
    });
}
