// Two faults of issue 5 point 4 that the other files do not cover: a server that writes without
// ever ending its line, and a client that stops reading (EPIPE on the gateway's stdout).
import { test } from "node:test";
import assert from "node:assert/strict";
import { openSession, servers, waitGone, NODE, fixture, T, SANITIZED } from "./lib/harness.mjs";


test("a server that writes 24 MiB without a newline: the line is dropped at its bound, the call times out, memory stays bounded, the other server is unaffected", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "nonewline",
    servers: { spew: { command: NODE, args: [fixture("nonewline.mjs")], timeout: "3s" }, ok: servers.faulty(["--name", "ok"]) },
  });
  try {
    const t0 = performance.now();
    await assert.rejects(s.call("spew__spew", { mb: 24 }, { timeout: T(20000) }), (e) => {
      assert.match(String(e.message), /timed out/);
      return true;
    });
    assert.ok(performance.now() - t0 < T(15000), "the call ended at the gateway's own timeout");
    assert.equal(await s.callText("ok__echo", { text: "still" }), "ok:still");
    const fs = await import("node:fs");
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${s.gw.pid}/status`, "utf8"))[1]);
    // ASan keeps freed memory in quarantine (256 MB): the bound is for the real build.
    if (!SANITIZED)
      assert.ok(hwm < 64 * 1024, `gateway peak RSS ${hwm} kB stays bounded (16 MiB line bound)`);
    assert.match(s.gw.stderr, /\[spew\] dropped a message over the size bound/);
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
