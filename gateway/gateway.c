/* gateway.c: owns the stdio endpoint's process: the event loop, stdin/stdout with their bounds and
 * backpressure, signals, and the orderly shutdown that leaves no child behind. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include "mcpgw/mcpgw.h"
#include "audit.h"
#include "child.h"
#include "frame.h"
#include "gateway.h"
#include "log.h"
#include "oauth.h"
#include "router.h"
#include "sentinel.h"
#include "session.h"
#include "state.h"
#include "version.h"

#define CLIENT_MAX_LINE   (16u << 20)
#define OUT_HIGH_WATER    (8u << 20)	/* stop reading upstreams above this much unsent output */
#define OUT_LOW_WATER     (1u << 20)
#define SHUTDOWN_HARD_MS  4000
#define DRAIN_MS          5000	/* SIGTERM: how long calls in flight may take to finish */

struct gw {
	struct event_base *base;
	struct config *cfg;
	struct config **old_cfgs;	/* replaced by reloads; running servers may point into them */
	size_t nold;
	const struct mcpgw_options *opts;
	int inotify_fd;
	struct { int wd; char *dir; } *watch;	/* watched directories */
	size_t nwatch;
	struct event *ev_hup, *ev_watch, *ev_settle;
	struct router *router;
	struct session *session;
	struct event *ev_in, *ev_out, *ev_term, *ev_int, *ev_hard;
	struct event *ev_drain, *ev_drained;	/* SIGTERM with calls in flight: bound, check */
	struct evbuffer *in, *out;
	struct frame frame;
	int paused, stopping, draining, out_broken;
	int stdin_fl, stdout_fl;
};

const char *mcpgw_version(void) { return MCPGW_VERSION; }

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
	struct config_diags d = { 0 };
	struct config_load_opts o = { a->config_file, a->system_policy, a->config_file != NULL };
	struct config *cfg = config_load(&o, &d);
	config_diags_print(&d, stderr);
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

static void gw_shutdown(struct gw *, const char *why);

static void
gw_flush(struct gw *g)
{
	while (!g->out_broken && evbuffer_get_length(g->out) > 0) {
		int n = evbuffer_write(g->out, STDOUT_FILENO);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			g->out_broken = 1;	/* EPIPE: the client is gone */
			evbuffer_drain(g->out, evbuffer_get_length(g->out));
			return;
		}
	}
}

static void
gw_pressure(struct gw *g)
{
	size_t q = evbuffer_get_length(g->out);
	if (!g->paused && q > OUT_HIGH_WATER) {
		g->paused = 1;
		log_debug("client", "client reads slowly (%zu bytes queued): pausing upstream output", q);
		router_pause(g->router, 1);
	} else if (g->paused && q < OUT_LOW_WATER) {
		g->paused = 0;
		router_pause(g->router, 0);
	}
}

static void
gw_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw *g = arg;
	gw_flush(g);
	if (evbuffer_get_length(g->out) == 0)
		event_del(g->ev_out);
	if (g->out_broken)
		gw_shutdown(g, "stdout closed");
	else
		gw_pressure(g);
}

static void
gw_send(void *arg, const char *buf, size_t len)
{
	struct gw *g = arg;
	if (g->out_broken)
		return;
	evbuffer_add(g->out, buf, len);
	gw_flush(g);
	if (g->out_broken) {
		gw_shutdown(g, "stdout closed");
		return;
	}
	if (evbuffer_get_length(g->out) > 0) {
		event_add(g->ev_out, NULL);
		gw_pressure(g);
	}
	/* Draining: the last answer went out. Stop after this callback, not inside it: we may be
	 * deep in an upstream's callback here. */
	if (g->draining && session_busy(g->session) == 0)
		event_active(g->ev_drained, EV_TIMEOUT, 0);
}

static void
gw_in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw *g = arg;
	char buf[65536];
	ssize_t n;
	char *line;
	size_t len;
	enum frame_result r;

	/* read(2), not evbuffer_read, which costs an ioctl(FIONREAD) per message */
	do
		n = read(fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0)
		evbuffer_add(g->in, buf, (size_t)n);
	while ((r = frame_next(&g->frame, g->in, &line, &len)) != FRAME_NEED_MORE) {
		if (r == FRAME_OVERLONG)
			session_overlong(g->session);
		else
			session_line(g->session, line, len);
	}
	if (n <= 0) {
		if (evbuffer_get_length(g->in) > 0) {	/* a last line without its newline */
			len = evbuffer_get_length(g->in);
			line = malloc(len + 1);
			evbuffer_remove(g->in, line, len);
			line[len] = '\0';
			session_line(g->session, line, len);
		}
		gw_shutdown(g, n == 0 ? "client closed stdin" : "stdin read error");
	} else if (g->draining && session_busy(g->session) == 0)
		event_active(g->ev_drained, EV_TIMEOUT, 0);	/* the client cancelled the last call */
}

