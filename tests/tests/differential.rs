//! The differential suite: every script of `tests/differential/*.txt` runs against a real
//! `redis-server` 7 and against `slotgate-node`, and the raw reply bytes are compared.
//!
//! Known differences are ratcheted by `tests/differential/known-gaps.txt`: a script that
//! differs and is not listed fails the test (a regression); a listed script that now
//! matches (here and in re-runs on fresh nodes) is printed for removal from the list.
//!
//! Environment:
//! - `DIFF_UPDATE_GAPS=1` rewrites known-gaps.txt: every script that differed in any of
//!   several passes, each on a freshly started node (some node replies vary per process).
//! - `DIFF_AGAINST=redis` compares redis-server with a second redis-server instead: the
//!   corpus's determinism self-check, which must match 100%.
//! - `DIFF_FILTER=<text>` runs only the scripts whose `family/name` contains the text
//!   (ratchet checks are skipped).
//! - `DIFF_SHOW=1` also prints every exchange of the reference transcripts (corpus writing).

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use slotgate_tests::differential::{
    compare, escape, family_counts, load_corpus, read_known_gaps, run_corpus, write_known_gaps,
    Outcome, Script, Transcript,
};
use slotgate_tests::free_port;
use slotgate_tests::redis::{RedisServer, ServerKind};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("differential")
}

/// Starts the server under test, turning a failed start into one clear message.
fn start_server(kind: ServerKind) -> RedisServer {
    let port = free_port();
    let started = catch_unwind(AssertUnwindSafe(|| {
        RedisServer::start(kind, port, &[("appendonly", "no")])
    }));
    match started {
        Ok(server) => server,
        Err(cause) => {
            let cause = cause
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "the differential suite could not start {kind:?} on port {port}: {cause}\n\
                 (slotgate-node is found next to the test binary or in $SLOTGATE_BIN_DIR; build it with \
                 `cargo build -p slotgate-node` in the same target dir; its log is \
                 $TMPDIR/slotgate-srv{port}-*/server.log)"
            )
        }
    }
}

fn selected_scripts() -> Vec<Script> {
    let scripts = load_corpus(&corpus_dir()).unwrap_or_else(|e| panic!("bad corpus: {e}"));
    match std::env::var("DIFF_FILTER") {
        Ok(filter) => scripts
            .into_iter()
            .filter(|s| s.id().contains(&filter))
            .collect(),
        Err(_) => scripts,
    }
}

fn show_transcripts(scripts: &[Script], runs: &[Transcript]) {
    for (script, run) in scripts.iter().zip(runs) {
        println!("=== {}", script.id());
        for entry in run {
            println!("  {}\n    -> {}", entry.what, escape(&entry.reply, 200));
        }
    }
}

fn print_outcomes(outcomes: &[Outcome], reference: &str, ours: &str) {
    for outcome in outcomes {
        if let Some(diff) = &outcome.difference {
            println!(
                "DIFF {}\n  at    {}\n  {reference:<6}{}\n  {ours:<6}{}",
                outcome.id, diff.what, diff.reference, diff.ours
            );
        }
    }
    println!("\nper family (matching / scripts):");
    let counts = family_counts(outcomes);
    for (family, (passed, total)) in &counts {
        println!("  {family:<18} {passed:>4} / {total}");
    }
    let passed: usize = counts.values().map(|c| c.0).sum();
    println!("  {:<18} {passed:>4} / {}", "TOTAL", outcomes.len());
}

/// The comment on top of known-gaps.txt.
const GAPS_HEADER: &str = "\
# Differential scripts where slotgate-node's replies still differ from redis-server 7's.
# One `family/script name` per line. The suite fails if a script not listed here differs
# (a regression) and if a listed one now matches (remove it). Regenerate with
# DIFF_UPDATE_GAPS=1 cargo test -p slotgate-tests --test differential
";

/// Full passes (each on a freshly started node) whose differences `DIFF_UPDATE_GAPS=1` unites:
/// some of the node's replies vary from one process to the next (e.g. hash-order).
const UPDATE_PASSES: usize = 6;
/// Fresh-node re-runs a listed script must match in every one of before it is called fixed.
const FIXED_RECHECKS: usize = 4;

/// Runs `scripts` against both servers at once and compares them.
fn run_pass(
    reference: &RedisServer,
    ours: &RedisServer,
    scripts: &[Script],
    show: bool,
) -> Vec<Outcome> {
    let (reference_runs, our_runs) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run_corpus(reference.port, scripts));
        let b = scope.spawn(|| run_corpus(ours.port, scripts));
        (
            a.join().expect("reference runner"),
            b.join().expect("runner under test"),
        )
    });
    if show {
        show_transcripts(scripts, &reference_runs);
    }
    compare(scripts, &reference_runs, &our_runs)
}

