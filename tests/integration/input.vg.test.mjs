// Issue 2 point 9: malformed client input gets the right JSON-RPC error and nothing is forwarded;
// initialize version negotiation; ping answered locally. Raw lines, no SDK client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, WRAPPER, makeTmp, openSession, outFile, recorded, rmTmp, servers } from "./lib/harness.mjs";

const SUPPORTED = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

test("initialize: echoes each supported version, answers the latest to an unknown one, at once", { timeout: T(60000) }, async () => {
  const cases = [...SUPPORTED.map((v) => [v, v]), ["1999-01-01", "2025-11-25"]];
  const sessions = [];
  // In parallel normally; one at a time under a wrapper such as valgrind (five at once starve it).
  const each = WRAPPER.length ? async (list, fn) => { for (const x of list) await fn(x); } : (list, fn) => Promise.all(list.map(fn));
  try {
    await each(
      cases,
      async ([asked, expected]) => {
        const s = await openSession({ tag: "ver", servers: { fox: servers.faulty(["--name", "fox", "--delay-ms", "3000"]) }, connect: false });
        sessions.push(s);
        const t0 = performance.now();
        const r = await s.gw.initialize({ protocolVersion: asked });
        const ms = performance.now() - t0;
        assert.ok(r.result, `initialize ${asked}: ${JSON.stringify(r)}`);
        assert.equal(r.result.protocolVersion, expected, `negotiated version for ${asked}`);
        assert.ok(ms < T(1000), `initialize (${asked}) answered after ${ms.toFixed(0)} ms although the upstream needs 3 s`);
        assert.equal(r.result.capabilities?.tools?.listChanged, true);
        assert.equal(typeof r.result.serverInfo?.name, "string");
        assert.match(r.result.instructions ?? "", /(^|\W)fox(\W|_|$)/, "instructions name the configured server");
        assert.deepEqual((await s.gw.request({ jsonrpc: "2.0", id: 2, method: "ping" })).result, {}, "ping");
        await s.shutdown();
      },
    );
  } finally {
    for (const s of sessions) s.destroy();
  }
});

