// A short tour of the gateway's main paths, small enough to run under valgrind
// (MCPGW_VALGRIND=1 sh tests/run-integration.sh): the exit status of the gateway after stdin EOF
// carries valgrind's verdict (--error-exitcode), so a leak or memory error fails the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  T,
  makeTmp,
  openSession,
  outFile,
  readJsonLines,
  rejectsCode,
  rmTmp,
  servers,
  waitUntil,
} from "./lib/harness.mjs";

test("smoke: list, call, progress, errors, timeout, crash and restart, clean exit", { timeout: T(120000) }, async () => {
  const dir = makeTmp("smoke");
  const cancelFile = outFile(dir, "cancel.jsonl");
  const s = await openSession({
    dir,
    servers: {
      everything: servers.everything({ tools: { deny: ["get-env"] } }),
      f: servers.faulty(["--name", "f", "--cancel-file", cancelFile, "--resource", "test://f/one"], { timeout: "2s" }),
    },
    gateway: { startup_wait: "20s" },
  }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    const tools = await s.tools();
    assert.ok(tools.has("everything__echo") && tools.has("f__echo") && !tools.has("everything__get_env"));
    assert.equal(await s.callText("everything__echo", { message: "vg" }), "Echo: vg");
    assert.equal(await s.callText("f__echo", { text: "vg" }), "f:vg");
    const prog = [];
    await s.call("f__sleep", { ms: 200, steps: 2 }, { onprogress: (p) => prog.push(p.progress) });
    assert.deepEqual(prog, [1, 2]);
    assert.ok((await s.client.listResources()).resources.some((r) => r.uri === "test://f/one"));
    assert.equal((await s.client.readResource({ uri: "test://f/one" })).contents[0].text, "f:test://f/one");
    assert.ok((await s.client.listPrompts()).prompts.some((p) => p.name === "everything__simple_prompt"));
    await rejectsCode(s.call("everything__get_env"), -32602, /Unknown tool/);

    const from = s.gw.messages.length;
    s.gw.sendRaw("garbage line\n");
    const perr = await s.gw.waitFor((m) => m.error && m.id === null, T(3000), "parse error", from);
    assert.equal(perr.error.code, -32700);

    await rejectsCode(s.call("f__hang", { tag: "vg" }), -32001, null, "timeout");
    await waitUntil(() => readJsonLines(cancelFile).some((e) => e.tag === "vg"), T(3000), "cancellation");

    const pid = Number(await s.callText("f__pid"));
    await rejectsCode(s.call("f__crash", { delay_ms: 50 }), -32000, /\bf\b/, "crash");
    await waitUntil(
      async () => {
        try {
          return Number(await s.callText("f__pid", {}, { timeout: T(2000) })) !== pid;
        } catch {
          return false;
        }
      },
      T(10000),
      "restart",
      100,
    );
    assert.deepEqual(await s.client.ping(), {});
    await s.shutdown(T(5000));
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});
