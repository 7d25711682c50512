// Results are shaped for the client's negotiated revision (PROTOCOL-NOTES §1): a 2025-03-26
// client gets no structuredContent and no resource_link items (text instead); a 2025-06-18
// client gets both unchanged. Raw JSON-RPC clients, server-everything upstream.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, openSession, servers } from "./lib/harness.mjs";

async function session(version) {
  const s = await openSession({ tag: "ver", servers: { everything: servers.everything() }, gateway: { startup_wait: "15s" }, connect: false });
  const init = await s.gw.initialize({ protocolVersion: version });
  assert.equal(init.result.protocolVersion, version);
  await s.gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));
  const call = async (id, name, args) => (await s.gw.request({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } }, T(10000))).result;
  return { s, call };
}

test("results are down-converted for older protocol revisions", { timeout: T(60000) }, async () => {
  const [old, cur] = await Promise.all([session("2025-03-26"), session("2025-06-18")]);
  try {
    const weatherOld = await old.call(1, "everything__get_structured_content", { location: "New York" });
    assert.equal(weatherOld.structuredContent, undefined, "no structuredContent for 2025-03-26");
    assert.deepEqual(JSON.parse(weatherOld.content[0].text), { temperature: 33, conditions: "Cloudy", humidity: 82 }, "text fallback kept");
    const weatherCur = await cur.call(1, "everything__get_structured_content", { location: "New York" });
    assert.deepEqual(weatherCur.structuredContent, { temperature: 33, conditions: "Cloudy", humidity: 82 }, "structuredContent for 2025-06-18");

    const linksOld = await old.call(2, "everything__get_resource_links", { count: 2 });
    assert.ok(!linksOld.content.some((c) => c.type === "resource_link"), `no resource_link for 2025-03-26: ${JSON.stringify(linksOld.content)}`);
    const oldText = linksOld.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
    assert.ok(oldText.includes("demo://resource/dynamic/text/1") || oldText.includes("demo://resource/dynamic/blob/1"), "links turned into text");
    const linksCur = await cur.call(2, "everything__get_resource_links", { count: 2 });
    assert.equal(linksCur.content.filter((c) => c.type === "resource_link").length, 2, "resource_link items for 2025-06-18");
    await old.s.shutdown();
    await cur.s.shutdown();
  } finally {
    old.s.destroy();
    cur.s.destroy();
  }
});

test("JSON-RPC batches: answered for 2025-03-26 clients, refused with -32600 for 2025-06-18", { timeout: T(60000) }, async () => {
  const mk = async (version) => {
    const s = await openSession({ tag: "batch", servers: { f: servers.faulty(["--name", "f"]) }, gateway: { startup_wait: "10s" }, connect: false });
    await s.gw.initialize({ protocolVersion: version });
    await s.gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(10000));
    return s;
  };
  const [old, cur] = await Promise.all([mk("2025-03-26"), mk("2025-06-18")]);
  try {
    const batch = JSON.stringify([
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "f__echo", arguments: { text: "in a batch" } } },
      { jsonrpc: "2.0", method: "notifications/roots/list_changed" },
      { jsonrpc: "2.0", id: 3, method: "no/such/method" },
    ]);
    let from = old.gw.messages.length;
    old.gw.sendRaw(batch + "\n");
    const r1 = await old.gw.waitFor((m) => m.id === 1, T(5000), "batch element 1", from);
    const r2 = await old.gw.waitFor((m) => m.id === 2, T(5000), "batch element 2", from);
    const r3 = await old.gw.waitFor((m) => m.id === 3, T(5000), "batch element 3", from);
    assert.deepEqual(r1.result, {});
    assert.equal(r2.result?.content?.[0]?.text, "f:in a batch");
    assert.equal(r3.error?.code, -32601);
    assert.equal(old.gw.messages.slice(from).filter((m) => "id" in m).length, 3, "one reply per request, none for the notification");
    from = old.gw.messages.length;
    old.gw.sendRaw("[]\n");
    assert.equal((await old.gw.waitFor((m) => m.error && m.id === null, T(5000), "empty batch error", from)).error.code, -32600);

    from = cur.gw.messages.length;
    cur.gw.sendRaw(batch + "\n");
    const e = await cur.gw.waitFor((m) => m.error && m.id === null, T(5000), "batch refused", from);
    assert.equal(e.error.code, -32600);
    assert.deepEqual((await cur.gw.request({ jsonrpc: "2.0", id: 9, method: "ping" })).result, {});
    assert.ok(!cur.gw.messages.slice(from).some((m) => m.id === 2), "nothing of a refused batch was executed");
    await old.shutdown();
    await cur.shutdown();
  } finally {
    old.destroy();
    cur.destroy();
  }
});
