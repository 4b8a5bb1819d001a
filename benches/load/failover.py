#!/usr/bin/env python3
"""Replication and failover benchmarks, slotgate-node vs redis-server 7 measured in the same run.

  failover  3 masters + 3 replicas, cluster-node-timeout 5000; kill -9 of a master; the time
            until its replica is master and every surviving node says cluster_state:ok.
            Median of --runs runs per server, the servers alternating.
  sync      a replica's full sync of 1,000,000 keys (`SET key:<n> <16 bytes>`): REPLICAOF sent
            -> master_link_status:up with master_sync_in_progress:0 (redis: diskless sync,
            repl-diskless-sync-delay 0, so its default 5 s wait is not counted).
  write     redis-benchmark -t set -P 16 on a master with one replica attached, then detached
            (REPLICAOF NO ONE), alternating --runs times; the drop of the medians, per server.

Usage: benches/load/failover.py [failover|sync|write ...] [--bin-dir target/release] [--runs 5]
Prints Markdown tables (paste them into benches/README.md). Stops every process it started, by
PID. Loopback only, ports 13100-13199 (below the kernel's ephemeral range).
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import Procs, benchmark, fmt_ops, ratio, start_redis, table  # noqa: E402

BASE = 13100
NODE_TIMEOUT = "5000"


def command(port, *args, timeout=2.0):
    """One command over a fresh connection; the reply's text (bulk, simple, integer or error)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
        f = s.makefile("rb")
        head = f.readline()
        if head[:1] == b"$":
            n = int(head[1:])
            return "" if n < 0 else f.read(n + 2)[:-2].decode()
        return head[1:].strip().decode()


def field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def alive(port, *args):
    try:
        return command(port, *args)
    except OSError:
        return ""


def wait_until(predicate, timeout, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def servers(args):
    return [("slotgate-node", os.path.join(args.bin_dir, "slotgate-node")), ("redis-server", "redis-server")]


def start_cluster(procs, binary, base):
    """3 masters + 3 replicas; returns {port: child} once healthy (replicas online)."""
    ports = [base + i for i in range(6)]
    extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", NODE_TIMEOUT, "--appendonly", "no"]
    children = {p: start_redis(procs, p, extra, binary=binary) for p in ports}
    subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                    "--cluster-replicas", "1", "--cluster-yes"], capture_output=True, check=True, timeout=120)

    def healthy():
        for p in ports:
            if field(alive(p, "CLUSTER", "INFO"), "cluster_state") != "ok":
                return False
            repl = alive(p, "INFO", "replication")
            if field(repl, "role") == "master" and "state=online" not in repl:
                return False
        return True

    if not wait_until(healthy, 60, 0.2):
        raise RuntimeError("cluster never became healthy")
    return children


def failover_once(binary, base):
    """Seconds from kill -9 of a master to its replica master + cluster_state:ok everywhere."""
    procs = Procs()
    try:
        children = start_cluster(procs, binary, base)
        ports = sorted(children)
        victim = next(p for p in ports[1:] if field(alive(p, "INFO", "replication"), "role") == "master")
        replica = next(p for p in ports if field(alive(p, "INFO", "replication"), "master_port") == str(victim))
        survivors = [p for p in ports if p != victim]
        children[victim].kill()
        killed = time.time()
        children[victim].wait()

        def healed():
            if field(alive(replica, "INFO", "replication"), "role") != "master":
                return False
            return all(field(alive(p, "CLUSTER", "INFO"), "cluster_state") == "ok" for p in survivors)

        if not wait_until(healed, 60):
            raise RuntimeError("no failover within 60 s")
        return time.time() - killed
    finally:
        procs.stop_all()


