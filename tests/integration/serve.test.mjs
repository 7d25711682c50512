// Service mode (issue 10): `mcpgw serve` on loopback TCP and on a unix socket, driven by the
// official SDK's StreamableHTTPClientTransport; one child per server however many clients; each
// session sees only its own replies, notifications and server-to-client requests; the endpoint's
// checks (400/403/404/406/413/415/401) and bounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { Agent } from "undici";
import {
  Gateway, makeTmp, rmTmp, servers, toYaml, T, waitUntil, within, sleep, procStat, NODE, EVERYTHING,
} from "./lib/harness.mjs";

/** Starts `mcpgw serve` on the given listen addresses; resolves with {gw, dir, addrs}. */
async function startServe({ servers: srv, gateway = {}, listen = ["127.0.0.1:0"], extraArgs = [], dir, env } = {}) {
  dir ??= makeTmp("serve");
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(config, toYaml({ gateway, servers: srv }));
  const args = ["serve", "-c", config, "--system-policy", ""];
  for (const l of listen) args.push("--listen", l);
  args.push(...extraArgs);
  const gw = new Gateway({ dir, args, env });
  const addrs = [];
  await waitUntil(() => {
    for (const m of gw.stderr.matchAll(/listening on (\S+)/g)) if (!addrs.includes(m[1])) addrs.push(m[1]);
    return addrs.length >= Math.max(1, listen.length) || gw.exitStatus !== null;
  }, T(10000), "serve to listen");
  assert.equal(gw.exitStatus, null, `serve exited early:\n${gw.stderrTail()}`);
  return { gw, dir, config, addrs };
}

/** The command line of a process (empty once it is gone). */
function cmdline(p) {
  try {
    return fs.readFileSync(`/proc/${p.pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

function urlOf(addr) {
  return new URL(`http://${addr}/mcp`);
}

async function connect(url, { capabilities = {}, setup, fetchImpl } = {}) {
  const client = new Client({ name: "serve-it", version: "1.0.0" }, { capabilities });
  setup?.(client);
  const transport = new StreamableHTTPClientTransport(url, fetchImpl ? { fetch: fetchImpl } : undefined);
  await within(client.connect(transport), T(10000), "initialize over HTTP");
  return { client, transport };
}

async function stop(gw, dir) {
  const kids = gw.tree();
  gw.proc.kill("SIGTERM");
  const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
  assert.ok(st, `serve did not exit after SIGTERM:\n${gw.stderrTail()}`);
  assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null }, gw.stderrTail());
  await waitUntil(() => kids.every((p) => !fs.existsSync(`/proc/${p.pid}`) || procStat(p.pid)?.starttime !== p.starttime), T(5000), "servers gone");
  rmTmp(dir);
}

/** Raw HTTP request (node:http) so that every header and status can be checked. */
function raw(addr, { method = "POST", path: p = "/mcp", headers = {}, body, socketPath, partial = false } = {}) {
  return new Promise((resolve, reject) => {
    const [host, port] = socketPath ? ["localhost", undefined] : [addr.replace(/:\d+$/, "").replace(/^\[|\]$/g, ""), Number(addr.split(":").pop())];
    const req = http.request({ host, port, socketPath, method, path: p, headers, setHost: !("Host" in headers) }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => {
        resolve({ status: res.statusCode, headers: res.headers, body: data });
        if (partial) req.destroy();
      });
    });
    req.on("error", reject);
    req.setTimeout(T(10000), () => req.destroy(new Error("raw request timed out")));
    if (body !== undefined) req.write(body);
    if (partial) return; // the rest of the announced body is never sent: the response ends it
    req.end();
  });
}

