/* test_convert.c: the conversion between MCP generations (route/convert.c): HMAC-SHA256 against
 * RFC 4231, the requestState seal (forged, altered, expired, other binding, not ours), and one call's
 * input rounds (bounded, capabilities checked, retry params with requestState untouched). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "convert.h"

static void
hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void
hmac_rfc4231(void **st)
{
	unsigned char key[131], out[32];
	char h[65];

	memset(key, 0x0b, 20);		/* test case 1 */
	convert_hmac_sha256(key, 20, "Hi There", 8, out);
	hex(out, 32, h);
	assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* test case 2 */
	convert_hmac_sha256((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, out);
	hex(out, 32, h);
	assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* test case 6: a key longer than the block is hashed first */
	memset(key, 0xaa, sizeof key);
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	convert_hmac_sha256(key, sizeof key, m, strlen(m), out);
	hex(out, 32, h);
	assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
seal_round_trip(void **st)
{
	int64_t now = convert_now_ms();
	uint64_t p = 0;
	char *s = convert_seal(42, "session-a|alice", now + 60000);
	assert_non_null(s);
	assert_int_equal(strncmp(s, CONVERT_STATE_PREFIX, strlen(CONVERT_STATE_PREFIX)), 0);
	assert_int_equal(convert_open(s, "session-a|alice", now, &p), CONVERT_OK);
	assert_int_equal(p, 42);
	/* Two seals of one request differ only if their payload does: same input, same seal. */
	char *s2 = convert_seal(43, "session-a|alice", now + 60000);
	assert_string_not_equal(s, s2);
	free(s2);
	free(s);
}

static void
seal_refusals(void **st)
{
	int64_t now = convert_now_ms();
	uint64_t p = 7;
	char *s = convert_seal(5, "sess|bob", now + 1000);
	size_t n = strlen(s);

	/* Another session or identity. */
	assert_int_equal(convert_open(s, "sess2|bob", now, &p), CONVERT_OTHER);
	assert_int_equal(convert_open(s, "sess|mallory", now, &p), CONVERT_OTHER);
	/* Expired (exactly at the expiry too). */
	assert_int_equal(convert_open(s, "sess|bob", now + 1000, &p), CONVERT_EXPIRED);
	/* Every single altered digit is caught, in the payload and in the MAC. */
	for (size_t i = strlen(CONVERT_STATE_PREFIX); i < n; i++) {
		char *t = strdup(s);
		t[i] = t[i] == '0' ? '1' : '0';
		assert_int_equal(convert_open(t, "sess|bob", now, &p), CONVERT_FORGED);
		free(t);
	}
	/* Truncated, extended, not hex, empty after the prefix. */
	char *t = strndup(s, n - 2);
	assert_int_equal(convert_open(t, "sess|bob", now, &p), CONVERT_FORGED);
	free(t);
	assert_true(asprintf(&t, "%s00", s) > 0);
	assert_int_equal(convert_open(t, "sess|bob", now, &p), CONVERT_FORGED);
	free(t);
	t = strdup(s);
	t[n - 1] = 'g';
	assert_int_equal(convert_open(t, "sess|bob", now, &p), CONVERT_FORGED);
	free(t);
	assert_int_equal(convert_open(CONVERT_STATE_PREFIX, "sess|bob", now, &p), CONVERT_FORGED);
	/* A server's own state is not the gateway's business. */
	assert_int_equal(convert_open("opaque-server-state", "sess|bob", now, &p), CONVERT_NOT_OURS);
	assert_int_equal(convert_open(NULL, "sess|bob", now, &p), CONVERT_NOT_OURS);
	assert_int_equal(p, 7);		/* untouched by every refusal */
	assert_non_null(strstr(convert_verdict_text(CONVERT_FORGED), "forged"));
	free(s);
}

static json_t *
input_required(const char *json)
{
	json_error_t e;
	json_t *r = json_loads(json, 0, &e);
	assert_non_null(r);
	return r;
}

static void
rounds_retry(void **st)
{
	json_t *params = json_pack("{ss s{si} ss}", "name", "book", "arguments", "n", 1, "requestState", "old");
	json_t *caps = json_pack("{s{}}", "elicitation");
	json_t *res = input_required("{\"resultType\":\"input_required\",\"inputRequests\":{\"who\":"
	    "{\"method\":\"elicitation/create\",\"params\":{\"message\":\"Name?\",\"requestedSchema\":{}}}},"
	    "\"requestState\":\"s-1\"}");
	struct convert_rounds *r = convert_rounds_new(params);
	char err[300];
	const char *key, *method;
	json_t *p;

	assert_true(convert_is_input_required(res));
	assert_int_equal(convert_rounds_begin(r, res, caps, err, sizeof err), 1);
	assert_int_equal(convert_rounds_request(r, 0, &key, &method, &p), 0);
	assert_string_equal(key, "who");
	assert_string_equal(method, "elicitation/create");
	assert_string_equal(json_string_value(json_object_get(p, "message")), "Name?");
	assert_int_equal(convert_rounds_request(r, 1, &key, &method, &p), -1);
	json_t *stray = json_object();
	assert_int_equal(convert_rounds_answer(r, "nobody", stray), -1);
	json_decref(stray);
	json_t *ans = json_pack("{ss s{ss}}", "action", "accept", "content", "name", "Ada");
	assert_int_equal(convert_rounds_answer(r, "who", ans), 0);
	json_t *retry = convert_rounds_retry(r);
	assert_string_equal(json_string_value(json_object_get(retry, "requestState")), "s-1");
	assert_string_equal(json_string_value(json_object_get(retry, "name")), "book");
	assert_true(json_equal(json_object_get(json_object_get(retry, "inputResponses"), "who"), ans));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(retry, "arguments"), "n")), 1);
	json_decref(retry);
	json_decref(ans);
	json_decref(res);
	convert_rounds_free(r);
	json_decref(caps);
	json_decref(params);
}

