// Issue 13, finding 4: every text an upstream supplies that a model or a person reads (titles,
// annotations.title, the titles and descriptions inside inputSchema and outputSchema at any
// depth, prompt and argument texts, resource and template texts) is cleaned like a tool's
// description (control characters, ESC, bidi overrides, zero-width characters) and bounded.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NODE, T, fixture, makeTmp, openSession, rmTmp } from "./lib/harness.mjs";

// A bidi override, a zero-width space, a BEL, an ESC sequence, a C1 control and a BOM.
const POISON = "safe\u202Etxet\u200Bzero\u0007bell\u001B[31mred\u0085c1\uFEFFbom";
const HIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;
const lists = (file, args = []) => ({ command: NODE, args: [fixture("lists.mjs"), "--data", file, ...args] });

/** Every string of v with its path, for the key names given (any depth). */
function textsUnder(v, keys, at = "", out = []) {
  if (Array.isArray(v)) v.forEach((x, i) => textsUnder(x, keys, `${at}[${i}]`, out));
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === "string" && keys.includes(k)) out.push([`${at}.${k}`, x]);
      else textsUnder(x, keys, `${at}.${k}`, out);
    }
  return out;
}

test("titles, annotations and schema texts of every list are cleaned and bounded", { timeout: T(60000) }, async () => {
  const dir = makeTmp("text");
  const data = path.join(dir, "data.json");
  fs.writeFileSync(data, JSON.stringify({
    tools: [{
      name: "t",
      title: POISON,
      description: POISON,
      annotations: { title: POISON, readOnlyHint: true },
      inputSchema: {
        type: "object",
        title: POISON,
        description: POISON,
        properties: {
          a: { type: "string", description: POISON, title: POISON },
          deep: { type: "array", items: { type: "object", properties: { b: { type: "string", description: POISON } } } },
          long: { type: "string", description: "d".repeat(20000) },
        },
      },
      outputSchema: { type: "object", title: POISON, properties: { r: { type: "string", description: POISON } } },
    }, {
      name: "longtitle",
      title: "T".repeat(5000),
      inputSchema: { type: "object" },
    }],
    prompts: [{ name: "p", title: POISON, description: POISON, arguments: [{ name: "x", title: POISON, description: POISON }] }],
    resources: [{ uri: "test://r", name: POISON, title: POISON, description: POISON }],
    resourceTemplates: [{ uriTemplate: "test://t/{x}", name: POISON, title: POISON, description: POISON }],
    serverInfo: { name: "lists", title: POISON, version: "0" },
    instructions: POISON,
  }));
  let s = await openSession({ dir, servers: { up: lists(data) }, gateway: { startup_wait: "10s" } }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    const tools = (await s.client.listTools()).tools;
    const prompts = (await s.client.listPrompts()).prompts;
    const resources = (await s.client.listResources()).resources;
    const templates = (await s.client.listResourceTemplates()).resourceTemplates;
    const t = tools.find((x) => x.name === "up__t");
    assert.ok(t, `tool listed: ${tools.map((x) => x.name)}`);
    const texts = [
      ...textsUnder({ tools, prompts }, ["title", "description"]),
      ...textsUnder({ resources, templates }, ["title", "description", "name"]),
    ];
    // tool, annotations, inputSchema (3 levels deep), outputSchema, prompt and argument,
    // resource and template texts: all of them are there, none holds a hidden character.
    assert.ok(texts.length >= 20, `texts found: ${texts.map(([p]) => p).join(" ")}`);
    for (const [where, text] of texts) {
      assert.doesNotMatch(text, HIDDEN, `${where} cleaned: ${JSON.stringify(text)}`);
      if (text.includes("safe")) assert.ok(text.includes("txet") && text.includes("red") && text.includes("bom"), `${where}: visible text kept: ${JSON.stringify(text)}`);
    }
    assert.equal(t.annotations.title, "safetxetzerobell[31mredc1bom");
    assert.equal(t.inputSchema.properties.deep.items.properties.b.description, "safetxetzerobell[31mredc1bom");
    assert.equal(t.annotations.readOnlyHint, true, "the rest of annotations kept");
    // Bounds: 8 KiB for a description, 256 bytes for a title; a cut text ends with "...".
    const long = t.inputSchema.properties.long.description;
    assert.ok(Buffer.byteLength(long) <= 8192 && long.endsWith("..."), `schema description bounded: ${long.length}`);
    const lt = tools.find((x) => x.name === "up__longtitle").title;
    assert.ok(Buffer.byteLength(lt) <= 256 && lt.endsWith("..."), `title bounded: ${lt.length}`);
    // Names that come back from the client are never touched.
    assert.equal(prompts[0].arguments[0].name, "x");
    assert.equal(resources[0].uri, "test://r");
    assert.equal(templates[0].uriTemplate, "test://t/{x}");
    await s.shutdown();
    s.destroy();
    // The initialize instructions say what the server said of itself (remembered in the
    // catalogue from the first run): cleaned as well.
    s = await openSession({ dir, servers: { up: lists(data) }, gateway: { startup_wait: "10s" } });
    const instr = s.client.getInstructions();
    assert.match(instr, /- up: safetxetzerobell\[31mredc1bom/, `instructions: ${JSON.stringify(instr)}`);
    assert.doesNotMatch(instr, HIDDEN);
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});
