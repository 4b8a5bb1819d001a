#!/usr/bin/env python3
"""redis-py's cluster-aware `RedisCluster` against a cluster: keys on every master, MOVED.

Usage: cluster_suite.py SEED_PORT

For protocol 2 and 3: SET/GET of 200 keys spread over all slots, MSET/MGET split by
redis-py, a hash-tagged pipeline, and MOVED: a plain client sent to the wrong node gets
MOVED pointing at the owner, and `RedisCluster` follows it after its slot cache is
corrupted on purpose. Prints one line per check; exits 1 on failure.
Run by tests/tests/clients_cluster.rs.
"""

import sys

import redis
from redis.cluster import RedisCluster

from common import Checks


def suite(checks, port, protocol):
    rc = RedisCluster(host="127.0.0.1", port=port, protocol=protocol, decode_responses=True)
    check = checks.prefixed(f"resp{protocol}")
    p = f"pyc{protocol}"

    @check("SET/GET of 200 keys across all slots")
    def _():
        for i in range(200):
            assert rc.set(f"{p}:{i}", i) is True
        assert [rc.get(f"{p}:{i}") for i in range(200)] == [str(i) for i in range(200)]
        masters = {rc.get_node_from_key(f"{p}:{i}").port for i in range(200)}
        assert len(masters) >= 3, masters

    @check("MSET/MGET split by slot (mset_nonatomic / mget_nonatomic)")
    def _():
        pairs = {f"{p}:m:{i}": str(i) for i in range(50)}
        assert all(rc.mset_nonatomic(pairs))
        assert rc.mget_nonatomic(list(pairs)) == list(pairs.values())

    @check("pipeline across slots")
    def _():
        pipe = rc.pipeline()
        for i in range(100):
            pipe.incr(f"{p}:pc:{i}")
        assert pipe.execute() == [1] * 100

    @check("MOVED from the wrong node, followed by RedisCluster")
    def _():
        key = f"{p}:moved"
        owner = rc.get_node_from_key(key)
        other = next(n for n in rc.get_primaries() if n.port != owner.port)
        plain = redis.Redis(port=other.port, protocol=protocol)
        try:
            plain.get(key)
        except redis.exceptions.MovedError as e:
            assert str(e).endswith(f":{owner.port}"), str(e)
        except redis.ResponseError as e:
            assert f"MOVED {rc.keyslot(key)} " in str(e) and str(e).endswith(f":{owner.port}"), e
        else:
            raise AssertionError("no MOVED from a node that does not own the slot")
        # Point the client's slot cache at the wrong node: the next command gets MOVED.
        slot = rc.keyslot(key)
        rc.nodes_manager.slots_cache[slot] = [other]
        assert rc.set(key, "v") is True
        assert rc.get(key) == "v"
        assert rc.nodes_manager.slots_cache[slot][0].port == owner.port


def main():
    port = int(sys.argv[1])
    checks = Checks()
    for protocol in (2, 3):
        suite(checks, port, protocol)
    checks.finish()


if __name__ == "__main__":
    main()
