// Per-identity policy of the service (issue 10 point 4): gateway.clients narrows, for one client
// identity (a bearer token's name on TCP, the peer's user or group on a unix socket), what that
// client of one `mcpgw serve` sees and calls; the audit log names the client of every call; a bad
// entry is an error at its FILE:LINE:COL.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { Agent } from "undici";
import {
  Gateway, makeTmp, rmTmp, servers, toYaml, T, waitUntil, within, sleep, readJsonLines, runGateway,
} from "./lib/harness.mjs";

const digest = (t) => crypto.createHash("sha256").update(t).digest("hex");

async function startServe({ dir, config, listen }) {
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, toYaml(config));
  const args = ["serve", "-c", file, "--system-policy", ""];
  for (const l of listen) args.push("--listen", l);
  const gw = new Gateway({ dir, args });
  const addrs = [];
  await waitUntil(() => {
    for (const m of gw.stderr.matchAll(/listening on (\S+)/g)) if (!addrs.includes(m[1])) addrs.push(m[1]);
    return addrs.length >= listen.length || gw.exitStatus !== null;
  }, T(10000), "serve to listen");
  assert.equal(gw.exitStatus, null, `serve exited early:\n${gw.stderrTail()}`);
  return { gw, file, addrs };
}

async function stop(gw) {
  gw.proc.kill("SIGTERM");
  const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
  assert.ok(st, `serve did not exit after SIGTERM:\n${gw.stderrTail()}`);
  // exit 0: under the ASan build a leak would not be
  assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null }, gw.stderrTail());
}

