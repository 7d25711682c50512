/* test_jsonrpc.c: proves which bytes jsonrpc_parse accepts, which error code each refusal
 * earns, and that the builders and jsonrpc_dump give one line that parses back the same.
 * Each row of parse_cases runs as its own named cmocka test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "jsonrpc.h"

struct parse_case {
	const char *name;	/* what the row proves */
	const char *text;
	size_t len;		/* 0: strlen(text); set for texts holding a raw NUL */
	enum jsonrpc_kind kind;
	int code;		/* JSONRPC_INVALID only */
	const char *method;	/* expected method, or NULL */
	const char *id;		/* expected id in compact JSON, or NULL for no usable id */
};

#define OK(n, t, k, m, i)	{ n, t, 0, k, 0, m, i }
#define BAD(n, t, c, i)		{ n, t, 0, JSONRPC_INVALID, c, NULL, i }
#define RAW(n, t, c)		{ n, t, sizeof t - 1, JSONRPC_INVALID, c, NULL, NULL }	/* holds NUL */

static const struct parse_case parse_cases[] = {
	/* Valid messages. */
	OK("request_with_integer_id_is_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", JSONRPC_REQUEST, "tools/list", "1"),
	OK("request_with_string_id_keeps_string",
	    "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"ping\"}", JSONRPC_REQUEST, "ping", "\"1\""),
	OK("request_with_negative_and_zero_id",
	    "{\"jsonrpc\":\"2.0\",\"id\":-7,\"method\":\"ping\"}", JSONRPC_REQUEST, "ping", "-7"),
	OK("request_keeps_integer_id_beyond_double_precision",
	    "{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"ping\"}", JSONRPC_REQUEST, "ping",
	    "9007199254740993"),
	OK("request_with_object_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
	    JSONRPC_REQUEST, "tools/call", "2"),
	OK("request_with_array_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"m\",\"params\":[1,2]}", JSONRPC_REQUEST, "m", "2"),
	OK("request_with_surrounding_whitespace",
	    " \t{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"m\"}\r ", JSONRPC_REQUEST, "m", "0"),
	OK("request_with_unicode_escapes_in_strings",
	    "{\"jsonrpc\":\"2.0\",\"id\":\"\\u00e9\\ud83d\\ude00\",\"method\":\"m\"}", JSONRPC_REQUEST, "m",
	    "\"\xc3\xa9\xf0\x9f\x98\x80\""),
	OK("request_with_extra_key_that_is_no_case_variant",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"_meta\":{}}", JSONRPC_REQUEST, "m", "1"),
	OK("notification_has_no_id",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", JSONRPC_NOTIFICATION,
	    "notifications/initialized", NULL),
	OK("notification_with_params",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}",
	    JSONRPC_NOTIFICATION, "notifications/progress", NULL),
	OK("response_with_result",
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", JSONRPC_RESPONSE, NULL, "3"),
	OK("response_with_null_result",
	    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":null}", JSONRPC_RESPONSE, NULL, "\"r\""),
	OK("error_response",
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32601,\"message\":\"no such method\"}}",
	    JSONRPC_RESPONSE, NULL, "4"),
	OK("non_empty_array_is_batch",
	    "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},{\"jsonrpc\":\"2.0\",\"method\":\"b\"}]",
	    JSONRPC_BATCH, NULL, NULL),
	OK("array_of_junk_is_still_batch_for_the_caller_to_check", "[1]", JSONRPC_BATCH, NULL, NULL),

	/* -32700: the bytes are not one JSON text we accept. */
	BAD("not_json_is_parse_error", "hello", JSONRPC_PARSE_ERROR, NULL),
	BAD("empty_input_is_parse_error", "", JSONRPC_PARSE_ERROR, NULL),
	BAD("truncated_object_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"", JSONRPC_PARSE_ERROR, NULL),
	BAD("truncated_string_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m", JSONRPC_PARSE_ERROR, NULL),
	BAD("trailing_garbage_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}x", JSONRPC_PARSE_ERROR, NULL),
	BAD("two_messages_on_one_line_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"m\"}{\"jsonrpc\":\"2.0\",\"method\":\"m\"}",
	    JSONRPC_PARSE_ERROR, NULL),
	BAD("invalid_utf8_byte_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\xff\"}", JSONRPC_PARSE_ERROR, NULL),
	BAD("overlong_utf8_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc0\xaf\"}", JSONRPC_PARSE_ERROR, NULL),
	BAD("utf8_surrogate_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xed\xa0\x80\"}", JSONRPC_PARSE_ERROR, NULL),
	BAD("lone_surrogate_escape_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\\ud800\"}", JSONRPC_PARSE_ERROR, NULL),

	BAD("nul_escape_in_key_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\\u0000\":\"x\",\"method\":\"m\"}", JSONRPC_PARSE_ERROR, NULL),
	RAW("raw_nul_byte_in_string_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\0b\"}", JSONRPC_PARSE_ERROR),
	RAW("raw_nul_after_message_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"m\"}\0", JSONRPC_PARSE_ERROR),
	BAD("integer_id_beyond_64_bits_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999,\"method\":\"m\"}", JSONRPC_PARSE_ERROR,
	    NULL),
	BAD("control_character_in_string_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\tb\"}", JSONRPC_PARSE_ERROR, NULL),
	BAD("duplicate_top_level_key_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"m\"}", JSONRPC_PARSE_ERROR, NULL),
	BAD("duplicate_key_at_depth_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"a\":[{\"b\":1,\"b\":2}]}}",
	    JSONRPC_PARSE_ERROR, NULL),
	BAD("duplicate_key_spelled_with_escape_is_parse_error",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"m\\u0065thod\":\"n\"}", JSONRPC_PARSE_ERROR, NULL),

	/* -32600: JSON, but not a JSON-RPC 2.0 message. */
	BAD("missing_jsonrpc_is_invalid_request",
	    "{\"id\":1,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, "1"),
	BAD("jsonrpc_1_0_is_invalid_request",
	    "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, "1"),
	BAD("jsonrpc_as_number_is_invalid_request",
	    "{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, "1"),
	BAD("id_null_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("id_bool_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("id_fraction_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("id_written_as_real_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":1.0,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("id_object_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("id_array_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("id_null_in_error_response_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
	    JSONRPC_INVALID_REQUEST, NULL),
	BAD("empty_method_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"\"}", JSONRPC_INVALID_REQUEST, "7"),
	BAD("numeric_method_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":5}", JSONRPC_INVALID_REQUEST, "7"),
	BAD("null_method_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":null}", JSONRPC_INVALID_REQUEST, "7"),
	BAD("result_and_error_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{},\"error\":{\"code\":1,\"message\":\"x\"}}",
	    JSONRPC_INVALID_REQUEST, "8"),
	BAD("method_and_result_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"m\",\"result\":{}}", JSONRPC_INVALID_REQUEST, "8"),
	BAD("no_method_result_or_error_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":8}", JSONRPC_INVALID_REQUEST, "8"),
	BAD("response_without_id_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"result\":{}}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("error_that_is_not_an_object_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":\"boom\"}", JSONRPC_INVALID_REQUEST, "9"),
	BAD("error_without_code_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"message\":\"boom\"}}", JSONRPC_INVALID_REQUEST, "9"),
	BAD("capitalised_method_key_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"Method\":\"tools/call\"}",
	    JSONRPC_INVALID_REQUEST, "1"),
	BAD("capitalised_id_key_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"ID\":1,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("capitalised_params_key_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"pArams\":{}}", JSONRPC_INVALID_REQUEST, "1"),
	BAD("capitalised_jsonrpc_key_is_invalid_request",
	    "{\"JSONRPC\":\"2.0\",\"id\":1,\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, "1"),
	BAD("number_is_invalid_request", "42", JSONRPC_INVALID_REQUEST, NULL),
	BAD("string_is_invalid_request", "\"m\"", JSONRPC_INVALID_REQUEST, NULL),
	BAD("null_is_invalid_request", "null", JSONRPC_INVALID_REQUEST, NULL),
	BAD("empty_batch_is_invalid_request", "[]", JSONRPC_INVALID_REQUEST, NULL),

	/* \u0000 is valid JSON: accepted, but not where the gateway reads the string as text. */
	BAD("nul_escape_in_method_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\\u0000b\"}", JSONRPC_INVALID_REQUEST, "1"),
	BAD("nul_escape_in_string_id_is_invalid_request",
	    "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"m\"}", JSONRPC_INVALID_REQUEST, NULL),
	BAD("nul_escape_in_tool_name_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\u0000x\"}}",
	    JSONRPC_INVALID_PARAMS, "1"),
	OK("nul_escape_in_arguments_is_accepted",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"t\":\"a\\u0000b\"}}}",
	    JSONRPC_REQUEST, "tools/call", "1"),
	OK("nul_escape_in_a_reply_description_is_accepted",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\",\"description\":\"x\\u0000y\"}]}}",
	    JSONRPC_RESPONSE, NULL, "1"),

	/* -32602: a case variant of a key the gateway reads, in params at any place it reads. */
	BAD("case_twin_of_name_in_params_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"Name\":\"b\"}}",
	    JSONRPC_INVALID_PARAMS, "1"),
	BAD("lone_case_variant_of_name_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"NAME\":\"b\"}}",
	    JSONRPC_INVALID_PARAMS, "1"),
	BAD("case_twin_of_progress_token_in_meta_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"_meta\":{\"progressToken\":1,\"ProgressToken\":2}}}",
	    JSONRPC_INVALID_PARAMS, "1"),
	BAD("case_twin_of_request_id_in_a_notification_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1,\"requestID\":2}}",
	    JSONRPC_INVALID_PARAMS, NULL),
	OK("case_twins_the_gateway_does_not_read_pass",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"arguments\":{\"name\":1,\"Name\":2}}}",
	    JSONRPC_REQUEST, "tools/call", "1"),
	OK("list_items_are_not_judged_with_the_reply",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\",\"Name\":\"b\"}]}}",
	    JSONRPC_RESPONSE, NULL, "1"),

	/* -32602: a well-formed call with params of the wrong type. */
	BAD("string_params_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}", JSONRPC_INVALID_PARAMS, "1"),
	BAD("number_params_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":3}", JSONRPC_INVALID_PARAMS, "1"),
	BAD("null_params_is_invalid_params",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":null}", JSONRPC_INVALID_PARAMS, NULL),
};

/* A reply with a case variant of a key the gateway reads still answers its call, as an error. */
static void
test_reply_with_a_case_twin_becomes_an_error(void **state)
{
	static const char t[] = "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[],\"Content\":[]}}";
	struct jsonrpc_msg m;
	json_t *e;

	assert_int_equal(jsonrpc_parse(t, sizeof t - 1, &m), 0);
	assert_int_equal(m.kind, JSONRPC_RESPONSE);
	assert_null(m.raw);	/* the text is not the message any more */
	assert_int_equal(json_integer_value(m.id), 4);
	assert_null(json_object_get(m.msg, "result"));
	e = json_object_get(m.msg, "error");
	assert_int_equal(json_integer_value(json_object_get(e, "code")), JSONRPC_INTERNAL_ERROR);
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "\"result.Content\""));
	jsonrpc_msg_cleanup(&m);
}

/* List items are judged one by one, at every place the gateway reads in them. */
static void
test_list_items_are_judged_one_by_one(void **state)
{
	char why[160];
	json_t *ok = json_pack("{ss s{ss} s{sb}}", "name", "a", "inputSchema", "type", "object",
	    "annotations", "readOnlyHint", 1);
	json_t *ann = json_pack("{ss s{ss} s{sbsb}}", "name", "a", "inputSchema", "type", "object",
	    "annotations", "readOnlyHint", 1, "ReadOnlyHint", 0);
	json_t *arg = json_pack("{ss s[{ssss}]}", "name", "p", "arguments", "name", "x", "NAME", "y");

	assert_int_equal(jsonrpc_item_problem("tools", ok, why, sizeof why), 0);
	assert_int_equal(jsonrpc_item_problem("tools", ann, why, sizeof why), 1);
	assert_string_equal(why, "key \"annotations.ReadOnlyHint\" differs from \"readOnlyHint\" only by case");
	assert_int_equal(jsonrpc_item_problem("prompts", arg, why, sizeof why), 1);
	assert_non_null(strstr(why, "\"arguments[0].NAME\""));
	assert_int_equal(jsonrpc_item_problem("resources", ann, why, sizeof why), 0);	/* not read there */
	assert_int_equal(jsonrpc_key_suspect("ReadOnlyHint", 12), 1);
	assert_int_equal(jsonrpc_key_suspect("readOnlyHint", 12), 0);
	assert_int_equal(jsonrpc_key_suspect("Text", 4), 0);
	assert_int_equal(jsonrpc_key_suspect("progresstoken", 13), 1);
	assert_int_equal(jsonrpc_key_suspect("URITEMPLATE", 11), 1);
	assert_int_equal(jsonrpc_key_suspect("Id", 2), 1);
	assert_int_equal(jsonrpc_key_suspect("IO.modelcontextprotocol/clientcapabilities", 42), 1);
	assert_int_equal(jsonrpc_key_suspect("uriTemplate", 11), 0);
	assert_int_equal(jsonrpc_key_suspect("", 0), 0);
	json_object_set_new(ok, "name", json_stringn("a\0b", 3));	/* read as text: refused */
	assert_int_equal(jsonrpc_item_problem("tools", ok, why, sizeof why), 1);
	assert_string_equal(why, "\"name\" holds U+0000, which the gateway cannot read");
	json_decref(ok);
	json_decref(ann);
	json_decref(arg);
}

static char *
id_text(const json_t *id)
{
	return json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* err_msg goes into an error reply and a log line: printable ASCII, and a reply can carry it. */
static void
assert_err_msg_is_sendable(const struct jsonrpc_msg *m)
{
	const char *p;
	json_t *reply;

	for (p = m->err_msg; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p <= 0x7e);
	reply = jsonrpc_error(m->id, m->err_code, m->err_msg, NULL);
	assert_non_null(reply);
	json_decref(reply);
}

static void
test_parse_case(void **state)
{
	const struct parse_case *c = *state;
	struct jsonrpc_msg m;
	size_t len = c->len ? c->len : strlen(c->text);
	int rc;

	rc = jsonrpc_parse(c->text, len, &m);
	assert_int_equal(m.kind, c->kind);
	if (c->kind == JSONRPC_INVALID) {
		assert_int_equal(rc, -1);
		assert_int_equal(m.err_code, c->code);
		assert_true(m.err_msg[0] != '\0');
		assert_null(m.method);
		assert_null(m.params);
		assert_err_msg_is_sendable(&m);
		if (c->code == JSONRPC_PARSE_ERROR) {
			assert_null(m.msg);
			assert_non_null(strstr(m.err_msg, "at byte "));	/* says where */
		}
	} else {
		assert_int_equal(rc, 0);
		assert_non_null(m.msg);
		if (c->method != NULL)
			assert_string_equal(m.method, c->method);
		else
			assert_null(m.method);
	}
	if (c->id != NULL) {
		char *s;

		assert_non_null(m.id);
		s = id_text(m.id);
		assert_string_equal(s, c->id);
		free(s);
	} else {
		assert_null(m.id);
	}
	jsonrpc_msg_cleanup(&m);
	assert_null(m.msg);
	jsonrpc_msg_cleanup(&m);	/* twice is harmless */
}

/* {"jsonrpc":"2.0","id":1,"method":"m","params":<depth-1 arrays>}: total nesting `depth`. */
static char *
nested_request(int depth)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":";
	size_t n = sizeof head - 1 + 2 * (size_t)(depth - 1) + 2;
	char *s = malloc(n), *p;
	int i;

	assert_non_null(s);
	p = s;
	memcpy(p, head, sizeof head - 1);
	p += sizeof head - 1;
	for (i = 0; i < depth - 1; i++)
		*p++ = '[';
	for (i = 0; i < depth - 1; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	return s;
}

static void
test_nesting_at_the_bound_is_accepted(void **state)
{
	struct jsonrpc_msg m;
	char *s = nested_request(JSONRPC_MAX_DEPTH);

	assert_int_equal(jsonrpc_parse(s, strlen(s), &m), 0);
	assert_int_equal(m.kind, JSONRPC_REQUEST);
	jsonrpc_msg_cleanup(&m);
	free(s);
}

static void
test_nesting_one_past_the_bound_is_parse_error(void **state)
{
	struct jsonrpc_msg m;
	char *s = nested_request(JSONRPC_MAX_DEPTH + 1);

	assert_int_equal(jsonrpc_parse(s, strlen(s), &m), -1);
	assert_int_equal(m.err_code, JSONRPC_PARSE_ERROR);
	assert_non_null(strstr(m.err_msg, "nesting"));
	jsonrpc_msg_cleanup(&m);
	free(s);
}

static void
test_ten_thousand_brackets_are_parse_error_before_jansson(void **state)
{
	struct jsonrpc_msg m;
	char *s = malloc(10000);
	char where[64];

	assert_non_null(s);
	memset(s, '[', 10000);
	assert_int_equal(jsonrpc_parse(s, 10000, &m), -1);
	assert_int_equal(m.err_code, JSONRPC_PARSE_ERROR);
	snprintf(where, sizeof where, "at byte %d:", JSONRPC_MAX_DEPTH);
	assert_non_null(strstr(m.err_msg, where));	/* stopped at the first bracket too many */
	assert_non_null(strstr(m.err_msg, "nesting"));
	jsonrpc_msg_cleanup(&m);
	free(s);
}

/* params {"s":"<quote?><n brackets>"}: brackets inside a string do not nest. */
static void
test_brackets_inside_strings_do_not_count(void **state)
{
	static const char *const pre[] = { "", "\\\"", "\\\\\\\"", "{\\u005b" };
	struct jsonrpc_msg m;
	size_t i;

	for (i = 0; i < sizeof pre / sizeof pre[0]; i++) {
		char *s;
		char brackets[301];

		memset(brackets, '[', 300);
		brackets[300] = '\0';
		assert_true(asprintf(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
		    "\"params\":{\"s\":\"%s%s\"}}", pre[i], brackets) > 0);
		assert_int_equal(jsonrpc_parse(s, strlen(s), &m), 0);
		assert_int_equal(m.kind, JSONRPC_REQUEST);
		jsonrpc_msg_cleanup(&m);
		free(s);
	}
}

/* "\\" ends in an escaped backslash, so the quote after it closes the string and the
 * brackets that follow are real nesting. */
static void
test_escaped_backslash_ends_string_for_depth_scan(void **state)
{
	struct jsonrpc_msg m;
	char *s, opens[JSONRPC_MAX_DEPTH + 1], closes[JSONRPC_MAX_DEPTH + 1];

	memset(opens, '[', JSONRPC_MAX_DEPTH);
	opens[JSONRPC_MAX_DEPTH] = '\0';
	memset(closes, ']', JSONRPC_MAX_DEPTH);
	closes[JSONRPC_MAX_DEPTH] = '\0';
	assert_true(asprintf(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
	    "\"params\":{\"s\":\"\\\\\",\"t\":%s%s}}", opens, closes) > 0);
	assert_int_equal(jsonrpc_parse(s, strlen(s), &m), -1);
	assert_int_equal(m.err_code, JSONRPC_PARSE_ERROR);
	assert_non_null(strstr(m.err_msg, "nesting"));
	jsonrpc_msg_cleanup(&m);
	free(s);
}

static void
test_batch_elements_classify_one_by_one(void **state)
{
	static const char text[] =
	    "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"b\"},"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"\"},"
	    "7]";
	static const enum jsonrpc_kind kinds[] = { JSONRPC_REQUEST, JSONRPC_NOTIFICATION,
	    JSONRPC_RESPONSE, JSONRPC_INVALID, JSONRPC_INVALID };
	struct jsonrpc_msg b, m;
	size_t i;

	assert_int_equal(jsonrpc_parse(text, sizeof text - 1, &b), 0);
	assert_int_equal(b.kind, JSONRPC_BATCH);
	assert_true(json_is_array(b.msg));
	assert_int_equal(json_array_size(b.msg), 5);
	for (i = 0; i < 5; i++) {
		json_t *el = json_array_get(b.msg, i);
		size_t before = el->refcount;

		assert_int_equal(jsonrpc_classify(el, &m), kinds[i] == JSONRPC_INVALID ? -1 : 0);
		assert_int_equal(m.kind, kinds[i]);
		if (kinds[i] == JSONRPC_INVALID)
			assert_int_equal(m.err_code, JSONRPC_INVALID_REQUEST);
		assert_int_equal(el->refcount, before + 1);	/* borrowed: increfs */
		jsonrpc_msg_cleanup(&m);
		assert_int_equal(el->refcount, before);
	}
	jsonrpc_msg_cleanup(&b);
}

static void
assert_round_trip(json_t *built, enum jsonrpc_kind kind, const char *method, const char *id)
{
	struct jsonrpc_msg m;
	size_t len;
	char *line, *s;

	assert_non_null(built);
	line = jsonrpc_dump(built, &len);
	assert_non_null(line);
	assert_true(len > 1 && line[len - 1] == '\n');
	assert_int_equal(jsonrpc_parse(line, len - 1, &m), 0);
	assert_int_equal(m.kind, kind);
	if (method != NULL)
		assert_string_equal(m.method, method);
	s = id_text(m.id);
	assert_string_equal(s, id);
	free(s);
	assert_true(json_equal(m.msg, built));
	jsonrpc_msg_cleanup(&m);
	free(line);
	json_decref(built);
}

static void
test_builders_round_trip(void **state)
{
	json_t *id = json_integer(42), *sid = json_string("req-1"), *big = json_integer(INT64_MAX);
	json_t *j;
	struct jsonrpc_msg m;
	char *line;
	size_t len;

	assert_round_trip(jsonrpc_request(id, "tools/call", json_pack("{s:s}", "name", "x")),
	    JSONRPC_REQUEST, "tools/call", "42");
	assert_round_trip(jsonrpc_request(sid, "ping", NULL), JSONRPC_REQUEST, "ping", "\"req-1\"");
	assert_round_trip(jsonrpc_request(big, "ping", json_array()), JSONRPC_REQUEST, "ping",
	    "9223372036854775807");
	assert_round_trip(jsonrpc_result(id, json_pack("{s:[]}", "tools")), JSONRPC_RESPONSE, NULL,
	    "42");
	assert_round_trip(jsonrpc_error(sid, JSONRPC_METHOD_NOT_FOUND, "no such method",
	    json_pack("{s:s}", "method", "x")), JSONRPC_RESPONSE, NULL, "\"req-1\"");

	/* A notification has no id at all. */
	j = jsonrpc_notification("notifications/initialized", NULL);
	assert_non_null(j);
	assert_null(json_object_get(j, "id"));
	line = jsonrpc_dump(j, &len);
	assert_int_equal(jsonrpc_parse(line, len - 1, &m), 0);
	assert_int_equal(m.kind, JSONRPC_NOTIFICATION);
	assert_string_equal(m.method, "notifications/initialized");
	assert_null(m.params);
	jsonrpc_msg_cleanup(&m);
	free(line);
	json_decref(j);

	json_decref(id);
	json_decref(sid);
	json_decref(big);
}

static void
test_error_without_id_has_null_id_in_fixed_layout(void **state)
{
	json_t *j = jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "parse error at byte 0", NULL);
	size_t len;
	char *line = jsonrpc_dump(j, &len);
	static const char want[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error at byte 0\"}}\n";

	assert_non_null(line);
	assert_int_equal(len, sizeof want - 1);
	assert_memory_equal(line, want, len);
	free(line);
	json_decref(j);
}

static void
test_builders_copy_the_id(void **state)
{
	json_t *id = json_integer(5), *j = jsonrpc_request(id, "m", NULL);

	json_integer_set(id, 6);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 5);
	json_decref(j);
	json_decref(id);
}

static void
test_builders_refuse_what_cannot_be_sent(void **state)
{
	json_t *id = json_integer(1);

	/* Each steals its argument even when it refuses; ASan's leak check proves that. */
	assert_null(jsonrpc_request(id, NULL, json_object()));
	assert_null(jsonrpc_request(id, "", json_object()));
	assert_null(jsonrpc_request(NULL, "m", json_object()));
	assert_null(jsonrpc_notification(NULL, json_array()));
	assert_null(jsonrpc_result(NULL, json_object()));
	assert_null(jsonrpc_result(id, NULL));
	assert_null(jsonrpc_dump(NULL, NULL));
	json_decref(id);
}

static void
test_dump_is_one_line_with_one_trailing_newline(void **state)
{
	json_t *id = json_string("a\nb"), *j;
	size_t len;
	char *line;

	j = jsonrpc_result(id, json_pack("{s:s, s:s}", "text", "line1\nline2\r\n\n", "u2028",
	    "\xe2\x80\xa8"));
	line = jsonrpc_dump(j, &len);
	assert_non_null(line);
	assert_int_equal(len, strlen(line));
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	assert_null(memchr(line, '\r', len));
	assert_non_null(strstr(line, "line1\\nline2\\r\\n\\n"));
	free(line);
	json_decref(j);
	json_decref(id);
}

/* jansson quotes the offending key; a key of n two-byte characters, for every n, gives a cut
 * somewhere inside it. What is left must still be something an error reply can carry. */
static void
test_quoted_non_ascii_key_gives_sendable_message(void **state)
{
	struct jsonrpc_msg m;
	char key[2 * 100 + 1], *text;
	int n, i;

	for (n = 1; n <= 100; n++) {
		for (i = 0; i < n; i++) {
			key[2 * i] = '\xc3';
			key[2 * i + 1] = '\xa9';
		}
		key[2 * n] = '\0';
		assert_true(asprintf(&text, "{\"%s\":1,\"%s\":2}", key, key) > 0);
		assert_int_equal(jsonrpc_parse(text, strlen(text), &m), -1);
		assert_int_equal(m.err_code, JSONRPC_PARSE_ERROR);
		assert_err_msg_is_sendable(&m);
		jsonrpc_msg_cleanup(&m);
		free(text);
	}
}

static void
test_parse_error_message_names_the_position(void **state)
{
	static const char text[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":}";
	struct jsonrpc_msg m;

	assert_int_equal(jsonrpc_parse(text, sizeof text - 1, &m), -1);
	assert_int_equal(m.err_code, JSONRPC_PARSE_ERROR);
	/* jansson counts the bytes read, the offending '}' (offset 33) included. */
	assert_non_null(strstr(m.err_msg, "at byte 34"));
	assert_non_null(strstr(m.err_msg, "column 34"));
	jsonrpc_msg_cleanup(&m);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_reply_with_a_case_twin_becomes_an_error),
	cmocka_unit_test(test_list_items_are_judged_one_by_one),
	cmocka_unit_test(test_nesting_at_the_bound_is_accepted),
	cmocka_unit_test(test_nesting_one_past_the_bound_is_parse_error),
	cmocka_unit_test(test_ten_thousand_brackets_are_parse_error_before_jansson),
	cmocka_unit_test(test_brackets_inside_strings_do_not_count),
	cmocka_unit_test(test_escaped_backslash_ends_string_for_depth_scan),
	cmocka_unit_test(test_batch_elements_classify_one_by_one),
	cmocka_unit_test(test_builders_round_trip),
	cmocka_unit_test(test_error_without_id_has_null_id_in_fixed_layout),
	cmocka_unit_test(test_builders_copy_the_id),
	cmocka_unit_test(test_builders_refuse_what_cannot_be_sent),
	cmocka_unit_test(test_dump_is_one_line_with_one_trailing_newline),
	cmocka_unit_test(test_parse_error_message_names_the_position),
	cmocka_unit_test(test_quoted_non_ascii_key_gives_sendable_message),
};

int
main(void)
{
	enum { NPARSE = sizeof parse_cases / sizeof parse_cases[0],
	    NFIXED = sizeof fixed_tests / sizeof fixed_tests[0] };
	struct CMUnitTest tests[NPARSE + NFIXED];
	size_t i;

	for (i = 0; i < NPARSE; i++) {
		tests[i] = (struct CMUnitTest){ parse_cases[i].name, test_parse_case, NULL, NULL,
		    (void *)&parse_cases[i] };
	}
	for (i = 0; i < NFIXED; i++)
		tests[NPARSE + i] = fixed_tests[i];
	return _cmocka_run_group_tests("jsonrpc", tests, NPARSE + NFIXED, NULL, NULL);
}
