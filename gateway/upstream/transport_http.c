/* transport_http.c: owns a remote server's transport: Streamable HTTP (sessions, JSON and SSE
 * responses, the GET stream, resumption with Last-Event-ID, a new session after 404, DELETE at
 * the end), the legacy HTTP+SSE transport, the choice between them (transport: auto), the
 * credentials from the server's auth plugin, and the recovery that hides a restarted server from
 * the upstream. Every transition goes through remote_set_state().
 *
 * Nothing here calls the upstream from inside a libcurl callback: received messages are queued
 * and handed over from an event of our own (remote_work_cb), which is also the only place the
 * upstream can free us from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include "auth.h"
#include "hmap.h"
#include "http.h"
#include "jsonrpc.h"
#include "log.h"
#include "util.h"
#include "sse.h"
#include "transport.h"

#define REMOTE_MAX_MSG		(16u << 20)	/* one message (JSON body or SSE event) */
#define REMOTE_MAX_LINE		(REMOTE_MAX_MSG + 64)
#define REMOTE_MAX_ID		1024		/* SSE event id (sent back as Last-Event-ID) */
#define REMOTE_MAX_QUEUE	(32u << 20)	/* bytes waiting to be sent */
#define REMOTE_MAX_QUEUE_MSGS	20000
#define REMOTE_MAX_INQ		(8u << 20)	/* received, undelivered, while the client is slow */
#define REMOTE_MAX_POSTS	128		/* POSTs in flight to one server */
#define REMOTE_MAX_ERRBODY	4096		/* kept of an error response, for its message */
#define REMOTE_MAX_SESSION	1024
#define REMOTE_MAX_REDIRECTS	5
#define REMOTE_MAX_RESUMES	5		/* resumptions of one response stream without progress */
#define REMOTE_RETRY_MS		1000		/* reconnection delay when the server names none */
#define REMOTE_RETRY_MIN_MS	100		/* retry: fields are clamped to these */
#define REMOTE_RETRY_MAX_MS	60000
#define REMOTE_GET_MAX_MS	30000		/* GET stream reconnection backoff bound */
#define REMOTE_DELETE_MS	2000
#define REMOTE_CONNECT_MS	10000
#define REMOTE_IDLE_EXTRA_MS	30000		/* a response may be silent this much past the timeout */

static const long recover_delays_ms[] = { 250, 500, 1000, 2000, 4000, 8000 };
#define REMOTE_RECOVER_TRIES	(sizeof recover_delays_ms / sizeof *recover_delays_ms)

enum remote_state {
	REMOTE_IDLE,		/* created; no initialize from the upstream yet */
	REMOTE_PROBING,		/* the upstream's initialize POSTed (Streamable HTTP, or auto's probe) */
	REMOTE_SSE_CONNECTING,	/* legacy: the GET stream is opening; waiting for its endpoint event */
	REMOTE_OPEN,		/* messages flow */
	REMOTE_RECOVERING,	/* session lost or server unreachable: messages wait while we reconnect */
	REMOTE_STOPPING,	/* DELETE of the session in flight */
	REMOTE_CLOSED,		/* closed reported (or on its way) */
};

enum remote_kind { KIND_AUTO, KIND_STREAMABLE, KIND_SSE };

/* Steps of a recovery. */
enum remote_rec { REC_NONE, REC_WAIT, REC_CONNECT, REC_INIT, REC_INITIALIZED, REC_RETRY };

enum stream_kind { ST_POST, ST_GET, ST_RESUME, ST_LEGACY, ST_DELETE };
enum body_kind { BODY_IGNORE, BODY_JSON, BODY_SSE, BODY_ERROR };

struct out_msg {
	struct out_msg *next;
	char *buf;		/* JSON text, no newline */
	size_t len;
	char *id;		/* a request's id as compact JSON text; NULL otherwise */
	char *method;		/* NULL for responses */
	unsigned internal : 1;	/* ours (a recovery's initialize/initialized), not the upstream's */
	unsigned retried : 1;	/* sent again once after a lost session */
	unsigned auth_retried : 1;
	int redirects;
};

struct in_msg {
	struct in_msg *next;
	char *buf;		/* NULL: an overlong message was dropped, or renewed is set */
	size_t len;
	unsigned renewed : 1;	/* not a message: the session was renewed (cbs.renewed) */
};

struct remote;

struct stream {
	struct remote *t;
	struct stream *next;
	enum stream_kind kind;
	struct http_req *req;		/* NULL while waiting (timer or credentials) */
	struct event *timer;		/* delayed start */
	struct out_msg *msg;		/* POST: the message; RESUME: the request awaiting its response */
	char *last_id;			/* GET/RESUME: Last-Event-ID to send */
	long status;
	enum body_kind body;
	char *buf;			/* JSON body, or the start of an error body */
	size_t len;
	struct sse *sse;
	char *location;			/* a redirect's Location */
	char *endpoint;			/* legacy: an endpoint event's data, not yet processed */
	char fail[200];			/* why we aborted it */
	char *www_auth;			/* 401/403: the server's WWW-Authenticate, for the auth plugin */
	int wait_auth;			/* start again once the credentials are ready */
	int session_sent, session_lost, auth_refused, overlong, got_response, events, redirects;
	int resumes;			/* RESUME: attempts without progress */
	unsigned epoch;
	int reinit;			/* POST: a recovery's initialize */
	struct timespec started;
};

struct remote {
	struct transport base;
	struct event_base *evb;
	const struct config_server *cfg;
	char *name;
	struct transport_cbs cbs;
	struct http *http;
	struct auth *auth;
	enum remote_state state;
	enum remote_kind want, kind;	/* configured; found (AUTO until known) */
	int legacy;			/* speaking HTTP+SSE (configured, or auto's fallback) */
	int initialized;		/* the upstream's notifications/initialized went through */
	unsigned epoch;			/* scan marker for streams waiting for credentials */
	char *url;			/* the server URL (moved by a same-origin redirect) */
	char *endpoint;			/* legacy: where POSTs go */
	char *session;			/* Mcp-Session-Id */
	char *version;			/* MCP-Protocol-Version */
	struct out_msg *init;		/* the upstream's initialize, kept for a new session */
	char streamable_err[200];	/* auto: why Streamable HTTP was not it */

	struct out_msg *outq, **outq_tail;
	size_t outq_n, outq_bytes;
	int barrier;			/* notifications/initialized in flight: others wait */
	struct stream *streams;
	size_t nposts;
	struct stream *get;		/* the standalone GET stream (or its reconnection timer) */
	int get_disabled;		/* 405: the server offers none */
	int get_failures;
	char *get_last_id;

	struct in_msg *inq, **inq_tail;
	size_t inq_bytes;
	int paused;

	struct hmap *inflight;		/* legacy: ids of requests sent and not answered */

	enum remote_rec rec;		/* recovery step */
	unsigned rec_tries;
	int rec_init_done, rec_init_failed;
	char *swallow_id;		/* a recovery initialize's id: its response is ours */
	unsigned rec_caps;		/* 1 tools, 2 prompts, 4 resources: list_changed after recovery */
	struct event *ev_retry;

	struct event *ev_work;
	int depth, freed;
	char closed_why[300];
	int closing, closed_reported;

	int signin;			/* the auth plugin waits for a person to sign in */
	struct mcpgw_headers auth_hdrs;
	char *secrets[2 * AUTH_MAX_HEADERS + 64];	/* header values kept out of any text we write */
	size_t nsecrets;
};

static const struct transport_ops remote_ops_auto, remote_ops_streamable, remote_ops_sse;

static void remote_flush(struct remote *);
static void stream_start(struct stream *);
static void remote_recover(struct remote *, const char *why, int session_lost);
static void remote_open_get(struct remote *, long delay_ms);

