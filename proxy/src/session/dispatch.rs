//! Requests → parts → backends, and back: routing each request by its [`Plan`], splitting
//! fan-out commands by slot, sending every part to its node, and completing parts as
//! replies arrive — following MOVED and ASK, retrying TRYAGAIN, CLUSTERDOWN and failed
//! connects with backoff, and failing requests past their deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use slotgate_protocol::redirect::ClusterError;
use slotgate_protocol::{key_slot, Frame, Slot};

use super::queue::{Entry, Part, Route, Work};
use super::{Replies, Session};
use crate::backend::{Backend, BackendError, Job, Reply, Tag};
use crate::error::ProxyError;
use crate::merge::Merger;
use crate::redirect::classify;
use crate::router::{self, FanOut, Merge, Pin, Plan, ReadFrom};

/// Commands a client may send before authenticating.
const BEFORE_AUTH: &[&str] = &["auth", "hello", "quit", "reset"];

impl Session {
    /// Routes one request and queues its reply (or its parts); `raw` is the request as the client sent it, when that is canonical RESP.
    pub(super) fn on_request(&mut self, args: &[Bytes], raw: Option<Bytes>) {
        let routed = router::plan(args);
        let name = routed.name;
        self.queue.label(name);
        // CLIENT REPLY decides about its own reply.
        if self.client.replies != Replies::On && name != "client|reply" {
            if self.client.replies == Replies::SkipNext {
                self.client.replies = Replies::On;
            }
            self.queue.silence_next();
        }
        let must_auth = !self.client.authed && self.config.proxy.password.is_some();
        if must_auth && !BEFORE_AUTH.contains(&name) {
            return self.reply_err(ProxyError::NoAuth);
        }
        let runs_in_multi = matches!(
            name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        );
        if self.tx.is_some() && !runs_in_multi {
            return self.queue_in_tx(routed.plan, name, args);
        }
        if self.in_subscribed_mode() && !pubsub_allowed(name) {
            let text = format!("Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return self.reply_err(ProxyError::Other(text));
        }
        match routed.plan {
            Plan::Local => self.local(name, args),
            Plan::Slot(slot) => {
                if routed.write {
                    self.wrote(slot);
                }
                self.single(self.slot_route(slot, routed.read), args, raw)
            }
            Plan::AnyMaster => self.single(Route::Any, args, raw),
            Plan::PubSubHome => self.single(Route::PubSubHome, args, raw),
            Plan::FanOut(kind) => self.fan_out(kind, routed.read, args),
            Plan::AllMasters(Merge::Scan) => self.scan(args),
            Plan::AllMasters(merge) => self.all_masters(merger_for(merge), args),
            Plan::Pinned(Pin::Transaction, slot) => self.transaction(name, slot, args),
            Plan::Pinned(Pin::Blocking, slot) => self.blocking(slot, args),
            Plan::Pinned(Pin::Subscribe, slot) => self.subscribe(args, slot),
            Plan::Pinned(Pin::Wait, _) => self.wait(args),
            Plan::Fail(err) => self.reply_err(err),
        }
    }

    /// Where a request for `slot` goes: a read may go to a replica, per the read policy.
    fn slot_route(&self, slot: Slot, read: bool) -> Route {
        if read && self.config.cluster.read_from != ReadFrom::Master {
            Route::Read(slot)
        } else {
            Route::Slot(slot)
        }
    }

    /// One part, forwarded as is: the bytes the client sent when they are canonical RESP
    /// (`raw`), else re-encoded.
    fn single(&mut self, route: Route, args: &[Bytes], raw: Option<Bytes>) {
        let payload = raw.unwrap_or_else(|| self.encode(args));
        let deadline = Some(self.deadline);
        self.start([Part::new(payload, route)], Merger::Pass, deadline, true);
    }

    /// Queues a waiting entry and sends every part.
    pub(super) fn start(
        &mut self,
        parts: impl IntoIterator<Item = Part>,
        merger: Merger,
        deadline: Option<Instant>,
        redirectable: bool,
    ) {
        let Some(mut work) = Work::new(parts, merger, deadline) else {
            return self.reply_err(ProxyError::SlotNotServed);
        };
        work.redirectable = redirectable;
        let count = work.part_count() as u32;
        if count > 1 {
            crate::metrics::metrics().fanout_parts(count as usize);
        }
        let seq = self.queue.push(Entry::Waiting(work));
        for part in 0..count {
            self.send(Tag { seq, part });
        }
    }

    /// Sends (or re-sends) one part to the backend its route names now, or completes it
    /// with an error at once when no node serves it or its node is down.
    pub(super) fn send(&mut self, tag: Tag) {
        let Some(part) = self
            .queue
            .work_mut(tag.seq)
            .and_then(|w| w.part_mut(tag.part))
        else {
            return;
        };
        let job = Job {
            payload: part.payload.clone(),
            asking: part.asking,
            tag,
            inbox: self.inbox.clone(),
        };
        let route = part.route.clone();
        if let Err(err) = self.send_on(&route, job) {
            self.complete(tag, err.reply());
        }
    }

    /// Queues `job` on the connection a part on `route` goes to now.
    fn send_on(&mut self, route: &Route, job: Job) -> Result<(), ProxyError> {
        let (proto, id) = (self.client.proto, self.id);
        let node = match route {
            Route::Slot(slot) => self.routes.owner(*slot),
            Route::Read(slot) => {
                let replicas = self.routes.replicas(*slot);
                let health = &self.proxy.health;
                let states = replicas.iter().map(|r| health.state(&r.addr));
                let policy = self.config.cluster.read_from;
                match policy.pick(states, id).and_then(|i| replicas.get(i)) {
                    Some(replica) => {
                        replica.pick(proto, id).send(job);
                        return Ok(());
                    }
                    None => self.routes.owner(*slot),
                }
            }
            Route::Any => {
                let masters = self.routes.masters();
                masters.get(id as usize % masters.len().max(1))
            }
            Route::PubSubHome => self.routes.pubsub_home(),
            Route::Node(addr) => {
                self.check_up(addr)?;
                self.proxy
                    .cluster
                    .pool()
                    .node(addr)
                    .pick(proto, id)
                    .send(job);
                return Ok(());
            }
            Route::Private(addr) => {
                self.check_up(addr)?;
                self.private_backend(addr).send(job);
                return Ok(());
            }
        };
        let node = node.ok_or(ProxyError::SlotNotServed)?;
        self.check_up(&node.addr)?;
        node.pick(proto, id).send(job);
        Ok(())
    }

    /// Fails fast when the health checks say `addr` is down, and asks for a topology
    /// refresh (a replica may have taken over).
    fn check_up(&self, addr: &str) -> Result<(), ProxyError> {
        if !self.proxy.health.is_down(addr) {
            return Ok(());
        }
        self.proxy.cluster.refresh_soon(None);
        Err(ProxyError::NodeDown(addr.to_owned()))
    }

    /// A backend's reply (or failure) for one part.
    pub(super) fn on_reply(&mut self, reply: Reply) {
        let tag = reply.tag;
        let max = self.config.cluster.max_redirects;
        let Some(work) = self.queue.work_mut(tag.seq) else {
            return;
        };
        let redirectable = work.redirectable;
        let Some(part) = work.part_mut(tag.part) else {
            return;
        };
        if let Route::Read(slot) = part.route {
            if replica_failed(&reply.result) {
                // Reads are safe to repeat: the shard's master answers instead.
                part.route = Route::Slot(slot);
                return self.send(tag);
            }
        }
        let bytes = match reply.result {
            Ok(bytes) => bytes,
            Err(BackendError::NotSent) if redirectable => {
                self.proxy.cluster.refresh_soon(None);
                return self.retry_later(tag);
            }
            Err(err) => return self.complete(tag, ProxyError::from(err).reply()),
        };
        let redirect = if redirectable { classify(&bytes) } else { None };
        let Some(redirect) = redirect else {
            return self.complete(tag, bytes);
        };
        let kind = crate::metrics::Redirect::of(&redirect);
        crate::metrics::metrics().redirect_seen(kind);
        if part.attempts >= max {
            return self.complete(tag, ProxyError::TooManyRedirects.reply());
        }
        part.attempts += 1;
        crate::metrics::metrics().redirect_retried(kind);
        match &redirect {
            ClusterError::Moved { addr, .. } | ClusterError::Ask { addr, .. } => {
                part.asking = matches!(redirect, ClusterError::Ask { .. });
                let addr: Arc<str> = Arc::from(addr.to_string());
                part.route = match part.route {
                    Route::Private(_) => Route::Private(addr.clone()),
                    _ => Route::Node(addr.clone()),
                };
                if !part.asking {
                    self.proxy.cluster.refresh_soon(Some(&addr));
                }
                self.send(tag);
            }
            _ => self.retry_later(tag),
        }
    }

    /// Records a part's final reply; queues the merged reply when it was the last part.
    pub(super) fn complete(&mut self, tag: Tag, reply: Bytes) {
        let proto = self.client.proto;
        let Some(work) = self.queue.work_mut(tag.seq) else {
            return;
        };
        match work.merger {
            Merger::Wait { .. } => return self.wait_progress(tag, reply),
            Merger::Scan(_) => return self.scan_progress(tag, reply),
            _ => {}
        }
        if let Some(merged) = work.complete(tag.part, reply, proto) {
            self.queue.finish(tag.seq, merged);
        }
    }

    /// Schedules a part to be re-sent after a backoff that grows with its attempts.
    fn retry_later(&mut self, tag: Tag) {
        let Some(part) = self
            .queue
            .work_mut(tag.seq)
            .and_then(|w| w.part_mut(tag.part))
        else {
            return;
        };
        part.attempts += 1;
        if part.attempts > self.config.cluster.max_redirects.saturating_mul(4) {
            return self.complete(tag, ProxyError::BackendDown.reply());
        }
        let wait = Duration::from_millis(25) * u32::from(part.attempts.min(8));
        self.retries.push((self.queue.now() + wait, tag));
    }

    /// Re-sends due retries and fails requests past their deadline.
    pub(super) fn on_tick(&mut self, now: Instant) {
        if !self.retries.is_empty() {
            self.routes = self.proxy.cluster.routes();
            let (due, later): (Vec<_>, Vec<_>) =
                self.retries.drain(..).partition(|(at, _)| *at <= now);
            self.retries = later;
            due.into_iter().for_each(|(_, tag)| self.send(tag));
        }
        for seq in self.queue.expired(now) {
            self.report_silent_nodes(seq);
            self.queue.finish(seq, ProxyError::Timeout.reply());
        }
    }

    /// Tells the health table which nodes left timed-out request `seq` unanswered (a passive
    /// failure: the node turns suspect and is probed at once).
    fn report_silent_nodes(&mut self, seq: u64) {
        let Some(work) = self.queue.work_mut(seq) else {
            return;
        };
        for part in work.parts().filter(|part| part.reply.is_none()) {
            let addr = match &part.route {
                Route::Slot(slot) => self.routes.owner(*slot).map(|node| &node.addr),
                Route::Node(addr) | Route::Private(addr) => Some(addr),
                Route::PubSubHome => self.routes.pubsub_home().map(|node| &node.addr),
                Route::Any | Route::Read(_) => None,
            };
            if let Some(addr) = addr {
                self.proxy.health.report_failure(addr);
            }
        }
    }

    /// MGET, MSET, DEL, UNLINK, EXISTS, TOUCH (and PUBSUB SHARDNUMSUB's channels) across
    /// slots: one part per slot (`read`: the parts may go to replicas).
    fn fan_out(&mut self, kind: FanOut, read: bool, args: &[Bytes]) {
        let step = if kind == FanOut::Mset { 2 } else { 1 };
        let command_words = if kind == FanOut::ShardNumSub { 2 } else { 1 };
        let (name, rest) = args.split_at(command_words.min(args.len()));
        if rest.is_empty() && kind == FanOut::ShardNumSub {
            return self.reply_frame(Frame::Map(Vec::new()));
        }
        if rest.len() % step != 0 {
            return self.reply_err(ProxyError::Other(
                "wrong number of arguments for 'mset' command".to_owned(),
            ));
        }
        let mut groups: Vec<(Slot, Vec<&Bytes>)> = Vec::new();
        let mut order = Vec::with_capacity(rest.len() / step);
        for chunk in rest.chunks(step) {
            let slot = key_slot(&chunk[0]);
            let index = groups
                .iter()
                .position(|(s, _)| *s == slot)
                .unwrap_or_else(|| {
                    groups.push((slot, name.iter().collect()));
                    groups.len() - 1
                });
            groups[index].1.extend(chunk);
            order.push(index as u32);
        }
        let parts: Vec<Part> = groups
            .into_iter()
            .map(|(slot, part_args)| {
                let route = self.slot_route(slot, read);
                Part::new(self.encode(&part_args), route)
            })
            .collect();
        let merger = match kind {
            FanOut::Mget => Merger::Mget { order },
            FanOut::Mset => Merger::AllOk,
            FanOut::SumInts => Merger::Sum,
            FanOut::ShardNumSub => Merger::Pairs { order },
        };
        let deadline = Some(self.deadline);
        self.start(parts, merger, deadline, true);
    }

    /// The same request to every master.
    pub(super) fn all_masters(&mut self, merger: Merger, args: &[Bytes]) {
        let payload = self.encode(args);
        let parts: Vec<Part> = self
            .routes
            .masters()
            .iter()
            .map(|m| Part::new(payload.clone(), Route::Node(m.addr.clone())))
            .collect();
        let deadline = Some(self.deadline);
        self.start(parts, merger, deadline, true);
    }

    /// BLPOP and friends: on the session's own connection to the slot's owner, with no
    /// proxy deadline (the command carries its own timeout). Without keys (`BLMPOP 0 0 …`:
    /// bad arguments) any master answers with Redis's error.
    fn blocking(&mut self, slot: Option<Slot>, args: &[Bytes]) {
        let owner = match slot {
            Some(slot) => self.routes.owner(slot),
            None => self.routes.masters().first(),
        }
        .map(|n| n.addr.clone());
        let Some(addr) = owner else {
            return self.reply_err(ProxyError::SlotNotServed);
        };
        let payload = self.encode(args);
        self.start(
            [Part::new(payload, Route::Private(addr))],
            Merger::Pass,
            None,
            true,
        );
    }

    /// The session's own connection to `addr`, opened on first use.
    pub(super) fn private_backend(&mut self, addr: &Arc<str>) -> Backend {
        if let Some((_, backend)) = self.private.iter().find(|(a, _)| a == addr) {
            return backend.clone();
        }
        let upstream = self.proxy.cluster.pool().upstream().clone();
        let backend = Backend::spawn(addr.clone(), self.client.proto, upstream);
        self.private.push((addr.clone(), backend.clone()));
        backend
    }
}

/// The merge for an all-masters command.
fn merger_for(merge: Merge) -> Merger {
    match merge {
        Merge::Concat => Merger::Concat,
        Merge::Sum => Merger::Sum,
        Merge::AllOk => Merger::AllOk,
        Merge::Random => Merger::Random,
        Merge::First => Merger::First,
        Merge::AndFlags => Merger::AndFlags,
        Merge::Scan => Merger::Pass,
    }
}

/// Whether a read sent to a replica should be repeated on the master: the replica could
/// not be reached, or it cannot serve reads now (loading, or stale with its master gone).
fn replica_failed(result: &Result<Bytes, BackendError>) -> bool {
    match result {
        Ok(reply) => reply.starts_with(b"-LOADING") || reply.starts_with(b"-MASTERDOWN"),
        Err(_) => true,
    }
}

/// What a RESP2 client in subscribed mode may still send.
fn pubsub_allowed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "psubscribe"
            | "unsubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}
