/* cmd_doctor.c: `mcpgw doctor [SERVER]`: start the servers and say, per server, what was found:
 * transport, protocol version, auth plugin, handshake time, tool count, last error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

struct doctor_opts {
	const char *only;
};

static int
doctor_opt(const char *o, void *arg)
{
	struct doctor_opts *d = arg;
	if (o[0] == '-' || d->only)
		return 0;
	d->only = o;
	return 1;
}

/* 1 when the configuration has that server; else says so, with the closest name, before
 * anything is started. */
static int
doctor_known(const struct gateway_args *a, const char *name)
{
	struct config_diags dd = { 0 };
	struct config_load_opts o = { a->config_file, a->system_policy, a->config_file != NULL };
	struct config *cfg = config_load(&o, &dd);	/* quiet: cmd_fleet_start prints them */
	const char **names, *s = NULL;
	int known = 0;

	config_diags_cleanup(&dd);
	if (cfg == NULL)
		return 1;	/* cmd_fleet_start says what is wrong */
	if ((names = calloc(cfg->nservers + 1, sizeof *names)) != NULL) {
		for (size_t i = 0; i < cfg->nservers; i++) {
			names[i] = cfg->servers[i].name;
			known |= strcmp(names[i], name) == 0;
		}
		if (!known)
			s = cmd_suggest(name, names, cfg->nservers);
	}
	if (!known)
		fprintf(stderr, "mcpgw doctor: no server named '%s'%s%s%s\n", name, s ? "; did you mean '" : "",
		    s ? s : "", s ? "'?" : "");
	free(names);
	config_free(cfg);
	return known;
}

int
cmd_doctor(int argc, char **argv)
{
	struct doctor_opts d = { 0 };
	struct gateway_args a = { 0 };
	struct cmd_fleet f = { 0 };
	int rc = cmd_common_args(argc, argv, &a, doctor_opt, &d), found = 0, bad = 0;

	if (rc != 0)
		return rc < 0 ? 1 : 0;
	if (d.only && !doctor_known(&a, d.only))
		return 1;
	if (cmd_fleet_start(&f, &a) != 0)
		return 1;
	for (size_t k = 0; k < router_count(f.router); k++) {
		struct upstream *up = router_upstream(f.router, k);
		const struct config_server *cfg = upstream_config(up);
		json_t *tools = upstream_list(up, UPSTREAM_TOOLS);
		json_t *info = upstream_server_info(up);
		const char *plugin = json_string_value(json_object_get(cfg->auth, "plugin"));
		if (d.only && strcmp(d.only, cfg->name) != 0)
			continue;
		found++;
		printf("%s:\n", cfg->name);
		printf("  state:      %s\n", cmd_state_words(upstream_state(up)));
		printf("  %s %s\n", cfg->command ? "command:   " : "url:       ", cfg->command ? cfg->command : cfg->url);
		printf("  transport:  %s\n", upstream_transport_kind(up) ? upstream_transport_kind(up) :
		    cfg->command ? "stdio" : "(not connected)");
		printf("  protocol:   %s\n", upstream_protocol_version(up) ? upstream_protocol_version(up) : "-");
		if (info) {
			char n[128], v[128];	/* the server's text */
			printf("  server:     %s %s\n",
			    cmd_safe(json_string_value(json_object_get(info, "name")) ?: "?", n, sizeof n),
			    cmd_safe(json_string_value(json_object_get(info, "version")) ?: "", v, sizeof v));
		}
		printf("  auth:       %s\n", plugin ? plugin : "none");
		if (upstream_state(up) == UPSTREAM_READY) {
			printf("  handshake:  %ld ms\n", upstream_handshake_ms(up));
			printf("  tools:      %zu\n", tools ? json_array_size(tools) : 0);
		} else
			bad++;
		if (*upstream_last_error(up)) {
			char why[300];
			printf("  last error: %s\n", cmd_safe(upstream_last_error(up), why, sizeof why));
		}
	}
	if (d.only && found == 0) {
		fprintf(stderr, "mcpgw doctor: no server named '%s'\n", d.only);
		rc = 1;
	} else
		rc = bad ? 2 : 0;
	cmd_fleet_stop(&f);
	return rc;
}
