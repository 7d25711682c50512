// Issue 12, point 1 (HTTP): `mcpgw serve` speaks the 2026-07-28 form of Streamable HTTP on the same
// /mcp as 2025-11-25 sessions. Raw fetch() requests check the wire: stateless POSTs (no session id
// asked for or given), answered as JSON or as an SSE stream; every header rule of
// streamable-http.mdx "Server Validation" (-32602 for the _meta keys, -32020 for MCP-Protocol-
// Version, Mcp-Method, Mcp-Name and x-mcp-header's Mcp-Param-*, -32022 for a version, 404 -32601,
// 405 for GET/DELETE), each followed by a good request that must still be served; a legacy SDK
// session beside modern requests; and the official @modelcontextprotocol/client 2.4.0 over HTTP.
// Behind the gateway: the modern conformance fixture (tests/fixtures/conformance-server-modern.mjs),
// whose test_x_mcp_header declares x-mcp-header "Region".
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client as Client2, StreamableHTTPClientTransport as Transport2 } from "@modelcontextprotocol/client";
import { Agent } from "undici";
import { Gateway, NODE, T, fixture, makeTmp, rmTmp, servers, sleep, toYaml, waitUntil, within } from "./lib/harness.mjs";

const MODERN = "2026-07-28";
const META = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "serve-modern-it", version: "1.0.0" },
};

