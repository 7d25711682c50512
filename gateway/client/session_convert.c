/* session_convert.c: owns a session's conversion between generations (issue 12; the pure parts
 * are route/convert.c): a modern server's input_required rounds behind a legacy client, and a
 * legacy server's requests held for a modern client's retry.
 *
 * A modern (2026-07-28) server's input_required behind a legacy client: each input request is
 * sent to the client as a real request; with every answer in, the call is retried upstream with
 * a new id, the original params, inputResponses and the server's requestState untouched. A legacy
 * server's request behind a modern client: the client's call is answered input_required with a
 * requestState the gateway seals; the server's request is held until the client's retry, which
 * answers it and takes over the call. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "session_int.h"

/* Every held call of the process by its number ("p:N"): a retry may come in another session than
 * the one that was answered input_required, and that one may be gone (a 2026-07-28 HTTP request is
 * a session of its own). One thread runs every gateway of a process (mcpgw.h). */
static struct hmap *held_calls;
static uint64_t held_next;

static int
upstream_modern(const struct upstream *up)
{
	const char *era = upstream_era(up);
	return era != NULL && strcmp(era, "modern") == 0;
}

/* A legacy client's call to a modern server may need a retry: its params are kept (the text path
 * gives them away when sent). Nothing is kept for any other call. */
void
session_convert_keep_params(struct call *c)
{
	json_t *p = NULL;
	if (c->rounds || c->modern || !convert_mrtr_method(c->method) || !upstream_modern(c->up))
		return;
	if (c->params)
		p = json_incref(c->params);
	else if (c->params_text)
		p = json_loadb(c->params_text, c->params_len, 0, NULL);
	/* Out of memory: no rounds, and an input_required result reaches the client as it is. */
	c->rounds = convert_rounds_new(p);
	json_decref(p);
}

static void
mrtr_fail(struct call *c, int code, const char *why)
{
	session_send_error(c->s, c->client_id, code, "server '%s': %s", upstream_name(c->up), why);
	session_audit_call(c, NULL, "refused");
	session_call_finish(c);
}

