// Issue 14 item 4, last clause: once `mcpgw serve` runs for the user, `mcpgw tools` and
// `mcpgw doctor` ask it (GET /status on its unix socket) instead of starting every server again;
// -c FILE and --no-service start the servers from that file; without the service they fall back;
// --service asks it explicitly and fails clearly when it is not there; /status is not on TCP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import {
  BIN, WRAPPER, NODE, EVERYTHING, Gateway, T, makeTmp, outFile, rmTmp, sleep, toYaml, waitUntil,
} from "./lib/harness.mjs";

/** The binary with XDG_RUNTIME_DIR (the per-user socket's place) and config homes in dir. */
function run(args, { dir, env = {}, timeout = T(60000) } = {}) {
  return new Promise((resolve, reject) => {
    const e = {
      ...process.env, XDG_RUNTIME_DIR: dir, XDG_STATE_HOME: path.join(dir, "state"),
      XDG_CONFIG_HOME: path.join(dir, "xdg-config"), ...env,
    };
    delete e.MCPGW_CONFIG;
    delete e.NODE_TEST_CONTEXT;
    const argv = [...WRAPPER, BIN, ...args];
    const p = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: e, cwd: dir });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c) => (stdout += c));
    p.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`mcpgw ${args.join(" ")} did not finish within ${timeout} ms`));
    }, timeout);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function get(socketPath, p, port) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, host: "127.0.0.1", port, path: p, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.setTimeout(T(10000), () => req.destroy(new Error("GET timed out")));
    req.end();
  });
}

/**
 * A temp dir whose default config file (xdg-config/mcpgw/config.yaml) has server-everything
 * behind a shell that writes one line to `starts` each time the server is started: the number of
 * starts says who started it, whatever else runs on the machine.
 */
function setup() {
  const dir = makeTmp("clisvc");
  const starts = outFile(dir, "starts");
  const config = path.join(dir, "xdg-config", "mcpgw", "config.yaml");
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(config, toYaml({
    servers: {
      everything: { command: "/bin/sh", args: ["-c", `echo x >> '${starts}'; exec '${NODE}' '${EVERYTHING}' stdio`] },
    },
  }));
  const nstarts = () => (fs.existsSync(starts) ? fs.readFileSync(starts, "utf8").split("\n").filter(Boolean).length : 0);
  return { dir, config, nstarts, sock: path.join(dir, "mcpgw.sock") };
}

async function startServe(s) {
  const gw = new Gateway({
    dir: s.dir, env: { XDG_RUNTIME_DIR: s.dir },
    args: ["serve", "-c", s.config, "--system-policy", "", "--listen", `unix:${s.sock}`, "--listen", "127.0.0.1:0"],
  });
  let tcp;
  await waitUntil(() => {
    tcp ??= gw.stderr.match(/listening on 127\.0\.0\.1:(\d+)/)?.[1];
    return (tcp && gw.stderr.includes(`listening on unix:${s.sock}`)) || gw.exitStatus !== null;
  }, T(10000), "serve to listen");
  assert.equal(gw.exitStatus, null, gw.stderrTail());
  await waitUntil(() => s.nstarts() === 1, T(10000), "the service to start its server");
  return { gw, port: Number(tcp) };
}

async function stopServe(gw) {
  gw.proc.kill("SIGTERM");
  const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
  assert.ok(st, `serve did not exit after SIGTERM:\n${gw.stderrTail()}`);
}

const FROM_SERVICE = /^mcpgw (tools|doctor): from the running service at unix:\S+mcpgw\.sock /m;

test("tools and doctor ask the running service; -c and --no-service start their own servers", async () => {
  const s = setup();
  const { gw, port } = await startServe(s);
  try {
    // No -c: the service answers (its server may still be starting: tools waits for it).
    let r = await run(["tools", "--system-policy", ""], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, FROM_SERVICE);
    assert.equal(r.stderr.match(/from the running service/g).length, 1, "one line");
    assert.match(r.stdout, /^everything__echo +Echoes back the input string$/m);
    assert.equal(s.nstarts(), 1, "tools started no server of its own");

    r = await run(["tools", "--json"], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    assert.ok(list.some((t) => t.name === "everything__echo" && t.inputSchema), r.stdout);

    r = await run(["tools", "--all", "--json"], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    const all = JSON.parse(r.stdout);
    assert.ok(all.some((t) => t.server === "everything" && t.name === "echo" && t.exposed === "everything__echo"), r.stdout);

    r = await run(["doctor"], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, FROM_SERVICE);
    assert.match(r.stdout, /^everything:\n {2}state: +ready\n/m);
    assert.match(r.stdout, /^ {2}transport: +stdio$/m);
    assert.match(r.stdout, /^ {2}protocol: +\d{4}-\d{2}-\d{2}$/m);
    assert.match(r.stdout, /^ {2}tools: +\d+$/m);
    assert.ok(!r.stdout.includes(s.dir + "/state"), "nothing of the service's state dir");

    r = await run(["doctor", "evrything"], { dir: s.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no server named 'evrything'; did you mean 'everything'\?/);

    // Explicit address, both spellings.
    r = await run(["tools", "--service", `unix:${s.sock}`, "--json"], { dir: s.dir, env: { XDG_RUNTIME_DIR: "/nonexistent" } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, FROM_SERVICE);
    r = await run(["doctor", `--service=${s.sock}`, "everything"], { dir: s.dir, env: { XDG_RUNTIME_DIR: undefined } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /state: +ready/);
    assert.equal(s.nstarts(), 1, "no server started by any of the above");

    // -c FILE: that file's servers, started here.
    r = await run(["tools", "-c", s.config, "--system-policy", ""], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /running service/);
    assert.match(r.stdout, /^everything__echo /m);
    assert.equal(s.nstarts(), 2, "-c started the server itself");

    r = await run(["doctor", "--no-service", "--system-policy", ""], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /running service/);
    assert.match(r.stdout, /state: +ready/);
    assert.equal(s.nstarts(), 3, "--no-service started the server itself");

    // The status is served on the unix socket only, never on TCP.
    const u = await get(s.sock, "/status");
    assert.equal(u.status, 200);
    const srv = JSON.parse(u.body).servers;
    assert.deepEqual(srv.map((x) => [x.name, x.state, x.command]), [["everything", "ready", "/bin/sh"]]);
    assert.ok(!/"(args|env|headers)"/.test(JSON.stringify(srv)), "a command without its arguments, no env");
    const t = await get(undefined, "/status", port);
    assert.equal(t.status, 404);
  } finally {
    await stopServe(gw);
  }
  try {
    // The service gone: back to starting the servers, said only with -v.
    let r = await run(["tools", "--system-policy", ""], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /service/);
    assert.match(r.stdout, /^everything__echo /m);
    assert.equal(s.nstarts(), 4);

    r = await run(["doctor", "-v", "--system-policy", ""], { dir: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^mcpgw doctor: no service (answers )?at unix:\S+ \(.+\); starting the servers here$/m);
    assert.match(r.stdout, /state: +ready/);

    // Asked for explicitly, its absence is an error that says what to do.
    r = await run(["tools", "--service"], { dir: s.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^mcpgw tools: cannot ask the service at unix:\S+mcpgw\.sock: .*without --service the servers are started here/m);
    r = await run(["tools", "--service=127.0.0.1:8750"], { dir: s.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--service takes unix:\/PATH or \/PATH/);
  } finally {
    rmTmp(s.dir);
  }
});
