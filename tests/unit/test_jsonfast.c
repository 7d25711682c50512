/* test_jsonfast.c: the hot-path check accepts the plain shapes and says "not sure" for anything
 * the full parser must judge; whatever it accepts, jsonrpc_parse accepts the same way. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "jsonfast.h"
#include "jsonrpc.h"

static const struct {
	const char *text;
	enum jsonfast_kind want;
} cases[] = {
	{ "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"arguments\":{}}}", JSONFAST_REQUEST },
	{ " {\"method\":\"x\",\"jsonrpc\":\"2.0\",\"id\":\"s\"} \n", JSONFAST_REQUEST },
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}", JSONFAST_NOTIFICATION },
	{ "{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"\\u00e9\\ud83d\\ude00\"}]},\"jsonrpc\":\"2.0\",\"id\":6}", JSONFAST_RESULT },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":[1,-0,0.5,1e10,true,false,null]}}", JSONFAST_RESULT },
	{ "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"arguments\":{\"x\":1,\"X\":2}}}", JSONFAST_REQUEST },
	/* everything below must be left to the full parser */
	{ "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"Name\":\"b\"}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[],\"Content\":[]}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"m\"}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"Method\":\"y\"}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"x\"}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":1,\"a\":2}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"\\u0061\":1,\"a\":2}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"\\u0000\"}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"\\ud800\"}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"\xc0\xaf\"}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"\xed\xa0\x80\"}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"tab\there\"}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999,\"result\":{}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":1e999}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":{}}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"x\"}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"x\"}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\\u0062\"}", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}} x", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},}", JSONFAST_UNSURE },
	{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}]", JSONFAST_UNSURE },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":tru}}", JSONFAST_UNSURE },
};

static void
each_case_is_judged_and_agrees_with_the_parser(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct jsonfast f;
		const char *t = cases[i].text;
		enum jsonfast_kind k = jsonfast_check(t, strlen(t), &f);
		if (k != cases[i].want)
			fail_msg("case %zu: %s: got %d, want %d", i, t, k, cases[i].want);
		if (k != JSONFAST_UNSURE) {
			struct jsonrpc_msg m;
			assert_int_equal(jsonrpc_parse(t, strlen(t), &m), 0);
			jsonrpc_msg_cleanup(&m);
		}
	}
}

static void
deep_nesting_is_left_to_the_parser(void **state)
{
	char buf[2000];
	size_t n = (size_t)snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":");
	for (int i = 0; i < 200; i++)
		buf[n++] = '[';
	for (int i = 0; i < 200; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	struct jsonfast f;
	assert_int_equal(jsonfast_check(buf, n, &f), JSONFAST_UNSURE);
}

static void
spans_and_ids_are_read(void **state)
{
	const char *t = "{\"jsonrpc\":\"2.0\",\"id\":\"r-7\",\"method\":\"tools/call\",\"params\":{\"name\":\"x__y\"}}";
	struct jsonfast f;
	struct jsonfast_span name;
	assert_int_equal(jsonfast_check(t, strlen(t), &f), JSONFAST_REQUEST);
	assert_false(f.id_is_int);
	assert_int_equal(f.id.end - f.id.start, 5);
	assert_memory_equal(t + f.method.start, "tools/call", 10);
	assert_int_equal(jsonfast_plain_string(t, f.params, "name", &name), 1);
	assert_memory_equal(t + name.start, "x__y", 4);
	assert_int_equal(jsonfast_plain_string(t, f.params, "nope", &name), 0);
	t = "{\"jsonrpc\":\"2.0\",\"id\":-42,\"result\":{}}";
	assert_int_equal(jsonfast_check(t, strlen(t), &f), JSONFAST_RESULT);
	assert_true(f.id_is_int);
	assert_int_equal(f.id_int, -42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_case_is_judged_and_agrees_with_the_parser),
		cmocka_unit_test(deep_nesting_is_left_to_the_parser),
		cmocka_unit_test(spans_and_ids_are_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
