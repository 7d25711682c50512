// Issue 2 point 6 / acceptance: `mcpgw check` prints "configuration OK" or every error as
// FILE:LINE:COL: key.path: message and exits 1; `mcpgw run` on a bad file starts nothing.
// Also ${VAR} expansion and env_passthrough as seen by a child.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NODE, T, makeTmp, openSession, rmTmp, runGateway, servers, sleep, toYaml, waitUntil } from "./lib/harness.mjs";

test("mcpgw check: a good file -> configuration OK, exit 0", { timeout: T(30000) }, async () => {
  const dir = makeTmp("check-ok");
  try {
    const file = path.join(dir, "good.yaml");
    fs.writeFileSync(
      file,
      "version: 1\n" +
        toYaml({
          gateway: { startup_wait: "2s", separator: "__", max_name_length: 55, log_level: "info" },
          defaults: { timeout: "30s" },
          servers: {
            everything: servers.everything({ timeout: "500ms", tools: { allow: ["get-*", "echo"], deny: ["get-env"], read_only: false } }),
            fs: servers.filesystem(dir, { env_passthrough: ["HOME"], env: { A: "${HOME}", B: "${NOPE_UNSET_X:-dflt}" }, startup_timeout: "5m", lazy: true }),
            off: { command: NODE, enabled: false, tools: { rename: { echo: "say" } }, resources: { deny: ["x://*"] }, prompts: { allow: ["*"] } },
          },
        }),
    );
    const r = await runGateway(["check", "-c", file, "--system-policy", ""], { dir });
    assert.equal(r.code, 0, `exit status; output:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /configuration OK/);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(`${file}:\\d+:\\d+: .*error`, "i"));
  } finally {
    rmTmp(dir);
  }
});

test("mcpgw check: two server keys with one prefix -> a warning with FILE:LINE:COL, still OK", { timeout: T(30000) }, async () => {
  const dir = makeTmp("check-warn");
  try {
    const file = path.join(dir, "warn.yaml");
    fs.writeFileSync(file, "servers:\n  dup-a:\n    command: /bin/true\n  dup_a:\n    command: /bin/true\n");
    const r = await runGateway(["check", "-c", file, "--system-policy", ""], { dir });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, `exit status; output:\n${out}`);
    assert.match(out, /configuration OK/);
    const esc = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    assert.match(out, new RegExp(`^${esc}:4:3: servers\\.dup_a: warning: `, "m"), `warning for the later server; output:\n${out}`);
  } finally {
    rmTmp(dir);
  }
});

// One line per entry; `errors` lists what must be reported for it.
const BAD = [
  /*  1 */ "version: 1",
  /*  2 */ "gateway:",
  /*  3 */ "  startup_wait: soon",
  /*  4 */ "  log_level: loud",
  /*  5 */ "  bogus_gateway_key: 1",
  /*  6 */ "servers:",
  /*  7 */ "  good:",
  /*  8 */ "    command: /bin/true",
  /*  9 */ "  bad:",
  /* 10 */ "    command: /bin/true",
  /* 11 */ "    timeout: 10 parsecs",
  /* 12 */ "    colour: blue",
  /* 13 */ "    tools:",
  /* 14 */ "      allow: {a: 1}",
  /* 15 */ "      read_only: maybe",
  /* 16 */ "  Bad_Key!:",
  /* 17 */ "    command: /bin/true",
  /* 18 */ "  nocmd:",
  /* 19 */ "    args: [x]",
  /* 20 */ "extra_top: 1",
  "",
].join("\n");

// [key path regex, accepted lines, accepted columns (key or value, 1-based)]
const EXPECTED = [
  [/^gateway\.startup_wait$/, [3], [3, 17]],
  [/^gateway\.log_level$/, [4], [3, 14]],
  [/^gateway\.bogus_gateway_key$/, [5], [3]],
  [/^servers\.bad\.timeout$/, [11], [5, 14]],
  [/^servers\.bad\.colour$/, [12], [5]],
  [/^servers\.bad\.tools\.allow$/, [14], [7, 14]],
  [/^servers\.bad\.tools\.read_only$/, [15], [7, 18]],
  [/^servers\.Bad_Key!$/, [16], [3]],
  [/^servers\.nocmd(\.command)?$/, [18, 19], [3, 5]],
  [/^extra_top$/, [20], [1]],
];

test("mcpgw check: a bad file -> every error as FILE:LINE:COL: key.path: message, exit 1", { timeout: T(30000) }, async () => {
  const dir = makeTmp("check-bad");
  try {
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, BAD);
    const r = await runGateway(["check", "-c", file, "--system-policy", ""], { dir });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, `exit status; output:\n${out}`);
    assert.equal(r.signal, null);
    assert.doesNotMatch(out, /configuration OK/);
    const diags = [];
    for (const line of out.split("\n")) {
      if (!line.startsWith(`${file}:`)) continue;
      const m = /^(\d+):(\d+): ([^ ]+): (.+)$/.exec(line.slice(file.length + 1));
      assert.ok(m, `diagnostic format FILE:LINE:COL: key.path: message: ${line}`);
      diags.push({ line: Number(m[1]), col: Number(m[2]), path: m[3], message: m[4], text: line });
    }
    const missing = [];
    for (const [re, lines, cols] of EXPECTED) {
      const d = diags.find((x) => re.test(x.path) && !/^warning/i.test(x.message));
      if (!d) {
        missing.push(String(re));
        continue;
      }
      assert.ok(lines.includes(d.line), `${d.text}: line ${d.line}, expected ${lines.join(" or ")}`);
      assert.ok(cols.includes(d.col), `${d.text}: column ${d.col}, expected ${cols.join(" or ")}`);
      assert.ok(d.message.trim().length > 3, `${d.text}: has a message`);
    }
    assert.deepEqual(missing, [], `every error reported; output:\n${out}`);
  } finally {
    rmTmp(dir);
  }
});

test("mcpgw check: YAML syntax error -> FILE:LINE:COL and exit 1", { timeout: T(30000) }, async () => {
  const dir = makeTmp("check-syntax");
  try {
    const file = path.join(dir, "broken.yaml");
    fs.writeFileSync(file, 'servers:\n  a:\n    command: "/bin/true\n    args: [x\n');
    const r = await runGateway(["check", "-c", file, "--system-policy", ""], { dir });
    assert.equal(r.code, 1, `exit status; output:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:[1-9]\\d*:[1-9]\\d*: `, "m"));
  } finally {
    rmTmp(dir);
  }
});

test("mcpgw run on a bad file: exit 1 with the errors, no upstream started", { timeout: T(30000) }, async () => {
  const dir = makeTmp("run-bad");
  try {
    const marker = path.join(dir, "started.marker");
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(
      file,
      toYaml({
        servers: {
          a: { command: "/bin/sh", args: ["-c", `touch ${marker}; sleep 30`] },
          b: { command: "/bin/true", timeout: "forever" },
        },
      }),
    );
    const r = await runGateway(["run", "-c", file, "--system-policy", ""], { dir });
    assert.equal(r.code, 1, `exit status; output:\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: servers\\.b\\.timeout: `));
    assert.equal(r.stdout, "", "nothing on stdout (protocol only)");
    assert.ok(!fs.existsSync(marker), "no upstream was started");
  } finally {
    rmTmp(dir);
  }
});

test("config: ${VAR} and ${VAR:-default} expansion, env_passthrough, cwd reach the child", { timeout: T(60000) }, async () => {
  const dir = makeTmp("env");
  const cwd = path.join(fs.realpathSync(dir), "work");
  fs.mkdirSync(cwd);
  const s = await openSession({
    dir,
    servers: {
      ev: servers.faulty(["--name", "ev"], {
        env: { X_FROM_VAR: "pre-${MCPGW_IT_X}-post", Y_DEFAULT: "${MCPGW_IT_UNSET_Y:-fallback}" },
        env_passthrough: ["PATH", "MCPGW_IT_PASS"],
        cwd,
      }),
    },
    env: { MCPGW_IT_X: "abc", MCPGW_IT_PASS: "passed", MCPGW_IT_SECRET: "must-not-leak", MCPGW_IT_UNSET_Y: undefined },
    gateway: { startup_wait: "15s" },
  }).catch((e) => {
    rmTmp(dir);
    throw e;
  });
  try {
    const { env, cwd: childCwd } = JSON.parse(await s.callText("ev__env"));
    assert.equal(childCwd, cwd, "cwd applied");
    assert.equal(env.X_FROM_VAR, "pre-abc-post");
    assert.equal(env.Y_DEFAULT, "fallback");
    assert.equal(env.MCPGW_IT_PASS, "passed", "variable listed in env_passthrough passed");
    assert.equal(env.MCPGW_IT_SECRET, undefined, "variable not listed is not passed");
    await s.shutdown();
  } finally {
    s.destroy();
    rmTmp(dir);
  }
});

test("config: writing an unrelated file next to the configuration does not reload it", { timeout: T(30000) }, async () => {
  const s = await openSession({ tag: "noreload", servers: { f: servers.faulty(["--name", "f"]) }, gateway: { startup_wait: "10s" } });
  try {
    await s.tools();
    // Files that are not configuration files (editor swap files, notes, records) change...
    fs.writeFileSync(path.join(s.dir, "notes.txt"), "unrelated\n");
    fs.writeFileSync(path.join(s.dir, ".config.yaml.swp"), "editor swap file\n");
    fs.appendFileSync(path.join(s.dir, "notes.txt"), "more\n");
    await sleep(T(1500)); // a bound: watch for an unwanted reload
    const before = s.gw.stderr;
    // ...then the configuration file itself: this one must be noticed (the watch works at all).
    fs.writeFileSync(s.config, fs.readFileSync(s.config, "utf8") + "# touched\n");
    await waitUntil(() => /reload/i.test(s.gw.stderr.slice(before.length)), T(5000), "a reload after the config file changed");
    assert.doesNotMatch(before, /reload/i, `reloaded for files that are not configuration files:\n${before}`);
    await s.shutdown();
  } finally {
    s.destroy();
  }
});