const JSONH = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
const INIT = JSON.stringify({
  jsonrpc: "2.0", id: 1, method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

test("serve: the SDK's Streamable HTTP client lists and calls tools, progress before the result", async () => {
  const { gw, dir, addrs } = await startServe({ servers: { everything: servers.everything() } });
  try {
    const { client, transport } = await connect(urlOf(addrs[0]));
    assert.match(transport.sessionId, /^[0-9a-f]{32}$/, "a 128-bit session id");
    const tools = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes("everything__echo"), tools.join(","));
    const r = await client.callTool({ name: "everything__echo", arguments: { message: "over http" } });
    assert.match(r.content[0].text, /over http/);
    const progress = [];
    const long = tools.find((t) => /long_running/.test(t));
    assert.ok(long, tools.join(","));
    const r2 = await client.callTool(
      { name: long, arguments: { duration: 1, steps: 3 } },
      undefined, { onprogress: (p) => progress.push(p.progress), timeout: T(20000) },
    );
    assert.ok(r2.content.length > 0);
    assert.deepEqual(progress, [1, 2, 3], "every progress notification reached the client before the result");
    await transport.terminateSession();
    await client.close();
  } finally {
    await stop(gw, dir);
  }
});

test("serve: 50 clients share one child per server, and no session sees another's replies", async () => {
  const { gw, dir, addrs } = await startServe({ servers: { everything: servers.everything() } });
  try {
    const n = 50;
    const sessions = await Promise.all(Array.from({ length: n }, () => connect(urlOf(addrs[0]))));
    // Every SDK client numbers its requests from 0: the same ids in every session, at once.
    const results = await Promise.all(sessions.map(({ client }, i) =>
      Promise.all([0, 1, 2].map((k) => client.callTool({ name: "everything__echo", arguments: { message: `s${i}-c${k}` } })))));
    results.forEach((rs, i) => rs.forEach((r, k) => assert.equal(r.content[0].text, `Echo: s${i}-c${k}`)));
    const kids = gw.tree().filter((p) => cmdline(p).includes(EVERYTHING));
    assert.equal(kids.length, 1, `one server-everything process for ${n} clients: ${kids.map((p) => p.pid)}`);
    await Promise.all(sessions.map(async ({ client, transport }) => {
      await transport.terminateSession();
      await client.close();
    }));
    assert.equal(gw.tree().filter((p) => cmdline(p).includes(EVERYTHING)).length, 1, "clients leaving stop no server");
  } finally {
    await stop(gw, dir);
  }
});

test("serve: a server-to-client request goes to the session whose call caused it", async () => {
  const { gw, dir, addrs } = await startServe({ servers: { everything: servers.everything() } });
  try {
    const asked = { a: 0, b: 0 };
    const mk = (who) => (client) => client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked[who]++;
      return { role: "assistant", content: { type: "text", text: `sampled by ${who}` }, model: who, stopReason: "endTurn" };
    });
    const a = await connect(urlOf(addrs[0]), { capabilities: { sampling: {} }, setup: mk("a") });
    const b = await connect(urlOf(addrs[0]), { capabilities: { sampling: {} }, setup: mk("b") });
    const tools = (await a.client.listTools()).tools.map((t) => t.name);
    const sample = tools.find((t) => /sampl/i.test(t));
    assert.ok(sample, `a sampling tool: ${tools.join(",")}`);
    const r = await a.client.callTool({ name: sample, arguments: { prompt: "hi", maxTokens: 10 } }, undefined, { timeout: T(20000) });
    assert.match(JSON.stringify(r), /sampled by a/);
    assert.deepEqual(asked, { a: 1, b: 0 });
    for (const s of [a, b]) {
      await s.transport.terminateSession();
      await s.client.close();
    }
  } finally {
    await stop(gw, dir);
  }
});

