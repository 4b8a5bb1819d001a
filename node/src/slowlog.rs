//! SLOWLOG: the commands that ran for at least `slowlog-log-slower-than` µs (negative:
//! none), newest first, at most `slowlog-max-len`. Entries are made as Redis 7.0 makes
//! them: at most 32 arguments (the last slot then says how many more there were), each
//! cut at 128 bytes (saying how many more bytes), secrets (AUTH, HELLO … AUTH, MIGRATE
//! AUTH/AUTH2, CONFIG SET of requirepass/masterauth) shown as `(redacted)`, with the
//! client's address and name at the time.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use slotgate_protocol::Frame;

use crate::client::Client;
use crate::cmd::args::{int, upper};
use crate::cmd::Reply;
use crate::reply::{err, int as integer};
use crate::state::{now_ms, State};

/// Redis's `SLOWLOG_ENTRY_MAX_ARGC` and `SLOWLOG_ENTRY_MAX_STRING`.
const MAX_ARGS: usize = 32;
const MAX_STRING: usize = 128;

/// The log.
#[derive(Debug, Default)]
pub struct Slowlog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    /// Unix seconds.
    time: i64,
    micros: u64,
    args: Vec<Bytes>,
    addr: Bytes,
    name: Bytes,
}

/// Logs `args` if it took long enough.
pub fn record(state: &mut State, client: &Client, args: &[Bytes], took: Duration) {
    let threshold = state.config.hot().slowlog_log_slower_than;
    let micros = took.as_micros() as u64;
    if threshold < 0 || micros < threshold as u64 {
        return;
    }
    let log = &mut state.slowlog;
    let entry = Entry {
        id: log.next_id,
        time: now_ms() / 1000,
        micros,
        args: shown_args(args),
        addr: Bytes::from(client.addr.map(|a| a.to_string()).unwrap_or_default()),
        name: client.name.clone().unwrap_or_default(),
    };
    log.next_id += 1;
    log.entries.push_front(entry);
    let max = state.config.get_int("slowlog-max-len").max(0) as usize;
    state.slowlog.entries.truncate(max);
}

/// The arguments as an entry keeps them: redacted, capped in number and length.
fn shown_args(args: &[Bytes]) -> Vec<Bytes> {
    let secret = crate::redact::secrets(args);
    let kept = if args.len() > MAX_ARGS {
        MAX_ARGS - 1
    } else {
        args.len()
    };
    let mut shown: Vec<Bytes> = args[..kept]
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            if secret.contains(&i) {
                Bytes::from_static(b"(redacted)")
            } else if arg.len() > MAX_STRING {
                let mut cut = arg[..MAX_STRING].to_vec();
                let more = format!("... ({} more bytes)", arg.len() - MAX_STRING);
                cut.extend_from_slice(more.as_bytes());
                Bytes::from(cut)
            } else {
                arg.clone()
            }
        })
        .collect();
    if args.len() > kept {
        let more = format!("... ({} more arguments)", args.len() - kept);
        shown.push(Bytes::from(more));
    }
    shown
}

/// SLOWLOG GET [count] | LEN | RESET.
pub fn command(state: &mut State, args: &[Bytes]) -> Reply {
    let log = &mut state.slowlog;
    match (upper(&args[1]).as_str(), args.len()) {
        ("GET", 2 | 3) => {
            let count = match args.get(2) {
                None => 10,
                Some(arg) => match int(arg) {
                    Ok(-1) => usize::MAX,
                    Ok(n) if n >= 0 => n as usize,
                    _ => {
                        return Err(Frame::error(
                            "ERR count should be greater than or equal to -1",
                        ))
                    }
                },
            };
            Ok(Frame::Array(
                log.entries.iter().take(count).map(entry_frame).collect(),
            ))
        }
        ("LEN", 2) => Ok(integer(log.entries.len())),
        ("RESET", 2) => {
            log.entries.clear();
            Ok(Frame::ok())
        }
        ("HELP", 2) => Ok(crate::cmd::help::reply(crate::cmd::help::SLOWLOG)),
        ("GET" | "LEN" | "RESET" | "HELP", _) => Err(Frame::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
        _ => Err(err::unknown_subcommand(&args[1], "slowlog")),
    }
}

fn entry_frame(e: &Entry) -> Frame {
    Frame::Array(vec![
        integer(e.id),
        integer(e.time),
        integer(e.micros),
        Frame::Array(e.args.iter().cloned().map(Frame::Bulk).collect()),
        Frame::Bulk(e.addr.clone()),
        Frame::Bulk(e.name.clone()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(parts: &[&str]) -> Vec<Bytes> {
        parts.iter().map(|p| Bytes::from(p.to_string())).collect()
    }

    #[test]
    fn arguments_capped_and_redacted_like_redis() {
        let many: Vec<String> = (0..42).map(|i| i.to_string()).collect();
        let mut long = vec!["RPUSH"];
        long.extend(many.iter().map(String::as_str));
        let shown = shown_args(&args(&long));
        assert_eq!(shown.len(), 32);
        assert_eq!(shown[31], "... (12 more arguments)");
        let big = "v".repeat(200);
        let shown = shown_args(&args(&["SET", "k", &big]));
        assert_eq!(shown[2], format!("{}... (72 more bytes)", "v".repeat(128)));
        let redacted = |parts: &[&str]| shown_args(&args(parts));
        assert_eq!(
            redacted(&["AUTH", "u", "p"])[1..],
            ["(redacted)", "(redacted)"]
        );
        assert_eq!(
            redacted(&["HELLO", "3", "AUTH", "u", "p", "SETNAME", "n"])[3..],
            ["(redacted)", "(redacted)", "SETNAME", "n"]
        );
        assert_eq!(
            redacted(&["CONFIG", "SET", "requirepass", "x", "maxclients", "5"])[3..],
            ["(redacted)", "maxclients", "5"]
        );
    }
}