static void
mrtr_retry(struct call *c)
{
	static const struct upstream_call_cbs cbs = { session_call_reply_cb, session_call_progress_cb };
	struct upstream_req req = { .method = c->method, .params = convert_rounds_retry(c->rounds),
		.progress = c->client_token != NULL };
	if (req.params == NULL) {
		mrtr_fail(c, JSONRPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	session_call_set_state(c, CALL_SENT);
	if (upstream_call(c->up, &req, &cbs, c, &c->upid) < 0)
		mrtr_fail(c, JSONRPC_SERVER_ERROR, "the server cannot take the retry of an input_required "
		    "round now (not ready, or too many requests in flight)");
}

/* A reply to a call that may be a round: 1 when taken here. */
int
session_convert_reply(struct call *c, struct msg *r)
{
	struct session *s = c->s;
	json_t *res;
	char err[400];
	int n;

	if (c->st == CALL_HELD) {
		/* The server ended the call while its request waited for the client's retry: the
		 * client was answered already (input_required), so nobody is left to tell. */
		log_info(upstream_name(c->up), "call %s ended while its request to the client was held; "
		    "the result is dropped", c->key);
		c->ok = 1;
		session_call_finish(c);
		return 1;
	}
	res = json_object_get(msg_tree(r), "result");
	if (!convert_is_input_required(res))
		return 0;
	if ((n = convert_rounds_begin(c->rounds, res, s->client_caps, err, sizeof err)) < 0) {
		log_info(upstream_name(c->up), "call %s: %s", c->key, err);
		mrtr_fail(c, JSONRPC_SERVER_ERROR, err);
		return 1;
	}
	log_debug(upstream_name(c->up), "call %s: input round %d, %d request%s to the client", c->key,
	    convert_rounds_count(c->rounds), n, n == 1 ? "" : "s");
	if (n == 0) {		/* requestState only: the server asks to be called again */
		mrtr_retry(c);
		return 1;
	}
	session_call_set_state(c, CALL_INPUT);
	for (int i = 0; i < n; i++) {
		const char *key, *method;
		json_t *params, *jgid;
		struct sreq *q = NULL;
		char gkey[96];
		convert_rounds_request(c->rounds, (size_t)i, &key, &method, &params);
		if (hmap_count(s->sreqs) >= SESSION_MAX_SREQS || (q = calloc(1, sizeof *q)) == NULL ||
		    (q->input_key = strdup(key)) == NULL) {
			if (q)
				free(q);
			mrtr_fail(c, JSONRPC_SERVER_ERROR, "too many requests to the client in flight");
			return 1;
		}
		q->call = c;
		jgid = json_integer((json_int_t)++s->next_sreq);
		session_id_key(jgid, gkey, sizeof gkey);
		if (hmap_put(s->sreqs, gkey, q) < 0) {
			free(q->input_key);
			free(q);
			json_decref(jgid);
			mrtr_fail(c, JSONRPC_INTERNAL_ERROR, "out of memory");
			return 1;
		}
		session_send_related(s, jsonrpc_request(jgid, method, params ? json_deep_copy(params) : NULL),
		    c->client_id_text);
		json_decref(jgid);
	}
	return 1;
}

void
session_convert_client_answer(struct session *s, struct sreq *r, struct jsonrpc_msg *m)
{
	struct call *c = r->call;
	json_t *err = json_object_get(m->msg, "error"), *res = json_object_get(m->msg, "result");
	char *key = r->input_key;

	free(r);
	if (c->st != CALL_INPUT) {
		free(key);
		return;
	}
	if (err != NULL || !json_is_object(res)) {
		const char *msg = json_string_value(json_object_get(err, "message"));
		char why[400];
		snprintf(why, sizeof why, "the client answered input request '%.100s' with an error (%" JSON_INTEGER_FORMAT
		    ": %.200s)", key, json_integer_value(json_object_get(err, "code")), msg ? msg : "no message");
		mrtr_fail(c, JSONRPC_SERVER_ERROR, why);
	} else if (convert_rounds_answer(c->rounds, key, res) == 0)
		mrtr_retry(c);
	free(key);
}

struct mrtr_sreqs {
	const struct call *c;
	char **keys;
	size_t n;
};

static void
mrtr_sreq_of(const char *key, void *val, void *arg)
{
	struct mrtr_sreqs *a = arg;
	if (((struct sreq *)val)->call == a->c && (a->keys[a->n] = strdup(key)) != NULL)
		a->n++;
}

/* A call ends: requests still open at the client for its round are withdrawn (cancelled), a held
 * server request is refused. */
void
session_convert_end(struct call *c)
{
	struct session *s = c->s;
	if (c->held_up_id) {
		if (held_calls && hmap_get(held_calls, c->key) == c && hmap_del(held_calls, c->key) &&
		    hmap_count(held_calls) == 0) {
			hmap_free(held_calls);	/* nothing left reachable after the last one */
			held_calls = NULL;
		}
		if (upstream_state(c->up) == UPSTREAM_READY)
			upstream_respond(c->up, jsonrpc_error(c->held_up_id, JSONRPC_REQUEST_TIMEOUT,
			    "the client did not retry in time to answer this request", NULL));
		json_decref(c->held_up_id);
		c->held_up_id = NULL;
	}
	if (c->st != CALL_INPUT)
		return;
	struct mrtr_sreqs a = { c, calloc(hmap_count(s->sreqs) + 1, sizeof(char *)), 0 };
	if (a.keys == NULL)
		return;
	hmap_foreach(s->sreqs, mrtr_sreq_of, &a);
	for (size_t i = 0; i < a.n; i++) {
		struct sreq *q = hmap_del(s->sreqs, a.keys[i]);
		if (q) {
			free(q->input_key);
			free(q);
			session_send(s, jsonrpc_notification("notifications/cancelled", json_pack("{sIss}",
			    "requestId", (json_int_t)strtoll(a.keys[i] + 2, NULL, 10), "reason",
			    "the request it was part of ended")));
		}
		free(a.keys[i]);
	}
	free(a.keys);
}

/* What a sealed requestState is bound to. A 2026-07-28 client has no session (over HTTP each of
 * its requests is one; its retry comes on another): its identity. A connection that did the
 * legacy handshake is a session: that connection and its identity. */
static void
mrtr_binding(const struct session *s, char *out, size_t n)
{
	snprintf(out, n, "%s|%s", s->modern ? "stateless" : s->nonce, s->ident ? ident_label(s->ident) : "");
}

struct mrtr_gone {
	const struct upstream *up;
	char **keys;
	size_t n;
};

static void
mrtr_held_of(const char *key, void *val, void *arg)
{
	struct mrtr_gone *g = arg;
	if (((struct call *)val)->st == CALL_HELD && (g->keys[g->n] = strdup(key)) != NULL)
		g->n++;
}

/* A closing session leaves its held calls to the registry: the retry may still come, elsewhere,
 * and the bound ends them otherwise. */
void
session_convert_orphan_held(struct session *s)
{
	struct mrtr_gone g = { NULL, calloc(hmap_count(s->calls) + 1, sizeof(char *)), 0 };
	if (g.keys == NULL)
		return;
	hmap_foreach(s->calls, mrtr_held_of, &g);
	for (size_t i = 0; i < g.n; i++) {
		struct call *c = hmap_del(s->calls, g.keys[i]);
		if (c) {
			c->s = NULL;
			log_info(upstream_name(c->up), "held request %s outlives its closed session: it waits "
			    "for a retry elsewhere", c->key);
		}
		free(g.keys[i]);
	}
	free(g.keys);
}

/* How long a held request waits: CONVERT_PENDING_MS; in test mode only (the bound's own test,
 * tests/integration/convert.test.mjs) MCPGW_TEST_HELD_MS=N, at most that. */
static long
held_bound_ms(void)
{
	const char *e = getenv("MCPGW_TEST_HELD_MS");
	long ms = e && *e ? strtol(e, NULL, 10) : 0;
	return ms > 0 && ms < CONVERT_PENDING_MS ? ms : CONVERT_PENDING_MS;
}

static void
held_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	log_info(upstream_name(c->up), "the client did not retry within %ld ms: the server's request is "
	    "refused and its call cancelled", held_bound_ms());
	upstream_cancel(c->up, c->upid, "the client did not answer the server's request in time");
	c->ok = 0;
	session_call_finish(c);	/* session_convert_end refuses the held request */
}

/* A legacy server's request during a modern client's call c (which declared the capability it
 * needs): the client's call is answered input_required, the server's request held for the retry. */
void
session_convert_hold(struct session *s, struct upstream *up, json_t *msg, struct call *c)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *params = json_object_get(msg, "params"), *id = json_object_get(msg, "id");
	char key[64], binding[200], *state = NULL;
	json_t *result = NULL, *cid;
	struct modern_decor d;
	uint64_t n;
	struct timeval held_tv = { held_bound_ms() / 1000, (held_bound_ms() % 1000) * 1000 };

	if (!convert_mrtr_method(c->method) || c->st != CALL_SENT || convert_request_capability(method) == NULL) {
		/* 2026-07-28 has no server-to-client request outside a call's input_required result. */
		upstream_respond(up, jsonrpc_error(id, JSONRPC_METHOD_NOT_FOUND,
		    "Method not found: the client speaks MCP 2026-07-28, which takes a server's requests only "
		    "as the input_required result of a tools/call, prompts/get or resources/read", NULL));
		return;
	}
	if (held_calls == NULL && (held_calls = hmap_new()) == NULL) {
		upstream_respond(up, jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, "out of memory", NULL));
		return;
	}
	if (hmap_count(held_calls) >= CONVERT_MAX_HELD) {
		upstream_respond(up, jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, "too many requests held for "
		    "2026-07-28 clients' retries", NULL));
		return;
	}
	n = ++held_next;
	snprintf(key, sizeof key, "%s-%" PRIu64, convert_request_capability(method), n);
	mrtr_binding(s, binding, sizeof binding);
	if ((state = convert_seal(n, binding, convert_now_ms() + held_bound_ms())) == NULL ||
	    (result = convert_input_required(key, method, params, state)) == NULL ||
	    (c->held_timer == NULL && (c->held_timer = evtimer_new(s->base, held_timeout_cb, c)) == NULL) ||
	    evtimer_add(c->held_timer, &held_tv) < 0 ||	/* allocates: without it no bound */
	    (c->held_key = strdup(key)) == NULL) {
		if (c->held_timer)
			evtimer_del(c->held_timer);
		free(state);
		json_decref(result);
		upstream_respond(up, jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, "out of memory", NULL));
		return;
	}
	free(state);
	/* The call lives on under its held number; the client's id is answered and free again. */
	hmap_del(s->calls, c->key);
	snprintf(c->key, sizeof c->key, "p:%" PRIu64, n);
	if (hmap_put(s->calls, c->key, c) < 0 || hmap_put(held_calls, c->key, c) < 0) {
		hmap_del(s->calls, c->key);
		json_decref(result);
		upstream_respond(up, jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, "out of memory", NULL));
		upstream_cancel(c->up, c->upid, "out of memory");
		session_send_error(s, c->client_id, JSONRPC_INTERNAL_ERROR, "out of memory");
		session_call_free(c);
		return;
	}
	c->held_up_id = json_incref(id);
	c->held_gw = s->gw;
	cid = c->client_id;
	c->client_id = NULL;
	free(c->client_id_text);
	c->client_id_text = NULL;
	session_call_set_state(c, CALL_HELD);
	log_debug(upstream_name(up), "%s held for the client's retry as %s", method, c->key);
	session_decor(s, c->method, &d);
	modern_decorate(result, &d);
	session_answer(s, cid, result);
	json_decref(cid);
}

