// The faults of issue 5 that the other files do not cover: a server that writes without ever
// ending its line, a client that stops reading (EPIPE on the gateway's stdout), envelope keys that
// differ only by case, request ids reused while in flight, servers that never answer initialize,
// a stderr flood, and replies whose ids match nothing or whose envelope is not JSON-RPC's.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { openSession, servers, sleep, waitGone, waitUntil, NODE, fixture, T, SANITIZED, makeTmp, rmTmp, outFile, recorded, readJsonLines, runGateway, toYaml } from "./lib/harness.mjs";


test("a server that writes 24 MiB without a newline counts as broken: its call fails at once with the reason, it is restarted, memory stays bounded, the other server is unaffected", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "nonewline",
    // A long per-request timeout: the call must end because the server broke, not by a timeout.
    servers: { spew: { command: NODE, args: [fixture("nonewline.mjs")], timeout: "120s" }, ok: servers.faulty(["--name", "ok"]) },
  });
  try {
    const pid1 = s.gw.tree().find((p) => p.comm === "node" && fs.readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes("nonewline"))?.pid;
    assert.ok(pid1, "the spew server runs");
    await assert.rejects(s.call("spew__spew", { mb: 24 }, { timeout: T(30000) }), (e) => {
      assert.doesNotMatch(String(e.message), /timed out/);
      assert.equal(e.code, -32000, String(e.message));
      assert.match(String(e.message), /server 'spew' wrote a line over 16 MiB \(the bound\) and was stopped as broken/);
      return true;
    });
    assert.equal(await s.callText("ok__echo", { text: "still" }), "ok:still");
    const fs2 = await import("node:fs");
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(fs2.readFileSync(`/proc/${s.gw.pid}/status`, "utf8"))[1]);
    // ASan keeps freed memory in quarantine (256 MB): the bound is for the real build.
    if (!SANITIZED)
      assert.ok(hwm < 64 * 1024, `gateway peak RSS ${hwm} kB stays bounded (16 MiB line bound)`);
    assert.match(s.gw.stderr, /\[spew\] server 'spew' wrote a line over 16 MiB \(the bound\) and was stopped as broken; restarting in \d+ ms/);
    // Restarted with backoff: a new process answers.
    const text = await waitUntil(async () => {
      try {
        return await s.callText("spew__ok", {}, { timeout: T(2000) });
      } catch {
        return false;
      }
    }, T(15000), "the restarted spew server to answer", 200);
    assert.equal(text, "ok");
    assert.ok(!s.gw.tree().some((p) => p.pid === pid1), "the broken process is gone");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("EPIPE on stdout: a client that stops reading ends the gateway cleanly, children included", { timeout: T(30000) }, async () => {
  const s = await openSession({ tag: "epipe", servers: { a: servers.faulty() } });
  try {
    const kids = s.gw.tree();
    assert.ok(kids.length > 0, "the server is running");
    // The client goes away without closing stdin: its end of the gateway's stdout is closed.
    s.gw.proc.stdout.destroy();
    // Anything the gateway writes now meets EPIPE.
    s.gw.proc.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 77, method: "tools/list" }) + "\n");
    s.gw.proc.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 78, method: "ping" }) + "\n");
    const st = await Promise.race([s.gw.exited, new Promise((r) => setTimeout(() => r(null), T(8000)))]);
    assert.ok(st, "the gateway exits by itself after EPIPE");
    assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null });
    const left = await waitGone(kids, T(5000));
    assert.deepEqual(left.map((p) => p.pid), [], "no server outlives it");
  } finally {
    s.destroy();
  }
});

// ---------------------------------------------------------------------------------------------

/** Starts a raw (no SDK) session on `servers` in a temporary dir; returns {s, gw, dir}. */
async function rawSession(tag, make, extra = {}) {
  const dir = makeTmp(tag);
  try {
    const s = await openSession({ dir, servers: make(dir), gateway: { startup_wait: "10s" }, connect: false, ...extra });
    return { s, gw: s.gw, dir };
  } catch (e) {
    rmTmp(dir);
    throw e;
  }
}

const textOf = (m) => m?.result?.content?.[0]?.text;