static void
gw_stopped(void *arg)
{
	struct gw *g = arg;
	log_debug("gateway", "every server stopped");
	event_base_loopexit(g->base, NULL);
}

static void
gw_hard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw *g = arg;
	log_warn("gateway", "servers still running after %d ms: killing them", SHUTDOWN_HARD_MS);
	child_kill_all();
	event_base_loopexit(g->base, NULL);
}

static void
gw_shutdown(struct gw *g, const char *why)
{
	struct timeval tv = { SHUTDOWN_HARD_MS / 1000, (SHUTDOWN_HARD_MS % 1000) * 1000 };
	if (g->stopping)
		return;
	g->stopping = 1;
	log_info("gateway", "%s: stopping", why);
	event_del(g->ev_in);
	evtimer_add(g->ev_hard, &tv);
	router_stop(g->router, gw_stopped, g);
}

static void gw_watch(struct gw *);

/* SIGHUP or a change of a configuration file: parse and validate the whole new configuration,
 * and only then swap it in; an invalid one keeps the running configuration. */
static void
gw_reload(struct gw *g, const char *why)
{
	struct config_diags d = { 0 };
	struct config_load_opts o = { g->opts->config_file, g->opts->system_policy, g->opts->config_file != NULL };
	struct config *ncfg;

	if (g->stopping)
		return;
	log_info("gateway", "%s: reloading the configuration", why);
	ncfg = config_load(&o, &d);
	for (size_t i = 0; i < d.n; i++) {
		const struct config_diag *e = &d.v[i];
		log_msg(e->warning ? LOG_WARN : LOG_ERROR, "gateway", "%s:%d:%d: %s%s%s", e->file, e->line,
		    e->col, e->path, *e->path ? ": " : "", e->message);
	}
	config_diags_cleanup(&d);
	if (ncfg == NULL) {
		log_error("gateway", "the new configuration has errors: keeping the running one");
		return;
	}
	struct config **old = realloc(g->old_cfgs, (g->nold + 1) * sizeof *old);
	if (old == NULL) {
		config_free(ncfg);
		return;
	}
	g->old_cfgs = old;
	g->old_cfgs[g->nold++] = g->cfg;
	g->cfg = ncfg;
	log_set_level((enum log_level)ncfg->log_level);
	session_set_config(g->session, ncfg);
	router_reload(g->router, ncfg, session_upstream_gone, g->session);
	gw_watch(g);
}

static void
gw_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	gw_reload(arg, "SIGHUP");
}

static void
gw_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_reload(arg, "configuration file changed");
}

/* 1 when a change to dir/name concerns the configuration: one of the files it was read from, or
 * a new or removed YAML file in a policy.d directory. */
static int
gw_config_path(const struct gw *g, const char *dir, const char *name)
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
gw_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw *g = arg;
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
	if (relevant)
		evtimer_add(g->ev_settle, &tv);
}

/* Watches the directories of every file the configuration was read from. */
static void
gw_watch(struct gw *g)
{
	if (g->ev_watch) {
		event_free(g->ev_watch);
		g->ev_watch = NULL;
	}
	if (g->inotify_fd >= 0)
		close(g->inotify_fd);
	for (size_t i = 0; i < g->nwatch; i++)
		free(g->watch[i].dir);
	free(g->watch);
	g->watch = NULL;
	g->nwatch = 0;
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
	event_add(g->ev_watch, NULL);
}

static void
gw_drained_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw *g = arg;
	if (g->draining && !g->stopping && session_busy(g->session) == 0)
		gw_shutdown(g, "drained");
}

static void
gw_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw *g = arg;
	size_t busy = session_busy(g->session);
	if (g->stopping)
		return;
	log_warn("gateway", "%zu request%s still in flight after %d ms: stopping anyway", busy,
	    busy == 1 ? "" : "s", DRAIN_MS);
	gw_shutdown(g, "drain timeout");
}

/* SIGTERM or SIGINT: the catalogue is written first (a supervisor such as Codex may send SIGKILL
 * about 20 ms later). With nothing in flight the servers are stopped at once; otherwise new
 * requests are refused while those in flight finish, for at most DRAIN_MS. A second signal stops
 * at once. Whenever we are killed on the way, the sentinel process ends the servers' groups. */
static void
gw_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct gw *g = arg;
	const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
	struct timeval tv = { DRAIN_MS / 1000, (DRAIN_MS % 1000) * 1000 };
	size_t busy;

	if (g->stopping)
		return;
	if (g->draining) {
		log_info("gateway", "%s again: not waiting for calls in flight", name);
		gw_shutdown(g, name);
		return;
	}
	router_flush(g->router);
	busy = session_busy(g->session);
	if (busy == 0) {
		gw_shutdown(g, name);
		return;
	}
	log_info("gateway", "%s: finishing %zu request%s in flight (at most %d ms), refusing new ones",
	    name, busy, busy == 1 ? "" : "s", DRAIN_MS);
	g->draining = 1;
	session_drain(g->session);
	evtimer_add(g->ev_drain, &tv);
}

