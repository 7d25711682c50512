/* session.c: owns the client side of the protocol: version negotiation, method dispatch, id,
 * progress-token and cancellation remapping, server-to-client requests, and the rule that a first
 * list waits at most startup_wait for servers still starting. The 2026-07-28 revision's own parts
 * are session_modern.c, the conversion between generations session_convert.c (session_int.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>
#include <event2/buffer.h>
#include "audit.h"
#include "convert.h"
#include "gateway.h"
#include "hmap.h"
#include "ident.h"
#include "jsonfast.h"
#include "msg.h"
#include "jsonrpc.h"
#include "log.h"
#include "modern.h"
#include "session.h"
#include "session_int.h"
#include "signin_prompt.h"
#include "sha256.h"
#include "version.h"

const char *const session_supported_versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL
};

static void session_dispatch(struct session *, struct msg *);

/* Every message to the client goes out here. A draining session that answered its last request
 * tells the gateway, which may then stop. */
static void
session_emit(struct session *s, const char *buf, size_t len)
{
	s->io.send(s->io.arg, buf, len);
	if (s->draining && session_busy(s) == 0)
		gateway_session_quiet(s->gw);
}

/* The last resort of an answer: -32603 "out of memory" for the request with this id (its JSON
 * text), written without allocating, so that no request is left without one (docs/architecture.md,
 * "Out of memory"). */
static void
session_emit_oom(struct session *s, const char *id, size_t idlen)
{
	char buf[1024];
	int n;

	if (idlen > 900) {
		log_warn("client", "out of memory: the answer to a request with a long id dropped");
		return;
	}
	n = snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"error\":{\"code\":%d,"
	    "\"message\":\"out of memory\"}}\n", (int)idlen, id, JSONRPC_INTERNAL_ERROR);
	session_emit(s, buf, (size_t)n);
}

/* The same for an id as a tree: json_dumpb() into a buffer of ours does not allocate (an id is
 * a string or a number). */
static void
session_emit_oom_id(struct session *s, const json_t *id)
{
	char buf[901];
	size_t n = id ? json_dumpb(id, buf, sizeof buf, JSON_ENCODE_ANY | JSON_COMPACT) : 0;

	if (n == 0 || n > sizeof buf) {
		log_warn("client", "out of memory: an answer dropped");
		return;
	}
	session_emit_oom(s, buf, n);
}

static int
kind_slot(unsigned which)
{
	return which == UPSTREAM_TOOLS ? 0 : which == UPSTREAM_PROMPTS ? 1 : which == UPSTREAM_RESOURCES ? 2 : 3;
}

void
session_send(struct session *s, json_t *msg)
{
	size_t len;
	char *buf;
	if (msg == NULL)
		return;
	buf = jsonrpc_dump(msg, &len);
	json_decref(msg);
	if (buf) {
		session_emit(s, buf, len);
		free(buf);
	}
}

/* The view of a list depends on who asks when gateway.clients has rules for this client. */
static int
session_restricted(const struct session *s)
{
	return s->ident != NULL && ident_restricted(s->ident, gateway_config(s->gw));
}

static unsigned
list_of_method(const char *method)
{
	if (strcmp(method, "tools/list") == 0)
		return UPSTREAM_TOOLS;
	if (strcmp(method, "prompts/list") == 0)
		return UPSTREAM_PROMPTS;
	if (strcmp(method, "resources/list") == 0)
		return UPSTREAM_RESOURCES;
	if (strcmp(method, "resources/templates/list") == 0)
		return UPSTREAM_TEMPLATES;
	return 0;
}

/* The caching hints of a modern result (docs/protocol.md): lists and server/discover are fresh for
 * MODERN_LIST_TTL_MS once every server has answered (0 while some still start: the list will
 * grow), "private" when the client's rules narrow them; resources/read is relayed content of
 * unknown scope: "private", ttl 0, unless the server said otherwise. */
void
session_decor(const struct session *s, const char *method, struct modern_decor *d)
{
	unsigned which = list_of_method(method);
	memset(d, 0, sizeof *d);
	d->cacheable = modern_cacheable(method);
	if (!d->cacheable)
		return;
	d->private_scope = session_restricted(s) || strcmp(method, "resources/read") == 0;
	if (strcmp(method, "server/discover") == 0)
		which = UPSTREAM_TOOLS | UPSTREAM_PROMPTS | UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES;
	else if (which && router_list_private(s->router, which))
		d->private_scope = 1;	/* a server said its list is private: so is the merged one */
	d->ttl_ms = which && router_settled(s->router, which) ? MODERN_LIST_TTL_MS : 0;
}

/* session_send() of the answer to request id (msg NULL: it could not be built): when it cannot be
 * written either, out of memory, the client gets -32603 for id instead of nothing. */
static void
session_send_answer(struct session *s, json_t *msg, const json_t *id)
{
	size_t len;
	char *buf = jsonrpc_dump(msg, &len);

	json_decref(msg);
	if (buf) {
		session_emit(s, buf, len);
		free(buf);
	} else if (id != NULL) {
		session_emit_oom_id(s, id);
	}
}

/* A result for the client's request id: when it cannot be built (out of memory), the client
 * gets -32603 instead of waiting for an answer that never comes. Steals result. A modern
 * request's result gets resultType, serverInfo and its caching hints. */
static void
session_answer_as(struct session *s, json_t *id, json_t *result, int modern, const char *method)
{
	if (modern && result) {
		struct modern_decor d;
		session_decor(s, method, &d);
		modern_decorate(result, &d);
	}
	session_send_answer(s, jsonrpc_result(id, result), id);
}

void
session_answer(struct session *s, json_t *id, json_t *result)
{
	session_answer_as(s, id, result, s->cur && s->cur->modern, s->cur_method ? s->cur_method : "");
}

static char *related_call(const struct session *, const struct upstream *);
static struct call *only_call(const struct session *, const struct upstream *);

void
session_send_error(struct session *s, json_t *id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	session_send_answer(s, jsonrpc_error(id, code, msg, NULL), id);
}

/* The key of an id in the id tables (out: at least 67 bytes). A string id counts whole: one
 * too long to be its own key is keyed by its SHA-256, never by a prefix, or two requests whose
 * ids shared a prefix would be one (the second refused, a cancellation of one ending the other). */
void
session_id_key(json_t *id, char *out, size_t n)
{
	const char *v = json_string_value(id);
	size_t len = json_string_length(id);

	if (json_is_integer(id))
		snprintf(out, n, "i:%" JSON_INTEGER_FORMAT, json_integer_value(id));
	else if (v != NULL && len > 80 && n >= 67) {
		memcpy(out, "h:", 2);
		sha256_hex(v, len, out + 2);
	} else
		snprintf(out, n, "s:%s", v ? v : "");
}

/* JSON-RPC ids are unique among a sender's requests in flight: one that is still being answered
 * (sent on, or held back while servers start) cannot name a second request, or the client would
 * get two replies with one id and take either for the other. */
static int
key_in_use(const struct session *s, const char *key)
{
	return hmap_get(s->calls, key) != NULL || hmap_get(s->held, key) != NULL ||
	    hmap_get(s->listens, key) != NULL;
}

static int
id_in_use(const struct session *s, json_t *id)
{
	char key[96];
	session_id_key(id, key, sizeof key);
	return key_in_use(s, key);
}

static int
past_deadline(const struct session *s)
{
	struct timespec now;
	if (s->deadline_passed)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > s->deadline.tv_sec ||
	    (now.tv_sec == s->deadline.tv_sec && now.tv_nsec >= s->deadline.tv_nsec);
}

/* ---- calls forwarded to upstreams ---- */

void
session_call_free(struct call *c)
{
	if (c->wait_timer)
		event_free(c->wait_timer);
	json_decref(c->client_id);
	json_decref(c->client_token);
	json_decref(c->params);
	free(c->method);
	free(c->exposed_uri);
	free(c->orig_uri);
	free(c->tool);
	free(c->client_id_text);
	free(c->params_text);
	convert_rounds_free(c->rounds);
	json_decref(c->held_up_id);
	free(c->held_key);
	if (c->held_timer)
		event_free(c->held_timer);
	json_decref(c->caps);
	free(c);
}

/* Every change of a call's state goes through here: it keeps the waiting queue (and the wait's
 * timer) in step with the state, and logs old -> new. */
void
session_call_set_state(struct call *c, enum call_state st)
{
	static const char *const names[] = { "new", "waiting", "sent", "done", "input", "held" };
	enum call_state old = c->st;
	if (old == st)
		return;
	if (old == CALL_WAITING) {
		TAILQ_REMOVE(&c->s->waiting, c, wait_link);
		if (c->wait_timer)
			evtimer_del(c->wait_timer);
	}
	if (st == CALL_WAITING)
		TAILQ_INSERT_TAIL(&c->s->waiting, c, wait_link);
	c->st = st;
	log_debug(upstream_name(c->up), "call %s (%s): %s -> %s", c->key, c->method, names[old], names[st]);
}

void
session_call_finish(struct call *c)
{
	struct session *s = c->s;
	struct timespec now;

	/* Every call ends here, answered or not: the server's figures for /metrics. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	upstream_count_call(c->up, (now.tv_sec - c->started.tv_sec) * 1000000L +
	    (now.tv_nsec - c->started.tv_nsec) / 1000, !c->ok);
	session_convert_end(c);
	session_call_set_state(c, CALL_DONE);
	if (s == NULL) {	/* a held call whose session closed (issue 12) */
		session_call_free(c);
		return;
	}
	hmap_del(s->calls, c->key);
	session_call_free(c);
	if (s->draining && session_busy(s) == 0)
		gateway_session_quiet(s->gw);	/* deferred: the answer goes out first */
}

/* resources/read answers carry the upstream's URIs; the client must see its own. */
static void
map_read_uris(struct call *c, json_t *result)
{
	json_t *contents = json_object_get(result, "contents"), *item;
	size_t i;
	if (c->exposed_uri == NULL || strcmp(c->exposed_uri, c->orig_uri) == 0)
		return;
	json_array_foreach(contents, i, item) {
		const char *u = json_string_value(json_object_get(item, "uri"));
		if (u && strcmp(u, c->orig_uri) == 0)
			json_object_set_new(item, "uri", json_string(c->exposed_uri));
	}
}

/* An audit line, with the client's identity when it has one. */
static void
session_audit(const struct session *s, const char *event, json_t *fields)
{
	if (s->ident && fields)
		json_object_set_new(fields, "client", json_string(ident_label(s->ident)));
	audit_event(event, fields);
}

/* 1 when the client's rules (gateway.clients) leave this name of up's visible; *rule: the entry
 * that refused it. Sessions without rules pass at the cost of one test. */
int
session_allows(struct session *s, const struct upstream *up, enum ident_kind k, const char *name,
    const char **rule)
{
	const struct config *cfg;

	if (s->ident == NULL)
		return 1;
	cfg = gateway_config(s->gw);
	if (!ident_restricted(s->ident, cfg))
		return 1;
	return ident_allows(s->ident, cfg, upstream_config(up)->name, k, name, rule);
}

