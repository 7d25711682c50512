// Issue 13, finding 7: "\u0000" inside a JSON string is valid JSON. An upstream's message holding
// one is accepted (its tools no longer vanish), the NUL is cleaned from text that reaches a model,
// and the rest is kept; a name or URI the gateway would have to read through a NUL is not used.
// A client's message with one passes on to the upstream unchanged, except where the gateway
// itself reads the string (a tool name): that is refused, never routed by the part before it.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NODE, T, fixture, makeTmp, openSession, outFile, recorded, rmTmp, sleep } from "./lib/harness.mjs";

const lists = (file, args = []) => ({ command: NODE, args: [fixture("lists.mjs"), "--data", file, ...args] });
const schema = { type: "object", properties: { text: { type: "string", description: "the\u0000text" } } };
const DATA = {
  tools: [
    { name: "echo", title: "Ec\u0000ho", description: "before\u0000after", inputSchema: schema },
    { name: "echo\u0000rm", description: "read through the NUL, this would be `echo`", inputSchema: schema },
    { name: "other", description: "plain", inputSchema: schema },
  ],
  prompts: [{ name: "p", description: "pro\u0000mpt" }],
  resources: [{ uri: "test://r", name: "r\u0000", description: "res\u0000ource" }, { uri: "test://r\u0000x", name: "nul uri" }],
};

test("an upstream's list with \\u0000 in strings is kept, cleaned, and a name with one is dropped", { timeout: T(60000) }, async () => {
  const dir = makeTmp("nul-up");
  const file = path.join(dir, "data.json");
  const slow = path.join(dir, "slow");
  fs.writeFileSync(file, JSON.stringify(DATA));
  const def = { servers: { up: lists(file, ["--delay-ms", "60000", "--delay-if", slow]) } };
  let s = await openSession({ dir, ...def, gateway: { startup_wait: "10s" } }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    const tools = (await s.client.listTools()).tools;
    assert.deepEqual(tools.map((t) => t.name).sort(), ["up__echo", "up__other"], "the server's tools are listed; the one whose name holds a NUL is not");
    const echo = tools.find((t) => t.name === "up__echo");
    assert.equal(echo.description, "beforeafter");
    assert.equal(echo.title, "Echo");
    assert.equal(echo.inputSchema.properties.text.description, "thetext");
    assert.equal((await s.client.listPrompts()).prompts[0].description, "prompt");
    const res = (await s.client.listResources()).resources;
    assert.deepEqual(res.map((r) => [r.uri, r.name, r.description]), [["test://r", "r", "resource"]]);
    assert.equal(await s.callText("up__echo"), "lists:echo");
    assert.ok(s.gw.stderr.includes("holds U+0000"), `the dropped name is logged:\n${s.gw.stderrTail()}`);
    await s.shutdown();
    s.destroy();

    // The catalogue written from that list is read back at the next start: its tools are
    // listed at once although the server now takes a minute to answer initialize.
    fs.writeFileSync(slow, "");
    s = await openSession({ dir, ...def, gateway: { startup_wait: "300ms" } });
    const again = (await s.client.listTools()).tools;
    assert.deepEqual(again.map((t) => t.name).sort(), ["up__echo", "up__other"], `listed from the catalogue:\n${s.gw.stderrTail()}`);
    assert.equal(again.find((t) => t.name === "up__echo").description, "beforeafter");
    assert.doesNotMatch(s.gw.stderr, /not a catalogue/);
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("a client's \\u0000 goes to the upstream unchanged; a tool name with one is refused", { timeout: T(60000) }, async () => {
  const dir = makeTmp("nul-client");
  const file = path.join(dir, "data.json");
  const rec = outFile(dir, "up.jsonl");
  fs.writeFileSync(file, JSON.stringify(DATA));
  const s = await openSession({ dir, servers: { up: lists(file, ["--record", rec]) }, gateway: { startup_wait: "10s" }, connect: false }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    await s.gw.initialize();
    await s.gw.request({ jsonrpc: "2.0", id: 1, method: "tools/list" }, T(15000));
    const ok = await s.gw.request({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "up__echo", arguments: { text: "a\u0000b" } } });
    assert.equal(ok.result?.content?.[0]?.text, "lists:echo", JSON.stringify(ok));
    const bad = await s.gw.request({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "up__echo\u0000x", arguments: {} } });
    assert.equal(bad.error?.code, -32602, JSON.stringify(bad));
    assert.match(bad.error.message, /"params\.name" holds U\+0000/);
    await sleep(T(200));
    const calls = recorded(rec).filter((m) => m.method === "tools/call");
    assert.deepEqual(calls.map((m) => m.params), [{ name: "echo", arguments: { text: "a\u0000b" } }], "the argument reached the server with its NUL; the NUL name did not reach it");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});
