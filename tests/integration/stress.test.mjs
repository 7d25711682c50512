// Issue 5 point 4: 10,000 calls in flight across upstreams with bounded memory, and 10,000
// cancellations. Raw JSON-RPC lines (the SDK client's bookkeeping of 10,000 requests would be what
// is measured), native fixture upstreams (build/tools/echo_server, tests/bench/echo_server.c: answers
// after a delay, records every cancellation it receives, and with --answer-cancelled answers a
// cancelled call anyway), and the gateway's peak RSS (VmHWM) from /proc. These are correctness and
// boundedness tests: the time bounds are generous and only stop a hung run.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { BIN, REPO, SANITIZED, T, WRAPPER, makeTmp, openSession, readJsonLines, rmTmp, sleep, waitUntil } from "./lib/harness.mjs";

// The fixture is built with the gateway (make all: build/tools/); an ASan build has its own tree.
const ECHO = [path.join(path.dirname(BIN), "tools/echo_server"), path.join(REPO, "build/tools/echo_server")].find((f) => fs.existsSync(f));
const CALLS = 10000;
const SERVERS = ["s1", "s2", "s3", "s4"];
const RSS_BOUND = 64 * 1024 * 1024; // generous: the gateway holds 10,000 small calls
const MEASURE_RSS = !SANITIZED && WRAPPER.length === 0; // ASan and valgrind inflate memory

function vmHWM(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : null;
}

// Client ids that cannot be mistaken for the gateway's own upstream ids (small integers): strings
// for the even calls, integers from 1,000,000 on for the odd ones.
const clientId = (i) => (i % 2 ? 1000000 + i : `call-${i}`);
const key = (id) => JSON.stringify(id);

async function start(tag, serverArgs) {
  const servers = {};
  for (const s of SERVERS) servers[s] = { command: ECHO, args: ["--name", s, ...serverArgs(s)] };
  const s = await openSession({ tag, servers, connect: false });
  const gw = s.gw;
  await gw.initialize();
  await waitUntil(
    async () => {
      const r = await gw.request({ jsonrpc: "2.0", id: `list-${Math.random()}`, method: "tools/list", params: {} });
      const names = new Set((r.result?.tools ?? []).map((t) => t.name));
      return SERVERS.every((n) => names.has(`${n}__echo`));
    },
    T(15000),
    "every upstream's echo tool",
    50,
  );
  return s;
}

/** Writes many lines at once; resolves when the last byte is in the pipe to the gateway. */
function writeAll(gw, msgs) {
  return new Promise((resolve, reject) => gw.proc.stdin.write(msgs.map((m) => JSON.stringify(m) + "\n").join(""), (e) => (e ? reject(e) : resolve(performance.now()))));
}

/** One fast call per upstream (delay_ms 0). An upstream reads its stdin in order, so once these are
 * answered it has read everything the gateway forwarded to it before them. */
async function barrier(gw, tag) {
  const rs = await Promise.all(
    SERVERS.map((s) => gw.request({ jsonrpc: "2.0", id: `${tag}-${s}`, method: "tools/call", params: { name: `${s}__echo`, arguments: { message: tag, delay_ms: 0 } } }, T(20000))),
  );
  for (const [i, r] of rs.entries()) assert.equal(r.result?.content?.[0]?.text, `${SERVERS[i]}: ${tag}`, JSON.stringify(r));
}

