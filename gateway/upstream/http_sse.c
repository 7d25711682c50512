/* http_sse.c: owns the legacy HTTP+SSE transport (2024-11-05): the GET event stream that
 * carries every answer, its endpoint event (same origin only) that says where to POST, and the
 * requests in flight that are lost when that stream breaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "log.h"
#include "transport_http_int.h"
#include "http_credentials.h"
#include "http_detect.h"
#include "http_recovery.h"
#include "http_sse.h"
#include "http_stream.h"

/* Opens the event stream after delay_ms (0: now); POSTs wait for its endpoint event. */
void
http_sse_open(struct remote *t, long delay_ms)
{
	struct stream *s;

	if (t->get)
		return;
	if ((s = http_stream_new(t, ST_LEGACY, NULL)) == NULL)
		return;
	t->get = s;
	s->auth_retry = t->cred_state == CRED_REFUSED;
	free(t->endpoint);
	t->endpoint = NULL;
	if (t->inflight == NULL)
		t->inflight = hmap_new();
	if (delay_ms > 0)
		http_stream_later(s, delay_ms);
	else
		http_stream_start(s);
}

struct http_sse_ids {
	char **v;
	size_t n;
};

static void
http_sse_id_collect(const char *k, void *v, void *arg)
{
	struct http_sse_ids *l = arg;
	if ((l->v[l->n] = strdup(k)) != NULL)
		l->n++;
}

/* The session was the event stream: answers to requests in flight are lost with it. */
void
http_sse_fail_inflight(struct remote *t, const char *why)
{
	struct http_sse_ids l = { NULL, 0 };
	size_t n = t->inflight ? hmap_count(t->inflight) : 0;
	char w[400];

	if (n == 0 || (l.v = calloc(n, sizeof *l.v)) == NULL)
		return;
	hmap_foreach(t->inflight, http_sse_id_collect, &l);
	hmap_clear(t->inflight);
	snprintf(w, sizeof w, "server '%s': the event stream broke before the response (%s); "
	    "the request may or may not have run", t->name, why);
	for (size_t i = 0; i < l.n; i++) {
		transport_http_reply_error(t, l.v[i], w);
		free(l.v[i]);
	}
	free(l.v);
}

/* The event stream ended (or failed to open). */
void
http_sse_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	char why[300], w[600];

	if (s->cred_dead) {		/* not sent: the server refused these credentials already */
		transport_http_fail(t, err);
		return;
	}
	if (s->overlong)
		transport_http_inq_mark(t, 0);
	if (s->status >= 300)
		http_stream_status_text(s, why, sizeof why);
	else if (s->status >= 200 && s->body != BODY_SSE)
		snprintf(why, sizeof why, "HTTP %ld without an event stream", s->status);
	else if (res == HTTP_DONE)
		snprintf(why, sizeof why, "the event stream ended");
	else
		snprintf(why, sizeof why, "%s", s->fail[0] ? s->fail : err);
	http_credentials_redact(t, why, sizeof why);
	if (s->status >= 300 && s->status < 400 && http_stream_redirect(s, w, sizeof w) > 0) {
		http_sse_open(t, 0);
		return;
	}
	if (s->auth_refused) {
		int r = http_credentials_refused_events(s, why);
		if (r > 0)
			http_sse_open(t, 0);
		if (r != 0)
			return;
	}
	if (t->state == REMOTE_SSE_CONNECTING) {
		http_detect_neither(t, why, w, sizeof w);
		transport_http_close(t, w);
		return;
	}
	if (t->state == REMOTE_RECOVERING) {
		snprintf(w, sizeof w, "server '%s' (sse): %s", t->name, why);
		http_recovery_schedule(t, REC_WAIT, w);
		return;
	}
	if (t->state != REMOTE_OPEN)
		return;
	snprintf(w, sizeof w, "event stream lost (%s)", why);
	http_recovery_start(t, w, 1);
}

/* An endpoint event came on s (from the loop, not from inside libcurl). */
void
http_sse_endpoint(struct remote *t, struct stream *s)
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
		transport_http_close(t, w);
		return;
	}
	free(t->endpoint);
	t->endpoint = to;
	http_url_for_log(to, shown, sizeof shown);
	log_debug(t->name, "sse endpoint %s", shown);
	if (t->state == REMOTE_SSE_CONNECTING) {
		http_detect_set_kind(t, KIND_SSE, t->want == KIND_AUTO && t->streamable_err[0] ?
		    "(legacy HTTP+SSE; Streamable HTTP was refused)" : NULL);
		transport_http_set_state(t, REMOTE_OPEN);
		transport_http_flush(t);
	} else if (t->state == REMOTE_RECOVERING && t->rec == REC_CONNECT)
		http_recovery_send_init(t);
}
