/* gateway.c: owns the gateway core object: the configuration and its reloads (with the file
 * watch), the router, the set of client sessions and which of them gets what an upstream sends,
 * and the drain and stop that leave no child behind. No fd of a client, no signal: those belong to
 * the downstream transports (client/stdio.c, embed.c) and to the run mode (run.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <time.h>
#include <event2/event.h>
#include "audit.h"
#include "gateway.h"
#include "jsonrpc.h"
#include "log.h"
#include "router.h"
#include "session.h"
#include "state.h"

#define SHUTDOWN_HARD_MS  4000

struct gateway {
	struct event_base *base;
	struct gateway_opts opts;	/* strings copied */
	struct config *cfg;
	struct config **old_cfgs;	/* replaced by reloads; running servers may point into them */
	size_t nold;
	char *state_dir;
	struct router *router;
	struct session **sess;		/* in the order they were opened */
	size_t nsess;
	struct timespec started;
	int inotify_fd;
	struct { int wd; char *dir; } *watch;	/* watched directories */
	size_t nwatch;
	struct event *ev_watch, *ev_settle;
	struct event *ev_hard, *ev_drain, *ev_drained;
	long drain_ms;			/* the bound of the drain under way */
	struct log_sink *log;		/* NULL: the process log */
	int npaused;			/* transports asking for backpressure */
	int stopping, draining, stopped;
	int caps_fixed;
	int log_level_sent;		/* the level the servers were given (session_log_levels), -1 */			/* gateway_fix_client_caps: sessions do not choose them */
	void (*done)(void *);
	void *done_arg;
};

void
gateway_harden_process(void)
{
	struct rlimit rl = { 0, 0 };
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srand((unsigned)(ts.tv_nsec ^ getpid()));	/* restart jitter differs between gateways */
	signal(SIGPIPE, SIG_IGN);
	setrlimit(RLIMIT_CORE, &rl);
	/* Tokens live in this process: no core dumps, no ptrace attach by the user's other processes. */
	prctl(PR_SET_DUMPABLE, 0);
}

struct config *
gateway_load_config(const struct gateway_args *a)
{
	struct gateway_opts o = { a->config_file, NULL, a->system_policy, NULL, 0, NULL };
	return gateway_config_load(&o, stderr);
}

struct config *
gateway_config_load(const struct gateway_opts *go, FILE *diag)
{
	struct config_diags d = { 0 };
	struct config_load_opts o = { go->config_file, go->system_policy, go->config_file != NULL };
	struct config *cfg = go->config_text ? config_load_text(&o, go->config_text, &d) : config_load(&o, &d);
	if (diag)
		config_diags_print(&d, diag);
	else
		for (size_t i = 0; i < d.n; i++) {
			const struct config_diag *e = &d.v[i];
			const char *path = e->path ? e->path : "";
			if (e->file == NULL)	/* no place, as "out of memory": said without one */
				log_msg(e->warning ? LOG_WARN : LOG_ERROR, "gateway", "%s%s%s", path,
				    *path ? ": " : "", e->message);
			else
				log_msg(e->warning ? LOG_WARN : LOG_ERROR, "gateway", "%s:%d:%d: %s%s%s", e->file,
				    e->line, e->col, path, *path ? ": " : "", e->message);
		}
	config_diags_cleanup(&d);
	return cfg;
}

char *
gateway_state_dir(void)
{
	char err[512], *dir = state_dir_path();
	if (dir == NULL) {
		log_warn("gateway", "no state directory (HOME and XDG_STATE_HOME unset): no catalogue");
		return NULL;
	}
	if (state_dir_ensure(dir, err, sizeof err) < 0) {
		log_warn("gateway", "state directory not used: %s", err);
		free(dir);
		return NULL;
	}
	return dir;
}

/* The configuration's log level: the gateway's own sink's, or the process log's. */
static void
gw_set_log_level(struct gateway *g)
{
	if (g->log)
		g->log->level = (enum log_level)g->cfg->log_level;
	else
		log_set_level((enum log_level)g->cfg->log_level);
}

