// Issue 14 item 5: a static credential (bearer from token_file or token_env, the headers plugin,
// an exec helper's token) that the server refuses with 401 is sent again only when it changed
// since, and only once; otherwise the server is failed at once (no restarts) with one message
// that names the server and what to check, never the token.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, rmTmp, runGateway, toYaml } from "./lib/harness.mjs";
import { records, startServer, stopAll, writeSecret } from "./lib/remote.mjs";

const GOOD = "tok-good-5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5b";
const BAD = {
  f: "tok-bad-file-1111111111111111111111",
  e: "tok-bad-env-22222222222222222222222",
  x: "tok-bad-exec-3333333333333333333333",
  h: "tok-bad-hdrs-4444444444444444444444",
  l: "tok-bad-legacy-55555555555555555555",
};

/** The requests the fixture got that carried `Bearer token`. */
const sentWith = (file, token) => records(file).filter((r) => r.headers.authorization === `Bearer ${token}`);

test("a refused static credential that did not change: one request, failed at once, one message naming what to check", { timeout: T(60000) }, async () => {
  const dir = makeTmp("refused");
  const serverTok = path.join(dir, "server-token");
  const gwTok = path.join(dir, "gw-token");
  const rec = path.join(dir, "requests.jsonl");
  writeSecret(serverTok, GOOD + "\n");
  writeSecret(gwTok, BAD.f + "\n");
  const helper = path.join(dir, "cred-helper");
  fs.writeFileSync(helper, `#!/bin/sh\nprintf '{"access_token": "%s"}\\n' "${BAD.x}"\n`, { mode: 0o755 });
  const srv = await startServer(["--name", "r", "--token-file", serverTok, "--record", rec]);
  const legacy = await startServer(["--transport", "sse", "--name", "l", "--token-file", serverTok, "--record", rec]);
  try {
    // startup_timeout bounds how long doctor waits: a server still restarting by then is not failed
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(
      config,
      toYaml({
        servers: {
          f: { url: srv.url, startup_timeout: "10s", auth: { plugin: "bearer", token_file: gwTok } },
          e: { url: srv.url, startup_timeout: "10s", auth: { plugin: "bearer", token_env: "MCPGW_TEST_BAD_TOKEN" } },
          x: { url: srv.url, startup_timeout: "10s", auth: { plugin: "exec", command: [helper] } },
          h: { url: srv.url, startup_timeout: "10s", auth: { plugin: "headers", headers: { Authorization: `Bearer ${BAD.h}` } } },
          l: { url: legacy.url, transport: "sse", startup_timeout: "10s", auth: { plugin: "headers", headers: { Authorization: `Bearer ${BAD.l}` } } },
        },
      }),
    );
    const r = await runGateway(["doctor", "-c", config, "--system-policy", ""], { dir, env: { MCPGW_TEST_BAD_TOKEN: BAD.e }, timeout: T(30000) });
    const out = r.stdout + r.stderr;
    for (const [name, token] of Object.entries(BAD)) {
      assert.equal(sentWith(rec, token).length, 1, `${name}: requests the server got with the refused token`);
      const section = r.stdout.split(/^(?=\S)/m).find((b) => b.startsWith(`${name}:`)) ?? "";
      assert.match(section, /state:\s+failed/, `${name} is failed at once:\n${r.stdout}`);
      assert.match(section, /last error: .*refused its credentials \(HTTP 401.*\) and they have not changed since; not retried/, `${name}'s last error`);
      const logged = r.stderr.split("\n").filter((l) => l.includes(`[${name}]`) && l.includes("refused its credentials"));
      assert.equal(logged.length, 1, `${name}: the refusal is logged once:\n${r.stderr}`);
      assert.ok(!out.includes(token), `${name}: the token never appears`);
    }
    const error = (name) => r.stdout.split(/^(?=\S)/m).find((b) => b.startsWith(`${name}:`));
    assert.match(error("f"), new RegExp(`check the token in ${gwTok.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.match(error("e"), /check environment variable MCPGW_TEST_BAD_TOKEN/);
    assert.match(error("x"), /check what credential helper .*cred-helper prints/);
    assert.match(error("h"), /check the values under its auth: headers:/);
    assert.ok(!r.stderr.includes("restarting in"), `no restart:\n${r.stderr}`);
    assert.equal(r.code, 2, "doctor reports the failed servers");
  } finally {
    await stopAll([srv, legacy]);
    rmTmp(dir);
  }
});

test("a refused token whose file was rewritten before the retry: sent once more, and the call succeeds", { timeout: T(60000) }, async () => {
  const dir = makeTmp("refused-rotated");
  const serverTok = path.join(dir, "server-token");
  const gwTok = path.join(dir, "gw-token");
  const rec = path.join(dir, "requests.jsonl");
  writeSecret(serverTok, GOOD + "\n");
  writeSecret(gwTok, BAD.f + "\n");
  // the fixture writes the right token into the gateway's token file just before its 401
  const srv = await startServer(["--name", "f", "--token-file", serverTok, "--rotate-into", gwTok, "--record", rec]);
  let s;
  try {
    s = await openSession({ dir, servers: { f: { url: srv.url, auth: { plugin: "bearer", token_file: gwTok } } } });
    assert.equal(await s.callText("f__echo", { text: "1" }), "f:1");
    assert.equal(sentWith(rec, BAD.f).length, 1, "one request with the refused token");
    assert.ok(sentWith(rec, GOOD).length >= 2, "initialize (the retry) and the call went with the new token");
    assert.ok(!/refused its credentials/.test(s.gw.stderr), `no failure:\n${s.gw.stderr}`);
    assert.ok(!s.gw.stderr.includes(GOOD) && !s.gw.stderr.includes(BAD.f), "no token in the log");
    await s.shutdown();
  } finally {
    s?.destroy();
    await stopAll([srv]);
    rmTmp(dir);
  }
});

test("a token refused while the server is up: that call fails at once naming what to check, the server stays up, the next call after a fix succeeds", { timeout: T(60000) }, async () => {
  const dir = makeTmp("refused-up");
  const serverTok = path.join(dir, "server-token");
  const gwTok = path.join(dir, "gw-token");
  const helperTok = path.join(dir, "helper-token");
  const rec = path.join(dir, "requests.jsonl");
  const NEW = "tok-new-77777777777777777777777777";
  writeSecret(serverTok, GOOD + "\n");
  writeSecret(gwTok, GOOD + "\n");
  writeSecret(helperTok, GOOD + "\n");
  const helper = path.join(dir, "cred-helper");
  fs.writeFileSync(helper, `#!/bin/sh\nprintf '{"access_token": "%s"}\\n' "$(cat ${helperTok})"\n`, { mode: 0o755 });
  const srv = await startServer(["--name", "r", "--token-file", serverTok, "--record", rec]);
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        f: { url: srv.url, auth: { plugin: "bearer", token_file: gwTok } },
        x: { url: srv.url, auth: { plugin: "exec", command: [helper] } },
      },
    });
    assert.equal(await s.callText("f__echo", { text: "1" }), "r:1");
    assert.equal(await s.callText("x__echo", { text: "1" }), "r:1");
    // the server moves to a new token; the gateway's file and the helper still give the old one
    writeSecret(serverTok, NEW + "\n");
    const before = records(rec).filter((r) => r.method === "POST").length;
    await assert.rejects(s.call("f__echo", { text: "2" }), (e) => {
      assert.match(e.message, /server 'f' refused its credentials \(HTTP 401.*\) and they have not changed since; not retried: check the token in .*gw-token/);
      assert.ok(!e.message.includes(GOOD), "no token in the error");
      return true;
    });
    await assert.rejects(s.call("x__echo", { text: "2" }), /server 'x' refused its credentials .*not retried: check what credential helper .*cred-helper prints/);
    assert.equal(records(rec).filter((r) => r.method === "POST").length - before, 2, "each refused call went out once");
    // a second call before any fix is not sent at all
    await assert.rejects(s.call("f__echo", { text: "3" }), /not retried/);
    assert.equal(records(rec).filter((r) => r.method === "POST").length - before, 2, "nothing sent with a token known to be refused");
    writeSecret(gwTok, NEW + "\n");
    writeSecret(helperTok, NEW + "\n");
    assert.equal(await s.callText("f__echo", { text: "4" }), "r:4");
    assert.equal(await s.callText("x__echo", { text: "4" }), "r:4");
    assert.ok(!/restarting in|-> failed/.test(s.gw.stderr), `the servers stayed up:\n${s.gw.stderr}`);
    assert.ok(!s.gw.stderr.includes(GOOD) && !s.gw.stderr.includes(NEW), "no token in the log");
    await s.shutdown();
  } finally {
    s?.destroy();
    await stopAll([srv]);
    rmTmp(dir);
  }
});