/* One audit line for a finished call: outcome given, or read from the reply. */
void
session_audit_call(struct call *c, json_t *msg, const char *outcome)
{
	struct timespec now;
	json_t *err = json_object_get(msg, "error");
	if (c->tool == NULL || !audit_enabled())
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (outcome == NULL && err)
		outcome = json_integer_value(json_object_get(err, "code")) == JSONRPC_REQUEST_TIMEOUT ?
		    "timeout" : "error";
	else if (outcome == NULL && json_is_true(json_object_get(json_object_get(msg, "result"), "isError")))
		outcome = "tool_error";
	else if (outcome == NULL)
		outcome = "ok";
	session_audit(c->s, "call", json_pack("{sssssssI}", "tool", c->tool, "server", upstream_name(c->up),
	    "outcome", outcome, "ms",
	    (json_int_t)((now.tv_sec - c->started.tv_sec) * 1000 + (now.tv_nsec - c->started.tv_nsec) / 1000000)));
}

/* Content a client of an older revision cannot read becomes text it can. */
static void
downconvert_content(json_t *content, int before_0618, int before_0326)
{
	size_t i;
	json_t *item;
	json_array_foreach(content, i, item) {
		const char *type = json_string_value(json_object_get(item, "type"));
		char *text = NULL;
		if (type == NULL)
			continue;
		if (before_0618 && strcmp(type, "resource_link") == 0) {
			const char *uri = json_string_value(json_object_get(item, "uri"));
			const char *name = json_string_value(json_object_get(item, "name"));
			if (asprintf(&text, "%s%s%s", name ? name : "", name ? ": " : "", uri ? uri : "") < 0)
				text = NULL;
		} else if (before_0326 && strcmp(type, "audio") == 0)
			text = strdup("[audio content: the client's protocol version cannot carry it]");
		if (text) {
			json_array_set_new(content, i, json_pack("{ssss}", "type", "text", "text", text));
			free(text);
		}
	}
}

static void
downconvert(struct session *s, const char *method, json_t *result)
{
	int before_0618 = strcmp(s->version, "2025-06-18") < 0;
	int before_0326 = strcmp(s->version, "2025-03-26") < 0;
	if (s->modern || !before_0618 || !json_is_object(result))
		return;
	if (strcmp(method, "tools/call") == 0) {
		json_t *sc = json_object_get(result, "structuredContent");
		json_t *content = json_object_get(result, "content");
		if (sc && (!json_is_array(content) || json_array_size(content) == 0)) {
			/* structuredContent is 2025-06-18: older clients get it as text. */
			char *t = jsonrpc_dumps(sc, JSON_COMPACT);
			json_object_set_new(result, "content", json_pack("[{ssss}]", "type", "text", "text", t ? t : ""));
			free(t);
		}
		json_object_del(result, "structuredContent");
		downconvert_content(json_object_get(result, "content"), before_0618, before_0326);
	} else if (strcmp(method, "prompts/get") == 0) {
		json_t *msgs = json_object_get(result, "messages"), *m;
		size_t i;
		json_array_foreach(msgs, i, m) {
			json_t *one = json_pack("[O]", json_object_get(m, "content"));
			downconvert_content(one, before_0618, before_0326);
			json_object_set(m, "content", json_array_get(one, 0));
			json_decref(one);
		}
	}
}

static int
needs_downconvert(const struct session *s, const char *method)
{
	return !s->modern && strcmp(s->version, "2025-06-18") < 0 &&
	    (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0);
}

/* Where the id of a reply lies in its text: from the scan, or read from the text. */
static int
reply_id_span(const struct msg *r, struct jsonfast_span *id)
{
	struct jsonfast_span all = { 0, r->len };
	if (r->text == NULL)
		return 0;
	if (r->f.kind == JSONFAST_RESULT) {
		*id = r->f.id;
		return 1;
	}
	return msg_member(r, all, "id", id) == 1;
}

void
session_call_reply_cb(void *arg, struct msg *r)
{
	struct call *c = arg;
	struct session *s = c->s;
	struct jsonfast_span id;
	if ((c->rounds || c->st == CALL_HELD) && session_convert_reply(c, r))
		return;		/* an input round (issue 12) */
	if (audit_enabled())
		session_audit_call(c, msg_tree(r), NULL);
	/* The common case: the answer goes back as the server wrote it, with the client's id in
	 * place of ours. Nothing is parsed or serialised again. */
	c->ok = (r->text != NULL && r->f.kind == JSONFAST_RESULT) ||
	    json_object_get(msg_tree(r), "result") != NULL;
	if (c->client_id_text && c->exposed_uri == NULL && (c->modern || !needs_downconvert(c->s, c->method)) &&
	    (!c->modern || r->f.kind == JSONFAST_RESULT) && reply_id_span(r, &id)) {
		const char *raw = r->text;
		size_t a = id.start, b = id.end, rawlen = r->len;
		size_t il = strlen(c->client_id_text), n = a + il + (rawlen - b) + 1;
		char *out = malloc(n);
		if (out) {
			memcpy(out, raw, a);
			memcpy(out + a, c->client_id_text, il);
			memcpy(out + a + il, raw + b, rawlen - b);
			out[n - 1] = '\n';
			if (c->modern) {
				/* A modern client's result gets its fields spliced in, still unparsed. */
				struct jsonfast_span rs = r->f.result;
				struct modern_decor d;
				size_t ml = 0, n2 = 0;
				char *mem, *o2;
				if (rs.start >= b) {
					rs.start = rs.start - b + a + il;
					rs.end = rs.end - b + a + il;
				}
				session_decor(s, c->method, &d);
				mem = modern_members(&d, &ml);
				o2 = mem ? modern_splice(out, n - 1, rs, mem, ml, &n2) : NULL;
				free(mem);
				free(out);
				out = o2;
				n = n2;
			}
		}
		if (out) {
			session_call_finish(c);
			session_emit(s, out, n);
			free(out);
			return;
		}
	}
	json_t *t = msg_tree(r);
	json_t *out = t ? json_deep_copy(t) : jsonrpc_error(NULL, JSONRPC_INTERNAL_ERROR, "unreadable reply", NULL);
	if (out == NULL) {
		session_send_error(c->s, c->client_id, JSONRPC_INTERNAL_ERROR, "out of memory");
		session_call_finish(c);
		return;
	}
	json_object_set(out, "id", c->client_id);
	if (c->modern) {
		/* A legacy server's resource-not-found, in the code of the client's revision. */
		json_t *err = json_object_get(out, "error");
		if (json_integer_value(json_object_get(err, "code")) == -32002)
			json_object_set_new(err, "code", json_integer(JSONRPC_INVALID_PARAMS));
	}
	if (c->exposed_uri)
		map_read_uris(c, json_object_get(out, "result"));
	if (c->modern) {
		struct modern_decor d;
		session_decor(s, c->method, &d);
		modern_decorate(json_object_get(out, "result"), &d);
	} else
		downconvert(c->s, c->method, json_object_get(out, "result"));
	session_send(c->s, out);
	session_call_finish(c);
}

void
session_call_progress_cb(void *arg, json_t *params)
{
	struct call *c = arg;
	json_t *p;
	if (c->client_token == NULL)
		return;
	p = json_deep_copy(params);
	json_object_set(p, "progressToken", c->client_token);
	session_send(c->s, jsonrpc_notification("notifications/progress", p));
}

static void
call_send(struct call *c)
{
	static const struct upstream_call_cbs cbs = { session_call_reply_cb, session_call_progress_cb };
	struct upstream_req req = { .method = c->method, .params = c->params,
		.progress = c->client_token != NULL, .client_caps = c->modern ? c->caps : NULL };
	int rc;
	session_convert_keep_params(c);
	c->params = NULL;
	session_call_set_state(c, CALL_SENT);
	if (c->params_text) {
		json_decref(req.params);
		req.params = NULL;
		req.params_text = c->params_text;
		req.params_len = c->params_len;
		req.token = c->token;
	}
	rc = upstream_call(c->up, &req, &cbs, c, &c->upid);
	free(c->params_text);
	c->params_text = NULL;
	if (rc < 0) {
		session_send_error(c->s, c->client_id, JSONRPC_SERVER_ERROR,
		    "server '%s' cannot take the request now (%s)", upstream_name(c->up),
		    upstream_state(c->up) == UPSTREAM_READY ? "too many requests in flight" :
		    upstream_state_name(upstream_state(c->up)));
		session_audit_call(c, NULL, "unavailable");
		session_call_finish(c);
	}
}

static void
call_fail_unavailable(struct call *c)
{
	const char *why = upstream_last_error(c->up);
	session_send_error(c->s, c->client_id, JSONRPC_SERVER_ERROR, "server '%s' is not available%s%s",
	    upstream_name(c->up), why && *why ? ": " : "", why ? why : "");
	session_audit_call(c, NULL, "unavailable");
	session_call_finish(c);
}

static void
call_wait_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	const char *why = upstream_last_error(c->up);
	/* With what went wrong last: "did not become ready" alone sends a person guessing. */
	session_send_error(c->s, c->client_id, JSONRPC_REQUEST_TIMEOUT,
	    "server '%s' did not become ready within %ld ms%s%s", upstream_name(c->up),
	    upstream_config(c->up)->startup_timeout_ms, why && *why ? ": " : "", why ? why : "");
	session_audit_call(c, NULL, "timeout");
	session_call_finish(c);
}

/* ---- sign-in (issue 4) ----
 * A server in UPSTREAM_SIGNIN answers its calls here: a tools/call gets an error result (isError,
 * so that the model reads it) with the server's text, which names `mcpgw login NAME`; any other
 * request a JSON-RPC error with that text. A client that declares url-mode elicitation is asked
 * as well (auth/signin_prompt.c: it sends the link through the requests below, finishes the flow
 * and says so); the server connects again by itself (upstream.c) and list_changed follows. */

static int
client_url_elicitation(const struct session *s)
{
	return json_object_get(json_object_get(s->client_caps, "elicitation"), "url") != NULL;
}

/* The prompts' requests to the client: gateway ids like any server-to-client request. */
static int
signin_request(void *arg, const char *method, json_t *params, char key[SIGNIN_KEY_MAX])
{
	struct session *s = arg;
	struct sreq *r;
	json_t *jgid;

	if (hmap_count(s->sreqs) >= SESSION_MAX_SREQS || (r = calloc(1, sizeof *r)) == NULL) {
		json_decref(params);
		return -1;
	}
	r->signin = 1;
	jgid = json_integer((json_int_t)++s->next_sreq);
	session_id_key(jgid, key, SIGNIN_KEY_MAX);
	hmap_put(s->sreqs, key, r);
	session_send(s, jsonrpc_request(jgid, method, params));
	json_decref(jgid);
	return 0;
}

static void
signin_forget(void *arg, const char *key)
{
	struct session *s = arg;
	struct sreq *r = hmap_del(s->sreqs, key);
	free(r);
}

static void
signin_notify(void *arg, const char *method, json_t *params)
{
	session_send(arg, jsonrpc_notification(method, params));
}

static void
prompt_start(struct session *s, struct upstream *up)
{
	/* A modern client takes no request of the gateway's: it reads the error's text. */
	if (s->initialized && !s->modern && client_url_elicitation(s))
		signin_prompts_start(s->signin, up, upstream_config(up));
}

