//! `slotgate-node`: the data node binary.

use clap::Parser;

/// slotgate-node — a Redis-Cluster-compatible data node.
#[derive(Parser, Debug)]
#[command(name = "slotgate-node", version, about)]
struct Cli {
    /// redis.conf-style config file.
    config: Option<std::path::PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    println!("slotgate-node {}: not yet serving (config: {:?})", env!("CARGO_PKG_VERSION"), cli.config);
}
