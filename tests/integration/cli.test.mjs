// Issue 14 items 4, 5 and 6: the command line as people type it (options before or after the
// command, COMMAND --help, "did you mean", -V, shell completion), the messages and exit codes of a
// missing configuration, and the progress of the commands that start servers (on a terminal, under
// `script`, and never on a pipe unless -v).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, REPO, T, WRAPPER, makeTmp, rmTmp, servers, toYaml } from "./lib/harness.mjs";

/** Runs the binary with exactly this environment on top of ours (MCPGW_CONFIG kept when given). */
function run(args, { dir, env = {}, timeout = T(30000) } = {}) {
  return new Promise((resolve, reject) => {
    const e = { ...process.env, XDG_STATE_HOME: path.join(dir, "state"), XDG_CONFIG_HOME: path.join(dir, "xdg-config") };
    delete e.MCPGW_CONFIG;
    delete e.NODE_TEST_CONTEXT;
    Object.assign(e, env);
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
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

/** Under a pseudo-terminal: `script -qec CMD /dev/null` (util-linux); output is what the terminal got. */
function runTty(args, { dir, timeout = T(60000) } = {}) {
  const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
  const cmd = [...WRAPPER, BIN, ...args].map(q).join(" ");
  return new Promise((resolve, reject) => {
    const e = { ...process.env, XDG_STATE_HOME: path.join(dir, "state"), XDG_CONFIG_HOME: path.join(dir, "xdg-config") };
    delete e.MCPGW_CONFIG;
    delete e.NODE_TEST_CONTEXT;
    const p = spawn("script", ["-qec", cmd, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"], env: e, cwd: dir });
    let out = "";
    p.stdout.on("data", (c) => (out += c));
    p.stderr.on("data", (c) => (out += c));
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`script ${cmd} did not finish within ${timeout} ms`));
    }, timeout);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out: out.replace(/\r\n/g, "\n") });
    });
  });
}

const hasScript = spawnSync("script", ["--version"]).status === 0;

function withDir(tag, fn) {
  return async () => {
    const dir = makeTmp(`cli-${tag}`);
    try {
      await fn(dir);
    } finally {
      rmTmp(dir);
    }
  };
}

function writeConfig(dir, srv) {
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, toYaml({ servers: srv }));
  return file;
}

// ---------------------------------------------------------------------------------------------
// item 6: the command line

test("common options before or after the command mean the same", { timeout: T(30000) }, withDir("order", async (dir) => {
  const file = writeConfig(dir, { local: { command: "/bin/true" } });
  for (const args of [
    ["-c", file, "--system-policy", "", "login", "local"],
    ["login", "local", "-c", file, "--system-policy", ""],
    [`--config=${file}`, "login", "--system-policy=", "local"],
  ]) {
    const r = await run(args, { dir });
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    // the server was found in FILE: the options reached the command wherever they stood
    assert.match(r.stderr, /mcpgw login: server 'local' does not use OAuth/, args.join(" "));
  }
  const before = await run(["-c", file, "--system-policy", "", "check"], { dir });
  const after = await run(["check", "-c", file, "--system-policy", ""], { dir });
  assert.equal(before.code, 0, before.stdout + before.stderr);
  assert.equal(before.stdout, after.stdout);
  assert.match(before.stdout, /configuration OK \(1 server\)/);
}));

test("every command answers COMMAND --help with its own usage and options, exit 0", { timeout: T(60000) }, withDir("help", async (dir) => {
  const top = await run(["--help"], { dir });
  assert.equal(top.code, 0);
  const names = [...top.stdout.matchAll(/^  mcpgw (\S+) /gm)].map((m) => m[1]);
  for (const want of ["run", "check", "tools", "doctor", "login", "logout", "pin", "version", "help"]) assert.ok(names.includes(want), `${want} listed:\n${top.stdout}`);
  for (const name of names) {
    for (const flag of ["--help", "-h"]) {
      const r = await run([name, flag], { dir });
      assert.equal(r.code, 0, `${name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: mcpgw ${name} `), `${name} ${flag}:\n${r.stdout}`);
      // every option of its usage line is explained below it, and the common ones too
      const usage = r.stdout.split("\n")[0];
      for (const opt of usage.match(/--[a-z-]+/g) || []) assert.match(r.stdout.split("\n").slice(1).join("\n"), new RegExp(`^\\s+(-\\w, )?${opt}\\b`, "m"), `${name}: ${opt} explained`);
      assert.match(r.stdout, /--system-policy PATH/);
      assert.match(r.stdout, /-v, --verbose/);
    }
  }
  const pin = await run(["pin", "--help"], { dir });
  assert.match(pin.stdout, /3 a tool is withheld/, "pin's help says its exit status");
  const h = await run(["help", "tools"], { dir });
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^usage: mcpgw tools /);
}));

