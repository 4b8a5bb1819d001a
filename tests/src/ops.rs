//! Helpers for the operations tests: a tiny HTTP/1.1 client for the admin endpoint, reading
//! values out of Prometheus text, a node's per-command call counts, and runs of consecutive
//! free ports for `slotgate local`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Sends `METHOD path` to 127.0.0.1:`port`; returns the status code and the whole response.
pub fn http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, text))
}

/// The sum of every sample whose line starts with `prefix` (a name, optionally with `{labels`).
pub fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(prefix) && !line.starts_with('#'))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `calls=` of `cmdstat_<command>` in the `INFO commandstats` of the node on `port` (0 when
/// the node never ran it, or cannot be reached).
pub fn command_calls(port: u16, command: &str) -> u64 {
    let text = crate::Client::connect(port)
        .and_then(|mut c| c.text(&["INFO", "commandstats"]))
        .unwrap_or_default();
    let prefix = format!("cmdstat_{command}:calls=");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

/// The first of `n` consecutive free ports whose bus ports (+10000) are free too.
pub fn free_port_run(n: u16) -> u16 {
    loop {
        let base = crate::free_port();
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if base + n < 22700 && (0..n).all(|i| free(base + i) && free(base + i + 10000)) {
            return base;
        }
    }
}
