//! Real servers for tests: one standalone server or a whole cluster formed by the real
//! `redis-cli --cluster create`. The same code starts Debian's `redis-server` 7 (the
//! reference) or our `slotgate-node`, which takes the same arguments — so every scenario
//! can run against both.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::client::Client;
use crate::eventually::eventually;
use crate::ports::free_ports;
use crate::process::{our_binary, scratch_dir, Child};

/// Which server program to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Debian's `redis-server` 7.
    Redis,
    /// Our `slotgate-node`.
    SlotgateNode,
}

impl ServerKind {
    pub fn binary(self) -> PathBuf {
        match self {
            ServerKind::Redis => PathBuf::from("redis-server"),
            ServerKind::SlotgateNode => our_binary("slotgate-node"),
        }
    }
}

/// One server process on a loopback port, with its own data directory.
pub struct RedisServer {
    pub port: u16,
    pub dir: PathBuf,
    pub kind: ServerKind,
    pub password: Option<String>,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on `port` with `--directive value` pairs added to the defaults
    /// (no snapshots, loopback only), and waits until it answers PING.
    pub fn start(kind: ServerKind, port: u16, extra: &[(&str, &str)]) -> RedisServer {
        let dir = scratch_dir(&format!("srv{port}"));
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
        ];
        args.extend([
            "--dir".into(),
            dir.display().to_string(),
            "--save".into(),
            String::new(),
        ]);
        let mut password = None;
        for (key, value) in extra {
            if *key == "requirepass" {
                password = Some(value.to_string());
            }
            args.push(format!("--{key}"));
            args.push(value.to_string());
        }
        let mut server = RedisServer {
            port,
            dir,
            kind,
            password,
            args,
            child: None,
        };
        server.restart();
        server
    }

    /// (Re)starts the process with the same arguments and data directory.
    pub fn restart(&mut self) {
        self.child = None;
        let log = self.dir.join("server.log");
        let child = Child::spawn(self.kind.binary(), &self.args, log).expect("spawn server");
        self.child = Some(child);
        let password = self.password.clone();
        let port = self.port;
        // Until PONG: a server still loading its data answers `-LOADING`.
        eventually(Duration::from_secs(20), || {
            let reply = Client::connect_auth(port, password.as_deref())
                .and_then(|mut c| c.text(&["PING"]))
                .map_err(|e| e.to_string())?;
            if reply == "PONG" {
                Ok(())
            } else {
                Err(reply)
            }
        });
    }

    /// An authenticated client.
    pub fn client(&self) -> Client {
        Client::connect_auth(self.port, self.password.as_deref()).expect("connect")
    }

    pub fn child(&self) -> &Child {
        self.child.as_ref().expect("server running")
    }

    /// Kills the process (SIGKILL) and forgets it; `restart` brings it back.
    pub fn kill(&mut self) {
        self.child = None;
    }
}

/// Settings for [`RedisCluster::start`].
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub kind: ServerKind,
    pub masters: usize,
    pub replicas_per_master: usize,
    pub password: Option<String>,
    pub node_timeout_ms: u64,
    pub appendonly: bool,
}

impl ClusterSpec {
    /// 3 masters + 3 replicas, no password, 5 s node timeout, no AOF.
    pub fn three_by_one(kind: ServerKind) -> ClusterSpec {
        ClusterSpec {
            kind,
            masters: 3,
            replicas_per_master: 1,
            password: None,
            node_timeout_ms: 5000,
            appendonly: false,
        }
    }
}

