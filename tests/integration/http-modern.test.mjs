// Issue 12 point 2 (HTTP): remote servers of both generations behind `transport: auto`. The probe
// is a 2026-07-28 POST (server/discover); a server of that revision (tests/fixtures/http/modern.mjs,
// built with the SDK v2's createMcpHandler) is then spoken to statelessly: POST only, no session,
// no GET stream, the metadata headers on every request (MCP-Protocol-Version equal to the body's
// _meta, Mcp-Method, Mcp-Name, Mcp-Param-* from x-mcp-header); a legacy Streamable HTTP server and
// an HTTP+SSE one are still found as such. The client is the legacy SDK client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { FIXTURES, NODE, T, makeTmp, openSession, outFile, rejectsCode, rmTmp, runGateway, toYaml, waitUntil } from "./lib/harness.mjs";
import { startServer, stopAll } from "./lib/remote.mjs";

const MODERN = path.join(FIXTURES, "http/modern.mjs");

/** Starts the modern fixture; resolves {url, stop} once it listens. */
function startModern(args) {
  const p = spawn(NODE, [MODERN, "--lifetime-ms", String(T(120000)), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  p.stderr.on("data", (c) => (err += c));
  const exited = new Promise((r) => p.on("exit", r));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`modern fixture did not listen: ${err}`)), T(10000));
    p.stdout.on("data", (c) => {
      out += c;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: `http://127.0.0.1:${m[1]}/mcp`,
          stop: async () => {
            if (p.exitCode === null && p.signalCode === null) {
              p.kill("SIGKILL");
              await exited;
            }
          },
        });
      }
    });
    p.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`modern fixture exited (${code}): ${err}`));
    });
  });
}

const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);

