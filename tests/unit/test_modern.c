/* test_modern.c: the 2026-07-28 rules of client/modern.c: which requests are modern and how a bad
 * _meta is refused, the result fields spliced into a server's text (always valid JSON, never a
 * duplicate key), and the capabilities a server's request needs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "jsonfast.h"
#include "jsonrpc.h"
#include "modern.h"

/* The params of the last read_params(): what out borrows from lives until the next call. */
static json_t *last_params;

/* modern_read on params given as JSON text: its return, and the error's code and message. */
static int
read_params(const char *params, int must, struct modern_req *out, int *code, char *msg, size_t n)
{
	json_t *p = json_loads(params, 0, NULL), *reply = NULL, *id = json_integer(1);
	int rc;
	assert_non_null(p);
	rc = modern_read(id, p, must, out, &reply);
	*code = 0;
	if (reply) {
		json_t *e = json_object_get(reply, "error");
		*code = (int)json_integer_value(json_object_get(e, "code"));
		snprintf(msg, n, "%s", json_string_value(json_object_get(e, "message")));
		if (*code == MODERN_UNSUPPORTED_VERSION) {
			json_t *d = json_object_get(e, "data");
			assert_string_equal(json_string_value(json_array_get(json_object_get(d, "supported"), 0)), MODERN_VERSION);
			assert_true(json_is_string(json_object_get(d, "requested")));
		}
		json_decref(reply);
	}
	assert_true((rc < 0) == (*code != 0));
	json_decref(last_params);
	last_params = p;
	json_decref(id);
	return rc;
}

#define V "\"io.modelcontextprotocol/protocolVersion\""
#define C "\"io.modelcontextprotocol/clientCapabilities\""
#define L "\"io.modelcontextprotocol/logLevel\""

static void
modern_requests_are_known_by_their_meta(void **st)
{
	struct modern_req r;
	int code;
	char msg[256];

	assert_int_equal(read_params("{}", 0, &r, &code, msg, sizeof msg), 0);
	assert_int_equal(read_params("{\"_meta\":{\"progressToken\":1}}", 0, &r, &code, msg, sizeof msg), 0);
	/* A legacy version the gateway speaks: legacy semantics (reached through initialize). */
	assert_int_equal(read_params("{\"_meta\":{" V ":\"2025-06-18\"," C ":{}}}", 0, &r, &code, msg, sizeof msg), 0);
	assert_int_equal(read_params("{\"_meta\":{" V ":\"2026-07-28\"," C ":{\"sampling\":{}}," L ":\"warning\"}}", 0,
	    &r, &code, msg, sizeof msg), 1);
	assert_int_equal(r.modern, 1);
	assert_non_null(json_object_get(r.caps, "sampling"));
	assert_int_equal(r.log_level, 3);
	json_decref(last_params);
	last_params = NULL;
}

static void
bad_meta_is_refused_naming_the_key(void **st)
{
	struct modern_req r;
	int code;
	char msg[256];

	/* server/discover is modern whatever it carries. */
	assert_int_equal(read_params("{}", 1, &r, &code, msg, sizeof msg), -1);
	assert_int_equal(code, JSONRPC_INVALID_PARAMS);
	assert_non_null(strstr(msg, "protocolVersion"));
	assert_int_equal(read_params("{\"_meta\":{" V ":\"2026-07-28\"}}", 0, &r, &code, msg, sizeof msg), -1);
	assert_int_equal(code, JSONRPC_INVALID_PARAMS);
	assert_non_null(strstr(msg, "clientCapabilities"));
	assert_int_equal(read_params("{\"_meta\":{" C ":{}}}", 0, &r, &code, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "protocolVersion"));
	assert_int_equal(read_params("{\"_meta\":{" V ":7," C ":{}}}", 0, &r, &code, msg, sizeof msg), -1);
	assert_int_equal(code, JSONRPC_INVALID_PARAMS);
	assert_int_equal(read_params("{\"_meta\":{" V ":\"\"," C ":{}}}", 0, &r, &code, msg, sizeof msg), -1);
	assert_int_equal(read_params("{\"_meta\":{" V ":\"2026-07-28\"," C ":[]}}", 0, &r, &code, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "clientCapabilities"));
	assert_int_equal(read_params("{\"_meta\":{" V ":\"2026-07-28\"," C ":{}," L ":\"loud\"}}", 0, &r, &code, msg,
	    sizeof msg), -1);
	assert_non_null(strstr(msg, "logLevel"));
	assert_int_equal(read_params("{\"_meta\":{" V ":\"1999-01-01\"," C ":{}}}", 0, &r, &code, msg, sizeof msg), -1);
	assert_int_equal(code, MODERN_UNSUPPORTED_VERSION);
	/* A legacy version on server/discover (a modern method): -32022. */
	assert_int_equal(read_params("{\"_meta\":{" V ":\"2025-06-18\"," C ":{}}}", 1, &r, &code, msg, sizeof msg), -1);
	assert_int_equal(code, MODERN_UNSUPPORTED_VERSION);
	json_decref(last_params);
	last_params = NULL;
}

