// Test harness for mcpgw integration tests: spawns the gateway (optionally under a wrapper such as
// valgrind), gives the SDK Client a transport over it, watches its process tree through /proc,
// and checks that it exits with status 0 when its stdin is closed.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const BIN = process.env.MCPGW_BIN || path.join(REPO, "build/mcpgw");
export const WRAPPER = (process.env.MCPGW_WRAPPER || "").split(" ").filter(Boolean);
/** True when the gateway binary is built with AddressSanitizer (memory figures mean nothing then). */
export const SANITIZED = (() => {
  try {
    return fs.readFileSync(BIN).includes("AddressSanitizer");
  } catch {
    return false;
  }
})();
/** Timing factor: generous under a wrapper (valgrind is ~20-50x slower), doubled under ASan. */
export const SCALE = Number(process.env.MCPGW_TIMEOUT_SCALE) || (WRAPPER.length ? 8 : SANITIZED ? 2 : 1);
/** Scales a time bound (ms) by SCALE. */
export const T = (ms) => Math.round(ms * SCALE);
export const NODE = process.execPath;
export const FIXTURES = path.join(REPO, "tests/fixtures");
export const EVERYTHING = path.join(REPO, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
export const FILESYSTEM = path.join(REPO, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
export const fixture = (name) => path.join(FIXTURES, name);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Upstream definitions for the config file. */
export const servers = {
  everything: (extra = {}) => ({ command: NODE, args: [EVERYTHING, "stdio"], ...extra }),
  filesystem: (dir, extra = {}) => ({ command: NODE, args: [FILESYSTEM, dir], ...extra }),
  faulty: (args = [], extra = {}) => ({ command: NODE, args: [fixture("faulty.mjs"), ...args], ...extra }),
  flood: (extra = {}) => ({ command: NODE, args: [fixture("flood.mjs")], ...extra }),
  names: (args = [], extra = {}) => ({ command: NODE, args: [fixture("names.mjs"), ...args], ...extra }),
  paged: (extra = {}) => ({ command: NODE, args: [fixture("paged.mjs")], ...extra }),
  rude: (args = [], extra = {}) => ({ command: NODE, args: [fixture("rude.mjs"), ...args], ...extra }),
};

// ---------------------------------------------------------------------------------------------
// YAML (block mappings; scalars as JSON, which is valid YAML)

function yamlScalar(v) {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return "null";
  throw new Error(`cannot write ${typeof v} as YAML`);
}

export function toYaml(obj, indent = 0) {
  const pad = " ".repeat(indent);
  let out = "";
  for (const [k, v] of Object.entries(obj)) {
    const key = /^[A-Za-z0-9_.-]+$/.test(k) ? k : JSON.stringify(k);
    if (Array.isArray(v)) {
      out += `${pad}${key}: [${v.map(yamlScalar).join(", ")}]\n`;
    } else if (v !== null && typeof v === "object") {
      if (Object.keys(v).length === 0) out += `${pad}${key}: {}\n`;
      else out += `${pad}${key}:\n${toYaml(v, indent + 2)}`;
    } else {
      out += `${pad}${key}: ${yamlScalar(v)}\n`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// temp dirs

export function makeTmp(tag = "t") {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mcpgw-it-${tag}-`));
}

/**
 * A path for a test artefact (records, cancel files...) in DIR/out: kept out of the directory
 * of the configuration file, which the gateway watches for changes.
 */
export function outFile(dir, name) {
  fs.mkdirSync(path.join(dir, "out"), { recursive: true });
  return path.join(dir, "out", name);
}

export function rmTmp(dir) {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// /proc

/** {comm, state, ppid, pgrp, starttime} of a process, or null when it does not exist. */
export function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const r = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { pid, comm: s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")), state: r[0], ppid: Number(r[1]), pgrp: Number(r[2]), starttime: r[19] };
  } catch {
    return null;
  }
}

/** True when the process (identified by pid and start time) still exists and is not a zombie. */
export function isAlive(p) {
  const s = procStat(p.pid);
  return s !== null && s.starttime === p.starttime && s.state !== "Z" && s.state !== "X";
}

/** Every descendant of pid (children, grandchildren, ...), as procStat records. */
export function descendants(pid) {
  const byParent = new Map();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const s = procStat(Number(e));
    if (!s) continue;
    if (!byParent.has(s.ppid)) byParent.set(s.ppid, []);
    byParent.get(s.ppid).push(s);
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    for (const c of byParent.get(p) || []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Waits until none of procs is alive; returns the ones still alive after ms. */
export async function waitGone(procs, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = procs.filter(isAlive);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await sleep(25);
  }
}

export function killProcs(procs) {
  for (const p of procs) {
    if (isAlive(p)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
}

/** Polls fn() until it returns a truthy value; throws after ms. Bound, not synchronisation. */
export async function waitUntil(fn, ms, what = "condition", every = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(every);
  }
}

/** Rejects when p does not settle within ms. */
export function within(p, ms, what = "operation") {
  let timer;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// the gateway process

const STDERR_CAP = 4 * 1024 * 1024;
/** The gateway's log line format (DESIGN: stderr lines `mcpgw: LEVEL: [who] message`). */
export const LOG_LINE = /^mcpgw: (error|warn|warning|info|debug): \[[^\]\n]+\] ./;
/** A configuration diagnostic (DESIGN §2: FILE:LINE:COL: key.path: message). */
export const CONFIG_DIAG = /^[^:\n]+:\d+:\d+: [^ ]+: ./;

export class Gateway extends EventEmitter {
  /**
   * @param {object} o
   * @param {string[]} o.args        arguments after the binary (default: run -c CONFIG --system-policy "")
   * @param {string}   o.dir         temp dir of the test (state and config homes live here)
   * @param {string}   [o.config]    config path (for the default args)
   * @param {string}   [o.stateHome] XDG_STATE_HOME (default dir/state)
   * @param {object}   [o.env]       extra environment
   */
  constructor(o) {
    super();
    this.setMaxListeners(0);
    const args = o.args ?? ["run", "-c", o.config, "--system-policy", ""];
    this.stateHome = o.stateHome ?? path.join(o.dir, "state");
    fs.mkdirSync(this.stateHome, { recursive: true });
    const env = { ...process.env, XDG_STATE_HOME: this.stateHome, XDG_CONFIG_HOME: path.join(o.dir, "xdg-config"), ...(o.env || {}) };
    delete env.MCPGW_CONFIG;
    delete env.NODE_TEST_CONTEXT;
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const argv = [...WRAPPER, BIN, ...args];
    this.argv = argv;
    this.startedAt = performance.now();
    this.proc = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env, cwd: o.cwd ?? o.dir });
    this.pid = this.proc.pid;
    this.self = procStat(this.pid);
    this.messages = []; // every parsed JSON-RPC message from stdout, in order
    this.badStdout = []; // stdout lines that are not JSON-RPC messages
    this.stderr = "";
    this.known = new Map(); // pid -> procStat of every descendant ever seen (for cleanup)
    this._buf = Buffer.alloc(0);
    this.exitStatus = null;
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
      this.proc.on("error", (err) => {
        this.spawnError = err;
        this.exitStatus = { code: null, signal: null, error: err };
        resolve(this.exitStatus);
      });
    });
    this.stdoutClosed = new Promise((resolve) => this.proc.stdout.on("close", resolve));
    this.stdoutClosed.then(() => {
      this.eof = true;
      this.emit("eof");
    });
    // Remember the process tree now and then, so that cleanup can find orphans after a crash.
    this._treeTimer = setInterval(() => {
      if (this.exitStatus === null) {
        try {
          this.tree();
        } catch {
          /* /proc race */
        }
      }
    }, 500);
    this._treeTimer.unref();
    this.exited.then(() => clearInterval(this._treeTimer));
    this.proc.stdin.on("error", () => {}); // EPIPE after the gateway died: reported through exit
    this.proc.stdout.on("data", (c) => this._onStdout(c));
    this.proc.stderr.on("data", (c) => {
      this.stderr += c.toString("utf8");
      if (this.stderr.length > STDERR_CAP) {
        this.stderr = this.stderr.slice(-STDERR_CAP / 2);
        this.stderr = this.stderr.slice(this.stderr.indexOf("\n") + 1); // whole lines only
      }
      this.emit("stderr");
    });
  }

  _onStdout(chunk) {
    // Partial lines wait in _parts (no re-copying of a long line on every chunk).
    if (chunk.indexOf(0x0a) < 0) {
      (this._parts ??= []).push(chunk);
      return;
    }
    if (this._parts?.length) {
      this._buf = Buffer.concat([this._buf, ...this._parts, chunk]);
      this._parts = [];
    } else {
      this._buf = this._buf.length ? Buffer.concat([this._buf, chunk]) : chunk;
    }
    for (;;) {
      const i = this._buf.indexOf(0x0a);
      if (i < 0) break;
      const line = this._buf.subarray(0, i).toString("utf8").replace(/\r$/, "");
      this._buf = this._buf.subarray(i + 1);
      let msg;
      try {
        msg = JSON.parse(line);
        if (Array.isArray(msg) && msg.length > 0) {
          // A batch reply (2025-03-26 clients): record it, then handle each element.
          (this.batches ??= []).push(msg);
          for (const m of msg) {
            JSONRPCMessageSchema.parse(m);
            this.messages.push(m);
            this.emit("message", m);
          }
          continue;
        }
        // Full schema validation, except for log notifications (floods), checked by shape.
        if (msg?.method === "notifications/message" && msg.jsonrpc === "2.0" && !("id" in msg) && typeof msg.params === "object") {
          /* ok */
        } else {
          JSONRPCMessageSchema.parse(msg);
        }
      } catch {
        // Error replies to unusable ids (null, or an echoed invalid id) are protocol output too.
        if (msg && msg.jsonrpc === "2.0" && msg.error && typeof msg.error === "object" && !("result" in msg)) {
          /* fall through as a message */
        } else {
          this.badStdout.push(line.slice(0, 300));
          continue;
        }
      }
      // Keep a bounded number of log notifications (floods); everything else is kept.
      if (msg.method === "notifications/message") {
        this.logCount = (this.logCount || 0) + 1;
        if (this.logCount <= 2000) this.messages.push(msg);
      } else {
        this.messages.push(msg);
      }
      this.emit("message", msg);
    }
  }

  /** Snapshot of the current descendants; remembered for cleanup. */
  tree() {
    const d = descendants(this.pid);
    for (const p of d) this.known.set(`${p.pid}:${p.starttime}`, p);
    return d;
  }

  sendRaw(data) {
    this.proc.stdin.write(data);
  }

  send(msg) {
    this.sendRaw(JSON.stringify(msg) + "\n");
  }

  /** Waits for a message matching pred (looking at messages from index `from` on). */
  waitFor(pred, ms, what = "message", from = 0) {
    for (let i = from; i < this.messages.length; i++) if (pred(this.messages[i])) return Promise.resolve(this.messages[i]);
    return new Promise((resolve, reject) => {
      const onMsg = (m) => {
        if (pred(m)) {
          cleanup();
          resolve(m);
        }
      };
      const onEof = () => {
        cleanup();
        reject(new Error(`gateway closed stdout (exit ${JSON.stringify(this.exitStatus)}) while waiting for ${what}; stderr tail:\n${this.stderrTail()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${ms} ms; stderr tail:\n${this.stderrTail()}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("message", onMsg);
        this.off("eof", onEof);
      };
      if (this.eof) return onEof();
      this.on("message", onMsg);
      this.on("eof", onEof);
    });
  }

  /** Sends a raw request object and waits for the response with the same id. */
  async request(msg, ms = T(5000)) {
    const from = this.messages.length;
    this.send(msg);
    return this.waitFor((m) => m.id === msg.id && ("result" in m || "error" in m), ms, `response to id ${JSON.stringify(msg.id)}`, from);
  }

  /** Does a raw initialize handshake. */
  async initialize(params = {}, ms = T(5000)) {
    const r = await this.request(
      {
        jsonrpc: "2.0",
        id: "init",
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw-test", version: "1" }, ...params },
      },
      ms,
    );
    this.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    return r;
  }

  stderrTail(n = 3000) {
    return this.stderr.slice(-n);
  }

  /** Closes stdin and waits for exit; returns the exit status or null on timeout. */
  async closeAndWait(ms) {
    this.proc.stdin.end();
    let timer;
    const st = await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(() => r(null), ms)))]);
    clearTimeout(timer);
    return st;
  }

  /** Kills the gateway and every descendant seen so far (by pid, checked against start time). */
  destroy() {
    try {
      if (this.exitStatus === null) this.tree();
    } catch {
      /* /proc race */
    }
    const all = [...this.known.values()];
    if (this.self) all.unshift(this.self);
    killProcs(all);
  }
}

