/* http_stream.c: owns one HTTP request of a remote transport (struct stream): POST, GET, a
 * resumption, the legacy GET, DELETE; its headers, its start (now, later, or once the
 * credentials are ready), the libcurl callbacks that record what came, same-origin redirects,
 * and the dispatch of its end to the file that owns that kind of request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include "log.h"
#include "sse.h"
#include "transport_http_int.h"
#include "http_credentials.h"
#include "http_modern.h"
#include "http_post.h"
#include "http_sse.h"
#include "http_stream.h"
#include "http_streamable.h"

static int
http_stream_ct_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void
http_stream_free(struct stream *s)
{
	if (s == NULL)
		return;
	http_req_cancel(s->req);
	if (s->timer)
		event_free(s->timer);
	transport_http_out_free(s->msg);
	free(s->last_id);
	free(s->buf);
	sse_free(s->sse);
	free(s->location);
	free(s->endpoint);
	free(s->www_auth);
	free(s);
}

void
http_stream_unlink(struct remote *t, struct stream *s)
{
	for (struct stream **p = &t->streams; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	if (s->kind == ST_POST && t->nposts > 0)
		t->nposts--;
	if (t->get == s) {
		t->get = NULL;
		if (t->get_state != GET_OFF)
			transport_http_set_get_state(t, GET_NONE);
	}
}

void
http_stream_cancel_all(struct remote *t, int keep_delete)
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
		http_stream_free(s);
	}
	t->streams = keep;
	t->nposts = 0;
	t->get = NULL;
	if (t->get_state != GET_OFF)
		transport_http_set_get_state(t, GET_NONE);
}

/* ---- requests ---- */

