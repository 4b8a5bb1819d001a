//! The differential corpus (`tests/differential/*.txt`) through slotgate in front of a real
//! 3+3 cluster (redis-server 7 and slotgate-node, one test each), compared byte for byte
//! with one standalone redis-server: a cluster-unaware client must not be able to tell the
//! proxy from Redis except where a cluster itself differs.
//!
//! What legitimately differs in front of a cluster — CROSSSLOT for keys in several slots,
//! SELECT of another database, CONFIG SET/SAVE/MONITOR/DEBUG, the proxy's own INFO and CLIENT
//! LIST — is listed in `tests/differential/through-proxy.gaps` and ratcheted
//! like `known-gaps.txt`: a script that differs and is not listed fails the test (after one
//! re-run, so a timing hiccup through the extra hop is not called a regression); a listed
//! script that matches is printed for removal. Scripts that wait on the server's count of
//! blocked clients (`!blocked`) are left out: through a proxy that count is the backends'.
//!
//! `DIFF_UPDATE_GAPS=1` adds this run's differences to the list (delete the file first to
//! start over); `DIFF_FILTER=<text>` runs only the matching scripts, without the ratchet.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use slotgate_tests::both_servers;
use slotgate_tests::differential::{
    compare, family_counts, load_corpus, read_known_gaps, run_corpus, write_known_gaps, Outcome,
    Script, Step,
};
use slotgate_tests::free_port;
use slotgate_tests::proxy::Slotgate;
use slotgate_tests::redis::{ClusterSpec, RedisCluster, RedisServer, ServerKind};

/// The comment on top of through-proxy.gaps.
const GAPS_HEADER: &str = "\
# Differential scripts whose replies through slotgate (in front of a 3+3 cluster) differ
# from one standalone redis-server 7's, because a cluster differs: keys in several slots
# (CROSSSLOT), other databases, CONFIG SET, SAVE, MONITOR, DEBUG, the proxy's own INFO and
# CLIENT LIST. One `family/script name` per line; a script that differs and
# is not listed fails tests/tests/proxy_differential.rs. DIFF_UPDATE_GAPS=1 adds a run's
# differences (delete this file first to start over).
";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("differential")
}

fn gaps_file() -> PathBuf {
    corpus_dir().join("through-proxy.gaps")
}

/// The corpus minus the scripts that count blocked clients (and minus what `DIFF_FILTER`
/// leaves out).
fn scripts() -> Vec<Script> {
    let filter = std::env::var("DIFF_FILTER").unwrap_or_default();
    load_corpus(&corpus_dir())
        .unwrap_or_else(|e| panic!("bad corpus: {e}"))
        .into_iter()
        .filter(|s| {
            !s.steps
                .iter()
                .any(|step| matches!(step, Step::Blocked { .. }))
        })
        .filter(|s| s.id().contains(&filter))
        .collect()
}

/// Runs `scripts` on the reference and through the proxy at once, and compares.
fn run_pass(reference: u16, proxy: u16, scripts: &[Script]) -> Vec<Outcome> {
    let (reference_runs, proxy_runs) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run_corpus(reference, scripts));
        let b = scope.spawn(|| run_corpus(proxy, scripts));
        (
            a.join().expect("reference runner"),
            b.join().expect("proxy runner"),
        )
    });
    compare(scripts, &reference_runs, &proxy_runs)
}

fn differing(outcomes: &[Outcome]) -> BTreeSet<String> {
    outcomes
        .iter()
        .filter(|o| o.difference.is_some())
        .map(|o| o.id.clone())
        .collect()
}

both_servers! {
    corpus_through_the_proxy => corpus_through_the_proxy_slotgate_node, corpus_through_the_proxy_redis;
}

fn corpus_through_the_proxy(kind: ServerKind) {
    let reference = RedisServer::start(ServerKind::Redis, free_port(), &[("appendonly", "no")]);
    let cluster = RedisCluster::start(ClusterSpec::three_by_one(kind));
    let proxy = Slotgate::start(&[cluster.nodes[0].port], "", "");
    let scripts = scripts();
    let outcomes = run_pass(reference.port, proxy.port, &scripts);
    for outcome in &outcomes {
        if let Some(diff) = &outcome.difference {
            println!(
                "DIFF {}\n  at    {}\n  redis {}\n  proxy {}",
                outcome.id, diff.what, diff.reference, diff.ours
            );
        }
    }
    for (family, (matching, total)) in family_counts(&outcomes) {
        println!("  {family:<18} {matching:>4} / {total}");
    }
    if std::env::var("DIFF_FILTER").is_ok() {
        return;
    }
    let mut known = read_known_gaps(&gaps_file());
    if std::env::var("DIFF_UPDATE_GAPS").is_ok_and(|v| v == "1") {
        known.extend(differing(&outcomes));
        write_known_gaps(&gaps_file(), GAPS_HEADER, &known).expect("write through-proxy.gaps");
        return;
    }
    let suspects: Vec<Script> = scripts
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.difference.is_some() && !known.contains(&o.id))
        .map(|(s, _)| s.clone())
        .collect();
    let regressions = differing(&run_pass(reference.port, proxy.port, &suspects));
    for outcome in &outcomes {
        if outcome.difference.is_none() && known.contains(&outcome.id) {
            println!(
                "now matches through the proxy, remove from the gaps: {}",
                outcome.id
            );
        }
    }
    assert!(
        regressions.is_empty(),
        "scripts that differ through the proxy and are not in through-proxy.gaps: {regressions:#?}"
    );
}