test("a 2026-07-28 server over HTTP: found by the probe, spoken to statelessly with the metadata headers, no GET", { timeout: T(60000) }, async () => {
  const dir = makeTmp("httpmodern");
  const rec = path.join(dir, "rec.jsonl");
  const srv = await startModern(["--record", rec, "--name", "m"]);
  let s;
  try {
    s = await openSession({ tag: "httpmodern", servers: { m: { url: srv.url } }, gateway: { log_level: "debug", startup_wait: "10s" } });
    const tools = await s.tools();
    assert.ok(tools.has("m__echo") && tools.has("m__where"), [...tools.keys()].join(","));
    assert.equal(await s.callText("m__echo", { text: "hi" }), "m: hi");
    // the server refuses a call whose x-mcp-header parameter is not mirrored (-32020): it got it
    assert.equal(await s.callText("m__where", { region: "eu-west1" }), "region eu-west1, header eu-west1");
    assert.equal(await s.callText("m__where", { region: " Zürich " }), "region  Zürich , header =?base64?IFrDvHJpY2gg?=");
    assert.match(s.gw.stderr, /\[m\] transport: streamable-http \(2026-07-28\)/);
    await s.shutdown();
    const reqs = lines(rec);
    assert.ok(reqs.length >= 4, JSON.stringify(reqs.map((r) => r.method)));
    assert.deepEqual(reqs.filter((r) => r.method !== "POST").map((r) => r.method), [], "POST only: no GET stream, no DELETE");
    assert.equal(reqs[0].body.method, "server/discover", "the probe comes first");
    assert.deepEqual(reqs.filter((r) => r.body?.method === "initialize"), [], "no initialize");
    for (const r of reqs) {
      const meta = r.body.params?._meta ?? {};
      assert.equal(r.headers["mcp-protocol-version"], "2026-07-28", r.body.method);
      assert.equal(meta["io.modelcontextprotocol/protocolVersion"], "2026-07-28", `${r.body.method}: _meta stamped`);
      assert.equal(r.headers["mcp-method"], r.body.method);
      assert.equal(r.headers["mcp-session-id"], undefined);
      if (r.body.method === "tools/call") assert.equal(r.headers["mcp-name"], r.body.params.name);
    }
    const where = reqs.filter((r) => r.body.method === "tools/call" && r.body.params.name === "where");
    assert.deepEqual(where.map((r) => r.headers["mcp-param-region"]), ["eu-west1", "=?base64?IFrDvHJpY2gg?="]);
    assert.ok(reqs.filter((r) => r.body.method === "tools/call" && r.body.params.name === "echo").every((r) => !("mcp-param-region" in r.headers)));
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("transport: auto still finds a legacy Streamable HTTP server and an HTTP+SSE one after the probe", { timeout: T(60000) }, async () => {
  const dir = makeTmp("httpmodern-legacy");
  const recNew = path.join(dir, "new.jsonl");
  const legacy = await startServer(["--name", "new", "--record", recNew]);
  const sse = await startServer(["--transport", "sse", "--name", "old"]);
  let s;
  try {
    s = await openSession({ tag: "httpmodern-legacy", servers: { new: { url: legacy.url }, old: { url: sse.url } }, gateway: { log_level: "debug", startup_wait: "10s" } });
    assert.equal(await s.callText("new__echo", { text: "a" }), "new:a");
    assert.equal(await s.callText("old__echo", { text: "b" }), "old:b");
    assert.match(s.gw.stderr, /\[new\] transport: streamable-http\n/);
    assert.match(s.gw.stderr, /\[old\] transport: sse/);
    assert.doesNotMatch(s.gw.stderr, /\[(new|old)\] transport: streamable-http \(2026-07-28\)/);
    await s.shutdown();
    // the legacy server saw the probe, then the initialize handshake with a session
    const reqs = lines(recNew).filter((r) => r.method === "POST");
    assert.ok(reqs.length >= 2, JSON.stringify(reqs));
  } finally {
    s?.destroy();
    await stopAll([legacy, sse]);
    rmTmp(dir);
  }
});

test("a 2026-07-28 server remembered as legacy (a stale state file): its refusal of initialize is passed on, and server/discover finds it", { timeout: T(60000) }, async () => {
  const dir = makeTmp("httpmodern-stale");
  const rec = outFile(dir, "rec.jsonl");
  const srv = await startModern(["--record", rec, "--name", "m"]);
  let s;
  try {
    // what a gateway wrote when a legacy server answered at this URL (state_era.c's file)
    const identity = "http:" + crypto.createHash("sha256").update(srv.url).digest("hex").slice(0, 32);
    fs.mkdirSync(path.join(dir, "state/mcpgw"), { recursive: true });
    fs.writeFileSync(path.join(dir, "state/mcpgw/eras.json"), JSON.stringify({ version: 1, servers: { m: { identity, era: "legacy" } } }));
    s = await openSession({ dir, servers: { m: { url: srv.url } }, gateway: { log_level: "debug", startup_wait: "10s" } });
    assert.equal(await s.callText("m__echo", { text: "again" }), "m: again");
    assert.match(s.gw.stderr, /(remembered|known) as legacy: initialize without a probe/);
    assert.match(s.gw.stderr, /initialize refused by a server that speaks 2026-07-28/);
    assert.doesNotMatch(s.gw.stderr, /trying the legacy HTTP\+SSE transport/);
    await s.shutdown();
    const methods = lines(rec).map((r) => `${r.method} ${r.body?.method ?? ""}`);
    assert.deepEqual(methods.slice(0, 2), ["POST initialize", "POST server/discover"]);
    assert.ok(!methods.some((m) => m.startsWith("GET")), methods.join(","));
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("a 2026-07-28 server's subscriptions/listen stream outlives a silence longer than the request idle bound, and carries list changes", { timeout: T(120000) }, async () => {
  const srv = await startModern(["--name", "m", "--keepalive-ms", "0"]);
  let s;
  try {
    // timeout 1s: a request may be silent 31 s (timeout + 30 s; libcurl's low-speed check ends it
    // some seconds after that); the listen stream must not be bound
    s = await openSession({ tag: "httpmodern-listen", servers: { m: { url: srv.url, timeout: "1s" } }, gateway: { log_level: "debug", startup_wait: "10s" } });
    await waitUntil(() => /\[m\] subscriptions\/listen acknowledged/.test(s.gw.stderr), T(10000), "the listen stream");
    await new Promise((r) => setTimeout(r, 70000));
    assert.doesNotMatch(s.gw.stderr, /\[m\] subscriptions\/listen (refused|ended)/);
    assert.equal(await s.callText("m__add_tool", { name: "late" }), "added late");
    await waitUntil(async () => (await s.tools()).has("m__late"), T(10000), "the tool added after the silence");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("mcpgw doctor: the generation and transport found for a 2026-07-28, a 2025 Streamable HTTP and an HTTP+SSE server", { timeout: T(60000) }, async () => {
  const dir = makeTmp("httpmodern-doctor");
  const m = await startModern(["--name", "m"]);
  const legacy = await startServer(["--name", "new"]);
  const sse = await startServer(["--transport", "sse", "--name", "old"]);
  try {
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, toYaml({ servers: { m: { url: m.url }, new: { url: legacy.url }, old: { url: sse.url } } }));
    const r = await runGateway(["doctor", "-c", config, "--system-policy", "", "--no-service"], { dir, timeout: T(40000) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /m:\n(?:.*\n)*?  transport:  streamable-http\n  protocol:   2026-07-28\n  era:        modern \(server\/discover, no initialize\)/);
    assert.match(r.stdout, /new:\n(?:.*\n)*?  transport:  streamable-http\n  protocol:   2025-11-25\n  era:        legacy \(initialize\)/);
    assert.match(r.stdout, /old:\n(?:.*\n)*?  transport:  sse\n  protocol:   [0-9-]+\n  era:        legacy \(initialize\)/);
  } finally {
    await m.stop();
    await stopAll([legacy, sse]);
    rmTmp(dir);
  }
});

/** A server that answers server/discover like a 2026-07-28 server but is a 2025 one with sessions:
 * without initialize it refuses every request with HTTP 400 "Server not initialized" (the SDK 1.x
 * wording). Resolves {url, posts, close}. */
function fakeModern() {
  const posts = [];
  const sessions = new Set();
  const srv = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method !== "POST") {
        res.writeHead(405).end();
        return;
      }
      const m = JSON.parse(body);
      posts.push({ method: m.method, session: req.headers["mcp-session-id"] });
      const reply = (status, obj, headers = {}) => res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(obj));
      if (m.method === "server/discover")
        return reply(200, { jsonrpc: "2.0", id: m.id, result: { supportedVersions: ["2026-07-28"], capabilities: { tools: {} }, _meta: { "io.modelcontextprotocol/serverInfo": { name: "fake", version: "1" } } } });
      if (m.method === "initialize") {
        const sid = `s${sessions.size + 1}`;
        sessions.add(sid);
        return reply(200, { jsonrpc: "2.0", id: m.id, result: { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "fake", version: "1" } } }, { "Mcp-Session-Id": sid });
      }
      if (!sessions.has(req.headers["mcp-session-id"]))
        return reply(400, { jsonrpc: "2.0", id: null, error: { code: -32000, message: "Bad Request: Server not initialized" } });
      if (m.id === undefined) return res.writeHead(202).end();
      if (m.method === "tools/list")
        return reply(200, { jsonrpc: "2.0", id: m.id, result: { tools: [{ name: "echo", inputSchema: { type: "object", properties: { text: { type: "string" } } } }] } });
      if (m.method === "tools/call") return reply(200, { jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: `fake: ${m.params.arguments.text}` }] } });
      return reply(200, { jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
    });
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve({
    url: `http://127.0.0.1:${srv.address().port}/mcp`,
    posts,
    close: () => new Promise((r) => {
      srv.closeAllConnections();
      srv.close(r);
    }),
  })));
}

test("an HTTP server that claims 2026-07-28 and then refuses requests as an uninitialised 2025 server: its error reaches the upstream, which restarts it with initialize", { timeout: T(60000) }, async () => {
  const srv = await fakeModern();
  const lifetime = setTimeout(() => srv.close(), T(55000));
  let s;
  try {
    s = await openSession({ tag: "httpmodern-fake", servers: { f: { url: srv.url } }, gateway: { log_level: "debug", startup_wait: "15s" } });
    await waitUntil(async () => (await s.tools()).has("f__echo"), T(20000), "the tools after the restart");
    assert.equal(await s.callText("f__echo", { text: "x" }), "fake: x");
    assert.match(s.gw.stderr, /claimed 2026-07-28 \(server\/discover\) but refused (tools\/list|subscriptions\/listen) as an uninitialised legacy server/);
    await s.shutdown();
    const methods = srv.posts.map((p) => p.method);
    assert.equal(methods[0], "server/discover");
    const init = methods.indexOf("initialize");
    assert.ok(init > 1, `a request refused before the initialize: ${methods.join(",")}`);
  } finally {
    clearTimeout(lifetime);
    s?.destroy();
    await srv.close();
  }
});

/** A hand-written 2026-07-28 server: server/discover, tools/list answering `tools`, tools/call
 * answering with the Mcp-Param-* headers it got. Resolves {url, calls, close}. */
function rawModern(tools, { strict = false, requireHeaders = false } = {}) {
  const calls = [];
  let lists = 0;
  const srv = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method !== "POST") return res.writeHead(405).end();
      const m = JSON.parse(body);
      const reply = (obj) => res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: m.id, ...obj }));
      // strict: a 2025 request is refused for its missing header, as the suite's stateless mocks do
      if (strict && req.headers["mcp-protocol-version"] !== "2026-07-28")
        return res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: m.id ?? null, error: { code: -32020, message: "Missing MCP-Protocol-Version header" } }));
      if (m.method === "server/discover") return reply({ result: { supportedVersions: ["2026-07-28"], capabilities: { tools: {} } } });
      if (m.method === "tools/list") {
        lists++;
        return reply({ result: { tools } });
      }
      if (m.method === "tools/call") {
        const params = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith("mcp-param-")));
        // requireHeaders: every annotated argument of the tool as it is defined now must be mirrored
        const props = tools.find((t) => t.name === m.params.name)?.inputSchema?.properties ?? {};
        const missing = Object.entries(props).filter(([k, v]) => v["x-mcp-header"] && m.params.arguments?.[k] != null &&
          params[`mcp-param-${v["x-mcp-header"].toLowerCase()}`] === undefined);
        if (requireHeaders && missing.length)
          return res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: m.id, error: { code: -32020, message: `Header mismatch: Mcp-Param-${missing[0][1]["x-mcp-header"]} missing` } }));
        calls.push({ name: m.params.name, mcpName: req.headers["mcp-name"], params });
        return reply({ result: { content: [{ type: "text", text: JSON.stringify(params) }] } });
      }
      return reply({ error: { code: -32601, message: "Method not found" } });
    });
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve({
    url: `http://127.0.0.1:${srv.address().port}/mcp`,
    calls,
    lists: () => lists,
    close: () => new Promise((r) => {
      srv.closeAllConnections();
      srv.close(r);
    }),
  })));
}

