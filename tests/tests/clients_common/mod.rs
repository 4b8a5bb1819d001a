//! Running a client-library suite (a Python or Node script under `tests/clients/`) as a
//! child process with a deadline, and failing the test with its whole output when it fails.

use std::path::PathBuf;
use std::time::Duration;

use slotgate_tests::process::{scratch_dir, Child};

/// The path of a script under `tests/clients/`, e.g. `"python/proxy_suite.py"`.
pub fn script(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("clients")
        .join(relative)
}

/// Runs `program script args…` (e.g. `python3 python/proxy_suite.py 7000`), waits up to
/// `timeout`, and panics with the script's output unless it exits 0. Returns the output.
pub fn run_suite(program: &str, relative: &str, args: &[String], timeout: Duration) -> String {
    let path = script(relative);
    let mut argv = vec![path.display().to_string()];
    argv.extend(args.iter().cloned());
    let log = scratch_dir("client-suite").join("output.log");
    let mut child = Child::spawn(program, &argv, log).expect("spawn client suite");
    let status = child.wait_exit(timeout);
    let output = child.log();
    match status {
        Some(status) if status.success() => {
            println!("{program} {relative} {args:?}:\n{output}");
            output
        }
        Some(status) => panic!("{program} {relative} {args:?} failed ({status}):\n{output}"),
        None => panic!("{program} {relative} {args:?} still running after {timeout:?}:\n{output}"),
    }
}