// ---------------------------------------------------------------------------------------------
// SDK transport over a Gateway

export class GatewayTransport {
  constructor(gw) {
    this.gw = gw;
    this.sent = []; // every message the client sent, in order
  }

  setProtocolVersion(v) {
    this.protocolVersion = v;
  }

  async start() {
    if (this.gw.spawnError) throw this.gw.spawnError;
    // One message per macrotask: the SDK runs notification handlers in a microtask but handles
    // responses synchronously, so a progress notification and the response read in one chunk
    // would otherwise lose the progress (the handler is gone by then).
    this._queue = [];
    const drain = () => {
      const m = this._queue.shift();
      if (this._queue.length) setImmediate(drain);
      try {
        this.onmessage?.(m);
      } catch (e) {
        this.onerror?.(e);
      }
    };
    this._onMsg = (m) => {
      this._queue.push(m);
      if (this._queue.length === 1) setImmediate(drain);
    };
    this.gw.on("message", this._onMsg);
    this.gw.stdoutClosed.then(() => {
      this.gw.off("message", this._onMsg);
      const closeWhenDrained = () => (this._queue.length ? setImmediate(closeWhenDrained) : this.onclose?.());
      closeWhenDrained();
    });
  }

  async send(message) {
    if (this.gw.proc.stdin.destroyed || this.gw.proc.stdin.writableEnded) throw new Error("gateway stdin closed");
    this.sent.push(message);
    await new Promise((resolve, reject) => this.gw.proc.stdin.write(JSON.stringify(message) + "\n", (err) => (err ? reject(err) : resolve())));
  }

