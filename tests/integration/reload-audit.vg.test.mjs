// Reload (SIGHUP and a change of the config file) and the audit log, through the real binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { openSession, servers, toYaml, waitUntil, readJsonLines, T } from "./lib/harness.mjs";

const toolNames = async (s) => [...(await s.tools()).keys()];

test("reload: a file change adds a server and keeps the running one; a removed server stops; an invalid file changes nothing", { timeout: T(60000) }, async () => {
  const s = await openSession({ tag: "reload", servers: { f: servers.faulty(["--name", "f"]) }, gateway: { startup_wait: "10s" } });
  try {
    const before = await toolNames(s);
    assert.ok(before.includes("f__echo"), before.join(" "));
    const fPid = Number(await s.callText("f__pid"));

    let changed = 0;
    s.client.setNotificationHandler((await import("@modelcontextprotocol/sdk/types.js")).ToolListChangedNotificationSchema, () => changed++);

    // Add a server by editing the file: no signal needed.
    fs.writeFileSync(s.config, toYaml({ gateway: { startup_wait: "10s" }, servers: { f: servers.faulty(["--name", "f"]), g: servers.faulty(["--name", "g"]) } }));
    await waitUntil(() => changed > 0, T(15000), "tools/list_changed after the config file changed");
    await waitUntil(async () => (await toolNames(s)).includes("g__echo"), T(15000), "g's tools listed");
    assert.equal(await s.callText("g__echo", { text: "new" }), "g:new");
    assert.equal(Number(await s.callText("f__pid")), fPid, "the unchanged server kept running (same pid)");

    // An invalid file: logged with its place, the running configuration stays.
    const errBefore = s.gw.stderr.length;
    fs.writeFileSync(s.config, "servers: [1, 2\n");
    await waitUntil(() => /keeping the running one/.test(s.gw.stderr.slice(errBefore)), T(10000), "invalid reload refused");
    assert.match(s.gw.stderr.slice(errBefore), /config\.yaml:\d+:\d+: /, "the error names its place");
    assert.equal(await s.callText("g__echo", { text: "still" }), "g:still");

    // Remove f with SIGHUP after rewriting the file (the watcher may also fire: both are fine).
    const gPid = Number(await s.callText("g__pid"));
    fs.writeFileSync(s.config, toYaml({ servers: { g: servers.faulty(["--name", "g"]) } }));
    process.kill(s.gw.pid, "SIGHUP");
    await waitUntil(async () => !(await toolNames(s)).includes("f__echo"), T(15000), "f's tools gone");
    await waitUntil(() => { try { process.kill(fPid, 0); return false; } catch { return true; } }, T(10000), "removed server's process ended");
    assert.equal(Number(await s.callText("g__pid")), gPid, "g kept running across the second reload");
    await assert.rejects(s.call("f__echo", { text: "x" }), /Unknown tool/);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("audit log: a line per call with its outcome and per refused call with the rule, never the arguments", { timeout: T(30000) }, async () => {
  const dirProbe = await openSession({ tag: "audit", connect: false, servers: { f: servers.faulty() } });
  const dir = dirProbe.dir;
  dirProbe.destroy({ keepDir: true });
  const audit = path.join(dir, "audit", "audit.jsonl");
  const s = await openSession({
    dir,
    gateway: { audit_log: audit },
    servers: { f: servers.faulty([], { tools: { deny: ["crash"] } }) },
  });
  try {
    assert.equal(await s.callText("f__echo", { text: "secret-argument-value" }), "faulty:secret-argument-value");
    await assert.rejects(s.call("f__crash"), /Unknown tool: f__crash/);
    await assert.rejects(s.call("nobody__here"), /Unknown tool/);
    await s.shutdown();
    const lines = readJsonLines(audit);
    const call = lines.find((l) => l.event === "call" && l.tool === "f__echo");
    assert.ok(call, JSON.stringify(lines));
    assert.equal(call.server, "f");
    assert.equal(call.outcome, "ok");
    assert.equal(typeof call.ms, "number");
    assert.match(call.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const denied = lines.find((l) => l.event === "denied" && l.tool === "f__crash");
    assert.deepEqual({ server: denied.server, rule: denied.rule }, { server: "f", rule: "tools.deny" });
    assert.ok(lines.some((l) => l.event === "denied" && l.tool === "nobody__here" && l.rule === "no such tool"));
    assert.ok(!fs.readFileSync(audit, "utf8").includes("secret-argument-value"), "arguments never reach the audit log");
    assert.equal(fs.statSync(audit).mode & 0o777, 0o600, "audit log is 0600");
  } finally {
    s.destroy();
  }
});
