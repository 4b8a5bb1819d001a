//! The dashboards against the real thing: `promtool check rules` passes, and every PromQL
//! expression of the Grafana dashboard and the alert rules is evaluated by a real Prometheus
//! scraping a running slotgate under load — dashboard queries return data, alerts are quiet.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use slotgate_tests::process::scratch_dir;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, ServerKind};
use slotgate_tests::{eventually, free_port, Child};

fn dashboards() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards")
}

/// Every `"expr": "…"` of the dashboard JSON, unescaped.
fn dashboard_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(dashboards().join("slotgate.json")).unwrap();
    let exprs = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"expr\": \""))
        .map(|rest| rest.trim_end_matches(',').trim_end_matches('"'));
    exprs.map(|e| e.replace("\\\"", "\"")).collect()
}

/// Every `expr:` of the alert rules.
fn rule_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(dashboards().join("alerts.yml")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .map(str::to_owned)
        .collect()
}

/// `promtool query instant`: Ok(output) when the query ran (output empty = no samples).
fn query(url: &str, expr: &str) -> Result<String, String> {
    let out = Command::new("promtool")
        .args(["query", "instant", url, expr])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!("{expr}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

#[test]
fn rules_check_and_every_expression_evaluates() {
    let check = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(dashboards().join("alerts.yml"))
        .output()
        .expect("promtool (Debian package prometheus) installed");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let cluster = RedisCluster::start(ClusterSpec::three_by_one(ServerKind::Redis));
    let admin = free_port();
    let proxy = Slotgate::start(
        &[cluster.nodes[0].port],
        "",
        &format!("[admin]\nlisten = \"127.0.0.1:{admin}\"\n"),
    );
    let dir = scratch_dir("ops-prometheus");
    let scrape = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: slotgate\n    static_configs:\n      - targets: [\"127.0.0.1:{admin}\"]\n",
        dashboards().join("alerts.yml").display()
    );
    std::fs::write(dir.join("prometheus.yml"), scrape).unwrap();
    let web = free_port();
    let args: Vec<String> = vec![
        format!("--config.file={}", dir.join("prometheus.yml").display()),
        format!("--storage.tsdb.path={}", dir.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{web}"),
    ];
    let prometheus = Child::spawn("prometheus", &args, dir.join("prometheus.log")).unwrap();
    let url = format!("http://127.0.0.1:{web}");

    let mut client = proxy.client();
    let mut load = |rounds: usize| {
        for i in 0..rounds {
            client.cmd(&["SET", &format!("k{i}"), "v"]).unwrap();
            client.cmd(&["MGET", "k1", "k2", "k3"]).unwrap();
        }
    };
    load(200);
    eventually(Duration::from_secs(30), || {
        match query(&url, "slotgate_build_info") {
            Ok(out) if !out.is_empty() => Ok(()),
            other => Err(format!("{other:?}\n{}", prometheus.log())),
        }
    });
    for expr in dashboard_exprs() {
        eventually(Duration::from_secs(20), || {
            load(20);
            match query(&url, &expr) {
                Ok(out) if !out.is_empty() => Ok(()),
                other => Err(format!("{expr}: {other:?}")),
            }
        });
    }
    for expr in rule_exprs() {
        assert_eq!(
            query(&url, &expr),
            Ok(String::new()),
            "alert {expr} fires on a healthy proxy"
        );
    }
}
