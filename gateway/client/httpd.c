/* httpd.c: the service's Streamable HTTP endpoint on evhttp: request checks, sessions by
 * Mcp-Session-Id, POST answered with JSON or an SSE stream, the GET stream, DELETE, event ids
 * with a bounded replay per stream, and the bounds that keep one client from harming others.
 * Beside them on the same /mcp, the 2026-07-28 form: stateless POSTs checked against their
 * metadata headers, each served by a session of its own that lives as long as the request. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "hmap.h"
#include "http_guard.h"
#include "httpd.h"
#include "jsonfast.h"
#include "jsonrpc.h"
#include "log.h"
#include "modern.h"
#include "util.h"

#define WHO "httpd"

/* The protocol versions served statelessly, without initialize and session ids: newest first. */
static const char *const modern_versions[] = { MODERN_VERSION, NULL };

struct hsess;

struct event_rec {
	struct event_rec *next;
	uint64_t seq;
	size_t len;
	char text[];		/* "id: ...\ndata: ...\n\n" */
};

enum stream_kind { STREAM_POST, STREAM_GET };

struct stream {
	struct stream *next;		/* in the session's list */
	struct hsess *sess;
	enum stream_kind kind;
	unsigned no;			/* in event ids: "<no>-<seq>" */
	struct evhttp_request *req;	/* NULL while no client is attached */
	struct event *ev_eof;		/* stateless: watches for the client closing the connection */
	char *id;			/* POST: the request's id as compact JSON text */
	char *token;			/* POST: its progress token as compact JSON text, or NULL */
	int sse;			/* the reply is an SSE stream (headers sent) */
	int done;			/* POST: the response went out */
	uint64_t seq;
	struct event_rec *head, *tail;	/* replay, oldest first */
	size_t replay_len;
};

struct hsess {
	struct httpd *h;
	struct hsess *snext, *sprev;	/* stateless: in h->stateless */
	int stateless;			/* 2026-07-28: one request, no id given out, no GET stream */
	char id[33];
	void *backend;			/* NULL once closed */
	struct httpd_identity ident;
	char *token_name;
	struct stream *streams;
	struct stream *get;		/* the standalone stream, once opened */
	unsigned next_no;
	struct timespec used;
	int closing, close_pending;
	const char *close_why;
	struct event *ev_close;
};

struct conn {
	struct conn *next, *prev;
	struct httpd *h;
	struct evhttp_connection *evcon;
};

struct lsock {
	struct httpd *h;
	struct evhttp_bound_socket *bound;
	struct evconnlistener *lev;
	struct event *ev_resume;
	int tcp;
};

struct httpd {
	struct event_base *base;
	struct evhttp *http;
	struct httpd_backend be;
	struct httpd_limits lim;
	struct httpd_options opt;
	struct hmap *sessions;		/* id -> hsess */
	struct hsess *stateless;	/* the 2026-07-28 requests in flight */
	size_t nstateless;
	struct lsock **socks;
	size_t nsocks;
	struct timespec last_emfile_log;
	struct httpd *next_live;
	struct event *ev_sweep;
	int draining;
	size_t nconns;
};

/* The endpoints alive in this process: evhttp gives a listener's error callback only its evhttp,
 * so this is how the callback finds its socket. Touched only from the loops' thread. */
static struct httpd *live;

void
httpd_default_limits(struct httpd_limits *l)
{
	l->max_sessions = 256;
	l->idle_ms = 30L * 60 * 1000;
	l->max_body = 16u << 20;
	l->max_headers = 64u << 10;
	l->session_queue = 32u << 20;
	l->replay_bytes = 1u << 20;
	l->max_connections = 4096;
	l->header_timeout_ms = 10000;
	l->write_stall_ms = 60000;
}

/* ---- replies -------------------------------------------------------------------------------- */

/* An HTTP error with a JSON-RPC error body for the request of that id (the 2026-07-28 form
 * answers every error with the request's id; NULL: null); data is taken over, may be NULL. */
static void
reply_rpc_error(struct evhttp_request *req, int status, const char *reason, json_t *id, int code,
    const char *msg, json_t *data)
{
	struct evbuffer *b = evbuffer_new();
	json_t *e = json_pack("{s:i,s:s}", "code", code, "message", msg);
	json_t *j = json_pack("{s:s,s:O?,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", e);
	char *text;

	if (e && data)
		json_object_set(e, "data", data);
	json_decref(data);
	text = j ? jsonrpc_dumps(j, JSON_COMPACT) : NULL;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	if (b && text && evbuffer_add(b, text, strlen(text)) < 0)
		evbuffer_drain(b, evbuffer_get_length(b));	/* the status alone, not half a body */
	evhttp_send_reply(req, status, reason, b);
	free(text);
	json_decref(j);
	if (b)
		evbuffer_free(b);
}

/* The same for no particular request (id null). */
static void
reply_error(struct evhttp_request *req, int status, const char *reason, int code, const char *msg)
{
	reply_rpc_error(req, status, reason, NULL, code, msg, NULL);
}

static void
reply_empty(struct evhttp_request *req, int status, const char *reason)
{
	evhttp_send_reply(req, status, reason, NULL);
}

/* ---- streams and replay --------------------------------------------------------------------- */

static void
stream_forget_replay(struct stream *st)
{
	while (st->head) {
		struct event_rec *e = st->head;
		st->head = e->next;
		free(e);
	}
	st->tail = NULL;
	st->replay_len = 0;
}

static void
stream_free(struct stream *st)
{
	if (st == NULL)
		return;
	if (st->ev_eof)
		event_free(st->ev_eof);
	stream_forget_replay(st);
	free(st->id);
	free(st->token);
	free(st);
}

static struct stream *
stream_new(struct hsess *s, enum stream_kind kind)
{
	struct stream *st = calloc(1, sizeof *st);
	if (st == NULL)
		return NULL;
	st->sess = s;
	st->kind = kind;
	st->no = ++s->next_no;
	st->next = s->streams;
	s->streams = st;
	return st;
}

static void
stream_unlink(struct stream *st)
{
	struct stream **pp = &st->sess->streams;
	while (*pp && *pp != st)
		pp = &(*pp)->next;
	if (*pp)
		*pp = st->next;
	if (st->sess->get == st)
		st->sess->get = NULL;
}

static void stream_detach(struct stream *);
static void sess_close_later(struct hsess *, const char *why);

/* The client's connection closed while a request of ours was attached to it: the request is
 * ended (evhttp frees it then) and the stream waits for a client to resume it. */
static void
stream_conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct stream *st = arg;
	struct evhttp_request *req = st->req;

	(void)evcon;
	if (req == NULL)
		return;
	stream_detach(st);
	evhttp_send_reply_end(req);
	/* 2026-07-28: closing the response stream cancels the request (nothing resumes it). */
	if (st->sess->stateless && !st->done)
		sess_close_later(st->sess, "the client closed the request's stream (cancelled)");
}

static void
stream_attach(struct stream *st, struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	st->req = req;
	if (c)
		evhttp_connection_set_closecb(c, stream_conn_closed_cb, st);
}

