/* test_names_oom.c: allocation-failure torture of the exposed-name table (route/names.c), in the
 * way of test_config_oom.c: a run of names_add() calls that covers every path (plain, prefixed,
 * renamed, too long, colliding, colliding again, a reset and a second round), then the same run
 * again for every N, failing only the Nth allocation, then failing the Nth and every later one.
 * Each run must end with the table it built freed and no block left (the wrappers keep the set of
 * live blocks); an add that fails returns NULL and changes nothing: the same add again, with the
 * memory back, must give the name of the run without failures, and every name of the run must
 * then be the same as without failures, in both directions of lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "oom.h"
#include "names.h"

/* --- the scenario --- */

struct add { int server; const char *key, *prefix, *name, *hint; };

#define LONG60 "a_tool_name_that_is_long_enough_to_need_shortening_0123456789"
static const struct add adds[] = {
	{ 0, "fs", "fs", "read_file", NULL },
	{ 0, "fs", "fs", "write-file", NULL },
	{ 1, "gh", "gh", "search", NULL },
	{ 1, "gh", "gh", "search_code", "find" },
	{ 2, "bare", "", "plain", NULL },
	{ 2, "bare", "", "fs__read_file", NULL },		/* collides with server 0's */
	{ 3, "fs2", "fs", "read_file", NULL },			/* collides: hashed */
	{ 4, "fs3", "fs", "read_file", NULL },			/* collides again */
	{ 4, "fs3", "fs", LONG60, NULL },			/* too long: shortened */
	{ 5, "w", "weird prefix", "caf\xc3\xa9.tool", NULL },
};
#define NADDS (sizeof adds / sizeof adds[0])
#define ROUNDS 2	/* a names_reset() between the two */

static char *want[ROUNDS][NADDS];	/* the names of the run without failures (not tracked) */

/* One run; oom_armed decides whether allocations are counted and failed. Returns the number of adds
 * that failed (each retried with the memory back). */
static int
run(int check)
{
	struct names *t;
	int failed = 0;

	oom_tracking = 1;
	oom_armed = 1;
	t = names_new("__", 64);
	if (t == NULL) {
		oom_armed = 0;
		oom_tracking = 0;
		assert_int_equal(oom_nlive, 0);
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		if (r > 0)
			names_reset(t);
		for (size_t i = 0; i < NADDS; i++) {
			const struct add *a = &adds[i];
			int changed = 0;
			const char *got = names_add(t, a->server, a->key, a->prefix, a->name, a->hint, &changed);
			if (got == NULL) {
				/* failed: it must have changed nothing, so the same add now succeeds */
				int was = oom_armed;
				failed++;
				oom_armed = 0;
				got = names_add(t, a->server, a->key, a->prefix, a->name, a->hint, &changed);
				oom_armed = was;
				assert_non_null(got);
			}
			if (check)
				assert_string_equal(got, want[r][i]);
			else
				want[r][i] = __real_strdup(got);
		}
		if (check)
			for (size_t i = 0; i < NADDS; i++) {
				int srv = -1;
				const char *o = NULL;
				assert_int_equal(names_lookup(t, want[r][i], &srv, &o), 0);
				assert_int_equal(srv, adds[i].server);
				assert_string_equal(o, adds[i].name);
				assert_string_equal(names_exposed(t, adds[i].server, adds[i].name), want[r][i]);
			}
	}
	oom_armed = 0;
	names_free(t);
	oom_tracking = 0;
	assert_int_equal(oom_nlive, 0);
	return failed;
}

static void
test_every_failed_allocation(void **state)
{
	long total;
	(void)state;

	oom_live_reset();
	oom_nalloc = 0;
	oom_fail_at = 0;
	oom_fail_after = 0;
	assert_int_equal(run(0), 0);
	total = oom_nalloc;
	assert_true(total > (long)NADDS);	/* the run does allocate: the wrappers see it */
	for (int mode = 0; mode < 2; mode++)
		for (long n = 1; n <= total + 1; n++) {
			oom_live_reset();
			oom_nalloc = 0;
			oom_fail_at = n;
			oom_fail_after = mode;
			run(1);
		}
	oom_fail_at = 0;
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < NADDS; i++)
			__real_free(want[r][i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_failed_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
