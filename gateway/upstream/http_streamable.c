/* http_streamable.c: owns what only Streamable HTTP has: the session id from the initialize
 * answer, the standalone GET stream for messages the server starts (405: none), resuming a
 * response stream with Last-Event-ID, and the DELETE of the session at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "sse.h"
#include "transport_http_int.h"
#include "http_credentials.h"
#include "http_recovery.h"
#include "http_stream.h"
#include "http_streamable.h"

/* The Mcp-Session-Id of an initialize answer (2xx): -1 when it is unusable (s->fail says so). */
int
http_streamable_take_session(struct stream *s, struct http_req *req)
{
	struct remote *t = s->t;
	const char *sid;

	if (s->kind != ST_POST || s->msg->method == NULL || strcmp(s->msg->method, "initialize") != 0 ||
	    t->legacy || (sid = http_req_header(req, "mcp-session-id")) == NULL)
		return 0;
	if (!transport_http_visible_ascii(sid, REMOTE_MAX_SESSION)) {
		snprintf(s->fail, sizeof s->fail, "the server sent an invalid Mcp-Session-Id");
		return -1;
	}
	free(t->session);
	if ((t->session = strdup(sid)) == NULL) {	/* without it every request would be refused */
		snprintf(s->fail, sizeof s->fail, "out of memory");
		return -1;
	}
	return 0;
}

void
http_streamable_open_get(struct remote *t, long delay_ms)
{
	struct stream *s;

	if (t->legacy || t->modern || !t->initialized || t->get_state == GET_OFF || t->get ||
	    t->state != REMOTE_OPEN)
		return;
	if ((s = http_stream_new(t, ST_GET, NULL)) == NULL)
		return;
	t->get = s;
	if (t->get_last_id)
		s->last_id = strdup(t->get_last_id);
	if (delay_ms > 0)
		http_stream_later(s, delay_ms);
	else
		http_stream_start(s);
}

/* The server answered a request stream without the response: resume with Last-Event-ID. */
int
http_streamable_resume(struct stream *s)
{
	struct remote *t = s->t;
	const char *last = s->sse && *sse_last_id(s->sse) ? sse_last_id(s->sse) : s->last_id;
	long retry = s->sse && sse_retry_ms(s->sse) >= 0 ? sse_retry_ms(s->sse) : REMOTE_RETRY_MS;
	struct stream *r;

	if (t->legacy || t->modern || last == NULL || *last == '\0' || s->msg == NULL ||
	    s->resumes >= REMOTE_MAX_RESUMES)
		return 0;
	if ((r = http_stream_new(t, ST_RESUME, s->msg)) == NULL)
		return 0;
	s->msg = NULL;
	r->last_id = strdup(last);
	r->resumes = s->resumes + 1;
	log_debug(t->name, "response stream ended early; resuming after event %.60s in %ld ms", last, retry);
	http_stream_later(r, retry);
	return 1;
}

/* A standalone GET stream or a resumption ended. */
void
http_streamable_get_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	char why[300];
	long delay;

	if (s->sse && *sse_last_id(s->sse) && s->kind == ST_GET) {
		free(t->get_last_id);
		t->get_last_id = strdup(sse_last_id(s->sse));
	}
	if (s->overlong)
		transport_http_inq_mark(t, 0);
	if (s->status >= 200 && s->status < 300 && s->body != BODY_SSE) {
		snprintf(why, sizeof why, "HTTP %ld without an event stream", s->status);
		s->status = 0;
		res = HTTP_ERR_TRANSFER;
		err = why;
	}
	if (s->kind == ST_RESUME) {
		if (s->got_response)
			return;
		if (http_stream_session_lost(s)) {
			transport_http_fail_msg(t, s->msg, "the server lost the session while the request ran");
			s->msg = NULL;
			http_recovery_start(t, "session lost", 1);
			return;
		}
		if (s->status >= 200 && s->status < 300 && http_streamable_resume(s))
			return;
		if (res == HTTP_ERR_CONNECT && http_streamable_resume(s))
			return;
		if (s->status >= 300)
			http_stream_status_text(s, why, sizeof why);
		else
			snprintf(why, sizeof why, "%s", res == HTTP_DONE ? "stream ended" : err);
		{
			char w[400];
			snprintf(w, sizeof w, "server '%s': the response was lost (resuming it failed: %s)", t->name, why);
			transport_http_fail_msg(t, s->msg, w);
			s->msg = NULL;
		}
		return;
	}
	/* ST_GET */
	if (t->state != REMOTE_OPEN)
		return;
	if (s->status == 405) {
		log_debug(t->name, "the server offers no GET stream (HTTP 405)");
		transport_http_set_get_state(t, GET_OFF);
		return;
	}
	if (http_stream_session_lost(s)) {
		http_recovery_start(t, "session lost (the GET stream got HTTP 404)", 1);
		return;
	}
	if (s->auth_refused)
		http_credentials_challenge(s);
	if (s->events > 0 && transport_http_stream_ms(s) > 5000)
		t->get_failures = 0;
	else
		t->get_failures++;
	delay = s->sse && sse_retry_ms(s->sse) >= 0 ? sse_retry_ms(s->sse) : REMOTE_RETRY_MS;
	for (int i = 1; i < t->get_failures && delay < REMOTE_GET_MAX_MS; i++)
		delay *= 2;
	if (delay > REMOTE_GET_MAX_MS)
		delay = REMOTE_GET_MAX_MS;
	if (s->status >= 300)
		http_stream_status_text(s, why, sizeof why);
	else
		snprintf(why, sizeof why, "%s", res == HTTP_DONE ? "ended" : err);
	log_debug(t->name, "GET stream %s; again in %ld ms", why, delay);
	http_streamable_open_get(t, delay);
}

/* The DELETE of the session ended, whatever its answer: the transport is closed. */
void
http_streamable_delete_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	char w[300];

	snprintf(w, sizeof w, "server '%s' stopped", t->name);
	transport_http_close(t, w);
}