/* ---- small helpers ---- */

static const char *
remote_state_name(enum remote_state s)
{
	static const char *n[] = { "idle", "probing", "sse-connecting", "open", "recovering", "stopping",
		"closed" };
	return n[s];
}

static void
remote_set_state(struct remote *t, enum remote_state s)
{
	if (t->state == s)
		return;
	log_debug(t->name, "http %s -> %s", remote_state_name(t->state), remote_state_name(s));
	t->state = s;
}

static void
remote_set_kind(struct remote *t, enum remote_kind k, const char *how)
{
	if (t->kind != KIND_AUTO)
		return;
	t->kind = k;
	t->base.ops = k == KIND_SSE ? &remote_ops_sse : &remote_ops_streamable;
	log_info(t->name, "transport: %s%s%s", k == KIND_SSE ? "sse" : "streamable-http", how ? " " : "",
	    how ? how : "");
}

static struct timeval
tv_ms(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

static void
remote_kick(struct remote *t)
{
	if (!t->freed)
		event_active(t->ev_work, EV_TIMEOUT, 0);
}

static void
secret_add(struct remote *t, const char *v)
{
	const char *word;

	if (v == NULL || strlen(v) < 6)
		return;
	for (size_t i = 0; i < t->nsecrets; i++)
		if (strcmp(t->secrets[i], v) == 0)
			return;
	if (t->nsecrets == sizeof t->secrets / sizeof *t->secrets) {	/* forget the oldest */
		free(t->secrets[0]);
		memmove(t->secrets, t->secrets + 1, (t->nsecrets - 1) * sizeof *t->secrets);
		t->nsecrets--;
	}
	if ((t->secrets[t->nsecrets] = strdup(v)) != NULL)
		t->nsecrets++;
	/* "Bearer TOKEN": the token alone too */
	if ((word = strrchr(v, ' ')) != NULL && strlen(word + 1) >= 6)
		secret_add(t, word + 1);
}

/* Removes every known secret and every control character from s (in place). */
static void
redact(struct remote *t, char *s, size_t size)
{
	static const char mark[] = "[redacted]";

	for (size_t i = 0; i < t->nsecrets; i++) {
		char *p;
		size_t sl = strlen(t->secrets[i]);
		while ((p = strstr(s, t->secrets[i])) != NULL) {
			size_t rest = strlen(p + sl);
			if (sl >= sizeof mark - 1) {
				memcpy(p, mark, sizeof mark - 1);
				memmove(p + sizeof mark - 1, p + sl, rest + 1);
			} else
				memset(p, '*', sl);
		}
	}
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	(void)size;
}

static int
ct_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int
visible_ascii(const char *s, size_t max)
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

static void
out_free(struct out_msg *m)
{
	if (m == NULL)
		return;
	free(m->buf);
	free(m->id);
	free(m->method);
	free(m);
}

static struct out_msg *
out_new(const char *buf, size_t len)
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
	if ((j = json_loadb(buf, len, 0, NULL)) != NULL) {
		const char *method = json_string_value(json_object_get(j, "method"));
		if (method)
			m->method = strdup(method);
		if (method && (id = json_object_get(j, "id")) != NULL && !json_is_null(id))
			m->id = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(j);
	}
	return m;
}

static struct out_msg *
out_copy(const struct out_msg *o)
{
	struct out_msg *m = out_new(o->buf, o->len);
	if (m)
		m->internal = 1;
	return m;
}

static void
outq_push(struct remote *t, struct out_msg *m, int front)
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

static struct out_msg *
outq_pop(struct remote *t)
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

static void
inq_push(struct remote *t, char *buf, size_t len)
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
	remote_kick(t);
}

/* An error reply to a request of the upstream's that will get no answer. */
static void
reply_error(struct remote *t, const char *idtext, const char *why)
{
	json_t *id = json_loads(idtext, JSON_DECODE_ANY, NULL), *r;
	char msg[400];
	size_t len;
	char *buf;

	snprintf(msg, sizeof msg, "%s", why);
	redact(t, msg, sizeof msg);
	r = jsonrpc_error(id, JSONRPC_SERVER_ERROR, msg, NULL);
	json_decref(id);
	if ((buf = jsonrpc_dump(r, &len)) != NULL) {
		buf[--len] = '\0';	/* no newline */
		inq_push(t, buf, len);
	}
	json_decref(r);
}

/* A message that will never reach the server. */
static void
fail_msg(struct remote *t, struct out_msg *m, const char *why)
{
	if (m == NULL)
		return;
	if (m->internal) {
		char w[300];
		snprintf(w, sizeof w, "server '%s': a new session failed: %s", t->name, why);
		out_free(m);
		remote_recover(t, w, -1);
		return;
	}
	if (m->id)
		reply_error(t, m->id, why);
	else
		log_warn(t->name, "%s not delivered: %s", m->method ? m->method : "a response", why);
	out_free(m);
}

/* What a recovery's initialize told us (its response is not the upstream's business). */
static void
swallow_init(struct remote *t, json_t *msg)
{
	json_t *result = json_object_get(msg, "result"), *caps;
	const char *v;

	free(t->swallow_id);
	t->swallow_id = NULL;
	if (!json_is_object(result)) {
		t->rec_init_failed = 1;
		return;
	}
	caps = json_object_get(result, "capabilities");
	t->rec_caps = (json_object_get(caps, "tools") ? 1u : 0) | (json_object_get(caps, "prompts") ? 2u : 0) |
	    (json_object_get(caps, "resources") ? 4u : 0);
	v = json_string_value(json_object_get(result, "protocolVersion"));
	if (v && visible_ascii(v, 64) && (t->version == NULL || strcmp(v, t->version) != 0)) {
		log_warn(t->name, "the new session speaks protocol %s", v);
		free(t->version);
		t->version = strdup(v);
	}
	t->rec_init_done = 1;
	remote_kick(t);
}