test("envelope keys that differ from jsonrpc/id/method/params only by case: -32600 naming the key, and nothing reaches the server", { timeout: T(60000) }, async () => {
  let rec;
  const { s, gw, dir } = await rawSession("casekeys", (d) => {
    rec = outFile(d, "rec.raw");
    return { rec: servers.faulty(["--name", "rec", "--record", rec]) };
  });
  try {
    await gw.initialize();
    const list = await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));
    assert.ok(list.result.tools.some((t) => t.name === "rec__echo"), "rec__echo listed");
    const params = (text) => JSON.stringify({ name: "rec__echo", arguments: { text } });
    // [raw line, the id the error reply must carry, the offending key, the envelope key]
    const cases = [
      [`{"jsonrpc":"2.0","ID":5,"method":"tools/call","params":${params("ID")}}`, null, "ID", "id"],
      [`{"jsonrpc":"2.0","id":6,"Id":7,"method":"tools/call","params":${params("Id")}}`, 6, "Id", "id"],
      [`{"jsonrpc":"2.0","id":8,"Method":"tools/call","params":${params("Method")}}`, 8, "Method", "method"],
      [`{"jsonrpc":"2.0","id":9,"method":"tools/list","METHOD":"tools/call","params":${params("METHOD")}}`, 9, "METHOD", "method"],
      [`{"JSONRPC":"2.0","id":10,"method":"tools/call","params":${params("JSONRPC")}}`, 10, "JSONRPC", "jsonrpc"],
      [`{"jsonrpc":"2.0","jsonRPC":"2.0","id":11,"method":"tools/call","params":${params("jsonRPC")}}`, 11, "jsonRPC", "jsonrpc"],
      [`{"jsonrpc":"2.0","id":12,"method":"tools/call","Params":${params("Params")}}`, 12, "Params", "params"],
      [`{"jsonrpc":"2.0","id":13,"method":"tools/call","params":${params("params")},"PARAMS":${params("PARAMS")}}`, 13, "PARAMS", "params"],
      // Escapes are decoded before keys are compared: "M\u0065thod" is "Method".
      [`{"jsonrpc":"2.0","id":14,"M\\u0065thod":"tools/call","method":"tools/call","params":${params("escaped")}}`, 14, "Method", "method"],
      [`{"jsonrpc":"2.0","id":15,"method":"tools/call","params":${params("Result")},"Result":{}}`, 15, "Result", "result"],
      // Not even a notification slips through (a smuggled cancellation, say): id null.
      [`{"jsonrpc":"2.0","method":"notifications/cancelled","Params":{"requestId":1}}`, null, "Params", "params"],
    ];
    for (const [line, id, key, envelope] of cases) {
      const from = gw.messages.length;
      gw.sendRaw(line + "\n");
      const m = await gw.waitFor((x) => "error" in x && x.id === id, T(5000), `the error reply to ${line}`, from);
      assert.deepEqual(m, { jsonrpc: "2.0", id, error: { code: -32600, message: `invalid request: key "${key}" differs from "${envelope}" only by case` } }, line);
    }
    // A valid call afterwards is answered and recorded: the recording works.
    const ok = await gw.request({ jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "rec__echo", arguments: { text: "valid" } } });
    assert.equal(textOf(ok), "rec:valid");
    const replies = new Map();
    for (const m of gw.messages) if (typeof m.id === "number") replies.set(m.id, (replies.get(m.id) ?? 0) + 1);
    for (const id of [6, 8, 9, 10, 11, 12, 13, 14, 15, 99]) assert.equal(replies.get(id), 1, `exactly one reply to id ${id}`);
    const got = recorded(rec);
    assert.deepEqual(got.filter((m) => m.method === "tools/call").map((m) => m.params.arguments.text), ["valid"], "only the valid call reached the server");
    assert.deepEqual(got.filter((m) => m.method === "notifications/cancelled"), [], "no cancellation reached the server");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("a request id reused while in flight: -32600 and never run, whatever the method; the first call gets its one reply; the id is free again once answered", { timeout: T(60000) }, async () => {
  let rec;
  const { s, gw, dir } = await rawSession("reused-id", (d) => {
    rec = outFile(d, "rec.raw");
    return { rec: servers.faulty(["--name", "rec", "--record", rec]) };
  });
  const calls = () => recorded(rec).filter((m) => m.method === "tools/call").map((m) => m.params.arguments);
  const call = (id, name, args) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });
  try {
    await gw.initialize();
    await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));

    const from = gw.messages.length;
    gw.send(call(5, "rec__sleep", { ms: 800 }));
    // The same id again, while the sleep is in flight: as a call, as requests the gateway
    // answers itself, and as a call to a tool nobody has.
    gw.send(call(5, "rec__echo", { text: "second" }));
    gw.send({ jsonrpc: "2.0", id: 5, method: "ping" });
    gw.send({ jsonrpc: "2.0", id: 5, method: "tools/list", params: {} });
    gw.send(call(5, "rec__no_such_tool", {}));
    const first = await gw.waitFor((m) => m.id === 5 && "result" in m, T(10000), "the sleep's reply", from);
    assert.equal(textOf(first), "rec slept 800");
    // Id 5 is free again: a new request with it is run and answered.
    const again = await gw.request(call(5, "rec__echo", { text: "again" }));
    assert.equal(textOf(again), "rec:again");

    const five = gw.messages.slice(from).filter((m) => m.id === 5);
    assert.equal(five.length, 6, `one reply per request with id 5: ${JSON.stringify(five)}`);
    for (const m of five.slice(0, 4))
      assert.deepEqual(m, { jsonrpc: "2.0", id: 5, error: { code: -32600, message: "request id is already in use by a request in flight" } });
    assert.equal(five[4], first, "the sleep's reply comes after the four refusals, once");
    assert.equal(five[5], again);
    assert.deepEqual(calls(), [{ ms: 800 }, { text: "again" }], "the refused requests never reached the server");

    // A string id compares whole: two long ids that share their first 100 characters are two
    // requests, and cancelling a third one that shares it too cancels nothing.
    const stem = "k".repeat(100);
    const a = gw.request(call(`${stem}A`, "rec__sleep", { ms: 600 }), T(10000));
    const b = gw.request(call(`${stem}B`, "rec__echo", { text: "B" }), T(10000));
    gw.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: `${stem}C`, reason: "not a request of mine" } });
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(textOf(rb), "rec:B", `the second long id: ${JSON.stringify(rb)}`);
    assert.equal(textOf(ra), "rec slept 600", `the first long id: ${JSON.stringify(ra)}`);
    assert.equal(gw.messages.filter((m) => m.id === `${stem}A`).length, 1);
    assert.equal(gw.messages.filter((m) => m.id === `${stem}B`).length, 1);
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("a request id in use by a request held back while servers start: the second is refused, not run", { timeout: T(60000) }, async () => {
  let rec;
  const { s, gw, dir } = await rawSession("held-id", (d) => {
    rec = outFile(d, "rec.raw");
    return {
      rec: servers.faulty(["--name", "rec", "--record", rec]),
      slow: servers.faulty(["--name", "slow", "--delay-ms", "1500"]),
    };
  }, { gateway: { startup_wait: "10s" } });
  try {
    await gw.initialize();
    const from = gw.messages.length;
    // The first list waits for the slow server; a call with its id must not be run meanwhile.
    gw.send({ jsonrpc: "2.0", id: 7, method: "tools/list", params: {} });
    gw.send({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "rec__echo", arguments: { text: "held" } } });
    const list = await gw.waitFor((m) => m.id === 7 && "result" in m, T(15000), "the list", from);
    assert.ok(list.result.tools.some((t) => t.name === "slow__echo") && list.result.tools.some((t) => t.name === "rec__echo"), "the list waited for both servers");
    assert.equal(textOf(await gw.request({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "rec__echo", arguments: { text: "after" } } })), "rec:after");
    const seven = gw.messages.slice(from).filter((m) => m.id === 7);
    assert.deepEqual(seven, [{ jsonrpc: "2.0", id: 7, error: { code: -32600, message: "request id is already in use by a request in flight" } }, list]);
    assert.deepEqual(recorded(rec).filter((m) => m.method === "tools/call").map((m) => m.params.arguments.text), ["after"], "the refused call never reached the server");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("servers that never answer initialize (one mute, one writing only log notifications and stderr): the client is served within startup_wait, the other server works, each missed handshake is logged once as such, restarts back off, a call to a catalogued tool of the mute one fails clearly", { timeout: T(90000) }, async () => {
  const dir = makeTmp("silent");
  const flag = outFile(dir, "mute-goes-silent");
  const rec = outFile(dir, "mute.raw");
  const spawnLog = { mute: outFile(dir, "mute.spawns"), chatty: outFile(dir, "chatty.spawns") };
  const STARTUP = 1000;
  const WAIT = 2500;
  const defs = {
    ok: servers.faulty(["--name", "ok"]),
    mute: servers.faulty(["--name", "mute", "--silent-if", flag, "--record", rec, "--spawn-log", spawnLog.mute], { startup_timeout: "1s" }),
    chatty: servers.faulty(["--name", "chatty", "--silent", "--chatty", "--spawn-log", spawnLog.chatty], { startup_timeout: "1s" }),
  };
  let s;
  try {
    // The mute server answers once, under `mcpgw tools`, so that the catalogue knows its tools;
    // from then on it reads everything and answers nothing.
    const warm = outFile(dir, "warm.yaml");
    // (A longer start-up timeout here, which the catalogue's digest leaves out: loading the SDK
    // can take more than a second on a loaded machine.)
    fs.writeFileSync(warm, toYaml({ servers: { mute: { ...defs.mute, startup_timeout: "30s" } } }));
    const w = await runGateway(["tools", "-c", warm, "--system-policy", ""], { dir });
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /^mute__echo\b/m);
    fs.writeFileSync(flag, "");
    const recFrom = recorded(rec).length;
    const spawnsFrom = readJsonLines(spawnLog.mute).length;

    s = await openSession({ dir, servers: defs, gateway: { startup_wait: `${WAIT}ms` }, connect: false });
    const gw = s.gw;
    // When the gateway says it started each process: pauses are measured on its side, since a
    // process's own clock also counts how long Node took to start, which load stretches.
    const started = { mute: [], chatty: [] };
    let part = "";
    gw.proc.stderr.on("data", (c) => {
      part += c.toString("utf8");
      for (let i; (i = part.indexOf("\n")) >= 0; part = part.slice(i + 1)) {
        const m = /^mcpgw: info: \[(mute|chatty)\] started .* \(pid (\d+)\)$/.exec(part.slice(0, i));
        if (m) started[m[1]].push({ pid: Number(m[2]), at: performance.now() });
      }
    });
    const init = await gw.initialize();
    assert.equal(init.result?.serverInfo?.name, "mcpgw");
    assert.ok(performance.now() - gw.startedAt < T(WAIT), "initialize is answered without waiting for any server");
    const list = await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(WAIT + 5000));
    assert.ok(performance.now() - gw.startedAt < T(WAIT + 1500), "tools/list waits at most startup_wait");
    const names = list.result.tools.map((t) => t.name);
    assert.ok(names.includes("ok__echo") && names.includes("mute__echo"), `the ready server and the catalogue: ${names.join(" ")}`);
    assert.ok(!names.some((n) => n.startsWith("chatty__")), "nothing of a server that never came up");
    assert.equal(textOf(await gw.request({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "ok__echo", arguments: { text: "up" } } })), "ok:up");

    // A catalogued tool of the mute server: the call waits for it (bounded by its start-up
    // timeout) and then says why it failed.
    const t0 = performance.now();
    const r = await gw.request({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "mute__echo", arguments: { text: "x" } } }, T(STARTUP + 5000));
    assert.ok(performance.now() - t0 < T(STARTUP + 2000), "the call ends at the server's start-up timeout");
    assert.deepEqual(r.error, { code: -32001, message: "server 'mute' did not become ready within 1000 ms: no answer to initialize within its startup timeout (1000 ms)" });
    // A tool of the server that never came up is unknown: an error at once, not a hang.
    const u = await gw.request({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "chatty__echo", arguments: { text: "x" } } }, T(3000));
    assert.deepEqual(u.error, { code: -32602, message: "Unknown tool: chatty__echo" });

    // Restarts: three spawns each (counted by the processes themselves), with growing pauses.
    const spawns = (who) => readJsonLines(spawnLog[who]).slice(who === "mute" ? spawnsFrom : 0);
    await waitUntil(() => spawns("mute").length >= 3 && spawns("chatty").length >= 3, T(20000), "three spawns of each silent server");
    for (const who of ["mute", "chatty"]) {
      const pids = spawns(who).map((x) => x.pid);
      assert.deepEqual(started[who].slice(0, pids.length).map((x) => x.pid), pids, `${who}: every process that ran is one the gateway started and logged`);
      const at = started[who].map((x) => x.at);
      for (let i = 1; i < pids.length; i++)
        assert.ok(at[i] - at[i - 1] >= STARTUP, `${who}: spawn ${i + 1} came ${(at[i] - at[i - 1]).toFixed(0)} ms after the one before (no tight loop)`);
      const lines = gw.stderr.split("\n");
      const restarts = lines.map((l) => new RegExp(`^mcpgw: warn: \\[${who}\\] .*; restarting in (\\d+) ms \\(attempt (\\d+) of 5\\)$`).exec(l)).filter(Boolean);
      assert.ok(restarts.length >= 2, `${who}: restarts logged:\n${gw.stderrTail()}`);
      assert.deepEqual(restarts.map((m) => Number(m[2])), restarts.map((_, i) => i + 1), `${who}: attempts counted`);
      const [d1, d2] = restarts.map((m) => Number(m[1]));
      assert.ok(d1 >= 400 && d1 <= 600 && d2 >= 800 && d2 <= 1200, `${who}: backoff 0.5 s then 1 s, +-20%: ${d1}, ${d2}`);
      // One line per missed handshake, saying so; no second "timed out" for the same attempt.
      const about = lines.filter((l) => l.includes(`[${who}]`) && /initialize|timed out|startup timeout/.test(l) && !l.includes("restarting in"));
      assert.ok(about.length >= 2, `${who}: missed handshakes logged`);
      for (const l of about) assert.equal(l, `mcpgw: error: [${who}] no answer to initialize within its startup timeout (1000 ms)`);
    }
    assert.match(gw.stderr, /\[chatty\] stderr: fixture chatty: silent, tick \d+/, "the chatty server's stderr is logged");
    // The mute server was sent initialize every time, and never a cancellation of it (MCP
    // forbids cancelling initialize).
    const got = recorded(rec).slice(recFrom);
    assert.ok(got.filter((m) => m.method === "initialize").length >= 2, `initialize sent to each spawn: ${JSON.stringify(got)}`);
    assert.deepEqual(got.filter((m) => m.method !== "initialize"), [], "nothing but initialize was sent to a server that never answered it");

    assert.equal(textOf(await gw.request({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "ok__echo", arguments: { text: "still" } } })), "ok:still");
    await s.shutdown();
  } finally {
    s?.destroy();
    rmTmp(dir);
  }
});

