/* upstream.c: owns one MCP server's life: start, handshake (the server/discover probe, then the
 * 2026-07-28 stateless form or the legacy initialize), lists, requests in flight, timeouts, crash
 * handling and restart with backoff. Every state change goes through upstream_set_state(). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <event2/buffer.h>
#include "auth.h"
#include "hmap.h"
#include "jsonfast.h"
#include "msg.h"
#include "jsonrpc.h"
#include "log.h"
#include "sha256.h"
#include "state_era.h"
#include "transport.h"
#include "upstream.h"
#include "util.h"
#include "version.h"

#define UPSTREAM_MAX_INFLIGHT	20000
#define UPSTREAM_MAX_PAGES	100
#define UPSTREAM_MAX_ITEMS	10000
#define UPSTREAM_MAX_RESTARTS	5		/* consecutive failures before FAILED */
#define UPSTREAM_STABLE_MS	60000		/* up this long: the failure count starts again */
#define UPSTREAM_BACKOFF_MS	500
#define UPSTREAM_BACKOFF_MAX_MS	30000
#define UPSTREAM_SIGNIN_POLL_MS	500		/* SIGNIN: how often the credentials are looked at */

/* The modern (stateless) revision the gateway speaks to a server that answers server/discover. */
#define UPSTREAM_MODERN_VERSION	"2026-07-28"
#define UPSTREAM_PROBE_MAX_MS	3000		/* the probe's bound; at most a third of startup_timeout */
#define META_PV	"io.modelcontextprotocol/protocolVersion"
#define META_CC	"io.modelcontextprotocol/clientCapabilities"
#define META_CI	"io.modelcontextprotocol/clientInfo"
#define META_LL	"io.modelcontextprotocol/logLevel"

const char *const upstream_supported_versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL
};

struct pending {
	struct upstream *up;
	uint64_t id;
	char *method;
	struct upstream_call_cbs cbs;
	void *arg;
	struct event *timer;
	long timeout_ms;
	struct timespec started;
};

struct upstream {
	struct event_base *base;
	const struct config_server *cfg;
	int index;
	struct upstream_hooks hooks;
	enum upstream_state state;
	struct transport *tr;
	int closing;			/* the transport is being stopped */
	uint64_t next_id;
	struct hmap *pending;		/* "<id>" -> struct pending */
	json_t *client_caps;		/* what we advertise to the server */
	int caps_known;
	int handshake_sent;
	int init_answered;		/* this process answered initialize */
	char *log_level;

	json_t *caps, *server_info, *lists[4];
	char *instructions, *version;
	int tools_from_catalog;
	unsigned fetching;		/* lists being fetched (bits) */
	unsigned private_lists;		/* lists the server marked cacheScope "private" (bits) */
	unsigned refetch;		/* list_changed arrived during a fetch */

	char last_error[256];
	int failures;
	struct timespec started_at, ready_at;
	long handshake_ms;
	struct event *ev_backoff, *ev_startup, *ev_stable;
	/* SIGNIN (issue 4): the credentials' stamp when it began, a poll for a change, and whether
	 * the tool list is the placeholder that tells the client how to sign in */
	struct event *ev_signin;
	unsigned long long signin_stamp;
	int tools_placeholder;
	void (*stop_done)(void *);
	void *stop_arg;
	unsigned overlong_reported, garbage_reported;
	/* log notifications forwarded to the client: a token bucket */
	double log_tokens;
	struct timespec log_refill;
	unsigned long log_dropped;
	struct upstream_stats stats;	/* /metrics */
	/* The protocol era (issue 12; docs/protocol.md "Upstream: probing and modern servers"). */
	int modern;			/* this process answered server/discover: 2026-07-28, stateless */
	int probing;			/* server/discover sent, not answered yet */
	uint64_t probe_id;
	int discover_again;		/* discover re-sent once (-32022 naming our version, or an
					 * initialize refused by a modern-only server) */
	int era_legacy;			/* legacy for this upstream's life: it broke a modern claim,
					 * or exited while probed */
	int probe_unanswered;		/* a probe timed out: later starts skip it (a modern server
					 * is still found when it refuses initialize) */
	struct event *ev_probe;		/* the probe's bound */
	uint64_t listen_id;		/* subscriptions/listen in flight (0: none) */
	json_t *meta;			/* the _meta keys stamped on every request to a modern server */
	/* resources/subscribe to a modern server: the URIs (uri -> how many subscriptions), carried
	 * by the listen request (re-issued when they change); the callers' answers made here. */
	json_t *res_subs;
	json_t *local_ids;		/* ids of calls answered by the gateway, on ev_local */
	int relisten;			/* the listen is re-issued on ev_local */
	struct event *ev_local;
	char *meta_text;		/* the same members as text, without the braces */
	size_t meta_len;
	struct event *ev_idle;		/* idle_stop: fires when no call has ended for that long */
	int start_when_down;		/* asked to start while an idle stop was under way */
};

static void upstream_spawn(struct upstream *);
static void upstream_idle_arm(struct upstream *);
static int upstream_track(struct upstream *, uint64_t id, const char *method, long timeout_ms,
    const struct upstream_call_cbs *, void *arg);
static void upstream_fetch(struct upstream *, unsigned which);
static void upstream_fail_all(struct upstream *, const char *why);
static void upstream_signin_wait(struct upstream *, const char *why);
static void upstream_send_log_level(struct upstream *);
static int upstream_subscribe_local(struct upstream *, struct upstream_req *, const struct upstream_call_cbs *,
    void *arg, uint64_t *id);

static int
list_slot(enum upstream_list l)
{
	return l == UPSTREAM_TOOLS ? 0 : l == UPSTREAM_PROMPTS ? 1 : l == UPSTREAM_RESOURCES ? 2 : 3;
}

static struct timeval
tv_ms(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

const char *
upstream_state_name(enum upstream_state s)
{
	static const char *n[] = { "stopped", "starting", "ready", "backoff", "failed", "stopping", "signin" };
	return n[s];
}

static void
upstream_set_state(struct upstream *up, enum upstream_state s)
{
	enum upstream_state old = up->state;
	if (old == s)
		return;
	up->state = s;
	/* The one line a user reads about a failure says what to do next, not the state names. */
	if (s == UPSTREAM_FAILED)
		log_error(up->cfg->name, "server %s failed%s%s (next: mcpgw doctor %s)", up->cfg->name,
		    up->last_error[0] ? ": " : "", up->last_error, up->cfg->name);
	else
		log_debug(up->cfg->name, "state %s -> %s", upstream_state_name(old), upstream_state_name(s));
	if (s == UPSTREAM_READY)
		upstream_idle_arm(up);	/* a server started and then never used stops too */
	if (up->hooks.state)
		up->hooks.state(up, old, up->hooks.arg);
}

static int
upstream_send(struct upstream *up, json_t *msg)
{
	size_t len;
	char *buf = jsonrpc_dump(msg, &len);
	int rc = -1;
	if (buf && up->tr && !up->closing && (rc = transport_send(up->tr, buf, len)) == 0)
		up->stats.bytes_out += len;
	if (buf && log_enabled(LOG_DEBUG) && len < 2048)
		log_debug(up->cfg->name, "<- %.*s", (int)len - 1, buf);
	free(buf);
	return rc;
}

/* ---- requests in flight ---- */

static void
pending_free(struct pending *p)
{
	if (p->timer)
		event_free(p->timer);
	free(p->method);
	free(p);
}

static struct pending *
pending_take(struct upstream *up, uint64_t id)
{
	char key[24];
	snprintf(key, sizeof key, "%" PRIu64, id);
	return hmap_del(up->pending, key);
}

static json_t *
error_reply(uint64_t id, int code, const char *msg)
{
	json_t *jid = json_integer((json_int_t)id);
	json_t *r = jsonrpc_error(jid, code, msg, NULL);
	json_decref(jid);
	return r;
}

/* A reply the gateway made itself (a timeout, a server gone, a cleaned reply): steals tree. */
static void
upstream_reply_made(struct pending *p, json_t *tree)
{
	struct msg *m = p->cbs.reply ? msg_of_tree(tree) : NULL;
	if (m == NULL) {
		if (!p->cbs.reply)
			json_decref(tree);
		return;
	}
	p->cbs.reply(p->arg, m);
	msg_free(m);
}

static void
pending_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct upstream *up = p->up;
	char msg[256];

	pending_take(up, p->id);
	log_warn(up->cfg->name, "%s timed out after %ld ms; cancelling it", p->method, p->timeout_ms);
	upstream_notify(up, "notifications/cancelled",
	    json_pack("{sIss}", "requestId", (json_int_t)p->id, "reason", "timed out in the gateway"));
	snprintf(msg, sizeof msg, "request to server '%s' timed out after %ld ms", up->cfg->name,
	    p->timeout_ms);
	upstream_reply_made(p, error_reply(p->id, JSONRPC_REQUEST_TIMEOUT, msg));
	pending_free(p);
}

/* Remembers a request sent with this id until its reply, its timeout or its cancellation.
 * -1 when out of memory: nothing is kept, and the server's reply, if one comes, is dropped as one
 * for an unknown id. */