/* What the gateway's callbacks log goes to its own sink (an embedded gateway's callback). */
static struct log_sink *
gw_enter(struct gateway *g)
{
	return g->log ? log_sink_enter(g->log) : NULL;
}

static void
gw_leave(struct gateway *g, struct log_sink *prev)
{
	if (g->log)
		log_sink_leave(prev);
}

/* Every callback into the gateway (router hooks, timers, the file watch) runs with the gateway's
 * log sink current: NAME is NAME_in between gw_enter and gw_leave. */
#define GW_WRAP(name, params, args)						\
	static void name params							\
	{									\
		struct log_sink *prev_ = gw_enter(arg);				\
		name##_in args;							\
		gw_leave(arg, prev_);						\
	}

/* ---- which session gets what an upstream sends ---- */

/* The session a server-to-client request (sampling, elicitation, roots) or a notification that
 * belongs to one (elicitation/complete) goes to; NULL: refused. With one session (run mode) it is
 * always that session. */
static struct session *
gateway_request_session(const struct gateway *g, struct upstream *up)
{
	struct session *found = NULL;

	/* A server's request names no call: it goes to a session only when that session is the
	 * only one with calls in flight there. With several, sending it to one of them could show
	 * one client another's prompt, so it is refused. With none, only a lone session (the run
	 * mode's client) is asked. */
	for (size_t i = 0; i < g->nsess; i++)
		if (session_calls_at(g->sess[i], up)) {
			if (found)
				return NULL;
			found = g->sess[i];
		}
	if (found)
		return found;
	/* A lone session (the run mode's client) even before its handshake: it refuses what its
	 * client cannot take, rather than "no client is connected". */
	return g->nsess == 1 ? g->sess[0] : NULL;
}

static void
gw_list_changed_in(void *arg, unsigned which)
{
	struct gateway *g = arg;
	/* Each session knows which lists its client has seen. */
	for (size_t i = 0; i < g->nsess; i++)
		session_list_changed(g->sess[i], which);
}

GW_WRAP(gw_list_changed, (void *arg, unsigned which), (arg, which))

static void
gw_notification_in(void *arg, struct upstream *up, const char *method, json_t *params)
{
	struct gateway *g = arg;
	if (strcmp(method, "notifications/message") == 0) {
		/* One rate limit per server, whatever the number of sessions; the log level the
		 * servers got is the first session's (gateway_log_level), so every session hears it. */
		int any = 0, allowed;
		for (size_t i = 0; i < g->nsess; i++)
			any |= session_initialized(g->sess[i]);
		if (!any)
			return;
		allowed = upstream_log_allowed(up);
		for (size_t i = 0; i < g->nsess; i++)
			session_log(g->sess[i], up, params, allowed);
	} else if (strcmp(method, "notifications/resources/updated") == 0) {
		/* To the sessions subscribed to it; one session hears every update, as it always did
		 * (a server may send updates for URIs it was not asked about). */
		const char *uri = json_string_value(json_object_get(params, "uri"));
		for (size_t i = 0; uri && i < g->nsess; i++)
			if (g->nsess == 1 || session_subscribed(g->sess[i], up, uri))
				session_notification(g->sess[i], up, method, params);
	} else if (strcmp(method, "notifications/elicitation/complete") == 0) {
		struct session *s = gateway_request_session(g, up);
		if (s)
			session_notification(s, up, method, params);
	} else {
		/* notifications/cancelled of a server-to-client request: only its session knows it. */
		for (size_t i = 0; i < g->nsess; i++)
			session_notification(g->sess[i], up, method, params);
	}
}

GW_WRAP(gw_notification, (void *arg, struct upstream *up, const char *method, json_t *params),
    (arg, up, method, params))

static void
gw_request_in(void *arg, struct upstream *up, json_t *msg)
{
	struct gateway *g = arg;
	struct session *s = gateway_request_session(g, up);
	if (s == NULL) {
		upstream_respond(up, jsonrpc_error(json_object_get(msg, "id"), JSONRPC_METHOD_NOT_FOUND,
		    g->nsess == 0 ? "Method not found: no client is connected" :
		    "Method not found: no single client to ask (none, or several, have calls in flight "
		    "at this server)", NULL));
		return;
	}
	session_request(s, up, msg);
}

