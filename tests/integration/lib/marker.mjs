// Processes found by a marker in their environment (MCPGW_TREE_MARKER=..., tests/fixtures/tree.mjs):
// every process a server started, wherever it was reparented to, daemons included.
import fs from "node:fs";
import { procStat } from "./harness.mjs";

/** Every live process whose environment holds MCPGW_TREE_MARKER=marker. */
export function markerProcs(marker) {
  const needle = Buffer.from(`MCPGW_TREE_MARKER=${marker}\0`);
  const out = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!fs.readFileSync(`/proc/${e}/environ`).includes(needle)) continue;
    } catch {
      continue;
    }
    const st = procStat(Number(e));
    if (st && st.state !== "Z" && st.state !== "X") out.push(st);
  }
  return out;
}

/** Cleanup: SIGKILL by pid to every process of the marker. */
export function killMarker(marker) {
  for (const p of markerProcs(marker)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}