/* The stream lets go of its request (answered, or the client went away); the caller ends it. */
static void
stream_detach(struct stream *st)
{
	struct evhttp_connection *c = st->req ? evhttp_request_get_connection(st->req) : NULL;
	if (c)
		evhttp_connection_set_closecb(c, NULL, NULL);
	if (st->ev_eof) {
		event_free(st->ev_eof);
		st->ev_eof = NULL;
	}
	st->req = NULL;
}

/* The client of a stateless request closed its connection before the response. evhttp reads
 * nothing more from a connection while its request is being handled, so it would notice only when
 * writing: a peek on the socket tells it now. Data instead of EOF (a pipelined request) stops the
 * watch; the close is then seen when the response is written. */
static void
stream_eof_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *st = arg;
	struct evhttp_request *req = st->req;
	struct evhttp_connection *c = req ? evhttp_request_get_connection(req) : NULL;
	char b;
	ssize_t k = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	(void)what;
	if (k > 0 || (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) {
		if (k > 0)
			event_del(st->ev_eof);
		return;
	}
	stream_detach(st);	/* frees this event: nothing of it is used after */
	if (c)
		evhttp_connection_free(c);	/* and the request with it */
	sess_close_later(st->sess, "the client closed the request's connection (cancelled)");
}

/* For a stateless request: the watch above, on the request's socket. */
static void
stream_watch_eof(struct stream *st)
{
	struct evhttp_connection *c = st->req ? evhttp_request_get_connection(st->req) : NULL;
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	if (fd < 0)
		return;
	st->ev_eof = event_new(st->sess->h->base, fd, EV_READ | EV_PERSIST, stream_eof_cb, st);
	if (st->ev_eof && event_add(st->ev_eof, NULL) < 0) {	/* the close is then seen on writing */
		event_free(st->ev_eof);
		st->ev_eof = NULL;
	}
}

static void
stream_start_sse(struct stream *st)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(st->req);
	evhttp_add_header(oh, "Content-Type", "text/event-stream");
	evhttp_add_header(oh, "Cache-Control", "no-cache");
	evhttp_add_header(oh, "X-Accel-Buffering", "no");	/* proxies pass events on at once */
	if (!st->sess->stateless)
		evhttp_add_header(oh, "Mcp-Session-Id", st->sess->id);
	evhttp_send_reply_start(st->req, 200, "OK");
	/* A stream may stay quiet for long: only the idle sweep and the client end it. evhttp reads on
	 * while it writes (to see a close), so a read timeout would end a quiet stream (its default of
	 * 50 s once did); writing keeps the bound on stalls. */
	struct evhttp_connection *c = evhttp_request_get_connection(st->req);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	if (bev) {
		struct timeval wt = { st->sess->h->lim.write_stall_ms / 1000,
		    (st->sess->h->lim.write_stall_ms % 1000) * 1000 };
		bufferevent_set_timeouts(bev, NULL, &wt);
	}
	st->sse = 1;
}

