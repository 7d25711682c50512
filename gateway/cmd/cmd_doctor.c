/* cmd_doctor.c: `mcpgw doctor [SERVER]`: say, per server, what was found: transport, protocol
 * version, auth plugin, handshake time, tool count, last error; from the running service when
 * there is one, else by starting the servers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "service_query.h"

/* The protocol era a version belongs to (docs/protocol.md "Upstream: probing and modern
 * servers"): 2026-07-28 and later are stateless (server/discover), earlier ones use initialize. */
static const char *
doctor_era(const char *version)
{
	if (version == NULL)
		return "-";
	return strcmp(version, "2026-07-28") >= 0 ? "modern (server/discover, no initialize)" :
	    "legacy (initialize)";
}

struct doctor_opts {
	const char *only;
	struct service_opts svc;
};

static int
doctor_opt(const char *o, void *arg)
{
	struct doctor_opts *d = arg;
	if (service_opt(&d->svc, o))
		return 1;
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

/* The same report from the service's status (docs/service.md: GET /status). */
static int
doctor_service(const struct doctor_opts *d, json_t *st)
{
	json_t *servers = json_object_get(st, "servers"), *s;
	const char **names = calloc(json_array_size(servers) + 1, sizeof *names);
	size_t i, found = 0, bad = 0;

	json_array_foreach(servers, i, s) {
		const char *name = json_string_value(json_object_get(s, "name")) ?: "?";
		json_t *info = json_object_get(s, "server");
		const char *cmd = json_string_value(json_object_get(s, "command"));
		const char *url = json_string_value(json_object_get(s, "url"));
		const char *tr = json_string_value(json_object_get(s, "transport"));
		const char *proto = json_string_value(json_object_get(s, "protocol"));
		const char *err = json_string_value(json_object_get(s, "last_error"));
		char b1[300], b2[128], b3[128];	/* the server's (and the service's) text */

		if (names)
			names[i] = name;
		if (d->only && strcmp(d->only, name) != 0)
			continue;
		found++;
		printf("%s:\n", cmd_safe(name, b1, sizeof b1));
		printf("  state:      %s\n", service_state_words(s));
		printf("  %s %s\n", cmd ? "command:   " : "url:       ", cmd_safe(cmd ? cmd : url ? url : "-", b1,
		    sizeof b1));
		printf("  transport:  %s\n", tr ? tr : cmd ? "stdio" : "(not connected)");
		printf("  protocol:   %s\n", cmd_safe(proto ? proto : "-", b1, sizeof b1));
		printf("  era:        %s\n", doctor_era(proto));
		if (json_is_object(info))
			printf("  server:     %s %s\n",
			    cmd_safe(json_string_value(json_object_get(info, "name")) ?: "?", b2, sizeof b2),
			    cmd_safe(json_string_value(json_object_get(info, "version")) ?: "", b3, sizeof b3));
		printf("  auth:       %s\n", cmd_safe(json_string_value(json_object_get(s, "auth")) ?: "none", b1,
		    sizeof b1));
		if (service_server_ready(s)) {
			printf("  handshake:  %" JSON_INTEGER_FORMAT " ms\n",
			    json_integer_value(json_object_get(s, "handshake_ms")));
			printf("  tools:      %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(s, "tools")));
		} else
			bad++;
		if (err && *err)
			printf("  last error: %s\n", cmd_safe(err, b1, sizeof b1));
	}
	if (d->only && found == 0) {
		const char *sug = names ? cmd_suggest(d->only, names, json_array_size(servers)) : NULL;
		fprintf(stderr, "mcpgw doctor: the service has no server named '%s'%s%s%s\n", d->only,
		    sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");
		free(names);
		return 1;
	}
	free(names);
	return bad ? 2 : 0;
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
	json_t *st;
	switch (service_query("doctor", &d.svc, &a, &st)) {
	case -1:
		return 1;
	case 1:
		rc = doctor_service(&d, st);
		json_decref(st);
		return rc;
	}
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
		printf("  era:        %s\n", upstream_era(up) ? doctor_era(upstream_protocol_version(up)) : "-");
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
