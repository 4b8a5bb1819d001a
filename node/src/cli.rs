//! The data node's command line, `[config-file] [--directive value …]`, started like
//! `redis-server`: shared by the `slotgate-node` binary and `slotgate node`, so one build of
//! the proxy can run the nodes of its local cluster itself.

use std::process::ExitCode;

use crate::config::Config;
use crate::server;

/// Runs a node with `args` (the command line after the program name) until it exits;
/// `--version` / `-v` print the version. Installs the log subscriber, so call it once, from
/// a `main` that has not installed one.
pub fn main(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("slotgate-node v={}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    let runtime = match runtime(config.get_int("io-threads")) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = runtime.block_on(start(config)) {
        tracing::error!("{e}");
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The executor, as Redis's `io-threads` sizes its threads: with 1 (the default) one
/// thread runs everything, like Redis's event loop — on a small machine shared with the
/// clients that beats several workers handing connections to each other (fewer wake-ups,
/// an uncontended state lock). N > 1: a multi-thread runtime with N workers.
fn runtime(io_threads: i64) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match io_threads {
        ..=1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n as usize);
            builder
        }
    };
    builder.enable_all().build()
}

async fn start(config: Config) -> anyhow::Result<()> {
    let listeners = server::bind(&config).await?;
    let shared = server::prepare(config)?;
    tracing::info!(
        "Ready to accept connections on {:?}",
        server::describe(&listeners)
    );
    server::run(shared, listeners).await;
    Ok(())
}

/// `loglevel` and `logfile` as Redis reads them; `RUST_LOG` overrides the level.
fn init_logging(config: &Config) {
    let level = match config.get("loglevel") {
        "debug" => "debug",
        "verbose" => "info",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match config.get("logfile") {
        "" => builder.init(),
        path => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
            Err(_) => builder.init(),
        },
    }
}
