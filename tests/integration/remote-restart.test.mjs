// Issue 3 acceptance: restarting a remote server process between two calls costs the user
// nothing. The transport notices the lost session (404, or the SDK examples' 400 "No valid
// session ID"), starts a new one with the stored initialize, and sends the call again; a legacy
// SSE server's new event stream gets a new session the same way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { T, openSession, waitUntil } from "./lib/harness.mjs";
import { startServer, stopAll } from "./lib/remote.mjs";

for (const [label, args] of [
  ["Streamable HTTP, SSE responses, 404 for the old session", []],
  ["Streamable HTTP, JSON responses, 404 for the old session", ["--json"]],
  ["Streamable HTTP, 400 'No valid session ID' for the old session (the SDK examples)", ["--unknown-session", "400"]],
  ["Streamable HTTP without a GET stream", ["--no-get"]],
  ["legacy HTTP+SSE", ["--transport", "sse"]],
]) {
  test(`server restarted between two calls, the second succeeds: ${label}`, { timeout: T(60000) }, async () => {
    const srv = await startServer(["--name", "rs", ...args]);
    const other = await startServer(["--name", "other"]);
    let s;
    try {
      s = await openSession({ tag: "restart", servers: { rs: { url: srv.url }, other: { url: other.url } } });
      const pid1 = Number(await s.callText("rs__pid"));
      assert.equal(pid1, srv.pid);
      await srv.restart();
      assert.notEqual(srv.pid, pid1);
      // immediately: no waiting for the gateway to notice
      const pid2 = Number(await s.callText("rs__pid"));
      assert.equal(pid2, srv.pid, "the second call reached the new process");
      assert.equal(await s.callText("rs__echo", { text: "again" }), "rs:again");
      assert.equal(await s.callText("other__echo", { text: "o" }), "other:o");
      assert.match(s.gw.stderr, /\[rs\] .*new session ready/);
      assert.doesNotMatch(s.gw.stderr, /\[rs\].*restarting in/, "the upstream never noticed");
      await s.shutdown();
    } finally {
      s?.destroy();
      await stopAll([srv, other]);
    }
  });
}

test("a call made while the server is down waits for it to come back", { timeout: T(60000) }, async () => {
  const srv = await startServer(["--name", "down"]);
  let s;
  try {
    s = await openSession({ tag: "down", servers: { down: { url: srv.url } } });
    assert.equal(await s.callText("down__echo", { text: "1" }), "down:1");
    await srv.stop();
    const pending = s.callText("down__echo", { text: "2" });
    await new Promise((r) => setTimeout(r, 600));
    await srv.start(srv.port);
    assert.equal(await pending, "down:2");
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

test("a server that stays down: calls fail with a clear error, the gateway restarts it later", { timeout: T(90000) }, async () => {
  const srv = await startServer(["--name", "gone"]);
  let s;
  try {
    s = await openSession({ tag: "gone", servers: { gone: { url: srv.url } } });
    assert.equal(await s.callText("gone__echo", { text: "1" }), "gone:1");
    await srv.stop();
    const t0 = performance.now();
    let err;
    try {
      await s.callText("gone__echo", { text: "2" });
    } catch (e) {
      err = e;
    }
    assert.ok(err, "the call failed");
    assert.match(err.message, /cannot connect|unreachable|gave up/);
    assert.ok(performance.now() - t0 < T(25000), "within the recovery budget");
    await srv.start(srv.port);
    await waitUntil(
      async () => {
        try {
          return (await s.callText("gone__echo", { text: "3" }, { timeout: T(2000) })) === "gone:3";
        } catch {
          return false;
        }
      },
      T(30000),
      "the server back through the upstream's restart",
      250,
    );
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
  }
});

// A new session knows nothing of the old one: the gateway sets up again what the client set up
// in it (its resource subscriptions and its log level). Before this was fixed, updates to a
// subscribed resource stopped for good after a remote server's restart, without a word.
for (const [label, args] of [
  ["Streamable HTTP", []],
  ["legacy HTTP+SSE", ["--transport", "sse"]],
]) {
  test(`server restarted: the new session gets the client's resource subscriptions and log level again: ${label}`, { timeout: T(60000) }, async () => {
    const srv = await startServer(["--name", "sub", "--subscribable", ...args]);
    let s;
    try {
      s = await openSession({ tag: "resub", servers: { sub: { url: srv.url } } });
      const uri = "mem://sub/note";
      const listed = (await s.client.listResources()).resources.map((r) => r.uri);
      assert.ok(listed.includes(uri), `the resource is listed: ${listed.join(" ")}`);
      assert.equal(await s.callText("sub__touch", { uri }), "not subscribed");
      assert.equal(await s.callText("sub__log_level"), "unset");
      await s.client.subscribeResource({ uri });
      await s.client.setLoggingLevel("error");
      assert.equal(await s.callText("sub__log_level"), "error");
      let mark = s.gw.messages.length;
      assert.equal(await s.callText("sub__touch", { uri }), "updated");
      await s.gw.waitFor((m) => m.method === "notifications/resources/updated" && m.params?.uri === uri, T(5000), "the update before the restart", mark);

      const pid1 = srv.pid;
      await srv.restart();
      assert.notEqual(srv.pid, pid1);
      // The first call after the restart finds the session lost; the renewal follows the new
      // session's initialize (a call that waited through the recovery may get there first).
      await waitUntil(async () => (await s.callText("sub__touch", { uri })) === "updated", T(10000), "the new session subscribed again", 100);
      mark = s.gw.messages.length;
      assert.equal(await s.callText("sub__touch", { uri }), "updated");
      await s.gw.waitFor((m) => m.method === "notifications/resources/updated" && m.params?.uri === uri, T(5000), "the update after the restart reaches the client", mark);
      assert.equal(await s.callText("sub__log_level"), "error", "the new session was told the client's log level");
      assert.match(s.gw.stderr, /\[sub\] .*new session ready/);
      assert.match(s.gw.stderr, /\[sub\] renewed 1 resource subscription\b/);
      assert.doesNotMatch(s.gw.stderr, /\[sub\].*restarting in/, "the upstream stayed ready");
      await s.shutdown();
    } finally {
      s?.destroy();
      await srv.stop();
    }
  });
}