test("x-mcp-header: tools whose annotations break the rules are dropped (with a warning), the others get their Mcp-Param-* headers, nested and encoded", { timeout: T(60000) }, async () => {
  const str = (h) => ({ type: "string", "x-mcp-header": h });
  const srv = await rawModern([
    { name: "good", inputSchema: { type: "object", properties: { region: str("Region"), n: { type: "integer", "x-mcp-header": "N" }, flag: { type: "boolean", "x-mcp-header": "Flag" }, deep: { type: "object", properties: { zone: str("Zone") } }, q: { type: "string" } } } },
    { name: "number_header", inputSchema: { type: "object", properties: { score: { type: "number", "x-mcp-header": "Score" } } } },
    { name: "duplicate", inputSchema: { type: "object", properties: { a: str("Region"), b: str("region") } } },
    { name: "bad_name", inputSchema: { type: "object", properties: { a: str("My Region") } } },
    { name: "under_items", inputSchema: { type: "object", properties: { a: { type: "array", items: str("Item") } } } },
    { name: "plain", inputSchema: { type: "object", properties: {} } },
  ]);
  const lifetime = setTimeout(() => srv.close(), T(55000));
  let s;
  try {
    s = await openSession({ tag: "httpmodern-xhdr", servers: { x: { url: srv.url } }, gateway: { startup_wait: "10s" } });
    const tools = await s.tools();
    assert.deepEqual([...tools.keys()].sort(), ["x__good", "x__plain"]);
    for (const t of ["number_header", "duplicate", "bad_name", "under_items"]) assert.match(s.gw.stderr, new RegExp(`warn: \\[x\\] tool '${t}' dropped: its x-mcp-header annotations are invalid`));
    await s.call("x__good", { region: "eu west", n: 42, flag: false, deep: { zone: "Zürich" }, q: "not mirrored" });
    await s.call("x__good", { region: null, n: 7 });
    await s.call("x__plain", {});
    await s.shutdown();
    assert.deepEqual(srv.calls, [
      { name: "good", mcpName: "good", params: { "mcp-param-region": "eu west", "mcp-param-n": "42", "mcp-param-flag": "false", "mcp-param-zone": "=?base64?WsO8cmljaA==?=" } },
      { name: "good", mcpName: "good", params: { "mcp-param-n": "7" } },
      { name: "plain", mcpName: "plain", params: {} },
    ]);
  } finally {
    clearTimeout(lifetime);
    s?.destroy();
    await srv.close();
  }
});

