/* http_post.c: owns what happens when one POSTed message's request ends, for both transports:
 * the answer goes to the upstream, and each failure goes to the file that decides about it
 * (a lost session to http_recovery.c, refused credentials to http_credentials.c, auto's
 * fallback to http_detect.c, a redirect to http_stream.c); whatever is left fails the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "log.h"
#include "transport_http_int.h"
#include "http_credentials.h"
#include "http_detect.h"
#include "http_modern.h"
#include "http_post.h"
#include "http_recovery.h"
#include "http_stream.h"
#include "http_streamable.h"

void
http_post_done(struct stream *s, enum http_result res, const char *err)
{
	struct remote *t = s->t;
	struct out_msg *m = s->msg;
	char why[400];
	/* the first initialize, or transport: auto's probe before it (http_detect.c) */
	int first_init = t->state == REMOTE_PROBING && !s->reinit && m->method &&
	    (strcmp(m->method, "initialize") == 0 || m->probe);
	int is_initialized = m->method && strcmp(m->method, "notifications/initialized") == 0;
	int r;

	if (is_initialized)
		t->barrier = 0;
	if (s->body == BODY_JSON && s->len > 0 && !s->overlong)
		transport_http_incoming(t, s, s->buf, s->len);
	if (s->overlong)
		transport_http_inq_mark(t, 0);

	/* nothing reached the server */
	if (res == HTTP_ERR_CONNECT || res == HTTP_ERR_TLS) {
		char shown[300];
		http_url_for_log(t->url, shown, sizeof shown);
		snprintf(why, sizeof why, "cannot connect to %s: %s", shown, err);
		http_credentials_redact(t, why, sizeof why);
		if (first_init || res == HTTP_ERR_TLS) {
			s->msg = NULL;
			transport_http_out_free(m);
			transport_http_close(t, why);
			return;
		}
		s->msg = NULL;
		if (s->reinit || m->internal) {
			transport_http_out_free(m);
			http_recovery_start(t, why, -1);
			return;
		}
		transport_http_outq_push(t, m, 1);	/* not sent: safe to send again */
		http_recovery_start(t, why, 0);
		return;
	}
	if (res == HTTP_ERR_ABORTED && s->status == 0) {	/* never started (credentials, memory) */
		s->msg = NULL;
		if (s->cred_dead && (first_init || s->reinit || m->internal)) {
			transport_http_out_free(m);
			transport_http_fail(t, err);
		} else if (first_init) {
			transport_http_out_free(m);
			transport_http_close(t, err);
		} else
			transport_http_fail_msg(t, m, err);
		return;
	}
	if (s->status >= 200 && s->status < 300) {
		t->rec_tries = t->state == REMOTE_RECOVERING ? t->rec_tries : 0;
		if (first_init && m->probe) {
			s->msg = NULL;
			http_detect_probe_answered(s, m);
			transport_http_flush(t);
			return;
		}
		if (first_init) {
			http_detect_set_kind(t, KIND_STREAMABLE, NULL);
			transport_http_set_state(t, REMOTE_OPEN);
		}
		if (s->reinit) {
			s->msg = NULL;
			transport_http_out_free(m);
			if (t->rec_init_done)
				http_recovery_initialized(t);
			else {
				snprintf(why, sizeof why, "server '%s': the new session's initialize got %s", t->name,
				    t->rec_init_failed ? "an error" : "no answer");
				http_recovery_start(t, why, -1);
			}
			return;
		}
		if (m->internal && is_initialized) {
			s->msg = NULL;
			transport_http_out_free(m);
			http_recovery_done(t);
			return;
		}
		if (is_initialized)
			t->initialized = 1;
		if (s->got_response && s->resp_error)
			http_modern_header_mismatch(t, m, s->resp_error);
		if (t->state == REMOTE_OPEN)
			http_streamable_open_get(t, 0);
		if (m->id && !s->got_response && !t->legacy) {
			if (http_streamable_resume(s))
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
			transport_http_fail_msg(t, m, why);
			if (first_init)
				transport_http_close(t, why);
		}
		transport_http_flush(t);
		return;
	}
	if (s->status == 0) {		/* the transfer broke before any status */
		snprintf(why, sizeof why, "server '%s': %s", t->name, s->fail[0] ? s->fail : err);
		s->msg = NULL;
		if (first_init) {
			transport_http_out_free(m);
			transport_http_close(t, why);
		} else if (s->reinit || m->internal) {
			transport_http_out_free(m);
			http_recovery_start(t, why, -1);
		} else
			transport_http_fail_msg(t, m, why);
		return;
	}
	http_stream_status_text(s, why, sizeof why);
	/* the session is gone: a new one, then this message again */
	if (http_stream_session_lost(s)) {
		char w[300];
		s->msg = NULL;
		if (m->retried || m->internal) {
			snprintf(w, sizeof w, "server '%s' lost the session again right after a new one (%.160s)",
			    t->name, why);
			transport_http_out_free(m);
			transport_http_close(t, w);
			return;
		}
		m->retried = 1;
		if (t->legacy && m->id && t->inflight)
			hmap_del(t->inflight, m->id);
		transport_http_outq_push(t, m, 1);
		snprintf(w, sizeof w, "session lost (%.200s)", why);
		http_recovery_start(t, w, 1);
		return;
	}
	if ((r = http_stream_redirect(s, why, sizeof why)) != 0) {
		s->msg = NULL;
		if (r > 0) {
			transport_http_outq_push(t, m, 1);
			if (first_init)
				transport_http_post(t, transport_http_outq_pop(t));
			else
				transport_http_flush(t);
		} else if (first_init) {
			transport_http_out_free(m);
			transport_http_close(t, why);
		} else
			transport_http_fail_msg(t, m, why);
		return;
	}
	if (s->auth_refused) {
		s->msg = NULL;
		http_credentials_refused(s, m, why, first_init);
		return;
	}
	if (first_init && m->probe) {
		s->msg = NULL;
		http_detect_probe_refused(s, m, why);
		return;
	}
	if (first_init && http_detect_fallback(s, m, why))
		return;
	/* 2026-07-28: a JSON-RPC error with an error status (400 -32602, 404 -32601, ...) is the answer */
	if (t->modern && m->id && !m->internal && http_modern_error_reply(t, s->buf, s->len, m->id) == 0) {
		http_modern_header_mismatch(t, m, http_modern_body_error(s->buf, s->len));
		s->msg = NULL;
		transport_http_out_free(m);
		transport_http_flush(t);
		return;
	}
	{
		char w[450];
		snprintf(w, sizeof w, "server '%s' answered %s", t->name, why);
		s->msg = NULL;
		if (first_init) {
			transport_http_out_free(m);
			transport_http_close(t, w);
		} else if (s->reinit || m->internal) {
			transport_http_out_free(m);
			http_recovery_start(t, w, -1);
		} else
			transport_http_fail_msg(t, m, w);
	}
}

/* A standalone GET stream or a resumption ended. */