static int
upstream_track(struct upstream *up, uint64_t id, const char *method, long timeout_ms,
    const struct upstream_call_cbs *cbs, void *arg)
{
	char key[24];
	struct pending *p = calloc(1, sizeof *p);
	if (p == NULL)
		return -1;
	p->up = up;
	p->id = id;
	if ((p->method = strdup(method)) == NULL) {
		free(p);
		return -1;
	}
	if (cbs)
		p->cbs = *cbs;
	p->arg = arg;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : timeout_ms < 0 ? 0 : up->cfg->timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	if (p->timeout_ms > 0) {
		struct timeval tv = tv_ms(p->timeout_ms);
		/* evtimer_add allocates too: a request without its bound could wait for ever. */
		if ((p->timer = evtimer_new(up->base, pending_timeout_cb, p)) == NULL ||
		    evtimer_add(p->timer, &tv) < 0) {
			pending_free(p);
			return -1;
		}
	}
	snprintf(key, sizeof key, "%" PRIu64, id);
	if (hmap_put(up->pending, key, p) < 0) {
		pending_free(p);
		return -1;
	}
	return 0;
}

/* 1 when requests to this server carry the 2026-07-28 _meta keys: a modern server, or the
 * server/discover probe itself. */
static int
upstream_stamps(const struct upstream *up)
{
	return (up->modern || up->probing) && up->meta != NULL;
}

/* params._meta (created when missing or not an object); NULL when out of memory. */
static json_t *
params_meta(json_t *params)
{
	json_t *meta = json_object_get(params, "_meta");
	if (!json_is_object(meta)) {
		meta = json_object();
		if (json_object_set_new(params, "_meta", meta) < 0)
			return NULL;
	}
	return meta;
}

/* A request whose params are a tree: serialised here, the progress token set to our id, and to a
 * modern server the gateway's _meta keys (they win over a client's own: the gateway is the
 * client this server talks to; other keys, trace context included, stay). */
static int
upstream_send_tree(struct upstream *up, struct upstream_req *r, uint64_t id)
{
	json_t *params = r->params, *jid, *msg, *meta;
	int rc;
	r->params = NULL;
	if ((r->progress || upstream_stamps(up)) && params == NULL)
		params = json_object();
	if (r->progress && (meta = params_meta(params)) != NULL)
		json_object_set_new(meta, "progressToken", json_integer((json_int_t)id));
	if (upstream_stamps(up) && (meta = params_meta(params)) != NULL) {
		json_object_update(meta, up->meta);
		/* A modern client's request to a modern server: what the server may ask in an
		 * input_required result goes back to that client, so the client's own capabilities
		 * are the ones that count (and the server answers -32021 for what it lacks). */
		if (r->client_caps != NULL)
			json_object_set(meta, META_CC, r->client_caps);
	}
	jid = json_integer((json_int_t)id);
	msg = jsonrpc_request(jid, r->method, params);
	json_decref(jid);
	rc = upstream_send(up, msg);
	json_decref(msg);
	return rc;
}

/* params[from, to) into b, the progress token's value (when it lies there) replaced by idtxt;
 * nonzero when a piece could not be added (out of memory). */
static int
text_copy(struct evbuffer *b, const struct upstream_req *r, size_t from, size_t to, const char *idtxt)
{
	const char *params = r->params_text;
	if (r->token.end > r->token.start && r->token.start >= from && r->token.end <= to)
		return evbuffer_add(b, params + from, r->token.start - from) |
		    evbuffer_add(b, idtxt, strlen(idtxt)) |
		    evbuffer_add(b, params + r->token.end, to - r->token.end);
	return evbuffer_add(b, params + from, to - from);
}

static size_t
skip_ws(const char *t, size_t i, size_t n)
{
	while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

/* The client's text to a modern server when the gateway's _meta keys cannot be spliced in (the
 * client wrote some of them itself, or its text is not one jsonfast reads): parsed once, stamped
 * as a tree. */
static int
upstream_send_text_as_tree(struct upstream *up, const struct upstream_req *r, uint64_t id)
{
	struct upstream_req t = *r;
	json_t *meta;

	t.params_text = NULL;
	t.progress = 0;
	if ((t.params = json_loadb(r->params_text, r->params_len, JSON_ALLOW_NUL, NULL)) == NULL ||
	    !json_is_object(t.params)) {
		json_decref(t.params);
		return -1;
	}
	if (r->token.end > r->token.start && (meta = params_meta(t.params)) != NULL)
		json_object_set_new(meta, "progressToken", json_integer((json_int_t)id));
	return upstream_send_tree(up, &t, id);
}

/* A request whose params are the client's text: written around it without serialising anything
 * again, the progress token's value replaced by our id; to a modern server the gateway's _meta
 * members are spliced in at the start of the client's _meta (or a new _meta). */
static int
upstream_send_text(struct upstream *up, const struct upstream_req *r, uint64_t id)
{
	static const char *const ours[] = { META_PV, META_CC, META_CI, META_LL };
	char head[160], idtxt[24];
	struct evbuffer *b;
	size_t qlen, plen = r->params_len, ins = 0;
	const char *params = r->params_text;
	char *qm;
	int rc, has_meta = 0;

	if (upstream_stamps(up) && r->client_caps != NULL)
		return upstream_send_text_as_tree(up, r, id);	/* the client's own capabilities */
	if (upstream_stamps(up)) {
		struct jsonfast_span all = { 0, plen }, ms, found[4];
		int k = jsonfast_member(params, all, "_meta", &ms);
		if (k < 0 || (k == 1 && (params[ms.start] != '{' ||
		    jsonfast_members(params, ms, ours, 4, found) != 0)))
			return upstream_send_text_as_tree(up, r, id);
		has_meta = k == 1;
		ins = has_meta ? ms.start + 1 : skip_ws(params, 0, plen) + 1;
		if (ins > plen)
			return upstream_send_text_as_tree(up, r, id);
	}
	if ((qm = jsonrpc_quote(r->method, &qlen)) == NULL)
		return -1;
	snprintf(idtxt, sizeof idtxt, "%" PRIu64, id);
	int hn = snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":", idtxt);
	if ((b = evbuffer_new()) == NULL) {
		free(qm);
		return -1;
	}
	/* Each piece is checked: a piece that could not be added (out of memory) would send the
	 * server a message with a hole in it (found by test_scenario_oom). */
	int bad = evbuffer_add(b, head, (size_t)hn) | evbuffer_add(b, qm, qlen) |
	    evbuffer_add(b, ",\"params\":", 10);
	if (ins > 0) {
		size_t e = skip_ws(params, ins, plen);
		int empty = e < plen && params[e] == '}';
		bad |= text_copy(b, r, 0, ins, idtxt);
		if (!has_meta)
			bad |= evbuffer_add(b, "\"_meta\":{", 9);
		bad |= evbuffer_add(b, up->meta_text, up->meta_len);
		if (!has_meta)
			bad |= evbuffer_add(b, "}", 1);
		if (!empty)
			bad |= evbuffer_add(b, ",", 1);
		bad |= text_copy(b, r, ins, plen, idtxt);
	} else
		bad |= text_copy(b, r, 0, plen, idtxt);
	bad |= evbuffer_add(b, "}\n", 2);
	free(qm);
	size_t len = evbuffer_get_length(b);
	const char *buf = bad ? NULL : (const char *)evbuffer_pullup(b, -1);
	rc = buf ? transport_send(up->tr, buf, len) : -1;
	if (rc == 0)
		up->stats.bytes_out += len;
	if (rc == 0 && log_enabled(LOG_DEBUG) && len < 2048)
		log_debug(up->cfg->name, "<- %.*s", (int)len - 1, buf);
	evbuffer_free(b);
	return rc;
}

static void upstream_listen(struct upstream *);

/* ev_local: the answers the gateway made for resources/(un)subscribe to a modern server (after
 * the caller's upstream_call returned, as a server's would), then the listen re-issued once for
 * however many subscriptions changed. */
static void
upstream_local_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	json_t *ids = up->local_ids, *v;
	size_t i;

	up->local_ids = NULL;
	json_array_foreach(ids, i, v) {
		struct pending *p = pending_take(up, (uint64_t)json_integer_value(v));
		if (p) {
			upstream_reply_made(p, jsonrpc_result(v, json_object()));
			pending_free(p);
		}
	}
	json_decref(ids);
	if (up->relisten && up->modern && up->tr && !up->closing) {
		up->relisten = 0;
		if (up->listen_id) {
			uint64_t old = up->listen_id;
			up->listen_id = 0;
			upstream_cancel(up, old, "subscriptions changed");
		}
		upstream_listen(up);
	}
}

/* 2026-07-28 has no resources/subscribe: a modern server is told the URIs in the filter of its
 * subscriptions/listen, re-issued when the set changes; its notifications/resources/updated come
 * on that stream. The caller gets {} as from a legacy server. Counted per URI, as several
 * sessions may subscribe to one. */
static int
upstream_subscribe_local(struct upstream *up, struct upstream_req *r, const struct upstream_call_cbs *cbs,
    void *arg, uint64_t *idp)
{
	json_t *params = r->params;
	const char *uri;
	uint64_t id;
	int sub = strcmp(r->method, "resources/subscribe") == 0;
	struct timeval tv0 = { 0, 0 };

	r->params = NULL;
	if (params == NULL && r->params_text)
		params = json_loadb(r->params_text, r->params_len, JSON_ALLOW_NUL, NULL);
	uri = json_string_value(json_object_get(params, "uri"));
	/* The answer comes from ev_local; adding it allocates (libevent's timer heap), so it is added
	 * before anything changes (with nothing to answer it only re-issues a listen if one is due). */
	if (uri == NULL || (up->res_subs == NULL && (up->res_subs = json_object()) == NULL) ||
	    (up->local_ids == NULL && (up->local_ids = json_array()) == NULL) ||
	    event_add(up->ev_local, &tv0) < 0) {
		json_decref(params);
		return -1;
	}
	json_int_t n = json_integer_value(json_object_get(up->res_subs, uri));
	if (sub && n == 0)
		up->relisten = 1;
	if (!sub && n == 1)
		up->relisten = 1;
	if (sub)
		json_object_set_new(up->res_subs, uri, json_integer(n + 1));
	else if (n > 1)
		json_object_set_new(up->res_subs, uri, json_integer(n - 1));
	else
		json_object_del(up->res_subs, uri);
	json_decref(params);
	id = ++up->next_id;
	if (upstream_track(up, id, r->method, r->timeout_ms, cbs, arg) < 0 ||
	    json_array_append_new(up->local_ids, json_integer((json_int_t)id)) < 0)
		return -1;
	if (idp)
		*idp = id;
	return 0;
}

