/* test_config.c: the configuration loader (gateway/config/config.c, gateway/config/cfgnode.c): values and defaults,
 * every error at its file:line:col and key path, layering (DESIGN §6), includes, bounds and garbage,
 * rules and the server digest. Run from the repository root: fixtures are tests/unit/data/config/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "config.h"

#define DATA "tests/unit/data/config/"

static char tmpdir[] = "/tmp/mcpgw-test-config-XXXXXX";
static int ncase;

/* --- helpers --- */

static struct config *
load(const char *file, const char *system, struct config_diags *d)
{
	struct config_load_opts o = { file, system ? system : "", 1 };

	memset(d, 0, sizeof *d);
	return config_load(&o, d);
}

/* Writes text to a new file in the temporary directory and returns its path (static buffer). */
static const char *
write_tmp(const char *text, size_t len)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof path, "%s/case-%d.yaml", tmpdir, ncase++);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
	return path;
}

/* The diagnostic at line:col with that key path (NULL: any) whose message holds msg. */
static const struct config_diag *
find_diag(const struct config_diags *d, int line, int col, const char *path, const char *msg)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct config_diag *g = &d->v[i];

		if (g->line == line && g->col == col && (path == NULL || strcmp(g->path, path) == 0) &&
		    strstr(g->message, msg) != NULL)
			return g;
	}
	return NULL;
}

static void
dump(const struct config_diags *d)
{
	config_diags_print(d, stderr);
}

static void
expect_diag(const struct config_diags *d, const char *file, int line, int col, const char *path,
    const char *msg)
{
	const struct config_diag *g = find_diag(d, line, col, path, msg);

	if (g == NULL) {
		fprintf(stderr, "missing diagnostic %s:%d:%d: %s: %s; got:\n", file, line, col, path, msg);
		dump(d);
	}
	assert_non_null(g);
	assert_string_equal(g->file, file);
}

static const struct config_server *
server(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i].name, name) == 0)
			return &c->servers[i];
	fail_msg("no server %s", name);
	return NULL;
}

static const char *
kv(const struct config_kv *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].key, key) == 0)
			return v[i].value;
	return NULL;
}

static char *
printed(const struct config_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	config_diags_print(d, fp);
	fclose(fp);
	return buf;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	setenv("HOME", "/home/tester", 1);
	setenv("TEST_TEAM", "core", 1);
	unsetenv("TEST_UNSET");
	unsetenv("MCPGW_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* --- valid files --- */

static void
test_full_example_gives_every_value(void **state)
{
	struct config_diags d;
	struct config *c = load(DATA "full.yaml", NULL, &d);
	const struct config_server *s;

	(void)state;
	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	assert_int_equal(d.nerrors, 0);
	assert_string_equal(c->separator, "_x_");
	assert_int_equal(c->max_name_length, 60);
	assert_int_equal(c->startup_wait_ms, 2500);
	assert_int_equal(c->log_level, CONFIG_LOG_DEBUG);
	assert_string_equal(c->audit_log, "/home/tester/state/audit.jsonl");
	assert_int_equal(c->nservers, 4);
	assert_int_equal(c->nfiles, 1);
	assert_string_equal(c->files[0], DATA "full.yaml");

	s = &c->servers[0];
	assert_string_equal(s->name, "serena");
	assert_string_equal(s->prefix, "serena");
	assert_string_equal(s->command, "uvx");
	assert_null(s->url);
	assert_int_equal(s->transport, CONFIG_TRANSPORT_STDIO);
	assert_int_equal(s->nargs, 6);
	assert_string_equal(s->args[1], "git+https://github.com/oraios/serena");
	assert_string_equal(s->args[5], "8080");	/* a plain integer is a string here */
	assert_string_equal(kv(s->env, s->nenv, "TEAM_NAME"), "core");
	assert_string_equal(kv(s->env, s->nenv, "EMPTY"), "fallback");
	assert_string_equal(kv(s->env, s->nenv, "COST"), "$5");
	assert_int_equal(s->passthrough_set, 1);
	assert_int_equal(s->npassthrough, 2);
	assert_string_equal(s->env_passthrough[1], "PATH");
	assert_string_equal(s->cwd, "/home/tester/src/project");
	assert_int_equal(s->startup_timeout_ms, 30000);
	assert_int_equal(s->timeout_ms, 45000);		/* from defaults */
	assert_int_equal(s->lazy, 1);
	assert_int_equal(s->enabled, 1);
	assert_int_equal(s->pin, 1);
	assert_int_equal(s->nrename, 1);
	assert_string_equal(s->rename[0].key, "find_symbol");
	assert_string_equal(s->rename[0].value, "lookup");
	assert_int_equal(s->line, 18);
	assert_int_equal(s->col, 3);
	assert_int_equal(s->system, 0);
	assert_false(config_rules_pass(&s->tools, "execute_shell_command"));
	assert_false(config_rules_pass(&s->tools, "rm_rf"));	/* defaults deny */
	assert_true(config_rules_pass(&s->tools, "find_symbol"));
	assert_false(config_rules_pass(&s->resources, "file:///etc/passwd"));
	assert_true(config_rules_pass(&s->resources, "file:///home/x"));

	s = &c->servers[1];
	assert_string_equal(s->name, "github");
	assert_string_equal(s->url, "https://api.githubcopilot.com/mcp/");
	assert_int_equal(s->transport, CONFIG_TRANSPORT_AUTO);
	assert_int_equal(s->timeout_ms, 120000);
	assert_int_equal(s->startup_timeout_ms, 60000);
	assert_int_equal(s->read_only, 1);
	assert_int_equal(s->passthrough_set, 0);
	assert_string_equal(json_string_value(json_object_get(s->auth, "plugin")), "bearer");
	assert_string_equal(json_string_value(json_object_get(s->auth, "token_env")), "GITHUB_TOKEN");
	assert_true(config_rules_pass(&s->tools, "get_issue"));
	assert_true(config_rules_pass(&s->tools, "create_issue"));
	assert_false(config_rules_pass(&s->tools, "delete_repo"));
	assert_true(config_rules_pass(&s->prompts, "summarize"));
	assert_false(config_rules_pass(&s->prompts, "other"));

	s = server(c, "atlassian");
	assert_int_equal(s->transport, CONFIG_TRANSPORT_SSE);
	assert_int_equal(s->enabled, 0);
	assert_string_equal(s->prefix, "jira");
	assert_string_equal(json_string_value(json_object_get(s->auth, "client_secret_file")),
	    "/home/tester/secret");
	assert_string_equal(json_string_value(json_object_get(s->auth, "client_id")), "jira-client");
	assert_string_equal(json_string_value(json_array_get(json_object_get(s->auth, "scopes"), 0)),
	    "read:jira-work");

	s = server(c, "internal");
	assert_string_equal(s->prefix, "");
	assert_string_equal(kv(s->headers, s->nheaders, "X-Team"), "core");
	assert_string_equal(s->tls_ca_file, "/etc/ssl/internal-ca.pem");
	assert_string_equal(s->tls_cert_file, "/home/tester/c.pem");
	assert_string_equal(s->tls_key_file, "/home/tester/k.pem");
	assert_int_equal(json_array_size(json_object_get(s->auth, "command")), 2);
	config_free(c);
	config_diags_cleanup(&d);
}

/* The shipped example is documentation: it must stay a valid file. */
static void
test_shipped_example_is_valid(void **state)
{
	struct config_diags d;
	struct config *c;

	(void)state;
	unsetenv("TEAM");
	c = load("conf/example.yaml", NULL, &d);
	if (c == NULL || d.n > 0)
		dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->nservers, 4);
	assert_string_equal(kv(server(c, "internal")->headers, server(c, "internal")->nheaders,
	    "X-Team"), "platform");
	config_free(c);
	config_diags_cleanup(&d);
}

static void
test_minimal_file_gets_defaults(void **state)
{
	struct config_diags d;
	struct config *c = load(DATA "minimal.yaml", NULL, &d);

	(void)state;
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->separator, "__");
	assert_int_equal(c->max_name_length, 55);
	assert_int_equal(c->startup_wait_ms, 8000);
	assert_int_equal(c->log_level, CONFIG_LOG_INFO);
	assert_null(c->audit_log);
	assert_int_equal(c->nservers, 2);
	for (size_t i = 0; i < c->nservers; i++) {
		assert_int_equal(c->servers[i].timeout_ms, 60000);
		assert_int_equal(c->servers[i].startup_timeout_ms, 30000);
		assert_int_equal(c->servers[i].enabled, 1);
		assert_int_equal(c->servers[i].lazy, 0);
		assert_int_equal(c->servers[i].tools.nallow, 0);
		assert_true(config_rules_pass(&c->servers[i].tools, "anything"));
	}
	assert_string_equal(c->servers[1].prefix, "remote-one");
	config_free(c);
	config_diags_cleanup(&d);
}