static void
call_fail_signin(struct call *c)
{
	struct session *s = c->s;
	const char *why = upstream_last_error(c->up);
	char text[700];

	prompt_start(s, c->up);
	snprintf(text, sizeof text, "%s%s", *why ? why : "this server needs a sign-in",
	    signin_prompts_active(s->signin, c->up) ? " (the client was sent a sign-in link)" : "");
	if (strcmp(c->method, "tools/call") == 0)
		session_answer_as(s, c->client_id, json_pack("{s[{ssss}]sb}", "content", "type", "text",
		    "text", text, "isError", 1), c->modern, c->method);
	else
		session_send_error(s, c->client_id, JSONRPC_SERVER_ERROR, "%s", text);
	session_audit_call(c, NULL, "signin");
	session_call_finish(c);
}

/* One request to send on to an upstream: what it is, where it goes, and its params as a tree or as
 * the client's text. */
struct forward {
	json_t *id;			/* the client's id (borrowed) */
	const char *id_text;		/* its JSON text when the scan found it (not NUL-terminated) */
	size_t id_len;
	const char *method;
	struct upstream *up;
	json_t *params;			/* taken over: the tree to send; or NULL with params_text */
	char *params_text;		/* taken over: the text to send */
	size_t params_len;
	struct jsonfast_span token;	/* in params_text: the value of _meta.progressToken */
	const char *exposed_uri, *orig_uri;	/* resources: the URI as the client and the server see it */
	const char *tool;		/* tools/call: the exposed name (audit log) */
	json_t *client_token;		/* borrowed: the client's progressToken, or NULL */
};

/* Routes now when the server is ready, waits for it while it starts. The caller has checked the
 * id (session_dispatch). */