static size_t
conn_pending(struct evhttp_request *req)
{
	struct evhttp_connection *c = req ? evhttp_request_get_connection(req) : NULL;
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void sess_close(struct hsess *, const char *why);

/* Adds one event to a stream: kept for replay (bounded), and written when a client is attached. */
static int
stream_event(struct stream *st, const char *msg, size_t len)
{
	struct httpd *h = st->sess->h;
	char head[64];
	/* 2026-07-28 streams are not resumable: no event ids, nothing kept to replay. */
	int hl = st->sess->stateless ? snprintf(head, sizeof head, "data: ") :
	    snprintf(head, sizeof head, "id: %u-%llu\ndata: ", st->no, (unsigned long long)(st->seq + 1));
	size_t total = (size_t)hl + len + 2;
	struct event_rec *e = malloc(sizeof *e + total);

	if (e == NULL)
		return -1;
	st->seq++;
	e->next = NULL;
	e->seq = st->seq;
	e->len = total;
	memcpy(e->text, head, (size_t)hl);
	memcpy(e->text + hl, msg, len);
	memcpy(e->text + hl + len, "\n\n", 2);
	if (st->tail)
		st->tail->next = e;
	else
		st->head = e;
	st->tail = e;
	st->replay_len += total;
	while ((st->sess->stateless || st->replay_len > h->lim.replay_bytes) && st->head != st->tail) {
		struct event_rec *old = st->head;
		st->head = old->next;
		st->replay_len -= old->len;
		free(old);
	}
	if (st->req && evhttp_request_get_connection(st->req) == NULL) {
		/* The client went away without evhttp telling us: kept for a resume. */
		struct evhttp_request *req = st->req;
		stream_detach(st);
		evhttp_send_reply_end(req);
		if (st->sess->stateless && !st->done)
			sess_close_later(st->sess, "the client closed the request's stream (cancelled)");
	}
	if (st->req) {
		if (!st->sse)
			stream_start_sse(st);
		struct evbuffer *b = evbuffer_new();
		if (b == NULL || evbuffer_add(b, e->text, e->len) < 0) {
			if (b)
				evbuffer_free(b);
			return -1;
		}
		evhttp_send_reply_chunk(st->req, b);
		evbuffer_free(b);
		if (conn_pending(st->req) > h->lim.session_queue)
			return -2;
	}
	return 0;
}

/* ---- sessions ------------------------------------------------------------------------------- */

static void
sess_touch(struct hsess *s)
{
	clock_gettime(CLOCK_MONOTONIC, &s->used);
}

static struct stream *
sess_find_post(struct hsess *s, const char *id, const char *token)
{
	for (struct stream *st = s->streams; st; st = st->next) {
		if (st->kind != STREAM_POST || st->done)
			continue;
		if (id && st->id && strcmp(st->id, id) == 0)
			return st;
		if (token && st->token && strcmp(st->token, token) == 0)
			return st;
	}
	return NULL;
}

/* The newest request of the session still waiting for its response. */
static struct stream *
sess_newest_post(struct hsess *s)
{
	struct stream *best = NULL;
	for (struct stream *st = s->streams; st; st = st->next)
		if (st->kind == STREAM_POST && !st->done && (best == NULL || st->no > best->no))
			best = st;
	return best;
}

static char *
compact(json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* Which stream a message for the client goes to: a response to its request's; progress to the
 * request that carries the token; a message the session relates to a request to that request's
 * (so that it comes before the result, as clients require); anything else to the GET stream. */
static struct stream *
route_target(struct hsess *s, const char *msg, size_t len, const char *related, int *is_response)
{
	json_t *j = json_loadb(msg, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	struct stream *st = NULL;

	*is_response = 0;
	if (!json_is_object(j)) {
		json_decref(j);
		return s->get;
	}
	json_t *method = json_object_get(j, "method");
	json_t *id = json_object_get(j, "id");
	if (method == NULL && id != NULL) {
		char *t = compact(id);
		st = t ? sess_find_post(s, t, NULL) : NULL;
		*is_response = st != NULL;
		free(t);
	} else if (json_is_string(method) &&
	    strcmp(json_string_value(method), "notifications/progress") == 0) {
		char *t = compact(json_object_get(json_object_get(j, "params"), "progressToken"));
		st = t ? sess_find_post(s, NULL, t) : NULL;
		free(t);
	}
	if (st == NULL && related != NULL)
		st = sess_find_post(s, related, NULL);
	if (st == NULL && method != NULL && s->get == NULL)
		st = sess_newest_post(s);
	json_decref(j);
	return st ? st : s->get;
}

/* Finished request streams are kept for a client that resumes them, a few per session. */
#define KEEP_FINISHED 8

static void
sess_trim(struct hsess *s)
{
	size_t kept = 0;
	struct stream **pp = &s->streams;	/* newest first */
	while (*pp) {
		struct stream *st = *pp;
		if (st->kind == STREAM_POST && st->done && st->req == NULL && ++kept > KEEP_FINISHED) {
			*pp = st->next;
			stream_free(st);
			continue;
		}
		pp = &st->next;
	}
}

static void
sess_close_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hsess *s = arg;
	(void)fd;
	(void)what;
	s->close_pending = 0;
	sess_close(s, s->close_why);
}

/* From inside the backend's own call (deliver): the session goes once that call has returned. */
static void
sess_close_later(struct hsess *s, const char *why)
{
	if (s->close_pending || s->closing)
		return;
	if (s->ev_close == NULL)
		s->ev_close = evtimer_new(s->h->base, sess_close_later_cb, s);
	if (s->ev_close == NULL)
		return;
	s->close_pending = 1;
	s->close_why = why;
	event_active(s->ev_close, EV_TIMEOUT, 0);
}

/* The HTTP status of a 2026-07-28 response sent as plain JSON: the transport gives the
 * protocol's own errors their status (so that a client and any intermediary can tell them from
 * the body-less errors of a legacy server); any other error, like a result, is 200. */
static int
modern_error_status(const char *msg, size_t len, const char **reason)
{
	struct jsonfast f;
	json_t *j, *code;
	int status = 200;

	*reason = "OK";
	if (jsonfast_check(msg, len, &f) == JSONFAST_RESULT)
		return status;	/* a result, however large, is not parsed again */
	j = json_loadb(msg, len, 0, NULL);
	code = json_object_get(json_object_get(j, "error"), "code");
	if (json_is_integer(code)) {
		json_int_t c = json_integer_value(code);
		if (c == JSONRPC_METHOD_NOT_FOUND) {
			status = 404;
			*reason = "Not Found";
		} else if (c == MODERN_HEADER_MISMATCH || c == MODERN_MISSING_CAPABILITY ||
		    c == MODERN_UNSUPPORTED_VERSION) {
			status = 400;
			*reason = "Bad Request";
		}
	}
	json_decref(j);
	return status;
}

static void
sess_deliver(void *conn, const char *msg, size_t len, const char *related)
{
	struct hsess *s = conn;
	int is_response = 0;
	struct stream *st;

	if (s->closing || s->close_pending)
		return;
	st = route_target(s, msg, len, related, &is_response);
	if (st == NULL && s->stateless) {
		/* Its request is answered: nothing may follow on a stream that is gone. */
		log_debug(WHO, "request %.8s: a message after the response dropped", s->id);
		return;
	}
	if (st == NULL) {
		/* No stream yet: the standalone stream keeps it for the client's GET. */
		st = stream_new(s, STREAM_GET);
		if (st == NULL)
			return;
		s->get = st;
	}
	if (is_response && !st->sse && st->req) {
		/* The common case: a plain JSON response, no stream needed. */
		struct evbuffer *b = evbuffer_new();
		struct evkeyvalq *oh = evhttp_request_get_output_headers(st->req);
		int status = 200;
		const char *reason = "OK";
		evhttp_add_header(oh, "Content-Type", "application/json");
		if (!s->stateless)
			evhttp_add_header(oh, "Mcp-Session-Id", s->id);
		else
			status = modern_error_status(msg, len, &reason);
		struct evhttp_request *req = st->req;
		stream_detach(st);
		if (b && evbuffer_add(b, msg, len) == 0) {
			evhttp_send_reply(req, status, reason, b);
			evbuffer_free(b);
		} else {
			if (b)
				evbuffer_free(b);
			reply_error(req, 503, "Service Unavailable", -32603, "out of memory");
		}
		st->done = 1;
		stream_unlink(st);
		stream_free(st);
		if (s->stateless)
			sess_close_later(s, "answered");
		return;
	}
	int rc = stream_event(st, msg, len);
	if (rc == -1) {
		/* Out of memory: the message is lost, so the stream is ended rather than left waiting
		 * for it (the client sees its request fail, not hang). */
		log_error(WHO, "session %.8s: out of memory for a message to its client: session dropped", s->id);
		sess_close_later(s, "out of memory");
		return;
	}
	if (rc == -2) {
		log_warn(WHO, "session %.8s: its client reads too slowly (over %zu bytes queued): "
		    "session dropped", s->id, s->h->lim.session_queue);
		sess_close_later(s, "queue bound");
		return;
	}
	if (is_response) {
		st->done = 1;
		if (st->req) {
			struct evhttp_request *req = st->req;
			stream_detach(st);
			evhttp_send_reply_end(req);
		}
		sess_trim(s);
		if (s->stateless)
			sess_close_later(s, "answered");
	}
}

static void
sess_free(struct hsess *s)
{
	while (s->streams) {
		struct stream *st = s->streams;
		s->streams = st->next;
		stream_free(st);
	}
	if (s->ev_close)
		event_free(s->ev_close);
	free(s->token_name);
	free(s);
}

/* Ends a session: its requests and streams are ended, the backend is told, the id is forgotten. */
static void
sess_close(struct hsess *s, const char *why)
{
	if (s->closing)
		return;
	s->closing = 1;
	log_debug(WHO, "%s %.8s closed: %s", s->stateless ? "request" : "session", s->id, why);
	if (s->stateless) {
		if (s->sprev)
			s->sprev->snext = s->snext;
		else
			s->h->stateless = s->snext;
		if (s->snext)
			s->snext->sprev = s->sprev;
		s->h->nstateless--;
	} else {
		hmap_del(s->h->sessions, s->id);
	}
	for (struct stream *st = s->streams; st; st = st->next) {
		struct evhttp_request *req = st->req;
		if (req == NULL)
			continue;
		stream_detach(st);
		if (st->sse)
			evhttp_send_reply_end(req);
		else if (s->stateless)
			reply_error(req, 503, "Service Unavailable", -32603,
			    "the request ended before its response (the gateway stops or a bound was hit)");
		else
			reply_error(req, 404, "Not Found", -32001, "session ended");
	}
	if (s->backend)
		s->h->be.close(s->backend);
	s->backend = NULL;
	sess_free(s);
}

/* ---- request handling ----------------------------------------------------------------------- */

static int
is_tcp_request(struct httpd *h, struct evhttp_request *req, struct httpd_identity *id)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	int fd = bev ? (int)bufferevent_getfd(bev) : -1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	memset(id, 0, sizeof *id);
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX) {
		struct ucred cr;
		socklen_t cl = sizeof cr;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0) {
			id->unix_peer = 1;
			id->uid = cr.uid;
			id->gid = cr.gid;
			id->pid = cr.pid;
		}
		return 0;
	}
	(void)h;
	return 1;
}

