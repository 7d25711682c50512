// Issue 14 item 1: `mcpgw import codex [FILE]` and `mcpgw import claude FILE` translate a client's
// MCP servers into mcpgw YAML (bridges such as mcp-remote and mcp-proxy become direct url:
// entries with auth:), print the one Codex entry, never print a secret of the input, and report
// broken input with FILE:LINE:COL. The YAML must pass `mcpgw check`, and a translated config
// must actually reach the servers.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import Ajv2020 from "ajv/dist/2020.js";
import { spawnSync } from "node:child_process";
import { BIN, FIXTURES, NODE, T, fixture, makeTmp, rmTmp, runGateway } from "./lib/harness.mjs";
import { startServer, stopAll, writeSecret } from "./lib/remote.mjs";

const IMPORT = path.join(FIXTURES, "import");
// Every secret the fixtures hold: none may ever be printed.
const SECRETS = [
  "ghp_FAKEfixtureTOKEN0123456789abcdefABCD",
  "sk-live-abcdefghijklmnop1234567890",
  "sk-proj-fixtureSECRETvalue1234567890",
  "xoxb-fixture-SECRET-abcdef-123456",
  "AbCdEfGhIjKlMnOpQrStUvWxYz0123",
  "sntrys_fixtureSECRET0123456789abcdef",
];

function noSecret(r, what) {
  for (const s of SECRETS) assert.ok(!(r.stdout + r.stderr).includes(s), `${what}: secret ${s.slice(0, 6)}... printed`);
}

/** Runs mcpgw import with HOME and XDG dirs inside dir. */
function imp(args, dir, env = {}) {
  return runGateway(["import", ...args], { dir, env: { HOME: dir, CODEX_HOME: "", ...env } });
}

/** The Codex entry printed as a comment at the end of the YAML, as TOML lines. */
function snippetOf(yamlText) {
  const i = yamlText.indexOf("#   [mcp_servers.gw]");
  assert.ok(i >= 0, `the Codex entry is printed:\n${yamlText}`);
  return yamlText.slice(i).split("\n").filter((l) => l.startsWith("#   ")).map((l) => l.slice(4));
}

/**
 * `mcpgw check -c FILE` with no system policy: must say OK. check looks for each command on the
 * server's PATH: the launchers the fixtures name (uvx, docker, ...) need not be installed here, so
 * stand-ins that exist only for this check come first on the PATH.
 */
async function checkOk(file, dir, env = {}) {
  const bin = path.join(dir, "stand-ins");
  fs.mkdirSync(bin, { recursive: true });
  for (const c of ["uvx", "uv", "docker", "pipx", "bunx", "pnpx"]) {
    const f = path.join(bin, c);
    if (!fs.existsSync(f)) fs.writeFileSync(f, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  }
  const r = await runGateway(["check", "--system-policy", "", "-c", file], { dir, env: { HOME: dir, PATH: `${bin}:${process.env.PATH}`, ...env } });
  assert.equal(r.code, 0, `mcpgw check on the imported YAML:\n${r.stdout}${r.stderr}\n--- the file:\n${fs.readFileSync(file, "utf8")}`);
  assert.match(r.stdout, /configuration OK/);
  return r;
}

/** Makes the token files the comments ask for (HOME is dir). */
function makeTokenFiles(text, dir) {
  for (const m of text.matchAll(/token_file: "?~\/([^"\s}]+)"?/g)) {
    const f = path.join(dir, m[1]);
    fs.mkdirSync(path.dirname(f), { recursive: true, mode: 0o700 });
    writeSecret(f, "token-for-the-check\n");
  }
}

// The JSON Schema `make install` ships for editors accepts what import writes.
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(
  JSON.parse(fs.readFileSync(path.join(FIXTURES, "..", "..", "conf", "mcpgw.schema.json"), "utf8")),
);
function schemaOk(doc) {
  assert.ok(validate(doc), `conf/mcpgw.schema.json refuses the imported YAML: ${JSON.stringify(validate.errors)}`);
}

const sha = (f) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");

