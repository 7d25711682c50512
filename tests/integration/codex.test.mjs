// End to end with the real Codex CLI (@openai/codex, pinned in package.json) as the MCP client:
// `codex exec` runs offline against a mock Responses API on loopback
// (tests/fixtures/mock-responses.mjs), with one `[mcp_servers.gw]` entry that starts mcpgw over
// server-everything. The mock "model" calls `everything__echo` in the `mcp__gw` namespace, then
// answers with a message once the tool's output comes back.
//
// Four runs, in order:
//   1. cold start, `required = true`, Codex starts build/mcpgw itself: the whole round trip.
//   2. same state directory (the catalogue written by run 1), `required = false`, through a tap
//      (tests/fixtures/codex/tap.mjs) that records what Codex sent and what mcpgw answered:
//      initialize and tools/list are answered at once and the tool call waits for its server.
//   3. cold start (empty state), `required = false`, through the tap: observed, not raced.
//      Codex 0.171 waits about one second for the entry's tools/list, then starts the turn
//      without it; mcpgw's first tools/list waits for server-everything (startup_wait), so
//      whether the tools reach the model depends on how long server-everything takes to start
//      on this machine. The run asserts only what is always true and reports the rest.
//   4. (regression) an upstream's grandchild must not outlive Codex's shutdown of
//      mcpgw: Codex sends SIGTERM to mcpgw's process group and SIGKILL to mcpgw about 20 ms later,
//      so the gateway's close-stdin -> SIGTERM -> SIGKILL sequence never runs; its children die
//      through PR_SET_PDEATHSIG, but a grandchild of an upstream that does not exit at once on
//      stdin EOF is left behind (reparented to init).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { BIN, LOG_LINE, NODE, REPO, T, WRAPPER, descendants, isAlive, killProcs, makeTmp, procStat, readJsonLines, rmTmp, servers, toYaml, waitGone } from "./lib/harness.mjs";
import { callToolThenAnswer, findTool, functionCallOutputs, startMockResponses } from "../fixtures/mock-responses.mjs";

const CODEX_PKG = path.join(REPO, "node_modules/@openai/codex");
const CODEX = path.join(REPO, "node_modules/.bin/codex");
const TAP = path.join(REPO, "tests/fixtures/codex/tap.mjs");
const HAVE_CODEX = fs.existsSync(CODEX_PKG) && fs.existsSync(CODEX);

const NAMESPACE = "mcp__gw"; // Codex's namespace for the entry [mcp_servers.gw]
const TOOL = "everything__echo";
const MESSAGE = "hello from codex";
const ECHOED = `Echo: ${MESSAGE}`;
const PROMPT = "say hello via the echo tool";
const KEY_VAR = "MCPGW_E2E_MOCK_KEY";
const RUN_TIMEOUT = T(40000); // one `codex exec`, hard bound

// ---------------------------------------------------------------------------------------------
// helpers

const tomlStr = (s) => JSON.stringify(s); // a JSON string is a valid TOML basic string
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

function codexConfig({ baseUrl, required, tapFile, stateHome, xdgConfig, mcpgwConfig, gwArgs, modern }) {
  const gw = [...WRAPPER, BIN, ...(gwArgs ?? ["run", "-c", mcpgwConfig, "--system-policy", ""])];
  const argv = tapFile ? [NODE, TAP, tapFile, ...gw] : gw;
  return `# written by tests/integration/codex.test.mjs
model = "mock-model"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

# Nothing but the mock on loopback: no plugin sync (git ls-remote github.com), no analytics.
[features]
plugins = false
apps = false
remote_plugin = false${modern ? "\nmcp_2026_07_28 = true" : ""}

[analytics]
enabled = false

[model_providers.mock]
name = "mock"
base_url = ${tomlStr(baseUrl)}
wire_api = "responses"
env_key = "${KEY_VAR}"
request_max_retries = 0
stream_max_retries = 0

[mcp_servers.gw]
command = ${tomlStr(argv[0])}
args = [${argv.slice(1).map(tomlStr).join(", ")}]
default_tools_approval_mode = "approve"
required = ${required ? "true" : "false"}
startup_timeout_sec = ${Math.round(T(30000) / 1000)}

# Codex passes the child a stripped environment plus this table.
[mcp_servers.gw.env]
XDG_STATE_HOME = ${tomlStr(stateHome)}
XDG_CONFIG_HOME = ${tomlStr(xdgConfig)}
${modern ? 'CODEX_MCP_PROTOCOL_VERSION = "2026-07-28"\n' : ""}`;
}