/* The checks every request to /mcp passes first. 0: go on; -1: answered. */
static int
check_common(struct httpd *h, struct evhttp_request *req, int tcp, struct httpd_identity *ident)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");

	if (!http_guard_origin(origin, h->opt.allowed_origins)) {
		reply_error(req, 403, "Forbidden", -32600, "Origin not allowed");
		return -1;
	}
	if (tcp && !http_guard_host(evhttp_find_header(in, "Host"), h->opt.allowed_hosts)) {
		reply_error(req, 403, "Forbidden", -32600, "Host not allowed (DNS rebinding protection)");
		return -1;
	}
	if (tcp && h->opt.ntokens > 0) {
		int k = http_guard_bearer(evhttp_find_header(in, "Authorization"),
		    h->opt.token_digests, h->opt.ntokens);
		if (k < 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
			    "Bearer realm=\"mcpgw\"");
			reply_error(req, 401, "Unauthorized", -32001, "a valid bearer token is required");
			return -1;
		}
		ident->token = h->opt.token_names ? h->opt.token_names[k] : NULL;
	}
	return 0;
}

static int
version_ok(struct httpd *h, const char *v)
{
	if (v == NULL || h->opt.versions == NULL)
		return 1;
	for (size_t i = 0; h->opt.versions[i]; i++)
		if (strcmp(h->opt.versions[i], v) == 0)
			return 1;
	return 0;
}

static struct hsess *
find_session(struct httpd *h, struct evhttp_request *req, const struct httpd_identity *ident)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *sid = evhttp_find_header(in, "Mcp-Session-Id");
	struct hsess *s;

	if (sid == NULL) {
		reply_error(req, 400, "Bad Request", -32600,
		    "Mcp-Session-Id header required (send initialize first)");
		return NULL;
	}
	s = http_guard_session_id_ok(sid) ? hmap_get(h->sessions, sid) : NULL;
	/* A session belongs to the identity that opened it: another user's client that learnt
	 * the id is told the same as for an unknown one. */
	if (s && ((s->ident.unix_peer && (!ident->unix_peer || ident->uid != s->ident.uid)) ||
	    (s->token_name && (!ident->token || strcmp(ident->token, s->token_name) != 0))))
		s = NULL;
	if (s == NULL) {
		reply_error(req, 404, "Not Found", -32001, "session not found (initialize again)");
		return NULL;
	}
	if (!version_ok(h, evhttp_find_header(in, "MCP-Protocol-Version"))) {
		reply_error(req, 400, "Bad Request", -32600, "unsupported MCP-Protocol-Version");
		return NULL;
	}
	sess_touch(s);
	return s;
}


/* ---- the 2026-07-28 form ------------------------------------------------------------------- */

static int
in_list(const char *const *list, const char *v)
{
	for (size_t i = 0; v && list && list[i]; i++)
		if (strcmp(list[i], v) == 0)
			return 1;
	return 0;
}

/* A version of the initialize era this endpoint speaks (sessions, GET streams). */
static int
legacy_version(const struct httpd *h, const char *v)
{
	return v != NULL && !in_list(modern_versions, v) && in_list(h->opt.versions, v);
}

/* A POST in the 2026-07-28 form: no session id, and the body's _meta names a protocol version,
 * or the MCP-Protocol-Version header names one that is not of the initialize era, or it is the
 * era's own server/discover. Everything else keeps the 2025-11-25 rules. */
static int
is_modern_post(const struct httpd *h, struct evkeyvalq *in, json_t *msg)
{
	json_t *meta = json_object_get(json_object_get(msg, "params"), "_meta");
	const char *hv = evhttp_find_header(in, "MCP-Protocol-Version");
	const char *method = json_string_value(json_object_get(msg, "method"));

	if (h->opt.legacy_only || evhttp_find_header(in, "Mcp-Session-Id") != NULL)
		return 0;
	if (json_object_get(meta, MODERN_META_VERSION) != NULL)
		return 1;
	/* An initialize names its version in the body: a header alone does not make it modern. */
	if (hv != NULL && !legacy_version(h, hv) && (method == NULL || strcmp(method, "initialize") != 0))
		return 1;
	return method != NULL && strcmp(method, "server/discover") == 0;
}

/* A header value (Mcp-Name, Mcp-Param-*) equals a body value: strings byte for byte after the
 * sentinel's decoding, numbers numerically ("42.0" is 42), booleans as "true"/"false". */
static int
header_matches(const char *hv, json_t *body, const char **why)
{
	char *v = NULL, *end;
	size_t n = 0;
	int ok = 0;

	if (http_guard_mcp_value(hv, &v, &n) != 0) {
		*why = "has invalid characters or a malformed =?base64?...?= value";
		return 0;
	}
	*why = "does not match the body";
	if (json_is_string(body))
		ok = n == json_string_length(body) && memcmp(v, json_string_value(body), n) == 0;
	else if (json_is_boolean(body))
		ok = strcmp(v, json_is_true(body) ? "true" : "false") == 0;
	else if (json_is_number(body) && n > 0) {
		errno = 0;
		double d = strtod(v, &end);
		ok = errno == 0 && *end == '\0' && d == json_number_value(body);
	}
	free(v);
	return ok;
}

struct xhdr_walk {
	struct evkeyvalq *in;
	char msg[512];
};

/* The x-mcp-header properties of one object schema, against the arguments at the same place:
 * a value present needs its Mcp-Param-{Name} header, equal to it. 0: all good; -1: msg says. */
static int
xhdr_check(struct xhdr_walk *w, json_t *schema, json_t *args, int depth)
{
	json_t *props = json_object_get(schema, "properties"), *sub;
	const char *key;

	if (!json_is_object(props) || depth > 16)
		return 0;
	json_object_foreach(props, key, sub) {
		json_t *val = json_object_get(args, key);
		json_t *name = json_object_get(sub, "x-mcp-header");
		if (json_is_string(name) && val != NULL && !json_is_null(val)) {
			char hname[160];
			const char *hv, *why;
			snprintf(hname, sizeof hname, "Mcp-Param-%s", json_string_value(name));
			hv = evhttp_find_header(w->in, hname);
			if (hv == NULL) {
				snprintf(w->msg, sizeof w->msg, "Header mismatch: %.160s header is missing "
				    "(the tool's argument %.40s carries a value)", hname, key);
				return -1;
			}
			if (!header_matches(hv, val, &why)) {
				snprintf(w->msg, sizeof w->msg, "Header mismatch: %.160s header %s", hname, why);
				return -1;
			}
		}
		if (json_is_object(val) && xhdr_check(w, sub, val, depth + 1) != 0)
			return -1;
	}
	return 0;
}