test("serve: bad requests get the right HTTP status with a JSON-RPC error body", async () => {
  const { gw, dir, addrs } = await startServe({ servers: { everything: servers.everything() }, extraArgs: [] });
  const addr = addrs[0];
  try {
    const init = await raw(addr, { headers: JSONH, body: INIT });
    assert.equal(init.status, 200, init.body);
    const sid = init.headers["mcp-session-id"];
    assert.match(sid, /^[0-9a-f]{32}$/);
    const list = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    const cases = [
      ["no session id", { headers: JSONH, body: list }, 400],
      ["unknown session", { headers: { ...JSONH, "Mcp-Session-Id": "0".repeat(32) }, body: list }, 404],
      ["wrong content type", { headers: { ...JSONH, "Content-Type": "text/plain", "Mcp-Session-Id": sid }, body: list }, 415],
      ["Accept without event-stream", { headers: { ...JSONH, Accept: "application/json", "Mcp-Session-Id": sid }, body: list }, 406],
      ["foreign Origin", { headers: { ...JSONH, Origin: "https://evil.example", "Mcp-Session-Id": sid }, body: list }, 403],
      ["DNS rebinding Host", { headers: { ...JSONH, Host: "evil.example:80", "Mcp-Session-Id": sid }, body: list }, 403],
      ["malformed JSON", { headers: { ...JSONH, "Mcp-Session-Id": sid }, body: "{\"jsonrpc\": " }, 400],
      // A body announced larger than the bound: answered before the client has to send it.
      ["oversize body", { headers: { ...JSONH, "Mcp-Session-Id": sid, "Content-Length": String(17 << 20) }, body: "{\"jsonrpc\":\"2.0\"", partial: true }, 413],
      ["GET without session", { method: "GET", headers: { Accept: "text/event-stream" } }, 400],
      ["PUT", { method: "PUT", headers: JSONH, body: list }, 405],
      ["unsupported MCP-Protocol-Version", { headers: { ...JSONH, "Mcp-Session-Id": sid, "MCP-Protocol-Version": "1999-01-01" }, body: list }, 400],
      ["initialize with a session id", { headers: { ...JSONH, "Mcp-Session-Id": sid }, body: INIT }, 400],
    ];
    for (const [what, req, status] of cases) {
      const r = await raw(addr, req);
      assert.equal(r.status, status, `${what}: ${r.body.slice(0, 200)}`);
      // evhttp answers an oversize body itself (before the body reaches the gateway): the status
      // is the contract there, not the body.
      if (status !== 413) {
        const j = JSON.parse(r.body);
        assert.equal(j.jsonrpc, "2.0", what);
        assert.equal(typeof j.error?.code, "number", `${what}: a JSON-RPC error body`);
      }
    }
    const parse = JSON.parse((await raw(addr, { headers: { ...JSONH, "Mcp-Session-Id": sid }, body: "{\"jsonrpc\": " })).body);
    assert.equal(parse.error.code, -32700);
    // Malformed JSON-RPC: the errors the stdio transport gives for the same text.
    for (const [what, body, code, re] of [
      ["wrong version", '{"jsonrpc":"1.0","id":5,"method":"tools/list"}', -32600, /jsonrpc/],
      ["no method, result or error", '{"jsonrpc":"2.0","id":6}', -32600, /method/],
      ["duplicate key", '{"jsonrpc":"2.0","id":7,"method":"tools/list","method":"x"}', -32700, /duplicate/i],
      ["a case twin of name", '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"everything__echo","Name":"x"}}', -32602, /name/i],
    ]) {
      const r = await raw(addr, { headers: { ...JSONH, "Mcp-Session-Id": sid }, body });
      assert.equal(r.status, 400, `${what}: ${r.body}`);
      const e = JSON.parse(r.body).error;
      assert.equal(e.code, code, `${what}: ${r.body}`);
      assert.match(e.message, re, what);
    }
    // The session still works after all that.
    const ok = await raw(addr, { headers: { ...JSONH, "Mcp-Session-Id": sid }, body: list });
    assert.equal(ok.status, 200);
    assert.ok(JSON.parse(ok.body).result.tools.length > 0);
    // DELETE ends it.
    assert.equal((await raw(addr, { method: "DELETE", headers: { "Mcp-Session-Id": sid } })).status, 200);
    assert.equal((await raw(addr, { headers: { ...JSONH, "Mcp-Session-Id": sid }, body: list })).status, 404);
  } finally {
    await stop(gw, dir);
  }
});