GW_WRAP(gw_request, (void *arg, struct upstream *up, json_t *msg), (arg, up, msg))

static void
gw_state_in(void *arg, struct upstream *up, enum upstream_state old)
{
	struct gateway *g = arg;
	for (size_t i = 0; i < g->nsess; i++)
		session_state(g->sess[i], up, old);
}

GW_WRAP(gw_state, (void *arg, struct upstream *up, enum upstream_state old), (arg, up, old))

static void
gw_gone_in(void *arg, struct upstream *up)
{
	struct gateway *g = arg;
	for (size_t i = 0; i < g->nsess; i++)
		session_upstream_gone(g->sess[i], up);
}

GW_WRAP(gw_gone, (void *arg, struct upstream *up), (arg, up))

/* The client capabilities and log level the upstreams get are one per gateway (an upstream has
 * one session with its server): the first session's, the one run mode has. A later session's are
 * its own in what the gateway answers it, not in what the servers are told. */
void
gateway_client_caps(struct gateway *g, struct session *s, json_t *caps)
{
	if (!g->caps_fixed && g->nsess > 0 && g->sess[0] == s)
		router_set_client_caps(g->router, caps);
}

void
gateway_fix_client_caps(struct gateway *g, json_t *caps)
{
	g->caps_fixed = 1;
	router_set_client_caps(g->router, caps);
}

void
gateway_log_level(struct gateway *g, struct session *s, const char *level)
{
	/* The servers get the most detailed level any session asked for; each session drops what
	 * is below its own (session_log). */
	int lowest = -1;
	(void)s;
	(void)level;
	for (size_t i = 0; i < g->nsess; i++) {
		int l = session_log_level(g->sess[i]);
		if (l >= 0 && (lowest < 0 || l < lowest))
			lowest = l;
	}
	if (lowest >= 0 && lowest != g->log_level_sent) {
		g->log_level_sent = lowest;
		router_set_log_level(g->router, session_log_levels[lowest]);
	}
}

/* ---- sessions ---- */

struct session *
gateway_session_open(struct gateway *g, const struct session_io *io)
{
	struct session **v = realloc(g->sess, (g->nsess + 1) * sizeof *v);
	struct session *s;
	if (v == NULL)
		return NULL;
	g->sess = v;
	if ((s = session_new(g, io)) == NULL)
		return NULL;
	g->sess[g->nsess++] = s;
	if (g->draining)
		session_drain(s);
	return s;
}

void
gateway_session_close(struct gateway *g, struct session *s)
{
	for (size_t i = 0; i < g->nsess; i++)
		if (g->sess[i] == s) {
			memmove(&g->sess[i], &g->sess[i + 1], (g->nsess - i - 1) * sizeof *g->sess);
			g->nsess--;
			session_cancel_all(s);
			session_free(s);
			gateway_session_quiet(g);
			return;
		}
}

void
gateway_pause(struct gateway *g, int paused)
{
	int was = g->npaused > 0;
	g->npaused += paused ? 1 : -1;
	if (g->npaused < 0)
		g->npaused = 0;
	if ((g->npaused > 0) != was)
		router_pause(g->router, g->npaused > 0);
}

size_t
gateway_busy(const struct gateway *g)
{
	size_t n = 0;
	for (size_t i = 0; i < g->nsess; i++)
		n += session_busy(g->sess[i]);
	return n;
}

struct event_base *gateway_base(const struct gateway *g) { return g->base; }
struct router *gateway_router(const struct gateway *g) { return g->router; }
const struct config *gateway_config(const struct gateway *g) { return g->cfg; }
void gateway_started(const struct gateway *g, struct timespec *ts) { *ts = g->started; }
int gateway_stopping(const struct gateway *g) { return g->stopping; }

/* ---- stop and drain ---- */

static void
gw_finish(struct gateway *g)
{
	void (*done)(void *) = g->done;
	if (g->stopped)
		return;
	g->stopped = 1;
	evtimer_del(g->ev_hard);
	g->done = NULL;
	if (done)
		done(g->done_arg);
}

static void
gw_stopped_in(void *arg)
{
	log_debug("gateway", "every server stopped");
	gw_finish(arg);
}

