/* http_recovery.c: owns the recovery that hides a restarted or unreachable server from the
 * upstream: the waiting messages sent again after 250 ms .. 8 s, or a new session (our copy of
 * the upstream's initialize, its answer kept to ourselves, notifications/initialized), then
 * "renewed" and list_changed for the upstream. Every step goes through http_recovery_set_step(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "log.h"
#include "transport_http_int.h"
#include "http_recovery.h"
#include "http_sse.h"
#include "http_stream.h"
#include "http_streamable.h"

static const long recover_delays_ms[] = { 250, 500, 1000, 2000, 4000, 8000 };
#define REMOTE_RECOVER_TRIES	(sizeof recover_delays_ms / sizeof *recover_delays_ms)

static const char *
http_recovery_step_name(enum remote_rec r)
{
	static const char *n[] = { "none", "wait", "connect", "init", "initialized", "retry" };
	return n[r];
}

void
http_recovery_set_step(struct remote *t, enum remote_rec r)
{
	if (t->rec == r)
		return;
	log_debug(t->name, "recovery %s -> %s", http_recovery_step_name(t->rec), http_recovery_step_name(r));
	t->rec = r;
}

/* What a recovery's initialize told us (its response is not the upstream's business). */
void
http_recovery_swallow(struct remote *t, json_t *msg)
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
	if (v && transport_http_visible_ascii(v, 64) && (t->version == NULL || strcmp(v, t->version) != 0)) {
		log_warn(t->name, "the new session speaks protocol %s", v);
		free(t->version);
		t->version = strdup(v);
	}
	t->rec_init_done = 1;
	transport_http_kick(t);
}

/* A new session's initialize: our copy of the upstream's, its answer swallowed. */
void
http_recovery_send_init(struct remote *t)
{
	struct out_msg *m;
	struct stream *s;

	http_recovery_set_step(t, REC_INIT);
	t->rec_init_done = t->rec_init_failed = 0;
	if ((m = transport_http_out_copy(t->init)) == NULL) {
		transport_http_close(t, "out of memory");
		return;
	}
	free(t->swallow_id);
	if ((t->swallow_id = m->id ? strdup(m->id) : NULL) == NULL && m->id) {
		transport_http_out_free(m);
		transport_http_close(t, "out of memory");
		return;
	}
	if ((s = http_stream_new(t, ST_POST, m)) != NULL) {
		/* legacy: the answer comes on the event stream (http_recovery_poll), not on the POST */
		s->reinit = !t->legacy;
		http_stream_start(s);
	}
}

void
http_recovery_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote *t = arg;

	if (t->state != REMOTE_RECOVERING)
		return;
	switch (t->rec) {
	case REC_WAIT:
		if (t->legacy) {
			if (t->get) {		/* a stream of the failed attempt */
				struct stream *g = t->get;
				http_stream_unlink(t, g);
				http_stream_free(g);
			}
			http_recovery_set_step(t, REC_CONNECT);
			http_sse_open(t, 0);
			return;
		}
		/* a new Streamable HTTP session */
		free(t->session);
		t->session = NULL;
		http_recovery_send_init(t);
		return;
	case REC_RETRY:
		/* the server was unreachable: try the waiting messages again as they are */
		http_recovery_set_step(t, REC_NONE);
		transport_http_set_state(t, REMOTE_OPEN);
		transport_http_flush(t);
		return;
	default:
		return;
	}
}

/* The next attempt after the next delay; closed once the delays are spent. */
void
http_recovery_schedule(struct remote *t, enum remote_rec step, const char *why)
{
	struct timeval tv;

	if (t->rec_tries >= REMOTE_RECOVER_TRIES) {
		char w[300];
		snprintf(w, sizeof w, "%s (gave up after %u attempts)", why, t->rec_tries);
		transport_http_close(t, w);
		return;
	}
	tv = transport_http_tv_ms(recover_delays_ms[t->rec_tries++]);
	http_recovery_set_step(t, step);
	if (evtimer_add(t->ev_retry, &tv) < 0)
		transport_http_close(t, "out of memory (no timer for the next attempt)");
}