test("import codex: the three-server setup (uvx Serena, GitHub through mcp-proxy, Atlassian through mcp-remote)", { timeout: T(30000) }, async () => {
  const dir = makeTmp("import-three");
  try {
    const src = path.join(IMPORT, "codex-three.toml");
    const before = sha(src);
    const r = await imp([ "codex", src ], dir);
    assert.equal(r.code, 0, r.stderr);
    noSecret(r, "import codex");
    const doc = YAML.parse(r.stdout);
    schemaOk(doc);
    assert.equal(doc.version, 1);
    assert.deepEqual(Object.keys(doc.servers), ["serena", "github", "atlassian"], "server order kept");

    // Serena: a slow local server, as it was, with its timeouts
    assert.deepEqual(doc.servers.serena, {
      command: "uvx",
      args: ["--from", "git+https://github.com/oraios/serena", "serena", "start-mcp-server", "--context", "codex"],
      startup_timeout: "120s",
      timeout: "600s",
    });
    // GitHub: the mcp-proxy bridge replaced by a direct Streamable HTTP connection, the token in a file
    assert.deepEqual(doc.servers.github, {
      url: "https://api.githubcopilot.com/mcp/",
      transport: "streamable-http",
      auth: { plugin: "bearer", token_file: "~/.config/mcpgw/github.token" },
      tools: { deny: ["delete_file", "merge_pull_request"] },
    });
    // Atlassian: mcp-remote (OAuth, legacy SSE) replaced by url + oauth2; transport auto finds SSE
    assert.deepEqual(doc.servers.atlassian, { url: "https://mcp.atlassian.com/v1/sse", auth: { plugin: "oauth2" } });
    // the slow server makes a cold start wait: startup_wait covers it, Codex waits longer than that
    assert.deepEqual(doc.gateway, { startup_wait: "120s" });
    assert.deepEqual(snippetOf(r.stdout), ["[mcp_servers.gw]", 'command = "mcpgw"', "required = true", "startup_timeout_sec = 135", "tool_timeout_sec = 600"]);

    // the comments say what happened and what the user must do
    assert.match(r.stdout, /# github: from \[mcp_servers\.github\]/);
    assert.match(r.stdout, /was uvx mcp-proxy \(client mode\), a local bridge: now a direct connection to https:\/\/api\.githubcopilot\.com\/mcp\//);
    assert.match(r.stdout, /umask 077; mkdir -p ~\/\.config\/mcpgw; printf '%s\\n' 'YOUR-TOKEN' > ~\/\.config\/mcpgw\/github\.token/);
    assert.match(r.stdout, /was npx mcp-remote, a local bridge/);
    assert.match(r.stdout, /mcpgw login atlassian/);
    assert.match(r.stderr, /3 servers translated/);

    const out = path.join(dir, "out.yaml");
    fs.writeFileSync(out, r.stdout);
    makeTokenFiles(r.stdout, dir);
    const c = await checkOk(out, dir);
    assert.match(c.stdout, /configuration OK \(3 servers(, with warnings)?\)/);
    assert.equal(sha(src), before, "the Codex file is only read");
  } finally {
    rmTmp(dir);
  }
});

test("import codex: bearer_token_env_var, headers, renamed keys, secrets in env and args, env_vars, disabled", { timeout: T(30000) }, async () => {
  const dir = makeTmp("import-bearer");
  try {
    const r = await imp(["codex", path.join(IMPORT, "codex-bearer.toml")], dir);
    assert.equal(r.code, 0, r.stderr);
    noSecret(r, "import codex");
    const doc = YAML.parse(r.stdout);
    schemaOk(doc);
    assert.deepEqual(Object.keys(doc.servers), ["github", "docs-local", "remote-hdr"]);
    assert.match(r.stdout, /renamed from 'GitHub'/);
    assert.match(r.stdout, /renamed from 'docs\.local'/);

    assert.deepEqual(doc.servers.github, {
      url: "https://api.githubcopilot.com/mcp/",
      headers: { "X-MCP-Toolsets": "repos,issues", "X-Team": "${TEAM_HEADER}" },
      auth: { plugin: "bearer", token_file: "~/.config/mcpgw/github.token" },
      tools: { allow: ["get_me", "list_\\*"] },	// Codex's names are exact: the * is escaped
    });
    assert.match(r.stdout, /printf '%s\\n' "\$GITHUB_PAT" > ~\/\.config\/mcpgw\/github\.token/);

    assert.deepEqual(doc.servers["docs-local"], {
      command: "/usr/local/bin/docs-mcp",
      args: ["--root", "$$HOME/docs", "--api-key", "${DOCS_LOCAL_API_KEY}"],	// Codex's $ is literal
      env: { DOCS_LOG: "debug", OPENAI_API_KEY: "${OPENAI_API_KEY}" },
      env_passthrough: ["HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ", "DOCS_INDEX"],
      cwd: "/srv/docs",
      enabled: false,
    });
    assert.deepEqual(doc.servers["remote-hdr"], {
      url: "https://mcp.example.com/mcp",
      transport: "streamable-http",
      // mcp-remote expanded ${VAR} from its env table: a plain value is filled in, a secret is not
      headers: { "X-Team": "team-blue", "X-Api-Key": "${REMOTE_HDR_X_API_KEY}" },
      auth: { plugin: "bearer", token_file: "~/.config/mcpgw/remote-hdr.token" },
      tools: { deny: ["delete_*"] },
    });
    // required = true on a server: the gw entry is required too, and passes the variables through
    const snip = snippetOf(r.stdout);
    assert.deepEqual(snip.slice(0, 4), ["[mcp_servers.gw]", 'command = "mcpgw"', "required = true", "startup_timeout_sec = 45"]);
    assert.equal(snip[4], 'env_vars = ["TEAM_HEADER", "DOCS_LOCAL_API_KEY", "OPENAI_API_KEY", "DOCS_INDEX", "REMOTE_HDR_X_API_KEY"]');
    assert.equal(doc.gateway.startup_wait, "30s");
    for (const k of ["supports_parallel_tool_calls", "tools.<name>.approval_mode", "enabled = false -> enabled: false"])
      assert.ok(r.stdout.includes(k), `a comment about ${k}`);

    const out = path.join(dir, "out.yaml");
    fs.writeFileSync(out, r.stdout);
    makeTokenFiles(r.stdout, dir);
    await checkOk(out, dir, { TEAM_HEADER: "t", DOCS_LOCAL_API_KEY: "a", OPENAI_API_KEY: "k", REMOTE_HDR_X_API_KEY: "x" });
  } finally {
    rmTmp(dir);
  }
});

test("import claude: Claude's mcpServers and VS Code's commented servers", { timeout: T(30000) }, async () => {
  const dir = makeTmp("import-claude");
  try {
    let r = await imp(["claude", path.join(IMPORT, "claude.json")], dir);
    assert.equal(r.code, 0, r.stderr);
    noSecret(r, "import claude");
    let doc = YAML.parse(r.stdout);
    schemaOk(doc);
    assert.deepEqual(doc.servers.filesystem, { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "${HOME}/notes"] });
    assert.deepEqual(doc.servers.github, {
      url: "https://api.githubcopilot.com/mcp/",
      transport: "streamable-http",
      auth: { plugin: "bearer", token_file: "~/.config/mcpgw/github.token" },
    });
    assert.match(r.stdout, /printf '%s\\n' "\$GITHUB_TOKEN"/);
    assert.deepEqual(doc.servers.atlassian, { url: "https://mcp.atlassian.com/v1/sse", auth: { plugin: "oauth2" } });
    assert.deepEqual(doc.servers.linear, { url: "https://mcp.linear.app/sse", transport: "sse", auth: { plugin: "oauth2" } });
    assert.deepEqual(doc.servers.sentry, { command: "npx", args: ["@sentry/mcp-server"], env: { SENTRY_ACCESS_TOKEN: "${SENTRY_ACCESS_TOKEN}" } });
    assert.deepEqual(snippetOf(r.stdout), ["[mcp_servers.gw]", 'command = "mcpgw"', 'env_vars = ["SENTRY_ACCESS_TOKEN"]']);
    let out = path.join(dir, "claude.yaml");
    fs.writeFileSync(out, r.stdout);
    makeTokenFiles(r.stdout, dir);
    await checkOk(out, dir, { SENTRY_ACCESS_TOKEN: "x" });

    r = await imp(["claude", path.join(IMPORT, "vscode-mcp.json")], dir);
    assert.equal(r.code, 0, r.stderr);
    doc = YAML.parse(r.stdout);
    schemaOk(doc);
    assert.deepEqual(Object.keys(doc.servers), ["github", "everything-server"]);
    assert.match(r.stdout, /renamed from 'Everything Server'/);
    assert.match(r.stdout, /the token is one the editor asked for \(\$\{input:gh-token\}\)/);
    assert.deepEqual(doc.servers["everything-server"].args, ["-y", "@modelcontextprotocol/server-everything", "stdio"]);
    out = path.join(dir, "vscode.yaml");
    fs.writeFileSync(out, r.stdout);
    await checkOk(out, dir);
  } finally {
    rmTmp(dir);
  }
});

test("import codex: the default file ($CODEX_HOME, else ~/.codex) and an imported config that reaches its servers", { timeout: T(60000) }, async () => {
  const dir = makeTmp("import-e2e");
  const TOKEN_WEB = "tok-web-5b1f0c2e9a7d4e3f8b6c1a0d2e4f6a8c";
  const TOKEN_SSE = "tok-sse-0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b";
  let web, sse;
  try {
    const webTok = path.join(dir, "web-server-token");
    const sseTok = path.join(dir, "sse-server-token");
    writeSecret(webTok, TOKEN_WEB);
    writeSecret(sseTok, TOKEN_SSE);
    web = await startServer(["--name", "web", "--token-file", webTok]);
    sse = await startServer(["--name", "legacy", "--transport", "sse", "--token-file", sseTok]);
    const toml =
      `[mcp_servers.local]\ncommand = ${JSON.stringify(NODE)}\nargs = [${JSON.stringify(fixture("faulty.mjs"))}, "--name", "loc"]\n\n` +
      `[mcp_servers.web]\ncommand = "npx"\nargs = ["-y", "mcp-remote", "${web.url}", "--header", "Authorization: Bearer \${AUTH_TOKEN}", "--allow-http"]\n` +
      `env = { AUTH_TOKEN = "${TOKEN_WEB}" }\n\n` +
      `[mcp_servers.legacy]\ncommand = "uvx"\nargs = ["mcp-proxy", "${sse.url}"]\nenv = { API_ACCESS_TOKEN = "${TOKEN_SSE}" }\n`;
    fs.mkdirSync(path.join(dir, ".codex"));
    fs.writeFileSync(path.join(dir, ".codex", "config.toml"), toml);

    // no FILE: ~/.codex/config.toml (CODEX_HOME empty), then $CODEX_HOME/config.toml
    let r = await imp(["codex", "--write"], dir);
    assert.equal(r.code, 0, r.stderr);
    for (const t of [TOKEN_WEB, TOKEN_SSE]) assert.ok(!(r.stdout + r.stderr).includes(t), "no token printed");
    const written = path.join(dir, "xdg-config", "mcpgw", "config.yaml");
    const text = fs.readFileSync(written, "utf8");
    for (const t of [TOKEN_WEB, TOKEN_SSE]) assert.ok(!text.includes(t), "no token written");
    assert.match(r.stdout, /^\[mcp_servers\.gw\]\ncommand = "mcpgw"\n/m, `the Codex entry on stdout:\n${r.stdout}`);
    const doc = YAML.parse(text);
    assert.equal(doc.servers.web.url, web.url);
    assert.equal(doc.servers.legacy.url, sse.url);

    fs.mkdirSync(path.join(dir, "codexhome"));
    fs.writeFileSync(path.join(dir, "codexhome", "config.toml"), "[mcp_servers.only]\ncommand = \"x\"\n");
    r = await imp(["codex"], dir, { CODEX_HOME: path.join(dir, "codexhome") });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(YAML.parse(r.stdout).servers), ["only"], "$CODEX_HOME/config.toml read");

    // the tokens go where the comments say; then the imported config reaches all three servers
    fs.mkdirSync(path.join(dir, ".config", "mcpgw"), { recursive: true, mode: 0o700 });
    writeSecret(path.join(dir, ".config", "mcpgw", "web.token"), TOKEN_WEB + "\n");
    writeSecret(path.join(dir, ".config", "mcpgw", "legacy.token"), TOKEN_SSE + "\n");
    r = await runGateway(["tools", "--system-policy", "", "-c", written], { dir, env: { HOME: dir }, timeout: T(45000) });
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    for (const n of ["local__echo", "web__echo", "legacy__echo"]) assert.match(r.stdout, new RegExp(`^${n}\\b`, "m"), `${n} listed:\n${r.stdout}${r.stderr}`);
  } finally {
    await stopAll([web, sse]);
    rmTmp(dir);
  }
});