/** Lines mcpgw wrote on stderr, as Codex logs them (RUST_LOG=codex_rmcp_client=info). */
function gatewayStderr(codexStderr) {
  const out = [];
  for (const l of stripAnsi(codexStderr).split("\n")) {
    const m = /MCP server stderr \([^)]*\): (.*)$/.exec(l);
    if (m) out.push(m[1]);
  }
  return out;
}

const readTap = readJsonLines;	/* the tap writes one JSON message per line */

/** From a tap log: the client's request with `method` and the server's answer to it. */
function exchange(tap, method) {
  const req = tap.find((e) => e.dir === "in" && e.msg?.method === method && "id" in e.msg);
  if (!req) return {};
  const res = tap.find((e) => e.dir === "out" && e.msg && e.msg.id === req.msg.id && ("result" in e.msg || "error" in e.msg));
  return { req, res, ms: res ? res.at - req.at : null };
}

function findFiles(dir, re, out = []) {
  let ents = [];
  try {
    ents = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of ents) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, re, out);
    else if (re.test(e.name)) out.push(p);
  }
  return out;
}

/** Everything useful for debugging a failed run. */
function dump(run) {
  if (!run) return "";
  const tail = (s, n = 6000) => (s.length > n ? "...\n" + s.slice(-n) : s);
  const parts = [
    `--- codex exit: ${JSON.stringify({ code: run.code, signal: run.signal, timedOut: run.timedOut, ms: run.ms })}`,
    `--- codex stdout:\n${tail(run.stdout)}`,
    `--- codex stderr:\n${tail(stripAnsi(run.stderr))}`,
    `--- mock requests: ${run.mock.requests.map((r) => `${r.method} ${r.path} -> ${JSON.stringify((r.output || []).map((i) => i.type + ":" + (i.name ?? "")))}`).join("; ")}`,
  ];
  if (run.tapFile) parts.push(`--- tap (client<->mcpgw):\n${tail(run.tap.map((e) => JSON.stringify(e).slice(0, 400)).join("\n"))}`);
  for (const f of findFiles(path.join(run.home, "sessions"), /\.jsonl$/)) {
    parts.push(`--- ${path.basename(f)} (tail):\n${tail(fs.readFileSync(f, "utf8"), 4000)}`);
  }
  for (const f of findFiles(path.join(run.home, "log"), /\.log$/)) parts.push(`--- ${path.basename(f)}:\n${tail(fs.readFileSync(f, "utf8"), 4000)}`);
  return parts.join("\n");
}

/** Runs body; on failure appends the run's debugging output to the error. */
async function explain(run, body) {
  try {
    await body();
  } catch (e) {
    const extra = dump(run);
    if (e && typeof e === "object") {
      try {
        e.message = `${e.message}\n${extra}`;
      } catch {
        /* read-only message */
      }
    }
    process.stderr.write(`codex.test: failure details\n${extra}\n`);
    throw e;
  }
}

// Every process this file started (pid + start time), killed in after() if still alive.
const started = new Map();
const remember = (procs) => procs.forEach((p) => p && started.set(`${p.pid}:${p.starttime}`, p));

/**
 * Processes whose environment points into dir (HOME of a run is there, and Codex, mcpgw and the
 * upstreams pass it on): what a run left behind even where the polled tree missed it.
 */