int
upstream_call(struct upstream *up, struct upstream_req *r, const struct upstream_call_cbs *cbs,
    void *arg, uint64_t *idp)
{
	uint64_t id;
	int rc;

	if (up->tr == NULL || up->closing || hmap_count(up->pending) >= UPSTREAM_MAX_INFLIGHT) {
		json_decref(r->params);
		r->params = NULL;
		return -1;
	}
	if (up->modern && (strcmp(r->method, "resources/subscribe") == 0 ||
	    strcmp(r->method, "resources/unsubscribe") == 0))
		return upstream_subscribe_local(up, r, cbs, arg, idp);
	id = ++up->next_id;
	rc = r->params_text ? upstream_send_text(up, r, id) : upstream_send_tree(up, r, id);
	if (rc < 0 || upstream_track(up, id, r->method, r->timeout_ms, cbs, arg) < 0)
		return -1;
	if (idp)
		*idp = id;
	return 0;
}

void
upstream_cancel(struct upstream *up, uint64_t id, const char *reason)
{
	struct pending *p = pending_take(up, id);
	if (p == NULL)
		return;
	upstream_notify(up, "notifications/cancelled",
	    json_pack("{sIss}", "requestId", (json_int_t)id, "reason", reason ? reason : "cancelled"));
	pending_free(p);
}

int
upstream_notify(struct upstream *up, const char *method, json_t *params)
{
	/* 2026-07-28 removed it: a modern server asks for roots (input_required) when it needs them. */
	if (up->modern && strcmp(method, "notifications/roots/list_changed") == 0) {
		json_decref(params);
		return 0;
	}
	json_t *msg = jsonrpc_notification(method, params);
	int rc = upstream_send(up, msg);
	json_decref(msg);
	return rc;
}

int
upstream_respond(struct upstream *up, json_t *msg)
{
	int rc = upstream_send(up, msg);
	json_decref(msg);
	return rc;
}

struct fail_ctx { struct pending **v; size_t n, cap; };

static void
collect_pending(const char *key, void *val, void *arg)
{
	struct fail_ctx *f = arg;
	if (f->n < f->cap)
		f->v[f->n++] = val;
}

static void
upstream_fail_all(struct upstream *up, const char *why)
{
	struct fail_ctx f = { NULL, 0, 0 };
	size_t n = hmap_count(up->pending);
	if (n == 0)
		return;
	if ((f.v = calloc(n, sizeof *f.v)) == NULL) {
		/* Out of memory: the same, a few at a time from the stack. */
		struct pending *few[32];
		while (n > 0 && hmap_count(up->pending) > 0) {
			struct fail_ctx g = { few, 0, n < 32 ? n : 32 };
			hmap_foreach(up->pending, collect_pending, &g);
			for (size_t i = 0; i < g.n; i++)
				pending_take(up, few[i]->id);
			for (size_t i = 0; i < g.n; i++) {
				upstream_reply_made(few[i], error_reply(few[i]->id, JSONRPC_SERVER_ERROR, why));
				pending_free(few[i]);
			}
			n -= g.n;
		}
		return;
	}
	f.cap = n;
	hmap_foreach(up->pending, collect_pending, &f);
	hmap_clear(up->pending);
	for (size_t i = 0; i < f.n; i++) {
		struct pending *p = f.v[i];
		upstream_reply_made(p, error_reply(p->id, JSONRPC_SERVER_ERROR, why));
		pending_free(p);
	}
	free(f.v);
}

/* ---- lists ---- */

struct fetch {
	struct upstream *up;
	enum upstream_list which;
	json_t *acc;
	int pages;
	int priv;			/* a page said cacheScope "private" (2026-07-28) */
};

static const char *
list_method(enum upstream_list l)
{
	switch (l) {
	case UPSTREAM_TOOLS: return "tools/list";
	case UPSTREAM_PROMPTS: return "prompts/list";
	case UPSTREAM_RESOURCES: return "resources/list";
	default: return "resources/templates/list";
	}
}

static const char *
list_key(enum upstream_list l)
{
	switch (l) {
	case UPSTREAM_TOOLS: return "tools";
	case UPSTREAM_PROMPTS: return "prompts";
	case UPSTREAM_RESOURCES: return "resources";
	default: return "resourceTemplates";
	}
}

static void upstream_fetch_page(struct fetch *, const char *cursor);

static void
upstream_list_done(struct upstream *up, enum upstream_list which, json_t *items)
{
	int s = list_slot(which);
	json_decref(up->lists[s]);
	up->lists[s] = items;
	if (which == UPSTREAM_TOOLS)
		up->tools_from_catalog = up->tools_placeholder = 0;
	up->fetching &= ~(unsigned)which;
	/* The router sees the new list before anyone is told the server is ready. */
	if (up->hooks.lists)
		up->hooks.lists(up, which, up->hooks.arg);
	if (up->state == UPSTREAM_STARTING && up->fetching == 0) {
		struct timeval tv = tv_ms(UPSTREAM_STABLE_MS);
		evtimer_del(up->ev_startup);
		up->handshake_ms = util_ms_since(&up->started_at);
		clock_gettime(CLOCK_MONOTONIC, &up->ready_at);
		(void)evtimer_add(up->ev_stable, &tv);	/* failing: the count of failures stays */
		log_info(up->cfg->name, "ready in %ld ms (protocol %s, %zu tools)", up->handshake_ms,
		    up->version, up->lists[0] ? json_array_size(up->lists[0]) : 0);
		upstream_set_state(up, UPSTREAM_READY);
	}
	if (up->refetch & which) {
		up->refetch &= ~(unsigned)which;
		upstream_fetch(up, which);
	}
}

static void fetch_reply(struct fetch *, json_t *msg);

static void
fetch_reply_cb(void *arg, struct msg *reply)
{
	fetch_reply(arg, msg_tree(reply));
}

static void
fetch_reply(struct fetch *f, json_t *msg)
{
	struct upstream *up = f->up;
	json_t *result = json_object_get(msg, "result"), *items;
	const char *cursor;

	if (up->tr == NULL || up->closing) {	/* the server is gone: its restart fetches again */
		json_decref(f->acc);
		free(f);
		return;
	}
	if (!json_is_object(result)) {
		json_t *err = json_object_get(msg, "error");
		log_warn(up->cfg->name, "%s failed: %s", list_method(f->which),
		    json_string_value(json_object_get(err, "message")) ?: "no result");
		/* An answer without the list counts as an empty list: the server stays usable. */
		upstream_list_done(up, f->which, f->acc);
		free(f);
		return;
	}
	items = json_object_get(result, list_key(f->which));
	if (json_is_array(items)) {
		size_t i;
		json_t *v;
		json_array_foreach(items, i, v) {
			if (json_array_size(f->acc) >= UPSTREAM_MAX_ITEMS)
				break;
			if (json_is_object(v))
				json_array_append(f->acc, v);
		}
	}
	if (json_is_string(json_object_get(result, "cacheScope")) &&
	    strcmp(json_string_value(json_object_get(result, "cacheScope")), "private") == 0)
		f->priv = 1;
	cursor = json_string_value(json_object_get(result, "nextCursor"));
	if (cursor && *cursor && ++f->pages < UPSTREAM_MAX_PAGES &&
	    json_array_size(f->acc) < UPSTREAM_MAX_ITEMS) {
		upstream_fetch_page(f, cursor);
		return;
	}
	if (cursor && *cursor)
		log_warn(up->cfg->name, "%s: stopped after %d pages / %zu items", list_method(f->which),
		    f->pages, json_array_size(f->acc));
	up->private_lists = f->priv ? up->private_lists | f->which : up->private_lists & ~(unsigned)f->which;
	upstream_list_done(up, f->which, f->acc);
	free(f);
}

static void
upstream_fetch_page(struct fetch *f, const char *cursor)
{
	static const struct upstream_call_cbs cbs = { fetch_reply_cb, NULL };
	struct upstream_req r = { .method = list_method(f->which),
		.params = cursor ? json_pack("{ss}", "cursor", cursor) : json_object() };
	if (upstream_call(f->up, &r, &cbs, f, NULL) < 0) {
		/* Not reachable now; the exit path will restart and refetch. */
		f->up->fetching &= ~(unsigned)f->which;
		json_decref(f->acc);
		free(f);
	}
}

static void
upstream_fetch(struct upstream *up, unsigned which)
{
	for (unsigned l = UPSTREAM_TOOLS; l <= UPSTREAM_TEMPLATES; l <<= 1) {
		if (!(which & l))
			continue;
		if (up->fetching & l) {
			up->refetch |= l;
			continue;
		}
		struct fetch *f = calloc(1, sizeof *f);
		if (f == NULL || (f->acc = json_array()) == NULL) {
			free(f);
			log_warn(up->cfg->name, "out of memory: %s not fetched", list_method(l));
			continue;
		}
		f->up = up;
		f->which = l;
		up->fetching |= l;
		upstream_fetch_page(f, NULL);
	}
}