static void
test_empty_and_comment_only_files_are_empty_configs(void **state)
{
	static const char *texts[] = { "", "# nothing\n", "---\n", "~\n", "servers:\ngateway:\n" };
	struct config_diags d;

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct config *c = load(write_tmp(texts[i], strlen(texts[i])), NULL, &d);

		assert_non_null(c);
		assert_int_equal(c->nservers, 0);
		config_free(c);
		config_diags_cleanup(&d);
	}
}

static void
test_missing_user_file(void **state)
{
	struct config_load_opts o = { DATA "does-not-exist.yaml", "", 0 };
	struct config_diags d = { 0 };
	struct config *c;
	char *out;

	(void)state;
	c = config_load(&o, &d);		/* not required: fine, no servers */
	assert_non_null(c);
	assert_int_equal(c->nservers, 0);
	assert_int_equal(d.n, 0);
	config_free(c);

	o.require_file = 1;
	assert_null(config_load(&o, &d));
	assert_int_equal(d.nerrors, 1);
	out = printed(&d);
	assert_string_equal(out, DATA "does-not-exist.yaml: cannot open: No such file or directory\n");
	free(out);
	config_diags_cleanup(&d);
}

/* --- errors --- */

static void
test_description_is_kept_and_bounded(void **state)
{
	static const char ok[] = "servers:\n  a:\n    command: x\n    description: Reads the team wiki\n";
	char bad[512];
	struct config_diags d;
	struct config *c;

	(void)state;
	c = load(write_tmp(ok, sizeof ok - 1), NULL, &d);
	assert_non_null(c);
	assert_string_equal(c->servers[0].description, "Reads the team wiki");
	config_free(c);
	config_diags_cleanup(&d);

	int n = snprintf(bad, sizeof bad, "servers:\n  a:\n    command: x\n    description: %0301d\n", 0);
	const char *f = write_tmp(bad, (size_t)n);
	assert_null(load(f, NULL, &d));
	expect_diag(&d, f, 4, 18, "servers.a.description", "at most 300 characters");
	config_diags_cleanup(&d);
}

/* Regression (found by fuzz_config): duplicate keys in a large mapping are found by index, not
 * by comparing every key with every earlier one; the duplicate still gets its place. */
static void
test_duplicate_key_in_a_large_mapping(void **state)
{
	size_t cap = 20000 * 16 + 200, n;
	char *text = malloc(cap);
	struct config_diags d;

	(void)state;
	n = (size_t)snprintf(text, cap, "servers:\n  a:\n    command: x\n    env:\n");
	for (int i = 0; i < 20000; i++)
		n += (size_t)snprintf(text + n, cap - n, "      K%d: v\n", i);
	n += (size_t)snprintf(text + n, cap - n, "      K17: again\n");
	const char *f = write_tmp(text, n);
	assert_null(load(f, NULL, &d));
	expect_diag(&d, f, 20005, 7, "servers.a.env.K17", "duplicate key 'K17' (first at 22:7)");
	config_diags_cleanup(&d);
	free(text);
}

/* Found by fuzz_config: when the problem past the bound on diagnostics was a warning, the "too
 * many problems" line that stands for it was an error that no error count included. Here 500
 * errors (unknown keys) come first, then the warning about two servers with one prefix. */
