/* cmd_tools.c: `mcpgw tools`: start every server, print the exposed tools (with --all also the
 * hidden ones and the rule that hid them), and refresh the catalogue on the way. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"

struct tools_opts {
	int all, json;
};

static int
tools_opt(const char *o, void *arg)
{
	struct tools_opts *t = arg;
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

static void
print_tools(const struct tools_opts *t, struct router *r)
{
	json_t *list = router_list(r, UPSTREAM_TOOLS), *item;
	size_t i;
	if (t->json) {
		json_t *out = t->all ? router_all_tools(r) : json_incref(list);
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(out);
	} else if (t->all) {
		json_t *all = router_all_tools(r);
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
	/* One summary: each failure's reason is in the log line above it, not said twice. */
	size_t bad = 0, n = 0;
	char names[1024] = "";
	for (size_t k = 0; k < router_count(r); k++) {
		struct upstream *up = router_upstream(r, k);
		if (upstream_state(up) == UPSTREAM_READY)
			continue;
		if (n < sizeof names)
			n += (size_t)snprintf(names + n, sizeof names - n, "%s%s (%s)", bad ? ", " : "", upstream_name(up),
			    cmd_state_words(upstream_state(up)));
		bad++;
	}
	if (bad)
		fprintf(stderr, "mcpgw tools: %zu server%s not ready, %s tools not listed: %s; mcpgw doctor NAME says "
		    "why\n", bad, bad == 1 ? "" : "s", bad == 1 ? "its" : "their", names);
}

int
cmd_tools(int argc, char **argv)
{
	struct tools_opts t = { 0 };
	struct gateway_args a = { 0 };
	struct cmd_fleet f = { 0 };
	int rc = cmd_common_args(argc, argv, &a, tools_opt, &t);
	if (rc != 0)
		return rc < 0 ? 1 : 0;
	if (cmd_fleet_start(&f, &a) != 0)
		return 1;
	print_tools(&t, f.router);
	rc = cmd_fleet_all_ready(&f) ? 0 : 2;
	cmd_fleet_stop(&f);
	return rc;
}
