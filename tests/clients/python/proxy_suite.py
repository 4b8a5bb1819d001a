#!/usr/bin/env python3
"""Every routing class of slotgate, driven by redis-py's plain (cluster-unaware) client.

Usage: proxy_suite.py PORT [PASSWORD]

Runs the whole suite twice, with `redis.Redis(protocol=2)` and `redis.Redis(protocol=3)`.
Prints one line per check ("ok ..." or "FAIL ...: why") and exits 1 if any check failed.
Run by tests/tests/clients_proxy.rs against slotgate in front of a 3+3 cluster.
"""

import sys
import threading
import time

import redis

from common import Checks


def suite(checks, port, password, protocol):
    """Runs every check with one protocol; keys carry the protocol so runs do not collide."""
    p = f"py{protocol}"

    def connect(**extra):
        return redis.Redis(
            port=port, password=password, protocol=protocol, decode_responses=True, **extra
        )

    r = connect()
    check = checks.prefixed(f"resp{protocol}")

    @check("PING, ECHO, SELECT 0")
    def _():
        assert r.ping() is True
        assert r.echo("hi") == "hi"
        assert r.execute_command("SELECT", 0) in (True, "OK")

    @check("CLIENT SETNAME/GETNAME")
    def _():
        assert r.client_setname(f"{p}-suite") is True
        assert r.client_getname() == f"{p}-suite"

    @check("single key: strings, INCR, EXPIRE")
    def _():
        assert r.set(f"{p}:s", "v") is True
        assert r.get(f"{p}:s") == "v"
        assert r.get(f"{p}:missing") is None
        r.delete(f"{p}:n")
        assert r.incr(f"{p}:n") == 1
        assert r.incrby(f"{p}:n", 41) == 42
        assert r.expire(f"{p}:s", 100) is True
        assert 0 < r.ttl(f"{p}:s") <= 100

    @check("single key: hash, list, set, zset")
    def _():
        r.delete(f"{p}:h", f"{p}:l", f"{p}:set", f"{p}:z")
        assert r.hset(f"{p}:h", mapping={"a": "1", "b": "2"}) == 2
        assert r.hgetall(f"{p}:h") == {"a": "1", "b": "2"}
        assert r.rpush(f"{p}:l", "x", "y", "z") == 3
        assert r.lrange(f"{p}:l", 0, -1) == ["x", "y", "z"]
        assert r.sadd(f"{p}:set", "a", "b") == 2
        assert r.smembers(f"{p}:set") == {"a", "b"}
        assert r.zadd(f"{p}:z", {"one": 1, "two": 2}) == 2
        scored = [tuple(pair) for pair in r.zrange(f"{p}:z", 0, -1, withscores=True)]
        assert scored == [("one", 1.0), ("two", 2.0)], scored
        assert r.zscore(f"{p}:z", "two") == 2.0

    @check("same-slot multi-key with hash tags")
    def _():
        user = "{" + p + "user:1}"
        assert r.mset({f"{user}:name": "ann", f"{user}:age": "7"}) is True
        assert r.mget(f"{user}:name", f"{user}:age") == ["ann", "7"]
        assert r.rename(f"{user}:age", f"{user}:years") is True
        r.sadd(f"{user}:s1", "a", "b")
        r.sadd(f"{user}:s2", "b", "c")
        assert r.sinter(f"{user}:s1", f"{user}:s2") == {"b"}

    @check("fan-out MSET/MGET/EXISTS/DEL across slots")
    def _():
        keys = [f"{p}:fan:{i}" for i in range(50)]
        assert r.mset({k: f"v{i}" for i, k in enumerate(keys)}) is True
        assert r.mget(keys + [f"{p}:fan:none"]) == [f"v{i}" for i in range(50)] + [None]
        assert r.exists(*keys, f"{p}:fan:none") == 50
        assert r.delete(*keys) == 50
        assert r.exists(*keys) == 0

    @check("CROSSSLOT for RENAME across slots")
    def _():
        r.set(f"{{a}}{p}", "1")  # slot of "a" is 15495, of "b" is 3300
        try:
            r.rename(f"{{a}}{p}", f"{{b}}{p}")
        except redis.ResponseError as e:
            # redis-py maps the `CROSSSLOT` prefix to its own exception class.
            assert isinstance(e, redis.exceptions.ClusterCrossSlotError), repr(e)
        else:
            raise AssertionError("RENAME across slots succeeded")

    @check("KEYS, SCAN iteration, DBSIZE")
    def _():
        before = r.dbsize()
        keys = {f"{p}:scan:{i}" for i in range(300)}
        r.delete(*keys)
        before = r.dbsize()
        r.mset({k: "1" for k in keys})
        assert set(r.keys(f"{p}:scan:*")) == keys
        seen = list(r.scan_iter(match=f"{p}:scan:*", count=40))
        assert set(seen) == keys and len(seen) >= len(keys), (len(seen), len(set(seen)))
        assert r.dbsize() == before + 300, (before, r.dbsize())

    @check("INFO parse")
    def _():
        info = r.info()
        assert isinstance(info, dict) and info, info
        assert info["db0"]["keys"] > 0, info.get("db0")

    @check("pipeline of 1,000 mixed commands, replies in order")
    def _():
        r.delete(f"{p}:pc", f"{p}:pl")
        pipe = r.pipeline(transaction=False)
        expected = []
        for i in range(1000):
            kind = i % 4
            if kind == 0:
                pipe.set(f"{p}:pk:{i}", i)
                expected.append(True)
            elif kind == 1:
                pipe.get(f"{p}:pk:{i - 1}")
                expected.append(str(i - 1))
            elif kind == 2:
                pipe.incr(f"{p}:pc")
                expected.append(i // 4 + 1)
            else:
                pipe.rpush(f"{p}:pl", i)
                expected.append(i // 4 + 1)
        got = pipe.execute()
        bad = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
        assert len(got) == 1000 and not bad, f"{len(got)} replies, first mismatches {bad[:3]}"

    @check("MULTI/EXEC on one slot (pipeline(transaction=True))")
    def _():
        tag = "{" + p + "tx}"
        pipe = r.pipeline(transaction=True)
        pipe.set(f"{tag}a", 1).incr(f"{tag}a").get(f"{tag}a").rpush(f"{tag}l", "x")
        r.delete(f"{tag}l")
        assert pipe.execute() == [True, 2, "2", 1]

    @check("WATCH + MULTI/EXEC (Redis.transaction)")
    def _():
        key = "{" + p + "tx}w"
        r.set(key, 10)

        def double(pipe):
            value = int(pipe.get(key))
            pipe.multi()
            pipe.set(key, value * 2)

        r.transaction(double, key)
        assert r.get(key) == "20"

    @check("BLPOP woken by a push")
    def _():
        key = f"{p}:bl"
        r.delete(key)
        result = []
        blocked = connect()
        waiter = threading.Thread(target=lambda: result.append(blocked.blpop([key], timeout=10)))
        waiter.start()
        time.sleep(0.3)
        connect().rpush(key, "x")
        waiter.join(12)
        assert result and list(result[0]) == [key, "x"], result

    @check("pub/sub: SUBSCRIBE in one client, PUBLISH in another")
    def _():
        channel = f"{p}:chan"
        sub = connect().pubsub(ignore_subscribe_messages=True)
        sub.subscribe(channel)
        deadline = time.time() + 10
        message = None
        publisher = connect()
        while message is None and time.time() < deadline:
            publisher.publish(channel, "hello")
            message = sub.get_message(timeout=0.5)
        sub.close()
        assert message and message["data"] == "hello", message

    if password is not None:

        @check("AUTH: refused without or with a wrong password")
        def _():
            # retry=None: redis-py would otherwise retry the failed handshake with backoff.
            anonymous = redis.Redis(port=port, protocol=protocol, retry=None)
            try:
                anonymous.get("x")
            except (redis.AuthenticationError, redis.ResponseError) as e:
                assert "NOAUTH" in str(e) or "authenticat" in str(e).lower(), e
            else:
                raise AssertionError("GET without AUTH succeeded")
            wrong = redis.Redis(
                port=port, password="wrong" + password, protocol=protocol, retry=None
            )
            try:
                wrong.ping()
            except (redis.AuthenticationError, redis.ResponseError) as e:
                assert "WRONGPASS" in str(e) or "invalid" in str(e), e
            else:
                raise AssertionError("a wrong password was accepted")


def main():
    port = int(sys.argv[1])
    password = sys.argv[2] if len(sys.argv) > 2 else None
    checks = Checks()
    for protocol in (2, 3):
        suite(checks, port, password, protocol)
    checks.finish()


if __name__ == "__main__":
    main()
