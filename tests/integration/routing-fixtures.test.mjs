// Routing details that need a controllable upstream: logging fan-out and logger prefixes, progress
// token remapping, cancellation, list_changed debouncing, pagination, subscriptions, and the -32601
// answer to server->client requests the client did not declare.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { T, makeTmp, openSession, readJsonLines, recorded, rmTmp, servers, sleep, waitUntil } from "./lib/harness.mjs";

describe("routing details with fixture upstreams (client without sampling/elicitation/roots)", { timeout: T(120000) }, () => {
  let s;
  let tmp;
  let record;
  let cancelFile;

  before(async () => {
    tmp = makeTmp("fixroute");
    record = path.join(tmp, "record.log");
    cancelFile = path.join(tmp, "cancel.jsonl");
    s = await openSession({
      tag: "fixroute",
      servers: {
        f: servers.faulty(["--name", "f", "--record", record, "--cancel-file", cancelFile, "--resource", "test://f/one"]),
        p: servers.paged(),
      },
      gateway: { startup_wait: "10s" },
      capabilities: {},
    });
    const t0 = performance.now();
    const tools = await s.tools();
    const ms = performance.now() - t0;
    assert.ok(tools.has("f__echo") && tools.has("p__page_0"), `both upstreams listed: ${[...tools.keys()].join(" ")}`);
    assert.ok(ms < T(5000), `first tools/list answered when all servers were ready (${ms.toFixed(0)} ms), not after startup_wait (10 s)`);
  });

  after(() => {
    s?.destroy();
    rmTmp(tmp);
  });

  it("answers an upstream's sampling/elicitation/roots request with -32601 when the client lacks the capability", async () => {
    const sent = s.gw.messages.length;
    for (const method of ["sampling/createMessage", "elicitation/create", "roots/list"]) {
      const out = JSON.parse(await s.callText("f__ask", { method }));
      assert.ok(out.error, `${method}: upstream got an error, not ${JSON.stringify(out)}`);
      assert.equal(out.error.code, -32601, `${method}: error code seen by the upstream`);
    }
    const leaked = s.gw.messages.slice(sent).filter((m) => ["sampling/createMessage", "elicitation/create", "roots/list"].includes(m.method));
    assert.deepEqual(leaked, [], "nothing forwarded to a client without the capability");
  });

  it("fans logging/setLevel out and prefixes forwarded loggers with the server key", async () => {
    assert.deepEqual(await s.client.setLoggingLevel("warning"), {});
    const setLevel = await waitUntil(() => recorded(record).find((m) => m.method === "logging/setLevel"), T(3000), "setLevel at the upstream");
    assert.equal(setLevel.params.level, "warning");
    const from = s.gw.messages.length;
    await s.call("f__log", { level: "info", data: "I1-below-level" });
    await s.call("f__log", { level: "error", data: "E1-with-logger", logger: "sub" });
    await s.call("f__log", { level: "error", data: "E2-no-logger" });
    const e1 = await s.gw.waitFor((m) => m.method === "notifications/message" && m.params?.data === "E1-with-logger", T(3000), "E1", from);
    const e2 = await s.gw.waitFor((m) => m.method === "notifications/message" && m.params?.data === "E2-no-logger", T(3000), "E2", from);
    assert.equal(e1.params.logger, "f/sub");
    assert.equal(e1.params.level, "error");
    assert.equal(e2.params.logger, "f");
    assert.ok(!s.gw.messages.slice(from).some((m) => m.params?.data === "I1-below-level"), "message below the level was filtered upstream");
    await s.client.setLoggingLevel("debug");
  });

  it("keeps each client progress token, also with two concurrent calls", async () => {
    const a = [];
    const b = [];
    const from = s.gw.messages.length;
    const [ra, rb] = await Promise.all([
      s.call("f__sleep", { ms: 300, steps: 3 }, { onprogress: (p) => a.push(p) }),
      s.call("f__sleep", { ms: 500, steps: 5 }, { onprogress: (p) => b.push(p) }),
    ]);
    assert.equal(ra.content[0].text, "f slept 300");
    assert.equal(rb.content[0].text, "f slept 500");
    const [ta, tb] = s.transport.sent.filter((m) => m.method === "tools/call" && m.params?.name === "f__sleep").slice(-2).map((m) => m.params._meta.progressToken);
    const prog = s.gw.messages.slice(from).filter((x) => x.method === "notifications/progress");
    const of = (tok) => prog.filter((m) => m.params.progressToken === tok).map((m) => [m.params.progress, m.params.total, m.params.message]);
    assert.deepEqual(of(ta), [[1, 3, "step 1"], [2, 3, "step 2"], [3, 3, "step 3"]], "first call's progress under its own token");
    assert.deepEqual(of(tb).map((x) => x[0]), [1, 2, 3, 4, 5], "second call's progress under its own token");
    assert.equal(prog.length, 8, "no progress under any other token");
    assert.deepEqual(a.map((p) => p.progress), [1, 2, 3], "SDK onprogress of the first call");
    assert.deepEqual(b.map((p) => p.progress), [1, 2, 3, 4, 5], "SDK onprogress of the second call");
  });

  it("forwards notifications/cancelled to the upstream with its own request id", async () => {
    const ac = new AbortController();
    const p = s.call("f__hang", { tag: "client-cancel" }, { signal: ac.signal });
    // The call must have reached the upstream before it can be cancelled there.
    await waitUntil(() => recorded(record).some((m) => m.params?.arguments?.tag === "client-cancel"), T(3000), "hang call at the upstream");
    ac.abort("user pressed stop");
    await assert.rejects(p);
    const entry = await waitUntil(() => readJsonLines(cancelFile).find((e) => e.tag === "client-cancel"), T(3000), "cancellation at the upstream");
    assert.equal(entry.reason, "user pressed stop", "reason passed through");
    // The upstream saw its own request id, and the gateway still works.
    const upCall = recorded(record).find((m) => m.method === "tools/call" && m.params?.arguments?.tag === "client-cancel");
    assert.equal(entry.requestId, upCall.id, "notifications/cancelled carried the upstream's own request id");
    assert.equal(await s.callText("f__echo", { text: "after cancel" }), "f:after cancel");
  });

  it("turns a burst of upstream tools/list_changed into one debounced notification and refetches", async () => {
    const from = s.gw.messages.length;
    assert.equal(await s.callText("f__add_tools", { prefix: "extra", count: 5 }), "extra-1,extra-2,extra-3,extra-4,extra-5");
    await s.gw.waitFor((m) => m.method === "notifications/tools/list_changed", T(5000), "tools/list_changed", from);
    await sleep(T(1500)); // quiet period: count what else arrives (a bound, not a synchronisation)
    const n = s.gw.messages.slice(from).filter((m) => m.method === "notifications/tools/list_changed").length;
    assert.equal(n, 1, "five upstream list_changed -> one notification to the client");
    const tools = await s.tools();
    for (let i = 1; i <= 5; i++) assert.ok(tools.has(`f__extra_${i}`), `f__extra_${i} listed after refetch`);
    assert.equal(await s.callText("f__extra_3", {}), "f:extra-3");
  });

  it("follows upstream pagination and returns merged lists", async () => {
    const tools = await s.client.listTools();
    const paged = tools.tools.map((t) => t.name).filter((n) => n.startsWith("p__"));
    assert.deepEqual(paged, ["p__page_0", "p__page_1", "p__page_2", "p__page_3", "p__page_4", "p__page_5", "p__page_6"]);
    assert.equal(tools.nextCursor, undefined, "merged list in one page");
    assert.equal(await s.callText("p__page_5", {}), "paged:page-5");
    const res = (await s.client.listResources()).resources.map((r) => r.uri);
    for (let i = 0; i < 5; i++) assert.ok(res.includes(`page://${i}`), `page://${i} listed`);
    assert.ok(res.includes("test://f/one"));
    const prompts = (await s.client.listPrompts()).prompts.map((p) => p.name);
    assert.deepEqual(prompts.filter((n) => n.startsWith("p__")), ["p__pp_0", "p__pp_1", "p__pp_2"]);
    const got = await s.client.getPrompt({ name: "p__pp_2" });
    assert.equal(got.messages[0].content.text, "paged:pp-2");
  });

  it("routes subscribe/unsubscribe to the owning upstream and maps updates back", async () => {
    const uri = "test://f/one";
    assert.equal((await s.client.readResource({ uri })).contents[0].text, "f:test://f/one");
    await s.client.subscribeResource({ uri });
    const from = s.gw.messages.length;
    assert.equal(await s.callText("f__touch", { uri }), "updated");
    const upd = await s.gw.waitFor((m) => m.method === "notifications/resources/updated", T(3000), "resources/updated", from);
    assert.equal(upd.params.uri, uri);
    await s.client.unsubscribeResource({ uri });
    assert.equal(await s.callText("f__touch", { uri }), "not subscribed", "unsubscribe reached the upstream");
  });

  it("passes the client's _meta through to the upstream (progress token aside)", async () => {
    const r = await s.client.callTool({ name: "f__echo", arguments: { text: "meta" }, _meta: { "codex/callId": "call-123", threadId: "t-9" } });
    assert.equal(r.content[0].text, "f:meta");
    const up = recorded(record).findLast((m) => m.method === "tools/call" && m.params?.arguments?.text === "meta");
    assert.equal(up.params.name, "echo", "upstream sees its own tool name");
    assert.equal(up.params._meta?.["codex/callId"], "call-123");
    assert.equal(up.params._meta?.threadId, "t-9");
  });

  it("answers an upstream's ping itself", async () => {
    const from = s.gw.messages.length;
    assert.deepEqual(JSON.parse(await s.callText("f__ask", { method: "ping" })), { result: {} });
    assert.ok(!s.gw.messages.slice(from).some((m) => m.method === "ping"), "upstream ping not forwarded to the client");
  });

  it("carries large messages both ways intact", async () => {
    const big = "0123456789abcdef".repeat(64 * 1024) + "\u00e9\u4e2d\u{1F600}"; // 1 MiB + multi-byte UTF-8
    assert.equal(await s.callText("f__echo", { text: big }), `f:${big}`);
  });

  it("keeps 120 concurrent calls over two upstreams apart", async () => {
    const calls = [];
    for (let i = 0; i < 120; i++) {
      if (i % 2) calls.push(s.callText("f__echo", { text: `c${i}` }).then((t) => [t, `f:c${i}`]));
      else calls.push(s.callText(`p__page_${i % 7}`, {}).then((t) => [t, `paged:page-${i % 7}`]));
    }
    for (const [got, want] of await Promise.all(calls)) assert.equal(got, want);
  });

  it("exits 0 on stdin EOF and leaves no process behind", async () => {
    await s.shutdown();
  });
});
