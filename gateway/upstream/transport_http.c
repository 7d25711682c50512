/* transport_http.c: owns a remote server's transport object: its state, the queues of messages
 * either way, the transport ops the upstream calls, and the loop event that hands received
 * messages over. The files beside it own the rest (see transport_http_int.h). Every transition
 * goes through transport_http_set_state().
 *
 * Nothing here calls the upstream from inside a libcurl callback: received messages are queued
 * and handed over from an event of our own (transport_http_work_cb), which is also the only place
 * the upstream can free us from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "hmap.h"
#include "jsonrpc.h"
#include "log.h"
#include "util.h"
#include "curl_lazy.h"
#include "transport_http_int.h"
#include "http_credentials.h"
#include "http_detect.h"
#include "http_modern.h"
#include "http_recovery.h"
#include "http_sse.h"
#include "http_stream.h"

static const char *
transport_http_state_name(enum remote_state s)
{
	static const char *n[] = { "idle", "probing", "sse-connecting", "open", "recovering", "stopping",
		"closed" };
	return n[s];
}

void
transport_http_set_state(struct remote *t, enum remote_state s)
{
	if (t->state == s)
		return;
	log_debug(t->name, "http %s -> %s", transport_http_state_name(t->state), transport_http_state_name(s));
	t->state = s;
}

static const char *
transport_http_get_state_name(enum get_state s)
{
	static const char *n[] = { "none", "waiting", "opening", "open", "off" };
	return n[s];
}

/* The event stream (t->get): Streamable HTTP's standalone GET or the legacy GET. */
void
transport_http_set_get_state(struct remote *t, enum get_state s)
{
	if (t->get_state == s)
		return;
	log_debug(t->name, "event stream %s -> %s", transport_http_get_state_name(t->get_state),
	    transport_http_get_state_name(s));
	t->get_state = s;
}

/* How long ago s was (last) started. */
long
transport_http_stream_ms(const struct stream *s)
{
	return util_ms_since(&s->started);
}

void
transport_http_kick(struct remote *t)
{
	if (!t->freed)
		event_active(t->ev_work, EV_TIMEOUT, 0);
}

int
transport_http_visible_ascii(const char *s, size_t max)
{
	size_t n = 0;
	if (*s == '\0')
		return 0;
	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || n >= max)
			return 0;
	return 1;
}

/* ---- messages out ---- */

void
transport_http_out_free(struct out_msg *m)
{
	if (m == NULL)
		return;
	free(m->buf);
	free(m->id);
	free(m->method);
	free(m->meta_version);
	free(m->mname);
	free(m);
}

/* What the 2026-07-28 headers mirror from the body: the _meta version and Mcp-Name's source. */
static int
transport_http_out_meta(struct out_msg *m, json_t *j)
{
	json_t *params = json_object_get(j, "params");
	const char *v = json_string_value(json_object_get(json_object_get(params, "_meta"),
	    "io.modelcontextprotocol/protocolVersion"));
	const char *name = NULL;

	if (strcmp(m->method, "tools/call") == 0 || strcmp(m->method, "prompts/get") == 0)
		name = json_string_value(json_object_get(params, "name"));
	else if (strcmp(m->method, "resources/read") == 0)
		name = json_string_value(json_object_get(params, "uri"));
	if (v && transport_http_visible_ascii(v, 64) && (m->meta_version = strdup(v)) == NULL)
		return -1;
	if (name && (m->mname = strdup(name)) == NULL)
		return -1;
	return 0;
}