test("an unknown command gets 'did you mean' and exit 1; -V and --version print the version", { timeout: T(30000) }, withDir("typo", async (dir) => {
  const r = await run(["chek"], { dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown command 'chek'; did you mean 'check'\?/);
  const d = await run(["docter", "x"], { dir });
  assert.equal(d.code, 1);
  assert.match(d.stderr, /did you mean 'doctor'\?/);
  const file = writeConfig(dir, { github: { command: "/nonexistent/server" } });
  const srv = await run(["doctor", "githb", "-c", file, "--system-policy", ""], { dir });
  assert.equal(srv.code, 1);
  assert.equal(srv.stderr, "mcpgw doctor: no server named 'githb'; did you mean 'github'?\n", "said before anything starts");
  const far = await run(["frobnicate"], { dir });
  assert.equal(far.code, 1);
  assert.match(far.stderr, /unknown command 'frobnicate'/);
  assert.doesNotMatch(far.stderr, /did you mean/);
  const opt = await run(["tools", "--bogus"], { dir });
  assert.equal(opt.code, 1);
  assert.match(opt.stderr, /mcpgw tools: unknown option '--bogus' \(mcpgw tools --help lists them\)/);
  const acc = await run(["pin", "--accept"], { dir });
  assert.equal(acc.code, 1, "--accept without its value is a usage error, not ignored");
  assert.match(acc.stderr, /mcpgw pin: --accept needs SERVER or SERVER\/TOOL/);
  const versions = await Promise.all([["-V"], ["--version"], ["version"]].map((a) => run(a, { dir })));
  for (const v of versions) {
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^mcpgw \d+\.\d+\.\d+\n$/);
  }
  assert.equal(versions[0].stdout, versions[2].stdout);
}));

test("bash completion loads and completes commands, options and server names", { timeout: T(30000) }, withDir("complete", async (dir) => {
  const file = writeConfig(dir, { alpha: { command: "/bin/true" }, beta: { command: "/bin/true" } });
  const script = path.join(REPO, "conf/completion/mcpgw.bash");
  const complete = (words, cword) => {
    const r = spawnSync("bash", ["-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=${cword}; _mcpgw; printf '%s\\n' "\${COMPREPLY[@]}"`, "bash", script, ...words], { encoding: "utf8", env: { ...process.env, XDG_CONFIG_HOME: path.join(dir, "x") } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").filter(Boolean).sort();
  };
  assert.deepEqual(complete(["mcpgw", "ch"], 1), ["check"]);
  assert.deepEqual(complete(["mcpgw", "-c", file, "lo"], 3), ["login", "logout"]);
  assert.deepEqual(complete(["mcpgw", "tools", "--"], 2).filter((o) => ["--all", "--json"].includes(o)), ["--all", "--json"]);
  // options are asked of the binary being completed: every option of a command's --help
  assert.deepEqual(complete([BIN, "check", "--s"], 2), ["--strict", "--system-policy"]);
  assert.deepEqual(complete([BIN, "pin", "--ac"], 2), ["--accept"]);
  assert.deepEqual(complete([BIN, "doctor", "-c", file, "--system-policy", "", ""], 6), ["alpha", "beta"]);
  // the command list is the binary's (asked of it), and a fixed one when it cannot be run
  const top = await run(["--help"], { dir });
  const names = [...top.stdout.matchAll(/^  mcpgw (\S+) /gm)].map((m) => m[1]).sort();
  assert.deepEqual(complete([BIN, ""], 1), names);
  assert.deepEqual(complete(["/nonexistent/mcpgw", "ch"], 1), ["check"]);
}));

// ---------------------------------------------------------------------------------------------
// item 5: a missing configuration

test("tools without any configuration file says where it looked and exits 1", { timeout: T(30000) }, withDir("noconf", async (dir) => {
  const r = await run(["tools", "--system-policy", ""], { dir });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /no configuration file; looked at:/);
  assert.match(r.stderr, new RegExp(`${path.join(dir, "xdg-config", "mcpgw", "config.yaml").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(from \\$XDG_CONFIG_HOME\\): does not exist`));
  assert.match(r.stderr, /\$MCPGW_CONFIG +not set/);
  assert.equal(r.stdout, "");
}));