  /** Closing only ends stdin: the gateway must exit by itself. */
  async close() {
    this.gw.proc.stdin.end();
  }
}

// ---------------------------------------------------------------------------------------------
// sessions: config file + gateway + SDK client

export const ALL_CLIENT_CAPS = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };

/**
 * Starts a gateway on a config and connects an SDK Client.
 * @param {object} o
 * @param {object} o.servers       servers: mapping for the YAML
 * @param {object} [o.gateway]     gateway: mapping
 * @param {object} [o.defaults]    defaults: mapping
 * @param {object} [o.capabilities] client capabilities
 * @param {(client: Client) => void} [o.setup] called before connect (request handlers)
 * @param {string} [o.dir]         reuse a temp dir (e.g. to restart with the same state)
 * @param {boolean} [o.connect]    false: only spawn the gateway
 */
export async function openSession(o) {
  const ownDir = !o.dir;
  const dir = o.dir ?? makeTmp(o.tag ?? "s");
  const config = path.join(dir, o.configName ?? "config.yaml");
  const doc = {};
  if (o.gateway) doc.gateway = o.gateway;
  if (o.defaults) doc.defaults = o.defaults;
  doc.servers = o.servers;
  fs.writeFileSync(config, o.yaml ?? toYaml(doc));
  const gw = new Gateway({ dir, config, env: o.env, stateHome: o.stateHome });
  const s = new Session(dir, ownDir, config, gw);
  if (o.connect === false) return s;
  s.client = new Client({ name: "mcpgw-it", version: "1.0.0" }, { capabilities: o.capabilities ?? {} });
  o.setup?.(s.client);
  const t0 = performance.now();
  try {
    s.transport = new GatewayTransport(gw);
    await within(s.client.connect(s.transport), T(10000), "initialize");
  } catch (e) {
    s.destroy();
    throw new Error(`${e.message}\nargv: ${gw.argv.join(" ")}\nexit: ${JSON.stringify(gw.exitStatus)}\nstderr tail:\n${gw.stderrTail()}`);
  }
  s.initMs = performance.now() - t0;
  return s;
}

