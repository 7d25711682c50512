// Issue 2 point 7: per-server allow/deny globs, read_only, rename; hidden tools are absent from
// tools/list and refused as unknown tools; resources and prompts filtered the same way.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, directTools, fnmatch, makeTmp, openSession, rejectsCode, rmTmp, servers } from "./lib/harness.mjs";

const sanitize = (n) => n.replace(/[^A-Za-z0-9_]/g, "_");

test("policy: allow/deny/read_only/rename on tools, allow/deny on resources and prompts", { timeout: T(90000) }, async () => {
  const upstream = await directTools(servers.everything(), {});
  const upNames = upstream.map((t) => t.name);
  assert.ok(upNames.includes("get-env") && upNames.includes("gzip-file-as-resource"), "direct listing of server-everything works");

  const ALLOW = ["get-*", "echo"];
  const DENY = ["get-env", "get-tiny-?mage"];
  const tmp = makeTmp("policy-off");
  const s = await openSession({
    tag: "policy",
    servers: {
      ev: servers.everything({
        tools: { allow: ALLOW, deny: DENY },
        resources: { deny: ["demo://resource/static/document/architecture.md", "*/extension.md"] },
        prompts: { allow: ["simple-*", "args-*"] },
      }),
      ro: servers.everything({ tools: { read_only: true }, resources: { deny: ["*"] }, prompts: { deny: ["*"] } }),
      rn: servers.faulty(["--name", "rn"], { tools: { rename: { echo: "say_hello" }, deny: ["crash", "hang", "spawn-grandchild"] } }),
      off: servers.faulty(["--name", "off", "--spawn-file", path.join(tmp, "off-spawned")], { enabled: false }),
    },
    gateway: { startup_wait: "15s" },
  });
  try {
    const names = (await s.client.listTools()).tools.map((t) => t.name);

    const expEv = upNames.filter((n) => ALLOW.some((g) => fnmatch(g, n)) && !DENY.some((g) => fnmatch(g, n))).map((n) => `ev__${sanitize(n)}`);
    assert.ok(expEv.length >= 5, "sanity: the allow list keeps several tools");
    assert.deepEqual(names.filter((n) => n.startsWith("ev__")), expEv, "ev: allow globs minus deny globs, upstream order");

    const expRo = upstream.filter((t) => t.annotations?.readOnlyHint === true).map((t) => `ro__${sanitize(t.name)}`);
    assert.ok(expRo.length >= 3 && expRo.length < upstream.length, "sanity: some but not all tools are read-only");
    assert.deepEqual(names.filter((n) => n.startsWith("ro__")), expRo, "ro: only readOnlyHint tools");

    const rn = names.filter((n) => n.startsWith("rn__"));
    assert.ok(rn.includes("rn__say_hello"), `renamed tool exposed: ${rn.join(" ")}`);
    assert.ok(!rn.includes("rn__echo"), "original name of a renamed tool not exposed");
    for (const hidden of ["rn__crash", "rn__hang", "rn__spawn_grandchild"]) assert.ok(!rn.includes(hidden), `${hidden} hidden`);
    assert.ok(rn.includes("rn__pid"), "rn's other tools still listed");
    assert.equal(await s.callText("rn__say_hello", { text: "hi" }), "rn:hi", "renamed tool routes to the upstream's echo");

    assert.equal(await s.callText("ev__echo", { message: "allowed" }), "Echo: allowed");
    for (const hidden of ["ev__get_env", "ev__get_tiny_image", "ev__toggle_simulated_logging", "ro__gzip_file_as_resource", "ro__toggle_subscriber_updates", "rn__echo", "rn__crash"]) {
      await rejectsCode(s.call(hidden, {}), -32602, new RegExp(`Unknown tool: ${hidden}`), `hidden tool ${hidden}`);
    }

    const res = (await s.client.listResources()).resources.map((r) => r.uri);
    assert.ok(res.includes("demo://resource/static/document/features.md"), "allowed resource listed");
    assert.ok(!res.includes("demo://resource/static/document/architecture.md"), "denied resource hidden");
    assert.ok(!res.includes("demo://resource/static/document/extension.md"), "resource denied by a glob hidden");
    assert.ok(!res.some((u) => u.startsWith("mcpgw://ro/")), "ro's resources all denied (no rewritten duplicates)");
    await assert.rejects(s.client.readResource({ uri: "demo://resource/static/document/architecture.md" }), "reading a denied resource fails");

    const prompts = (await s.client.listPrompts()).prompts.map((p) => p.name);
    assert.deepEqual(prompts.filter((n) => n.startsWith("ev__")).sort(), ["ev__args_prompt", "ev__simple_prompt"]);
    assert.ok(!prompts.some((n) => n.startsWith("ro__")), "ro's prompts all denied");
    await assert.rejects(s.client.getPrompt({ name: "ev__completable_prompt", arguments: { department: "Sales", name: "Eve" } }), "hidden prompt refused");
    assert.ok(!names.some((n) => n.startsWith("off__")), "a disabled server exposes nothing");
    assert.ok(!fs.existsSync(path.join(tmp, "off-spawned")), "a disabled server is never started");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(tmp);
  }
});