/* The checks of a 2026-07-28 POST before any session sees it (streamable-http.mdx, "Server
 * Validation"), in the order the revision's errors rank: the body's _meta (-32602), the headers
 * against the body (-32020), then the version (-32022). 0: go on; -1: answered. */
static int
modern_check(struct httpd *h, struct evhttp_request *req, const struct httpd_identity *ident,
    json_t *msg)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	json_t *id = json_object_get(msg, "id");
	json_t *params = json_object_get(msg, "params");
	json_t *meta = json_object_get(params, "_meta");
	json_t *bv = json_object_get(meta, MODERN_META_VERSION);
	const char *method = json_string_value(json_object_get(msg, "method"));
	const char *hv = evhttp_find_header(in, "MCP-Protocol-Version");
	const char *hm = evhttp_find_header(in, "Mcp-Method");
	const char *why;
	char m[320];

	if (method == NULL) {
		reply_rpc_error(req, 400, "Bad Request", id, JSONRPC_INVALID_REQUEST,
		    "a 2026-07-28 client sends requests and notifications only, never responses", NULL);
		return -1;
	}
	if (id == NULL)
		return 0;	/* a notification: the revision sets it no header or _meta rules */
	json_t *caps = json_object_get(meta, MODERN_META_CAPS);
	json_t *info = json_object_get(meta, MODERN_META_INFO);
	const char *bad = !json_is_object(meta) ? "params._meta is required (2026-07-28: every request "
	    "carries " MODERN_META_VERSION " and " MODERN_META_CAPS ")" :
	    !json_is_string(bv) ? "params._meta." MODERN_META_VERSION " (a string) is required" :
	    !json_is_object(caps) ? "params._meta." MODERN_META_CAPS " (an object) is required" :
	    info != NULL && !json_is_object(info) ? "params._meta." MODERN_META_INFO " must be an object" :
	    NULL;
	if (bad != NULL) {
		snprintf(m, sizeof m, "Invalid params: %s", bad);
		reply_rpc_error(req, 400, "Bad Request", id, JSONRPC_INVALID_PARAMS, m, NULL);
		return -1;
	}
	if (hv == NULL || strcmp(hv, json_string_value(bv)) != 0) {
		if (hv == NULL)
			snprintf(m, sizeof m, "Header mismatch: the MCP-Protocol-Version header is required");
		else
			snprintf(m, sizeof m, "Header mismatch: MCP-Protocol-Version header value '%.40s' does "
			    "not match body value '%.40s'", hv, json_string_value(bv));
		reply_rpc_error(req, 400, "Bad Request", id, MODERN_HEADER_MISMATCH, m, NULL);
		return -1;
	}
	if (id != NULL && (hm == NULL || strcmp(hm, method) != 0)) {
		if (hm == NULL)
			snprintf(m, sizeof m, "Header mismatch: the Mcp-Method header is required");
		else
			snprintf(m, sizeof m, "Header mismatch: Mcp-Method header value '%.60s' does not match "
			    "body value '%.60s'", hm, method);
		reply_rpc_error(req, 400, "Bad Request", id, MODERN_HEADER_MISMATCH, m, NULL);
		return -1;
	}
	if (!in_list(modern_versions, json_string_value(bv))) {
		json_t *sup = json_array();
		for (size_t i = 0; modern_versions[i]; i++)
			json_array_append_new(sup, json_string(modern_versions[i]));
		snprintf(m, sizeof m, "Unsupported protocol version '%.40s'%s", json_string_value(bv),
		    legacy_version(h, json_string_value(bv)) ? " without a session (send initialize "
		    "for it)" : "");
		reply_rpc_error(req, 400, "Bad Request", id, MODERN_UNSUPPORTED_VERSION, m,
		    json_pack("{s:o,s:O}", "supported", sup, "requested", bv));
		return -1;
	}
	if (strcmp(method, "initialize") == 0) {
		/* The handshake does not exist in this revision; a client of 2025 sends it without the
		 * 2026-07-28 metadata and gets its session. */
		reply_rpc_error(req, 404, "Not Found", id, JSONRPC_METHOD_NOT_FOUND, "Method not found: "
		    "initialize was removed in 2026-07-28 (send it without the 2026-07-28 _meta and "
		    "MCP-Protocol-Version for a 2025-11-25 session)", NULL);
		return -1;
	}
	const char *field = strcmp(method, "resources/read") == 0 ? "uri" :
	    (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0) ? "name" : NULL;
	if (field != NULL) {
		const char *hn = evhttp_find_header(in, "Mcp-Name");
		json_t *bn = json_object_get(params, field);
		if (hn == NULL) {
			reply_rpc_error(req, 400, "Bad Request", id, MODERN_HEADER_MISMATCH,
			    "Header mismatch: the Mcp-Name header is required for this method", NULL);
			return -1;
		}
		if (!header_matches(hn, bn, &why)) {
			snprintf(m, sizeof m, "Header mismatch: Mcp-Name header %s (params.%s)", why, field);
			reply_rpc_error(req, 400, "Bad Request", id, MODERN_HEADER_MISMATCH, m, NULL);
			return -1;
		}
	}
	if (strcmp(method, "tools/call") == 0 && h->be.tool_schema != NULL &&
	    json_is_string(json_object_get(params, "name"))) {
		json_t *schema = h->be.tool_schema(h->be.arg, ident,
		    json_string_value(json_object_get(params, "name")));
		struct xhdr_walk w = { .in = in };
		int mismatch = schema && xhdr_check(&w, schema, json_object_get(params, "arguments"), 0) != 0;
		json_decref(schema);
		if (mismatch) {
			reply_rpc_error(req, 400, "Bad Request", id, MODERN_HEADER_MISMATCH, w.msg, NULL);
			return -1;
		}
	}
	return 0;
}

/* A 2026-07-28 POST that passed its checks: a request gets a session of its own, for as long as
 * it runs (its response, or the stream of a subscriptions/listen), bound to the identity that
 * sent it like any session; nothing of it outlives the request, so nothing one identity is
 * answered (a cacheScope "private" result included) can reach another. text is taken over. */
