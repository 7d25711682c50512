// Issue 4: OAuth sign-in against a server built from the official SDK with its demo authorization
// server (tests/fixtures/oauth/sdk-server.mjs): a server that needs a sign-in keeps the others
// working and says `mcpgw login NAME`; `mcpgw login` in another terminal brings it back
// (list_changed); url-mode elicitation lets the gateway finish the sign-in itself; short-lived
// tokens are refreshed, rotated, and stored 0600 in a 0700 directory; two gateways refreshing at
// once keep one token family; `mcpgw logout`; the SSRF guard on what discovery hands us; and a
// canary that looks for every secret of these exchanges in every log and error text (debug level).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  FIXTURES, NODE, REPO, Gateway, T, isAlive, makeTmp, openSession, procStat, rmTmp, runGateway, sleep, toYaml, waitUntil,
} from "./lib/harness.mjs";
import { startServer } from "./lib/remote.mjs";

const SDK_SERVER = path.join(FIXTURES, "oauth/sdk-server.mjs");
const OPENER = [NODE, path.join(REPO, "tests/conformance/open-url.mjs")];

/** Every secret the fixtures issued or received (files kept until the end), and every text the
 * gateway wrote or answered. */
const canary = { dir: makeTmp("oauth-canary"), secretFiles: [], outputs: [] };

class OAuthServer {
  constructor(dir, args = []) {
    this.dir = dir;
    this.args = args;
    this.recordFile = path.join(dir, `rec-${Math.random().toString(36).slice(2)}.jsonl`);
    this.secretsFile = path.join(canary.dir, `secrets-${Math.random().toString(36).slice(2)}.txt`);
    canary.secretFiles.push(this.secretsFile);
  }

  start() {
    this.proc = spawn(NODE, [SDK_SERVER, "--record", this.recordFile, "--secrets", this.secretsFile, "--lifetime-ms", String(T(120000)), ...this.args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.stat = null;
    this.stderr = "";
    this.proc.stderr.on("data", (c) => (this.stderr += c));
    this.exited = new Promise((r) => this.proc.on("exit", r));
    return new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`sdk-server did not listen: ${this.stderr}`)), T(15000));
      this.proc.stdout.on("data", (c) => {
        out += c;
        const m = /PORT (\d+) AS (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          this.asPort = Number(m[2]);
          this.stat = procStat(this.proc.pid);
          resolve(this);
        }
      });
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  records() {
    try {
      return fs.readFileSync(this.recordFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  }

  async stop() {
    if (this.stat && isAlive(this.stat)) {
      process.kill(this.proc.pid, "SIGKILL");
      await this.exited;
    }
  }
}

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  rmTmp(canary.dir);
});

async function oauthServer(dir, args) {
  const s = await new OAuthServer(dir, args).start();
  servers.push(s);
  return s;
}

function writeConfig(dir, doc, name = "config.yaml") {
  const file = path.join(dir, name);
  fs.writeFileSync(file, toYaml({ version: 1, ...doc }));
  return file;
}

async function login(dir, config, server, extraEnv = {}) {
  const r = await runGateway(["login", "-c", config, "--system-policy", "", server], { dir, env: extraEnv, timeout: T(30000) });
  canary.outputs.push(`login ${server}: ${r.stdout}\n${r.stderr}`);
  return r;
}

function keep(s) {
  if (s?.gw) canary.outputs.push(s.gw.stderr, JSON.stringify(s.gw.messages));
}

const tokenFile = (dir, server) => path.join(dir, "state/mcpgw/tokens", `${server}.json`);