test("serve: a unix socket is 0660 in a 0700 directory, and clients are told apart by their credentials", async () => {
  const dir = makeTmp("serve-unix");
  const sock = path.join(dir, "run", "mcpgw.sock");
  const { gw, addrs } = await startServe({ dir, servers: { everything: servers.everything() }, listen: [`unix:${sock}`] });
  try {
    assert.equal(addrs[0], `unix:${sock}`);
    assert.equal(fs.statSync(sock).mode & 0o777, 0o660);
    assert.equal(fs.statSync(path.dirname(sock)).mode & 0o777, 0o700);
    const dispatcher = new Agent({ connect: { socketPath: sock } });
    const fetchImpl = (u, init) => fetch(u, { ...init, dispatcher });
    const { client, transport } = await connect(new URL("http://localhost/mcp"), { fetchImpl });
    const r = await client.callTool({ name: "everything__echo", arguments: { message: "unix" } });
    assert.equal(r.content[0].text, "Echo: unix");
    // No Host check on a unix socket (no browser reaches it), but Origin still is.
    const bad = await raw(null, { socketPath: sock, headers: { ...JSONH, Origin: "https://evil.example" }, body: INIT });
    assert.equal(bad.status, 403);
    await transport.terminateSession();
    await client.close();
    await dispatcher.close();
  } finally {
    await stop(gw, dir);
  }
});

test("serve: a non-loopback address is refused without allow_remote and client tokens", async () => {
  const dir = makeTmp("serve-remote");
  try {
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, toYaml({ servers: { everything: servers.everything() } }));
    const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "0.0.0.0:0"] });
    const st = await Promise.race([gw.exited, sleep(T(10000)).then(() => null)]);
    assert.ok(st, "serve exits");
    assert.equal(st.code, 1);
    assert.match(gw.stderr, /0\.0\.0\.0:0.*(allow_remote|loopback)/);
  } finally {
    rmTmp(dir);
  }
});

test("serve: client tokens on TCP: 401 with WWW-Authenticate without one, served with one", async () => {
  const dir = makeTmp("serve-tokens");
  const tokenFile = path.join(dir, "alice.token");
  fs.writeFileSync(tokenFile, "alice-secret-token\n", { mode: 0o600 });
  const digest = (await import("node:crypto")).createHash("sha256").update("bob-secret-token").digest("hex");
  const { gw, addrs } = await startServe({
    dir, servers: { everything: servers.everything() },
    gateway: { client_tokens: { alice: `file:${tokenFile}`, bob: `sha256:${digest}` } },
  });
  try {
    const none = await raw(addrs[0], { headers: JSONH, body: INIT });
    assert.equal(none.status, 401);
    assert.match(none.headers["www-authenticate"], /^Bearer/);
    const wrong = await raw(addrs[0], { headers: { ...JSONH, Authorization: "Bearer nope" }, body: INIT });
    assert.equal(wrong.status, 401);
    for (const tok of ["alice-secret-token", "bob-secret-token"]) {
      const client = new Client({ name: "tok", version: "1" });
      const transport = new StreamableHTTPClientTransport(urlOf(addrs[0]), { requestInit: { headers: { Authorization: `Bearer ${tok}` } } });
      await within(client.connect(transport), T(10000), "initialize with a token");
      assert.equal((await client.callTool({ name: "everything__echo", arguments: { message: tok } })).content[0].text, `Echo: ${tok}`);
      // A session belongs to its token: the other token cannot use it.
      const other = tok.startsWith("alice") ? "bob-secret-token" : "alice-secret-token";
      const stolen = await raw(addrs[0], { headers: { ...JSONH, Authorization: `Bearer ${other}`, "Mcp-Session-Id": transport.sessionId }, body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }) });
      assert.equal(stolen.status, 404);
      await transport.terminateSession();
      await client.close();
    }
    assert.doesNotMatch(gw.stderr, /secret-token/, "no token in the log");
    // A token file others may read is refused at start.
    fs.chmodSync(tokenFile, 0o644);
    const config = path.join(dir, "config2.yaml");
    fs.writeFileSync(config, toYaml({ gateway: { client_tokens: { alice: `file:${tokenFile}` } }, servers: { everything: servers.everything() } }));
    const gw2 = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"] });
    const st = await Promise.race([gw2.exited, sleep(T(10000)).then(() => null)]);
    assert.equal(st?.code, 1, gw2.stderrTail());
    assert.match(gw2.stderr, /client_tokens\.alice: .*0600/);
  } finally {
    await stop(gw, dir);
  }
});

