// Issue 3 points 6, 8 and 10: built-in auth plugins (bearer from a file or the environment, exec
// credential helpers, static headers) and credentials that stay with their server: not sent to
// another server, not on a redirect to another origin, not in a log line.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, rmTmp, waitUntil } from "./lib/harness.mjs";
import { records, startServer, stopAll, writeSecret } from "./lib/remote.mjs";

const TOKEN_A = "tok-A-3f9c1e7a5b2d4c6e8f0a1b2c3d4e5f60";
const TOKEN_C = "tok-C-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";

test("bearer token_file: the server gets the token, a new token in the file is used at once", { timeout: T(60000) }, async () => {
  const dir = makeTmp("bearer");
  const serverTok = path.join(dir, "server-token");
  const gwTok = path.join(dir, "gw-token");
  writeSecret(serverTok, TOKEN_A + "\n");
  writeSecret(gwTok, TOKEN_A + "\n");
  const srv = await startServer(["--name", "b", "--token-file", serverTok]);
  let s;
  try {
    s = await openSession({ dir, servers: { b: { url: srv.url, auth: { plugin: "bearer", token_file: gwTok } } } });
    assert.equal(await s.callText("b__echo", { text: "1" }), "b:1");
    // rotation: both sides get a new token; the next call carries it
    const rotated = "tok-rotated-" + "9".repeat(24);
    writeSecret(serverTok, rotated + "\n");
    writeSecret(gwTok, rotated + "\n");
    assert.equal(await s.callText("b__echo", { text: "2" }), "b:2");
    assert.ok(!s.gw.stderr.includes(TOKEN_A) && !s.gw.stderr.includes(rotated), "no token in the log");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("bearer: a group-writable token file is refused, a group-readable one warned about, a missing variable named", { timeout: T(60000) }, async () => {
  const dir = makeTmp("bearer-perm");
  const tok = path.join(dir, "server-token");
  writeSecret(tok, TOKEN_A);
  const writable = path.join(dir, "writable");
  writeSecret(writable, TOKEN_A, 0o620);
  const readable = path.join(dir, "readable");
  writeSecret(readable, TOKEN_A, 0o644);
  const srv = await startServer(["--name", "p", "--token-file", tok]);
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        w: { url: srv.url, auth: { plugin: "bearer", token_file: writable } },
        r: { url: srv.url, auth: { plugin: "bearer", token_file: readable } },
        e: { url: srv.url, auth: { plugin: "bearer", token_env: "MCPGW_TEST_TOKEN" } },
        m: { url: srv.url, auth: { plugin: "bearer", token_env: "MCPGW_TEST_MISSING" } },
      },
      env: { MCPGW_TEST_TOKEN: TOKEN_A, MCPGW_TEST_MISSING: undefined },
      gateway: { startup_wait: "5s" },
    });
    assert.equal(await s.callText("r__echo", { text: "1" }), "p:1");
    assert.equal(await s.callText("e__echo", { text: "2" }), "p:2");
    const tools = await s.tools();
    assert.ok(!tools.has("w__echo") && !tools.has("m__echo"));
    assert.match(s.gw.stderr, /\[w\] .*writable is writable by group or others; refused/);
    assert.match(s.gw.stderr, /\[r\] .*readable holds a secret but group or others may read it/);
    assert.match(s.gw.stderr, /\[m\] .*environment variable MCPGW_TEST_MISSING is not set/);
    assert.ok(!s.gw.stderr.includes(TOKEN_A));
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("credentials stay with their server: another server and a cross-origin redirect never see them", { timeout: T(60000) }, async () => {
  const dir = makeTmp("isolation");
  const tokA = path.join(dir, "a-token");
  const tokC = path.join(dir, "c-token");
  writeSecret(tokA, TOKEN_A);
  writeSecret(tokC, TOKEN_C);
  const recB = path.join(dir, "b.jsonl");
  const recC = path.join(dir, "c.jsonl");
  const a = await startServer(["--name", "a", "--token-file", tokA]);
  const b = await startServer(["--name", "b", "--record", recB]);
  // c answers everything with a 307 to b: a client that follows it would hand c's token to b
  const c = await startServer(["--name", "c", "--record", recC, "--redirect-to", b.url]);
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        a: { url: a.url, auth: { plugin: "bearer", token_file: tokA }, headers: { "X-Api-Key": "key-of-a-5551234567" } },
        b: { url: b.url, headers: { "X-Team": "blue" } },
        c: { url: c.url, auth: { plugin: "bearer", token_file: tokC }, startup_timeout: "3s" },
        h: { url: b.url, auth: { plugin: "headers", headers: { "X-Secret": "hdr-secret-77777777" } } },
      },
      gateway: { startup_wait: "5s" },
    });
    assert.equal(await s.callText("a__echo", { text: "1" }), "a:1");
    assert.equal(await s.callText("b__echo", { text: "2" }), "b:2");
    assert.equal(await s.callText("h__echo", { text: "3" }), "b:3");
    await waitUntil(() => /\[c\].*redirected to another origin/.test(s.gw.stderr), T(5000), "c's redirect refused");
    assert.ok(!(await s.tools()).has("c__echo"));
    const seenByB = records(recB);
    assert.ok(seenByB.length > 0);
    const all = JSON.stringify(seenByB);
    for (const secret of [TOKEN_A, TOKEN_C, "key-of-a-5551234567"]) assert.ok(!all.includes(secret), `b saw ${secret.slice(0, 6)}`);
    // b's own requests carry b's header; h's requests (same server, another entry) carry h's
    assert.ok(seenByB.some((r) => r.headers["x-team"] === "blue"));
    assert.ok(seenByB.every((r) => !r.headers.authorization));
    assert.ok(seenByB.filter((r) => r.headers["x-secret"]).every((r) => r.headers["x-team"] === undefined));
    // c only ever saw its own token, and nobody else ever got it
    assert.ok(records(recC).every((r) => r.headers.authorization === `Bearer ${TOKEN_C}`));
    for (const secret of [TOKEN_A, TOKEN_C, "key-of-a-5551234567", "hdr-secret-77777777"]) {
      assert.ok(!s.gw.stderr.includes(secret), `log holds ${secret.slice(0, 6)}`);
    }
    await s.shutdown();
  } finally {
    s?.destroy();
    await stopAll([a, b, c]);
    rmTmp(dir);
  }
});

