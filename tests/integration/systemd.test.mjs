// mcpgw serve under systemd (issue 11): sd_notify as systemd sees it (READY=1 once the listeners
// are open, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC then READY=1
// around a SIGHUP, STOPPING=1 on SIGTERM, STATUS= lines), received on a datagram socket named in
// NOTIFY_SOCKET (build/tools/notify_sink: node has no unix datagram sockets); and socket
// activation through systemd-socket-activate, which passes LISTEN_FDS/LISTEN_FDNAMES as systemd does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Agent } from "undici";
import {
  BIN, REPO, Gateway, makeTmp, rmTmp, servers, toYaml, T, waitUntil, within, sleep, procStat, isAlive, killProcs, descendants,
} from "./lib/harness.mjs";

const SINK = path.join(path.dirname(BIN), "tools/notify_sink");
const SINK_BIN = fs.existsSync(SINK) ? SINK : path.join(REPO, "build/tools/notify_sink");
const ACTIVATE = ["/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate"].find((p) => fs.existsSync(p));

/** The systemd end of NOTIFY_SOCKET: every datagram as {pid, fields: {KEY: value}, at}. */
class NotifySink {
  constructor(dir) {
    this.path = path.join(dir, "notify.sock");
    this.messages = [];
    this.proc = spawn(SINK_BIN, [this.path, String(Math.ceil(T(120000) / 1000))], { stdio: ["pipe", "pipe", "inherit"] });
    this.bound = new Promise((resolve, reject) => {
      this.proc.on("error", reject);
      this.proc.on("exit", () => reject(new Error("notify_sink exited before binding")));
      readline.createInterface({ input: this.proc.stdout }).on("line", (line) => {
        if (line === "bound") return resolve();
        const [pid, ...kv] = line.split("\t");
        const fields = {};
        for (const a of kv) {
          const i = a.indexOf("=");
          fields[a.slice(0, i)] = a.slice(i + 1);
        }
        this.messages.push({ pid: Number(pid), fields, at: process.hrtime.bigint() });
      });
    });
  }

  /** Messages that carry KEY (optionally with that value). */
  with(key, value) {
    return this.messages.filter((m) => key in m.fields && (value === undefined || m.fields[key] === value));
  }

  stop() {
    this.proc.stdin.end(); // EOF: it unlinks its socket and exits
    setTimeout(() => this.proc.exitCode === null && this.proc.kill("SIGKILL"), T(3000)).unref();
  }
}

function writeConfig(dir, body) {
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(config, toYaml(body));
  return config;
}

async function stopGateway(gw) {
  const kids = gw.tree();
  gw.proc.kill("SIGTERM");
  const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
  assert.ok(st, `serve did not exit after SIGTERM:\n${gw.stderrTail()}`);
  assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null }, gw.stderrTail());
  await waitUntil(() => kids.every((p) => !isAlive(p)), T(5000), "servers gone");
}

