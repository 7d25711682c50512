// Issue 14 items 1 and 2, end to end with the real Codex CLI (offline, against the mock Responses
// API of tests/fixtures/mock-responses.mjs): a Codex user's config.toml with a slow server is
// imported with `mcpgw import codex --write`, and the gw entry that the import prints (required =
// true, startup_timeout_sec above mcpgw's startup_wait) gets the slow server's tools to the model on
// a cold start; after `mcpgw tools` the plain entry does too (warm catalogue). The same entry with a startup_timeout_sec below the server's start-up shows why the
// recipe needs it: Codex gives up on the required entry. (The command is build/mcpgw with -c, as
// mcpgw is not on this machine's PATH; the rest of the entry is the printed one.)
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import YAML from "yaml";
import { BIN, NODE, REPO, T, WRAPPER, descendants, fixture, killProcs, makeTmp, rmTmp, runGateway, waitGone } from "./lib/harness.mjs";
import { callToolThenAnswer, functionCallOutputs, startMockResponses } from "../fixtures/mock-responses.mjs";

const CODEX = path.join(REPO, "node_modules/.bin/codex");
const HAVE_CODEX = fs.existsSync(path.join(REPO, "node_modules/@openai/codex")) && fs.existsSync(CODEX);
const KEY_VAR = "MCPGW_E2E_MOCK_KEY";
const SLOW_MS = 6000;
const tomlStr = (s) => JSON.stringify(s);
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** The gw entry lines the import printed (TOML), without the [mcp_servers.gw] and command lines. */
function entryKeys(stdout) {
  const lines = stdout.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  assert.equal(lines[0], "[mcp_servers.gw]");
  assert.equal(lines[1], 'command = "mcpgw"');
  return lines.slice(2);
}

