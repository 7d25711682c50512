/* test_oauth.c: the decisions of the OAuth client that need no network: which scope is asked for,
 * which protected resource metadata names this server, what an authorization response must carry
 * (state, RFC 9207 iss by exact string, error, code), what a token response must hold and that an
 * error never quotes it, the token endpoint's client authentication, form encoding, and the
 * settings read from the auth mapping (client_secret_file rules). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "http.h"
#include "oauth.h"
#include "oauth_int.h"

static void
scope_is_configured_else_challenged_else_prm_else_none(void **state)
{
	json_t *prm = json_pack("[ss]", "mcp:read", "mcp:write");
	json_t *as_off = json_pack("[sss]", "openid", "offline_access", "mcp:read");
	json_t *as_plain = json_pack("[s]", "mcp:read");
	char *s;

	s = oauth_scope_choose("a b", "c", prm, NULL, as_plain);
	assert_string_equal(s, "a b");
	free(s);
	s = oauth_scope_choose(NULL, "c d", prm, NULL, as_plain);
	assert_string_equal(s, "c d");
	free(s);
	s = oauth_scope_choose(NULL, NULL, prm, NULL, NULL);
	assert_string_equal(s, "mcp:read mcp:write");
	free(s);
	assert_null(oauth_scope_choose(NULL, NULL, NULL, NULL, as_off));	/* nothing asked: omitted */
	{
		json_t *empty = json_array();
		assert_null(oauth_scope_choose(NULL, "", empty, NULL, NULL));
		json_decref(empty);
	}
	/* step-up: the union, no duplicates */
	s = oauth_scope_choose(NULL, "mcp:write", NULL, "mcp:read mcp:write", NULL);
	assert_string_equal(s, "mcp:write mcp:read");
	free(s);
	/* offline_access only where the authorization server lists it, and only with some scope */
	s = oauth_scope_choose(NULL, "mcp:read", NULL, NULL, as_off);
	assert_string_equal(s, "mcp:read offline_access");
	free(s);
	s = oauth_scope_choose(NULL, "mcp:read offline_access", NULL, NULL, as_off);
	assert_string_equal(s, "mcp:read offline_access");
	free(s);
	json_decref(prm);
	json_decref(as_off);
	json_decref(as_plain);
}

static void
protected_resource_must_name_this_server(void **state)
{
	assert_true(oauth_resource_matches("https://mcp.example/v1/mcp", "https://mcp.example/v1/mcp"));
	assert_true(oauth_resource_matches("https://MCP.example/v1/mcp/", "https://mcp.example/v1/mcp"));
	assert_true(oauth_resource_matches("https://mcp.example", "https://mcp.example/v1/mcp"));
	assert_true(oauth_resource_matches("https://mcp.example/", "https://mcp.example/v1/mcp"));
	assert_true(oauth_resource_matches("https://mcp.example/v1", "https://mcp.example/v1/mcp"));
	assert_false(oauth_resource_matches("https://mcp.example/v1/mc", "https://mcp.example/v1/mcp"));
	assert_false(oauth_resource_matches("https://mcp.example/v2", "https://mcp.example/v1/mcp"));
	assert_false(oauth_resource_matches("https://evil.example/mcp", "https://mcp.example/mcp"));
	assert_false(oauth_resource_matches("https://mcp.example:8443/mcp", "https://mcp.example/mcp"));
	assert_false(oauth_resource_matches("http://mcp.example/mcp", "https://mcp.example/mcp"));
	assert_false(oauth_resource_matches("not a url", "https://mcp.example/mcp"));
}

static json_t *
q(const char *json)
{
	json_t *j = json_loads(json, 0, NULL);
	assert_non_null(j);
	return j;
}

