//! Commands the proxy answers itself, without a backend round trip: PING, ECHO, SELECT,
//! HELLO, AUTH, CLIENT, INFO (its own sections plus the cluster's key count), TIME, QUIT,
//! RESET, READONLY/READWRITE, COMMAND (from the shared command table), CLUSTER KEYSLOT.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use slotgate_protocol::command::{command_reply, RespVersion};
use slotgate_protocol::{key_slot, Frame};

use super::Session;
use crate::backend::Proto;
use crate::error::ProxyError;
use crate::merge::{for_client, to_bytes, Merger};

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
            "ping" => match args.get(1) {
                Some(message) => self.reply_frame(Frame::Bulk(message.clone())),
                None => self.reply_frame(Frame::Simple(Bytes::from_static(b"PONG"))),
            },
            "echo" => self.reply_frame(Frame::Bulk(args[1].clone())),
            "select" if &args[1][..] == b"0" => self.reply_frame(Frame::ok()),
            "select" => self.reply_err(ProxyError::Select),
            "hello" => self.hello(args),
            "auth" => match self.authenticate(&args[1..]) {
                Ok(()) => self.reply_frame(Frame::ok()),
                Err(err) => self.reply_err(err),
            },
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

    /// `AUTH [user] password` against the proxy's password.
    fn authenticate(&mut self, args: &[Bytes]) -> Result<(), ProxyError> {
        let Some(expected) = self.config.proxy.password.clone() else {
            return Err(ProxyError::NoPasswordSet);
        };
        let (user, password) = match args {
            [password] => (&b"default"[..], password),
            [user, password] => (&user[..], password),
            _ => return Err(ProxyError::Other("syntax error".to_owned())),
        };
        if user == b"default" && same_secret(password, expected.as_bytes()) {
            self.client.authed = true;
            Ok(())
        } else {
            Err(ProxyError::WrongPass)
        }
    }

    /// `HELLO [protover [AUTH user pass] [SETNAME name]]`.
    fn hello(&mut self, args: &[Bytes]) {
        let proto = match args.get(1).map(|v| &v[..]) {
            None => self.client.proto,
            Some(b"2") => Proto::Resp2,
            Some(b"3") => Proto::Resp3,
            Some(_) => return self.reply_err(ProxyError::NoProto),
        };
        let mut rest = args.get(2..).unwrap_or_default();
        while let Some(option) = rest.first() {
            match (
                option.to_ascii_lowercase().as_slice(),
                rest.get(1),
                rest.get(2),
            ) {
                (b"auth", Some(user), Some(password)) => {
                    if let Err(err) = self.authenticate(&[user.clone(), password.clone()]) {
                        return self.reply_err(err);
                    }
                    rest = &rest[3..];
                }
                (b"setname", Some(name), _) => {
                    self.set_name(name);
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
        if !self.client.authed {
            return self.reply_err(ProxyError::NoAuth);
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

    /// `CLIENT SETNAME/GETNAME/ID/INFO/LIST/REPLY ON` about the proxy's own clients.
    fn client_command(&mut self, name: &str, args: &[Bytes]) {
        match name {
            "client|setname" if args[2].iter().any(|&b| b <= b' ' || b > b'~') => {
                self.reply_err(ProxyError::Other("Client names cannot contain spaces, newlines or special characters.".to_owned()))
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
            "client|list" => {
                let lines: String = self.proxy.clients.list().iter().map(|(id, r)| self.client_line(*id, &r.name)).collect();
                self.reply_frame(Frame::bulk(lines));
            }
            "client|reply" if args[2].eq_ignore_ascii_case(b"on") => self.reply_frame(Frame::ok()),
            "client|help" => self.reply_frame(Frame::Array(
                ["CLIENT <subcommand>: SETNAME, GETNAME, ID, INFO, LIST, REPLY ON (answered by slotgate)"].iter().map(|l| Frame::Simple(Bytes::from_static(l.as_bytes()))).collect(),
            )),
            _ => self.reply_err(ProxyError::Unsupported(name.replace('|', " "))),
        }
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

    /// INFO: the proxy's sections, then `# Keyspace` from DBSIZE summed over masters.
    fn info(&mut self, _args: &[Bytes]) {
        let sections = format!(
            "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nslotgate_version:{}\r\nuptime_in_seconds:{}\r\n\r\n\
             # Clients\r\nconnected_clients:{}\r\n\r\n# Cluster\r\ncluster_enabled:0\r\ncluster_masters:{}\r\n\r\n",
            env!("CARGO_PKG_VERSION"),
            self.proxy.started.elapsed().as_secs(),
            self.proxy.clients.connected(),
            self.routes.masters().len(),
        );
        let dbsize = [Bytes::from_static(b"DBSIZE")];
        self.all_masters(Merger::Info { sections }, &dbsize);
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

    /// RESET: back to a fresh connection's state.
    fn reset(&mut self) {
        self.tx = None;
        self.watching = None;
        self.private.clear();
        self.pubsub = Default::default();
        self.pushes.clear();
        self.client.proto = Proto::Resp2;
        self.client.name.clear();
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
