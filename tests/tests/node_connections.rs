//! slotgate-node connection management end to end, side by side with redis-server: the
//! `timeout` directive closes idle clients but spares subscribers and blocked clients, and
//! follows CONFIG SET; a request outgrowing `client-query-buffer-limit` closes its client;
//! replies piling up past `client-output-buffer-limit normal` close theirs; a MONITOR
//! client sees every other client's commands in Redis's exact format.

use std::time::Duration;

use slotgate_protocol::Frame;
use slotgate_tests::free_port;
use slotgate_tests::redis::{RedisServer, ServerKind};
use slotgate_tests::Client;

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

/// Sends `n` pipelined `GET big` requests without reading the replies.
fn pipeline_gets(client: &mut Client, n: usize) {
    let request = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
    client.send_raw(&request.repeat(n)).unwrap();
}

/// How many replies arrive before the connection ends (or `n` arrived).
fn replies_until_closed(client: &mut Client, n: usize) -> usize {
    (0..n).take_while(|_| client.read_reply().is_ok()).count()
}

/// 200 pipelined GETs of a 100 KB value are all answered under the default `normal 0 0 0`;
/// after `CONFIG SET client-output-buffer-limit "normal 1mb 0 0"` a client sending them
/// without reading is closed, with Redis's log line, while a client reading its replies
/// is served.
fn output_buffer_outcomes(kind: ServerKind) -> Vec<String> {
    const GETS: usize = 200;
    let server = RedisServer::start(kind, free_port(), &[]);
    let mut admin = server.client();
    let value = "v".repeat(100_000);
    admin.cmd(&["SET", "big", value.as_str()]).unwrap();
    let mut unlimited = server.client();
    pipeline_gets(&mut unlimited, GETS);
    std::thread::sleep(Duration::from_millis(500));
    let mut seen = vec![format!(
        "default limit: {} of {GETS} replies",
        replies_until_closed(&mut unlimited, GETS)
    )];
    drop(unlimited);
    let set = [
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "normal 1mb 0 0",
    ];
    seen.push(format!("{:?}", admin.cmd(&set)));
    let mut flood = server.client();
    pipeline_gets(&mut flood, GETS);
    std::thread::sleep(Duration::from_millis(1000));
    let answered = replies_until_closed(&mut flood, GETS);
    seen.push(format!("over the limit: closed {}", answered < GETS));
    let clients = admin.text(&["INFO", "clients"]).unwrap();
    seen.extend(
        clients
            .lines()
            .filter(|l| l.starts_with("connected_clients"))
            .map(String::from),
    );
    let mut reader = server.client();
    let reply = reader.cmd(&["GET", "big"]).unwrap();
    seen.push(format!(
        "reader served: {}",
        reply == Frame::Bulk(value.clone().into())
    ));
    let log = std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default();
    seen.push(format!(
        "logged: {}",
        log.contains("scheduled to be closed ASAP for overcoming of output buffer limits.")
    ));
    seen
}

#[test]
fn output_buffer_limit_closes_the_client_like_redis() {
    let ours = side_by_side(output_buffer_outcomes);
    assert_eq!(ours[0], "default limit: 200 of 200 replies");
    assert_eq!(ours[2], "over the limit: closed true");
    assert_eq!(ours[5], "logged: true");
}

