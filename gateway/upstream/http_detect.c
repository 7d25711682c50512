/* http_detect.c: owns which transport a remote server speaks: the configured one, or for
 * transport: auto (the default) Streamable HTTP when the initialize POST is answered, and the
 * legacy HTTP+SSE transport at the same URL when it gets 400, 404 or 405, as the specification
 * says. transport_kind() reports "auto" until it is known. Before that, the upstream's probe
 * (server/discover, 2026-07-28) goes out as a modern POST: a result, or an error body only a
 * modern server sends (-32022, -32021, -32020) means the 2026-07-28 form; anything else is
 * turned into a JSON-RPC error for the probe, so that the upstream falls back to initialize. */
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "transport_http_int.h"
#include "http_detect.h"
#include "http_modern.h"
#include "http_sse.h"
#include "http_stream.h"

static const char *
http_detect_kind_name(enum remote_kind k)
{
	static const char *n[] = { "auto", "auto (trying sse)", "streamable-http", "sse" };
	return n[k];
}

void
http_detect_init(struct remote *t)
{
	const struct config_server *cfg = t->cfg;

	t->want = cfg->transport == CONFIG_TRANSPORT_SSE ? KIND_SSE :
	    cfg->transport == CONFIG_TRANSPORT_STREAMABLE_HTTP ? KIND_STREAMABLE : KIND_AUTO;
	t->kind = KIND_AUTO;
	t->legacy = t->want == KIND_SSE;
	/* a configured kind is reported as such from the start */
	t->base.ops = transport_http_ops(t->want);
}

void
http_detect_set_kind(struct remote *t, enum remote_kind k, const char *how)
{
	if (t->kind == k || t->kind == KIND_STREAMABLE || t->kind == KIND_SSE)
		return;
	log_debug(t->name, "transport %s -> %s", http_detect_kind_name(t->kind), http_detect_kind_name(k));
	t->kind = k;
	if (k == KIND_AUTO_SSE) {
		t->legacy = 1;
		return;
	}
	t->base.ops = transport_http_ops(k);
	log_info(t->name, "transport: %s%s%s", k == KIND_SSE ? "sse" : "streamable-http", how ? " " : "",
	    how ? how : "");
}

int
http_detect_fallback(struct stream *s, struct out_msg *m, const char *why)
{
	struct remote *t = s->t;

	/* A 2026-07-28 server refusing the handshake (-32022 naming its versions, or -32020/-32021
	 * for the headers or _meta a 2025 request lacks): not a legacy HTTP+SSE server. The upstream
	 * gets the error (it asks server/discover when -32022 names its modern version), and the
	 * transport is as new. */
	if (m->id && http_modern_error_code(http_modern_body_error(s->buf, s->len)) &&
	    http_modern_initialize_refused(t, s->buf, s->len, m->id) == 0) {
		log_debug(t->name, "initialize POST got %s from a %s server", why, HTTP_MODERN_VERSION);
		s->msg = NULL;
		transport_http_out_free(m);
		transport_http_set_state(t, REMOTE_IDLE);
		return 1;
	}
	if (t->want != KIND_AUTO || (s->status != 400 && s->status != 404 && s->status != 405))
		return 0;
	snprintf(t->streamable_err, sizeof t->streamable_err, "%.190s", why);
	log_debug(t->name, "initialize POST got %s: trying the legacy HTTP+SSE transport", why);
	s->msg = NULL;
	transport_http_outq_push(t, m, 1);
	http_detect_set_kind(t, KIND_AUTO_SSE, NULL);
	transport_http_set_state(t, REMOTE_SSE_CONNECTING);
	http_sse_open(t, 0);
	return 1;
}

void
http_detect_neither(struct remote *t, const char *why, char *out, size_t outlen)
{
	if (t->streamable_err[0])
		snprintf(out, outlen, "server '%s' speaks neither transport: streamable-http: %s; sse: %s",
		    t->name, t->streamable_err, why);
	else
		snprintf(out, outlen, "server '%s' (sse): %s", t->name, why);
}

/* The upstream's first server/discover: a modern POST (refused at once for transport: sse, which
 * is legacy by definition: the upstream goes on with initialize). */
void
http_detect_probe(struct remote *t, struct out_msg *m)
{
	char w[200];

	if (t->want == KIND_SSE) {
		snprintf(w, sizeof w, "server '%s' is configured with transport: sse (legacy HTTP+SSE)", t->name);
		transport_http_fail_msg(t, m, w);
		return;
	}
	m->probe = 1;
	transport_http_set_state(t, REMOTE_PROBING);
	transport_http_post(t, m);
}

void
http_detect_modern(struct remote *t, const char *how)
{
	if (t->modern)
		return;
	t->modern = 1;
	log_debug(t->name, "wire: %s (%s): POST only, no session", HTTP_MODERN_VERSION, how);
	http_detect_set_kind(t, KIND_STREAMABLE, "(" HTTP_MODERN_VERSION ")");
}

/* An initialize from the upstream: the legacy handshake from here on. A probe still out (the
 * upstream stopped waiting for it) is abandoned. */
void
http_detect_legacy(struct remote *t)
{
	int cancelled = 0;

	if (t->modern) {
		log_info(t->name, "the server is spoken to with initialize after all: the legacy form");
		t->modern = 0;
	}
	for (int again = 1; again;) {
		again = 0;
		for (struct stream *s = t->streams; s; s = s->next)
			if (s->kind == ST_POST && s->msg && s->msg->probe) {
				http_stream_unlink(t, s);
				http_stream_free(s);
				cancelled = again = 1;
				break;
			}
	}
	if (cancelled && t->state == REMOTE_PROBING)
		transport_http_set_state(t, REMOTE_IDLE);
}

/* The probe's POST got 2xx (m is taken). */
void
http_detect_probe_answered(struct stream *s, struct out_msg *m)
{
	struct remote *t = s->t;
	char w[300];

	if (s->got_response && (s->resp_error == 0 || http_modern_error_code(s->resp_error))) {
		http_detect_modern(t, s->resp_error ? "server/discover got a modern error" :
		    "server/discover answered");
		transport_http_set_state(t, REMOTE_OPEN);
	} else {
		if (!s->got_response) {
			snprintf(w, sizeof w, "server '%s' answered server/discover with HTTP %ld and no response",
			    t->name, s->status);
			transport_http_reply_error(t, m->id, w);
		}
		log_debug(t->name, "probe: not a %s server (%s); the legacy handshake follows", HTTP_MODERN_VERSION,
		    s->got_response ? "an error for server/discover" : "no response");
		transport_http_set_state(t, REMOTE_IDLE);
	}
	transport_http_out_free(m);
}

/* The probe's POST got an error status (why: its text; m is taken). */
void
http_detect_probe_refused(struct stream *s, struct out_msg *m, const char *why)
{
	struct remote *t = s->t;
	char w[400];

	if (http_modern_error_code(http_modern_body_error(s->buf, s->len)) &&
	    http_modern_error_reply(t, s->buf, s->len, m->id) == 0) {
		http_detect_modern(t, "server/discover got a modern error body");
		transport_http_set_state(t, REMOTE_OPEN);
	} else {
		snprintf(w, sizeof w, "server '%s' is not a %s server: server/discover got %s", t->name,
		    HTTP_MODERN_VERSION, why);
		log_debug(t->name, "probe: %s; the legacy handshake follows", why);
		transport_http_reply_error(t, m->id, w);
		transport_http_set_state(t, REMOTE_IDLE);
	}
	transport_http_out_free(m);
}
