// Issue 9 point 3: the embedding API. The example host of docs/examples/ (built against
// libmcpgw.so, so only the exported API is there) embeds a gateway from a YAML string, lists the
// tools of a real server and calls one; test_embed runs two gateways side by side in one process
// and checks that nothing (descriptor, server process) is left after mcpgw_free. Under
// MCPGW_VALGRIND=1 both run under valgrind: a leak or a memory error fails the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, NODE, REPO, T, WRAPPER, fixture } from "./lib/harness.mjs";

const BUILD = path.dirname(BIN);
const EXAMPLE = path.join(BUILD, "examples/embed_host");
const UNIT = path.join(BUILD, "tests/test_embed");

function run(cmd, args, ms) {
  return new Promise((resolve, reject) => {
    const argv = [...WRAPPER, cmd, ...args];
    const p = spawn(argv[0], argv.slice(1), { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => { p.kill("SIGKILL"); reject(new Error(`${cmd} did not finish in ${ms} ms\n${err}`)); }, ms);
    p.on("close", (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err }); });
  });
}

test("the example host embeds a gateway from YAML, lists tools, calls one, frees everything", { timeout: T(120000) }, async (t) => {
  if (!fs.existsSync(EXAMPLE)) return t.skip(`${EXAMPLE} not built`);
  const r = await run(EXAMPLE, ["demo__echo", '{"text":"hello"}', NODE, fixture("faulty.mjs")], T(60000));
  assert.equal(r.code, 0, `exit status\n${r.out}\n${r.err}`);
  assert.match(r.out, /^tool: demo__echo$/m);
  assert.match(r.out, /^result: \{"content":\[\{"type":"text","text":"faulty:hello"\}\]\}$/m);
  assert.match(r.out, /^server: demo stopped$/m, "drained: the server was stopped");
  // The log callback got the gateway's messages, with the server's name.
  assert.match(r.err, /embed_host: info: \[demo\] ready in/);
});

test("the example host reports a tool error and exits 1", { timeout: T(120000) }, async (t) => {
  if (!fs.existsSync(EXAMPLE)) return t.skip(`${EXAMPLE} not built`);
  const r = await run(EXAMPLE, ["demo__nosuch", "{}", NODE, fixture("faulty.mjs")], T(60000));
  assert.equal(r.code, 1, `exit status\n${r.out}\n${r.err}`);
  assert.match(r.out, /^error: \{"code":-32602,"message":"Unknown tool: demo__nosuch"\}$/m);
});

test("two gateways side by side in one process; no descriptor or server left after free", { timeout: T(180000) }, async (t) => {
  if (!fs.existsSync(UNIT)) return t.skip(`${UNIT} not built (make unit)`);
  const r = await run(UNIT, [], T(120000));
  assert.equal(r.code, 0, `test_embed\n${r.out}\n${r.err}`);
  assert.match(r.out + r.err, /\[  PASSED  \] 3 test\(s\)/);
});
