// Helpers for the remote-server tests: start tests/fixtures/http/server.mjs (an SDK-built MCP
// server on 127.0.0.1), read its port from stdout, stop it by pid, restart it on the same port.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, FIXTURES, NODE, T, isAlive, procStat, sleep } from "./harness.mjs";

export const HTTP_SERVER = path.join(FIXTURES, "http/server.mjs");
/** The build tree of the gateway under test (build/, build-asan/, ...): its plugins sit next to it. */
const BUILD_DIR = process.env.MCPGW_BUILD_DIR || path.dirname(BIN);
export const PLUGIN_BUILD = path.join(BUILD_DIR, "plugins");
export const TEST_PLUGIN_BUILD = path.join(BUILD_DIR, "tests/plugins");

/** A running fixture server. */
export class HttpServer {
  constructor(args, o = {}) {
    this.args = args;
    this.o = o;
  }

  /** Starts the process (on this.port when it was started before); resolves once it listens. */
  start(port = this.port ?? 0) {
    const argv = [HTTP_SERVER, "--port", String(port), "--lifetime-ms", String(this.o.lifetimeMs ?? T(180000)), ...this.args];
    this.proc = spawn(NODE, argv, { stdio: ["ignore", "pipe", "pipe"] });
    this.stderr = "";
    this.proc.stderr.on("data", (c) => (this.stderr += c));
    this.exited = new Promise((r) => this.proc.on("exit", r));
    return new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`fixture server did not listen within 10 s: ${this.stderr}`)), T(10000));
      this.proc.stdout.on("data", (c) => {
        out += c;
        const m = /PORT (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          this.stat = procStat(this.proc.pid);
          resolve(this);
        }
      });
      this.proc.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`fixture server exited (${code}) before listening: ${this.stderr}`));
      });
    });
  }

  get pid() {
    return this.proc.pid;
  }

  /** The URL an mcpgw config points at. */
  get url() {
    const a = this.args;
    const scheme = a.includes("--tls-cert") ? "https" : "http";
    const p = a.join(" ").includes("--transport sse") ? "/sse" : a.includes("--path") ? a[a.indexOf("--path") + 1] : "/mcp";
    return `${scheme}://127.0.0.1:${this.port}${p}`;
  }

  /** Kills the process (by pid) and waits for it to be gone. */
  async stop(signal = "SIGKILL") {
    if (this.stat && isAlive(this.stat)) {
      try {
        process.kill(this.proc.pid, signal);
      } catch {
        /* gone */
      }
      await this.exited;
    }
  }

  /** Kills and starts it again on the same port (a server restart). */
  async restart() {
    await this.stop();
    // the port was ours a moment ago; another process taking it in between is not expected
    for (let i = 0; ; i++) {
      try {
        return await this.start(this.port);
      } catch (e) {
        if (i >= 5) throw e;
        await sleep(100);
      }
    }
  }
}

export async function startServer(args = [], o = {}) {
  return new HttpServer(args, o).start();
}

/** Stops every server given (ignores failures). */
export async function stopAll(servers) {
  await Promise.all(servers.filter(Boolean).map((s) => s.stop().catch(() => {})));
}

/** The request records of a --record file. */
export function records(file) {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** Writes a secret file with the given mode. */
export function writeSecret(file, text, mode = 0o600) {
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
}
