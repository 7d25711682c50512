/* cmd_fleet.c: what `tools`, `pin` and `doctor` share: start every configured server (lazy ones
 * too), wait until each is ready or failed (bounded by the longest startup_timeout) while telling a
 * person at a terminal which servers are still awaited, and stop them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "child.h"
#include "cmd.h"
#include "log.h"
#include "oauth.h"

#define FLEET_TICK_MS	5000	/* how often the servers still awaited are named */

static int
fleet_arrived(enum upstream_state s)
{
	return s == UPSTREAM_READY || s == UPSTREAM_FAILED || s == UPSTREAM_SIGNIN;
}

static int
fleet_done(const struct router *r)
{
	for (size_t i = 0; i < router_count(r); i++)
		if (!fleet_arrived(upstream_state(router_upstream(r, i))))
			return 0;
	return 1;
}

static double
fleet_elapsed(const struct cmd_fleet *f)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - f->t0.tv_sec) + (double)(now.tv_nsec - f->t0.tv_nsec) / 1e9;
}

/* One line per server, the first time it is ready, failed or waits for a sign-in. */
static void
fleet_tell(struct cmd_fleet *f, size_t k)
{
	struct upstream *up = router_upstream(f->router, k);
	enum upstream_state s = upstream_state(up);
	json_t *tools;

	if (!f->progress || f->told == NULL || f->told[k] || !fleet_arrived(s))
		return;
	f->told[k] = 1;
	if (s == UPSTREAM_READY) {
		tools = upstream_list(up, UPSTREAM_TOOLS);
		fprintf(stderr, "  %s: ready after %.1f s (%zu tool%s)\n", upstream_name(up), fleet_elapsed(f),
		    tools ? json_array_size(tools) : 0, tools && json_array_size(tools) == 1 ? "" : "s");
	} else {
		char why[300];
		fprintf(stderr, "  %s: %s after %.1f s%s%s\n", upstream_name(up), cmd_state_words(s),
		    fleet_elapsed(f), *upstream_last_error(up) ? ": " : "",
		    cmd_safe(upstream_last_error(up), why, sizeof why));
	}
}

/* The servers not there yet, as "a, b, c" (bounded). */
static void
fleet_waiting(const struct cmd_fleet *f, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t k = 0; k < router_count(f->router) && n + 1 < outlen; k++) {
		struct upstream *up = router_upstream(f->router, k);
		if (!fleet_arrived(upstream_state(up)))
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", upstream_name(up));
	}
}

static void
fleet_state_cb(void *arg, struct upstream *up, enum upstream_state old)
{
	struct cmd_fleet *f = arg;
	if (f->stopping)
		return;
	for (size_t k = 0; k < router_count(f->router); k++)
		if (router_upstream(f->router, k) == up)
			fleet_tell(f, k);
	if (fleet_done(f->router))
		event_base_loopexit(f->base, NULL);
}

static void
fleet_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cmd_fleet *f = arg;
	struct timeval tv = { FLEET_TICK_MS / 1000, 0 };
	char names[512];

	fleet_waiting(f, names, sizeof names);
	if (*names)
		fprintf(stderr, "  still waiting for %s (%.0f s)\n", names, fleet_elapsed(f));
	(void)evtimer_add(f->tick, &tv);	/* failing: no more progress lines */
}

static void
fleet_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cmd_fleet *f = arg;
	char names[512];

	fleet_waiting(f, names, sizeof names);
	log_warn("gateway", "not started in time (after %.0f s): %s", fleet_elapsed(f), names);
	event_base_loopexit(f->base, NULL);
}

static void
fleet_stopped(void *arg)
{
	event_base_loopexit(((struct cmd_fleet *)arg)->base, NULL);
}

/* No user file at all (no -c, no $MCPGW_CONFIG, the default path missing) and no server from the
 * system policy: say where we looked instead of printing an empty list. */
