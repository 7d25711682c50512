// Issue 2 point 5: exposed names. Characters outside [A-Za-z0-9_] become '_'; names longer than
// max_name_length or colliding get a head + '_' + 8 hex digits of SHA-256("<server>/<name>");
// config order decides who keeps the plain name; deterministic across runs. Colliding resource
// URIs are rewritten to mcpgw://<server>/<percent-encoded uri> and read back.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { LONG_PROMPT, LONG_TOOL } from "../fixtures/names-data.mjs";
import { T, directTools, openSession, servers } from "./lib/harness.mjs";

const h8 = (server, name) => crypto.createHash("sha256").update(`${server}/${name}`).digest("hex").slice(0, 8);
const sanitize = (n) => n.replace(/[^A-Za-z0-9_]/g, "_");

const SERVERS = {
  "my-srv": servers.names(["--name", "first", "--resource", "test://same/readme"]),
  other: servers.names(["--name", "second", "--resource", "test://same/readme"]),
  "dup-a": servers.faulty(["--name", "d1"]),
  dup_a: servers.faulty(["--name", "d2"]),
};

/** Asserts the hashed form for (server, upstream name) given the plain exposed form. */
function assertHashed(name, { server, orig, plain, max }, what) {
  assert.match(name, /^[A-Za-z0-9_]+_[0-9a-f]{8}$/, `${what}: hashed form`);
  assert.ok(name.length <= max, `${what}: ${name.length} <= ${max}`);
  assert.equal(name.slice(-8), h8(server, orig), `${what}: hash is SHA-256("${server}/${orig}")[0..8]`);
  if (plain.length + 9 > max) assert.equal(name.length, max, `${what}: a shortened name uses the whole max_name_length`);
  const head = name.slice(0, -9);
  assert.ok(plain.startsWith(head), `${what}: head "${head}" is a prefix of "${plain}"`);
  assert.ok(head.length >= Math.min(plain.length, max - 9) - 0, `${what}: head as long as fits`);
}

async function exposedNames(max) {
  const gateway = { startup_wait: "15s" };
  if (max) gateway.max_name_length = max;
  const s = await openSession({ tag: "names", servers: SERVERS, gateway });
  try {
    const list = (await s.client.listTools()).tools;
    const tools = list.map((t) => t.name);
    const prompts = (await s.client.listPrompts()).prompts.map((p) => p.name);
    return { s, list, tools, prompts };
  } catch (e) {
    s.destroy();
    throw e;
  }
}