export class Session {
  constructor(dir, ownDir, config, gw) {
    this.dir = dir;
    this.ownDir = ownDir;
    this.config = config;
    this.gw = gw;
    this.client = null;
  }

  /** Exposed tools by name. */
  async tools() {
    const r = await this.client.listTools();
    return new Map(r.tools.map((t) => [t.name, t]));
  }

  /** Text of the first text content item of a tools/call result. */
  static text(result) {
    return (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
  }

  async call(name, args = {}, opts = {}) {
    return this.client.callTool({ name, arguments: args }, undefined, { timeout: T(30000), ...opts });
  }

  async callText(name, args = {}, opts = {}) {
    return Session.text(await this.call(name, args, opts));
  }

  /**
   * Closes the client's side (stdin EOF) and asserts: the gateway exits with status 0 within
   * `ms`, every descendant it had is gone within the same bound, and stdout carried only
   * JSON-RPC messages.
   */
  async shutdown(ms = T(5000)) {
    const kids = this.gw.tree();
    const t0 = performance.now();
    if (this.client) {
      await this.client.close(); // ends stdin only
    }
    const st = await this.gw.closeAndWait(ms);
    const left = await waitGone(kids, Math.max(0, ms - (performance.now() - t0)));
    assert.ok(st, `gateway did not exit within ${ms} ms of stdin EOF; stderr tail:\n${this.gw.stderrTail()}`);
    assert.deepEqual(
      { code: st.code, signal: st.signal },
      { code: 0, signal: null },
      `gateway exit status after stdin EOF; stderr tail:\n${this.gw.stderrTail()}`,
    );
    assert.deepEqual(left.map((p) => p.pid), [], `descendants still alive ${ms} ms after stdin EOF`);
    assert.deepEqual(this.gw.badStdout, [], "stdout must carry only JSON-RPC messages");
    // Valgrind's own lines (==PID== reports, --PID-- notes such as an unknown system call) are not
    // the gateway's.
    const badLog = this.gw.stderr.split("\n").filter((l) => l !== "" && !LOG_LINE.test(l) && !CONFIG_DIAG.test(l) && !/^(==|--)\d+(==|--)/.test(l));
    assert.deepEqual(badLog.slice(0, 5).map((l) => l.slice(0, 200)), [], "every stderr line is `mcpgw: LEVEL: [who] message`");
    return st;
  }

  /** Kills whatever is left and removes the temp dir (unless it was passed in). */
  destroy({ keepDir = false } = {}) {
    this.gw?.destroy();
    if (this.ownDir && !keepDir) rmTmp(this.dir);
  }
}

/** Runs `mcpgw ARGS` to completion; returns {code, signal, stdout, stderr}. */
export function runGateway(args, { dir, env = {}, timeout = T(20000) } = {}) {
  return new Promise((resolve, reject) => {
    const e = { ...process.env, ...env };
    delete e.MCPGW_CONFIG;
    if (dir) {
      e.XDG_STATE_HOME = path.join(dir, "state");
      e.XDG_CONFIG_HOME = path.join(dir, "xdg-config");
    }
    const argv = [...WRAPPER, BIN, ...args];
    const p = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: e, cwd: dir });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c) => (stdout += c));
    p.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* gone */
      }
      reject(new Error(`mcpgw ${args.join(" ")} did not finish within ${timeout} ms`));
    }, timeout);
    p.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Asserts that p rejects with a JSON-RPC error of the given code (and message pattern). */
