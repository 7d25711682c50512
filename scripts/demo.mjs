// demo.mjs: what an MCP client sees through mcpgw. Started by scripts/demo.sh (which sets the
// environment conf/demo.yaml expands); uses the official SDK client over stdio.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = process.env.MCPGW_BIN || path.join(ROOT, "build/mcpgw");
const CONFIG = path.join(ROOT, "conf/demo.yaml");
const LIST_WAIT_MS = 30000;

let stderr = "";
const transport = new StdioClientTransport({
  command: BIN,
  args: ["run", "-c", CONFIG, "--system-policy", ""],
  env: { ...process.env },
  stderr: "pipe",
});
transport.stderr?.on("data", (d) => { stderr += d; });
let negotiated = "?";
transport.setProtocolVersion = (v) => { negotiated = v; };	// the Transport hook the client calls

const client = new Client({ name: "mcpgw-demo", version: "1.0.0" });
const firstLine = (s) => (s || "").split("\n")[0].trim();
const text = (res) => (res.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
const shorten = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

async function listAll() {
  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

async function call(name, args, note = "") {
  process.stdout.write(`\n> ${name} ${JSON.stringify(args)}${note ? `   # ${note}` : ""}\n`);
  try {
    const res = await client.callTool({ name, arguments: args });
    const out = text(res) || JSON.stringify(res.structuredContent ?? res.content);
    process.stdout.write(`${res.isError ? "tool error: " : ""}${out}\n`);
  } catch (e) {
    process.stdout.write(`refused: ${e.message}\n`);
  }
}

async function main() {
  console.log(`$ mcpgw run -c conf/demo.yaml   (started by the MCP SDK client over stdio)\n`);
  await client.connect(transport);
  const info = client.getServerVersion();
  console.log(`server: ${info?.name} ${info?.version}, protocol ${negotiated}`);
  console.log(`\ninstructions:\n${(client.getInstructions() || "(none)").replace(/^/gm, "  ")}`);

  // The first tools/list answers within startup_wait; wait until both namespaces are in it.
  const until = Date.now() + LIST_WAIT_MS;
  let tools = await listAll();
  while (!["everything__", "files__"].every((p) => tools.some((t) => t.name.startsWith(p)))) {
    if (Date.now() > until) throw new Error("not every upstream listed its tools in time");
    await new Promise((r) => setTimeout(r, 250));
    tools = await listAll();
  }
  const width = Math.max(...tools.map((t) => t.name.length));
  console.log(`\ntools (${tools.length}, namespaced by server):`);
  for (const t of tools) console.log(`  ${t.name.padEnd(width)}  ${shorten(firstLine(t.description), 70)}`);

  await call("everything__echo", { message: "hello through mcpgw" });
  await call("everything__get_sum", { a: 2, b: 40 });
  await call("files__list_directory", { path: path.join(ROOT, "conf") });
  // Hidden by the policy in conf/demo.yaml: absent from the list and refused as an unknown tool.
  await call("files__write_file", { path: path.join(ROOT, "conf/x.txt"), content: "x" },
    "not in files' allow list");
  await client.close();
}

main().then(
  () => process.exit(0),
  async (e) => {
    console.error(`demo: ${e.message}`);
    if (stderr) console.error(`gateway stderr:\n${stderr}`);
    try { await client.close(); } catch {}
    process.exit(1);
  },
);