test("a server that needs a sign-in: the others work, its tool says `mcpgw login NAME`; a login elsewhere brings its tools (list_changed); 0600 in 0700", { timeout: T(90000) }, async () => {
  const dir = makeTmp("oauth-login");
  const srv = await oauthServer(dir);
  const other = await startServer(["--name", "plain"]);
  let s;
  try {
    const audit = path.join(dir, "out-audit.jsonl");
    s = await openSession({
      dir,
      gateway: { log_level: "debug", audit_log: audit, startup_wait: `${T(5000)}ms` },
      servers: { demo: { url: srv.url, auth: { plugin: "oauth2" } }, plain: { url: other.url } },
    });
    const changed = [];
    s.client.setNotificationHandler(z.object({ method: z.literal("notifications/tools/list_changed") }).passthrough(), () => changed.push(Date.now()));
    // the server is set aside: a placeholder tool, whose call names the exact command
    let tools = await s.tools();
    assert.ok(tools.has("plain__echo"), "the other server is there");
    assert.ok(tools.has("demo__sign_in"), `the placeholder is listed: ${[...tools.keys()]}`);
    const r = await s.call("demo__sign_in", {});
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /server 'demo' needs a sign-in: run `mcpgw login demo`/);
    assert.equal(await s.callText("plain__echo", { text: "still" }), "plain:still");
    assert.ok(!fs.existsSync(tokenFile(dir, "demo")), "no tokens yet");

    // mcpgw login in another terminal (same state directory)
    const cfg2 = writeConfig(dir, { servers: { demo: { url: srv.url, auth: { plugin: "oauth2", open_browser: OPENER } } } }, "login.yaml");
    const lr = await login(dir, cfg2, "demo");
    assert.equal(lr.code, 0, lr.stderr);
    assert.match(lr.stderr, /To sign in to demo, open this URL in a browser:\n\n {2}http:\/\/127\.0\.0\.1:\d+\/authorize\?response_type=code&/);
    assert.match(lr.stderr, /Waiting for the sign-in \(up to 5m\)\.\.\./);
    assert.match(lr.stderr, /Signed in to demo\./);

    // token store: 0600 in 0700, the tokens themselves never in the log
    const st = fs.statSync(path.dirname(tokenFile(dir, "demo")));
    assert.equal(st.mode & 0o777, 0o700);
    assert.equal(fs.statSync(tokenFile(dir, "demo")).mode & 0o777, 0o600);
    const stored = Object.values(JSON.parse(fs.readFileSync(tokenFile(dir, "demo"), "utf8"))).find((e) => e.access_token);
    assert.equal(stored.resource, srv.url, "RFC 8707 resource as the protected resource metadata names it");
    assert.ok(stored.refresh_token);

    // the running gateway notices, connects, and tells the client (asking for the list before
    // that would tell the gateway the client already knows it)
    await waitUntil(() => changed.length > 0, T(10000), "tools/list_changed");
    tools = await s.tools();
    assert.ok(tools.has("demo__echo"), `demo's tools: ${[...tools.keys()]}`);
    assert.ok(!tools.has("demo__sign_in"), "the placeholder is gone");
    assert.equal(await s.callText("demo__echo", { text: "hi" }), "oauth:hi");
    const recs = srv.records().filter((e) => e.event === "token");
    assert.deepEqual(recs.map((e) => e.grant_type), ["authorization_code"]);
    assert.equal(recs[0].resource, srv.url);
    keep(s);
    canary.outputs.push(fs.existsSync(audit) ? fs.readFileSync(audit, "utf8") : "");
    await s.shutdown();
  } finally {
    keep(s);
    s?.destroy();
    await other.stop();
    rmTmp(dir);
  }
});

test("url-mode elicitation: the gateway sends the link, finishes the sign-in on its own callback, elicitation/complete, then list_changed and calls succeed", { timeout: T(90000) }, async () => {
  const dir = makeTmp("oauth-elicit");
  const srv = await oauthServer(dir);
  let s;
  try {
    const asked = [];
    const completed = [];
    s = await openSession({
      dir,
      gateway: { log_level: "debug", startup_wait: `${T(5000)}ms` },
      servers: { demo: { url: srv.url, auth: { plugin: "oauth2" } } },
      capabilities: { elicitation: { url: {} } },
      setup: (client) => {
        client.setRequestHandler(ElicitRequestSchema, async (req) => {
          asked.push(req.params);
          // the person follows the link (here: a fetch that follows the redirects)
          await fetch(req.params.url, { redirect: "follow" }).catch(() => {});
          return { action: "accept" };
        });
        client.setNotificationHandler(z.object({ method: z.literal("notifications/elicitation/complete"), params: z.object({ elicitationId: z.string() }).passthrough() }).passthrough(), (n) => completed.push(n.params.elicitationId));
      },
    });
    await waitUntil(() => asked.length > 0, T(10000), "elicitation/create");
    assert.equal(asked[0].mode, "url");
    assert.match(asked[0].url, /^http:\/\/127\.0\.0\.1:\d+\/authorize\?/);
    assert.match(asked[0].message, /demo/);
    assert.ok(asked[0].elicitationId);
    await waitUntil(() => completed.length > 0, T(10000), "notifications/elicitation/complete");
    assert.equal(completed[0], asked[0].elicitationId);
    await waitUntil(async () => (await s.tools()).has("demo__echo"), T(10000), "demo's tools");
    assert.equal(await s.callText("demo__echo", { text: "elicited" }), "oauth:elicited");
    assert.equal(asked.length, 1, "asked once");
    keep(s);
    await s.shutdown();
  } finally {
    keep(s);
    s?.destroy();
    rmTmp(dir);
  }
});