test("serve: gateway.listen, idle sessions ended after session_idle", async () => {
  const dir = makeTmp("serve-idle");
  const sock = path.join(dir, "gw.sock");
  const { gw, addrs } = await startServe({
    dir, servers: { everything: servers.everything() }, listen: [],
    gateway: { listen: [`unix:${sock}`], session_idle: "1s" },
  });
  try {
    assert.equal(addrs[0], `unix:${sock}`);
    const init = await raw(null, { socketPath: sock, headers: JSONH, body: INIT });
    assert.equal(init.status, 200);
    const sid = init.headers["mcp-session-id"];
    const list = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    assert.equal((await raw(null, { socketPath: sock, headers: { ...JSONH, "Mcp-Session-Id": sid }, body: list })).status, 200);
    // Asking would keep it alive: wait for the gateway to say it ended it, then ask.
    await waitUntil(() => gw.stderr.includes(`session ${sid.slice(0, 8)} ended: idle`), T(8000), "the idle session to end");
    assert.equal((await raw(null, { socketPath: sock, headers: { ...JSONH, "Mcp-Session-Id": sid }, body: list })).status, 404);
  } finally {
    await stop(gw, dir);
  }
});

test("serve: a client that stops reading is dropped at its queue bound; other sessions go on", async () => {
  const dir = makeTmp("serve-slow");
  const sock = path.join(dir, "gw.sock");
  const { gw } = await startServe({
    dir, servers: { everything: servers.everything() }, listen: [`unix:${sock}`],
    gateway: { session_queue_kib: 64 },
  });
  const net = await import("node:net");
  try {
    const init = await raw(null, { socketPath: sock, headers: JSONH, body: INIT });
    const sid = init.headers["mcp-session-id"];
    const tools = JSON.parse((await raw(null, { socketPath: sock, headers: { ...JSONH, "Mcp-Session-Id": sid }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) })).body).result.tools.map((t) => t.name);
    const long = tools.find((t) => /long_running/.test(t));
    // A call with thousands of progress notifications on its stream, from a client that never reads.
    const body = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: long, arguments: { duration: 3, steps: 20000 }, _meta: { progressToken: "p" } } });
    const s = net.connect(sock);
    await new Promise((r) => s.on("connect", r));
    s.pause();
    s.write(`POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: ${sid}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // Meanwhile another client is served.
    const { client, transport } = await connect(new URL("http://localhost/mcp"), { fetchImpl: (u, i) => fetch(u, { ...i, dispatcher: new Agent({ connect: { socketPath: sock } }) }) });
    assert.equal((await client.callTool({ name: "everything__echo", arguments: { message: "still here" } })).content[0].text, "Echo: still here");
    await waitUntil(() => /reads too slowly/.test(gw.stderr), T(20000), "the slow session to be dropped");
    const after = await raw(null, { socketPath: sock, headers: { ...JSONH, "Mcp-Session-Id": sid }, body: JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/list" }) });
    assert.equal(after.status, 404, "the dropped session is gone");
    assert.equal((await client.callTool({ name: "everything__echo", arguments: { message: "and now" } })).content[0].text, "Echo: and now");
    s.destroy();
    await transport.terminateSession();
    await client.close();
  } finally {
    await stop(gw, dir);
  }
});

test("serve: a client that pauses reading a large response for longer than the 10 s request bound still gets all of it", { timeout: T(90000) }, async () => {
  // evhttp has one timeout for both ways of a connection; the 10 s bound on a request's headers
  // once also cut responses whose reader paused that long (seen under load through `mcpgw
  // connect`, whose client reads a 10 MB reply at its own pace).
  const dir = makeTmp("serve-pause");
  const sock = path.join(dir, "gw.sock");
  const { gw } = await startServe({ dir, servers: { everything: servers.everything() }, listen: [`unix:${sock}`] });
  const net = await import("node:net");
  try {
    const init = await raw(null, { socketPath: sock, headers: JSONH, body: INIT });
    const sid = init.headers["mcp-session-id"];
    const message = "x".repeat(4 << 20);
    const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "everything__echo", arguments: { message } } });
    const s = net.connect(sock);
    await new Promise((r) => s.on("connect", r));
    s.pause();
    s.write(`POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: ${sid}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await sleep(12000);  // past the 10 s bound, nothing read (a fixed wait: the bound itself is fixed)
    const chunks = [];
    const ended = new Promise((resolve) => { s.on("data", (c) => chunks.push(c)); s.on("end", resolve); s.on("close", resolve); });
    s.resume();
    // The response is complete once the whole body announced by Content-Length has arrived.
    let text = "";
    await waitUntil(() => {
      text = Buffer.concat(chunks).toString("utf8");
      const h = text.indexOf("\r\n\r\n");
      const m = /content-length: (\d+)/i.exec(text);
      return (h >= 0 && m && Buffer.byteLength(text) - h - 4 >= Number(m[1])) || s.destroyed;
    }, T(30000), "the whole response");
    assert.match(text, /^HTTP\/1\.1 200/, text.slice(0, 200));
    const reply = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    assert.equal(reply.id, 7);
    assert.equal(reply.result.content[0].text, `Echo: ${message}`);
    s.destroy();
    await Promise.race([ended, sleep(1000)]);
  } finally {
    await stop(gw, dir);
  }
});

test("serve: 10,000 connections that never send a byte: bounded memory, others served, idle ones closed", async () => {
  const dir = makeTmp("serve-conns");
  const sock = path.join(dir, "gw.sock");
  const { gw } = await startServe({ dir, servers: { everything: servers.everything() }, listen: [`unix:${sock}`] });
  const net = await import("node:net");
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${gw.pid}/status`, "utf8"))[1]);
  const fds = () => fs.readdirSync(`/proc/${gw.pid}/fd`).length;
  const idle = [];
  try {
    const fds0 = fds();
    const rss0 = rss();
    // In batches, each connected before the next starts: a unix socket's backlog that is full
    // refuses a connect at once (EAGAIN), and the client would count that against the gateway.
    const open1 = () => new Promise((resolve) => {
      const s = net.connect(sock);
      s.once("connect", () => resolve(s));
      s.once("error", () => resolve(null));
    });
    while (idle.length < 10000) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, 10000 - idle.length) }, open1));
      for (const s of batch) if (s) { s.on("error", () => {}); idle.push(s); }
      if (batch.includes(null)) await sleep(50);
    }
    await waitUntil(() => fds() >= fds0 + 9900 || /cannot accept/.test(gw.stderr), T(60000), "the connections to be accepted");
    const grown = rss() - rss0;
    assert.ok(grown < 64 * 1024, `RSS grew by ${grown} kB for 10,000 idle connections`);
    // Another client is served meanwhile.
    const r = await raw(null, { socketPath: sock, headers: JSONH, body: INIT });
    assert.equal(r.status, 200);
    // Connections that send nothing are closed after the header timeout (10 s).
    await waitUntil(() => fds() < fds0 + 50, T(30000), "idle connections to be closed", 500);
  } finally {
    idle.forEach((s) => s.destroy());
    await stop(gw, dir);
  }
});