async function runCodex(dir, name, entry, mcpgwConfig, stateHome) {
  const home = path.join(dir, name, "codex-home");
  const work = path.join(dir, name, "work");
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const mock = await startMockResponses({
    decide: callToolThenAnswer({ namespace: "mcp__gw", tool: "slow__echo", args: { text: "hi" }, finalText: `final answer of ${name}` }),
  });
  const gw = [...WRAPPER, BIN, "run", "-c", mcpgwConfig, "--system-policy", ""];
  fs.writeFileSync(
    path.join(home, "config.toml"),
    `model = "mock-model"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[features]
plugins = false
apps = false
remote_plugin = false

[analytics]
enabled = false

[model_providers.mock]
name = "mock"
base_url = ${tomlStr(mock.baseUrl)}
wire_api = "responses"
env_key = "${KEY_VAR}"
request_max_retries = 0
stream_max_retries = 0

[mcp_servers.gw]
command = ${tomlStr(gw[0])}
args = [${gw.slice(1).map(tomlStr).join(", ")}]
default_tools_approval_mode = "approve"
${entry.join("\n")}

[mcp_servers.gw.env]
XDG_STATE_HOME = ${tomlStr(stateHome)}
`,
  );
  const env = {
    PATH: process.env.PATH,
    HOME: path.join(dir, name),
    LANG: process.env.LANG || "C.UTF-8",
    TMPDIR: os.tmpdir(),
    TERM: "dumb",
    NO_COLOR: "1",
    CODEX_HOME: home,
    [KEY_VAR]: "mock-key",
    RUST_LOG: "warn,codex_rmcp_client=info",
  };
  const run = { name, stdout: "", stderr: "", procs: new Map(), mock };
  const child = spawn(CODEX, ["exec", "--strict-config", "--skip-git-repo-check", "say hi through the slow server"], { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (c) => (run.stdout += c));
  child.stderr.on("data", (c) => (run.stderr += c));
  const snap = () => {
    try {
      for (const p of descendants(child.pid)) run.procs.set(`${p.pid}:${p.starttime}`, p);
    } catch {
      /* /proc race */
    }
  };
  const poll = setInterval(snap, 100);
  let timer;
  const status = await new Promise((resolve) => {
    timer = setTimeout(() => {
      run.timedOut = true;
      killProcs([...run.procs.values()]);
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }, T(90000));
    child.on("error", (err) => resolve({ code: null, error: err }));
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  clearInterval(poll);
  await mock.close();
  Object.assign(run, status);
  run.explain = () =>
    `--- codex exit ${JSON.stringify(status)}\n--- stdout:\n${run.stdout.slice(-3000)}\n--- stderr:\n${stripAnsi(run.stderr).slice(-6000)}`;
  return run;
}

test("codex recipe: the imported entry brings a slow server's tools on a cold start, the plain entry with a warm catalogue too; a short startup_timeout_sec does not", { skip: !HAVE_CODEX && "@openai/codex not installed", timeout: T(300000) }, async () => {
  const dir = makeTmp("codex-recipe");
  const runs = [];
  try {
    // a user's Codex file: one slow local server with a long start-up timeout
    const src = path.join(dir, "user-config.toml");
    fs.writeFileSync(
      src,
      `[mcp_servers.slow]\ncommand = ${tomlStr(NODE)}\nargs = [${[fixture("faulty.mjs"), "--name", "slow", "--delay-ms", String(SLOW_MS)].map(tomlStr).join(", ")}]\nstartup_timeout_sec = 40\n`,
    );
    const config = path.join(dir, "mcpgw.yaml");
    const imp = await runGateway(["import", "codex", src, "--write", "-c", config], { dir, env: { HOME: dir } });
    assert.equal(imp.code, 0, imp.stderr);
    const doc = YAML.parse(fs.readFileSync(config, "utf8"));
    assert.equal(doc.gateway.startup_wait, "40s");
    const entry = entryKeys(imp.stdout);
    assert.deepEqual(entry, ["required = true", "startup_timeout_sec = 55"], "the printed cold-start entry");

    // 1. cold start (empty state directory) with the printed entry: Codex waits, mcpgw waits for
    // the slow server, the model gets its tools and the call goes through
    let run = await runCodex(dir, "cold", entry, config, path.join(dir, "state-cold"));
    runs.push(run);
    try {
      assert.equal(run.code, 0, "codex exec succeeded");
      const reqs = run.mock.responses();
      assert.equal(reqs.length, 2, "two model requests: the prompt, then the tool's output");
      const ns = reqs[0].body.tools.find((t) => t.type === "namespace" && t.name === "mcp__gw");
      assert.ok(ns, "the gw namespace reached the model");
      assert.ok(ns.tools.some((t) => t.name === "slow__echo"), `the slow server's tools reached the model on a cold start: ${ns.tools.map((t) => t.name).join(" ")}`);
      const outs = functionCallOutputs(reqs[1].body);
      assert.ok(outs.some((o) => o.text.includes("slow:hi")), `the call reached the slow server: ${JSON.stringify(outs)}`);
    } catch (e) {
      e.message += `\n${run.explain()}`;
      throw e;
    }

    // 2. a slow server with a warm catalogue: `mcpgw tools` once, then the plain entry (no
    // required, no timeout) lists the slow server's tools at once; the call waits for the server
    const warm = await runGateway(["tools", "-c", config, "--system-policy", ""], { dir, timeout: T(60000) });
    assert.equal(warm.code, 0, warm.stderr);
    run = await runCodex(dir, "warm", [], config, path.join(dir, "state"));
    runs.push(run);
    try {
      assert.equal(run.code, 0, "codex exec succeeded");
      const reqs = run.mock.responses();
      const ns = reqs[0]?.body.tools.find((t) => t.type === "namespace" && t.name === "mcp__gw");
      assert.ok(ns?.tools.some((t) => t.name === "slow__echo"), "the catalogue brought the slow server's tools to the first model request");
      assert.doesNotMatch(ns.description, /- slow: \(starting\)/, "the instructions do not call a catalogued server starting");
      assert.ok(functionCallOutputs(reqs[1].body).some((o) => o.text.includes("slow:hi")), "the call waited for the slow server");
    } catch (e) {
      e.message += `\n${run.explain()}`;
      throw e;
    }

    // 3. why startup_timeout_sec matters: the same entry with a limit below the server's start-up;
    // Codex gives up on the required entry, and no model request ever sees the slow server
    const short = entry.map((l) => (l.startsWith("startup_timeout_sec") ? "startup_timeout_sec = 2" : l));
    run = await runCodex(dir, "short", short, config, path.join(dir, "state-short"));
    runs.push(run);
    try {
      assert.notEqual(run.code, 0, "codex exec fails when the required entry misses its start-up timeout");
      assert.match(stripAnsi(run.stderr), /required MCP servers failed to initialize: gw: timed out awaiting tools\/list after 2s/, "Codex says why");
      const seen = run.mock.responses().some((r) => JSON.stringify(r.body.tools ?? []).includes("slow__echo"));
      assert.ok(!seen, "the model never saw the slow server's tools");
    } catch (e) {
      e.message += `\n${run.explain()}`;
      throw e;
    }
  } finally {
    for (const r of runs) killProcs([...r.procs.values()]);
    await waitGone(runs.flatMap((r) => [...r.procs.values()]), T(5000));
    rmTmp(dir);
  }
});
