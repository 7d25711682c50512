/* cmd_tools.c: `mcpgw tools`: print the exposed tools (with --all also the hidden ones and the
 * rule that hid them), from the running service when there is one, else by starting every server
 * (refreshing the catalogue on the way). */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "service_query.h"

struct tools_opts {
	int all, json;
	struct service_opts svc;
};

static int
tools_opt(const char *o, void *arg)
{
	struct tools_opts *t = arg;
	if (service_opt(&t->svc, o))
		return 1;
	if (strcmp(o, "--all") == 0)
		t->all = 1;
	else if (strcmp(o, "--json") == 0)
		t->json = 1;
	else
		return 0;
	return 1;
}

static void
first_line(const char *s, char *out, size_t n)
{
	size_t i = 0;
	for (; s && s[i] && s[i] != '\n' && i + 1 < n; i++)
		out[i] = s[i];
	out[i] = '\0';
}

/* What is printed, the same from the servers started here and from the service: the exposed list
 * and every tool (--all), then one summary of the servers not ready (name, state words). */
static void
print_lists(const struct tools_opts *t, json_t *list, json_t *all, const char *notready, size_t bad)
{
	json_t *item;
	size_t i;

	if (t->json) {
		json_dumpf(t->all ? all : list, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (t->all) {
		json_array_foreach(all, i, item) {
			const char *exp = json_string_value(json_object_get(item, "exposed"));
			const char *why = json_string_value(json_object_get(item, "hidden_by"));
			printf("%-48s %s/%s%s%s\n", exp ? exp : "-",
			    json_string_value(json_object_get(item, "server")),
			    json_string_value(json_object_get(item, "name")), why ? "  hidden by " : "",
			    why ? why : "");
		}
	} else
		json_array_foreach(list, i, item) {
			char d[100];
			first_line(json_string_value(json_object_get(item, "description")), d, sizeof d);
			printf("%-48s %s\n", json_string_value(json_object_get(item, "name")), d);
		}
	/* One summary: each failure's reason is in the log line above it (or in mcpgw doctor NAME),
	 * not said twice. */
	if (bad)
		fprintf(stderr, "mcpgw tools: %zu server%s not ready, %s tools not listed: %s; mcpgw doctor NAME says "
		    "why\n", bad, bad == 1 ? "" : "s", bad == 1 ? "its" : "their", notready);
}

static void
names_add(char *names, size_t cap, size_t *n, size_t bad, const char *name, const char *words)
{
	if (*n < cap)
		*n += (size_t)snprintf(names + *n, cap - *n, "%s%s (%s)", bad ? ", " : "", name, words);
}

static void
print_tools(const struct tools_opts *t, struct router *r)
{
	json_t *all = router_all_tools(r);
	size_t bad = 0, n = 0;
	char names[1024] = "";

	for (size_t k = 0; k < router_count(r); k++) {
		struct upstream *up = router_upstream(r, k);
		if (upstream_state(up) == UPSTREAM_READY)
			continue;
		names_add(names, sizeof names, &n, bad++, upstream_name(up), cmd_state_words(upstream_state(up)));
	}
	print_lists(t, router_list(r, UPSTREAM_TOOLS), all, names, bad);
	json_decref(all);
}

/* From the service's status; 0 when every server is ready, else 2, as when started here. */
static int
print_service_tools(const struct tools_opts *t, json_t *st)
{
	json_t *s, *list = json_object_get(st, "tools"), *all = json_object_get(st, "tools_all");
	size_t i, bad = 0, n = 0;
	char names[1024] = "";

	json_array_foreach(json_object_get(st, "servers"), i, s) {
		if (service_server_ready(s))
			continue;
		names_add(names, sizeof names, &n, bad++, json_string_value(json_object_get(s, "name")) ?: "?",
		    service_state_words(s));
	}
	print_lists(t, json_is_array(list) ? list : NULL, json_is_array(all) ? all : NULL, names, bad);
	return bad ? 2 : 0;
}

int
cmd_tools(int argc, char **argv)
{
	struct tools_opts t = { 0 };
	struct gateway_args a = { 0 };
	struct cmd_fleet f = { 0 };
	json_t *st;
	int rc = cmd_common_args(argc, argv, &a, tools_opt, &t);
	if (rc != 0)
		return rc < 0 ? 1 : 0;
	switch (service_query("tools", &t.svc, &a, &st)) {
	case -1:
		return 1;
	case 1:
		rc = print_service_tools(&t, st);
		json_decref(st);
		return rc;
	}
	if (cmd_fleet_start(&f, &a) != 0)
		return 1;
	print_tools(&t, f.router);
	rc = cmd_fleet_all_ready(&f) ? 0 : 2;
	cmd_fleet_stop(&f);
	return rc;
}