static void
test_too_many_problems_line_keeps_its_kind(void **state)
{
	size_t cap = 600 * 20 + 200, n, errors = 0;
	char *text = malloc(cap);
	struct config_diags d;

	(void)state;
	n = (size_t)snprintf(text, cap, "servers:\n  a:\n    command: x\n    prefix: p\n"
	    "  b:\n    command: y\n    prefix: p\n");
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(text + n, cap - n, "unknown%d: v\n", i);
	const char *f = write_tmp(text, n);
	assert_null(load(f, NULL, &d));
	assert_int_equal(d.n, 501);
	for (size_t i = 0; i < d.n; i++)
		errors += !d.v[i].warning;
	assert_non_null(strstr(d.v[500].message, "too many problems"));
	assert_int_equal(d.v[500].warning, 1);
	assert_int_equal(d.nerrors, errors);
	config_diags_cleanup(&d);
	free(text);
}

static void
test_many_errors_are_all_reported_in_order(void **state)
{
	static const char *want =
	    DATA "many-errors.yaml:3:14: gateway.separator: a separator is 1 to 8 letters, digits or _\n"
	    DATA "many-errors.yaml:4:3: gateway.colour: unknown key 'colour'\n"
	    DATA "many-errors.yaml:8:14: servers.one.timeout: expected a duration such as 500ms, 30s, 5m or 1h\n"
	    DATA "many-errors.yaml:10:19: servers.one.tools.allow[1]: expected a string\n"
	    DATA "many-errors.yaml:12:10: servers.two.url: url must start with http:// or https://\n"
	    DATA "many-errors.yaml:13:11: servers.two.lazy: expected true or false\n";
	struct config_diags d;
	char *out;

	(void)state;
	assert_null(load(DATA "many-errors.yaml", NULL, &d));
	assert_int_equal(d.nerrors, 6);
	out = printed(&d);
	assert_string_equal(out, want);
	free(out);
	config_diags_cleanup(&d);
}

struct err_case {
	const char *name;
	const char *yaml;
	int line, col;
	const char *path;
	const char *msg;
};

