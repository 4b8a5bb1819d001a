//! The admin endpoint of a real `slotgate` in front of a real Redis 7 cluster: every path,
//! 404 / 405, `/readyz` 503 while no slot is served and 200 once all are, `/topology` and
//! `/config` (secrets redacted), metrics that move under load, and CONFIG GET through the
//! proxy without the cluster's password.

use std::time::Duration;

use slotgate_protocol::Frame;
use slotgate_tests::ops::{http, metric_sum};
use slotgate_tests::process::{our_binary, scratch_dir};
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, free_port, Child};

fn admin_section(admin: u16) -> String {
    format!("password = \"backendpass\"\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[health]\ninterval = \"200ms\"\n")
}

#[test]
fn readyz_is_503_until_a_cluster_serves_every_slot() {
    let (port, admin, seed) = (free_port(), free_port(), free_port());
    let dir = scratch_dir("ops-unready");
    let text = format!("[proxy]\nlisten = \"127.0.0.1:{port}\"\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[cluster]\nseeds = [\"127.0.0.1:{seed}\"]\n");
    std::fs::write(dir.join("slotgate.toml"), text).unwrap();
    let args = vec![
        "--config".to_owned(),
        dir.join("slotgate.toml").display().to_string(),
    ];
    let proxy = Child::spawn(our_binary("slotgate"), &args, dir.join("slotgate.log")).unwrap();
    let status = eventually(Duration::from_secs(20), || {
        http(admin, "GET", "/readyz").map(|r| r.0)
    });
    assert_eq!(status, 503, "{}", proxy.log());
    assert_eq!(http(admin, "GET", "/healthz").unwrap().0, 200);
}

#[test]
fn admin_endpoints_and_metrics_under_load() {
    let mut spec = ClusterSpec::three_by_one(ServerKind::Redis);
    spec.password = Some("backendpass".into());
    let cluster = RedisCluster::start(spec);
    let admin = free_port();
    let proxy = Slotgate::start(&[cluster.nodes[0].port], "", &admin_section(admin));
    let ready = || match http(admin, "GET", "/readyz") {
        Ok((200, _)) => Ok(()),
        other => Err(format!("{other:?}")),
    };
    eventually(Duration::from_secs(20), ready);
    assert_eq!(http(admin, "GET", "/healthz").unwrap().0, 200);
    assert_eq!(http(admin, "GET", "/nope").unwrap().0, 404);
    assert_eq!(http(admin, "POST", "/metrics").unwrap().0, 405);
    let config = http(admin, "GET", "/config").unwrap().1;
    assert!(
        config.contains("\"***\"") && !config.contains("backendpass"),
        "{config}"
    );
    // CONFIG GET through the proxy answers from a master, without the cluster's password.
    let mut client = proxy.client();
    let every = client.cmd(&["CONFIG", "GET", "*"]).unwrap();
    assert!(!format!("{every:?}").contains("backendpass"), "{every:?}");
    assert_eq!(
        client.cmd(&["CONFIG", "GET", "maxmemory-policy"]).unwrap(),
        Frame::Array(vec![
            Frame::bulk("maxmemory-policy"),
            Frame::bulk("noeviction")
        ])
    );
    assert_eq!(
        client.cmd(&["CONFIG", "GET", "requirepass"]).unwrap(),
        Frame::Array(Vec::new())
    );
    let topology = || {
        let body = http(admin, "GET", "/topology")
            .map_err(|e| e.to_string())?
            .1;
        // Every node known, with its role, and answering health checks: a cluster just
        // created may still be gossiping its replicas to the seed.
        let complete = body.contains("\"slots_assigned\": 16384")
            && body.matches("\"master\"").count() >= 6
            && body.matches("\"replica\"").count() >= 3;
        if complete && body.matches("\"up\"").count() >= 6 {
            Ok(body)
        } else {
            Err(body)
        }
    };
    let body = eventually(Duration::from_secs(20), topology);
    assert_eq!(body.matches("\"start\"").count(), 3, "{body}");

    let before = http(admin, "GET", "/metrics").unwrap().1;
    let mut client = proxy.client();
    for i in 0..500 {
        client.cmd(&["SET", &format!("key{i}"), "v"]).unwrap();
    }
    client
        .cmd(&["MGET", "key1", "key2", "key3", "key4"])
        .unwrap();
    client.cmd(&["NOSUCHCOMMAND"]).unwrap();
    let after = http(admin, "GET", "/metrics").unwrap().1;
    let set_ok = r#"slotgate_commands_total{command="set",result="ok"}"#;
    assert!(
        metric_sum(&after, set_ok) >= metric_sum(&before, set_ok) + 500.0,
        "{after}"
    );
    assert!(
        metric_sum(
            &after,
            r#"slotgate_command_duration_seconds_count{command="set"}"#
        ) >= 500.0
    );
    assert!(
        metric_sum(
            &after,
            r#"slotgate_commands_total{command="unknown",result="error"}"#
        ) >= 1.0
    );
    assert!(metric_sum(&after, "slotgate_fanout_parts_count") >= 1.0);
    assert!(
        metric_sum(&after, "slotgate_client_read_bytes_total")
            > metric_sum(&before, "slotgate_client_read_bytes_total")
    );
    assert_eq!(metric_sum(&after, "slotgate_slots_covered"), 16384.0);
    assert_eq!(metric_sum(&after, "slotgate_backend_up"), 6.0, "{after}");
    assert_eq!(metric_sum(&after, r#"slotgate_backend_role{"#), 6.0);
    let backend_requests = "slotgate_backend_requests_total";
    assert!(
        metric_sum(&after, backend_requests) >= metric_sum(&before, backend_requests) + 500.0,
        "{after}"
    );
    assert!(metric_sum(&after, "slotgate_backend_request_duration_seconds_count") >= 500.0);
    assert!(metric_sum(&after, "slotgate_client_connections ") >= 1.0);
    assert!(metric_sum(&after, "process_resident_memory_bytes") > 0.0);
}
