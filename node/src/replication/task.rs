//! The replication tasks, started once with the server: the supervisor, which keeps a link
//! to the configured master (reconnecting with backoff, switching when the master changes),
//! and the periodic work — answering WAITs that are done or out of time, pinging replicas
//! every `repl-ping-replica-period`, applying `repl-backlog-size`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{link, record, wait, LinkState};
use crate::config::ClientClass;
use crate::state::{now_ms, Shared, State};

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// A link that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(5);

/// Restores the replication record, then runs the periodic work and the supervisor.
pub async fn run(shared: Arc<Shared>) {
    record::restore(&mut shared.state.lock());
    tokio::spawn(periodic(shared.clone()));
    supervise(&shared).await;
}

/// Keeps a link to the current master while there is one.
async fn supervise(shared: &Shared) {
    let mut changes = shared.state.lock().repl.subscribe();
    let mut backoff = MIN_BACKOFF;
    loop {
        let (target, generation) = {
            let state = shared.state.lock();
            (state.repl.master.clone(), state.repl.generation())
        };
        changes.borrow_and_update();
        let Some(target) = target else {
            if changes.changed().await.is_err() {
                return;
            }
            continue;
        };
        let started = Instant::now();
        let ended = tokio::select! {
            reason = link::run(shared, &target, generation) => Some(reason),
            _ = changes.changed() => None,
        };
        let Some(reason) = ended else {
            backoff = MIN_BACKOFF;
            continue;
        };
        tracing::warn!("Link with MASTER {}:{}: {reason}", target.host, target.port);
        link_down(shared, generation);
        if started.elapsed() >= STABLE {
            backoff = MIN_BACKOFF;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = changes.changed() => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn link_down(shared: &Shared, generation: u64) {
    let mut state = shared.state.lock();
    let repl = &mut state.repl;
    if repl.generation() == generation && repl.link.state != LinkState::Connect {
        repl.link.state = LinkState::Connect;
        repl.link.last_io = None;
        repl.link.down_since = Instant::now();
    }
}

/// The periodic work: every 100 ms, sooner when a WAIT deadline is nearer.
async fn periodic(shared: Arc<Shared>) {
    let mut last_ping = Instant::now();
    loop {
        let next = tick(&mut shared.state.lock(), &mut last_ping);
        tokio::time::sleep(next).await;
    }
}

fn tick(state: &mut State, last_ping: &mut Instant) -> Duration {
    wait::serve(state);
    let size = state.config.get_int("repl-backlog-size");
    let limit = state.config.output_limit(ClientClass::Replica).hard as i64;
    state.repl.stream.lock().configure(size, limit);
    let period =
        Duration::from_secs(state.config.get_int("repl-ping-replica-period").max(1) as u64);
    // As Redis, no PING while a manual failover pauses writes: it would move the offset
    // past the one the replica was told to reach, and the failover would never start.
    let failing_over = crate::cluster::failover::pausing_writes(state, now_ms());
    let repl = &mut state.repl;
    let due = last_ping.elapsed() >= period && !failing_over;
    if !repl.is_replica() && !repl.replicas.is_empty() && due {
        repl.stream.feed(None, &["PING"]);
        *last_ping = Instant::now();
    }
    let until_deadline = wait::next_deadline(state).map(|at| (at - now_ms()).max(1) as u64);
    Duration::from_millis(until_deadline.map_or(100, |ms| ms.min(100)))
}