/* ---- handshake ---- */

static int
version_supported(const char *v)
{
	for (int i = 0; v && upstream_supported_versions[i]; i++)
		if (strcmp(v, upstream_supported_versions[i]) == 0)
			return 1;
	return 0;
}

static void
upstream_restartable_failure(struct upstream *up, const char *why)
{
	snprintf(up->last_error, sizeof up->last_error, "%s", why);
	log_error(up->cfg->name, "%s", why);
	if (up->tr && !up->closing) {
		up->closing = 1;
		transport_stop(up->tr);	/* the close path does the rest */
	}
}

static void init_reply(struct upstream *, json_t *msg);
static void upstream_send_discover(struct upstream *, long bound_ms);
static long upstream_probe_ms(const struct upstream *);

static void
init_reply_cb(void *arg, struct msg *reply)
{
	init_reply(arg, msg_tree(reply));
}

/* What a server sees of the gateway as its client. */
static json_t *
client_info(void)
{
	return json_pack("{ssss}", "name", "mcpgw", "version", MCPGW_VERSION);
}

/* The _meta members stamped on every request to a modern server: the protocol version, the
 * client's capabilities (what the gateway relays), the gateway as client, and the client's log
 * level once it set one (2026-07-28 has no logging/setLevel). Rebuilt when one of them changes. */
static void
upstream_meta_build(struct upstream *up)
{
	json_t *m = json_pack("{sssoso}", META_PV, UPSTREAM_MODERN_VERSION,
	    META_CC, up->client_caps ? json_incref(up->client_caps) : json_object(), META_CI, client_info());
	char *t;

	if (m && up->log_level)
		json_object_set_new(m, META_LL, json_string(up->log_level));
	t = m ? jsonrpc_dumps(m, JSON_COMPACT) : NULL;
	if (t == NULL || strlen(t) < 2) {	/* out of memory: requests go without (the server says so) */
		json_decref(m);
		free(t);
		return;
	}
	json_decref(up->meta);
	free(up->meta_text);
	up->meta = m;
	up->meta_len = strlen(t) - 2;
	memmove(t, t + 1, up->meta_len);	/* without the braces: spliced into a client's _meta */
	t[up->meta_len] = '\0';
	up->meta_text = t;
}

/* Where what was found about this server is remembered (state_era.h): its name, and a hash of
 * what decides the answer: the program, its arguments and directory, or the URL. */
static void
upstream_era_identity(const struct upstream *up, char out[80])
{
	const struct config_server *cfg = up->cfg;
	struct sha256 h;
	unsigned char d[32];

	sha256_init(&h);
	if (cfg->command) {
		sha256_update(&h, cfg->command, strlen(cfg->command) + 1);
		for (size_t i = 0; i < cfg->nargs; i++)
			sha256_update(&h, cfg->args[i], strlen(cfg->args[i]) + 1);
		if (cfg->cwd)
			sha256_update(&h, cfg->cwd, strlen(cfg->cwd) + 1);
	} else if (cfg->url) {
		/* HTTP: per origin and path (what answers there), without user info, query or fragment */
		const char *u = cfg->url, *a = strstr(u, "://"), *e = u + strcspn(u, "?#"), *host;
		if (a && a < e) {
			a += 3;
			host = a;
			for (const char *p = a; p < e && *p != '/'; p++)
				if (*p == '@')
					host = p + 1;
			sha256_update(&h, u, (size_t)(a - u));
			sha256_update(&h, host, (size_t)(e - host));
		} else
			sha256_update(&h, u, (size_t)(e - u));
	}
	sha256_final(&h, d);
	snprintf(out, 80, "%s:", cfg->command ? "stdio" : "http");
	for (int i = 0; i < 16; i++)
		snprintf(out + strlen(out), 3, "%02x", d[i]);
}

static void
upstream_era_remember(struct upstream *up, const char *era)
{
	char id[80];
	upstream_era_identity(up, id);
	state_era_put(up->cfg->name, id, era, up->version);
}

/* The end of either handshake: the lists the server offers are fetched; READY comes after them. */
static void
upstream_after_handshake(struct upstream *up)
{
	unsigned want = 0;

	if (json_object_get(up->caps, "tools"))
		want |= UPSTREAM_TOOLS;
	if (json_object_get(up->caps, "prompts"))
		want |= UPSTREAM_PROMPTS;
	if (json_object_get(up->caps, "resources"))
		want |= UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES;
	/* Lists the server does not offer are empty, not stale. */
	for (unsigned l = UPSTREAM_TOOLS; l <= UPSTREAM_TEMPLATES; l <<= 1)
		if (!(want & l)) {
			json_decref(up->lists[list_slot(l)]);
			up->lists[list_slot(l)] = NULL;
		}
	if (!(want & UPSTREAM_TOOLS))
		up->tools_from_catalog = 0;
	if (want == 0) {
		up->fetching = UPSTREAM_TOOLS;
		upstream_list_done(up, UPSTREAM_TOOLS, NULL);
		return;
	}
	upstream_fetch(up, want);
}

/* The newest legacy version of ours in the array, or NULL. */
static const char *
array_legacy(json_t *a)
{
	for (int i = 0; upstream_supported_versions[i]; i++)
		if (jsonrpc_array_has(a, upstream_supported_versions[i]))
			return upstream_supported_versions[i];
	return NULL;
}

static void
init_reply(struct upstream *up, json_t *msg)
{
	json_t *result = json_object_get(msg, "result");
	const char *v;
	char why[256];

	if (up->tr == NULL || up->closing)
		return;		/* the server went away during the handshake; the close path decides */
	if (!json_is_object(result)) {
		json_t *err = json_object_get(msg, "error");
		json_t *sup = json_object_get(json_object_get(err, "data"), "supported");
		/* A modern-only server refuses initialize naming the versions it speaks (-32022): the
		 * probe timed out on it, or the remembered era is stale. Once per process. */
		if (jsonrpc_array_has(sup, UPSTREAM_MODERN_VERSION) && !up->era_legacy && !up->discover_again &&
		    up->cfg->protocol == CONFIG_PROTOCOL_AUTO) {
			log_info(up->cfg->name, "initialize refused by a server that speaks %s: asking "
			    "server/discover", UPSTREAM_MODERN_VERSION);
			up->discover_again = 1;
			upstream_send_discover(up, 0);
			return;
		}
		snprintf(why, sizeof why, "initialize failed: %s",
		    json_string_value(json_object_get(err, "message")) ?: "no result");
		upstream_restartable_failure(up, why);
		return;
	}
	v = json_string_value(json_object_get(result, "protocolVersion"));
	if (!version_supported(v)) {
		snprintf(why, sizeof why, "server answered with unsupported protocol version %.40s",
		    v ? v : "(none)");
		upstream_restartable_failure(up, why);
		return;
	}
	free(up->version);
	if ((up->version = strdup(v)) == NULL) {	/* a start that cannot allocate fails like a spawn */
		upstream_restartable_failure(up, "out of memory");
		return;
	}
	up->init_answered = 1;
	transport_set_version(up->tr, v);
	json_decref(up->caps);
	up->caps = json_object_get(result, "capabilities");
	if (!json_is_object(up->caps))
		up->caps = json_object();
	else
		json_incref(up->caps);
	json_decref(up->server_info);
	up->server_info = json_incref(json_object_get(result, "serverInfo"));
	free(up->instructions);
	v = json_string_value(json_object_get(result, "instructions"));
	up->instructions = v ? strdup(v) : NULL;
	upstream_era_remember(up, "legacy");
	upstream_notify(up, "notifications/initialized", NULL);
	upstream_send_log_level(up);
	upstream_after_handshake(up);
}

/* The legacy handshake, exactly as before 2026-07-28. */
static void
upstream_send_initialize(struct upstream *up)
{
	static const struct upstream_call_cbs cbs = { init_reply_cb, NULL };
	/* "o" takes the reference: "O" of a fresh json_object() (client_caps NULL after a failed
	 * copy) kept a second one and leaked it (found by test_scenario_oom) */
	json_t *params = json_pack("{sssoso}", "protocolVersion", upstream_supported_versions[0],
	    "capabilities", up->client_caps ? json_incref(up->client_caps) : json_object(),
	    "clientInfo", client_info());
	/* No timer of its own: the start-up timer bounds it, and a request timeout would cancel it
	 * (MCP forbids cancelling initialize) and log a second failure for the same attempt. */
	struct upstream_req r = { .method = "initialize", .params = params, .timeout_ms = -1 };
	if (upstream_call(up, &r, &cbs, up, NULL) < 0 && up->tr && !up->closing) {
		/* Its input is closed: the server has exited, and the close path says how (with its
		 * exit status, which comes once its keeper has ended the whole tree). */
		log_debug(up->cfg->name, "initialize not sent: the server's input is closed");
		up->closing = 1;
		transport_stop(up->tr);
	}
}

/* The long-lived subscriptions/listen request that carries a modern server's list changes (it
 * sends no others): the notifications come back as on a legacy server and are handled alike. */
static void
listen_reply_cb(void *arg, struct msg *reply)
{
	struct upstream *up = arg;
	json_t *err = json_object_get(msg_tree(reply), "error");

	up->listen_id = 0;
	if (up->tr == NULL || up->closing)
		return;
	if (err)
		log_warn(up->cfg->name, "subscriptions/listen refused (%s): its list changes are not "
		    "followed", json_string_value(json_object_get(err, "message")) ?: "no message");
	else
		log_info(up->cfg->name, "subscriptions/listen ended by the server: its list changes are "
		    "not followed");
}

