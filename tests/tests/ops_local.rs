//! `slotgate local`: starts six nodes and the proxy on the ports its flags name, answers
//! `redis-cli -p <port> set a b`, serves the admin endpoint, and on SIGINT stops the proxy
//! and every node it started.

use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use slotgate_tests::ops::{free_port_run, http};
use slotgate_tests::process::{our_binary, scratch_dir};
use slotgate_tests::{eventually, free_port, Child};

#[test]
fn local_starts_serves_and_stops_on_sigint() {
    let (base, port, admin) = (free_port_run(6), free_port(), free_port());
    let dir = scratch_dir("ops-local");
    let args: Vec<String> = [
        "local",
        "--base-port",
        &base.to_string(),
        "--port",
        &port.to_string(),
        "--admin-port",
        &admin.to_string(),
        "--dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dir.join("data").display().to_string()])
    .collect();
    let mut local = Child::spawn(our_binary("slotgate"), &args, dir.join("local.log")).unwrap();
    let set = || {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "set", "a", "b"])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if text == "OK" {
            Ok(())
        } else {
            Err(format!("{text}\n{}", local.log()))
        }
    };
    eventually(Duration::from_secs(90), set);
    let get = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "get", "a"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "b");
    assert_eq!(http(admin, "GET", "/healthz").unwrap().0, 200);
    assert!(
        local.log().contains(&format!("redis-cli -p {port}")),
        "{}",
        local.log()
    );

    local.signal("INT");
    let status = local
        .wait_exit(Duration::from_secs(20))
        .expect("slotgate local exits after SIGINT");
    assert!(status.success(), "{status:?}\n{}", local.log());
    for node in base..base + 6 {
        assert!(
            TcpStream::connect(("127.0.0.1", node)).is_err(),
            "node {node} still running"
        );
    }
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "proxy still listening"
    );
}