static const struct err_case err_cases[] = {
	{ "unknown top key with suggestion", "servers: {}\nserver: {}\n",
	  2, 1, "server", "unknown key 'server' (did you mean 'servers'?)" },
	{ "unknown server key", "servers:\n  a:\n    command: x\n    tols: {}\n",
	  4, 5, "servers.a.tols", "did you mean 'tools'?" },
	{ "unknown key far from any", "servers:\n  a:\n    command: x\n    zzzzzz: 1\n",
	  4, 5, "servers.a.zzzzzz", "unknown key 'zzzzzz'" },
	{ "list item of the wrong type", "servers:\n  github:\n    url: https://x/\n    tools:\n"
	  "      allow:\n        - get_*\n        - {a: b}\n",
	  7, 11, "servers.github.tools.allow[1]", "expected a string" },
	{ "bad duration", "defaults:\n  timeout: 10 s\n", 2, 12, "defaults.timeout",
	  "expected a duration" },
	{ "zero timeout", "servers:\n  a: {command: x, timeout: 0}\n", 2, 28, "servers.a.timeout",
	  "must be longer than 0" },
	{ "version 2", "version: 2\n", 1, 10, "version", "unsupported version 2" },
	{ "version string", "version: one\n", 1, 10, "version", "expected an integer" },
	{ "max_name_length too small", "gateway: {max_name_length: 8}\n", 1, 28,
	  "gateway.max_name_length", "between 16 and 128" },
	{ "huge number", "gateway:\n  max_name_length: 123456789012345678901234567890\n", 2, 20,
	  "gateway.max_name_length", "between 16 and 128" },
	{ "bad separator", "gateway: {separator: \"-\"}\n", 1, 22, "gateway.separator",
	  "a separator is" },
	{ "empty separator", "gateway: {separator: \"\"}\n", 1, 22, "gateway.separator",
	  "a separator is" },
	{ "bad log level", "gateway:\n  log_level: verbose\n", 2, 14, "gateway.log_level",
	  "expected error, warn, info or debug" },
	{ "bad server name", "servers:\n  GitHub:\n    url: https://x/\n", 2, 3, "servers.GitHub",
	  "server names are lowercase" },
	{ "server name with double dash", "servers:\n  a--b: {command: x}\n", 2, 3, "servers.a--b",
	  "server names are lowercase" },
	{ "neither command nor url", "servers:\n  a:\n    lazy: true\n", 2, 3, "servers.a",
	  "needs a command (local) or a url (remote)" },
	{ "both command and url", "servers:\n  a:\n    command: x\n    url: https://x/\n", 4, 5,
	  "servers.a.url", "cannot both be set" },
	{ "credentials in url", "servers:\n  a:\n    url: https://me:secret@x.example/\n", 3, 10,
	  "servers.a.url", "must not contain credentials" },
	{ "url scheme", "servers:\n  a: {url: \"file:///x\"}\n", 2, 12, "servers.a.url",
	  "must start with http:// or https://" },
	{ "transport with command", "servers:\n  a:\n    command: x\n    transport: sse\n", 4, 5,
	  "servers.a.transport", "only valid for a remote server" },
	{ "headers with command", "servers:\n  a:\n    command: x\n    headers: {A: b}\n", 4, 5,
	  "servers.a.headers", "only valid for a remote server" },
	{ "cwd with url", "servers:\n  a:\n    url: https://x/\n    cwd: /tmp\n", 4, 5, "servers.a.cwd",
	  "only valid for a local server" },
	{ "bad transport", "servers:\n  a:\n    url: https://x/\n    transport: websocket\n", 4, 16,
	  "servers.a.transport", "expected auto, streamable-http or sse" },
	{ "header injection", "servers:\n  a:\n    url: https://x/\n    headers: {X-A: \"a\\r\\nB: c\"}\n",
	  4, 20, "servers.a.headers.X-A", "line breaks" },
	{ "env name", "servers:\n  a:\n    command: x\n    env: {\"1A\": b}\n", 4, 11,
	  "servers.a.env.1A", "environment variable names" },
	{ "passthrough name", "servers:\n  a:\n    command: x\n    env_passthrough: [HOME, \"A-B\"]\n",
	  4, 29, "servers.a.env_passthrough[1]", "expected an environment variable name" },
	{ "args not a list", "servers:\n  a:\n    command: x\n    args: --verbose\n", 4, 11,
	  "servers.a.args", "expected a list of strings" },
	{ "null command", "servers:\n  a:\n    command:\n", 3, 13, "servers.a.command",
	  "expected a string" },
	{ "enabled not a bool", "servers:\n  a: {command: x, enabled: \"yes\"}\n", 2, 28,
	  "servers.a.enabled", "expected true or false" },
	{ "bad prefix", "servers:\n  a: {command: x, prefix: a-b}\n", 2, 27, "servers.a.prefix",
	  "a prefix is" },
	{ "rename target", "servers:\n  a:\n    command: x\n    tools:\n      rename: {x: \"a b\"}\n", 5,
	  19, "servers.a.tools.rename.x", "exposed names are letters" },
	{ "rename twice to one name", "servers:\n  a:\n    command: x\n    tools:\n"
	  "      rename: {x: y, z: y}\n", 5, 25, "servers.a.tools.rename.z", "already the new name" },
	{ "rename in resources", "servers:\n  a:\n    command: x\n    resources:\n      rename: {}\n",
	  5, 7, "servers.a.resources.rename", "unknown key 'rename'" },
	{ "rename in defaults", "defaults:\n  tools:\n    rename: {a: b}\n", 3, 5,
	  "defaults.tools.rename", "only valid in a server's tools" },
	{ "empty glob", "servers:\n  a:\n    command: x\n    tools: {deny: [\"\"]}\n", 4, 20,
	  "servers.a.tools.deny[0]", "non-empty pattern" },
	{ "tls key", "servers:\n  a:\n    url: https://x/\n    tls: {ca: /x}\n", 4, 11,
	  "servers.a.tls.ca", "did you mean 'ca_file'?" },
	{ "policy in a user file", "policy:\n  user_servers: true\n", 1, 1, "policy",
	  "only allowed in the system policy" },
	{ "top level is a list", "- a\n- b\n", 1, 1, "", "expected a mapping" },
	{ "section is a list", "gateway: [a]\n", 1, 10, "gateway", "expected a mapping" },
	{ "auth without plugin", "servers:\n  a:\n    url: https://x/\n    auth: {token_env: X}\n", 4,
	  11, "servers.a.auth", "auth needs plugin" },
	{ "auth plugin name", "servers:\n  a:\n    url: https://x/\n    auth: {plugin: \"Bad/Name\"}\n",
	  4, 20, "servers.a.auth.plugin", "expected a plugin name" },
	{ "bearer with both", "servers:\n  a:\n    url: https://x/\n    auth:\n      plugin: bearer\n"
	  "      token_env: A\n      token_file: /t\n", 7, 19, "servers.a.auth.token_file",
	  "not both" },
	{ "bearer with neither", "servers:\n  a:\n    url: https://x/\n    auth: {plugin: bearer}\n",
	  4, 11, "servers.a.auth", "needs token_env or token_file" },
	{ "bearer token_env not a name", "servers:\n  a:\n    url: https://x/\n"
	  "    auth: {plugin: bearer, token_env: \"$$X\"}\n", 4, 39, "servers.a.auth.token_env",
	  "expected an environment variable name" },
	{ "exec without command", "servers:\n  a:\n    url: https://x/\n    auth: {plugin: exec}\n",
	  4, 11, "servers.a.auth", "needs command" },
	{ "oauth2 metadata url", "servers:\n  a:\n    url: https://x/\n"
	  "    auth: {plugin: oauth2, client_metadata_url: \"http://x/m\"}\n", 4, 49,
	  "servers.a.auth.client_metadata_url", "must start with https://" },
	{ "oauth2 callback_timeout", "servers:\n  a:\n    url: https://x/\n"
	  "    auth: {plugin: oauth2, callback_timeout: later}\n", 4, 46,
	  "servers.a.auth.callback_timeout", "expected a duration" },
	{ "oauth2 misspelt key", "servers:\n  a:\n    url: https://x/\n"
	  "    auth: {plugin: oauth2, scope: [a]}\n", 4, 28, "servers.a.auth.scope",
	  "did you mean 'scopes'?" },
	{ "oauth2 scope with a space", "servers:\n  a:\n    url: https://x/\n"
	  "    auth: {plugin: oauth2, scopes: [ok, \"a b\"]}\n", 4, 41, "servers.a.auth.scopes[1]",
	  "one word of printable ASCII" },
	{ "oauth2 secret without client_id", "servers:\n  a:\n    url: https://x/\n"
	  "    auth: {plugin: oauth2, client_secret_file: /s}\n", 4, 48,
	  "servers.a.auth.client_secret_file", "set client_id too" },
	{ "oauth2 metadata url without a path", "servers:\n  a:\n    url: https://x/\n"
	  "    auth: {plugin: oauth2, client_metadata_url: \"https://x.example\"}\n", 4, 49,
	  "servers.a.auth.client_metadata_url", "needs a path" },
	{ "oauth2 on a local server", "servers:\n  a:\n    command: x\n    auth: {plugin: oauth2}\n", 4, 5,
	  "servers.a.auth", "oauth2 is for remote servers" },
	{ "include not found", "include: [nope.yaml]\n", 1, 11, "include[0]",
	  "cannot open include" },
	/* YAML itself */
	{ "duplicate server key in one layer", "servers:\n  a: {command: x}\n  a: {command: y}\n",
	  3, 3, "servers.a", "duplicate key 'a' (first at 2:3)" },
	{ "syntax error", "servers:\n  a: {command: x\n  b: 1\n", 3, 4, "servers.a",
	  "YAML syntax error" },
	{ "tab indentation", "servers:\n\ta: 1\n", 2, 1, "servers", "YAML syntax error" },
	{ "alias", "x: &a [1]\ny: *a\n", 2, 4, "y", "aliases are not supported" },
	{ "two documents", "servers: {}\n---\nservers: {}\n", 2, 1, "", "only one YAML document" },
	{ "custom tag", "gateway: {separator: !custom x}\n", 1, 22, "gateway.separator",
	  "tags are not supported" },
	{ "complex key", "? [a, b]\n: c\n", 1, 3, "", "mapping keys must be strings" },
	{ "invalid utf-8", "servers:\n  a: \"\xff\xfe\"\n", 2, 7, "", "invalid input" },
	{ "control character", "servers:\n  a\x01: x\n", 2, 4, "", "invalid input" },
};