/** A credential helper: counts its runs, records its environment, prints what `mode` says. */
function helper(dir, name, body) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\necho run >> "${dir}/${name}.runs"\nenv > "${dir}/${name}.env"\n${body}\n`, { mode: 0o755 });
  return file;
}

const runs = (dir, name) => {
  try {
    return fs.readFileSync(path.join(dir, `${name}.runs`), "utf8").split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
};

test("exec: a credential helper's token is used and cached until expires_in; its environment is scrubbed", { timeout: T(60000) }, async () => {
  const dir = makeTmp("exec");
  const tok = path.join(dir, "server-token");
  writeSecret(tok, TOKEN_A);
  const srv = await startServer(["--name", "x", "--token-file", tok]);
  const good = helper(dir, "good", `printf '{"access_token": "%s", "expires_in": 3600, "token_type": "Bearer"}\\n' "$(cat ${tok})"`);
  const short = helper(dir, "short", `printf '{"access_token": "%s", "expires_in": 1}\\n' "$(cat ${tok})"`);
  const hdrs = helper(dir, "hdrs", `printf '{"headers": {"Authorization": "Bearer %s"}}\\n' "$(cat ${tok})"`);
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        g: { url: srv.url, auth: { plugin: "exec", command: [good, "arg one"] } },
        s: { url: srv.url, auth: { plugin: "exec", command: [short] } },
        h: { url: srv.url, auth: { plugin: "exec", command: [hdrs] } },
      },
      env: { MCPGW_TEST_SECRET_ENV: "must-not-leak" },
      gateway: { startup_wait: "10s" },
    });
    for (let i = 0; i < 5; i++) assert.equal(await s.callText("g__echo", { text: `${i}` }), `x:${i}`);
    assert.equal(runs(dir, "good"), 1, "cached: one run for the handshake, the lists and five calls");
    const env = fs.readFileSync(path.join(dir, "good.env"), "utf8");
    assert.match(env, /^MCPGW_SERVER=g$/m);
    assert.doesNotMatch(env, /MCPGW_TEST_SECRET_ENV|must-not-leak/);
    assert.equal(await s.callText("h__echo", { text: "h" }), "x:h");
    assert.equal(await s.callText("s__echo", { text: "1" }), "x:1");
    const before = runs(dir, "short");
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(await s.callText("s__echo", { text: "2" }), "x:2");
    assert.ok(runs(dir, "short") > before, "expired: the helper ran again");
    assert.ok(!s.gw.stderr.includes(TOKEN_A));
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("exec: a failing, slow or babbling helper gives a clear error and never blocks the other servers", { timeout: T(60000) }, async () => {
  const dir = makeTmp("exec-bad");
  const srv = await startServer(["--name", "y"]);
  const fails = helper(dir, "fails", `echo "no credentials for you" >&2; exit 3`);
  const slow = helper(dir, "slow", `sleep 30`);
  const junk = helper(dir, "junk", `echo "this is not JSON, and not a secret-looking thing"`);
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        ok: { url: srv.url },
        f: { url: srv.url, auth: { plugin: "exec", command: [fails] }, startup_timeout: "5s" },
        sl: { url: srv.url, auth: { plugin: "exec", command: [slow], timeout: "500ms" }, startup_timeout: "5s" },
        j: { url: srv.url, auth: { plugin: "exec", command: [junk] }, startup_timeout: "5s" },
        o: { url: srv.url, auth: { plugin: "oauth2" } },
      },
      gateway: { startup_wait: `${T(1000)}ms` },
    });
    const t0 = performance.now();
    assert.equal(await s.callText("ok__echo", { text: "1" }), "y:1");
    assert.ok(performance.now() - t0 < T(2000), "the slow helper did not hold up the other server");
    await waitUntil(() => /\[f\].*credential helper .*fails exited with status 3: no credentials for you/.test(s.gw.stderr), T(10000), "f's error");
    await waitUntil(() => /\[sl\].*credential helper .*slow timed out after 500 ms/.test(s.gw.stderr), T(10000), "sl's error");
    await waitUntil(() => /\[j\].*credential helper output is not a JSON object/.test(s.gw.stderr), T(10000), "j's error");
    // oauth2 (issue 4): a server that asks for no sign-in is used without one
    assert.equal(await s.callText("o__echo", { text: "2" }), "y:2");
    assert.doesNotMatch(s.gw.stderr, /this is not JSON/, "the helper's output is never echoed");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("credentials are refused over plain http to a non-loopback host", { timeout: T(30000) }, async () => {
  const dir = makeTmp("plain");
  const tok = path.join(dir, "t");
  writeSecret(tok, TOKEN_A);
  let s;
  try {
    s = await openSession({ dir, servers: { p: { url: "http://mcp.invalid/mcp", auth: { plugin: "bearer", token_file: tok } } }, gateway: { startup_wait: "1s" } });
    await waitUntil(() => /\[p\].*only sent over https/.test(s.gw.stderr), T(5000), "the refusal");
    await s.shutdown();
  } finally {
    s?.destroy();
    rmTmp(dir);
  }
});
