// Issue 13, finding 3: a key the gateway reads for routing, policy or id mapping must have no
// twin equal to it under ASCII case folding ("name" and "Name"): the gateway would decide on one
// and an upstream that folds case (go-sdk CVE-2026-27896) act on the other. Both directions:
// a client message with one is refused with -32602 naming the key and never reaches a server;
// an upstream's list item with one is dropped (logged with the server, the list and the key),
// the rest of the list kept; an upstream's reply with one becomes an error for that call.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NODE, T, fixture, makeTmp, openSession, outFile, recorded, rmTmp, servers, sleep } from "./lib/harness.mjs";

const lists = (file, args = []) => ({ command: NODE, args: [fixture("lists.mjs"), "--data", file, ...args] });
const schema = { type: "object", properties: { text: { type: "string" } } };

async function start(tag, data) {
  const dir = makeTmp(tag);
  const file = path.join(dir, "data.json");
  const rec = outFile(dir, "up.jsonl");
  fs.writeFileSync(file, JSON.stringify(data));
  const s = await openSession({ dir, servers: { up: lists(file, ["--record", rec]) }, gateway: { startup_wait: "10s" }, connect: false }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  await s.gw.initialize();
  return { s, dir, rec };
}

test("a client message with a case twin of a key the gateway reads is refused, naming the key", { timeout: T(60000) }, async () => {
  const { s, dir, rec } = await start("twins-client", { tools: [{ name: "echo", inputSchema: schema }, { name: "rm", inputSchema: schema }] });
  try {
    const listed = await s.gw.request({ jsonrpc: "2.0", id: 1, method: "tools/list" }, T(15000));
    assert.deepEqual(listed.result.tools.map((t) => t.name).sort(), ["up__echo", "up__rm"]);
    const refused = [
      // the policy would see up__echo, a folding upstream would run rm
      [{ name: "up__echo", Name: "rm", arguments: {} }, "params.Name"],
      [{ Name: "up__rm", arguments: {} }, "params.Name"],
      [{ name: "up__echo", arguments: {}, Arguments: { text: "other" } }, "params.Arguments"],
      [{ name: "up__echo", arguments: {}, _meta: { progressToken: 1, progresstoken: 2 } }, "params._meta.progresstoken"],
    ];
    let id = 10;
    for (const [params, key] of refused) {
      const r = await s.gw.request({ jsonrpc: "2.0", id: ++id, method: "tools/call", params });
      assert.equal(r.error?.code, -32602, `${JSON.stringify(params)} refused: ${JSON.stringify(r)}`);
      assert.ok(r.error.message.includes(`"${key}"`), `the error names ${key}: ${r.error.message}`);
    }
    // The same for another method, and for a notification (never answered, never forwarded).
    const res = await s.gw.request({ jsonrpc: "2.0", id: ++id, method: "resources/read", params: { uri: "test://a", URI: "test://b" } });
    assert.equal(res.error?.code, -32602);
    assert.match(res.error.message, /"params\.URI"/);
    s.gw.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 11, RequestId: 12 } });
    // Twins the gateway does not read (a tool's own arguments) are the tool's business.
    const ok = await s.gw.request({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: "up__echo", arguments: { text: "a", Text: "b" } } });
    assert.equal(ok.result?.content?.[0]?.text, "lists:echo", JSON.stringify(ok));
    await sleep(T(200));
    const calls = recorded(rec).filter((m) => m.method === "tools/call" || m.method === "resources/read" || m.method === "notifications/cancelled");
    assert.deepEqual(calls.map((m) => m.params), [{ name: "echo", arguments: { text: "a", Text: "b" } }], "only the call without twins reached the server");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("an upstream's list item with a case twin is dropped and named in the log; a reply with one becomes an error", { timeout: T(60000) }, async () => {
  const { s, dir } = await start("twins-upstream", {
    tools: [
      { name: "echo", inputSchema: schema },
      { name: "safe", Name: "evil", inputSchema: schema },
      { name: "ro", inputSchema: schema, annotations: { readOnlyHint: true, ReadOnlyHint: false } },
      { name: "schema2", inputSchema: schema, InputSchema: { type: "object" } },
      { name: "twinreply", inputSchema: schema },
    ],
    prompts: [{ name: "p" }, { name: "q", NAME: "r" }],
    resources: [{ uri: "test://ok", name: "ok" }, { uri: "test://a", Uri: "test://b", name: "twin" }],
    resourceTemplates: [{ uriTemplate: "test://t/{x}", name: "t" }, { uriTemplate: "test://u/{x}", uritemplate: "test://v/{x}", name: "u" }],
    calls: { twinreply: { content: [{ type: "text", text: "shown" }], Content: [{ type: "text", text: "hidden" }] } },
  });
  try {
    const tools = (await s.gw.request({ jsonrpc: "2.0", id: 1, method: "tools/list" }, T(15000))).result.tools;
    assert.deepEqual(tools.map((t) => t.name).sort(), ["up__echo", "up__twinreply"], "only the items without twins are listed");
    const prompts = (await s.gw.request({ jsonrpc: "2.0", id: 2, method: "prompts/list" })).result.prompts;
    assert.deepEqual(prompts.map((p) => p.name), ["up__p"]);
    const resources = (await s.gw.request({ jsonrpc: "2.0", id: 3, method: "resources/list" })).result.resources;
    assert.deepEqual(resources.map((r) => r.uri), ["test://ok"]);
    const templates = (await s.gw.request({ jsonrpc: "2.0", id: 4, method: "resources/templates/list" })).result.resourceTemplates;
    assert.deepEqual(templates.map((r) => r.uriTemplate), ["test://t/{x}"]);
    for (const [list, key] of [["tools/list", "Name"], ["tools/list", "annotations.ReadOnlyHint"], ["tools/list", "InputSchema"], ["prompts/list", "NAME"], ["resources/list", "Uri"], ["resources/templates/list", "uritemplate"]])
      assert.ok(s.gw.stderr.split("\n").some((l) => l.includes("[up]") && l.includes(list) && l.includes(`"${key}"`)), `a log line names the server, ${list} and ${key}:\n${s.gw.stderrTail()}`);
    // A reply with a twin ends its call with an error; the server stays usable.
    const r = await s.gw.request({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "up__twinreply", arguments: {} } });
    assert.equal(r.error?.code, -32603, JSON.stringify(r));
    assert.match(r.error.message, /"result\.Content"/);
    const e = await s.gw.request({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "up__echo", arguments: {} } });
    assert.equal(e.result?.content?.[0]?.text, "lists:echo");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("a client's reply with a case twin reaches the server as an error for its request", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "twins-reply", servers: { f: servers.faulty(["--name", "f"]) }, gateway: { startup_wait: "10s" }, connect: false });
  try {
    await s.gw.initialize({ capabilities: { elicitation: { form: {} } } });
    await s.gw.request({ jsonrpc: "2.0", id: 1, method: "tools/list" }, T(15000));
    const from = s.gw.messages.length;
    s.gw.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "f__ask", arguments: { method: "elicitation/create" } } });
    const ask = await s.gw.waitFor((m) => m.method === "elicitation/create", T(10000), "elicitation/create", from);
    // The gateway would pass on "accept"; a server that folds case would read "decline".
    s.gw.send({ jsonrpc: "2.0", id: ask.id, result: { action: "accept", Action: "decline", content: { n: "x" } } });
    const r = await s.gw.waitFor((m) => m.id === 2 && ("result" in m || "error" in m), T(10000), "the tools/call reply", from);
    const said = JSON.parse(r.result.content[0].text);
    assert.equal(said.error?.code, -32603, `the server got an error, not the result: ${JSON.stringify(said)}`);
    assert.match(said.error.message, /"result\.Action"/);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});