GW_WRAP(gw_stopped, (void *arg), (arg))

static void
gw_hard_cb_in(evutil_socket_t fd, short what, void *arg)
{
	/* gateway_free() kills the process groups of what is still running. */
	log_warn("gateway", "servers still running after %d ms: killing them", SHUTDOWN_HARD_MS);
	gw_finish(arg);
}

GW_WRAP(gw_hard_cb, (evutil_socket_t fd, short what, void *arg), (fd, what, arg))

static void
gw_stop(struct gateway *g, const char *why)
{
	struct timeval tv = { SHUTDOWN_HARD_MS / 1000, (SHUTDOWN_HARD_MS % 1000) * 1000 };
	if (g->stopping)
		return;
	g->stopping = 1;
	log_info("gateway", "%s: stopping", why);
	evtimer_del(g->ev_drain);
	if (evtimer_add(g->ev_hard, &tv) < 0)	/* the servers' own stop bounds still hold */
		log_warn("gateway", "out of memory: no hard bound on stopping");
	router_stop(g->router, gw_stopped, g);
}

static void
gw_drained_cb_in(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *g = arg;
	if (g->draining && !g->stopping && gateway_busy(g) == 0)
		gw_stop(g, "drained");
}

GW_WRAP(gw_drained_cb, (evutil_socket_t fd, short what, void *arg), (fd, what, arg))

void
gateway_session_quiet(struct gateway *g)
{
	/* Stop after this callback, not inside it: we may be deep in an upstream's callback here. */
	if (g->draining && !g->stopping && gateway_busy(g) == 0)
		event_active(g->ev_drained, EV_TIMEOUT, 0);
}

static void
gw_drain_timeout_cb_in(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *g = arg;
	size_t busy = gateway_busy(g);
	if (g->stopping)
		return;
	log_warn("gateway", "%zu request%s still in flight after %ld ms: stopping anyway", busy,
	    busy == 1 ? "" : "s", g->drain_ms);
	gw_stop(g, "drain timeout");
}

GW_WRAP(gw_drain_timeout_cb, (evutil_socket_t fd, short what, void *arg), (fd, what, arg))

void
gateway_drain(struct gateway *g, const char *why, long bound_ms, void (*done)(void *), void *arg)
{
	struct timeval tv = { bound_ms / 1000, (bound_ms % 1000) * 1000 };
	size_t busy;

	if (done) {
		g->done = done;
		g->done_arg = arg;
	}
	if (g->stopping)
		return;
	if (g->draining) {
		log_info("gateway", "%s again: not waiting for calls in flight", why);
		gw_stop(g, why);
		return;
	}
	/* 2026-07-28 listen streams end with their graceful result, whether or not requests are in
	 * flight: the client can tell a stop from a dropped connection. */
	for (size_t i = 0; i < g->nsess; i++)
		session_end_listens(g->sess[i]);
	/* A supervisor such as Codex may send SIGKILL about 20 ms after SIGTERM: write first. */
	router_flush(g->router);
	busy = gateway_busy(g);
	if (busy == 0 || bound_ms <= 0) {
		gw_stop(g, why);
		return;
	}
	log_info("gateway", "%s: finishing %zu request%s in flight (at most %ld ms), refusing new ones",
	    why, busy, busy == 1 ? "" : "s", bound_ms);
	g->draining = 1;
	g->drain_ms = bound_ms;
	for (size_t i = 0; i < g->nsess; i++)
		session_drain(g->sess[i]);
	if (evtimer_add(g->ev_drain, &tv) < 0)	/* calls in flight keep their own timeouts */
		log_warn("gateway", "out of memory: no bound on the drain");
}

/* ---- reload and the file watch ---- */

static void gw_watch(struct gateway *);

