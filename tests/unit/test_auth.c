/* test_auth.c: the plugin host: headers a plugin may add (no injection, nothing the transport
 * owns), the built-in plugins (none, bearer from the environment and from a file that is checked
 * and read again when it changes, headers), oauth2 built in, and the plugin directory
 * rules; with the example plugin built, its signature checked against OpenSSL. */
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
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "auth.h"

static struct event_base *base;
static char plugin_build_dir[300] = "build/plugins";	/* next to this test: BUILD/plugins */
static char tmpdir[] = "/tmp/mcpgw-test-auth-XXXXXX";

static int
setup(void **state)
{
	base = event_base_new();
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[256];
	event_base_free(base);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct config_server
server(const char *auth_json)
{
	struct config_server s = { 0 };
	s.name = "srv";
	s.url = "https://mcp.example/mcp";
	s.auth = auth_json ? json_loads(auth_json, 0, NULL) : NULL;
	return s;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static const char *
value_of(const struct mcpgw_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

static void
header_add_refuses_injection_and_owned_headers(void **state)
{
	struct mcpgw_headers h = { 0 };
	char big[AUTH_MAX_VALUE + 2];

	assert_int_equal(auth_header_add(&h, "X-Ok", "value"), 0);
	assert_int_equal(auth_header_add(&h, "X-Bad", "a\r\nX-Injected: 1"), -1);
	assert_int_equal(auth_header_add(&h, "X-Bad", "a\nb"), -1);
	assert_int_equal(auth_header_add(&h, "Bad Name", "v"), -1);
	assert_int_equal(auth_header_add(&h, "X-Bad:", "v"), -1);
	assert_int_equal(auth_header_add(&h, "", "v"), -1);
	assert_int_equal(auth_header_add(&h, "Host", "evil"), -1);
	assert_int_equal(auth_header_add(&h, "mcp-session-id", "x"), -1);
	assert_int_equal(auth_header_add(&h, "Content-Length", "1"), -1);
	assert_int_equal(auth_header_add(&h, "Cookie", "a=b"), -1);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(auth_header_add(&h, "X-Big", big), -1);
	big[AUTH_MAX_VALUE] = '\0';
	assert_int_equal(auth_header_add(&h, "X-Big", big), 0);
	assert_int_equal(h.n, 2);
	for (int i = 0; i < AUTH_MAX_HEADERS; i++)
		auth_header_add(&h, "X-Many", "v");
	assert_int_equal(h.n, AUTH_MAX_HEADERS);
	auth_headers_clear(&h);
	assert_int_equal(h.n, 0);
}

static void
none_gives_no_headers(void **state)
{
	struct config_server s = server(NULL);
	struct mcpgw_headers h = { 0 };
	char err[256];
	struct auth *a = auth_new(base, &s, NULL, err, sizeof err);

	assert_non_null(a);
	assert_string_equal(auth_plugin_name(a), "none");
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_int_equal(h.n, 0);
	auth_free(a);
}

static void
bearer_from_the_environment(void **state)
{
	struct config_server s = server("{\"plugin\":\"bearer\",\"token_env\":\"MCPGW_UNIT_TOKEN\"}");
	struct mcpgw_headers h = { 0 };
	char err[256];
	struct auth *a;

	unsetenv("MCPGW_UNIT_TOKEN");
	assert_null(auth_new(base, &s, NULL, err, sizeof err));
	assert_non_null(strstr(err, "MCPGW_UNIT_TOKEN is not set"));
	setenv("MCPGW_UNIT_TOKEN", "  abc123token \n", 1);
	a = auth_new(base, &s, NULL, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_string_equal(value_of(&h, "Authorization"), "Bearer abc123token");
	auth_headers_clear(&h);
	auth_free(a);
	setenv("MCPGW_UNIT_TOKEN", "two words", 1);
	assert_null(auth_new(base, &s, NULL, err, sizeof err));
	assert_null(strstr(err, "two words"));	/* never quoted */
	unsetenv("MCPGW_UNIT_TOKEN");
	json_decref(s.auth);
}

static void
bearer_file_checked_and_read_again_when_it_changes(void **state)
{
	char path[300], json[400], err[256];
	struct mcpgw_headers h = { 0 };
	struct config_server s;
	struct auth *a;

	snprintf(path, sizeof path, "%s/token", tmpdir);
	snprintf(json, sizeof json, "{\"plugin\":\"bearer\",\"token_file\":\"%s\"}", path);
	s = server(json);
	assert_null(auth_new(base, &s, NULL, err, sizeof err));	/* no file yet */
	assert_non_null(strstr(err, "cannot open"));
	write_file(path, "first-token\n", 0620);
	assert_null(auth_new(base, &s, NULL, err, sizeof err));
	assert_non_null(strstr(err, "writable by group or others"));
	write_file(path, "\n\n", 0600);
	assert_null(auth_new(base, &s, NULL, err, sizeof err));
	assert_non_null(strstr(err, "holds no token"));
	write_file(path, "first-token\n", 0600);
	a = auth_new(base, &s, NULL, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_string_equal(value_of(&h, "Authorization"), "Bearer first-token");
	write_file(path, "second-token-longer\n", 0600);
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_string_equal(value_of(&h, "Authorization"), "Bearer second-token-longer");
	/* a file being rewritten (briefly empty): the last good token stays */
	write_file(path, "", 0600);
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_string_equal(value_of(&h, "Authorization"), "Bearer second-token-longer");
	auth_headers_clear(&h);
	auth_free(a);
	json_decref(s.auth);
}

static void
headers_plugin_adds_its_headers_and_refuses_bad_ones(void **state)
{
	struct config_server s = server("{\"plugin\":\"headers\",\"headers\":{\"X-Api-Key\":\"k-123\",\"X-Org\":\"o\"}}");
	struct config_server bad = server("{\"plugin\":\"headers\",\"headers\":{\"Host\":\"evil\"}}");
	struct config_server none = server("{\"plugin\":\"headers\"}");
	struct mcpgw_headers h = { 0 };
	char err[256];
	struct auth *a = auth_new(base, &s, NULL, err, sizeof err);

	assert_non_null(a);
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_string_equal(value_of(&h, "X-Api-Key"), "k-123");
	assert_string_equal(value_of(&h, "X-Org"), "o");
	auth_headers_clear(&h);
	auth_free(a);
	assert_null(auth_new(base, &bad, NULL, err, sizeof err));
	assert_non_null(strstr(err, "'Host' is not allowed"));
	assert_null(auth_new(base, &none, NULL, err, sizeof err));
	json_decref(s.auth);
	json_decref(bad.auth);
	json_decref(none.auth);
}

/* oauth2 is built in (issue 4): with nothing stored and no challenge yet, a request goes
 * without credentials (a server that wants some answers 401 and says where to sign in). */
static void
oauth2_is_built_in(void **state)
{
	struct config_server s = server("{\"plugin\":\"oauth2\"}");
	struct mcpgw_headers h = { 0 };
	char err[256];
	struct auth *a;

	assert_non_null(a = auth_new(base, &s, NULL, err, sizeof err));
	assert_string_equal(auth_plugin_name(a), "oauth2");
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_int_equal(h.n, 0);
	auth_free(a);
	json_decref(s.auth);
}

static void
plugin_directory_rules(void **state)
{
	struct config_server s = server("{\"plugin\":\"nosuch\"}");
	char err[512], dir[300];

	setenv("MCPGW_PLUGIN_DIR", "relative/dir", 1);
	assert_null(auth_new(base, &s, NULL, err, sizeof err));
	assert_non_null(strstr(err, "is not an absolute path; refused"));
	snprintf(dir, sizeof dir, "%s/plugins", tmpdir);
	mkdir(dir, 0755);
	setenv("MCPGW_PLUGIN_DIR", dir, 1);
	assert_null(auth_new(base, &s, NULL, err, sizeof err));
	assert_non_null(strstr(err, "auth plugin 'nosuch' not found"));
	chmod(dir, 0777);
	assert_null(auth_new(base, &s, NULL, err, sizeof err));
	assert_non_null(strstr(err, "is writable by group or others; refused"));
	unsetenv("MCPGW_PLUGIN_DIR");
	json_decref(s.auth);
}

/* The example plugin, when it was built (make plugins): the header it adds is the HMAC the
 * server expects. */
static void
example_plugin_signs_with_hmac_sha256(void **state)
{
	const char *so = plugin_build_dir;
	char src[340], dir[300], dst[320], key[300], json[700], err[512], cmd[1200];
	struct mcpgw_headers h = { 0 };
	struct config_server s;
	struct auth *a;
	long long t;
	char sig[200], kid[80], msg[300], hex[65];
	unsigned char mac[32];
	unsigned maclen;

	snprintf(src, sizeof src, "%s/hmac-signature.so", so);
	if (access(src, R_OK) != 0) {
		print_message("skipped: %s not built\n", src);
		skip();
	}
	snprintf(dir, sizeof dir, "%s/ex", tmpdir);
	mkdir(dir, 0755);
	chmod(dir, 0755);
	snprintf(dst, sizeof dst, "%s/hmac-signature.so", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 755 '%s'", src, dst, dst);
	assert_int_equal(system(cmd), 0);
	snprintf(key, sizeof key, "%s/key", tmpdir);
	write_file(key, "0123456789abcdef0123\n", 0600);
	snprintf(json, sizeof json, "{\"plugin\":\"hmac-signature\",\"key_file\":\"%s\",\"key_id\":\"k1\"}", key);
	s = server(json);
	setenv("MCPGW_PLUGIN_DIR", dir, 1);
	a = auth_new(base, &s, NULL, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(auth_headers(a, &h, err, sizeof err), AUTH_OK);
	assert_non_null(value_of(&h, "X-Mcpgw-Signature"));
	assert_int_equal(sscanf(value_of(&h, "X-Mcpgw-Signature"), "t=%lld,kid=%79[^,],sig=%199s", &t, kid, sig), 3);
	assert_string_equal(kid, "k1");
	snprintf(msg, sizeof msg, "%lld.%s", t, s.url);
	HMAC(EVP_sha256(), "0123456789abcdef0123", 20, (unsigned char *)msg, strlen(msg), mac, &maclen);
	for (unsigned k = 0; k < maclen; k++)
		snprintf(hex + 2 * k, 3, "%02x", mac[k]);
	assert_string_equal(sig, hex);
	auth_headers_clear(&h);
	auth_free(a);
	unsetenv("MCPGW_PLUGIN_DIR");
	json_decref(s.auth);
}

int
main(int argc, char **argv)
{
	/* BUILD/tests/test_auth -> BUILD/plugins (build/, build-asan/, ...) */
	const char *slash = strrchr(argv[0], '/');
	if (getenv("MCPGW_TEST_PLUGIN_DIR"))
		snprintf(plugin_build_dir, sizeof plugin_build_dir, "%s", getenv("MCPGW_TEST_PLUGIN_DIR"));
	else if (slash && slash - argv[0] < 200)
		snprintf(plugin_build_dir, sizeof plugin_build_dir, "%.*s/../plugins", (int)(slash - argv[0]), argv[0]);
	(void)argc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_add_refuses_injection_and_owned_headers),
		cmocka_unit_test(none_gives_no_headers),
		cmocka_unit_test(bearer_from_the_environment),
		cmocka_unit_test(bearer_file_checked_and_read_again_when_it_changes),
		cmocka_unit_test(headers_plugin_adds_its_headers_and_refuses_bad_ones),
		cmocka_unit_test(oauth2_is_built_in),
		cmocka_unit_test(plugin_directory_rules),
		cmocka_unit_test(example_plugin_signs_with_hmac_sha256),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
