/* fuzz_config.c: the whole configuration loader (config.c over cfgnode.c and libyaml) on any bytes.
 * config_load() reads files and nothing in config.h takes a buffer (cfgnode_parse() does, but the
 * meaning of the tree, the layering and the includes are config.c's statics), so the input is
 * written to a file in a private directory made once per process.
 *
 * Each input is loaded twice:
 *   1. as the user's file (input.yaml), with no system policy;
 *   2. as the system policy (sys/policy.yaml, next to a fixed sys/policy.d/), with a fixed user file
 *      that narrows and adds servers.
 * Both places also hold small fixed files the input may include (a.yaml, b.yaml includes a.yaml,
 * c.yaml is not YAML) and input.yaml, the input itself, so includes, "already loaded" and cycles
 * through the input are reached.
 * Checks: no crash, leak or hang; a result exactly when there is no error; every diagnostic has
 * line and column >= 0 and printable text; a loaded configuration holds what config.h promises
 * (names, one of command/url, positive timeouts) and digests the same way twice. */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "fuzz.h"

static char dir[4096];
static char input_path[4200], policy_path[4200], sysdir[4200], narrow_path[4200];
static FILE *devnull;

#define INCLUDES \
	{ "a.yaml", \
	  "servers:\n" \
	  "  alpha:\n" \
	  "    command: alpha-mcp\n" \
	  "    args: [--stdio]\n" \
	  "    tools:\n" \
	  "      allow: [\"read_*\", list]\n" }, \
	{ "b.yaml", \
	  "include: a.yaml\n" \
	  "servers:\n" \
	  "  beta:\n" \
	  "    url: https://beta.example/mcp\n" \
	  "    headers: {X-Team: \"${MCPGW_FUZZ_VAR}\", X-Other: b}\n" }, \
	{ "c.yaml", "{[: not yaml\n" }

/* Files next to the input (the input is input.yaml, then sys/policy.yaml): what it can include. */
static const struct {
	const char *name, *text;
} fixed[] = {
	INCLUDES,
	/* the user file of the second load: narrows servers a policy is likely to name, adds one */
	{ "narrow.yaml",
	  "version: 1\n"
	  "defaults:\n"
	  "  timeout: 5s\n"
	  "servers:\n"
	  "  github:\n"
	  "    tools:\n"
	  "      deny: [delete_*]\n"
	  "  mine:\n"
	  "    enabled: false\n"
	  "    tools:\n"
	  "      allow: [\"get_*\"]\n"
	  "      read_only: true\n"
	  "  local:\n"
	  "    command: my-mcp\n"
	  "    env: {TOKEN: \"${MCPGW_FUZZ_VAR:-x}\", B: \"2\", A: \"1\"}\n" },
}, sys_fixed[] = {
	/* the system policy directory of the second load: policy.yaml is the input */
	INCLUDES,
	{ "policy.d/10-team.yaml",
	  "servers:\n"
	  "  team:\n"
	  "    url: https://team.example/mcp\n"
	  "    tools: {deny: [\"admin_*\"]}\n" },
	{ "policy.d/README", "not read: only *.yaml\n" },
};

