// Issue 14 item 3: `mcpgw check` catches, without starting anything, what would fail at run time:
// one test per class (secret files, commands and the server's PATH, plugins, cwd, URLs, system
// policy, unprefixed servers). Each problem is FILE:LINE:COL: key.path: message; errors exit 1,
// warnings only with --strict.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { T, makeTmp, rmTmp, runGateway, toYaml } from "./lib/harness.mjs";

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Writes config.yaml in a fresh dir from `servers` (a function of the dir) and runs check. */
async function check(tag, servers, { args = [], env = {}, prepare, policy } = {}) {
  const dir = makeTmp(`chk-${tag}`);
  try {
    if (prepare) prepare(dir);
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(file, toYaml({ servers: servers(dir) }));
    let sp = "";
    if (policy) {
      sp = path.join(dir, "policy.yaml");
      fs.writeFileSync(sp, policy);
    }
    const r = await runGateway(["check", "-c", file, "--system-policy", sp, ...args], { dir, env });
    return { ...r, file, dir, out: r.stdout + r.stderr, lines: (r.stdout + r.stderr).split("\n") };
  } finally {
    rmTmp(dir);
  }
}

/** The diagnostic line for key.path, parsed; asserts the FILE:LINE:COL format. */
function diag(r, keyPath) {
  const re = new RegExp(`^${esc(r.file)}:(\\d+):(\\d+): ${esc(keyPath)}: (.*)$`);
  for (const l of r.lines) {
    const m = re.exec(l);
    if (m) return { line: Number(m[1]), col: Number(m[2]), message: m[3] };
  }
  assert.fail(`no diagnostic for ${keyPath}; output:\n${r.out}`);
}

test("check: a token file that is missing, or writable by others, is an error at auth.token_file", { timeout: T(30000) }, async () => {
  const r = await check(
    "token",
    (dir) => ({
      missing: { url: "https://mcp.example.com/a", auth: { plugin: "bearer", token_file: path.join(dir, "nope.token") } },
      unsafe: { url: "https://mcp.example.com/b", auth: { plugin: "bearer", token_file: path.join(dir, "open.token") } },
      empty: { url: "https://mcp.example.com/c", auth: { plugin: "bearer", token_file: path.join(dir, "empty.token") } },
      good: { url: "https://mcp.example.com/d", auth: { plugin: "bearer", token_file: path.join(dir, "good.token") } },
    }),
    {
      prepare: (dir) => {
        fs.writeFileSync(path.join(dir, "open.token"), "abc\n", { mode: 0o666 });
        fs.chmodSync(path.join(dir, "open.token"), 0o666);
        fs.writeFileSync(path.join(dir, "empty.token"), "\n", { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "good.token"), "abc\n", { mode: 0o600 });
      },
    },
  );
  assert.equal(r.code, 1, r.out);
  assert.match(diag(r, "servers.missing.auth.token_file").message, /cannot open .*nope\.token: No such file or directory/);
  assert.match(diag(r, "servers.unsafe.auth.token_file").message, /open\.token is writable by group or others; refused/);
  assert.match(diag(r, "servers.empty.auth.token_file").message, /holds no token/);
  // the place is the value of token_file (line of the server's auth mapping)
  const d = diag(r, "servers.missing.auth.token_file");
  assert.ok(d.line > 1 && d.col > 1, `a real place: ${JSON.stringify(d)}`);
  assert.doesNotMatch(r.out, /servers\.good/, "a good token file passes");
  assert.doesNotMatch(r.out, /configuration OK/);
});

test("check: a secret file others may read is a warning; --strict makes it fail", { timeout: T(30000) }, async () => {
  const servers = (dir) => ({ s: { url: "https://mcp.example.com/", auth: { plugin: "bearer", token_file: path.join(dir, "t") } } });
  const prepare = (dir) => {
    fs.writeFileSync(path.join(dir, "t"), "abc\n");
    fs.chmodSync(path.join(dir, "t"), 0o644);
  };
  const r = await check("readable", servers, { prepare });
  assert.equal(r.code, 0, r.out);
  assert.match(diag(r, "servers.s.auth.token_file").message, /^warning: .* group or others may read it \(chmod 600 it\)/);
  assert.match(r.out, /configuration OK \(1 server, with warnings\)/);
  const strict = await check("readable-strict", servers, { prepare, args: ["--strict"] });
  assert.equal(strict.code, 1, strict.out);
  assert.match(strict.out, /--strict/);
});

