// Issue 3 points 2-5 and the acceptance: remote servers over Streamable HTTP (JSON and SSE
// response modes, notifications before the response, the GET stream, resumption) and the legacy
// HTTP+SSE transport, found by `transport: auto`; SDK-built servers on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, openSession, rejectsCode, waitUntil } from "./lib/harness.mjs";
import { startServer, stopAll } from "./lib/remote.mjs";

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
  const srv = await startServer(["--name", "r", "--resumable", "--record", "/dev/null"]);
  let s;
  try {
    s = await openSession({ tag: "resume", servers: { r: { url: srv.url } }, gateway: { log_level: "debug" } });
    assert.equal(await s.callText("r__drop_stream", { text: "k" }), "r:resumed:k");
    assert.match(s.gw.stderr, /\[r\] response stream ended early; resuming after event/);
    assert.equal(await s.callText("r__echo", { text: "after" }), "r:after");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
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