test("systemd: READY=1 once listening, WATCHDOG=1 at half the period, RELOADING=1/READY=1 around SIGHUP, STOPPING=1", async () => {
  const dir = makeTmp("sd-notify");
  const sink = new NotifySink(dir);
  let gw;
  try {
    await within(sink.bound, T(5000), "notify_sink to bind");
    const config = writeConfig(dir, {
      version: 1,
      // The child may inherit NOTIFY_SOCKET only if the gateway left it in its environment: it must not.
      servers: { f: servers.faulty([], { env_passthrough: ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "PATH"] }) },
    });
    gw = new Gateway({
      dir,
      args: ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"],
      env: { NOTIFY_SOCKET: sink.path, WATCHDOG_USEC: "600000", WATCHDOG_PID: undefined },
    });
    const ready = await waitUntil(() => sink.with("READY", "1")[0], T(15000), "READY=1");
    assert.equal(ready.pid, gw.pid, "sent by the main process (NotifyAccess=main)");
    // Listening before READY: systemd lets clients in at READY, the socket must be open by then.
    const addr = gw.stderr.match(/listening on (127\.0\.0\.1:\d+)/)?.[1];
    assert.ok(addr, `listening logged before READY=1:\n${gw.stderr}`);
    assert.match(ready.fields.STATUS, /^serving 1 server on 1 listener$/);
    const health = await fetch(`http://${addr}/healthz`);
    assert.equal(health.status, 200);

    // The watchdog: a ping every 300 ms; several within a few seconds, from the main process.
    await waitUntil(() => sink.with("WATCHDOG", "1").length >= 4, T(10000), "4 WATCHDOG=1");
    assert.ok(sink.with("WATCHDOG", "1").every((m) => m.pid === gw.pid));
    assert.match(gw.stderr, /systemd watchdog: a ping every 300 ms/);

    // No child speaks for the gateway: the variables are gone from what it passes on.
    const c = new Client({ name: "sd", version: "1" });
    await within(c.connect(new StreamableHTTPClientTransport(new URL(`http://${addr}/mcp`))), T(10000), "initialize");
    const env = JSON.parse((await c.callTool({ name: "f__env", arguments: {} })).content[0].text).env;
    assert.equal(env.NOTIFY_SOCKET, undefined);
    assert.equal(env.WATCHDOG_USEC, undefined);
    assert.ok(env.PATH, "env_passthrough did pass what is still set");
    await c.close();

    // SIGHUP: RELOADING=1 with the CLOCK_MONOTONIC instant (node's hrtime is that clock), then READY=1.
    const before = process.hrtime.bigint() / 1000n;
    const n0 = sink.messages.length;
    gw.proc.kill("SIGHUP");
    await waitUntil(() => sink.messages.slice(n0).some((m) => m.fields.READY === "1"), T(10000), "READY=1 after SIGHUP");
    const after = process.hrtime.bigint() / 1000n;
    const seq = sink.messages.slice(n0).filter((m) => !("WATCHDOG" in m.fields));
    assert.equal(seq[0].fields.RELOADING, "1", JSON.stringify(seq.map((m) => m.fields)));
    const mono = BigInt(seq[0].fields.MONOTONIC_USEC);
    assert.ok(mono >= before && mono <= after, `MONOTONIC_USEC ${mono} within [${before}, ${after}]`);
    assert.match(seq[0].fields.STATUS, /reloading/);
    assert.equal(seq[1].fields.READY, "1");
    assert.match(seq[1].fields.STATUS, /^configuration reloaded; serving 1 server/);

    // A reload that is refused still ends the reload: READY=1 again, and STATUS says so.
    fs.writeFileSync(config, "version: 1\nservers: [not, a, map]\n");
    const n1 = sink.messages.length;
    gw.proc.kill("SIGHUP");
    await waitUntil(() => sink.messages.slice(n1).some((m) => m.fields.READY === "1"), T(10000), "READY=1 after a refused reload");
    const seq2 = sink.messages.slice(n1).filter((m) => m.fields.RELOADING || m.fields.READY);
    assert.equal(seq2[0].fields.RELOADING, "1");
    assert.match(seq2[1].fields.STATUS, /^reload refused .*serving 1 server/);

    // SIGTERM: STOPPING=1 before the process is gone.
    await stopGateway(gw);
    const stopping = sink.with("STOPPING", "1");
    assert.equal(stopping.length, 1, JSON.stringify(sink.messages.slice(-3).map((m) => m.fields)));
    assert.match(stopping[0].fields.STATUS, /stopping/);
    gw = null;
  } finally {
    if (gw) killProcs([procStat(gw.pid), ...gw.known.values()].filter(Boolean));
    sink.stop();
    rmTmp(dir);
  }
});

