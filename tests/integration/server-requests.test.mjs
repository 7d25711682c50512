// Server-to-client requests in detail: the client's error goes back to the upstream unchanged;
// an upstream that gives up on its request (timeout -> notifications/cancelled) has that
// cancellation forwarded to the client under the client-facing id; roots/list answers return.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { T, openSession, servers, waitUntil } from "./lib/harness.mjs";

test("server->client requests: errors returned, upstream cancellations forwarded, answers returned", { timeout: T(60000) }, async () => {
  const aborted = [];
  let elicitId = null;
  const s = await openSession({
    tag: "s2c",
    servers: { f: servers.faulty(["--name", "f"]) },
    gateway: { startup_wait: "10s" },
    capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} },
    setup(client) {
      client.setRequestHandler(CreateMessageRequestSchema, async () => {
        throw new McpError(-32099, "refused by the user");
      });
      client.setRequestHandler(ElicitRequestSchema, async (req, extra) => {
        elicitId = extra.requestId;
        return new Promise((resolve) => {
          extra.signal.addEventListener("abort", () => {
            aborted.push({ id: extra.requestId, reason: String(extra.signal.reason) });
            resolve({ action: "cancel" });
          });
        });
      });
      client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: "file:///srv/project", name: "project" }] }));
    },
  });
  try {
    await s.tools();
    const sampling = JSON.parse(await s.callText("f__ask", { method: "sampling/createMessage" }));
    assert.equal(sampling.error?.code, -32099, `client's error code reaches the upstream: ${JSON.stringify(sampling)}`);
    assert.match(sampling.error.message, /refused by the user/);

    const roots = JSON.parse(await s.callText("f__ask", { method: "roots/list" }));
    assert.deepEqual(roots.result, { roots: [{ uri: "file:///srv/project", name: "project" }] });

    const from = s.gw.messages.length;
    const el = JSON.parse(await s.callText("f__ask", { method: "elicitation/create", timeout_ms: 500 }));
    assert.equal(el.error?.code, -32001, `the upstream's own request timed out: ${JSON.stringify(el)}`);
    const req = s.gw.messages.slice(from).find((m) => m.method === "elicitation/create");
    assert.ok(req, "elicitation/create reached the client");
    await waitUntil(() => aborted.length > 0, T(3000), "the client's handler to be cancelled");
    assert.equal(aborted[0].id, req.id, "cancellation names the client-facing request id");
    assert.equal(elicitId, req.id);
    const cancel = s.gw.messages.slice(from).find((m) => m.method === "notifications/cancelled");
    assert.ok(cancel, "notifications/cancelled sent to the client");
    assert.strictEqual(cancel.params.requestId, req.id);

    // stdin EOF while a server->client request is still waiting for the client: a clean exit.
    const pending = s.callText("f__ask", { method: "elicitation/create", timeout_ms: 60000 }).catch(() => {});
    await s.gw.waitFor((m) => m.method === "elicitation/create" && m.id !== req.id, T(3000), "second elicitation at the client");
    await s.shutdown();
    await pending;
  } finally {
    s.destroy();
  }
});

test("subscriptions and updates for a rewritten (colliding) resource URI", { timeout: T(60000) }, async () => {
  const s = await openSession({
    tag: "res-collide",
    servers: { a: servers.faulty(["--name", "a", "--resource", "test://same/x"]), b: servers.faulty(["--name", "b", "--resource", "test://same/x"]) },
    gateway: { startup_wait: "10s" },
  });
  try {
    await s.tools();
    const uris = (await s.client.listResources()).resources.map((r) => r.uri);
    const rewritten = uris.find((u) => u.startsWith("mcpgw://b/"));
    assert.ok(uris.includes("test://same/x") && rewritten, `original and rewritten URI listed: ${uris.join(" ")}`);

    await s.client.subscribeResource({ uri: rewritten });
    assert.equal(await s.callText("a__touch", { uri: "test://same/x" }), "not subscribed", "subscription did not go to a");
    let from = s.gw.messages.length;
    assert.equal(await s.callText("b__touch", { uri: "test://same/x" }), "updated", "b got the original URI");
    let upd = await s.gw.waitFor((m) => m.method === "notifications/resources/updated", T(3000), "updated from b", from);
    assert.equal(upd.params.uri, rewritten, "b's update carries the exposed (rewritten) URI");

    await s.client.subscribeResource({ uri: "test://same/x" });
    from = s.gw.messages.length;
    assert.equal(await s.callText("a__touch", { uri: "test://same/x" }), "updated");
    upd = await s.gw.waitFor((m) => m.method === "notifications/resources/updated", T(3000), "updated from a", from);
    assert.equal(upd.params.uri, "test://same/x");

    await s.client.unsubscribeResource({ uri: rewritten });
    assert.equal(await s.callText("b__touch", { uri: "test://same/x" }), "not subscribed", "unsubscribe of the rewritten URI reached b");
    assert.equal(await s.callText("a__touch", { uri: "test://same/x" }), "updated", "a's subscription untouched");
    await s.shutdown();
  } finally {
    s.destroy();
  }
});
