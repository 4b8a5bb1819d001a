//! The client port belongs to one slotgate: a second one started on the same port exits
//! non-zero saying the address is in use, and the first keeps serving. No cluster is needed:
//! the port is bound before the first topology refresh.

use std::net::TcpStream;
use std::time::Duration;

use slotgate_tests::proxy::Slotgate;
use slotgate_tests::{eventually, free_port};

#[test]
fn a_second_slotgate_on_the_same_port_fails_to_start() {
    let unreachable_seed = free_port();
    let first = Slotgate::spawn(free_port(), &[unreachable_seed], "", "");
    eventually(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", first.port))
            .map(drop)
            .map_err(|err| format!("{err}\n{}", first.child().log()))
    });
    let mut second = Slotgate::spawn(first.port, &[unreachable_seed], "", "");
    let status = second
        .child_mut()
        .wait_exit(Duration::from_secs(20))
        .expect("the second slotgate exits");
    let log = second.child().log();
    assert!(!status.success(), "exit status {status:?}\n{log}");
    let expected = format!("cannot listen on 127.0.0.1:{}", first.port);
    assert!(
        log.contains(&expected) && log.contains("Address already in use"),
        "{log}"
    );
    assert_eq!(first.client().text(&["PING"]).unwrap(), "PONG");
}
