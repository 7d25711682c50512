// Past one machine (issue 10 point 8): the shipped conf/haproxy.cfg in front of two `mcpgw serve`
// instances on loopback, 20 SDK clients through it: every session stays on the instance that
// created it (any request routed elsewhere would get 404), and when one instance is killed its
// clients get 404, initialize again on the other and go on, while the other's clients notice
// nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Gateway, REPO, makeTmp, rmTmp, servers, sleep, T, toYaml, waitUntil, within } from "./lib/harness.mjs";

const HAPROXY = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find((p) => fs.existsSync(p));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function instance(dir, name) {
  const config = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(config, toYaml({ servers: { everything: servers.everything() } }));
  const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"], stateHome: path.join(dir, `state-${name}`) });
  await waitUntil(() => /listening on 127\.0\.0\.1:(\d+)/.test(gw.stderr) && /\[everything\] ready/.test(gw.stderr), T(20000), `${name} to be ready`);
  gw.port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(gw.stderr)[1]);
  return gw;
}

async function sessionsOf(gw) {
  const r = await fetch(`http://127.0.0.1:${gw.port}/metrics`);
  return Number(/^mcpgw_sessions (\d+)$/m.exec(await r.text())[1]);
}

test("haproxy: sticky sessions on Mcp-Session-Id, and a killed instance's clients start again on the other", { skip: HAPROXY ? false : "haproxy is not installed (scripts/install-deps.sh installs it)" }, async () => {
  const dir = makeTmp("haproxy");
  let hap;
  const gws = [];
  try {
    gws.push(await instance(dir, "gw1"), await instance(dir, "gw2"));
    const front = await freePort();
    // The shipped configuration, with this test's ports.
    const cfg = fs.readFileSync(path.join(REPO, "conf/haproxy.cfg"), "utf8")
      .replace(/^(\s*bind )127\.0\.0\.1:8100$/m, `$1127.0.0.1:${front}`)
      .replace(/^(\s*server gw1 )127\.0\.0\.1:8101 /m, `$1127.0.0.1:${gws[0].port} `)
      .replace(/^(\s*server gw2 )127\.0\.0\.1:8102 /m, `$1127.0.0.1:${gws[1].port} `);
    assert.ok(cfg.includes(`:${gws[0].port} `) && cfg.includes(`:${gws[1].port} `) && cfg.includes(`:${front}\n`), cfg);
    const cfgFile = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(cfgFile, cfg);
    assert.equal(spawnSync(HAPROXY, ["-c", "-f", cfgFile]).status, 0, "haproxy -c accepts the shipped configuration");
    hap = spawn(HAPROXY, ["-db", "-f", cfgFile], { stdio: ["ignore", "ignore", "pipe"] });
    let hapErr = "";
    hap.stderr.on("data", (c) => (hapErr += c));
    const url = new URL(`http://127.0.0.1:${front}/mcp`);
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${front}/healthz`).catch(() => null))?.ok, T(10000), "haproxy to forward");

    const clients = [];
    for (let i = 0; i < 20; i++) {
      const client = new Client({ name: `c${i}`, version: "1" });
      const transport = new StreamableHTTPClientTransport(url);
      await within(client.connect(transport), T(10000), "initialize through haproxy");
      clients.push({ client, transport, i });
    }
    const counts = [await sessionsOf(gws[0]), await sessionsOf(gws[1])];
    assert.equal(counts[0] + counts[1], 20, `sessions per instance: ${counts}`);
    assert.ok(counts[0] > 0 && counts[1] > 0, `both instances took sessions: ${counts}\n${hapErr}`);
    // Every later request of a session reaches its instance: elsewhere it would be a 404.
    for (let round = 0; round < 3; round++)
      await Promise.all(clients.map(async ({ client, i }) =>
        assert.equal((await client.callTool({ name: "everything__echo", arguments: { message: `${i}.${round}` } })).content[0].text, `Echo: ${i}.${round}`)));

    gws[0].proc.kill("SIGKILL");
    await gws[0].exited;
    let lost = 0;
    await Promise.all(clients.map(async (c) => {
      try {
        const r = await c.client.callTool({ name: "everything__echo", arguments: { message: `after ${c.i}` } });
        assert.equal(r.content[0].text, `Echo: after ${c.i}`);
        return;
      } catch (e) {
        assert.ok(e.code === 404 || /404/.test(e.message), `a client of the killed instance is told its session is gone (404): ${e.code} ${e.message}`);
        lost++;
      }
      // Initialize again (on the instance left) and go on.
      c.client = new Client({ name: `c${c.i}-again`, version: "1" });
      c.transport = new StreamableHTTPClientTransport(url);
      await within(c.client.connect(c.transport), T(15000), "initialize again");
      const r = await c.client.callTool({ name: "everything__echo", arguments: { message: `again ${c.i}` } });
      assert.equal(r.content[0].text, `Echo: again ${c.i}`);
    }));
    assert.equal(lost, counts[0], `the killed instance's ${counts[0]} clients had to start again, no other (${lost})`);
    assert.equal(await sessionsOf(gws[1]), 20, "all 20 sessions live on the instance left");
    for (const c of clients) await c.client.close();
    assert.equal(hap.exitCode, null, `haproxy still runs:\n${hapErr}`);
  } finally {
    if (hap && hap.exitCode === null) {
      hap.kill("SIGTERM");
      await Promise.race([new Promise((r) => hap.on("exit", r)), sleep(T(5000))]);
    }
    for (const gw of gws) {
      if (gw.exitStatus === null) {
        gw.proc.kill("SIGTERM");
        await Promise.race([gw.exited, sleep(T(8000))]);
      }
      gw.destroy();
    }
    rmTmp(dir);
  }
});
