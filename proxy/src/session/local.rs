//! Commands the proxy answers itself, without a backend round trip: PING, ECHO, SELECT,
//! HELLO, AUTH, CLIENT, INFO (its own sections plus the cluster's key count), TIME, QUIT,
//! RESET, READONLY/READWRITE, COMMAND (from the shared command table), CLUSTER KEYSLOT, and
//! CONFIG GET (one master's answer, minus the cluster's credentials).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use slotgate_protocol::command::{command_reply, RespVersion};
use slotgate_protocol::resp::parse_i64;
use slotgate_protocol::{key_slot, Frame};

use super::queue::{Part, Route};
use super::{Replies, Session};
use crate::backend::Proto;
use crate::error::ProxyError;
use crate::merge::{for_client, info_text, to_bytes, Merger};
use crate::server::KillFilter;

/// A client type Redis knows: `Some(true)` for `normal`, the type of every proxy client;
/// `Some(false)` for the others (`pubsub`, `master`, `replica`/`slave`), none of which the
/// proxy's list tells apart.
fn client_type(name: &[u8]) -> Option<bool> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(true),
        b"pubsub" | b"master" | b"replica" | b"slave" => Some(false),
        _ => None,
    }
}

fn unknown_type(name: &str) -> ProxyError {
    ProxyError::Other(format!("Unknown client type '{name}'"))
}

/// `CLIENT LIST [TYPE type | ID id …]`: which client ids to show, as Redis parses it.
fn list_filter(args: &[Bytes]) -> Result<Box<dyn Fn(u64) -> bool>, ProxyError> {
    match args {
        [] => Ok(Box::new(|_| true)),
        [kind, name] if kind.eq_ignore_ascii_case(b"type") => match client_type(name) {
            Some(normal) => Ok(Box::new(move |_| normal)),
            None => Err(unknown_type(&String::from_utf8_lossy(name))),
        },
        [kind, ids @ ..] if kind.eq_ignore_ascii_case(b"id") && !ids.is_empty() => {
            let ids: Vec<u64> = ids
                .iter()
                .map(|id| parse_i64(id).filter(|id| *id > 0).map(|id| id as u64))
                .collect::<Option<_>>()
                .ok_or_else(|| ProxyError::Other("Invalid client ID".to_owned()))?;
            Ok(Box::new(move |id| ids.contains(&id)))
        }
        _ => Err(ProxyError::Other("syntax error".to_owned())),
    }
}

/// Redis's rule for client names: printable ASCII, no spaces.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| b > b' ' && b <= b'~')
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, &b) in expected.iter().enumerate() {
        diff |= usize::from(b ^ given.get(i).copied().unwrap_or(!b));
    }
    diff == 0
}

impl Session {
    /// Answers a local command.
    pub(super) fn local(&mut self, name: &str, args: &[Bytes]) {
        match name {
            "ping" if self.in_subscribed_mode() => self.subscribe(args, None),
            "ping" => match args {
                [_] => self.reply_frame(Frame::Simple(Bytes::from_static(b"PONG"))),
                [_, message] => self.reply_frame(Frame::Bulk(message.clone())),
                _ => self.reply_err(ProxyError::Other(
                    "wrong number of arguments for 'ping' command".to_owned(),
                )),
            },
            "echo" => self.reply_frame(Frame::Bulk(args[1].clone())),
            "select" if &args[1][..] == b"0" => self.reply_frame(Frame::ok()),
            "select" => self.reply_err(ProxyError::Select),
            "hello" => self.hello(args),
            "auth" => match self.authenticate(&args[1..]) {
                Ok(()) => self.reply_frame(Frame::ok()),
                Err(err) => self.reply_err(err),
            },
            "client|reply" => self.client_reply(args),
            _ if name.starts_with("client|") => self.client_command(name, args),
            _ if name == "command" || name.starts_with("command|") => {
                let version = if self.client.proto == Proto::Resp3 {
                    RespVersion::Resp3
                } else {
                    RespVersion::Resp2
                };
                self.reply_frame(command_reply(args, version));
            }
            "cluster|keyslot" => {
                self.reply_frame(Frame::Integer(i64::from(key_slot(&args[2]).get())))
            }
            "info" => self.info(args),
            "config|get" => {
                let payload = self.encode(args);
                let deadline = Some(self.deadline);
                self.start(
                    [Part::new(payload, Route::Any)],
                    Merger::HideSecrets,
                    deadline,
                    true,
                );
            }
            "time" => self.time(),
            "quit" => {
                self.reply_frame(Frame::ok());
                self.closing = true;
            }
            "reset" => self.reset(),
            _ => self.reply_frame(Frame::ok()),
        }
    }

