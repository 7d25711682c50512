// Issue 13, finding 9: a crash loop. A server that starts three grandchildren (one a setsid
// daemon) and crashes is restarted MCPGW_SOAK_COUNT times (50 here, 1,000 with `make soak`) under
// a 10 ms backoff (the test-only MCPGW_TEST_RESTART_MS knob, which also lifts the bound on
// restarts). Afterwards no process of any of those trees is left, and the gateway's descriptors
// are exactly where they were and its resident memory within a small slack (allocator pages,
// the log's buffers), both measured in the same steady state: one healthy server running.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import crypto from "node:crypto";
import { NODE, SANITIZED, T, fixture, isAlive, makeTmp, openSession, outFile, rmTmp, sleep, waitUntil } from "./lib/harness.mjs";
import { killMarker, markerProcs } from "./lib/marker.mjs";

const COUNT = Number(process.env.MCPGW_SOAK_COUNT) || 50;
// Resident memory may grow this much over the loop (docs/architecture.md, Bounds).
const RSS_SLACK_KB = 512;

const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;
const rssKb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

test(`crash loop: ${COUNT} restarts of a server that leaves grandchildren behind: none left, descriptors and memory where they began`, { timeout: T(60000) + COUNT * 2000 }, async (t) => {
  const dir = makeTmp("soak");
  const marker = `soak-${crypto.randomBytes(8).toString("hex")}`;
  const flag = outFile(dir, "crash");
  const spawnFile = outFile(dir, "spawns");
  const spawns = () => {
    try {
      return fs.readFileSync(spawnFile, "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  let s;
  try {
    s = await openSession({
      dir,
      servers: {
        tree: {
          command: NODE,
          args: [fixture("tree.mjs"), "--mode", "crash", "--crash-ms", "30", "--crash-flag", flag, "--spawn-file", spawnFile],
          env: { MCPGW_TREE_MARKER: marker },
        },
      },
      env: { MCPGW_TEST_RESTART_MS: "10" },
      gateway: { startup_wait: "10s", log_level: "error" },
    });
    const gw = s.gw.pid;

    // The healthy server that the loop ends with: the last one started, still alive, answering.
    const healthy = async () =>
      waitUntil(
        async () => {
          let pid;
          try {
            pid = Number(await s.callText("tree__pid", {}, { timeout: T(3000) }));
          } catch {
            return false;
          }
          const all = spawns();
          if (pid !== all[all.length - 1]) return false;
          await sleep(300);
          const st = markerProcs(marker);
          // Leftovers of the last crash gone: the server is the only process of the marker.
          return st.length === 1 && st[0].pid === pid && isAlive(st[0]) ? pid : false;
        },
        T(30000),
        "one healthy server and nothing else of the marker",
        100,
      );
    const noZombie = () => s.gw.tree().filter((p) => p.state === "Z").map((p) => `${p.pid} ${p.comm}`);

    // Warm-up: a few crashes, so that what the first crashes allocate once is in the baseline.
    fs.writeFileSync(flag, "");
    await waitUntil(() => spawns().length >= 6, T(30000), "six starts");
    fs.rmSync(flag);
    const pid0 = await healthy();
    const fds0 = fdCount(gw);
    const rss0 = rssKb(gw);

    fs.writeFileSync(flag, "");
    const target = spawns().length + COUNT;
    process.kill(pid0, "SIGKILL"); // the flag is read at start: from now on every start crashes
    await waitUntil(() => spawns().length >= target, T(30000) + COUNT * 1500, `${COUNT} more starts`, 200);
    fs.rmSync(flag);
    const pid1 = await healthy();
    assert.notEqual(pid1, pid0);
    const fds1 = fdCount(gw);
    const rss1 = rssKb(gw);
    t.diagnostic(`${spawns().length} starts; gateway fds ${fds0} -> ${fds1}, RSS ${rss0} -> ${rss1} kB`);
    assert.deepEqual(noZombie(), [], "no unreaped child of the gateway");
    assert.equal(fds1, fds0, "the gateway's descriptors are where they began");
    // ASan keeps freed memory in quarantine: the memory bound is for the real build.
    if (!SANITIZED)
      assert.ok(rss1 - rss0 <= RSS_SLACK_KB, `the gateway's RSS grew ${rss1 - rss0} kB (slack ${RSS_SLACK_KB} kB)`);
    await s.shutdown(T(10000));
    await waitUntil(() => markerProcs(marker).length === 0, T(10000), "no process of any of the trees");
  } finally {
    killMarker(marker);
    s?.destroy();
    rmTmp(dir);
  }
});