static void
session_forward(struct session *s, struct forward *f)
{
	struct upstream *up = f->up;
	char key[96];
	struct call *c;
	json_t *tok;

	session_id_key(f->id, key, sizeof key);
	if (session_busy(s) >= SESSION_MAX_CALLS) {
		json_decref(f->params);
		free(f->params_text);
		session_send_error(s, f->id, JSONRPC_SERVER_ERROR, "too many requests in flight (%d)", SESSION_MAX_CALLS);
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		json_decref(f->params);
		free(f->params_text);
		session_send_error(s, f->id, JSONRPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	c->s = s;
	memcpy(c->key, key, sizeof key);
	c->client_id = json_incref(f->id);
	c->up = up;
	c->method = strdup(f->method);
	c->params = f->params;
	c->params_text = f->params_text;
	c->params_len = f->params_len;
	c->token = f->token;
	c->client_id_text = f->id_text ? strndup(f->id_text, f->id_len) :
	    json_dumps(f->id, JSON_ENCODE_ANY | JSON_COMPACT);
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	if (f->tool)
		c->tool = strdup(f->tool);
	tok = f->client_token;
	if (json_is_string(tok) || json_is_integer(tok))
		c->client_token = json_incref(tok);
	if (f->exposed_uri) {
		c->exposed_uri = strdup(f->exposed_uri);
		c->orig_uri = strdup(f->orig_uri);
	}
	c->log_level = -1;
	if (s->cur && s->cur->modern) {
		c->modern = 1;
		c->log_level = s->cur->log_level;
		c->caps = json_incref(s->cur->caps);
	}
	if (c->method == NULL || (c->client_id_text == NULL && (f->id_text || f->id)) ||
	    (f->tool && c->tool == NULL) || (f->exposed_uri && (!c->exposed_uri || !c->orig_uri)) ||
	    hmap_put(s->calls, key, c) < 0) {
		session_call_free(c);	/* with the params it took */
		session_send_error(s, f->id, JSONRPC_INTERNAL_ERROR, "out of memory");
		return;
	}

	switch (upstream_state(up)) {
	case UPSTREAM_READY:
		call_send(c);
		return;
	case UPSTREAM_STOPPING:
		/* Stopped for idleness (idle_stop) just now: it starts again once down. */
		if (upstream_config(up)->idle_stop_ms > 0 && !gateway_stopping(s->gw))
			goto wait;
		/* FALLTHROUGH */
	case UPSTREAM_FAILED:
		call_fail_unavailable(c);
		return;
	case UPSTREAM_SIGNIN:		/* issue 4 */
		call_fail_signin(c);
		return;
	default:
	wait: {
		/* Starting, restarting or lazy: the call waits for the server, bounded by its start-up. */
		struct timeval tv = { upstream_config(up)->startup_timeout_ms / 1000,
			(upstream_config(up)->startup_timeout_ms % 1000) * 1000 };
		/* evtimer_add allocates too (libevent's timer heap grows): a call whose bound could not
		 * be set would wait without one. */
		if ((c->wait_timer = evtimer_new(s->base, call_wait_timeout_cb, c)) == NULL ||
		    evtimer_add(c->wait_timer, &tv) < 0) {
			session_send_error(s, c->client_id, JSONRPC_INTERNAL_ERROR, "out of memory");
			session_call_finish(c);
			return;
		}
		session_call_set_state(c, CALL_WAITING);
		router_wake(s->router, up);
		log_debug(upstream_name(up), "%s waits for the server to be ready", f->method);
	}
	}
}

/* ---- lists ---- */

static const char *
list_result_key(unsigned which)
{
	switch (which) {
	case UPSTREAM_TOOLS: return "tools";
	case UPSTREAM_PROMPTS: return "prompts";
	case UPSTREAM_RESOURCES: return "resources";
	default: return "resourceTemplates";
	}
}

/* A template's server: the first whose own list has it and whose rules let it through, as the
 * router's view keeps the earlier server's. */
static struct upstream *
template_server(struct session *s, const char *t)
{
	for (size_t i = 0; i < router_count(s->router); i++) {
		struct upstream *up = router_upstream(s->router, i);
		json_t *list = upstream_list(up, UPSTREAM_TEMPLATES), *item;
		size_t k;

		json_array_foreach(list, k, item) {
			const char *u = json_string_value(json_object_get(item, "uriTemplate"));
			if (u && strcmp(u, t) == 0 && config_rules_pass(&upstream_config(up)->resources, t))
				return up;
		}
	}
	return NULL;
}

static int
view_item_allowed(struct session *s, unsigned which, json_t *item)
{
	struct upstream *up;
	const char *orig;
	char *uri = NULL;
	int ok = 0;

	if (which == UPSTREAM_TOOLS || which == UPSTREAM_PROMPTS) {
		const char *name = json_string_value(json_object_get(item, "name"));
		if (name && (which == UPSTREAM_TOOLS ? router_tool(s->router, name, &up, &orig) :
		    router_prompt(s->router, name, &up, &orig)) == 0)
			ok = session_allows(s, up, which == UPSTREAM_TOOLS ? IDENT_TOOLS : IDENT_PROMPTS,
			    orig, NULL);
	} else if (which == UPSTREAM_RESOURCES) {
		const char *u = json_string_value(json_object_get(item, "uri"));
		if (u && router_uri(s->router, u, &up, &uri) == 0)
			ok = session_allows(s, up, IDENT_RESOURCES, uri, NULL);
		free(uri);
	} else {
		const char *t = json_string_value(json_object_get(item, "uriTemplate"));
		if (t && (up = template_server(s, t)) != NULL)
			ok = session_allows(s, up, IDENT_RESOURCES, t, NULL);
	}
	return ok;
}

/* The list as this client may see it: the router's, or (gateway.clients) what its rules leave of
 * it. *gen changes whenever what is returned does. */
static json_t *
session_view(struct session *s, unsigned which, unsigned long *gen)
{
	int k = kind_slot(which);
	json_t *v = router_list(s->router, which), *item;
	const struct config *cfg = gateway_config(s->gw);
	unsigned long rgen = router_list_gen(s->router, which);
	size_t i;

	*gen = rgen;
	if (s->ident == NULL || !ident_restricted(s->ident, cfg) || v == NULL) {
		if (s->view[k] != NULL) {	/* a reload took the rules away: the text is of the view */
			json_decref(s->view[k]);
			s->view[k] = NULL;
			free(s->list_text[k]);
			s->list_text[k] = NULL;
		}
		return v;
	}
	if (s->view[k] == NULL || s->view_gen[k] != rgen || s->view_cfg[k] != cfg) {
		json_decref(s->view[k]);
		s->view[k] = json_array();
		json_array_foreach(v, i, item)
			if (view_item_allowed(s, which, item))
				json_array_append(s->view[k], item);
		s->view_gen[k] = rgen;
		s->view_cfg[k] = cfg;
		free(s->list_text[k]);	/* the text is of the view, which the gen alone no longer names */
		s->list_text[k] = NULL;
	}
	return s->view[k];
}

static void
answer_list(struct session *s, json_t *id, unsigned which)
{
	int k = kind_slot(which);
	unsigned long gen;
	json_t *v = session_view(s, which, &gen);
	json_t **seen = &s->answered[k];
	json_decref(*seen);
	*seen = v ? json_incref(v) : json_array();
	/* The list's text is made once per change of the list: a client asking again and again for
	 * 5,000 tools costs a copy, not a serialisation of 1.7 MB (found by the 50 x 100 bench). */
	if (s->list_text[k] == NULL || s->list_gen[k] != gen) {
		free(s->list_text[k]);
		s->list_text[k] = jsonrpc_dumps(*seen, JSON_COMPACT);
		s->list_len[k] = s->list_text[k] ? strlen(s->list_text[k]) : 0;
		s->list_gen[k] = gen;
	}
	char *idt = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
	struct evbuffer *b = evbuffer_new();
	char *mem = NULL;
	size_t ml = 0;
	if (s->cur && s->cur->modern) {
		struct modern_decor d;
		session_decor(s, s->cur_method, &d);
		mem = modern_members(&d, &ml);
	}
	if (s->list_text[k] == NULL || idt == NULL || b == NULL || (s->cur && s->cur->modern && !mem)) {
		session_answer(s, id, json_pack("{sO}", list_result_key(which), *seen));
	} else {
		/* each piece checked: a piece not added (out of memory) would leave a hole in the
		 * message (found by test_scenario_oom: the client got the list without its head) */
		int bad = evbuffer_add_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{", idt) < 0;
		if (mem)
			bad |= evbuffer_add(b, mem, ml) | evbuffer_add(b, ",", 1);
		bad |= evbuffer_add_printf(b, "\"%s\":", list_result_key(which)) < 0;
		bad |= evbuffer_add(b, s->list_text[k], s->list_len[k]) < 0;
		bad |= evbuffer_add(b, "}}\n", 3) < 0;
		size_t n = evbuffer_get_length(b);
		const char *text = bad ? NULL : (const char *)evbuffer_pullup(b, -1);
		if (text != NULL)
			session_emit(s, text, n);
		else
			session_emit_oom_id(s, id);
	}
	if (b)
		evbuffer_free(b);
	free(mem);
	free(idt);
}

static void
deferred_free(struct deferred *d)
{
	json_decref(d->msg);
	free(d);
}

static void
run_deferred(struct session *s, int all)
{
	TAILQ_HEAD(, deferred) ready = TAILQ_HEAD_INITIALIZER(ready);
	struct deferred *d, *next;

	/* Take out what can go now first: answering may queue new requests. */
	for (d = TAILQ_FIRST(&s->deferred); d; d = next) {
		next = TAILQ_NEXT(d, link);
		if (all || router_settled(s->router, d->which)) {
			TAILQ_REMOVE(&s->deferred, d, link);
			hmap_del(s->held, d->key);
			TAILQ_INSERT_TAIL(&ready, d, link);
		}
	}
	while ((d = TAILQ_FIRST(&ready))) {
		TAILQ_REMOVE(&ready, d, link);
		if (d->is_list) {
			/* Its _meta was checked when it came: read again for the answer's fields. */
			const struct modern_req *saved = s->cur;
			const char *saved_method = s->cur_method;
			struct modern_req mr;
			json_t *bad = NULL;
			if (modern_read(NULL, json_object_get(d->msg, "params"), 0, &mr, &bad) == 1) {
				s->cur = &mr;
				s->cur_method = json_string_value(json_object_get(d->msg, "method"));
			}
			json_decref(bad);
			answer_list(s, json_object_get(d->msg, "id"), d->which);
			s->cur = saved;
			s->cur_method = saved_method;
		} else {
			struct msg *m = msg_of_tree(json_incref(d->msg));
			json_t *id = json_object_get(d->msg, "id");
			if (m && m->parsed > 0)
				session_dispatch(s, m);
			else if (id != NULL)	/* it was valid when held back: this is out of memory */
				session_send_error(s, id, JSONRPC_INTERNAL_ERROR, "out of memory");
			msg_free(m);
		}
		deferred_free(d);
	}
	if (TAILQ_EMPTY(&s->deferred))
		evtimer_del(s->ev_deadline);
}

/* 1 when the request was held back until the servers have started (or startup_wait is over). */
static int
maybe_defer(struct session *s, struct jsonrpc_msg *m, unsigned which, int is_list)
{
	struct timespec now;
	struct timeval tv;
	long ms;

	if (past_deadline(s) || router_settled(s->router, which))
		return 0;
	/* Held back or in flight, one bound: a client must not queue without limit at start-up. */
	if (session_busy(s) >= SESSION_MAX_CALLS) {
		session_send_error(s, m->id, JSONRPC_SERVER_ERROR, "too many requests in flight (%d)", SESSION_MAX_CALLS);
		return 1;
	}
	struct deferred *d = calloc(1, sizeof *d);
	if (d != NULL)
		session_id_key(m->id, d->key, sizeof d->key);
	if (d == NULL || hmap_put(s->held, d->key, d) < 0) {
		free(d);
		session_send_error(s, m->id, JSONRPC_INTERNAL_ERROR, "out of memory");
		return 1;
	}
	d->msg = json_incref(m->msg);
	d->which = which;
	d->is_list = is_list;
	TAILQ_INSERT_TAIL(&s->deferred, d, link);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (s->deadline.tv_sec - now.tv_sec) * 1000 + (s->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		ms = 0;
	ms++;	/* round up: the timer must not fire before the deadline */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (!evtimer_pending(s->ev_deadline, NULL) && evtimer_add(s->ev_deadline, &tv) < 0) {
		/* Out of memory for the timer: held back without a deadline it could wait for ever, so
		 * it is answered now, from what is known. */
		TAILQ_REMOVE(&s->deferred, d, link);
		hmap_del(s->held, d->key);
		json_decref(d->msg);
		free(d);
		return 0;
	}
	return 1;
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	s->deadline_passed = 1;
	if (!TAILQ_EMPTY(&s->deferred))
		log_info("gateway", "startup_wait over: answering lists with the servers that are ready");
	run_deferred(s, 1);
}

static void
handle_list(struct session *s, struct jsonrpc_msg *m, unsigned which)
{
	json_t *cursor = json_object_get(m->params, "cursor");
	if (cursor && !json_is_null(cursor)) {
		/* The gateway returns whole lists and never hands out a cursor. */
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "Invalid cursor");
		return;
	}
	/* Lazy servers with nothing catalogued are started so that their tools can be learnt. */
	for (size_t i = 0; which == UPSTREAM_TOOLS && i < router_count(s->router); i++) {
		struct upstream *up = router_upstream(s->router, i);
		if (upstream_state(up) == UPSTREAM_STOPPED && upstream_list(up, UPSTREAM_TOOLS) == NULL)
			router_wake(s->router, up);
	}
	if (!maybe_defer(s, m, which, 1))
		answer_list(s, m->id, which);
}

/* ---- client methods ---- */

void
session_cap_wait(struct session *s, long ms)
{
	struct timespec cap = s->started;
	cap.tv_sec += ms / 1000;
	cap.tv_nsec += (ms % 1000) * 1000000;
	if (cap.tv_nsec >= 1000000000) {
		cap.tv_sec++;
		cap.tv_nsec -= 1000000000;
	}
	if (cap.tv_sec < s->deadline.tv_sec || (cap.tv_sec == s->deadline.tv_sec && cap.tv_nsec < s->deadline.tv_nsec)) {
		s->deadline = cap;
		log_debug("client", "this client does not wait for slow servers: first lists wait at most %ld ms", ms);
	}
}

/* A server the client's rules hide (gateway.clients ... hidden: true) is not named to it. */
static int
session_shows_server(void *arg, const struct upstream *up)
{
	struct session *s = arg;
	return ident_sees_server(s->ident, gateway_config(s->gw), upstream_config(up)->name);
}

/* What the gateway offers, one set for both generations: list_changed of every list (on a listen
 * stream for a modern client), resource subscriptions, log messages (per request for a modern
 * client) and completions. */
json_t *
session_capabilities(void)
{
	return json_pack("{s{sb} s{sb} s{sbsb} s{} s{}}",
	    "tools", "listChanged", 1,
	    "prompts", "listChanged", 1,
	    "resources", "subscribe", 1, "listChanged", 1,
	    "logging", "completions");
}

char *
session_instructions(struct session *s)
{
	return session_restricted(s) ? router_instructions_for(s->router, session_shows_server, s) :
	    router_instructions(s->router);
}

static void
handle_initialize(struct session *s, struct jsonrpc_msg *m)
{
	const char *want = json_string_value(json_object_get(m->params, "protocolVersion"));
	const char *v = session_supported_versions[0];
	json_t *caps = json_object_get(m->params, "capabilities");
	char *instr;

	/* Only an initialize refuses a second one: a client that tried something else first (a
	 * modern client's server/discover, issue 12) and then falls back to initialize is doing its
	 * handshake now. */
	if (s->initialized && !s->implicit) {
		session_send_error(s, m->id, JSONRPC_INVALID_REQUEST, "already initialized");
		return;
	}
	if (want == NULL || (caps != NULL && !json_is_object(caps))) {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "initialize needs protocolVersion (string) and capabilities (object)");
		return;
	}
	for (int i = 0; session_supported_versions[i]; i++)
		if (strcmp(want, session_supported_versions[i]) == 0)
			v = want;
	snprintf(s->version, sizeof s->version, "%s", v);
	json_decref(s->client_caps);
	s->client_caps = caps ? json_deep_copy(caps) : json_object();
	s->initialized = 1;
	s->implicit = 0;
	if (s->modern)
		log_info("client", "initialize after 2026-07-28 requests: the client speaks %s from now on", v);
	s->modern = 0;
	instr = session_instructions(s);
	session_answer(s, m->id, json_pack(
	    "{ss so s{ssssss} ss}",
	    "protocolVersion", v,
	    "capabilities", session_capabilities(),
	    "serverInfo", "name", "mcpgw", "title", "mcpgw MCP gateway", "version", MCPGW_VERSION,
	    "instructions", instr ? instr : ""));
	free(instr);
	const char *cname = json_string_value(json_object_get(json_object_get(m->params, "clientInfo"), "name"));
	log_info("client", "initialize from %s, protocol %s", cname ? cname : "(unnamed client)", v);
	/* Unless the user chose a wait (with Codex's `required = true`, say), Codex gets its answer
	 * while it still listens. */
	if (cname && strncmp(cname, "codex", 5) == 0 && !gateway_config(s->gw)->startup_wait_set)
		session_cap_wait(s, SESSION_CODEX_WAIT_MS);
	/* Upstreams are told only now what the client can do (sampling, elicitation, roots). */
	gateway_client_caps(s->gw, s, s->client_caps);
}

/* The client's progressToken read from the text of _meta (span of m->text): a plain string or an
 * integer; 0 with *tok NULL when there is none, -1 when it is anything else (the tree decides). */
static int
text_token(const struct msg *m, struct jsonfast_span meta, json_t **tok, struct jsonfast_span *at)
{
	struct jsonfast_span ts;
	const char *t;
	int r = msg_member(m, meta, "progressToken", &ts);
	*tok = NULL;
	if (r <= 0)
		return r;
	t = m->text + ts.start;
	if (t[0] == '"') {
		for (size_t i = ts.start + 1; i + 1 < ts.end; i++)
			if (m->text[i] == '\\')
				return -1;
		*tok = json_stringn(t + 1, ts.end - ts.start - 2);
	} else {
		/* an integer token only; anything else goes the tree's way */
		if (!(t[0] == '-' || (t[0] >= '0' && t[0] <= '9')) || memchr(t, '.', ts.end - ts.start) ||
		    memchr(t, 'e', ts.end - ts.start) || memchr(t, 'E', ts.end - ts.start))
			return -1;
		*tok = json_integer(strtoll(t, NULL, 10));
	}
	*at = ts;
	return 1;
}

/* tools/call routed from its text, never parsed into a tree: the client's params with the
 * upstream's own tool name spliced in, and the place of _meta.progressToken noted for the upstream
 * id. 0 when sent on (or answered); -1 when the text cannot be read that way (escaped keys, an
 * unknown tool that may have to wait, odd values): then the tree is used. */
static int
tools_call_text(struct session *s, struct msg *m, json_t *id)
{
	static const char *const keys[] = { "name", "arguments", "_meta" };
	struct jsonfast_span p = m->f.params, v[3], name, meta, tok_at = { 0, 0 };
	struct upstream *up;
	const char *orig;
	char nm[256];
	json_t *tok = NULL;
	size_t qlen;

	/* One pass over params finds the three members a call is routed by. */
	if (m->f.kind != JSONFAST_REQUEST || p.end == 0 || jsonfast_members(m->text, p, keys, 3, v) < 0)
		return -1;
	name = v[0];
	meta = v[2];
	if (name.end - name.start < 2 || m->text[name.start] != '"' || name.end - name.start - 2 >= sizeof nm ||
	    memchr(m->text + name.start + 1, '\\', name.end - name.start - 2))
		return -1;	/* absent, not a string, or escaped: the tree's way answers */
	name.start++;
	name.end--;
	memcpy(nm, m->text + name.start, name.end - name.start);
	nm[name.end - name.start] = '\0';
	if (router_tool(s->router, nm, &up, &orig) < 0 || !session_allows(s, up, IDENT_TOOLS, orig, NULL))
		return -1;	/* unknown or not this client's: the tree's way waits, audits and answers */
	if ((v[1].end && m->text[v[1].start] != '{') || (meta.end && m->text[meta.start] != '{'))
		return -1;
	if (meta.end && text_token(m, meta, &tok, &tok_at) < 0)
		return -1;

	/* The new params: the name's value (quotes included) replaced by the upstream's name. */
	char *q = jsonrpc_quote(orig, &qlen);
	size_t ns = name.start - 1 - p.start, ne = name.end + 1 - p.start, plen = p.end - p.start;
	size_t nlen = ns + qlen + (plen - ne);
	char *np = q ? malloc(nlen + 1) : NULL;
	if (np == NULL) {
		free(q);
		json_decref(tok);
		return -1;
	}
	memcpy(np, m->text + p.start, ns);
	memcpy(np + ns, q, qlen);
	memcpy(np + ns + qlen, m->text + p.start + ne, plen - ne);
	np[nlen] = '\0';
	free(q);
	struct forward f = { .id = id, .method = "tools/call", .up = up, .params_text = np,
		.params_len = nlen, .tool = nm, .client_token = tok };
	if (tok_at.end > tok_at.start) {	/* in np's coordinates */
		size_t a = tok_at.start - p.start, b = tok_at.end - p.start;
		if (a >= ne) {
			a = a - ne + ns + qlen;
			b = b - ne + ns + qlen;
		}
		f.token.start = a;
		f.token.end = b;
	}
	f.id_text = m->text + m->f.id.start;
	f.id_len = m->f.id.end - m->f.id.start;
	session_forward(s, &f);
	json_decref(tok);
	return 0;
}

static void
handle_tools_call(struct session *s, struct msg *msg, json_t *id)
{
	struct jsonrpc_msg *m;
	const char *name;
	json_t *args;
	struct upstream *up;
	const char *orig;

	if (tools_call_text(s, msg, id) == 0)
		return;
	if (msg_parse(msg) < 0) {
		/* the scan accepts a subset of what the parser does: only memory can fail it */
		session_emit_oom(s, msg->text + msg->f.id.start, msg->f.id.end - msg->f.id.start);
		return;
	}
	m = &msg->rpc;
	name = json_string_value(json_object_get(m->params, "name"));
	args = json_object_get(m->params, "arguments");
	if (!json_is_object(m->params) || name == NULL || (args && !json_is_object(args))) {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "tools/call needs name (string) and arguments (object)");
		return;
	}
	if (router_tool(s->router, name, &up, &orig) < 0) {
		const char *server, *why;
		if (maybe_defer(s, m, UPSTREAM_TOOLS, 0))
			return;		/* its server may still be starting */
		if ((why = router_hidden_reason(s->router, name, &server)) != NULL) {
			log_info(server, "refused a call to hidden tool %.200s (%s)", name, why);
			session_audit(s, "denied", json_pack("{ssssssss}", "tool", name, "server", server,
			    "rule", why, "outcome", "refused as an unknown tool"));
		} else
			session_audit(s, "denied", json_pack("{ssss}", "tool", name, "rule", "no such tool"));
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "Unknown tool: %.200s", name);
		return;
	}
	const char *rule = NULL;
	if (!session_allows(s, up, IDENT_TOOLS, orig, &rule)) {
		/* Hidden from this client: refused as any hidden tool is, the rule in the audit log. */
		log_info(upstream_name(up), "refused a call to tool %.200s hidden from %s (gateway.clients.%s)",
		    name, ident_label(s->ident), rule);
		char *why = NULL;
		if (asprintf(&why, "gateway.clients.%s", rule) < 0)
			why = NULL;
		session_audit(s, "denied", json_pack("{ssssssss}", "tool", name, "server", upstream_name(up),
		    "rule", why ? why : "gateway.clients", "outcome", "refused as an unknown tool"));
		free(why);
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "Unknown tool: %.200s", name);
		return;
	}
	json_t *params = json_deep_copy(m->params);
	json_object_set_new(params, "name", json_string(orig));
	struct forward f = { .id = m->id, .method = m->method, .up = up, .params = params, .tool = name,
		.client_token = json_object_get(json_object_get(m->params, "_meta"), "progressToken") };
	session_forward(s, &f);
}

