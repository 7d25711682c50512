// Issue 2 point 8 / acceptance: a slow upstream (6 s) must not delay initialize, the first
// tools/list answers within startup_wait with the ready servers, the slow one arrives with
// tools/list_changed, and after a restart the catalogue answers the first tools/list at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, outFile, recorded, rmTmp, runGateway, servers, toYaml } from "./lib/harness.mjs";

// The acceptance case is a 6 s upstream with the others listed within startup_wait; 8 s and 4 s
// keep the same order with room for a loaded 2-core machine.
const SLOW_MS = 8000;
const WAIT_MS = 4000;

test("slow upstream: fast initialize, startup_wait, list_changed, catalogue after restart", { timeout: T(90000) }, async () => {
  const dir = makeTmp("startup");
  const cfg = {
    dir,
    servers: {
      fast: servers.faulty(["--name", "fast"]),
      slow: servers.faulty(["--name", "slow", "--delay-ms", String(SLOW_MS)], { startup_timeout: "30s" }),
      everything: servers.everything(),
    },
    gateway: { startup_wait: `${WAIT_MS}ms` },
  };
  let s;
  try {
    // --- first run: no catalogue yet
    s = await openSession(cfg);
    assert.ok(s.initMs < T(1000), `initialize took ${s.initMs.toFixed(0)} ms with a 6 s upstream`);

    const t0 = performance.now();
    const firstP = s.client.listTools();
    // While that tools/list waits for the slow server, the gateway keeps serving.
    const p0 = performance.now();
    assert.deepEqual(await s.client.ping(), {});
    const pingMs = performance.now() - p0;
    assert.ok(pingMs < T(500), `ping during startup_wait took ${pingMs.toFixed(0)} ms`);
    const first = (await firstP).tools.map((t) => t.name);
    const listMs = performance.now() - t0;
    assert.ok(listMs < T(WAIT_MS) + T(1000), `first tools/list took ${listMs.toFixed(0)} ms (startup_wait ${WAIT_MS} ms)`);
    assert.ok(first.includes("fast__echo"), `fast server listed within startup_wait: ${first.join(" ")}`);
    assert.ok(first.includes("everything__echo"), `everything listed within startup_wait: ${first.join(" ")}`);
    assert.ok(!first.some((n) => n.startsWith("slow__")), "slow server not listed yet");

    await s.gw.waitFor((m) => m.method === "notifications/tools/list_changed", T(SLOW_MS + 8000), "list_changed when the slow server is up");
    const later = (await s.client.listTools()).tools.map((t) => t.name);
    assert.ok(later.includes("slow__echo"), `slow server listed after list_changed: ${later.join(" ")}`);
    assert.ok(later.includes("fast__echo") && later.includes("everything__echo"));
    const fastIdx = later.indexOf("fast__echo");
    const slowIdx = later.indexOf("slow__echo");
    const evIdx = later.indexOf("everything__echo");
    assert.ok(fastIdx < slowIdx && slowIdx < evIdx, "config order kept after a late server arrives");
    assert.equal(await s.callText("slow__echo", { text: "up" }), "slow:up");
    await s.shutdown();
    s.destroy({ keepDir: true });

    const catalog = path.join(dir, "state", "mcpgw", "catalog.json");
    assert.ok(fs.existsSync(catalog), "catalogue persisted in $XDG_STATE_HOME/mcpgw/catalog.json");
    const catText = fs.readFileSync(catalog, "utf8");
    JSON.parse(catText);
    assert.ok(catText.includes("echo"), "catalogue holds tool definitions");
    const mode = fs.statSync(path.join(dir, "state", "mcpgw")).mode & 0o777;
    assert.equal(mode, 0o700, "state directory is 0700");
    assert.equal(fs.statSync(catalog).mode & 0o777, 0o600, "catalogue file is 0600");

    // --- second run, same config and state: everything listed at once from the catalogue
    s = await openSession(cfg);
    assert.ok(s.initMs < T(1000), `initialize took ${s.initMs.toFixed(0)} ms`);
    const instr = s.client.getInstructions() ?? "";
    assert.ok(instr.includes("Fixture server slow for mcpgw fault tests."), `instructions summarise the still-starting server from the catalogue: ${instr}`);
    assert.ok(instr.length <= 4096, `instructions bounded (${instr.length} chars)`);
    const t1 = performance.now();
    const cached = (await s.client.listTools()).tools.map((t) => t.name);
    const cachedMs = performance.now() - t1;
    assert.ok(cachedMs < T(1000), `tools/list from the catalogue took ${cachedMs.toFixed(0)} ms`);
    assert.deepEqual(cached, later, "catalogue lists every server's tools, in order");

    // A call to the still-starting server waits for it instead of failing.
    const t2 = performance.now();
    assert.equal(await s.callText("slow__echo", { text: "waited" }, { timeout: T(30000) }), "slow:waited");
    const waited = performance.now() - t2;
    assert.ok(performance.now() - s.gw.startedAt >= SLOW_MS - 200, "the call could only be answered once the slow server was up");
    assert.ok(waited < T(SLOW_MS + 6000), `call waited ${waited.toFixed(0)} ms`);
    await s.shutdown();
    s.destroy({ keepDir: true });

    // --- a run where the slow server's startup_timeout (not part of the catalogue key) is shorter
    // than its start: a call to it waits at most that long, then fails.
    cfg.servers.slow = servers.faulty(["--name", "slow", "--delay-ms", String(SLOW_MS)], { startup_timeout: "2s" });
    s = await openSession(cfg);
    assert.ok((await s.client.listTools()).tools.some((t) => t.name === "slow__echo"), "catalogue entry still valid");
    const t3 = performance.now();
    let notReady;
    try {
      await s.call("slow__echo", { text: "never" });
    } catch (e) {
      notReady = e;
    }
    // -32000 (unavailable) or -32001 (timed out) both fit; it must name the server.
    assert.ok(notReady && [-32000, -32001].includes(notReady.code), `call to a server that misses its startup timeout: ${notReady?.code} ${notReady?.message}`);
    assert.match(notReady.message, /slow/);
    const failMs = performance.now() - t3;
    assert.ok(failMs < T(2000) + T(1500), `call failed after ${failMs.toFixed(0)} ms (startup_timeout 2s)`);
    await s.shutdown();
    s.destroy({ keepDir: true });

    // --- third run: the slow server's configuration changed, so its catalogue entry is stale.
    cfg.servers.slow = servers.faulty(["--name", "slow2", "--delay-ms", String(SLOW_MS)], { startup_timeout: "30s" });
    s = await openSession(cfg);
    const third = (await s.client.listTools()).tools.map((t) => t.name);
    assert.ok(third.includes("fast__echo") && third.includes("everything__echo"), `unchanged servers listed: ${third.join(" ")}`);
    assert.ok(!third.some((n) => n.startsWith("slow__")), "no tools from the stale catalogue entry of a changed server");
    await s.gw.waitFor((m) => m.method === "notifications/tools/list_changed", T(SLOW_MS + 8000), "list_changed for the changed server");
    assert.equal(await s.callText("slow__echo", { text: "new" }), "slow2:new");
    await s.shutdown();
  } finally {
    s?.destroy();
    rmTmp(dir);
  }
});

