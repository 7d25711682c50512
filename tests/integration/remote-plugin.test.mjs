// Issue 3 point 6: third-party auth plugins through the C ABI of <mcpgw/plugin.h>. The example
// plugin (plugins/hmac-signature) signs every request; the server checks the signature. Plugin
// files that are relative, writable by others, symbolic links, or built for another ABI are
// refused with a clear error, and the other servers go on.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, rmTmp, waitUntil } from "./lib/harness.mjs";
import { PLUGIN_BUILD, TEST_PLUGIN_BUILD, startServer, writeSecret } from "./lib/remote.mjs";

const HMAC = path.join(PLUGIN_BUILD, "hmac-signature.so");
const WRONG = path.join(TEST_PLUGIN_BUILD, "wrong-abi.so");
const skip = !fs.existsSync(HMAC) || !fs.existsSync(WRONG) ? "plugins not built (make plugins test-plugins)" : false;

const KEY = "k3y-0f-the-hmac-plugin-0123456789abcdef";

function pluginDir(dir) {
  const p = path.join(dir, "plugins");
  fs.mkdirSync(p, { mode: 0o755 });
  fs.chmodSync(p, 0o755);
  return p;
}

function install(src, dst, mode = 0o755) {
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, mode);
}

test("the example plugin hmac-signature signs every request; the server checks it", { skip, timeout: T(60000) }, async () => {
  const dir = makeTmp("plugin");
  const plugins = pluginDir(dir);
  install(HMAC, path.join(plugins, "hmac-signature.so"));
  const key = path.join(dir, "key");
  writeSecret(key, KEY + "\n");
  const srv = await startServer(["--name", "hm", "--hmac-key-file", key]);
  const legacy = await startServer(["--transport", "sse", "--name", "hl", "--hmac-key-file", key]);
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        hm: { url: srv.url, auth: { plugin: "hmac-signature", key_file: key, key_id: "test-1" } },
        hl: { url: legacy.url, auth: { plugin: "hmac-signature", key_file: key } },
        unsigned: { url: srv.url, startup_timeout: "3s" },
      },
      env: { MCPGW_PLUGIN_DIR: plugins },
      gateway: { startup_wait: "5s" },
    });
    assert.equal(await s.callText("hm__echo", { text: "1" }), "hm:1");
    assert.equal(await s.callText("hl__echo", { text: "2" }), "hl:2");
    await waitUntil(() => /\[unsigned\].*HTTP 401/.test(s.gw.stderr), T(5000), "the unsigned server refused");
    assert.ok(!s.gw.stderr.includes(KEY));
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    await legacy.stop();
    rmTmp(dir);
  }
});

test("plugin files that are writable by others, symbolic links, of another ABI or missing are refused", { skip, timeout: T(60000) }, async () => {
  const dir = makeTmp("plugin-bad");
  const plugins = pluginDir(dir);
  install(HMAC, path.join(plugins, "hmac-signature.so"));
  install(HMAC, path.join(plugins, "writable.so"), 0o757);
  install(WRONG, path.join(plugins, "wrong-abi.so"));
  fs.symlinkSync(path.join(plugins, "hmac-signature.so"), path.join(plugins, "link.so"));
  fs.writeFileSync(path.join(plugins, "notelf.so"), "not a shared object", { mode: 0o644 });
  const key = path.join(dir, "key");
  writeSecret(key, KEY);
  const srv = await startServer(["--name", "pb"]);
  let s;
  try {
    const a = (plugin) => ({ url: srv.url, auth: { plugin, key_file: key }, startup_timeout: "3s" });
    s = await openSession({
      dir,
      servers: { ok: { url: srv.url }, w: a("writable"), x: a("wrong-abi"), l: a("link"), n: a("notelf"), m: a("missing") },
      env: { MCPGW_PLUGIN_DIR: plugins },
      gateway: { startup_wait: "2s" },
    });
    assert.equal(await s.callText("ok__echo", { text: "1" }), "pb:1");
    await waitUntil(() => /\[m\]/.test(s.gw.stderr) && /\[l\]/.test(s.gw.stderr), T(5000), "the refusals");
    assert.match(s.gw.stderr, /\[w\] .*auth plugin .*writable\.so is writable by group or others; refused/);
    assert.match(s.gw.stderr, /\[x\] .*wrong-abi\.so was built for plugin ABI 2, this gateway speaks ABI 1; refused/);
    assert.match(s.gw.stderr, /\[l\] .*link\.so is a symbolic link; refused/);
    assert.match(s.gw.stderr, /\[n\] .*notelf\.so cannot be loaded/);
    assert.match(s.gw.stderr, /\[m\] .*auth plugin 'missing' not found/);
    const tools = await s.tools();
    for (const n of ["w", "x", "l", "n", "m"]) assert.ok(!tools.has(`${n}__echo`));
    await s.shutdown();
  } finally {
    s?.destroy();
    await srv.stop();
    rmTmp(dir);
  }
});

test("a relative or group-writable plugin directory is refused", { skip, timeout: T(60000) }, async () => {
  const dir = makeTmp("plugin-dir");
  const plugins = pluginDir(dir);
  install(HMAC, path.join(plugins, "hmac-signature.so"));
  const key = path.join(dir, "key");
  writeSecret(key, KEY);
  const srv = await startServer(["--name", "pd"]);
  try {
    for (const [envDir, mode, re] of [
      ["plugins", 0o755, /plugin directory 'plugins' is not an absolute path; refused/],
      [plugins, 0o775, /auth plugin directory .*plugins is writable by group or others; refused/],
    ]) {
      fs.chmodSync(plugins, mode);
      const s = await openSession({
        dir,
        servers: { p: { url: srv.url, auth: { plugin: "hmac-signature", key_file: key } } },
        env: { MCPGW_PLUGIN_DIR: envDir },
        gateway: { startup_wait: "1s" },
      });
      try {
        await waitUntil(() => re.test(s.gw.stderr), T(5000), String(re));
        await s.shutdown();
      } finally {
        s.destroy();
      }
    }
  } finally {
    await srv.stop();
    rmTmp(dir);
  }
});