const CONFORMANCE = { command: NODE, args: [path.join(path.dirname(EVERYTHING), "../../../../tests/fixtures/conformance-server.mjs")] };

test("serve: with two sessions' calls in flight at a server, its sampling request goes to neither", async () => {
  const { gw, dir, addrs } = await startServe({ servers: { everything: servers.everything() } });
  try {
    const asked = { a: 0, b: 0 };
    const mk = (who) => (client) => client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked[who]++;
      return { role: "assistant", content: { type: "text", text: `sampled by ${who}` }, model: who, stopReason: "endTurn" };
    });
    const a = await connect(urlOf(addrs[0]), { capabilities: { sampling: {} }, setup: mk("a") });
    const b = await connect(urlOf(addrs[0]), { capabilities: { sampling: {} }, setup: mk("b") });
    const tools = (await a.client.listTools()).tools.map((t) => t.name);
    const sample = tools.find((t) => /sampl/i.test(t));
    const long = tools.find((t) => /long_running/.test(t));
    // B holds a call at the server while A's call makes the server ask for a sampling.
    const bCall = b.client.callTool({ name: long, arguments: { duration: 3, steps: 3 } }, undefined, { timeout: T(20000) });
    await sleep(300);
    const r = await a.client.callTool({ name: sample, arguments: { prompt: "A's secret prompt", maxTokens: 10 } }, undefined, { timeout: T(20000) })
      .catch((e) => ({ error: e.message }));
    await bCall;
    assert.deepEqual(asked, { a: 0, b: 0 }, "nobody was shown a prompt that might be another client's");
    assert.doesNotMatch(JSON.stringify(r), /sampled by/);
    for (const s of [a, b]) {
      await s.transport.terminateSession();
      await s.client.close();
    }
  } finally {
    await stop(gw, dir);
  }
});