test("names: sanitising, collisions, long names, duplicate prefixes, routing by table, URI collisions", { timeout: T(90000) }, async () => {
  const { s, list, tools, prompts } = await exposedNames();
  try {
    const MAX = 55;
    for (const n of [...tools, ...prompts]) {
      assert.match(n, /^[A-Za-z0-9_]+$/, `only [A-Za-z0-9_]: ${n}`);
      assert.ok(n.length <= MAX, `${n} longer than ${MAX}`);
    }
    assert.equal(new Set(tools).size, tools.length, "tool names unique");
    assert.equal(new Set(prompts).size, prompts.length, "prompt names unique");

    // my-srv: a-b keeps the plain name (first), a_b collides with it and is hashed.
    const mine = tools.filter((n) => n.startsWith("my_srv__"));
    assert.equal(mine.length, 6, `my-srv exposes 6 tools: ${mine.join(" ")}`);
    assert.equal(mine[0], "my_srv__a_b");
    assertHashed(mine[1], { server: "my-srv", orig: "a_b", plain: "my_srv__a_b", max: MAX }, "a_b after a-b");
    assert.equal(mine[2], "my_srv__dot_name");
    assertHashed(mine[3], { server: "my-srv", orig: LONG_TOOL, plain: `my_srv__${sanitize(LONG_TOOL)}`, max: MAX }, "100-char tool");

    const theirs = tools.filter((n) => n.startsWith("other__"));
    assert.equal(theirs[0], "other__a_b", "other server keeps its own plain names");
    assertHashed(theirs[1], { server: "other", orig: "a_b", plain: "other__a_b", max: MAX }, "other a_b");

    // dup-a and dup_a share the prefix dup_a: the earlier server keeps the plain names.
    assert.ok(tools.includes("dup_a__echo"), "first of two servers with one prefix keeps dup_a__echo");
    const dupEcho = tools.filter((n) => n.startsWith("dup_a__echo_"));
    assert.equal(dupEcho.length, 1, `later server's echo renamed: ${dupEcho.join(" ")}`);
    assertHashed(dupEcho[0], { server: "dup_a", orig: "echo", plain: "dup_a__echo", max: MAX }, "dup_a echo");
    const faultyCount = (await directTools(servers.faulty())).length;
    assert.equal(tools.filter((n) => n.startsWith("dup_a__")).length, 2 * faultyCount, `both dup servers expose all ${faultyCount} tools each`);

    // Descriptions are passed on without control, bidi-override and zero-width characters.
    const weird = list.find((t) => t.name === "my_srv__weird");
    assert.ok(weird, "my_srv__weird listed");
    assert.doesNotMatch(weird.description, /[\u0000-\u0008\u000B-\u001F\u007F\u202A-\u202E\u2066-\u2069\u200B-\u200F\uFEFF]/u, `cleaned description ${JSON.stringify(weird.description)}`);
    for (const part of ["safe", "txet", "zero", "bell", "red"]) assert.ok(weird.description.includes(part), `visible text "${part}" kept in ${JSON.stringify(weird.description)}`);

    // Routing goes by table: each exposed name reaches its own upstream tool.
    assert.equal(await s.callText("my_srv__a_b"), "first:a-b");
    assert.equal(await s.callText(mine[1]), "first:a_b");
    assert.equal(await s.callText("my_srv__dot_name"), "first:dot.name");
    assert.equal(await s.callText(mine[5]), "first:caf\u00e9-\u00fc", "non-ASCII tool name routed");
    assert.equal(await s.callText(mine[3]), `first:${LONG_TOOL}`);
    assert.equal(await s.callText("other__a_b"), "second:a-b");
    assert.equal(await s.callText(theirs[1]), "second:a_b");
    assert.equal(await s.callText("dup_a__echo", { text: "x" }), "d1:x");
    assert.equal(await s.callText(dupEcho[0], { text: "x" }), "d2:x");

    // Prompts follow the same rule.
    assert.ok(prompts.includes("my_srv__p_1"), `prompts: ${prompts.join(" ")}`);
    const longP = prompts.filter((n) => n.startsWith("my_srv__") && n !== "my_srv__p_1");
    assert.equal(longP.length, 1);
    assertHashed(longP[0], { server: "my-srv", orig: LONG_PROMPT, plain: `my_srv__${sanitize(LONG_PROMPT)}`, max: MAX }, "100-char prompt");
    assert.equal((await s.client.getPrompt({ name: longP[0] })).messages[0].content.text, `first:${LONG_PROMPT}`);
    assert.equal((await s.client.getPrompt({ name: "other__p_1" })).messages[0].content.text, "second:p-1");

    // Resource URI collision: the later server's URI is rewritten and maps back on read.
    const res = (await s.client.listResources()).resources.map((r) => r.uri);
    assert.ok(res.includes("test://same/readme"), `original URI kept by the first server: ${res.join(" ")}`);
    const rewritten = res.filter((u) => u.startsWith("mcpgw://other/"));
    assert.equal(rewritten.length, 1, `later server's URI rewritten: ${res.join(" ")}`);
    assert.equal(decodeURIComponent(rewritten[0].slice("mcpgw://other/".length)), "test://same/readme", "percent-encoded original URI");
    assert.equal((await s.client.readResource({ uri: "test://same/readme" })).contents[0].text, "first:test://same/readme");
    const back = await s.client.readResource({ uri: rewritten[0] });
    assert.equal(back.contents[0].text, "second:test://same/readme", "rewritten URI reads the later server's resource");
    assert.equal(back.contents[0].uri, rewritten[0], "contents carry the exposed URI");
    await s.shutdown();
  } finally {
    s.destroy();
  }

  // Same config, fresh state: exactly the same names (deterministic).
  const again = await exposedNames();
  try {
    assert.deepEqual(again.tools, tools, "same tool names on a second run");
    assert.deepEqual(again.prompts, prompts, "same prompt names on a second run");
    await again.s.shutdown();
  } finally {
    again.s.destroy();
  }
});

test("names: max_name_length is honoured", { timeout: T(60000) }, async () => {
  const MAX = 30;
  const { s, tools, prompts } = await exposedNames(MAX);
  try {
    for (const n of [...tools, ...prompts]) assert.ok(n.length <= MAX, `${n} (${n.length}) within ${MAX}`);
    const long = tools.filter((n) => n.startsWith("my_srv__t012"));
    assert.equal(long.length, 1);
    assertHashed(long[0], { server: "my-srv", orig: LONG_TOOL, plain: `my_srv__${sanitize(LONG_TOOL)}`, max: MAX }, "100-char tool, max 30");
    assert.equal(await s.callText(long[0]), `first:${LONG_TOOL}`);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("names: each non-ASCII character (not each UTF-8 byte) becomes one _", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "names-utf8", servers: { u: servers.names(["--name", "u"]) }, gateway: { startup_wait: "15s" } });
  try {
    const tools = (await s.client.listTools()).tools.map((t) => t.name);
    const cafe = tools.find((n) => n.startsWith("u__caf"));
    assert.equal(cafe, "u__caf___", '"caf\u00e9-\u00fc": c a f \u00e9 - \u00fc -> caf + three _ (DESIGN §4: other characters become _)');
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("names: prefix replaces the server key; an empty prefix exposes the upstream names", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "names-prefix",
    servers: { first: servers.faulty(["--name", "f1"], { prefix: "alt" }), bare: servers.names(["--name", "b"], { prefix: "" }) },
    gateway: { startup_wait: "15s" },
  });
  try {
    const tools = (await s.client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes("alt__echo"), `prefix "alt": ${tools.join(" ")}`);
    assert.ok(!tools.some((n) => n.startsWith("first__")), "the server key is not used when a prefix is set");
    assert.ok(tools.includes("a_b") && tools.includes("dot_name"), `empty prefix: plain names: ${tools.join(" ")}`);
    assert.equal(await s.callText("alt__echo", { text: "p" }), "f1:p");
    assert.equal(await s.callText("dot_name"), "b:dot.name");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});
