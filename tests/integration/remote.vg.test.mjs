// A short tour of the remote transports, small enough to run under valgrind
// (MCPGW_VALGRIND=1 sh tests/run-integration.sh): the gateway's exit status after stdin EOF carries
// valgrind's verdict, so a leak or a memory error fails the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, rmTmp, waitUntil } from "./lib/harness.mjs";
import { startServer, stopAll, writeSecret } from "./lib/remote.mjs";

test("remote smoke: auto finds both transports, bearer and exec credentials, a restart, a dead server, clean exit", { timeout: T(120000) }, async () => {
  const dir = makeTmp("remote-vg");
  const tok = path.join(dir, "token");
  writeSecret(tok, "vg-token-0123456789abcdef");
  const helper = path.join(dir, "helper");
  fs.writeFileSync(helper, `#!/bin/sh\nprintf '{"access_token": "%s", "expires_in": 600}\\n' "$(cat ${tok})"\n`, { mode: 0o755 });
  const modern = await startServer(["--name", "m", "--token-file", tok]);
  const legacy = await startServer(["--transport", "sse", "--name", "l"]);
  const resum = await startServer(["--name", "r", "--resumable"]);
  const dead = await startServer(["--name", "d"]);
  const deadUrl = dead.url;
  await dead.stop();
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        m: { url: modern.url, auth: { plugin: "bearer", token_file: tok } },
        x: { url: modern.url, auth: { plugin: "exec", command: [helper] } },
        l: { url: legacy.url },
        r: { url: resum.url },
        d: { url: deadUrl, startup_timeout: "2s" },
      },
      gateway: { startup_wait: "30s" },
    });
    assert.equal(await s.callText("m__echo", { text: "1" }), "m:1");
    assert.equal(await s.callText("x__echo", { text: "2" }), "m:2");
    assert.equal(await s.callText("l__chatty", { text: "3" }), "l:chatty:3");
    assert.equal(await s.callText("r__drop_stream", { text: "4" }), "r:resumed:4");
    await modern.restart();
    await legacy.restart();
    assert.equal(await s.callText("m__echo", { text: "5" }), "m:5");
    assert.equal(await s.callText("l__echo", { text: "6" }), "l:6");
    await waitUntil(() => /\[d\].*cannot connect/.test(s.gw.stderr), T(10000), "d's error");
    await s.shutdown(T(10000));
  } finally {
    s?.destroy();
    await stopAll([modern, legacy, resum]);
    rmTmp(dir);
  }
});
