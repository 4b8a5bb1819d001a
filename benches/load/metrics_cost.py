#!/usr/bin/env python3
"""What the metrics cost the data path: slotgate with metrics on and /metrics scraped every
second (a curl loop) vs slotgate with `[metrics] enabled = false`, both in front of the same
3+3 redis-server cluster, measured alternately A/B/A/B… in one run (the machine is shared,
so only the ratio means anything). Goal: metrics on costs at most 3% of ops/s.

Usage: benches/load/metrics_cost.py [--bin-dir target/release] [--rounds 4] [--requests N]
Ports from 35000-35999 that are free when it starts (the range is also the kernel's ephemeral
range, so some may be taken by other connections). Prints a Markdown table for benches/README.md. Stops every process it
started, by PID.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the shared cluster / benchmark helpers)

TESTS = "set,get"


def free(port):
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


def free_run(start, n, bus=False):
    """The first port from `start` up (within 35000-35999) with `n` free ports in a row (and
    their cluster bus ports +10000 when `bus`)."""
    for base in range(start, 36000 - n):
        if all(free(base + i) and (not bus or free(base + i + 10000)) for i in range(n)):
            return base
    raise RuntimeError("no free ports in 35000-35999")


def start_proxy(procs, args, name, port, admin, seeds, metrics):
    config = os.path.join(procs.dir, f"{name}.toml")
    with open(config, "w") as f:
        f.write(f'[proxy]\nlisten = "127.0.0.1:{port}"\n\n[admin]\nlisten = "127.0.0.1:{admin}"\n\n'
                f'[metrics]\nenabled = {"true" if metrics else "false"}\n\n'
                f'[cluster]\nseeds = [{", ".join(f"{chr(34)}127.0.0.1:{s}{chr(34)}" for s in seeds)}]\n')
    child = procs.start(name, [os.path.join(args.bin_dir, "slotgate"), "--config", config])
    compare.wait_port(port)
    return child


def scrape(admin, stop, counts):
    """GET /metrics every second until `stop` is set; counts successful scrapes."""
    while not stop.is_set():
        out = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{admin}/metrics"],
                             capture_output=True, timeout=10)
        if out.returncode == 0 and b"slotgate_commands_total" in out.stdout:
            counts[0] += 1
        stop.wait(1.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release"))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    procs = compare.Procs()
    try:
        ports, _ = compare.start_cluster(procs, free_run(35000, 6, bus=True))
        a = free_run(35100, 2)
        on = start_proxy(procs, args, "metrics-on", a, a + 1, ports[:2], True)
        b = free_run(a + 2, 2)
        off = start_proxy(procs, args, "metrics-off", b, b + 1, ports[:2], False)
        time.sleep(1)
        stop, scrapes = threading.Event(), [0]
        scraper = threading.Thread(target=scrape, args=(a + 1, stop, scrapes), daemon=True)
        scraper.start()
        results = {"on": [], "off": []}
        order = []
        for r in range(args.rounds):
            # A/B then B/A: each side goes first equally often.
            pair = [("on", a, on), ("off", b, off)]
            for name, port, child in pair if r % 2 == 0 else pair[::-1]:
                ops, _, cpu = compare.benchmark(port, TESTS, 16, args.requests, cpu_pids=[child.pid])
                results[name].append((ops, cpu))
                order.append(name)
        stop.set()
        scraper.join()
        load = os.getloadavg()
        rows = []
        for t in TESTS.split(","):
            on_ops = [ops.get(t, 0) for ops, _ in results["on"]]
            off_ops = [ops.get(t, 0) for ops, _ in results["off"]]
            m_on, m_off = statistics.median(on_ops), statistics.median(off_ops)
            rows.append([t.upper(),
                         " / ".join(compare.fmt_ops(v) for v in on_ops),
                         " / ".join(compare.fmt_ops(v) for v in off_ops),
                         compare.fmt_ops(m_on), compare.fmt_ops(m_off),
                         f"{(m_on / m_off - 1) * 100:+.1f}%" if m_off else "—"])
        cpu_on = sum(c for _, c in results["on"])
        cpu_off = sum(c for _, c in results["off"])
        compare.table(
            f"-P 16 -c 50, n={args.requests} per run, {args.rounds} rounds ({' '.join(order)}); "
            f"{scrapes[0]} scrapes; slotgate CPU s on {cpu_on:.1f} / off {cpu_off:.1f}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            ["test", "metrics on + scraped ops/s (each run)", "metrics off ops/s (each run)",
             "median on", "median off", "on vs off"], rows)
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
