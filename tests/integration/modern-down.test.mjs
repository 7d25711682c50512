// Issue 12, the downstream side: a client of the stateless revision (2026-07-28) in front of
// legacy upstreams (tests/fixtures/faulty.mjs), over the run mode's stdio. Most tests drive
// the wire with raw lines (lib/modern-client.mjs) so that a missing or wrong _meta can be sent;
// one uses the official @modelcontextprotocol/client 2.4.0 as the modern client. Every bad input
// is followed by a good request, which must still be served.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { BIN, T, WRAPPER, fixture, makeTmp, openSession, rmTmp, servers, sleep, toYaml, waitUntil } from "./lib/harness.mjs";
import { K, MODERN, ModernClient } from "./lib/modern-client.mjs";

const fox = (extra = []) => ({ fox: servers.faulty(["--name", "fox", ...extra]) });

function assertModernResult(r, what) {
  assert.equal(r.resultType, "complete", `${what}: resultType`);
  assert.equal(r._meta?.[K.serverInfo]?.name, "mcpgw", `${what}: _meta serverInfo ${JSON.stringify(r._meta)}`);
  assert.equal(typeof r._meta[K.serverInfo].version, "string");
}

function assertCacheable(r, what, scope = "public") {
  assert.ok(Number.isInteger(r.ttlMs) && r.ttlMs >= 0, `${what}: ttlMs ${r.ttlMs}`);
  assert.equal(r.cacheScope, scope, `${what}: cacheScope`);
}

async function stillServed(c, what) {
  const l = await c.result("tools/list");
  assert.ok(l.tools.some((t) => t.name === "fox__echo"), `${what}: the session still lists tools`);
}

