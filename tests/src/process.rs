//! Child processes owned by a test: spawned with their output captured to a log file, and
//! killed by PID when dropped, so a failing test never leaves servers behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running process that is killed (SIGKILL, by PID) and reaped when dropped.
pub struct Child {
    inner: std::process::Child,
    name: String,
    log: PathBuf,
}

impl Child {
    /// Spawns `program args…` with stdout and stderr appended to `log`.
    pub fn spawn(
        program: impl AsRef<Path>,
        args: &[String],
        log: PathBuf,
    ) -> std::io::Result<Child> {
        let program = program.as_ref();
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let inner = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Child {
            inner,
            name: program.display().to_string(),
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.inner.id()
    }

    /// Sends a signal by PID (`"STOP"`, `"CONT"`, `"TERM"`, `"INT"`, `"KILL"`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
        assert!(
            status.map(|s| s.success()).unwrap_or(false),
            "kill -{signal} {} failed",
            self.pid()
        );
    }

    /// Waits for the process to exit on its own (after a signal), up to `timeout`.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.inner.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// The process's captured output so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.inner.kill();
        let _ = self.inner.wait();
    }
}

/// The directory of the running test binary's build profile (`target/<profile>`), where
/// cargo puts the workspace's binaries.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// Path of one of our binaries (`slotgate`, `slotgate-node`), overridable with
/// `SLOTGATE_BIN_DIR`.
pub fn our_binary(name: &str) -> PathBuf {
    let dir = std::env::var_os("SLOTGATE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(profile_dir);
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built: run the tests with `cargo nextest run --workspace` (builds every binary)",
        path.display()
    );
    path
}

/// A fresh, empty scratch directory for one test. The first call in a test process also
/// removes the scratch directories of earlier test processes that have exited, so repeated
/// runs do not fill the disk (a failing test's directory survives until the next run).
pub fn scratch_dir(label: &str) -> PathBuf {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(remove_exited_scratch_dirs);
    let dir = std::env::temp_dir().join(format!(
        "slotgate-{label}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Removes `slotgate-<label>-<pid>-<n>` directories in the temp dir whose process is gone.
fn remove_exited_scratch_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("slotgate-") else {
            continue;
        };
        let mut parts = rest.rsplitn(3, '-');
        let (Some(_), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