int
gateway_reload(struct gateway *g, const char *why)
{
	struct config *ncfg;

	if (g->stopping)
		return -1;
	log_info("gateway", "%s: reloading the configuration", why);
	if ((ncfg = gateway_config_load(&g->opts, NULL)) == NULL) {
		log_error("gateway", "the new configuration has errors: keeping the running one");
		return -1;
	}
	struct config **old = realloc(g->old_cfgs, (g->nold + 1) * sizeof *old);
	if (old == NULL) {
		config_free(ncfg);
		return -1;
	}
	g->old_cfgs = old;
	g->old_cfgs[g->nold++] = g->cfg;
	g->cfg = ncfg;
	gw_set_log_level(g);
	if (router_reload(g->router, ncfg, gw_gone, g) < 0) {
		/* out of memory before the router changed anything: the running configuration stays */
		g->cfg = g->old_cfgs[--g->nold];
		config_free(ncfg);
		gw_set_log_level(g);
		log_error("gateway", "out of memory: keeping the running configuration");
		return -1;
	}
	/* gateway.clients may have changed what a client sees without a change of the router's
	 * lists: such sessions compare for themselves. */
	for (size_t i = 0; i < g->nsess; i++)
		session_rules_changed(g->sess[i]);
	gw_watch(g);
	return 0;
}

static void
gw_settle_cb_in(evutil_socket_t fd, short what, void *arg)
{
	gateway_reload(arg, "configuration file changed");
}

GW_WRAP(gw_settle_cb, (evutil_socket_t fd, short what, void *arg), (fd, what, arg))

/* 1 when a change to dir/name concerns the configuration: one of the files it was read from, or
 * a new or removed YAML file in a policy.d directory. */
static int
gw_config_path(const struct gateway *g, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	for (size_t i = 0; i < g->cfg->nfiles; i++) {
		/* the same split as gw_watch: "a/b/c.yaml" -> "a/b" + "c.yaml", "c.yaml" -> "." + "c.yaml" */
		const char *f = g->cfg->files[i], *slash = strrchr(f, '/');
		const char *base = slash ? slash + 1 : f;
		size_t fdl = slash ? (slash == f ? 1 : (size_t)(slash - f)) : 1;
		const char *fdir = slash ? f : ".";
		if (strcmp(base, name) == 0 && fdl == dl && strncmp(fdir, dir, dl) == 0)
			return 1;
	}
	return dl >= 9 && strcmp(dir + dl - 9, "/policy.d") == 0 && nl > 5 &&
	    strcmp(name + nl - 5, ".yaml") == 0 && name[0] != '.';
}

static void
gw_watch_cb_in(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *g = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct timeval tv = { 0, 200000 };
	ssize_t n;
	int relevant = 0;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			for (size_t i = 0; i < g->nwatch; i++)
				if (g->watch[i].wd == e->wd && e->len > 0 && gw_config_path(g, g->watch[i].dir, e->name))
					relevant = 1;
			p += sizeof *e + e->len;
		}
	}
	/* Editors write in several steps: reload once things are quiet. */
	if (relevant && evtimer_add(g->ev_settle, &tv) < 0)
		log_warn("gateway", "out of memory: a configuration change is not reloaded (SIGHUP does)");
}

GW_WRAP(gw_watch_cb, (evutil_socket_t fd, short what, void *arg), (fd, what, arg))

static void
gw_unwatch(struct gateway *g)
{
	if (g->ev_watch) {
		event_free(g->ev_watch);
		g->ev_watch = NULL;
	}
	if (g->inotify_fd >= 0)
		close(g->inotify_fd);
	g->inotify_fd = -1;
	for (size_t i = 0; i < g->nwatch; i++)
		free(g->watch[i].dir);
	free(g->watch);
	g->watch = NULL;
	g->nwatch = 0;
}

/* Watches the directories of every file the configuration was read from. */
static void
gw_watch(struct gateway *g)
{
	gw_unwatch(g);
	if (!g->opts.watch)
		return;
	g->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (g->inotify_fd < 0)
		return;
	g->watch = calloc(g->cfg->nfiles + 1, sizeof *g->watch);
	for (size_t i = 0; g->watch && i < g->cfg->nfiles; i++) {
		char *dir = strdup(g->cfg->files[i]), *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash && slash != dir)
			*slash = '\0';
		else if (dir) {
			free(dir);
			dir = strdup(slash ? "/" : ".");
		}
		if (dir == NULL)
			continue;
		int wd = inotify_add_watch(g->inotify_fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
		if (wd < 0) {
			free(dir);
			continue;
		}
		g->watch[g->nwatch].wd = wd;	/* the same directory twice gets the same wd: harmless */
		g->watch[g->nwatch++].dir = dir;
	}
	g->ev_watch = event_new(g->base, g->inotify_fd, EV_READ | EV_PERSIST, gw_watch_cb, g);
	if (g->ev_watch == NULL) {
		log_warn("gateway", "out of memory: configuration files not watched");
		return;
	}
	if (event_add(g->ev_watch, NULL) < 0)
		log_warn("gateway", "out of memory: configuration files not watched");
}