/// A running cluster formed with the real `redis-cli --cluster create`.
pub struct RedisCluster {
    pub spec: ClusterSpec,
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(spec: ClusterSpec) -> RedisCluster {
        let count = spec.masters * (1 + spec.replicas_per_master);
        let timeout = spec.node_timeout_ms.to_string();
        let nodes: Vec<RedisServer> = free_ports(count)
            .into_iter()
            .map(|port| {
                let mut extra = vec![
                    ("cluster-enabled", "yes"),
                    ("cluster-config-file", "nodes.conf"),
                    ("cluster-node-timeout", timeout.as_str()),
                    ("appendonly", if spec.appendonly { "yes" } else { "no" }),
                ];
                if let Some(password) = &spec.password {
                    extra.push(("requirepass", password));
                    extra.push(("masterauth", password));
                }
                RedisServer::start(spec.kind, port, &extra)
            })
            .collect();
        let cluster = RedisCluster { spec, nodes };
        cluster.create();
        cluster.wait_healthy();
        cluster
    }

    fn create(&self) {
        let mut cmd = Command::new("redis-cli");
        cmd.arg("--cluster").arg("create");
        for node in &self.nodes {
            cmd.arg(format!("127.0.0.1:{}", node.port));
        }
        cmd.args([
            "--cluster-replicas",
            &self.spec.replicas_per_master.to_string(),
            "--cluster-yes",
        ]);
        if let Some(password) = &self.spec.password {
            cmd.args(["-a", password, "--no-auth-warning"]);
        }
        let out = cmd.output().expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits until every node says `cluster_state:ok` and lists every replica as `slave`
    /// in `CLUSTER NODES`, and every master sees its replicas `online`.
    pub fn wait_healthy(&self) {
        let replicas = self.spec.replicas_per_master;
        eventually(Duration::from_secs(60), || -> Result<(), String> {
            for node in &self.nodes {
                let mut client = node.client();
                let info = client
                    .text(&["CLUSTER", "INFO"])
                    .map_err(|e| e.to_string())?;
                if !info.contains("cluster_state:ok") {
                    return Err(format!("{}: not ok yet", node.port));
                }
                let repl = client
                    .text(&["INFO", "replication"])
                    .map_err(|e| e.to_string())?;
                let nodes = client
                    .text(&["CLUSTER", "NODES"])
                    .map_err(|e| e.to_string())?;
                let known = nodes
                    .lines()
                    .filter(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("slave")))
                    .count();
                if known < replicas * self.spec.masters {
                    return Err(format!("{}: replicas not known yet", node.port));
                }
                if repl.contains("role:master") && repl.matches("state=online").count() < replicas {
                    return Err(format!("{}: replicas not online", node.port));
                }
            }
            Ok(())
        });
    }

    /// The ports of the current masters, as node 0 sees them.
    pub fn master_ports(&self) -> Vec<u16> {
        let nodes = self.nodes[0]
            .client()
            .text(&["CLUSTER", "NODES"])
            .expect("cluster nodes");
        nodes
            .lines()
            .filter(|line| {
                line.split(' ')
                    .nth(2)
                    .is_some_and(|flags| flags.contains("master") && !flags.contains("fail"))
            })
            .filter_map(|line| {
                line.split(' ')
                    .nth(1)?
                    .split('@')
                    .next()?
                    .rsplit(':')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    }

    /// The ports of every node that is not in `masters` (the replicas, given the masters).
    pub fn other_ports(&self, masters: &[u16]) -> Vec<u16> {
        let ports = self.nodes.iter().map(|n| n.port);
        ports.filter(|p| !masters.contains(p)).collect()
    }

    /// The node listening on `port`.
    pub fn node_mut(&mut self, port: u16) -> &mut RedisServer {
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("no node on that port")
    }

    /// Runs `redis-cli --cluster check` against the first node; Ok with its output when it
    /// reports agreement and full coverage.
    pub fn check(&self) -> Result<String, String> {
        let mut cmd = Command::new("redis-cli");
        cmd.args([
            "--cluster",
            "check",
            &format!("127.0.0.1:{}", self.nodes[0].port),
        ]);
        if let Some(password) = &self.spec.password {
            cmd.args(["-a", password, "--no-auth-warning"]);
        }
        let out = cmd.output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success()
            && text.contains("[OK] All nodes agree")
            && text.contains("[OK] All 16384 slots covered")
        {
            Ok(text)
        } else {
            Err(text)
        }
    }
}
