//! Pipelines and bad input through slotgate in front of a real 3+3 cluster (redis-server 7
//! and slotgate-node): a 10,000-command mixed pipeline across all slots answers exactly like
//! one standalone redis-server; a 1,000,000-command pipeline is answered in order while the
//! proxy's resident memory stays bounded; malformed RESP, a 1 GiB bulk header, an unknown
//! command and a client that disconnects mid-pipeline (1,000,000 commands, never read) each
//! get their Redis-shaped error or close while other clients carry on and the proxy's
//! memory stays bounded; `redis-benchmark` runs clean; and a pipeline deeper than the
//! back-pressure limit, sent in one write, is answered to the end.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use bytes::BytesMut;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slotgate_protocol::resp::ReplyDecoder;
use slotgate_protocol::Frame;
use slotgate_tests::both_servers;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, RedisServer, ServerKind};
use slotgate_tests::{free_port, Background, Client};

/// Commands in the deep pipelines.
const DEEP: usize = 1_000_000;
/// How much the proxy's resident memory may grow while it serves them.
const RSS_BOUND_KIB: u64 = 64 * 1024;

fn pipelines_bad_input_and_benchmark(kind: ServerKind) {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let proxy = Slotgate::start(&[cluster.nodes[0].port, cluster.nodes[1].port], "", "");
    mixed_pipeline_matches_one_redis(&proxy);
    million_command_pipeline(&proxy);
    bad_input(&proxy);
    benchmark(&proxy);
    backlog_left_by_back_pressure(&cluster);
}

both_servers! {
    pipelines_bad_input_and_benchmark => pipelines_bad_input_and_benchmark_slotgate_node, pipelines_bad_input_and_benchmark_redis;
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

/// Samples a process's resident memory every 20 ms until finished; remembers the peak.
struct RssWatch(Background<u64>);

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        RssWatch(Background::spawn(move |stop| {
            let mut peak = rss_kib(pid);
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                thread::sleep(Duration::from_millis(20));
            }
            peak.max(rss_kib(pid))
        }))
    }

    fn peak(self) -> u64 {
        self.0.finish()
    }
}

/// `INCR deep:<i % 100>` for `i` in `range`, encoded as one buffer.
fn incr_burst(range: std::ops::Range<usize>) -> Vec<u8> {
    let mut burst = Vec::with_capacity(range.len() * 40);
    for i in range {
        let key = format!("deep:{:02}", i % 100);
        write!(burst, "*2\r\n$4\r\nINCR\r\n${}\r\n{key}\r\n", key.len()).unwrap();
    }
    burst
}

/// With `max_pending = 4`, a client sends a pipeline many times deeper in one write and
/// then only reads: once back-pressure has stopped the proxy taking requests, the replies
/// draining must be enough to take the rest from the bytes already read (a proxy that waits
/// for the client to send more hangs here).
fn backlog_left_by_back_pressure(cluster: &RedisCluster) {
    let proxy = Slotgate::start(&[cluster.nodes[0].port], "max_pending = 4", "");
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut pipeline = Vec::new();
    for i in 0..50 {
        pipeline.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        write!(
            pipeline,
            "*2\r\n$4\r\nINCR\r\n$10\r\nbacklog:{:02}\r\n",
            i % 7
        )
        .unwrap();
    }
    stream.write_all(&pipeline).unwrap();
    let mut decoder = ReplyDecoder::default();
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 4096];
    let mut replies = Vec::new();
    while replies.len() < 100 {
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            replies.push(frame);
        }
        if replies.len() < 100 {
            let n = stream
                .read(&mut chunk)
                .expect("the rest of the pipeline is answered");
            assert!(n > 0, "the proxy closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    for (i, pair) in replies.chunks(2).enumerate() {
        assert_eq!(pair[0], Frame::Simple("PONG".into()), "reply {}", 2 * i);
        assert_eq!(
            pair[1],
            Frame::Integer((i / 7 + 1) as i64),
            "reply {}",
            2 * i + 1
        );
    }
}

/// One client writes 1,000,000 INCRs over 100 keys in one go while reading the replies:
/// reply `i` must be `i / 100 + 1` (so every reply is there, in order), and the proxy's
/// resident memory stays within [`RSS_BOUND_KIB`] of where it started.
fn million_command_pipeline(proxy: &Slotgate) {
    let mut bystander = proxy.client();
    let watch = RssWatch::start(proxy.child().pid());
    let before = rss_kib(proxy.child().pid());
    let stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        for start in (0..DEEP).step_by(10_000) {
            writer
                .write_all(&incr_burst(start..start + 10_000))
                .unwrap();
        }
    });
    let mut reader = stream;
    let mut decoder = ReplyDecoder::default();
    let mut buf = BytesMut::with_capacity(256 * 1024);
    let mut chunk = vec![0u8; 256 * 1024];
    let mut seen = 0usize;
    let mut next_check = 0usize;
    while seen < DEEP {
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            let want = (seen / 100 + 1) as i64;
            assert_eq!(frame, Frame::Integer(want), "reply {seen}");
            seen += 1;
        }
        if seen < DEEP {
            let n = reader.read(&mut chunk).expect("replies keep coming");
            assert!(
                n > 0,
                "the proxy closed the connection after {seen} replies"
            );
            buf.extend_from_slice(&chunk[..n]);
        }
        if seen >= next_check {
            // Other clients are served while the deep pipeline runs.
            assert_eq!(bystander.text(&["PING"]).unwrap(), "PONG");
            next_check += 100_000;
        }
    }
    sender.join().expect("sender");
    let peak = watch.peak();
    eprintln!("{DEEP}-command pipeline: proxy RSS {before} KiB before, {peak} KiB at peak");
    assert!(
        peak < before + RSS_BOUND_KIB,
        "proxy memory grew from {before} KiB to a peak of {peak} KiB over {DEEP} commands"
    );
    assert_eq!(bystander.text(&["GET", "deep:07"]).unwrap(), "10000");
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
    let watch = RssWatch::start(proxy.child().pid());
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
    // Clients that send a deep pipeline and leave without reading a reply: a short one
    // (whole in the socket buffers) and 1,000,000 commands (the proxy stops reading once
    // its replies back up, so the client hangs up mid-write).
    for deep in [20_000, DEEP] {
        let stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sender = thread::spawn(move || {
            for start in (0..deep).step_by(10_000) {
                if writer
                    .write_all(&incr_burst(start..start + 10_000))
                    .is_err()
                {
                    break;
                }
            }
        });
        thread::sleep(Duration::from_secs(2));
        stream.shutdown(Shutdown::Both).unwrap();
        sender.join().expect("sender");
    }
    assert_eq!(
        bystander.text(&["GET", "bystander"]).unwrap(),
        "1",
        "other clients are unaffected"
    );
    let peak = watch.peak();
    eprintln!("bad input: proxy RSS {before} KiB before, {peak} KiB at peak");
    assert!(
        peak < before + RSS_BOUND_KIB,
        "proxy memory grew from {before} KiB to a peak of {peak} KiB"
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