test("short-lived tokens: refreshed ahead of expiry and after a 401, the rotated refresh token stored; logout asks for a sign-in again", { timeout: T(90000) }, async () => {
  const dir = makeTmp("oauth-refresh");
  const srv = await oauthServer(dir, ["--ttl-s", "2"]);
  let s;
  try {
    const cfg = writeConfig(dir, { servers: { demo: { url: srv.url, auth: { plugin: "oauth2", open_browser: OPENER } } } }, "login.yaml");
    assert.equal((await login(dir, cfg, "demo")).code, 0);
    const first = Object.values(JSON.parse(fs.readFileSync(tokenFile(dir, "demo"), "utf8"))).find((e) => e.access_token);
    s = await openSession({ dir, gateway: { log_level: "debug" }, servers: { demo: { url: srv.url, auth: { plugin: "oauth2" } } } });
    assert.equal(await s.callText("demo__echo", { text: "1" }), "oauth:1");
    await sleep(2500); // past the access token's lifetime
    assert.equal(await s.callText("demo__echo", { text: "2" }), "oauth:2");
    await sleep(2500);
    assert.equal(await s.callText("demo__echo", { text: "3" }), "oauth:3");
    const grants = srv.records().filter((e) => e.event === "token");
    assert.ok(grants.filter((e) => e.grant_type === "refresh_token" && e.outcome === "ok").length >= 2, JSON.stringify(grants));
    assert.ok(!grants.some((e) => e.outcome === "refused"), "never an old (rotated) refresh token");
    assert.ok(grants.every((e) => e.resource === srv.url), "resource on every token request");
    const now = Object.values(JSON.parse(fs.readFileSync(tokenFile(dir, "demo"), "utf8"))).find((e) => e.access_token);
    assert.notEqual(now.refresh_token, first.refresh_token, "the rotated refresh token is stored");
    assert.equal(fs.statSync(tokenFile(dir, "demo")).mode & 0o777, 0o600);
    assert.doesNotMatch(s.gw.stderr, /needs a sign-in/);

    // logout: the tokens go; the next call meets the sign-in
    const lo = await runGateway(["logout", "-c", cfg, "--system-policy", "", "demo"], { dir });
    assert.equal(lo.code, 0, lo.stderr);
    assert.match(lo.stderr, /Signed out of demo/);
    assert.ok(!fs.existsSync(tokenFile(dir, "demo")));
    await sleep(2500);
    const r = await s.call("demo__echo", { text: "4" }).catch((e) => ({ isError: true, content: [{ text: e.message }] }));
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /mcpgw login demo/);
    keep(s);
    await s.shutdown();
  } finally {
    keep(s);
    s?.destroy();
    rmTmp(dir);
  }
});

test("two gateways refreshing at once keep one token family (the store's cross-process lock)", { timeout: T(90000) }, async () => {
  const dir = makeTmp("oauth-twogw");
  const srv = await oauthServer(dir, ["--ttl-s", "2"]);
  let a;
  let b;
  try {
    const cfg = writeConfig(dir, { servers: { demo: { url: srv.url, auth: { plugin: "oauth2", open_browser: OPENER } } } }, "login.yaml");
    assert.equal((await login(dir, cfg, "demo")).code, 0);
    const stateHome = path.join(dir, "state");
    const doc = { gateway: { log_level: "debug" }, servers: { demo: { url: srv.url, auth: { plugin: "oauth2" } } } };
    a = await openSession({ dir: makeTmp("oauth-gw-a"), stateHome, ...doc });
    b = await openSession({ dir: makeTmp("oauth-gw-b"), stateHome, ...doc });
    assert.equal(await a.callText("demo__echo", { text: "a0" }), "oauth:a0");
    assert.equal(await b.callText("demo__echo", { text: "b0" }), "oauth:b0");
    for (let round = 1; round <= 2; round++) {
      await sleep(2300);
      const [ra, rb] = await Promise.all([a.callText("demo__echo", { text: `a${round}` }), b.callText("demo__echo", { text: `b${round}` })]);
      assert.equal(ra, `oauth:a${round}`);
      assert.equal(rb, `oauth:b${round}`);
    }
    const grants = srv.records().filter((e) => e.event === "token" && e.grant_type === "refresh_token");
    assert.ok(grants.length >= 2, JSON.stringify(grants));
    assert.ok(!grants.some((e) => e.outcome === "refused"), `a rotated refresh token was used twice: ${JSON.stringify(grants)}`);
    for (const s of [a, b]) {
      keep(s);
      await s.shutdown();
    }
  } finally {
    for (const s of [a, b]) {
      keep(s);
      s?.destroy();
      if (s) rmTmp(s.dir);
    }
    rmTmp(dir);
  }
});

/** A server on loopback whose 401 hands out URLs discovery must not follow. */
function hostileServer(challenge) {
  const hits = [];
  const srv = http.createServer((req, res) => {
    hits.push(req.url);
    if (req.url.startsWith("/.well-known/oauth-protected-resource")) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(challenge.prm(srv.address().port)));
      return;
    }
    res.writeHead(401, { "WWW-Authenticate": challenge.header(srv.address().port), "Content-Type": "application/json" });
    res.end("{}");
  });
  return new Promise((r) => srv.listen(0, "127.0.0.1", () => r({ srv, hits, url: `http://127.0.0.1:${srv.address().port}/mcp` })));
}

