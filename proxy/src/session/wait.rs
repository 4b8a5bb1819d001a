//! WAIT through the proxy, without holding anyone else's traffic.
//!
//! Redis's WAIT counts the replicas that acknowledged the replication offset of the
//! *connection's* last write. The client's writes travel on shared connections, where a
//! forwarded WAIT would stall every other client of that connection for its timeout, so the
//! proxy does the waiting itself:
//!
//! 1. the session remembers the slot of the client's last single-slot write;
//! 2. WAIT sends `INFO replication` to that slot's master on the *same* shared connection
//!    the writes took, so it runs after them (replies are FIFO) and its
//!    `master_repl_offset` covers them — that offset is the target;
//! 3. it polls `INFO replication` on that connection every [`POLL`] until `numreplicas`
//!    online replicas report an offset at or past the target, or the WAIT's timeout passes
//!    (`0`: no timeout), and answers the number of replicas that had acknowledged.
//!
//! A client that wrote nothing asks any master with target offset 0 (every online replica
//! counts, as on a fresh Redis connection). Replicas report their offset about once a
//! second, so a WAIT that must wait answers within about a second rather than a round trip.

use std::time::{Duration, Instant};

use bytes::Bytes;
use slotgate_protocol::Slot;

use super::queue::{Part, Route};
use super::Session;
use crate::backend::Tag;
use crate::error::ProxyError;
use crate::merge::Merger;

/// How often a waiting WAIT asks the master again.
const POLL: Duration = Duration::from_millis(10);

const INFO_REPLICATION: [&[u8]; 2] = [b"INFO", b"replication"];

impl Session {
    /// Notes a write to `slot`, the shard a later WAIT asks about.
    pub(super) fn wrote(&mut self, slot: Slot) {
        self.last_write = Some(slot);
    }

    /// `WAIT numreplicas timeout`.
    pub(super) fn wait(&mut self, args: &[Bytes]) {
        let number = |arg: &Bytes| std::str::from_utf8(arg).ok()?.parse::<i64>().ok();
        let Some(replicas) = number(&args[1]) else {
            return self.reply_err(ProxyError::Other(
                "value is not an integer or out of range".to_owned(),
            ));
        };
        let timeout = match number(&args[2]) {
            Some(ms) if ms < 0 => {
                return self.reply_err(ProxyError::Other("timeout is negative".to_owned()))
            }
            Some(ms) => ms,
            None => {
                return self.reply_err(ProxyError::Other(
                    "timeout is not an integer or out of range".to_owned(),
                ))
            }
        };
        let until = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
        let (route, target) = match self.last_write {
            Some(slot) => (Route::Slot(slot), None),
            None => (Route::Any, Some(0)),
        };
        let payload = self.encode(&INFO_REPLICATION);
        let wait = Merger::Wait {
            replicas,
            until,
            target,
        };
        self.start([Part::new(payload, route)], wait, None, true);
    }

    /// One `INFO replication` reply for the WAIT `tag` belongs to: answer, or ask again.
    pub(super) fn wait_progress(&mut self, tag: Tag, reply: Bytes) {
        let Some(Merger::Wait {
            replicas: wanted,
            until,
            target,
        }) = self.queue.work_mut(tag.seq).map(|w| &mut w.merger)
        else {
            return;
        };
        let Some(info) = std::str::from_utf8(&reply)
            .ok()
            .filter(|_| reply.first() == Some(&b'$'))
        else {
            // An error (or anything unexpected) is the WAIT's answer.
            return self.queue.finish(tag.seq, reply);
        };
        let (offset, replicas) = replication(info);
        let target = *target.get_or_insert(offset);
        let acked = replicas.iter().filter(|&&o| o >= target).count() as i64;
        let now = Instant::now();
        if acked >= *wanted || until.is_some_and(|until| until <= now) {
            let answer = Bytes::from(format!(":{acked}\r\n"));
            return self.queue.finish(tag.seq, answer);
        }
        self.retries.push((now + POLL, tag));
    }
}

/// `master_repl_offset` and the offset of every online replica, from `INFO replication`.
fn replication(info: &str) -> (u64, Vec<u64>) {
    let mut offset = 0;
    let mut replicas = Vec::new();
    for line in info.lines() {
        if let Some(value) = line.strip_prefix("master_repl_offset:") {
            offset = value.trim().parse().unwrap_or(0);
        } else if line.starts_with("slave") && line.contains("state=online") {
            let acked = line
                .split([':', ','])
                .find_map(|field| field.strip_prefix("offset="))
                .and_then(|o| o.trim().parse::<u64>().ok());
            replicas.extend(acked);
        }
    }
    (offset, replicas)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_offsets() {
        let info = "$200\r\n# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
            slave0:ip=127.0.0.1,port=7001,state=online,offset=120,lag=0\r\n\
            slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0\r\n\
            master_repl_offset:150\r\n";
        assert_eq!(super::replication(info), (150, vec![120]));
    }
}
