/* test_http_url.c: the URL rules the remote transport relies on: same origin (scheme, host and
 * port, default ports made explicit), relative endpoint resolution, log forms without user info
 * or query, loopback detection that a host name cannot fake. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "http.h"

static void
same_origin_compares_scheme_host_and_port(void **state)
{
	assert_true(http_url_same_origin("http://127.0.0.1:8080/sse", "http://127.0.0.1:8080/messages?s=1"));
	assert_true(http_url_same_origin("https://a.example/mcp", "https://a.example:443/other"));
	assert_true(http_url_same_origin("https://A.example/mcp", "https://a.example/x"));
	assert_false(http_url_same_origin("http://127.0.0.1:8080/", "http://127.0.0.1:8081/"));
	assert_false(http_url_same_origin("http://a.example/", "https://a.example/"));
	assert_false(http_url_same_origin("https://a.example/", "https://a.example.evil/"));
	assert_false(http_url_same_origin("https://a.example/", "https://evil/?x=https://a.example/"));
	assert_false(http_url_same_origin("https://a.example/", "ftp://a.example/"));
	assert_false(http_url_same_origin("https://a.example/", "not a url"));
}

static void
resolve_handles_relative_and_absolute_references(void **state)
{
	char *u;

	u = http_url_resolve("http://127.0.0.1:9/sse", "/messages?sessionId=abc");
	assert_string_equal(u, "http://127.0.0.1:9/messages?sessionId=abc");
	free(u);
	u = http_url_resolve("https://h.example/v1/sse", "messages");
	assert_string_equal(u, "https://h.example/v1/messages");
	free(u);
	u = http_url_resolve("https://h.example/v1/sse", "https://other.example/x");
	assert_string_equal(u, "https://other.example/x");
	free(u);
	assert_null(http_url_resolve("https://h.example/", "file:///etc/passwd"));
	assert_null(http_url_resolve("https://h.example/", "javascript:alert(1)"));
}

static void
log_form_drops_user_info_query_and_fragment(void **state)
{
	char out[200];

	http_url_for_log("https://user:secret@h.example:8443/mcp?token=abc#frag", out, sizeof out);
	assert_string_equal(out, "https://h.example:8443/mcp");
	http_url_for_log("http://127.0.0.1/", out, sizeof out);
	assert_string_equal(out, "http://127.0.0.1/");
	http_url_for_log("::nonsense", out, sizeof out);
	assert_string_equal(out, "(invalid URL)");
}

static void
loopback_only_for_loopback_addresses(void **state)
{
	assert_true(http_url_is_loopback("http://127.0.0.1:1/mcp"));
	assert_true(http_url_is_loopback("http://127.8.9.10/mcp"));
	assert_true(http_url_is_loopback("http://localhost:3000/mcp"));
	assert_true(http_url_is_loopback("http://[::1]:3000/mcp"));
	assert_false(http_url_is_loopback("http://127.evil.example/mcp"));
	assert_false(http_url_is_loopback("http://10.0.0.1/mcp"));
	assert_false(http_url_is_loopback("http://localhost.evil.example/"));
	assert_true(http_url_is_https("https://x/"));
	assert_true(http_url_is_https("HTTPS://x/"));
	assert_false(http_url_is_https("http://x/"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_origin_compares_scheme_host_and_port),
		cmocka_unit_test(resolve_handles_relative_and_absolute_references),
		cmocka_unit_test(log_form_drops_user_info_query_and_fragment),
		cmocka_unit_test(loopback_only_for_loopback_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
