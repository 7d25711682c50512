// Issue 3 point 7: TLS to remote servers: verification always on (a certificate from an unknown CA
// is an error, never a silent insecure fallback), tls.ca_file, and a client certificate and key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, openSession, rmTmp, waitUntil } from "./lib/harness.mjs";
import { startServer, stopAll } from "./lib/remote.mjs";

let haveOpenssl = true;
try {
  execFileSync("openssl", ["version"], { stdio: "ignore" });
} catch {
  haveOpenssl = false;
}

/** A throw-away CA, a server certificate for 127.0.0.1 and a client certificate. */
function pki(dir) {
  const f = (n) => path.join(dir, n);
  const ssl = (...a) => execFileSync("openssl", a, { stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=mcpgw test CA");
  fs.writeFileSync(f("srv.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  ssl("req", ...ec, "-keyout", f("srv.key"), "-out", f("srv.csr"), "-subj", "/CN=127.0.0.1");
  ssl("x509", "-req", "-in", f("srv.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("srv.pem"), "-days", "2", "-extfile", f("srv.ext"));
  fs.writeFileSync(f("cli.ext"), "extendedKeyUsage=clientAuth\n");
  ssl("req", ...ec, "-keyout", f("cli.key"), "-out", f("cli.csr"), "-subj", "/CN=mcpgw test client");
  ssl("x509", "-req", "-in", f("cli.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("cli.pem"), "-days", "2", "-extfile", f("cli.ext"));
  for (const k of ["ca.key", "srv.key", "cli.key"]) fs.chmodSync(f(k), 0o600);
  return f;
}

test("TLS: ca_file trusts the server; without it the unknown CA is an error, not a fallback; client certificates", { skip: !haveOpenssl && "no openssl", timeout: T(60000) }, async () => {
  const dir = makeTmp("tls");
  const f = pki(dir);
  const srv = await startServer(["--name", "t", "--tls-cert", f("srv.pem"), "--tls-key", f("srv.key")]);
  const mtls = await startServer(["--name", "mt", "--tls-cert", f("srv.pem"), "--tls-key", f("srv.key"), "--tls-client-ca", f("ca.pem")]);
  let s;
  try {
    assert.match(srv.url, /^https:/);
    s = await openSession({
      dir,
      servers: {
        good: { url: srv.url, tls: { ca_file: f("ca.pem") } },
        untrusted: { url: srv.url, startup_timeout: "3s" },
        client: { url: mtls.url, tls: { ca_file: f("ca.pem"), cert_file: f("cli.pem"), key_file: f("cli.key") } },
        nocert: { url: mtls.url, tls: { ca_file: f("ca.pem") }, startup_timeout: "3s" },
      },
      gateway: { startup_wait: `${T(3000)}ms` },
    });
    assert.equal(await s.callText("good__echo", { text: "1" }), "t:1");
    assert.equal(await s.callText("client__echo", { text: "2" }), "mt:2");
    await waitUntil(() => /\[untrusted\].*cannot connect to https:\/\/127\.0\.0\.1:\d+\/mcp: .*certificate/i.test(s.gw.stderr), T(5000), "the untrusted server's error");
    await waitUntil(() => /\[nocert\].*(cannot connect|connection broke|alert|handshake|certificate)/i.test(s.gw.stderr), T(5000), "the mTLS refusal");
    const tools = await s.tools();
    assert.ok(!tools.has("untrusted__echo") && !tools.has("nocert__echo"));
    await s.shutdown();
  } finally {
    s?.destroy();
    await stopAll([srv, mtls]);
    rmTmp(dir);
  }
});
