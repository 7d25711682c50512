// Issue 14 item 2: the initialize instructions (what Codex shows the model about the whole gateway)
// call a server "(starting)" only while none of its tools is known. With a warm catalogue a slow
// server's tools are listed at once, so the model must not be told that it is still starting,
// also when the catalogue has no words about the server (one that says nothing about itself).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, rmTmp, runGateway, servers, toYaml } from "./lib/harness.mjs";

const SLOW_MS = 5000;

function slowLine(instr) {
  const l = instr.split("\n").find((x) => x.startsWith("- slow:"));
  assert.ok(l, `a line for the slow server in:\n${instr}`);
  return l;
}

test("instructions: a slow server is '(starting)' only while none of its tools is known", { timeout: T(90000) }, async () => {
  const dir = makeTmp("instr");
  const cfg = {
    dir,
    servers: {
      slow: servers.faulty(["--name", "slow", "--delay-ms", String(SLOW_MS)], { startup_timeout: "30s" }),
      quick: servers.faulty(["--name", "quick"]),
    },
  };
  let s;
  try {
    // cold: nothing known about the slow server yet
    s = await openSession(cfg);
    assert.equal(slowLine(s.client.getInstructions() ?? ""), "- slow: (starting) (tools named slow__*)");
    s.destroy({ keepDir: true });

    // warm the catalogue the way the docs say: `mcpgw tools` once
    const config = path.join(dir, "config.yaml");
    const r = await runGateway(["tools", "-c", config, "--system-policy", ""], { dir, timeout: T(60000) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^slow__echo\b/m);
    const catFile = path.join(dir, "state", "mcpgw", "catalog.json");

    // warm: the slow server is described from the catalogue while it starts
    s = await openSession(cfg);
    let line = slowLine(s.client.getInstructions() ?? "");
    assert.doesNotMatch(line, /starting/, line);
    assert.match(line, /^- slow: Fixture server slow for mcpgw fault tests\. \(\d+ tools, named slow__\*\)$/);
    s.destroy({ keepDir: true });

    // warm, but the catalogue has no words about the server (it gave no title, instructions or
    // name): its tools are still known, so it is not "starting" either
    const cat = JSON.parse(fs.readFileSync(catFile, "utf8"));
    assert.ok(cat.servers.slow.instructions, "the catalogue kept the server's summary");
    delete cat.servers.slow.instructions;
    fs.writeFileSync(catFile, JSON.stringify(cat), { mode: 0o600 });
    s = await openSession(cfg);
    line = slowLine(s.client.getInstructions() ?? "");
    assert.match(line, /^- slow: \(\d+ tools, named slow__\*\)$/, `a server with known tools is not '(starting)': ${line}`);
    const tools = (await s.client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes("slow__echo"), "and its tools are listed at once");
  } finally {
    s?.destroy();
    rmTmp(dir);
  }
});
