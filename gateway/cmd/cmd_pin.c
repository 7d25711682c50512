/* cmd_pin.c: `mcpgw pin [--accept SERVER[/TOOL]]...`: start the servers, show each pinned tool's
 * state (pinned, changed and withheld, with what changed), and accept changed definitions.
 * Exit 3 while a tool stays withheld: the command worked, and a script can tell "act on a change"
 * apart from 1 (usage, configuration) and 2 (a pinned server did not start: nothing compared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "pins.h"

#define PIN_EXIT_WITHHELD 3

struct pin_opts {
	char **accept;
	size_t naccept;
	int want_value;
};

static int
pin_opt(const char *o, void *arg)
{
	struct pin_opts *p = arg;
	if (p->want_value) {
		p->want_value = 0;
		p->accept = realloc(p->accept, (p->naccept + 1) * sizeof *p->accept);
		p->accept[p->naccept++] = (char *)o;
		return 1;
	}
	if (strcmp(o, "--accept") == 0) {
		p->want_value = 1;
		return 1;
	}
	if (strncmp(o, "--accept=", 9) == 0) {
		p->accept = realloc(p->accept, (p->naccept + 1) * sizeof *p->accept);
		p->accept[p->naccept++] = (char *)o + 9;
		return 1;
	}
	return 0;
}

/* 1 when SERVER[/TOOL] names this tool. */
static int
pin_matches(const char *spec, const char *server, const char *tool)
{
	size_t n = strlen(server);
	if (strncmp(spec, server, n) != 0)
		return 0;
	return spec[n] == '\0' || (spec[n] == '/' && strcmp(spec + n + 1, tool) == 0);
}

int
cmd_pin(int argc, char **argv)
{
	struct pin_opts p = { 0 };
	struct gateway_args a = { 0 };
	struct cmd_fleet f = { 0 };
	int rc = cmd_common_args(argc, argv, &a, pin_opt, &p), pinned = 0, changed = 0, notready = 0;
	size_t *used;

	if (rc == 0 && p.want_value) {
		fprintf(stderr, "mcpgw pin: --accept needs SERVER or SERVER/TOOL\n");
		rc = -1;
	}
	if (rc != 0) {
		free(p.accept);
		return rc < 0 ? 1 : 0;
	}
	if (cmd_fleet_start(&f, &a) != 0) {
		free(p.accept);
		return 1;
	}
	used = calloc(p.naccept + 1, sizeof *used);
	struct pins *pins = router_pins(f.router);
	for (size_t k = 0; k < router_count(f.router); k++) {
		struct upstream *up = router_upstream(f.router, k);
		const struct config_server *cfg = upstream_config(up);
		json_t *tools = upstream_list(up, UPSTREAM_TOOLS), *t;
		size_t i;
		if (!cfg->pin)
			continue;
		if (upstream_state(up) != UPSTREAM_READY) {
			char why[300];
			printf("%-24s (%s%s%s: its tools could not be compared)\n", cfg->name,
			    cmd_state_words(upstream_state(up)), *upstream_last_error(up) ? ": " : "",
			    cmd_safe(upstream_last_error(up), why, sizeof why));
			notready++;
		}
		json_array_foreach(tools, i, t) {
			const char *name = json_string_value(json_object_get(t, "name"));
			if (name == NULL)
				continue;
			char shown[256];
			enum pin_status st = pins_check(pins, cfg->name, t, 1);
			cmd_safe(name, shown, sizeof shown);	/* the server's text */
			char *diff = st == PIN_CHANGED ? pins_diff(pins, cfg->name, t) : NULL;
			for (size_t j = 0; j < p.naccept; j++)
				if (pin_matches(p.accept[j], cfg->name, name)) {
					used[j]++;
					if (st == PIN_CHANGED) {
						pins_accept(pins, cfg->name, t);
						st = PIN_MATCH;
						printf("%s/%s: accepted the new definition\n%s", cfg->name, shown,
						    diff ? diff : "");
					}
				}
			pinned++;
			if (st == PIN_CHANGED)
				changed++;
			printf("%-24s %-40s %s\n", cfg->name, shown,
			    st == PIN_CHANGED ? "CHANGED: withheld until accepted" : "pinned");
			if (st == PIN_CHANGED)
				printf("%s", diff ? diff : "    (what changed is not known: the pinned definition "
				    "was not kept, by an older mcpgw or as over 64 KiB)\n");
			free(diff);
		}
	}
	for (size_t j = 0; j < p.naccept; j++)
		if (used[j] == 0) {
			fprintf(stderr, "mcpgw pin: --accept %s: no pinned server or tool of that name\n", p.accept[j]);
			rc = 1;
		}
	pins_save(pins);
	if (pinned == 0)
		printf("no pinned tools (set tools.pin: true on a server)\n");
	else if (changed)
		printf("%d tool%s withheld; accept with: mcpgw pin --accept SERVER/TOOL\n", changed,
		    changed == 1 ? "" : "s");
	if (rc == 0)
		rc = notready ? 2 : changed ? PIN_EXIT_WITHHELD : 0;
	cmd_fleet_stop(&f);
	free(used);
	free(p.accept);
	return rc;
}
