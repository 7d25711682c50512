/* cmd_tools.c: `mcpgw tools`: start every server, print the exposed tools (with --all also the
 * hidden ones and the rule that hid them), and refresh the catalogue on the way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "child.h"
#include "cmd.h"
#include "log.h"
#include "router.h"

struct tools_run {
	struct event_base *base;
	struct router *router;
	int all, json, stopping;
};

static int
tools_opt(const char *o, void *arg)
{
	struct tools_run *t = arg;
	if (strcmp(o, "--all") == 0)
		t->all = 1;
	else if (strcmp(o, "--json") == 0)
		t->json = 1;
	else
		return 0;
	return 1;
}

static void
tools_stopped(void *arg)
{
	event_base_loopexit(((struct tools_run *)arg)->base, NULL);
}

static int
tools_done(const struct router *r)
{
	for (size_t i = 0; i < router_count(r); i++) {
		enum upstream_state s = upstream_state(router_upstream(r, i));
		if (s != UPSTREAM_READY && s != UPSTREAM_FAILED)
			return 0;
	}
	return 1;
}

static void
tools_state_cb(void *arg, struct upstream *up, enum upstream_state old)
{
	struct tools_run *t = arg;
	if (!t->stopping && tools_done(t->router))
		event_base_loopexit(t->base, NULL);
}

static void
tools_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tools_run *t = arg;
	log_warn("gateway", "some servers did not start in time");
	event_base_loopexit(t->base, NULL);
}

static void
first_line(const char *s, char *out, size_t n)
{
	size_t i = 0;
	for (; s && s[i] && s[i] != '\n' && i + 1 < n; i++)
		out[i] = s[i];
	out[i] = '\0';
}

static void
print_tools(struct tools_run *t)
{
	json_t *list = router_list(t->router, UPSTREAM_TOOLS), *item;
	size_t i;
	if (t->json) {
		json_t *out = t->all ? router_all_tools(t->router) : json_incref(list);
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(out);
		return;
	}
	if (t->all) {
		json_t *all = router_all_tools(t->router);
		json_array_foreach(all, i, item) {
			const char *exp = json_string_value(json_object_get(item, "exposed"));
			const char *why = json_string_value(json_object_get(item, "hidden_by"));
			printf("%-48s %s/%s%s%s\n", exp ? exp : "-",
			    json_string_value(json_object_get(item, "server")),
			    json_string_value(json_object_get(item, "name")), why ? "  hidden by " : "",
			    why ? why : "");
		}
		json_decref(all);
	} else
		json_array_foreach(list, i, item) {
			char d[100];
			first_line(json_string_value(json_object_get(item, "description")), d, sizeof d);
			printf("%-48s %s\n", json_string_value(json_object_get(item, "name")), d);
		}
	for (size_t k = 0; k < router_count(t->router); k++) {
		struct upstream *up = router_upstream(t->router, k);
		if (upstream_state(up) != UPSTREAM_READY)
			fprintf(stderr, "mcpgw: %s: %s%s%s\n", upstream_name(up),
			    upstream_state_name(upstream_state(up)), *upstream_last_error(up) ? ": " : "",
			    upstream_last_error(up));
	}
}

int
cmd_tools(int argc, char **argv)
{
	struct tools_run t = { 0 };
	struct gateway_args a = { 0 };
	int rc = cmd_common_args(argc, argv, &a, tools_opt, &t);
	if (rc != 0)
		return rc < 0 ? 1 : 0;
	gateway_harden_process();
	struct config *cfg = gateway_load_config(&a);
	if (cfg == NULL)
		return 1;
	log_set_level(cfg->log_level < CONFIG_LOG_WARN ? LOG_ERROR : (enum log_level)cfg->log_level - 1);
	char *state = gateway_state_dir();
	long wait = 0;
	for (size_t i = 0; i < cfg->nservers; i++)
		if (cfg->servers[i].startup_timeout_ms > wait)
			wait = cfg->servers[i].startup_timeout_ms;
	wait += 1000;

	t.base = event_base_new();
	struct router_hooks rh = { NULL, NULL, NULL, tools_state_cb, &t };
	t.router = router_new(t.base, cfg, state, &rh);
	free(state);
	for (size_t i = 0; i < router_count(t.router); i++)
		upstream_start(router_upstream(t.router, i));	/* lazy ones too: we want them all */
	router_set_client_caps(t.router, NULL);
	struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
	struct event *timeout = evtimer_new(t.base, tools_timeout_cb, &t);
	evtimer_add(timeout, &tv);
	if (!tools_done(t.router))
		event_base_dispatch(t.base);
	print_tools(&t);
	int failed = 0;
	for (size_t k = 0; k < router_count(t.router); k++)
		failed |= upstream_state(router_upstream(t.router, k)) != UPSTREAM_READY;
	t.stopping = 1;
	router_stop(t.router, tools_stopped, &t);
	event_base_dispatch(t.base);
	event_free(timeout);
	router_free(t.router);
	child_shutdown();
	event_base_free(t.base);
	config_free(cfg);
	return failed ? 2 : 0;
}