test("serve: each session's log level is its own; a call's log lines come before its result", async () => {
  const { gw, dir, addrs } = await startServe({ servers: { conf: { ...CONFORMANCE, prefix: "" } } });
  try {
    const logs = { a: [], b: [] };
    const mk = (who) => (client) => client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs[who].push(n.params));
    const a = await connect(urlOf(addrs[0]), { setup: mk("a") });
    const b = await connect(urlOf(addrs[0]), { setup: mk("b") });
    await a.client.setLoggingLevel("debug");
    await b.client.setLoggingLevel("error");
    const r = await a.client.callTool({ name: "test_tool_with_logging", arguments: {} });
    assert.match(r.content[0].text, /executed successfully/);
    // Before the result: already here when callTool resolved, no waiting.
    assert.deepEqual(logs.a.map((p) => p.data), ["Tool execution started", "Tool processing data", "Tool execution completed"]);
    await sleep(300);
    assert.deepEqual(logs.b, [], "B asked for errors only");
    for (const s of [a, b]) {
      await s.transport.terminateSession();
      await s.client.close();
    }
  } finally {
    await stop(gw, dir);
  }
});

test("serve: SIGHUP reloads with sessions kept; SIGTERM lets a call in flight finish, refuses new sessions, exits 0", async () => {
  const { gw, dir, config, addrs } = await startServe({ servers: { everything: servers.everything() } });
  try {
    const { client, transport } = await connect(urlOf(addrs[0]));
    const sid = transport.sessionId;
    assert.ok((await client.listTools()).tools.some((t) => t.name === "everything__echo"));
    // A second server appears with a reload; the session is the same one.
    fs.writeFileSync(config, toYaml({ servers: { everything: servers.everything(), more: servers.everything() } }));
    gw.proc.kill("SIGHUP");
    await waitUntil(async () => (await client.listTools()).tools.some((t) => t.name === "more__echo"), T(20000), "the reloaded server's tools", 300);
    assert.equal(transport.sessionId, sid);
    assert.equal((await client.callTool({ name: "more__echo", arguments: { message: "after reload" } })).content[0].text, "Echo: after reload");
    // SIGTERM while a call runs.
    const long = (await client.listTools()).tools.map((t) => t.name).find((t) => /^everything__.*long_running/.test(t));
    const call = client.callTool({ name: long, arguments: { duration: 2, steps: 2 } }, undefined, { timeout: T(20000) });
    await sleep(300);
    gw.proc.kill("SIGTERM");
    await waitUntil(() => /SIGTERM/.test(gw.stderr), T(5000), "the signal to be taken");
    const refused = await raw(addrs[0], { headers: JSONH, body: INIT }).catch((e) => ({ status: 0, error: e.message }));
    assert.equal(refused.status, 503, "no new session while draining");
    const r = await call;
    assert.ok(r.content.length > 0 && !r.isError, "the call in flight finished");
    const st = await Promise.race([gw.exited, sleep(T(10000)).then(() => null)]);
    assert.deepEqual({ code: st?.code, signal: st?.signal }, { code: 0, signal: null }, gw.stderrTail());
  } finally {
    gw.destroy();
    rmTmp(dir);
  }
});

