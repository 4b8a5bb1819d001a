#!/usr/bin/env node
// ioredis's cluster-aware `Redis.Cluster` against a cluster (the seed's way: seed nodes and
// `redisOptions`): 10,000 keys with and without a hash tag, MGET of same-tag keys,
// MULTI/EXEC on `{user:1}` keys, scanStream over every master, reads from replicas
// (`scaleReads: "slave"`: READONLY), and MOVED.
//
// Usage: node cluster_suite.js SEED_PORT PASSWORD
//
// Prints one line per check; exits 1 on failure. Run by tests/tests/clients_cluster.rs.
"use strict";

const assert = require("node:assert/strict");
const Redis = require("ioredis");

const port = Number(process.argv[2]);
const redisOptions = { password: process.argv[3] };
const failed = [];
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ioredis cluster: ${name}`);
  } catch (e) {
    failed.push(name);
    console.log(`FAIL ioredis cluster: ${name}: ${e && e.message ? e.message : e}`);
  }
}

async function main() {
  const cluster = new Redis.Cluster([{ host: "127.0.0.1", port }], { redisOptions });
  await check("SET/GET of 200 keys across all slots", async () => {
    for (let i = 0; i < 200; i++) assert.equal(await cluster.set(`jsc:${i}`, i), "OK");
    for (let i = 0; i < 200; i++) assert.equal(await cluster.get(`jsc:${i}`), String(i));
    assert.ok(cluster.nodes("master").length >= 3);
  });
  await check("10,000 keys without (concurrent) and with a hash tag (pipelined)", async () => {
    const expected = Array.from({ length: 10000 }, (_, i) => String(i));
    const keys = expected.map((i) => `jsc:k:${i}`);
    const set = await Promise.all(keys.map((key, i) => cluster.set(key, i)));
    assert.ok(set.every((v) => v === "OK"));
    assert.deepEqual(await Promise.all(keys.map((key) => cluster.get(key))), expected);
    // A pipeline must stay on one slot in ioredis: the tagged keys.
    const setTagged = cluster.pipeline();
    expected.forEach((i) => setTagged.set(`{jsc}:t:${i}`, i));
    assert.ok((await setTagged.exec()).every(([err, v]) => !err && v === "OK"));
    const getTagged = cluster.pipeline();
    expected.forEach((i) => getTagged.get(`{jsc}:t:${i}`));
    assert.deepEqual((await getTagged.exec()).map(([err, v]) => (err ? String(err) : v)), expected);
  });
  await check("MULTI/EXEC on {user:1} keys", async () => {
    const results = await cluster
      .multi()
      .set("{user:1}:jsc:name", "ann")
      .incr("{user:1}:jsc:visits")
      .mget("{user:1}:jsc:name", "{user:1}:jsc:visits")
      .exec();
    assert.deepEqual(results, [[null, "OK"], [null, 1], [null, ["ann", "1"]]]);
  });
  await check("scanStream over every master finds every key", async () => {
    const found = new Set();
    await Promise.all(
      cluster.nodes("master").map(
        (node) =>
          new Promise((resolve, reject) => {
            const stream = node.scanStream({ match: "jsc:k:*", count: 500 });
            stream.on("data", (keys) => keys.forEach((k) => found.add(k)));
            stream.on("end", resolve);
            stream.on("error", reject);
          }),
      ),
    );
    assert.equal(found.size, 10000);
  });
  await check("reads from replicas (scaleReads: slave)", async () => {
    const replicas = new Redis.Cluster([{ host: "127.0.0.1", port }], { redisOptions, scaleReads: "slave" });
    await cluster.set("jsc:replica-read", "r");
    const owner = cluster.slots[require("cluster-key-slot")("jsc:replica-read")][0];
    const master = cluster.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === owner);
    assert.equal(await master.wait(1, 2000), 1);
    for (let i = 0; i < 10; i++) assert.equal(await replicas.get("jsc:replica-read"), "r");
    replicas.disconnect();
  });
  await check("MSET/MGET with hash tags, pipeline on one slot", async () => {
    assert.equal(await cluster.mset("{jsc}a", "1", "{jsc}b", "2"), "OK");
    assert.deepEqual(await cluster.mget("{jsc}a", "{jsc}b"), ["1", "2"]);
    const results = await cluster.pipeline().incr("{jsc}n").incr("{jsc}n").exec();
    assert.deepEqual(results.map(([, v]) => v).slice(-1)[0] >= 2, true);
  });
  await check("MOVED from the wrong node, followed by the cluster client", async () => {
    const key = "jsc:moved";
    const slot = require("cluster-key-slot")(key);
    const owner = cluster.slots[slot][0];
    const other = cluster.nodes("master").find((n) => `${n.options.host}:${n.options.port}` !== owner);
    await assert.rejects(other.get(key), new RegExp(`MOVED ${slot} .*:${owner.split(":")[1]}$`));
    // Point the client's slot map at the wrong node: it must follow MOVED.
    cluster.slots[slot] = [`${other.options.host}:${other.options.port}`];
    assert.equal(await cluster.set(key, "v"), "OK");
    assert.equal(await cluster.get(key), "v");
  });
  cluster.disconnect();
}

main()
  .catch((e) => { failed.push("suite"); console.log(`FAIL ioredis cluster: suite: ${e.stack}`); })
  .finally(() => {
    if (failed.length) {
      console.log(`${failed.length} check(s) failed: ${failed.join(", ")}`);
      process.exit(1);
    }
    console.log("all checks passed");
    process.exit(0);
  });