struct stream *
http_stream_new(struct remote *t, enum stream_kind kind, struct out_msg *msg)
{
	struct stream *s = calloc(1, sizeof *s);
	if (s == NULL) {
		transport_http_out_free(msg);
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

struct curl_slist *
http_stream_header(struct curl_slist *l, const char *name, const char *value)
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

static const char *const http_stream_owned[] = { "host", "content-type", "content-length", "accept",
	"mcp-session-id", "mcp-protocol-version", "last-event-id", "transfer-encoding", "connection",
	"expect", "mcp-method", "mcp-name", NULL };

int
http_stream_owned_header(const char *name)
{
	if (strncasecmp(name, "mcp-param-", 10) == 0)
		return 1;
	for (int i = 0; http_stream_owned[i]; i++)
		if (strcasecmp(name, http_stream_owned[i]) == 0)
			return 1;
	return 0;
}

/* The headers of one request. AUTH_PENDING: try again when the plugin is ready. */
static enum auth_result
http_stream_headers(struct stream *s, struct curl_slist **out, char *err, size_t errlen)
{
	struct remote *t = s->t;
	struct curl_slist *l = NULL;
	enum auth_result ar;
	int initialize = s->kind == ST_POST && s->msg && s->msg->method &&
	    strcmp(s->msg->method, "initialize") == 0;

	*out = NULL;
	if ((ar = http_credentials_get(s, err, errlen)) != AUTH_OK)
		return ar;
	switch (s->kind) {
	case ST_POST:
		l = http_stream_header(l, "Content-Type", "application/json");
		l = http_stream_header(l, "Accept", "application/json, text/event-stream");
		l = http_stream_header(l, "Expect", "");	/* no 100-continue round trip */
		break;
	case ST_GET:
	case ST_RESUME:
	case ST_LEGACY:
		l = http_stream_header(l, "Accept", "text/event-stream");
		l = http_stream_header(l, "Cache-Control", "no-cache");
		if (s->last_id && *s->last_id)
			l = http_stream_header(l, "Last-Event-ID", s->last_id);
		break;
	case ST_DELETE:
		break;
	}
	if (t->legacy && s->kind == ST_POST)
		s->session_sent = 1;	/* the session is in the endpoint's URL */
	if (s->kind == ST_POST && s->msg && (t->modern || s->msg->probe))
		l = http_modern_headers(t, s->msg, l);	/* 2026-07-28: no session, metadata headers */
	else if (!t->legacy && !initialize) {
		if (t->session) {
			l = http_stream_header(l, "Mcp-Session-Id", t->session);
			s->session_sent = 1;
		}
		if (t->version)
			l = http_stream_header(l, "MCP-Protocol-Version", t->version);
	}
	*out = http_credentials_append(s, l);
	return AUTH_OK;
}

static int http_stream_response_cb(void *, struct http_req *, long);
static int http_stream_body_cb(void *, const char *, size_t);
static void http_stream_done_cb(void *, enum http_result, const char *);

static void
http_stream_start_cb(evutil_socket_t fd, short what, void *arg)
{
	http_stream_start(arg);
}

/* Starts s after delay_ms (0: now). */
void
http_stream_later(struct stream *s, long delay_ms)
{
	struct timeval tv = transport_http_tv_ms(delay_ms);

	if (s == s->t->get)
		transport_http_set_get_state(s->t, GET_WAITING);
	if ((s->timer == NULL && (s->timer = evtimer_new(s->t->evb, http_stream_start_cb, s)) == NULL) ||
	    evtimer_add(s->timer, &tv) < 0) {
		http_stream_start(s);	/* out of memory for the wait: at once rather than never */
		return;
	}
}

void
http_stream_start(struct stream *s)
{
	struct remote *t = s->t;
	static const struct http_req_cbs cbs = { http_stream_response_cb, http_stream_body_cb, http_stream_done_cb };
	struct http_req_opts o = { 0 };
	char err[400];
	enum auth_result ar;
	const struct config_server *cfg = t->cfg;

	s->wait_auth = 0;
	ar = http_stream_headers(s, &o.headers, err, sizeof err);
	if (ar == AUTH_PENDING) {
		s->wait_auth = 1;
		if (s == t->get)
			transport_http_set_get_state(t, GET_WAITING);
		return;
	}
	if (ar == AUTH_ERROR || ar == AUTH_SIGNIN) {
		http_stream_unlink(t, s);
		http_stream_finish(s, HTTP_ERR_ABORTED, err);
		http_stream_free(s);
		/* A sign-in is a person's business: the transport ends (the upstream says so to its
		 * client) and comes back once the plugin's credentials changed. */
		if (ar == AUTH_SIGNIN)
			transport_http_close(t, err);
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
		/* 2026-07-28: the upstream's subscriptions/listen stays open while the server has
		 * nothing to say (like the 2025 GET stream, which has no idle bound either) */
		if (t->modern && s->msg->method && strcmp(s->msg->method, "subscriptions/listen") == 0)
			o.idle_timeout_ms = 0;
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
		http_stream_unlink(t, s);
		http_stream_finish(s, HTTP_ERR_ABORTED, err);
		http_stream_free(s);
	} else if (s == t->get)
		transport_http_set_get_state(t, GET_OPENING);
}

/* ---- stream callbacks (inside libcurl: record, queue, never call curl or the upstream) ---- */

static int
http_stream_event_cb(void *arg, const struct sse_event *ev)
{
	struct stream *s = arg;
	struct remote *t = s->t;

	s->events++;
	if (s->kind == ST_GET || s->kind == ST_RESUME)
		s->resumes = 0;		/* progress */
	if (s->kind == ST_LEGACY && strcmp(ev->type, "endpoint") == 0) {
		free(s->endpoint);
		s->endpoint = strndup(ev->data, ev->data_len < 4096 ? ev->data_len : 4096);
		transport_http_kick(t);
		return 0;
	}
	if (strcmp(ev->type, "message") != 0 || ev->data_len == 0)
		return 0;	/* other event types, and priming events (an id, no data) */
	transport_http_incoming(t, s, ev->data, ev->data_len);
	return 0;
}

static int
http_stream_response_cb(void *arg, struct http_req *req, long status)
{
	struct stream *s = arg;
	struct remote *t = s->t;
	const char *ct = http_req_content_type(req);

	s->status = status;
	if (status >= 200 && status < 300) {
		http_credentials_accepted(t);
		if (http_streamable_take_session(s, req) < 0)
			return -1;
		if (http_stream_ct_is(ct, "text/event-stream")) {
			struct sse_opts so = { REMOTE_MAX_LINE, REMOTE_MAX_MSG, REMOTE_MAX_ID, REMOTE_RETRY_MIN_MS,
				REMOTE_RETRY_MAX_MS };
			s->body = BODY_SSE;
			sse_free(s->sse);
			if ((s->sse = sse_new(&so)) == NULL)
				return -1;
			if (s == t->get)
				transport_http_set_get_state(t, GET_OPEN);
		} else if (http_stream_ct_is(ct, "application/json") && s->kind == ST_POST)
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
http_stream_body_cb(void *arg, const char *buf, size_t len)
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
		rc = sse_feed(s->sse, buf, len, http_stream_event_cb, s);
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
void
http_stream_status_text(struct stream *s, char *out, size_t outlen)
{
	json_t *j = s->buf ? json_loadb(s->buf, s->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));

	if (m)
		snprintf(out, outlen, "HTTP %ld: %.160s", s->status, m);
	else
		snprintf(out, outlen, "HTTP %ld", s->status);
	json_decref(j);
	http_credentials_redact(s->t, out, outlen);
}

/* The server no longer knows the session this request carried: a 404, or (as the SDK's example
 * servers answer) a 400 whose body says "session". */
int
http_stream_session_lost(const struct stream *s)
{
	return s->session_lost == 1 || (s->session_lost == 2 && s->buf && strcasestr(s->buf, "session") != NULL);
}

/* A same-origin redirect: 1 when followed (URL updated), 0 when not one, -1 refused (why). */
int
http_stream_redirect(struct stream *s, char *why, size_t whylen)
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

/* A stream ended: it is unlinked, and freed by the caller afterwards. */
void
http_stream_finish(struct stream *s, enum http_result res, const char *err)
{
	switch (s->kind) {
	case ST_POST:
		http_post_done(s, res, err);
		break;
	case ST_GET:
	case ST_RESUME:
		http_streamable_get_done(s, res, err);
		break;
	case ST_LEGACY:
		http_sse_done(s, res, err);
		break;
	case ST_DELETE:
		http_streamable_delete_done(s, res, err);
		break;
	}
}

static void
http_stream_done_cb(void *arg, enum http_result res, const char *err)
{
	struct stream *s = arg;
	struct remote *t = s->t;

	s->req = NULL;		/* already freed by the http module */
	http_stream_unlink(t, s);
	http_stream_finish(s, res, err);
	http_stream_free(s);
	transport_http_flush(t);
}

