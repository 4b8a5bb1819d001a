//! `slotgate`: the proxy binary. Parses the command line, sets up logging and hands the
//! loaded config to [`slotgate_proxy::run`].

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use slotgate_proxy::config::Config;

/// slotgate — a stateless sharding proxy in front of Redis Cluster.
#[derive(Parser, Debug)]
#[command(name = "slotgate", version, about)]
struct Cli {
    /// Path of the proxy's TOML config (same as `slotgate run --config FILE`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the proxy.
    Run {
        /// Path of the proxy's TOML config.
        #[arg(long)]
        config: PathBuf,
    },
    /// Start a local 3-master + 3-replica cluster and the proxy in front of it.
    Local(slotgate_proxy::local::LocalArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    let path = match (cli.command, cli.config) {
        (Some(Command::Local(args)), _) => return slotgate_proxy::local::run(args),
        (Some(Command::Run { config }), _) | (None, Some(config)) => config,
        (None, None) => anyhow::bail!("missing --config FILE (see slotgate --help)"),
    };
    slotgate_proxy::run(Config::load(&path)?)
}
