//! Our topology parsers and formatters against a real Redis 7 cluster: three
//! `redis-server` masters on loopback, then every `CLUSTER NODES` / `SLOTS` / `SHARDS`
//! reply must parse, and what we format from the parsed values must equal Redis's bytes.
//! Skipped (with a message) when `redis-server` is not installed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::Rng;
use slotgate_protocol::resp::{encode, encode_request, ReplyDecoder};
use slotgate_protocol::topology::{
    cluster_shards_reply, cluster_slots_reply, parse_cluster_nodes, parse_cluster_shards,
    ClusterNode, SlotMap, SlotsEntry, SlotsNode,
};
use slotgate_protocol::Frame;

const SLOT_SPLITS: [(&str, &str); 3] = [("0", "5460"), ("5461", "10922"), ("10923", "16383")];

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let name = format!(
            "slotgate-topology-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `redis-server`, killed by PID on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start(dir: &TempDir, port: u16) -> RedisServer {
        let conf = dir.0.join(format!("nodes-{port}.conf"));
        let child = Command::new("redis-server")
            .args(["--cluster-enabled", "yes", "--cluster-config-file"])
            .arg(&conf)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir.0)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        RedisServer { child, port }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One RESP connection: requests out, replies back with their raw bytes.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    decoder: ReplyDecoder,
}

