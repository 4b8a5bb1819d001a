//! Waiting for convergence: poll a condition until it holds or a deadline passes.

use std::time::{Duration, Instant};

/// Polls `check` every 50 ms until it returns `Ok`, or panics with the last error after
/// `timeout`. Returns the successful value.
pub fn eventually<T, E: std::fmt::Debug>(
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(value) => return value,
            Err(err) if Instant::now() >= deadline => {
                panic!("not true within {timeout:?}: {err:?}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