static void
modern_serve(struct httpd *h, struct evhttp_request *req, const struct httpd_identity *ident,
    json_t *msg, char *text, size_t len)
{
	json_t *id = json_object_get(msg, "id");
	struct hsess *s;
	struct stream *st;
	char err[256] = "";

	if (id == NULL) {
		/* The revision defines no client notification over HTTP (cancelling is closing the
		 * request's stream): taken, and there is no session it could concern. */
		reply_empty(req, 202, "Accepted");
		free(text);
		return;
	}
	if (h->draining) {
		reply_rpc_error(req, 503, "Service Unavailable", id, -32000, "the gateway is shutting down",
		    NULL);
		free(text);
		return;
	}
	if (h->nstateless >= h->lim.max_sessions) {
		reply_rpc_error(req, 503, "Service Unavailable", id, -32000,
		    "too many requests in flight (gateway.max_sessions)", NULL);
		free(text);
		return;
	}
	if ((s = calloc(1, sizeof *s)) == NULL || http_guard_session_id(s->id) != 0 ||
	    (ident->token && (s->token_name = strdup(ident->token)) == NULL)) {
		if (s)
			free(s->token_name);
		free(s);
		reply_rpc_error(req, 503, "Service Unavailable", id, JSONRPC_INTERNAL_ERROR, "out of memory",
		    NULL);
		free(text);
		return;
	}
	s->h = h;
	s->stateless = 1;
	s->ident = *ident;
	s->ident.token = s->token_name;
	sess_touch(s);
	s->backend = h->be.open(h->be.arg, &s->ident, sess_deliver, s, err, sizeof err);
	if (s->backend == NULL) {
		sess_free(s);
		reply_rpc_error(req, 503, "Service Unavailable", id, -32000, err[0] ? err : "request refused",
		    NULL);
		free(text);
		return;
	}
	s->snext = h->stateless;
	if (h->stateless)
		h->stateless->sprev = s;
	h->stateless = s;
	h->nstateless++;
	if ((st = stream_new(s, STREAM_POST)) == NULL) {
		reply_rpc_error(req, 503, "Service Unavailable", id, JSONRPC_INTERNAL_ERROR, "out of memory",
		    NULL);
		sess_close(s, "out of memory");
		free(text);
		return;
	}
	stream_attach(st, req);
	stream_watch_eof(st);
	st->id = compact(id);
	st->token = compact(json_object_get(json_object_get(json_object_get(msg, "params"), "_meta"),
	    "progressToken"));
	log_debug(WHO, "request %.8s: %s (2026-07-28, stateless)", s->id,
	    json_string_value(json_object_get(msg, "method")));
	h->be.input(s->backend, text, len);
}

static void
handle_post(struct httpd *h, struct evhttp_request *req, struct httpd_identity *ident)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	struct jsonrpc_msg rpc = { 0 };
	json_t *j = NULL, *method, *id;
	struct hsess *s = NULL;
	char *text = NULL;

	if (!http_guard_json_type(evhttp_find_header(in, "Content-Type"))) {
		reply_error(req, 415, "Unsupported Media Type", -32600,
		    "Content-Type must be application/json");
		return;
	}
	const char *accept = evhttp_find_header(in, "Accept");
	if (!http_guard_accepts(accept, "application/json") ||
	    !http_guard_accepts(accept, "text/event-stream")) {
		reply_error(req, 406, "Not Acceptable", -32600,
		    "Accept must list application/json and text/event-stream");
		return;
	}
	if (len > h->lim.max_body) {
		reply_error(req, 413, "Payload Too Large", -32600, "request body too large");
		return;
	}
	text = malloc(len + 1);
	if (text == NULL) {
		reply_error(req, 503, "Service Unavailable", -32603, "out of memory");
		return;
	}
	evbuffer_remove(body, text, len);
	text[len] = '\0';
	/* The validator the stdio transport's messages go through: the same errors for the same input. */
	if (jsonrpc_parse(text, len, &rpc) != 0) {
		reply_error(req, 400, "Bad Request", rpc.err_code, rpc.err_msg);
		goto out;
	}
	if (rpc.kind == JSONRPC_BATCH || !json_is_object(rpc.msg)) {
		reply_error(req, 400, "Bad Request", -32600,
		    "one JSON-RPC message per POST (batches are not taken)");
		goto out;
	}
	j = json_incref(rpc.msg);
	method = json_object_get(j, "method");
	id = json_object_get(j, "id");
	if (is_modern_post(h, in, j)) {
		if (modern_check(h, req, ident, j) == 0) {
			modern_serve(h, req, ident, j, text, len);
			text = NULL;
		}
		goto out;
	}
	if (json_is_string(method) && strcmp(json_string_value(method), "initialize") == 0 &&
	    id != NULL) {
		char err[256] = "";
		if (evhttp_find_header(in, "Mcp-Session-Id") != NULL) {
			reply_error(req, 400, "Bad Request", -32600,
			    "initialize opens a new session: send it without Mcp-Session-Id");
			goto out;
		}
		if (h->draining) {
			reply_error(req, 503, "Service Unavailable", -32000, "the gateway is shutting down");
			goto out;
		}
		if (hmap_count(h->sessions) >= h->lim.max_sessions) {
			reply_error(req, 503, "Service Unavailable", -32000,
			    "too many sessions (gateway.max_sessions)");
			goto out;
		}
		s = calloc(1, sizeof *s);
		if (s == NULL || http_guard_session_id(s->id) != 0) {
			free(s);
			reply_error(req, 503, "Service Unavailable", -32603, "cannot open a session");
			goto out;
		}
		s->h = h;
		s->ident = *ident;
		if (ident->token && (s->token_name = strdup(ident->token)) == NULL) {
			free(s);	/* without it the session would not be bound to its token */
			reply_error(req, 503, "Service Unavailable", -32603, "out of memory");
			goto out;
		}
		s->ident.token = s->token_name;
		sess_touch(s);
		s->backend = h->be.open(h->be.arg, &s->ident, sess_deliver, s, err, sizeof err);
		if (s->backend == NULL) {
			sess_free(s);
			reply_error(req, 503, "Service Unavailable", -32000, err[0] ? err :
			    "session refused");
			goto out;
		}
		if (hmap_put(h->sessions, s->id, s) != 0) {
			h->be.close(s->backend);
			sess_free(s);
			reply_error(req, 503, "Service Unavailable", -32603, "out of memory");
			goto out;
		}
		log_debug(WHO, "session %.8s opened", s->id);
	} else {
		s = find_session(h, req, ident);
		if (s == NULL)
			goto out;
	}
	if (method != NULL && id != NULL) {
		struct stream *st = stream_new(s, STREAM_POST);
		if (st == NULL) {
			reply_error(req, 503, "Service Unavailable", -32603, "out of memory");
			goto out;
		}
		stream_attach(st, req);
		st->id = compact(id);
		st->token = compact(json_object_get(json_object_get(json_object_get(j, "params"),
		    "_meta"), "progressToken"));
	} else {
		/* A notification or a response: taken, nothing to wait for. */
		reply_empty(req, 202, "Accepted");
	}
	json_decref(j);
	j = NULL;
	jsonrpc_msg_cleanup(&rpc);
	h->be.input(s->backend, text, len);
	return;
out:
	json_decref(j);
	jsonrpc_msg_cleanup(&rpc);
	free(text);
}