/* One message from the server (may run inside a libcurl callback: no curl call, no upstream). */
static void
incoming_one(struct remote *t, struct stream *s, json_t *m, const char *raw, size_t rawlen)
{
	json_t *id = json_object_get(m, "id");
	char *buf;
	size_t len;

	if (json_is_object(m) && id && !json_object_get(m, "method") &&
	    (json_object_get(m, "result") || json_object_get(m, "error"))) {
		char *idtext = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
		if (idtext) {
			if (s && s->msg && s->msg->id && strcmp(idtext, s->msg->id) == 0)
				s->got_response = 1;
			if (t->inflight)
				hmap_del(t->inflight, idtext);
			if (t->swallow_id && strcmp(idtext, t->swallow_id) == 0) {
				free(idtext);
				swallow_init(t, m);
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
	} else if ((buf = json_dumps(m, JSON_COMPACT)) != NULL)
		len = strlen(buf);
	else
		return;
	inq_push(t, buf, len);
}

static void
incoming(struct remote *t, struct stream *s, const char *data, size_t len)
{
	json_t *j = json_loadb(data, len, JSON_DECODE_ANY, NULL);

	if (j == NULL) {		/* not JSON: the upstream reports and drops it */
		char *buf = malloc(len + 1);
		if (buf) {
			memcpy(buf, data, len);
			buf[len] = '\0';
			inq_push(t, buf, len);
		}
		return;
	}
	if (json_is_array(j)) {		/* a batch (2025-03-26): one message at a time */
		size_t i;
		json_t *e;
		json_array_foreach(j, i, e)
			incoming_one(t, s, e, NULL, 0);
	} else
		incoming_one(t, s, j, data, len);
	json_decref(j);
}

/* A mark in the incoming queue: a dropped overlong message, or a renewed session. */
static void
inq_mark(struct remote *t, int renewed)
{
	struct in_msg *m = calloc(1, sizeof *m);
	if (m == NULL)
		return;
	m->renewed = renewed != 0;
	*t->inq_tail = m;
	t->inq_tail = &m->next;
	remote_kick(t);
}

/* ---- closing ---- */

static void
stream_free(struct stream *s)
{
	if (s == NULL)
		return;
	http_req_cancel(s->req);
	if (s->timer)
		event_free(s->timer);
	out_free(s->msg);
	free(s->last_id);
	free(s->buf);
	sse_free(s->sse);
	free(s->location);
	free(s->endpoint);
	free(s->www_auth);
	free(s);
}

static void
stream_unlink(struct remote *t, struct stream *s)
{
	for (struct stream **p = &t->streams; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	if (s->kind == ST_POST && t->nposts > 0)
		t->nposts--;
	if (t->get == s)
		t->get = NULL;
}

static void
streams_cancel(struct remote *t, int keep_delete)
{
	struct stream *s = t->streams, *next, *keep = NULL;

	t->streams = NULL;
	for (; s; s = next) {
		next = s->next;
		if (keep_delete && s->kind == ST_DELETE) {
			s->next = keep;
			keep = s;
			continue;
		}
		stream_free(s);
	}
	t->streams = keep;
	t->nposts = 0;
	t->get = NULL;
}

/* The server is gone for good: every stream ends; closed goes to the upstream from the loop. */
static void
remote_close(struct remote *t, const char *why)
{
	if (t->closing)
		return;
	t->closing = 1;
	snprintf(t->closed_why, sizeof t->closed_why, "%s", why);
	redact(t, t->closed_why, sizeof t->closed_why);
	remote_set_state(t, REMOTE_CLOSED);
	streams_cancel(t, 0);
	evtimer_del(t->ev_retry);
	while (t->outq)
		out_free(outq_pop(t));
	remote_kick(t);
}

/* ---- requests ---- */

static struct stream *
stream_new(struct remote *t, enum stream_kind kind, struct out_msg *msg)
{
	struct stream *s = calloc(1, sizeof *s);
	if (s == NULL) {
		out_free(msg);
		return NULL;
	}
	s->t = t;
	s->kind = kind;
	s->msg = msg;
	s->next = t->streams;
	t->streams = s;
	if (kind == ST_POST)
		t->nposts++;
	return s;
}

static struct curl_slist *
hdr(struct curl_slist *l, const char *name, const char *value)
{
	char *line;
	struct curl_slist *n;

	if (l == NULL && name == NULL)
		return NULL;
	if (asprintf(&line, "%s: %s", name, value) < 0)
		return l;
	n = curl_slist_append(l, line);
	explicit_bzero(line, strlen(line));
	free(line);
	return n ? n : l;
}

static const char *const owned[] = { "host", "content-type", "content-length", "accept",
	"mcp-session-id", "mcp-protocol-version", "last-event-id", "transfer-encoding", "connection",
	"expect", NULL };

static int
owned_header(const char *name)
{
	for (int i = 0; owned[i]; i++)
		if (strcasecmp(name, owned[i]) == 0)
			return 1;
	return 0;
}

/* The headers of one request. AUTH_PENDING: try again when the plugin is ready. */
static enum auth_result
stream_headers(struct stream *s, struct curl_slist **out, char *err, size_t errlen)
{
	struct remote *t = s->t;
	struct curl_slist *l = NULL;
	enum auth_result ar;
	int initialize = s->kind == ST_POST && s->msg && s->msg->method &&
	    strcmp(s->msg->method, "initialize") == 0;

	*out = NULL;
	ar = auth_headers(t->auth, &t->auth_hdrs, err, errlen);
	if (ar != AUTH_OK)
		return ar;
	switch (s->kind) {
	case ST_POST:
		l = hdr(l, "Content-Type", "application/json");
		l = hdr(l, "Accept", "application/json, text/event-stream");
		l = hdr(l, "Expect", "");	/* no 100-continue round trip */
		break;
	case ST_GET:
	case ST_RESUME:
	case ST_LEGACY:
		l = hdr(l, "Accept", "text/event-stream");
		l = hdr(l, "Cache-Control", "no-cache");
		if (s->last_id && *s->last_id)
			l = hdr(l, "Last-Event-ID", s->last_id);
		break;
	case ST_DELETE:
		break;
	}
	if (t->legacy && s->kind == ST_POST)
		s->session_sent = 1;	/* the session is in the endpoint's URL */
	if (!t->legacy && !initialize) {
		if (t->session) {
			l = hdr(l, "Mcp-Session-Id", t->session);
			s->session_sent = 1;
		}
		if (t->version)
			l = hdr(l, "MCP-Protocol-Version", t->version);
	}
	for (size_t i = 0; i < t->cfg->nheaders; i++)
		if (!owned_header(t->cfg->headers[i].key))
			l = hdr(l, t->cfg->headers[i].key, t->cfg->headers[i].value);
	for (size_t i = 0; i < t->auth_hdrs.n; i++) {
		secret_add(t, t->auth_hdrs.value[i]);
		l = hdr(l, t->auth_hdrs.name[i], t->auth_hdrs.value[i]);
	}
	auth_headers_clear(&t->auth_hdrs);
	*out = l;
	return AUTH_OK;
}

static int stream_response_cb(void *, struct http_req *, long);
static int stream_body_cb(void *, const char *, size_t);
static void stream_done_cb(void *, enum http_result, const char *);

static void
stream_start_cb(evutil_socket_t fd, short what, void *arg)
{
	stream_start(arg);
}

/* Starts s after delay_ms (0: now). */
static void
stream_later(struct stream *s, long delay_ms)
{
	struct timeval tv = tv_ms(delay_ms);
	if (s->timer == NULL && (s->timer = evtimer_new(s->t->evb, stream_start_cb, s)) == NULL) {
		stream_start(s);
		return;
	}
	evtimer_add(s->timer, &tv);
}

static void stream_finish(struct stream *, enum http_result, const char *);

static void
stream_start(struct stream *s)
{
	struct remote *t = s->t;
	static const struct http_req_cbs cbs = { stream_response_cb, stream_body_cb, stream_done_cb };
	struct http_req_opts o = { 0 };
	char err[400];
	enum auth_result ar;
	const struct config_server *cfg = t->cfg;

	s->wait_auth = 0;
	ar = stream_headers(s, &o.headers, err, sizeof err);
	if (ar == AUTH_PENDING) {
		s->wait_auth = 1;
		return;
	}
	if (ar == AUTH_ERROR || ar == AUTH_SIGNIN) {
		stream_unlink(t, s);
		if (ar == AUTH_SIGNIN)
			t->signin = 1;
		stream_finish(s, HTTP_ERR_ABORTED, err);
		stream_free(s);
		/* A sign-in is a person's business: the transport ends (the upstream says so to its
		 * client) and comes back once the plugin's credentials changed. */
		if (ar == AUTH_SIGNIN)
			remote_close(t, err);
		return;
	}
	s->status = 0;
	s->body = BODY_IGNORE;
	s->len = 0;
	s->session_lost = s->auth_refused = s->overlong = 0;
	s->fail[0] = '\0';
	free(s->location);
	s->location = NULL;
	free(s->www_auth);
	s->www_auth = NULL;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	o.url = t->url;
	o.connect_timeout_ms = cfg->startup_timeout_ms > 0 && cfg->startup_timeout_ms < REMOTE_CONNECT_MS ?
	    cfg->startup_timeout_ms : REMOTE_CONNECT_MS;
	o.ca_file = cfg->tls_ca_file;
	o.unix_socket = cfg->unix_socket;
	o.cert_file = cfg->tls_cert_file;
	o.key_file = cfg->tls_key_file;
	switch (s->kind) {
	case ST_POST:
		o.method = HTTP_POST;
		o.body = s->msg->buf;
		o.body_len = s->msg->len;
		if (t->legacy && t->endpoint)
			o.url = t->endpoint;
		o.idle_timeout_ms = (s->msg->method && strcmp(s->msg->method, "initialize") == 0 ?
		    cfg->startup_timeout_ms : cfg->timeout_ms) + REMOTE_IDLE_EXTRA_MS;
		break;
	case ST_GET:
	case ST_RESUME:
	case ST_LEGACY:
		o.method = HTTP_GET;
		break;
	case ST_DELETE:
		o.method = HTTP_DELETE;
		o.total_timeout_ms = REMOTE_DELETE_MS;
		break;
	}
	s->req = http_req_start(t->http, &o, &cbs, s, err, sizeof err);
	if (s->req == NULL) {
		stream_unlink(t, s);
		stream_finish(s, HTTP_ERR_ABORTED, err);
		stream_free(s);
	}
}

/* Sends one message now (the caller checked that it may). */
static void
remote_post(struct remote *t, struct out_msg *m)
{
	struct stream *s;

	if (m->method && strcmp(m->method, "notifications/initialized") == 0)
		t->barrier = 1;
	if (t->legacy && m->id && !m->internal && t->inflight)
		hmap_put(t->inflight, m->id, t);
	if ((s = stream_new(t, ST_POST, m)) == NULL)
		return;
	stream_start(s);
}

static int
remote_may_send(struct remote *t)
{
	return t->state == REMOTE_OPEN && !t->barrier && t->nposts < REMOTE_MAX_POSTS;
}

static void
remote_flush(struct remote *t)
{
	while (t->outq && remote_may_send(t))
		remote_post(t, outq_pop(t));
}

/* ---- the GET streams ---- */

static void
remote_open_get(struct remote *t, long delay_ms)
{
	struct stream *s;

	if (t->legacy || !t->initialized || t->get_disabled || t->get || t->state != REMOTE_OPEN)
		return;
	if ((s = stream_new(t, ST_GET, NULL)) == NULL)
		return;
	t->get = s;
	if (t->get_last_id)
		s->last_id = strdup(t->get_last_id);
	if (delay_ms > 0)
		stream_later(s, delay_ms);
	else
		stream_start(s);
}

static void
remote_open_legacy(struct remote *t, long delay_ms)
{
	struct stream *s;

	if (t->get)
		return;
	if ((s = stream_new(t, ST_LEGACY, NULL)) == NULL)
		return;
	t->get = s;
	free(t->endpoint);
	t->endpoint = NULL;
	if (t->inflight == NULL)
		t->inflight = hmap_new();
	if (delay_ms > 0)
		stream_later(s, delay_ms);
	else
		stream_start(s);
}

/* ---- recovery ---- */

static void
recover_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote *t = arg;
	struct out_msg *m;

	if (t->state != REMOTE_RECOVERING)
		return;
	switch (t->rec) {
	case REC_WAIT:
		if (t->legacy) {
			if (t->get) {		/* a stream of the failed attempt */
				struct stream *g = t->get;
				stream_unlink(t, g);
				stream_free(g);
			}
			t->rec = REC_CONNECT;
			remote_open_legacy(t, 0);
			return;
		}
		/* a new Streamable HTTP session: our copy of the upstream's initialize */
		t->rec = REC_INIT;
		t->rec_init_done = t->rec_init_failed = 0;
		free(t->session);
		t->session = NULL;
		if ((m = out_copy(t->init)) == NULL) {
			remote_close(t, "out of memory");
			return;
		}
		free(t->swallow_id);
		t->swallow_id = m->id ? strdup(m->id) : NULL;
		{
			struct stream *s = stream_new(t, ST_POST, m);
			if (s) {
				s->reinit = 1;
				stream_start(s);
			}
		}
		return;
	case REC_RETRY:
		/* the server was unreachable: try the waiting messages again as they are */
		t->rec = REC_NONE;
		remote_set_state(t, REMOTE_OPEN);
		remote_flush(t);
		return;
	default:
		return;
	}
}

static void
recover_schedule(struct remote *t, enum remote_rec step, const char *why)
{
	struct timeval tv;

	if (t->rec_tries >= REMOTE_RECOVER_TRIES) {
		char w[300];
		snprintf(w, sizeof w, "%s (gave up after %u attempts)", why, t->rec_tries);
		remote_close(t, w);
		return;
	}
	tv = tv_ms(recover_delays_ms[t->rec_tries++]);
	t->rec = step;
	evtimer_add(t->ev_retry, &tv);
}

struct id_list {
	char **v;
	size_t n;
};

static void
id_collect(const char *k, void *v, void *arg)
{
	struct id_list *l = arg;
	if ((l->v[l->n] = strdup(k)) != NULL)
		l->n++;
}

/* Legacy: the session was the event stream; answers to requests in flight are lost with it. */
static void
legacy_fail_inflight(struct remote *t, const char *why)
{
	struct id_list l = { NULL, 0 };
	size_t n = t->inflight ? hmap_count(t->inflight) : 0;
	char w[400];

	if (n == 0 || (l.v = calloc(n, sizeof *l.v)) == NULL)
		return;
	hmap_foreach(t->inflight, id_collect, &l);
	hmap_clear(t->inflight);
	snprintf(w, sizeof w, "server '%s': the event stream broke before the response (%s); "
	    "the request may or may not have run", t->name, why);
	for (size_t i = 0; i < l.n; i++) {
		reply_error(t, l.v[i], w);
		free(l.v[i]);
	}
	free(l.v);
}

/* session_lost: 1 = the server forgot our session (a new one is needed); 0 = it could not be
 * reached (try again as is); -1 = a recovery step failed (why says which). */
static void
remote_recover(struct remote *t, const char *why, int session_lost)
{
	if (t->closing || t->state == REMOTE_STOPPING)
		return;
	if (t->legacy && session_lost == 0)
		session_lost = 1;	/* the event stream, and so the session, went with the server */
	if (t->init == NULL || t->state == REMOTE_PROBING || t->state == REMOTE_SSE_CONNECTING ||
	    t->state == REMOTE_IDLE) {
		remote_close(t, why);
		return;
	}
	if (session_lost < 0) {
		recover_schedule(t, REC_WAIT, why);
		log_warn(t->name, "%s", why);
		return;
	}
	if (t->state == REMOTE_RECOVERING) {
		if (session_lost && t->rec == REC_RETRY) {	/* it is back, without our session */
			evtimer_del(t->ev_retry);
			t->rec = REC_WAIT;
			recover_timer_cb(-1, 0, t);
		}
		return;
	}
	remote_set_state(t, REMOTE_RECOVERING);
	t->barrier = 0;
	if (t->get) {		/* the GET stream belongs to the old session */
		struct stream *g = t->get;
		stream_unlink(t, g);
		stream_free(g);
	}
	if (t->legacy)
		legacy_fail_inflight(t, why);
	if (session_lost) {
		log_info(t->name, "%s: starting a new session", why);
		t->rec_tries = 0;
		if (t->legacy)
			recover_schedule(t, REC_WAIT, why);
		else {
			t->rec = REC_WAIT;
			recover_timer_cb(-1, 0, t);
		}
	} else {
		log_warn(t->name, "%s: trying again", why);
		recover_schedule(t, REC_RETRY, why);
	}
}

/* The recovery's initialize was answered: send notifications/initialized. */
static void
recover_initialized(struct remote *t)
{
	static const char note[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
	struct out_msg *m = out_new(note, sizeof note - 1);

	if (m == NULL) {
		remote_close(t, "out of memory");
		return;
	}
	m->internal = 1;
	t->rec = REC_INITIALIZED;
	t->barrier = 1;
	struct stream *s = stream_new(t, ST_POST, m);
	if (s)
		stream_start(s);
}

static void
recover_done(struct remote *t)
{
	static const char *const notes[] = { "tools", "prompts", "resources" };

	t->rec = REC_NONE;
	t->rec_tries = 0;
	t->barrier = 0;
	remote_set_state(t, REMOTE_OPEN);
	log_info(t->name, "new session ready%s%s", t->outq ? "; sending the waiting messages" : "",
	    t->legacy ? " (sse)" : "");
	/* The new session knows nothing of the old one's log level and subscriptions. */
	inq_mark(t, 1);
	/* The server may have changed while it was away: the upstream fetches its lists again. */
	for (unsigned i = 0; i < 3; i++)
		if (t->rec_caps & (1u << i)) {
			char *buf;
			if (asprintf(&buf, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/%s/list_changed\"}",
			    notes[i]) >= 0)
				inq_push(t, buf, strlen(buf));
		}
	t->rec_caps = 0;
	remote_open_get(t, 0);
	remote_flush(t);
}

/* ---- stream callbacks (inside libcurl: record, queue, never call curl or the upstream) ---- */

static int
stream_event_cb(void *arg, const struct sse_event *ev)
{
	struct stream *s = arg;
	struct remote *t = s->t;

	s->events++;
	if (s->kind == ST_GET || s->kind == ST_RESUME)
		s->resumes = 0;		/* progress */
	if (s->kind == ST_LEGACY && strcmp(ev->type, "endpoint") == 0) {
		free(s->endpoint);
		s->endpoint = strndup(ev->data, ev->data_len < 4096 ? ev->data_len : 4096);
		remote_kick(t);
		return 0;
	}
	if (strcmp(ev->type, "message") != 0 || ev->data_len == 0)
		return 0;	/* other event types, and priming events (an id, no data) */
	incoming(t, s, ev->data, ev->data_len);
	return 0;
}

static int
stream_response_cb(void *arg, struct http_req *req, long status)
{
	struct stream *s = arg;
	struct remote *t = s->t;
	const char *ct = http_req_content_type(req);

	s->status = status;
	if (status >= 200 && status < 300) {
		if (s->kind == ST_POST && s->msg->method && strcmp(s->msg->method, "initialize") == 0 &&
		    !t->legacy) {
			const char *sid = http_req_header(req, "mcp-session-id");
			if (sid) {
				if (!visible_ascii(sid, REMOTE_MAX_SESSION)) {
					snprintf(s->fail, sizeof s->fail, "the server sent an invalid Mcp-Session-Id");
					return -1;
				}
				free(t->session);
				t->session = strdup(sid);
			}
		}
		if (ct_is(ct, "text/event-stream")) {
			struct sse_opts so = { REMOTE_MAX_LINE, REMOTE_MAX_MSG, REMOTE_MAX_ID, REMOTE_RETRY_MIN_MS,
				REMOTE_RETRY_MAX_MS };
			s->body = BODY_SSE;
			sse_free(s->sse);
			if ((s->sse = sse_new(&so)) == NULL)
				return -1;
		} else if (ct_is(ct, "application/json") && s->kind == ST_POST)
			s->body = BODY_JSON;
		else
			s->body = BODY_IGNORE;
		return 0;
	}
	if (status >= 300 && status < 400) {
		const char *loc = http_req_header(req, "location");
		if (loc)
			s->location = strndup(loc, 4096);
	}
	if (s->session_sent && (status == 404 || status == 400))
		s->session_lost = status == 404 ? 1 : 2;	/* 2: only if the body says "session" */
	if (status == 401 || status == 403) {
		const char *w = http_req_header(req, "www-authenticate");
		s->auth_refused = 1;
		free(s->www_auth);
		s->www_auth = w ? strndup(w, 8192) : NULL;
	}
	s->body = BODY_ERROR;
	return 0;
}

static int
stream_body_cb(void *arg, const char *buf, size_t len)
{
	struct stream *s = arg;
	struct remote *t = s->t;
	int rc;

	switch (s->body) {
	case BODY_JSON:
		if (t->paused && t->inq_bytes > REMOTE_MAX_INQ)
			return HTTP_PAUSE;
		if (s->len + len > REMOTE_MAX_MSG) {
			s->overlong = 1;
			snprintf(s->fail, sizeof s->fail, "response over the size bound (%u bytes)", REMOTE_MAX_MSG);
			return -1;
		}
		/* fallthrough */
	case BODY_ERROR: {
		size_t keep = len;
		char *p;
		if (s->body == BODY_ERROR) {
			if (s->len >= REMOTE_MAX_ERRBODY)
				return 0;
			if (keep > REMOTE_MAX_ERRBODY - s->len)
				keep = REMOTE_MAX_ERRBODY - s->len;
		}
		if ((p = realloc(s->buf, s->len + keep + 1)) == NULL)
			return -1;
		s->buf = p;
		memcpy(s->buf + s->len, buf, keep);
		s->len += keep;
		s->buf[s->len] = '\0';
		return 0;
	}
	case BODY_SSE:
		if (t->paused && t->inq_bytes > REMOTE_MAX_INQ)
			return HTTP_PAUSE;
		rc = sse_feed(s->sse, buf, len, stream_event_cb, s);
		if (rc != SSE_OK) {
			s->overlong = rc == SSE_ERR_EVENT || rc == SSE_ERR_LINE;
			snprintf(s->fail, sizeof s->fail, "%s", sse_strerror(rc));
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- when a request ends ---- */

/* "HTTP 500" and, when the body is a JSON-RPC error, its message. */
static void
status_text(struct stream *s, char *out, size_t outlen)
{
	json_t *j = s->buf ? json_loadb(s->buf, s->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));

	if (m)
		snprintf(out, outlen, "HTTP %ld: %.160s", s->status, m);
	else
		snprintf(out, outlen, "HTTP %ld", s->status);
	json_decref(j);
	redact(s->t, out, outlen);
}

static int
body_mentions_session(struct stream *s)
{
	return s->buf && strcasestr(s->buf, "session") != NULL;
}

/* A same-origin redirect: 1 when followed (URL updated), 0 when not one, -1 refused (why). */
static int
stream_redirect(struct stream *s, char *why, size_t whylen)
{
	struct remote *t = s->t;
	const char *base = s->kind == ST_POST && t->legacy && t->endpoint ? t->endpoint : t->url;
	char *to, shown[300];

	if (s->status < 300 || s->status >= 400 || s->location == NULL)
		return 0;
	if (s->kind == ST_POST && s->status != 307 && s->status != 308) {
		snprintf(why, whylen, "the server answered a POST with a redirect (HTTP %ld) that would "
		    "turn it into a GET; set url to the final address", s->status);
		return -1;
	}
	if ((to = http_url_resolve(base, s->location)) == NULL) {
		snprintf(why, whylen, "the server redirected (HTTP %ld) to an invalid location", s->status);
		return -1;
	}
	http_url_for_log(to, shown, sizeof shown);
	if (!http_url_same_origin(base, to)) {
		snprintf(why, whylen, "the server redirected to another origin (%s); not followed: "
		    "credentials stay with their server", shown);
		free(to);
		return -1;
	}
	if (++s->redirects > REMOTE_MAX_REDIRECTS || (s->msg && ++s->msg->redirects > REMOTE_MAX_REDIRECTS)) {
		snprintf(why, whylen, "too many redirects");
		free(to);
		return -1;
	}
	log_info(t->name, "the server moved (HTTP %ld): now using %s", s->status, shown);
	if (s->kind == ST_POST && t->legacy && t->endpoint) {
		free(t->endpoint);
		t->endpoint = to;
	} else {
		free(t->url);
		t->url = to;
	}
	return 1;
}

/* The server answered a request stream without the response: resume with Last-Event-ID. */
static int
stream_resume(struct stream *s)
{
	struct remote *t = s->t;
	const char *last = s->sse && *sse_last_id(s->sse) ? sse_last_id(s->sse) : s->last_id;
	long retry = s->sse && sse_retry_ms(s->sse) >= 0 ? sse_retry_ms(s->sse) : REMOTE_RETRY_MS;
	struct stream *r;

	if (t->legacy || last == NULL || *last == '\0' || s->msg == NULL ||
	    s->resumes >= REMOTE_MAX_RESUMES)
		return 0;
	if ((r = stream_new(t, ST_RESUME, s->msg)) == NULL)
		return 0;
	s->msg = NULL;
	r->last_id = strdup(last);
	r->resumes = s->resumes + 1;
	log_debug(t->name, "response stream ended early; resuming after event %.60s in %ld ms", last, retry);
	stream_later(r, retry);
	return 1;
}

static void
post_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	struct out_msg *m = s->msg;
	char why[400];
	int first_init = t->state == REMOTE_PROBING && !s->reinit && m->method &&
	    strcmp(m->method, "initialize") == 0;
	int is_initialized = m->method && strcmp(m->method, "notifications/initialized") == 0;
	int r;

	if (is_initialized)
		t->barrier = 0;
	if (s->body == BODY_JSON && s->len > 0 && !s->overlong)
		incoming(t, s, s->buf, s->len);
	if (s->overlong)
		inq_mark(t, 0);

	/* nothing reached the server */
	if (res == HTTP_ERR_CONNECT || res == HTTP_ERR_TLS) {
		char shown[300];
		http_url_for_log(t->url, shown, sizeof shown);
		snprintf(why, sizeof why, "cannot connect to %s: %s", shown, err);
		redact(t, why, sizeof why);
		if (first_init || res == HTTP_ERR_TLS) {
			s->msg = NULL;
			out_free(m);
			remote_close(t, why);
			return;
		}
		s->msg = NULL;
		if (s->reinit || m->internal) {
			out_free(m);
			remote_recover(t, why, -1);
			return;
		}
		outq_push(t, m, 1);	/* not sent: safe to send again */
		remote_recover(t, why, 0);
		return;
	}
	if (res == HTTP_ERR_ABORTED && s->status == 0) {	/* never started (credentials, memory) */
		s->msg = NULL;
		if (first_init) {
			out_free(m);
			remote_close(t, err);
		} else
			fail_msg(t, m, err);
		return;
	}
	if (s->status >= 200 && s->status < 300) {
		t->rec_tries = t->state == REMOTE_RECOVERING ? t->rec_tries : 0;
		if (first_init) {
			remote_set_kind(t, KIND_STREAMABLE, NULL);
			remote_set_state(t, REMOTE_OPEN);
		}
		if (s->reinit) {
			s->msg = NULL;
			out_free(m);
			if (t->rec_init_done)
				recover_initialized(t);
			else {
				snprintf(why, sizeof why, "server '%s': the new session's initialize got %s", t->name,
				    t->rec_init_failed ? "an error" : "no answer");
				remote_recover(t, why, -1);
			}
			return;
		}
		if (m->internal && is_initialized) {
			s->msg = NULL;
			out_free(m);
			recover_done(t);
			return;
		}
		if (is_initialized)
			t->initialized = 1;
		if (t->state == REMOTE_OPEN)
			remote_open_get(t, 0);
		if (m->id && !s->got_response && !t->legacy) {
			if (stream_resume(s))
				return;
			if (s->fail[0])
				snprintf(why, sizeof why, "server '%s': %s", t->name, s->fail);
			else if (res == HTTP_ERR_TIMEOUT)
				snprintf(why, sizeof why, "server '%s' sent nothing for too long", t->name);
			else if (res != HTTP_DONE)
				snprintf(why, sizeof why, "server '%s': the connection broke before the response (%s)",
				    t->name, err);
			else if (s->body == BODY_IGNORE)
				snprintf(why, sizeof why, "server '%s' answered HTTP %ld without a JSON or event-stream "
				    "body", t->name, s->status);
			else
				snprintf(why, sizeof why, "server '%s' ended the response without answering", t->name);
			s->msg = NULL;
			fail_msg(t, m, why);
			if (first_init)
				remote_close(t, why);
		}
		remote_flush(t);
		return;
	}
	if (s->status == 0) {		/* the transfer broke before any status */
		snprintf(why, sizeof why, "server '%s': %s", t->name, s->fail[0] ? s->fail : err);
		s->msg = NULL;
		if (first_init) {
			out_free(m);
			remote_close(t, why);
		} else if (s->reinit || m->internal) {
			out_free(m);
			remote_recover(t, why, -1);
		} else
			fail_msg(t, m, why);
		return;
	}
	status_text(s, why, sizeof why);
	/* the session is gone: a new one, then this message again */
	if (s->session_lost == 1 || (s->session_lost == 2 && body_mentions_session(s))) {
		char w[300];
		s->msg = NULL;
		if (m->retried || m->internal) {
			snprintf(w, sizeof w, "server '%s' lost the session again right after a new one (%.160s)",
			    t->name, why);
			out_free(m);
			remote_close(t, w);
			return;
		}
		m->retried = 1;
		if (t->legacy && m->id && t->inflight)
			hmap_del(t->inflight, m->id);
		outq_push(t, m, 1);
		snprintf(w, sizeof w, "session lost (%.200s)", why);
		remote_recover(t, w, 1);
		return;
	}
	if ((r = stream_redirect(s, why, sizeof why)) != 0) {
		s->msg = NULL;
		if (r > 0) {
			outq_push(t, m, 1);
			if (first_init)
				remote_post(t, outq_pop(t));
			else
				remote_flush(t);
		} else if (first_init) {
			out_free(m);
			remote_close(t, why);
		} else
			fail_msg(t, m, why);
		return;
	}
	if (s->auth_refused) {
		char w[400];
		auth_challenge(t->auth, (int)s->status, s->www_auth);
		s->msg = NULL;
		if (!m->auth_retried) {		/* once more with fresh credentials */
			m->auth_retried = 1;
			outq_push(t, m, 1);
			if (first_init)
				remote_post(t, outq_pop(t));
			else
				remote_flush(t);
			return;
		}
		snprintf(w, sizeof w, "server '%s' refused the credentials of auth plugin %s (%.200s)", t->name,
		    auth_plugin_name(t->auth), why);
		if (first_init) {
			out_free(m);
			remote_close(t, w);
		} else
			fail_msg(t, m, w);
		return;
	}
	/* auto: no Streamable HTTP here; the legacy transport, as the specification says */
	if (first_init && t->want == KIND_AUTO &&
	    (s->status == 400 || s->status == 404 || s->status == 405)) {
		snprintf(t->streamable_err, sizeof t->streamable_err, "%.190s", why);
		log_debug(t->name, "initialize POST got %s: trying the legacy HTTP+SSE transport", why);
		s->msg = NULL;
		outq_push(t, m, 1);
		t->legacy = 1;
		remote_set_state(t, REMOTE_SSE_CONNECTING);
		remote_open_legacy(t, 0);
		return;
	}
	{
		char w[450];
		snprintf(w, sizeof w, "server '%s' answered %s", t->name, why);
		s->msg = NULL;
		if (first_init) {
			out_free(m);
			remote_close(t, w);
		} else if (s->reinit || m->internal) {
			out_free(m);
			remote_recover(t, w, -1);
		} else
			fail_msg(t, m, w);
	}
}

/* A standalone GET stream or a resumption ended. */
static void
get_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	char why[300];
	long delay;

	if (s->sse && *sse_last_id(s->sse) && s->kind == ST_GET) {
		free(t->get_last_id);
		t->get_last_id = strdup(sse_last_id(s->sse));
	}
	if (s->overlong)
		inq_mark(t, 0);
	if (s->status >= 200 && s->status < 300 && s->body != BODY_SSE) {
		snprintf(why, sizeof why, "HTTP %ld without an event stream", s->status);
		s->status = 0;
		res = HTTP_ERR_TRANSFER;
		err = why;
	}
	if (s->kind == ST_RESUME) {
		if (s->got_response)
			return;
		if (s->session_lost == 1 || (s->session_lost == 2 && body_mentions_session(s))) {
			fail_msg(t, s->msg, "the server lost the session while the request ran");
			s->msg = NULL;
			remote_recover(t, "session lost", 1);
			return;
		}
		if (s->status >= 200 && s->status < 300 && stream_resume(s))
			return;
		if (res == HTTP_ERR_CONNECT && stream_resume(s))
			return;
		if (s->status >= 300)
			status_text(s, why, sizeof why);
		else
			snprintf(why, sizeof why, "%s", res == HTTP_DONE ? "stream ended" : err);
		{
			char w[400];
			snprintf(w, sizeof w, "server '%s': the response was lost (resuming it failed: %s)", t->name, why);
			fail_msg(t, s->msg, w);
			s->msg = NULL;
		}
		return;
	}
	/* ST_GET */
	if (t->state != REMOTE_OPEN)
		return;
	if (s->status == 405) {
		log_debug(t->name, "the server offers no GET stream (HTTP 405)");
		t->get_disabled = 1;
		return;
	}
	if (s->session_lost == 1 || (s->session_lost == 2 && body_mentions_session(s))) {
		remote_recover(t, "session lost (the GET stream got HTTP 404)", 1);
		return;
	}
	if (s->auth_refused)
		auth_challenge(t->auth, (int)s->status, s->www_auth);
	if (s->events > 0 && util_ms_since(&s->started) > 5000)
		t->get_failures = 0;
	else
		t->get_failures++;
	delay = s->sse && sse_retry_ms(s->sse) >= 0 ? sse_retry_ms(s->sse) : REMOTE_RETRY_MS;
	for (int i = 1; i < t->get_failures && delay < REMOTE_GET_MAX_MS; i++)
		delay *= 2;
	if (delay > REMOTE_GET_MAX_MS)
		delay = REMOTE_GET_MAX_MS;
	if (s->status >= 300)
		status_text(s, why, sizeof why);
	else
		snprintf(why, sizeof why, "%s", res == HTTP_DONE ? "ended" : err);
	log_debug(t->name, "GET stream %s; again in %ld ms", why, delay);
	remote_open_get(t, delay);
}

/* The legacy GET stream ended (or failed to open). */
static void
legacy_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	char why[300], w[600];

	if (s->overlong)
		inq_mark(t, 0);
	if (s->status >= 300)
		status_text(s, why, sizeof why);
	else if (s->status >= 200 && s->body != BODY_SSE)
		snprintf(why, sizeof why, "HTTP %ld without an event stream", s->status);
	else if (res == HTTP_DONE)
		snprintf(why, sizeof why, "the event stream ended");
	else
		snprintf(why, sizeof why, "%s", s->fail[0] ? s->fail : err);
	redact(t, why, sizeof why);
	if (s->status >= 300 && s->status < 400 && stream_redirect(s, w, sizeof w) > 0) {
		remote_open_legacy(t, 0);
		return;
	}
	if (s->auth_refused)
		auth_challenge(t->auth, (int)s->status, s->www_auth);
	if (t->state == REMOTE_SSE_CONNECTING) {
		if (t->streamable_err[0])
			snprintf(w, sizeof w, "server '%s' speaks neither transport: streamable-http: %s; sse: %s",
			    t->name, t->streamable_err, why);
		else
			snprintf(w, sizeof w, "server '%s' (sse): %s", t->name, why);
		remote_close(t, w);
		return;
	}
	if (t->state == REMOTE_RECOVERING) {
		snprintf(w, sizeof w, "server '%s' (sse): %s", t->name, why);
		recover_schedule(t, REC_WAIT, w);
		return;
	}
	if (t->state != REMOTE_OPEN)
		return;
	snprintf(w, sizeof w, "event stream lost (%s)", why);
	remote_recover(t, w, 1);
}

static void
delete_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	char w[300];

	snprintf(w, sizeof w, "server '%s' stopped", t->name);
	remote_close(t, w);
}

/* A stream ended: it is unlinked, and freed by the caller afterwards. */
static void
stream_finish(struct stream *s, enum http_result res, const char *err)
{
	switch (s->kind) {
	case ST_POST:
		post_done(s, res, err);
		break;
	case ST_GET:
	case ST_RESUME:
		get_done(s, res, err);
		break;
	case ST_LEGACY:
		legacy_done(s, res, err);
		break;
	case ST_DELETE:
		delete_done(s, res, err);
		break;
	}
}

static void
stream_done_cb(void *arg, enum http_result res, const char *err)
{
	struct stream *s = arg;
	struct remote *t = s->t;

	s->req = NULL;		/* already freed by the http module */
	stream_unlink(t, s);
	stream_finish(s, res, err);
	stream_free(s);
	remote_flush(t);
}

/* ---- the loop side: endpoint events, credentials, delivery, closed ---- */

static void
remote_endpoint(struct remote *t, struct stream *s)
{
	char *to = http_url_resolve(t->url, s->endpoint), shown[300];

	free(s->endpoint);
	s->endpoint = NULL;
	if (to == NULL || !http_url_same_origin(t->url, to)) {
		char w[400];
		if (to)
			http_url_for_log(to, shown, sizeof shown);
		snprintf(w, sizeof w, "server '%s' (sse) named an endpoint %s%s; refused", t->name,
		    to ? "on another origin: " : "that is not a valid URL", to ? shown : "");
		free(to);
		remote_close(t, w);
		return;
	}
	free(t->endpoint);
	t->endpoint = to;
	http_url_for_log(to, shown, sizeof shown);
	log_debug(t->name, "sse endpoint %s", shown);
	if (t->state == REMOTE_SSE_CONNECTING) {
		remote_set_kind(t, KIND_SSE, t->want == KIND_AUTO && t->streamable_err[0] ?
		    "(legacy HTTP+SSE; Streamable HTTP was refused)" : NULL);
		remote_set_state(t, REMOTE_OPEN);
		remote_flush(t);
	} else if (t->state == REMOTE_RECOVERING && t->rec == REC_CONNECT) {
		struct out_msg *m = out_copy(t->init);
		struct stream *p;
		if (m == NULL) {
			remote_close(t, "out of memory");
			return;
		}
		t->rec = REC_INIT;
		t->rec_init_done = t->rec_init_failed = 0;
		free(t->swallow_id);
		t->swallow_id = m->id ? strdup(m->id) : NULL;
		if ((p = stream_new(t, ST_POST, m)) != NULL)
			stream_start(p);
	}
}

static void
remote_destroy(struct remote *t)
{
	streams_cancel(t, 0);
	while (t->outq)
		out_free(outq_pop(t));
	while (t->inq) {
		struct in_msg *m = t->inq;
		t->inq = m->next;
		free(m->buf);
		free(m);
	}
	auth_free(t->auth);
	auth_headers_clear(&t->auth_hdrs);
	http_unref(t->http);
	event_free(t->ev_work);
	event_free(t->ev_retry);
	hmap_free(t->inflight);
	out_free(t->init);
	for (size_t i = 0; i < t->nsecrets; i++) {
		explicit_bzero(t->secrets[i], strlen(t->secrets[i]));
		free(t->secrets[i]);
	}
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
remote_work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote *t = arg;

	t->depth++;
	/* endpoint events (each handler may change the list: scan again after each) */
	for (int again = 1; again && !t->closing;) {
		again = 0;
		for (struct stream *s = t->streams; s; s = s->next)
			if (s->endpoint) {
				remote_endpoint(t, s);
				again = 1;
				break;
			}
	}
	if (t->state == REMOTE_RECOVERING && t->rec == REC_INIT && t->legacy && !t->closing) {
		if (t->rec_init_done) {
			t->rec_init_done = 0;
			recover_initialized(t);
		} else if (t->rec_init_failed)
			remote_recover(t, "the new session's initialize got an error", -1);
	}
	/* streams waiting for credentials: each tried once per pass */
	t->epoch++;
	for (int again = 1; again && !t->closing;) {
		again = 0;
		for (struct stream *s = t->streams; s; s = s->next)
			if (s->wait_auth && s->epoch != t->epoch) {
				s->epoch = t->epoch;
				stream_start(s);
				again = 1;
				break;
			}
	}
	if (!t->closing)
		remote_flush(t);
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
		t->cbs.closed(t->cbs.arg, t->closed_why, t->signin ? TRANSPORT_CLOSED_SIGNIN : -1);
	}
	t->depth--;
	if (t->freed && t->depth == 0)
		remote_destroy(t);
}