/** `mcpgw serve` on 127.0.0.1 with the modern fixture behind it (names unprefixed). */
async function startServe(gateway = {}, srv = null, readyTool = "test_x_mcp_header") {
  const dir = makeTmp("serve-modern");
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(config, toYaml({ gateway, servers: srv ?? { m: { command: NODE, args: [fixture("conformance-server-modern.mjs")], prefix: "" } } }));
  const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  await waitUntil(() => /listening on 127\.0\.0\.1:\d+/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
  assert.equal(gw.exitStatus, null, `serve exited early:\n${gw.stderrTail()}`);
  const url = `http://${/listening on (127\.0\.0\.1:\d+)/.exec(gw.stderr)[1]}/mcp`;
  // the fixture answered its first tools/list: the gateway knows test_x_mcp_header's schema
  if (readyTool)
    await waitUntil(async () => (await post(url, "tools/list", {}, {}, 1)).body?.result?.tools?.some((t) => t.name === readyTool), T(15000), "the fixture's tools");
  return { gw, dir, url };
}

async function stopServe(gw, dir) {
  gw.proc.kill("SIGTERM");
  const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
  assert.ok(st, `serve did not exit after SIGTERM:\n${gw.stderrTail()}`);
  assert.equal(st.code, 0, gw.stderrTail());
  rmTmp(dir);
}

/** The headers a conforming 2026-07-28 client sends for a request. */
function modernHeaders(method, params) {
  const h = { "Content-Type": "application/json", Accept: "application/json, text/event-stream", "MCP-Protocol-Version": MODERN, "Mcp-Method": method };
  if (method === "tools/call" || method === "prompts/get") h["Mcp-Name"] = params.name;
  if (method === "resources/read") h["Mcp-Name"] = params.uri;
  return h;
}

/** Reads an SSE body whole: its data: messages. */
function sseMessages(text) {
  return text.split(/\r?\n\r?\n/).map((ev) => ev.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n")).filter(Boolean).map((d) => JSON.parse(d));
}

/**
 * POSTs one request. params get the standard _meta unless params._meta is given (null: none);
 * headers: overrides of the standard ones (undefined removes one). Resolves {status, headers,
 * body (the response message), messages (all of an SSE body)}.
 */
async function post(url, method, params, headers = {}, id = 7, { signal, dispatcher } = {}) {
  const p = { ...params };
  if (p._meta === null) delete p._meta;
  else if (p._meta === undefined) p._meta = META;
  const h = { ...modernHeaders(method, p), ...headers };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  const res = await fetch(url, { method: "POST", headers: h, body: JSON.stringify({ jsonrpc: "2.0", id, method, params: p }), signal, dispatcher });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  const messages = type.includes("text/event-stream") ? sseMessages(text) : text ? [JSON.parse(text)] : [];
  return { status: res.status, headers: res.headers, body: messages.find((m) => m.id === id) ?? messages.at(-1), messages, type };
}

const b64 = (s) => `=?base64?${Buffer.from(s, "utf8").toString("base64")}?=`;

test("serve 2026-07-28: server/discover, tools/list and tools/call statelessly, JSON or SSE, no session id", { timeout: T(90000) }, async () => {
  const { gw, dir, url } = await startServe();
  try {
    const d = await post(url, "server/discover", {}, {}, 1);
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.match(d.type, /application\/json/);
    assert.ok(d.body.result.supportedVersions.includes(MODERN), JSON.stringify(d.body));
    assert.equal(d.headers.get("mcp-session-id"), null, "no session id is given out");

    const l = await post(url, "tools/list", {}, {}, 2);
    assert.equal(l.status, 200);
    assert.equal(l.headers.get("mcp-session-id"), null);
    assert.ok(l.body.result.tools.some((t) => t.name === "test_simple_text"));

    const c = await post(url, "tools/call", { name: "test_simple_text", arguments: {} }, {}, 3);
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.equal(c.body.id, 3);
    assert.deepEqual(c.body.result.content, [{ type: "text", text: "This is a simple text response for testing." }]);

    // progress before the result: an SSE stream scoped to this request, still no session id
    const pr = await post(url, "tools/call", { name: "test_tool_with_progress", arguments: {}, _meta: { ...META, progressToken: "tok-1" } }, {}, 4);
    assert.equal(pr.status, 200);
    assert.match(pr.type, /text\/event-stream/);
    assert.equal(pr.headers.get("mcp-session-id"), null);
    const progress = pr.messages.filter((m) => m.method === "notifications/progress");
    assert.ok(progress.length >= 1 && progress.every((m) => m.params.progressToken === "tok-1"), JSON.stringify(pr.messages));
    assert.equal(pr.messages.at(-1).id, 4, "the response ends the stream");
    assert.ok(pr.messages.at(-1).result, JSON.stringify(pr.messages.at(-1)));

    // a log line at the request's logLevel comes on that request's stream, before its result;
    // without a logLevel, none
    const lg = await post(url, "tools/call", { name: "test_logging_tool", arguments: {}, _meta: { ...META, "io.modelcontextprotocol/logLevel": "debug" } }, {}, 5);
    assert.equal(lg.status, 200);
    const logIdx = lg.messages.findIndex((m) => m.method === "notifications/message");
    assert.ok(logIdx >= 0 && logIdx < lg.messages.findIndex((m) => m.id === 5), JSON.stringify(lg.messages));
    assert.match(JSON.stringify(lg.messages[logIdx].params.data), /test_logging_tool ran/);
    const quiet = await post(url, "tools/call", { name: "test_logging_tool", arguments: {} }, {}, 6);
    assert.deepEqual(quiet.messages.filter((m) => m.method === "notifications/message"), []);
    assert.ok(quiet.body.result, JSON.stringify(quiet.body));

    // two at once, each answered on its own response with its own id
    const [a, b] = await Promise.all([
      post(url, "tools/call", { name: "test_simple_text", arguments: {} }, {}, 10),
      post(url, "resources/read", { uri: "test://static-text" }, {}, 11),
    ]);
    assert.equal(a.body.id, 10);
    assert.ok(a.body.result.content);
    assert.equal(b.body.id, 11);
    assert.ok(b.body.result.contents, JSON.stringify(b.body));
  } finally {
    await stopServe(gw, dir);
  }
});

test("serve 2026-07-28: every header and _meta rule gets 400/404/405 with a precise JSON-RPC error, and the endpoint keeps serving", { timeout: T(120000) }, async () => {
  const { gw, dir, url } = await startServe();
  try {
    const call = { name: "test_simple_text", arguments: {} };
    const x = (args) => ({ name: "test_x_mcp_header", arguments: args });
    const cases = [
      // [what, method, params, header overrides, status, code, message pattern]
      ["no _meta", "tools/list", { _meta: null }, {}, 400, -32602, /_meta is required/],
      ["_meta without protocolVersion", "server/discover", { _meta: { "io.modelcontextprotocol/clientCapabilities": {} } }, {}, 400, -32602, /protocolVersion/],
      ["_meta without clientCapabilities", "server/discover", { _meta: { "io.modelcontextprotocol/protocolVersion": MODERN } }, {}, 400, -32602, /clientCapabilities/],
      ["protocolVersion not a string", "tools/list", { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": 2026 } }, {}, 400, -32602, /protocolVersion/],
      ["no MCP-Protocol-Version header", "tools/list", {}, { "MCP-Protocol-Version": undefined }, 400, -32020, /MCP-Protocol-Version header is required/],
      ["MCP-Protocol-Version != _meta", "tools/list", {}, { "MCP-Protocol-Version": "2025-11-25" }, 400, -32020, /does not match body value '2026-07-28'/],
      ["no Mcp-Method", "tools/list", {}, { "Mcp-Method": undefined }, 400, -32020, /Mcp-Method header is required/],
      ["Mcp-Method != method", "tools/list", {}, { "Mcp-Method": "prompts/list" }, 400, -32020, /Mcp-Method header value 'prompts\/list' does not match body value 'tools\/list'/],
      ["Mcp-Method differs in case only", "tools/list", {}, { "Mcp-Method": "Tools/List" }, 400, -32020, /Mcp-Method/],
      ["no Mcp-Name on tools/call", "tools/call", call, { "Mcp-Name": undefined }, 400, -32020, /Mcp-Name header is required/],
      ["Mcp-Name != params.name", "tools/call", call, { "Mcp-Name": "test_error_handling" }, 400, -32020, /Mcp-Name header does not match/],
      ["Mcp-Name != params.uri", "resources/read", { uri: "test://static-text" }, { "Mcp-Name": "test://other" }, 400, -32020, /params\.uri/],
      ["Mcp-Name != prompts/get name", "prompts/get", { name: "test_simple_prompt" }, { "Mcp-Name": "x" }, 400, -32020, /params\.name/],
      ["Mcp-Name: a malformed =?base64?", "tools/call", call, { "Mcp-Name": "=?base64?***?=" }, 400, -32020, /malformed/],
      ["x-mcp-header value without its header", "tools/call", x({ region: "us-west1" }), {}, 400, -32020, /Mcp-Param-Region header is missing/],
      ["Mcp-Param-Region != the argument", "tools/call", x({ region: "us-west1" }), { "Mcp-Param-Region": "eu-north1" }, 400, -32020, /Mcp-Param-Region header does not match/],
      ["unknown version in both", "server/discover", { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } }, { "MCP-Protocol-Version": "2099-01-01" }, 400, -32022, /Unsupported protocol version '2099-01-01'/],
      ["a legacy version without a session", "tools/list", { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "2025-11-25" } }, { "MCP-Protocol-Version": "2025-11-25" }, 400, -32022, /send initialize/],
      ["unknown method", "no/such/method", {}, {}, 404, -32601, /./],
      ["initialize in the 2026-07-28 form", "initialize", { protocolVersion: MODERN, capabilities: {}, clientInfo: { name: "x", version: "1" } }, {}, 404, -32601, /initialize was removed/],
      ["ping (removed in 2026-07-28)", "ping", {}, {}, 404, -32601, /ping/],
    ];
    let id = 100;
    for (const [what, method, params, headers, status, code, re] of cases) {
      const r = await post(url, method, params, headers, ++id);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body?.jsonrpc, "2.0", what);
      assert.equal(r.body.id, id, `${what}: the error carries the request's id`);
      assert.equal(r.body.error?.code, code, `${what}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, re, what);
      if (code === -32022) {
        assert.ok(r.body.error.data.supported.includes(MODERN), what);
        assert.equal(r.body.error.data.requested, params._meta["io.modelcontextprotocol/protocolVersion"], what);
      }
      assert.equal(r.headers.get("mcp-session-id"), null, what);
      // and the next good request is served
      const ok = await post(url, "tools/call", call, {}, ++id);
      assert.equal(ok.status, 200, `after ${what}: ${JSON.stringify(ok.body)}`);
      assert.ok(ok.body.result?.content, `after ${what}`);
    }
    // x-mcp-header: right plain, right base64 (decoded before the comparison), and no header when
    // the argument is absent or null
    for (const [what, args, headers] of [
      ["plain", { region: "us-west1" }, { "Mcp-Param-Region": "us-west1" }],
      ["base64", { region: "Hello, 世界" }, { "Mcp-Param-Region": b64("Hello, 世界") }],
      ["absent", { level: 3 }, {}],
      ["null", { region: null }, {}],
    ]) {
      const r = await post(url, "tools/call", x(args), headers, ++id);
      assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.body)}`);
      assert.ok(r.body.result, `${what}: ${JSON.stringify(r.body)}`);
    }
    // Mcp-Name in the sentinel form is decoded too
    const n = await post(url, "tools/call", call, { "Mcp-Name": b64("test_simple_text") }, ++id);
    assert.equal(n.status, 200, JSON.stringify(n.body));
    // a response POSTed by a modern client is refused
    const resp = await fetch(url, { method: "POST", headers: modernHeaders("tools/list", {}), body: JSON.stringify({ jsonrpc: "2.0", id: 5, result: { _meta: META } }) });
    assert.equal(resp.status, 400);
    assert.equal((await resp.json()).error.code, -32600);
    // a notification in this form is taken (202, no body): the revision defines none over HTTP
    const note = await fetch(url, { method: "POST", headers: modernHeaders("notifications/cancelled", {}), body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } }) });
    assert.equal(note.status, 202);
    assert.equal(await note.text(), "");
    // an initialize without the 2026-07-28 _meta is a 2025 client's, whatever header it sent
    const init = await fetch(url, { method: "POST", headers: { ...modernHeaders("initialize", {}), "MCP-Protocol-Version": "2026-07-28" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }) });
    assert.equal(init.status, 200);
    assert.match(init.headers.get("mcp-session-id") ?? "", /^[0-9a-f]{32}$/);
    assert.equal((await init.json()).result.protocolVersion, "2025-11-25");
    // no GET stream and no session to DELETE in this revision
    for (const method of ["GET", "DELETE"]) {
      const r = await fetch(url, { method, headers: { Accept: "text/event-stream", "MCP-Protocol-Version": MODERN } });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get("allow"), "POST", method);
      assert.equal((await r.json()).error.code, -32600, method);
    }
    assert.equal(gw.exitStatus, null);
  } finally {
    await stopServe(gw, dir);
  }
});