test("server/discover: supported versions, capabilities, instructions, serverInfo and caching hints", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mdisc", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw);
    const d = await c.result("server/discover");
    assert.deepEqual(d.supportedVersions, [MODERN, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]);
    assert.deepEqual(d.capabilities.tools, { listChanged: true });
    assert.deepEqual(d.capabilities.resources, { subscribe: true, listChanged: true });
    assert.ok(d.capabilities.prompts && d.capabilities.completions, JSON.stringify(d.capabilities));
    assert.match(d.instructions, /fox/);
    assertModernResult(d, "discover");
    assertCacheable(d, "discover");
    // Stateless: a discover without the required keys is a malformed modern request.
    const bad = await c.request("server/discover", {}, { rawMeta: null });
    assert.equal(bad.error?.code, -32602, JSON.stringify(bad));
    assert.match(bad.error.message, /io\.modelcontextprotocol\/protocolVersion/);
    await stillServed(c, "after a bad discover");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("tools/list and tools/call without initialize: resultType, serverInfo, ttlMs/cacheScope; the call reaches a legacy server", { timeout: T(60000) }, async () => {
  const dir = makeTmp("mcall");
  const rec = path.join(dir, "fox.rec");
  const s = await openSession({ dir, servers: fox(["--record", rec]), connect: false });
  try {
    const c = new ModernClient(s.gw);
    const l = await c.result("tools/list");
    assertModernResult(l, "tools/list");
    assertCacheable(l, "tools/list");
    assert.ok(l.tools.some((t) => t.name === "fox__echo"));
    for (const m of ["prompts/list", "resources/list", "resources/templates/list"]) {
      const r = await c.result(m);
      assertModernResult(r, m);
      assertCacheable(r, m);
    }
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";
    const r = await c.result("tools/call", { name: "fox__echo", arguments: { text: "hi" } }, { meta: { traceparent } });
    assertModernResult(r, "tools/call");
    assert.equal(r.ttlMs, undefined, "a tool result carries no caching hints");
    assert.deepEqual(r.content, [{ type: "text", text: "fox:hi" }]);
    // The legacy upstream was initialised by the gateway and got a plain tools/call.
    const sent = fs.readFileSync(rec, "utf8").trim().split("\n").map((x) => JSON.parse(x));
    assert.ok(sent.some((m) => m.method === "initialize"), "the gateway initialised the legacy server");
    const call = sent.find((m) => m.method === "tools/call" && m.params.name === "echo");
    assert.ok(call, "the server got the call");
    assert.equal(call.params._meta?.traceparent, traceparent, "trace context passed on (2026-07-28 asks it of an intermediary)");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("a hand-written server's replies (id before result, extra members, errors, a result that is no object): modern fields where a result is, errors as they were", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrude", servers: { rude: { command: process.execPath, args: [fixture("rude.mjs")] } }, connect: false });
  try {
    const c = new ModernClient(s.gw);
    await c.result("tools/list");
    for (const [tool, text] of [["echo", "rude:hi"], ["extra", "extra done"], ["badids", "badids done"]]) {
      const r = await c.result("tools/call", { name: `rude__${tool}`, arguments: { text: "hi" } });
      assertModernResult(r, tool);
      assert.deepEqual(r.content, [{ type: "text", text }], tool);
    }
    const e = await c.request("tools/call", { name: "rude__errextra", arguments: {} });
    assert.equal(e.error?.code, -32000, JSON.stringify(e));
    const n = await c.request("tools/call", { name: "rude__notobject", arguments: {} });
    assert.equal(n.error?.code, -32603, JSON.stringify(n));
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("bad _meta: missing keys -32602 naming the key, unknown version -32022 with data.supported, bad log level; the session goes on", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mbad", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw);
    const cases = [
      { what: "no clientCapabilities", meta: { [K.caps]: undefined }, code: -32602, re: /clientCapabilities/ },
      { what: "clientCapabilities not an object", meta: { [K.caps]: "all" }, code: -32602, re: /clientCapabilities.*object/ },
      { what: "protocolVersion a number", meta: { [K.version]: 20260728 }, code: -32602, re: /protocolVersion.*string/ },
      { what: "protocolVersion missing (caps given)", meta: { [K.version]: undefined }, code: -32602, re: /protocolVersion/ },
      { what: "unknown log level", meta: { [K.logLevel]: "loud" }, code: -32602, re: /logLevel/ },
    ];
    for (const k of cases) {
      const r = await c.request("tools/list", {}, { meta: k.meta });
      assert.equal(r.error?.code, k.code, `${k.what}: ${JSON.stringify(r)}`);
      assert.match(r.error.message, k.re, k.what);
      await stillServed(c, `after ${k.what}`);
    }
    const v = await c.request("tools/call", { name: "fox__echo", arguments: { text: "x" } }, { meta: { [K.version]: "1999-01-01" } });
    assert.equal(v.error?.code, -32022, JSON.stringify(v));
    assert.ok(v.error.data.supported.includes(MODERN), JSON.stringify(v.error.data));
    assert.equal(v.error.data.requested, "1999-01-01");
    // Removed by the revision: ping and logging/setLevel are unknown methods to a modern client.
    for (const m of ["ping", "logging/setLevel", "resources/subscribe"]) {
      const r = await c.request(m, m === "logging/setLevel" ? { level: "debug" } : m === "resources/subscribe" ? { uri: "x:y" } : {});
      assert.equal(r.error?.code, -32601, `${m}: ${JSON.stringify(r)}`);
    }
    await stillServed(c, "after removed methods");
    const ok = await c.result("tools/call", { name: "fox__echo", arguments: { text: "still" } });
    assert.deepEqual(ok.content, [{ type: "text", text: "fox:still" }]);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("subscriptions/listen: acknowledged first, then list_changed and resources/updated tagged with the subscription id; none after cancel", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mlisten", servers: fox(["--resource", "note://a"]), connect: false });
  try {
    const c = new ModernClient(s.gw);
    await c.result("tools/list");
    const res = await c.result("resources/list");
    const uri = res.resources.find((r) => r.uri.endsWith("note://a") || r.uri.includes("note"))?.uri;
    assert.ok(uri, JSON.stringify(res));
    const { id, ack, from } = await c.listen({ toolsListChanged: true, resourceSubscriptions: [uri] });
    assert.deepEqual(ack.params.notifications, { toolsListChanged: true, resourceSubscriptions: [uri] });
    const ackAt = s.gw.messages.indexOf(ack);
    assert.ok(!s.gw.messages.slice(from, ackAt).some((m) => m.params?._meta?.[K.subscription] === id), "nothing of the stream before its acknowledgement");
    // A new tool upstream: list_changed on the stream, tagged; never a bare one.
    const before = s.gw.messages.length;
    await c.result("tools/call", { name: "fox__add_tools", arguments: { prefix: "late" } });
    await c.waitStream(id, "notifications/tools/list_changed", T(10000), before);
    const l = await c.result("tools/list");
    assert.ok(l.tools.some((t) => t.name === "fox__late_1"));
    // resources/updated for the subscribed URI (the gateway subscribed the legacy server).
    const t = await c.result("tools/call", { name: "fox__touch", arguments: { uri: "note://a" } });
    assert.deepEqual(t.content, [{ type: "text", text: "updated" }]);
    const up = await c.waitStream(id, "notifications/resources/updated", T(10000), before);
    assert.equal(up.params.uri, uri);
    await sleep(300);
    const bare = s.gw.messages.slice(before).filter((m) => m.method?.startsWith("notifications/") && m.method !== "notifications/progress" && m.params?._meta?.[K.subscription] !== id);
    assert.deepEqual(bare.map((m) => m.method), [], "no notification outside the stream to a modern client");
    // Bad filters are refused; the stream and the session go on.
    const bad = await c.request("subscriptions/listen", { notifications: { toolsListChanged: "yes" } });
    assert.equal(bad.error?.code, -32602, JSON.stringify(bad));
    const bad2 = await c.request("subscriptions/listen", {});
    assert.equal(bad2.error?.code, -32602, JSON.stringify(bad2));
    // Cancelled: no answer to the listen, and no more notifications on it.
    c.cancel(id);
    const after = s.gw.messages.length;
    await c.result("tools/call", { name: "fox__add_tools", arguments: { prefix: "later" } });
    await c.result("tools/list");
    await sleep(500);
    assert.deepEqual(s.gw.messages.slice(after).filter((m) => m.params?._meta?.[K.subscription] === id || m.id === id), []);
    // A stream open when the gateway stops ends with its graceful result, tagged.
    const last = await c.listen({ promptsListChanged: true });
    await s.shutdown();
    const end = s.gw.messages.find((m) => m.id === last.id);
    assert.ok(end?.result, `the stream's graceful end: ${JSON.stringify(end)}`);
    assert.equal(end.result._meta?.[K.subscription], last.id);
    assert.equal(end.result.resultType, "complete");
  } finally {
    s.destroy();
  }
});

test("per-request log level: log messages only for the request that asked, at its level", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mlog", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw);
    const logs = (from) => s.gw.messages.slice(from).filter((m) => m.method === "notifications/message").map((m) => m.params.data);
    let from = s.gw.messages.length;
    await c.result("tools/call", { name: "fox__log", arguments: { level: "warning", data: "unasked" } });
    await c.result("tools/list");
    assert.deepEqual(logs(from), [], "no logLevel: no log message");
    from = s.gw.messages.length;
    const r = await c.request("tools/call", { name: "fox__log", arguments: { level: "warning", data: "asked" } }, { meta: { [K.logLevel]: "info" } });
    assert.ok(r.result, JSON.stringify(r));
    const at = s.gw.messages.indexOf(r);
    assert.deepEqual(logs(from), ["asked"]);
    assert.ok(s.gw.messages.slice(from, at).some((m) => m.params?.data === "asked"), "the log message comes before the request's answer");
    from = s.gw.messages.length;
    await c.request("tools/call", { name: "fox__log", arguments: { level: "info", data: "too low" } }, { meta: { [K.logLevel]: "error" } });
    await c.result("tools/list");
    assert.deepEqual(logs(from), [], "below the request's level: dropped");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("resources/read: caching hints private/0 for relayed content; resource-not-found is -32602, never -32002", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mread", servers: { ...fox(["--resource", "note://a"]), wolf: servers.faulty(["--name", "wolf", "--resource", "note://b"]) }, connect: false });
  try {
    const c = new ModernClient(s.gw);
    const res = await c.result("resources/list");
    const uri = res.resources.find((r) => r.uri.includes("note://a"))?.uri;
    assert.ok(uri, JSON.stringify(res));
    const r = await c.result("resources/read", { uri });
    assertModernResult(r, "resources/read");
    assertCacheable(r, "resources/read", "private");
    assert.equal(r.ttlMs, 0);
    assert.equal(r.contents[0].uri, uri);
    // Known to no server (the gateway's own answer) and unknown to the server it routes to.
    for (const u of ["nowhere://missing", "note://missing"]) {
      const missing = await c.request("resources/read", { uri: u });
      assert.equal(missing.error?.code, -32602, `${u}: ${JSON.stringify(missing)}`);
    }
    const legacy = await s.gw.request({ jsonrpc: "2.0", id: "old", method: "resources/read", params: { uri: "nowhere://missing" } });
    assert.equal(legacy.error?.code, -32002, "a legacy request still gets -32002");
    await stillServed(c, "after a missing resource");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("-32021: a server asks for elicitation during a request that did not declare it", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mcap", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw);
    const r = await c.request("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" } });
    assert.equal(r.error?.code, -32021, JSON.stringify(r));
    assert.deepEqual(r.error.data, { requiredCapabilities: { elicitation: {} } });
    await stillServed(c, "after -32021");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("generations switch: modern requests, then initialize (legacy) is the handshake; then list_changed is sent bare", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mswitch", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw);
    await c.result("server/discover");
    await c.result("tools/list");
    const init = await s.gw.initialize({ protocolVersion: "2025-06-18" });
    assert.equal(init.result?.protocolVersion, "2025-06-18", JSON.stringify(init));
    const l = await s.gw.request({ jsonrpc: "2.0", id: "l1", method: "tools/list" });
    assert.equal(l.result.resultType, undefined, "a legacy answer has no resultType");
    const from = s.gw.messages.length;
    await s.gw.request({ jsonrpc: "2.0", id: "c1", method: "tools/call", params: { name: "fox__add_tools", arguments: { prefix: "x" } } });
    await s.gw.waitFor((m) => m.method === "notifications/tools/list_changed", T(10000), "bare list_changed", from);
    // A modern request on the legacy session is still answered as modern (per request).
    const m = await c.result("tools/list");
    assertModernResult(m, "modern request on a legacy session");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("server/discover is stateless: a client that probes and then does initialize gives the servers its initialize capabilities", { timeout: T(60000) }, async () => {
  const dir = makeTmp("mprobe");
  const rec = path.join(dir, "fox.rec");
  const s = await openSession({ dir, servers: fox(["--record", rec]), connect: false });
  try {
    const c = new ModernClient(s.gw, { caps: {} });
    await c.result("server/discover");
    // The server is up before the handshake: whatever the probe changed would reach it now.
    await waitUntil(() => /fixture fox \(pid \d+\) connected/.test(s.gw.stderr), T(20000), "fox to start");
    await sleep(300);
    const init = await s.gw.initialize({ protocolVersion: "2025-11-25", capabilities: { elicitation: {} } });
    assert.ok(init.result, JSON.stringify(init));
    await s.gw.request({ jsonrpc: "2.0", id: "l", method: "tools/list" }, T(20000));
    await waitUntil(() => fs.existsSync(rec) && fs.readFileSync(rec, "utf8").includes('"initialize"'), T(10000), "the server's initialize");
    const sent = fs.readFileSync(rec, "utf8").trim().split("\n").map((x) => JSON.parse(x));
    const upInit = sent.find((m) => m.method === "initialize");
    assert.deepEqual(upInit?.params.capabilities, { elicitation: {} }, "the server was told the initialize's capabilities");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("gateway.protocol: legacy: server/discover is an unknown method and _meta is only metadata", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mlegacy", gateway: { protocol: "legacy" }, servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw);
    const d = await c.request("server/discover");
    assert.equal(d.error?.code, -32601, JSON.stringify(d));
    const l = await c.result("tools/list", {}, { meta: { [K.version]: "1999-01-01" } });
    assert.equal(l.resultType, undefined);
    const init = await s.gw.initialize({ protocolVersion: "2025-11-25" });
    assert.equal(init.result?.protocolVersion, "2025-11-25");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

// The official modern client (SDK 2.4.0, version negotiation "auto": server/discover first).
async function sdk2(config, mode = "auto") {
  const transport = new StdioClientTransport({
    command: WRAPPER[0] ?? BIN,
    args: [...WRAPPER.slice(1), ...(WRAPPER.length ? [BIN] : []), "run", "-c", config, "--system-policy", ""],
    env: { ...process.env, XDG_STATE_HOME: path.join(path.dirname(config), "state"), XDG_CONFIG_HOME: path.join(path.dirname(config), "xdg") },
    stderr: "pipe",
  });
  const client = new Client({ name: "sdk2-it", version: "1.0.0" }, { capabilities: {}, versionNegotiation: { mode } });
  await client.connect(transport);
  return { client, transport };
}

test("@modelcontextprotocol/client 2.4.0: modern era through mcpgw; falls back to legacy when the gateway is told to", { timeout: T(90000) }, async () => {
  const dir = makeTmp("msdk2");
  try {
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, toYaml({ servers: { fox: servers.faulty(["--name", "fox"]) } }));
    const { client } = await sdk2(config);
    try {
      assert.equal(client.getProtocolEra(), "modern");
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      const l = await client.listTools();
      assert.ok(l.tools.some((t) => t.name === "fox__echo"));
      const r = await client.callTool({ name: "fox__echo", arguments: { text: "sdk2" } });
      assert.deepEqual(r.content, [{ type: "text", text: "fox:sdk2" }]);
      const sub = await client.listen({ toolsListChanged: true });
      assert.deepEqual(sub.honoredFilter, { toolsListChanged: true });
      await sub.close();
    } finally {
      await client.close();
    }
    fs.writeFileSync(config, toYaml({ gateway: { protocol: "legacy" }, servers: { fox: servers.faulty(["--name", "fox"]) } }));
    const legacy = await sdk2(config);
    try {
      assert.equal(legacy.client.getProtocolEra(), "legacy");
      const l = await legacy.client.listTools();
      assert.ok(l.tools.some((t) => t.name === "fox__echo"));
    } finally {
      await legacy.client.close();
    }
  } finally {
    rmTmp(dir);
  }
});
