//! Real client libraries against slotgate-node standalone, side by side with Debian's
//! redis-server 7: redis-py (protocol 2 and 3) runs `tests/clients/python/compare_suite.py` — a
//! data-type suite and a 10,000-command pipeline, every reply compared — and `redis-cli
//! --pipe` sends 10,000 commands to each server.

mod clients_common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use clients_common::run_suite;
use slotgate_tests::free_port;
use slotgate_tests::redis::{RedisServer, ServerKind};

#[test]
fn client_libraries_against_slotgate_node_and_redis() {
    let reference = RedisServer::start(ServerKind::Redis, free_port(), &[]);
    let ours = RedisServer::start(ServerKind::SlotgateNode, free_port(), &[]);
    let ports = [reference.port.to_string(), ours.port.to_string()];
    run_suite(
        "python3",
        "python/compare_suite.py",
        &ports,
        Duration::from_secs(120),
    );
    for server in [&reference, &ours] {
        redis_cli_pipe(server.port, 10_000);
    }
}

/// Feeds `count` RESP commands to `redis-cli --pipe` and checks its summary line.
fn redis_cli_pipe(port: u16, count: usize) {
    let mut input = Vec::new();
    for i in 0..count {
        let (key, value) = (format!("pipe:{}", i % 1000), i.to_string());
        let args: Vec<&str> = match i % 3 {
            0 => vec!["SET", &key, &value],
            1 => vec!["RPUSH", "pipe:list", &value],
            _ => vec!["HSET", "pipe:hash", &key, &value],
        };
        write!(input, "*{}\r\n", args.len()).unwrap();
        for arg in args {
            write!(input, "${}\r\n{arg}\r\n", arg.len()).unwrap();
        }
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn redis-cli --pipe");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(&format!("errors: 0, replies: {count}")),
        "redis-cli --pipe to {port}:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
