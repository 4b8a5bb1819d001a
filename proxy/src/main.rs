//! `slotgate`: the proxy binary.

use clap::Parser;

/// slotgate — a stateless sharding proxy in front of Redis Cluster.
#[derive(Parser, Debug)]
#[command(name = "slotgate", version, about)]
struct Cli {
    /// Path of the proxy's TOML config.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    println!("slotgate {}: not yet serving (config: {:?})", env!("CARGO_PKG_VERSION"), cli.config);
}
