//! [`Background`]: a thread that works until told to stop — a load generator, a sampler —
//! and hands back what it gathered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running background thread; [`Background::finish`] stops it and returns its result.
/// Dropped unfinished (a failing test), it is stopped and joined all the same.
pub struct Background<T> {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Background<T> {
    /// Runs `work` on a new thread; `work` should return soon after its flag turns true.
    pub fn spawn(work: impl FnOnce(&AtomicBool) -> T + Send + 'static) -> Background<T> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || work(&flag));
        Background {
            stop,
            thread: Some(thread),
        }
    }

    /// Raises the stop flag, waits for the thread and returns its result (re-raising its
    /// panic).
    pub fn finish(mut self) -> T {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self
            .thread
            .take()
            .expect("a background thread is finished once");
        match thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
