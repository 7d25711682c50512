// Issue 2 point 9 from the upstream side: an upstream that lists malformed tools or writes
// protocol garbage (responses to unknown ids, bare envelopes, unknown requests, progress for
// unknown tokens, invalid UTF-8, duplicate keys, deep nesting, non-object lines) must not crash
// the gateway, leak anything to the client, or disturb the other upstream.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, makeTmp, openSession, outFile, recorded, rmTmp, servers, waitUntil } from "./lib/harness.mjs";

test("malformed tools/list entries of an upstream are not passed on", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "rude-tools",
    servers: { rude: servers.rude(["--bad-tools"]), f: servers.faulty(["--name", "f"]) },
    gateway: { startup_wait: "10s" },
  });
  try {
    // Raw view first (an SDK client would reject the whole list if one entry were malformed).
    const from = s.gw.messages.length;
    await assert.doesNotReject(s.client.listTools(), "the SDK client accepts the merged tools/list");
    const raw = s.gw.messages.slice(from).find((m) => m.result?.tools);
    const tools = raw.result.tools;
    const rude = tools.filter((t) => t.name.startsWith("rude__")).map((t) => t.name);
    assert.ok(rude.includes("rude__echo") && rude.includes("rude__junk"), `good tools listed: ${rude.join(" ")}`);
    for (const t of tools) {
      assert.equal(typeof t.name, "string");
      assert.match(t.name, /^[A-Za-z0-9_]+$/);
      assert.ok(t.inputSchema !== null && typeof t.inputSchema === "object" && !Array.isArray(t.inputSchema), `${t.name}: inputSchema is an object, not ${JSON.stringify(t.inputSchema)}`);
    }
    assert.ok(tools.some((t) => t.name === "f__echo"), "the other server is listed");
    assert.equal(await s.callText("rude__echo", { text: "hi" }), "rude:hi");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("protocol garbage from an upstream is dropped; the call, the client and the other upstream carry on", { timeout: T(60000) }, async () => {
  const dir = makeTmp("rude");
  const rec = outFile(dir, "rude.jsonl");
  const s = await openSession({
    dir,
    servers: { rude: servers.rude(["--record", rec]), f: servers.faulty(["--name", "f"]) },
    gateway: { startup_wait: "10s" },
  }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    const tools = await s.tools();
    assert.ok(tools.has("rude__junk") && tools.has("f__echo"));
    const from = s.gw.messages.length;
    assert.equal(await s.callText("rude__junk", {}), "junk done");
    assert.deepEqual(await s.client.ping(), {});
    assert.equal(await s.callText("f__echo", { text: "fine" }), "f:fine");
    assert.equal(await s.callText("rude__echo", { text: "again" }), "rude:again");

    const reply = await waitUntil(() => recorded(rec).find((m) => m.id === "rude-req-1"), T(3000), "an answer to the upstream's unknown request");
    assert.equal(reply.error?.code, -32601, `unknown server->client method answered -32601: ${JSON.stringify(reply)}`);
    const leaked = s.gw.messages
      .slice(from)
      .filter((m) => m.id === 987654 || m.id === "no-such-id" || m.method === "foo/bar" || m.params?.progressToken === "unknown-token" || m.params?.requestId === 424242);
    assert.deepEqual(leaked, [], "nothing of the garbage reached the client");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});
