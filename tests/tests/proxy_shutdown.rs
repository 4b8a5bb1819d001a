//! Graceful shutdown: slotgate in front of a real 3+3 Redis cluster gets SIGTERM while a
//! client's 1,000-command pipeline is unanswered; the client still reads every reply, in
//! order, and the proxy exits 0 within its `shutdown_timeout`. A `BLPOP` with a 1 s timeout
//! heads the pipeline so its replies are still held in the proxy when the signal lands; it
//! also crosses `slowlog_threshold`, so the slow-command log names it (never its key) — and
//! not the INCRs that only waited behind it (the log measures execution, not queueing).

use std::time::{Duration, Instant};

use slotgate_protocol::Frame;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};

const PIPELINE: i64 = 1_000;

#[test]
fn sigterm_answers_what_was_sent_then_exits_zero() {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(ServerKind::Redis));
    let seeds = [cluster.nodes[0].port, cluster.nodes[1].port];
    let mut proxy = Slotgate::start(
        &seeds,
        "shutdown_timeout = \"5s\"\nslowlog_threshold = \"500ms\"",
        "",
    );
    let mut client = proxy.client();
    client
        .send(&["BLPOP", "shutdown:empty", "1"])
        .expect("send BLPOP");
    for _ in 0..PIPELINE {
        client.send(&["INCR", "k"]).expect("send INCR");
    }
    let signalled = Instant::now();
    proxy.child().signal("TERM");
    let first = client.read_reply().expect("the BLPOP reply after SIGTERM");
    assert!(matches!(first, Frame::Null | Frame::NullArray), "{first:?}");
    for expected in 1..=PIPELINE {
        let reply = client.read_reply().expect("every reply after SIGTERM");
        assert_eq!(reply, Frame::Integer(expected), "{}", proxy.child().log());
    }
    let status = proxy.child_mut().wait_exit(Duration::from_secs(6));
    let log = proxy.child().log();
    let status = status.unwrap_or_else(|| panic!("still running after SIGTERM:\n{log}"));
    assert!(status.success(), "exit {status:?}:\n{log}");
    assert!(
        log.contains("slow command") && log.contains("command=\"blpop\""),
        "{log}"
    );
    assert!(!log.contains("shutdown:empty"), "argument logged:\n{log}");
    assert!(
        !log.contains("command=\"incr\""),
        "queued INCRs logged:\n{log}"
    );
    assert!(signalled.elapsed() < Duration::from_secs(6), "{log}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", proxy.port)).is_err(),
        "still accepting after exit"
    );
}