static void
test_each_error_at_its_place(void **state)
{
	struct config_diags d;

	int bad = 0;

	(void)state;
	/* Every row runs, and every wrong one is shown, before the test fails. */
	for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
		const struct err_case *e = &err_cases[i];
		const char *path = write_tmp(e->yaml, strlen(e->yaml));
		struct config *c = load(path, NULL, &d);
		const struct config_diag *g = find_diag(&d, e->line, e->col, e->path, e->msg);

		if (c != NULL || g == NULL || strcmp(g->file, path) != 0) {
			fprintf(stderr, "case '%s': want %d:%d: %s: %s; got:\n", e->name, e->line,
			    e->col, e->path, e->msg);
			dump(&d);
			bad++;
		}
		config_free(c);
		config_diags_cleanup(&d);
	}
	assert_int_equal(bad, 0);
}

/* --- ${VAR} --- */

static void
test_variables_expand_in_values_only(void **state)
{
	static const char values[] =
	    "servers:\n"
	    "  a:\n"
	    "    command: \"${TEST_TEAM}-mcp\"\n"
	    "    args: [\"$${TEST_TEAM}\", \"${TEST_UNSET:-d1}\", \"${TEST_EMPTY:-d2}\", \"x${TEST_TEAM}y\","
	    " \"$5\", \"${TEST_UNSET:-}\", a$]\n";
	static const char keys[] = "servers:\n  a:\n    command: x\n    env: {\"${TEST_TEAM}\": v}\n";
	struct config_diags d;
	struct config *c;
	const struct config_server *s;

	(void)state;
	setenv("TEST_EMPTY", "", 1);
	c = load(write_tmp(values, sizeof values - 1), NULL, &d);
	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	s = &c->servers[0];
	assert_string_equal(s->command, "core-mcp");
	assert_string_equal(s->args[0], "${TEST_TEAM}");
	assert_string_equal(s->args[1], "d1");
	assert_string_equal(s->args[2], "d2");		/* :- also covers set-but-empty */
	assert_string_equal(s->args[3], "xcorey");
	assert_string_equal(s->args[4], "$5");
	assert_string_equal(s->args[5], "");
	assert_string_equal(s->args[6], "a$");
	config_free(c);
	config_diags_cleanup(&d);
	unsetenv("TEST_EMPTY");

	/* the key "${TEST_TEAM}" is not expanded, so it is not a variable name */
	assert_null(load(write_tmp(keys, sizeof keys - 1), NULL, &d));
	assert_int_equal(d.nerrors, 1);
	expect_diag(&d, d.v[0].file, 4, 11, "servers.a.env.${TEST_TEAM}", "environment variable names");
	config_diags_cleanup(&d);
}

static void
test_variable_duration_and_missing_variable(void **state)
{
	static const char ok[] = "servers:\n  a: {command: x, timeout: \"${TEST_UNSET:-90s}\"}\n";
	static const char missing[] =
	    "servers:\n"
	    "  a:\n"
	    "    url: https://x/\n"
	    "    headers: {X-A: \"${TEST_UNSET}\"}\n"
	    "    auth: {plugin: oauth2, client_secret: \"${TEST_UNSET_TOO}\"}\n"
	    "  b: {command: \"${1BAD}\"}\n"
	    "  c: {command: \"${TEST_UNSET:-open\"}\n";
	struct config_diags d;
	struct config *c;

	(void)state;
	c = load(write_tmp(ok, sizeof ok - 1), NULL, &d);
	assert_non_null(c);
	assert_int_equal(c->servers[0].timeout_ms, 90000);
	config_free(c);
	config_diags_cleanup(&d);

	assert_null(load(write_tmp(missing, sizeof missing - 1), NULL, &d));
	assert_int_equal(d.nerrors, 4);
	assert_non_null(find_diag(&d, 4, 20, "servers.a.headers.X-A",
	    "environment variable TEST_UNSET is not set"));
	assert_non_null(find_diag(&d, 5, 43, "servers.a.auth.client_secret",
	    "environment variable TEST_UNSET_TOO is not set"));
	assert_non_null(find_diag(&d, 6, 16, "servers.b.command", "bad variable reference"));
	assert_non_null(find_diag(&d, 7, 16, "servers.c.command", "has no closing }"));
	config_diags_cleanup(&d);
}

/* --- includes --- */

static void
test_include_merges_in_order_and_narrows(void **state)
{
	struct config_diags d;
	struct config *c = load(DATA "include-main.yaml", NULL, &d);
	const struct config_server *a, *b;

	(void)state;
	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	assert_int_equal(c->nfiles, 3);
	assert_string_equal(c->files[0], DATA "include-main.yaml");
	assert_string_equal(c->files[1], DATA "include/extra.yaml");
	assert_string_equal(c->files[2], DATA "include/narrow.yaml");
	assert_int_equal(c->nservers, 2);
	a = &c->servers[0];
	b = &c->servers[1];
	assert_string_equal(a->name, "alpha");
	assert_string_equal(b->name, "beta");
	assert_string_equal(b->file, DATA "include/extra.yaml");
	assert_int_equal(a->tools.nallow, 2);		/* one allow layer per file */
	assert_true(config_rules_pass(&a->tools, "read_file"));
	assert_false(config_rules_pass(&a->tools, "write_file"));	/* allow lists intersect */
	assert_false(config_rules_pass(&a->tools, "read_secrets"));	/* deny adds up */
	assert_int_equal(a->read_only, 1);
	assert_int_equal(b->enabled, 0);
	config_free(c);
	config_diags_cleanup(&d);
}

static void
test_include_cycle_is_an_error(void **state)
{
	struct config_diags d;

	(void)state;
	assert_null(load(DATA "cycle-a.yaml", NULL, &d));
	assert_int_equal(d.nerrors, 1);
	expect_diag(&d, DATA "cycle-b.yaml", 2, 5, "include[0]",
	    "include cycle: " DATA "cycle-a.yaml -> " DATA "cycle-b.yaml -> " DATA "cycle-a.yaml");
	config_diags_cleanup(&d);
}

static void
test_missing_include_points_at_its_entry(void **state)
{
	struct config_diags d;

	(void)state;
	assert_null(load(DATA "include-missing.yaml", NULL, &d));
	assert_int_equal(d.nerrors, 1);
	expect_diag(&d, DATA "include-missing.yaml", 5, 5, "include[1]",
	    "cannot open include " DATA "include/not-there.yaml: No such file or directory");
	config_diags_cleanup(&d);
}

