#!/usr/bin/env node
// The conformance suite's client under test (client mode): `conformance client --command
// "node tests/conformance/client-wrapper.mjs"` appends the scenario's server URL. This writes a
// temporary mcpgw configuration with that URL as the only upstream (auth: oauth2, the opener
// open-url.mjs, pre-registered credentials from MCP_CONFORMANCE_CONTEXT when the scenario gives
// them, the client ID metadata document URL the suite expects), runs `mcpgw run` on it over stdio
// and does what the suite's reference client does: initialize, tools/list, a call to the first
// tool ({a: 2, b: 3}), then closes stdin. Exit status 0 when every step got a result. Scenarios
// that look at more than one call (2026-07-28: the http-* header ones, the MRTR one) get every
// listed tool called (with the arguments the scenario's context names, if it does), and
// http-standard-headers a resources/read and a prompts/get too. The gateway's requests to its
// client (elicitation, sampling, roots: how a modern server's input_required reaches a legacy
// client) are answered: elicitation accepted with true for each boolean field.
//   MCPGW_BIN       the gateway (default <repo>/build/mcpgw)
//   MCPGW_WRAPPER   a command put in front of it (e.g. valgrind ...), split on spaces
//   MCPGW_CONFORMANCE_LOG  append the gateway's stderr to this file (the canary test reads it)
//   MCPGW_CONFORMANCE_RESULTS  append {scenario, ok, error} as a JSON line to this file
//   MCPGW_CONFORMANCE_STARTUP_WAIT, _LOG_LEVEL, _STEP_MS  the gateway's startup_wait (default 20s),
//                   log_level (default debug), and how long one request may take (default 30 s)
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const bin = process.env.MCPGW_BIN || path.join(repo, "build/mcpgw");
const wrapper = (process.env.MCPGW_WRAPPER || "").split(" ").filter(Boolean);
const serverUrl = process.argv[process.argv.length - 1];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO || "";
let context = {};
try {
  context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || "{}");
} catch {
  /* none */
}
/** Scenarios that look at every tool's call; and those that look at tools/list only (their server
 * lists no tool, or one it does not serve). */
const EVERY_TOOL = new Set(["http-standard-headers", "http-invalid-tool-headers", "sep-2322-client-request-state"]);
const LIST_ONLY = new Set(["request-metadata", "json-schema-ref-no-deref"]);
const STEP_MS = Number(process.env.MCPGW_CONFORMANCE_STEP_MS) || 30000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcpgw-conf-"));
const yaml = (v) => JSON.stringify(v);
const auth = {
  plugin: "oauth2",
  open_browser: [process.execPath, path.join(here, "open-url.mjs")],
  client_metadata_url: "https://conformance-test.local/client-metadata.json",
  callback_timeout: "30s",
};
if (context.client_id) auth.client_id = context.client_id;
if (context.client_secret) auth.client_secret = context.client_secret;
const lines = [
  "version: 1",
  "gateway:",
  `  log_level: ${process.env.MCPGW_CONFORMANCE_LOG_LEVEL || "debug"}`,
  `  startup_wait: ${process.env.MCPGW_CONFORMANCE_STARTUP_WAIT || "20s"}`,
  "servers:",
  "  t:",
  `    url: ${yaml(serverUrl)}`,
  "    startup_timeout: 30s",
];
if (scenario.startsWith("auth/")) {
  lines.push("    auth:");
  for (const [k, v] of Object.entries(auth)) lines.push(`      ${k}: ${yaml(v)}`);
}
const config = path.join(dir, "config.yaml");
fs.writeFileSync(config, lines.join("\n") + "\n");

