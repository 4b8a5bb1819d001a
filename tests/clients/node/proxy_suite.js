#!/usr/bin/env node
// Every routing class of slotgate, driven by ioredis's plain (cluster-unaware) client.
//
// Usage: node proxy_suite.js PORT [PASSWORD]
//
// Prints one line per check ("ok ..." or "FAIL ...: why") and exits 1 if any check failed.
// Run by tests/tests/clients_proxy.rs against slotgate in front of a 3+3 cluster.
"use strict";

const assert = require("node:assert/strict");
const Redis = require("ioredis");

const port = Number(process.argv[2]);
const password = process.argv[3];
const clients = [];
/** A new connection; ioredis's reconnects and offline queue are off so failures surface. */
function connect(extra = {}) {
  const client = new Redis({ port, host: "127.0.0.1", password, maxRetriesPerRequest: 0,
    retryStrategy: () => null, ...extra });
  clients.push(client);
  return client;
}

const failed = [];
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ioredis: ${name}`);
  } catch (e) {
    failed.push(name);
    console.log(`FAIL ioredis: ${name}: ${e && e.message ? e.message : e}`);
  }
}

async function main() {
  const r = connect();
  const p = "js";

  await check("PING, ECHO, SELECT 0", async () => {
    assert.equal(await r.ping(), "PONG");
    assert.equal(await r.echo("hi"), "hi");
    assert.equal(await r.select(0), "OK");
  });

  await check("CLIENT SETNAME/GETNAME", async () => {
    assert.equal(await r.client("SETNAME", "js-suite"), "OK");
    assert.equal(await r.client("GETNAME"), "js-suite");
  });

  await check("single key: strings, INCR, EXPIRE", async () => {
    assert.equal(await r.set(`${p}:s`, "v"), "OK");
    assert.equal(await r.get(`${p}:s`), "v");
    assert.equal(await r.get(`${p}:missing`), null);
    await r.del(`${p}:n`);
    assert.equal(await r.incr(`${p}:n`), 1);
    assert.equal(await r.incrby(`${p}:n`, 41), 42);
    assert.equal(await r.expire(`${p}:s`, 100), 1);
    const ttl = await r.ttl(`${p}:s`);
    assert.ok(ttl > 0 && ttl <= 100, `ttl ${ttl}`);
  });

  await check("single key: hash, list, set, zset", async () => {
    await r.del(`${p}:h`, `${p}:l`, `${p}:set`, `${p}:z`);
    assert.equal(await r.hset(`${p}:h`, { a: "1", b: "2" }), 2);
    assert.deepEqual(await r.hgetall(`${p}:h`), { a: "1", b: "2" });
    assert.equal(await r.rpush(`${p}:l`, "x", "y", "z"), 3);
    assert.deepEqual(await r.lrange(`${p}:l`, 0, -1), ["x", "y", "z"]);
    assert.equal(await r.sadd(`${p}:set`, "a", "b"), 2);
    assert.deepEqual((await r.smembers(`${p}:set`)).sort(), ["a", "b"]);
    assert.equal(await r.zadd(`${p}:z`, 1, "one", 2, "two"), 2);
    assert.deepEqual(await r.zrange(`${p}:z`, 0, -1, "WITHSCORES"), ["one", "1", "two", "2"]);
  });

  await check("same-slot multi-key with hash tags", async () => {
    const user = "{jsuser:1}";
    assert.equal(await r.mset(`${user}:name`, "ann", `${user}:age`, "7"), "OK");
    assert.deepEqual(await r.mget(`${user}:name`, `${user}:age`), ["ann", "7"]);
    assert.equal(await r.rename(`${user}:age`, `${user}:years`), "OK");
  });

  await check("fan-out MSET/MGET/EXISTS/DEL across slots", async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `${p}:fan:${i}`);
    assert.equal(await r.mset(...keys.flatMap((k, i) => [k, `v${i}`])), "OK");
    assert.deepEqual(await r.mget(...keys, `${p}:fan:none`),
      [...keys.map((_, i) => `v${i}`), null]);
    assert.equal(await r.exists(...keys, `${p}:fan:none`), 50);
    assert.equal(await r.del(...keys), 50);
  });

  await check("CROSSSLOT for RENAME across slots", async () => {
    await r.set(`{a}${p}`, "1");
    await assert.rejects(r.rename(`{a}${p}`, `{b}${p}`), /CROSSSLOT/);
  });

  await check("KEYS, SCAN stream, DBSIZE", async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `${p}:scan:${i}`);
    await r.del(...keys);
    const before = await r.dbsize();
    await r.mset(...keys.flatMap((k) => [k, "1"]));
    assert.deepEqual((await r.keys(`${p}:scan:*`)).sort(), [...keys].sort());
    const seen = new Set();
    for await (const batch of r.scanStream({ match: `${p}:scan:*`, count: 40 })) {
      batch.forEach((k) => seen.add(k));
    }
    assert.equal(seen.size, 300);
    assert.equal(await r.dbsize(), before + 300);
  });

  await check("INFO parse", async () => {
    const info = await r.info();
    const db0 = info.split("\r\n").find((l) => l.startsWith("db0:"));
    assert.ok(db0 && /keys=[1-9]/.test(db0), `db0 line: ${db0}`);
  });

  await check("pipeline of 1,000 mixed commands, replies in order", async () => {
    await r.del(`${p}:pc`, `${p}:pl`);
    const pipe = r.pipeline();
    const expected = [];
    for (let i = 0; i < 1000; i++) {
      switch (i % 4) {
        case 0: pipe.set(`${p}:pk:${i}`, i); expected.push("OK"); break;
        case 1: pipe.get(`${p}:pk:${i - 1}`); expected.push(String(i - 1)); break;
        case 2: pipe.incr(`${p}:pc`); expected.push(Math.floor(i / 4) + 1); break;
        default: pipe.rpush(`${p}:pl`, i); expected.push(Math.floor(i / 4) + 1);
      }
    }
    const results = await pipe.exec();
    assert.equal(results.length, 1000);
    results.forEach(([err, value], i) => {
      assert.equal(err, null, `reply ${i}: ${err}`);
      assert.equal(value, expected[i], `reply ${i}`);
    });
  });

  await check("MULTI/EXEC on one slot", async () => {
    await r.del("{jstx}l");
    const results = await r.multi().set("{jstx}a", 1).incr("{jstx}a").get("{jstx}a")
      .rpush("{jstx}l", "x").exec();
    assert.deepEqual(results, [[null, "OK"], [null, 2], [null, "2"], [null, 1]]);
  });

  await check("BLPOP woken by a push", async () => {
    await r.del(`${p}:bl`);
    const waiting = connect().blpop(`${p}:bl`, 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await connect().rpush(`${p}:bl`, "x");
    assert.deepEqual(await waiting, [`${p}:bl`, "x"]);
  });

  await check("pub/sub: SUBSCRIBE in one client, PUBLISH in another", async () => {
    const sub = connect();
    const received = new Promise((resolve) => sub.on("message", (_, message) => resolve(message)));
    await sub.subscribe(`${p}:chan`);
    const publisher = connect();
    const timer = setInterval(() => publisher.publish(`${p}:chan`, "hello"), 200);
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("no message in 10 s")), 10000));
    try {
      assert.equal(await Promise.race([received, timeout]), "hello");
    } finally {
      clearInterval(timer);
    }
  });

  if (password !== undefined) {
    await check("AUTH: refused without or with a wrong password", async () => {
      const anonymous = connect({ password: undefined });
      anonymous.on("error", () => {}); // its ready check (INFO) is refused too
      await assert.rejects(anonymous.get("x"), /NOAUTH/);
      const wrong = connect({ password: `wrong${password}` });
      const error = await new Promise((resolve) => wrong.once("error", resolve));
      assert.match(String(error), /WRONGPASS/);
    });
  }
}

main()
  .catch((e) => { failed.push("suite"); console.log(`FAIL ioredis: suite: ${e.stack}`); })
  .finally(() => {
    clients.forEach((c) => c.disconnect());
    if (failed.length) {
      console.log(`${failed.length} check(s) failed: ${failed.join(", ")}`);
      process.exit(1);
    }
    console.log("all checks passed");
    process.exit(0);
  });