test("SSRF guard: what discovery hands us is checked at connect time (private, link-local, plain http elsewhere); nothing is followed", { timeout: T(60000) }, async () => {
  const dir = makeTmp("oauth-ssrf");
  const cases = [
    { name: "linklocal", header: () => `Bearer resource_metadata="https://169.254.169.254/latest/meta-data"`, prm: () => ({}), want: /link-local address/ },
    { name: "private", header: () => `Bearer resource_metadata="https://10.255.255.1/prm"`, prm: () => ({}), want: /private address/ },
    { name: "plainhttp", header: () => `Bearer resource_metadata="http://10.255.255.1/prm"`, prm: () => ({}), want: /plain http to an address that is not loopback/ },
    {
      name: "asprivate",
      header: (p) => `Bearer resource_metadata="http://127.0.0.1:${p}/.well-known/oauth-protected-resource/mcp"`,
      prm: (p) => ({ resource: `http://127.0.0.1:${p}/mcp`, authorization_servers: ["https://192.168.77.1"] }),
      want: /private address/,
    },
  ];
  const up = [];
  try {
    for (const c of cases) {
      const h = await hostileServer(c);
      up.push(h);
      const cfg = writeConfig(dir, { servers: { [c.name]: { url: h.url, auth: { plugin: "oauth2", open_browser: OPENER } } } }, `${c.name}.yaml`);
      const r = await login(dir, cfg, c.name);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.want, `${c.name}: ${r.stderr}`);
      assert.match(r.stderr, /refused to connect to/);
    }
    // a redirect from metadata is never followed: the place it points at hears nothing
    const witness = { hits: 0 };
    const w = await new Promise((resolve) => {
      const srv = http.createServer((req, res) => {
        witness.hits++;
        res.end("{}");
      });
      srv.listen(0, "127.0.0.1", () => resolve(srv));
    });
    up.push({ srv: w });
    const moved = await new Promise((resolve) => {
      const srv = http.createServer((req, res) => {
        if (req.url.startsWith("/.well-known/")) {
          res.writeHead(302, { Location: `http://127.0.0.1:${w.address().port}${req.url}` });
          return res.end();
        }
        res.writeHead(401, { "WWW-Authenticate": "Bearer" });
        res.end();
      });
      srv.listen(0, "127.0.0.1", () => resolve(srv));
    });
    up.push({ srv: moved });
    const cfg = writeConfig(dir, { servers: { moved: { url: `http://127.0.0.1:${moved.address().port}/mcp`, auth: { plugin: "oauth2" } } } }, "moved.yaml");
    const r = await login(dir, cfg, "moved");
    assert.equal(r.code, 2, r.stderr);
    assert.equal(witness.hits, 0, "a redirect was followed");
  } finally {
    for (const h of up) h.srv.close();
    rmTmp(dir);
  }
});

test("mcpgw login/logout refuse what cannot sign in", { timeout: T(30000) }, async () => {
  const dir = makeTmp("oauth-cli");
  try {
    const cfg = writeConfig(dir, { servers: { web: { url: "https://mcp.example/mcp" }, local: { command: "true" } } });
    for (const [args, re] of [
      [["login", "-c", cfg, "--system-policy", "", "nosuch"], /no server named 'nosuch'/],
      [["login", "-c", cfg, "--system-policy", "", "web"], /does not use OAuth/],
      [["logout", "-c", cfg, "--system-policy", "", "local"], /does not use OAuth/],
      [["login", "-c", cfg, "--system-policy", ""], /usage: mcpgw login/],
    ]) {
      const r = await runGateway(args, { dir });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, "");
    }
  } finally {
    rmTmp(dir);
  }
});

test("canary: no token, code, verifier or secret of these sign-ins in any log, audit line or error text", (t) => {
  if (canary.outputs.length === 0) return t.skip("no sign-in ran above (--test-name-pattern)");
  const secrets = new Set();
  for (const f of canary.secretFiles) {
    try {
      for (const l of fs.readFileSync(f, "utf8").split("\n")) if (l.trim().length >= 8) secrets.add(l.trim());
    } catch {
      /* that server issued nothing */
    }
  }
  assert.ok(secrets.size >= 10, `the fixtures recorded their secrets (${secrets.size})`);
  const text = canary.outputs.join("\n");
  assert.ok(text.length > 10000 && /mcpgw: debug:/.test(text), "debug-level output was collected");
  const found = [...secrets].filter((v) => text.includes(v));
  assert.deepEqual(found.map((v) => `${v.slice(0, 4)}...`), [], "secrets found in the output");
});
