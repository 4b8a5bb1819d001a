//! Transactions. MULTI is answered by the proxy, which then queues the commands itself
//! (answering `+QUEUED`) and checks that every key hashes to one slot — a command for
//! another slot gets CROSSSLOT and dooms the transaction, as in Redis. EXEC sends
//! `MULTI`, the queued commands and `EXEC` together on the session's own connection to the
//! slot's owner, and the client gets the EXEC reply. WATCH runs on that same connection,
//! so the watch and the EXEC see the same node; an EXEC that never reaches the node (the
//! transaction was aborted) sends UNWATCH there instead, since Redis's EXEC always ends the
//! watch. An EXEC rejected inside MULTI (wrong arity) discards the transaction with
//! `EXECABORT`, as in Redis.

use std::sync::Arc;

use bytes::Bytes;
use slotgate_protocol::{Frame, Slot};

use super::queue::{Part, Route};
use super::Session;
use crate::error::ProxyError;
use crate::merge::Merger;
use crate::router::{Pin, Plan};

/// A transaction being queued.
#[derive(Debug, Default)]
pub(super) struct Transaction {
    /// The queued commands, encoded.
    queued: Vec<Bytes>,
    /// The slot every keyed command so far hashes to.
    slot: Option<Slot>,
    /// A queued command failed: EXEC will abort.
    aborted: bool,
}

impl Session {
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH.
    pub(super) fn transaction(&mut self, name: &str, slot: Option<Slot>, args: &[Bytes]) {
        match name {
            "multi" if self.tx.is_some() => self.reply_err(ProxyError::Other(
                "MULTI calls can not be nested".to_owned(),
            )),
            "multi" => {
                self.tx = Some(Transaction::default());
                self.reply_frame(Frame::ok());
            }
            "exec" => self.exec(),
            "discard" if self.tx.take().is_none() => {
                self.reply_err(ProxyError::Other("DISCARD without MULTI".to_owned()))
            }
            "discard" | "unwatch" => self.unwatch(),
            "watch" if self.tx.is_some() => self.reply_err(ProxyError::Other(
                "WATCH inside MULTI is not allowed".to_owned(),
            )),
            _ => self.watch(slot, args),
        }
    }

    /// A command sent between MULTI and EXEC.
    pub(super) fn queue_in_tx(&mut self, plan: Plan, name: &str, args: &[Bytes]) {
        let rejected_exec = args
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case(b"exec"));
        if let (Plan::Fail(err), true) = (&plan, rejected_exec) {
            // Redis's execCommandAbort: the transaction and its watch are discarded.
            self.tx = None;
            let text = err.to_string();
            let why = text.strip_prefix("ERR ").unwrap_or(&text);
            let abort =
                ProxyError::Raw(format!("EXECABORT Transaction discarded because of: {why}"));
            let watching = self.watching.take();
            return self.unwatch_then_fail(watching, abort);
        }
        let slot = match plan {
            Plan::Slot(slot) | Plan::Pinned(Pin::Blocking, Some(slot)) => Some(slot),
            // The session's own reply switch cannot travel to a node inside EXEC.
            Plan::Local if name == "client|reply" => {
                return self.abort_tx(ProxyError::Unsupported(
                    "client reply inside MULTI".to_owned(),
                ))
            }
            Plan::Local | Plan::AnyMaster | Plan::PubSubHome => None,
            Plan::FanOut(_) => return self.abort_tx(ProxyError::CrossSlot),
            Plan::Fail(err) => return self.abort_tx(err),
            _ => return self.abort_tx(ProxyError::Unsupported(format!("{name} inside MULTI"))),
        };
        let payload = self.encode(args);
        let Some(tx) = self.tx.as_mut() else { return };
        if let Some(slot) = slot {
            if tx.slot.is_some_and(|s| s != slot) {
                return self.abort_tx(ProxyError::CrossSlot);
            }
            tx.slot = Some(slot);
        }
        tx.queued.push(payload);
        self.reply_frame(Frame::Simple(Bytes::from_static(b"QUEUED")));
    }

    fn abort_tx(&mut self, err: ProxyError) {
        if let Some(tx) = self.tx.as_mut() {
            tx.aborted = true;
        }
        self.reply_err(err);
    }

    /// EXEC: MULTI + queued + EXEC on the session's own connection to the owner.
    fn exec(&mut self) {
        let Some(tx) = self.tx.take() else {
            return self.reply_err(ProxyError::Other("EXEC without MULTI".to_owned()));
        };
        let watching = self.watching.take();
        if tx.aborted {
            return self.unwatch_then_fail(watching, ProxyError::ExecAbort);
        }
        let owner = match tx.slot {
            Some(slot) => self.routes.owner(slot).map(|n| n.addr.clone()),
            None => watching
                .clone()
                .or_else(|| self.routes.masters().first().map(|n| n.addr.clone())),
        };
        if watching.is_some() && watching != owner {
            return self.unwatch_then_fail(watching, ProxyError::CrossSlot);
        }
        let Some(addr) = owner else {
            return self.reply_err(ProxyError::SlotNotServed);
        };
        let mut payloads = vec![self.encode(&["MULTI"])];
        payloads.extend(tx.queued);
        payloads.push(self.encode(&["EXEC"]));
        let parts: Vec<Part> = payloads
            .into_iter()
            .map(|p| Part::new(p, Route::Private(addr.clone())))
            .collect();
        let deadline = Some(self.deadline);
        self.start(parts, Merger::Exec, deadline, false);
    }

    /// Answers `err` to an EXEC that will not run, after ending the watch on its node.
    fn unwatch_then_fail(&mut self, watching: Option<Arc<str>>, err: ProxyError) {
        let Some(addr) = watching else {
            return self.reply_err(err);
        };
        let unwatch = self.encode(&["UNWATCH"]);
        let deadline = Some(self.deadline);
        self.start(
            [Part::new(unwatch, Route::Private(addr))],
            Merger::Replace(err.reply()),
            deadline,
            false,
        );
    }

    /// WATCH on the session's own connection to the keys' owner.
    fn watch(&mut self, slot: Option<Slot>, args: &[Bytes]) {
        let Some(addr) = slot
            .and_then(|s| self.routes.owner(s))
            .map(|n| n.addr.clone())
        else {
            return self.reply_err(ProxyError::SlotNotServed);
        };
        if self.watching.as_ref().is_some_and(|w| *w != addr) {
            return self.reply_err(ProxyError::CrossSlot);
        }
        self.watching = Some(addr.clone());
        self.on_private(addr, args);
    }

    /// UNWATCH (and DISCARD): forget the watch on its node, or just say OK.
    fn unwatch(&mut self) {
        match self.watching.take() {
            Some(addr) => self.on_private(addr, &[Bytes::from_static(b"UNWATCH")]),
            None => self.reply_frame(Frame::ok()),
        }
    }

    fn on_private(&mut self, addr: Arc<str>, args: &[Bytes]) {
        let payload = self.encode(args);
        let deadline = Some(self.deadline);
        self.start(
            [Part::new(payload, Route::Private(addr))],
            Merger::Pass,
            deadline,
            false,
        );
    }
}