test("malformed client input: exact error codes, nothing forwarded, gateway keeps serving", { timeout: T(90000) }, async () => {
  const dir = makeTmp("input");
  const record = outFile(dir, "record.log");
  const s = await openSession({
    dir,
    servers: { rec: servers.faulty(["--name", "rec", "--record", record]) },
    gateway: { startup_wait: "10s" },
    connect: false,
  }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  const gw = s.gw;
  try {
    const init = await gw.initialize();
    assert.equal(init.result.protocolVersion, "2025-06-18");
    const list = await gw.request({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }, T(15000));
    assert.ok(list.result.tools.some((t) => t.name === "rec__echo"), "rec__echo listed");

    const call = (text, extra = {}) => ({ jsonrpc: "2.0", method: "tools/call", params: { name: "rec__echo", arguments: { text } }, ...extra });
    /** Sends one raw line and waits for the error reply whose id is one of ids. */
    async function expectError(line, codes, ids, what) {
      const from = gw.messages.length;
      gw.sendRaw(Buffer.isBuffer(line) ? Buffer.concat([line, Buffer.from("\n")]) : line + "\n");
      const m = await gw.waitFor((x) => "error" in x && ids.some((id) => x.id === id), T(5000), `error reply (${what})`, from);
      assert.ok(codes.includes(m.error.code), `${what}: code ${m.error.code} (${m.error.message}), expected ${codes.join(" or ")}`);
      assert.equal(typeof m.error.message, "string");
      assert.ok(!("result" in m), `${what}: error reply has no result`);
      return m;
    }

    await expectError("this is not JSON MARK01", [-32700], [null], "non-JSON");
    await expectError(JSON.stringify(call("MARK02", { id: 10 })).slice(0, -3), [-32700], [null], "truncated JSON");
    await expectError(JSON.stringify(call("MARK03", { id: 11, jsonrpc: "1.0" })), [-32600], [11, null], 'jsonrpc "1.0"');
    const noVersion = call("MARK04", { id: 12 });
    delete noVersion.jsonrpc;
    await expectError(JSON.stringify(noVersion), [-32600], [12, null], "no jsonrpc member");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: 13, params: { name: "rec__echo", arguments: { text: "MARK05" } } }), [-32600], [13, null], "no method");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: true, method: "tools/call", params: { name: "rec__echo", arguments: { text: "MARK06" } } }), [-32600], [null, true], "boolean id");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: 14.5, method: "tools/call", params: { name: "rec__echo", arguments: { text: "MARK07" } } }), [-32600], [null, 14.5], "fractional id");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: 15, method: "no/such/method", params: { x: "MARK08" } }), [-32601], [15], "unknown method");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: 16, method: "tools/call", params: "MARK09" }), [-32602, -32600], [16, null], "params not structured");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: 17, method: "tools/call", params: { arguments: { text: "MARK10" } } }), [-32602], [17], "tools/call without name");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: 18, method: "tools/call", params: { name: 42, arguments: { text: "MARK11" } } }), [-32602], [18], "tools/call name not a string");
    await expectError(
      '{"jsonrpc":"2.0","id":19,"method":"tools/call","params":{"name":"rec__echo","name":"rec__echo","arguments":{"text":"MARK12"}}}',
      [-32700, -32600],
      [null, 19],
      "duplicate key",
    );
    await expectError(
      Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"rec__echo","arguments":{"text":"MARK13 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}}')]),
      [-32700],
      [null, 20],
      "invalid UTF-8",
    );
    let deep = '"MARK14"';
    for (let i = 0; i < 300; i++) deep = `[${deep}]`;
    await expectError(`{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"rec__echo","arguments":{"text":"x","deep":${deep}}}}`, [-32700, -32600, -32602], [null, 21], "nesting depth 300");
    await expectError(JSON.stringify({ jsonrpc: "2.0", id: 22, method: "tools/call", params: { name: "rec__MARK15", arguments: {} } }), [-32602], [22], "unknown tool");
    // A notification with unstructured params is an invalid request (at most an id-null error
    // reply); a cancellation of an unknown request is ignored. Neither is forwarded.
    let from = gw.messages.length;
    gw.sendRaw(JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: "MARK16" }) + "\n");
    gw.sendRaw(JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 999999, reason: "MARK17 unknown request" } }) + "\n");
    assert.deepEqual((await gw.request({ jsonrpc: "2.0", id: 30, method: "ping" })).result, {});
    const notifReplies = gw.messages.slice(from).filter((m) => m.id !== 30);
    assert.ok(notifReplies.length <= 1, `replies to two notifications: ${JSON.stringify(notifReplies)}`);
    for (const m of notifReplies) {
      assert.equal(m.id, null, "a reply to an invalid notification has id null");
      assert.ok([-32600, -32602].includes(m.error?.code), `invalid notification: ${JSON.stringify(m)}`);
    }
    // A line far over any sane bound (20 MiB): an error or a dropped line, but the gateway lives on.
    from = gw.messages.length;
    gw.sendRaw(JSON.stringify(call("MARK18" + "z".repeat(20 * 1024 * 1024), { id: 23 })) + "\n");
    const pong = await gw.request({ jsonrpc: "2.0", id: 24, method: "ping" }, T(10000));
    assert.deepEqual(pong.result, {}, "ping answered after the oversized line");
    for (const m of gw.messages.slice(from)) {
      if (m.id === 23 || (m.id === null && m.error)) {
        assert.ok(m.error && [-32700, -32600].includes(m.error.code), `oversized line: ${JSON.stringify(m).slice(0, 200)}`);
      }
    }

    // Ids are the client's own: 7 and "7" are two different requests, answered in any order.
    const num = gw.request({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "rec__sleep", arguments: { ms: 300 } } }, T(10000));
    const str = gw.request({ jsonrpc: "2.0", id: "7", method: "tools/call", params: { name: "rec__echo", arguments: { text: "string id" } } }, T(10000));
    const [rn, rs] = await Promise.all([num, str]);
    assert.strictEqual(rn.id, 7);
    assert.equal(rn.result?.content?.[0]?.text, "rec slept 300");
    assert.strictEqual(rs.id, "7");
    assert.equal(rs.result?.content?.[0]?.text, "rec:string id");

    // Unusual but valid ids come back exactly as sent.
    for (const id of [0, -1, "x".repeat(1000), "\u00e9\u4e2d \"quoted\" \\ id"]) {
      const r = await gw.request({ jsonrpc: "2.0", id, method: "ping" });
      assert.strictEqual(r.id, id);
      assert.deepEqual(r.result, {});
    }
    // Responses from the client to requests nobody sent are ignored (no reply, no crash).
    from = gw.messages.length;
    gw.send({ jsonrpc: "2.0", id: "never-sent", result: { roots: [] } });
    gw.send({ jsonrpc: "2.0", id: 424242, error: { code: -32601, message: "MARK19" } });
    assert.deepEqual((await gw.request({ jsonrpc: "2.0", id: 31, method: "ping" })).result, {});
    assert.deepEqual(gw.messages.slice(from).filter((m) => m.id !== 31), [], "no reply to stray responses");

    // A valid call still works, and the upstream has seen only valid traffic.
    const ok = await gw.request({ ...call("SYNC-OK"), id: 25 }, T(10000));
    assert.equal(ok.result?.content?.[0]?.text, "rec:SYNC-OK");
    const raw = recorded(record);
    const rawText = JSON.stringify(raw);
    assert.ok(rawText.includes("SYNC-OK"), "upstream saw the valid call");
    const leaked = [...rawText.matchAll(/MARK\d\d/g)].map((m) => m[0]);
    assert.deepEqual([...new Set(leaked)], [], "no malformed message reached the upstream");
    assert.deepEqual(gw.badStdout, [], "stdout carried only JSON-RPC");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});