static void
remote_auth_ready(void *arg)
{
	remote_kick(arg);
}

/* ---- transport ops ---- */

static int
remote_send(struct transport *tr, const char *buf, size_t len)
{
	struct remote *t = (struct remote *)tr;
	struct out_msg *m;

	if (t->closing || t->freed || t->state == REMOTE_STOPPING)
		return -1;
	if (t->outq_n >= REMOTE_MAX_QUEUE_MSGS || t->outq_bytes + len > REMOTE_MAX_QUEUE)
		return -1;
	if ((m = out_new(buf, len)) == NULL)
		return -1;
	/* a cancelled request's response stream is of no more use */
	if (m->method && strcmp(m->method, "notifications/cancelled") == 0) {
		json_t *j = json_loadb(m->buf, m->len, 0, NULL);
		json_t *rid = json_object_get(json_object_get(j, "params"), "requestId");
		char *idtext = rid ? json_dumps(rid, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		for (struct stream *s = t->streams; idtext && s; s = s->next)
			if ((s->kind == ST_POST || s->kind == ST_RESUME) && s->msg && s->msg->id &&
			    strcmp(s->msg->id, idtext) == 0 && !t->legacy) {
				stream_unlink(t, s);
				stream_free(s);
				break;
			}
		free(idtext);
		json_decref(j);
	}
	if (m->method && strcmp(m->method, "initialize") == 0 && m->id) {
		out_free(t->init);
		t->init = out_copy(m);
		if (t->state == REMOTE_IDLE) {
			if (t->want == KIND_SSE) {
				remote_set_state(t, REMOTE_SSE_CONNECTING);
				outq_push(t, m, 0);
				remote_open_legacy(t, 0);
			} else {
				remote_set_state(t, REMOTE_PROBING);
				remote_post(t, m);
			}
			return 0;
		}
	}
	outq_push(t, m, 0);
	remote_flush(t);
	return 0;
}

static void
remote_set_version(struct transport *tr, const char *v)
{
	struct remote *t = (struct remote *)tr;

	if (v == NULL || !visible_ascii(v, 64))
		return;
	free(t->version);
	t->version = strdup(v);
}

static void
remote_stop(struct transport *tr)
{
	struct remote *t = (struct remote *)tr;
	char w[300];
	struct stream *s;

	if (t->closing || t->state == REMOTE_STOPPING)
		return;
	snprintf(w, sizeof w, "server '%s' stopped", t->name);
	streams_cancel(t, 0);
	evtimer_del(t->ev_retry);
	while (t->outq)
		out_free(outq_pop(t));
	if (t->legacy || t->session == NULL) {
		remote_close(t, w);
		return;
	}
	remote_set_state(t, REMOTE_STOPPING);
	if ((s = stream_new(t, ST_DELETE, NULL)) == NULL) {
		remote_close(t, w);
		return;
	}
	stream_start(s);
	if (s == t->streams && s->wait_auth) {	/* no waiting for a credential helper now */
		stream_unlink(t, s);
		stream_free(s);
		remote_close(t, w);
	}
}

static void
remote_pause(struct transport *tr, int paused)
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
	remote_kick(t);
}