test("serve 2026-07-28: a legacy SDK session and modern requests side by side on the same /mcp", { timeout: T(90000) }, async () => {
  const { gw, dir, url } = await startServe();
  const legacy = new Client({ name: "legacy-it", version: "1.0.0" }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  try {
    await within(legacy.connect(transport), T(10000), "legacy initialize");
    assert.match(transport.sessionId, /^[0-9a-f]{32}$/);
    for (let i = 0; i < 3; i++) {
      const [l, m] = await Promise.all([
        legacy.callTool({ name: "test_simple_text", arguments: {} }),
        post(url, "tools/call", { name: "test_simple_text", arguments: {} }, {}, 50 + i),
      ]);
      assert.equal(l.content[0].text, "This is a simple text response for testing.");
      assert.equal(m.status, 200);
      assert.equal(m.body.result.content[0].text, "This is a simple text response for testing.");
      assert.equal(m.body.result.resultType, "complete", JSON.stringify(m.body.result));
    }
    // the legacy session keeps its GET stream (the SDK opened it: a second one is refused as
    // before) and its DELETE
    const get = await fetch(url, { headers: { Accept: "text/event-stream", "Mcp-Session-Id": transport.sessionId, "MCP-Protocol-Version": "2025-11-25" } });
    assert.equal(get.status, 409);
    assert.match((await get.json()).error.message, /GET stream is already open/);
    const tools = await legacy.listTools();
    assert.ok(tools.tools.some((t) => t.name === "test_simple_text"));
    await transport.terminateSession();
    assert.equal(transport.sessionId, undefined);
  } finally {
    await legacy.close().catch(() => {});
    await stopServe(gw, dir);
  }
});

test("serve 2026-07-28: the official @modelcontextprotocol/client 2.4.0 over Streamable HTTP", { timeout: T(90000) }, async () => {
  const { gw, dir, url } = await startServe();
  const client = new Client2({ name: "sdk2-http-it", version: "1.0.0" }, { capabilities: {}, versionNegotiation: { mode: "auto" } });
  try {
    await within(client.connect(new Transport2(new URL(url))), T(15000), "the modern client to connect");
    assert.equal(client.getProtocolEra(), "modern");
    assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
    const l = await client.listTools();
    assert.ok(l.tools.some((t) => t.name === "test_x_mcp_header"));
    const r = await client.callTool({ name: "test_simple_text", arguments: {} });
    assert.equal(r.content[0].text, "This is a simple text response for testing.");
    // the client mirrors the x-mcp-header argument into Mcp-Param-Region; the gateway checks it
    const x = await client.callTool({ name: "test_x_mcp_header", arguments: { region: "us-west1" } });
    assert.equal(x.content[0].text, "region=us-west1");
    const p = await client.getPrompt({ name: "test_simple_prompt" });
    assert.ok(p.messages.length > 0);
    const sub = await client.listen({ toolsListChanged: true });
    assert.deepEqual(sub.honoredFilter, { toolsListChanged: true });
    await sub.close();
  } finally {
    await client.close().catch(() => {});
    await stopServe(gw, dir);
  }
});

test("serve with gateway.protocol: legacy: no 2026-07-28 form; the SDK 2.4.0 client falls back to a 2025-11-25 session", { timeout: T(90000) }, async () => {
  const { gw, dir, url } = await startServe({ protocol: "legacy" }, null, null);
  const client = new Client2({ name: "sdk2-http-legacy-it", version: "1.0.0" }, { capabilities: {}, versionNegotiation: { mode: "auto" } });
  try {
    const d = await post(url, "server/discover", {}, {}, 1);
    assert.equal(d.status, 400, JSON.stringify(d.body));
    assert.notEqual(d.body.error.code, -32022, "not an error of the 2026-07-28 form: the client falls back");
    assert.notEqual(d.body.error.code, -32020);
    await within(client.connect(new Transport2(new URL(url))), T(15000), "the client to connect");
    assert.equal(client.getProtocolEra(), "legacy");
    const r = await client.callTool({ name: "test_simple_text", arguments: {} });
    assert.equal(r.content[0].text, "This is a simple text response for testing.");
  } finally {
    await client.close().catch(() => {});
    await stopServe(gw, dir);
  }
});

test("serve 2026-07-28: input_required passes through from a modern server; the retry reaches it unchanged; the server is told the client's own capabilities", { timeout: T(90000) }, async () => {
  const { gw, dir, url } = await startServe();
  try {
    const withCaps = (caps, extra = {}) => ({ _meta: { ...META, "io.modelcontextprotocol/clientCapabilities": caps }, ...extra });
    const call = (name, caps, extra, id) => post(url, "tools/call", { name, arguments: {}, ...withCaps(caps, extra) }, {}, id);

    // round 1: the server's InputRequiredResult, as the server made it
    const r1 = await call("test_input_required_result_request_state", { elicitation: {} }, {}, 1);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    const ir = r1.body.result;
    assert.equal(ir.resultType, "input_required", JSON.stringify(ir));
    assert.equal(ir.inputRequests.confirm.method, "elicitation/create");
    assert.equal(typeof ir.requestState, "string");
    // round 2: a new id, the answers and requestState echoed: the same server verifies its state
    const r2 = await call("test_input_required_result_request_state", { elicitation: {} }, { inputResponses: { confirm: { action: "accept", content: { ok: true } } }, requestState: ir.requestState }, 2);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.equal(r2.body.id, 2);
    assert.equal(r2.body.result.resultType, "complete", JSON.stringify(r2.body));
    assert.match(r2.body.result.content[0].text, /^state-ok/);
    // a tampered requestState reaches the server as sent, and the server refuses it
    const bad = await call("test_input_required_result_request_state", { elicitation: {} }, { inputResponses: { confirm: { action: "accept", content: { ok: true } } }, requestState: ir.requestState.slice(0, -4) + "AAAA" }, 3);
    assert.equal(bad.body.error?.code, -32602, JSON.stringify(bad.body));

    // The capabilities the server sees are this request's: without sampling, the server's
    // -32021 (HTTP 400) names it; with it, the server asks for a sampling round instead.
    const no = await call("test_missing_capability", {}, {}, 4);
    assert.equal(no.status, 400, JSON.stringify(no.body));
    assert.equal(no.body.error.code, -32021, JSON.stringify(no.body));
    assert.ok(no.body.error.data.requiredCapabilities.sampling, JSON.stringify(no.body));
    const yes = await call("test_missing_capability", { sampling: {} }, {}, 5);
    assert.equal(yes.status, 200, JSON.stringify(yes.body));
    assert.equal(yes.body.result.resultType, "input_required");
    assert.equal(Object.values(yes.body.result.inputRequests)[0].method, "sampling/createMessage");
    // roots, which the gateway never declares for itself, go through for a client that has them
    const roots = await call("test_input_required_result_list_roots", { roots: {} }, {}, 6);
    assert.equal(roots.body.result?.inputRequests?.client_roots?.method, "roots/list", JSON.stringify(roots.body));
  } finally {
    await stopServe(gw, dir);
  }
});

test("serve 2026-07-28: closing a request's stream cancels it at the server; the endpoint goes on", { timeout: T(60000) }, async () => {
  const tmp = makeTmp("serve-modern-cancel");
  const cancels = path.join(tmp, "cancels.jsonl");
  // debug: the log says when the call has reached the server (the cancel is about that call)
  // max_sessions 1: also the bound of stateless requests in flight
  const { gw, dir, url } = await startServe({ log_level: "debug", max_sessions: 1 }, { f: servers.faulty(["--cancel-file", cancels]) }, "f__hang");
  try {
    const ac = new AbortController();
    const pending = post(url, "tools/call", { name: "f__hang", arguments: { tag: "modern-http" } }, {}, 9, { signal: ac.signal });
    pending.catch(() => {});
    await waitUntil(() => /\[f\] <- \{[^\n]*"method":"tools\/call"[^\n]*modern-http/.test(gw.stderr), T(10000), "the call to reach the server");
    const full = await post(url, "tools/call", { name: "f__echo", arguments: { text: "full" } }, {}, 11);
    assert.equal(full.status, 503, JSON.stringify(full.body));
    assert.equal(full.body.id, 11);
    assert.match(full.body.error.message, /too many requests in flight/);
    ac.abort();
    await assert.rejects(pending);
    await waitUntil(() => fs.existsSync(cancels) && fs.readFileSync(cancels, "utf8").includes('"modern-http"'), T(10000), "the server to be told of the cancel");
    const ok = await post(url, "tools/call", { name: "f__echo", arguments: { text: "after" } }, {}, 10);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match(JSON.stringify(ok.body.result.content), /after/);
  } finally {
    await stopServe(gw, dir);
    rmTmp(tmp);
  }
});

test("serve 2026-07-28: each request is its identity's (bearer token, unix peer): gateway.clients applies, no token is 401, and one identity's answers never reach another", { timeout: T(60000) }, async () => {
  const digest = (t) => crypto.createHash("sha256").update(t).digest("hex");
  const gateway = {
    client_tokens: { alice: `sha256:${digest("alice-tok")}`, carol: `sha256:${digest("carol-tok")}` },
    // and the unix peer, by uid: server a hidden
    clients: { "token:alice": { servers: { b: { hidden: true } } }, [`uid:${process.getuid()}`]: { servers: { a: { hidden: true } } } },
  };
  const srv = { a: servers.faulty(["--name", "a"]), b: servers.faulty(["--name", "b"]) };
  const dir0 = makeTmp("serve-modern-ident");
  const config = path.join(dir0, "config.yaml");
  const sock = path.join(dir0, "mcpgw.sock");
  fs.writeFileSync(config, toYaml({ gateway, servers: srv }));
  const gw = new Gateway({ dir: dir0, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0", "--listen", `unix:${sock}`] });
  try {
    await waitUntil(() => /listening on 127\.0\.0\.1:\d+/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
    const url = `http://${/listening on (127\.0\.0\.1:\d+)/.exec(gw.stderr)[1]}/mcp`;
    const as = (tok) => ({ Authorization: `Bearer ${tok}` });
    const noTok = await post(url, "tools/list", {}, {}, 1);
    assert.equal(noTok.status, 401);
    assert.match(noTok.headers.get("www-authenticate") ?? "", /^Bearer/);
    const names = async (tok) => {
      let r;
      await waitUntil(async () => (r = await post(url, "tools/list", {}, as(tok), 2)).body?.result?.tools?.some((t) => t.name === "a__echo"), T(15000), "the lists");
      return r;
    };
    // interleaved, the same ids: each answer is its own identity's
    const [al, ca] = await Promise.all([names("alice-tok"), names("carol-tok")]);
    const an = al.body.result.tools.map((t) => t.name);
    const cn = ca.body.result.tools.map((t) => t.name);
    assert.ok(!an.some((n) => n.startsWith("b__")), an.join(","));
    assert.ok(cn.includes("b__echo"), cn.join(","));
    const denied = await post(url, "tools/call", { name: "b__echo", arguments: { text: "x" } }, as("alice-tok"), 3);
    assert.ok(denied.body.error || denied.body.result?.isError, JSON.stringify(denied.body));
    const allowed = await post(url, "tools/call", { name: "b__echo", arguments: { text: "x" } }, as("carol-tok"), 3);
    assert.deepEqual(allowed.body.result.content, [{ type: "text", text: "b:x" }]);
    // on the unix socket, no token: the peer's uid is the identity
    await waitUntil(() => fs.existsSync(sock), T(10000), "the unix socket");
    const dispatcher = new Agent({ connect: { socketPath: sock } });
    const ux = await post("http://localhost/mcp", "tools/list", {}, {}, 4, { dispatcher });
    assert.equal(ux.status, 200, JSON.stringify(ux.body));
    const un = ux.body.result.tools.map((t) => t.name);
    assert.ok(un.includes("b__echo") && !un.some((n) => n.startsWith("a__")), un.join(","));
    const uc = await post("http://localhost/mcp", "tools/call", { name: "b__echo", arguments: { text: "u" } }, {}, 5, { dispatcher });
    assert.deepEqual(uc.body.result.content, [{ type: "text", text: "b:u" }]);
    await dispatcher.close();
  } finally {
    await stopServe(gw, dir0);
  }
});

// A legacy (2025) server's elicitation behind a 2026-07-28 client of serve's stateless form: the
// call is answered input_required with a requestState sealed by the gateway, the request it names
// is held beyond the short-lived session of that POST, and the client's retry (another POST, so
// another session) resumes it (docs/protocol.md, "The requestState mcpgw seals").
test("serve 2026-07-28: a legacy server's elicitation reaches the SDK 2.4.0 client as input_required; the retry on another POST resumes the held request", { timeout: T(90000) }, async () => {
  const { gw, dir, url } = await startServe({}, { fox: servers.faulty(["--name", "fox"]) }, "fox__ask");
  const client = new Client2({ name: "sdk2-http-mrtr", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: "auto" } });
  const asked = [];
  client.setRequestHandler("elicitation/create", async (req) => {
    asked.push(req.params);
    return { action: "accept", content: { n: "Ada" } };
  });
  try {
    await within(client.connect(new Transport2(new URL(url))), T(15000), "the modern client to connect");
    assert.equal(client.getProtocolEra(), "modern");
    const r = await client.callTool({ name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 60000 } });
    const got = JSON.parse(r.content[0].text);
    assert.deepEqual(got.result, { action: "accept", content: { n: "Ada" } }, JSON.stringify(r));
    assert.equal(asked.length, 1);
    assert.equal(asked[0].message, "name?");
    // by hand: the input_required result carries the gateway's sealed state, and a forged one is refused
    const first = await post(url, "tools/call", { name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 60000 },
      _meta: { ...META, "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } } } }, {}, 21);
    assert.equal(first.body.result?.resultType, "input_required", JSON.stringify(first.body));
    assert.match(first.body.result.requestState, /^mcpgw1\.[0-9a-f]+$/);
    const key = Object.keys(first.body.result.inputRequests)[0];
    const forged = first.body.result.requestState.slice(0, -2) + (first.body.result.requestState.endsWith("00") ? "11" : "00");
    const bad = await post(url, "tools/call", { name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 60000 },
      inputResponses: { [key]: { action: "accept", content: { n: "Eve" } } }, requestState: forged,
      _meta: { ...META, "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } } } }, {}, 22);
    assert.equal(bad.body.error?.code, -32602, JSON.stringify(bad.body));
    const good = await post(url, "tools/call", { name: "fox__ask", arguments: { method: "elicitation/create", timeout_ms: 60000 },
      inputResponses: { [key]: { action: "accept", content: { n: "Bob" } } }, requestState: first.body.result.requestState,
      _meta: { ...META, "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } } } }, {}, 23);
    assert.deepEqual(JSON.parse(good.body.result.content[0].text).result, { action: "accept", content: { n: "Bob" } }, JSON.stringify(good.body));
  } finally {
    await client.close().catch(() => {});
    await stopServe(gw, dir);
  }
});
