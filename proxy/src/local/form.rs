//! Forming the local cluster without `redis-cli`: the same commands `redis-cli --cluster
//! create … --cluster-replicas 1` sends — slots to the masters (`CLUSTER ADDSLOTSRANGE`),
//! distinct config epochs, `CLUSTER MEET`, a wait until every node knows every other,
//! `CLUSTER REPLICATE` — then a wait for `cluster_state:ok` everywhere.

use std::time::Duration;

use slotgate_protocol::{Frame, SLOT_COUNT};

use super::nodes::{settings, wait_for};
use crate::backend::query;

/// Sends one command; an error reply or a broken connection is an error naming the node.
pub async fn command(addr: &str, args: &[&str]) -> anyhow::Result<Frame> {
    match query(addr, &settings(), args).await? {
        Frame::Error(text) => anyhow::bail!(
            "{addr}: {} → {}",
            args.join(" "),
            String::from_utf8_lossy(&text)
        ),
        reply => Ok(reply),
    }
}

/// A command's reply as text (bulk or simple strings).
pub async fn text(addr: &str, args: &[&str]) -> anyhow::Result<String> {
    let reply = command(addr, args).await?;
    reply
        .as_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .ok_or_else(|| anyhow::anyhow!("{addr}: unexpected reply {reply:?}"))
}

/// Whether a node runs in cluster mode (answers `CLUSTER MYID`).
pub async fn supports_cluster(addr: &str) -> bool {
    text(addr, &["CLUSTER", "MYID"]).await.is_ok()
}

/// Whether the nodes already form the full cluster (a restart over an existing `--dir`).
pub async fn already_formed(addrs: &[String]) -> bool {
    let Ok(info) = text(&addrs[0], &["CLUSTER", "INFO"]).await else {
        return false;
    };
    info.contains(&format!("cluster_known_nodes:{}", addrs.len()))
        && info.contains(&format!("cluster_slots_assigned:{SLOT_COUNT}"))
}

/// Forms a cluster of `addrs`: the first `masters` are masters, the rest replicate them in turn.
pub async fn form(addrs: &[String], masters: usize) -> anyhow::Result<()> {
    let mut ids = Vec::with_capacity(addrs.len());
    for addr in addrs {
        ids.push(text(addr, &["CLUSTER", "MYID"]).await?);
    }
    for (i, addr) in addrs.iter().take(masters).enumerate() {
        let (start, end) = slot_range(i, masters);
        command(
            addr,
            &[
                "CLUSTER",
                "ADDSLOTSRANGE",
                &start.to_string(),
                &end.to_string(),
            ],
        )
        .await?;
    }
    for (i, addr) in addrs.iter().enumerate() {
        command(addr, &["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()]).await?;
    }
    for addr in &addrs[1..] {
        let (host, port) = addr.rsplit_once(':').unwrap_or((addr, ""));
        command(&addrs[0], &["CLUSTER", "MEET", host, port]).await?;
    }
    let everyone_met = || async {
        for addr in addrs {
            let nodes = text(addr, &["CLUSTER", "NODES"]).await.ok()?;
            let known = nodes
                .lines()
                .filter(|l| !l.contains("handshake") && !l.contains("noaddr"))
                .count();
            (known == addrs.len()).then_some(())?;
        }
        Some(())
    };
    wait_for(Duration::from_secs(30), everyone_met)
        .await
        .ok_or_else(|| anyhow::anyhow!("the nodes did not all meet within 30 s"))?;
    for (i, addr) in addrs.iter().enumerate().skip(masters) {
        command(addr, &["CLUSTER", "REPLICATE", &ids[i % masters]]).await?;
    }
    Ok(())
}

/// Waits until every node says `cluster_state:ok`.
pub async fn wait_ok(addrs: &[String], timeout: Duration) -> anyhow::Result<()> {
    let all_ok = || async {
        for addr in addrs {
            text(addr, &["CLUSTER", "INFO"])
                .await
                .ok()?
                .contains("cluster_state:ok")
                .then_some(())?;
        }
        Some(())
    };
    wait_for(timeout, all_ok).await.ok_or_else(|| {
        anyhow::anyhow!("the cluster did not reach cluster_state:ok within {timeout:?}")
    })
}

/// Master `i`'s slots, split as `redis-cli --cluster create` splits them.
fn slot_range(i: usize, masters: usize) -> (usize, usize) {
    let per = f64::from(SLOT_COUNT) / masters as f64;
    let end = |i: usize| ((i + 1) as f64 * per - 1.0).round() as usize;
    let start = if i == 0 { 0 } else { end(i - 1) + 1 };
    (start, end(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_split_like_redis_cli() {
        assert_eq!(
            (0..3).map(|i| slot_range(i, 3)).collect::<Vec<_>>(),
            vec![(0, 5460), (5461, 10922), (10923, 16383)]
        );
    }
}
