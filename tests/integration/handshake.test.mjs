// The handshake and the run mode's stdin. Issue 12's fallback: a modern client (Codex) first sends
// server/discover (2026-07-28), gets an error and falls back to initialize, which must be taken as
// the handshake, not refused as "already initialized". Issue 14 item 7: stdin that cannot be
// polled (/dev/null, a regular file) is read to its end, its lines processed, and the gateway exits
// as at end of file. Raw JSON-RPC lines, no SDK client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, T, WRAPPER, makeTmp, openSession, rmTmp, servers, toYaml } from "./lib/harness.mjs";

test("server/discover, then initialize (2025-06-18): the handshake is done and tools/list works", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "discover", servers: { fox: servers.faulty(["--name", "fox"]) }, connect: false });
  try {
    const d = await s.gw.request({ jsonrpc: "2.0", id: 1, method: "server/discover", params: {} });
    // Without the per-request _meta it is a malformed 2026-07-28 request (modern-down.test.mjs has
    // the well-formed probe).
    assert.equal(d.error?.code, -32602, `server/discover without _meta: ${JSON.stringify(d)}`);
    const r = await s.gw.initialize({ protocolVersion: "2025-06-18" });
    assert.ok(r.result, `initialize after server/discover: ${JSON.stringify(r)}`);
    assert.equal(r.result.protocolVersion, "2025-06-18");
    const l = await s.gw.request({ jsonrpc: "2.0", id: 3, method: "tools/list" }, T(20000));
    assert.ok(l.result, `tools/list: ${JSON.stringify(l)}`);
    assert.ok(l.result.tools.some((t) => t.name === "fox__echo"), `tools: ${l.result.tools.map((t) => t.name)}`);
    // A second initialize is still refused.
    const again = await s.gw.request({ jsonrpc: "2.0", id: 4, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {} } });
    assert.equal(again.error?.code, -32600);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

// Runs the gateway with stdin from a file descriptor opened on `stdinPath`; resolves its exit.
function runWithStdin(dir, config, stdinPath, ms) {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(stdinPath, "r");
    const env = { ...process.env, XDG_STATE_HOME: path.join(dir, "state"), XDG_CONFIG_HOME: path.join(dir, "xdg") };
    delete env.MCPGW_CONFIG;
    const argv = [...WRAPPER, BIN, "-c", config];
    const p = spawn(argv[0], argv.slice(1), { stdio: [fd, "pipe", "pipe"], env, cwd: dir });
    fs.closeSync(fd);
    let stdout = "", stderr = "";
    p.stdout.on("data", (c) => (stdout += c));
    p.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => { p.kill("SIGKILL"); reject(new Error(`no exit within ${ms} ms; stderr:\n${stderr.slice(-2000)}`)); }, ms);
    p.on("close", (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

test("stdin from /dev/null: the gateway exits 0 as at end of file, without a libevent warning", { timeout: T(60000) }, async () => {
  const dir = makeTmp("devnull");
  try {
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, toYaml({ servers: { fox: servers.faulty(["--name", "fox"]) } }));
    const r = await runWithStdin(dir, config, "/dev/null", T(20000));
    assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr);
    assert.doesNotMatch(r.stderr, /\[warn\] Epoll|Operation not permitted/);
    assert.match(r.stderr, /client closed stdin: stopping/);
  } finally {
    rmTmp(dir);
  }
});

test("stdin from a regular file: its lines are processed, then the gateway exits 0", { timeout: T(60000) }, async () => {
  const dir = makeTmp("stdinfile");
  try {
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, toYaml({ servers: {} }));
    const input = path.join(dir, "input.jsonl");
    fs.writeFileSync(input, [
      { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "file", version: "1" } } },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "ping" },
      { jsonrpc: "2.0", id: 3, method: "tools/list" },
    ].map((m) => JSON.stringify(m)).join("\n") + "\n");
    const r = await runWithStdin(dir, config, input, T(20000));
    assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr);
    const out = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(out.map((m) => m.id), [1, 2, 3], `answers: ${r.stdout}`);
    assert.equal(out[0].result.protocolVersion, "2025-06-18");
    assert.deepEqual(out[1].result, {});
    assert.deepEqual(out[2].result, { tools: [] });
  } finally {
    rmTmp(dir);
  }
});
