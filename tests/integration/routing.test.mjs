// Issue 2 point 4 end to end: one mcpgw in front of server-everything and server-filesystem, the
// SDK client on the other side with sampling, elicitation (form + url) and roots declared.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { ALL_CLIENT_CAPS, Session, T, makeTmp, openSession, rejectsCode, rmTmp, servers, waitUntil } from "./lib/harness.mjs";

describe("routing through mcpgw to server-everything and server-filesystem", { timeout: T(180000) }, () => {
  let s;
  let fsDir;
  let roots;
  const seen = { roots: 0, sampling: [], elicit: [] };

  before(async () => {
    fsDir = fs.realpathSync(makeTmp("fsroot"));
    fs.mkdirSync(path.join(fsDir, "sub2"));
    fs.writeFileSync(path.join(fsDir, "hello.txt"), "hello from the filesystem\n");
    roots = [{ uri: pathToFileURL(fsDir).href, name: "test-root" }];
    s = await openSession({
      tag: "routing",
      servers: { everything: servers.everything(), filesystem: servers.filesystem(fsDir) },
      gateway: { startup_wait: "15s" },
      capabilities: ALL_CLIENT_CAPS,
      setup(client) {
        client.setRequestHandler(ListRootsRequestSchema, async () => {
          seen.roots++;
          return { roots };
        });
        client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
          seen.sampling.push(req.params);
          return { model: "test-model-7", role: "assistant", content: { type: "text", text: "sampled answer 42" }, stopReason: "endTurn" };
        });
        client.setRequestHandler(ElicitRequestSchema, async (req) => {
          seen.elicit.push(req.params);
          if (req.params.mode === "url") return { action: "accept" };
          return { action: "accept", content: { name: "Ada Lovelace", check: true, integer: 7 } };
        });
      },
    });
  });

  after(() => {
    s?.destroy();
    rmTmp(fsDir);
  });

  it("answers initialize at once with the client's version, merged capabilities and instructions", () => {
    assert.ok(s.initMs < T(1000), `initialize took ${s.initMs.toFixed(0)} ms`);
    const init = s.gw.messages.find((m) => m.result && m.result.protocolVersion);
    assert.ok(init, "initialize result seen on stdout");
    assert.equal(init.result.protocolVersion, "2025-11-25");
    const caps = s.client.getServerCapabilities();
    assert.equal(caps.tools?.listChanged, true, "tools.listChanged");
    assert.equal(caps.resources?.subscribe, true, "resources.subscribe");
    assert.equal(caps.resources?.listChanged, true, "resources.listChanged");
    assert.equal(caps.prompts?.listChanged, true, "prompts.listChanged");
    assert.ok(caps.logging, "logging capability");
    assert.ok(caps.completions, "completions capability");
    const instr = s.client.getInstructions();
    assert.equal(typeof instr, "string", "instructions present");
    assert.match(instr, /(^|\W)everything(\W|_|$)/, "instructions name server everything");
    assert.match(instr, /(^|\W)filesystem(\W|_|$)/, "instructions name server filesystem");
  });

  it("lists both servers' tools under their prefixes, in config then upstream order", async () => {
    const list = (await s.client.listTools()).tools;
    const names = list.map((t) => t.name);
    for (const n of names) assert.match(n, /^(everything|filesystem)__[A-Za-z0-9_]+$/, `exposed name ${n}`);
    for (const n of [
      "everything__echo",
      "everything__get_sum",
      "everything__get_env",
      "everything__trigger_long_running_operation",
      "everything__toggle_subscriber_updates",
      "everything__get_roots_list",
      "everything__trigger_sampling_request",
      "everything__trigger_elicitation_request",
      "everything__trigger_url_elicitation",
      "filesystem__read_text_file",
      "filesystem__write_file",
      "filesystem__list_allowed_directories",
    ]) {
      assert.ok(names.includes(n), `${n} listed (got ${names.join(" ")})`);
    }
    const lastEv = names.findLastIndex((n) => n.startsWith("everything__"));
    const firstFs = names.findIndex((n) => n.startsWith("filesystem__"));
    assert.ok(lastEv < firstFs, "every everything tool precedes every filesystem tool (config order)");
    const idx = (n) => names.indexOf(n);
    assert.ok(idx("everything__echo") < idx("everything__get_sum") && idx("everything__get_sum") < idx("everything__trigger_long_running_operation"), "upstream order kept");
    assert.ok(idx("filesystem__read_text_file") < idx("filesystem__write_file") && idx("filesystem__write_file") < idx("filesystem__list_allowed_directories"), "upstream order kept");
    assert.equal(new Set(names).size, names.length, "no duplicate names");
    const sum = list.find((t) => t.name === "everything__get_sum");
    assert.deepEqual(Object.keys(sum.inputSchema.properties).sort(), ["a", "b"], "inputSchema passed through");
    assert.equal(sum.annotations?.readOnlyHint, true, "annotations passed through");
  });

  it("routes tools/call to the right upstream", async () => {
    assert.equal(await s.callText("everything__echo", { message: "hello gateway" }), "Echo: hello gateway");
    assert.equal(await s.callText("everything__get_sum", { a: 2, b: 40 }), "The sum of 2 and 40 is 42.");
    const target = path.join(fsDir, "written.txt");
    await s.call("filesystem__write_file", { path: target, content: "via mcpgw" });
    assert.equal(fs.readFileSync(target, "utf8"), "via mcpgw", "file written by the filesystem server");
    assert.equal(await s.callText("filesystem__read_text_file", { path: path.join(fsDir, "hello.txt") }), "hello from the filesystem\n");
  });

  it("refuses an unknown tool with -32602 Unknown tool", async () => {
    await rejectsCode(s.call("everything__no_such_tool", {}), -32602, /Unknown tool: everything__no_such_tool/);
    await rejectsCode(s.call("echo", { message: "x" }), -32602, /Unknown tool: echo/, "unprefixed name");
  });

  it("merges resources, resource templates, and reads both kinds", async () => {
    const res = (await s.client.listResources()).resources;
    const uris = res.map((r) => r.uri);
    assert.ok(uris.includes("demo://resource/static/document/features.md"), `static resources listed: ${uris.join(" ")}`);
    const read = await s.client.readResource({ uri: "demo://resource/static/document/features.md" });
    assert.equal(read.contents[0].uri, "demo://resource/static/document/features.md");
    assert.ok(read.contents[0].text.length > 20, "document text returned");

    const tpl = (await s.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    assert.ok(tpl.includes("demo://resource/dynamic/text/{resourceId}"), `templates listed: ${tpl.join(" ")}`);
    const dyn = await s.client.readResource({ uri: "demo://resource/dynamic/text/3" });
    assert.match(dyn.contents[0].text, /^Resource 3: This is a plaintext resource/);

    await assert.rejects(s.client.readResource({ uri: "nosuch://resource/anywhere" }), "unknown resource is an error");
  });

  it("routes resources/subscribe, delivers notifications/resources/updated, routes unsubscribe", async () => {
    const uri = "demo://resource/static/document/architecture.md";
    const from = s.gw.messages.length;
    assert.deepEqual(await s.client.subscribeResource({ uri }), {});
    // everything answers a subscribe with a log message (no logger) -> forwarded with logger "everything".
    const log = await s.gw.waitFor(
      (m) => m.method === "notifications/message" && String(m.params?.data).includes(`Received Subscribe Resource request for URI: ${uri}`),
      T(5000),
      "subscribe log message",
      from,
    );
    assert.equal(log.params.logger, "everything", "logger of an upstream message without logger is the server key");
    // toggle-subscriber-updates sends one update for every subscribed URI at once.
    const mark = s.gw.messages.length;
    await s.call("everything__toggle_subscriber_updates", {});
    try {
      const upd = await s.gw.waitFor((m) => m.method === "notifications/resources/updated", T(5000), "resources/updated", mark);
      assert.equal(upd.params.uri, uri, "updated notification keeps the URI");
    } finally {
      await s.call("everything__toggle_subscriber_updates", {}); // stop the 5 s updates
    }
    assert.deepEqual(await s.client.unsubscribeResource({ uri }), {});
    await s.gw.waitFor(
      (m) => m.method === "notifications/message" && String(m.params?.data).includes(`Received Unsubscribe Resource request: ${uri}`),
      T(5000),
      "unsubscribe reached the upstream",
      mark,
    );
  });

  it("lists namespaced prompts and gets them", async () => {
    const prompts = (await s.client.listPrompts()).prompts;
    const names = prompts.map((p) => p.name);
    for (const n of ["everything__simple_prompt", "everything__args_prompt", "everything__completable_prompt", "everything__resource_prompt"]) {
      assert.ok(names.includes(n), `${n} listed (got ${names.join(" ")})`);
    }
    const args = prompts.find((p) => p.name === "everything__args_prompt").arguments;
    assert.ok(args.some((a) => a.name === "city" && a.required), "prompt arguments passed through");
    const got = await s.client.getPrompt({ name: "everything__args_prompt", arguments: { city: "Paris", state: "TX" } });
    assert.equal(got.messages[0].content.text, "What's weather in Paris, TX?");
    await rejectsCode(s.client.getPrompt({ name: "everything__no_such_prompt" }), -32602, null, "unknown prompt");
  });

  it("routes completion/complete by prompt name and by resource template", async () => {
    const dep = await s.client.complete({
      ref: { type: "ref/prompt", name: "everything__completable_prompt" },
      argument: { name: "department", value: "Eng" },
    });
    assert.deepEqual(dep.completion.values, ["Engineering"]);
    const who = await s.client.complete({
      ref: { type: "ref/prompt", name: "everything__completable_prompt" },
      argument: { name: "name", value: "" },
      context: { arguments: { department: "Sales" } },
    });
    assert.deepEqual(who.completion.values, ["David", "Eve", "Frank"], "completion context passed through");
    const rid = await s.client.complete({
      ref: { type: "ref/resource", uri: "demo://resource/dynamic/text/{resourceId}" },
      argument: { name: "resourceId", value: "17" },
    });
    assert.deepEqual(rid.completion.values, ["17"]);
  });

  it("answers ping", async () => {
    assert.deepEqual(await s.client.ping(), {});
  });

  it("delivers progress notifications with the client's own progress token", async () => {
    const events = [];
    const from = s.gw.messages.length;
    const r = await s.call("everything__trigger_long_running_operation", { duration: 1, steps: 4 }, { onprogress: (p) => events.push(p) });
    assert.match(Session.text(r), /Long running operation completed\. Duration: 1 seconds, Steps: 4\./);
    const req = s.transport.sent.findLast((m) => m.method === "tools/call" && m.params?.name === "everything__trigger_long_running_operation");
    const token = req.params._meta.progressToken;
    const prog = s.gw.messages.slice(from).filter((m) => m.method === "notifications/progress");
    assert.deepEqual(prog.map((p) => [p.params.progress, p.params.total]), [[1, 4], [2, 4], [3, 4], [4, 4]]);
    for (const p of prog) assert.strictEqual(p.params.progressToken, token, "progress token is the client's own");
    assert.deepEqual(events.map((e) => [e.progress, e.total]), [[1, 4], [2, 4], [3, 4], [4, 4]], "SDK onprogress saw them all");
  });

  it("forwards sampling/createMessage to the client and returns its answer", async () => {
    const text = await s.callText("everything__trigger_sampling_request", { prompt: "knock knock", maxTokens: 21 });
    assert.equal(seen.sampling.length, 1, "client got one sampling request");
    assert.match(seen.sampling[0].messages[0].content.text, /knock knock/);
    assert.equal(seen.sampling[0].maxTokens, 21);
    assert.match(text, /test-model-7/);
    assert.match(text, /sampled answer 42/);
  });

  it("forwards form elicitation to the client and returns its answer", async () => {
    const before = seen.elicit.length;
    const text = await s.callText("everything__trigger_elicitation_request", {});
    assert.equal(seen.elicit.length, before + 1);
    const req = seen.elicit.at(-1);
    assert.notEqual(req.mode, "url");
    assert.deepEqual(req.requestedSchema.required, ["name"]);
    assert.match(text, /User provided the requested information/);
    assert.match(text, /- Name: Ada Lovelace/);
    assert.match(text, /- Favorite Integer: 7/);
  });

  it("forwards URL elicitation (request path and -32042 error path)", async () => {
    const before = seen.elicit.length;
    const text = await s.callText("everything__trigger_url_elicitation", { url: "https://example.org/consent", message: "open it" });
    assert.equal(seen.elicit.length, before + 1);
    const req = seen.elicit.at(-1);
    assert.equal(req.mode, "url");
    assert.equal(req.url, "https://example.org/consent");
    assert.equal(req.message, "open it");
    assert.equal(typeof req.elicitationId, "string");
    assert.match(text, /User completed the URL elicitation flow/);

    const err = await rejectsCode(
      s.call("everything__trigger_url_elicitation", { url: "https://example.org/other", errorPath: true }),
      -32042,
      null,
      "error path",
    );
    const els = err.data?.elicitations;
    assert.ok(Array.isArray(els) && els.length === 1, `-32042 data.elicitations passed through: ${JSON.stringify(err.data)}`);
    assert.equal(els[0].mode, "url");
    assert.equal(els[0].url, "https://modelcontextprotocol.io");
  });

  it("forwards roots/list and notifications/roots/list_changed", async () => {
    assert.ok(seen.roots >= 1, "upstreams asked the client for roots");
    const text = await s.callText("everything__get_roots_list", {});
    assert.match(text, /Current MCP Roots \(1 total\)/);
    assert.ok(text.includes(roots[0].uri), `root URI in ${text}`);
    assert.ok(text.includes("test-root"));
    // server-filesystem replaces its allowed directories with the client's roots.
    await waitUntil(
      async () => (await s.callText("filesystem__list_allowed_directories", {})) === `Allowed directories:\n${fsDir}`,
      T(5000),
      "filesystem to adopt the client's roots",
    );
    const asked = seen.roots;
    roots = [{ uri: pathToFileURL(path.join(fsDir, "sub2")).href, name: "second" }];
    await s.client.sendRootsListChanged();
    await waitUntil(
      async () => (await s.callText("filesystem__list_allowed_directories", {})) === `Allowed directories:\n${path.join(fsDir, "sub2")}`,
      T(5000),
      "filesystem to adopt the changed roots",
    );
    assert.ok(seen.roots > asked, "roots/list asked again after list_changed");
  });

  it("forwards logging/setLevel and upstream log messages", async () => {
    assert.deepEqual(await s.client.setLoggingLevel("debug"), {});
    const from = s.gw.messages.length;
    await s.call("everything__toggle_simulated_logging", {});
    try {
      const m = await s.gw.waitFor((x) => x.method === "notifications/message" && /-level message|level-message/.test(String(x.params?.data)), T(5000), "simulated log", from);
      assert.equal(m.params.logger, "everything");
    } finally {
      await s.call("everything__toggle_simulated_logging", {});
    }
  });

  it("exits 0 on stdin EOF and leaves no process behind", async () => {
    await s.shutdown();
  });
});
