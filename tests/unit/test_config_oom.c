/* test_config_oom.c: allocation-failure torture of the configuration loader (issue 13, finding 8),
 * as curl runs it: one whole load with every layer (a system policy directory with policy.d, the
 * user's file, an include, ${VAR}, narrowing, defaults, auth), then the same load again for every
 * N, failing only the Nth allocation, then again failing the Nth and every later one (memory
 * that stays gone: "out of memory" must still be said). Each load must fail with "out of memory" or give exactly the
 * configuration of the run without failures; never crash, never leak (every block allocated during
 * a load is freed by the end of it: the wrappers keep the set of live blocks; under `make asan`,
 * LeakSanitizer checks again at exit and AddressSanitizer catches any use after free).
 *
 * The allocations are counted through -Wl,--wrap (Makefile), with libyaml and jansson linked
 * statically so that their own allocations are counted and failed too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "oom.h"
#include "config.h"

/* --- the scenario --- */

static char dir[] = "/tmp/mcpgw-test-config-oom-XXXXXX";
static char sys_dir[PATH_MAX], user_file[PATH_MAX];

static void
put(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	fclose(fp);
}

static void remove_dir(void);

static int
setup(void **state)
{
	char path[PATH_MAX];

	if (mkdtemp(dir) == NULL)
		return -1;
	/* also when the loader under test exits (the fatal() this test was written against did) */
	atexit(remove_dir);
	snprintf(sys_dir, sizeof sys_dir, "%s/sys", dir);
	snprintf(path, sizeof path, "%s/sys/policy.d", dir);
	if (mkdir(sys_dir, 0700) < 0 || mkdir(path, 0700) < 0)
		return -1;
	put("sys/policy.yaml",
	    "version: 1\n"
	    "gateway:\n"
	    "  audit_log: ~/audit.jsonl\n"
	    "  log_level: warn\n"
	    "policy:\n"
	    "  user_servers: [\"*-mcp\", \"https://*.example.com/*\"]\n"
	    "defaults:\n"
	    "  timeout: 45s\n"
	    "  tools: {deny: [\"delete_*\"], pin: true}\n"
	    "  resources: {allow: [\"file:///*\"]}\n"
	    "servers:\n"
	    "  github:\n"
	    "    url: https://api.example.com/mcp\n"
	    "    headers: {X-Team: \"${MCPGW_OOM_TEAM}\"}\n"
	    "    auth: {plugin: bearer, token_env: GITHUB_TOKEN}\n"
	    "    tools: {allow: [\"get_*\", \"list_*\", \"search_*\"]}\n");
	put("sys/policy.d/10-more.yaml",
	    "defaults:\n"
	    "  prompts: {deny: [secret]}\n"
	    "policy:\n"
	    "  user_servers: true\n");
	put("extra.yaml",
	    "servers:\n"
	    "  fs:\n"
	    "    command: fs-mcp\n"
	    "    args: [--root, \"${MCPGW_OOM_ROOT:-/srv}\", \"$$literal\"]\n"
	    "    env: {LANG: C, TEAM: \"${MCPGW_OOM_TEAM}\", E1: a, E2: b, E3: c, E4: d, E5: e, E6: f,\n"
	    "          E7: g, E8: h, E9: i, E10: j, E11: k, E12: l, E13: m, E14: n, E15: o, E16: p}\n"
	    "    env_passthrough: [PATH, HOME]\n"
	    "    cwd: ~/work\n"
	    "    tools:\n"
	    "      rename: {read_file: read, write_file: write}\n"
	    "      read_only: true\n"
	    "  remote-b:\n"
	    "    url: https://b.example.com/mcp\n"
	    "    transport: streamable-http\n"
	    "    tls: {ca_file: ~/ca.pem}\n"
	    "    auth:\n"
	    "      plugin: oauth2\n"
	    "      scopes: [read, write]\n"
	    "      client_id: mcpgw-test\n"
	    "      callback_timeout: 2m\n");
	put("user.yaml",
	    "include: [extra.yaml]\n"
	    "gateway:\n"
	    "  separator: \"__\"\n"
	    "  max_name_length: 64\n"
	    "  startup_wait: 3s\n"
	    "defaults:\n"
	    "  startup_timeout: 20s\n"
	    "servers:\n"
	    "  github:\n"
	    "    enabled: false\n"
	    "    tools: {allow: [\"get_*\", \"create_*\"], deny: [get_me], read_only: true}\n"
	    "  notes:\n"
	    "    command: notes-mcp\n"
	    "    prefix: n\n"
	    "    lazy: true\n"
	    "    description: \"Personal notes of ${MCPGW_OOM_TEAM}\"\n"
	    "    timeout: 10s\n"
	    "    prompts: {allow: [\"*\"]}\n");
	snprintf(user_file, sizeof user_file, "%s/user.yaml", dir);
	setenv("MCPGW_OOM_TEAM", "platform", 1);
	unsetenv("MCPGW_OOM_ROOT");
	setenv("HOME", dir, 1);
	return 0;
}