function strays(dir) {
  const out = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${e}/environ`, "utf8").split("\0");
      const under = (k) => env.some((v) => v === `${k}=${dir}` || v.startsWith(`${k}=${dir}/`));
      if (under("HOME") || under("XDG_STATE_HOME")) {
        const st = procStat(Number(e));
        if (st) out.push(st);
      }
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/**
 * One `codex exec` against a fresh mock and a fresh CODEX_HOME.
 * @returns {Promise<object>} {code, signal, timedOut, stdout, stderr, ms, mock, tap, tapFile, home, procs}
 */
async function runCodex(root, name, { required, tap, stateHome, mcpgwConfig, gwArgs, modern, tool = TOOL, args = { message: MESSAGE } }) {
  const dir = path.join(root, name);
  const home = path.join(dir, "codex-home");
  const work = path.join(dir, "work");
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const tapFile = tap ? path.join(dir, "tap.jsonl") : null;
  const mock = await startMockResponses({ decide: callToolThenAnswer({ namespace: NAMESPACE, tool, args, finalText: `final answer of ${name}` }) });
  const run = { name, dir, mock, tapFile, home, stdout: "", stderr: "", tap: [], procs: new Map() };
  try {
    fs.writeFileSync(
      path.join(home, "config.toml"),
      codexConfig({ baseUrl: mock.baseUrl, required, tapFile, stateHome, xdgConfig: path.join(dir, "xdg-config"), mcpgwConfig, gwArgs, modern }),
    );
    // A small, explicit environment: nothing of the user's Codex or OpenAI set-up leaks in.
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      LANG: process.env.LANG || "C.UTF-8",
      TMPDIR: os.tmpdir(),
      TERM: "dumb",
      NO_COLOR: "1",
      CODEX_HOME: home,
      [KEY_VAR]: "mock-key",
      RUST_LOG: "warn,codex_rmcp_client=info", // mcpgw's stderr appears in Codex's stderr
    };
    const t0 = performance.now();
    const child = spawn(CODEX, ["exec", "--strict-config", "--skip-git-repo-check", PROMPT], { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (c) => (run.stdout += c));
    child.stderr.on("data", (c) => (run.stderr += c));
    // Remember the process tree now and then (for the checks and the cleanup, not to synchronise).
    const snap = () => {
      try {
        const d = descendants(child.pid);
        for (const p of d) run.procs.set(`${p.pid}:${p.starttime}`, p);
        remember(d);
      } catch {
        /* /proc race */
      }
    };
    snap();
    const poll = setInterval(snap, 100);
    let timer;
    const status = await new Promise((resolve) => {
      timer = setTimeout(() => {
        run.timedOut = true;
        snap();
        killProcs([...run.procs.values()]);
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }, RUN_TIMEOUT);
      child.on("error", (err) => resolve({ code: null, signal: null, error: err }));
      // Status at exit; then the rest of its output, unless something that outlived it holds the pipes.
      child.on("exit", (code, signal) => {
        const done = () => resolve({ code, signal });
        if (child.stdout.readableEnded && child.stderr.readableEnded) return done();
        const bound = setTimeout(done, T(2000));
        child.on("close", () => {
          clearTimeout(bound);
          done();
        });
      });
    });
    clearTimeout(timer);
    clearInterval(poll);
    Object.assign(run, status, { ms: Math.round(performance.now() - t0) });
    if (tapFile) run.tap = readTap(tapFile);
    run.gatewayStderr = gatewayStderr(run.stderr);
    return run;
  } finally {
    await mock.close();
  }
}

/** Assertions shared by the runs in which the model got the tool: the whole round trip. */
function assertRoundTrip(run) {
  assert.deepEqual({ code: run.code, signal: run.signal, timedOut: run.timedOut }, { code: 0, signal: null, timedOut: undefined }, "codex exec exit status");
  const reqs = run.mock.responses();
  assert.equal(reqs.length, 2, "two model requests: the prompt, then the tool's output");

  // First request: the gateway's tools, in one namespace, described by the gateway's instructions.
  const first = reqs[0].body;
  assert.ok(
    first.input.some((i) => i.type === "message" && i.role === "user" && JSON.stringify(i.content).includes(PROMPT)),
    "the first request carries the prompt",
  );
  const ns = first.tools.find((t) => t.type === "namespace" && t.name === NAMESPACE);
  assert.ok(ns, `namespace ${NAMESPACE} in the tools Codex sent: ${first.tools.map((t) => `${t.type}:${t.name ?? ""}`).join(", ")}`);
  assert.equal(typeof ns.description, "string");
  assert.match(ns.description, /^mcpgw gateway: 1 MCP server behind one entry\./, "namespace description is the gateway's instructions");
  assert.match(ns.description, /\n- everything: /, "the instructions have a line for the server");
  const names = ns.tools.map((t) => t.name);
  for (const n of names) assert.match(n, /^everything__[A-Za-z0-9_]+$/, "every tool of the namespace is under the server's prefix");
  for (const n of [TOOL, "everything__get_sum", "everything__get_env"]) assert.ok(names.includes(n), `${n} offered to the model (got ${names.join(" ")})`);
  const echo = ns.tools.find((t) => t.name === TOOL);
  assert.equal(echo.type, "function");
  assert.equal(echo.parameters?.properties?.message?.type, "string", "the echo tool's input schema reached the model");
  assert.ok(findTool(first, NAMESPACE, TOOL));

  // What the mock answered: a call in the namespace.
  const call = reqs[0].output.find((i) => i.type === "function_call");
  assert.ok(call, "the mock called the tool");
  assert.equal(call.namespace, NAMESPACE);

  // Second request: the tool's result.
  const second = reqs[1].body;
  const echoedCall = second.input.find((i) => i.type === "function_call" && i.call_id === call.call_id);
  assert.ok(echoedCall, "the second request repeats the model's call");
  assert.equal(echoedCall.name, TOOL);
  assert.equal(echoedCall.namespace, NAMESPACE);
  const outs = functionCallOutputs(second).filter((o) => o.call_id === call.call_id);
  assert.equal(outs.length, 1, "one function_call_output for the call");
  assert.ok(outs[0].text.includes(ECHOED), `the tool's output reached the model: ${JSON.stringify(outs[0].text)}`);

  // The final message is what `codex exec` prints on stdout.
  assert.ok(run.stdout.includes(`final answer of ${run.name}`), "codex printed the final message");
  assert.ok(run.stdout.includes(ECHOED), "the final message quotes the tool's output");
}

