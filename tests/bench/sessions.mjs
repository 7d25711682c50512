// sessions.mjs: the service's memory per session for `make bench`: starts `mcpgw serve` on a unix
// socket with server-everything, opens N idle sessions (initialize, initialized, tools/list), reads
// the gateway's RSS, then keeps 32 sessions busy with echo calls (each its own client, one call at a
// time) and reads its peak RSS and the calls a second. Prints
// "sessions IDLE_N RSS_KB PER_SESSION_KB BUSY_N HWM_KB CALLS_PER_S" for table.sh. Bounded by --deadline.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Agent } from "undici";

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const GW = arg("--gw"), CONFIG = arg("--config"), N = Number(arg("--idle", "1000")), BUSY = Number(arg("--busy", "32"));
const CALLS = Number(arg("--calls", "20")), DEADLINE = Number(arg("--deadline", "120")) * 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcpgw-bench-sessions-"));
const sock = path.join(dir, "gw.sock");
const timer = setTimeout(() => { console.error("sessions: out of time"); done(1); }, DEADLINE);
const gw = spawn(GW, ["serve", "-c", CONFIG, "--system-policy", "", "--listen", `unix:${sock}`],
  { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, XDG_STATE_HOME: dir } });
let stderr = "";
gw.stderr.on("data", (c) => (stderr += c));
function done(code) {
  clearTimeout(timer);
  gw.kill("SIGTERM");
  gw.on("exit", () => { fs.rmSync(dir, { recursive: true, force: true }); process.exit(code); });
  setTimeout(() => { gw.kill("SIGKILL"); }, 8000).unref();
}
const status = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${gw.pid}/status`, "utf8"))[1]);
const dispatcher = new Agent({ connect: { socketPath: sock }, connections: 64 });
const H = { "content-type": "application/json", accept: "application/json, text/event-stream" };
async function post(sid, body) {
  const r = await fetch("http://localhost/mcp", { method: "POST", dispatcher, headers: sid ? { ...H, "mcp-session-id": sid } : H, body: JSON.stringify(body) });
  const t = await r.text();
  if (r.status >= 300) throw new Error(`HTTP ${r.status}: ${t.slice(0, 200)}`);
  return { sid: r.headers.get("mcp-session-id"), body: t };
}
async function open(i) {
  const { sid } = await post(null, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: `s${i}`, version: "1" } } });
  await post(sid, { jsonrpc: "2.0", method: "notifications/initialized" });
  await post(sid, { jsonrpc: "2.0", id: 2, method: "tools/list" });
  return sid;
}
try {
  while (!/listening on/.test(stderr)) await new Promise((r) => setTimeout(r, 50));
  // Ready: the server's tools are in the first list.
  for (;;) {
    const s = await open(-1);
    const list = await post(s, { jsonrpc: "2.0", id: 3, method: "tools/list" });
    if (list.body.includes("everything__echo")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const rss0 = status("VmRSS");
  for (let i = 0; i < N; i++) await open(i);
  const rss = status("VmRSS");
  const busy = await Promise.all(Array.from({ length: BUSY }, (_, i) => open(N + i)));
  const t0 = performance.now();
  await Promise.all(busy.map(async (sid) => {
    for (let k = 0; k < CALLS; k++) await post(sid, { jsonrpc: "2.0", id: 10 + k, method: "tools/call", params: { name: "everything__echo", arguments: { message: "x" } } });
  }));
  const cps = (BUSY * CALLS) / ((performance.now() - t0) / 1000);
  const hwm = status("VmHWM");
  console.log(`sessions ${N} ${rss} ${((rss - rss0) / N).toFixed(2)} ${BUSY} ${hwm} ${cps.toFixed(0)}`);
  done(0);
} catch (e) {
  console.error(`sessions: ${e.message}\n${stderr.slice(-1000)}`);
  done(1);
}