static void
remote_free(struct transport *tr)
{
	struct remote *t = (struct remote *)tr;

	if (t == NULL || t->freed)
		return;
	t->freed = 1;
	streams_cancel(t, 0);		/* no callback of any kind from here on */
	evtimer_del(t->ev_retry);
	event_del(t->ev_work);
	if (t->depth == 0)
		remote_destroy(t);
}

static const struct transport_ops remote_ops_auto = {
	"auto", remote_send, remote_set_version, remote_stop, remote_pause, NULL, remote_free,
};
static const struct transport_ops remote_ops_streamable = {
	"streamable-http", remote_send, remote_set_version, remote_stop, remote_pause, NULL, remote_free,
};
static const struct transport_ops remote_ops_sse = {
	"sse", remote_send, remote_set_version, remote_stop, remote_pause, NULL, remote_free,
};

struct transport *
transport_http_new(struct event_base *base, const struct config_server *cfg,
    const struct transport_cbs *cbs, char *err, size_t errlen)
{
	struct remote *t;
	struct auth_cbs acbs;

	if (cfg->url == NULL) {
		snprintf(err, errlen, "server '%s' has no url", cfg->name);
		return NULL;
	}
	if (cfg->auth && !http_url_is_https(cfg->url) && !http_url_is_loopback(cfg->url)) {
		const char *p = json_string_value(json_object_get(cfg->auth, "plugin"));
		if (p && strcmp(p, "none") != 0) {
			snprintf(err, errlen, "server '%s': credentials (auth plugin %s) are only sent over https "
			    "(or to a loopback address); change url to https://", cfg->name, p);
			return NULL;
		}
	}
	if ((t = calloc(1, sizeof *t)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->evb = base;
	t->cfg = cfg;
	t->cbs = *cbs;
	t->want = cfg->transport == CONFIG_TRANSPORT_SSE ? KIND_SSE :
	    cfg->transport == CONFIG_TRANSPORT_STREAMABLE_HTTP ? KIND_STREAMABLE : KIND_AUTO;
	t->kind = KIND_AUTO;
	t->legacy = t->want == KIND_SSE;
	t->base.ops = t->want == KIND_SSE ? &remote_ops_sse : t->want == KIND_STREAMABLE ?
	    &remote_ops_streamable : &remote_ops_auto;
	t->outq_tail = &t->outq;
	t->inq_tail = &t->inq;
	t->name = strdup(cfg->name);
	t->url = strdup(cfg->url);
	t->ev_work = event_new(base, -1, 0, remote_work_cb, t);
	t->ev_retry = evtimer_new(base, recover_timer_cb, t);
	if (t->name == NULL || t->url == NULL || t->ev_work == NULL || t->ev_retry == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((t->http = http_ref(base)) == NULL) {
		snprintf(err, errlen, "cannot start libcurl");
		goto fail;
	}
	for (size_t i = 0; i < cfg->nheaders; i++) {
		secret_add(t, cfg->headers[i].value);
		if (owned_header(cfg->headers[i].key))
			log_warn(cfg->name, "headers: %s is set by the transport itself; ignored",
			    cfg->headers[i].key);
	}
	acbs.ready = remote_auth_ready;
	acbs.arg = t;
	if ((t->auth = auth_new(base, cfg, &acbs, err, errlen)) == NULL)
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
	remote_destroy(t);
	return NULL;
}
