// Issue 3 points 2-5 and the acceptance: remote servers over Streamable HTTP (JSON and SSE
// response modes, notifications before the response, the GET stream, resumption) and the legacy
// HTTP+SSE transport, found by `transport: auto`; SDK-built servers on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";
import { execFileSync } from "node:child_process";
import { T, makeTmp, openSession, rejectsCode, rmTmp, servers, waitUntil } from "./lib/harness.mjs";
import { records, startServer, stopAll, writeSecret } from "./lib/remote.mjs";

test("acceptance: an SSE-only server and a Streamable HTTP server through one gateway, both transport: auto", { timeout: T(60000) }, async () => {
  const legacy = await startServer(["--transport", "sse", "--name", "old"]);
  const modern = await startServer(["--name", "new"]);
  let s;
  try {
    s = await openSession({ tag: "auto", servers: { old: { url: legacy.url }, new: { url: modern.url } }, gateway: { startup_wait: "10s" } });
    const tools = await s.tools();
    assert.ok(tools.has("old__echo") && tools.has("new__echo"), [...tools.keys()].join(","));
    assert.equal(await s.callText("old__echo", { text: "a" }), "old:a");
    assert.equal(await s.callText("new__echo", { text: "b" }), "new:b");
    // calls interleaved on both, concurrently
    const calls = [];
    for (let i = 0; i < 20; i++) calls.push(s.callText(i % 2 ? "old__echo" : "new__echo", { text: `n${i}` }));
    const got = await Promise.all(calls);
    got.forEach((g, i) => assert.equal(g, `${i % 2 ? "old" : "new"}:n${i}`));
    assert.match(s.gw.stderr, /\[old\] transport: sse/);
    assert.match(s.gw.stderr, /\[new\] transport: streamable-http/);
    await s.shutdown();
  } finally {
    s?.destroy();
    await stopAll([legacy, modern]);
  }
});

