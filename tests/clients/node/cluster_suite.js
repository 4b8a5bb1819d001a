#!/usr/bin/env node
// ioredis's cluster-aware `Redis.Cluster` against a cluster: keys on every master, MOVED.
//
// Usage: node cluster_suite.js SEED_PORT
//
// Prints one line per check; exits 1 on failure. Run by tests/tests/clients_cluster.rs.
"use strict";

const assert = require("node:assert/strict");
const Redis = require("ioredis");

const port = Number(process.argv[2]);
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
  const cluster = new Redis.Cluster([{ host: "127.0.0.1", port }]);
  await check("SET/GET of 200 keys across all slots", async () => {
    for (let i = 0; i < 200; i++) assert.equal(await cluster.set(`jsc:${i}`, i), "OK");
    for (let i = 0; i < 200; i++) assert.equal(await cluster.get(`jsc:${i}`), String(i));
    assert.ok(cluster.nodes("master").length >= 3);
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
