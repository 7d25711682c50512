// Issue 2 point 9: an upstream flooding stdout (log notifications, a non-JSON line, a line over
// 4 MiB) and stderr must not block the other upstream or the client, and must not grow the
// gateway without bound. Raw JSON-RPC client here: the SDK client's own per-message validation
// of 100k+ notifications would dominate the latencies being measured.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { SANITIZED, T, WRAPPER, openSession, servers, sleep, waitUntil } from "./lib/harness.mjs";

function vmRSS(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function vmHWM(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

test("a flooding upstream does not block the other upstream", { timeout: T(90000) }, async () => {
  const s = await openSession({
    tag: "flood",
    servers: { flood: servers.flood(), ok: servers.faulty(["--name", "ok"]) },
    gateway: { startup_wait: "10s" },
    connect: false,
  });
  const gw = s.gw;
  let id = 0;
  const call = (name, args, ms = T(5000)) => gw.request({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name, arguments: args } }, ms);
  const text = (r) => r.result?.content?.[0]?.text ?? JSON.stringify(r);
  try {
    await gw.initialize();
    const list = await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));
    const names = list.result.tools.map((t) => t.name);
    assert.ok(names.includes("flood__flood") && names.includes("ok__echo"), names.join(" "));
    await gw.request({ jsonrpc: "2.0", id: "lvl", method: "logging/setLevel", params: { level: "debug" } });

    const FLOOD_MS = 4000;
    assert.equal(text(await call("flood__flood", { ms: FLOOD_MS })), "flooding");
    const end = performance.now() + FLOOD_MS;
    const lat = [];
    for (let i = 0; performance.now() < end; i++) {
      const t0 = performance.now();
      assert.equal(text(await call("ok__echo", { text: `m${i}` })), `ok:m${i}`);
      lat.push(performance.now() - t0);
      const p0 = performance.now();
      assert.deepEqual((await gw.request({ jsonrpc: "2.0", id: `ping${i}`, method: "ping" }, T(5000))).result, {});
      lat.push(performance.now() - p0);
      await sleep(50);
    }
    assert.ok(lat.length >= 10, `${lat.length} requests during the flood`);
    const worst = Math.max(...lat);
    if (process.env.MCPGW_IT_DEBUG) console.error("latencies", lat.map((x) => x.toFixed(0)).join(" "), "logs", gw.logCount);
    // One reply may queue behind the 4 MiB line on the client's stdout (a few hundred ms); a
    // blocked upstream would take the whole flood (4 s).
    assert.ok(worst < T(2000), `worst latency of the other server / ping during the flood: ${worst.toFixed(0)} ms`);
    const median = [...lat].sort((x, y) => x - y)[lat.length >> 1];
    assert.ok(median < T(100), `median latency during the flood: ${median.toFixed(0)} ms`);
    assert.ok(gw.logCount > 0, "flood log notifications reach the client");

    // The flooding server itself answers again once its flood is over (restarted or not).
    await waitUntil(
      async () => {
        try {
          return text(await call("flood__echo", { text: "x" }, T(3000))) === "flood:x";
        } catch {
          return false;
        }
      },
      T(20000),
      "flood server to answer again",
      200,
    );
    assert.match(gw.stderr, /\[flood\]/, "the upstream's stderr is logged with its server name");
    const hwm = vmHWM(gw.pid);
    if (process.env.MCPGW_IT_DEBUG) console.error("gateway VmHWM MiB", (hwm / 1048576).toFixed(1));
    if (WRAPPER.length === 0 && !SANITIZED) {
      assert.ok(hwm !== null && hwm < 96 * 1024 * 1024, `gateway peak RSS ${(hwm / 1048576).toFixed(1)} MiB during the flood`);
    }
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("a client that stops reading: the gateway's queue toward it stays bounded", { timeout: T(90000) }, async () => {
  const s = await openSession({
    tag: "flood-stall",
    servers: { flood: servers.flood(), ok: servers.faulty(["--name", "ok"]) },
    gateway: { startup_wait: "10s" },
    connect: false,
  });
  const gw = s.gw;
  try {
    await gw.initialize();
    await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));
    await gw.request({ jsonrpc: "2.0", id: "lvl", method: "logging/setLevel", params: { level: "debug" } });
    const r = await gw.request({
      jsonrpc: "2.0",
      id: "flood",
      method: "tools/call",
      params: { name: "flood__flood", arguments: { ms: 4000, logSize: 64 * 1024, bigline: false, garbage: false, stderr: false } },
    });
    assert.equal(r.result?.content?.[0]?.text, "flooding");
    const rss0 = vmRSS(gw.pid);
    gw.proc.stdout.pause(); // the client stops reading while ~64 KiB log messages keep coming
    let peak = 0;
    const until = performance.now() + 4000;
    while (performance.now() < until) {
      peak = Math.max(peak, vmRSS(gw.pid) ?? 0);
      await sleep(100);
    }
    gw.proc.stdout.resume();
    if (process.env.MCPGW_IT_DEBUG) console.error("RSS MiB before", (rss0 / 1048576).toFixed(1), "peak while stalled", (peak / 1048576).toFixed(1));
    if (WRAPPER.length === 0 && !SANITIZED) {
      assert.ok(peak < 64 * 1024 * 1024, `gateway RSS grew to ${(peak / 1048576).toFixed(1)} MiB while the client did not read`);
    }
    assert.deepEqual((await gw.request({ jsonrpc: "2.0", id: "ping", method: "ping" }, T(15000))).result, {}, "ping once the client reads again");
    const echo = await gw.request({ jsonrpc: "2.0", id: "echo", method: "tools/call", params: { name: "ok__echo", arguments: { text: "after" } } }, T(15000));
    assert.equal(echo.result?.content?.[0]?.text, "ok:after");
    await s.shutdown(T(10000));
  } finally {
    s.destroy();
  }
});
