//! slotgate-node connection management end to end, side by side with redis-server: the
//! `timeout` directive closes idle clients but spares subscribers and blocked clients, and
//! follows CONFIG SET; a request outgrowing `client-query-buffer-limit` closes its client.

use std::time::Duration;

use slotgate_protocol::Frame;
use slotgate_tests::free_port;
use slotgate_tests::redis::{RedisServer, ServerKind};

/// Runs `scenario` against slotgate-node and redis-server; the outcomes must be equal.
fn side_by_side<T: PartialEq + std::fmt::Debug>(scenario: fn(ServerKind) -> T) -> T {
    let ours = scenario(ServerKind::SlotgateNode);
    let theirs = scenario(ServerKind::Redis);
    assert_eq!(ours, theirs);
    ours
}

/// What happens to an idle, a subscribed and a blocked client of a server started with
/// `timeout 1`, and to an idle one after `CONFIG SET timeout 0`.
fn idle_outcomes(kind: ServerKind) -> Vec<(&'static str, String)> {
    let server = RedisServer::start(kind, free_port(), &[("timeout", "1")]);
    let mut idle = server.client();
    let mut subscriber = server.client();
    let mut blocked = server.client();
    assert_eq!(idle.cmd(&["PING"]).unwrap(), Frame::Simple("PONG".into()));
    subscriber.cmd(&["SUBSCRIBE", "ch"]).unwrap();
    blocked.send(&["BLPOP", "q", "0"]).unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    let mut admin = server.client();
    let alive = |reply: std::io::Result<Frame>| match reply {
        Ok(frame) => format!("{frame:?}"),
        Err(_) => "closed".to_owned(),
    };
    let mut seen = vec![
        (
            "config",
            format!("{:?}", admin.cmd(&["CONFIG", "GET", "timeout"])),
        ),
        ("idle", alive(idle.cmd(&["PING"]))),
        ("subscriber", alive(subscriber.cmd(&["PING"]))),
    ];
    admin.cmd(&["RPUSH", "q", "x"]).unwrap();
    seen.push(("blocked", alive(blocked.read_reply())));
    admin.cmd(&["CONFIG", "SET", "timeout", "0"]).unwrap();
    let mut late = server.client();
    late.cmd(&["PING"]).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    seen.push(("after CONFIG SET timeout 0", alive(late.cmd(&["PING"]))));
    seen
}

#[test]
fn idle_clients_time_out_like_redis() {
    let ours = side_by_side(idle_outcomes);
    let get = |name: &str| &ours.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(get("idle"), "closed");
    assert_ne!(get("subscriber"), "closed");
    assert_ne!(get("blocked"), "closed");
    assert_ne!(get("after CONFIG SET timeout 0"), "closed");
}

/// CONFIG SET client-query-buffer-limit 1mb, then a client sends 1.5 MB of a 2 MB bulk
/// argument: it is closed; a client sending a complete 900 KB value is served.
fn query_buffer_outcomes(kind: ServerKind) -> Vec<String> {
    let server = RedisServer::start(kind, free_port(), &[]);
    let mut admin = server.client();
    let mut seen = vec![format!(
        "{:?}",
        admin.cmd(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"])
    )];
    seen.push(format!(
        "{:?}",
        admin.cmd(&["CONFIG", "GET", "client-query-buffer-limit"])
    ));
    let mut big = server.client();
    let _ = big.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    let _ = big.send_raw(&vec![b'x'; 1_500_000]);
    seen.push(match big.read_reply() {
        Ok(frame) => format!("{frame:?}"),
        Err(_) => "closed".to_owned(),
    });
    let value = "y".repeat(900_000);
    seen.push(format!("{:?}", admin.cmd(&["SET", "k", value.as_str()])));
    seen.push(format!("{:?}", admin.cmd(&["STRLEN", "k"])));
    seen
}

#[test]
fn query_buffer_limit_closes_the_client_like_redis() {
    let ours = side_by_side(query_buffer_outcomes);
    assert_eq!(ours[2], "closed");
}
