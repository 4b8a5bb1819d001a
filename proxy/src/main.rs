//! `slotgate`: the proxy binary. Parses the command line, sets up logging and hands the
//! loaded config to [`slotgate_proxy::run`]; `slotgate node …` runs a data node instead
//! (the `slotgate-node` command line, embedded), which `slotgate local` uses.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use slotgate_proxy::config::Config;

/// jemalloc with the node's byte count: `slotgate node` runs a data node in this process,
/// and its `used_memory` / `maxmemory` need the count (a thread-local add, no shared atomic,
/// so the proxy's path does not pay for it).
#[global_allocator]
static ALLOCATOR: slotgate_node::memory::Counting = slotgate_node::memory::Counting;

/// slotgate — a stateless sharding proxy in front of Redis Cluster.
#[derive(Parser, Debug)]
#[command(name = "slotgate", version, about)]
struct Cli {
    /// Path of the proxy's TOML config (same as `slotgate run --config FILE`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log format; the level comes from `RUST_LOG` (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Same as `--log-format json` (kept for existing scripts).
    #[arg(long, global = true, hide = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

/// How log lines are written.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    /// Human-readable text.
    Human,
    /// One JSON object per line.
    Json,
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
    /// Run a data node: `slotgate node [config-file] [--directive value …]`, exactly like
    /// `slotgate-node` (and `redis-server`).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Node {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Some(Command::Node { args }) = &cli.command {
        // The node sets up its own logs (Redis's `loglevel` / `logfile`).
        return Ok(slotgate_node::cli::main(args));
    }
    init_logs(if cli.log_json {
        LogFormat::Json
    } else {
        cli.log_format
    });
    let path = match (cli.command, cli.config) {
        (Some(Command::Local(args)), _) => {
            return slotgate_proxy::local::run(args).map(|()| ExitCode::SUCCESS)
        }
        (Some(Command::Run { config }), _) | (None, Some(config)) => config,
        (Some(Command::Node { .. }), _) | (None, None) => {
            anyhow::bail!("missing --config FILE (see slotgate --help)")
        }
    };
    slotgate_proxy::run(Config::load(&path)?).map(|()| ExitCode::SUCCESS)
}

/// Installs the log subscriber: `format`, filtered by `RUST_LOG` (default `info`), coloured
/// only on a terminal.
fn init_logs(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    match format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}