test("Streamable HTTP in JSON response mode", { timeout: T(60000) }, async () => {
  const srv = await startServer(["--json", "--name", "j"]);
  let s;
  try {
    s = await openSession({ tag: "json", servers: { j: { url: srv.url, transport: "streamable-http" } } });
    assert.equal(await s.callText("j__echo", { text: "x" }), "j:x");
    assert.equal(await s.callText("j__chatty", { text: "y" }), "j:chatty:y");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("a client's \\u0000 in an argument reaches a Streamable HTTP server unchanged", { timeout: T(60000) }, async () => {
  // The HTTP transport reads each outgoing message for its headers; a NUL in a string once made
  // that read fail (and now a failed read is taken for out of memory: nothing is sent).
  const srv = await startServer(["--json", "--name", "z"]);
  let s;
  try {
    s = await openSession({ tag: "nul-http", servers: { z: { url: srv.url, transport: "streamable-http" } } });
    assert.equal(await s.callText("z__echo", { text: "a\u0000b" }), "z:a\u0000b");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("Streamable HTTP in SSE response mode: progress and log messages arrive before the answer, in order", { timeout: T(60000) }, async () => {
  const srv = await startServer(["--name", "e"]);
  let s;
  try {
    s = await openSession({ tag: "ssemode", servers: { e: { url: srv.url } } });
    const progress = [];
    const from = s.gw.messages.length;
    const text = await s.callText("e__chatty", { text: "z" }, { onprogress: (p) => progress.push(p.progress) });
    assert.equal(text, "e:chatty:z");
    assert.deepEqual(progress, [1, 2]);
    const seen = s.gw.messages.slice(from);
    const logIdx = seen.findIndex((m) => m.method === "notifications/message" && m.params.logger === "e/chatty");
    const resIdx = seen.findIndex((m) => m.result && JSON.stringify(m.result).includes("e:chatty:z"));
    assert.ok(logIdx >= 0 && resIdx > logIdx, "the log message came before the answer");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("the GET stream carries server-initiated messages: a log line and tools/list_changed", { timeout: T(60000) }, async () => {
  const srv = await startServer(["--name", "g"]);
  let s;
  try {
    s = await openSession({ tag: "get", servers: { g: { url: srv.url } } });
    await s.callText("g__announce", { text: "hello" });
    const m = await s.gw.waitFor((x) => x.method === "notifications/message" && x.params.logger === "g/announce", T(5000), "announcement");
    assert.equal(m.params.data, "g:hello");
    await s.callText("g__add_tool", { name: "extra" });
    await waitUntil(async () => (await s.tools()).has("g__extra"), T(5000), "the added tool");
    assert.equal(await s.callText("g__extra"), "g:extra");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("a server without a GET stream (405) works", { timeout: T(60000) }, async () => {
  const srv = await startServer(["--name", "n", "--no-get"]);
  let s;
  try {
    s = await openSession({ tag: "noget", servers: { n: { url: srv.url } } });
    assert.equal(await s.callText("n__echo", { text: "q" }), "n:q");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("resumption: a response stream the server closes early is resumed with Last-Event-ID", { timeout: T(60000) }, async () => {
  const dir = makeTmp("resume");
  const rec = path.join(dir, "rec.jsonl");
  const srv = await startServer(["--name", "r", "--resumable", "--record", rec]);
  let s;
  try {
    s = await openSession({ dir, servers: { r: { url: srv.url } }, gateway: { log_level: "debug" } });
    assert.equal(await s.callText("r__drop_stream", { text: "k" }), "r:resumed:k");
    assert.match(s.gw.stderr, /\[r\] response stream ended early; resuming after event/);
    assert.ok(records(rec).some((x) => x.method === "GET" && x.headers["last-event-id"]), "a GET with Last-Event-ID");
    assert.equal(await s.callText("r__echo", { text: "after" }), "r:after");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("transport: sse reaches a legacy server directly; transport: streamable-http does not fall back", { timeout: T(60000) }, async () => {
  const legacy = await startServer(["--transport", "sse", "--name", "l"]);
  let s;
  try {
    s = await openSession({
      tag: "explicit",
      servers: { l: { url: legacy.url, transport: "sse" }, x: { url: legacy.url, transport: "streamable-http", startup_timeout: "3s" } },
      gateway: { startup_wait: "5s" },
    });
    assert.equal(await s.callText("l__echo", { text: "1" }), "l:1");
    const tools = await s.tools();
    assert.ok(!tools.has("x__echo"));
    await waitUntil(() => /\[x\].*HTTP 405/.test(s.gw.stderr), T(5000), "x's failure in the log");
    await rejectsCode(s.call("x__echo", { text: "1" }), -32602, /Unknown tool/);
    await s.shutdown();
  } finally {
    s?.destroy();
    await legacy.stop();
  }
});

test("a server that is not there: a clear error, the other server is unaffected", { timeout: T(60000) }, async () => {
  const srv = await startServer(["--name", "ok"]);
  const dead = await startServer(["--name", "dead"]);
  const deadUrl = dead.url;
  await dead.stop();
  let s;
  try {
    s = await openSession({ tag: "dead", servers: { ok: { url: srv.url }, dead: { url: deadUrl } }, gateway: { startup_wait: "2s" } });
    const t0 = performance.now();
    assert.equal(await s.callText("ok__echo", { text: "v" }), "ok:v");
    assert.ok(performance.now() - t0 < T(3000));
    await waitUntil(() => /\[dead\].*cannot connect to http:\/\/127\.0\.0\.1:\d+\/mcp/.test(s.gw.stderr), T(5000), "the connect error");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("headers on the wire: MCP-Protocol-Version and Mcp-Session-Id after initialize, not on it; DELETE of the session at shutdown", { timeout: T(60000) }, async () => {
  const dir = makeTmp("wire");
  const rec = path.join(dir, "rec.jsonl");
  const srv = await startServer(["--name", "w", "--record", rec]);
  let s;
  try {
    s = await openSession({ dir, servers: { w: { url: srv.url, headers: { "X-Team": "blue" } } } });
    assert.equal(await s.callText("w__echo", { text: "1" }), "w:1");
    await s.shutdown();
    const r = records(rec);
    // the probe first (issue 12): server/discover as a 2026-07-28 POST, refused by this 2025 server
    const probe = r.find((x) => x.headers["mcp-method"] === "server/discover");
    assert.ok(probe && probe === r[0], "the probe came first");
    assert.equal(probe.headers["mcp-protocol-version"], "2026-07-28");
    assert.equal(probe.headers["mcp-session-id"], undefined);
    assert.equal(probe.headers["x-team"], "blue");
    const init = r.find((x) => x !== probe && x.method === "POST" && !x.headers["mcp-session-id"]);
    assert.ok(init, "an initialize POST without a session");
    assert.equal(init.headers["mcp-method"], undefined, "no 2026-07-28 header on the 2025 handshake");
    assert.equal(init.headers["mcp-protocol-version"], undefined);
    assert.match(init.headers.accept, /application\/json/);
    assert.match(init.headers.accept, /text\/event-stream/);
    assert.equal(init.headers["content-type"], "application/json");
    const later = r.filter((x) => x !== init && x !== probe);
    assert.ok(later.length >= 3);
    const sid = later[0].headers["mcp-session-id"];
    assert.ok(sid);
    for (const x of later) {
      assert.equal(x.headers["mcp-session-id"], sid, `${x.method} carries the session`);
      assert.equal(x.headers["mcp-protocol-version"], "2025-11-25", `${x.method} carries the version`);
      assert.equal(x.headers["x-team"], "blue");
      assert.match(x.headers["user-agent"], /^mcpgw\//);
    }
    assert.ok(r.some((x) => x.method === "GET" && x.headers.accept === "text/event-stream"), "the GET stream");
    assert.ok(r.some((x) => x.method === "DELETE"), "the session was deleted at shutdown");
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("a server that moved on the same origin (307) is followed with its credentials; the new address sticks", { timeout: T(60000) }, async () => {
  const dir = makeTmp("moved");
  const rec = path.join(dir, "rec.jsonl");
  const tok = path.join(dir, "tok");
  writeSecret(tok, "moved-token-0123456789");
  const srv = await startServer(["--name", "mv", "--path", "/mcp/", "--moved-from", "/mcp", "--record", rec, "--token-file", tok]);
  let s;
  try {
    const url = srv.url.replace(/\/mcp\/$/, "/mcp");
    s = await openSession({ dir, servers: { mv: { url, auth: { plugin: "bearer", token_file: tok } } } });
    assert.equal(await s.callText("mv__echo", { text: "1" }), "mv:1");
    assert.equal(await s.callText("mv__echo", { text: "2" }), "mv:2");
    const r = records(rec);
    assert.equal(r.filter((x) => x.path === "/mcp").length, 1, "only the first request went to the old path");
    assert.match(s.gw.stderr, /\[mv\] the server moved \(HTTP 307\): now using http:\/\/127\.0\.0\.1:\d+\/mcp\//);
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("a request that times out is cancelled on the server and its stream dropped; the server stays usable", { timeout: T(60000) }, async () => {
  const dir = makeTmp("cancel");
  const rec = path.join(dir, "rec.jsonl");
  const srv = await startServer(["--name", "c", "--record", rec]);
  let s;
  try {
    s = await openSession({ dir, servers: { c: { url: srv.url, timeout: "1s" } } });
    await rejectsCode(s.call("c__sleep", { ms: 30000 }), -32001, null, "timeout");
    await waitUntil(() => records(rec).some((x) => x.cancelled !== undefined), T(5000), "the server saw the cancellation");
    assert.equal(await s.callText("c__echo", { text: "after" }), "c:after");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("a response over the size bound is an error for that call only", { timeout: T(60000) }, async () => {
  const sse = await startServer(["--name", "bs"]);
  const json = await startServer(["--name", "bj", "--json"]);
  let s;
  try {
    s = await openSession({ tag: "big", servers: { bs: { url: sse.url }, bj: { url: json.url } } });
    assert.equal((await s.callText("bs__big", { bytes: 100000 })).length, 100000);
    await rejectsCode(s.call("bs__big", { bytes: 17 << 20 }), -32000, /over the size bound/, "sse");
    await rejectsCode(s.call("bj__big", { bytes: 17 << 20 }), -32000, /over the size bound/, "json");
    assert.equal(await s.callText("bs__echo", { text: "1" }), "bs:1");
    assert.equal(await s.callText("bj__echo", { text: "2" }), "bj:2");
    await s.shutdown();
  } finally {
    s?.destroy();
    await stopAll([sse, json]);
  }
});

test("a libcurl that cannot be used fails the remote server with the reason; the gateway and its local servers go on", { timeout: T(60000) }, async (t) => {
  // A libcurl.so.4 with none of libcurl's functions, found first through LD_LIBRARY_PATH.
  const lib = makeTmp("nocurl");
  try {
    fs.writeFileSync(path.join(lib, "empty.c"), "int mcpgw_not_curl;\n");
    try {
      execFileSync(process.env.CC || "cc", ["-shared", "-fPIC", "-o", path.join(lib, "libcurl.so.4"), path.join(lib, "empty.c")], { stdio: "ignore" });
    } catch {
      t.skip("no C compiler to build the stand-in library");
      return;
    }
    const s = await openSession({ tag: "nocurl", env: { LD_LIBRARY_PATH: lib },
      servers: { local: servers.everything(), remote: { url: "http://127.0.0.1:9/mcp" } }, gateway: { startup_wait: "2s" } });
    try {
      await waitUntil(() => /\[remote\].*libcurl for remote servers has no curl_\w+/.test(s.gw.stderr), T(5000), "the reason");
      // The local server may take longer than startup_wait on a loaded machine (ASan): until it is
      // ready its tools are not known (no catalogue yet), so the call waits for it.
      await waitUntil(() => /\[local\].*ready in/.test(s.gw.stderr), T(30000), "the local server to be ready");
      assert.equal(await s.callText("local__echo", { message: "v" }), "Echo: v");
      assert.equal(s.gw.exitStatus, null);
      await s.shutdown();
    } finally {
      s.destroy();
    }
  } finally {
    rmTmp(lib);
  }
});