/// Ids of the scripts that differed in any of `UPDATE_PASSES` passes (the first one given).
fn differing_in_any_pass(
    first: &[Outcome],
    reference: &RedisServer,
    ours: &mut RedisServer,
    scripts: &[Script],
) -> BTreeSet<String> {
    let mut differing: BTreeSet<String> = first
        .iter()
        .filter(|o| o.difference.is_some())
        .map(|o| o.id.clone())
        .collect();
    for pass in 2..=UPDATE_PASSES {
        ours.restart();
        let outcomes = run_pass(reference, ours, scripts, false);
        let before = differing.len();
        differing.extend(
            outcomes
                .iter()
                .filter(|o| o.difference.is_some())
                .map(|o| o.id.clone()),
        );
        println!(
            "update pass {pass}/{UPDATE_PASSES}: {} more intermittent differences",
            differing.len() - before
        );
    }
    differing
}

/// The ratchet: regressions (differing, not listed) and listed scripts no longer in the
/// corpus, as messages; fixed entries (listed, matching in this run and in
/// [`FIXED_RECHECKS`] re-runs on fresh nodes) are printed for removal.
fn ratchet(
    outcomes: &[Outcome],
    known: &BTreeSet<String>,
    reference: &RedisServer,
    ours: &mut RedisServer,
    scripts: &[Script],
) -> Vec<String> {
    let mut problems: Vec<String> = outcomes
        .iter()
        .filter(|o| o.difference.is_some() && !known.contains(&o.id))
        .map(|o| format!("regression (differs, not in known-gaps): {}", o.id))
        .collect();
    let mut fixed: Vec<Script> = scripts
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| o.difference.is_none() && known.contains(&o.id))
        .map(|(s, _)| s.clone())
        .collect();
    for _ in 0..FIXED_RECHECKS {
        if fixed.is_empty() {
            break;
        }
        ours.restart();
        let again = run_pass(reference, ours, &fixed, false);
        fixed = fixed
            .into_iter()
            .zip(again)
            .filter(|(_, o)| o.difference.is_none())
            .map(|(s, _)| s)
            .collect();
    }
    // Some node replies vary per process (hash-map order of small collections), so a
    // listed script that matches now is reported, not failed: only regressions fail.
    for script in &fixed {
        println!("now matches, remove from known-gaps: {}", script.id());
    }
    for id in known {
        if !outcomes.iter().any(|o| &o.id == id) {
            problems.push(format!("remove from known-gaps (no such script): {id}"));
        }
    }
    problems
}

#[test]
fn differential_against_redis() {
    let started = Instant::now();
    let scripts = selected_scripts();
    let against_redis = std::env::var("DIFF_AGAINST").is_ok_and(|v| v == "redis");
    let (kind, ours_label) = if against_redis {
        (ServerKind::Redis, "redis2")
    } else {
        (ServerKind::SlotgateNode, "ours")
    };

    let reference = start_server(ServerKind::Redis);
    let mut ours = start_server(kind);
    let show = std::env::var("DIFF_SHOW").is_ok_and(|v| v == "1");
    let outcomes = run_pass(&reference, &ours, &scripts, show);
    print_outcomes(&outcomes, "redis", ours_label);
    println!("{} scripts in {:.1?}", scripts.len(), started.elapsed());

    let differing = outcomes.iter().filter(|o| o.difference.is_some()).count();
    if against_redis {
        assert!(
            differing == 0,
            "{differing} scripts are not deterministic (redis vs redis)"
        );
        return;
    }
    if std::env::var("DIFF_FILTER").is_ok() {
        return;
    }
    let gaps_file = corpus_dir().join("known-gaps.txt");
    if std::env::var("DIFF_UPDATE_GAPS").is_ok_and(|v| v == "1") {
        let gaps = differing_in_any_pass(&outcomes, &reference, &mut ours, &scripts);
        write_known_gaps(&gaps_file, GAPS_HEADER, &gaps).expect("write known-gaps.txt");
        println!("known-gaps.txt rewritten: {} entries", gaps.len());
        return;
    }
    let problems = ratchet(
        &outcomes,
        &read_known_gaps(&gaps_file),
        &reference,
        &mut ours,
        &scripts,
    );
    for problem in &problems {
        println!("{problem}");
    }
    assert!(
        problems.is_empty(),
        "{} known-gaps problems (see above; DIFF_UPDATE_GAPS=1 rewrites the list)",
        problems.len()
    );
}