static void
authorization_response_checks_state_then_iss_exactly(void **state)
{
	const char *code;
	char why[300];
	const char *iss = "https://as.example/t1";
	json_t *v;

	v = q("{\"code\":\"c1\",\"state\":\"S\",\"iss\":\"https://as.example/t1\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 1, &code, why, sizeof why), 0);
	assert_string_equal(code, "c1");
	json_decref(v);
	/* not our state: not ours to judge, the sign-in keeps waiting */
	v = q("{\"code\":\"c1\",\"state\":\"X\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), 1);
	json_decref(v);
	v = q("{\"code\":\"c1\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), 1);
	json_decref(v);
	/* iss absent: fine unless promised */
	v = q("{\"code\":\"c1\",\"state\":\"S\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), 0);
	assert_int_equal(oauth_callback_check(v, "S", iss, 1, &code, why, sizeof why), -1);
	assert_non_null(strstr(why, "RFC 9207"));
	json_decref(v);
	/* iss is compared as a string: a normalised spelling is another issuer */
	v = q("{\"code\":\"c1\",\"state\":\"S\",\"iss\":\"https://as.example/t1/\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), -1);
	json_decref(v);
	v = q("{\"code\":\"c1\",\"state\":\"S\",\"iss\":\"https://AS.example/t1\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), -1);
	json_decref(v);
	/* an error response from another issuer: its description is not believed */
	v = q("{\"error\":\"access_denied\",\"error_description\":\"go to evil.example\",\"state\":\"S\","
	    "\"iss\":\"https://evil.example\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), -1);
	assert_null(strstr(why, "evil"));
	json_decref(v);
	/* an error response: its code and a cleaned description */
	v = q("{\"error\":\"access_denied\",\"error_description\":\"user said no<script>\",\"state\":\"S\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), -1);
	assert_non_null(strstr(why, "access_denied"));
	assert_null(strstr(why, "<script>"));
	json_decref(v);
	v = q("{\"state\":\"S\"}");
	assert_int_equal(oauth_callback_check(v, "S", iss, 0, &code, why, sizeof why), -1);
	json_decref(v);
}

static void
token_response_needs_a_bearer_token_and_is_never_quoted(void **state)
{
	char why[300];
	json_t *t;
	static const char ok[] = "{\"access_token\":\"AT-123\",\"token_type\":\"bearer\",\"expires_in\":60,"
	    "\"refresh_token\":\"RT-456\",\"scope\":\"a b\"}";
	static const char mac[] = "{\"access_token\":\"AT-SECRET-9\",\"token_type\":\"mac\"}";

	t = oauth_token_response(ok, strlen(ok), 1000, why, sizeof why);
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "access_token")), "AT-123");
	assert_string_equal(json_string_value(json_object_get(t, "refresh_token")), "RT-456");
	assert_int_equal(json_integer_value(json_object_get(t, "expires_at")), 1060);
	assert_string_equal(json_string_value(json_object_get(t, "scope")), "a b");
	json_decref(t);
	assert_null(oauth_token_response(mac, strlen(mac), 0, why, sizeof why));
	assert_null(strstr(why, "AT-SECRET"));
	assert_null(oauth_token_response("{\"token_type\":\"Bearer\"}", 23, 0, why, sizeof why));
	assert_null(oauth_token_response("{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}", 44, 0, why, sizeof why));
	assert_null(oauth_token_response("[1]", 3, 0, why, sizeof why));
	assert_null(oauth_token_response("AT-SECRET-9 junk", 16, 0, why, sizeof why));
	assert_null(strstr(why, "AT-SECRET"));
}

static void
token_endpoint_authentication_follows_registration_then_metadata(void **state)
{
	json_t *basic = json_pack("[s]", "client_secret_basic"), *post = json_pack("[s]", "client_secret_post");
	json_t *both = json_pack("[ss]", "client_secret_post", "none"), *none = json_pack("[s]", "none");

	assert_string_equal(oauth_auth_method(NULL, 1, NULL), "client_secret_basic");	/* RFC 8414 default */
	assert_string_equal(oauth_auth_method(NULL, 0, NULL), "none");
	assert_string_equal(oauth_auth_method(NULL, 1, basic), "client_secret_basic");
	assert_string_equal(oauth_auth_method(NULL, 1, post), "client_secret_post");
	assert_string_equal(oauth_auth_method("client_secret_post", 1, both), "client_secret_post");
	assert_string_equal(oauth_auth_method("client_secret_basic", 1, both), "client_secret_post");
	assert_string_equal(oauth_auth_method(NULL, 0, none), "none");
	assert_string_equal(oauth_auth_method("client_secret_basic", 0, none), "none");	/* no secret */
	json_decref(basic);
	json_decref(post);
	json_decref(both);
	json_decref(none);
}

static void
client_authentication_goes_in_a_header_or_the_form(void **state)
{
	struct curl_slist *h = NULL;
	char *form = NULL;

	oauth_client_auth("client_secret_basic", "id:1", "s&cret", &h, &form);
	assert_null(form);
	assert_non_null(h);
	/* RFC 6749 2.3.1: both form-encoded before base64: "id%3A1:s%26cret" */
	assert_string_equal(h->data, "Authorization: Basic aWQlM0ExOnMlMjZjcmV0");
	curl_slist_free_all(h);
	h = NULL;
	oauth_client_auth("client_secret_post", "id", "sec", &h, &form);
	assert_null(h);
	assert_string_equal(form, "client_id=id&client_secret=sec");
	free(form);
	form = NULL;
	oauth_client_auth("none", "id", NULL, &h, &form);
	assert_string_equal(form, "client_id=id");
	free(form);
}

static void
form_encoding_keeps_only_unreserved(void **state)
{
	char *e = oauth_form_encode("a b&c=d/é~_.-");
	assert_string_equal(e, "a%20b%26c%3Dd%2F%C3%A9~_.-");
	free(e);
}

static const char *tmpd;

static void
write_mode(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void
settings_read_secret_file_with_care(void **state)
{
	char dir[] = "/tmp/mcpgw-oauth-XXXXXX", path[300], err[300];
	struct config_server s = { 0 };
	struct oauth_cfg *c;

	tmpd = mkdtemp(dir);
	assert_non_null(tmpd);
	snprintf(path, sizeof path, "%s/secret", dir);
	s.name = "srv";
	s.url = "https://mcp.example/mcp";
	write_mode(path, "s3cret\n", 0600);
	s.auth = json_pack("{ss ss ss s[ss] ss}", "plugin", "oauth2", "client_id", "cid", "client_secret_file", path,
	    "scopes", "a", "b", "callback_timeout", "30s");
	assert_non_null(c = oauth_cfg_new(&s, err, sizeof err));
	assert_string_equal(c->client_secret, "s3cret");
	assert_string_equal(c->scopes, "a b");
	assert_int_equal(c->callback_timeout_ms, 30000);
	assert_null(c->opener);
	oauth_cfg_free(c);
	chmod(path, 0620);	/* writable by the group: refused */
	assert_null(oauth_cfg_new(&s, err, sizeof err));
	assert_non_null(strstr(err, "writable by group or others"));
	assert_null(strstr(err, "s3cret"));
	unlink(path);
	assert_null(oauth_cfg_new(&s, err, sizeof err));
	json_decref(s.auth);
	/* a secret without the client it belongs to */
	s.auth = json_pack("{ss ss}", "plugin", "oauth2", "client_secret", "x");
	assert_null(oauth_cfg_new(&s, err, sizeof err));
	assert_non_null(strstr(err, "client_id"));
	json_decref(s.auth);
	s.auth = json_pack("{ss s[ss]}", "plugin", "oauth2", "open_browser", "firefox", "--new-tab");
	assert_non_null(c = oauth_cfg_new(&s, err, sizeof err));
	assert_string_equal(c->opener[0], "firefox");
	assert_string_equal(c->opener[1], "--new-tab");
	assert_null(c->opener[2]);
	assert_int_equal(c->callback_timeout_ms, 5 * 60 * 1000);
	oauth_cfg_free(c);
	json_decref(s.auth);
	rmdir(dir);
}

static void
loopback_addresses_are_recognised(void **state)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };

	a4.sin_addr.s_addr = htonl(0x7f000001);
	assert_true(http_addr_is_loopback((struct sockaddr *)&a4));
	a4.sin_addr.s_addr = htonl(0x0a000001);
	assert_false(http_addr_is_loopback((struct sockaddr *)&a4));
	a6.sin6_addr.s6_addr[15] = 1;
	assert_true(http_addr_is_loopback((struct sockaddr *)&a6));
	a6.sin6_addr.s6_addr[10] = a6.sin6_addr.s6_addr[11] = 0xff;
	a6.sin6_addr.s6_addr[12] = 127;
	assert_true(http_addr_is_loopback((struct sockaddr *)&a6));
	a6.sin6_addr.s6_addr[12] = 10;
	assert_false(http_addr_is_loopback((struct sockaddr *)&a6));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scope_is_configured_else_challenged_else_prm_else_none),
		cmocka_unit_test(protected_resource_must_name_this_server),
		cmocka_unit_test(authorization_response_checks_state_then_iss_exactly),
		cmocka_unit_test(token_response_needs_a_bearer_token_and_is_never_quoted),
		cmocka_unit_test(token_endpoint_authentication_follows_registration_then_metadata),
		cmocka_unit_test(client_authentication_goes_in_a_header_or_the_form),
		cmocka_unit_test(form_encoding_keeps_only_unreserved),
		cmocka_unit_test(settings_read_secret_file_with_care),
		cmocka_unit_test(loopback_addresses_are_recognised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
