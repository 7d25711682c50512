// A small MCP 2026-07-28 ("modern", stateless) client of our own, for tests about the wire itself:
// raw JSON-RPC lines over a Gateway's stdio (lib/harness.mjs), each request stamped with the
// per-request _meta the revision requires. Nothing is hidden: a test can leave a key out, give a
// wrong one, or send any line it likes, and reads the gateway's answer as it came.
import { T } from "./harness.mjs";

export const MODERN = "2026-07-28";
export const K = {
  version: "io.modelcontextprotocol/protocolVersion",
  caps: "io.modelcontextprotocol/clientCapabilities",
  info: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscription: "io.modelcontextprotocol/subscriptionId",
};

/** The per-request _meta of a modern request; `extra` adds or overrides keys (undefined removes one). */
export function modernMeta({ caps = {}, name = "modern-it", extra = {} } = {}) {
  const m = { [K.version]: MODERN, [K.caps]: caps, [K.info]: { name, version: "1.0.0" }, ...extra };
  for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
  return m;
}

export class ModernClient {
  /**
   * @param {import("./harness.mjs").Gateway} gw
   * @param {object} [o]
   * @param {object} [o.caps]  clientCapabilities sent on every request
   * @param {string} [o.name]  clientInfo.name
   */
  constructor(gw, { caps = {}, name = "modern-it" } = {}) {
    this.gw = gw;
    this.caps = caps;
    this.name = name;
    this.next = 1;
  }

  /**
   * Sends one request and resolves its response (result or error, as a whole message).
   * @param {object} [o] meta: keys to add/override in _meta (undefined removes); rawMeta: the
   *   whole _meta as given (null: none at all); ms: bound.
   */
  async request(method, params = {}, { meta = {}, rawMeta, ms = T(10000) } = {}) {
    const id = `m${this.next++}`;
    const p = { ...params };
    if (rawMeta === undefined) p._meta = { ...(params._meta || {}), ...modernMeta({ caps: this.caps, name: this.name, extra: meta }) };
    else if (rawMeta !== null) p._meta = rawMeta;
    return this.gw.request({ jsonrpc: "2.0", id, method, params: p }, ms);
  }

  /** The result of a request that must succeed. */
  async result(method, params = {}, o = {}) {
    const r = await this.request(method, params, o);
    if (!r.result) throw new Error(`${method}: ${JSON.stringify(r)}`);
    return r.result;
  }

  notify(method, params = {}) {
    this.gw.send({ jsonrpc: "2.0", method, params });
  }

  /**
   * Opens subscriptions/listen; resolves { id, ack } once the acknowledgement tagged with its id
   * came. The stream's notifications are then this.gw.messages tagged with that id.
   */
  async listen(notifications, { meta = {}, ms = T(10000) } = {}) {
    const id = `listen${this.next++}`;
    const from = this.gw.messages.length;
    this.gw.send({ jsonrpc: "2.0", id, method: "subscriptions/listen", params: { _meta: modernMeta({ caps: this.caps, name: this.name, extra: meta }), notifications } });
    const ack = await this.gw.waitFor(
      (m) => (m.method === "notifications/subscriptions/acknowledged" && m.params?._meta?.[K.subscription] === id) || (m.id === id && "error" in m),
      ms,
      `acknowledgement of ${id}`,
      from,
    );
    if (ack.error) throw new Error(`subscriptions/listen: ${JSON.stringify(ack.error)}`);
    return { id, ack, from };
  }

  /** Waits for a notification `method` on the listen stream `id` (from message index `from`). */
  waitStream(id, method, ms = T(10000), from = 0) {
    return this.gw.waitFor((m) => m.method === method && m.params?._meta?.[K.subscription] === id, ms, `${method} on ${id}`, from);
  }

  cancel(id) {
    this.notify("notifications/cancelled", { requestId: id, reason: "test" });
  }
}