static void
remove_dir(void)
{
	const char *files[] = { "sys/policy.d/10-more.yaml", "sys/policy.yaml", "extra.yaml",
		"user.yaml" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/sys/policy.d", dir);
	rmdir(path);
	rmdir(sys_dir);
	rmdir(dir);
}

static int
teardown(void **state)
{
	remove_dir();
	return 0;
}

/* Everything of a loaded configuration that the gateway uses, as one string (new). */
static char *
summary(const struct config *c)
{
	char *s = NULL, *t;
	size_t len;
	FILE *fp = open_memstream(&s, &len);

	assert_non_null(fp);
	fprintf(fp, "%s %d %ld %d %d %s %zu/", c->separator, c->max_name_length, c->startup_wait_ms,
	    c->startup_wait_set, (int)c->log_level, c->audit_log ? c->audit_log : "-", c->nfiles);
	for (size_t i = 0; i < c->nservers; i++) {
		const struct config_server *v = &c->servers[i];
		char digest[65];

		config_server_digest(v, digest);
		t = v->auth ? json_dumps(v->auth, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		fprintf(fp, "%s %s en=%d lazy=%d t=%ld st=%ld sys=%d tls=%s desc=%s auth=%s %s/", v->name,
		    v->prefix, v->enabled, v->lazy, v->timeout_ms, v->startup_timeout_ms, v->system,
		    v->tls_ca_file ? v->tls_ca_file : "-", v->description ? v->description : "-",
		    t ? t : "-", digest);
		free(t);
	}
	fclose(fp);
	return s;
}

/* The set must see what the loader leaks: one block kept on purpose is found. */
static void
test_the_leak_check_sees_a_leak(void **state)
{
	/* volatile: the compiler may drop an allocation whose block nobody reads */
	static char *volatile kept, *volatile freed;

	oom_live_reset();
	oom_tracking = 1;
	kept = strdup("kept");
	freed = strdup("freed");
	free(freed);
	oom_tracking = 0;
	assert_int_equal(oom_nlive, 1);
	free(kept);
	assert_int_equal(oom_nlive, 0);
}

static void
torture(int after)
{
	struct config_load_opts o = { user_file, sys_dir, 1 };
	struct config_diags d = { 0 };
	struct config *c;
	char *want, *got;
	long total, failed = 0, degraded = 0;

	/* the reference: no failure; it also counts the allocations of one load */
	oom_fail_after = after;
	oom_fail_at = 0;
	oom_nalloc = 0;
	oom_armed = 1;
	c = config_load(&o, &d);
	oom_armed = 0;
	if (c == NULL) {
		config_diags_print(&d, stdout);
		fail_msg("the scenario does not load without failures");
	}
	total = oom_nalloc;
	assert_int_equal(c->nservers, 4);	/* github (narrowed), fs, remote-b, notes */
	want = summary(c);
	config_free(c);
	config_diags_cleanup(&d);
	print_message("one load: %ld allocations\n", total);
	assert_true(total > 100);

	/* MCPGW_OOM_ONLY=N: that N alone, to look at under a debugger or valgrind */
	long first = 1, last = total;

	if (getenv("MCPGW_OOM_ONLY") != NULL)
		first = last = strtol(getenv("MCPGW_OOM_ONLY"), NULL, 10);
	for (long n = first; n <= last; n++) {
		oom_live_reset();
		oom_tracking = 1;
		memset(&d, 0, sizeof d);
		oom_fail_at = n;
		oom_nalloc = 0;
		oom_armed = 1;
		c = config_load(&o, &d);
		oom_armed = 0;
		if (c == NULL) {
			int said = 0;

			for (size_t i = 0; i < d.n; i++)
				said |= d.v[i].warning == 0 && strcmp(d.v[i].message, "out of memory") == 0;
			if (!said || d.nerrors == 0) {
				config_diags_print(&d, stdout);
				fail_msg("allocation %ld%s failed: the load failed without saying out of "
				    "memory", n, after ? " and later ones" : "");
			}
			failed++;
		} else {
			/* a failure the loader may absorb (the duplicate-key index of a mapping of 16
			 * keys or more: env above) must not change what it loaded */
			got = summary(c);
			if (strcmp(got, want) != 0)
				fail_msg("allocation %ld%s failed: the load succeeded with another "
				    "result:\n%s\ninstead of\n%s", n, after ? " and later ones" : "", got, want);
			free(got);
			config_free(c);
			degraded++;
		}
		config_diags_cleanup(&d);
		oom_tracking = 0;
		if (oom_nlive != 0)
			fail_msg("allocation %ld%s failed: %zu blocks allocated by the load are not "
			    "freed", n, after ? " and later ones" : "", oom_nlive);
	}
	print_message("%ld loads failed with out of memory, %ld absorbed the failure\n", failed,
	    degraded);
	assert_true(failed > 0);
	free(want);
}

static void
test_every_allocation_failure_fails_the_load_cleanly(void **state)
{
	torture(0);
}

/* Memory that stays gone: "out of memory" must still be said (the slot and strings kept for it). */
static void
test_memory_running_out_for_good_fails_the_load_cleanly(void **state)
{
	torture(1);
	oom_fail_after = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_leak_check_sees_a_leak),
		cmocka_unit_test(test_every_allocation_failure_fails_the_load_cleanly),
		cmocka_unit_test(test_memory_running_out_for_good_fails_the_load_cleanly),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