/* Splices the members into the message's result and checks the outcome parses to what is wanted. */
static void
splice(const char *msg, const char *want_result)
{
	struct jsonfast f;
	struct modern_decor d = { 1, 5, 0 };
	size_t ml, n;
	char *mem = modern_members(&d, &ml), *out;
	json_t *got, *want;

	assert_non_null(mem);
	assert_int_equal(jsonfast_check(msg, strlen(msg), &f), JSONFAST_RESULT);
	out = modern_splice(msg, strlen(msg), f.result, mem, ml, &n);
	free(mem);
	if (want_result == NULL) {
		assert_null(out);
		return;
	}
	assert_non_null(out);
	assert_int_equal(out[n - 1], '\n');
	got = json_loadb(out, n, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(got);
	want = json_loads(want_result, 0, NULL);
	assert_non_null(want);
	json_object_del(json_object_get(json_object_get(got, "result"), "_meta"), "io.modelcontextprotocol/serverInfo");
	assert_true(json_equal(json_object_get(got, "result"), want));
	json_decref(got);
	json_decref(want);
	free(out);
}

static void
result_fields_are_spliced_into_the_text(void **st)
{
	splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}",
	    "{\"resultType\":\"complete\",\"_meta\":{},\"ttlMs\":5,\"cacheScope\":\"public\"}");
	splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{ \n }}",
	    "{\"resultType\":\"complete\",\"_meta\":{},\"ttlMs\":5,\"cacheScope\":\"public\"}");
	splice("{\"result\":{\"tools\":[1]},\"jsonrpc\":\"2.0\",\"id\":\"x\"}",
	    "{\"resultType\":\"complete\",\"_meta\":{},\"ttlMs\":5,\"cacheScope\":\"public\",\"tools\":[1]}");
	/* A member of those names already there: the tree decides (no duplicate key). */
	splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"_meta\":{\"a\":1}}}", NULL);
	splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"input_required\"}}", NULL);
}

static void
tree_decoration_keeps_what_the_server_said(void **st)
{
	struct modern_decor d = { 1, 60000, 0 };
	json_t *r = json_loads("{\"resultType\":\"input_required\",\"_meta\":{\"x\":1}}", 0, NULL);
	modern_decorate(r, &d);
	assert_string_equal(json_string_value(json_object_get(r, "resultType")), "input_required");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "_meta"), "x")), 1);
	assert_non_null(json_object_get(json_object_get(r, "_meta"), "io.modelcontextprotocol/serverInfo"));
	assert_null(json_object_get(r, "ttlMs"));	/* interim results carry no caching hints */
	json_decref(r);
	d.private_scope = 1;
	r = json_loads("{\"contents\":[],\"ttlMs\":10,\"cacheScope\":\"public\"}", 0, NULL);
	modern_decorate(r, &d);
	assert_int_equal(json_integer_value(json_object_get(r, "ttlMs")), 10);
	assert_string_equal(json_string_value(json_object_get(r, "cacheScope")), "private");
	json_decref(r);
}

static void
missing_caps_name_what_is_needed(void **st)
{
	json_t *none = json_object(), *form = json_loads("{\"elicitation\":{}}", 0, NULL);
	json_t *m;
	json_t *p = json_loads("{\"mode\":\"url\"}", 0, NULL);

	m = modern_missing_caps("elicitation/create", NULL, none);
	assert_non_null(json_object_get(m, "elicitation"));
	json_decref(m);
	assert_null(modern_missing_caps("elicitation/create", NULL, form));
	m = modern_missing_caps("elicitation/create", p, form);
	assert_non_null(json_object_get(json_object_get(m, "elicitation"), "url"));
	json_decref(m);
	m = modern_missing_caps("sampling/createMessage", NULL, form);
	assert_non_null(json_object_get(m, "sampling"));
	json_decref(m);
	m = modern_missing_caps("roots/list", NULL, none);
	assert_non_null(json_object_get(m, "roots"));
	json_decref(m);
	assert_null(modern_missing_caps("ping", NULL, none));
	json_decref(none);
	json_decref(form);
	json_decref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(modern_requests_are_known_by_their_meta),
		cmocka_unit_test(bad_meta_is_refused_naming_the_key),
		cmocka_unit_test(result_fields_are_spliced_into_the_text),
		cmocka_unit_test(tree_decoration_keeps_what_the_server_said),
		cmocka_unit_test(missing_caps_name_what_is_needed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
