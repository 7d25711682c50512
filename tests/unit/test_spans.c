/* test_spans.c: reading member spans of validated JSON text (jsonfast_member), on which replies and calls are
 * rewritten without serialising them again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "jsonfast.h"
#include "jsonrpc.h"

static const char *
span(const char *t, const char *key, int want_rc)
{
	static char out[256];
	struct jsonfast_span obj = { 0, strlen(t) }, v = { 0, 0 };
	int rc = jsonfast_member(t, obj, key, &v);
	size_t a = v.start, b = v.end;
	assert_int_equal(rc, want_rc);
	if (rc != 1)
		return NULL;
	assert_true(b >= a && b - a < sizeof out);
	memcpy(out, t + a, b - a);
	out[b - a] = '\0';
	return out;
}

static void
values_of_every_type_are_delimited(void **s)
{
	const char *t = "{\"a\":1,\"b\":-2.5e3,\"c\":\"x,}\\\"]\",\"d\":{\"e\":[1,{\"f\":\"}\"}]},\"g\":[],\"h\":true,\"i\":null}";
	assert_string_equal(span(t, "a", 1), "1");
	assert_string_equal(span(t, "b", 1), "-2.5e3");
	assert_string_equal(span(t, "c", 1), "\"x,}\\\"]\"");
	assert_string_equal(span(t, "d", 1), "{\"e\":[1,{\"f\":\"}\"}]}");
	assert_string_equal(span(t, "g", 1), "[]");
	assert_string_equal(span(t, "h", 1), "true");
	assert_string_equal(span(t, "i", 1), "null");
	span(t, "e", 0);	/* nested members are not top-level members */
	span(t, "f", 0);
}

static void
whitespace_is_allowed_everywhere(void **s)
{
	const char *t = " \n{ \"id\" :\t7 , \"result\" : { } }\r\n";
	assert_string_equal(span(t, "id", 1), "7");
	assert_string_equal(span(t, "result", 1), "{ }");
}

static void
a_key_in_a_string_value_is_not_a_key(void **s)
{
	const char *t = "{\"result\":\"\\\"id\\\":5\",\"id\":9}";
	assert_string_equal(span(t, "id", 1), "9");
}

static void
escaped_keys_make_the_reader_step_back(void **s)
{
	/* "na\u006de" is "name": only the parsed tree can say which member is meant */
	span("{\"na\\u006de\":\"x\",\"name\":\"y\"}", "name", -1);
	/* but a match before any escaped key is certain (the parser refuses duplicates) */
	assert_string_equal(span("{\"name\":\"y\",\"x\\u0041\":1}", "name", 1), "\"y\"");
	span("[1,2]", "a", -1);
	span("{}", "a", 0);
}

static void
quote_escapes_what_json_requires(void **s)
{
	size_t n;
	char *q = jsonrpc_quote("a\"b\\c\n\x01", &n);
	assert_string_equal(q, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	assert_int_equal(n, strlen(q));
	struct jsonrpc_msg m;
	char buf[128];
	snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"method\":%s}", q);
	assert_int_equal(jsonrpc_parse(buf, strlen(buf), &m), 0);
	assert_string_equal(m.method, "a\"b\\c\n\x01");
	jsonrpc_msg_cleanup(&m);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_of_every_type_are_delimited),
		cmocka_unit_test(whitespace_is_allowed_everywhere),
		cmocka_unit_test(a_key_in_a_string_value_is_not_a_key),
		cmocka_unit_test(escaped_keys_make_the_reader_step_back),
		cmocka_unit_test(quote_escapes_what_json_requires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