test("a misspelt $MCPGW_CONFIG is an error (exit 1), for every command that reads the configuration", { timeout: T(30000) }, withDir("envconf", async (dir) => {
  const missing = path.join(dir, "confg.yaml");
  for (const cmd of [["check"], ["tools"], ["doctor"], ["run"]]) {
    const r = await run([...cmd, "--system-policy", ""], { dir, env: { MCPGW_CONFIG: missing } });
    assert.equal(r.code, 1, `${cmd}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`\\$MCPGW_CONFIG names .*confg\\.yaml, which does not exist`), cmd.join(" "));
  }
  // an existing one is used as -c would be
  const file = writeConfig(dir, { one: { command: "/bin/true" } });
  const ok = await run(["check", "--system-policy", ""], { dir, env: { MCPGW_CONFIG: file } });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /configuration OK \(1 server\)/);
}));

test("a server that fails is logged in words with the next step, not as a state change", { timeout: T(30000) }, withDir("faillog", async (dir) => {
  const file = writeConfig(dir, { broken: { command: "/nonexistent/server" } });
  const t = await run(["tools", "-c", file, "--system-policy", ""], { dir });
  assert.equal(t.code, 2, t.stderr);
  assert.match(t.stderr, /mcpgw: error: \[broken\] server broken failed: cannot execute \/nonexistent\/server: No such file or directory \(next: mcpgw doctor broken\)/);
  assert.match(t.stderr, /mcpgw tools: 1 server not ready, its tools not listed: broken \(failed\); mcpgw doctor NAME says why\n/);
  assert.equal(t.stderr.split("server broken failed").length, 2, `the reason said once:\n${t.stderr}`);
  // the running gateway's log line
  const argv = [...WRAPPER, BIN, "run", "-c", file, "--system-policy", ""];
  const p = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], cwd: dir, env: { ...process.env, XDG_STATE_HOME: path.join(dir, "state") } });
  let err = "";
  p.stderr.on("data", (c) => (err += c));
  const deadline = Date.now() + T(10000);
  while (!/next: mcpgw doctor broken/.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  p.stdin.end();
  await new Promise((r) => p.on("close", r));
  assert.match(err, /mcpgw: error: \[broken\] server broken failed: cannot execute \/nonexistent\/server: No such file or directory \(next: mcpgw doctor broken\)/);
  assert.doesNotMatch(err, /state \w+ -> failed/);
}));

test("a server that exits at once is reported by its exit status, not by the initialize it could not send", { timeout: T(30000) }, withDir("exitlog", async (dir) => {
  const file = writeConfig(dir, { dies: { command: "/bin/sh", args: ["-c", "exit 3"] } });
  const argv = [...WRAPPER, BIN, "run", "-c", file, "--system-policy", ""];
  const p = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], cwd: dir, env: { ...process.env, XDG_STATE_HOME: path.join(dir, "state") } });
  let err = "";
  p.stderr.on("data", (c) => (err += c));
  p.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }) + "\n");
  const deadline = Date.now() + T(15000);
  while ((err.match(/exited \(status 3\)/g) || []).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  p.stdin.end();
  await new Promise((r) => p.on("close", r));
  assert.match(err, /mcpgw: warn: \[dies\] server 'dies' exited \(status 3\); restarting in \d+ ms \(attempt 1 of 5\)/);
  assert.doesNotMatch(err, /cannot send initialize/, "the exit status is the reason, said once per attempt");
}));

// ---------------------------------------------------------------------------------------------
// item 4: progress

const fleet = () => ({
  fast: servers.faulty(["--name", "fast"]),
  slow: servers.faulty(["--name", "slow", "--delay-ms", "6000"]),
  broken: { command: "/nonexistent/server" },
});

test("tools on a terminal names the servers it waits for, one line per server as it comes up", { timeout: T(90000), skip: hasScript ? false : "no script(1)" }, withDir("tty", async (dir) => {
  const file = writeConfig(dir, fleet());
  const r = await runTty(["tools", "-c", file, "--system-policy", ""], { dir });
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /Starting 3 servers \(waiting up to \d+ s\): fast, slow, broken\n/);
  assert.match(r.out, /^  broken: failed after \d+\.\d s: cannot execute \/nonexistent\/server/m);
  assert.match(r.out, /^  fast: ready after \d+\.\d s \(\d+ tools?\)$/m);
  assert.match(r.out, /^  still waiting for slow \(\d+ s\)$/m, "the slow one is named while awaited");
  assert.match(r.out, /^  slow: ready after \d+\.\d s/m);
  // in the order they came: fast before slow
  assert.ok(r.out.indexOf("fast: ready") < r.out.indexOf("slow: ready"), r.out);
  assert.match(r.out, /^fast__echo/m, "the list itself still comes");
}));

test("doctor and tools --all tell their progress on a terminal too", { timeout: T(60000), skip: hasScript ? false : "no script(1)" }, withDir("tty2", async (dir) => {
  const file = writeConfig(dir, { fast: servers.faulty(["--name", "fast"]) });
  for (const args of [["doctor"], ["tools", "--all"]]) {
    const r = await runTty([...args, "-c", file, "--system-policy", ""], { dir });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Starting 1 server \(waiting up to \d+ s\): fast\n  fast: ready after/, args.join(" "));
  }
}));

test("on a pipe nothing of the progress is printed, unless -v", { timeout: T(60000) }, withDir("pipe", async (dir) => {
  const file = writeConfig(dir, { fast: servers.faulty(["--name", "fast"]), broken: { command: "/nonexistent/server" } });
  const quiet = await run(["tools", "-c", file, "--system-policy", ""], { dir });
  assert.equal(quiet.code, 2, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /Starting|ready after|failed after|still waiting/);
  assert.match(quiet.stdout, /^fast__echo/m);
  const loud = await run(["-v", "tools", "-c", file, "--system-policy", ""], { dir });
  assert.equal(loud.code, 2, loud.stderr);
  assert.match(loud.stderr, /Starting 2 servers \(waiting up to \d+ s\): fast, broken\n/);
  assert.match(loud.stderr, /^  fast: ready after \d+\.\d s/m);
  assert.equal(loud.stdout, quiet.stdout, "stdout carries only the list, either way");
}));
