//! Starting our proxy, `slotgate`, in front of a cluster: a generated TOML config on a free
//! port, the built binary, and a wait until it serves every slot.

use std::path::PathBuf;
use std::time::Duration;

use crate::client::{frame_text, Client};
use crate::eventually::eventually;
use crate::ports::free_port;
use crate::process::{our_binary, scratch_dir, Child};

/// A running `slotgate` process (killed by PID when dropped).
pub struct Slotgate {
    pub port: u16,
    pub config: PathBuf,
    child: Child,
}

impl Slotgate {
    /// Starts slotgate with `seeds` (node ports) as its seed list, `[proxy]` keys
    /// `proxy_extra` and `[cluster]` keys `cluster_extra` (TOML lines), and waits until a
    /// keyed command works through it.
    pub fn start(seeds: &[u16], proxy_extra: &str, cluster_extra: &str) -> Slotgate {
        let proxy = Slotgate::spawn(free_port(), seeds, proxy_extra, cluster_extra);
        let password = proxy_extra
            .lines()
            .find_map(|l| l.strip_prefix("password = "))
            .map(|p| p.trim_matches('"').to_owned());
        eventually(Duration::from_secs(20), || -> Result<(), String> {
            let mut client =
                Client::connect_auth(proxy.port, password.as_deref()).map_err(|e| e.to_string())?;
            match client
                .cmd(&["EXISTS", "slotgate-probe"])
                .map(|f| frame_text(&f))
            {
                Ok(text) if !text.starts_with('-') => Ok(()),
                other => Err(format!("{other:?}\n{}", proxy.child.log())),
            }
        });
        proxy
    }

    /// Spawns slotgate on `port` (like [`Slotgate::start`]) without waiting for anything.
    pub fn spawn(port: u16, seeds: &[u16], proxy_extra: &str, cluster_extra: &str) -> Slotgate {
        let dir = scratch_dir(&format!("slotgate{port}"));
        let seeds: Vec<String> = seeds.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
        let text = format!(
            "[proxy]\nlisten = \"127.0.0.1:{port}\"\n{proxy_extra}\n[cluster]\nseeds = [{}]\n{cluster_extra}\n",
            seeds.join(", ")
        );
        let config = dir.join("slotgate.toml");
        std::fs::write(&config, text).expect("write slotgate.toml");
        let args = vec!["--config".to_owned(), config.display().to_string()];
        let child = Child::spawn(our_binary("slotgate"), &args, dir.join("slotgate.log"))
            .expect("spawn slotgate");
        Slotgate {
            port,
            config,
            child,
        }
    }

    /// A new client connection.
    pub fn client(&self) -> Client {
        Client::connect(self.port).expect("connect to slotgate")
    }

    pub fn child(&self) -> &Child {
        &self.child
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}
