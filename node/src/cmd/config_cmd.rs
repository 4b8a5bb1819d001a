//! CONFIG GET / SET / REWRITE / RESETSTAT / HELP.

use bytes::Bytes;
use slotgate_protocol::Frame;

use super::args::upper;
use super::{help, spec, Ctx, Reply, Spec};
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
                    .map(|(k, v)| (Frame::Bulk(Bytes::from(k)), Frame::Bulk(Bytes::from(v))))
                    .collect(),
            ))
        }
        "SET" if args.len() >= 4 => {
            if !args.len().is_multiple_of(2) {
                return Err(err::syntax());
            }
            let text: Vec<String> = args[2..]
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let pairs: Vec<(&str, &str)> = text
                .chunks(2)
                .map(|pair| (pair[0].as_str(), pair[1].as_str()))
                .collect();
            ctx.state.config.set_many(&pairs).map_err(Frame::error)?;
            if pairs
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("requirepass"))
            {
                let password = ctx.state.config.get("requirepass").to_owned();
                ctx.state.acl.set_default_password(&password);
            }
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
        "HELP" if args.len() == 2 => Ok(help::reply(help::CONFIG)),
        "GET" | "SET" | "REWRITE" | "RESETSTAT" | "HELP" => Err(arity()),
        _ => Err(err::unknown_subcommand(&args[1], "config")),
    }
}