static void
rounds_bounded_and_checked(void **st)
{
	json_t *caps = json_pack("{s{}}", "elicitation");
	json_t *elicit = input_required("{\"resultType\":\"input_required\",\"inputRequests\":{\"a\":"
	    "{\"method\":\"elicitation/create\",\"params\":{\"message\":\"m\"}}}}");
	json_t *sample = input_required("{\"resultType\":\"input_required\",\"inputRequests\":{\"b\":"
	    "{\"method\":\"sampling/createMessage\",\"params\":{}}}}");
	json_t *url = input_required("{\"resultType\":\"input_required\",\"inputRequests\":{\"u\":"
	    "{\"method\":\"elicitation/create\",\"params\":{\"mode\":\"url\",\"url\":\"https://x\"}}}}");
	json_t *bogus = input_required("{\"resultType\":\"input_required\",\"inputRequests\":{\"t\":"
	    "{\"method\":\"tools/call\",\"params\":{}}}}");
	json_t *empty = input_required("{\"resultType\":\"input_required\"}");
	json_t *stateonly = input_required("{\"resultType\":\"input_required\",\"requestState\":\"x\"}");
	struct convert_rounds *r = convert_rounds_new(NULL);
	char err[300];

	assert_int_equal(convert_rounds_begin(r, sample, caps, err, sizeof err), -1);
	assert_non_null(strstr(err, "'sampling' capability"));
	assert_int_equal(convert_rounds_begin(r, url, caps, err, sizeof err), -1);
	assert_non_null(strstr(err, "elicitation/create"));
	assert_int_equal(convert_rounds_begin(r, bogus, caps, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot be asked of a client"));
	assert_int_equal(convert_rounds_begin(r, empty, caps, err, sizeof err), -1);
	assert_non_null(strstr(err, "malformed"));
	convert_rounds_free(r);

	r = convert_rounds_new(NULL);
	assert_int_equal(convert_rounds_begin(r, stateonly, caps, err, sizeof err), 0);
	json_t *retry = convert_rounds_retry(r);
	assert_string_equal(json_string_value(json_object_get(retry, "requestState")), "x");
	assert_null(json_object_get(retry, "inputResponses"));
	json_decref(retry);
	for (int i = 2; i <= CONVERT_MAX_ROUNDS; i++)
		assert_int_equal(convert_rounds_begin(r, elicit, caps, err, sizeof err), 1);
	assert_int_equal(convert_rounds_begin(r, elicit, caps, err, sizeof err), -1);
	assert_non_null(strstr(err, "rounds"));
	convert_rounds_free(r);

	json_t *ir = convert_input_required("k", "roots/list", NULL, "st");
	assert_string_equal(json_string_value(json_object_get(ir, "resultType")), "input_required");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(ir,
	    "inputRequests"), "k"), "method")), "roots/list");
	json_decref(ir);
	json_decref(caps);
	json_decref(elicit);
	json_decref(sample);
	json_decref(url);
	json_decref(bogus);
	json_decref(empty);
	json_decref(stateonly);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmac_rfc4231),
		cmocka_unit_test(seal_round_trip),
		cmocka_unit_test(seal_refusals),
		cmocka_unit_test(rounds_retry),
		cmocka_unit_test(rounds_bounded_and_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