static void
test_include_depth_is_bounded_at_eight(void **state)
{
	struct config_diags d;
	struct config *c;

	(void)state;
	assert_null(load(DATA "include/deep-0.yaml", NULL, &d));
	assert_int_equal(d.nerrors, 1);
	expect_diag(&d, DATA "include/deep-8.yaml", 1, 11, "include[0]", "deeper than 8");
	config_diags_cleanup(&d);

	c = load(DATA "include/deep-2.yaml", NULL, &d);	/* exactly 8 levels below */
	assert_non_null(c);
	assert_int_equal(c->nfiles, 9);
	config_free(c);
	config_diags_cleanup(&d);
}

/* --- system policy --- */

static void
test_system_policy_is_narrowed_never_loosened(void **state)
{
	struct config_diags d;
	struct config *c = load(DATA "user-narrow.yaml", DATA "system-open", &d);
	const struct config_server *g;

	(void)state;
	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	assert_int_equal(c->nfiles, 4);
	assert_string_equal(c->files[0], DATA "system-open/policy.yaml");
	assert_string_equal(c->files[1], DATA "system-open/policy.d/10-extra.yaml");
	assert_string_equal(c->files[2], DATA "system-open/policy.d/20-narrow.yaml");
	assert_string_equal(c->files[3], DATA "user-narrow.yaml");
	assert_int_equal(c->nservers, 3);
	assert_string_equal(c->servers[0].name, "github");
	assert_string_equal(c->servers[1].name, "fetch");
	assert_string_equal(c->servers[2].name, "mine");
	assert_int_equal(c->servers[0].system, 1);
	assert_int_equal(c->servers[1].system, 1);
	assert_int_equal(c->servers[2].system, 0);
	assert_string_equal(c->audit_log, "/var/log/mcpgw/audit.jsonl");

	g = &c->servers[0];
	assert_string_equal(g->file, DATA "system-open/policy.yaml");
	assert_true(config_rules_pass(&g->tools, "get_issue"));
	assert_true(config_rules_pass(&g->tools, "list_repos"));
	assert_false(config_rules_pass(&g->tools, "create_issue"));	/* the user cannot widen */
	assert_false(config_rules_pass(&g->tools, "search_issues"));	/* the user narrowed */
	assert_false(config_rules_pass(&g->tools, "search_code"));	/* policy.d deny */
	assert_false(config_rules_pass(&g->tools, "get_me"));		/* user deny */
	assert_false(config_rules_pass(&c->servers[2].tools, "delete_branch")); /* system defaults */
	assert_true(config_rules_pass(&c->servers[2].tools, "create_branch"));
	config_free(c);
	config_diags_cleanup(&d);
}

static void
test_user_cannot_redefine_a_system_server(void **state)
{
	static const char *where = "defined at " DATA "system-open/policy.yaml:10";
	struct config_diags d;

	(void)state;
	assert_null(load(DATA "user-redefine.yaml", DATA "system-open", &d));
	assert_int_equal(d.nerrors, 4);
	expect_diag(&d, DATA "user-redefine.yaml", 3, 5, "servers.github.url", where);
	expect_diag(&d, DATA "user-redefine.yaml", 5, 7, "servers.github.tools.pin", where);
	expect_diag(&d, DATA "user-redefine.yaml", 6, 14, "servers.github.enabled", where);
	expect_diag(&d, DATA "user-redefine.yaml", 8, 3, "gateway.audit_log",
	    "set by the system policy at " DATA "system-open/policy.yaml:5:3");
	assert_string_equal(d.v[0].message, "cannot redefine server github defined at "
	    DATA "system-open/policy.yaml:10");
	config_diags_cleanup(&d);
}

static void
test_user_servers_false_refuses_user_servers(void **state)
{
	static const char yaml[] = "servers:\n  mine: {command: uvx}\n";
	struct config_diags d;
	struct config *c;

	(void)state;
	assert_null(load(write_tmp(yaml, sizeof yaml - 1), DATA "system-closed", &d));
	assert_int_equal(d.nerrors, 1);
	expect_diag(&d, d.v[0].file, 2, 3, "servers.mine", "not allowed by the system policy "
	    "(policy.user_servers at " DATA "system-closed/policy.yaml:2:17)");
	config_diags_cleanup(&d);

	/* the same file without a system policy is fine */
	c = load(write_tmp(yaml, sizeof yaml - 1), "", &d);
	assert_non_null(c);
	config_free(c);
	config_diags_cleanup(&d);
}

static void
test_user_servers_glob_list(void **state)
{
	struct config_diags d;

	(void)state;
	assert_null(load(DATA "user-globs.yaml", DATA "system-globs/policy.yaml", &d));
	assert_int_equal(d.nerrors, 2);
	expect_diag(&d, DATA "user-globs.yaml", 6, 3, "servers.refused-cmd", "not allowed");
	expect_diag(&d, DATA "user-globs.yaml", 8, 3, "servers.refused-url", "not allowed");
	config_diags_cleanup(&d);
}

static void
test_missing_system_policy_is_no_policy(void **state)
{
	struct config_diags d;
	struct config *c;

	(void)state;
	c = load(DATA "minimal.yaml", DATA "no-such-policy-dir", &d);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->nfiles, 1);
	config_free(c);
	config_diags_cleanup(&d);
}

/* --- warnings --- */

static void
test_prefix_collision_is_a_warning_naming_both(void **state)
{
	struct config_diags d;
	struct config *c = load(DATA "prefix-collision.yaml", NULL, &d);
	char *out;

	(void)state;
	assert_non_null(c);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.n, 2);		/* two "" prefixes are not a collision */
	assert_int_equal(d.v[0].warning, 1);
	out = printed(&d);
	assert_string_equal(out,
	    DATA "prefix-collision.yaml:4:3: servers.dup_a: warning: prefix dup_a of server dup_a is "
	    "the same as that of server dup-a at " DATA "prefix-collision.yaml:2:3; its names will be "
	    "renamed\n"
	    DATA "prefix-collision.yaml:6:3: servers.other: warning: prefix dup_a of server other is "
	    "the same as that of server dup-a at " DATA "prefix-collision.yaml:2:3; its names will be "
	    "renamed\n");
	free(out);
	assert_string_equal(server(c, "dup-a")->prefix, "dup-a");	/* kept as written */
	config_free(c);
	config_diags_cleanup(&d);
}