static void
upstream_listen(struct upstream *up)
{
	static const struct upstream_call_cbs cbs = { listen_reply_cb, NULL };
	json_t *filter = json_object();

	if (filter == NULL)
		return;
	if (json_object_get(up->caps, "tools"))
		json_object_set_new(filter, "toolsListChanged", json_true());
	if (json_object_get(up->caps, "prompts"))
		json_object_set_new(filter, "promptsListChanged", json_true());
	if (json_object_get(up->caps, "resources"))
		json_object_set_new(filter, "resourcesListChanged", json_true());
	if (json_object_size(up->res_subs) > 0) {
		json_t *uris = json_array();
		const char *uri;
		json_t *n;
		json_object_foreach(up->res_subs, uri, n)
			json_array_append_new(uris, json_string(uri));
		json_object_set_new(filter, "resourceSubscriptions", uris);
	}
	if (json_object_size(filter) == 0) {
		json_decref(filter);
		return;
	}
	struct upstream_req r = { .method = "subscriptions/listen",
		.params = json_pack("{so}", "notifications", filter), .timeout_ms = -1 };
	if (upstream_call(up, &r, &cbs, up, &up->listen_id) < 0)
		up->listen_id = 0;
}

/* server/discover answered with a DiscoverResult naming our modern version: no initialize, no
 * initialized; capabilities, server info and instructions from the result. */
static void
upstream_modern_ready(struct upstream *up, json_t *result)
{
	json_t *info = json_object_get(json_object_get(result, "_meta"), "io.modelcontextprotocol/serverInfo");
	const char *ins = json_string_value(json_object_get(result, "instructions"));

	free(up->version);
	if ((up->version = strdup(UPSTREAM_MODERN_VERSION)) == NULL) {
		upstream_restartable_failure(up, "out of memory");
		return;
	}
	up->modern = 1;
	up->probe_unanswered = 0;
	up->init_answered = 1;
	transport_set_version(up->tr, UPSTREAM_MODERN_VERSION);
	json_decref(up->caps);
	up->caps = json_object_get(result, "capabilities");
	up->caps = json_is_object(up->caps) ? json_incref(up->caps) : json_object();
	json_decref(up->server_info);
	if (!json_is_object(info))
		info = json_object_get(result, "serverInfo");
	up->server_info = json_is_object(info) ? json_incref(info) : NULL;
	free(up->instructions);
	up->instructions = ins ? strdup(ins) : NULL;
	log_info(up->cfg->name, "speaks %s (server/discover): stateless, no initialize",
	    UPSTREAM_MODERN_VERSION);
	upstream_era_remember(up, "modern");
	upstream_listen(up);
	upstream_after_handshake(up);
}

static void
upstream_fall_back(struct upstream *up, const char *why)
{
	char msg[300];

	if (up->cfg->protocol == CONFIG_PROTOCOL_MODERN) {
		snprintf(msg, sizeof msg, "%.200s, and its protocol: modern allows no fallback to initialize", why);
		upstream_restartable_failure(up, msg);
		return;
	}
	log_info(up->cfg->name, "%s: speaking the legacy protocol (2025-11-25 and earlier)", why);
	upstream_send_initialize(up);
}

static void discover_reply(struct upstream *, json_t *msg);

static void
discover_reply_cb(void *arg, struct msg *reply)
{
	discover_reply(arg, msg_tree(reply));
}

/* The probe's answer, as the revision's versioning.mdx says: a DiscoverResult, or -32022 naming a
 * version we speak, means modern; any other error (whatever its code) means legacy. */
static void
discover_reply(struct upstream *up, json_t *msg)
{
	json_t *result = json_object_get(msg, "result"), *err = json_object_get(msg, "error"), *sv;
	const char *legacy;
	char why[256];

	if (!up->probing || up->tr == NULL || up->closing)
		return;
	up->probing = 0;
	evtimer_del(up->ev_probe);
	if (json_is_object(result)) {
		sv = json_object_get(result, "supportedVersions");
		if (jsonrpc_array_has(sv, UPSTREAM_MODERN_VERSION) && json_is_object(json_object_get(result, "capabilities"))) {
			upstream_modern_ready(up, result);
			return;
		}
		if (json_is_array(sv) && json_array_size(sv) > 0 && array_legacy(sv) == NULL) {
			snprintf(why, sizeof why, "server/discover names no protocol version the gateway "
			    "speaks (first: %.40s)", json_string_value(json_array_get(sv, 0)) ?: "?");
			upstream_restartable_failure(up, why);
			return;
		}
		upstream_fall_back(up, "server/discover answered without a 2026-07-28 DiscoverResult");
		return;
	}
	if (json_integer_value(json_object_get(err, "code")) == -32022) {
		json_t *sup = json_object_get(json_object_get(err, "data"), "supported");
		if (jsonrpc_array_has(sup, UPSTREAM_MODERN_VERSION) && !up->discover_again) {
			up->discover_again = 1;
			upstream_send_discover(up, 0);
			return;
		}
		if ((legacy = array_legacy(sup)) != NULL) {
			snprintf(why, sizeof why, "server/discover: the server speaks %s", legacy);
			upstream_fall_back(up, why);
			return;
		}
		snprintf(why, sizeof why, "server/discover: the server speaks no protocol version the "
		    "gateway speaks (%d of them named)", (int)json_array_size(sup));
		upstream_restartable_failure(up, why);
		return;
	}
	snprintf(why, sizeof why, "server/discover refused (%" JSON_INTEGER_FORMAT ": %.80s)",
	    json_integer_value(json_object_get(err, "code")),
	    json_string_value(json_object_get(err, "message")) ?: "no message");
	upstream_fall_back(up, why);
}

/* No answer to the probe within its bound: a legacy server that ignores unknown requests before
 * initialize. Its late answer, if one comes, is dropped as one for a finished request. No
 * notifications/cancelled: a legacy server must not be sent one before initialize. */
static void
upstream_probe_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	struct pending *p;
	char why[128];

	if (!up->probing)
		return;
	up->probing = 0;
	up->probe_unanswered = 1;
	if ((p = pending_take(up, up->probe_id)) != NULL)
		pending_free(p);
	snprintf(why, sizeof why, "no answer to server/discover within %ld ms", upstream_probe_ms(up));
	upstream_fall_back(up, why);
}

/* The probe: server/discover with the 2026-07-28 _meta. bound_ms > 0: legacy after that long
 * without an answer; 0: only the start-up timeout bounds it (a server known to be modern). */
static void
upstream_send_discover(struct upstream *up, long bound_ms)
{
	static const struct upstream_call_cbs cbs = { discover_reply_cb, NULL };
	struct upstream_req r = { .method = "server/discover", .params = json_object(), .timeout_ms = -1 };

	upstream_meta_build(up);
	up->probing = 1;
	if (upstream_call(up, &r, &cbs, up, &up->probe_id) < 0) {
		up->probing = 0;
		if (up->tr && !up->closing) {
			log_debug(up->cfg->name, "server/discover not sent: the server's input is closed");
			up->closing = 1;
			transport_stop(up->tr);
		}
		return;
	}
	if (bound_ms > 0) {
		struct timeval tv = tv_ms(bound_ms);
		(void)evtimer_add(up->ev_probe, &tv);	/* failing: the start-up bound still ends it */
	}
}

/* The probe's bound: short, because a legacy server that ignores it delays every start by that
 * much (once: the answer is remembered), and a modern server that is slow to start is still found
 * when it refuses the initialize that follows. */
static long
upstream_probe_ms(const struct upstream *up)
{
	long third = up->cfg->startup_timeout_ms / 3;
	return third > 0 && third < UPSTREAM_PROBE_MAX_MS ? third : UPSTREAM_PROBE_MAX_MS;
}

/* Whether this transport probes with server/discover here (HTTP: its modern POST and 4xx rules
 * are the HTTP transport's, http_detect.c; see docs/protocol.md). */
static int
upstream_probe_allowed(const struct upstream *up)
{
	/* HTTP: the transport sends the probe as a modern POST and turns a legacy server's refusal
	 * into an error (http_detect.c); transport: sse is legacy by definition */
	return up->cfg->command != NULL || up->cfg->transport != CONFIG_TRANSPORT_SSE;
}

static void
upstream_handshake(struct upstream *up)
{
	char era[16] = "", id[80];

	if (up->handshake_sent || !up->caps_known || up->state != UPSTREAM_STARTING || up->tr == NULL)
		return;
	up->handshake_sent = 1;
	up->init_answered = 0;
	/* The start-up timeout runs from here, not from the spawn: the handshake waits for the
	 * client's own initialize, and a client slower than startup_timeout to send it must not
	 * make every server fail. */
	struct timeval tv = tv_ms(up->cfg->startup_timeout_ms);
	if (evtimer_add(up->ev_startup, &tv) < 0) {	/* it allocates: without it no bound */
		upstream_restartable_failure(up, "out of memory (no timer for the start-up bound)");
		return;
	}
	if (up->cfg->protocol == CONFIG_PROTOCOL_LEGACY) {	/* configured: no probe */
		upstream_send_initialize(up);
		return;
	}
	if (up->cfg->protocol == CONFIG_PROTOCOL_MODERN) {	/* configured: no fallback */
		upstream_send_discover(up, 0);
		return;
	}
	upstream_era_identity(up, id);
	if (!up->era_legacy && upstream_probe_allowed(up))
		state_era_get(up->cfg->name, id, era, sizeof era);
	if (up->era_legacy || up->probe_unanswered || !upstream_probe_allowed(up) || strcmp(era, "legacy") == 0) {
		if (era[0] || up->probe_unanswered)
			log_debug(up->cfg->name, "known as legacy: initialize without a probe");
		upstream_send_initialize(up);
		return;
	}
	/* Remembered as modern or not known: server/discover first, bounded alike (a server that
	 * changed is found again by the same rules). */
	upstream_send_discover(up, upstream_probe_ms(up));
}