int
mcpgw_run_stdio(const struct mcpgw_options *o)
{
	struct gateway_args a = { o->config_file, o->system_policy };
	struct gw g = { 0 };
	char *state = NULL;

	g.opts = o;
	g.inotify_fd = -1;

	gateway_harden_process();
	sentinel_init();
	if ((g.cfg = gateway_load_config(&a)) == NULL)
		return 1;
	log_set_level((enum log_level)g.cfg->log_level);
	state = o->state_dir ? strdup(o->state_dir) : gateway_state_dir();
	if (g.cfg->audit_log) {
		char err[512];
		if (audit_open(g.cfg->audit_log, err, sizeof err) < 0)
			log_warn("gateway", "audit log not written: %s", err);
	}
	g.base = event_base_new();
	if (g.base == NULL) {
		log_error("gateway", "cannot create the event loop");
		config_free(g.cfg);
		free(state);
		return 2;
	}
	struct router_hooks rh = { session_list_changed, session_notification, session_request,
		session_state, NULL };
	struct session_io io = { gw_send, &g };
	g.router = router_new(g.base, g.cfg, state, &rh);
	g.session = session_new(g.base, g.router, g.cfg, &io, g.cfg->startup_wait_ms);
	/* The router calls the session through rh.arg; set it now that the session exists. */
	router_set_hooks_arg(g.router, g.session);
	free(state);

	g.in = evbuffer_new();
	g.out = evbuffer_new();
	frame_init(&g.frame, CLIENT_MAX_LINE);
	g.stdin_fl = fcntl(STDIN_FILENO, F_GETFL);
	g.stdout_fl = fcntl(STDOUT_FILENO, F_GETFL);
	fcntl(STDIN_FILENO, F_SETFL, g.stdin_fl | O_NONBLOCK);
	fcntl(STDOUT_FILENO, F_SETFL, g.stdout_fl | O_NONBLOCK);
	g.ev_in = event_new(g.base, STDIN_FILENO, EV_READ | EV_PERSIST, gw_in_cb, &g);
	g.ev_out = event_new(g.base, STDOUT_FILENO, EV_WRITE | EV_PERSIST, gw_out_cb, &g);
	g.ev_term = evsignal_new(g.base, SIGTERM, gw_signal_cb, &g);
	g.ev_int = evsignal_new(g.base, SIGINT, gw_signal_cb, &g);
	g.ev_hard = evtimer_new(g.base, gw_hard_cb, &g);
	g.ev_drain = evtimer_new(g.base, gw_drain_timeout_cb, &g);
	g.ev_drained = evtimer_new(g.base, gw_drained_cb, &g);
	g.ev_hup = evsignal_new(g.base, SIGHUP, gw_hup_cb, &g);
	g.ev_settle = evtimer_new(g.base, gw_settle_cb, &g);
	evsignal_add(g.ev_hup, NULL);
	gw_watch(&g);
	event_add(g.ev_in, NULL);
	evsignal_add(g.ev_term, NULL);
	evsignal_add(g.ev_int, NULL);
	log_info("gateway", "mcpgw %s serving %zu server%s on stdio", MCPGW_VERSION,
	    router_count(g.router), router_count(g.router) == 1 ? "" : "s");
	router_start(g.router);

	event_base_dispatch(g.base);

	/* issue 4: a sign-in still waiting for its browser ends here (its listener, its requests) */
	oauth_shared_cancel_all();
	/* Last answers (errors for calls cut short) go out before we leave. */
	router_free(g.router);
	session_free(g.session);
	fcntl(STDOUT_FILENO, F_SETFL, g.stdout_fl);
	gw_flush(&g);
	fcntl(STDIN_FILENO, F_SETFL, g.stdin_fl);
	event_free(g.ev_in);
	event_free(g.ev_out);
	event_free(g.ev_term);
	event_free(g.ev_int);
	event_free(g.ev_hard);
	event_free(g.ev_drain);
	event_free(g.ev_drained);
	event_free(g.ev_hup);
	event_free(g.ev_settle);
	if (g.ev_watch)
		event_free(g.ev_watch);
	if (g.inotify_fd >= 0)
		close(g.inotify_fd);
	for (size_t i = 0; i < g.nwatch; i++)
		free(g.watch[i].dir);
	free(g.watch);
	for (size_t i = 0; i < g.nold; i++)
		config_free(g.old_cfgs[i]);
	free(g.old_cfgs);
	evbuffer_free(g.in);
	evbuffer_free(g.out);
	child_shutdown();
	sentinel_stop();
	event_base_free(g.base);
	config_free(g.cfg);
	audit_close();
	libevent_global_shutdown();
	return 0;
}