test("a 2026-07-28 server that refuses a 2025 initialize with -32020 (not -32022), reached with initialize first: server/discover follows, no start failure", { timeout: T(60000) }, async () => {
  const dir = makeTmp("httpmodern-strict");
  const srv = await rawModern([{ name: "plain", inputSchema: { type: "object", properties: {} } }], { strict: true });
  const lifetime = setTimeout(() => srv.close(), T(55000));
  let s;
  try {
    // initialize first, as after a probe that timed out (a sign-in slower than the probe's bound)
    // or a stale memory: here the memory
    const identity = "http:" + crypto.createHash("sha256").update(srv.url).digest("hex").slice(0, 32);
    fs.mkdirSync(path.join(dir, "state/mcpgw"), { recursive: true });
    fs.writeFileSync(path.join(dir, "state/mcpgw/eras.json"), JSON.stringify({ version: 1, servers: { x: { identity, era: "legacy" } } }));
    s = await openSession({ dir, servers: { x: { url: srv.url } }, gateway: { log_level: "debug", startup_wait: "10s" } });
    assert.ok((await s.tools()).has("x__plain"));
    await s.call("x__plain", {});
    assert.match(s.gw.stderr, /initialize refused by a server that speaks 2026-07-28: asking server\/discover/);
    assert.doesNotMatch(s.gw.stderr, /initialize failed|restarting in/);
    await s.shutdown();
    assert.equal(srv.calls.length, 1);
  } finally {
    clearTimeout(lifetime);
    s?.destroy();
    await srv.close();
    rmTmp(dir);
  }
});

