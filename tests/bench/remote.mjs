// remote.mjs: tools/call latency to a Streamable HTTP MCP server (tests/fixtures/http/server.mjs,
// SDK-built, on 127.0.0.1), direct over HTTP with the SDK client and through mcpgw over stdio,
// interleaved call by call so that both see the same machine state; and, as a floor, the same
// call as a bare keep-alive HTTP POST from node:http (no MCP client at all). Prints one line per
// target and the ratios of the medians (through mcpgw / direct, through mcpgw / bare POST).
//   node tests/bench/remote.mjs [--n N] [--warmup N] [--json] [--gw PATH]
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const o = { n: 1000, warmup: 100, json: false, gw: process.env.MCPGW_BIN || path.join(ROOT, "build/mcpgw") };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--n") o.n = Number(process.argv[++i]);
  else if (a === "--warmup") o.warmup = Number(process.argv[++i]);
  else if (a === "--json") o.json = true;
  else if (a === "--gw") o.gw = process.argv[++i];
  else throw new Error(`unknown argument ${a}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mcpgw-bench-remote-"));
const server = spawn(process.execPath, [path.join(ROOT, "tests/fixtures/http/server.mjs"), "--name", "b", "--lifetime-ms", "900000", ...(o.json ? ["--json"] : [])], {
  stdio: ["ignore", "pipe", "inherit"],
});
const cleanup = () => {
  try {
    process.kill(server.pid, "SIGKILL");
  } catch {
    /* gone */
  }
  fs.rmSync(tmp, { recursive: true, force: true });
};
process.on("exit", cleanup);
// remote.sh bounds the run with timeout(1): on its SIGTERM end like on any exit, so that the server
// is ended by its pid (and mcpgw, whose stdin closes with this process).
process.on("SIGTERM", () => {
  console.error("bench remote: out of time");
  process.exit(1);
});
const port = await new Promise((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (c) => {
    out += c;
    const m = /PORT (\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  server.on("exit", () => reject(new Error("the bench server exited")));
});
const url = `http://127.0.0.1:${port}/mcp`;

const direct = new Client({ name: "bench-direct", version: "1" });
await direct.connect(new StreamableHTTPClientTransport(new URL(url)));

// the bare floor: its own session, a keep-alive agent, the body read to its end
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function post(body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers } }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, data }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
const init = await post({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench-raw", version: "1" } } });
const rawHeaders = { "Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18" };
await post({ jsonrpc: "2.0", method: "notifications/initialized" }, rawHeaders);
let rawId = 1;
const rawCall = async () => {
  const r = await post({ jsonrpc: "2.0", id: rawId++, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } }, rawHeaders);
  return { content: [{ text: r.status === 200 && r.data.includes('"b:x"') ? "b:x" : r.data }] };
};

const cfg = path.join(tmp, "config.yaml");
fs.writeFileSync(cfg, `version: 1\ngateway:\n  log_level: warn\nservers:\n  b:\n    url: ${JSON.stringify(url)}\n`);
const viaGw = new Client({ name: "bench-gw", version: "1" });
await viaGw.connect(
  new StdioClientTransport({
    command: o.gw,
    args: ["run", "-c", cfg, "--system-policy", ""],
    env: { ...process.env, XDG_STATE_HOME: path.join(tmp, "state"), XDG_CONFIG_HOME: path.join(tmp, "config") },
    stderr: "inherit",
  }),
);
// the first tools/list waits for the server to be ready
const names = (await viaGw.listTools()).tools.map((t) => t.name);
if (!names.includes("b__echo")) throw new Error(`b__echo not exposed: ${names.join(",")}`);

const call = (c, name) => c.callTool({ name, arguments: { text: "x" } });
const lat = { direct: [], gw: [], raw: [] };
const orders = [["direct", "gw", "raw"], ["gw", "raw", "direct"], ["raw", "direct", "gw"]];
for (let i = 0; i < o.warmup + o.n; i++) {
  // rotate which goes first, so none always runs on a warmer cache
  for (const which of orders[i % 3]) {
    const t0 = performance.now();
    const r = which === "raw" ? await rawCall() : await call(which === "direct" ? direct : viaGw, which === "direct" ? "echo" : "b__echo");
    const dt = performance.now() - t0;
    if (r.content?.[0]?.text !== "b:x") throw new Error(`unexpected answer ${JSON.stringify(r)}`);
    if (i >= o.warmup) lat[which].push(dt);
  }
}
await viaGw.close();
await direct.close();

const q = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const fmt = (x) => x.toFixed(3);
const mode = o.json ? "JSON responses" : "SSE responses";
const label = { direct: "direct, SDK client ", gw: "through mcpgw      ", raw: "bare HTTP POST     " };
for (const k of ["direct", "gw", "raw"]) {
  const v = lat[k];
  console.log(`remote ${label[k]} (streamable-http, ${mode}, n=${v.length}): p50 ${fmt(q(v, 0.5))} ms  p90 ${fmt(q(v, 0.9))} ms  p99 ${fmt(q(v, 0.99))} ms`);
}
console.log(`remote ratio p50 through mcpgw / direct SDK client: ${(q(lat.gw, 0.5) / q(lat.direct, 0.5)).toFixed(2)}; / bare HTTP POST: ${(q(lat.gw, 0.5) / q(lat.raw, 0.5)).toFixed(2)}`);
process.exit(0);