static void
remove_dir(void)
{
	char p[4200];

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, fixed[i].name);
		unlink(p);
	}
	for (size_t i = 0; i < sizeof sys_fixed / sizeof sys_fixed[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", sysdir, sys_fixed[i].name);
		unlink(p);
	}
	snprintf(p, sizeof p, "%s/input.yaml", sysdir);
	unlink(p);
	unlink(policy_path);
	unlink(input_path);
	snprintf(p, sizeof p, "%s/policy.d", sysdir);
	rmdir(p);
	rmdir(sysdir);
	rmdir(dir);
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (len > 0 && write(fd, buf, len) != (ssize_t)len) || close(fd) != 0)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char p[4200];

	fuzz_quiet();
	snprintf(dir, sizeof dir, "%s/mcpgw-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	snprintf(input_path, sizeof input_path, "%s/input.yaml", dir);
	snprintf(narrow_path, sizeof narrow_path, "%s/narrow.yaml", dir);
	snprintf(sysdir, sizeof sysdir, "%s/sys", dir);
	snprintf(policy_path, sizeof policy_path, "%s/policy.yaml", sysdir);
	snprintf(p, sizeof p, "%s/policy.d", sysdir);
	if (mkdir(sysdir, 0700) != 0 || mkdir(p, 0700) != 0)
		abort();
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, fixed[i].name);
		write_file(p, fixed[i].text, strlen(fixed[i].text));
	}
	for (size_t i = 0; i < sizeof sys_fixed / sizeof sys_fixed[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", sysdir, sys_fixed[i].name);
		write_file(p, sys_fixed[i].text, strlen(sys_fixed[i].text));
	}
	/* "include: input.yaml" in the policy is the policy itself, under another name */
	snprintf(p, sizeof p, "%s/input.yaml", sysdir);
	if (symlink("policy.yaml", p) != 0)
		abort();
	/* The environment a configuration may read: fixed, so every run is the same. */
	setenv("HOME", dir, 1);
	setenv("MCPGW_FUZZ_VAR", "fuzz-value", 1);
	setenv("MCPGW_FUZZ_EMPTY", "", 1);
	unsetenv("MCPGW_FUZZ_UNSET");
	unsetenv("MCPGW_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	return 0;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void
check_diags(const struct config_diags *d, const struct config *cfg)
{
	size_t errors = 0;

	if ((cfg == NULL) != (d->nerrors > 0))
		abort();
	if (d->n > 501)		/* MAX_DIAGS, then one "too many problems" */
		abort();
	for (size_t i = 0; i < d->n; i++) {
		const struct config_diag *g = &d->v[i];

		if (g->line < 0 || g->col < 0 || (g->line == 0 && g->col != 0))
			abort();
		if (g->message == NULL || *g->message == '\0' || !printable(g->message))
			abort();
		if (g->path == NULL || !printable(g->path))
			abort();
		if (g->file != NULL && !printable(g->file))
			abort();
		if (g->warning != 0 && g->warning != 1)
			abort();
		errors += !g->warning;
	}
	if (errors > d->nerrors)
		abort();
	config_diags_print(d, devnull);
}

static void
check_rules(const struct config_rules *r, const uint8_t *data, size_t size)
{
	char name[33];
	size_t n = size < sizeof name - 1 ? size : sizeof name - 1;

	memcpy(name, data, n);
	name[n] = '\0';
	(void)config_rules_pass(r, name);
	(void)config_rules_pass(r, "read_file");
	(void)config_rules_pass(r, "");
	for (size_t i = 0; i < r->nallow; i++)
		for (size_t j = 0; j < r->allow[i].n; j++)
			if (r->allow[i].v[j] == NULL)
				abort();
	for (size_t j = 0; j < r->deny.n; j++)
		if (r->deny.v[j] == NULL)
			abort();
}

static void
check_config(const struct config *cfg, const uint8_t *data, size_t size)
{
	if (cfg->separator == NULL || cfg->max_name_length <= 0 || cfg->startup_wait_ms < 0 ||
	    cfg->nfiles == 0 || cfg->nservers > 256)
		abort();
	for (size_t i = 0; i < cfg->nfiles; i++)
		if (cfg->files[i] == NULL)
			abort();
	for (size_t i = 0; i < cfg->nservers; i++) {
		const struct config_server *s = &cfg->servers[i];
		char d1[65], d2[65];

		if (s->name == NULL || *s->name == '\0' || s->prefix == NULL || s->file == NULL)
			abort();
		if ((s->command == NULL) == (s->url == NULL))
			abort();	/* local or remote, never both or neither */
		if (s->timeout_ms <= 0 || s->startup_timeout_ms <= 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->servers[j].name, s->name) == 0)
				abort();
		for (size_t j = 0; j < s->nargs; j++)
			if (s->args[j] == NULL)
				abort();
		for (size_t j = 0; j < s->nenv; j++)
			if (s->env[j].key == NULL || s->env[j].value == NULL)
				abort();
		for (size_t j = 0; j < s->nheaders; j++)
			if (s->headers[j].key == NULL || s->headers[j].value == NULL ||
			    strchr(s->headers[j].value, '\n') != NULL ||
			    strchr(s->headers[j].value, '\r') != NULL)
				abort();
		check_rules(&s->tools, data, size);
		check_rules(&s->resources, data, size);
		check_rules(&s->prompts, data, size);
		config_server_digest(s, d1);
		config_server_digest(s, d2);
		if (strlen(d1) != 64 || strcmp(d1, d2) != 0)
			abort();
	}
}

static void
load(const char *file, const char *system_policy, const uint8_t *data, size_t size)
{
	struct config_load_opts o = { file, system_policy, 1 };
	struct config_diags d = { 0 };
	struct config *cfg = config_load(&o, &d);

	check_diags(&d, cfg);
	if (cfg != NULL)
		check_config(cfg, data, size);
	config_free(cfg);
	config_diags_cleanup(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)	/* the loader's own bound is 1 MiB; small inputs fuzz faster */
		return 0;
	write_file(input_path, data, size);
	load(input_path, "", data, size);
	write_file(policy_path, data, size);
	load(narrow_path, sysdir, data, size);
	return 0;
}