test("a call refused with -32020 (the server's annotations changed unannounced): the tools are fetched again, and the next call carries the new header", { timeout: T(60000) }, async () => {
  const tools = [{ name: "t", inputSchema: { type: "object", properties: { region: { type: "string" } } } }];
  const srv = await rawModern(tools, { requireHeaders: true });
  const lifetime = setTimeout(() => srv.close(), T(55000));
  let s;
  try {
    s = await openSession({ tag: "httpmodern-mismatch", servers: { x: { url: srv.url } }, gateway: { startup_wait: "10s" } });
    await s.call("x__t", { region: "eu" });
    const before = srv.lists();
    tools[0].inputSchema.properties.region["x-mcp-header"] = "Region";	// no list_changed
    await rejectsCode(s.call("x__t", { region: "eu" }), -32020, /Mcp-Param-Region missing/);
    await waitUntil(() => srv.lists() > before, T(10000), "tools/list again");
    await waitUntil(async () => {
      try {
        await s.call("x__t", { region: "eu" });
        return true;
      } catch {
        return false;
      }
    }, T(10000), "a call with the new header");
    assert.deepEqual(srv.calls.map((c) => c.params), [{}, { "mcp-param-region": "eu" }]);
    assert.match(s.gw.stderr, /\[x\] tools\/call of 't' refused for its headers \(-32020\): fetching the tools again/);
    await s.shutdown();
  } finally {
    clearTimeout(lifetime);
    s?.destroy();
    await srv.close();
  }
});
