//! CONFIG GET / SET / REWRITE / RESETSTAT.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::upper;
use super::{spec, Ctx, Reply, Spec};
use crate::reply::err;
use crate::state::Stats;

pub const COMMANDS: &[Spec] = &[spec("config", -2, 0, config)];

fn config(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let sub = upper(&args[1]);
    let arity = || {
        Frame::error(format!(
            "ERR wrong number of arguments for 'config|{}' command",
            sub.to_ascii_lowercase()
        ))
    };
    match sub.as_str() {
        "GET" if args.len() >= 3 => {
            let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
            let pairs = ctx.state.config.matching(&patterns);
            Ok(Frame::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Frame::bulk(k), Frame::Bulk(Bytes::from(v))))
                    .collect(),
            ))
        }
        "SET" if args.len() >= 4 && args.len().is_multiple_of(2) => {
            let mut updated = ctx.state.config.clone();
            for pair in args[2..].chunks(2) {
                let (name, value) = (
                    String::from_utf8_lossy(&pair[0]),
                    String::from_utf8_lossy(&pair[1]),
                );
                updated.set(&name, &value).map_err(Frame::error)?;
            }
            ctx.state.config = updated;
            Ok(Frame::ok())
        }
        "REWRITE" if args.len() == 2 => ctx
            .state
            .config
            .rewrite()
            .map(|_| Frame::ok())
            .map_err(Frame::error),
        "RESETSTAT" if args.len() == 2 => {
            ctx.state.stats = Stats::default();
            Ok(Frame::ok())
        }
        "HELP" => Ok(Frame::Array(vec![Frame::Simple(Bytes::from_static(
            b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        ))])),
        "GET" | "SET" | "REWRITE" | "RESETSTAT" => Err(arity()),
        _ => Err(err::unknown_subcommand(&args[1], "config")),
    }
}
