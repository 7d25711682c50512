// The handshake. Issue 12's fallback: a modern client (Codex) first sends server/discover
// (2026-07-28), gets an error and falls back to initialize, which must be taken as the handshake,
// not refused as "already initialized". Raw JSON-RPC lines, no SDK client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, openSession, servers } from "./lib/harness.mjs";

test("server/discover, then initialize (2025-06-18): the handshake is done and tools/list works", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "discover", servers: { fox: servers.faulty(["--name", "fox"]) }, connect: false });
  try {
    const d = await s.gw.request({ jsonrpc: "2.0", id: 1, method: "server/discover", params: {} });
    assert.ok(d.error, `server/discover is answered with an error for now: ${JSON.stringify(d)}`);
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