static void
handle_prompts_get(struct session *s, struct jsonrpc_msg *m)
{
	const char *name = json_string_value(json_object_get(m->params, "name"));
	struct upstream *up;
	const char *orig;
	if (name == NULL) {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "prompts/get needs name (string)");
		return;
	}
	if (router_prompt(s->router, name, &up, &orig) < 0 || !session_allows(s, up, IDENT_PROMPTS, orig, NULL)) {
		if (maybe_defer(s, m, UPSTREAM_PROMPTS, 0))
			return;
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "Unknown prompt: %.200s", name);
		return;
	}
	json_t *params = json_deep_copy(m->params);
	json_object_set_new(params, "name", json_string(orig));
	struct forward f = { .id = m->id, .method = m->method, .up = up, .params = params,
		.client_token = json_object_get(json_object_get(m->params, "_meta"), "progressToken") };
	session_forward(s, &f);
}

static void
handle_resource(struct session *s, struct jsonrpc_msg *m)
{
	const char *uri = json_string_value(json_object_get(m->params, "uri"));
	struct upstream *up;
	char *orig = NULL;
	/* 2026-07-28 made resource-not-found -32602 and forbids -32002 to its clients. */
	int not_found = s->cur && s->cur->modern ? JSONRPC_INVALID_PARAMS : -32002;
	if (uri == NULL) {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "%s needs uri (string)", m->method);
		return;
	}
	if (router_uri(s->router, uri, &up, &orig) == 0 && !session_allows(s, up, IDENT_RESOURCES, orig, NULL)) {
		free(orig);
		orig = NULL;
		session_send(s, jsonrpc_error(m->id, not_found, "Resource not found",
		    json_pack("{ss}", "uri", uri)));
		return;
	}
	if (orig == NULL) {
		if (maybe_defer(s, m, UPSTREAM_RESOURCES, 0))
			return;
		session_send(s, jsonrpc_error(m->id, not_found, "Resource not found",
		    json_pack("{ss}", "uri", uri)));
		return;
	}
	json_t *params = json_deep_copy(m->params);
	json_object_set_new(params, "uri", json_string(orig));
	if (strcmp(m->method, "resources/subscribe") == 0) {
		struct sub *sb = hmap_get(s->subs, uri);
		if (sb == NULL && (sb = calloc(1, sizeof *sb)) != NULL) {
			sb->up = up;
			if ((sb->orig = strdup(orig)) == NULL || hmap_put(s->subs, uri, sb) < 0) {
				free(sb->orig);	/* out of memory: forwarded, not renewed after a restart */
				free(sb);
			}
		}
	} else if (strcmp(m->method, "resources/unsubscribe") == 0) {
		struct sub *sb = hmap_del(s->subs, uri);
		if (sb) {
			free(sb->orig);
			free(sb);
		}
	}
	struct forward f = { .id = m->id, .method = m->method, .up = up, .params = params,
		.exposed_uri = uri, .orig_uri = orig,
		.client_token = json_object_get(json_object_get(m->params, "_meta"), "progressToken") };
	session_forward(s, &f);
	free(orig);
}

struct resub_ctx {
	struct upstream *up;
	int n;
};

static void
resubscribe_fn(const char *key, void *val, void *arg)
{
	struct sub *sb = val;
	struct resub_ctx *r = arg;
	if (sb->up != r->up)
		return;
	struct upstream_req req = { .method = "resources/subscribe", .params = json_pack("{ss}", "uri", sb->orig) };
	upstream_call(r->up, &req, NULL, NULL, NULL);
	r->n++;
}

static void
handle_complete(struct session *s, struct jsonrpc_msg *m)
{
	json_t *ref = json_object_get(m->params, "ref");
	const char *type = json_string_value(json_object_get(ref, "type"));
	struct upstream *up;
	json_t *params;

	if (type && strcmp(type, "ref/prompt") == 0) {
		const char *name = json_string_value(json_object_get(ref, "name")), *orig;
		if (name == NULL || router_prompt(s->router, name, &up, &orig) < 0 ||
		    !session_allows(s, up, IDENT_PROMPTS, orig, NULL)) {
			if (name && maybe_defer(s, m, UPSTREAM_PROMPTS, 0))
				return;
			session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "Unknown prompt: %.200s", name ? name : "");
			return;
		}
		params = json_deep_copy(m->params);
		json_object_set_new(json_object_get(params, "ref"), "name", json_string(orig));
	} else if (type && strcmp(type, "ref/resource") == 0) {
		const char *uri = json_string_value(json_object_get(ref, "uri"));
		char *orig = NULL;
		if (uri != NULL && router_uri(s->router, uri, &up, &orig) == 0 &&
		    !session_allows(s, up, IDENT_RESOURCES, orig, NULL)) {
			free(orig);
			session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "Unknown resource: %.200s", uri);
			return;
		}
		if (orig == NULL) {
			if (uri && maybe_defer(s, m, UPSTREAM_RESOURCES, 0))
				return;
			session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "Unknown resource: %.200s", uri ? uri : "");
			return;
		}
		params = json_deep_copy(m->params);
		json_object_set_new(json_object_get(params, "ref"), "uri", json_string(orig));
		free(orig);
	} else {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "completion/complete needs ref of type ref/prompt or ref/resource");
		return;
	}
	struct forward f = { .id = m->id, .method = m->method, .up = up, .params = params,
		.client_token = json_object_get(json_object_get(m->params, "_meta"), "progressToken") };
	session_forward(s, &f);
}

const char *const session_log_levels[] = { "debug", "info", "notice", "warning", "error",
	"critical", "alert", "emergency", NULL };

static int
level_index(const char *level)
{
	for (int i = 0; level && session_log_levels[i]; i++)
		if (strcmp(level, session_log_levels[i]) == 0)
			return i;
	return -1;
}

int
session_log_level(const struct session *s)
{
	return s->log_level;
}

static void
handle_set_level(struct session *s, struct jsonrpc_msg *m)
{
	const char *level = json_string_value(json_object_get(m->params, "level"));
	for (int i = 0; level && session_log_levels[i]; i++)
		if (strcmp(level, session_log_levels[i]) == 0) {
			s->log_level = i;
			gateway_log_level(s->gw, s, level);
			session_answer(s, m->id, json_object());
			return;
		}
	session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "level must be one of debug, info, notice, warning, error, critical, alert, emergency");
}

static void
handle_cancelled(struct session *s, struct jsonrpc_msg *m)
{
	json_t *rid = json_object_get(m->params, "requestId");
	char key[96];
	struct call *c;
	struct listen *l;
	if (!json_is_integer(rid) && !json_is_string(rid))
		return;
	session_id_key(rid, key, sizeof key);
	if ((l = hmap_del(s->listens, key)) != NULL) {
		/* A listen stream ends by cancellation: no answer (2026-07-28 cancellation). */
		log_debug("client", "subscriptions/listen %s cancelled", l->id_text);
		session_modern_listen_end(s, l);
		return;
	}
	if ((c = hmap_get(s->calls, key)) == NULL)
		return;		/* unknown or already answered: ignored, as the specification says */
	if (c->st == CALL_SENT) {
		const char *reason = json_string_value(json_object_get(m->params, "reason"));
		upstream_cancel(c->up, c->upid, reason);
	}	/* CALL_INPUT: the server is done with it; session_call_finish withdraws the requests to the client */
	if (c->tool)
		session_audit(s, "call", json_pack("{ssssss}", "tool", c->tool, "server", upstream_name(c->up),
		    "outcome", "cancelled"));
	c->ok = 1;	/* the client's choice, not the server's failure */
	session_call_finish(c);
}

