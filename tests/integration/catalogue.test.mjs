// The catalogue is on disk as soon as every server is up: a client such as Codex SIGKILLs the
// gateway about 20 ms after SIGTERM, so a write left for later would never happen (regression:
// a one-second debounce of the write lost the catalogue in the Codex end-to-end test).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { openSession, servers, T } from "./lib/harness.mjs";

test("catalogue: written once every server is up, before any shutdown", { timeout: T(30000) }, async () => {
  const s = await openSession({ tag: "catalogue", servers: { a: servers.faulty(["--name", "a"]), b: servers.faulty(["--name", "b"]) } });
  try {
    const names = [...(await s.tools()).keys()];
    assert.ok(names.includes("a__echo") && names.includes("b__echo"), names.join(" "));
    const file = path.join(s.gw.stateHome, "mcpgw", "catalog.json");
    // The first list is answered once every server is up, and by then the catalogue is on disk
    // (no waiting here: a write put off by even a second would fail). Then no shutdown at all.
    assert.ok(fs.existsSync(file), "catalog.json written by the time the first complete list is answered");
    s.gw.proc.kill("SIGKILL");
    const cat = JSON.parse(fs.readFileSync(file, "utf8"));
    assert.equal(cat.version, 1);
    for (const server of ["a", "b"]) {
      const tools = cat.servers[server]?.tools?.map((t) => t.name) ?? [];
      assert.ok(tools.includes("echo"), `${server}'s tools are in the catalogue: ${tools.join(" ")}`);
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  } finally {
    s.destroy();
  }
});
