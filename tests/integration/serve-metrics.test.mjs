// /metrics of the service (issue 10 point 7): the Prometheus text format with, per server, calls,
// errors, a latency histogram, restarts and bytes both ways; sessions and client bytes. Checked
// after real calls through real servers: counts, buckets, and the text format line by line.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Gateway, makeTmp, rmTmp, servers, toYaml, T, waitUntil, within, sleep } from "./lib/harness.mjs";

function get(addr, p) {
  const [host, port] = [addr.replace(/:\d+$/, ""), Number(addr.split(":").pop())];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: p, method: "GET" }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.setTimeout(T(10000), () => req.destroy(new Error("GET timed out")));
    req.end();
  });
}

// One sample line: name{label="v",...} value (the format's grammar, without timestamps).
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$/;

/** Parses the text format strictly: every line a # HELP / # TYPE comment or a sample; samples of a
 * family come after its TYPE. Returns Map "name{labels}" -> number, and the types. */
function parseProm(text) {
  const samples = new Map();
  const types = new Map();
  assert.ok(text.endsWith("\n"), "the text ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
      assert.ok(m, `a comment line: ${JSON.stringify(line)}`);
      if (m[1] === "TYPE") {
        assert.match(m[3], /^(counter|gauge|histogram|summary|untyped)$/);
        assert.ok(!types.has(m[2]), `one TYPE for ${m[2]}`);
        types.set(m[2], m[3]);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, (s) => (types.get(m[1].slice(0, -s.length)) === "histogram" ? "" : s));
    assert.ok(types.has(family), `${m[1]} has a TYPE before it`);
    const key = `${m[1]}${m[2] ?? ""}`;
    assert.ok(!samples.has(key), `one sample for ${key}`);
    samples.set(key, Number(m[5]));
  }
  return { samples, types };
}

test("serve: /metrics after calls: per-server calls, errors, latency buckets, restarts and bytes, in the Prometheus text format", { timeout: T(90000) }, async () => {
  const dir = makeTmp("serve-metrics");
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, toYaml({ servers: { f: servers.faulty(), e: servers.everything() } }));
  const gw = new Gateway({ dir, args: ["serve", "-c", file, "--system-policy", "", "--listen", "127.0.0.1:0"] });
  try {
    await waitUntil(() => /listening on (\S+)/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
    const addr = /listening on (\S+)/.exec(gw.stderr)[1];
    const before = parseProm((await get(addr, "/metrics")).body);
    assert.equal(before.types.get("mcpgw_server_call_duration_seconds"), "histogram");
    assert.equal(before.samples.get('mcpgw_server_calls_total{server="f"}'), 0);

    const client = new Client({ name: "metrics", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`http://${addr}/mcp`));
    await within(client.connect(transport), T(10000), "initialize");
    for (let i = 0; i < 3; i++)
      assert.equal((await client.callTool({ name: "f__echo", arguments: { text: `m${i}` } })).content[0].text, `faulty:m${i}`);
    // One call that takes at least 300 ms: it lands above the 0.25 s bucket.
    await client.callTool({ name: "f__sleep", arguments: { ms: 300 } });
    await client.callTool({ name: "e__echo", arguments: { message: "x" } });
    // A call whose server exits under it: an error, and a restart.
    await assert.rejects(client.callTool({ name: "f__crash", arguments: {} }, undefined, { timeout: T(20000) }));
    await waitUntil(async () => (await get(addr, "/metrics")).body.includes('mcpgw_server_restarts_total{server="f"} 1'),
      T(20000), "the restart counted");

    const res = await get(addr, "/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers["content-type"], /^text\/plain/);
    const { samples: s, types } = parseProm(res.body);
    const v = (k) => {
      assert.ok(s.has(k), `${k} in:\n${res.body}`);
      return s.get(k);
    };
    assert.equal(types.get("mcpgw_server_calls_total"), "counter");
    assert.equal(v('mcpgw_server_calls_total{server="f"}'), 5, "three echos, a sleep, a crash");
    assert.equal(v('mcpgw_server_errors_total{server="f"}'), 1, "the crash");
    assert.equal(v('mcpgw_server_calls_total{server="e"}'), 1);
    assert.equal(v('mcpgw_server_errors_total{server="e"}'), 0);
    assert.equal(v('mcpgw_server_restarts_total{server="f"}'), 1);
    assert.equal(v('mcpgw_server_restarts_total{server="e"}'), 0);
    // The histogram: cumulative buckets, +Inf == count == calls, the 300 ms call above 0.25 s.
    const h = "mcpgw_server_call_duration_seconds";
    const les = [...s.keys()].filter((k) => k.startsWith(`${h}_bucket{server="f",`)).map((k) => /le="([^"]+)"/.exec(k)[1]);
    assert.ok(les.length >= 4 && les.at(-1) === "+Inf", les.join(","));
    let prev = 0;
    for (const le of les) {
      const n = v(`${h}_bucket{server="f",le="${le}"}`);
      assert.ok(n >= prev, `buckets are cumulative at le=${le}`);
      prev = n;
    }
    assert.equal(v(`${h}_bucket{server="f",le="+Inf"}`), 5);
    assert.equal(v(`${h}_count{server="f"}`), 5);
    assert.ok(v(`${h}_bucket{server="f",le="0.25"}`) <= 4, "the 300 ms sleep is not under 0.25 s");
    assert.ok(v(`${h}_sum{server="f"}`) >= 0.3, "the sum holds the sleep");
    // Bytes both ways, per server and for the clients.
    assert.ok(v('mcpgw_server_sent_bytes_total{server="f"}') > 0);
    assert.ok(v('mcpgw_server_received_bytes_total{server="f"}') > 0);
    assert.ok(v('mcpgw_server_received_bytes_total{server="e"}') > 0);
    assert.ok(v("mcpgw_client_received_bytes_total") > 0);
    assert.ok(v("mcpgw_client_sent_bytes_total") > 0);
    assert.equal(v("mcpgw_sessions"), 1);
    assert.equal(v("mcpgw_sessions_opened_total"), 1);
    await transport.terminateSession();
    await client.close();
    await waitUntil(async () => (await get(addr, "/metrics")).body.includes("mcpgw_sessions 0\n"), T(5000), "the session gone");
    gw.proc.kill("SIGTERM");
    const st = await Promise.race([gw.exited, sleep(T(10000)).then(() => null)]);
    assert.deepEqual({ code: st?.code, signal: st?.signal }, { code: 0, signal: null }, gw.stderrTail()); // ASan: no leak
  } finally {
    gw.proc.kill("SIGTERM");
    await Promise.race([gw.exited, sleep(T(8000))]);
    rmTmp(dir);
  }
});