test("systemd: no watchdog for another process's WATCHDOG_PID; nothing sent and nothing logged without NOTIFY_SOCKET", async () => {
  const dir = makeTmp("sd-nowd");
  const sink = new NotifySink(dir);
  const gws = [];
  try {
    await within(sink.bound, T(5000), "notify_sink to bind");
    const config = writeConfig(dir, { version: 1, servers: {} });
    const args = ["serve", "-c", config, "--system-policy", "", "--listen", "127.0.0.1:0"];
    // WATCHDOG_PID names the process the watchdog is for: here not the gateway (pid 1).
    const a = new Gateway({ dir, args, env: { NOTIFY_SOCKET: sink.path, WATCHDOG_USEC: "200000", WATCHDOG_PID: "1" } });
    gws.push(a);
    await waitUntil(() => sink.with("READY", "1").length === 1, T(15000), "READY=1");
    // Outside systemd: no NOTIFY_SOCKET, so no datagram and no warning about one.
    const b = new Gateway({ dir, args, env: { NOTIFY_SOCKET: undefined, WATCHDOG_USEC: "200000" } });
    gws.push(b);
    await waitUntil(() => /serving 0 servers/.test(b.stderr), T(15000), "the second gateway to start");
    await sleep(T(1000)); // five periods of the watchdog that must not run
    assert.deepEqual(sink.with("WATCHDOG"), [], "no WATCHDOG=1 for a watchdog meant for another process");
    assert.ok(sink.messages.every((m) => m.pid === a.pid), "nothing from the gateway without NOTIFY_SOCKET");
    assert.doesNotMatch(a.stderr + b.stderr, /watchdog|NOTIFY_SOCKET|systemd/);
    await stopGateway(a);
    await stopGateway(b);
    gws.length = 0;
  } finally {
    for (const g of gws) killProcs([procStat(g.pid), ...g.known.values()].filter(Boolean));
    sink.stop();
    rmTmp(dir);
  }
});

/** A free loopback TCP port (bound then released: systemd-socket-activate cannot take port 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * systemd-socket-activate -l 127.0.0.1:PORT -l unix:PATH mcpgw serve ...: the sockets are made
 * and listened on first; the gateway starts on the first connection, as under a .socket unit.
 */
async function activate(dir, config, { fdnames, env = {} } = {}) {
  const sock = path.join(dir, "mcpgw.sock");
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = ["-l", `127.0.0.1:${port}`, "-l", sock];
    if (fdnames) args.push(`--fdname=${fdnames}`);
    // It passes on only TERM, PATH, USER and HOME, as systemd would give a unit a clean environment.
    const e = { XDG_STATE_HOME: path.join(dir, "state"), XDG_CONFIG_HOME: path.join(dir, "xdg"), ...env };
    for (const [k, v] of Object.entries(e)) args.push("-E", `${k}=${v}`);
    args.push(BIN, "serve", "-c", config, "--system-policy", "");
    const proc = spawn(ACTIVATE, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out = { stderr: "", proc, port, sock };
    proc.stderr.on("data", (c) => (out.stderr += c));
    proc.stdout.on("data", () => {});
    out.exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
    const listening = await Promise.race([
      waitUntil(() => /Listening on .*mcpgw\.sock as 4/.test(out.stderr), T(10000), "systemd-socket-activate to listen").then(() => true),
      out.exited.then(() => false),
    ]);
    if (listening) return out;
    if (attempt < 3 && /in use/i.test(out.stderr)) continue; // the free port was taken in between
    throw new Error(`systemd-socket-activate failed:\n${out.stderr}`);
  }
}

async function initializeOver(url, fetchImpl) {
  const client = new Client({ name: "sd-activate", version: "1" });
  const transport = new StreamableHTTPClientTransport(url, fetchImpl ? { fetch: fetchImpl } : undefined);
  await within(client.connect(transport), T(15000), "initialize through the activated socket");
  return { client, transport };
}

