//! `COMMAND DOCS` entries as [`Frame`]s, field for field in Redis 7.0's order: summary,
//! since, group, complexity, doc_flags, deprecated_since, replaced_by, history, arguments,
//! subcommands.

use super::docs::Arg;
use super::info_frame::simple;
use super::reply::Out;
use super::spec::CommandSpec;
use crate::resp::Frame;

/// One command's docs map (subcommands' docs nested for containers).
pub(super) fn docs_frame(spec: &CommandSpec, out: Out) -> Frame {
    let docs = &spec.docs;
    let mut pairs = Vec::with_capacity(10);
    push_text(&mut pairs, "summary", &docs.summary);
    push_text(&mut pairs, "since", &docs.since);
    pairs.push(("group", Frame::bulk(&spec.group)));
    push_text(&mut pairs, "complexity", &docs.complexity);
    if !docs.doc_flags.is_empty() {
        pairs.push((
            "doc_flags",
            out.set(docs.doc_flags.iter().map(simple).collect()),
        ));
    }
    push_text(&mut pairs, "deprecated_since", &docs.deprecated_since);
    push_text(&mut pairs, "replaced_by", &docs.replaced_by);
    if !docs.history.is_empty() {
        let history = docs
            .history
            .iter()
            .map(|(version, change)| Frame::Array(vec![Frame::bulk(version), Frame::bulk(change)]));
        pairs.push(("history", out.set(history.collect())));
    }
    if !docs.arguments.is_empty() {
        pairs.push(("arguments", args_frame(&docs.arguments, out)));
    }
    if spec.is_container() {
        let subs = spec
            .subcommands
            .iter()
            .map(|s| (Frame::bulk(&s.name), docs_frame(s, out)));
        pairs.push(("subcommands", out.map_of(subs.collect())));
    }
    out.map(pairs)
}

fn push_text(pairs: &mut Vec<(&'static str, Frame)>, field: &'static str, text: &Option<String>) {
    if let Some(text) = text {
        pairs.push((field, Frame::bulk(text)));
    }
}

fn args_frame(args: &[Arg], out: Out) -> Frame {
    Frame::Array(args.iter().map(|arg| arg_frame(arg, out)).collect())
}

fn arg_frame(arg: &Arg, out: Out) -> Frame {
    let mut pairs = vec![
        ("name", Frame::bulk(&arg.name)),
        ("type", Frame::bulk(&arg.kind)),
    ];
    if let Some(index) = arg.key_spec_index {
        pairs.push(("key_spec_index", Frame::Integer(index.into())));
    }
    push_text(&mut pairs, "token", &arg.token);
    push_text(&mut pairs, "since", &arg.since);
    push_text(&mut pairs, "deprecated_since", &arg.deprecated_since);
    if !arg.flags.is_empty() {
        pairs.push(("flags", out.set(arg.flags.iter().map(simple).collect())));
    }
    if arg.is_group() {
        pairs.push(("arguments", args_frame(&arg.arguments, out)));
    }
    out.map(pairs)
}
