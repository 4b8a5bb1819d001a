#!/usr/bin/env python3
"""A 3+3 slotgate-node cluster vs a 3+3 redis-server cluster, one run, ratios.

Both clusters are started the same way (compare.py's `start_cluster`: `cluster-enabled yes`,
`cluster-node-timeout 5000`, `appendonly no`, no snapshots, formed by
`redis-cli --cluster create … --cluster-replicas 1`) and run side by side; each measurement
runs on the redis-server cluster and at once after on the slotgate-node one, so both see
about the same machine load. The measurements:

1. `redis-benchmark --cluster -c 50 -r 100000 -d 16 -t set,get -P 1` and `-P 16`;
2. resharding: FLUSHALL, then `--keys` keys `reshard:<n>` (spread over all 16384 slots,
   written by redis-py's RedisCluster in pipelines), then
   `redis-cli --cluster reshard --cluster-from <first master> --cluster-to <second master>
   --cluster-slots <slots> --cluster-yes` timed from start to exit; keys moved = the
   source's DBSIZE before minus after.

Usage: benches/load/cluster.py [--bin-dir target/release] [--requests 100000] [--keys 100000]
                               [--slots 4000]
Prints Markdown tables for benches/README.md. Stops every process it started, by PID.
Ports 14100–14105 (redis-server) and 14120–14125 (slotgate-node), bus ports (`cluster-port`) 50
above, all below the kernel's ephemeral range (32768+), where an outgoing connection's local
port can take a port before a server binds it; `--base` moves them all.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

from redis.cluster import RedisCluster

from compare import Procs, benchmark, cli, fmt_ops, ratio, start_cluster, table


BUS_OFFSET = 50


def masters(port):
    """(id, port) of every master, as `port` sees them, by port."""
    found = []
    for line in cli(port, "cluster", "nodes").splitlines():
        fields = line.split()
        if len(fields) > 2 and "master" in fields[2]:
            found.append((fields[0], int(fields[1].split("@")[0].rsplit(":", 1)[1])))
    return sorted(found, key=lambda m: m[1])


def fill(port, keys):
    rc = RedisCluster(host="127.0.0.1", port=port)
    for start in range(0, keys, 5000):
        pipe = rc.pipeline()
        for n in range(start, min(start + 5000, keys)):
            pipe.set(f"reshard:{n}", n)
        pipe.execute()
    rc.close()


def reshard(port, keys, slots):
    """Returns (keys moved, seconds) for one `redis-cli --cluster reshard`."""
    for _, master in masters(port):
        cli(master, "flushall")
    fill(port, keys)
    (source, source_port), (target, _) = masters(port)[:2]
    before = int(cli(source_port, "dbsize"))
    started = time.monotonic()
    subprocess.run(["redis-cli", "--cluster", "reshard", f"127.0.0.1:{port}", "--cluster-from", source,
                    "--cluster-to", target, "--cluster-slots", str(slots), "--cluster-yes"],
                   capture_output=True, check=True, timeout=1800)
    elapsed = time.monotonic() - started
    return before - int(cli(source_port, "dbsize")), elapsed


def measure(args, redis_port, ours_port, pids):
    """{name: (redis result, slotgate-node result)}, each measurement back to back."""
    result = {}
    for pipeline in (1, 16):
        n = args.requests * (1 if pipeline == 1 else 4)
        result[pipeline] = [(n, *benchmark(port, "set,get", pipeline, n, cluster=True, cpu_pids=pids[port]))
                            for port in (redis_port, ours_port)]
    result["reshard"] = [reshard(port, args.keys, args.slots) for port in (redis_port, ours_port)]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default="target/release")
    parser.add_argument("--requests", type=int, default=100000,
                        help="redis-benchmark requests at -P 1 (four times as many at -P 16)")
    parser.add_argument("--keys", type=int, default=100000)
    parser.add_argument("--slots", type=int, default=4000)
    parser.add_argument("--base", type=int, default=14100, help="redis-server's first port; slotgate-node's is 20 above")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    load_before = os.getloadavg()
    procs = Procs()
    try:
        redis_ports, redis_children = start_cluster(procs, args.base, bus_offset=BUS_OFFSET)
        ours_ports, ours_children = start_cluster(procs, args.base + 20, os.path.join(args.bin_dir, "slotgate-node"),
                                                  BUS_OFFSET)
        pids = {redis_ports[0]: [c.pid for c in redis_children], ours_ports[0]: [c.pid for c in ours_children]}
        result = measure(args, redis_ports[0], ours_ports[0], pids)
    finally:
        procs.stop_all()
    print(f"load average (1/5/15 min) before: {load_before}, after: {os.getloadavg()}")
    for pipeline in (1, 16):
        (n, r_ops, r_p99, r_cpu), (_, o_ops, o_p99, o_cpu) = result[pipeline]
        rows = [[t.upper(), fmt_ops(o_ops.get(t)), fmt_ops(r_ops.get(t)), ratio(o_ops.get(t), r_ops.get(t)),
                 f"{o_p99.get(t, 0):.3f} / {r_p99.get(t, 0):.3f}"] for t in ("set", "get")]
        table(f"redis-benchmark --cluster -P {pipeline} (n={n}; cluster CPU s: slotgate-node {o_cpu:.1f}, "
              f"redis {r_cpu:.1f})",
              ["test", "slotgate-node ops/s", "redis-server ops/s", "ratio", "p99 ms slotgate-node / redis"], rows)
    (r_moved, r_secs), (o_moved, o_secs) = result["reshard"]
    table(f"redis-cli --cluster reshard of {args.slots} slots ({args.keys} keys over all slots)",
          ["cluster", "keys moved", "seconds", "keys/s", "ratio"],
          [["redis-server", str(r_moved), f"{r_secs:.1f}", fmt_ops(r_moved / r_secs), "1.00×"],
           ["slotgate-node", str(o_moved), f"{o_secs:.1f}", fmt_ops(o_moved / o_secs),
            ratio(o_moved / o_secs, r_moved / r_secs)]])


if __name__ == "__main__":
    main()