/* A modern client's request carrying a requestState the gateway sealed: 1 when answered here
 * (refused with -32602, nothing else changed) or taken over by the held call it resumes. */
int
session_convert_resume(struct session *s, struct msg *msg)
{
	struct jsonrpc_msg *m = &msg->rpc;
	const char *state, *name;
	char key[96], binding[200];
	enum convert_verdict v;
	struct call *c;
	json_t *ans, *tok;
	uint64_t n;

	/* Cheap for the usual call: only a text that carries the gateway's prefix is parsed. */
	if (msg->text && memmem(msg->text, msg->len, CONVERT_STATE_PREFIX, strlen(CONVERT_STATE_PREFIX)) == NULL)
		return 0;
	if (msg_parse(msg) < 0 || !convert_mrtr_method(m->method))
		return 0;
	state = json_string_value(json_object_get(m->params, "requestState"));
	mrtr_binding(s, binding, sizeof binding);
	if ((v = convert_open(state, binding, convert_now_ms(), &n)) == CONVERT_NOT_OURS)
		return 0;	/* a modern server's own: it goes there untouched */
	if (v != CONVERT_OK) {
		log_info("client", "%s refused: %s", m->method, convert_verdict_text(v));
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "%s", convert_verdict_text(v));
		return 1;
	}
	snprintf(key, sizeof key, "p:%" PRIu64, n);
	if (held_calls == NULL || (c = hmap_get(held_calls, key)) == NULL || c->st != CALL_HELD ||
	    c->held_gw != s->gw) {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "requestState was already used (the request it "
		    "resumes was resumed or has ended)");
		return 1;
	}
	name = json_string_value(json_object_get(m->params, "name"));
	if (strcmp(c->method, m->method) != 0 || (c->tool && (name == NULL || strcmp(c->tool, name) != 0))) {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "requestState was issued for another request "
		    "(%s%s%s)", c->method, c->tool ? " " : "", c->tool ? c->tool : "");
		return 1;
	}
	ans = json_object_get(json_object_get(m->params, "inputResponses"), c->held_key);
	if (!json_is_object(ans)) {
		session_send_error(s, m->id, JSONRPC_INVALID_PARAMS, "inputResponses.%s is missing or not an object: "
		    "it is the answer the server waits for", c->held_key);
		return 1;
	}
	/* Resumed: the server's request is answered and the retry's id takes over the call. */
	evtimer_del(c->held_timer);
	upstream_respond(c->up, json_pack("{sssOsO}", "jsonrpc", "2.0", "id", c->held_up_id, "result", ans));
	json_decref(c->held_up_id);
	c->held_up_id = NULL;
	free(c->held_key);
	c->held_key = NULL;
	hmap_del(held_calls, c->key);
	if (hmap_count(held_calls) == 0) {
		hmap_free(held_calls);
		held_calls = NULL;
	}
	if (c->s)
		hmap_del(c->s->calls, c->key);
	c->s = s;	/* the retry's session takes the call over */
	session_id_key(m->id, c->key, sizeof c->key);
	c->client_id = json_incref(m->id);
	c->client_id_text = json_dumps(m->id, JSON_ENCODE_ANY | JSON_COMPACT);
	tok = json_object_get(json_object_get(m->params, "_meta"), "progressToken");
	if (s->cur && s->cur->modern) {		/* the retry's own log level and capabilities */
		c->log_level = s->cur->log_level;
		json_decref(c->caps);
		c->caps = json_incref(s->cur->caps);
	}
	json_decref(c->client_token);
	c->client_token = json_is_string(tok) || json_is_integer(tok) ? json_incref(tok) : NULL;
	session_call_set_state(c, CALL_SENT);
	if (hmap_put(s->calls, c->key, c) < 0) {
		upstream_cancel(c->up, c->upid, "out of memory");
		session_send_error(s, m->id, JSONRPC_INTERNAL_ERROR, "out of memory");
		session_call_free(c);
	}
	return 1;
}

static void
mrtr_gone_of(const char *key, void *val, void *arg)
{
	struct call *c = val;
	struct mrtr_gone *g = arg;
	if (c->up == g->up && (c->st == CALL_INPUT || c->st == CALL_HELD) && (g->keys[g->n] = strdup(key)) != NULL)
		g->n++;
}

/* A reload removed the server: a call between rounds (no request of it in flight there) would
 * otherwise retry on a server that is freed later. */
void
session_convert_upstream_gone(struct session *s, struct upstream *up)
{
	struct mrtr_gone g = { up, calloc(hmap_count(s->calls) + 1, sizeof(char *)), 0 };
	if (g.keys == NULL)
		return;
	hmap_foreach(s->calls, mrtr_gone_of, &g);
	for (size_t i = 0; i < g.n; i++) {
		struct call *c = hmap_get(s->calls, g.keys[i]);
		if (c && c->st == CALL_INPUT)
			mrtr_fail(c, JSONRPC_SERVER_ERROR, "the server was removed from the configuration");
		else if (c) {
			if (c->upid)
				upstream_cancel(c->up, c->upid, "removed from the configuration");
			session_call_finish(c);
		}
		free(g.keys[i]);
	}
	free(g.keys);
}