void
upstream_set_client_caps(struct upstream *up, json_t *caps)
{
	json_decref(up->client_caps);
	up->client_caps = caps ? json_deep_copy(caps) : json_object();
	up->caps_known = 1;
	if (up->modern)
		upstream_meta_build(up);
	upstream_handshake(up);
}

/* ---- messages from the server ---- */

static void
upstream_on_notification(struct upstream *up, const char *method, json_t *params)
{
	if (strcmp(method, "notifications/progress") == 0) {
		json_t *tok = json_object_get(params, "progressToken");
		char key[32];
		struct pending *p;
		if (!json_is_integer(tok))
			return;
		snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, json_integer_value(tok));
		p = hmap_get(up->pending, key);
		if (p && p->cbs.progress) {
			if (p->timer) {	/* progress shows life: the timeout starts again */
				struct timeval tv = tv_ms(p->timeout_ms);
				(void)evtimer_add(p->timer, &tv);	/* pending already: moved, nothing allocated */
			}
			p->cbs.progress(p->arg, params);
		}
		return;
	}
	if (strcmp(method, "notifications/subscriptions/acknowledged") == 0) {
		log_debug(up->cfg->name, "subscriptions/listen acknowledged");
		return;		/* the gateway's own subscription: nothing for a client */
	}
	if (up->state == UPSTREAM_READY) {
		if (strcmp(method, "notifications/tools/list_changed") == 0) {
			upstream_fetch(up, UPSTREAM_TOOLS);
			return;
		}
		if (strcmp(method, "notifications/prompts/list_changed") == 0) {
			upstream_fetch(up, UPSTREAM_PROMPTS);
			return;
		}
		if (strcmp(method, "notifications/resources/list_changed") == 0) {
			upstream_fetch(up, UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES);
			return;
		}
	}
	if (up->hooks.notification)
		up->hooks.notification(up, method, params, up->hooks.arg);
}

/* A reply goes on as the server wrote it only when it holds nothing but the envelope (jsonrpc,
 * id, and a result object or an error): strict clients, the SDKs' schemas among them, drop a
 * reply with any other member, and the request it answers then never ends. NULL for such a
 * reply; otherwise a new one rebuilt from its parts, where a result that is not an object becomes
 * an error. msg has passed jsonrpc_classify() as a response. */
static json_t *
upstream_reply_clean(struct upstream *up, const struct pending *p, json_t *msg)
{
	json_t *id = json_object_get(msg, "id"), *result = json_object_get(msg, "result");
	char why[200];

	if (result != NULL && !json_is_object(result)) {
		snprintf(why, sizeof why, "server '%s' answered %s with a result that is not an object",
		    up->cfg->name, p->method);
		if (up->garbage_reported++ < 20)
			log_warn(up->cfg->name, "answered %s with a result that is not an object", p->method);
		return jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, why, NULL);
	}
	if (json_object_size(msg) == 3)
		return NULL;
	if (up->garbage_reported++ < 20)
		log_warn(up->cfg->name, "answered %s with members JSON-RPC does not have; passing on the "
		    "reply without them", p->method);
	return result ? jsonrpc_result(id, json_incref(result)) :
	    json_pack("{sssOsO}", "jsonrpc", "2.0", "id", id, "error", json_object_get(msg, "error"));
}

/* 1 when an error reply is a legacy server's refusal of a request before initialize ("Server not
 * initialized" and the like, whatever the code): from a server that answered server/discover,
 * the sign that its modern claim does not hold. Never the 2026-07-28 errors. */
static int
refused_as_uninitialised(json_t *msg)
{
	json_t *err = json_object_get(msg, "error");
	json_int_t code = json_integer_value(json_object_get(err, "code"));
	const char *m = json_string_value(json_object_get(err, "message"));

	if (m == NULL || code == -32022 || code == -32021 || code == -32020)
		return 0;
	for (const char *c = m; *c; c++)
		if (strncasecmp(c, "initializ", 9) == 0 || strncasecmp(c, "initialis", 9) == 0)
			return 1;
	return 0;
}

/* A server that claimed 2026-07-28 refused a request as an uninitialised legacy server would: it
 * is legacy for the rest of this upstream's life (so this happens once), remembered so, and
 * restarted to be spoken to with initialize. The request itself gets the server's error. */
static void
upstream_modern_broken(struct upstream *up, const char *method)
{
	char why[256];

	if (up->era_legacy)
		return;
	if (up->cfg->protocol == CONFIG_PROTOCOL_MODERN) {
		snprintf(why, sizeof why, "claimed %s (server/discover) but refused %.60s as an "
		    "uninitialised legacy server (protocol: modern)", UPSTREAM_MODERN_VERSION, method);
		upstream_restartable_failure(up, why);
		return;
	}
	up->era_legacy = 1;
	up->modern = 0;
	upstream_era_remember(up, "legacy");
	snprintf(why, sizeof why, "claimed %s (server/discover) but refused %.60s as an uninitialised "
	    "legacy server; restarting it with initialize", UPSTREAM_MODERN_VERSION, method);
	upstream_restartable_failure(up, why);
}

static void
upstream_line_cb(void *arg, char *line, size_t len)
{
	struct upstream *up = arg;
	struct msg *m;

	up->stats.bytes_in += len + 1;	/* with its newline */
	if (len == 0) {
		free(line);
		return;
	}
	if (log_enabled(LOG_DEBUG) && len < 2048)
		log_debug(up->cfg->name, "-> %s", line);
	if ((m = msg_take(line, len)) == NULL) {
		log_warn(up->cfg->name, "out of memory: a message from the server dropped");
		free(line);
		return;
	}
	/* The common case, a result for a request of ours, is checked and routed from its text. */
	if (m->f.kind == JSONFAST_RESULT && m->f.id_is_int && m->f.id_int > 0) {
		struct pending *p = pending_take(up, (uint64_t)m->f.id_int);
		if (p == NULL)
			log_debug(up->cfg->name, "response to an unknown or finished request dropped");
		else {
			if (p->cbs.reply)
				p->cbs.reply(p->arg, m);
			pending_free(p);
		}
		msg_free(m);
		return;
	}
	if (msg_parse(m) < 0 || m->rpc.kind == JSONRPC_BATCH) {
		/* Not protocol: log it (rate-limited by count) and drop it. */
		if (up->garbage_reported++ < 20)
			log_warn(up->cfg->name, "dropped a line that is not a JSON-RPC message (%s): %.80s",
			    m->rpc.kind == JSONRPC_BATCH ? "batch" : m->rpc.err_msg, m->text);
		msg_free(m);
		return;
	}
	switch (m->rpc.kind) {
	case JSONRPC_RESPONSE: {
		struct pending *p = NULL;
		if (json_is_integer(m->rpc.id) && json_integer_value(m->rpc.id) > 0)
			p = pending_take(up, (uint64_t)json_integer_value(m->rpc.id));
		if (p == NULL) {
			log_debug(up->cfg->name, "response to an unknown or finished request dropped");
			break;
		}
		int broken = up->modern && refused_as_uninitialised(m->rpc.msg);
		if (p->cbs.reply) {
			json_t *clean = upstream_reply_clean(up, p, m->rpc.msg);
			if (clean)
				upstream_reply_made(p, clean);
			else
				p->cbs.reply(p->arg, m);
		}
		if (broken)
			upstream_modern_broken(up, p->method);
		pending_free(p);
		break;
	}
	case JSONRPC_NOTIFICATION:
		upstream_on_notification(up, m->rpc.method, m->rpc.params);
		break;
	case JSONRPC_REQUEST:
		if (strcmp(m->rpc.method, "ping") == 0)
			upstream_respond(up, jsonrpc_result(m->rpc.id, json_object()));
		else if (up->hooks.request)
			up->hooks.request(up, m->rpc.msg, up->hooks.arg);
		else
			upstream_respond(up, jsonrpc_error(m->rpc.id, JSONRPC_METHOD_NOT_FOUND, "Method not found", NULL));
		break;
	default:
		break;
	}
	msg_free(m);	/* after dispatch: replies read the text */
}

/* The client's log level, to a server that has a logging capability. */
static void
upstream_send_log_level(struct upstream *up)
{
	if (up->modern)		/* 2026-07-28: the level rides in each request's _meta */
		return;
	if (up->log_level && json_object_get(up->caps, "logging")) {
		struct upstream_req r = { .method = "logging/setLevel",
			.params = json_pack("{ss}", "level", up->log_level) };
		upstream_call(up, &r, NULL, NULL, NULL);
	}
}

/* A remote server's session was replaced (transport.h): the new one is told the log level, and
 * the state hook, called with old == UPSTREAM_READY while ready, lets the client's session renew
 * its resource subscriptions. Before the first answer to initialize there is nothing to renew:
 * the handshake sends the level itself. */
static void
upstream_renewed_cb(void *arg)
{
	struct upstream *up = arg;
	if (!up->init_answered)
		return;
	upstream_send_log_level(up);
	if (up->state == UPSTREAM_READY && up->hooks.state)
		up->hooks.state(up, UPSTREAM_READY, up->hooks.arg);
}

