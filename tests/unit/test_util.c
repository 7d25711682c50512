/* test_util.c: the shared helpers of gateway/util/util.c: milliseconds since an instant, string
 * vectors, and the environment a started process is given (allowlist, skip, room, NULL end). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util.h"

static void
test_ms_since_counts_from_the_instant(void **state)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec -= 3;		/* an instant 3 s ago: at least 3000 ms have passed */
	assert_true(util_ms_since(&t) >= 3000);
	t.tv_sec += 3600;	/* one in the future is negative, not a wrapped huge number */
	assert_true(util_ms_since(&t) < 0);
}

static void
test_strv_free_takes_null_and_vectors(void **state)
{
	char **v = calloc(3, sizeof *v);

	util_strv_free(NULL);
	assert_non_null(v);
	v[0] = strdup("a");
	v[1] = strdup("b");
	util_strv_free(v);	/* leak-checked under ASan / valgrind */
}

static int
skip_b(const char *name, void *arg)
{
	return strcmp(name, arg) == 0;
}

static void
test_env_copy_passes_only_listed_and_set_variables(void **state)
{
	static const char *const names[] = { "MCPGW_T_A", "MCPGW_T_B", "MCPGW_T_UNSET", "MCPGW_T_C",
		NULL };
	char *env[8] = { NULL };
	size_t n = 0;

	setenv("MCPGW_T_A", "1", 1);
	setenv("MCPGW_T_B", "2", 1);
	setenv("MCPGW_T_C", "x=y", 1);
	setenv("MCPGW_T_SECRET", "no", 1);
	unsetenv("MCPGW_T_UNSET");
	assert_int_equal(util_env_copy(env, &n, 7, names, (size_t)-1, skip_b, "MCPGW_T_B"), 0);
	assert_int_equal(n, 2);
	assert_string_equal(env[0], "MCPGW_T_A=1");
	assert_string_equal(env[1], "MCPGW_T_C=x=y");
	assert_null(env[2]);
	/* a count bounds a list that has no NULL of its own (env_passthrough) */
	assert_int_equal(util_env_copy(env, &n, 7, names, 1, NULL, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(env[2], "MCPGW_T_A=1");
	for (size_t i = 0; i < n; i++)
		free(env[i]);
}

static void
test_env_copy_says_when_there_is_no_room(void **state)
{
	static const char *const names[] = { "MCPGW_T_A", "MCPGW_T_B", NULL };
	char *env[4] = { NULL };
	size_t n = 0;

	setenv("MCPGW_T_A", "1", 1);
	setenv("MCPGW_T_B", "2", 1);
	assert_int_equal(util_env_copy(env, &n, 1, names, (size_t)-1, NULL, NULL), -1);
	assert_int_equal(n, 1);		/* what was added stays for the caller to free */
	assert_string_equal(env[0], "MCPGW_T_A=1");
	assert_null(env[1]);
	free(env[0]);
}

static void
test_env_lists_hold_no_usual_secret(void **state)
{
	const char *const *lists[] = { util_env_server, util_env_helper, util_env_opener };

	for (size_t l = 0; l < 3; l++) {
		size_t i;

		for (i = 0; lists[l][i] != NULL; i++)
			assert_null(strstr(lists[l][i], "TOKEN"));
		assert_true(i + 1 <= UTIL_ENV_MAX);
		assert_true(i >= 4);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ms_since_counts_from_the_instant),
		cmocka_unit_test(test_strv_free_takes_null_and_vectors),
		cmocka_unit_test(test_env_copy_passes_only_listed_and_set_variables),
		cmocka_unit_test(test_env_copy_says_when_there_is_no_room),
		cmocka_unit_test(test_env_lists_hold_no_usual_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
