//! The reply queue: one entry per client request, in request order. An entry is either
//! done (its reply bytes) or waiting for its parts' backend replies; replies leave the queue
//! strictly from the front, so a client always reads them in the order it asked.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use slotgate_protocol::Slot;

use crate::backend::Proto;
use crate::cluster::Routes;
use crate::merge::Merger;

/// Where a part goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The master owning the slot, per the current routes.
    Slot(Slot),
    /// A read: a replica of the slot's master when the read policy picks one, else the
    /// master (`crate::router::ReadFrom`).
    Read(Slot),
    /// Any master (keyless commands).
    Any,
    /// The master subscriptions use (PUBLISH, PUBSUB; `Routes::pubsub_home`).
    PubSubHome,
    /// This node's shared connections (after MOVED, or one part per master).
    Node(Arc<str>),
    /// The session's own connection to this node (transactions, blocking commands).
    Private(Arc<str>),
}

/// One backend request of an entry.
#[derive(Debug)]
pub struct Part {
    /// The encoded request, kept for retries.
    pub payload: Bytes,
    pub route: Route,
    /// Send `ASKING` first (after an ASK).
    pub asking: bool,
    /// Redirections and retries so far.
    pub attempts: u8,
    pub reply: Option<Bytes>,
}

impl Part {
    pub fn new(payload: Bytes, route: Route) -> Part {
        Part {
            payload,
            route,
            asking: false,
            attempts: 0,
            reply: None,
        }
    }
}

/// A request still waiting for backend replies.
#[derive(Debug)]
pub struct Work {
    pub first: Part,
    pub rest: Vec<Part>,
    pub remaining: usize,
    pub merger: Merger,
    /// Whether MOVED/ASK/TRYAGAIN replies are followed (not inside a transaction).
    pub redirectable: bool,
    /// When the request fails with a timeout; `None` for blocking commands.
    pub deadline: Option<Instant>,
    /// Its reply is not written (`CLIENT REPLY OFF` / `SKIP`).
    pub silent: bool,
}

impl Work {
    pub fn new(
        parts: impl IntoIterator<Item = Part>,
        merger: Merger,
        deadline: Option<Instant>,
    ) -> Option<Work> {
        let mut parts = parts.into_iter();
        let first = parts.next()?;
        let rest: Vec<Part> = parts.collect();
        Some(Work {
            remaining: rest.len() + 1,
            first,
            rest,
            merger,
            redirectable: true,
            deadline,
            silent: false,
        })
    }

    pub fn part_count(&self) -> usize {
        self.rest.len() + 1
    }

    /// Every part, in order.
    pub fn parts(&self) -> impl Iterator<Item = &Part> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    pub fn part_mut(&mut self, index: u32) -> Option<&mut Part> {
        match index {
            0 => Some(&mut self.first),
            n => self.rest.get_mut(n as usize - 1),
        }
    }

    /// Records a part's final reply; the merged reply once every part has one.
    pub fn complete(&mut self, index: u32, reply: Bytes, proto: Proto) -> Option<Bytes> {
        if index == 0 && self.remaining == 1 && self.rest.is_empty() && self.merger == Merger::Pass
        {
            // One part passed through: its reply is the answer.
            self.remaining = 0;
            return Some(reply);
        }
        let part = self.part_mut(index)?;
        if part.reply.is_some() {
            return None;
        }
        part.reply = Some(reply);
        self.remaining -= 1;
        if self.remaining > 0 {
            return None;
        }
        let replies = std::iter::once(&mut self.first)
            .chain(self.rest.iter_mut())
            .map(|p| p.reply.take().unwrap_or_default())
            .collect();
        Some(self.merger.merge(replies, proto))
    }
}

#[derive(Debug)]
pub enum Entry {
    Done(Bytes),
    Waiting(Work),
}

/// What metrics and the slow-command log know of an entry.
#[derive(Debug)]
struct Label {
    command: &'static str,
    /// When it was read and dispatched.
    arrived: Instant,
    /// When its reply was ready (its last part answered); `None` for replies the proxy made
    /// at once. The slow-command log measures `arrived → ready`: the command's own
    /// execution, not the wait behind earlier replies to the same client.
    ready: Option<Instant>,
    /// Where its first part went (moved out of its work when it finished); `None` for
    /// replies the proxy made itself.
    route: Option<Route>,
}

/// The queue; entries are addressed by sequence number.
#[derive(Debug, Default)]
pub struct ReplyQueue {
    /// The time of the session's current turn (see [`Self::set_clock`]): arrivals, ready
    /// times and latencies read this instead of the clock, once per turn, not per request.
    clock: Option<Instant>,
    entries: VecDeque<Entry>,
    /// Sequence number of the front entry.
    front: u64,
    /// The command the next pushed entry answers, and when it arrived (see [`Self::label`]).
    next_label: Option<Label>,
    /// Each entry's label, for `slotgate_commands_total`, latency and the slow-command log.
    labels: VecDeque<Option<Label>>,
    /// The next pushed entry's reply is not written (see [`Self::silence_next`]).
    next_silent: bool,
}