const argv = [...wrapper, bin, "run", "-c", config, "--system-policy", ""];
const gw = spawn(argv[0], argv.slice(1), {
  stdio: ["pipe", "pipe", "pipe"],
  env: { ...process.env, XDG_STATE_HOME: path.join(dir, "state"), XDG_CONFIG_HOME: path.join(dir, "xdg") },
});
let stderr = "";
gw.stderr.on("data", (c) => {
  stderr += c;
  process.stderr.write(c);
});
const waiting = new Map();
let buf = "";
gw.stdout.on("data", (c) => {
  buf += c;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      continue;
    }
    if (m.method && m.id !== undefined) {
      answer(m);
      continue;
    }
    if (m.id !== undefined && waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  }
});
/** The gateway asks its client something (a server's elicitation, sampling or roots request). */
function answer(m) {
  let result;
  if (m.method === "elicitation/create") {
    const content = {};
    for (const [k, v] of Object.entries(m.params?.requestedSchema?.properties ?? {}))
      content[k] = v.default ?? (v.type === "boolean" ? true : v.type === "number" || v.type === "integer" ? 1 : "ok");
    result = { action: "accept", content };
  } else if (m.method === "sampling/createMessage") result = { role: "assistant", content: { type: "text", text: "ok" }, model: "none" };
  else if (m.method === "roots/list") result = { roots: [] };
  else if (m.method === "ping") result = {};
  const reply = result ? { jsonrpc: "2.0", id: m.id, result } : { jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } };
  gw.stdin.write(JSON.stringify(reply) + "\n");
}
let nextId = 1;
function request(method, params) {
  const id = nextId++;
  gw.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${method}: no answer within ${STEP_MS} ms`)), STEP_MS);
    waiting.set(id, (m) => {
      clearTimeout(t);
      if (m.error) reject(new Error(`${method}: ${m.error.message}`));
      else resolve(m.result);
    });
  });
}

let ok = true;
let error = "";
try {
  const init = await request("initialize", { protocolVersion: "2025-11-25", capabilities: { elicitation: {} }, clientInfo: { name: "mcpgw-conformance", version: "1" } });
  gw.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
  const { tools } = await request("tools/list", {});
  // the gateway prefixes its tools with the server key ("t"): the raw name is what the scenario knows
  const exposed = (raw) => tools.find((t) => t.name === raw || t.name.endsWith(`__${raw}`))?.name;
  if (LIST_ONLY.has(scenario)) {
    /* nothing to call */
  } else if (Array.isArray(context.toolCalls)) {
    for (const c of context.toolCalls) {
      const name = exposed(c.name);
      if (!name) throw new Error(`tool ${c.name} not listed`);
      const r = await request("tools/call", { name, arguments: c.arguments ?? {} });
      if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
    }
  } else if (EVERY_TOOL.has(scenario)) {
    for (const t of tools) {
      const r = await request("tools/call", { name: t.name, arguments: {} });
      if (r.isError) throw new Error(`tool ${t.name} error: ${JSON.stringify(r.content)}`);
    }
  } else if (tools.length > 0) {
    const r = await request("tools/call", { name: tools[0].name, arguments: { a: 2, b: 3 } });
    if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
  } else throw new Error("no tools (see the gateway's log)");
  if (scenario === "http-standard-headers") {
    if (init.capabilities?.resources) {
      const { resources } = await request("resources/list", {});
      for (const r of resources) await request("resources/read", { uri: r.uri });
    }
    if (init.capabilities?.prompts) {
      const { prompts } = await request("prompts/list", {});
      for (const p of prompts) await request("prompts/get", { name: p.name });
    }
  }
} catch (e) {
  ok = false;
  error = e.message;
  process.stderr.write(`client-wrapper: ${e.message}\n`);
}
gw.stdin.end();
const code = await new Promise((r) => gw.on("exit", (c, s) => r(c ?? s)));
if (process.env.MCPGW_CONFORMANCE_LOG) fs.appendFileSync(process.env.MCPGW_CONFORMANCE_LOG, `== ${scenario}\n${stderr}`);
if (process.env.MCPGW_CONFORMANCE_RESULTS)
  fs.appendFileSync(process.env.MCPGW_CONFORMANCE_RESULTS, JSON.stringify({ scenario, ok: ok && code === 0, error, exit: code }) + "\n");
fs.rmSync(dir, { recursive: true, force: true });
process.exit(ok && code === 0 ? 0 : 1);
