// `mcpgw connect` (issue 10 point 6): the stdio shim a client entry points at, driven by the SDK's
// stdio client, in front of a real `mcpgw serve` on a unix socket: tools and calls pass both ways,
// a 10 MB reply passes, the service restarting is invisible to the client but for the call in
// flight, and with no service the shim says how to start one.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { BIN, Gateway, makeTmp, rmTmp, runGateway, servers, sleep, T, toYaml, waitUntil, within } from "./lib/harness.mjs";

async function startServe(dir, sock, srv) {
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(config, toYaml({ servers: srv }));
  const gw = new Gateway({ dir, args: ["serve", "-c", config, "--system-policy", "", "--listen", `unix:${sock}`] });
  await waitUntil(() => /listening on/.test(gw.stderr) || gw.exitStatus !== null, T(10000), "serve to listen");
  assert.equal(gw.exitStatus, null, gw.stderrTail());
  return gw;
}

async function stopServe(gw) {
  gw.proc.kill("SIGTERM");
  const st = await Promise.race([gw.exited, sleep(T(8000)).then(() => null)]);
  assert.ok(st, `serve did not stop:\n${gw.stderrTail()}`);
  assert.equal(st.code, 0, gw.stderrTail());
}

async function connectClient(dir, addr, env = {}) {
  const stderr = [];
  const transport = new StdioClientTransport({
    command: BIN, args: addr ? ["connect", addr] : ["connect"],
    env: { PATH: process.env.PATH, HOME: dir, ...env }, stderr: "pipe",
  });
  transport.stderr?.on("data", (c) => stderr.push(String(c)));
  const client = new Client({ name: "connect-it", version: "1.0.0" });
  await within(client.connect(transport), T(10000), "initialize through connect");
  return { client, transport, stderr };
}

test("connect: the SDK stdio client reaches the service's tools; a 10 MB reply passes", async () => {
  // server-filesystem puts a file's text in the reply twice (content and structuredContent): a
  // file of 5,000,000 bytes makes a reply of 10 MB, just under the SDK stdio client's own cap of
  // 10 MiB on one message.
  const dir = makeTmp("connect");
  const sock = path.join(dir, "run", "mcpgw.sock");
  const files = path.join(dir, "files");
  fs.mkdirSync(files);
  const big = "0123456789abcdef".repeat(5000000 / 16);
  fs.writeFileSync(path.join(files, "big.txt"), big);
  const gw = await startServe(dir, sock, { everything: servers.everything(), files: servers.filesystem(files) });
  try {
    const { client } = await connectClient(dir, `unix:${sock}`);
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes("everything__echo"), names.join(","));
    const r = await client.callTool({ name: "everything__echo", arguments: { message: "via connect" } });
    assert.equal(r.content[0].text, "Echo: via connect");
    const read = names.find((n) => /^files__read_(text_)?file$/.test(n));
    assert.ok(read, names.join(","));
    const r2 = await client.callTool({ name: read, arguments: { path: path.join(files, "big.txt") } }, undefined, { timeout: T(30000) });
    assert.equal(r2.content[0].text.length, big.length);
    assert.equal(r2.content[0].text, big);
    assert.ok(JSON.stringify(r2).length >= 10000000, `the reply is ${JSON.stringify(r2).length} bytes`);
    await client.close();
  } finally {
    await stopServe(gw);
    rmTmp(dir);
  }
});

test("connect: the service restarting costs the client nothing but a call in flight", async () => {
  const dir = makeTmp("connect-restart");
  const sock = path.join(dir, "mcpgw.sock");
  let gw = await startServe(dir, sock, { everything: servers.everything() });
  try {
    // The default address is the per-user socket.
    const { client, stderr } = await connectClient(dir, null, { XDG_RUNTIME_DIR: dir });
    assert.equal((await client.callTool({ name: "everything__echo", arguments: { message: "one" } })).content[0].text, "Echo: one");
    await stopServe(gw);
    gw = await startServe(dir, sock, { everything: servers.everything() });
    // The next call goes to a new session of the new service, opened with the client's initialize.
    const r = await client.callTool({ name: "everything__echo", arguments: { message: "two" } }, undefined, { timeout: T(30000) });
    assert.equal(r.content[0].text, "Echo: two");
    assert.ok((await client.listTools()).tools.length > 0);
    assert.match(stderr.join(""), /new session|connected to the service/);
    await client.close();
  } finally {
    await stopServe(gw);
    rmTmp(dir);
  }
});

