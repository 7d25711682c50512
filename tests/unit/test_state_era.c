/* test_state_era.c: eras.json (gateway/util/state_era.c): the protocol era found per upstream is
 * remembered for its identity only, changed and forgotten on request, and an unusable file is
 * replaced rather than blocking the next answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "state_era.h"

static char home[64];

static int
setup(void **state)
{
	snprintf(home, sizeof home, "/tmp/mcpgw-era-XXXXXX");
	if (mkdtemp(home) == NULL)
		return -1;
	setenv("XDG_STATE_HOME", home, 1);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_remembered_for_its_identity_only(void **state)
{
	char era[16] = "";

	assert_int_equal(state_era_get("fs", "stdio:aa", era, sizeof era), 0);
	assert_int_equal(state_era_put("fs", "stdio:aa", "modern", "2026-07-28"), 0);
	assert_int_equal(state_era_get("fs", "stdio:aa", era, sizeof era), 1);
	assert_string_equal(era, "modern");
	/* the same name with another command line is another server */
	assert_int_equal(state_era_get("fs", "stdio:bb", era, sizeof era), 0);
	assert_int_equal(state_era_get("other", "stdio:aa", era, sizeof era), 0);
	/* changed, then forgotten */
	assert_int_equal(state_era_put("fs", "stdio:aa", "legacy", "2025-11-25"), 0);
	assert_int_equal(state_era_get("fs", "stdio:aa", era, sizeof era), 1);
	assert_string_equal(era, "legacy");
	assert_int_equal(state_era_put("fs", "stdio:aa", NULL, NULL), 0);
	assert_int_equal(state_era_get("fs", "stdio:aa", era, sizeof era), 0);
}

static void
test_an_unusable_file_is_replaced(void **state)
{
	char path[128], era[16] = "";
	FILE *f;

	snprintf(path, sizeof path, "%s/mcpgw/eras.json", home);
	assert_int_equal(state_era_put("a", "stdio:1", "legacy", NULL), 0);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"version\": 1, \"servers\": {\"a\": {\"identity\": \"stdio:1\", \"era\": \"weird\"}}}", f);
	fclose(f);
	assert_int_equal(state_era_get("a", "stdio:1", era, sizeof era), 0);	/* not an era */
	assert_non_null(f = fopen(path, "w"));
	fputs("not json", f);
	fclose(f);
	assert_int_equal(state_era_get("a", "stdio:1", era, sizeof era), 0);
	assert_int_equal(state_era_put("a", "stdio:1", "modern", NULL), 0);
	assert_int_equal(state_era_get("a", "stdio:1", era, sizeof era), 1);
	assert_string_equal(era, "modern");
}

static void
test_no_state_directory_remembers_nothing(void **state)
{
	char era[16] = "";
	const char *h = getenv("HOME");
	char *saved = h ? strdup(h) : NULL;

	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	assert_int_equal(state_era_put("a", "stdio:1", "modern", NULL), 0);
	assert_int_equal(state_era_get("a", "stdio:1", era, sizeof era), 0);
	if (saved)
		setenv("HOME", saved, 1);
	free(saved);
	setenv("XDG_STATE_HOME", home, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_remembered_for_its_identity_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_unusable_file_is_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_state_directory_remembers_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
