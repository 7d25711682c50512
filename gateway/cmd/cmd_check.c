/* cmd_check.c: `mcpgw check`: validate every layer, then look for what would fail at run time
 * (check_runtime.c), and print every diagnostic with its place; or, with --explain, say which rule
 * decides whether one tool is exposed (check_explain.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_explain.h"
#include "check_runtime.h"
#include "cmd.h"

struct check_opts {
	int strict, list;
	const char *explain;		/* --explain SERVER/TOOL */
	const char *client;		/* --client ID (with --explain) */
	const char **want;		/* the option whose value comes next */
	const char *want_name;
	const char *missing;		/* an option given without its value */
};

/* cmd_common_args offers one argument at a time: an option's value is the next one offered. */
static int
check_opt(const char *o, void *arg)
{
	struct check_opts *c = arg;
	if (c->want != NULL) {
		if (o[0] == '-')
			c->missing = c->want_name;
		else
			*c->want = o;
		c->want = NULL;
		if (o[0] == '-')
			return check_opt(o, arg);
	} else if (strcmp(o, "--strict") == 0)
		c->strict = 1;
	else if (strcmp(o, "--list-servers") == 0)
		c->list = 1;
	else if (strcmp(o, "--explain") == 0) {
		c->want = &c->explain;
		c->want_name = "--explain";
	} else if (strncmp(o, "--explain=", 10) == 0)
		c->explain = o + 10;
	else if (strcmp(o, "--client") == 0) {
		c->want = &c->client;
		c->want_name = "--client";
	} else if (strncmp(o, "--client=", 9) == 0)
		c->client = o + 9;
	else
		return 0;
	return 1;
}

/* --explain: only the answer on stdout; a configuration that does not load is said on stderr. */
static int
check_explain_cmd(const struct check_opts *c, const struct gateway_args *a)
{
	struct config_diags d = { 0 };
	struct config_load_opts o = { a->config_file, a->system_policy, a->config_file != NULL };
	struct config *cfg;
	int rc;

	if (!check_explain_arg_ok(c->explain, stderr))
		return CHECK_EXPLAIN_ERROR;
	cfg = config_load(&o, &d);

	if (cfg == NULL) {
		config_diags_print(&d, stderr);
		fprintf(stderr, "mcpgw check: the configuration has errors: nothing to explain\n");
		config_diags_cleanup(&d);
		return CHECK_EXPLAIN_ERROR;
	}
	rc = check_explain(cfg, c->explain, c->client, stdout, stderr);
	config_diags_cleanup(&d);
	config_free(cfg);
	return rc;
}

static size_t
count_warnings(const struct config_diags *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].warning != 0;
	return n;
}

int
cmd_check(int argc, char **argv)
{
	struct check_opts c = { 0 };
	struct gateway_args a = { 0 };
	struct config_diags d = { 0 }, rd = { 0 };
	struct config *cfg;
	char *user;
	size_t warnings;
	int rc = cmd_common_args(argc, argv, &a, check_opt, &c);

	if (rc != 0)
		return rc < 0 ? 1 : 0;
	if (c.want != NULL || c.missing != NULL) {
		fprintf(stderr, "mcpgw check: %s needs %s\n", c.missing ? c.missing : c.want_name,
		    strcmp(c.missing ? c.missing : c.want_name, "--client") == 0 ?
		    "a client (user:NAME, uid:N or token:NAME)" : "SERVER/TOOL");
		return 1;
	}
	if (c.client != NULL && c.explain == NULL) {
		fprintf(stderr, "mcpgw check: --client goes with --explain SERVER/TOOL\n");
		return 1;
	}
	if (c.explain != NULL && c.list) {
		fprintf(stderr, "mcpgw check: --explain and --list-servers are two questions: ask one\n");
		return 1;
	}
	if (c.explain != NULL)
		return check_explain_cmd(&c, &a);
	struct config_load_opts o = { a.config_file, a.system_policy, a.config_file != NULL };
	cfg = config_load(&o, &d);
	if (c.list) {
		/* for shell completion: names only, and quiet */
		for (size_t i = 0; cfg && i < cfg->nservers; i++)
			printf("%s\n", cfg->servers[i].name);
		config_diags_cleanup(&d);
		rc = cfg ? 0 : 1;
		config_free(cfg);
		return rc;
	}
	/* The diagnostics are what was asked for: they go to stdout. */
	config_diags_print(&d, stdout);
	warnings = count_warnings(&d);
	if (cfg) {
		user = a.config_file ? strdup(a.config_file) : config_default_path();
		check_runtime_run(cfg, user, &rd);
		free(user);
		config_diags_print(&rd, stdout);
		warnings += count_warnings(&rd);
		if (rd.nerrors)
			printf("%zu problem%s that would make a server fail at run time\n", rd.nerrors,
			    rd.nerrors == 1 ? "" : "s");
		else if (c.strict && warnings)
			printf("%zu warning%s (--strict: they count as errors)\n", warnings, warnings == 1 ? "" : "s");
		else
			printf("configuration OK (%zu server%s%s)\n", cfg->nservers, cfg->nservers == 1 ? "" : "s",
			    warnings ? ", with warnings" : "");
	}
	rc = cfg == NULL || rd.nerrors > 0 || (c.strict && warnings > 0) ? 1 : 0;
	config_diags_cleanup(&d);
	config_diags_cleanup(&rd);
	config_free(cfg);
	return rc;
}