test("a server flooding stderr (50 MiB of short lines, then 50 MiB of one line that never ends): its log is held to 200 lines a second with the rest counted, memory stays bounded, calls to it and to the other server are answered meanwhile", { timeout: T(120000) }, async () => {
  const { s, gw, dir } = await rawSession("stderr-flood", () => ({ spew: servers.flood(), ok: servers.faulty(["--name", "ok"]) }));
  // The gateway's whole log, counted here (the harness keeps only its tail).
  const logged = [];
  let part = "";
  gw.proc.stderr.on("data", (c) => {
    part += c.toString("utf8");
    for (let i; (i = part.indexOf("\n")) >= 0; part = part.slice(i + 1)) logged.push(part.slice(0, i));
  });
  let id = 0;
  const call = (name, args, ms = T(10000)) => gw.request({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name, arguments: args } }, ms);
  const MB = 50;
  /** Runs one flood; returns what was written, the log lines of its span and the calls answered meanwhile. */
  async function flood(args, expected) {
    const from = logged.length;
    const t0 = performance.now();
    let done = null;
    const p = call("spew__stderr", args, T(60000)).then((r) => (done = r));
    const echoes = [];
    while (!done) {
      const n = echoes.length / 2;
      const [a, b] = await Promise.all([call("spew__echo", { text: `r${n}` }), call("ok__echo", { text: `r${n}` })]);
      assert.equal(textOf(a), `flood:r${n}`);
      assert.equal(textOf(b), `ok:r${n}`);
      echoes.push(a, b);
    }
    const reply = await p;
    const wrote = JSON.parse(textOf(reply));
    // Both servers answered while the flood was still being written (the flood's own reply
    // comes once the last byte is written).
    const at = (m) => gw.messages.indexOf(m);
    assert.ok(at(echoes[0]) < at(reply) && at(echoes[1]) < at(reply), "the first calls to both servers were answered before the flood ended");
    const rounds = echoes.length / 2;
    // No marker, no later line: the count of the flood's last second comes by itself once the
    // server is quiet (it once waited for the server's next stderr line, and never came).
    const tally = () => {
      const span = logged.slice(from);
      const lines = span.filter((l) => l.startsWith("mcpgw: info: [spew] stderr: ")).length;
      const dropped = span.reduce((n, l) => n + Number(/^mcpgw: warn: \[spew\] (\d+) stderr lines dropped/.exec(l)?.[1] ?? 0), 0);
      return lines + dropped;
    };
    await waitUntil(() => tally() >= expected, T(5000), `every line of the flood logged or counted (${tally()} of ${expected})`);
    const secs = (performance.now() - t0) / 1000;
    return { wrote, span: logged.slice(from), secs, rounds };
  }
  function account({ span, secs }, expected, what) {
    const lines = span.filter((l) => l.startsWith("mcpgw: info: [spew] stderr: "));
    const reports = span.map((l) => /^mcpgw: warn: \[spew\] (\d+) stderr lines dropped \(more than 200 a second\)$/.exec(l)).filter(Boolean);
    const dropped = reports.reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(reports.length > 0, `${what}: the dropped lines are reported`);
    assert.equal(lines.length + dropped, expected, `${what}: every line is either logged or counted (${lines.length} logged, ${dropped} counted)`);
    assert.ok(lines.length <= 200 * (Math.ceil(secs) + 1), `${what}: ${lines.length} lines logged in ${secs.toFixed(1)} s`);
    for (const l of lines) assert.ok(Buffer.byteLength(l) <= 2048, `${what}: a log line of ${Buffer.byteLength(l)} bytes`);
    return lines;
  }
  try {
    await gw.initialize();
    await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));

    const a = await flood({ mb: MB }, (MB << 20) / 128);
    assert.deepEqual(a.wrote, { bytes: MB << 20, lines: (MB << 20) / 128 });
    const la = account(a, a.wrote.lines, "short lines");
    assert.ok(la.every((l) => /stderr: l{127}$/.test(l)), "the logged lines are the server's, whole");

    // One line without an end: the gateway cuts it into 4 KiB pieces (each counted as a line).
    const b = await flood({ mb: MB, oneline: true }, (MB << 20) / 4096);
    assert.equal(b.wrote.bytes, MB << 20);
    const lb = account(b, (MB << 20) / 4096, "one endless line");
    assert.ok(lb.every((l) => /stderr: z+$/.test(l)), "the logged pieces are the server's");

    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${gw.pid}/status`, "utf8"))[1]);
    if (!SANITIZED) assert.ok(hwm < 64 * 1024, `gateway peak RSS ${hwm} kB after 100 MiB of stderr`);
    assert.equal(textOf(await call("spew__echo", { text: "end" })), "flood:end");
    assert.equal(textOf(await call("ok__echo", { text: "end" })), "ok:end");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("replies from a server with ids that match nothing (true, {}, [id], id + 0.5, \"id\", -id, 0, the next id, a huge one) or that repeat the reply: dropped; the call gets its one reply, the next call its own", { timeout: T(60000) }, async () => {
  let rec;
  const { s, gw, dir } = await rawSession("badids", (d) => {
    rec = outFile(d, "rude.jsonl");
    return { rude: servers.rude(["--record", rec]), f: servers.faulty(["--name", "f"]) };
  });
  try {
    await gw.initialize();
    await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));
    const from = gw.messages.length;
    const r1 = await gw.request({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "rude__badids", arguments: {} } });
    assert.deepEqual(r1, { jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "badids done" }] } });
    // The next call gets the next upstream id, which a reply above already named: it must get
    // its own answer, not that one.
    const r2 = await gw.request({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "rude__echo", arguments: { text: "next" } } });
    assert.deepEqual(r2.result, { content: [{ type: "text", text: "rude:next" }] });
    const sent = recorded(rec).filter((m) => m.method === "tools/call");
    assert.equal(sent.at(-1).id, sent.at(-2).id + 1, "the second call went out with the id the stray reply had named");
    assert.equal(textOf(await gw.request({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "f__echo", arguments: { text: "fine" } } })), "f:fine");
    assert.deepEqual((await gw.request({ jsonrpc: "2.0", id: 4, method: "ping" })).result, {});
    // Everything the client got since: one reply per request, nothing else.
    assert.deepEqual(gw.messages.slice(from).map((m) => m.id), [1, 2, 3, 4]);
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("replies with a member JSON-RPC does not have, or a result that is not an object: the client gets a well-formed reply (strict clients drop others and wait forever)", { timeout: T(60000) }, async () => {
  const { s, gw, dir } = await rawSession("oddreplies", () => ({ rude: servers.rude() }));
  try {
    await gw.initialize();
    await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));
    const callRude = (id, name) => gw.request({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } });
    assert.deepEqual(await callRude(1, "rude__extra"), { jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "extra done" }] } });
    assert.deepEqual(await callRude(2, "rude__errextra"), { jsonrpc: "2.0", id: 2, error: { code: -32000, message: "errextra failed", data: { why: "on purpose" } } });
    assert.deepEqual(await callRude(3, "rude__notobject"), { jsonrpc: "2.0", id: 3, error: { code: -32603, message: "server 'rude' answered tools/call with a result that is not an object" } });
    assert.deepEqual(gw.badStdout, [], "every line the client got passes the SDK's schema");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("a client slower than startup_timeout to send initialize: no server is counted as failed or restarted for it", { timeout: T(60000) }, async () => {
  let spawns;
  const { s, gw, dir } = await rawSession("slowclient", (d) => {
    spawns = outFile(d, "spawns");
    return { a: servers.faulty(["--name", "a", "--spawn-log", spawns], { startup_timeout: "1s" }) };
  });
  try {
    // The servers are spawned at once; their handshake waits for the client's initialize.
    await sleep(2500);
    await gw.initialize();
    const list = await gw.request({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} }, T(15000));
    assert.ok(list.result.tools.some((t) => t.name === "a__echo"), "a__echo listed");
    const r = await gw.request({ jsonrpc: "2.0", id: "c", method: "tools/call", params: { name: "a__echo", arguments: { text: "hi" } } }, T(10000));
    assert.equal(textOf(r), "a:hi");
    assert.equal(readJsonLines(spawns).length, 1, "started once, never restarted");
    assert.doesNotMatch(gw.stderr, /startup timeout|restarting|failed/i);
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("requests held back while servers start count toward the bound on requests in flight: the one past 20,000 is refused, the others answered", { timeout: T(120000) }, async () => {
  const { s, gw, dir } = await rawSession("held-bound", () => ({ slow: servers.faulty(["--name", "slow", "--delay-ms", "3000"]) }));
  try {
    await gw.initialize();
    const N = 20000;
    const from = gw.messages.length;
    let batch = "";
    for (let i = 0; i < N + 5; i++) batch += JSON.stringify({ jsonrpc: "2.0", id: `h${i}`, method: "tools/list", params: {} }) + "\n";
    gw.sendRaw(batch);
    const over = await gw.waitFor((m) => m.id === `h${N}`, T(20000), "the reply to the request past the bound", from);
    assert.equal(over.error?.code, -32000, JSON.stringify(over));
    assert.match(over.error.message, /too many requests in flight \(20000\)/);
    // Those within the bound are answered once the server is up, each with the tools.
    const last = await gw.waitFor((m) => m.id === `h${N - 1}`, T(60000), "the reply to the last request within the bound", from);
    assert.ok(last.result?.tools?.some((t) => t.name === "slow__echo"), JSON.stringify(last).slice(0, 200));
    const replies = gw.messages.slice(from).filter((m) => typeof m.id === "string" && m.id.startsWith("h"));
    assert.equal(replies.length, N + 5, "as many replies as requests");
    assert.equal(new Set(replies.map((m) => m.id)).size, N + 5, "every request got exactly one reply");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});