struct out_msg *
transport_http_out_new(const char *buf, size_t len)
{
	struct out_msg *m = calloc(1, sizeof *m);
	json_t *j, *id;

	if (m == NULL)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if ((m->buf = malloc(len + 1)) == NULL) {
		free(m);
		return NULL;
	}
	memcpy(m->buf, buf, len);
	m->buf[len] = '\0';
	m->len = len;
	/* The text is the gateway's own JSON: not parsing it is out of memory. Either way it is not
	 * sent, rather than sent as something else (a request taken for a response, say). */
	if ((j = json_loadb(buf, len, JSON_ALLOW_NUL, NULL)) == NULL) {
		transport_http_out_free(m);
		return NULL;
	}
	const char *method = json_string_value(json_object_get(j, "method"));
	int nomem = 0;
	if (method && (m->method = strdup(method)) == NULL)
		nomem = 1;
	if (!nomem && method && (id = json_object_get(j, "id")) != NULL && !json_is_null(id) &&
	    (m->id = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		nomem = 1;
	if (!nomem && method && transport_http_out_meta(m, j) < 0)	/* it reads m->method */
		nomem = 1;
	json_decref(j);
	if (nomem) {
		transport_http_out_free(m);
		return NULL;
	}
	return m;
}

struct out_msg *
transport_http_out_copy(const struct out_msg *o)
{
	struct out_msg *m = transport_http_out_new(o->buf, o->len);
	if (m) {
		m->internal = 1;
		m->probe = o->probe;
	}
	return m;
}

void
transport_http_outq_push(struct remote *t, struct out_msg *m, int front)
{
	if (front) {
		m->next = t->outq;
		t->outq = m;
		if (t->outq_tail == &t->outq)
			t->outq_tail = &m->next;
	} else {
		m->next = NULL;
		*t->outq_tail = m;
		t->outq_tail = &m->next;
	}
	t->outq_n++;
	t->outq_bytes += m->len;
}

struct out_msg *
transport_http_outq_pop(struct remote *t)
{
	struct out_msg *m = t->outq;
	if (m == NULL)
		return NULL;
	t->outq = m->next;
	if (t->outq == NULL)
		t->outq_tail = &t->outq;
	m->next = NULL;
	t->outq_n--;
	t->outq_bytes -= m->len;
	return m;
}

/* ---- messages in ---- */

void
transport_http_inq_push(struct remote *t, char *buf, size_t len)
{
	struct in_msg *m = calloc(1, sizeof *m);
	if (m == NULL) {
		free(buf);
		return;
	}
	m->buf = buf;
	m->len = len;
	*t->inq_tail = m;
	t->inq_tail = &m->next;
	t->inq_bytes += len;
	transport_http_kick(t);
}

/* An error reply to a request of the upstream's that will get no answer. */
void
transport_http_reply_error(struct remote *t, const char *idtext, const char *why)
{
	json_t *id = json_loads(idtext, JSON_DECODE_ANY, NULL), *r;
	char msg[400];
	size_t len;
	char *buf;

	snprintf(msg, sizeof msg, "%s", why);
	http_credentials_redact(t, msg, sizeof msg);
	r = jsonrpc_error(id, JSONRPC_SERVER_ERROR, msg, NULL);
	json_decref(id);
	if ((buf = jsonrpc_dump(r, &len)) != NULL) {
		buf[--len] = '\0';	/* no newline */
		transport_http_inq_push(t, buf, len);
	}
	json_decref(r);
}

/* A message that will never reach the server. */
void
transport_http_fail_msg(struct remote *t, struct out_msg *m, const char *why)
{
	if (m == NULL)
		return;
	if (m->internal) {
		char w[300];
		snprintf(w, sizeof w, "server '%s': a new session failed: %s", t->name, why);
		transport_http_out_free(m);
		http_recovery_start(t, w, -1);
		return;
	}
	if (m->id)
		transport_http_reply_error(t, m->id, why);
	else
		log_warn(t->name, "%s not delivered: %s", m->method ? m->method : "a response", why);
	transport_http_out_free(m);
}

/* One message from the server (may run inside a libcurl callback: no curl call, no upstream). */
static void
transport_http_incoming_one(struct remote *t, struct stream *s, json_t *m, const char *raw, size_t rawlen)
{
	json_t *id = json_object_get(m, "id");
	char *buf;
	size_t len;

	if (json_is_object(m) && id && !json_object_get(m, "method") &&
	    (json_object_get(m, "result") || json_object_get(m, "error"))) {
		char *idtext = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
		if (idtext) {
			if (s && s->msg && s->msg->id && strcmp(idtext, s->msg->id) == 0) {
				json_t *code = json_object_get(json_object_get(m, "error"), "code");
				s->got_response = 1;
				s->resp_error = json_object_get(m, "result") ? 0 :
				    json_is_integer(code) ? (long)json_integer_value(code) : JSONRPC_INTERNAL_ERROR;
				/* a modern server's tools: invalid annotations dropped, the others kept */
				if (t->modern && s->msg->method && strcmp(s->msg->method, "tools/list") == 0 &&
				    http_modern_tools_result(t, json_object_get(m, "result")))
					raw = NULL;
			}
			if (t->inflight)
				hmap_del(t->inflight, idtext);
			if (t->swallow_id && strcmp(idtext, t->swallow_id) == 0) {
				free(idtext);
				http_recovery_swallow(t, m);
				return;
			}
			free(idtext);
		}
	}
	if (raw) {
		if ((buf = malloc(rawlen + 1)) == NULL)
			return;
		memcpy(buf, raw, rawlen);
		buf[rawlen] = '\0';
		len = rawlen;
	} else if ((buf = jsonrpc_dumps(m, JSON_COMPACT)) != NULL)
		len = strlen(buf);
	else
		return;
	transport_http_inq_push(t, buf, len);
}

void
transport_http_incoming(struct remote *t, struct stream *s, const char *data, size_t len)
{
	json_t *j = json_loadb(data, len, JSON_DECODE_ANY, NULL);

	if (j == NULL) {		/* not JSON: the upstream reports and drops it */
		char *buf = malloc(len + 1);
		if (buf) {
			memcpy(buf, data, len);
			buf[len] = '\0';
			transport_http_inq_push(t, buf, len);
		}
		return;
	}
	if (json_is_array(j)) {		/* a batch (2025-03-26): one message at a time */
		size_t i;
		json_t *e;
		json_array_foreach(j, i, e)
			transport_http_incoming_one(t, s, e, NULL, 0);
	} else
		transport_http_incoming_one(t, s, j, data, len);
	json_decref(j);
}

/* A mark in the incoming queue: a dropped overlong message, or a renewed session. */
void
transport_http_inq_mark(struct remote *t, int renewed)
{
	struct in_msg *m = calloc(1, sizeof *m);
	if (m == NULL)
		return;
	m->renewed = renewed != 0;
	*t->inq_tail = m;
	t->inq_tail = &m->next;
	transport_http_kick(t);
}

/* The server is gone for good: every stream ends; closed goes to the upstream from the loop. */
void
transport_http_close(struct remote *t, const char *why)
{
	if (t->closing)
		return;
	t->closing = 1;
	snprintf(t->closed_why, sizeof t->closed_why, "%s", why);
	http_credentials_redact(t, t->closed_why, sizeof t->closed_why);
	transport_http_set_state(t, REMOTE_CLOSED);
	http_stream_cancel_all(t, 0);
	evtimer_del(t->ev_retry);
	while (t->outq)
		transport_http_out_free(transport_http_outq_pop(t));
	transport_http_kick(t);
}

void
transport_http_fail(struct remote *t, const char *why)
{
	if (t->closing)
		return;
	t->fatal = 1;
	transport_http_close(t, why);
}

/* Sends one message now (the caller checked that it may). */
void
transport_http_post(struct remote *t, struct out_msg *m)
{
	struct stream *s;

	if (m->method && strcmp(m->method, "notifications/initialized") == 0)
		t->barrier = 1;
	if (t->legacy && m->id && !m->internal && t->inflight)
		hmap_put(t->inflight, m->id, t);
	if ((s = http_stream_new(t, ST_POST, m)) == NULL)
		return;
	http_stream_start(s);
}

static int
transport_http_may_send(struct remote *t)
{
	return t->state == REMOTE_OPEN && !t->barrier && t->nposts < REMOTE_MAX_POSTS;
}

void
transport_http_flush(struct remote *t)
{
	while (t->outq && transport_http_may_send(t))
		transport_http_post(t, transport_http_outq_pop(t));
}

static void
transport_http_destroy(struct remote *t)
{
	http_stream_cancel_all(t, 0);
	while (t->outq)
		transport_http_out_free(transport_http_outq_pop(t));
	while (t->inq) {
		struct in_msg *m = t->inq;
		t->inq = m->next;
		free(m->buf);
		free(m);
	}
	http_credentials_free(t);
	http_modern_free(t);
	http_unref(t->http);
	event_free(t->ev_work);
	event_free(t->ev_retry);
	hmap_free(t->inflight);
	transport_http_out_free(t->init);
	free(t->swallow_id);
	free(t->get_last_id);
	free(t->url);
	free(t->endpoint);
	free(t->session);
	free(t->version);
	free(t->name);
	free(t);
}

static void
transport_http_work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote *t = arg;

	t->depth++;
	/* endpoint events (each handler may change the list: scan again after each) */
	for (int again = 1; again && !t->closing;) {
		again = 0;
		for (struct stream *s = t->streams; s; s = s->next)
			if (s->endpoint) {
				http_sse_endpoint(t, s);
				again = 1;
				break;
			}
	}
	if (!t->closing)
		http_recovery_poll(t);
	/* streams waiting for credentials: each tried once per pass */
	t->epoch++;
	for (int again = 1; again && !t->closing;) {
		again = 0;
		for (struct stream *s = t->streams; s; s = s->next)
			if (s->wait_auth && s->epoch != t->epoch) {
				s->epoch = t->epoch;
				http_stream_start(s);
				again = 1;
				break;
			}
	}
	if (!t->closing)
		transport_http_flush(t);
	/* messages to the upstream, in order */
	while (t->inq && !t->paused && !t->freed) {
		struct in_msg *m = t->inq;
		t->inq = m->next;
		if (t->inq == NULL)
			t->inq_tail = &t->inq;
		t->inq_bytes -= m->len;
		if (m->buf)
			t->cbs.message(t->cbs.arg, m->buf, m->len);
		else if (m->renewed) {
			if (t->cbs.renewed)
				t->cbs.renewed(t->cbs.arg);
		} else if (t->cbs.overlong)
			t->cbs.overlong(t->cbs.arg);
		free(m);
	}
	if (t->closing && !t->closed_reported && !t->freed && (t->inq == NULL || t->paused)) {
		t->closed_reported = 1;
		t->cbs.closed(t->cbs.arg, t->closed_why, t->signin ? TRANSPORT_CLOSED_SIGNIN :
		    t->fatal ? TRANSPORT_CLOSED_FAILED : -1);
	}
	t->depth--;
	if (t->freed && t->depth == 0)
		transport_http_destroy(t);
}

/* ---- transport ops ---- */

static int
transport_http_send(struct transport *tr, const char *buf, size_t len)
{
	struct remote *t = (struct remote *)tr;
	struct out_msg *m;

	if (t->closing || t->freed || t->state == REMOTE_STOPPING)
		return -1;
	if (t->outq_n >= REMOTE_MAX_QUEUE_MSGS || t->outq_bytes + len > REMOTE_MAX_QUEUE)
		return -1;
	if ((m = transport_http_out_new(buf, len)) == NULL)
		return -1;
	/* a cancelled request's response stream is of no more use */
	if (m->method && strcmp(m->method, "notifications/cancelled") == 0) {
		json_t *j = json_loadb(m->buf, m->len, 0, NULL);
		json_t *rid = json_object_get(json_object_get(j, "params"), "requestId");
		char *idtext = rid ? json_dumps(rid, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		for (struct stream *s = t->streams; idtext && s; s = s->next)
			if ((s->kind == ST_POST || s->kind == ST_RESUME) && s->msg && s->msg->id &&
			    strcmp(s->msg->id, idtext) == 0 && !t->legacy) {
				http_stream_unlink(t, s);
				http_stream_free(s);
				break;
			}
		free(idtext);
		json_decref(j);
	}
	/* 2026-07-28: no client notification goes over HTTP (closing the stream above was the
	 * cancellation), and the client sends no responses (the server asks nothing but in results) */
	if (t->modern && m->id == NULL) {
		log_debug(t->name, "%s not sent: the 2026-07-28 transport has none", m->method ? m->method :
		    "a response");
		transport_http_out_free(m);
		return 0;
	}
	/* transport: auto's probe (http_detect.c): the first server/discover is a modern POST */
	if (m->method && strcmp(m->method, "server/discover") == 0 && m->id && t->state == REMOTE_IDLE) {
		http_detect_probe(t, m);
		return 0;
	}
	if (m->method && strcmp(m->method, "initialize") == 0 && m->id) {
		http_detect_legacy(t);
		transport_http_out_free(t->init);
		t->init = transport_http_out_copy(m);
		if (t->state == REMOTE_IDLE) {
			if (t->want == KIND_SSE) {
				transport_http_set_state(t, REMOTE_SSE_CONNECTING);
				transport_http_outq_push(t, m, 0);
				http_sse_open(t, 0);
			} else {
				transport_http_set_state(t, REMOTE_PROBING);
				transport_http_post(t, m);
			}
			return 0;
		}
	}
	transport_http_outq_push(t, m, 0);
	transport_http_flush(t);
	return 0;
}

static void
transport_http_set_version(struct transport *tr, const char *v)
{
	struct remote *t = (struct remote *)tr;

	if (v == NULL || !transport_http_visible_ascii(v, 64))
		return;
	free(t->version);
	t->version = strdup(v);
	if (http_modern_version(v) && !t->legacy) {
		http_detect_modern(t, "the server speaks " HTTP_MODERN_VERSION);
		/* Told before anything went out (mcpgw connect, for a 2026-07-28 client): no handshake
		 * will open the way, so requests may go now. */
		if (t->state == REMOTE_IDLE) {
			transport_http_set_state(t, REMOTE_OPEN);
			transport_http_flush(t);
		}
	}
}

static void
transport_http_stop(struct transport *tr)
{
	struct remote *t = (struct remote *)tr;
	char w[300];
	struct stream *s;

	if (t->closing || t->state == REMOTE_STOPPING)
		return;
	snprintf(w, sizeof w, "server '%s' stopped", t->name);
	http_stream_cancel_all(t, 0);
	evtimer_del(t->ev_retry);
	while (t->outq)
		transport_http_out_free(transport_http_outq_pop(t));
	if (t->legacy || t->session == NULL) {
		transport_http_close(t, w);
		return;
	}
	transport_http_set_state(t, REMOTE_STOPPING);
	if ((s = http_stream_new(t, ST_DELETE, NULL)) == NULL) {
		transport_http_close(t, w);
		return;
	}
	http_stream_start(s);
	if (s == t->streams && s->wait_auth) {	/* no waiting for a credential helper now */
		http_stream_unlink(t, s);
		http_stream_free(s);
		transport_http_close(t, w);
	}
}

static void
transport_http_pause(struct transport *tr, int paused)
{
	struct remote *t = (struct remote *)tr;

	if (t->paused == paused)
		return;
	t->paused = paused;
	if (paused)
		return;
	for (struct stream *s = t->streams; s; s = s->next)
		if (s->req)
			http_req_pause(s->req, 0);
	transport_http_kick(t);
}

static void
transport_http_free(struct transport *tr)
{
	struct remote *t = (struct remote *)tr;

	if (t == NULL || t->freed)
		return;
	t->freed = 1;
	http_stream_cancel_all(t, 0);		/* no callback of any kind from here on */
	evtimer_del(t->ev_retry);
	event_del(t->ev_work);
	if (t->depth == 0)
		transport_http_destroy(t);
}

/* One table per kind, so that transport_kind() (and so `mcpgw doctor`) says what was found. */
static const struct transport_ops transport_http_ops_auto = {
	"auto", transport_http_send, transport_http_set_version, transport_http_stop, transport_http_pause,
	NULL, transport_http_free,
};
static const struct transport_ops transport_http_ops_streamable = {
	"streamable-http", transport_http_send, transport_http_set_version, transport_http_stop,
	transport_http_pause, NULL, transport_http_free,
};
static const struct transport_ops transport_http_ops_sse = {
	"sse", transport_http_send, transport_http_set_version, transport_http_stop, transport_http_pause,
	NULL, transport_http_free,
};

const struct transport_ops *
transport_http_ops(enum remote_kind k)
{
	return k == KIND_SSE ? &transport_http_ops_sse : k == KIND_STREAMABLE ? &transport_http_ops_streamable :
	    &transport_http_ops_auto;
}

struct transport *
transport_http_new(struct event_base *base, const struct config_server *cfg,
    const struct transport_cbs *cbs, char *err, size_t errlen)
{
	struct remote *t;

	if (cfg->url == NULL) {
		snprintf(err, errlen, "server '%s' has no url", cfg->name);
		return NULL;
	}
	if (http_credentials_check(cfg, err, errlen) < 0)
		return NULL;
	if ((t = calloc(1, sizeof *t)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->evb = base;
	t->cfg = cfg;
	t->cbs = *cbs;
	http_detect_init(t);
	t->outq_tail = &t->outq;
	t->inq_tail = &t->inq;
	t->name = strdup(cfg->name);
	t->url = strdup(cfg->url);
	t->ev_work = event_new(base, -1, 0, transport_http_work_cb, t);
	t->ev_retry = evtimer_new(base, http_recovery_timer_cb, t);
	if (t->name == NULL || t->url == NULL || t->ev_work == NULL || t->ev_retry == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (curl_lazy_load(err, errlen) < 0)
		goto fail;
	if ((t->http = http_ref(base)) == NULL) {
		snprintf(err, errlen, "cannot start libcurl");
		goto fail;
	}
	if (http_credentials_new(t, err, errlen) < 0)
		goto fail;
	return &t->base;
fail:
	if (t->ev_work == NULL || t->ev_retry == NULL) {
		if (t->ev_work)
			event_free(t->ev_work);
		if (t->ev_retry)
			event_free(t->ev_retry);
		free(t->name);
		free(t->url);
		free(t);
		return NULL;
	}
	t->freed = 1;
	transport_http_destroy(t);
	return NULL;
}