static void
upstream_overlong_cb(void *arg)
{
	struct upstream *up = arg;
	log_warn(up->cfg->name, "dropped a message over the size bound");
}

static void
upstream_stderr_cb(void *arg, const char *line)
{
	struct upstream *up = arg;
	log_info(up->cfg->name, "stderr: %s", line);
}

/* Test mode only (the crash-loop soak: tests/integration/soak.test.mjs, make soak): with
 * MCPGW_TEST_RESTART_MS=N every restart waits N ms and restarts never stop. -1 otherwise. */
static long
upstream_test_restart_ms(void)
{
	const char *e = getenv("MCPGW_TEST_RESTART_MS");
	return e && *e ? strtol(e, NULL, 10) : -1;
}

static long
backoff_ms(int failures)
{
	long ms = UPSTREAM_BACKOFF_MS;
	if (upstream_test_restart_ms() >= 0)
		return upstream_test_restart_ms();
	for (int i = 1; i < failures && ms < UPSTREAM_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > UPSTREAM_BACKOFF_MAX_MS)
		ms = UPSTREAM_BACKOFF_MAX_MS;
	/* +-20% jitter so that servers that died together do not restart in lockstep */
	return ms * 8 / 10 + (long)((unsigned)rand() % (unsigned)(ms * 4 / 10 + 1));
}

static void
upstream_closed_cb(void *arg, const char *why_tr, int status)
{
	struct upstream *up = arg;
	char why[256];

	snprintf(why, sizeof why, "%s", why_tr);	/* the transport's text goes with it */
	transport_free(up->tr);
	up->tr = NULL;
	up->closing = 0;
	evtimer_del(up->ev_startup);
	evtimer_del(up->ev_stable);
	evtimer_del(up->ev_probe);
	up->fetching = up->refetch = 0;
	up->handshake_sent = up->init_answered = 0;
	if (up->probing && up->state == UPSTREAM_STARTING && !up->era_legacy) {
		/* Some legacy servers exit on a request before initialize: the next start skips the
		 * probe (and remembers legacy once initialize is answered). */
		log_info(up->cfg->name, "exited while asked server/discover: starting it again as legacy");
		up->era_legacy = 1;
	}
	up->modern = up->probing = up->discover_again = 0;
	up->listen_id = 0;
	/* The sessions subscribe again once it is back (the state hook). */
	json_decref(up->res_subs);
	up->res_subs = NULL;
	json_decref(up->local_ids);
	up->local_ids = NULL;
	up->relisten = 0;
	evtimer_del(up->ev_local);
	{
		char msg[300];
		snprintf(msg, sizeof msg, "%s while handling the request", why);
		upstream_fail_all(up, msg);
	}
	if (up->state == UPSTREAM_STOPPING) {
		log_debug(up->cfg->name, "stopped");
		upstream_set_state(up, UPSTREAM_STOPPED);
		if (up->stop_done)
			up->stop_done(up->stop_arg);
		else if (up->start_when_down) {	/* a call came during an idle stop */
			up->start_when_down = 0;
			upstream_start(up);
		}
		return;
	}
	if (status == TRANSPORT_CLOSED_SIGNIN) {
		upstream_signin_wait(up, why);
		return;
	}
	if (status == TRANSPORT_CLOSED_FAILED) {	/* a restart would meet the same refusal */
		/* Said once: the failed state's line carries the reason and the next step. */
		snprintf(up->last_error, sizeof up->last_error, "%s", why);
		upstream_set_state(up, UPSTREAM_FAILED);
		return;
	}
	if (up->last_error[0] == '\0' || up->state == UPSTREAM_READY)
		snprintf(up->last_error, sizeof up->last_error, "%s", why);
	if (up->state == UPSTREAM_READY && util_ms_since(&up->ready_at) >= UPSTREAM_STABLE_MS)
		up->failures = 0;
	up->failures++;
	if (up->failures > UPSTREAM_MAX_RESTARTS && upstream_test_restart_ms() < 0) {
		log_error(up->cfg->name, "%s; giving up after %d attempts: %s", why, up->failures,
		    up->last_error);
		upstream_set_state(up, UPSTREAM_FAILED);
		return;
	}
	long ms = backoff_ms(up->failures);
	struct timeval tv = tv_ms(ms);
	up->stats.restarts++;
	if (evtimer_add(up->ev_backoff, &tv) < 0) {	/* it allocates: no timer, no restart */
		char oom[sizeof up->last_error];	/* why may be last_error itself */
		snprintf(oom, sizeof oom, "%.200s; out of memory for its restart", why);
		snprintf(up->last_error, sizeof up->last_error, "%s", oom);
		log_error(up->cfg->name, "%s", up->last_error);
		upstream_set_state(up, UPSTREAM_FAILED);
		return;
	}
	log_warn(up->cfg->name, "%s; restarting in %ld ms (attempt %d of %d)", why, ms,
	    up->failures, UPSTREAM_MAX_RESTARTS);
	upstream_set_state(up, UPSTREAM_BACKOFF);
}

static void
upstream_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	upstream_spawn(arg);
}

/* ---- SIGNIN (issue 4) ----
 * The auth plugin said a person must sign in (its text names `mcpgw login NAME`). That is not a
 * failure: no restart count, no backoff, no giving up. The server waits, its calls answer with
 * that text (session.c), and it connects again as soon as its credentials change: a `mcpgw
 * login` in another terminal, or the sign-in the gateway runs itself (auth.open_browser, or the
 * client's url-mode elicitation). A server that never listed tools shows one placeholder tool,
 * sign_in, so that a client which lists tools once (Codex) still learns what to do. */

static void
upstream_placeholder(struct upstream *up, int on)
{
	if (on && up->lists[0] == NULL) {
		up->lists[0] = json_pack("[{ss ss s{ss}}]", "name", "sign_in", "description",
		    "This server needs a sign-in before its tools can be used. Call this tool to start it "
		    "(the client shows a link) or to learn the command that does it.",
		    "inputSchema", "type", "object");
		up->tools_placeholder = 1;
		up->tools_from_catalog = 1;	/* never written to the catalogue */
	} else if (!on && up->tools_placeholder) {
		json_decref(up->lists[0]);
		up->lists[0] = NULL;
		up->tools_placeholder = 0;
		up->tools_from_catalog = 0;
	} else
		return;
	if (up->hooks.lists)
		up->hooks.lists(up, UPSTREAM_TOOLS, up->hooks.arg);
}

static void
upstream_signin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	struct timeval tv = tv_ms(UPSTREAM_SIGNIN_POLL_MS);

	if (up->state != UPSTREAM_SIGNIN)
		return;
	if (auth_credentials_stamp(up->cfg) != up->signin_stamp) {
		log_info(up->cfg->name, "its credentials changed: connecting again");
		upstream_placeholder(up, 0);
		upstream_spawn(up);
		return;
	}
	if (evtimer_add(up->ev_signin, &tv) < 0) {	/* out of memory: no more polling */
		snprintf(up->last_error, sizeof up->last_error, "out of memory while waiting for a sign-in");
		upstream_set_state(up, UPSTREAM_FAILED);
	}
}

static void
upstream_signin_wait(struct upstream *up, const char *why)
{
	struct timeval tv = tv_ms(UPSTREAM_SIGNIN_POLL_MS);

	snprintf(up->last_error, sizeof up->last_error, "%s", why);
	up->failures = 0;
	up->signin_stamp = auth_credentials_stamp(up->cfg);
	log_warn(up->cfg->name, "%s", why);
	if (evtimer_add(up->ev_signin, &tv) < 0) {	/* out of memory: it could not notice a sign-in */
		char oom[sizeof up->last_error];	/* why may be last_error itself */
		snprintf(oom, sizeof oom, "%.200s; out of memory while waiting", why);
		snprintf(up->last_error, sizeof up->last_error, "%s", oom);
		upstream_set_state(up, UPSTREAM_FAILED);
		return;
	}
	upstream_set_state(up, UPSTREAM_SIGNIN);
	upstream_placeholder(up, 1);
}

static void
upstream_startup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	long ms = up->cfg->startup_timeout_ms;
	char why[200];

	/* A server that never answered the handshake is the common case, and worth saying so. */
	if (up->probing)
		snprintf(why, sizeof why, "no answer to server/discover within its startup timeout (%ld ms)", ms);
	else if (up->handshake_sent && !up->init_answered)
		snprintf(why, sizeof why, "no answer to initialize within its startup timeout (%ld ms)", ms);
	else
		snprintf(why, sizeof why, "not ready within its startup timeout (%ld ms)", ms);
	upstream_restartable_failure(up, why);
}

static void
upstream_stable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	up->failures = 0;
	up->last_error[0] = '\0';
}

/* idle_stop: a ready server no call has used for that long is stopped; like a lazy one it keeps
 * its lists and starts again on the next call that needs it (router_wake). A request in flight
 * (the gateway's own included) puts it off by another period. */
static void
upstream_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;

	if (up->cfg->idle_stop_ms <= 0 || up->state != UPSTREAM_READY)
		return;
	if (upstream_inflight(up) > 0) {
		upstream_idle_arm(up);
		return;
	}
	log_info(up->cfg->name, "unused for %ld ms (idle_stop): stopping; the next call starts it again",
	    up->cfg->idle_stop_ms);
	upstream_stop(up, NULL, NULL);
}