test("connect: with no service it says how to start one and exits 1", async () => {
  const dir = makeTmp("connect-none");
  try {
    const r = await runGateway(["connect", `unix:${path.join(dir, "none.sock")}`], { dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no mcpgw service at unix:.*none\.sock/);
    assert.match(r.stderr, /mcpgw serve --listen unix:/);
    assert.equal(r.stdout, "");
    const r2 = await runGateway(["connect"], { dir, env: { XDG_RUNTIME_DIR: "" } });
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /XDG_RUNTIME_DIR/);
    // The common options its --help lists, before or after the command: -v is taken, -c is said
    // to have no effect (connect reads no configuration); once both were "unexpected argument".
    for (const args of [["-v", "connect"], ["connect", "--verbose"], ["connect", "-c", "x.yaml"], ["-c", "x.yaml", "connect"]]) {
      const r3 = await runGateway([...args, `unix:${path.join(dir, "none.sock")}`], { dir });
      assert.equal(r3.code, 1, args.join(" "));
      assert.doesNotMatch(r3.stderr, /unexpected argument/, args.join(" "));
      assert.match(r3.stderr, /no mcpgw service at unix:/, args.join(" "));
      if (args.includes("-c")) assert.match(r3.stderr, /-c has no effect: connect reads no configuration/);
    }
    const r4 = await runGateway(["connect", "--frobnicate"], { dir });
    assert.equal(r4.code, 1);
    assert.match(r4.stderr, /unexpected argument '--frobnicate'/);
  } finally {
    rmTmp(dir);
  }
});

test("connect: when the service stays away, requests get a clear error once the bound has passed", { timeout: T(90000) }, async () => {
  const dir = makeTmp("connect-gone");
  const sock = path.join(dir, "mcpgw.sock");
  const gw = await startServe(dir, sock, { everything: servers.everything() });
  try {
    const { client } = await connectClient(dir, `unix:${sock}`);
    assert.equal((await client.callTool({ name: "everything__echo", arguments: { message: "up" } })).content[0].text, "Echo: up");
    await stopServe(gw);
    // The service does not come back: after the bound (30 s) a request fails with words that
    // say how to start it, instead of waiting for ever.
    const t0 = Date.now();
    let err;
    for (;;) {
      try {
        await client.callTool({ name: "everything__echo", arguments: { message: "down" } }, undefined, { timeout: T(60000) });
      } catch (e) {
        err = e;
      }
      if (err && /has not answered for/.test(err.message)) break;
      assert.ok(Date.now() - t0 < T(70000), `no clear error within the bound: ${err?.message}`);
      err = null;
      await sleep(2000);
    }
    assert.match(err.message, /mcpgw serve --listen unix:/);
    await client.close();
  } finally {
    gw.destroy();
    rmTmp(dir);
  }
});

// A 2026-07-28 client through connect (issue 12): the official SDK 2.4.0 client negotiates with
// server/discover; connect passes its stateless requests on, and serve answers them as modern.
test("connect: a 2026-07-28 client (SDK 2.4.0) gets the modern era, tools, a call and a listen through the shim", { timeout: T(90000) }, async () => {
  const { Client: Client2 } = await import("@modelcontextprotocol/client");
  const { StdioClientTransport: Stdio2 } = await import("@modelcontextprotocol/client/stdio");
  const dir = makeTmp("connect-modern");
  const sock = path.join(dir, "run", "mcpgw.sock");
  const gw = await startServe(dir, sock, { everything: servers.everything() });
  const stderr = [];
  const transport = new Stdio2({ command: BIN, args: ["connect", `unix:${sock}`], env: { PATH: process.env.PATH, HOME: dir }, stderr: "pipe" });
  transport.stderr?.on("data", (c) => stderr.push(String(c)));
  const client = new Client2({ name: "connect-modern", version: "1.0.0" }, { capabilities: {}, versionNegotiation: { mode: "auto" } });
  try {
    await within(client.connect(transport), T(15000), "the modern client's negotiation through connect");
    assert.equal(client.getProtocolEra(), "modern", stderr.join(""));
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes("everything__echo"), names.join(","));
    const r = await client.callTool({ name: "everything__echo", arguments: { message: "modern via connect" } });
    assert.equal(r.content[0].text, "Echo: modern via connect");
    const sub = await client.listen({ toolsListChanged: true });
    assert.deepEqual(sub.honoredFilter, { toolsListChanged: true });
    await sub.close();
  } finally {
    await client.close().catch(() => {});
    await stopServe(gw);
    rmTmp(dir);
  }
});