/* session_lost: 1 = the server forgot our session (a new one is needed); 0 = it could not be
 * reached (try again as is); -1 = a recovery step failed (why says which). */
void
http_recovery_start(struct remote *t, const char *why, int session_lost)
{
	if (t->closing || t->state == REMOTE_STOPPING)
		return;
	if (t->legacy && session_lost == 0)
		session_lost = 1;	/* the event stream, and so the session, went with the server */
	if (t->init == NULL || t->state == REMOTE_PROBING || t->state == REMOTE_SSE_CONNECTING ||
	    t->state == REMOTE_IDLE) {
		transport_http_close(t, why);
		return;
	}
	if (session_lost < 0) {
		http_recovery_schedule(t, REC_WAIT, why);
		log_warn(t->name, "%s", why);
		return;
	}
	if (t->state == REMOTE_RECOVERING) {
		if (session_lost && t->rec == REC_RETRY) {	/* it is back, without our session */
			evtimer_del(t->ev_retry);
			http_recovery_set_step(t, REC_WAIT);
			http_recovery_timer_cb(-1, 0, t);
		}
		return;
	}
	transport_http_set_state(t, REMOTE_RECOVERING);
	t->barrier = 0;
	if (t->get) {		/* the GET stream belongs to the old session */
		struct stream *g = t->get;
		http_stream_unlink(t, g);
		http_stream_free(g);
	}
	if (t->legacy)
		http_sse_fail_inflight(t, why);
	if (session_lost) {
		log_info(t->name, "%s: starting a new session", why);
		t->rec_tries = 0;
		if (t->legacy)
			http_recovery_schedule(t, REC_WAIT, why);
		else {
			http_recovery_set_step(t, REC_WAIT);
			http_recovery_timer_cb(-1, 0, t);
		}
	} else {
		log_warn(t->name, "%s: trying again", why);
		http_recovery_schedule(t, REC_RETRY, why);
	}
}

/* The recovery's initialize was answered: send notifications/initialized. */
void
http_recovery_initialized(struct remote *t)
{
	static const char note[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
	struct out_msg *m = transport_http_out_new(note, sizeof note - 1);

	if (m == NULL) {
		transport_http_close(t, "out of memory");
		return;
	}
	m->internal = 1;
	http_recovery_set_step(t, REC_INITIALIZED);
	t->barrier = 1;
	struct stream *s = http_stream_new(t, ST_POST, m);
	if (s)
		http_stream_start(s);
}

/* The new session's notifications/initialized went through: messages flow again. */
void
http_recovery_done(struct remote *t)
{
	static const char *const notes[] = { "tools", "prompts", "resources" };

	http_recovery_set_step(t, REC_NONE);
	t->rec_tries = 0;
	t->barrier = 0;
	transport_http_set_state(t, REMOTE_OPEN);
	log_info(t->name, "new session ready%s%s", t->outq ? "; sending the waiting messages" : "",
	    t->legacy ? " (sse)" : "");
	/* The new session knows nothing of the old one's log level and subscriptions. */
	transport_http_inq_mark(t, 1);
	/* The server may have changed while it was away: the upstream fetches its lists again. */
	for (unsigned i = 0; i < 3; i++)
		if (t->rec_caps & (1u << i)) {
			char *buf;
			if (asprintf(&buf, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/%s/list_changed\"}",
			    notes[i]) >= 0)
				transport_http_inq_push(t, buf, strlen(buf));
		}
	t->rec_caps = 0;
	http_streamable_open_get(t, 0);
	transport_http_flush(t);
}

/* Legacy: the new session's initialize is answered on the event stream (from the loop). */
void
http_recovery_poll(struct remote *t)
{
	if (t->state != REMOTE_RECOVERING || t->rec != REC_INIT || !t->legacy)
		return;
	if (t->rec_init_done) {
		t->rec_init_done = 0;
		http_recovery_initialized(t);
	} else if (t->rec_init_failed)
		http_recovery_start(t, "the new session's initialize got an error", -1);
}
