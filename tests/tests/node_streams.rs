//! Streams between real slotgate-node processes: a replica ends with its master's
//! `XINFO STREAM FULL` after XADD `*`, XREADGROUP, XACK, XCLAIM and XTRIM (each propagated
//! deterministically); an AOF restart and a BGREWRITEAOF + restart rebuild the same stream;
//! XREAD BLOCK and XREADGROUP BLOCK wake up on another connection's XADD; DUMP + RESTORE
//! copy a stream with its group.
//!
//! A consumer's `seen-time` is the only field masked: Redis's replicas set it with their
//! own clock too. The workload leaves no pending entry whose stream entry is gone: an AOF
//! rewrite's forced XCLAIM drops those, in Redis as here.

mod node_replication_common;

use std::time::Duration;

use bytes::Bytes;
use node_replication_common::{pair, start};
use slotgate_protocol::Frame;
use slotgate_tests::client::frame_text;
use slotgate_tests::redis::{RedisServer, ServerKind};
use slotgate_tests::{eventually, Client};

const AOF: [(&str, &str); 2] = [("appendonly", "yes"), ("appendfsync", "always")];

/// Writes touching every part of a stream: `*` ids, approximate trimming, groups, pending
/// entries of trimmed entries dropped by XAUTOCLAIM, others moved by XCLAIM and
/// acknowledged, a deleted entry.
fn workload(c: &mut Client) {
    for i in 0..30 {
        let v = i.to_string();
        c.cmd(&["XADD", "s", "MAXLEN", "~", "20", "*", "f", &v])
            .unwrap();
    }
    let script: &[&[&str]] = &[
        &["XGROUP", "CREATE", "s", "g", "0"],
        &["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "5",
            "STREAMS",
            "s",
            ">",
        ],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "COUNT",
            "3",
            "STREAMS",
            "s",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "idle"],
        &["XTRIM", "s", "MAXLEN", "25"],
        &["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "10"],
        &["XADD", "s", "*", "late", "1"],
        &["XDEL", "s", "0-1"],
    ];
    for args in script {
        let reply = c.cmd(args).unwrap();
        assert!(!matches!(reply, Frame::Error(_)), "{args:?}: {reply:?}");
    }
    let pending = c
        .cmd(&["XPENDING", "s", "g", "-", "+", "2", "carol"])
        .unwrap();
    let Frame::Array(rows) = pending else {
        panic!("XPENDING answered {pending:?}")
    };
    for row in rows {
        let Frame::Array(cols) = row else { continue };
        let id = frame_text(&cols[0]);
        let reply = c
            .cmd(&["XCLAIM", "s", "g", "dave", "0", &id, "RETRYCOUNT", "9"])
            .unwrap();
        assert!(matches!(reply, Frame::Array(_)), "{reply:?}");
        assert_eq!(c.text(&["XACK", "s", "g", &id]).unwrap(), "1");
    }
    c.cmd(&["XTRIM", "s", "MINID", "~", "0"]).unwrap();
}

/// `frame` with every `seen-time` value zeroed.
fn masked(frame: Frame) -> Frame {
    let seen = Frame::Bulk(Bytes::from_static(b"seen-time"));
    match frame {
        Frame::Array(items) => {
            let mut out: Vec<Frame> = Vec::with_capacity(items.len());
            for item in items {
                let after_seen = out.last() == Some(&seen);
                out.push(if after_seen {
                    Frame::Integer(0)
                } else {
                    masked(item)
                });
            }
            Frame::Array(out)
        }
        other => other,
    }
}

fn full(server: &RedisServer) -> Frame {
    masked(
        server
            .client()
            .cmd(&["XINFO", "STREAM", "s", "FULL", "COUNT", "0"])
            .unwrap(),
    )
}

#[test]
fn replica_and_aof_rebuild_the_same_stream() {
    let (mut master, replica) = pair(ServerKind::SlotgateNode, &AOF, &[]);
    let mut m = master.client();
    workload(&mut m);
    assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1");
    let want = full(&master);
    assert!(format!("{want:?}").contains("dave"), "{want:?}");
    eventually(Duration::from_secs(10), || match full(&replica) {
        got if got == want => Ok(()),
        got => Err(format!("replica has {got:?}\nmaster has {want:?}")),
    });
    drop(m);

    master.restart();
    assert_eq!(full(&master), want, "after an AOF restart");

    let mut m = master.client();
    m.text(&["BGREWRITEAOF"]).unwrap();
    eventually(Duration::from_secs(10), || {
        let info = m
            .text(&["INFO", "persistence"])
            .map_err(|e| e.to_string())?;
        match info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrites:1") {
            true => Ok(()),
            false => Err(info),
        }
    });
    drop(m);
    master.restart();
    assert_eq!(full(&master), want, "after BGREWRITEAOF and a restart");
}

#[test]
fn blocked_readers_wake_on_xadd() {
    let node = start(ServerKind::SlotgateNode, &[]);
    let mut c = node.client();
    c.text(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"])
        .unwrap();
    let mut reader = node.client();
    let mut member = node.client();
    reader
        .send(&["XREAD", "BLOCK", "5000", "STREAMS", "s", "$"])
        .unwrap();
    member
        .send(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "5000",
            "STREAMS",
            "s",
            ">",
        ])
        .unwrap();
    eventually(Duration::from_secs(5), || {
        let info = c.text(&["INFO", "clients"]).map_err(|e| e.to_string())?;
        match info.contains("blocked_clients:2") {
            true => Ok(()),
            false => Err(info),
        }
    });
    assert_eq!(c.text(&["XADD", "s", "7-1", "f", "v"]).unwrap(), "7-1");
    let entry = "[s, [[7-1, [f, v]]]]";
    for blocked in [&mut reader, &mut member] {
        let reply = blocked.read_reply().unwrap();
        let Frame::Array(streams) = &reply else {
            panic!("{reply:?}")
        };
        assert_eq!(text_tree(&streams[0]), entry);
    }
    let pending = c.cmd(&["XPENDING", "s", "g"]).unwrap();
    assert_eq!(text_tree(&pending), "[1, 7-1, 7-1, [[c, 1]]]");
    // DUMP + RESTORE carry the stream with its group and pending entry.
    let Frame::Bulk(payload) = c.cmd(&["DUMP", "s"]).unwrap() else {
        panic!("DUMP of a stream")
    };
    let restore: [&[u8]; 4] = [b"RESTORE", b"copy", b"0", &payload];
    assert_eq!(c.cmd(&restore).unwrap(), Frame::ok());
    let copied = c.cmd(&["XPENDING", "copy", "g"]).unwrap();
    assert_eq!(text_tree(&copied), text_tree(&pending));
}

/// A reply as nested brackets of texts.
fn text_tree(frame: &Frame) -> String {
    match frame {
        Frame::Array(items) => {
            let inner: Vec<String> = items.iter().map(text_tree).collect();
            format!("[{}]", inner.join(", "))
        }
        other => frame_text(other),
    }
}