test("serve: a client that lost its SSE stream resumes it with Last-Event-ID; max_sessions answers 503", async () => {
  const { gw, dir, addrs } = await startServe({ servers: { everything: servers.everything() }, gateway: { max_sessions: 2 } });
  const net = await import("node:net");
  try {
    const addr = addrs[0];
    const init = await raw(addr, { headers: JSONH, body: INIT });
    const sid = init.headers["mcp-session-id"];
    const tools = JSON.parse((await raw(addr, { headers: { ...JSONH, "Mcp-Session-Id": sid }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) })).body).result.tools.map((t) => t.name);
    const long = tools.find((t) => /long_running/.test(t));
    // A call whose stream is cut after its first event: the client reads one event, then drops
    // the connection; the call goes on at the server.
    const body = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: long, arguments: { duration: 2, steps: 4 }, _meta: { progressToken: "p" } } });
    const [host, port] = [addr.split(":")[0], Number(addr.split(":")[1])];
    const first = await new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      let got = "";
      s.on("data", (c) => {
        got += c;
        const m = /\nid: (\S+)\n/.exec(got) || /^id: (\S+)\n/m.exec(got);
        if (m) { s.destroy(); resolve(m[1]); }
      });
      s.on("error", reject);
      s.write(`POST /mcp HTTP/1.1\r\nHost: ${addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: ${sid}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    assert.match(first, /^\d+-1$/, "event ids are STREAM-SEQ");
    // Resume: every later event of that stream, the result last.
    const resumed = await raw(addr, { method: "GET", headers: { Accept: "text/event-stream", "Mcp-Session-Id": sid, "Last-Event-ID": first } });
    assert.equal(resumed.status, 200);
    const events = [...resumed.body.matchAll(/^id: (\S+)\ndata: (.*)$/gm)].map((m) => ({ id: m[1], msg: JSON.parse(m[2]) }));
    assert.ok(events.length >= 2, resumed.body);
    assert.ok(events.every((e) => e.id.split("-")[0] === first.split("-")[0]), "the same stream");
    assert.deepEqual(events.map((e) => Number(e.id.split("-")[1])), events.map((_, i) => i + 2), "no event lost or repeated");
    const last = events.at(-1).msg;
    assert.equal(last.id, 3, "the call's result ends the resumed stream");
    assert.ok(last.result, JSON.stringify(last));
    assert.ok(events.slice(0, -1).every((e) => e.msg.method === "notifications/progress"), "progress before the result");
    // A Last-Event-ID of a stream that does not exist.
    assert.equal((await raw(addr, { method: "GET", headers: { Accept: "text/event-stream", "Mcp-Session-Id": sid, "Last-Event-ID": "999-1" } })).status, 404);
    // The bound on sessions: a second fits, a third is refused with 503 and a JSON-RPC error.
    assert.equal((await raw(addr, { headers: JSONH, body: INIT })).status, 200);
    const third = await raw(addr, { headers: JSONH, body: INIT });
    assert.equal(third.status, 503);
    assert.match(JSON.parse(third.body).error.message, /max_sessions/);
    // The sessions there are go on.
    assert.equal((await raw(addr, { headers: { ...JSONH, "Mcp-Session-Id": sid }, body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }) })).status, 200);
  } finally {
    await stop(gw, dir);
  }
});
