//! The local cluster's node processes: which program runs them (`slotgate node`, the running
//! executable itself, else Debian's `redis-server`), starting them as children in their
//! own process group (so Ctrl-C reaches only `slotgate`, which stops them in order), and
//! stopping them by PID.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use std::os::unix::process::CommandExt;

use crate::backend::{query, LinkSettings};

/// A program that can run a cluster node.
#[derive(Debug, Clone)]
pub struct NodeProgram {
    pub path: PathBuf,
    /// Arguments before the node's own (`node` for `slotgate node`).
    pub prefix: &'static [&'static str],
    /// How the output names it.
    pub label: &'static str,
}

impl NodeProgram {
    /// This executable, as `slotgate node`.
    pub fn ours() -> Option<NodeProgram> {
        Some(NodeProgram {
            path: std::env::current_exe().ok()?,
            prefix: &["node"],
            label: "slotgate node",
        })
    }

    /// `redis-server` from the PATH, when installed.
    pub fn redis() -> Option<NodeProgram> {
        let path = std::env::var_os("PATH")?;
        let path = std::env::split_paths(&path)
            .map(|dir| dir.join("redis-server"))
            .find(|p| p.is_file())?;
        Some(NodeProgram {
            path,
            prefix: &[],
            label: "redis-server",
        })
    }
}

/// The running nodes; stopped (SIGTERM, then SIGKILL after 5 s) when dropped.
pub struct Nodes {
    pub program: NodeProgram,
    pub addrs: Vec<String>,
    children: Vec<Child>,
}

impl Nodes {
    /// Starts one node per port, data under `dir/<port>/`, and waits until each answers PING.
    pub async fn start(program: NodeProgram, ports: &[u16], dir: &Path) -> anyhow::Result<Nodes> {
        let mut nodes = Nodes {
            program,
            addrs: Vec::new(),
            children: Vec::new(),
        };
        for &port in ports {
            let node_dir = dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir)?;
            let child = nodes.spawn(port, &node_dir)?;
            nodes.children.push(child);
            nodes.addrs.push(format!("127.0.0.1:{port}"));
        }
        for addr in &nodes.addrs {
            wait_for(Duration::from_secs(10), || async {
                query(addr, &settings(), &["PING"]).await.ok()
            })
            .await
            .ok_or_else(|| anyhow::anyhow!("{addr} did not start; see its node.log"))?;
        }
        Ok(nodes)
    }

    fn spawn(&self, port: u16, dir: &Path) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))?;
        let port = port.to_string();
        let dir_arg = dir.canonicalize()?.display().to_string();
        let args = [
            ("port", port.as_str()),
            ("bind", "127.0.0.1"),
            ("dir", dir_arg.as_str()),
            ("cluster-enabled", "yes"),
            ("cluster-config-file", "nodes.conf"),
            ("cluster-node-timeout", "5000"),
            ("appendonly", "yes"),
            ("save", ""),
        ];
        let mut command = Command::new(&self.program.path);
        command.args(self.program.prefix);
        for (key, value) in args {
            command.arg(format!("--{key}")).arg(value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn();
        child.map_err(|e| anyhow::anyhow!("starting {}: {e}", self.program.path.display()))
    }

    /// The PIDs of the node processes.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Stops every node: SIGTERM by PID, then SIGKILL for any still running after 5 s.
    pub fn stop(&mut self) {
        for child in &self.children {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        for child in &mut self.children {
            while std::time::Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connection settings for the local nodes (no password).
pub fn settings() -> LinkSettings {
    LinkSettings {
        user: None,
        password: None,
        connect_timeout: Duration::from_secs(1),
        readonly: false,
    }
}

/// Polls `check` every 100 ms until it yields a value or `timeout` passes.
pub async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    timeout: Duration,
    mut check: impl FnMut() -> F,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
