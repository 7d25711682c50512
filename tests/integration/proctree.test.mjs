// Issue 13, finding 1: no process a server starts outlives the gateway, whatever it does to escape
// (double fork, setsid, SIGTERM ignored, stdio closed, stdin kept open, a tree several levels
// deep), and whatever ends the gateway (the client closing stdin, SIGKILL). Every process of a
// server's tree carries a unique marker in its environment; the tests find them by scanning
// /proc, wherever they were reparented to.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { NODE, T, fixture, isAlive, openSession, procStat, sleep, waitUntil, within } from "./lib/harness.mjs";
import { killMarker, markerProcs } from "./lib/marker.mjs";

// docs/architecture.md, "Process tree": the bounds from the client's stdin close and from a
// SIGKILL of the gateway to the last process of every tree gone. The waits below allow these
// plus generous slack for a loaded machine (never a timing assertion: a hard upper bound).
const BOUND_EOF_MS = 4000;
const BOUND_KILL_MS = 2000;
const SLACK_MS = 10000;

/** Waits until no process of the marker is left; returns [left, ms]. */
async function waitMarkerGone(marker, ms) {
  const t0 = performance.now();
  for (;;) {
    const left = markerProcs(marker);
    if (left.length === 0 || performance.now() - t0 >= ms) return [left, performance.now() - t0];
    await sleep(50);
  }
}

const MODES = {
  // the server (node) and the setsid'd daemon; the shell between them is gone
  daemon: (ps) => ps.some((p) => p.comm === "node") && ps.some((p) => p.comm === "sleep"),
  // the server and its two children
  stubborn: (ps) => ps.some((p) => p.comm === "node") && ps.filter((p) => p.comm === "sleep").length === 2,
  // the server and 1 + 2 + 4 + 8 + 16 levels of sleep
  deep: (ps) => ps.some((p) => p.comm === "node") && ps.filter((p) => p.comm === "sleep").length === 31,
};

async function startTree(mode, tag) {
  const marker = `${tag}-${crypto.randomBytes(8).toString("hex")}`;
  const s = await openSession({
    tag,
    servers: { tree: { command: NODE, args: [fixture("tree.mjs"), "--mode", mode], env: { MCPGW_TREE_MARKER: marker } } },
    gateway: { startup_wait: "10s" },
  });
  await s.tools();
  await waitUntil(() => MODES[mode](markerProcs(marker)), T(10000), `the ${mode} tree to be up`);
  return { s, marker };
}

for (const mode of Object.keys(MODES)) {
  test(`stdin EOF: a server's ${mode} tree is gone within ${BOUND_EOF_MS} ms`, { timeout: T(60000) }, async (t) => {
    const { s, marker } = await startTree(mode, `eof-${mode}`);
    try {
      const n = markerProcs(marker).length;
      const t0 = performance.now();
      await s.client.close(); // ends stdin only
      const st = await within(s.gw.exited, T(BOUND_EOF_MS) + SLACK_MS, "the gateway to exit after stdin EOF");
      assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null });
      const [left] = await waitMarkerGone(marker, T(BOUND_EOF_MS) + SLACK_MS);
      t.diagnostic(`${n} processes, all gone ${(performance.now() - t0).toFixed(0)} ms after stdin EOF`);
      assert.deepEqual(left.map((p) => `${p.pid} ${p.comm} ppid ${p.ppid}`), [], "no process of the tree is left");
    } finally {
      killMarker(marker);
      s.destroy();
    }
  });

  test(`SIGKILL of the gateway: a server's ${mode} tree is gone within ${BOUND_KILL_MS} ms`, { timeout: T(60000) }, async (t) => {
    const { s, marker } = await startTree(mode, `kill-${mode}`);
    try {
      const n = markerProcs(marker).length;
      const keepers = s.gw.tree().filter((p) => p.comm === "mcpgw-keeper");
      assert.equal(keepers.length, 1, `one keeper process: ${JSON.stringify(s.gw.tree().map((p) => [p.pid, p.comm]))}`);
      // Like a supervisor that kills the gateway's whole process group: the keeper is not in it.
      assert.notEqual(keepers[0].pgrp, procStat(s.gw.pid).pgrp, "the keeper left the gateway's process group");
      const t0 = performance.now();
      process.kill(s.gw.pid, "SIGKILL");
      const st = await within(s.gw.exited, T(5000), "exit after SIGKILL");
      assert.equal(st.signal, "SIGKILL");
      const [left] = await waitMarkerGone(marker, T(BOUND_KILL_MS) + SLACK_MS);
      t.diagnostic(`${n} processes, all gone ${(performance.now() - t0).toFixed(0)} ms after the SIGKILL`);
      assert.deepEqual(left.map((p) => `${p.pid} ${p.comm} ppid ${p.ppid}`), [], "no process of the tree is left");
      await waitUntil(() => !isAlive(keepers[0]), T(5000), "the keeper to exit");
    } finally {
      killMarker(marker);
      s.destroy();
    }
  });
}
