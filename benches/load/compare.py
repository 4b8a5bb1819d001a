#!/usr/bin/env python3
"""Side-by-side load comparisons with redis-benchmark, one run, ratios against a peer.

The machines are shared and noisy, so every figure is a ratio against a peer measured in the
same run. Subcommands:

  proxy  slotgate -> 3+3 redis-server cluster, vs redis-benchmark --cluster direct to the same
         cluster, vs twemproxy (Debian's nutcracker) -> 3 standalone redis-server; one test at
         a time, the three interleaved, best of --rounds, with each proxy's CPU per request and
         the CPU of the servers behind it (the cluster's replicas shown apart: twemproxy's
         servers have none).
  node   slotgate-node vs redis-server, each standalone, appendonly no and yes (everysec),
         one test at a time with the CPU each server spent per request (steadier than ops/s on
         a shared machine), plus RSS after 1,000,000 SETs.

Usage: benches/load/compare.py proxy|node [--bin-dir target/release] [--quick] [--node-port 12400]
                                          [--proxy-port 12100] [--tests set,get,mset] [--rounds 3]
Prints a Markdown table (paste it into benches/README.md). Stops every process it started,
by PID. Loopback only.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BENCH = ["-c", "50", "-r", "100000", "-d", "16"]


class Procs:
    """Processes started by this script; all killed by PID on exit."""

    def __init__(self):
        self.children = []
        self.dir = tempfile.mkdtemp(prefix="slotgate-bench-")

    def start(self, name, argv):
        log = open(os.path.join(self.dir, f"{name}.log"), "ab")
        child = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.dir)
        self.children.append(child)
        return child

    def stop_all(self):
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_port(port, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=60)
    return out.stdout


def start_redis(procs, port, extra=(), binary="redis-server"):
    d = os.path.join(procs.dir, f"n{port}")
    os.makedirs(d, exist_ok=True)
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "", *extra]
    name = f"{os.path.basename(binary)}-{port}"
    child = procs.start(name, argv)
    try:
        wait_port(port)
    except RuntimeError:
        with open(os.path.join(procs.dir, f"{name}.log"), errors="replace") as log:
            sys.stderr.write(f"{name} log:\n{log.read()[-2000:]}\n")
        raise
    return child


def start_cluster(procs, base, binary="redis-server", bus_offset=10000):
    ports = [base + i for i in range(6)]
    children = [start_redis(procs, p, ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                       "--cluster-node-timeout", "5000", "--appendonly", "no",
                                       "--cluster-port", str(p + bus_offset)], binary)
                for p in ports]
    subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                    "--cluster-replicas", "1", "--cluster-yes"], capture_output=True, check=True, timeout=120)
    deadline = time.time() + 60
    while time.time() < deadline:
        if all("cluster_state:ok" in cli(p, "cluster", "info") for p in ports):
            break
        time.sleep(0.2)
    time.sleep(2)  # replicas finish their first sync
    return ports, children


def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def benchmark(port, tests, pipeline, requests, cluster=False, cpu_pids=()):
    """Runs redis-benchmark; returns ({test: ops/s}, {test: p99 ms}, cpu seconds of cpu_pids)."""
    argv = ["redis-benchmark", "-p", str(port), *BENCH, "-t", tests, "-P", str(pipeline), "-n", str(requests), "--csv"]
    if cluster:
        argv.append("--cluster")
    before = cpu_seconds(cpu_pids)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600).stdout
    cpu = cpu_seconds(cpu_pids) - before
    ops, p99 = {}, {}
    for line in out.splitlines():
        cols = [c.strip('"') for c in line.split('","')]
        if len(cols) >= 2 and cols[0] != "test":
            name = cols[0].split()[0].lower()
            ops[name] = float(cols[1])
            if len(cols) >= 7:
                p99[name] = float(cols[6])
    return ops, p99, cpu


def table(title, columns, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def fmt_ops(v):
    return f"{v:,.0f}" if v else "—"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def proxy_comparison(args, procs):
    # Ports from --proxy-port B: cluster B..B+5 (bus B+100..B+105), slotgate B+10 (admin
    # B+11), twemproxy's redis-servers B+20..B+22, twemproxy B+30 (stats B+31).
    base = args.proxy_port
    ports, cluster_children = start_cluster(procs, base, bus_offset=100)
    backend_pids = [c.pid for c in cluster_children]
    proxy_port, admin_port = base + 10, base + 11
    config = os.path.join(procs.dir, "slotgate.toml")
    # SLOTGATE_WORKERS=N sets the proxy's worker threads (default: its own, one per core).
    workers = os.environ.get("SLOTGATE_WORKERS")
    workers_line = f"workers = {int(workers)}\n" if workers else ""
    with open(config, "w") as f:
        f.write(f'[proxy]\nlisten = "127.0.0.1:{proxy_port}"\n{workers_line}\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n\n'
                f'[cluster]\nseeds = ["127.0.0.1:{ports[0]}", "127.0.0.1:{ports[1]}"]\n')
    proxy = procs.start("slotgate", [os.path.join(args.bin_dir, "slotgate"), "--config", config])
    wait_port(proxy_port)
    twem_ports = [base + 20 + i for i in range(3)]
    twem_children = [start_redis(procs, p, ["--appendonly", "no"]) for p in twem_ports]
    twem_port = base + 30
    twem_conf = os.path.join(procs.dir, "nutcracker.yml")
    with open(twem_conf, "w") as f:
        f.write(f"pool:\n  listen: 127.0.0.1:{twem_port}\n  hash: fnv1a_64\n  distribution: ketama\n"
                "  redis: true\n  server_connections: 1\n  servers:\n" +
                "".join(f"   - 127.0.0.1:{p}:1\n" for p in twem_ports))
    twem = procs.start("nutcracker", ["nutcracker", "-c", twem_conf, "-s", str(base + 31)])
    wait_port(twem_port)
    time.sleep(1)

    masters = [c.pid for c, p in zip(cluster_children, ports) if "role:master" in cli(p, "info", "replication")]
    replicas = [pid for pid in backend_pids if pid not in masters]
    twem_backend = [c.pid for c in twem_children]
    targets = {
        "direct": dict(port=ports[0], cluster=True, proxy=[], backend=backend_pids),
        "slotgate": dict(port=proxy_port, cluster=False, proxy=[proxy.pid], backend=backend_pids),
        "twemproxy": dict(port=twem_port, cluster=False, proxy=[twem.pid], backend=twem_backend),
    }
    for pipeline in (1, 16):
        n = (50000 if args.quick else 200000) * (1 if pipeline == 1 else 4)
        rows = []
        for t in args.tests.split(","):
            # One test at a time, the three targets interleaved, best of --rounds: a shared
            # machine's noise only ever slows a run down.
            best = {}
            for _ in range(args.rounds):
                for name, target in targets.items():
                    before = {k: cpu_seconds(target[k]) for k in ("proxy", "backend")}
                    before["replicas"] = cpu_seconds(replicas)
                    ops, p99, _ = benchmark(target["port"], t, pipeline, n, cluster=target["cluster"])
                    run = dict(ops=ops.get(t, 0.0), p99=p99.get(t, 0.0),
                               proxy=cpu_seconds(target["proxy"]) - before["proxy"],
                               backend=cpu_seconds(target["backend"]) - before["backend"],
                               replicas=cpu_seconds(replicas) - before["replicas"])
                    if run["ops"] >= best.get(name, {}).get("ops", -1):
                        best[name] = run
            ours, direct, twemp = best["slotgate"], best["direct"], best["twemproxy"]

            def us(seconds):
                return f"{seconds / n * 1e6:.1f}"

            rows.append([t.upper(), fmt_ops(ours["ops"]), fmt_ops(direct["ops"]), fmt_ops(twemp["ops"]),
                         ratio(ours["ops"], direct["ops"]), ratio(ours["ops"], twemp["ops"]),
                         f"{us(ours['proxy'])} / {us(twemp['proxy'])}",
                         f"{us(ours['backend'])} ({us(ours['replicas'])}) / {us(direct['backend'])} ({us(direct['replicas'])}) / {us(twemp['backend'])}",
                         f"{ours['p99']:.3f} / {direct['p99']:.3f}", f"{ours['p99'] - direct['p99']:+.3f}"])
        table(f"-P {pipeline} (n={n}, best of {args.rounds}; load average {os.getloadavg()[0]:.1f})",
              ["test", "slotgate ops/s", "direct --cluster", "twemproxy", "vs direct", "vs twemproxy",
               "proxy CPU µs/req slotgate / twemproxy",
               "backend CPU µs/req (replicas') behind slotgate / direct / behind twemproxy",
               "p99 ms slotgate / direct", "added p99 ms"], rows)


def node_comparison(args, procs):
    tests = "set,get,incr,lpush,rpop,sadd,hset,zadd,mset"
    node_bin = os.path.join(args.bin_dir, "slotgate-node")
    base = args.node_port
    for aof in ("no", "yes"):
        extra = ["--appendonly", aof, "--appendfsync", "everysec"]
        redis = start_redis(procs, base, extra)
        ours = start_redis(procs, base + 1, extra, binary=node_bin)
        for pipeline in (1, 16):
            n = (50000 if args.quick else 200000) * (1 if pipeline == 1 else 4)
            rows, r_cpu, o_cpu = [], 0.0, 0.0
            # One test at a time, each on redis-server then at once on slotgate-node, so both
            # see about the same machine load, and CPU is known per test.
            for t in tests.split(","):
                r_ops, _, r_t_cpu = benchmark(base, t, pipeline, n, cpu_pids=[redis.pid])
                o_ops, _, o_t_cpu = benchmark(base + 1, t, pipeline, n, cpu_pids=[ours.pid])
                r_cpu, o_cpu = r_cpu + r_t_cpu, o_cpu + o_t_cpu
                rows.append([t.upper(), fmt_ops(o_ops.get(t)), fmt_ops(r_ops.get(t)), ratio(o_ops.get(t), r_ops.get(t)),
                             f"{o_t_cpu / n * 1e6:.2f} / {r_t_cpu / n * 1e6:.2f}", ratio(r_t_cpu, o_t_cpu)])
            table(f"appendonly {aof}, -P {pipeline} (n={n}; CPU s: slotgate-node {o_cpu:.1f}, redis {r_cpu:.1f}; "
                  f"load average {os.getloadavg()[0]:.1f})",
                  ["test", "slotgate-node ops/s", "redis-server ops/s", "ratio",
                   "CPU µs/request slotgate-node / redis", "CPU ratio (redis / ours)"], rows)
        for child in (redis, ours):
            child.kill()
            child.wait()
    redis = start_redis(procs, base + 2, ["--appendonly", "no"])
    ours = start_redis(procs, base + 3, ["--appendonly", "no"], binary=node_bin)
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$16\r\n0123456789abcdef\r\n" % (len(b"key:%d" % n), n)
                       for n in range(1_000_000))
    for port in (base + 2, base + 3):
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=payload, capture_output=True, timeout=600)
    r_rss, o_rss = rss_kib(redis.pid), rss_kib(ours.pid)
    table("RSS after 1,000,000 `SET key:<n> <16 bytes>` (redis-cli --pipe)",
          ["server", "keys", "RSS MiB", "ratio"],
          [["redis-server", cli(base + 2, "dbsize").strip(), f"{r_rss / 1024:.0f}", "1.00×"],
           ["slotgate-node", cli(base + 3, "dbsize").strip(), f"{o_rss / 1024:.0f}", ratio(o_rss, r_rss)]])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["proxy", "node"])
    parser.add_argument("--bin-dir", default="target/release")
    parser.add_argument("--quick", action="store_true", help="fewer requests per test")
    parser.add_argument("--node-port", type=int, default=12400, help="node: first of the 4 ports used")
    parser.add_argument("--tests", default="set,get,mset",
                        help="proxy: redis-benchmark tests (one at a time gives CPU seconds per test)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="proxy: runs per test and target, the best one reported")
    parser.add_argument("--proxy-port", type=int, default=12100,
                        help="proxy: first of the ports used (B..B+31 and bus ports B+100..B+105)")
    args = parser.parse_args()
    procs = Procs()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        {"proxy": proxy_comparison, "node": node_comparison}[args.what](args, procs)
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