test("import --write: the config path, 0700/0600, never over a file without --force, never over the input", { timeout: T(30000) }, async () => {
  const dir = makeTmp("import-write");
  try {
    const src = path.join(dir, "config.toml");
    fs.copyFileSync(path.join(IMPORT, "codex-three.toml"), src);
    const before = sha(src);
    const target = path.join(dir, "xdg-config", "mcpgw", "config.yaml");

    let r = await imp(["codex", src, "--write"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`wrote ${target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(3 servers\\)`));
    assert.equal(fs.statSync(target).mode & 0o777, 0o600, "the YAML is 0600");
    assert.equal(fs.statSync(path.dirname(target)).mode & 0o777, 0o700, "its new directory is 0700");
    assert.equal(fs.statSync(path.join(dir, "xdg-config")).mode & 0o777, 0o700);
    assert.ok(YAML.parse(fs.readFileSync(target, "utf8")).servers.serena);

    // a second --write refuses; the file is unchanged
    fs.writeFileSync(target, "# mine\n", { mode: 0o600 });
    r = await imp(["codex", src, "--write"], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists; not overwritten \(--force replaces it\)/);
    assert.equal(fs.readFileSync(target, "utf8"), "# mine\n");
    assert.deepEqual(fs.readdirSync(path.dirname(target)), ["config.yaml"], "no temporary file left");

    // --force replaces it, still 0600
    fs.chmodSync(target, 0o644);
    r = await imp(["codex", src, "--write", "--force"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readFileSync(target, "utf8").includes("servers:"));
    assert.equal(fs.statSync(target).mode & 0o777, 0o600);

    // -c FILE and $MCPGW_CONFIG choose the path
    const viaC = path.join(dir, "a", "b", "gw.yaml");
    r = await imp(["codex", src, "--write", "-c", viaC], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(viaC));
    // (runGateway drops MCPGW_CONFIG from the environment: spawn directly)
    const viaEnv = path.join(dir, "env.yaml");
    const sp = spawnSync(BIN, ["import", "codex", src, "--write"], {
      env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, "xdg-config"), MCPGW_CONFIG: viaEnv },
      encoding: "utf8",
      timeout: T(20000),
    });
    assert.equal(sp.status, 0, sp.stderr);
    assert.ok(fs.existsSync(viaEnv), "$MCPGW_CONFIG names the file written");

    // the client's file itself is never a target, even with --force
    r = await imp(["codex", src, "--write", "--force", "-c", src], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is the file being imported; refusing to write over it/);
    assert.equal(sha(src), before, "the Codex file is untouched");

    r = await imp(["codex", src, "--force"], dir);
    assert.equal(r.code, 1, "--force alone is a usage error");
  } finally {
    rmTmp(dir);
  }
});