/* --- bounds and garbage --- */

static void
test_garbage_gives_clean_errors(void **state)
{
	struct config_diags d;
	size_t big = 1024 * 1024 + 10;
	char *buf = malloc(big);

	(void)state;
	assert_non_null(buf);
	srand(7);
	for (size_t i = 0; i < 4096; i++)
		buf[i] = (char)(rand() & 0xff);
	assert_null(load(write_tmp(buf, 4096), NULL, &d));
	assert_true(d.nerrors >= 1);
	config_diags_cleanup(&d);

	/* deep nesting */
	memset(buf, '[', 5000);
	assert_null(load(write_tmp(buf, 5000), NULL, &d));
	assert_non_null(find_diag(&d, 1, 33, NULL, "nested deeper than 32 levels"));
	config_diags_cleanup(&d);

	/* bigger than the cap */
	memset(buf, '#', big);
	assert_null(load(write_tmp(buf, big), NULL, &d));
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.v[0].message, "larger than"));
	config_diags_cleanup(&d);

	/* a scalar longer than the cap */
	memcpy(buf, "a: ", 3);
	memset(buf + 3, 'x', 70000);
	assert_null(load(write_tmp(buf, 70003), NULL, &d));
	assert_non_null(strstr(d.v[0].message, "string longer than"));
	config_diags_cleanup(&d);

	/* every prefix of a valid file: truncated YAML never crashes */
	{
		FILE *fp = fopen(DATA "full.yaml", "r");
		size_t len = fread(buf, 1, big, fp);

		fclose(fp);
		for (size_t cut = 0; cut < len; cut += 7) {
			struct config *c = load(write_tmp(buf, cut), NULL, &d);

			config_free(c);
			config_diags_cleanup(&d);
		}
	}
	/* a directory and a fifo are not config files (and a fifo must not hang the load) */
	assert_null(load(tmpdir, NULL, &d));
	assert_non_null(strstr(d.v[0].message, "not a regular file"));
	config_diags_cleanup(&d);
	{
		char fifo[300];

		snprintf(fifo, sizeof fifo, "%s/fifo.yaml", tmpdir);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		assert_null(load(fifo, NULL, &d));
		assert_non_null(strstr(d.v[0].message, "not a regular file"));
		config_diags_cleanup(&d);
	}
	free(buf);
}

static void
test_too_many_servers(void **state)
{
	char *buf = malloc(300 * 40), *p = buf;
	struct config_diags d;

	(void)state;
	p += sprintf(p, "servers:\n");
	for (int i = 0; i < 300; i++)
		p += sprintf(p, "  s%d: {command: x}\n", i);
	assert_null(load(write_tmp(buf, (size_t)(p - buf)), NULL, &d));
	assert_int_equal(d.nerrors, 300 - 256);
	expect_diag(&d, d.v[0].file, 2 + 256, 3, "servers.s256", "too many servers");
	config_diags_cleanup(&d);
	free(buf);
}

static void
test_diagnostics_are_capped(void **state)
{
	char *buf = malloc(2000 * 20), *p = buf;
	struct config_diags d;

	(void)state;
	for (int i = 0; i < 2000; i++)
		p += sprintf(p, "k%d: 1\n", i);
	assert_null(load(write_tmp(buf, (size_t)(p - buf)), NULL, &d));
	assert_int_equal(d.nerrors, 2000);
	assert_true(d.n <= 501);
	assert_non_null(strstr(d.v[d.n - 1].message, "too many problems"));
	config_diags_cleanup(&d);
	free(buf);
}

/* --- pure functions --- */

static void
test_parse_duration(void **state)
{
	static const struct { const char *s; long ms; } cases[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "5m", 300000 }, { "1h", 3600000 }, { "45", 45000 },
		{ "0", 0 }, { "0ms", 0 },
		{ "", -1 }, { "s", -1 }, { "-1s", -1 }, { "1.5s", -1 }, { "10 s", -1 }, { "3d", -1 },
		{ "1sec", -1 }, { " 1s", -1 }, { "99999999999999999999999s", -1 }, { "1msx", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long got = config_parse_duration(cases[i].s);

		if (got != cases[i].ms)
			fail_msg("'%s': got %ld, want %ld", cases[i].s, got, cases[i].ms);
	}
	assert_int_equal(config_parse_duration(NULL), -1);
}

static void
test_rules_pass(void **state)
{
	char *a1[] = { "get_*", "list_*" }, *a2[] = { "get_*", "search" }, *dn[] = { "get_secret*" };
	struct config_globs allow[] = { { a1, 2, NULL }, { a2, 2, NULL } };
	struct config_rules none = { NULL, 0, { NULL, 0, NULL }, NULL };
	struct config_rules r = { allow, 2, { dn, 1, NULL }, NULL };
	struct config_rules empty_allow = { allow, 0, { NULL, 0, NULL }, NULL };
	struct config_globs nothing = { NULL, 0, NULL };
	struct config_rules allow_nothing = { &nothing, 1, { NULL, 0, NULL }, NULL };

	(void)state;
	assert_true(config_rules_pass(&none, "anything"));
	assert_true(config_rules_pass(NULL, "anything"));
	assert_true(config_rules_pass(&empty_allow, "x"));
	assert_false(config_rules_pass(&allow_nothing, "x"));	/* allow: [] hides everything */
	assert_true(config_rules_pass(&r, "get_issue"));
	assert_false(config_rules_pass(&r, "list_issues"));	/* not in the second layer */
	assert_false(config_rules_pass(&r, "search"));		/* not in the first layer */
	assert_false(config_rules_pass(&r, "get_secret_key"));	/* denied */
	assert_false(config_rules_pass(&r, "Get_issue"));	/* case matters */
	assert_false(config_rules_pass(&r, NULL));
}

static void
digest_of(const char *yaml, char out[65])
{
	struct config_diags d;
	struct config *c = load(write_tmp(yaml, strlen(yaml)), NULL, &d);

	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	config_server_digest(&c->servers[0], out);
	config_free(c);
	config_diags_cleanup(&d);
}