static void
handle_client_response(struct session *s, struct jsonrpc_msg *m)
{
	char key[96];
	struct sreq *r;
	session_id_key(m->id, key, sizeof key);
	if ((r = hmap_del(s->sreqs, key)) == NULL) {
		log_debug("client", "response to an unknown request dropped");
		return;
	}
	if (r->signin) {		/* issue 4: our own elicitation */
		free(r);
		signin_prompts_answer(s->signin, key, m->msg);
		return;
	}
	if (r->call) {			/* issue 12: part of a modern server's input round */
		session_convert_client_answer(s, r, m);
		return;
	}
	json_t *out = json_deep_copy(m->msg);
	json_object_set(out, "id", r->up_id);
	upstream_respond(r->up, out);
	json_decref(r->up_id);
	free(r);
}

static void
implicit_init(struct session *s, struct jsonrpc_msg *m)
{
	/* A client that skips initialize (stateless 2026-07-28 clients send their capabilities in
	 * every request's _meta) still gets served. */
	json_t *meta = json_object_get(m->params, "_meta");
	json_t *caps = json_object_get(meta, "io.modelcontextprotocol/clientCapabilities");
	s->initialized = 1;
	s->implicit = 1;
	snprintf(s->version, sizeof s->version, "%s", session_supported_versions[0]);
	s->client_caps = json_is_object(caps) ? json_deep_copy(caps) : json_object();
	gateway_client_caps(s->gw, s, s->client_caps);
}

static void
handle_notification(struct session *s, struct jsonrpc_msg *m)
{
	const char *method = m->method;
	if (strcmp(method, "notifications/cancelled") == 0)
		handle_cancelled(s, m);
	else if (strcmp(method, "notifications/roots/list_changed") == 0) {
		for (size_t i = 0; i < router_count(s->router); i++) {
			struct upstream *up = router_upstream(s->router, i);
			if (upstream_state(up) == UPSTREAM_READY)
				upstream_notify(up, method, NULL);
		}
	}
	/* notifications/initialized and anything else: nothing to do. */
}

static void session_batch(struct session *, struct jsonrpc_msg *);

static int
span_is(const struct msg *m, struct jsonfast_span sp, const char *word)
{
	size_t n = strlen(word);
	return sp.end - sp.start == n && memcmp(m->text + sp.start, word, n) == 0;
}

/* The one dispatcher: every message of the client comes here once. A plain tools/call (what the
 * scan could read whole) goes on from its spans without a tree; everything else is parsed. The
 * checks every request gets (its id not in use, draining, the handshake) are made here, once. */
static void
session_dispatch(struct session *s, struct msg *msg)
{
	struct jsonrpc_msg *m = &msg->rpc;
	int text = msg->f.kind == JSONFAST_REQUEST && span_is(msg, msg->f.method, "tools/call");
	const char *method;
	json_t *id;
	const struct modern_req *saved = s->cur;
	const char *saved_method = s->cur_method;
	struct modern_req mr = { .log_level = -1 };
	int rc;

	if (!text) {
		if (msg_parse(msg) < 0) {
			if (m->err_code == JSONRPC_INTERNAL_ERROR && m->id == NULL) {
				/* out of memory before the id was read: the scan may have it */
				if (msg->f.kind == JSONFAST_REQUEST)
					session_emit_oom(s, msg->text + msg->f.id.start,
					    msg->f.id.end - msg->f.id.start);
				else
					log_warn("client", "out of memory: a message from the client dropped");
				return;
			}
			log_debug("client", "invalid message: %s", m->err_msg);
			/* A notification is never answered, not even with an error. */
			if (!(m->err_code == JSONRPC_INVALID_PARAMS && m->id == NULL))
				session_send(s, jsonrpc_error(m->id, m->err_code, m->err_msg, NULL));
			return;
		}
		if (m->kind == JSONRPC_BATCH) {
			session_batch(s, m);
			return;
		}
		if (m->kind == JSONRPC_RESPONSE) {
			handle_client_response(s, m);
			return;
		}
		if (m->kind == JSONRPC_NOTIFICATION) {
			handle_notification(s, m);
			return;
		}
	}
	/* A string id the scan accepted has no escape: its text between the quotes is its value. */
	id = !text ? json_incref(m->id) : msg->f.id_is_int ? json_integer(msg->f.id_int) :
	    json_stringn(msg->text + msg->f.id.start + 1, msg->f.id.end - msg->f.id.start - 2);
	method = text ? "tools/call" : m->method;
	if (id == NULL && text) {	/* out of memory */
		session_emit_oom(s, msg->text + msg->f.id.start, msg->f.id.end - msg->f.id.start);
		return;
	}
	if (id_in_use(s, id)) {
		session_send_error(s, id, JSONRPC_INVALID_REQUEST, "request id is already in use by a request in flight");
		goto out;
	}
	if (s->draining && strcmp(method, "ping") != 0) {
		session_send_error(s, id, JSONRPC_SERVER_ERROR, "the gateway is shutting down");
		goto out;
	}
	if (strcmp(method, "initialize") == 0) {
		handle_initialize(s, m);
		goto out;
	}
	/* Issue 12: a request of the stateless revision is known by its _meta. A tools/call read
	 * from its text is parsed only when its text names a per-request key.
	 * gateway.protocol: legacy serves every client as a legacy server would (server/discover is
	 * an unknown method, _meta is only metadata). */
	if (!gateway_config(s->gw)->legacy_only &&
	    (!text || memmem(msg->text, msg->len, "io.modelcontextprotocol/", 24) != NULL)) {
		json_t *bad = NULL;
		if (text && msg_parse(msg) < 0)
			goto out;	/* cannot be: the scan accepts a subset of what the parser does */
		rc = modern_read(id, m->params, strcmp(method, "server/discover") == 0, &mr, &bad);
		if (rc < 0) {
			log_debug("client", "%s refused: %s", method,
			    json_string_value(json_object_get(json_object_get(bad, "error"), "message")));
			session_send(s, bad);
			goto out;
		}
	}
	if (mr.modern) {
		/* Removed by 2026-07-28 (ping, logging/setLevel: the log level is per request;
		 * resources/subscribe: subscriptions/listen): unknown methods to a modern client. */
		if (strcmp(method, "ping") == 0 || strcmp(method, "logging/setLevel") == 0 ||
		    strcmp(method, "resources/subscribe") == 0 || strcmp(method, "resources/unsubscribe") == 0) {
			session_send_error(s, id, JSONRPC_METHOD_NOT_FOUND, "Method not found: %s was removed in %s",
			    method, MODERN_VERSION);
			goto out;
		}
		s->cur = &mr;
		s->cur_method = method;
		/* Stateless: a probe leaves the connection as it was (a client that falls back to
		 * initialize does its handshake with its own capabilities). */
		if (strcmp(method, "server/discover") == 0) {
			session_modern_handle_discover(s, id);
			goto out;
		}
		session_modern_begin(s, &mr);
		if (strcmp(method, "subscriptions/listen") == 0) {
			session_modern_handle_listen(s, m, id);
			goto out;
		}
	}
	if (strcmp(method, "ping") == 0) {
		session_answer(s, id, json_object());
		goto out;
	}
	if (!s->initialized) {
		if (msg_parse(msg) < 0) {	/* the text path: only memory can fail it */
			session_emit_oom(s, msg->text + msg->f.id.start, msg->f.id.end - msg->f.id.start);
			goto out;
		}
		implicit_init(s, m);
	}
	if (mr.modern && session_convert_resume(s, msg))
		goto out;	/* a retry that resumes a held server request (issue 12) */
	if (strcmp(method, "tools/list") == 0)
		handle_list(s, m, UPSTREAM_TOOLS);
	else if (strcmp(method, "tools/call") == 0)
		handle_tools_call(s, msg, id);
	else if (strcmp(method, "prompts/list") == 0)
		handle_list(s, m, UPSTREAM_PROMPTS);
	else if (strcmp(method, "prompts/get") == 0)
		handle_prompts_get(s, m);
	else if (strcmp(method, "resources/list") == 0)
		handle_list(s, m, UPSTREAM_RESOURCES);
	else if (strcmp(method, "resources/templates/list") == 0)
		handle_list(s, m, UPSTREAM_TEMPLATES);
	else if (strcmp(method, "resources/read") == 0 || strcmp(method, "resources/subscribe") == 0 ||
	    strcmp(method, "resources/unsubscribe") == 0)
		handle_resource(s, m);
	else if (strcmp(method, "completion/complete") == 0)
		handle_complete(s, m);
	else if (strcmp(method, "logging/setLevel") == 0)
		handle_set_level(s, m);
	else
		session_send_error(s, id, JSONRPC_METHOD_NOT_FOUND, "Method not found: %.100s", method);
out:
	s->cur = saved;
	s->cur_method = saved_method;
	json_decref(id);
}

/* Batches exist only in 2025-03-26; each member is answered on its own line. */
static void
session_batch(struct session *s, struct jsonrpc_msg *m)
{
	size_t i;
	json_t *el;
	if (strcmp(s->version, "2025-03-26") != 0) {
		session_send(s, jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST,
		    "batches are not supported in this protocol version", NULL));
		return;
	}
	json_array_foreach(m->msg, i, el) {
		struct msg *em = msg_of_tree(json_incref(el));
		if (em == NULL)
			continue;
		if (em->parsed < 0)
			session_send(s, jsonrpc_error(em->rpc.id, em->rpc.err_code, em->rpc.err_msg, NULL));
		else
			session_dispatch(s, em);
		msg_free(em);
	}
}

void
session_line(struct session *s, char *line, size_t len)
{
	struct msg *m;
	if (len == 0) {
		free(line);
		return;
	}
	if ((m = msg_take(line, len)) == NULL) {
		struct jsonfast f;

		/* out of memory: a request still gets its answer, from its text */
		if (jsonfast_check(line, len, &f) == JSONFAST_REQUEST)
			session_emit_oom(s, line + f.id.start, f.id.end - f.id.start);
		else
			log_warn("client", "out of memory: a message from the client dropped");
		free(line);
		return;
	}
	session_dispatch(s, m);
	msg_free(m);
}

/* ---- from the router ---- */

/* The list_changed a listen stream asked for (a list unchanged since the client last read it is
 * not news; one it never read is). */
static void
listens_list_changed(struct session *s, unsigned which)
{
	size_t n;
	struct listen **v;

	if (hmap_count(s->listens) == 0)
		return;
	for (unsigned l = UPSTREAM_TOOLS; l <= UPSTREAM_TEMPLATES; l <<= 1) {
		json_t *seen = s->answered[kind_slot(l)];
		unsigned long gen;
		if ((which & l) && seen != NULL && json_equal(seen, session_view(s, l, &gen)))
			which &= ~l;
	}
	if (which == 0 || (v = session_modern_listens_all(s, &n)) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned w = which & v[i]->which;
		if (w & UPSTREAM_TOOLS)
			session_modern_listen_send(s, v[i], "notifications/tools/list_changed", NULL);
		if (w & UPSTREAM_PROMPTS)
			session_modern_listen_send(s, v[i], "notifications/prompts/list_changed", NULL);
		if (w & (UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES))
			session_modern_listen_send(s, v[i], "notifications/resources/list_changed", NULL);
	}
	free(v);
}

