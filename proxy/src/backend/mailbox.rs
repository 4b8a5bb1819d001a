//! A many-senders, one-receiver queue for a task's input: sessions' jobs to a backend
//! connection, and backend replies to a session.
//!
//! It does less than a channel, and so costs less per item on the data path: a send is one
//! uncontended lock and a push, and only the send that finds the box empty wakes the
//! receiver; the receiver takes everything queued at once by swapping its (drained) vector
//! with the box's, so in steady state nothing is allocated (a vector grown by a burst is
//! let go once it comes back empty).

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The sending side; cheap to clone.
#[derive(Debug)]
pub struct Mailbox<T> {
    shared: Arc<Mutex<State<T>>>,
}

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Mailbox {
            shared: self.shared.clone(),
        }
    }
}

/// The receiving side.
#[derive(Debug)]
pub struct Receiver<T> {
    shared: Arc<Mutex<State<T>>>,
}

#[derive(Debug)]
struct State<T> {
    items: Vec<T>,
    /// The receiver, waiting for the box to fill.
    waker: Option<Waker>,
    /// No more items will come ([`Mailbox::close`]).
    closed: bool,
    /// The receiver is gone: sends fail.
    orphaned: bool,
}

/// A new, empty mailbox.
pub fn mailbox<T>() -> (Mailbox<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        items: Vec::new(),
        waker: None,
        closed: false,
        orphaned: false,
    }));
    (
        Mailbox {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

fn lock<T>(shared: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> Mailbox<T> {
    /// Queues `item`; hands it back if the receiver is gone.
    pub fn send(&self, item: T) -> Result<(), T> {
        let waker = {
            let mut state = lock(&self.shared);
            if state.orphaned {
                return Err(item);
            }
            state.items.push(item);
            if state.items.len() == 1 {
                state.waker.take()
            } else {
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Tells the receiver that nothing more will come: once it has taken what is queued,
    /// [`Receiver::recv_all`] returns 0.
    pub fn close(&self) {
        let waker = {
            let mut state = lock(&self.shared);
            state.closed = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Waits until something is queued and moves all of it into `out` (pass it empty: the
    /// two vectors are swapped); returns how many items came, 0 once the box is closed and
    /// empty.
    pub async fn recv_all(&mut self, out: &mut Vec<T>) -> usize {
        poll_fn(|cx| self.poll_recv_all(cx, out)).await
    }

    fn poll_recv_all(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<usize> {
        let mut state = lock(&self.shared);
        let taken = take(&mut state, out);
        if taken > 0 || state.closed {
            return Poll::Ready(taken);
        }
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Moves whatever is queued now into `out`, without waiting; returns how many items.
    pub fn try_recv_all(&mut self, out: &mut Vec<T>) -> usize {
        take(&mut lock(&self.shared), out)
    }
}

/// The most items an empty box keeps room for: a burst (a deep pipeline's replies) does
/// not pin its memory afterwards.
const KEEP_CAPACITY: usize = 1024;

fn take<T>(state: &mut State<T>, out: &mut Vec<T>) -> usize {
    let taken = state.items.len();
    if out.is_empty() {
        std::mem::swap(out, &mut state.items);
    } else {
        out.append(&mut state.items);
    }
    if state.items.capacity() > KEEP_CAPACITY {
        state.items = Vec::new();
    }
    taken
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let left = {
            let mut state = lock(&self.shared);
            state.orphaned = true;
            state.waker = None;
            std::mem::take(&mut state.items)
        };
        // Dropped outside the lock: an item may own another mailbox's sender.
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_arrive_in_order_and_all_at_once() {
        let (tx, mut rx) = mailbox();
        let mut out = Vec::new();
        assert_eq!(rx.try_recv_all(&mut out), 0);
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.recv_all(&mut out).await, 5);
        assert_eq!(out, [0, 1, 2, 3, 4]);
        tx.send(5).unwrap();
        assert_eq!(rx.try_recv_all(&mut out), 1);
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_send_from_another_task() {
        let (tx, mut rx) = mailbox();
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send("hello").unwrap();
            tx
        });
        let mut out = Vec::new();
        assert_eq!(rx.recv_all(&mut out).await, 1);
        assert_eq!(out, ["hello"]);
        let tx = sender.await.unwrap();
        tx.close();
        out.clear();
        assert_eq!(rx.recv_all(&mut out).await, 0);
    }

    #[test]
    fn a_burst_does_not_pin_its_memory() {
        let (tx, mut rx) = mailbox();
        let mut out = Vec::new();
        for i in 0..10 * KEEP_CAPACITY {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.try_recv_all(&mut out), 10 * KEEP_CAPACITY);
        out.clear();
        tx.send(0).unwrap();
        // The drained burst vector goes back into the box and is let go there.
        assert_eq!(rx.try_recv_all(&mut out), 1);
        assert!(lock(&tx.shared).items.capacity() <= KEEP_CAPACITY);
    }

    #[test]
    fn sends_fail_once_the_receiver_is_gone() {
        let (tx, rx) = mailbox();
        tx.send(1).unwrap();
        drop(rx);
        assert_eq!(tx.send(2), Err(2));
    }
}
