//! `slotgate-node [config-file] [--directive value …]`: the data node binary, started like
//! `redis-server`.

use slotgate_node::config::Config;
use slotgate_node::server;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("slotgate-node v={}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(start(config)) {
        tracing::error!("{e}");
        eprintln!("{e}");
        std::process::exit(1);
    }
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