def failover(args):
    times = {name: [] for name, _ in servers(args)}
    for run in range(args.runs):
        for name, binary in servers(args):
            took = failover_once(binary, BASE)
            times[name].append(took)
            print(f"run {run + 1}: {name} {took:.2f} s  (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    ours, theirs = statistics.median(times["slotgate-node"]), statistics.median(times["redis-server"])
    table(f"Failover: kill -9 of a master -> cluster_state:ok on all 5 survivors, node timeout {NODE_TIMEOUT} ms, "
          f"median of {args.runs} (load {os.getloadavg()[0]:.1f})",
          ["server", "median s", "runs s", "ratio"],
          [["slotgate-node", f"{ours:.2f}", " ".join(f"{t:.2f}" for t in times["slotgate-node"]), ratio(ours, theirs)],
           ["redis-server", f"{theirs:.2f}", " ".join(f"{t:.2f}" for t in times["redis-server"]), "1.00×"]])


def load_keys(port, count):
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$16\r\n0123456789abcdef\r\n" % (len(b"key:%d" % n), n)
                       for n in range(count))
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=payload, capture_output=True, timeout=600)


def sync_once(procs, name, binary, keys):
    """Seconds of a replica's full sync of `keys` keys."""
    master, replica = BASE + 20, BASE + 21
    extra = ["--repl-diskless-sync-delay", "0"] if name == "redis-server" else []
    m = start_redis(procs, master, ["--appendonly", "no", *extra], binary=binary)
    r = start_redis(procs, replica, ["--appendonly", "no"], binary=binary)
    load_keys(master, keys)
    started = time.time()
    command(replica, "REPLICAOF", "127.0.0.1", str(master))

    def synced():
        repl = alive(replica, "INFO", "replication")
        return field(repl, "master_link_status") == "up" and field(repl, "master_sync_in_progress") == "0"

    if not wait_until(synced, 300, 0.01):
        raise RuntimeError("no sync within 300 s")
    took = time.time() - started
    size = alive(replica, "DBSIZE")
    for child in (m, r):
        child.kill()
        child.wait()
    return took, size


def sync(args):
    procs = Procs()
    try:
        rows, took = [], {}
        for name, binary in servers(args):
            took[name], size = sync_once(procs, name, binary, args.keys)
            rows.append([name, size, f"{took[name]:.2f}"])
        rows[0].append(ratio(took["slotgate-node"], took["redis-server"]))
        rows[1].append("1.00×")
        table(f"Full sync of {args.keys:,} keys (REPLICAOF -> link up, sync done; load {os.getloadavg()[0]:.1f})",
              ["server", "replica DBSIZE", "seconds", "ratio"], rows)
    finally:
        procs.stop_all()


def write(args):
    """Alternates: replica attached / detached (REPLICAOF NO ONE), --runs times; medians."""
    procs = Procs()
    try:
        rows, drops = [], {}
        for name, binary in servers(args):
            master, replica = BASE + 30, BASE + 31
            m = start_redis(procs, master, ["--appendonly", "no"], binary=binary)
            r = start_redis(procs, replica, ["--appendonly", "no"], binary=binary)
            alone, attached = [], []
            for _ in range(args.runs):
                command(replica, "REPLICAOF", "127.0.0.1", str(master))
                wait_until(lambda: "state=online" in alive(master, "INFO", "replication"), 120, 0.1)
                attached.append(benchmark(master, "set", 16, args.requests)[0]["set"])
                command(replica, "REPLICAOF", "NO", "ONE")
                wait_until(lambda: field(alive(master, "INFO", "replication"), "connected_slaves") == "0", 30)
                alone.append(benchmark(master, "set", 16, args.requests)[0]["set"])
            a, w = statistics.median(alone), statistics.median(attached)
            drops[name] = 1 - w / a
            rows.append([name, fmt_ops(a), fmt_ops(w), f"{drops[name] * 100:.1f}%",
                         " ".join(f"{x / 1000:.0f}k" for x in alone), " ".join(f"{x / 1000:.0f}k" for x in attached)])
            for child in (m, r):
                child.kill()
                child.wait()
        table(f"SET throughput, -P 16 (n={args.requests}), without vs with one replica, median of {args.runs} "
              f"alternating runs (load {os.getloadavg()[0]:.1f})",
              ["server", "no replica ops/s", "1 replica ops/s", "drop", "runs alone", "runs attached"], rows)
    finally:
        procs.stop_all()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="*", choices=["failover", "sync", "write"], default=["failover", "sync", "write"])
    parser.add_argument("--bin-dir", default="target/release")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    for what in args.what:
        {"failover": failover, "sync": sync, "write": write}[what](args)


if __name__ == "__main__":
    main()