test("10,000 calls in flight across 4 upstreams: each gets its own answer, the gateway's memory stays bounded", { timeout: T(90000) }, async () => {
  assert.ok(ECHO, "build/tools/echo_server is missing: run make");
  const DELAY = T(3000); // long enough for all 10,000 to be out before the first answer comes back
  const s = await start("stress-inflight", () => ["--delay-ms", String(DELAY)]);
  const gw = s.gw;
  try {
    const answers = new Map();
    let firstAnswerAt = null;
    let unexpected = 0;
    const onMsg = (m) => {
      if (!("id" in m) || m.method) return;
      if (typeof m.id === "string" && !m.id.startsWith("call-")) return; // list and barrier replies
      if (firstAnswerAt === null) firstAnswerAt = performance.now();
      if (answers.has(key(m.id))) unexpected++;
      answers.set(key(m.id), m);
    };
    gw.on("message", onMsg);
    const calls = [];
    for (let i = 0; i < CALLS; i++) {
      const srv = SERVERS[i % SERVERS.length];
      calls.push({ jsonrpc: "2.0", id: clientId(i), method: "tools/call", params: { name: `${srv}__echo`, arguments: { message: `m${i}` } } });
    }
    const writtenAt = await writeAll(gw, calls);
    await waitUntil(() => answers.size >= CALLS || gw.eof, T(60000), `${CALLS} answers (have ${answers.size})`, 100);
    gw.off("message", onMsg);
    assert.ok(!gw.eof, `the gateway closed its stdout; stderr tail:\n${gw.stderrTail()}`);
    // All were in flight at once: the first answer came back only after the last call was written.
    assert.ok(firstAnswerAt > writtenAt, `the first answer came ${(writtenAt - firstAnswerAt).toFixed(0)} ms before the last call was written (the ${DELAY} ms delay was too short for this machine)`);

    let wrong = [];
    for (let i = 0; i < CALLS; i++) {
      const a = answers.get(key(clientId(i)));
      const want = `${SERVERS[i % SERVERS.length]}: m${i}`;
      const got = a?.result?.content?.[0]?.text;
      if (got !== want) wrong.push(`${key(clientId(i))}: ${a ? JSON.stringify(a).slice(0, 200) : "no answer"}`);
    }
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} calls without their own answer`);
    assert.equal(answers.size, CALLS, "one answer per call, none for an id never sent");
    assert.equal(unexpected, 0, "no call answered twice");

    const hwm = vmHWM(gw.pid);
    if (MEASURE_RSS) assert.ok(hwm < RSS_BOUND, `peak RSS of the gateway with ${CALLS} calls in flight: ${(hwm / 1048576).toFixed(1)} MiB`);
    if (process.env.MCPGW_IT_DEBUG) console.error(`in flight: ${CALLS}; VmHWM ${(hwm / 1048576).toFixed(1)} MiB; first answer ${(firstAnswerAt - writtenAt).toFixed(0)} ms after the last call was written`);

    await barrier(gw, "after"); // it still answers
    await s.shutdown();
  } finally {
    s.destroy();
  }
});

test("10,000 cancellations: the upstreams get them with their own ids, no cancelled answer reaches the client", { timeout: T(90000) }, async () => {
  assert.ok(ECHO, "build/tools/echo_server is missing: run make");
  // The upstreams' records live away from the gateway's config directory, which it watches.
  const logDir = makeTmp("stress-cancel-logs");
  const logs = Object.fromEntries(SERVERS.map((srv) => [srv, path.join(logDir, `${srv}.cancelled`)]));
  let s;
  try {
    s = await start("stress-cancel", (srv) => ["--delay-ms", "600000", "--answer-cancelled", "--cancel-log", logs[srv]]);
  } catch (e) {
    rmTmp(logDir);
    throw e;
  }
  const gw = s.gw;
  try {
    const cancelledIds = new Set();
    const leaked = [];
    const onMsg = (m) => {
      if ("id" in m && !m.method && cancelledIds.has(key(m.id))) leaked.push(m);
    };
    gw.on("message", onMsg);
    const calls = [];
    for (let i = 0; i < CALLS; i++) {
      const srv = SERVERS[i % SERVERS.length];
      cancelledIds.add(key(clientId(i)));
      calls.push({ jsonrpc: "2.0", id: clientId(i), method: "tools/call", params: { name: `${srv}__echo`, arguments: { message: `slow${i}` } } });
    }
    await writeAll(gw, calls);
    await barrier(gw, "sent"); // every upstream has read its 2,500 calls

    await writeAll(
      gw,
      calls.map((c) => ({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: c.id, reason: "stress test" } })),
    );
    const seen = () => SERVERS.map((srv) => readJsonLines(logs[srv]));
    await waitUntil(() => seen().reduce((n, l) => n + l.length, 0) >= CALLS, T(60000), `${CALLS} cancellations at the upstreams`, 100);
    // The upstreams answered every cancelled call at once (--answer-cancelled); once a fast call
    // behind those answers is back, the gateway has read them all.
    await sleep(200);
    await barrier(gw, "after");
    gw.off("message", onMsg);

    const perServer = seen();
    for (const [k, lines] of perServer.entries()) {
      const srv = SERVERS[k];
      assert.equal(lines.length, CALLS / SERVERS.length, `cancellations received by ${srv}`);
      const notPending = lines.filter((l) => !l.pending);
      assert.deepEqual(notPending.slice(0, 3), [], `${srv}: every cancellation names one of its own requests in flight (${notPending.length} do not)`);
      assert.equal(new Set(lines.map((l) => key(l.id))).size, lines.length, `${srv}: each of its requests is cancelled once`);
      assert.ok(
        lines.every((l) => Number.isInteger(l.id) && !cancelledIds.has(key(l.id))),
        `${srv}: the ids are the gateway's own upstream ids, not the client's: ${JSON.stringify(lines.slice(0, 3))}`,
      );
      assert.ok(lines.every((l) => l.reason === "stress test"), `${srv}: the client's reason is passed on`);
    }
    assert.deepEqual(leaked.slice(0, 3), [], `${leaked.length} answers to cancelled calls reached the client`);

    const hwm = vmHWM(gw.pid);
    if (MEASURE_RSS) assert.ok(hwm < RSS_BOUND, `peak RSS of the gateway: ${(hwm / 1048576).toFixed(1)} MiB`);
    const list = await gw.request({ jsonrpc: "2.0", id: "list-end", method: "tools/list", params: {} });
    assert.ok(list.result?.tools?.length >= SERVERS.length, "tools/list still answered");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(logDir);
  }
});