/* ---- life ---- */

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct gateway *
gateway_new(struct event_base *base, const struct gateway_opts *o, struct config *cfg)
{
	static const struct router_hooks rh_base = { gw_list_changed, gw_notification, gw_request,
		gw_state, NULL };
	struct router_hooks rh = rh_base;
	struct gateway *g = calloc(1, sizeof *g);

	if (g == NULL) {
		config_free(cfg);
		return NULL;
	}
	g->base = base;
	g->cfg = cfg;
	g->log = o->log;
	gw_set_log_level(g);
	g->inotify_fd = -1;
	g->log_level_sent = -1;
	g->opts.config_file = dup_or_null(o->config_file);
	g->opts.config_text = dup_or_null(o->config_text);
	g->opts.system_policy = dup_or_null(o->system_policy);
	g->opts.watch = o->watch && o->config_text == NULL;
	clock_gettime(CLOCK_MONOTONIC, &g->started);
	if ((o->config_file && !g->opts.config_file) || (o->config_text && !g->opts.config_text) ||
	    (o->system_policy && !g->opts.system_policy)) {
		gateway_free(g);
		return NULL;
	}
	if (o->state_dir && *o->state_dir) {
		char err[512];
		if ((g->state_dir = strdup(o->state_dir)) == NULL) {
			gateway_free(g);
			return NULL;
		}
		if (state_dir_ensure(g->state_dir, err, sizeof err) < 0) {
			log_warn("gateway", "state directory not used: %s", err);
			free(g->state_dir);
			g->state_dir = NULL;
		}
	} else if (o->state_dir == NULL)
		g->state_dir = gateway_state_dir();
	if (cfg->audit_log) {
		char err[512];
		if (audit_open(cfg->audit_log, err, sizeof err) < 0)
			log_warn("gateway", "audit log not written: %s", err);
	}
	rh.arg = g;
	g->router = router_new(base, cfg, g->state_dir, &rh);
	g->ev_hard = evtimer_new(base, gw_hard_cb, g);
	g->ev_drain = evtimer_new(base, gw_drain_timeout_cb, g);
	g->ev_drained = evtimer_new(base, gw_drained_cb, g);
	g->ev_settle = evtimer_new(base, gw_settle_cb, g);
	if (g->router == NULL || !g->ev_hard || !g->ev_drain || !g->ev_drained || !g->ev_settle) {
		gateway_free(g);
		return NULL;
	}
	gw_watch(g);
	return g;
}

void
gateway_start(struct gateway *g)
{
	router_start(g->router);
}

void
gateway_free(struct gateway *g)
{
	if (g == NULL)
		return;
	gw_unwatch(g);
	/* Last answers (errors for calls cut short) go to the sessions before they go. */
	router_free(g->router);
	for (size_t i = 0; i < g->nsess; i++)
		session_free(g->sess[i]);
	free(g->sess);
	if (g->ev_hard) event_free(g->ev_hard);
	if (g->ev_drain) event_free(g->ev_drain);
	if (g->ev_drained) event_free(g->ev_drained);
	if (g->ev_settle) event_free(g->ev_settle);
	for (size_t i = 0; i < g->nold; i++)
		config_free(g->old_cfgs[i]);
	free(g->old_cfgs);
	if (g->cfg && g->cfg->audit_log)
		audit_close();
	config_free(g->cfg);
	free(g->state_dir);
	free((char *)g->opts.config_file);
	free((char *)g->opts.config_text);
	free((char *)g->opts.system_policy);
	free(g);
}