    /// Encodes a frame for this client's protocol and queues it.
    pub(super) fn reply_frame(&mut self, frame: Frame) {
        let bytes = to_bytes(&for_client(frame, self.client.proto));
        self.reply(bytes);
    }

    /// `AUTH [user] password` against the proxy's password, as Redis treats its `default`
    /// user (the only one the proxy has): with no password set, `AUTH <password>` is an
    /// error and `AUTH default <anything>` succeeds.
    fn authenticate(&mut self, args: &[Bytes]) -> Result<(), ProxyError> {
        let expected = self.config.proxy.password.clone();
        let (user, password) = match args {
            [_] if expected.is_none() => return Err(ProxyError::NoPasswordSet),
            [password] => (&b"default"[..], password),
            [user, password] => (&user[..], password),
            _ => return Err(ProxyError::Other("syntax error".to_owned())),
        };
        let matches = expected.is_none_or(|e| same_secret(password, e.as_bytes()));
        if user == b"default" && matches {
            self.client.authed = true;
            Ok(())
        } else {
            Err(ProxyError::WrongPass)
        }
    }

    /// `HELLO [protover [AUTH user pass] [SETNAME name]]`, checked in Redis's order: the
    /// version, every option (a bad name fails here), then the credentials; the name is set
    /// only once all of that passed.
    fn hello(&mut self, args: &[Bytes]) {
        let proto = match args.get(1).map(|v| parse_i64(v)) {
            None => self.client.proto,
            Some(Some(2)) => Proto::Resp2,
            Some(Some(3)) => Proto::Resp3,
            Some(Some(_)) => return self.reply_err(ProxyError::NoProto),
            Some(None) => {
                return self.reply_err(ProxyError::Other(
                    "Protocol version is not an integer or out of range".to_owned(),
                ))
            }
        };
        let mut credentials = None;
        let mut name = None;
        let mut rest = args.get(2..).unwrap_or_default();
        while let Some(option) = rest.first() {
            match (
                option.to_ascii_lowercase().as_slice(),
                rest.get(1),
                rest.get(2),
            ) {
                (b"auth", Some(user), Some(password)) => {
                    credentials = Some([user.clone(), password.clone()]);
                    rest = &rest[3..];
                }
                (b"setname", Some(given), _) => {
                    if !valid_client_name(given) {
                        return self.reply_err(ProxyError::BadClientName);
                    }
                    name = Some(given.clone());
                    rest = &rest[2..];
                }
                _ => {
                    return self.reply_err(ProxyError::Other(format!(
                        "Syntax error in HELLO option '{}'",
                        String::from_utf8_lossy(option)
                    )))
                }
            }
        }
        if let Some(credentials) = credentials {
            if let Err(err) = self.authenticate(&credentials) {
                return self.reply_err(err);
            }
        }
        if !self.client.authed {
            return self.reply_err(ProxyError::HelloNoAuth);
        }
        if let Some(name) = name {
            self.set_name(&name);
        }
        self.client.proto = proto;
        let pair = |k: &str, v: Frame| (Frame::bulk(k), v);
        self.reply_frame(Frame::Map(vec![
            pair("server", Frame::bulk("redis")),
            pair("version", Frame::bulk("7.0.15")),
            pair("proto", Frame::Integer(proto as i64 + 2)),
            pair("id", Frame::Integer(self.id as i64)),
            pair("mode", Frame::bulk("standalone")),
            pair("role", Frame::bulk("master")),
            pair("modules", Frame::Array(Vec::new())),
        ]));
    }

    fn set_name(&mut self, name: &Bytes) {
        self.client.name = String::from_utf8_lossy(name).into_owned();
        self.proxy
            .clients
            .set_name(self.id, self.client.name.clone());
    }

