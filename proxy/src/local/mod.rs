//! `slotgate local`: the one-command local cluster. Starts 3 masters + 3 replicas as child
//! processes (`slotgate node` — this very executable — when it runs in cluster mode, else
//! `redis-server`, and says which), forms the cluster itself (no `redis-cli` needed), waits for `cluster_state:ok`,
//! runs the proxy in-process with its admin endpoint, prints how to connect, and on SIGINT
//! or SIGTERM stops the proxy and every node (by PID).
//!
//! Layout: this file holds the flags and the sequence; `nodes` the processes; `form` the
//! cluster-forming commands.

mod form;
mod nodes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use nodes::{NodeProgram, Nodes};

/// Masters and replicas of the local cluster.
const MASTERS: usize = 3;
const NODES: usize = 6;

/// Flags of `slotgate local`.
#[derive(Debug, Clone, clap::Args)]
pub struct LocalArgs {
    /// Port of the first node; the six nodes use this port and the next five (bus ports +10000).
    #[arg(long, default_value_t = 7000)]
    pub base_port: u16,
    /// Port the proxy listens on.
    #[arg(long, default_value_t = 7777)]
    pub port: u16,
    /// Port of the admin endpoint (/metrics, /healthz, /readyz, /topology, /config).
    #[arg(long, default_value_t = 9379)]
    pub admin_port: u16,
    /// Where the nodes keep their data (one directory per port).
    #[arg(long, default_value = "./slotgate-local")]
    pub dir: PathBuf,
}

/// Runs the local cluster and proxy until SIGINT or SIGTERM.
pub fn run(args: LocalArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut nodes = tokio::select! {
            nodes = start_cluster(&args) => nodes?,
            _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted while starting"),
        };
        let path = args.dir.join("slotgate.toml");
        std::fs::write(&path, proxy_config(&args, &nodes.addrs))?;
        let config = Config::load(&path)?;
        println!(
            "slotgate local: proxy on 127.0.0.1:{} (admin http://127.0.0.1:{}/metrics)",
            args.port, args.admin_port
        );
        println!("  connect with: redis-cli -p {}", args.port);
        println!(
            "  nodes ({}): {} — data under {}",
            nodes.program.label,
            nodes.addrs.join(" "),
            args.dir.display()
        );
        println!(
            "  proxy config: {} (edits are applied live)",
            path.display()
        );
        println!("  Ctrl-C stops everything");
        let served = crate::serve(config).await;
        println!("slotgate local: stopping nodes {:?}", nodes.pids());
        nodes.stop();
        served
    })
}

/// Starts the six nodes with the first program that runs in cluster mode, and forms them.
async fn start_cluster(args: &LocalArgs) -> anyhow::Result<Nodes> {
    let ports: Vec<u16> = (0..NODES as u16).map(|i| args.base_port + i).collect();
    let mut candidates = NodeProgram::ours()
        .into_iter()
        .chain(NodeProgram::redis())
        .peekable();
    if candidates.peek().is_none() {
        anyhow::bail!(
            "neither this executable (as `slotgate node`) nor redis-server (on PATH) can run a node"
        );
    }
    for program in candidates {
        let fresh = prepare_dir(&args.dir, &ports)?;
        let nodes = Nodes::start(program.clone(), &ports, &args.dir).await?;
        if !form::supports_cluster(&nodes.addrs[0]).await {
            println!(
                "slotgate local: {} has no cluster mode yet; trying the next node program",
                program.label
            );
            drop(nodes);
            wipe(&args.dir, &ports)?;
            continue;
        }
        if program.label == "redis-server" {
            println!("slotgate local: running the nodes with redis-server (real Redis), not slotgate node");
        }
        if fresh || !form::already_formed(&nodes.addrs).await {
            let hint = || {
                format!(
                    "forming the cluster failed (remove {} to start afresh)",
                    args.dir.display()
                )
            };
            form::form(&nodes.addrs, MASTERS)
                .await
                .map_err(|e| e.context(hint()))?;
        }
        form::wait_ok(&nodes.addrs, Duration::from_secs(60)).await?;
        return Ok(nodes);
    }
    anyhow::bail!("no node program with cluster mode was found (`slotgate node` lacks it; install redis-server)")
}

/// Makes the data directories; returns whether the cluster must be formed anew, wiping
/// leftovers of an incomplete earlier run (a complete one is reused).
fn prepare_dir(dir: &Path, ports: &[u16]) -> anyhow::Result<bool> {
    let complete = ports
        .iter()
        .all(|p| dir.join(p.to_string()).join("nodes.conf").exists());
    if !complete {
        wipe(dir, ports)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(!complete)
}

/// Removes the nodes' data directories.
fn wipe(dir: &Path, ports: &[u16]) -> anyhow::Result<()> {
    for port in ports {
        let node_dir = dir.join(port.to_string());
        if node_dir.exists() {
            std::fs::remove_dir_all(&node_dir)?;
        }
    }
    Ok(())
}

/// The proxy's config for the local cluster.
fn proxy_config(args: &LocalArgs, seeds: &[String]) -> String {
    let seeds: Vec<String> = seeds.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "[proxy]\nlisten = \"127.0.0.1:{}\"\n\n[admin]\nlisten = \"127.0.0.1:{}\"\n\n[cluster]\nseeds = [{}]\n",
        args.port,
        args.admin_port,
        seeds.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_config_loads() {
        let args = LocalArgs {
            base_port: 7000,
            port: 7777,
            admin_port: 9379,
            dir: "x".into(),
        };
        let config = Config::parse(&proxy_config(
            &args,
            &["127.0.0.1:7000".into(), "127.0.0.1:7001".into()],
        ))
        .unwrap();
        assert_eq!(config.proxy.listen.port(), 7777);
        assert_eq!(config.cluster.seeds.len(), 2);
    }
}
