/* test_oauth_util.c: PKCE and state values, the browser URL check, canonical resources, discovery
 * URL order, WWW-Authenticate parsing and the SSRF address classes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include "oauth_util.h"

static void
b64url_matches_rfc4648_vectors(void **s)
{
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	for (int i = 0; i < 7; i++) {
		char *e = oauth_b64url((const unsigned char *)in[i], strlen(in[i]));
		assert_string_equal(e, out[i]);
		free(e);
	}
	unsigned char hi[] = { 0xfb, 0xff };
	char *e = oauth_b64url(hi, 2);
	assert_string_equal(e, "-_8");	/* url alphabet, no padding */
	free(e);
}

static void
pkce_challenge_is_s256_of_a_fresh_43_char_verifier(void **s)
{
	char v1[64], c1[64], v2[64], c2[64];
	assert_int_equal(oauth_pkce(v1, c1), 0);
	assert_int_equal(oauth_pkce(v2, c2), 0);
	assert_int_equal(strlen(v1), 43);
	assert_int_equal(strlen(c1), 43);
	assert_string_not_equal(v1, v2);
	/* RFC 7636 appendix B */
	unsigned char md[32];
	unsigned int n;
	const char *v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	EVP_Digest(v, strlen(v), md, &n, EVP_sha256(), NULL);
	char *c = oauth_b64url(md, n);
	assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	free(c);
}

static void
browser_urls_must_be_plain_http_s(void **s)
{
	char why[128];
	assert_true(oauth_url_browsable("https://as.example/authorize?client_id=a&state=b", why, sizeof why));
	assert_true(oauth_url_browsable("http://127.0.0.1:8080/authorize", why, sizeof why));
	assert_false(oauth_url_browsable("file:///etc/passwd", why, sizeof why));
	assert_false(oauth_url_browsable("javascript:alert(1)", why, sizeof why));
	/* CVE-2025-6514: "$(" is legal URL text, so it passes here; the defence is that the opener
	 * gets the URL as one argv element and never a shell. Userinfo is refused outright. */
	assert_true(oauth_url_browsable("https://a.example/$(calc)", why, sizeof why));
	assert_false(oauth_url_browsable("http://user$(calc)r:pass@a.example/", why, sizeof why));
	assert_false(oauth_url_browsable("https://a.example/ x", why, sizeof why));
	assert_false(oauth_url_browsable("https://a.example/\nx", why, sizeof why));
	assert_false(oauth_url_browsable("https:///nohost", why, sizeof why));
	assert_false(oauth_url_browsable("https://a.example/`id`", why, sizeof why));
}

static void
canonical_resource_lowercases_and_trims(void **s)
{
	char *c = oauth_canonical_resource("HTTPS://MCP.Example.COM/V1/Mcp/#frag");
	assert_string_equal(c, "https://mcp.example.com/V1/Mcp");
	free(c);
	c = oauth_canonical_resource("https://mcp.example.com/");
	assert_string_equal(c, "https://mcp.example.com");
	free(c);
	c = oauth_canonical_resource("https://mcp.example.com:8443/a?b=/");
	assert_string_equal(c, "https://mcp.example.com:8443/a?b=/");
	free(c);
	assert_null(oauth_canonical_resource("ftp://x/"));
}

static void
discovery_urls_come_in_the_specifications_order(void **s)
{
	json_t *a = oauth_prm_urls("https://mcp.example.com/public/mcp?x=1");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "https://mcp.example.com/.well-known/oauth-protected-resource");
	json_decref(a);
	a = oauth_as_metadata_urls("https://auth.example.com/tenant1");
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "https://auth.example.com/.well-known/oauth-authorization-server/tenant1");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "https://auth.example.com/.well-known/openid-configuration/tenant1");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "https://auth.example.com/tenant1/.well-known/openid-configuration");
	json_decref(a);
	a = oauth_as_metadata_urls("https://auth.example.com/");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "https://auth.example.com/.well-known/oauth-authorization-server");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "https://auth.example.com/.well-known/openid-configuration");
	json_decref(a);
}

static void
www_authenticate_bearer_parameters_are_read(void **s)
{
	struct www_auth w;
	assert_int_equal(oauth_www_authenticate(
	    "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource\", "
	    "scope=\"files:read files:write\", error=\"insufficient_scope\"", &w), 0);
	assert_string_equal(w.resource_metadata, "https://mcp.example.com/.well-known/oauth-protected-resource");
	assert_string_equal(w.scope, "files:read files:write");
	assert_string_equal(w.error, "insufficient_scope");
	oauth_www_auth_cleanup(&w);

	/* several challenges; Bearer not first; token values; escapes; case-insensitive names */
	assert_int_equal(oauth_www_authenticate(
	    "Basic realm=\"x\", Newauth abc==, bearer Scope=a, Error_Description=\"say \\\"no\\\"\"", &w), 0);
	assert_string_equal(w.scope, "a");
	assert_string_equal(w.error_description, "say \"no\"");
	assert_null(w.resource_metadata);
	oauth_www_auth_cleanup(&w);

	/* parameters of another scheme are not Bearer's */
	assert_int_equal(oauth_www_authenticate("Basic scope=\"wrong\", Bearer", &w), 0);
	assert_null(w.scope);
	oauth_www_auth_cleanup(&w);

	assert_int_equal(oauth_www_authenticate("Basic realm=\"x\"", &w), -1);
	assert_int_equal(oauth_www_authenticate("Bearer scope=\"unterminated", &w), -1);
	assert_int_equal(oauth_www_authenticate("Bearer scope=a b", &w), -1);
	assert_int_equal(oauth_www_authenticate("", &w), -1);
}

static int
priv(const char *addr)
{
	struct sockaddr_storage ss = { 0 };
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
	}
	return oauth_addr_private((struct sockaddr *)&ss);
}

static void
private_and_special_addresses_are_recognised(void **s)
{
	const char *blocked[] = { "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
		"::1", "::", "fc00::1", "fd12::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "ff02::1", NULL };
	const char *open[] = { "8.8.8.8", "172.32.0.1", "172.15.255.255", "1.1.1.1", "2606:4700::1111",
		"::ffff:8.8.8.8", NULL };
	for (int i = 0; blocked[i]; i++)
		if (!priv(blocked[i]))
			fail_msg("%s should be refused", blocked[i]);
	for (int i = 0; open[i]; i++)
		if (priv(open[i]))
			fail_msg("%s should be allowed", open[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url_matches_rfc4648_vectors),
		cmocka_unit_test(pkce_challenge_is_s256_of_a_fresh_43_char_verifier),
		cmocka_unit_test(browser_urls_must_be_plain_http_s),
		cmocka_unit_test(canonical_resource_lowercases_and_trims),
		cmocka_unit_test(discovery_urls_come_in_the_specifications_order),
		cmocka_unit_test(www_authenticate_bearer_parameters_are_read),
		cmocka_unit_test(private_and_special_addresses_are_recognised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