impl Conn {
    fn connect(port: u16) -> Conn {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .expect("timeout");
                    return Conn {
                        stream,
                        buf: BytesMut::new(),
                        decoder: ReplyDecoder::default(),
                    };
                }
                Err(e) if Instant::now() > deadline => panic!("connect to {port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends a command and returns its reply and the reply's exact bytes.
    fn call(&mut self, args: &[&str]) -> (Frame, Vec<u8>) {
        let mut request = BytesMut::new();
        encode_request(args, &mut request);
        self.stream.write_all(&request).expect("write request");
        loop {
            let before = self.buf.clone();
            if let Some(frame) = self.decoder.decode(&mut self.buf).expect("valid RESP") {
                let raw = before[..before.len() - self.buf.len()].to_vec();
                return (frame, raw);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn ok(&mut self, args: &[&str]) {
        let (reply, _) = self.call(args);
        assert_eq!(reply, Frame::ok(), "{args:?}");
    }

    fn text(&mut self, args: &[&str]) -> String {
        let (reply, _) = self.call(args);
        let bytes = reply
            .as_bytes()
            .unwrap_or_else(|| panic!("{args:?}: {reply:?}"));
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }
}

fn encoded(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(frame, &mut out);
    out.to_vec()
}

fn redis_installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Three distinct free ports in 20000–29999 whose bus ports (+10000) are free too.
fn free_ports() -> Vec<u16> {
    let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
    let mut rng = rand::thread_rng();
    let mut ports: Vec<u16> = Vec::new();
    while ports.len() < 3 {
        let port = rng.gen_range(20000..30000);
        if !ports.contains(&port) && free(port) && free(port + 10000) {
            ports.push(port);
        }
    }
    ports
}

/// Whether this `CLUSTER NODES` view shows three connected masters, all with slots.
fn converged(nodes: &[ClusterNode]) -> bool {
    nodes.len() == 3
        && nodes
            .iter()
            .all(|n| !n.slots.is_empty() && !n.flags.handshake && n.link.as_str() == "connected")
}

fn wait_for_convergence(conns: &mut [Conn]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = conns.iter_mut().all(|conn| {
            let text = conn.text(&["CLUSTER", "NODES"]);
            converged(&parse_cluster_nodes(&text).expect("CLUSTER NODES parses"))
        });
        if all {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "cluster did not converge in 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `CLUSTER SLOTS` entries a node would print for `nodes` (masters only, no hostnames).
fn slots_entries(nodes: &[ClusterNode]) -> Vec<SlotsEntry> {
    let masters = nodes.iter().filter(|node| node.flags.master);
    let mut entries: Vec<SlotsEntry> = masters
        .flat_map(|node| {
            node.slots.iter().map(|&range| SlotsEntry {
                range,
                master: SlotsNode {
                    endpoint: node.addr.host.clone(),
                    port: node.addr.port,
                    id: Some(node.id),
                    extra: Vec::new(),
                },
                replicas: Vec::new(),
            })
        })
        .collect();
    entries.sort_by_key(|entry| entry.range.start);
    entries
}

fn check_cluster_nodes(conn: &mut Conn) -> Vec<ClusterNode> {
    let text = conn.text(&["CLUSTER", "NODES"]);
    let nodes = parse_cluster_nodes(&text).expect("CLUSTER NODES parses");
    let formatted: String = nodes.iter().map(|node| node.format_line() + "\n").collect();
    assert_eq!(
        formatted, text,
        "CLUSTER NODES lines are reproduced byte for byte"
    );
    nodes
}

fn check_cluster_slots(conn: &mut Conn, nodes: &[ClusterNode], resp3: bool) -> SlotMap {
    let (frame, raw) = conn.call(&["CLUSTER", "SLOTS"]);
    let map = SlotMap::from_cluster_slots(&frame, "127.0.0.1").expect("CLUSTER SLOTS parses");
    assert!(map.is_complete());
    assert_eq!(map.shards().len(), 3);
    for node in nodes {
        for slot in node.slots.iter().flat_map(|range| range.slots()) {
            let master = &map.shard_of(slot).expect("slot served").master;
            assert_eq!(
                (master.id, master.addr.port),
                (Some(node.id), node.addr.port)
            );
        }
    }
    let ours = cluster_slots_reply(&slots_entries(nodes), resp3);
    assert_eq!(
        String::from_utf8_lossy(&encoded(&ours)),
        String::from_utf8_lossy(&raw)
    );
    map
}

fn check_cluster_shards(conn: &mut Conn, slots_map: &SlotMap, resp3: bool) {
    let (frame, raw) = conn.call(&["CLUSTER", "SHARDS"]);
    let shards = parse_cluster_shards(&frame).expect("CLUSTER SHARDS parses");
    assert_eq!(shards.len(), 3);
    let ours = encoded(&cluster_shards_reply(&shards, resp3));
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&raw)
    );
    let map = SlotMap::from_cluster_shards(&frame, "127.0.0.1").expect("shards map");
    assert_eq!(&map, slots_map);
}

#[test]
fn topology_replies_match_redis_byte_for_byte() {
    if !redis_installed() {
        eprintln!("redis-server not found; skipping the real-Redis topology test");
        return;
    }
    let dir = TempDir::new();
    let servers: Vec<RedisServer> = free_ports()
        .into_iter()
        .map(|port| RedisServer::start(&dir, port))
        .collect();
    let mut conns: Vec<Conn> = servers
        .iter()
        .map(|server| Conn::connect(server.port))
        .collect();
    for conn in &mut conns {
        wait_for_ping(conn);
    }
    for (conn, (start, end)) in conns.iter_mut().zip(SLOT_SPLITS) {
        conn.ok(&["CLUSTER", "ADDSLOTSRANGE", start, end]);
    }
    let first_port = servers[0].port.to_string();
    for conn in &mut conns[1..] {
        conn.ok(&["CLUSTER", "MEET", "127.0.0.1", &first_port]);
    }
    wait_for_convergence(&mut conns);

    for (conn, server) in conns.iter_mut().zip(&servers) {
        let nodes = check_cluster_nodes(conn);
        let text = conn.text(&["CLUSTER", "NODES"]);
        let from_nodes = SlotMap::from_cluster_nodes(&text, "127.0.0.1").expect("nodes map");
        let from_slots = check_cluster_slots(conn, &nodes, false);
        assert_eq!(from_nodes, from_slots, "node {}", server.port);
        check_cluster_shards(conn, &from_slots, false);

        let mut resp3 = Conn::connect(server.port);
        let (hello, _) = resp3.call(&["HELLO", "3"]);
        assert!(matches!(hello, Frame::Map(_)), "{hello:?}");
        let nodes = check_cluster_nodes(&mut resp3);
        check_cluster_slots(&mut resp3, &nodes, true);
        check_cluster_shards(&mut resp3, &from_slots, true);
    }
}

fn wait_for_ping(conn: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while conn.call(&["PING"]).0 != Frame::Simple("PONG".into()) {
        assert!(Instant::now() < deadline, "redis-server not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}