void
session_list_changed(struct session *s, unsigned which)
{
	listens_list_changed(s, which);
	/* A modern client hears of changes only on the listen streams it opened. */
	if (!s->initialized || s->modern)
		return;
	/* Only lists the client has seen, and only when what it saw is out of date. */
	for (unsigned l = UPSTREAM_TOOLS; l <= UPSTREAM_TEMPLATES; l <<= 1) {
		json_t *seen = s->answered[kind_slot(l)];
		unsigned long gen;
		if ((which & l) && (seen == NULL || json_equal(seen, session_view(s, l, &gen))))
			which &= ~l;
	}
	if (which & UPSTREAM_TOOLS)
		session_send(s, jsonrpc_notification("notifications/tools/list_changed", NULL));
	if (which & UPSTREAM_PROMPTS)
		session_send(s, jsonrpc_notification("notifications/prompts/list_changed", NULL));
	if (which & (UPSTREAM_RESOURCES | UPSTREAM_TEMPLATES))
		session_send(s, jsonrpc_notification("notifications/resources/list_changed", NULL));
}

struct sreq_find_ctx {
	struct upstream *up;
	json_t *id;
	const char *key;
};

static void
sreq_find_fn(const char *key, void *val, void *arg)
{
	struct sreq_find_ctx *f = arg;
	struct sreq *r = val;
	if (r->up == f->up && json_equal(r->up_id, f->id))
		f->key = key;
}

/* Few server-to-client requests are open at once: a scan is enough. */
static const char *
sreq_find(struct session *s, struct upstream *up, json_t *up_id)
{
	struct sreq_find_ctx f = { up, up_id, NULL };
	hmap_foreach(s->sreqs, sreq_find_fn, &f);
	return f.key;
}

void
session_log(struct session *s, struct upstream *up, json_t *params, int allowed)
{
	if (!s->initialized)
		return;
	/* A server hidden from this client (gateway.clients) does not talk to it either. */
	if (s->ident != NULL && !ident_sees_server(s->ident, gateway_config(s->gw), upstream_config(up)->name))
		return;
	if (!allowed) {
		if (!evtimer_pending(s->ev_logdrop, NULL)) {
			struct timeval tv = { 1, 0 };
			(void)evtimer_add(s->ev_logdrop, &tv);	/* failing: the count waits for the next drop */
		}
		return;
	}
	/* The level this client asked for: the server may have been given a lower one for another
	 * session's sake. */
	int lvl = level_index(json_string_value(json_object_get(params, "level")));
	if (s->modern) {
		/* 2026-07-28: a log message only for the request that asked, at its level, before its
		 * answer; with no such request in flight (or several, which one is unknown) none. */
		struct call *c = only_call(s, up);
		if (c == NULL || !c->modern || c->log_level < 0 || (lvl >= 0 && lvl < c->log_level))
			return;
	} else if (s->log_level >= 0 && lvl >= 0 && lvl < s->log_level)
		return;
	json_t *p = json_is_object(params) ? json_deep_copy(params) : json_object();
	const char *logger = json_string_value(json_object_get(p, "logger"));
	char *l, *rel = related_call(s, up);
	if (asprintf(&l, "%s%s%s", upstream_name(up), logger ? "/" : "", logger ? logger : "") >= 0) {
		json_object_set_new(p, "logger", json_string(l));
		free(l);
	}
	session_send_related(s, jsonrpc_notification("notifications/message", p), rel);
	free(rel);
}

void
session_notification(struct session *s, struct upstream *up, const char *method, json_t *params)
{
	if (!s->initialized && hmap_count(s->listens) == 0)
		return;
	if (strcmp(method, "notifications/resources/updated") == 0) {
		const char *uri = json_string_value(json_object_get(params, "uri"));
		char *exp;
		if (uri == NULL || !router_resource_allowed(s->router, up, uri) ||
		    !session_allows(s, up, IDENT_RESOURCES, uri, NULL) ||
		    (exp = router_expose_uri(s->router, up, uri)) == NULL)
			return;
		size_t n;
		struct listen **v = hmap_count(s->listens) ? session_modern_listens_all(s, &n) : NULL;
		for (size_t i = 0; v && i < n; i++)
			if (session_modern_listen_has_uri(v[i], exp)) {
				json_t *p = json_deep_copy(params);
				json_object_set_new(p, "uri", json_string(exp));
				session_modern_listen_send(s, v[i], method, p);
			}
		free(v);
		if (!s->modern) {
			json_t *p = json_deep_copy(params);
			json_object_set_new(p, "uri", json_string(exp));
			session_send(s, jsonrpc_notification(method, p));
		}
		free(exp);
	} else if (strcmp(method, "notifications/cancelled") == 0) {
		json_t *rid = json_object_get(params, "requestId");
		const char *key = rid ? sreq_find(s, up, rid) : NULL;
		struct sreq *r;
		if (key == NULL)
			return;
		json_t *p = json_deep_copy(params);
		json_object_set_new(p, "requestId", json_integer(strtoll(key + 2, NULL, 10)));
		r = hmap_del(s->sreqs, key);
		json_decref(r->up_id);
		free(r);
		session_send(s, jsonrpc_notification(method, p));
	} else if (strcmp(method, "notifications/elicitation/complete") == 0) {
		if (!s->modern)		/* removed by 2026-07-28 */
			session_send(s, jsonrpc_notification(method, json_deep_copy(params)));
	} else
		log_debug(upstream_name(up), "notification %s not forwarded", method);
}

void
session_request(struct session *s, struct upstream *up, json_t *msg)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *params = json_object_get(msg, "params"), *id = json_object_get(msg, "id");
	const char *cap = NULL;
	json_t *ccap;
	char key[96];

	/* A modern request's capabilities are its own: one that lacks what the server asks for ends
	 * with -32021 naming it, and the server's request is refused. (With the capability, the
	 * conversion into an input_required result is the mrtr part of issue 12.) */
	struct call *mc = only_call(s, up);
	if (mc && mc->modern) {
		json_t *missing = modern_missing_caps(method, params, mc->caps);
		if (missing) {
			upstream_respond(up, jsonrpc_error(id, JSONRPC_METHOD_NOT_FOUND,
			    "Method not found: the client does not support this request", NULL));
			log_info(upstream_name(up), "%s refused: the client's request did not declare the capability",
			    method);
			if (mc->st == CALL_SENT)
				upstream_cancel(mc->up, mc->upid, "the client lacks a capability the server needs");
			session_send(s, jsonrpc_error(mc->client_id, MODERN_MISSING_CAPABILITY,
			    "Missing required client capability", json_pack("{so}", "requiredCapabilities", missing)));
			session_audit_call(mc, NULL, "error");
			mc->ok = 1;	/* the client's side, not the server's failure */
			session_call_finish(mc);
			return;
		}
		/* With it: an input_required result for the client, the server's request held. */
		session_convert_hold(s, up, msg, mc);
		return;
	} else if (s->modern) {
		/* A modern client takes no request of a server's outside one of its own requests. */
		upstream_respond(up, jsonrpc_error(id, JSONRPC_METHOD_NOT_FOUND,
		    "Method not found: no single 2026-07-28 request of the client in flight at this server", NULL));
		return;
	}
	if (strcmp(method, "sampling/createMessage") == 0)
		cap = "sampling";
	else if (strcmp(method, "elicitation/create") == 0)
		cap = "elicitation";
	else if (strcmp(method, "roots/list") == 0)
		cap = "roots";
	ccap = cap ? json_object_get(s->client_caps, cap) : NULL;
	if (mc && mc->modern && cap)
		ccap = json_object_get(mc->caps, cap);
	if (ccap && strcmp(cap, "elicitation") == 0) {
		const char *mode = json_string_value(json_object_get(params, "mode"));
		/* An empty elicitation capability means form only. */
		if (mode && strcmp(mode, "url") == 0 && !json_object_get(ccap, "url"))
			ccap = NULL;
	}
	if (ccap == NULL || hmap_count(s->sreqs) >= SESSION_MAX_SREQS) {
		upstream_respond(up, jsonrpc_error(id, JSONRPC_METHOD_NOT_FOUND,
		    ccap ? "too many requests to the client in flight" :
		    "Method not found: the client does not support this request", NULL));
		return;
	}
	struct sreq *r = calloc(1, sizeof *r);
	uint64_t gid = ++s->next_sreq;
	json_t *jgid = json_integer((json_int_t)gid);
	if (jgid)
		session_id_key(jgid, key, sizeof key);
	if (r == NULL || jgid == NULL || hmap_put(s->sreqs, key, r) < 0) {
		free(r);
		json_decref(jgid);
		upstream_respond(up, jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, "out of memory", NULL));
		return;
	}
	r->up = up;
	r->up_id = json_incref(id);
	char *rel = related_call(s, up);
	session_send_related(s, jsonrpc_request(jgid, method, params ? json_deep_copy(params) : NULL), rel);
	free(rel);
	json_decref(jgid);
}

void
session_state(struct session *s, struct upstream *up, enum upstream_state old)
{
	enum upstream_state st = upstream_state(up);
	struct call *c, *next;

	if (st == UPSTREAM_READY && hmap_count(s->subs) > 0) {
		/* A restarted server, or a remote one with a renewed session (old == READY), has
		 * forgotten the client's subscriptions: renew them. */
		struct resub_ctx r = { up, 0 };
		hmap_foreach(s->subs, resubscribe_fn, &r);
		if (r.n)
			log_info(upstream_name(up), "renewed %d resource subscription%s", r.n, r.n == 1 ? "" : "s");
	}
	if (st == UPSTREAM_READY || st == UPSTREAM_FAILED || st == UPSTREAM_SIGNIN) {
		for (c = TAILQ_FIRST(&s->waiting); c; c = next) {
			next = TAILQ_NEXT(c, wait_link);
			if (c->up != up)
				continue;
			if (st == UPSTREAM_READY)
				call_send(c);
			else if (st == UPSTREAM_SIGNIN)
				call_fail_signin(c);
			else
				call_fail_unavailable(c);
		}
	}
	if (st == UPSTREAM_SIGNIN && old != UPSTREAM_SIGNIN)
		prompt_start(s, up);	/* issue 4: ask at once where the client can be asked */
	if (!TAILQ_EMPTY(&s->deferred))
		run_deferred(s, 0);
}

/* Once a second while a server floods: one warning to the client per server that lost messages. */
static void
logdrop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int again = 0;
	for (size_t i = 0; i < router_count(s->router); i++) {
		struct upstream *up = router_upstream(s->router, i);
		unsigned long n = upstream_log_take_dropped(up);
		char text[200];
		if (n == 0)
			continue;
		again = 1;
		if (s->modern)
			continue;	/* 2026-07-28: no log message outside a request that asked */
		snprintf(text, sizeof text, "mcpgw dropped %lu log messages from server '%s' (more than 200 a second)",
		    n, upstream_name(up));
		log_warn(upstream_name(up), "%s", text);
		session_send(s, jsonrpc_notification("notifications/message", json_pack("{ssssss}",
		    "level", "warning", "logger", "mcpgw", "data", text)));
	}
	if (again) {
		struct timeval tv = { 1, 0 };
		(void)evtimer_add(s->ev_logdrop, &tv);	/* failing: the count waits for the next drop */
	}
}