test("systemd: socket activation (TCP and unix, LISTEN_FDNAMES): the first connection starts the gateway, which answers initialize", { skip: !ACTIVATE && "systemd-socket-activate not installed" }, async () => {
  const dir = makeTmp("sd-act");
  const sink = new NotifySink(dir);
  let act;
  try {
    await within(sink.bound, T(5000), "notify_sink to bind");
    const config = writeConfig(dir, { version: 1, servers: { everything: servers.everything() } });
    act = await activate(dir, config, { fdnames: "web:local", env: { NOTIFY_SOCKET: sink.path } });
    // Nothing runs the gateway yet: systemd-socket-activate holds the sockets until a client comes.
    assert.doesNotMatch(act.stderr, /Execing/);
    assert.equal(fs.statSync(act.sock).isSocket(), true);

    const { client, transport } = await initializeOver(new URL(`http://127.0.0.1:${act.port}/mcp`));
    assert.equal(client.getServerVersion()?.name, "mcpgw");
    const tools = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes("everything__echo"), tools.join(","));
    // systemd-socket-activate execs in place: the gateway is the process it started.
    assert.equal(procStat(act.proc.pid)?.comm, "mcpgw");
    assert.match(act.stderr, new RegExp(`listening on 127\\.0\\.0\\.1:${act.port} \\(from systemd: web\\)`));
    assert.match(act.stderr, new RegExp(`listening on unix:${act.sock.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(from systemd: local\\)`));
    await waitUntil(() => sink.with("READY", "1").length === 1, T(10000), "READY=1");
    assert.equal(sink.with("READY", "1")[0].pid, act.proc.pid);
    assert.match(sink.with("READY", "1")[0].fields.STATUS, /on 2 listeners/);

    // The unix socket that systemd made serves too, with the same gateway.
    const dispatcher = new Agent({ connect: { socketPath: act.sock } });
    const u = await initializeOver(new URL("http://localhost/mcp"), (url, init) => fetch(url, { ...init, dispatcher }));
    const r = await u.client.callTool({ name: "everything__echo", arguments: { message: "activated" } });
    assert.equal(r.content[0].text, "Echo: activated");
    await u.transport.terminateSession();
    await u.client.close();
    await dispatcher.close();
    await transport.terminateSession();
    await client.close();

    const kids = descendants(act.proc.pid);
    act.proc.kill("SIGTERM");
    const st = await within(act.exited, T(10000), "exit after SIGTERM");
    assert.deepEqual(st, { code: 0, signal: null }, act.stderr);
    await waitUntil(() => kids.every((p) => !isAlive(p)), T(5000), "servers gone");
    act = null;
  } finally {
    if (act) {
      killProcs([procStat(act.proc.pid), ...descendants(act.proc.pid)].filter(Boolean));
    }
    sink.stop();
    rmTmp(dir);
  }
});

test("systemd: socket activation without names, and a passed socket that is not loopback is refused", { skip: !ACTIVATE && "systemd-socket-activate not installed" }, async () => {
  const dir = makeTmp("sd-act2");
  let act;
  try {
    const config = writeConfig(dir, { version: 1, servers: {} });
    act = await activate(dir, config);
    const { client, transport } = await initializeOver(new URL(`http://127.0.0.1:${act.port}/mcp`));
    assert.match(act.stderr, new RegExp(`listening on 127\\.0\\.0\\.1:${act.port} \\(from systemd\\)`));
    await transport.terminateSession();
    await client.close();
    act.proc.kill("SIGTERM");
    assert.deepEqual(await within(act.exited, T(10000), "exit"), { code: 0, signal: null });
    act = null;

    // A socket on every interface, passed by systemd, is held to the same rule as --listen.
    const port = await freePort();
    const p = spawn(ACTIVATE, ["-l", `0.0.0.0:${port}`, "-E", `XDG_STATE_HOME=${dir}/state`, BIN, "serve", "-c", config, "--system-policy", ""], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (c) => (err += c));
    const exited = new Promise((resolve) => p.on("exit", (code) => resolve(code)));
    act = { proc: p };
    await waitUntil(() => /Listening on/.test(err), T(10000), "listening");
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    const code = await within(exited, T(10000), "the gateway to refuse the socket");
    s.destroy();
    assert.equal(code, 1, err);
    assert.match(err, /not a loopback/);
    act = null;
  } finally {
    if (act) killProcs([procStat(act.proc.pid)].filter(Boolean));
    rmTmp(dir);
  }
});

