/* cmd_pin.c: `mcpgw pin [--accept SERVER[/TOOL]]...`: start the servers, show each pinned tool's
 * state (pinned, changed and withheld, with what changed), and accept changed definitions.
 * `--export FILE` writes the pin store as a team lock file, starting nothing.
 * Exit 3 while a tool stays withheld: the command worked, and a script can tell "act on a change"
 * apart from 1 (usage, configuration) and 2 (a pinned server did not start: nothing compared). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "pins.h"
#include "state.h"

#define PIN_EXIT_WITHHELD 3

struct pin_opts {
	char **accept;
	size_t naccept;
	int want_value;
	const char *export;	/* --export FILE */
	int want_export, force;
};

static int
pin_opt(const char *o, void *arg)
{
	struct pin_opts *p = arg;
	if (p->want_export) {
		p->want_export = 0;
		p->export = o;
		return 1;
	}
	if (strcmp(o, "--export") == 0) {
		p->want_export = 1;
		return 1;
	}
	if (strncmp(o, "--export=", 9) == 0) {
		p->export = o + 9;
		return 1;
	}
	if (strcmp(o, "--force") == 0) {
		p->force = 1;
		return 1;
	}
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

/* Writes the pin store to file as a team lock file: sorted keys so that two exports of the same
 * pins are the same bytes (a lock file is reviewed as a diff). 0644: digests and tool definitions
 * are no secret. An existing file is kept unless force. */
static int
pin_export(const char *file, int force)
{
	char *dir = state_dir_path(), *text;
	struct pins *pins;
	json_t *doc;
	int fd, rc = 0;
	size_t n, tools = 0;
	const char *k;
	json_t *v;

	if (dir == NULL) {
		fprintf(stderr, "mcpgw pin: no state directory (set XDG_STATE_HOME or HOME)\n");
		return 1;
	}
	pins = pins_load(dir);
	free(dir);
	if (pins == NULL)
		return 1;
	doc = pins_export(pins);
	pins_free(pins);
	json_object_foreach(json_object_get(doc, "servers"), k, v)
		tools += json_object_size(v);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (text == NULL)
		return 1;
	n = strlen(text);
	fd = open(file, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		fprintf(stderr, "mcpgw pin: --export %s: %s%s\n", file, strerror(errno),
		    errno == EEXIST ? " (--force replaces it)" : "");
		free(text);
		return 1;
	}
	if (write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || close(fd) != 0) {
		fprintf(stderr, "mcpgw pin: --export %s: %s\n", file, strerror(errno));
		rc = 1;
	} else
		printf("wrote %zu pinned tool%s to %s\n", tools, tools == 1 ? "" : "s", file);
	free(text);
	return rc;
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
	if (rc == 0 && (p.want_export || (p.export && *p.export == '\0'))) {
		fprintf(stderr, "mcpgw pin: --export needs FILE\n");
		rc = -1;
	}
	if (rc == 0 && p.export && p.naccept) {
		fprintf(stderr, "mcpgw pin: --export and --accept do not go together\n");
		rc = -1;
	}
	if (rc == 0 && p.force && p.export == NULL) {
		fprintf(stderr, "mcpgw pin: --force goes with --export\n");
		rc = -1;
	}
	if (rc == 0 && p.export) {
		free(p.accept);
		return pin_export(p.export, p.force);
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
		int team = pins_team(pins, cfg->name);
		if (!cfg->pin && !team)
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
					if (st == PIN_CHANGED && team) {
						fprintf(stderr, "mcpgw pin: --accept %s/%s: the team lock file "
						    "(policy.pins_file) decides this tool; a team lock is the team's to "
						    "change: export it again on the reference machine and ship it\n",
						    cfg->name, shown);
						rc = 1;
					} else if (st == PIN_CHANGED) {
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
			    st == PIN_CHANGED ? (team ? "DIFFERS from the team lock: withheld" :
			    "CHANGED: withheld until accepted") : team ? "pinned (team lock)" : "pinned");
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