    /// `CLIENT SETNAME/GETNAME/ID/INFO/LIST/KILL/NO-EVICT` about the proxy's own clients.
    fn client_command(&mut self, name: &str, args: &[Bytes]) {
        match name {
            "client|setname" if !valid_client_name(&args[2]) => {
                self.reply_err(ProxyError::BadClientName)
            }
            "client|setname" => {
                self.set_name(&args[2]);
                self.reply_frame(Frame::ok());
            }
            "client|getname" if self.client.name.is_empty() => self.reply_frame(Frame::Null),
            "client|getname" => self.reply_frame(Frame::bulk(self.client.name.clone())),
            "client|id" => self.reply_frame(Frame::Integer(self.id as i64)),
            "client|info" => {
                let line = self.client_line(self.id, &self.client.name);
                self.reply_frame(Frame::bulk(line));
            }
            "client|list" => match list_filter(&args[2..]) {
                Ok(keep) => {
                    let lines: String = self
                        .proxy
                        .clients
                        .list()
                        .iter()
                        .filter(|(id, _)| keep(*id))
                        .map(|(id, r)| self.client_line(*id, &r.name))
                        .collect();
                    self.reply_frame(Frame::bulk(lines));
                }
                Err(err) => self.reply_err(err),
            },
            "client|kill" => self.kill(&args[2..]),
            // The proxy never evicts clients.
            "client|no-evict" if [&b"on"[..], b"off"].iter().any(|v| args[2].eq_ignore_ascii_case(v)) => {
                self.reply_frame(Frame::ok())
            }
            "client|no-evict" => self.reply_err(ProxyError::Other("syntax error".to_owned())),
            "client|help" => self.reply_frame(Frame::Array(
                ["CLIENT <subcommand>: SETNAME, GETNAME, ID, INFO, LIST, REPLY ON (answered by slotgate)"].iter().map(|l| Frame::Simple(Bytes::from_static(l.as_bytes()))).collect(),
            )),
            _ => self.reply_err(ProxyError::Unsupported(name.replace('|', " "))),
        }
    }

    /// `CLIENT KILL addr` (OK or "No such client") or `CLIENT KILL <filter> <value> …`
    /// (how many were killed), as Redis parses them.
    fn kill(&mut self, args: &[Bytes]) {
        let mut filter = KillFilter {
            skip: Some(self.id),
            ..KillFilter::default()
        };
        if let [addr] = args {
            filter.addr = Some(String::from_utf8_lossy(addr).into_owned());
            filter.skip = None;
            return match self.proxy.clients.kill(&filter) {
                0 => self.reply_err(ProxyError::Other("No such client".to_owned())),
                _ => self.reply_frame(Frame::ok()),
            };
        }
        if !args.len().is_multiple_of(2) {
            return self.reply_err(ProxyError::Other("syntax error".to_owned()));
        }
        for pair in args.chunks(2) {
            let value = &pair[1];
            let text = String::from_utf8_lossy(value).into_owned();
            match pair[0].to_ascii_lowercase().as_slice() {
                b"id" => match parse_i64(value).filter(|id| *id > 0) {
                    Some(id) => filter.id = Some(id as u64),
                    None => {
                        return self.reply_err(ProxyError::Other(
                            "client-id should be greater than 0".to_owned(),
                        ))
                    }
                },
                b"type" => match client_type(value) {
                    Some(normal) => filter.none |= !normal,
                    None => return self.reply_err(unknown_type(&text)),
                },
                b"addr" => filter.addr = Some(text),
                // The proxy does not track the address clients connected to.
                b"laddr" => filter.none = true,
                b"user" if value.as_ref() == b"default" => {}
                b"user" => {
                    return self.reply_err(ProxyError::Other(format!("No such user '{text}'")))
                }
                b"skipme" if value.eq_ignore_ascii_case(b"yes") => filter.skip = Some(self.id),
                b"skipme" if value.eq_ignore_ascii_case(b"no") => filter.skip = None,
                _ => return self.reply_err(ProxyError::Other("syntax error".to_owned())),
            }
        }
        let killed = self.proxy.clients.kill(&filter);
        self.reply_frame(Frame::Integer(killed as i64));
    }