async function tokenClient(addr, token) {
  const client = new Client({ name: `id-${token}`, version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(`http://${addr}/mcp`),
    { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  await within(client.connect(transport), T(10000), `initialize as ${token}`);
  return { client, transport };
}

async function unixClient(sock) {
  const dispatcher = new Agent({ connect: { socketPath: sock } });
  const client = new Client({ name: "id-unix", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"),
    { fetch: (u, init) => fetch(u, { ...init, dispatcher }) });
  await within(client.connect(transport), T(10000), "initialize over the unix socket");
  return { client, transport, dispatcher };
}

const names = async (client) => (await client.listTools()).tools.map((t) => t.name).sort();

/** The JSON-RPC error of a call the gateway refuses (the SDK throws it as an McpError). */
async function refused(p) {
  try {
    const r = await p;
    return { result: r };
  } catch (e) {
    return { code: e.code, message: e.message };
  }
}

test("serve: gateway.clients gives each token and unix user its own tools, refuses the rest, and the audit log names the client", { timeout: T(90000) }, async () => {
  const dir = makeTmp("serve-ident");
  const sock = path.join(dir, "gw.sock");
  const audit = path.join(dir, "audit.jsonl");
  const uid = process.getuid();
  const user = os.userInfo().username;
  const config = {
    gateway: {
      audit_log: audit,
      client_tokens: { alice: `sha256:${digest("alice-tok")}`, bob: `sha256:${digest("bob-tok")}`, carol: `sha256:${digest("carol-tok")}` },
      clients: {
        // alice: only echo of server a; server b hidden; no resources, no prompts
        "token:alice": {
          resources: { allow: [] },
          prompts: { allow: [] },
          servers: { a: { tools: { allow: ["echo"] } }, b: { hidden: true } },
        },
        // bob: every tool but echo, on both servers
        "token:bob": { tools: { deny: ["echo"] } },
        // the unix peer by uid: server a hidden; and by user name: add refused too
        [`uid:${uid}`]: { servers: { a: { hidden: true } } },
        [`user:${user}`]: { tools: { deny: ["get-sum"] } }, // the upstream name (exposed as get_sum)
      },
    },
    servers: { a: servers.everything(), b: servers.everything() },
  };
  const { gw, addrs } = await startServe({ dir, config, listen: ["127.0.0.1:0", `unix:${sock}`] });
  const tcp = addrs.find((a) => !a.startsWith("unix:"));
  try {
    // carol has no entry: she sees what the layers expose, the reference for the others.
    const carol = await tokenClient(tcp, "carol-tok");
    const all = await names(carol.client);
    assert.ok(all.includes("a__echo") && all.includes("b__echo"), all.join(","));
    const other = all.find((n) => n.startsWith("a__") && n !== "a__echo");
    assert.ok(other, all.join(","));
    const allResources = (await carol.client.listResources()).resources;
    assert.ok(allResources.length > 0, "the reference client sees resources");

    const alice = await tokenClient(tcp, "alice-tok");
    assert.deepEqual(await names(alice.client), ["a__echo"], "alice sees only what her rules leave");
    assert.deepEqual((await alice.client.listResources()).resources, [], "alice's resources: allow []");
    assert.deepEqual((await alice.client.listPrompts()).prompts, [], "alice's prompts: allow []");
    assert.equal((await alice.client.callTool({ name: "a__echo", arguments: { message: "hi" } })).content[0].text, "Echo: hi");
    for (const name of [other, "b__echo"]) {
      const r = await refused(alice.client.callTool({ name, arguments: { message: "x" } }));
      assert.equal(r.code, -32602, `alice calling ${name}: ${JSON.stringify(r)}`);
      assert.match(r.message, new RegExp(`Unknown tool: ${name}`));
    }
    const rr = await refused(alice.client.readResource({ uri: allResources[0].uri }));
    assert.equal(rr.code, -32002, `alice reading ${allResources[0].uri}: ${JSON.stringify(rr)}`);
    // The initialize instructions do not name a server hidden from her.
    const instr = alice.client.getInstructions() ?? "";
    assert.match(instr, /- a:/);
    assert.doesNotMatch(instr, /- b:/, instr);

    const bob = await tokenClient(tcp, "bob-tok");
    const bobs = await names(bob.client);
    assert.deepEqual(bobs, all.filter((n) => !/__echo$/.test(n)), "bob: everything but echo");
    const rb = await refused(bob.client.callTool({ name: "b__echo", arguments: { message: "x" } }));
    assert.equal(rb.code, -32602, JSON.stringify(rb));
    assert.equal((await carol.client.callTool({ name: "b__echo", arguments: { message: "c" } })).content[0].text, "Echo: c",
      "the tool bob may not call is there for carol, on the same server process");

    // The unix socket client is told by its uid and user name: a hidden, get-sum denied.
    const u = await unixClient(sock);
    const us = await names(u.client);
    assert.deepEqual(us, all.filter((n) => n.startsWith("b__") && !/__get_sum$/.test(n)), us.join(","));
    assert.equal((await u.client.callTool({ name: "b__echo", arguments: { message: "u" } })).content[0].text, "Echo: u");
    const ru = await refused(u.client.callTool({ name: "a__echo", arguments: { message: "x" } }));
    assert.equal(ru.code, -32602, JSON.stringify(ru));

    // Audit: every call names its client; a refusal names the rule that took the tool away.
    await waitUntil(() => readJsonLines(audit).length >= 7, T(5000), "audit lines");
    const lines = readJsonLines(audit);
    const calls = lines.filter((l) => l.event === "call");
    const denied = lines.filter((l) => l.event === "denied");
    assert.ok(calls.some((l) => l.client === "token:alice" && l.tool === "a__echo" && l.outcome === "ok"), JSON.stringify(calls));
    assert.ok(calls.some((l) => l.client === "token:carol" && l.tool === "b__echo"), JSON.stringify(calls));
    assert.ok(calls.some((l) => l.client === `user:${user}` && l.tool === "b__echo"), JSON.stringify(calls));
    assert.ok(calls.every((l) => typeof l.client === "string"), "every call line names its client");
    assert.ok(denied.some((l) => l.client === "token:alice" && l.tool === "b__echo" && l.rule === "gateway.clients.token:alice"), JSON.stringify(denied));
    assert.ok(denied.some((l) => l.client === "token:bob" && l.tool === "b__echo" && l.rule === "gateway.clients.token:bob"), JSON.stringify(denied));
    assert.ok(denied.some((l) => l.client === `user:${user}` && l.tool === "a__echo" && l.rule === `gateway.clients.uid:${uid}`), JSON.stringify(denied));

    // A reload that narrows carol tells her (list_changed) and her list shrinks.
    const changed = new Promise((resolve) => carol.client.setNotificationHandler(
      ToolListChangedNotificationSchema, () => resolve(true)));
    config.gateway.clients["token:carol"] = { servers: { b: { hidden: true } } };
    fs.writeFileSync(path.join(dir, "config.yaml"), toYaml(config));
    gw.proc.kill("SIGHUP");
    assert.equal(await within(changed, T(10000), "list_changed to carol after the reload"), true);
    assert.deepEqual(await names(carol.client), all.filter((n) => n.startsWith("a__")));
    assert.deepEqual(await names(alice.client), ["a__echo"], "carol's new rule is not alice's");
    // And a reload that drops alice's entry gives her the whole list again (not a stale copy).
    const aliceChanged = new Promise((resolve) => alice.client.setNotificationHandler(
      ToolListChangedNotificationSchema, () => resolve(true)));
    delete config.gateway.clients["token:alice"];
    fs.writeFileSync(path.join(dir, "config.yaml"), toYaml(config));
    gw.proc.kill("SIGHUP");
    assert.equal(await within(aliceChanged, T(10000), "list_changed to alice after the reload"), true);
    assert.deepEqual(await names(alice.client), all);

    for (const c of [carol, alice, bob, u]) {
      await c.transport.terminateSession();
      await c.client.close();
    }
    await u.dispatcher.close();
  } finally {
    await stop(gw);
    rmTmp(dir);
  }
});

test("serve: a server hidden from a client does not send it its log lines either", { timeout: T(60000) }, async () => {
  const dir = makeTmp("serve-ident-log");
  const config = {
    gateway: {
      client_tokens: { alice: `sha256:${digest("alice-tok")}`, carol: `sha256:${digest("carol-tok")}` },
      clients: { "token:alice": { servers: { b: { hidden: true } } } },
    },
    servers: { a: servers.faulty(["--name", "a"]), b: servers.faulty(["--name", "b"]) },
  };
  const { gw, addrs } = await startServe({ dir, config, listen: ["127.0.0.1:0"] });
  try {
    const seen = { alice: [], carol: [] };
    const carol = await tokenClient(addrs[0], "carol-tok");
    const alice = await tokenClient(addrs[0], "alice-tok");
    for (const [who, c] of [["alice", alice], ["carol", carol]]) {
      c.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seen[who].push(n.params));
      await c.client.setLoggingLevel("debug");
    }
    await carol.client.callTool({ name: "b__log", arguments: { level: "info", data: "from-b" } });
    await alice.client.callTool({ name: "a__log", arguments: { level: "info", data: "from-a" } });
    await waitUntil(() => seen.carol.some((p) => p.data === "from-b") && seen.alice.some((p) => p.data === "from-a"),
      T(10000), "the log lines");
    await sleep(T(300)); // a line from b to alice, were it sent, would be on its way by now
    assert.ok(!seen.alice.some((p) => p.data === "from-b" || /^b(\/|$)/.test(p.logger ?? "")), JSON.stringify(seen.alice));
    for (const c of [carol, alice]) {
      await c.transport.terminateSession();
      await c.client.close();
    }
  } finally {
    await stop(gw);
    rmTmp(dir);
  }
});

test("mcpgw check: gateway.clients errors at FILE:LINE:COL (unknown server, bad glob, bad identity, unknown token)", { timeout: T(30000) }, async () => {
  const dir = makeTmp("ident-check");
  try {
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, [
      "gateway:",                                  // 1
      "  client_tokens:",                          // 2
      `    ci: "sha256:${"0".repeat(64)}"`,        // 3
      "  clients:",                                // 4
      "    token:ci:",                             // 5
      "      servers:",                            // 6
      "        nosuch: { hidden: true }",          // 7
      "        a:",                                // 8
      "          tools: { allow: [\"get_[abc\"] }", // 9
      "    who:me: {}",                            // 10
      "    token:nobody:",                         // 11
      "      tools: { deny: [x] }",                // 12
      "servers:",                                  // 13
      "  a: { command: /bin/true }",               // 14
      "",
    ].join("\n"));
    const r = await runGateway(["check", "-c", file, "--system-policy", ""], { dir });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, new RegExp(`${file}:7:9: gateway\\.clients\\.token:ci\\.servers\\.nosuch: unknown server nosuch`), out);
    assert.match(out, new RegExp(`${file}:9:28: gateway\\.clients\\.token:ci\\.servers\\.a\\.tools\\.allow\\[0\\]: .*\\[ closed`), out);
    assert.match(out, new RegExp(`${file}:10:5: gateway\\.clients\\.who:me: expected user:NAME`), out);
    assert.match(out, new RegExp(`${file}:11:5: gateway\\.clients\\.token:nobody: no token nobody in gateway\\.client_tokens`), out);
    // The same entries without the mistakes pass.
    const good = path.join(dir, "good.yaml");
    fs.writeFileSync(good, toYaml({
      gateway: { client_tokens: { ci: `sha256:${"0".repeat(64)}` }, clients: { "token:ci": { servers: { a: { tools: { allow: ["get_[abc]*"] } } } }, "group:adm": { prompts: { deny: ["*"] } } } },
      servers: { a: { command: "/bin/true" } },
    }));
    const ok = await runGateway(["check", "-c", good, "--system-policy", ""], { dir });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  } finally {
    rmTmp(dir);
  }
});
