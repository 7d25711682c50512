// Issue 13, finding 6: a credential helper (auth plugin `exec`) is trusted like a token file or a
// plugin: owned by root or the gateway's user and not writable by group or others, or refused
// with the same message, when the server is set up and again at every run.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, rmTmp, sleep } from "./lib/harness.mjs";
import { startServer, writeSecret } from "./lib/remote.mjs";

const TOKEN = "tok-trust-5e1d2c3b4a59687766554433221100ff";

function helper(dir, name, mode, body) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`);
  fs.chmodSync(file, mode); // not through writeFileSync's mode: the umask would narrow it
  return file;
}

test("exec: a credential helper writable by group or others, or owned by another user, is refused naming the file and the rule; a 0755 one of ours is run", { timeout: T(60000) }, async () => {
  const dir = makeTmp("exec-trust");
  const tok = path.join(dir, "server-token");
  writeSecret(tok, TOKEN);
  const srv = await startServer(["--name", "t", "--token-file", tok]);
  const print = `printf '{"access_token": "%s", "expires_in": 1}\\n' "$(cat ${tok})"`;
  const ok = helper(dir, "ok-helper", 0o755, print);
  const w666 = helper(dir, "world-writable-helper", 0o666, print);
  const g620 = helper(dir, "group-writable-helper", 0o620, print);
  const later = helper(dir, "later-helper", 0o755, print);
  const servers = {
    ok: { url: srv.url, auth: { plugin: "exec", command: [ok] } },
    w: { url: srv.url, auth: { plugin: "exec", command: [w666] }, startup_timeout: "5s" },
    g: { url: srv.url, auth: { plugin: "exec", command: [g620] }, startup_timeout: "5s" },
    l: { url: srv.url, auth: { plugin: "exec", command: [later] } },
  };
  // Root can give a file away: a helper owned by another user (nobody).
  let other;
  if (process.getuid() === 0) {
    other = helper(dir, "other-user-helper", 0o755, print);
    fs.chownSync(other, 65534, 65534);
    servers.o = { url: srv.url, auth: { plugin: "exec", command: [other] }, startup_timeout: "5s" };
  }
  let s;
  try {
    s = await openSession({ dir, servers, gateway: { startup_wait: "10s" } });
    assert.equal(await s.callText("ok__echo", { text: "1" }), "t:1", "the 0755 helper of ours is run");
    assert.equal(await s.callText("l__echo", { text: "1" }), "t:1");
    const tools = await s.tools();
    assert.ok(!tools.has("w__echo") && !tools.has("g__echo"), "no tools from the refused helpers");
    assert.match(s.gw.stderr, new RegExp(`\\[w\\] .*credential helper ${w666} is writable by group or others; refused`));
    assert.match(s.gw.stderr, new RegExp(`\\[g\\] .*credential helper ${g620} is writable by group or others; refused`));
    if (other) {
      assert.ok(!tools.has("o__echo"));
      assert.match(s.gw.stderr, new RegExp(`\\[o\\] .*credential helper ${other} is owned by uid 65534 \\(neither root nor this user\\); refused`));
    }
    // A helper made writable after the start is refused at its next run (expires_in: 1).
    fs.chmodSync(later, 0o777);
    await sleep(1200);
    await assert.rejects(s.call("l__echo", { text: "2" }, { timeout: T(10000) }), (e) => {
      assert.match(String(e.message), new RegExp(`credential helper ${later} is writable by group or others; refused`));
      return true;
    });
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});
