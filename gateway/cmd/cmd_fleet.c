/* cmd_fleet.c: what `tools`, `pin` and `doctor` share: start every configured server (lazy ones
 * too), wait until each is ready or failed (bounded by the longest startup_timeout), stop them. */
#include <stdlib.h>
#include "child.h"
#include "cmd.h"
#include "log.h"
#include "sentinel.h"
#include "oauth.h"

static int
fleet_done(const struct router *r)
{
	for (size_t i = 0; i < router_count(r); i++) {
		enum upstream_state s = upstream_state(router_upstream(r, i));
		if (s != UPSTREAM_READY && s != UPSTREAM_FAILED && s != UPSTREAM_SIGNIN)
			return 0;
	}
	return 1;
}

static void
fleet_state_cb(void *arg, struct upstream *up, enum upstream_state old)
{
	struct cmd_fleet *f = arg;
	if (!f->stopping && fleet_done(f->router))
		event_base_loopexit(f->base, NULL);
}

static void
fleet_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cmd_fleet *f = arg;
	log_warn("gateway", "some servers did not start in time");
	event_base_loopexit(f->base, NULL);
}

static void
fleet_stopped(void *arg)
{
	event_base_loopexit(((struct cmd_fleet *)arg)->base, NULL);
}

int
cmd_fleet_start(struct cmd_fleet *f, const struct gateway_args *a)
{
	long wait = 0;

	gateway_harden_process();
	sentinel_init();
	if ((f->cfg = gateway_load_config(a)) == NULL)
		return 1;
	/* The commands print what was asked for; the servers' chatter only when asked (log_level). */
	log_set_level(f->cfg->log_level < CONFIG_LOG_WARN ? LOG_ERROR : (enum log_level)f->cfg->log_level - 1);
	char *state = gateway_state_dir();
	for (size_t i = 0; i < f->cfg->nservers; i++)
		if (f->cfg->servers[i].startup_timeout_ms > wait)
			wait = f->cfg->servers[i].startup_timeout_ms;
	wait += 1000;
	f->base = event_base_new();
	struct router_hooks rh = { NULL, NULL, NULL, fleet_state_cb, f };
	f->router = router_new(f->base, f->cfg, state, &rh);
	free(state);
	for (size_t i = 0; i < router_count(f->router); i++)
		upstream_start(router_upstream(f->router, i));
	router_set_client_caps(f->router, NULL);
	struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
	f->timeout = evtimer_new(f->base, fleet_timeout_cb, f);
	evtimer_add(f->timeout, &tv);
	if (!fleet_done(f->router))
		event_base_dispatch(f->base);
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
	router_free(f->router);
	child_shutdown();
	event_base_free(f->base);
	config_free(f->cfg);
}
