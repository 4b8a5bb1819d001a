#!/usr/bin/env python3
"""redis-py's cluster-aware `RedisCluster` against a cluster: keys on every master, MOVED.

Usage: cluster_suite.py SEED_PORT PASSWORD

For protocol 2 and 3: SET/GET of 10,000 keys spread over all slots and 10,000 keys under
one hash tag (pipelined), MSET/MGET split by redis-py, a same-tag MGET, MULTI/EXEC on
`{user:1}` keys, a pipeline across slots, reads from replicas (`read_from_replicas`:
READONLY), and MOVED: a plain client sent to the wrong node gets MOVED pointing at the
owner, and `RedisCluster` follows it after its slot cache is corrupted on purpose. Prints one line per check; exits 1 on failure.
Run by tests/tests/clients_cluster.rs.
"""

import sys
import time

import redis
from redis.cluster import RedisCluster

from common import Checks

PASSWORD = sys.argv[2]


def suite(checks, port, protocol):
    rc = RedisCluster(host="127.0.0.1", port=port, password=PASSWORD, protocol=protocol, decode_responses=True)
    check = checks.prefixed(f"resp{protocol}")
    p = f"pyc{protocol}"

    @check("SET/GET of 200 keys across all slots")
    def _():
        for i in range(200):
            assert rc.set(f"{p}:{i}", i) is True
        assert [rc.get(f"{p}:{i}") for i in range(200)] == [str(i) for i in range(200)]
        masters = {rc.get_node_from_key(f"{p}:{i}").port for i in range(200)}
        assert len(masters) >= 3, masters

    @check("10,000 keys without and with a hash tag, pipelined")
    def _():
        for keys in ([f"{p}:k:{i}" for i in range(10000)], [f"{{{p}}}:t:{i}" for i in range(10000)]):
            pipe = rc.pipeline()
            for i, key in enumerate(keys):
                pipe.set(key, i)
            assert pipe.execute() == [True] * len(keys)
            pipe = rc.pipeline()
            for key in keys:
                pipe.get(key)
            assert pipe.execute() == [str(i) for i in range(len(keys))]

    @check("MGET of same-tag keys, MULTI/EXEC on {user:1} keys")
    def _():
        tagged = [f"{{user:1}}:{p}:{field}" for field in ("name", "visits", "seen")]
        assert rc.mset({tagged[0]: "ann", tagged[2]: "yes"}) is True
        assert rc.mget(tagged) == ["ann", None, "yes"]
        node = rc.get_node_from_key(tagged[0])
        conn = redis.Redis(port=node.port, password=PASSWORD, protocol=protocol, decode_responses=True)
        tx = conn.pipeline(transaction=True)
        tx.set(tagged[0], "bob").incr(tagged[1]).incr(tagged[1]).mget(tagged)
        assert tx.execute() == [True, 1, 2, ["bob", "2", "yes"]]

    @check("reads from replicas (READONLY)")
    def _():
        key = f"{p}:replica-read"
        rc.set(key, "r")
        owner = rc.get_node_from_key(key)
        assert redis.Redis(port=owner.port, password=PASSWORD).wait(1, 2000) == 1
        # CLUSTER SLOTS lists a replica once it has replicated something: wait for it.
        deadline = time.monotonic() + 20
        while True:
            replicas = RedisCluster(
                host="127.0.0.1", port=port, password=PASSWORD, protocol=protocol, decode_responses=True,
                read_from_replicas=True,
            )
            nodes = replicas.nodes_manager.slots_cache[rc.keyslot(key)]
            if len(nodes) > 1 or time.monotonic() > deadline:
                break
            replicas.close()
            time.sleep(0.2)
        replica = nodes[1]
        plain = redis.Redis(port=replica.port, password=PASSWORD, protocol=protocol, decode_responses=True)
        assert plain.execute_command("READONLY") in (True, "OK")
        assert plain.get(key) == "r"
        plain.execute_command("READWRITE")
        try:
            plain.get(key)
        except redis.exceptions.MovedError:
            pass
        else:
            raise AssertionError("no MOVED from a replica after READWRITE")
        assert all(replicas.get(key) == "r" for _ in range(20))
        replicas.close()

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
        plain = redis.Redis(port=other.port, password=PASSWORD, protocol=protocol)
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
