// Conversion between MCP generations (issue 12, points 3 and 5): a modern (2026-07-28) server's
// input_required behind a legacy client becomes real requests to that client and a retry upstream;
// a legacy server's request behind a modern client becomes an input_required result whose sealed
// requestState the retry must bring back; trace context reaches the server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import fs from "node:fs";
import path from "node:path";
import { Client as Client2 } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { BIN, NODE, Session, T, WRAPPER, fixture, makeTmp, openSession, rejectsCode, rmTmp, servers, toYaml, waitUntil } from "./lib/harness.mjs";
import { ModernClient, modernMeta } from "./lib/modern-client.mjs";
import { Client as Client1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import * as z from "zod";
import { Gateway, sleep } from "./lib/harness.mjs";

const mrtr = (extra = {}) => ({ command: NODE, args: [fixture("mrtr-server.mjs")], ...extra });

test("modern server asks a legacy client for elicitation: real request, retry with a new id and requestState untouched", { timeout: T(60000) }, async () => {
  const asked = [];
  const s = await openSession({
    tag: "mrtr-legacy",
    servers: { m: mrtr() },
    gateway: { startup_wait: "10s" },
    capabilities: { elicitation: { form: {} }, sampling: {} },
    setup(client) {
      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(req.params);
        return { action: "accept", content: { name: "Ada" } };
      });
      client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: "assistant", content: { type: "text", text: "hi there" }, model: "test-model" }));
    },
  });
  try {
    const tools = await s.tools();
    assert.ok(tools.has("m__ask"), `modern server's tools listed: ${[...tools.keys()]}`);
    const progress = [];
    const from = s.gw.messages.length;
    const res = await s.call("m__ask", {}, { onprogress: (p) => progress.push(p) });
    const out = JSON.parse(Session.text(res));
    assert.equal(out.said, "accept:Ada", "the client's answer reached the server as inputResponses");
    assert.equal(out.statesMatch, true, `requestState echoed untouched: ${out.state}`);
    assert.equal(out.ids.length, 2, "one call, one retry");
    assert.notEqual(out.ids[0], out.ids[1], "the retry went under a new id");
    assert.equal(out.retryVersion, "2026-07-28", "the retry carries the modern _meta like any request");
    assert.equal(asked.length, 1);
    assert.equal(asked[0].message, "Your name?");
    // Each round's log and progress reached the client before the final result.
    const msgs = s.gw.messages.slice(from);
    const final = msgs.findIndex((m) => m.result?.content);
    const logs = msgs.map((m, i) => [m, i]).filter(([m]) => m.method === "notifications/message" && /^ask id/.test(m.params?.data));
    assert.equal(logs.length, 2, `a log line per round: ${JSON.stringify(logs)}`);
    assert.ok(logs.every(([, i]) => i < final), "logs before the result");
    assert.equal(progress.length, 2, `progress of each round: ${JSON.stringify(progress)}`);
    // Sampling the same way.
    const sampled = JSON.parse(await s.callText("m__sample"));
    assert.equal(sampled.said, "hi there");
    assert.equal(sampled.statesMatch, true);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("modern server asks a legacy client without the capability: precise error; a looping server is bounded; others unaffected", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "mrtr-nocap",
    servers: { m: mrtr() },
    gateway: { startup_wait: "10s" },
    capabilities: {},
  });
  try {
    await s.tools();
    await rejectsCode(s.call("m__ask"), -32000, /elicitation\/create.*did not declare the 'elicitation' capability/, "ask without elicitation");
    await rejectsCode(s.call("m__sample"), -32000, /sampling\/createMessage.*'sampling' capability/, "sample without sampling");
    const from = s.gw.messages.length;
    const loop = s.call("m__loop");
    const meta = await s.callText("m__meta", {});
    assert.ok(JSON.parse(meta), "another call completes while one loops");
    await rejectsCode(loop, -32000, /after 8 rounds/, "looping input_required");
    const loopLogs = s.gw.messages.slice(from).filter((m) => m.method === "notifications/message" && /^loop id/.test(m.params?.data));
    assert.equal(loopLogs.length, 9, "the call and 8 retries (the bound), no more");
    assert.equal(await s.callText("m__meta", {}) !== "", true, "the server still answers");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("legacy client cancels a call during its input round: the request to it is withdrawn, the server is not retried", { timeout: T(60000) }, async () => {
  let aborted = null;
  const s = await openSession({
    tag: "mrtr-cancel",
    servers: { m: mrtr() },
    gateway: { startup_wait: "10s" },
    capabilities: { elicitation: {} },
    setup(client) {
      client.setRequestHandler(ElicitRequestSchema, (req, extra) => new Promise((resolve) => {
        extra.signal.addEventListener("abort", () => {
          aborted = extra.requestId;
          resolve({ action: "cancel" });
        });
      }));
    },
  });
  try {
    await s.tools();
    const from = s.gw.messages.length;
    const ac = new AbortController();
    const p = s.call("m__ask", {}, { signal: ac.signal });
    const req = await s.gw.waitFor((m) => m.method === "elicitation/create", T(5000), "elicitation at the client", from);
    ac.abort("changed my mind");
    await assert.rejects(p);
    const cancel = await s.gw.waitFor((m) => m.method === "notifications/cancelled" && m.params?.requestId === req.id, T(5000), "the elicitation withdrawn", from);
    assert.ok(cancel);
    await waitUntil(() => aborted !== null, T(5000), "the client's handler to see the cancellation");
    assert.equal(aborted, req.id);
    // The server saw the first call only: no retry after the cancel.
    const meta = JSON.parse(await s.callText("m__meta", {}));
    assert.ok(meta);
    const logs = s.gw.messages.slice(from).filter((m) => m.method === "notifications/message" && /^ask id/.test(m.params?.data));
    assert.equal(logs.length, 1, "no retry went upstream");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

for (const gen of ["modern", "legacy"])
test(`trace context in _meta reaches a ${gen} server, on the text path and the tree path`, { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-trace", servers: { m: mrtr(gen === "legacy" ? { args: [fixture("mrtr-server.mjs"), "--legacy"] } : {}) }, gateway: { startup_wait: "10s" } });
  try {
    await s.tools();
    const trace = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "vendor=opaque", baggage: "user=42" };
    const r = await s.client.callTool({ name: "m__meta", arguments: {}, _meta: trace }, undefined, { timeout: T(30000) });
    const meta = JSON.parse(Session.text(r));
    for (const k of Object.keys(trace)) assert.equal(meta[k], trace[k], `${k} passed on: ${JSON.stringify(meta)}`);
    assert.equal(meta["io.modelcontextprotocol/protocolVersion"], gen === "modern" ? "2026-07-28" : undefined, "the modern envelope for a modern server only");
    // The tree path (an escaped key makes the gateway parse the call) passes it on as well.
    s.gw.sendRaw(JSON.stringify({ jsonrpc: "2.0", id: "tree-1", method: "tools/call", params: { name: "m__meta", "argu\u006dents": {}, _meta: trace } }).replace("argum", "argu\\u006d") + "\n");
    const reply = await s.gw.waitFor((m) => m.id === "tree-1", T(10000), "tree-path reply");
    const meta2 = JSON.parse(reply.result.content[0].text);
    for (const k of Object.keys(trace)) assert.equal(meta2[k], trace[k], `${k} passed on (tree path): ${JSON.stringify(meta2)}`);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

// ---- legacy server, modern client ----

const fox = () => ({ fox: servers.faulty(["--name", "fox"]) });
const STATE = /^mcpgw1\.[0-9a-f]+$/;

async function askHeld(c, extra = {}) {
  const r = await c.result("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 60000 }, ...extra });
  assert.equal(r.resultType, "input_required", JSON.stringify(r));
  const keys = Object.keys(r.inputRequests);
  assert.equal(keys.length, 1);
  const req = r.inputRequests[keys[0]];
  assert.equal(req.method, "elicitation/create");
  assert.equal(req.params.message, "name?");
  assert.match(r.requestState, STATE, "a requestState the gateway sealed");
  return { key: keys[0], state: r.requestState };
}

test("legacy server asks a modern client: input_required with a sealed requestState; the retry resumes the held request", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-modern", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw, { caps: { elicitation: { form: {} } } });
    const { key, state } = await askHeld(c);
    // Forged: one digit changed. Refused precisely; the held request is not disturbed.
    const forged = state.slice(0, -1) + (state.endsWith("0") ? "1" : "0");
    const bad = await c.request("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: { [key]: { action: "decline" } }, requestState: forged });
    assert.equal(bad.error?.code, -32602, JSON.stringify(bad));
    assert.match(bad.error.message, /forged/);
    // The retry for another tool with a good state is refused too, and disturbs nothing.
    const other = await c.request("tools/call", { name: "fox__echo", arguments: {}, inputResponses: { [key]: { action: "decline" } }, requestState: state });
    assert.equal(other.error?.code, -32602, JSON.stringify(other));
    assert.match(other.error.message, /another request/);
    const missing = await c.request("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: {}, requestState: state });
    assert.equal(missing.error?.code, -32602);
    assert.match(missing.error.message, new RegExp(`inputResponses\\.${key}`));
    // The real retry: a new id, the answer; the server's final result comes to the retry's id.
    const done = await c.result("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: { [key]: { action: "accept", content: { n: "Ada" } } }, requestState: state });
    assert.equal(done.resultType, "complete");
    const got = JSON.parse(done.content[0].text);
    assert.deepEqual(got.result, { action: "accept", content: { n: "Ada" } }, "the server got the client's answer to its request");
    // Replayed: single use.
    const replay = await c.request("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: { [key]: { action: "accept", content: { n: "Eve" } } }, requestState: state });
    assert.equal(replay.error?.code, -32602, JSON.stringify(replay));
    assert.match(replay.error.message, /already used/);
    // Everything else goes on.
    const l = await c.result("tools/list");
    assert.ok(l.tools.some((t) => t.name === "fox__echo"));
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("requestState from another gateway (another session, another key) is refused; the holder's retry still works", { timeout: T(60000) }, async () => {
  const a = await openSession({ tag: "mrtr-a", servers: fox(), connect: false });
  const b = await openSession({ tag: "mrtr-b", servers: fox(), connect: false });
  try {
    const ca = new ModernClient(a.gw, { caps: { elicitation: {} } });
    const cb = new ModernClient(b.gw, { caps: { elicitation: {} } });
    const held = await askHeld(ca);
    const r = await cb.request("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: { [held.key]: { action: "decline" } }, requestState: held.state });
    assert.equal(r.error?.code, -32602, JSON.stringify(r));
    assert.match(r.error.message, /requestState/);
    const done = await ca.result("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: { [held.key]: { action: "decline" } }, requestState: held.state });
    assert.deepEqual(JSON.parse(done.content[0].text).result, { action: "decline" });
    await a.shutdown();
    await b.shutdown();
  } finally {
    a.destroy();
    b.destroy();
  }
});

test("@modelcontextprotocol/client 2.4.0 answers a legacy server's elicitation through mcpgw (input_required round, automatic retry)", { timeout: T(90000) }, async () => {
  const dir = makeTmp("mrtr-sdk2");
  try {
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, toYaml({ servers: fox() }));
    const transport = new StdioClientTransport({
      command: WRAPPER[0] ?? BIN,
      args: [...WRAPPER.slice(1), ...(WRAPPER.length ? [BIN] : []), "run", "-c", config, "--system-policy", ""],
      env: { ...process.env, XDG_STATE_HOME: path.join(dir, "state"), XDG_CONFIG_HOME: path.join(dir, "xdg") },
      stderr: "pipe",
    });
    const client = new Client2({ name: "sdk2-mrtr", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: "auto" } });
    const asked = [];
    client.setRequestHandler("elicitation/create", async (req) => {
      asked.push(req.params);
      return { action: "accept", content: { n: "Grace" } };
    });
    await client.connect(transport);
    try {
      assert.equal(client.getProtocolEra(), "modern");
      const r = await client.callTool({ name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 60000 } });
      const got = JSON.parse(r.content[0].text);
      assert.deepEqual(got.result, { action: "accept", content: { n: "Grace" } }, JSON.stringify(r));
      assert.equal(asked.length, 1);
      assert.equal(asked[0].message, "name?");
    } finally {
      await client.close();
    }
  } finally {
    rmTmp(dir);
  }
});

// ---- what the revision asks of an intermediary (point 5) ----

test("MCP Apps: two servers' colliding ui:// URIs are rewritten in the tools' _meta and the resources alike; each reads its own UI", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "mrtr-ui",
    servers: { a: mrtr({ args: [fixture("mrtr-server.mjs"), "--ui", "A"] }), b: mrtr({ args: [fixture("mrtr-server.mjs"), "--ui", "B", "--ui-unlisted"] }) },
    gateway: { startup_wait: "10s" },
  });
  try {
    const tools = await s.tools();
    const ua = tools.get("a__widget")?._meta?.ui?.resourceUri, ub = tools.get("b__widget")?._meta?.ui?.resourceUri;
    assert.equal(ua, "ui://widget/app.html", "the first server keeps its URI");
    assert.equal(ub, "mcpgw://b/ui%3A%2F%2Fwidget%2Fapp.html", "the second's is the gateway's form");
    const ra = await s.client.readResource({ uri: ua });
    assert.equal(ra.contents[0].text, "<p>A</p>");
    const rb = await s.client.readResource({ uri: ub });
    assert.equal(rb.contents[0].text, "<p>B</p>", "the rewritten URI reaches the server whose tool named it");
    assert.equal(rb.contents[0].uri, ub, "the content carries the URI the client asked for");
    const listed = (await s.client.listResources()).resources.map((r) => r.uri);
    assert.deepEqual(listed, ["ui://widget/app.html"], "b does not list its UI; a's is listed as it is");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("a listed ui:// resource of a later server is rewritten in resources/list too", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "mrtr-ui2",
    servers: { a: mrtr({ args: [fixture("mrtr-server.mjs"), "--ui", "A", "--ui-unlisted"] }), b: mrtr({ args: [fixture("mrtr-server.mjs"), "--ui", "B"] }) },
    gateway: { startup_wait: "10s" },
  });
  try {
    const tools = await s.tools();
    assert.equal(tools.get("a__widget")._meta.ui.resourceUri, "ui://widget/app.html");
    const ub = tools.get("b__widget")._meta.ui.resourceUri;
    assert.equal(ub, "mcpgw://b/ui%3A%2F%2Fwidget%2Fapp.html");
    const listed = (await s.client.listResources()).resources.map((r) => r.uri);
    assert.deepEqual(listed, [ub], "b's resource is listed under the same rewritten URI as its tool names");
    assert.equal((await s.client.readResource({ uri: "ui://widget/app.html" })).contents[0].text, "<p>A</p>", "the unlisted original goes to the server whose tool named it first");
    assert.equal((await s.client.readResource({ uri: ub })).contents[0].text, "<p>B</p>");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("cacheScope: a server's private tools/list makes the merged list private to a modern client", { timeout: T(60000) }, async () => {
  for (const [args, want] of [[[], "public"], [["--private"], "private"]]) {
    const s = await openSession({ tag: "mrtr-cache", servers: { m: mrtr({ args: [fixture("mrtr-server.mjs"), ...args] }), fox: servers.faulty(["--name", "fox"]) }, gateway: { startup_wait: "10s" }, connect: false });
    try {
      const c = new ModernClient(s.gw);
      const l = await c.result("tools/list");
      assert.ok(l.tools.some((t) => t.name === "m__ask"), JSON.stringify(l.tools.map((t) => t.name)));
      assert.equal(l.cacheScope, want, `server said ${args.join(" ") || "public"}`);
      await s.shutdown();
    } finally {
      s.destroy();
    }
  }
});

test("tools/list comes back in a stable order (configuration order, then each server's), and tasks are not advertised", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-order", servers: { z: servers.faulty(["--name", "z"]), m: mrtr(), a: servers.faulty(["--name", "a"]) }, gateway: { startup_wait: "10s" } });
  try {
    const first = [...(await s.tools()).keys()];
    const servers_ = [...new Set(first.map((n) => n.split("__")[0]))];
    assert.deepEqual(servers_, ["z", "m", "a"], "servers in configuration order, not sorted or by arrival");
    // A list change of one server (a new tool) leaves the others' order as it was.
    const add = first.find((n) => /^z__add.tools$/.test(n));
    await s.callText(add, { prefix: "x", count: 1 });
    await waitUntil(async () => (await s.tools()).size === first.length + 1, T(10000), "the new tool listed");
    const known = (n) => first.includes(n);
    const second = [...(await s.tools()).keys()].filter(known);
    assert.deepEqual(second, first, "the same order after another server's change");
    for (let i = 0; i < 3; i++) assert.deepEqual([...(await s.tools()).keys()].filter(known), first);
    const caps = s.client.getServerCapabilities();
    assert.equal(caps.tasks, undefined, "tasks are not advertised: task ids would need a namespace per server");
    assert.equal(caps.experimental, undefined);
    s.gw.send({ jsonrpc: "2.0", id: "t1", method: "tasks/list", params: {} });
    const t = await s.gw.waitFor((m) => m.id === "t1", T(10000), "tasks/list answer");
    assert.equal(t.error?.code, -32601, JSON.stringify(t));
    const d = await new ModernClient(s.gw).result("server/discover");
    assert.equal(d.capabilities.tasks, undefined, "nor to a modern client");
    assert.equal(d.capabilities.extensions?.["io.modelcontextprotocol/tasks"], undefined);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("modern client, modern server: input_required and its requestState pass through untouched; the retry completes", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-mm", servers: { m: mrtr() }, gateway: { startup_wait: "10s" }, connect: false });
  try {
    const c = new ModernClient(s.gw, { caps: { elicitation: {} } });
    const r = await c.result("tools/call", { name: "m__ask", arguments: {} });
    assert.equal(r.resultType, "input_required");
    assert.equal(r.requestState, "opaque/state+1==", "the server's own state, not resealed");
    assert.equal(r.inputRequests.who.method, "elicitation/create");
    const done = await c.result("tools/call", { name: "m__ask", arguments: {}, inputResponses: { who: { action: "accept", content: { name: "Lin" } } }, requestState: r.requestState });
    const out = JSON.parse(done.content[0].text);
    assert.equal(out.said, "accept:Lin");
    assert.equal(out.statesMatch, true);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("a held request the server gave up on: the late retry is refused precisely, the session goes on", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-late", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw, { caps: { elicitation: {} } });
    const r = await c.result("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 200 } });
    assert.equal(r.resultType, "input_required");
    const key = Object.keys(r.inputRequests)[0];
    // The server's own wait ends; its call ends with it (nobody left to tell).
    await waitUntil(() => /ended while its request to the client was held/.test(s.gw.stderr), T(10000), "the server's call to end");
    const late = await c.request("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: { [key]: { action: "decline" } }, requestState: r.requestState });
    assert.equal(late.error?.code, -32602, JSON.stringify(late));
    assert.match(late.error.message, /already used|ended/);
    const l = await c.result("tools/list");
    assert.ok(l.tools.length > 0);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("subscriptions/listen of a modern client subscribes a legacy server to its URIs and unsubscribes it when the stream ends", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-listen", servers: { fox: servers.faulty(["--name", "fox", "--resource", "note://a"]) }, connect: false });
  try {
    const c = new ModernClient(s.gw);
    const touch = async () => (await c.result("tools/call", { name: "fox__touch", arguments: { uri: "note://a" } })).content[0].text;
    await c.result("resources/list");
    assert.equal(await touch(), "not subscribed", "nothing subscribed before the stream");
    const { id } = await c.listen({ resourceSubscriptions: ["note://a"] });
    await waitUntil(async () => (await touch()) === "updated", T(10000), "the server subscribed (resources/subscribe)");
    c.cancel(id);
    await waitUntil(async () => (await touch()) === "not subscribed", T(10000), "the server unsubscribed (resources/unsubscribe) when the stream ended");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("an SDK v2 server's inputRequired() elicitation through a Codex-like legacy client (SDK 1.x, elicitation declared)", { timeout: T(60000) }, async () => {
  const asked = [];
  const s = await openSession({
    tag: "mrtr-sdkv2",
    servers: { dep: { command: NODE, args: [fixture("mrtr-sdk-server.mjs")] } },
    gateway: { startup_wait: "10s" },
    capabilities: { elicitation: {} },
    setup(client) {
      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(req.params.message);
        return { action: "accept", content: { confirm: true, who: "ops" } };
      });
    },
  });
  try {
    await s.tools();
    assert.equal(await s.callText("dep__deploy", { env: "prod" }), "deployed to prod, confirmed by ops");
    assert.deepEqual(asked, ["Deploy to prod?"]);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("serve: a requestState sealed for one HTTP session is refused in another; its own session's retry resumes", { timeout: T(60000) }, async () => {
  const dir = makeTmp("mrtr-serve");
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(config, toYaml({ servers: fox() }));
  const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  const clients = [];
  try {
    let addr;
    await waitUntil(() => (addr = gw.stderr.match(/listening on (\S+)/)?.[1]) || gw.exitStatus !== null, T(10000), "serve to listen");
    assert.ok(addr, gw.stderrTail());
    const url = new URL(`http://${addr}/mcp`);
    for (const name of ["a", "b"]) {
      const client = new Client1({ name: `mrtr-${name}`, version: "1.0.0" }, { capabilities: {} });
      await client.connect(new StreamableHTTPClientTransport(url));
      clients.push(client);
    }
    const [a, b] = clients;
    const any = z.object({}).passthrough();
    // A 2026-07-28 request on session a (its _meta makes it modern; the session stays a's).
    const call = (c, extra) => c.request({ method: "tools/call", params: { name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 60000 }, _meta: modernMeta({ caps: { elicitation: {} } }), ...extra } }, any, { timeout: T(20000) });
    const r = await call(a, {});
    assert.equal(r.resultType, "input_required", JSON.stringify(r));
    const key = Object.keys(r.inputRequests)[0];
    const retry = { inputResponses: { [key]: { action: "accept", content: { n: "Bo" } } }, requestState: r.requestState };
    await assert.rejects(call(b, retry), (e) => e.code === -32602 && /another session/.test(e.message), "session b cannot resume a's request");
    const done = await call(a, retry);
    assert.deepEqual(JSON.parse(done.content[0].text).result, { action: "accept", content: { n: "Bo" } });
    // A held request whose session closes lives on (a retry may come elsewhere) until its server
    // gives up: then it ends without its session, and the gateway goes on.
    const r2 = await call(a, { arguments: { method: "elicitation/create", timeout_ms: 300 } });
    assert.equal(r2.resultType, "input_required");
    await a.transport.terminateSession();
    await waitUntil(() => /outlives its closed session/.test(gw.stderr), T(10000), "the held call to outlive its session");
    await waitUntil(() => /ended while its request to the client was held/.test(gw.stderr), T(10000), "the orphaned held call to end");
    const l = await b.listTools();
    assert.ok(l.tools.some((t) => t.name === "fox__echo"), "the gateway still serves");
    for (const c of clients.splice(0)) await c.close().catch(() => {});
    gw.proc.kill("SIGTERM");
    const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
    assert.deepEqual(st && { code: st.code, signal: st.signal }, { code: 0, signal: null }, gw.stderrTail());
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    gw.proc.kill("SIGTERM");
    await Promise.race([gw.exited, sleep(T(8000))]);
    gw.destroy();
    rmTmp(dir);
  }
});

test("serve: a modern server's elicitation reaches a legacy HTTP client on its call's stream; the call completes", { timeout: T(60000) }, async () => {
  const dir = makeTmp("mrtr-serve1");
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(config, toYaml({ gateway: { startup_wait: "10s" }, servers: { m: mrtr() } }));
  const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  let client;
  try {
    let addr;
    await waitUntil(() => (addr = gw.stderr.match(/listening on (\S+)/)?.[1]) || gw.exitStatus !== null, T(10000), "serve to listen");
    assert.ok(addr, gw.stderrTail());
    client = new Client1({ name: "mrtr-http", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: "Hopper" } }));
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://${addr}/mcp`)));
    await waitUntil(async () => (await client.listTools()).tools.some((t) => t.name === "m__ask"), T(10000), "m__ask listed");
    const r = await client.callTool({ name: "m__ask", arguments: {} }, undefined, { timeout: T(20000) });
    const out = JSON.parse(r.content[0].text);
    assert.equal(out.said, "accept:Hopper");
    assert.equal(out.statesMatch, true);
    await client.close();
    client = null;
    gw.proc.kill("SIGTERM");
    const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
    assert.deepEqual(st && { code: st.code, signal: st.signal }, { code: 0, signal: null }, gw.stderrTail());
  } finally {
    await client?.close().catch(() => {});
    gw.destroy();
    rmTmp(dir);
  }
});

test("a held request waits for the retry only within its bound: then the server's request is refused and the late retry gets -32602 expired", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-bound", servers: { fox: servers.faulty(["--name", "fox"]) }, connect: false, env: { MCPGW_TEST_HELD_MS: String(T(500)) } });
  try {
    const c = new ModernClient(s.gw, { caps: { elicitation: {} } });
    const { key, state } = await askHeld(c);
    await waitUntil(() => /did not retry within/.test(s.gw.stderr), T(10000), "the bound to pass");
    const late = await c.request("tools/call", { name: "fox__ask", arguments: { method: "elicitation/create" }, inputResponses: { [key]: { action: "decline" } }, requestState: state });
    assert.equal(late.error?.code, -32602, JSON.stringify(late));
    assert.match(late.error.message, /expired/);
    // The server's call was cancelled and the server goes on.
    const e = await c.result("tools/call", { name: "fox__echo", arguments: { text: "still here" } });
    assert.match(JSON.stringify(e.content), /still here/);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("legacy server's roots/list and sampling/createMessage behind a modern client: input_required, the retry's answer reaches the server", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "mrtr-kinds", servers: fox(), connect: false });
  try {
    const c = new ModernClient(s.gw, { caps: { roots: {}, sampling: {} } });
    const answers = {
      "roots/list": { roots: [{ uri: "file:///srv/p", name: "p" }] },
      "sampling/createMessage": { role: "assistant", content: { type: "text", text: "ok" }, model: "m" },
    };
    for (const [method, answer] of Object.entries(answers)) {
      const r = await c.result("tools/call", { name: "fox__ask", arguments: { method, timeout_ms: 60000 } });
      assert.equal(r.resultType, "input_required", JSON.stringify(r));
      const [key] = Object.keys(r.inputRequests);
      assert.equal(r.inputRequests[key].method, method);
      const done = await c.result("tools/call", { name: "fox__ask", arguments: { method, timeout_ms: 60000 }, inputResponses: { [key]: answer }, requestState: r.requestState });
      assert.deepEqual(JSON.parse(done.content[0].text).result, answer, method);
    }
    await s.shutdown();
  } finally {
    s.destroy();
  }
});