/// A MONITOR client's stream with the timestamp checked (within a minute of now) and
/// dropped, and client ports replaced by `PORT`; other replies as `{:?}`.
fn monitor_text(frame: Frame) -> String {
    let Frame::Simple(line) = &frame else {
        return format!("{frame:?}");
    };
    let line = String::from_utf8_lossy(line);
    let Some((stamp, rest)) = line.split_once(' ').filter(|(_, r)| r.starts_with('[')) else {
        return line.into_owned();
    };
    let (secs, micros) = stamp.split_once('.').expect("sec.usec timestamp");
    assert_eq!(micros.len(), 6, "{line}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(secs.parse().unwrap()) < 60, "{line}");
    let (head, tail) = rest.split_once("127.0.0.1:").expect("client address");
    let port_end = tail.find(']').expect("closing bracket");
    format!("{head}127.0.0.1:PORT{}", &tail[port_end..])
}

/// One client MONITORs while others run data, auth, transaction, admin, refused and
/// blocking commands; then the monitor itself tries commands and RESETs.
fn monitor_outcomes(kind: ServerKind) -> Vec<String> {
    let server = RedisServer::start(kind, free_port(), &[]);
    let mut monitor = server.client();
    let mut seen = vec![format!("{:?}", monitor.cmd(&["MONITOR"]))];
    let mut blocked = server.client();
    blocked.send(&["BLPOP", "bl", "0"]).unwrap();
    seen.push(monitor_text(monitor.read_reply().unwrap()));
    let mut client = server.client();
    let binary: &[u8] = b"\x01\xff\x07\x08\r\n\t\"\\ \xc3\xa9~";
    client.cmd(&[&b"SET"[..], b"x", binary]).unwrap();
    let commands: &[&[&str]] = &[
        &["AUTH", "secret"],
        &["auth", "user", "secret"],
        &["HELLO", "2", "AUTH", "default", "secret", "SETNAME", "me"],
        &["HELLO", "2", "SETNAME", "auth"],
        &[
            "MIGRATE",
            "127.0.0.1",
            "1",
            "nokey",
            "0",
            "10",
            "AUTH",
            "secret",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "1",
            "",
            "0",
            "10",
            "COPY",
            "AUTH2",
            "u",
            "secret",
            "KEYS",
            "nokey",
        ],
        &["SELECT", "2"],
        &["MULTI"],
        &["SET", "a", "1"],
        &["INCR", "a"],
        &["EXEC"],
        &["MULTI"],
        &["NOSUCH"],
        &["EXEC"],
        &["MULTI"],
        &["MONITOR"],
        &["EXEC"],
        &["GET"],
        &["CONFIG", "GET", "port"],
        &["CLIENT", "SETNAME", "n"],
        &["CLIENT", "KILL", "ID", "999999"],
        &["SELECT", "0"],
        &["RPUSH", "bl", "v"],
    ];
    for args in commands {
        let reply = client.cmd(args).unwrap();
        // HELLO's client id and CONFIG's port differ between the two servers.
        let reply = match args[0] {
            "HELLO" | "CONFIG" => format!("array: {}", matches!(reply, Frame::Array(_))),
            _ => format!("{reply:?}"),
        };
        seen.push(format!("{args:?} {reply}"));
    }
    let list = client.text(&["CLIENT", "LIST"]).unwrap();
    let flags = list
        .lines()
        .filter(|l| l.contains("cmd=monitor"))
        .flat_map(|l| l.split(' ').filter(|f| f.starts_with("flags=")))
        .collect::<Vec<_>>();
    seen.push(format!("monitor in CLIENT LIST: {flags:?}"));
    seen.push(format!("{:?}", blocked.read_reply()));
    server.client().cmd(&["QUIT"]).unwrap();
    for args in [&["PING"][..], &["GET", "a"], &["MONITOR"], &["RESET"]] {
        monitor.send(args).unwrap();
    }
    loop {
        let frame = monitor.read_reply().unwrap();
        let done = frame == Frame::Simple("RESET".into());
        seen.push(monitor_text(frame));
        if done {
            break;
        }
    }
    client.cmd(&["SET", "after", "reset"]).unwrap();
    seen.push(format!("{:?}", monitor.cmd(&["PING"])));
    seen
}

#[test]
fn monitor_streams_commands_like_redis() {
    let ours = side_by_side(monitor_outcomes);
    let shown = |line: &str| ours.iter().any(|l| l == line);
    assert!(shown(
        r#"[0 127.0.0.1:PORT] "SET" "x" "\x01\xff\a\b\r\n\t\"\\ \xc3\xa9~""#
    ));
    assert!(shown(
        r#"[0 127.0.0.1:PORT] "auth" "(redacted)" "(redacted)""#
    ));
    assert!(shown(
        r#"[0 127.0.0.1:PORT] "MIGRATE" "127.0.0.1" "1" "nokey" "0" "10" "AUTH" "(redacted)""#
    ));
    assert!(shown("monitor in CLIENT LIST: [\"flags=O\"]"));
    assert!(!ours
        .iter()
        .any(|l| l.contains("secret") && l.contains(":PORT]")));
    assert!(!ours.iter().any(|l| l.contains("\"after\"")));
}