static void
upstream_idle_arm(struct upstream *up)
{
	struct timeval tv;

	if (up->cfg->idle_stop_ms <= 0 || up->ev_idle == NULL)
		return;
	tv = tv_ms(up->cfg->idle_stop_ms);
	(void)evtimer_add(up->ev_idle, &tv);	/* failing: it is not stopped for idleness */
}

static void
upstream_spawn(struct upstream *up)
{
	static const struct transport_cbs base_cbs = { upstream_line_cb, upstream_overlong_cb,
		upstream_closed_cb, upstream_stderr_cb, upstream_renewed_cb, NULL };
	struct transport_cbs cbs = base_cbs;
	const struct config_server *cfg = up->cfg;
	char err[256];

	cbs.arg = up;
	clock_gettime(CLOCK_MONOTONIC, &up->started_at);
	up->handshake_sent = up->init_answered = 0;
	up->closing = 0;
	up->tr = cfg->command ? transport_stdio_new(up->base, cfg, &cbs, err, sizeof err) :
	    transport_http_new(up->base, cfg, &cbs, err, sizeof err);
	if (up->tr == NULL) {
		snprintf(up->last_error, sizeof up->last_error, "%s", err);
		log_error(cfg->name, "%s", err);
		/* A program that cannot be executed, or a configuration that cannot work, will not
		 * fix itself by retrying. */
		upstream_set_state(up, UPSTREAM_FAILED);
		return;
	}
	if (cfg->command)
		log_info(cfg->name, "started %s (pid %d)", cfg->command, (int)transport_pid(up->tr));
	else
		log_info(cfg->name, "connecting (%s)", transport_kind(up->tr));
	upstream_set_state(up, UPSTREAM_STARTING);
	upstream_handshake(up);
}

struct upstream *
upstream_new(struct event_base *base, const struct config_server *cfg, int index,
    const struct upstream_hooks *hooks)
{
	struct upstream *up = calloc(1, sizeof *up);
	if (up == NULL)
		return NULL;
	up->base = base;
	up->cfg = cfg;
	up->index = index;
	up->hooks = *hooks;
	up->pending = hmap_new();
	up->ev_backoff = evtimer_new(base, upstream_backoff_cb, up);
	up->ev_signin = evtimer_new(base, upstream_signin_cb, up);
	up->ev_startup = evtimer_new(base, upstream_startup_cb, up);
	up->ev_stable = evtimer_new(base, upstream_stable_cb, up);
	up->ev_idle = evtimer_new(base, upstream_idle_cb, up);
	up->ev_probe = evtimer_new(base, upstream_probe_timeout_cb, up);
	up->ev_local = evtimer_new(base, upstream_local_cb, up);
	if (up->pending == NULL || up->ev_backoff == NULL || up->ev_signin == NULL ||
	    up->ev_startup == NULL || up->ev_stable == NULL || up->ev_idle == NULL || up->ev_probe == NULL ||
	    up->ev_local == NULL) {
		struct event *ev[] = { up->ev_backoff, up->ev_signin, up->ev_startup, up->ev_stable,
			up->ev_idle, up->ev_probe, up->ev_local };
		for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
			if (ev[i])
				event_free(ev[i]);
		hmap_free(up->pending);
		free(up);
		return NULL;
	}
	return up;
}

void
upstream_start(struct upstream *up)
{
	if (up->state == UPSTREAM_STOPPING && up->cfg->idle_stop_ms > 0) {
		up->start_when_down = 1;
		return;
	}
	if (up->state == UPSTREAM_STOPPED || up->state == UPSTREAM_FAILED) {
		up->failures = 0;
		upstream_spawn(up);
	}
}

void
upstream_stop(struct upstream *up, void (*done)(void *), void *arg)
{
	evtimer_del(up->ev_backoff);
	evtimer_del(up->ev_signin);
	evtimer_del(up->ev_startup);
	if (up->tr == NULL) {
		upstream_set_state(up, UPSTREAM_STOPPED);
		if (done)
			done(arg);
		return;
	}
	up->stop_done = done;
	up->stop_arg = arg;
	upstream_set_state(up, UPSTREAM_STOPPING);
	if (!up->closing) {
		up->closing = 1;
		transport_stop(up->tr);
	}
}

void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	up->stop_done = NULL;
	up->hooks.state = NULL;
	if (up->tr) {
		up->state = UPSTREAM_STOPPING;
		transport_free(up->tr);	/* kills and reaps; no close callback comes */
		up->tr = NULL;
	}
	upstream_fail_all(up, "gateway shutting down");
	hmap_free(up->pending);
	event_free(up->ev_backoff);
	event_free(up->ev_signin);
	event_free(up->ev_startup);
	event_free(up->ev_stable);
	event_free(up->ev_idle);
	event_free(up->ev_probe);
	event_free(up->ev_local);
	json_decref(up->res_subs);
	json_decref(up->local_ids);
	json_decref(up->meta);
	free(up->meta_text);
	json_decref(up->client_caps);
	json_decref(up->caps);
	json_decref(up->server_info);
	for (int i = 0; i < 4; i++)
		json_decref(up->lists[i]);
	free(up->instructions);
	free(up->version);
	free(up->log_level);
	free(up);
}

void
upstream_set_log_level(struct upstream *up, const char *level)
{
	free(up->log_level);
	up->log_level = strdup(level);
	if (up->modern)
		upstream_meta_build(up);
	if (up->state == UPSTREAM_READY)
		upstream_send_log_level(up);
}

void
upstream_pause(struct upstream *up, int paused)
{
	if (up->tr)
		transport_pause(up->tr, paused);
}

void
upstream_seed_tools(struct upstream *up, json_t *tools)
{
	if (up->lists[0] || !json_is_array(tools))
		return;
	up->lists[0] = json_deep_copy(tools);
	up->tools_from_catalog = 1;
}

enum upstream_state upstream_state(const struct upstream *up) { return up->state; }
const char *upstream_name(const struct upstream *up) { return up->cfg->name; }
int upstream_index(const struct upstream *up) { return up->index; }
const struct config_server *upstream_config(const struct upstream *up) { return up->cfg; }
json_t *upstream_list(const struct upstream *up, enum upstream_list l) { return up->lists[list_slot(l)]; }
int upstream_tools_from_catalog(const struct upstream *up) { return up->tools_from_catalog; }
json_t *upstream_capabilities(const struct upstream *up) { return up->caps; }
const char *upstream_instructions(const struct upstream *up) { return up->instructions; }
json_t *upstream_server_info(const struct upstream *up) { return up->server_info; }
const char *upstream_protocol_version(const struct upstream *up) { return up->version; }
int upstream_list_private(const struct upstream *up, unsigned which) { return (up->private_lists & which) != 0; }
const char *upstream_last_error(const struct upstream *up) { return up->last_error; }
pid_t upstream_pid(const struct upstream *up) { return up->tr ? transport_pid(up->tr) : 0; }
const char *upstream_transport_kind(const struct upstream *up) { return up->tr ? transport_kind(up->tr) : NULL; }
long upstream_handshake_ms(const struct upstream *up) { return up->handshake_ms; }
/* Without the gateway's own subscriptions/listen, which never ends while the server is up. */
size_t
upstream_inflight(const struct upstream *up)
{
	size_t n = hmap_count(up->pending);
	return n - (up->listen_id != 0 && n > 0);
}
const char *upstream_era(const struct upstream *up) { return !up->init_answered ? NULL : up->modern ? "modern" : "legacy"; }

void
upstream_rebind(struct upstream *up, const struct config_server *cfg, int index)
{
	up->cfg = cfg;
	up->index = index;
}

/* A server may send the client at most UPSTREAM_LOG_RATE log messages a second (bursts of
 * UPSTREAM_LOG_BURST): a flood of them would drown the client, whose reading of our output is
 * shared by every server. */
#define UPSTREAM_LOG_RATE 200.0
#define UPSTREAM_LOG_BURST 400.0

int
upstream_log_allowed(struct upstream *up)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (up->log_refill.tv_sec == 0 && up->log_refill.tv_nsec == 0)
		up->log_tokens = UPSTREAM_LOG_BURST;
	else {
		double dt = (double)(now.tv_sec - up->log_refill.tv_sec) +
		    (double)(now.tv_nsec - up->log_refill.tv_nsec) / 1e9;
		up->log_tokens += dt * UPSTREAM_LOG_RATE;
		if (up->log_tokens > UPSTREAM_LOG_BURST)
			up->log_tokens = UPSTREAM_LOG_BURST;
	}
	up->log_refill = now;
	if (up->log_tokens >= 1.0) {
		up->log_tokens -= 1.0;
		return 1;
	}
	up->log_dropped++;
	return 0;
}

unsigned long
upstream_log_take_dropped(struct upstream *up)
{
	unsigned long n = up->log_dropped;
	up->log_dropped = 0;
	return n;
}

/* ---- /metrics ---- */

const long upstream_latency_bounds_ms[UPSTREAM_LATENCY_BUCKETS] = { 5, 25, 100, 250, 1000, 2500, 10000, 60000 };

const struct upstream_stats *
upstream_stats(const struct upstream *up)
{
	return &up->stats;
}

void
upstream_count_call(struct upstream *up, long us, int error)
{
	int b = 0;

	if (us < 0)
		us = 0;
	while (b < UPSTREAM_LATENCY_BUCKETS && us > upstream_latency_bounds_ms[b] * 1000)
		b++;
	up->stats.calls++;
	up->stats.errors += error != 0;
	up->stats.latency[b]++;
	up->stats.latency_us += (uint64_t)us;
	if (up->state == UPSTREAM_READY)
		upstream_idle_arm(up);	/* idle_stop counts from the last call's end */
}
