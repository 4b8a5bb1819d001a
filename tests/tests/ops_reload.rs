//! Hot reload under load: a client keeps writing and reading through `slotgate` while the
//! config file changes its client password, read policy (`master` → `replica`) and timeouts
//! — no request fails, new connections need the new password and reads move to the
//! replicas (their `INFO commandstats`); then an invalid file is rejected: the old config keeps serving and
//! `slotgate_config_reloads_total{result="error"}` rises. And a slotgate started with a
//! wrong seed and no backend password finds the cluster once the file names a right seed,
//! the password and a short refresh interval — all read live, no restart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use slotgate_tests::client::frame_text;
use slotgate_tests::ops::{command_calls, http, metric_sum};
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, free_port, Background, Client};

#[test]
fn reload_under_load_then_reject_a_bad_file() {
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(ServerKind::Redis));
    let admin = free_port();
    // Redis lists replicas in CLUSTER SLOTS once their replication offset moved: refresh
    // often, so the replicas are known by the time the policy changes.
    let admin_section = format!(
        "read_from = \"master\"\nrefresh_interval = \"1s\"\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n"
    );
    let masters = cluster.master_ports();
    let replicas = cluster.other_ports(&masters);
    let replica_gets = || -> u64 { replicas.iter().map(|&p| command_calls(p, "get")).sum() };
    let proxy = Slotgate::start(
        &[cluster.nodes[0].port],
        "password = \"old\"",
        &admin_section,
    );
    let original = std::fs::read_to_string(&proxy.config).unwrap();

    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (port, done, failed) = (proxy.port, done.clone(), failed.clone());
        Background::spawn(move |stop| {
            let mut client = Client::connect_auth(port, Some("old")).unwrap();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("reload{}", i % 1000);
                let (reply, ok) = if i.is_multiple_of(2) {
                    (client.cmd(&["SET", &key, "v"]), "OK")
                } else {
                    (client.cmd(&["GET", &key]), "v")
                };
                let reply = reply.map(|f| frame_text(&f));
                let counter = if matches!(reply.as_deref(), Ok(text) if text == ok || text == "(nil)")
                {
                    &done
                } else {
                    &failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    eventually(Duration::from_secs(5), || {
        if done.load(Ordering::Relaxed) > 100 {
            Ok(())
        } else {
            Err("no load yet")
        }
    });

    assert_eq!(
        replica_gets(),
        0,
        "read_from = master sent reads to replicas"
    );
    let changed = original
        .replace("password = \"old\"", "password = \"new\"")
        .replace("read_from = \"master\"", "read_from = \"replica\"")
        .replace("[admin]", "request_timeout = \"3s\"\n[admin]");
    std::fs::write(&proxy.config, changed).unwrap();
    eventually(Duration::from_secs(10), || {
        match Client::connect_auth(proxy.port, Some("new")) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    });
    let metrics = http(admin, "GET", "/metrics").unwrap().1;
    assert!(
        metric_sum(&metrics, r#"slotgate_config_reloads_total{result="ok"}"#) >= 1.0,
        "{metrics}"
    );
    let config = http(admin, "GET", "/config").unwrap().1;
    assert!(
        config.contains("3s") && config.contains("replica") && !config.contains("\"new\""),
        "{config}"
    );
    eventually(Duration::from_secs(30), || match replica_gets() {
        0 => Err("no read reached a replica yet"),
        _ => Ok(()),
    });

    std::fs::write(&proxy.config, "[proxy]\nlisten = 12\nbogus = true\n").unwrap();
    let errors = || {
        let text = http(admin, "GET", "/metrics").map_err(|e| e.to_string())?.1;
        let n = metric_sum(&text, r#"slotgate_config_reloads_total{result="error"}"#);
        if n >= 1.0 {
            Ok(())
        } else {
            Err(format!("errors = {n}"))
        }
    };
    eventually(Duration::from_secs(10), errors);
    let mut fresh =
        Client::connect_auth(proxy.port, Some("new")).expect("the last good config still serves");
    assert_eq!(
        frame_text(&fresh.cmd(&["SET", "after", "bad-file"]).unwrap()),
        "OK"
    );

    std::thread::sleep(Duration::from_millis(300));
    load.finish();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during the reloads ({} ok)",
        done.load(Ordering::Relaxed)
    );
    assert!(
        proxy
            .child()
            .log()
            .contains("config reloaded: proxy.password: changed"),
        "{}",
        proxy.child().log()
    );
    assert!(
        proxy
            .child()
            .log()
            .contains("config reloaded: cluster.read_from: \"master\" → \"replica\""),
        "{}",
        proxy.child().log()
    );
    assert!(!proxy.child().log().contains("\"new\""));
}

#[test]
fn reloaded_seeds_credentials_and_refresh_interval_apply_without_a_restart() {
    let mut spec = ClusterSpec::three_by_one(ServerKind::Redis);
    spec.password = Some("backendpass".into());
    let cluster = RedisCluster::start(spec);
    let proxy = Slotgate::spawn(free_port(), &[free_port()], "", "refresh_interval = \"1h\"");
    let mut client = eventually(Duration::from_secs(20), || {
        Client::connect(proxy.port).map_err(|e| e.to_string())
    });
    let reply = frame_text(&client.cmd(&["SET", "reloaded", "1"]).unwrap());
    assert!(reply.starts_with('-'), "no cluster yet: {reply}");
    let text = std::fs::read_to_string(&proxy.config).unwrap();
    let seed = format!("seeds = [\"127.0.0.1:{}\"]", cluster.nodes[0].port);
    let text = text.lines().map(|line| match line {
        l if l.starts_with("seeds = ") => seed.clone(),
        l if l.starts_with("refresh_interval") => {
            "refresh_interval = \"200ms\"\npassword = \"backendpass\"".to_owned()
        }
        l => l.to_owned(),
    });
    std::fs::write(&proxy.config, text.collect::<Vec<_>>().join("\n")).unwrap();
    eventually(Duration::from_secs(20), || {
        match client
            .cmd(&["SET", "reloaded", "1"])
            .map(|f| frame_text(&f))
        {
            Ok(text) if text == "OK" => Ok(()),
            other => Err(format!("{other:?}\n{}", proxy.child().log())),
        }
    });
}
