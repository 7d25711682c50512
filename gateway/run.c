/* run.c: owns the run mode's process: the stdio transport on stdin/stdout, the signals (SIGTERM
 * and SIGINT drain, SIGHUP reloads), the process set-up and the exit. mcpgw_run_stdio() of
 * <mcpgw/mcpgw.h>, a host of the embedding API like any other (embed.h adds the stdio transport's
 * access to the core object); the library itself installs no signal handler. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/event.h>
#include "mcpgw/mcpgw.h"
#include "embed.h"
#include "gateway.h"
#include "log.h"
#include "stdio_client.h"
#include "version.h"

#define DRAIN_MS 5000	/* SIGTERM: how long calls in flight may take to finish */

struct run {
	struct event_base *base;
	struct mcpgw *m;
	struct gateway *gw;		/* m's core object */
	struct stdio_client *client;
};

static void
run_done(void *arg)
{
	event_base_loopexit(((struct run *)arg)->base, NULL);
}

/* stdin EOF or EPIPE on stdout: nobody is left to answer; the servers are stopped at once. */
static void
run_client_closed(void *arg, const char *why)
{
	struct run *r = arg;
	gateway_drain(r->gw, why, 0, run_done, r);
}

/* SIGTERM or SIGINT: the catalogue is written first (a supervisor such as Codex may send SIGKILL
 * about 20 ms later). With nothing in flight the servers are stopped at once; otherwise new
 * requests are refused while those in flight finish, for at most DRAIN_MS. A second signal stops
 * at once. Whenever we are killed on the way, each server's keeper ends its tree (keeper.c). */
static void
run_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;
	gateway_drain(r->gw, sig == SIGTERM ? "SIGTERM" : "SIGINT", DRAIN_MS, run_done, r);
	if (gateway_stopping(r->gw))
		stdio_client_stop_reading(r->client);
}

static void
run_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	gateway_reload(((struct run *)arg)->gw, "SIGHUP");
}

int
mcpgw_run_stdio(const struct mcpgw_options *o)
{
	struct gateway_opts go = { o->config_file, NULL, o->system_policy, o->state_dir, 1, NULL };
	struct gateway_args a = { o->config_file, o->system_policy };
	struct stdio_client_cbs cc = { run_client_closed, NULL };
	struct run r = { 0 };
	struct config *cfg;
	struct event *ev_term, *ev_int, *ev_hup;

	gateway_harden_process();
	if ((cfg = gateway_load_config(&a)) == NULL)
		return 1;
	log_set_level((enum log_level)cfg->log_level);
	if ((r.base = event_base_new()) == NULL) {
		log_error("gateway", "cannot create the event loop");
		config_free(cfg);
		return 2;
	}
	if (embed_new_loaded(r.base, &go, cfg, &r.m) < 0) {
		log_error("gateway", "cannot create the gateway");
		event_base_free(r.base);
		return 2;
	}
	r.gw = embed_gateway(r.m);
	cc.arg = &r;
	if ((r.client = stdio_client_new(r.gw, STDIN_FILENO, STDOUT_FILENO, &cc)) == NULL) {
		log_error("gateway", "cannot open the stdio session");
		mcpgw_free(r.m);
		event_base_free(r.base);
		return 2;
	}
	ev_term = evsignal_new(r.base, SIGTERM, run_signal_cb, &r);
	ev_int = evsignal_new(r.base, SIGINT, run_signal_cb, &r);
	ev_hup = evsignal_new(r.base, SIGHUP, run_hup_cb, &r);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	log_info("gateway", "mcpgw %s serving %zu server%s on stdio", MCPGW_VERSION,
	    mcpgw_server_count(r.m), mcpgw_server_count(r.m) == 1 ? "" : "s");

	event_base_dispatch(r.base);

	/* Last answers (errors for calls cut short) go out before we leave; mcpgw_free() also ends a
	 * sign-in still waiting for its browser (issue 4). */
	mcpgw_free(r.m);
	stdio_client_free(r.client);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(r.base);
	libevent_global_shutdown();
	return 0;
}

const char *mcpgw_version(void) { return MCPGW_VERSION; }
