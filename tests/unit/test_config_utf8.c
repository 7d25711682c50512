/* test_config_utf8.c: a ${VAR} may bring bytes that are not UTF-8 into an auth value (which goes to
 * the plugin as JSON): config.c finds them with its own validator, so that out of memory in
 * json_string() is never mistaken for bad text (or the reverse). Valid text of every length passes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static char dir[] = "/tmp/mcpgw-test-config-utf8-XXXXXX";
static char file[256];

static int
setup(void **state)
{
	FILE *fp;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof file, "%s/c.yaml", dir);
	if ((fp = fopen(file, "w")) == NULL)
		return -1;
	fputs("servers:\n  a:\n    url: https://h.example/mcp\n"
	    "    auth: {plugin: other, value: \"${MCPGW_T_UTF8}\"}\n", fp);
	fclose(fp);
	return 0;
}

static int
teardown(void **state)
{
	unlink(file);
	rmdir(dir);
	return 0;
}

/* 1 when the load refused the value as not UTF-8, 0 when it loaded. */
static int
refused(const char *value)
{
	struct config_load_opts o = { file, "", 1 };
	struct config_diags d = { 0 };
	struct config *c;
	int bad = 0;

	setenv("MCPGW_T_UTF8", value, 1);
	c = config_load(&o, &d);
	for (size_t i = 0; i < d.n; i++)
		bad |= strcmp(d.v[i].message, "value is not valid UTF-8") == 0 &&
		    strcmp(d.v[i].path, "servers.a.auth.value") == 0 && d.v[i].line == 4;
	assert_int_equal(c == NULL, bad);
	if (c != NULL)
		assert_string_equal(json_string_value(json_object_get(c->servers[0].auth, "value")),
		    value);
	config_free(c);
	config_diags_cleanup(&d);
	return bad;
}

static void
test_valid_utf8_passes(void **state)
{
	assert_false(refused("plain"));
	assert_false(refused("\xc3\xa9"));			/* é, 2 bytes */
	assert_false(refused("\xe2\x82\xac"));			/* €, 3 bytes */
	assert_false(refused("\xf0\x9f\x98\x80"));		/* an emoji, 4 bytes */
	assert_false(refused("\xf4\x8f\xbf\xbf"));		/* U+10FFFF, the last */
	assert_false(refused("\xed\x9f\xbf"));			/* U+D7FF, before the surrogates */
}

static void
test_invalid_utf8_is_refused_at_its_place(void **state)
{
	assert_true(refused("a\xff" "b"));			/* never in UTF-8 */
	assert_true(refused("\xc0\xaf"));			/* overlong / */
	assert_true(refused("\xe0\x80\xaf"));			/* overlong, 3 bytes */
	assert_true(refused("\xed\xa0\x80"));			/* a surrogate */
	assert_true(refused("\xf4\x90\x80\x80"));		/* past U+10FFFF */
	assert_true(refused("\xe2\x82"));			/* cut short */
	assert_true(refused("\x80"));				/* a lone continuation byte */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_utf8_passes),
		cmocka_unit_test(test_invalid_utf8_is_refused_at_its_place),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