static void
test_digest_is_stable_and_sensitive(void **state)
{
	static const char *base =
	    "servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n"
	    "    tools: {deny: [d]}\n";
	static const char *same[] = {
		/* mapping order does not matter; comments and layout do not either */
		"servers:\n  a:\n    env: {B: '2', A: '1'}\n    args: [a, b]   # hi\n    command: x\n"
		"    tools:\n      deny: [d]\n",
		/* lazy and timeouts do not change what the server exposes */
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n"
		"    tools: {deny: [d]}\n    lazy: true\n    timeout: 5s\n",
	};
	static const char *differ[] = {
		"servers:\n  a:\n    command: y\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d]}\n",
		"servers:\n  a:\n    command: x\n    args: [ab]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d]}\n",
		"servers:\n  a:\n    command: x\n    args: [b, a]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d]}\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '3'}\n    tools: {deny: [d]}\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [e]}\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d], allow: [\"*\"]}\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d]}\n    prefix: z\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d]}\n    cwd: /tmp\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d], rename: {t: u}}\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d], read_only: true}\n",
		"servers:\n  a:\n    command: x\n    args: [a, b]\n    env: {A: '1', B: '2'}\n    tools: {deny: [d]}\n    resources: {deny: [d]}\n",
	};
	char want[65], got[65], hdr[65];

	(void)state;
	digest_of(base, want);
	assert_int_equal(strlen(want), 64);
	assert_int_equal(strspn(want, "0123456789abcdef"), 64);
	digest_of(base, got);
	assert_string_equal(got, want);
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		digest_of(same[i], got);
		if (strcmp(got, want) != 0)
			fail_msg("same[%zu] changed the digest", i);
	}
	for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
		digest_of(differ[i], got);
		if (strcmp(got, want) == 0)
			fail_msg("differ[%zu] kept the digest", i);
	}
	/* remote: url, transport and headers count */
	digest_of("servers:\n  a: {url: \"https://x/\"}\n", want);
	digest_of("servers:\n  a: {url: \"https://x/\", transport: sse}\n", got);
	assert_string_not_equal(got, want);
	digest_of("servers:\n  a: {url: \"https://x/\", headers: {A: b}}\n", hdr);
	assert_string_not_equal(hdr, want);
	assert_string_not_equal(hdr, got);
}

static void
test_default_path_lookup(void **state)
{
	char *p;

	(void)state;
	setenv("MCPGW_CONFIG", "/srv/gw.yaml", 1);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	p = config_default_path();
	assert_string_equal(p, "/srv/gw.yaml");
	free(p);
	unsetenv("MCPGW_CONFIG");
	p = config_default_path();
	assert_string_equal(p, "/xdg/mcpgw/config.yaml");
	free(p);
	setenv("XDG_CONFIG_HOME", "relative", 1);	/* ignored, as the XDG spec says */
	p = config_default_path();
	assert_string_equal(p, "/home/tester/.config/mcpgw/config.yaml");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	assert_null(config_default_path());
	setenv("HOME", "/home/tester", 1);
}

static void
test_default_lookup_reads_mcpgw_config(void **state)
{
	struct config_load_opts o = { NULL, "", 0 };
	struct config_diags d = { 0 };
	struct config *c;

	(void)state;
	setenv("MCPGW_CONFIG", DATA "minimal.yaml", 1);
	c = config_load(&o, &d);
	assert_non_null(c);
	assert_int_equal(c->nservers, 2);
	config_free(c);
	config_diags_cleanup(&d);

	setenv("MCPGW_CONFIG", DATA "nope.yaml", 1);	/* not required: a warning, no servers */
	c = config_load(&o, &d);
	assert_non_null(c);
	assert_int_equal(c->nservers, 0);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].warning, 1);
	config_free(c);
	config_diags_cleanup(&d);
	unsetenv("MCPGW_CONFIG");
}

static void
test_diags_print_format(void **state)
{
	struct config_diag v[] = {
		{ "a.yaml", 7, 5, "servers.x", "bad", 0 },
		{ "a.yaml", 2, 1, "", "no path", 1 },
		{ "b.yaml", 0, 0, "", "cannot open: x", 0 },
	};
	struct config_diags d = { v, 3, 2 };
	char *out = printed(&d);

	(void)state;
	assert_string_equal(out, "a.yaml:7:5: servers.x: bad\n"
	    "a.yaml:2:1: warning: no path\n"
	    "b.yaml: cannot open: x\n");
	free(out);
	config_diags_cleanup(NULL);
	config_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example_gives_every_value),
		cmocka_unit_test(test_shipped_example_is_valid),
		cmocka_unit_test(test_minimal_file_gets_defaults),
		cmocka_unit_test(test_empty_and_comment_only_files_are_empty_configs),
		cmocka_unit_test(test_missing_user_file),
		cmocka_unit_test(test_many_errors_are_all_reported_in_order),
		cmocka_unit_test(test_duplicate_key_in_a_large_mapping),
		cmocka_unit_test(test_too_many_problems_line_keeps_its_kind),
		cmocka_unit_test(test_description_is_kept_and_bounded),
		cmocka_unit_test(test_each_error_at_its_place),
		cmocka_unit_test(test_variables_expand_in_values_only),
		cmocka_unit_test(test_variable_duration_and_missing_variable),
		cmocka_unit_test(test_include_merges_in_order_and_narrows),
		cmocka_unit_test(test_include_cycle_is_an_error),
		cmocka_unit_test(test_missing_include_points_at_its_entry),
		cmocka_unit_test(test_include_depth_is_bounded_at_eight),
		cmocka_unit_test(test_system_policy_is_narrowed_never_loosened),
		cmocka_unit_test(test_user_cannot_redefine_a_system_server),
		cmocka_unit_test(test_user_servers_false_refuses_user_servers),
		cmocka_unit_test(test_user_servers_glob_list),
		cmocka_unit_test(test_missing_system_policy_is_no_policy),
		cmocka_unit_test(test_prefix_collision_is_a_warning_naming_both),
		cmocka_unit_test(test_garbage_gives_clean_errors),
		cmocka_unit_test(test_too_many_servers),
		cmocka_unit_test(test_diagnostics_are_capped),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_rules_pass),
		cmocka_unit_test(test_digest_is_stable_and_sensitive),
		cmocka_unit_test(test_default_path_lookup),
		cmocka_unit_test(test_default_lookup_reads_mcpgw_config),
		cmocka_unit_test(test_diags_print_format),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