impl ReplyQueue {
    /// Sets the time of the session's current turn.
    pub fn set_clock(&mut self, now: Instant) {
        self.clock = Some(now);
    }

    /// The time of the current turn (the clock itself before the first turn).
    pub fn now(&self) -> Instant {
        self.clock.unwrap_or_else(Instant::now)
    }

    /// Appends an entry and returns its sequence number.
    pub fn push(&mut self, entry: Entry) -> u64 {
        let entry = match (std::mem::take(&mut self.next_silent), entry) {
            (false, entry) => entry,
            (true, Entry::Done(_)) => Entry::Done(Bytes::new()),
            (true, Entry::Waiting(mut work)) => {
                work.silent = true;
                Entry::Waiting(work)
            }
        };
        self.entries.push_back(entry);
        self.labels.push_back(self.next_label.take());
        self.front + self.entries.len() as u64 - 1
    }

    /// The next pushed entry answers a request whose reply the client turned off: it still
    /// runs and counts, but nothing is written for it.
    pub fn silence_next(&mut self) {
        self.next_silent = true;
    }

    /// Names the command the next pushed entry answers (for metrics).
    pub fn label(&mut self, command: &'static str) {
        self.next_label = Some(Label {
            command,
            arrived: self.now(),
            ready: None,
            route: None,
        });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the front entry waits for a reply that should come soon: a request on a
    /// connection with a deadline (not a blocking command).
    pub fn front_in_flight(&self) -> bool {
        matches!(self.entries.front(), Some(Entry::Waiting(work)) if work.deadline.is_some())
    }

    /// The waiting entry `seq`, if it is still queued and waiting.
    pub fn work_mut(&mut self, seq: u64) -> Option<&mut Work> {
        let index = usize::try_from(seq.checked_sub(self.front)?).ok()?;
        match self.entries.get_mut(index)? {
            Entry::Waiting(work) => Some(work),
            Entry::Done(_) => None,
        }
    }

    /// Marks entry `seq` done with `reply`.
    pub fn finish(&mut self, seq: u64, reply: Bytes) {
        let Some(index) = seq
            .checked_sub(self.front)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return;
        };
        let Some(entry) = self.entries.get_mut(index) else {
            return;
        };
        if let Entry::Waiting(work) = std::mem::replace(entry, Entry::Done(reply)) {
            if work.silent {
                *entry = Entry::Done(Bytes::new());
            }
            if let Some(Some(label)) = self.labels.get_mut(index) {
                label.route = Some(work.first.route);
                label.ready = Some(self.clock.unwrap_or_else(Instant::now));
            }
        }
    }

    /// Moves every done entry at the front into `out`, recording each command's latency
    /// (arrival → reply written) and logging those whose execution took longer than `slow`
    /// (their node as `routes` name it).
    pub fn flush(&mut self, out: &mut BytesMut, slow: Duration, routes: &Routes) {
        let now = self.now();
        while let Some(Entry::Done(reply)) = self.entries.front() {
            out.extend_from_slice(reply);
            if let Some(label) = self.labels.pop_front().flatten() {
                let ok = !matches!(reply.first(), Some(b'-' | b'!'));
                let took = now.saturating_duration_since(label.arrived);
                crate::metrics::metrics().command_done(label.command, ok, took.as_secs_f64());
                let ran = label
                    .ready
                    .map(|r| r.saturating_duration_since(label.arrived));
                if let Some(ran) = ran.filter(|ran| *ran > slow) {
                    slow_command(&label, ran, routes);
                }
            }
            self.entries.pop_front();
            self.front += 1;
        }
    }

    /// The sequence numbers of waiting entries whose deadline has passed, front first,
    /// stopping at the first one still in time.
    pub fn expired(&self, now: Instant) -> Vec<u64> {
        let mut out = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            match entry {
                Entry::Waiting(work) => match work.deadline {
                    Some(deadline) if deadline <= now => out.push(self.front + i as u64),
                    Some(_) => break,
                    None => {}
                },
                Entry::Done(_) => {}
            }
        }
        out
    }
}

/// Logs a command slower than the threshold (never its arguments) and counts it.
#[cold]
fn slow_command(label: &Label, took: Duration, routes: &Routes) {
    let node: &str = match &label.route {
        Some(Route::Slot(slot) | Route::Read(slot)) => {
            routes.owner(*slot).map_or("-", |node| &node.addr)
        }
        Some(Route::Node(addr) | Route::Private(addr)) => addr,
        Some(Route::Any) => "any master",
        Some(Route::PubSubHome) => routes.pubsub_home().map_or("-", |node| &node.addr),
        None => "proxy",
    };
    tracing::warn!(
        command = label.command,
        node,
        duration_ms = (took.as_secs_f64() * 1e6).round() / 1e3,
        "slow command"
    );
    crate::metrics::metrics().slow_command(label.command);
}