static void
handle_get(struct httpd *h, struct evhttp_request *req, struct httpd_identity *ident)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *last = evhttp_find_header(in, "Last-Event-ID");
	struct hsess *s;
	struct stream *st = NULL;
	unsigned no = 0;
	unsigned long long after = 0;

	if (!http_guard_accepts(evhttp_find_header(in, "Accept"), "text/event-stream")) {
		reply_error(req, 406, "Not Acceptable", -32600, "Accept must list text/event-stream");
		return;
	}
	s = find_session(h, req, ident);
	if (s == NULL)
		return;
	if (last != NULL) {
		if (sscanf(last, "%u-%llu", &no, &after) != 2) {
			reply_error(req, 400, "Bad Request", -32600, "malformed Last-Event-ID");
			return;
		}
		for (st = s->streams; st && st->no != no; st = st->next)
			;
		if (st == NULL) {
			reply_error(req, 404, "Not Found", -32600, "that stream is gone");
			return;
		}
		if (st->head && st->head->seq > after + 1) {
			/* Events were dropped past the replay bound: resuming would lose some. */
			reply_error(req, 409, "Conflict", -32600,
			    "events after Last-Event-ID are no longer kept");
			return;
		}
	} else {
		st = s->get;
		if (st && st->req) {
			reply_error(req, 409, "Conflict", -32600,
			    "a GET stream is already open for this session");
			return;
		}
		if (st == NULL) {
			st = stream_new(s, STREAM_GET);
			if (st == NULL) {
				reply_error(req, 503, "Service Unavailable", -32603, "out of memory");
				return;
			}
			s->get = st;
		}
		after = 0;
		/* Events kept while no GET stream was open are sent now. */
		if (st->head)
			after = st->head->seq - 1;
	}
	if (st->req != NULL) {
		/* The client resumes a stream it still holds: the older request is let go. */
		struct evhttp_request *old = st->req;
		stream_detach(st);
		evhttp_send_reply_end(old);
	}
	stream_attach(st, req);
	st->sse = 0;
	stream_start_sse(st);
	struct evbuffer *b = evbuffer_new();
	if (b) {
		int nomem = 0;
		for (struct event_rec *e = st->head; e && !nomem; e = e->next)
			if (e->seq > after && evbuffer_add(b, e->text, e->len) < 0)
				nomem = 1;
		if (nomem) {	/* no replay with a hole: the stream ends, the client resumes again */
			evbuffer_free(b);
			stream_detach(st);
			evhttp_send_reply_end(req);
			return;
		}
		if (evbuffer_get_length(b) > 0)
			evhttp_send_reply_chunk(req, b);
		evbuffer_free(b);
	}
	if (st->kind == STREAM_POST && st->done) {
		/* A finished request's stream: replayed whole, then ended. */
		stream_detach(st);
		evhttp_send_reply_end(req);
	}
}

static void
handle_delete(struct httpd *h, struct evhttp_request *req, struct httpd_identity *ident)
{
	struct hsess *s = find_session(h, req, ident);
	if (s == NULL)
		return;
	sess_close(s, "DELETE");
	reply_empty(req, 200, "OK");
}

static void
handle_plain(struct evhttp_request *req, int status, const char *reason, const char *type,
    char *body)
{
	struct evbuffer *b = evbuffer_new();
	if (body == NULL || b == NULL || evbuffer_add(b, body, strlen(body)) < 0) {
		/* out of memory (the body, or a copy of it): said, not answered empty with 200 */
		if (b)
			evbuffer_free(b);
		free(body);
		reply_error(req, 503, "Service Unavailable", -32603, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, status, reason, b);
	if (b)
		evbuffer_free(b);
	free(body);
}

/* evhttp has one timeout for both ways of a connection, and while it writes a response it keeps
 * reading on (to see a close), so the read timeout runs too. The header bound fits a connection
 * that has not sent a whole request yet (a client sending slowly holds a connection for nothing),
 * not one being answered: a large response to a client that reads it at its own pace (through
 * `mcpgw connect` into a busy client, say) must not be cut when one pause passes 10 s. So from a
 * whole request until its response is written the connection has the longer bound on stalls, and
 * then the header bound again for the next request. */
static void
conn_timeouts(struct evhttp_request *req, long ms)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	struct timeval tv;

	if (bev == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	bufferevent_set_timeouts(bev, &tv, &tv);
}

static void
response_written_cb(struct evhttp_request *req, void *arg)
{
	const struct httpd_limits *lim = arg;
	conn_timeouts(req, lim->header_timeout_ms);
}

static void
answering(struct httpd *h, struct evhttp_request *req)
{
	conn_timeouts(req, h->lim.write_stall_ms);
	evhttp_request_set_on_complete_cb(req, response_written_cb, &h->lim);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct httpd *h = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct httpd_identity ident;
	int tcp = is_tcp_request(h, req, &ident);
	size_t plen = strcspn(uri, "?#");
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	answering(h, req);
	if (plen == 4 && strncmp(uri, "/mcp", 4) == 0) {
		if (check_common(h, req, tcp, &ident) != 0)
			return;
		struct evkeyvalq *in = evhttp_request_get_input_headers(req);
		const char *pv = evhttp_find_header(in, "MCP-Protocol-Version");
		if ((cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_DELETE) && pv != NULL && !h->opt.legacy_only &&
		    !legacy_version(h, pv) && evhttp_find_header(in, "Mcp-Session-Id") == NULL) {
			/* 2026-07-28 has no GET stream and no session to delete. */
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
			reply_error(req, 405, "Method Not Allowed", -32600, "2026-07-28 has POST only: no GET "
			    "stream (subscriptions/listen instead) and no session to DELETE");
			return;
		}
		if (cmd == EVHTTP_REQ_POST)
			handle_post(h, req, &ident);
		else if (cmd == EVHTTP_REQ_GET)
			handle_get(h, req, &ident);
		else if (cmd == EVHTTP_REQ_DELETE)
			handle_delete(h, req, &ident);
		else {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
			    "GET, POST, DELETE");
			reply_error(req, 405, "Method Not Allowed", -32600, "method not allowed");
		}
		return;
	}
	if (tcp && cmd == EVHTTP_REQ_GET) {
		if (!http_guard_host(evhttp_find_header(evhttp_request_get_input_headers(req), "Host"),
		    h->opt.allowed_hosts)) {
			reply_error(req, 403, "Forbidden", -32600, "Host not allowed");
			return;
		}
		if (plen == 8 && strncmp(uri, "/healthz", 8) == 0) {
			handle_plain(req, 200, "OK", "text/plain", strdup("ok\n"));
			return;
		}
		if (plen == 7 && strncmp(uri, "/readyz", 7) == 0 && h->opt.ready) {
			int ok = 0;
			char *body = h->opt.ready(h->opt.arg, &ok);
			handle_plain(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable",
			    "application/json", body);
			return;
		}
		if (plen == 8 && strncmp(uri, "/metrics", 8) == 0 && h->opt.metrics) {
			handle_plain(req, 200, "OK", "text/plain; version=0.0.4",
			    h->opt.metrics(h->opt.arg));
			return;
		}
	}
	/* Only the socket's own users reach a unix socket (0660 in a 0700 directory), and a browser
	 * cannot: the read-only status goes there and nowhere else. */
	if (!tcp && cmd == EVHTTP_REQ_GET && plen == 7 && strncmp(uri, "/status", 7) == 0 &&
	    h->opt.status) {
		if (!http_guard_origin(evhttp_find_header(evhttp_request_get_input_headers(req), "Origin"),
		    h->opt.allowed_origins)) {
			reply_error(req, 403, "Forbidden", -32600, "Origin not allowed");
			return;
		}
		char *body = h->opt.status(h->opt.arg);
		if (body == NULL)
			reply_error(req, 500, "Internal Server Error", -32603, "out of memory");
		else
			handle_plain(req, 200, "OK", "application/json", body);
		return;
	}
	reply_error(req, 404, "Not Found", -32600, "not found (the MCP endpoint is /mcp)");
}