    fn client_line(&self, id: u64, name: &str) -> String {
        let addr = self
            .proxy
            .clients
            .list()
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r.addr)
            .unwrap_or_default();
        format!("id={id} addr={addr} name={name} db=0\n")
    }

    /// `INFO [section …]`: the proxy's own sections (server, clients, cluster), then the
    /// keyspace summed over every master's `INFO keyspace`. No section, `default`, `all` or
    /// `everything` mean all of them; as in Redis, an unknown section adds nothing.
    fn info(&mut self, args: &[Bytes]) {
        let asked: Vec<Vec<u8>> = args[1..].iter().map(|a| a.to_ascii_lowercase()).collect();
        let everything = asked.is_empty()
            || asked
                .iter()
                .any(|s| matches!(&s[..], b"default" | b"all" | b"everything"));
        let wants = |name: &str| everything || asked.iter().any(|s| s == name.as_bytes());
        let mut sections = Vec::new();
        if wants("server") {
            sections.push(format!(
                "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nslotgate_version:{}\r\nuptime_in_seconds:{}\r\n",
                env!("CARGO_PKG_VERSION"),
                self.proxy.started.elapsed().as_secs(),
            ));
        }
        if wants("clients") {
            let clients = self.proxy.clients.connected();
            sections.push(format!("# Clients\r\nconnected_clients:{clients}\r\n"));
        }
        if wants("cluster") {
            let masters = self.routes.masters().len();
            sections.push(format!(
                "# Cluster\r\ncluster_enabled:0\r\ncluster_masters:{masters}\r\n"
            ));
        }
        if !wants("keyspace") {
            return self.reply_frame(info_text(sections.join("\r\n")));
        }
        let sections: String = sections.iter().map(|s| format!("{s}\r\n")).collect();
        let keyspace = [Bytes::from_static(b"INFO"), Bytes::from_static(b"keyspace")];
        self.all_masters(Merger::Info { sections }, &keyspace);
    }

    fn time(&mut self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.reply_frame(Frame::Array(vec![
            Frame::bulk(now.as_secs().to_string()),
            Frame::bulk(now.subsec_micros().to_string()),
        ]));
    }

    /// `CLIENT REPLY ON|OFF|SKIP`, as Redis: ON is answered (even after OFF); OFF and SKIP
    /// are not, and SKIP also silences the next command (unless replies are off already).
    fn client_reply(&mut self, args: &[Bytes]) {
        let mode = args.get(2).map(|m| m.to_ascii_lowercase());
        let silent_now = self.client.replies != Replies::On;
        match mode.as_deref() {
            Some(b"on") => {
                self.client.replies = Replies::On;
                self.reply_frame(Frame::ok());
            }
            Some(b"off") => {
                self.client.replies = Replies::Off;
                self.queue.silence_next();
                self.reply_frame(Frame::ok());
            }
            Some(b"skip") => {
                if self.client.replies == Replies::On {
                    self.client.replies = Replies::SkipNext;
                }
                self.queue.silence_next();
                self.reply_frame(Frame::ok());
            }
            _ => {
                if silent_now {
                    self.queue.silence_next();
                }
                if self.client.replies == Replies::SkipNext {
                    self.client.replies = Replies::On;
                }
                self.reply_err(ProxyError::Other("syntax error".to_owned()));
            }
        }
    }

    /// RESET: back to a fresh connection's state.
    fn reset(&mut self) {
        self.tx = None;
        self.watching = None;
        self.private.clear();
        self.pubsub = Default::default();
        self.pushes.clear();
        self.client.proto = Proto::Resp2;
        self.client.name.clear();
        self.client.replies = Replies::On;
        self.client.authed = self.config.proxy.password.is_none();
        self.reply_frame(Frame::Simple(Bytes::from_static(b"RESET")));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets() {
        assert!(super::same_secret(b"abc", b"abc"));
        assert!(!super::same_secret(b"abd", b"abc"));
        assert!(!super::same_secret(b"ab", b"abc"));
        assert!(!super::same_secret(b"abcd", b"abc"));
    }
}