test("mcpgw tools lists exposed and hidden tools and warms the catalogue for the next run", { timeout: T(60000) }, async () => {
  const dir = makeTmp("tools-cmd");
  const cfg = {
    dir,
    servers: {
      fast: servers.faulty(["--name", "fast"], { tools: { deny: ["crash"] } }),
      slow: servers.faulty(["--name", "slow", "--delay-ms", "3000"]),
    },
    gateway: { startup_wait: "1s" },
  };
  let s;
  try {
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(file, toYaml({ gateway: cfg.gateway, servers: cfg.servers }));
    const plain = await runGateway(["tools", "-c", file, "--system-policy", ""], { dir });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^fast__echo\b/m);
    assert.match(plain.stdout, /^slow__echo\b/m, "waits for the slow server");
    assert.doesNotMatch(plain.stdout, /fast__crash/, "hidden tool not shown without --all");
    const all = await runGateway(["tools", "-c", file, "--system-policy", "", "--all", "--json"], { dir });
    assert.equal(all.code, 0, all.stderr);
    const entries = JSON.parse(all.stdout);
    assert.ok(Array.isArray(entries) && entries.length > 0);
    const crash = entries.find((e) => e.server === "fast" && e.name === "crash");
    assert.ok(crash, "--all shows the hidden tool");
    assert.ok(!crash.exposed, "hidden tool has no exposed name");
    assert.match(JSON.stringify(crash), /deny/, `the rule that hid it: ${JSON.stringify(crash)}`);
    assert.ok(entries.some((e) => e.server === "slow" && e.exposed === "slow__echo"));

    s = await openSession(cfg);
    const t0 = performance.now();
    const names = (await s.client.listTools()).tools.map((t) => t.name);
    assert.ok(performance.now() - t0 < T(1000), "answered from the catalogue written by mcpgw tools");
    assert.ok(names.includes("slow__echo") && names.includes("fast__echo") && !names.includes("fast__crash"), names.join(" "));
    await s.shutdown();
  } finally {
    s?.destroy();
    rmTmp(dir);
  }
});

test("a call cancelled while its server is still starting is never run", { timeout: T(60000) }, async () => {
  const dir = makeTmp("queued-cancel");
  const rec = outFile(dir, "slow.rec");
  const cfg = {
    dir,
    servers: { slow: servers.faulty(["--name", "slow", "--delay-ms", "3000", "--record", rec]) },
    gateway: { startup_wait: "1s" },
  };
  let s;
  try {
    // First run: fill the catalogue.
    s = await openSession(cfg);
    await s.client.listTools();
    await s.gw.waitFor((m) => m.method === "notifications/tools/list_changed", T(10000), "slow server up");
    await s.shutdown();
    s.destroy({ keepDir: true });
    fs.rmSync(rec, { force: true });

    // Second run: the tool is known from the catalogue; call it, cancel while the server starts.
    s = await openSession(cfg);
    assert.ok((await s.client.listTools()).tools.some((t) => t.name === "slow__hang"));
    const ac = new AbortController();
    const p = s.call("slow__hang", { tag: "queued" }, { signal: ac.signal });
    const timer = setTimeout(() => ac.abort("changed my mind"), 300);
    await assert.rejects(p);
    clearTimeout(timer);
    // Once the server is up, the next call goes through...
    assert.equal(await s.callText("slow__echo", { text: "up" }, { timeout: T(15000) }), "slow:up");
    // ...and the cancelled one either never reached it or was cancelled right behind it.
    const msgs = recorded(rec);
    const call = msgs.find((m) => m.method === "tools/call" && m.params?.arguments?.tag === "queued");
    if (call) {
      assert.ok(
        msgs.some((m) => m.method === "notifications/cancelled" && m.params?.requestId === call.id),
        "a cancelled call that was still delivered must be cancelled upstream too",
      );
    }
    await s.shutdown();
  } finally {
    s?.destroy();
    rmTmp(dir);
  }
});
