//! Free loopback ports. Cluster nodes listen on a port and its bus port (+10000); both must
//! stay below Linux's ephemeral range (32768), where an outgoing connection could take them.

use std::net::TcpListener;

use rand::Rng;

const LOW: u16 = 12000;
const HIGH: u16 = 22700;

fn bindable(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port in 12000–22700 that is free now, and whose bus port (+10000) is free too.
pub fn free_port() -> u16 {
    let mut rng = rand::thread_rng();
    loop {
        let port = rng.gen_range(LOW..HIGH);
        if bindable(port) && bindable(port + 10000) {
            return port;
        }
    }
}

/// `n` distinct free ports (see [`free_port`]).
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = Vec::with_capacity(n);
    while ports.len() < n {
        let port = free_port();
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}
