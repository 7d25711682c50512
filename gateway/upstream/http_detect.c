/* http_detect.c: owns which transport a remote server speaks: the configured one, or for
 * transport: auto (the default) Streamable HTTP when the initialize POST is answered, and the
 * legacy HTTP+SSE transport at the same URL when it gets 400, 404 or 405, as the specification
 * says. transport_kind() reports "auto" until it is known. */
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "transport_http_int.h"
#include "http_detect.h"
#include "http_sse.h"

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