test("import: broken TOML and JSON are reported as FILE:LINE:COL, bounds hold, usage errors exit 1", { timeout: T(30000) }, async () => {
  const dir = makeTmp("import-bad");
  try {
    let f = path.join(IMPORT, "broken.toml");
    let r = await imp(["codex", f], dir);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "", "nothing printed on stdout");
    assert.equal(r.stderr.trim(), `${f}:4:1: expected ',' or ']' after an array item`);

    f = path.join(dir, "dup.toml");
    fs.writeFileSync(f, "[mcp_servers.a]\ncommand = \"x\"\n\n[mcp_servers.a]\ncommand = \"y\"\n");
    r = await imp(["codex", f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:1: table \\[a\\] is defined twice`));

    f = path.join(dir, "secret.toml");
    fs.writeFileSync(f, `[mcp_servers.a]\nenv = { T = "${SECRETS[0]}" }\ncommand = "x" junk\n`);
    r = await imp(["codex", f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /secret\.toml:3:15: expected the end of the line after a value/);
    noSecret(r, "an error in a file with a secret");

    // a token written without quotes is a syntax error that must not echo the token
    f = path.join(dir, "bare.toml");
    fs.writeFileSync(f, `[mcp_servers.a]\ncommand = "x"\nenv = { T = ${SECRETS[0]} }\n`);
    r = await imp(["codex", f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bare\.toml:3:13: invalid value \(not a number, date or boolean; a string needs quotes\)/);
    noSecret(r, "an unquoted token in TOML");
    f = path.join(dir, "bare.json");
    fs.writeFileSync(f, `{"mcpServers": {"a": {"command": "x", "env": {"T": ${SECRETS[1]}}}}}`);
    r = await imp(["claude", f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bare\.json:1:\d+: invalid token\n$/);
    noSecret(r, "an unquoted token in JSON");

    f = path.join(IMPORT, "broken-dup.json");
    r = await imp(["claude", f], dir);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `${f}:4:7: duplicate object key\n`);

    f = path.join(dir, "bad.json");
    fs.writeFileSync(f, '{\n  "mcpServers": {\n    "a": {"command": "x",}\n    "b": 1\n}\n');
    r = await imp(["claude", f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.json:4:\d+: '}' expected/, `a JSON syntax error names line and column:\n${r.stderr}`);

    f = path.join(dir, "none.json");
    fs.writeFileSync(f, '{"other": {}}');
    r = await imp(["claude", f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no "mcpServers" \(Claude\) or "servers" \(VS Code\) object/);

    f = path.join(dir, "big.toml");
    fs.writeFileSync(f, "# " + "x".repeat(1 << 20) + "\n");
    r = await imp(["codex", f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /larger than 1 MiB/);

    r = await imp(["codex", path.join(dir, "missing.toml")], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing\.toml: cannot open: No such file or directory/);

    for (const args of [[], ["cursor", "x"], ["claude"]]) {
      r = await imp(args, dir);
      assert.equal(r.code, 1, `import ${args.join(" ")}`);
      assert.match(r.stderr, /usage: mcpgw import codex/);
    }
  } finally {
    rmTmp(dir);
  }
});

test("import: input text never leaves a comment; paths, domains and UUIDs are not taken for secrets", { timeout: T(30000) }, async () => {
  const dir = makeTmp("import-inject");
  try {
    const f = path.join(dir, "c.toml");
    fs.writeFileSync(
      f,
      '[mcp_servers."a\\nversion: 2\\nb"]\ncommand = "x"\n' +
        'args = ["src/components/widgets/long_file_name_1234.ts", "123e4567-e89b-12d3-a456-426614174000", "mcp.internal-1234567890.example.com", "--token", "not-a-token-format", "--name=AbCdEfGhIjKlMnOpQrStUvWx12"]\n' +
        '[mcp_servers.b]\nurl = "https://example.com/mcp\\n# injected"\n' +
        '[mcp_servers.gw]\ncommand = "/usr/local/bin/mcpgw"\n',
    );
    const r = await imp(["codex", f], dir);
    assert.equal(r.code, 0, r.stderr);
    const doc = YAML.parse(r.stdout);
    schemaOk(doc);
    assert.equal(doc.version, 1, "a line break in a server key stays inside its comment");
    assert.deepEqual(Object.keys(doc.servers), ["a-version-2-b"], "the server with a broken url is left out");
    assert.match(r.stderr, /mcp_servers\.b: url is not http\(s\); skipped/);
    assert.match(r.stderr, /mcp_servers\.gw is mcpgw itself; skipped/, "the gateway never imports itself");
    assert.deepEqual(doc.servers["a-version-2-b"].args, [
      "src/components/widgets/long_file_name_1234.ts",
      "123e4567-e89b-12d3-a456-426614174000",
      "mcp.internal-1234567890.example.com",
      "--token",
      "${A_VERSION_2_B_TOKEN}", // the value after --token, whatever it looks like
      "--name=${A_VERSION_2_B_NAME}", // a random word after = is taken for a secret; the option stays
    ]);
    assert.ok(!r.stdout.includes("AbCdEfGhIjKlMnOpQrStUvWx12") && !r.stdout.includes("not-a-token-format"));
  } finally {
    rmTmp(dir);
  }
});
