//! The command table against a running redis-server 7: every command and subcommand of
//! `COMMAND` (name, arity, flags, first/last/step, ACL categories, tips, key specs), the
//! byte layout of `COMMAND INFO` and `COMMAND DOCS`, `COMMAND LIST`/`COUNT`, and the
//! texts of unknown-command and arity errors. Skipped only when redis-server is absent.

mod command_support;

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use command_support::{args, items, sorted_docs, sorted_info, sorted_pairs, Redis};
use slotgate_protocol::command::{command_reply, table, Command, RespVersion};
use slotgate_protocol::resp::encode;
use slotgate_protocol::Frame;

const INFO_FIELDS: [&str; 10] = [
    "name",
    "arity",
    "flags",
    "first_key",
    "last_key",
    "step",
    "acl_categories",
    "tips",
    "key_specs",
    "subcommands",
];

fn our_reply(request: &str) -> Frame {
    command_reply(&args(request), RespVersion::Resp2)
}

fn bytes_of(frame: &Frame) -> BytesMut {
    let mut out = BytesMut::new();
    encode(frame, &mut out);
    out
}

fn by_name(entries: Vec<Frame>) -> BTreeMap<Vec<u8>, Frame> {
    entries
        .into_iter()
        .map(sorted_info)
        .map(|entry| {
            (
                items(entry.clone())[0]
                    .as_bytes()
                    .unwrap_or_default()
                    .to_vec(),
                entry,
            )
        })
        .collect()
}

/// Field by field, so a failure names the command and the field.
fn assert_same_info(theirs: &Frame, ours: &Frame) {
    let (theirs, ours) = (items(theirs.clone()), items(ours.clone()));
    let name = String::from_utf8_lossy(theirs[0].as_bytes().unwrap_or_default()).into_owned();
    for (field, (t, o)) in INFO_FIELDS.iter().zip(theirs.iter().zip(&ours)) {
        if *field == "subcommands" {
            let (t, o) = (items(t.clone()), items(o.clone()));
            assert_eq!(t.len(), o.len(), "{name}: number of subcommands");
            t.iter().zip(&o).for_each(|(t, o)| assert_same_info(t, o));
        } else {
            assert_eq!(t, o, "{name}: {field}");
        }
    }
    assert_eq!(theirs.len(), ours.len(), "{name}: number of fields");
}

#[test]
fn every_command_and_subcommand_agrees_with_redis() {
    let Some(redis) = Redis::start() else { return };
    let theirs = by_name(items(redis.client().call(&["COMMAND"])));
    let ours = by_name(items(our_reply("COMMAND")));
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "command names"
    );
    for (name, entry) in &theirs {
        assert_same_info(entry, &ours[name]);
    }
    assert_eq!(
        redis.client().call(&["COMMAND", "COUNT"]),
        our_reply("COMMAND COUNT")
    );
}

#[test]
fn command_info_is_byte_identical() {
    let Some(redis) = Redis::start() else { return };
    let request = "COMMAND INFO get set eval xread cluster nosuch config|get";
    let theirs = Frame::Array(
        items(redis.client().call(&args(request)))
            .into_iter()
            .map(normalize)
            .collect(),
    );
    let ours = Frame::Array(
        items(our_reply(request))
            .into_iter()
            .map(normalize)
            .collect(),
    );
    assert_eq!(bytes_of(&theirs), bytes_of(&ours));
}

fn normalize(entry: Frame) -> Frame {
    match entry {
        Frame::Array(_) => sorted_info(entry),
        other => other,
    }
}

#[test]
fn command_docs_are_byte_identical() {
    let Some(redis) = Redis::start() else { return };
    let theirs = sorted_pairs(
        items(redis.client().call(&["COMMAND", "DOCS"])),
        sorted_docs,
    );
    let ours = sorted_pairs(items(our_reply("COMMAND DOCS")), sorted_docs);
    assert_eq!(theirs.len(), ours.len());
    for pair in theirs.chunks(2).zip(ours.chunks(2)) {
        assert_eq!(
            bytes_of(&Frame::Array(pair.0.to_vec())),
            bytes_of(&Frame::Array(pair.1.to_vec()))
        );
    }
    let request = "COMMAND DOCS get nosuch zadd config|set GEORADIUS";
    assert_eq!(redis.client().call(&args(request)), our_reply(request));
}

#[test]
fn command_list_and_errors_agree_with_redis() {
    let Some(redis) = Redis::start() else { return };
    let mut client = redis.client();
    let as_set = |frame: Frame| {
        let mut names: Vec<_> = items(frame)
            .iter()
            .map(|f| f.as_bytes().map(<[u8]>::to_vec))
            .collect();
        names.sort();
        names
    };
    for request in [
        "COMMAND LIST",
        "COMMAND LIST FILTERBY ACLCAT read",
        "command list filterby aclcat nosuch",
        "COMMAND LIST FILTERBY MODULE x",
        "COMMAND LIST FILTERBY PATTERN cl*|*",
        "COMMAND LIST FILTERBY PATTERN *[xy]*",
    ] {
        assert_eq!(
            as_set(client.call(&args(request))),
            as_set(our_reply(request)),
            "{request}"
        );
    }
    for request in [
        "COMMAND LIST FILTERBY",
        "COMMAND LIST FILTERBY x y",
        "COMMAND HELP",
        "COMMAND COUNT x",
    ] {
        assert_eq!(client.call(&args(request)), our_reply(request), "{request}");
    }
}

#[test]
fn rejection_texts_agree_with_redis() {
    let Some(redis) = Redis::start() else { return };
    let mut client = redis.client();
    let long = "y".repeat(150);
    let requests = [
        "foo a b".to_owned(),
        "foo".to_owned(),
        format!("foo {long} b"),
        format!("foo a {long}"),
        "cluster nosuch".to_owned(),
        "CoNfIg nosuch x".to_owned(),
        "get".to_owned(),
        "GET a b".to_owned(),
        "cluster info x".to_owned(),
        "config".to_owned(),
        "xread".to_owned(),
        "config get".to_owned(),
    ];
    for request in &requests {
        let request = args(request);
        let theirs = client.call(&request);
        let ours = Command::parse(&request)
            .map(|c| c.name().to_owned())
            .map_err(|e| e.to_frame());
        assert_eq!(ours, Err(theirs), "{request:?}");
    }
}

#[test]
fn every_name_resolves_both_ways() {
    for spec in table().iter_all() {
        let request: Vec<Bytes> = spec
            .name
            .split('|')
            .map(|p| Bytes::copy_from_slice(p.to_uppercase().as_bytes()))
            .collect();
        assert_eq!(table().resolve(&request).map(|s| &s.name), Some(&spec.name));
        assert_eq!(
            table().lookup(spec.name.as_bytes()).map(|s| &s.name),
            Some(&spec.name)
        );
    }
}

#[test]
fn resp3_replies_are_byte_identical() {
    let Some(redis) = Redis::start() else { return };
    let mut client = redis.client();
    client.call(&["HELLO", "3"]);
    for request in [
        "COMMAND INFO get set eval xread sort migrate nosuch",
        "COMMAND DOCS get zadd georadius",
        "COMMAND GETKEYSANDFLAGS set k v get",
        "COMMAND COUNT",
    ] {
        let ours = command_reply(&args(request), RespVersion::Resp3);
        assert_eq!(
            bytes_of(&client.call(&args(request))),
            bytes_of(&ours),
            "{request}"
        );
    }
}