test("check: a command not on the PATH the server gets, or not executable, is an error; the shell's PATH is named", { timeout: T(30000) }, async () => {
  const r = await check(
    "command",
    (dir) => ({
      nowhere: { command: "mcpgw-no-such-program" },
      // on this process's PATH (below) but not on the server's: env_passthrough: [] gives the default PATH
      shellonly: { command: "mcpgw-it-tool", env_passthrough: [] },
      // passed through: found
      passed: { command: "mcpgw-it-tool", env_passthrough: ["PATH"] },
      noexec: { command: path.join(dir, "bin", "plain.sh") },
      relcwd: { command: "./bin/mcpgw-it-tool", cwd: dir },
      relnocwd: { command: "./bin/mcpgw-it-tool" },
      // a script whose interpreter is missing fails as "No such file or directory" at run time
      badinterp: { command: path.join(dir, "bin", "interp.sh") },
      // #!/usr/bin/env NAME looks NAME up on the server's PATH (npx and node, under Codex)
      envinterp: { command: path.join(dir, "bin", "env.sh"), env_passthrough: [] },
    }),
    {
      prepare: (dir) => {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "mcpgw-it-tool"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "plain.sh"), "#!/bin/sh\n", { mode: 0o644 });
        fs.writeFileSync(path.join(bin, "interp.sh"), "#!/nonexistent/interpreter -x\n", { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "env.sh"), "#!/usr/bin/env -S mcpgw-it-interpreter --flag\n", { mode: 0o755 });
      },
    },
  );
  assert.equal(r.code, 1, r.out);
  assert.match(diag(r, "servers.nowhere.command").message, /'mcpgw-no-such-program' is not on the PATH the server gets \(/);
  assert.match(diag(r, "servers.noexec.command").message, /plain\.sh is not executable/);
  assert.doesNotMatch(r.out, /servers\.relcwd/, "a relative command is found from the server's cwd");
  assert.match(diag(r, "servers.relnocwd.command").message, /^warning: \.\/bin\/mcpgw-it-tool is relative: it is looked up from the directory the client starts mcpgw in/);
  assert.match(diag(r, "servers.badinterp.command").message, /interp\.sh starts with #!\/nonexistent\/interpreter, and \/nonexistent\/interpreter: No such file or directory/);
  assert.match(diag(r, "servers.envinterp.command").message, /env\.sh runs 'mcpgw-it-interpreter' through #!\/usr\/bin\/env, and 'mcpgw-it-interpreter' is not on the PATH the server gets \(\/usr\/local\/bin:\/usr\/bin:\/bin\)/);

  // On this process's PATH but not on the server's: the message names where the shell finds it.
  const dir = makeTmp("chk-path");
  try {
    const b = path.join(dir, "bin");
    fs.mkdirSync(b);
    fs.writeFileSync(path.join(b, "mcpgw-it-tool"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(file, toYaml({ servers: { shellonly: { command: "mcpgw-it-tool", env_passthrough: [] }, passed: { command: "mcpgw-it-tool", env_passthrough: ["PATH"] } } }));
    const p = await runGateway(["check", "-c", file, "--system-policy", ""], { dir, env: { PATH: `${b}:${process.env.PATH}` } });
    const rr = { ...p, file, out: p.stdout + p.stderr, lines: (p.stdout + p.stderr).split("\n") };
    assert.equal(p.code, 1, rr.out);
    const d = diag(rr, "servers.shellonly.command");
    assert.match(d.message, /is not on the PATH the server gets \(\/usr\/local\/bin:\/usr\/bin:\/bin\)/);
    assert.match(d.message, new RegExp(`this shell finds it at ${esc(path.join(b, "mcpgw-it-tool"))}`));
    assert.match(d.message, /env_passthrough does not list PATH/);
    assert.doesNotMatch(rr.out, /servers\.passed/, "PATH passed through: found");
  } finally {
    rmTmp(dir);
  }
});

test("check: what it reports for a command is what the run hits (doctor: cannot execute)", { timeout: T(30000) }, async () => {
  const dir = makeTmp("chk-doctor");
  try {
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(file, toYaml({ servers: { ghost: { command: "mcpgw-no-such-program", env_passthrough: [] } } }));
    const c = await runGateway(["check", "-c", file, "--system-policy", ""], { dir });
    assert.equal(c.code, 1, c.stdout + c.stderr);
    assert.match(c.stdout, /servers\.ghost\.command: 'mcpgw-no-such-program' is not on the PATH/);
    const d = await runGateway(["doctor", "-c", file, "--system-policy", ""], { dir });
    assert.equal(d.code, 2, d.stdout + d.stderr);
    assert.match(d.stdout, /ghost:\n  state:      failed[\s\S]*last error: cannot execute mcpgw-no-such-program/);
  } finally {
    rmTmp(dir);
  }
});

test("check: a plugin that cannot load (not an ELF file; a missing one) is an error at auth.plugin", { timeout: T(30000) }, async () => {
  const dir = makeTmp("chk-plugin2");
  try {
    const p = path.join(dir, "plugins");
    fs.mkdirSync(p, { mode: 0o755 });
    fs.chmodSync(p, 0o755);
    fs.writeFileSync(path.join(p, "broken.so"), "this is not a shared object\n", { mode: 0o644 });
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(file, toYaml({ servers: { broken: { url: "https://mcp.example.com/", auth: { plugin: "broken" } }, absent: { url: "https://mcp.example.com/x", auth: { plugin: "absent" } } } }));
    const res = await runGateway(["check", "-c", file, "--system-policy", ""], { dir, env: { MCPGW_PLUGIN_DIR: p } });
    const rr = { ...res, file, out: res.stdout + res.stderr, lines: (res.stdout + res.stderr).split("\n") };
    assert.equal(res.code, 1, rr.out);
    assert.match(diag(rr, "servers.broken.auth.plugin").message, /auth plugin .*broken\.so cannot be loaded/);
    assert.match(diag(rr, "servers.absent.auth.plugin").message, /auth plugin 'absent' not found/);
  } finally {
    rmTmp(dir);
  }
});

test("check: a token variable that is not set is an error; an OAuth server not signed in yet is a warning", { timeout: T(30000) }, async () => {
  const r = await check(
    "authenv",
    () => ({
      envtok: { url: "https://mcp.example.com/e", auth: { plugin: "bearer", token_env: "MCPGW_IT_UNSET_TOKEN" } },
      settok: { url: "https://mcp.example.com/s", auth: { plugin: "bearer", token_env: "MCPGW_IT_SET_TOKEN" } },
      signin: { url: "https://mcp.example.com/o", auth: { plugin: "oauth2" } },
    }),
    { env: { MCPGW_IT_UNSET_TOKEN: undefined, MCPGW_IT_SET_TOKEN: "abc" } },
  );
  assert.equal(r.code, 1, r.out);
  assert.match(diag(r, "servers.envtok.auth.token_env").message, /environment variable MCPGW_IT_UNSET_TOKEN is not set/);
  assert.doesNotMatch(r.out, /servers\.settok/);
  assert.match(diag(r, "servers.signin.auth").message, /^warning: not signed in yet: run mcpgw login signin/);
});

test("check: a cwd that does not exist, or is a file, is an error at cwd", { timeout: T(30000) }, async () => {
  const r = await check(
    "cwd",
    (dir) => ({
      gone: { command: "/bin/true", cwd: path.join(dir, "no-such-dir") },
      file: { command: "/bin/true", cwd: path.join(dir, "config.yaml") },
      fine: { command: "/bin/true", cwd: dir },
    }),
  );
  assert.equal(r.code, 1, r.out);
  assert.match(diag(r, "servers.gone.cwd").message, /no-such-dir: No such file or directory/);
  assert.match(diag(r, "servers.file.cwd").message, /is not a directory/);
  assert.doesNotMatch(r.out, /servers\.fine/);
});

test("check: credentials over plain http to a host that is not loopback are an error; loopback is fine", { timeout: T(30000) }, async () => {
  const prepare = (dir) => fs.writeFileSync(path.join(dir, "t"), "abc\n", { mode: 0o600 });
  const r = await check(
    "url",
    (dir) => ({
      plain: { url: "http://mcp.example.com/mcp", auth: { plugin: "bearer", token_file: path.join(dir, "t") } },
      local: { url: "http://127.0.0.1:9/mcp", auth: { plugin: "bearer", token_file: path.join(dir, "t") } },
      header: { url: "http://mcp.example.com/h", headers: { Authorization: "Bearer x" } },
      tls: { url: "https://mcp.example.com/t", tls: { ca_file: path.join(dir, "no-ca.pem") } },
    }),
    { prepare },
  );
  assert.equal(r.code, 1, r.out);
  assert.match(diag(r, "servers.plain.url").message, /credentials \(auth plugin bearer\) are only sent over https/);
  assert.doesNotMatch(r.out, /servers\.local/);
  assert.match(diag(r, "servers.header.headers.Authorization").message, /^warning: sent over plain http/);
  assert.match(diag(r, "servers.tls.tls.ca_file").message, /no-ca\.pem: No such file or directory/);
});

test("check: an allow entry the system policy drops is a warning naming the system rule", { timeout: T(30000) }, async () => {
  const policy = "servers:\n  gh:\n    url: https://mcp.example.com/gh\n    tools:\n      allow: [\"get_*\", \"list_*\"]\n      deny: [get_me]\n";
  const r = await check("policy", () => ({ gh: { tools: { allow: ["get_*", "create_*", "get_me", "li?t_x"] } } }), { policy });
  assert.equal(r.code, 0, r.out);
  const created = diag(r, "servers.gh.tools.allow[1]");
  assert.match(created.message, /^warning: "create_\*" is dropped by the system policy: nothing it matches is in the allow list at .*policy\.yaml:5:\d+/);
  assert.match(diag(r, "servers.gh.tools.allow[2]").message, /^warning: "get_me" is dropped by the system policy: denied by "get_me" at .*policy\.yaml:6:\d+/);
  assert.doesNotMatch(r.out, /allow\[0\]|allow\[3\]/, "get_* and li?t_x can pass the system's list");
  const strict = await check("policy-strict", () => ({ gh: { tools: { allow: ["create_*"] } } }), { policy, args: ["--strict"] });
  assert.equal(strict.code, 1, strict.out);
});

test("check: system defaults bind the user's own servers; globs are compared as globs, brackets included", { timeout: T(30000) }, async () => {
  const policy = 'defaults:\n  tools:\n    allow: ["get_*", "list_*"]\n  prompts:\n    deny: ["*"]\n';
  const r = await check("policy-defaults", () => ({
    mine: { command: "/bin/true", tools: { allow: ["[gl]et_x", "*_me", "[!gl]*", "write_*"] }, prompts: { allow: ["p"] } },
  }), { policy });
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /tools\.allow\[0\]|tools\.allow\[1\]/, "[gl]et_x and *_me can pass get_*");
  assert.match(diag(r, "servers.mine.tools.allow[2]").message, /^warning: "\[!gl\]\*" is dropped by the system policy: nothing it matches is in the allow list at .*policy\.yaml:3:\d+/);
  assert.match(diag(r, "servers.mine.tools.allow[3]").message, /^warning: "write_\*" is dropped/);
  assert.match(diag(r, "servers.mine.prompts.allow[0]").message, /^warning: "p" is dropped by the system policy: denied by "\*"/);
});

test("check: two servers with prefix \"\" that may expose one name are warned about; disjoint allow lists are not", { timeout: T(30000) }, async () => {
  const r = await check("prefix", () => ({
    a: { command: "/bin/true", prefix: "" },
    b: { command: "/bin/true", prefix: "" },
    c: { command: "/bin/true", prefix: "", tools: { allow: ["c_*"] } },
    d: { command: "/bin/true", prefix: "", tools: { allow: ["d_*"] } },
  }));
  assert.equal(r.code, 0, r.out);
  assert.match(diag(r, "servers.b.prefix").message, /^warning: servers a and b both have prefix "" /);
  // c and d cannot meet each other on tools (each can meet a and b, which allow everything); their
  // prompts, not narrowed, still can
  assert.doesNotMatch(r.out, /servers c and d .*tools\.allow/);
  assert.match(r.out, /servers c and d both have prefix "" and their prompts\.allow lists/);
});

test("check --list-servers prints the names, one a line, and nothing else", { timeout: T(30000) }, async () => {
  const r = await check("list", () => ({ alpha: { command: "/bin/true" }, beta: { command: "mcpgw-no-such-program" } }), { args: ["--list-servers"] });
  assert.equal(r.code, 0, r.out);
  assert.equal(r.stdout, "alpha\nbeta\n");
});
