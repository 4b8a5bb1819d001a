//! Pipelines and bad input through slotgate in front of a real 3+3 Redis 7 cluster: a
//! 10,000-command mixed pipeline across all slots answers exactly like one standalone
//! redis-server; malformed RESP, a 1 GiB bulk header, an unknown command and a client that
//! disconnects mid-pipeline each get their Redis-shaped error or close while other clients
//! carry on and the proxy's memory stays bounded; and `redis-benchmark` runs clean.

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slotgate_protocol::Frame;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, RedisServer, ServerKind};
use slotgate_tests::{free_port, Client};

#[test]
fn pipelines_bad_input_and_benchmark() {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(ServerKind::Redis));
    let proxy = Slotgate::start(&[cluster.nodes[0].port, cluster.nodes[1].port], "", "");
    mixed_pipeline_matches_one_redis(&proxy);
    bad_input(&proxy);
    benchmark(&proxy);
}

/// A random mix of commands over 600 keys (so every part of the slot space), fan-out
/// commands included.
fn mixed_commands(count: usize) -> Vec<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(6);
    let key = |rng: &mut StdRng, kind: &str| format!("{kind}:{}", rng.gen_range(0..150));
    (0..count)
        .map(|i| {
            let k = key(&mut rng, "s");
            let words: Vec<String> = match rng.gen_range(0..14) {
                0 => vec!["SET".into(), k, format!("v{i}")],
                1 => vec!["GET".into(), k],
                2 => vec!["INCR".into(), key(&mut rng, "n")],
                3 => vec!["APPEND".into(), k, "x".into()],
                4 => vec!["LPUSH".into(), key(&mut rng, "l"), format!("{i}")],
                5 => vec!["LRANGE".into(), key(&mut rng, "l"), "0".into(), "3".into()],
                6 => vec![
                    "HSET".into(),
                    key(&mut rng, "h"),
                    format!("f{}", i % 5),
                    format!("{i}"),
                ],
                7 => vec!["HGET".into(), key(&mut rng, "h"), "f1".into()],
                8 => vec!["SADD".into(), key(&mut rng, "z"), format!("{}", i % 7)],
                9 => vec!["SCARD".into(), key(&mut rng, "z")],
                10 => vec!["MGET".into(), k, key(&mut rng, "s"), key(&mut rng, "s")],
                11 => vec![
                    "MSET".into(),
                    k,
                    format!("m{i}"),
                    key(&mut rng, "s"),
                    "y".into(),
                ],
                12 => vec!["DEL".into(), k, key(&mut rng, "s")],
                _ => vec!["EXISTS".into(), k, key(&mut rng, "n"), key(&mut rng, "l")],
            };
            words
        })
        .collect()
}

fn run_pipeline(client: &mut Client, commands: &[Vec<String>]) -> Vec<Frame> {
    for command in commands {
        client.send(command).unwrap();
    }
    commands
        .iter()
        .map(|_| client.read_reply().unwrap())
        .collect()
}

fn mixed_pipeline_matches_one_redis(proxy: &Slotgate) {
    let reference = RedisServer::start(ServerKind::Redis, free_port(), &[]);
    let commands = mixed_commands(10_000);
    let mut through_proxy = proxy.client();
    assert_eq!(through_proxy.text(&["FLUSHALL"]).unwrap(), "OK");
    let expected = run_pipeline(&mut reference.client(), &commands);
    let actual = run_pipeline(&mut through_proxy, &commands);
    for (i, (want, got)) in expected.iter().zip(&actual).enumerate() {
        assert_eq!(got, want, "reply {i} to {:?}", commands[i]);
    }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Reads until the proxy closes the connection; returns everything it sent.
fn read_to_close(port: u16, input: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(&mut stream, input).unwrap();
    let mut out = Vec::new();
    stream
        .read_to_end(&mut out)
        .expect("the proxy closes the connection");
    String::from_utf8_lossy(&out).into_owned()
}

fn bad_input(proxy: &Slotgate) {
    let mut bystander = proxy.client();
    assert_eq!(bystander.text(&["SET", "bystander", "1"]).unwrap(), "OK");
    assert_eq!(
        read_to_close(proxy.port, b"*1\r\n$x\r\n"),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_eq!(
        read_to_close(proxy.port, b"PING\r\n*2\r\n+x\r\n"),
        "+PONG\r\n-ERR Protocol error: expected '$', got '+'\r\n"
    );
    let before = rss_kib(proxy.child().pid());
    assert_eq!(
        read_to_close(proxy.port, b"*2\r\n$3\r\nSET\r\n$1073741824\r\n"),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    // An unknown command is an error, not a close.
    let mut c = proxy.client();
    assert!(c
        .text(&["NOSUCH"])
        .unwrap()
        .starts_with("-ERR unknown command 'NOSUCH'"));
    assert_eq!(c.text(&["PING"]).unwrap(), "PONG");
    // A client that sends a deep pipeline and leaves without reading.
    for _ in 0..3 {
        let mut quitter = proxy.client();
        let mut burst = Vec::new();
        for i in 0..20_000 {
            burst.extend_from_slice(
                format!("*3\r\n$3\r\nSET\r\n$6\r\nq{:05}\r\n$1\r\nx\r\n", i % 1000).as_bytes(),
            );
        }
        quitter.send_raw(&burst).unwrap();
        drop(quitter);
    }
    assert_eq!(
        bystander.text(&["GET", "bystander"]).unwrap(),
        "1",
        "other clients are unaffected"
    );
    let after = rss_kib(proxy.child().pid());
    assert!(
        after < before + 64 * 1024,
        "proxy memory grew from {before} KiB to {after} KiB"
    );
}

fn benchmark(proxy: &Slotgate) {
    for pipeline in ["1", "16"] {
        let port = proxy.port.to_string();
        let out = Command::new("redis-benchmark")
            .args([
                "-p",
                &port,
                "-t",
                "set,get,incr,lpush,rpop,sadd,hset,mset",
                "-n",
                "2000",
                "-q",
                "-P",
                pipeline,
            ])
            .output()
            .expect("run redis-benchmark");
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
        let results: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("requests per second"))
            .collect();
        assert!(out.status.success(), "{text}");
        assert_eq!(results.len(), 8, "every test completes: {text}");
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.to_lowercase().contains("error") && !errors.to_lowercase().contains("error"),
            "{text}\n{errors}"
        );
    }
    assert_eq!(proxy.client().text(&["PING"]).unwrap(), "PONG");
}
