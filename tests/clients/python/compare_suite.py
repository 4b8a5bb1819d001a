#!/usr/bin/env python3
"""The same redis-py suite against a reference server and ours; every reply must match.

Usage: compare_suite.py REFERENCE_PORT OUR_PORT

For protocol 2 and 3: a data-type suite (strings, keys, hashes, lists, sets, sorted sets,
errors) one command at a time, then a 10,000-command pipeline. Each reply is what redis-py
returns (after its response callbacks), so a discrepancy is one a redis-py user would see.
Prints one line per check and exits 1 if any reply differs. Run by tests/tests/clients_node.rs.
"""

import sys

import redis

from common import Checks

# (command, args...) run in order on a flushed database; replies compared one by one.
DATA_TYPES = [
    ("SET", "s", "hello"), ("GET", "s"), ("APPEND", "s", " world"), ("STRLEN", "s"),
    ("GETRANGE", "s", 0, 4), ("SETNX", "s", "x"), ("INCR", "n"), ("INCRBYFLOAT", "n", "1.5"),
    ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "nope"), ("GETDEL", "a"),
    ("SET", "e", "v", "EX", 100), ("TTL", "e"), ("PERSIST", "e"), ("TTL", "e"),
    ("EXISTS", "s", "b", "nope"), ("TYPE", "s"), ("RENAME", "b", "c"), ("DEL", "c", "nope"),
    ("HSET", "h", "f1", "v1", "f2", "v2"), ("HGET", "h", "f1"), ("HGETALL", "h"),
    ("HINCRBY", "h", "n", 3), ("HKEYS", "h"), ("HLEN", "h"), ("HDEL", "h", "f1"),
    ("HEXISTS", "h", "f1"), ("HMGET", "h", "f2", "nope"),
    ("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LRANGE", "l", 0, -1),
    ("LPOP", "l"), ("RPOP", "l", 2), ("LLEN", "l"), ("LINDEX", "l", 0), ("LPOS", "l", "a"),
    ("SADD", "set", "a", "b", "c"), ("SISMEMBER", "set", "a"), ("SMEMBERS", "set"),
    ("SCARD", "set"), ("SREM", "set", "a"), ("SADD", "set2", "b", "x"),
    ("SINTER", "set", "set2"), ("SUNION", "set", "set2"), ("SDIFF", "set", "set2"),
    ("ZADD", "z", 1, "one", 2, "two", 3.5, "three"), ("ZSCORE", "z", "three"),
    ("ZRANGE", "z", 0, -1, "WITHSCORES"), ("ZRANK", "z", "two"), ("ZINCRBY", "z", 2, "one"),
    ("ZRANGEBYSCORE", "z", 2, "+inf"), ("ZREVRANGE", "z", 0, 0), ("ZCARD", "z"),
    ("ZPOPMIN", "z"), ("ZMSCORE", "z", "two", "nope"),
    ("GET", "h"), ("INCR", "s"), ("LPUSH", "s", "x"), ("HGET", "l", "f"),
    ("DBSIZE",),
]


def compare(checks, ref, ours, name, run):
    """Runs `run(client)` on both servers and checks that the results are equal."""

    def outcome(client):
        try:
            return run(client)
        except redis.ResponseError as e:
            return f"error: {e}"

    def body():
        want, got = outcome(ref), outcome(ours)
        if want != got:
            if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
                diffs = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
                raise AssertionError(f"{len(diffs)} replies differ, first: {diffs[:5]}")
            raise AssertionError(f"reference {want!r}, ours {got!r}")

    checks.run(name, body)


# Replies whose order Redis does not specify (real Redis happens to keep a small hash's
# insertion order; slotgate-node does not): compared sorted.
UNORDERED = {"HKEYS", "HVALS", "SMEMBERS", "SINTER", "SUNION", "SDIFF"}


def normalize(command, reply):
    """Sets and unordered replies compare as sorted lists."""
    if isinstance(reply, (set, frozenset)) or (command in UNORDERED and isinstance(reply, list)):
        return sorted(reply)
    return reply


def pipeline_10k(client):
    """A 10,000-command pipeline of mixed writes and reads; returns every reply in order."""
    pipe = client.pipeline(transaction=False)
    for i in range(10_000):
        key = f"p:{i % 500}"
        kind = i % 5
        if kind == 0:
            pipe.set(key, i)
        elif kind == 1:
            pipe.get(key)
        elif kind == 2:
            pipe.incr(f"cnt:{i % 7}")
        elif kind == 3:
            pipe.rpush(f"list:{i % 11}", i)
        else:
            pipe.hset(f"hash:{i % 13}", f"f{i % 17}", i)
    return pipe.execute(raise_on_error=False)


def main():
    ref_port, our_port = int(sys.argv[1]), int(sys.argv[2])
    checks = Checks()
    for protocol in (2, 3):
        ref = redis.Redis(port=ref_port, protocol=protocol, decode_responses=True)
        ours = redis.Redis(port=our_port, protocol=protocol, decode_responses=True)
        for client in (ref, ours):
            client.flushall()
        for command in DATA_TYPES:
            name = f"resp{protocol}: {' '.join(map(str, command))}"
            compare(checks, ref, ours, name, lambda c, cmd=command: normalize(cmd[0], c.execute_command(*cmd)))
        for client in (ref, ours):
            client.flushall()
        compare(checks, ref, ours, f"resp{protocol}: 10,000-command pipeline",
                lambda c: [repr(r) for r in pipeline_10k(c)])
    checks.finish()


if __name__ == "__main__":
    main()