struct session *
session_new(struct gateway *gw, const struct session_io *io)
{
	struct session *s = calloc(1, sizeof *s);
	long startup_wait_ms = gateway_config(gw)->startup_wait_ms;
	if (s == NULL)
		return NULL;
	s->gw = gw;
	s->base = gateway_base(gw);
	s->router = gateway_router(gw);
	s->io = *io;
	s->log_level = -1;
	s->calls = hmap_new();
	s->held = hmap_new();
	s->sreqs = hmap_new();
	s->subs = hmap_new();
	s->listens = hmap_new();
	TAILQ_INIT(&s->waiting);
	TAILQ_INIT(&s->deferred);
	{
		struct signin_client sc = { signin_request, signin_forget, signin_notify, s };
		s->signin = signin_prompts_new(s->base, &sc);
	}
	/* The start-up wait counts from the gateway's start: that is when the servers started. */
	gateway_started(gw, &s->started);
	s->deadline = s->started;
	s->deadline.tv_sec += startup_wait_ms / 1000;
	s->deadline.tv_nsec += (startup_wait_ms % 1000) * 1000000;
	if (s->deadline.tv_nsec >= 1000000000) {
		s->deadline.tv_sec++;
		s->deadline.tv_nsec -= 1000000000;
	}
	s->ev_deadline = evtimer_new(s->base, deadline_cb, s);
	s->ev_logdrop = evtimer_new(s->base, logdrop_cb, s);
	{
		/* What the requestState sealed for this session is bound to (issue 12). */
		unsigned char rnd[16];
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			memset(rnd, 0, sizeof rnd);	/* the identity and the MAC still bind it */
		for (size_t i = 0; i < sizeof rnd; i++)
			snprintf(s->nonce + 2 * i, 3, "%02x", rnd[i]);
	}
	if (!s->calls || !s->held || !s->sreqs || !s->subs || !s->listens || !s->signin || !s->ev_deadline ||
	    !s->ev_logdrop) {
		/* Out of memory: all empty yet, so freed here without session_free's walks. */
		signin_prompts_free(s->signin);
		hmap_free(s->calls);
		hmap_free(s->held);
		hmap_free(s->sreqs);
		hmap_free(s->subs);
		hmap_free(s->listens);
		if (s->ev_deadline)
			event_free(s->ev_deadline);
		if (s->ev_logdrop)
			event_free(s->ev_logdrop);
		free(s);
		return NULL;
	}
	return s;
}

static void
free_call_entry(const char *key, void *val, void *arg)
{
	session_call_free(val);
}

static void
free_sub_entry(const char *key, void *val, void *arg)
{
	struct sub *sb = val;
	free(sb->orig);
	free(sb);
}

static void
free_sreq_entry(const char *key, void *val, void *arg)
{
	struct sreq *r = val;
	json_decref(r->up_id);
	free(r->input_key);
	free(r);
}

static void
free_listen_entry(const char *key, void *val, void *arg)
{
	session_modern_listen_free(val);
}

void
session_free(struct session *s)
{
	struct deferred *d;
	if (s == NULL)
		return;
	signin_prompts_free(s->signin);
	s->signin = NULL;
	session_convert_orphan_held(s);
	/* Calls still in flight belong to upstreams that are gone by now: their callbacks ran. */
	hmap_foreach(s->calls, free_call_entry, NULL);
	hmap_free(s->calls);
	hmap_foreach(s->sreqs, free_sreq_entry, NULL);
	hmap_free(s->sreqs);
	hmap_foreach(s->listens, free_listen_entry, NULL);
	hmap_free(s->listens);
	hmap_foreach(s->subs, free_sub_entry, NULL);
	hmap_free(s->subs);
	while ((d = TAILQ_FIRST(&s->deferred))) {
		TAILQ_REMOVE(&s->deferred, d, link);
		deferred_free(d);
	}
	hmap_free(s->held);
	for (int i = 0; i < 4; i++) {
		json_decref(s->answered[i]);
		json_decref(s->view[i]);
		free(s->list_text[i]);
	}
	ident_free(s->ident);
	event_free(s->ev_deadline);
	event_free(s->ev_logdrop);
	json_decref(s->client_caps);
	free(s);
}

void
session_set_identity(struct session *s, struct ident *id)
{
	ident_free(s->ident);
	s->ident = id;
	if (id)
		log_debug("client", "session of %s", ident_label(id));
}

void
session_rules_changed(struct session *s)
{
	if (s->ident != NULL)
		session_list_changed(s, UPSTREAM_TOOLS | UPSTREAM_PROMPTS | UPSTREAM_RESOURCES |
		    UPSTREAM_TEMPLATES);
}

void
session_drain(struct session *s)
{
	s->draining = 1;
	/* Listen streams end gracefully (their result), so that the client knows it was not a
	 * drop. They never count as busy: they would hold a stop forever. */
	session_modern_listens_close_all(s, 1);
}

size_t
session_busy(const struct session *s)
{
	/* every deferred request is in held, under its own id (a second one is refused) */
	return hmap_count(s->calls) + hmap_count(s->held);
}

struct gone_ctx {
	struct upstream *up;
	struct upstream *(*owner)(void *val);
	char **keys;
	size_t n;
};

static struct upstream *sreq_owner(void *v) { return ((struct sreq *)v)->up; }
static struct upstream *sub_owner(void *v) { return ((struct sub *)v)->up; }

static void
collect_of(const char *key, void *val, void *arg)
{
	struct gone_ctx *g = arg;
	if (g->owner(val) == g->up && (g->keys[g->n] = strdup(key)) != NULL)
		g->n++;
}

/* Removes the map's entries that belong to up; keys are collected first, as the map must not
 * change while it is walked. */
static void
drop_entries_of(struct hmap *map, struct upstream *up, struct upstream *(*owner)(void *),
    void (*free_entry)(const char *, void *, void *))
{
	struct gone_ctx g = { up, owner, calloc(hmap_count(map) + 1, sizeof(char *)), 0 };
	if (g.keys == NULL)
		return;
	hmap_foreach(map, collect_of, &g);
	for (size_t i = 0; i < g.n; i++) {
		void *v = hmap_del(map, g.keys[i]);
		if (v)
			free_entry(g.keys[i], v, NULL);
		free(g.keys[i]);
	}
	free(g.keys);
}

static void free_sreq_entry(const char *key, void *val, void *arg);
static void free_sub_entry(const char *key, void *val, void *arg);

void
session_upstream_gone(struct session *s, struct upstream *up)
{
	struct call *c, *next;

	for (c = TAILQ_FIRST(&s->waiting); c; c = next) {
		next = TAILQ_NEXT(c, wait_link);
		if (c->up == up) {
			session_send_error(s, c->client_id, JSONRPC_SERVER_ERROR,
			    "server '%s' was removed from the configuration", upstream_name(up));
			session_audit_call(c, NULL, "unavailable");
			session_call_finish(c);
		}
	}
	session_convert_upstream_gone(s, up);
	signin_prompts_gone(s->signin, up);
	drop_entries_of(s->sreqs, up, sreq_owner, free_sreq_entry);
	drop_entries_of(s->subs, up, sub_owner, free_sub_entry);
}

int
session_initialized(const struct session *s)
{
	return s->initialized;
}

void
session_end_listens(struct session *s)
{
	session_modern_listens_close_all(s, 1);
}

int
session_modern(const struct session *s)
{
	return s->modern;
}

json_t *
session_modern_caps(const struct session *s, const struct upstream *up)
{
	struct call *c = only_call(s, up);
	return c && c->modern ? c->caps : NULL;
}

struct at_ctx {
	const struct upstream *up;
	const char *uri;
	int found;
};

static void
call_at_fn(const char *key, void *val, void *arg)
{
	struct call *c = val;
	struct at_ctx *a = arg;
	if (c->up == a->up && c->st == CALL_SENT)
		a->found = 1;
}

struct only_ctx {
	const struct upstream *up;
	const struct call *only;
	int n;
};

static void
only_call_fn(const char *key, void *val, void *arg)
{
	struct call *c = val;
	struct only_ctx *a = arg;
	if (c->up == a->up && c->st == CALL_SENT) {
		a->n++;
		a->only = c;
	}
}

/* The session's one call in flight at up; NULL when it has none or several there (then nothing
 * tells which of them a server's message is about). */
static struct call *
only_call(const struct session *s, const struct upstream *up)
{
	struct only_ctx a = { up, NULL, 0 };
	hmap_foreach(s->calls, only_call_fn, &a);
	return a.n == 1 ? (struct call *)a.only : NULL;
}

/* The id (JSON text, new string) of the session's one call in flight at up (only_call). */
static char *
related_call(const struct session *s, const struct upstream *up)
{
	struct only_ctx a = { up, NULL, 0 };
	hmap_foreach(s->calls, only_call_fn, &a);
	if (a.n != 1)
		return NULL;
	if (a.only->client_id_text)
		return strdup(a.only->client_id_text);
	return a.only->client_id ? json_dumps(a.only->client_id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* session_send for a message about one of the client's requests (session_io.send_related). */
void
session_send_related(struct session *s, json_t *msg, const char *related)
{
	size_t len;
	char *buf;

	if (msg == NULL)
		return;		/* out of memory building it */
	if (related == NULL || s->io.send_related == NULL) {
		session_send(s, msg);
		return;
	}
	buf = jsonrpc_dump(msg, &len);
	json_decref(msg);
	if (buf) {
		s->io.send_related(s->io.arg, buf, len, related);
		free(buf);
	}
	if (s->draining && session_busy(s) == 0)
		gateway_session_quiet(s->gw);
}

int
session_calls_at(const struct session *s, const struct upstream *up)
{
	struct at_ctx a = { up, NULL, 0 };
	hmap_foreach(s->calls, call_at_fn, &a);
	return a.found;
}

static void
sub_at_fn(const char *key, void *val, void *arg)
{
	struct sub *sb = val;
	struct at_ctx *a = arg;
	if (sb->up == a->up && strcmp(sb->orig, a->uri) == 0)
		a->found = 1;
}

/* Subscribed to that upstream URI. A server that sends updates for a URI nobody subscribed to is
 * heard by every session that subscribed to anything of it (as before sessions had their own
 * subscriptions, it was heard by the one client). */
int
session_subscribed(const struct session *s, const struct upstream *up, const char *uri)
{
	struct at_ctx a = { up, uri, 0 };
	if (!s->initialized && hmap_count(s->listens) == 0)
		return 0;
	hmap_foreach(s->subs, sub_at_fn, &a);
	return a.found;
}

static void
cancel_call_fn(const char *key, void *val, void *arg)
{
	struct call *c = val;
	if (c->st == CALL_SENT && c->up && c->upid)
		upstream_cancel(c->up, c->upid, "the client went away");
}

static void
refuse_sreq_fn(const char *key, void *val, void *arg)
{
	struct sreq *r = val;
	if (r->up && r->up_id)
		upstream_respond(r->up, jsonrpc_error(r->up_id, JSONRPC_SERVER_ERROR,
		    "the client went away", NULL));
}

void
session_cancel_all(struct session *s)
{
	hmap_foreach(s->calls, cancel_call_fn, NULL);
	hmap_foreach(s->sreqs, refuse_sreq_fn, NULL);
}