/* ---- idle sessions -------------------------------------------------------------------------- */

struct sweep { struct httpd *h; struct hsess *idle[64]; size_t n; };

static void
sweep_one(const char *key, void *val, void *arg)
{
	struct sweep *sw = arg;
	struct hsess *s = val;
	(void)key;
	if (sw->n >= sizeof sw->idle / sizeof *sw->idle)
		return;
	for (struct stream *st = s->streams; st; st = st->next)
		if (st->req != NULL || (st->kind == STREAM_POST && !st->done))
			return;
	if (util_ms_since(&s->used) >= sw->h->lim.idle_ms)
		sw->idle[sw->n++] = s;
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sweep sw = { .h = arg };
	(void)fd;
	(void)what;
	hmap_foreach(sw.h->sessions, sweep_one, &sw);
	for (size_t i = 0; i < sw.n; i++) {
		log_info(WHO, "session %.8s ended: idle for %ld ms", sw.idle[i]->id, sw.h->lim.idle_ms);
		sess_close(sw.idle[i], "idle");
	}
}

/* ---- life ----------------------------------------------------------------------------------- */

struct httpd *
httpd_new(struct event_base *base, const struct httpd_backend *be, const struct httpd_options *o)
{
	struct httpd *h = calloc(1, sizeof *h);
	struct timeval tv;

	if (h == NULL)
		return NULL;
	h->base = base;
	h->be = *be;
	if (o)
		h->opt = *o;
	if (o && o->limits)
		h->lim = *o->limits;
	else
		httpd_default_limits(&h->lim);
	h->sessions = hmap_new();
	h->http = evhttp_new(base);
	if (h->sessions == NULL || h->http == NULL) {
		httpd_free(h);
		return NULL;
	}
	evhttp_set_gencb(h->http, request_cb, h);
	h->next_live = live;
	live = h;
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	/* evhttp answers 413 itself past this; the handler gives the JSON-RPC body below it. */
	evhttp_set_max_body_size(h->http, (ev_ssize_t)h->lim.max_body + 1);
	evhttp_set_max_headers_size(h->http, (ev_ssize_t)h->lim.max_headers);
	tv.tv_sec = h->lim.header_timeout_ms / 1000;
	tv.tv_usec = (h->lim.header_timeout_ms % 1000) * 1000;
	evhttp_set_timeout_tv(h->http, &tv);
	if ((h->ev_sweep = event_new(base, -1, EV_PERSIST, sweep_cb, h)) == NULL) {
		httpd_free(h);	/* without it idle sessions would never be closed */
		return NULL;
	}
	long every = h->lim.idle_ms / 4;
	if (every < 50)
		every = 50;
	if (every > 60000)
		every = 60000;
	tv.tv_sec = every / 1000;
	tv.tv_usec = (every % 1000) * 1000;
	if (event_add(h->ev_sweep, &tv) < 0) {	/* without it idle sessions would never be closed */
		httpd_free(h);
		return NULL;
	}
	return h;
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lsock *ls = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(ls->lev);
}

/* accept(2) failed. Out of descriptors, the socket stays readable: without a pause the loop would
 * spin on it. The listener rests 250 ms (connections closing meanwhile free descriptors), and the
 * log says so at most once a minute. */

static struct lsock *
lsock_of(struct evconnlistener *lev, void *http)
{
	for (struct httpd *h = live; h; h = h->next_live)
		if ((void *)h->http == http)
			for (size_t i = 0; i < h->nsocks; i++)
				if (h->socks[i]->lev == lev)
					return h->socks[i];
	return NULL;
}

static void
accept_error_cb(struct evconnlistener *lev, void *http)
{
	struct lsock *ls = lsock_of(lev, http);
	struct timeval tv = { 0, 250000 };
	int e = EVUTIL_SOCKET_ERROR();

	if (ls == NULL || (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM))
		return;
	evconnlistener_disable(lev);
	if (evtimer_add(ls->ev_resume, &tv) < 0)	/* nothing would enable it again */
		evconnlistener_enable(lev);
	if (ls->h->last_emfile_log.tv_sec == 0 || util_ms_since(&ls->h->last_emfile_log) > 60000) {
		clock_gettime(CLOCK_MONOTONIC, &ls->h->last_emfile_log);
		log_warn(WHO, "cannot accept connections: %s (%zu sessions); pausing new connections",
		    strerror(e), hmap_count(ls->h->sessions));
	}
}

int
httpd_listen(struct httpd *h, int fd, int tcp)
{
	struct lsock **n = realloc(h->socks, (h->nsocks + 1) * sizeof *n);
	struct lsock *ls;

	if (n == NULL)
		return -1;
	h->socks = n;
	if ((ls = calloc(1, sizeof *ls)) == NULL)
		return -1;
	ls->h = h;
	ls->tcp = tcp;
	ls->lev = evconnlistener_new(h->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    -1, fd);
	ls->ev_resume = evtimer_new(h->base, accept_resume_cb, ls);
	if (ls->lev == NULL || ls->ev_resume == NULL ||
	    (ls->bound = evhttp_bind_listener(h->http, ls->lev)) == NULL) {
		if (ls->ev_resume)
			event_free(ls->ev_resume);
		if (ls->lev)
			evconnlistener_free(ls->lev);
		free(ls);
		return -1;
	}
	evconnlistener_set_error_cb(ls->lev, accept_error_cb);
	h->socks[h->nsocks++] = ls;
	return 0;
}

void
httpd_drain(struct httpd *h)
{
	h->draining = 1;
}

size_t
httpd_session_count(const struct httpd *h)
{
	return hmap_count(h->sessions);
}

static void
collect(const char *key, void *val, void *arg)
{
	struct hsess ***pp = arg;
	(void)key;
	*(*pp)++ = val;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	while (h->stateless)
		sess_close(h->stateless, "shutdown");
	if (h->sessions) {
		size_t n = hmap_count(h->sessions);
		struct hsess **all = calloc(n ? n : 1, sizeof *all), **p = all;
		if (all) {
			hmap_foreach(h->sessions, collect, &p);
			for (size_t i = 0; i < n; i++)
				sess_close(all[i], "shutdown");
			free(all);
		}
		hmap_free(h->sessions);
	}
	if (h->ev_sweep)
		event_free(h->ev_sweep);
	if (h->http)
		evhttp_free(h->http);	/* frees the listeners (and closes their sockets) */
	for (size_t i = 0; i < h->nsocks; i++) {
		event_free(h->socks[i]->ev_resume);
		free(h->socks[i]);
	}
	free(h->socks);
	for (struct httpd **pp = &live; *pp; pp = &(*pp)->next_live)
		if (*pp == h) {
			*pp = h->next_live;
			break;
		}
	free(h);
}