/** mcpgw logged through Codex, in its own format, and no process of the run is left. */
async function assertGatewayLogAndExit(run) {
  assert.ok(run.gatewayStderr.length > 0, "mcpgw's stderr reached Codex's log (RUST_LOG=codex_rmcp_client=info)");
  const bad = run.gatewayStderr.filter((l) => l.trim() && !LOG_LINE.test(l));
  assert.deepEqual(bad.slice(0, 5), [], "every mcpgw stderr line is `mcpgw: LEVEL: [who] message`");
  const procs = [...run.procs.values()];
  assert.ok(procs.length > 0, "the process tree of the run was seen");
  const left = await waitGone(procs, T(5000));
  assert.deepEqual(
    left.map((p) => p.pid),
    [],
    `no process of the run (codex, mcpgw, server-everything) is left 5 s after codex exec exited`,
  );
  const strayLeft = await waitGone(strays(run.dir), T(2000));
  assert.deepEqual(strayLeft.map((p) => p.pid), [], "no process with the run's HOME is left");
}

// ---------------------------------------------------------------------------------------------

describe("Codex CLI end to end", { skip: HAVE_CODEX ? false : "node_modules/@openai/codex is missing (run npm ci)", timeout: T(120000) }, () => {
  let root;
  let mcpgwConfig, mcpgwRequired;
  let warmState;
  let coldRun;

  before(() => {
    root = makeTmp("codex");
    mcpgwConfig = path.join(root, "mcpgw.yaml");
    fs.writeFileSync(mcpgwConfig, toYaml({ servers: { everything: servers.everything() } }));
    // With `required = true` Codex waits for tools/list, so the user lets mcpgw wait too: an
    // explicit startup_wait lifts the 800 ms cap mcpgw applies to Codex by default.
    mcpgwRequired = path.join(root, "mcpgw-required.yaml");
    fs.writeFileSync(mcpgwRequired, toYaml({ gateway: { startup_wait: "30s" }, servers: { everything: servers.everything() } }));
    warmState = path.join(root, "state");
  });

  after(() => {
    killProcs([...started.values()].filter(isAlive));
    if (root) killProcs(strays(root).filter(isAlive));
    rmTmp(root);
  });

  test("cold start, required = true: codex exec calls everything__echo through mcpgw", async () => {
    const run = await runCodex(root, "cold-required", { required: true, tap: false, stateHome: warmState, mcpgwConfig: mcpgwRequired });
    coldRun = run;
    await explain(run, async () => {
      assertRoundTrip(run);
      await assertGatewayLogAndExit(run);
      assert.ok(fs.existsSync(path.join(warmState, "mcpgw", "catalog.json")), "mcpgw wrote its catalogue into XDG_STATE_HOME from the entry's env table");
    });
  });

  test("through the service: codex exec calls everything__echo via mcpgw connect to mcpgw serve", async () => {
    // The service runs on its own (as under systemd); Codex starts only `mcpgw connect`.
    const sock = path.join(root, "svc", "mcpgw.sock");
    const serve = spawn(BIN, ["serve", "-c", mcpgwRequired, "--system-policy", "", "--listen", `unix:${sock}`],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, XDG_STATE_HOME: path.join(root, "state-svc") } });
    let serveErr = "";
    serve.stderr.on("data", (c) => (serveErr += c));
    try {
      const t0 = Date.now();
      while (!/listening on/.test(serveErr) && Date.now() - t0 < T(10000) && serve.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      assert.match(serveErr, /listening on unix:/, serveErr);
      const run = await runCodex(root, "connect", { required: true, tap: false, stateHome: path.join(root, "state-connect"), gwArgs: ["connect", `unix:${sock}`] });
      await explain(run, async () => {
        assertRoundTrip(run);
        // connect is gone with Codex; the service and its server are not.
        const connects = [...run.procs.values()].filter((p) => p.comm === "mcpgw");
        assert.ok(connects.length > 0, "Codex started mcpgw connect");
        assert.deepEqual((await waitGone(connects, T(5000))).map((p) => p.pid), [], "mcpgw connect exits with Codex");
        assert.equal(serve.exitCode, null, "the service keeps running after its client left");
        assert.ok(descendants(serve.pid).length > 0, "the service's server keeps running");
      });
    } finally {
      serve.kill("SIGTERM");
      await new Promise((r) => (serve.exitCode !== null ? r() : serve.on("exit", r)));
    }
  });

  test("warm catalogue, required = false: initialize and tools/list answered at once; the call waits for its server", async (t) => {
    if (!coldRun || coldRun.code !== 0) return t.skip("needs the catalogue of the previous run");
    const run = await runCodex(root, "warm", { required: false, tap: true, stateHome: warmState, mcpgwConfig });
    await explain(run, async () => {
      assertRoundTrip(run);
      const tap = run.tap;

      // What Codex sent.
      const init = exchange(tap, "initialize");
      assert.ok(init.req, "Codex sent initialize");
      assert.equal(init.req.msg.params.clientInfo.name, "codex-mcp-client");
      assert.ok(init.res?.msg.result, `mcpgw answered initialize: ${JSON.stringify(init.res?.msg)}`);
      assert.ok(init.ms < T(1000), `initialize answered in ${init.ms} ms`);
      assert.ok(tap.some((e) => e.dir === "in" && e.msg?.method === "notifications/initialized"), "Codex sent notifications/initialized");
      const list = exchange(tap, "tools/list");
      assert.ok(list.res?.msg.result, "mcpgw answered tools/list");
      assert.ok(list.ms < T(1000), `tools/list answered from the catalogue in ${list.ms} ms`);

      // What the model saw is what the gateway said.
      const ns = run.mock.responses()[0].body.tools.find((x) => x.name === NAMESPACE);
      assert.equal(ns.description, init.res.msg.result.instructions, "namespace description == the gateway's instructions, verbatim");
      assert.deepEqual(
        ns.tools.map((x) => x.name).sort(),
        list.res.msg.result.tools.map((x) => x.name).sort(),
        "the namespace holds exactly the tools mcpgw listed",
      );
      assert.match(ns.description, /- everything: .*\(\d+ tools, named everything__\*\)/, "after a run the instructions say what the server offers");

      // The call.
      const call = exchange(tap, "tools/call");
      assert.ok(call.req, "Codex sent tools/call");
      assert.equal(call.req.msg.params.name, TOOL);
      assert.deepEqual(call.req.msg.params.arguments, { message: MESSAGE });
      assert.ok(call.res?.msg.result, `tools/call answered: ${JSON.stringify(call.res?.msg)}`);
      assert.notEqual(call.res.msg.result.isError, true);
      assert.ok(JSON.stringify(call.res.msg.result.content).includes(ECHOED));

      // stdout of mcpgw carried only JSON-RPC.
      assert.deepEqual(tap.filter((e) => e.dir === "out" && !e.msg).map((e) => e.raw), [], "mcpgw's stdout is JSON-RPC only");
      await assertGatewayLogAndExit(run);

      t.diagnostic(`initialize ${init.ms} ms, tools/list ${list.ms} ms (catalogue), tools/call ${call.ms} ms (waits for server-everything), codex exec ${run.ms} ms`);
      t.diagnostic(`instructions (namespace description): ${JSON.stringify(init.res.msg.result.instructions)}`);
      t.diagnostic(`tools/call _meta keys: ${Object.keys(call.req.msg.params._meta || {}).join(", ")}`);
      t.diagnostic(`shutdown as seen by the tap: ${tap.filter((e) => e.event).map((e) => `${e.event}@${e.t}ms`).join(", ")}`);
    });
  });

  test("cold start, required = false: initialize answered at once; Codex waits about 1 s for tools/list", async (t) => {
    const run = await runCodex(root, "cold-optional", { required: false, tap: true, stateHome: path.join(root, "state-cold"), mcpgwConfig });
    await explain(run, async () => {
      assert.deepEqual({ code: run.code, signal: run.signal, timedOut: run.timedOut }, { code: 0, signal: null, timedOut: undefined }, "codex exec exit status");
      const init = exchange(run.tap, "initialize");
      assert.ok(init.res?.msg.result, "mcpgw answered initialize");
      assert.ok(init.ms < T(1000), `initialize answered in ${init.ms} ms`);
      const list = exchange(run.tap, "tools/list");
      assert.ok(list.req, "Codex sent tools/list");

      const reqs = run.mock.responses();
      assert.ok(reqs.length >= 1);
      const firstAt = reqs[0].at;
      const offered = Boolean(findTool(reqs[0].body, NAMESPACE, TOOL));
      const answeredAt = list.res ? list.res.at : null;
      if (offered) {
        // The tools can only be there when tools/list was answered before the turn began.
        assert.ok(answeredAt !== null && answeredAt <= firstAt, "tools offered only after tools/list was answered");
        assertRoundTrip(run);
      } else {
        // The turn began without the gateway's tools (tools/list was not answered within Codex's
        // wait): the model was not offered the tool, and Codex ignores list_changed by default.
        assert.equal(reqs.length, 1, "no tool call without the tool");
      }
      await assertGatewayLogAndExit(run);
      t.diagnostic(
        `tools/list sent ${list.req.at - init.req.at} ms after initialize; ` +
          (answeredAt === null ? "never answered before shutdown" : `answered ${answeredAt - list.req.at} ms later`) +
          `; first model request ${firstAt - list.req.at} ms after tools/list; gateway tools ${offered ? "were" : "were NOT"} in it`,
      );
    });
  });
  // Issue 12: Codex's modern client (`[features] mcp_2026_07_28` and CODEX_MCP_PROTOCOL_VERSION in
  // the entry's env) probes with server/discover and then speaks the stateless revision.
  test("modern client (2026-07-28): server/discover answered, _meta on every request, the call goes through", async (t) => {
    const run = await runCodex(root, "modern", { required: true, tap: true, modern: true, stateHome: path.join(root, "state-modern"), mcpgwConfig: mcpgwRequired });
    await explain(run, async () => {
      assertRoundTrip(run);
      const tap = run.tap;
      const d = exchange(tap, "server/discover");
      assert.ok(d.req, "Codex sent server/discover");
      assert.ok(d.res?.msg.result, `mcpgw answered server/discover: ${JSON.stringify(d.res?.msg)}`);
      assert.ok(d.res.msg.result.supportedVersions.includes("2026-07-28"));
      assert.equal(exchange(tap, "initialize").req, undefined, "no initialize: Codex stayed modern");
      const reqs = tap.filter((e) => e.dir === "in" && e.msg?.method && "id" in e.msg);
      assert.ok(reqs.some((e) => e.msg.method === "tools/call"), "Codex called the tool");
      for (const e of reqs) {
        const meta = e.msg.params?._meta ?? {};
        assert.equal(meta["io.modelcontextprotocol/protocolVersion"], "2026-07-28", `${e.msg.method} carries the version in _meta`);
        assert.equal(typeof meta["io.modelcontextprotocol/clientCapabilities"], "object", `${e.msg.method} carries its capabilities in _meta`);
      }
      for (const m of ["tools/list", "tools/call"]) {
        const x = exchange(tap, m);
        assert.equal(x.res?.msg.result?.resultType, "complete", `${m} answered as 2026-07-28`);
        assert.equal(x.res.msg.result._meta?.["io.modelcontextprotocol/serverInfo"]?.name, "mcpgw");
      }
      assert.ok(run.gatewayStderr.some((l) => /2026-07-28 requests without initialize/.test(l)), "mcpgw logged the modern client");
      await assertGatewayLogAndExit(run);
      t.diagnostic(`Codex's requests: ${reqs.map((e) => e.msg.method).join(", ")}`);
    });
  });

  test("modern client, gateway.protocol: legacy: Codex falls back to initialize and still gets its tools", async (t) => {
    const cfg = path.join(root, "mcpgw-legacy.yaml");
    fs.writeFileSync(cfg, toYaml({ gateway: { startup_wait: "30s", protocol: "legacy" }, servers: { everything: servers.everything() } }));
    const run = await runCodex(root, "modern-fallback", { required: true, tap: true, modern: true, stateHome: path.join(root, "state-fallback"), mcpgwConfig: cfg });
    await explain(run, async () => {
      assertRoundTrip(run);
      const d = exchange(run.tap, "server/discover");
      assert.ok(d.req, "Codex probed with server/discover");
      assert.equal(d.res?.msg.error?.code, -32601, `server/discover refused as an unknown method: ${JSON.stringify(d.res?.msg)}`);
      const init = exchange(run.tap, "initialize");
      assert.ok(init.req, "Codex fell back to initialize");
      assert.ok(init.res?.msg.result, `initialize answered: ${JSON.stringify(init.res?.msg)}`);
      assert.ok(init.req.at > d.res.at, "initialize after the refused probe");
      const list = exchange(run.tap, "tools/list");
      assert.equal(list.res?.msg.result?.resultType, undefined, "answered as a legacy server");
      await assertGatewayLogAndExit(run);
      t.diagnostic(`initialize asked for ${init.req.msg.params.protocolVersion}`);
    });
  });

  test(
    // Regression test: Codex SIGTERMs mcpgw's group and SIGKILLs mcpgw ~20 ms later; mcpgw's child
    // died by PDEATHSIG but a grandchild in the child's process group survived, until mcpgw passed
    // SIGTERM on to every server's group at once.
    "Codex's shutdown leaves no grandchild of an upstream behind",
    {},
    async (t) => {
      // A server that ignores stdin EOF and SIGTERM (so that it is still there when mcpgw is
      // killed) and starts `sleep 1000` as its own child.
      const cfg = path.join(root, "mcpgw-grandchild.yaml");
      fs.writeFileSync(cfg, toYaml({ gateway: { startup_wait: "30s" }, servers: { faulty: servers.faulty(["--stubborn"]) } }));
      const run = await runCodex(root, "grandchild", {
        required: true,
        tap: false,
        stateHome: path.join(root, "state-grandchild"),
        mcpgwConfig: cfg,
        tool: "faulty__spawn_grandchild",
        args: {},
      });
      let gc;
      await explain(run, async () => {
        assert.deepEqual({ code: run.code, signal: run.signal, timedOut: run.timedOut }, { code: 0, signal: null, timedOut: undefined }, "codex exec exit status");
        const reqs = run.mock.responses();
        assert.equal(reqs.length, 2, "the tool was called");
        const out = functionCallOutputs(reqs[1].body)[0]?.text ?? "";
        const m = /(\d+)\s*$/.exec(out);
        assert.ok(m, `the tool returned the grandchild's pid: ${JSON.stringify(out)}`);
        // Not through the polled tree: the grandchild may live too briefly under codex for that.
        const pid = Number(m[1]);
        const st = procStat(pid);
        let cmd = "";
        try {
          cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
        } catch {
          /* gone */
        }
        gc = st && /(^|\/)sleep 1000$/.test(cmd) ? st : { pid, starttime: "gone" };
        if (st && gc === st) remember([st]);
      });
      // The known bug: no failure dump, just the fact.
      const left = await waitGone([gc], T(3000));
      t.diagnostic(left.length ? `grandchild ${gc.pid} still alive ${T(3000)} ms after codex exec exited (parent now ${procStat(gc.pid)?.ppid})` : `grandchild ${gc.pid} gone`);
      killProcs(left);
      assert.deepEqual(left.map((p) => p.pid), [], "the upstream's grandchild is gone after Codex stopped mcpgw");
    },
  );
});