static int
fleet_no_config(const struct gateway_args *a, const struct config *cfg)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *path;
	struct stat st;

	if (a->config_file != NULL || cfg->nservers > 0)
		return 0;
	path = config_default_path();
	if (path != NULL && (stat(path, &st) == 0 || errno != ENOENT)) {
		free(path);
		return 0;
	}
	fprintf(stderr, "mcpgw: no configuration file; looked at:\n"
	    "  -c FILE                  not given\n"
	    "  $MCPGW_CONFIG            not set\n");
	if (path)
		fprintf(stderr, "  %s (%s): does not exist\n", path,
		    xdg && *xdg == '/' ? "from $XDG_CONFIG_HOME" : "from $HOME");
	else
		fprintf(stderr, "  ~/.config/mcpgw/config.yaml: HOME is not set\n");
	fprintf(stderr, "  system policy %s: no servers\n",
	    a->system_policy == NULL ? MCPGW_SYSCONFDIR : *a->system_policy ? a->system_policy : "(none)");
	fprintf(stderr, "Write one (docs/configuration.md; mcpgw check tests it) or pass -c FILE.\n");
	free(path);
	return 1;
}

int
cmd_fleet_start(struct cmd_fleet *f, const struct gateway_args *a)
{
	long wait = 0;

	gateway_harden_process();
	if ((f->cfg = gateway_load_config(a)) == NULL)
		return 1;
	if (fleet_no_config(a, f->cfg))
		return 1;
	/* The commands print what was asked for; the servers' chatter only when asked (log_level,
	 * or -v for the configured level itself). */
	if (cmd_verbose)
		log_set_level((enum log_level)f->cfg->log_level);
	else
		log_set_level(f->cfg->log_level < CONFIG_LOG_WARN ? LOG_ERROR : (enum log_level)f->cfg->log_level - 1);
	f->progress = cmd_verbose || isatty(STDERR_FILENO);
	char *state = gateway_state_dir();
	for (size_t i = 0; i < f->cfg->nservers; i++)
		if (f->cfg->servers[i].startup_timeout_ms > wait)
			wait = f->cfg->servers[i].startup_timeout_ms;
	wait += 1000;
	if ((f->base = event_base_new()) == NULL) {
		fprintf(stderr, "mcpgw: out of memory\n");
		return 1;
	}
	struct router_hooks rh = { NULL, NULL, NULL, fleet_state_cb, f };
	f->router = router_new(f->base, f->cfg, state, &rh);
	free(state);
	if (f->router == NULL || (f->told = calloc(router_count(f->router) + 1, 1)) == NULL) {
		fprintf(stderr, "mcpgw: out of memory\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &f->t0);
	if (f->progress && router_count(f->router) > 0) {
		char names[512];
		fleet_waiting(f, names, sizeof names);
		fprintf(stderr, "Starting %zu server%s (waiting up to %ld s): %s\n", router_count(f->router),
		    router_count(f->router) == 1 ? "" : "s", (wait + 999) / 1000, names);
	}
	for (size_t i = 0; i < router_count(f->router); i++)
		upstream_start(router_upstream(f->router, i));
	router_set_client_caps(f->router, NULL);
	struct timeval tv = { wait / 1000, (wait % 1000) * 1000 }, tick = { FLEET_TICK_MS / 1000, 0 };
	/* Without the bound the wait could last for ever: out of memory is said instead. */
	if ((f->timeout = evtimer_new(f->base, fleet_timeout_cb, f)) == NULL || evtimer_add(f->timeout, &tv) < 0) {
		fprintf(stderr, "mcpgw: out of memory\n");
		return 1;
	}
	if (f->progress && (f->tick = evtimer_new(f->base, fleet_tick_cb, f)) != NULL)
		(void)evtimer_add(f->tick, &tick);	/* the progress lines only */
	for (size_t k = 0; k < router_count(f->router); k++)
		fleet_tell(f, k);	/* failed at once (a program that does not exist) */
	if (!fleet_done(f->router))
		event_base_dispatch(f->base);
	if (f->tick)
		evtimer_del(f->tick);
	return 0;
}

int
cmd_fleet_all_ready(const struct cmd_fleet *f)
{
	for (size_t k = 0; k < router_count(f->router); k++)
		if (upstream_state(router_upstream(f->router, k)) != UPSTREAM_READY)
			return 0;
	return 1;
}

void
cmd_fleet_stop(struct cmd_fleet *f)
{
	if (f->base == NULL) {
		config_free(f->cfg);
		return;
	}
	f->stopping = 1;
	oauth_shared_cancel_all();	/* issue 4: no sign-in outlives the command */
	router_stop(f->router, fleet_stopped, f);
	event_base_dispatch(f->base);
	event_free(f->timeout);
	if (f->tick)
		event_free(f->tick);
	free(f->told);
	router_free(f->router);
	event_base_free(f->base);
	config_free(f->cfg);
}
