//! Shared by the replication tests: starting a master/replica pair of either server kind,
//! waiting for replicas to be online, a background writer, INFO parsing.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use slotgate_protocol::Frame;
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::{RedisServer, ServerKind};
use slotgate_tests::{eventually, free_port};

/// Our node first, then redis-server 7 to prove each scenario.
pub const KINDS: [ServerKind; 2] = [ServerKind::SlotgateNode, ServerKind::Redis];

pub fn start(kind: ServerKind, extra: &[(&str, &str)]) -> RedisServer {
    RedisServer::start(kind, free_port(), extra)
}

/// A master and a replica made one with `REPLICAOF` (redis-server's command line can't
/// take `--replicaof "host port"` as one argument), synced.
pub fn pair(
    kind: ServerKind,
    master_extra: &[(&str, &str)],
    replica_extra: &[(&str, &str)],
) -> (RedisServer, RedisServer) {
    let master = start(kind, master_extra);
    let replica = start(kind, replica_extra);
    let port = master.port.to_string();
    let reply = replica
        .client()
        .text(&["REPLICAOF", "127.0.0.1", &port])
        .unwrap();
    assert_eq!(reply, "OK", "{kind:?}");
    wait_online(&master, 1);
    (master, replica)
}

/// Waits until `master` lists `count` replicas as `state=online` and each of them reports
/// its link up.
pub fn wait_online(master: &RedisServer, count: usize) {
    eventually(Duration::from_secs(30), || -> Result<(), String> {
        let info = master
            .client()
            .text(&["INFO", "replication"])
            .map_err(|e| e.to_string())?;
        let online: Vec<u16> = info
            .lines()
            .filter(|l| l.starts_with("slave") && l.contains("state=online"))
            .filter_map(|l| l.split("port=").nth(1)?.split(',').next()?.parse().ok())
            .collect();
        if online.len() < count {
            return Err(format!("{} online:\n{info}", online.len()));
        }
        for port in online {
            let replica = slotgate_tests::Client::connect(port)
                .and_then(|mut c| c.text(&["INFO", "replication"]))
                .map_err(|e| e.to_string())?;
            if field(&replica, "master_link_status").as_deref() != Some("up") {
                return Err(format!("replica {port} link down"));
            }
        }
        Ok(())
    });
}

/// The value of `key:` in an INFO text.
pub fn field(info: &str, key: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim_end().to_owned())
}

/// A reply as comparable text; `sorted` for replies whose order is unspecified.
pub fn norm(frame: &Frame, sorted: bool) -> String {
    match frame {
        Frame::Array(items) => {
            let mut texts: Vec<String> = items.iter().map(frame_text).collect();
            if sorted {
                texts.sort();
            }
            texts.join("|")
        }
        other => frame_text(other),
    }
}

/// A client writing `INCR counter` and `SET k<i> <i>` in a loop on its own thread.
pub struct Writer {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
}

impl Writer {
    pub fn start(port: u16) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut client = slotgate_tests::Client::connect(port).expect("writer connects");
            let mut i = 0u64;
            while !flag.load(Ordering::Relaxed) {
                client.cmd(&["INCR", "counter"]).expect("INCR");
                let n = i.to_string();
                client
                    .cmd(&["SET", &format!("k{}", i % 1000), &n])
                    .expect("SET");
                i += 1;
            }
            i
        });
        Writer { stop, handle }
    }

    /// Stops writing; returns how many rounds were written.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("writer thread")
    }
}

/// Waits until the replica's counter equals the master's and both hold as many keys.
pub fn wait_equal(master: &RedisServer, replica: &RedisServer) {
    let mut m = master.client();
    let want = (
        m.text(&["GET", "counter"]).unwrap(),
        m.text(&["DBSIZE"]).unwrap(),
    );
    eventually(Duration::from_secs(30), || -> Result<(), String> {
        let mut r = replica.client();
        let got = (
            r.text(&["GET", "counter"]).map_err(|e| e.to_string())?,
            r.text(&["DBSIZE"]).map_err(|e| e.to_string())?,
        );
        if got == want {
            Ok(())
        } else {
            Err(format!("replica has {got:?}, master {want:?}"))
        }
    });
}
