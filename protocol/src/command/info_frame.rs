//! `COMMAND INFO` entries as [`Frame`]s, laid out exactly as Redis 7.0 writes them:
//! `[name, arity, flags, first, last, step, acl categories, tips, key specs, subcommands]`.

use bytes::Bytes;

use super::reply::Out;
use super::spec::{BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::resp::Frame;

/// One command's `COMMAND INFO` entry (subcommands nested).
pub(super) fn info_frame(spec: &CommandSpec, out: Out) -> Frame {
    Frame::Array(vec![
        Frame::bulk(&spec.name),
        Frame::Integer(spec.arity.into()),
        out.set(spec.flags.names().map(simple).collect()),
        Frame::Integer(spec.first_key.into()),
        Frame::Integer(spec.last_key.into()),
        Frame::Integer(spec.step.into()),
        out.set(spec.acl_categories.iter().map(simple).collect()),
        out.set(spec.tips.iter().map(Frame::bulk).collect()),
        out.set(
            spec.key_specs
                .iter()
                .map(|k| key_spec_frame(k, out))
                .collect(),
        ),
        out.set(
            spec.subcommands
                .iter()
                .map(|s| info_frame(s, out))
                .collect(),
        ),
    ])
}

/// A simple-string frame (`+text`), as Redis writes flags and categories.
pub(super) fn simple(text: impl AsRef<str>) -> Frame {
    Frame::Simple(Bytes::copy_from_slice(text.as_ref().as_bytes()))
}

fn key_spec_frame(spec: &KeySpec, out: Out) -> Frame {
    let mut pairs = Vec::with_capacity(4);
    if let Some(notes) = &spec.notes {
        pairs.push(("notes", Frame::bulk(notes)));
    }
    pairs.push(("flags", out.set(spec.flags.names().map(simple).collect())));
    pairs.push(("begin_search", begin_search_frame(&spec.begin_search, out)));
    pairs.push(("find_keys", find_keys_frame(&spec.find_keys, out)));
    out.map(pairs)
}

fn begin_search_frame(search: &BeginSearch, out: Out) -> Frame {
    let (kind, spec) = match search {
        BeginSearch::Index { index } => ("index", vec![("index", int(*index))]),
        BeginSearch::Keyword { keyword, startfrom } => (
            "keyword",
            vec![
                ("keyword", Frame::bulk(keyword)),
                ("startfrom", int(*startfrom)),
            ],
        ),
        BeginSearch::Unknown => ("unknown", vec![]),
    };
    out.map(vec![("type", Frame::bulk(kind)), ("spec", out.map(spec))])
}

fn find_keys_frame(find: &FindKeys, out: Out) -> Frame {
    let (kind, spec) = match *find {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => (
            "range",
            vec![
                ("lastkey", int(lastkey)),
                ("keystep", int(keystep)),
                ("limit", int(limit)),
            ],
        ),
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => (
            "keynum",
            vec![
                ("keynumidx", int(keynumidx)),
                ("firstkey", int(firstkey)),
                ("keystep", int(keystep)),
            ],
        ),
        FindKeys::Unknown => ("unknown", vec![]),
    };
    out.map(vec![("type", Frame::bulk(kind)), ("spec", out.map(spec))])
}

fn int(n: i32) -> Frame {
    Frame::Integer(n.into())
}
