#!/usr/bin/env python3
"""Regenerates commands.json, slotgate's Redis 7.0 command table, from a real redis-server.

Usage:  python3 protocol/data/generate.py [--redis-server PATH] [--out PATH]

What it does:
  1. Starts `redis-server` (default: the one on PATH) on a free loopback port below 32768
     with `--save '' --appendonly no` (nothing touches the disk), waits for PING.
  2. Sends `COMMAND` and `COMMAND DOCS` over a raw RESP2 socket (no client library needed).
  3. Stops the server by its PID and writes `commands.json` next to this script.

The file is a JSON array with one top-level command per line, sorted by name; subcommands
are nested under `subcommands`, sorted by name (Redis lists them in hash order, which
changes from run to run). Each command carries exactly what `COMMAND` reports (name,
arity, flags, first_key/last_key/step, acl_categories, tips, key_specs) plus `group` and
`docs` from `COMMAND DOCS` (summary, since, complexity, doc_flags, deprecated_since,
replaced_by, history, arguments). Optional fields are left out when Redis leaves them out.
The integration test protocol/tests/command_table_vs_redis.rs checks the file against a
running redis-server, so regenerate after a Redis upgrade and commit the diff.
"""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def encode(args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        arg = arg.encode() if isinstance(arg, str) else arg
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


class Reader:
    """A minimal RESP2 reply reader: strings come back as str, arrays as lists."""

    def __init__(self, sock):
        self.file = sock.makefile("rb")

    def line(self):
        return self.file.readline()[:-2]

    def read(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            text = rest.decode()
            if kind == b"-":
                raise RuntimeError(text)
            return text
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply line %r" % line)


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def free_port():
    for _ in range(100):
        port = random.randint(20000, 29999)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    sys.exit("no free port found")


def start_server(binary):
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--logfile", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=1)
            sock.sendall(encode(["PING"]))
            if Reader(sock).read() == "PONG":
                return proc, sock
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not answer PING on port %d" % port)


def key_spec(flat):
    spec = pairs(flat)
    out = {}
    if "notes" in spec:
        out["notes"] = spec["notes"]
    out["flags"] = spec["flags"]
    for part in ("begin_search", "find_keys"):
        search = pairs(spec[part])
        entry = {"type": search["type"]}
        if search["spec"]:
            entry["spec"] = pairs(search["spec"])
        out[part] = entry
    return out


def argument(flat):
    arg = pairs(flat)
    if "arguments" in arg:
        arg["arguments"] = [argument(a) for a in arg["arguments"]]
    return arg


def docs_of(flat):
    docs = pairs(flat)
    docs.pop("subcommands", None)
    if "history" in docs:
        docs["history"] = [list(h) for h in docs["history"]]
    if "arguments" in docs:
        docs["arguments"] = [argument(a) for a in docs["arguments"]]
    return docs


def all_docs(reply):
    """name → docs for every command and subcommand in a COMMAND DOCS reply."""
    out = {}
    for name, flat in pairs(reply).items():
        out[name] = docs_of(flat)
        subs = pairs(flat).get("subcommands")
        if subs:
            out.update(all_docs(subs))
    return out


def command(info, docs):
    (name, arity, flags, first, last, step, acl, tips, specs, subs) = info
    doc = docs[name]
    return {
        "name": name, "arity": arity, "flags": flags,
        "first_key": first, "last_key": last, "step": step,
        "acl_categories": acl, "tips": tips,
        "key_specs": [key_spec(s) for s in specs],
        "group": doc.pop("group"),
        "docs": doc,
        "subcommands": sorted((command(s, docs) for s in subs), key=lambda c: c["name"]),
    }


def dump(sock):
    reader = Reader(sock)
    sock.sendall(encode(["COMMAND"]))
    infos = reader.read()
    sock.sendall(encode(["COMMAND", "DOCS"]))
    docs = all_docs(reader.read())
    return sorted((command(i, docs) for i in infos), key=lambda c: c["name"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-server", default="redis-server")
    parser.add_argument("--out", default=os.path.join(HERE, "commands.json"))
    opts = parser.parse_args()
    proc, sock = start_server(opts.redis_server)
    try:
        commands = dump(sock)
    finally:
        sock.close()
        proc.terminate()
        proc.wait(timeout=10)
    lines = [json.dumps(c, separators=(",", ":")) for c in commands]
    with open(opts.out, "w") as f:
        f.write("[\n" + ",\n".join(lines) + "\n]\n")
    print("wrote %d commands to %s" % (len(commands), opts.out))


if __name__ == "__main__":
    main()
