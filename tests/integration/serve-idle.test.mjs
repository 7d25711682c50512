// idle_stop (issue 10 point 3): a server no call has used for that long is stopped, keeps its tools
// in the lists, and the next call starts it again; a call in flight longer than idle_stop is not cut
// short; a server without idle_stop keeps running. Through `mcpgw serve` and the SDK client.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Gateway, makeTmp, rmTmp, servers, toYaml, T, waitUntil, within, sleep } from "./lib/harness.mjs";

function get(addr, p) {
  const [host, port] = [addr.replace(/:\d+$/, ""), Number(addr.split(":").pop())];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: p, method: "GET" }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, body: data }));
    });
    req.on("error", reject);
    req.setTimeout(T(10000), () => req.destroy(new Error("GET timed out")));
    req.end();
  });
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const spawns = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).length : 0);

test("serve: idle_stop stops an unused server, keeps its tools listed, starts it on the next call; calls in flight are not cut", { timeout: T(120000) }, async () => {
  const dir = makeTmp("serve-idle-stop");
  const idleLog = path.join(dir, "idle.spawns");
  const keepLog = path.join(dir, "keep.spawns");
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, toYaml({
    servers: {
      idle: servers.faulty(["--name", "idle", "--spawn-file", idleLog], { idle_stop: "1500ms" }),
      keep: servers.faulty(["--name", "keep", "--spawn-file", keepLog]),
    },
  }));
  const gw = new Gateway({ dir, args: ["serve", "-c", file, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  let client, transport;
  try {
    await waitUntil(() => /listening on (\S+)/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
    const addr = /listening on (\S+)/.exec(gw.stderr)[1];
    client = new Client({ name: "idle", version: "1" });
    transport = new StreamableHTTPClientTransport(new URL(`http://${addr}/mcp`));
    await within(client.connect(transport), T(10000), "initialize");
    const pid = async (s) => Number((await client.callTool({ name: `${s}__pid`, arguments: {} }, undefined, { timeout: T(30000) })).content[0].text);

    const p1 = await pid("idle");
    const k1 = await pid("keep");
    assert.equal(spawns(idleLog), 1);
    // A call that lasts longer than idle_stop is answered: a call in flight is use.
    const slept = await client.callTool({ name: "idle__sleep", arguments: { ms: 2500 } }, undefined, { timeout: T(30000) });
    assert.equal(slept.content[0].text, "idle slept 2500");
    assert.equal(slept.isError, undefined);

    // Unused: stopped (its process gone), logged, and still listed; /readyz stays 200.
    await waitUntil(() => /unused for 1500 ms \(idle_stop\)/.test(gw.stderr), T(20000), "the idle stop");
    await waitUntil(() => !alive(p1), T(10000), "the idle server's process to end");
    const tools = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes("idle__echo") && tools.includes("keep__echo"), tools.join(","));
    assert.equal((await get(addr, "/readyz")).status, 200, "a server stopped for idleness is not a readiness problem");

    // The next call starts it again and is answered by the new process.
    const p2 = await pid("idle");
    assert.notEqual(p2, p1);
    assert.ok(alive(p2));
    assert.equal(spawns(idleLog), 2, "started once more, on the call");
    // The server without idle_stop kept its one process all along.
    assert.equal(await pid("keep"), k1);
    assert.ok(alive(k1));
    assert.equal(spawns(keepLog), 1);
    assert.doesNotMatch(gw.stderr, /keep.*idle_stop/);
    // A clean exit: under the ASan build (make asan) a leak, such as one /readyz used to make,
    // is a non-zero status.
    await transport.terminateSession();
    await client.close();
    client = undefined;
    gw.proc.kill("SIGTERM");
    const st = await Promise.race([gw.exited, sleep(T(15000)).then(() => null)]);
    assert.deepEqual({ code: st?.code, signal: st?.signal }, { code: 0, signal: null }, gw.stderrTail());
  } finally {
    await transport?.terminateSession().catch(() => {});
    await client?.close().catch(() => {});
    gw.proc.kill("SIGTERM");
    await Promise.race([gw.exited, sleep(T(8000))]);
    rmTmp(dir);
  }
});

test("serve: a call that comes while an idle server is still stopping waits and is answered by its next process", { timeout: T(120000) }, async () => {
  const dir = makeTmp("serve-idle-stopping");
  const log = path.join(dir, "spawns");
  const file = path.join(dir, "config.yaml");
  // --stubborn ignores stdin EOF and SIGTERM: its stop lasts until the gateway's SIGKILL, a window
  // wide enough to call into deterministically.
  fs.writeFileSync(file, toYaml({
    servers: { slow: servers.faulty(["--name", "slow", "--stubborn", "--spawn-file", log], { idle_stop: "1s" }) },
  }));
  const gw = new Gateway({ dir, args: ["serve", "-c", file, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  let client, transport;
  try {
    await waitUntil(() => /listening on (\S+)/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
    const addr = /listening on (\S+)/.exec(gw.stderr)[1];
    client = new Client({ name: "idle2", version: "1" });
    transport = new StreamableHTTPClientTransport(new URL(`http://${addr}/mcp`));
    await within(client.connect(transport), T(10000), "initialize");
    const pid = async () => Number((await client.callTool({ name: "slow__pid", arguments: {} }, undefined, { timeout: T(60000) })).content[0].text);
    const p1 = await pid();
    await waitUntil(() => /unused for 1000 ms \(idle_stop\)/.test(gw.stderr), T(20000), "the idle stop to begin");
    assert.ok(alive(p1), "the stubborn process is still there: the stop is under way");
    const p2 = await pid();
    assert.notEqual(p2, p1, "answered by a new process");
    assert.ok(!alive(p1));
    assert.equal(spawns(log), 2);
  } finally {
    await transport?.terminateSession().catch(() => {});
    await client?.close().catch(() => {});
    gw.proc.kill("SIGTERM");
    await Promise.race([gw.exited, sleep(T(15000))]);
    rmTmp(dir);
  }
});

test("serve: a quiet GET stream stays open past a minute and still carries the next notification", { timeout: T(150000) }, async () => {
  // evhttp reads on while it writes (to see a close), so the read timeout it gives a stream (50 s
  // by default) once ended every GET stream that had nothing to carry for 50 s.
  const dir = makeTmp("serve-quiet-stream");
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, toYaml({ servers: { a: servers.faulty(["--name", "a"]) } }));
  const gw = new Gateway({ dir, args: ["serve", "-c", file, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  let req;
  try {
    await waitUntil(() => /listening on (\S+)/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
    const addr = /listening on (\S+)/.exec(gw.stderr)[1];
    const [host, port] = [addr.replace(/:\d+$/, ""), Number(addr.split(":").pop())];
    const post = (headers, body) => new Promise((resolve, reject) => {
      const r = http.request({ host, port, path: "/mcp", method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers } }, (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      });
      r.on("error", reject);
      r.end(JSON.stringify(body));
    });
    const init = await post({}, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "quiet", version: "1" } } });
    const sid = init.headers["mcp-session-id"];
    assert.ok(sid, init.body);
    const h = { "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25" };
    assert.equal((await post(h, { jsonrpc: "2.0", method: "notifications/initialized" })).status, 202);
    const listed = JSON.parse((await post(h, { jsonrpc: "2.0", id: 2, method: "tools/list" })).body);
    assert.ok(listed.result.tools.length > 0, JSON.stringify(listed));
    let events = "";
    let closed = false;
    await new Promise((resolve, reject) => {
      req = http.request({ host, port, path: "/mcp", method: "GET", headers: { ...h, Accept: "text/event-stream" } }, (res) => {
        assert.equal(res.statusCode, 200);
        res.on("data", (c) => (events += c));
        res.on("close", () => (closed = true));
        resolve();
      });
      req.on("error", (e) => (closed ? undefined : reject(e)));
      req.end();
    });
    await sleep(62000);  // quiet for longer than evhttp's 50 s and serve's 60 s stall bound
    assert.equal(closed, false, `the quiet stream was closed:\n${gw.stderrTail()}`);
    // A reload that adds a server changes the tool list: the stream carries list_changed.
    fs.writeFileSync(file, toYaml({ servers: { a: servers.faulty(["--name", "a"]), b: servers.faulty(["--name", "b"]) } }));
    gw.proc.kill("SIGHUP");
    await waitUntil(() => /notifications\/tools\/list_changed/.test(events) || closed, T(20000), "list_changed on the stream");
    assert.match(events, /notifications\/tools\/list_changed/, gw.stderrTail() + `stream ${closed ? "closed" : "open"}: ${events}`);
  } finally {
    req?.destroy();
    gw.proc.kill("SIGTERM");
    await Promise.race([gw.exited, sleep(T(8000))]);
    rmTmp(dir);
  }
});