export async function rejectsCode(p, code, re, what = "request") {
  let err;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: expected JSON-RPC error ${code}, got a result`);
  assert.equal(err.code, code, `${what}: error code (message: ${err.message})`);
  if (re) assert.match(err.message, re, `${what}: error message`);
  return err;
}

/** Reads JSON lines from a file (missing file = []). */
export function readJsonLines(file) {
  let s;
  try {
    s = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return s
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** The JSON-RPC messages a fixture recorded (--record FILE); lines that are not JSON are skipped. */
export function recorded(file) {
  let s;
  try {
    s = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out = [];
  for (const l of s.split("\n")) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** Lists an upstream's tools directly (no gateway), with the given client capabilities. */
export async function directTools(def, capabilities = {}) {
  const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
  const t = new StdioClientTransport({ command: def.command, args: def.args, stderr: "ignore" });
  const c = new Client({ name: "mcpgw-it-direct", version: "1.0.0" }, { capabilities });
  try {
    await within(c.connect(t), T(15000), "direct connect");
    return (await c.listTools()).tools;
  } finally {
    await c.close().catch(() => {});
  }
}

/** fnmatch(3) with flags 0, for * ? and [...] (as the gateway's globs). */
export function fnmatch(glob, s) {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const j = glob.indexOf("]", i + 2);
      if (j < 0) re += "\\[";
      else {
        let body = glob.slice(i + 1, j);
        if (body[0] === "!") body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(re + "$", "s").test(s);
}
