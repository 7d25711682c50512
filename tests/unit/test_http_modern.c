/* test_http_modern.c: the 2026-07-28 Streamable HTTP rules the remote transport applies on its
 * own: which x-mcp-header annotations make a tool invalid (the conformance suite's
 * http-invalid-tool-headers set), how header values are encoded (its http-custom-headers set:
 * plain safe ASCII, else =?base64?...?=), and which error codes only a modern server sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "http_modern.h"

static int
decls_of(const char *schema_text, json_t **decls)
{
	char why[200];
	json_t *schema = json_loads(schema_text, 0, NULL);
	int r;

	assert_non_null(schema);
	r = http_modern_tool_decls(schema, decls, why, sizeof why);
	json_decref(schema);
	return r;
}

static void
valid_annotations_give_their_paths(void **state)
{
	json_t *d;

	assert_int_equal(decls_of("{\"type\":\"object\",\"properties\":{\"region\":{\"type\":\"string\","
	    "\"x-mcp-header\":\"Region\"},\"n\":{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"integer\","
	    "\"x-mcp-header\":\"Prio\"}}},\"q\":{\"type\":\"string\"}}}", &d), 0);
	assert_int_equal(json_array_size(d), 2);
	{
		char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		assert_string_equal(s, "[{\"header\":\"Region\",\"path\":[\"region\"]},"
		    "{\"header\":\"Prio\",\"path\":[\"n\",\"p\"]}]");
		free(s);
	}
	json_decref(d);
	assert_int_equal(decls_of("{\"type\":\"object\",\"properties\":{}}", &d), 0);
	assert_int_equal(json_array_size(d), 0);
	json_decref(d);
}

static void
invalid_annotations_reject_the_tool(void **state)
{
	static const char *const bad[] = {
		"{\"properties\":{\"v\":{\"type\":\"string\",\"x-mcp-header\":\"\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"object\",\"x-mcp-header\":\"Data\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"x-mcp-header\":\"I\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"null\",\"x-mcp-header\":\"Nil\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"number\",\"x-mcp-header\":\"Score\"}}}",
		"{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
		"\"b\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"}}}",
		"{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"MyField\"},"
		"\"b\":{\"type\":\"string\",\"x-mcp-header\":\"myfield\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"string\",\"x-mcp-header\":\"My Region\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"string\",\"x-mcp-header\":\"Region:Primary\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"string\",\"x-mcp-header\":\"R\\u00e9gion\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"string\",\"x-mcp-header\":\"Region\\t1\"}}}",
		"{\"properties\":{\"v\":{\"type\":\"string\",\"x-mcp-header\":7}}}",
		"{\"properties\":{\"v\":{\"x-mcp-header\":\"NoType\"}}}",
		/* not reached through properties alone */
		"{\"properties\":{\"v\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"x-mcp-header\":\"I\"}}}}",
		"{\"oneOf\":[{\"properties\":{\"v\":{\"type\":\"string\",\"x-mcp-header\":\"V\"}}}]}",
		"{\"$defs\":{\"x\":{\"type\":\"string\",\"x-mcp-header\":\"V\"}}}",
		"{\"type\":\"string\",\"x-mcp-header\":\"Root\"}",
	};
	json_t *d = (json_t *)1;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (decls_of(bad[i], &d) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_null(d);
	}
}

static void
values_are_encoded_as_the_revision_says(void **state)
{
	static const struct { const char *in; const char *out; } c[] = {
		{ "us-west1", "us-west1" },
		{ "us west 1", "us west 1" },
		{ "Hello, \xe4\xb8\x96\xe7\x95\x8c", "=?base64?SGVsbG8sIOS4lueVjA==?=" },
		{ " padded ", "=?base64?IHBhZGRlZCA=?=" },
		{ "line1\nline2", "=?base64?bGluZTEKbGluZTI=?=" },
		{ "\tindented", "=?base64?CWluZGVudGVk?=" },
		{ "=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=" },
		{ "", "=?base64?" "?=" },	/* an empty header would be dropped on the way */
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		char *e = http_modern_encode(c[i].in, strlen(c[i].in));
		assert_string_equal(e, c[i].out);
		free(e);
	}
}

static void
argument_values_become_header_text(void **state)
{
	json_t *v;
	char *s;

	v = json_integer(42);
	assert_string_equal(s = http_modern_param_value(v), "42");
	free(s);
	json_decref(v);
	v = json_integer(-7);
	assert_string_equal(s = http_modern_param_value(v), "-7");
	free(s);
	json_decref(v);
	v = json_false();
	assert_string_equal(s = http_modern_param_value(v), "false");
	free(s);
	v = json_real(42.0);
	assert_string_equal(s = http_modern_param_value(v), "42");
	free(s);
	json_decref(v);
	assert_null(http_modern_param_value(json_null()));
	assert_null(http_modern_param_value(NULL));
	v = json_integer(9007199254740993LL);
	assert_null(http_modern_param_value(v));
	json_decref(v);
	v = json_object();
	assert_null(http_modern_param_value(v));
	json_decref(v);
}

static void
modern_error_bodies_are_recognised(void **state)
{
	static const char b1[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32022,\"message\":\"x\","
	    "\"data\":{\"supported\":[\"2026-07-28\"]}}}";
	static const char b2[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32000,\"message\":"
	    "\"Bad Request: No valid session ID provided\"}}";

	assert_true(http_modern_error_code(http_modern_body_error(b1, strlen(b1))));
	assert_false(http_modern_error_code(http_modern_body_error(b2, strlen(b2))));
	assert_int_equal(http_modern_body_error("Not Found", 9), 0);
	assert_int_equal(http_modern_body_error(NULL, 0), 0);
	assert_true(http_modern_error_code(-32020) && http_modern_error_code(-32021));
	assert_false(http_modern_error_code(-32601));
	assert_true(http_modern_version("2026-07-28"));
	assert_false(http_modern_version("2025-11-25"));
	assert_false(http_modern_version(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_annotations_give_their_paths),
		cmocka_unit_test(invalid_annotations_reject_the_tool),
		cmocka_unit_test(values_are_encoded_as_the_revision_says),
		cmocka_unit_test(argument_values_become_header_text),
		cmocka_unit_test(modern_error_bodies_are_recognised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
