/* embed.c: owns the public embedding API of <mcpgw/mcpgw.h>: a gateway object on the host's
 * event_base with its log callback, and the in-process downstream transport (a session whose
 * messages are handed over as text through a callback). Nothing here is global but the count of
 * live gateways, which says when the process-wide parts (child reaping, sign-ins) can go. */
#include <stdlib.h>
#include <string.h>
#include "mcpgw/mcpgw.h"
#include "child.h"
#include "embed.h"
#include "gateway.h"
#include "log.h"
#include "oauth.h"
#include "router.h"
#include "session.h"
#include "upstream.h"

#define EMBED_MAX_MESSAGE (16u << 20)	/* the stdio transport's line bound */

struct mcpgw_session {
	struct mcpgw *m;
	struct session *s;
	void (*on_message)(void *arg, const char *msg, size_t len);
	void *arg;
	struct mcpgw_session *next;
};

struct mcpgw {
	struct gateway *gw;
	struct log_sink sink;
	int has_sink;
	void (*log)(void *arg, enum mcpgw_log_level, const char *server, const char *text);
	void *log_arg;
	struct mcpgw_session *sessions;
	int in_callback;		/* depth of host callbacks under way */
	int freeing;
	void (*done)(void *);
	void *done_arg;
};

static int live_gateways;

const char *
mcpgw_strerror(int err)
{
	switch (err) {
	case MCPGW_OK: return "success";
	case MCPGW_EINVAL: return "invalid argument";
	case MCPGW_ECONFIG: return "the configuration has errors";
	case MCPGW_ENOMEM: return "out of memory";
	case MCPGW_ESTOPPING: return "the gateway is stopping";
	case MCPGW_ETOOBIG: return "message too long (more than 16 MiB)";
	case MCPGW_EBUSY: return "called from inside one of the gateway's callbacks";
	case MCPGW_ERANGE: return "no such server";
	default: return "unknown error";
	}
}

/* ---- the log callback ---- */

static void
embed_log_emit(void *arg, enum log_level l, const char *who, const char *text)
{
	struct mcpgw *m = arg;
	m->in_callback++;
	m->log(m->log_arg, (enum mcpgw_log_level)l, who, text);
	m->in_callback--;
}

static int
embed_log_claims(void *arg, const char *who)
{
	struct mcpgw *m = arg;
	struct router *r = m->gw ? gateway_router(m->gw) : NULL;
	for (size_t i = 0; r && i < router_count(r); i++)
		if (strcmp(upstream_name(router_upstream(r, i)), who) == 0)
			return 1;
	return 0;
}

/* Every entry point runs with the gateway's sink current, so that what it logs reaches its own
 * callback even with other gateways in the process. */
#define ENTER(m) struct log_sink *prev_sink_ = (m)->has_sink ? log_sink_enter(&(m)->sink) : NULL
#define LEAVE(m) do { if ((m)->has_sink) log_sink_leave(prev_sink_); } while (0)

/* ---- sessions ---- */

static void
embed_send(void *arg, const char *buf, size_t len)
{
	struct mcpgw_session *ms = arg;
	struct mcpgw *m = ms->m;
	if (m->freeing || ms->on_message == NULL)
		return;		/* mcpgw_free(): no callback after it was called */
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	m->in_callback++;
	ms->on_message(ms->arg, buf, len);
	m->in_callback--;
}

int
mcpgw_session_open(struct mcpgw *m, void (*on_message)(void *, const char *, size_t), void *arg,
    struct mcpgw_session **out)
{
	struct mcpgw_session *ms;
	struct session_io io = { 0 };
	int rc = 0;

	if (m == NULL || on_message == NULL || out == NULL)
		return MCPGW_EINVAL;
	if (gateway_stopping(m->gw))
		return MCPGW_ESTOPPING;
	if ((ms = calloc(1, sizeof *ms)) == NULL)
		return MCPGW_ENOMEM;
	ENTER(m);
	ms->m = m;
	ms->on_message = on_message;
	ms->arg = arg;
	io.send = embed_send;
	io.arg = ms;
	if ((ms->s = gateway_session_open(m->gw, &io)) == NULL) {
		free(ms);
		rc = MCPGW_ENOMEM;
	} else {
		ms->next = m->sessions;
		m->sessions = ms;
		*out = ms;
	}
	LEAVE(m);
	return rc;
}

int
mcpgw_session_send(struct mcpgw_session *ms, const char *msg, size_t len)
{
	char *line;
	if (ms == NULL || (msg == NULL && len > 0))
		return MCPGW_EINVAL;
	if (ms->m->in_callback)
		return MCPGW_EBUSY;
	if (len > EMBED_MAX_MESSAGE)
		return MCPGW_ETOOBIG;
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if ((line = malloc(len + 1)) == NULL)
		return MCPGW_ENOMEM;
	memcpy(line, msg, len);
	line[len] = '\0';
	ENTER(ms->m);
	session_line(ms->s, line, len);	/* takes the line over */
	LEAVE(ms->m);
	return 0;
}

void
mcpgw_session_close(struct mcpgw_session *ms)
{
	struct mcpgw *m;
	if (ms == NULL || ms->m->in_callback)
		return;
	m = ms->m;
	ENTER(m);
	for (struct mcpgw_session **p = &m->sessions; *p; p = &(*p)->next)
		if (*p == ms) {
			*p = ms->next;
			break;
		}
	ms->on_message = NULL;		/* no callback after close */
	gateway_session_close(m->gw, ms->s);
	free(ms);
	LEAVE(m);
}

