// Issue 13, finding 5: with two servers that expose the same name unprefixed (`prefix: ""`), a
// call made while the first server was still starting ran the second server's tool. DESIGN §4:
// a later server never takes an earlier server's name; the owner is fixed by config order
// (from the catalogue, or by waiting for the earlier server within its start-up bound), never by
// which server answered first.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NODE, T, fixture, makeTmp, openSession, rmTmp, waitUntil } from "./lib/harness.mjs";

const lists = (file, args = []) => ({ command: NODE, args: [fixture("lists.mjs"), "--data", file, ...args], prefix: "" });
const schema = { type: "object" };

/** Servers a (first, slow to start) and b (second, fast), both with an unprefixed `echo`. */
function twoServers(dir, slowMs, delayIf) {
  const a = path.join(dir, "a.json");
  const b = path.join(dir, "b.json");
  fs.writeFileSync(a, JSON.stringify({ tools: [{ name: "echo", inputSchema: schema }] }));
  fs.writeFileSync(b, JSON.stringify({ tools: [{ name: "echo", inputSchema: schema }, { name: "other", inputSchema: schema }] }));
  const slow = ["--delay-ms", String(slowMs), ...(delayIf ? ["--delay-if", delayIf] : [])];
  return { a: lists(a, ["--name", "a", ...slow]), b: lists(b, ["--name", "b"]) };
}

const upLine = (s, name) => s.gw.stderr.split("\n").some((l) => l.includes(`[${name}] ready in`));

test("a call to a shared name while the first server starts waits for it and reaches it", { timeout: T(60000) }, async () => {
  const dir = makeTmp("shadow-wait");
  const s = await openSession({ dir, servers: twoServers(dir, T(3000)), gateway: { startup_wait: "20s" } }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    await waitUntil(() => upLine(s, "b"), T(10000), "server b ready");
    assert.ok(!upLine(s, "a"), "server a is still starting (the test needs it slow)");
    assert.equal(await s.callText("echo"), "a:echo", "the first server in config order owns echo");
    assert.equal(await s.callText("other"), "b:other");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("once the first list is given up on, a shared name is never the later server's", { timeout: T(60000) }, async () => {
  const dir = makeTmp("shadow-short");
  const s = await openSession({ dir, servers: twoServers(dir, T(4000)), gateway: { startup_wait: "200ms" } }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    await waitUntil(() => upLine(s, "b"), T(10000), "server b ready");
    assert.ok(!upLine(s, "a"), "server a is still starting (the test needs it slow)");
    const early = await s.tools();
    assert.ok(!early.has("echo"), `echo is not given to b while a starts: ${[...early.keys()]}`);
    let text;
    try {
      text = await s.callText("echo");
    } catch (e) {
      text = `error: ${e.message}`;
    }
    assert.notEqual(text, "b:echo", "the later server never answers for the earlier one's name");
    // Once a is up, names follow config order: a's echo is `echo`, b's is renamed.
    await waitUntil(() => upLine(s, "a"), T(15000), "server a ready");
    const tools = await waitUntil(async () => {
      const t = await s.tools();
      return t.has("echo") && t.has("other") ? t : null;
    }, T(5000), "the full list");
    assert.equal(await s.callText("echo"), "a:echo");
    assert.equal(await s.callText("other"), "b:other");
    const renamed = [...tools.keys()].find((n) => /^echo_[0-9a-f]{8}$/.test(n));
    assert.ok(renamed, `b's echo renamed: ${[...tools.keys()]}`);
    assert.equal(await s.callText(renamed), "b:echo");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("from the catalogue, the first server owns its names at once while it starts", { timeout: T(60000) }, async () => {
  const dir = makeTmp("shadow-cat");
  const slow = path.join(dir, "slow");
  const defs = twoServers(dir, T(3000), slow);
  let s = await openSession({ dir, servers: defs, gateway: { startup_wait: "10s" } }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    const first = await s.tools();
    const renamed = [...first.keys()].find((n) => /^echo_[0-9a-f]{8}$/.test(n));
    assert.ok(first.has("echo") && renamed, `both up: ${[...first.keys()]}`);
    await s.shutdown();
    s.destroy();

    fs.writeFileSync(slow, ""); // a is slow from now on; the catalogue knows its tools
    s = await openSession({ dir, servers: defs, gateway: { startup_wait: "200ms" } });
    await waitUntil(() => upLine(s, "b"), T(10000), "server b ready");
    assert.ok(!upLine(s, "a"), "server a is still starting (the test needs it slow)");
    const tools = await s.tools();
    assert.ok(tools.has("echo") && tools.has(renamed) && tools.has("other"), `the same names at once: ${[...tools.keys()]}`);
    assert.equal(await s.callText(renamed), "b:echo");
    assert.equal(await s.callText("echo"), "a:echo", "a call to a's echo waits for a");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});