/* ---- the gateway ---- */

/* cfg NULL: loaded here, its diagnostics to the log (the callback when there is one). */
static int
embed_create(struct event_base *base, const struct gateway_opts *given, struct config *cfg,
    const struct mcpgw_config *c, struct mcpgw **out)
{
	struct gateway_opts go = *given;
	struct mcpgw *m;

	if ((m = calloc(1, sizeof *m)) == NULL) {
		config_free(cfg);
		return MCPGW_ENOMEM;
	}
	m->log = c ? c->log : NULL;
	m->log_arg = c ? c->log_arg : NULL;
	if (m->log) {
		m->sink.emit = embed_log_emit;
		m->sink.claims = embed_log_claims;
		m->sink.arg = m;
		m->sink.level = LOG_INFO;	/* until the configuration says */
		log_sink_add(&m->sink);
		m->has_sink = 1;
	}
	ENTER(m);
	go.log = m->has_sink ? &m->sink : NULL;
	if (cfg == NULL && (cfg = gateway_config_load(&go, NULL)) == NULL) {
		LEAVE(m);
		if (m->has_sink)
			log_sink_remove(&m->sink);
		free(m);
		return MCPGW_ECONFIG;
	}
	if ((m->gw = gateway_new(base, &go, cfg)) == NULL) {
		LEAVE(m);
		if (m->has_sink)
			log_sink_remove(&m->sink);
		free(m);
		return MCPGW_ENOMEM;
	}
	live_gateways++;
	gateway_start(m->gw);
	LEAVE(m);
	*out = m;
	return 0;
}

int
mcpgw_new(struct event_base *base, const struct mcpgw_config *given, struct mcpgw **out)
{
	struct mcpgw_config c = { 0 };
	struct gateway_opts go = { 0 };

	if (base == NULL || given == NULL || out == NULL || given->size < offsetof(struct mcpgw_config, log))
		return MCPGW_EINVAL;
	memcpy(&c, given, given->size < sizeof c ? given->size : sizeof c);
	if ((c.config_file == NULL) == (c.config_yaml == NULL))
		return MCPGW_EINVAL;	/* one of the two */
	go.config_file = c.config_file;
	go.config_text = c.config_yaml;
	go.system_policy = c.system_policy;
	go.state_dir = c.state_dir;
	go.watch = 0;			/* a host that wants reloads calls mcpgw_reload() */
	return embed_create(base, &go, NULL, &c, out);
}

int
embed_new_loaded(struct event_base *base, const struct gateway_opts *go, struct config *cfg,
    struct mcpgw **out)
{
	return embed_create(base, go, cfg, NULL, out);
}

struct gateway *embed_gateway(struct mcpgw *m) { return m->gw; }

int
mcpgw_reload(struct mcpgw *m)
{
	int rc;
	if (m == NULL)
		return MCPGW_EINVAL;
	if (m->in_callback)
		return MCPGW_EBUSY;
	if (gateway_stopping(m->gw))
		return MCPGW_ESTOPPING;
	ENTER(m);
	rc = gateway_reload(m->gw, "mcpgw_reload") < 0 ? MCPGW_ECONFIG : 0;
	LEAVE(m);
	return rc;
}

static void
embed_drained(void *arg)
{
	struct mcpgw *m = arg;
	void (*done)(void *) = m->done;
	m->done = NULL;
	if (done) {
		m->in_callback++;
		done(m->done_arg);
		m->in_callback--;
	}
}

int
mcpgw_drain(struct mcpgw *m, long bound_ms, void (*done)(void *), void *arg)
{
	if (m == NULL || bound_ms < 0)
		return MCPGW_EINVAL;
	if (m->in_callback)
		return MCPGW_EBUSY;
	ENTER(m);
	m->done = done;
	m->done_arg = arg;
	gateway_drain(m->gw, "drain", bound_ms, embed_drained, m);
	LEAVE(m);
	return 0;
}

size_t
mcpgw_server_count(const struct mcpgw *m)
{
	return m ? router_count(gateway_router(m->gw)) : 0;
}

int
mcpgw_server(const struct mcpgw *m, size_t i, struct mcpgw_server *out)
{
	struct upstream *up;
	if (m == NULL || out == NULL)
		return MCPGW_EINVAL;
	if ((up = router_upstream(gateway_router(m->gw), i)) == NULL)
		return MCPGW_ERANGE;
	out->name = upstream_name(up);
	out->state = upstream_state_name(upstream_state(up));
	out->last_error = upstream_last_error(up) ? upstream_last_error(up) : "";
	return 0;
}

void
mcpgw_free(struct mcpgw *m)
{
	if (m == NULL || m->in_callback)
		return;
	ENTER(m);
	m->freeing = 1;
	/* Servers still running are killed (their process groups). */
	gateway_free(m->gw);
	while (m->sessions) {
		struct mcpgw_session *ms = m->sessions;
		m->sessions = ms->next;
		free(ms);
	}
	if (--live_gateways == 0) {
		/* The process-wide part: a sign-in waiting for its browser. */
		oauth_shared_cancel_all();
	}
	LEAVE(m);
	if (m->has_sink)
		log_sink_remove(&m->sink);
	free(m);
}
