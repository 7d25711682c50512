/* test_http_guard.c: the service endpoint's request checks (Origin, Host, media types, bearer
 * digests, session ids) and its listen addresses (syntax, unix socket permissions, loopback). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "http_guard.h"
#include "listen.h"
#include "sha256.h"

static void
origins(void **s)
{
	const char *allowed[] = { "https://app.example", NULL };
	assert_true(http_guard_origin(NULL, NULL));
	assert_true(http_guard_origin("http://localhost:3000", NULL));
	assert_true(http_guard_origin("http://127.0.0.1", NULL));
	assert_true(http_guard_origin("https://[::1]:8443", NULL));
	assert_true(http_guard_origin("https://app.example", allowed));
	assert_false(http_guard_origin("https://app.example.evil", allowed));
	assert_false(http_guard_origin("https://evil.example", NULL));
	assert_false(http_guard_origin("http://localhost.evil.example", NULL));
	assert_false(http_guard_origin("http://127.0.0.1.nip.io", NULL));
	assert_false(http_guard_origin("null", NULL));
	assert_false(http_guard_origin("file://", NULL));
	assert_false(http_guard_origin("http://localhost:80x", NULL));
}

static void
hosts(void **s)
{
	const char *allowed[] = { "gw.internal", NULL };
	assert_true(http_guard_host("localhost", NULL));
	assert_true(http_guard_host("localhost:8080", NULL));
	assert_true(http_guard_host("127.0.0.1:1", NULL));
	assert_true(http_guard_host("[::1]:99", NULL));
	assert_true(http_guard_host("gw.internal:443", allowed));
	assert_false(http_guard_host("attacker.example", allowed));
	assert_false(http_guard_host("localhost.attacker.example", NULL));
	assert_false(http_guard_host(NULL, NULL));
	assert_false(http_guard_host("", NULL));
	assert_false(http_guard_host("127.0.0.1:", NULL));
}

static void
media_types(void **s)
{
	assert_true(http_guard_json_type("application/json"));
	assert_true(http_guard_json_type("Application/JSON; charset=utf-8"));
	assert_false(http_guard_json_type("application/jsonx"));
	assert_false(http_guard_json_type("text/plain"));
	assert_false(http_guard_json_type(NULL));
	assert_true(http_guard_accepts("application/json, text/event-stream", "text/event-stream"));
	assert_true(http_guard_accepts("application/json, text/event-stream", "application/json"));
	assert_true(http_guard_accepts("*/*", "application/json"));
	assert_true(http_guard_accepts("text/*;q=0.5", "text/event-stream"));
	assert_false(http_guard_accepts("text/event-stream;q=0", "text/event-stream"));
	assert_false(http_guard_accepts("text/html", "application/json"));
	assert_false(http_guard_accepts(NULL, "application/json"));
	assert_false(http_guard_accepts("application/jsonl", "application/json"));
}

static void
bearer(void **s)
{
	char a[65], b[65];
	sha256_hex("alpha-token", 11, a);
	sha256_hex("beta-token", 10, b);
	const char *d[] = { a, b };
	assert_int_equal(http_guard_bearer("Bearer alpha-token", d, 2), 0);
	assert_int_equal(http_guard_bearer("bearer beta-token", d, 2), 1);
	assert_int_equal(http_guard_bearer("Bearer gamma", d, 2), -1);
	assert_int_equal(http_guard_bearer("Basic alpha-token", d, 2), -1);
	assert_int_equal(http_guard_bearer("Bearer ", d, 2), -1);
	assert_int_equal(http_guard_bearer(NULL, d, 2), -1);
}

static void
session_ids(void **s)
{
	char x[33], y[33];
	assert_int_equal(http_guard_session_id(x), 0);
	assert_int_equal(http_guard_session_id(y), 0);
	assert_int_equal(strlen(x), 32);
	assert_string_not_equal(x, y);
	assert_true(http_guard_session_id_ok(x));
	assert_false(http_guard_session_id_ok(""));
	assert_false(http_guard_session_id_ok("a b"));
	assert_false(http_guard_session_id_ok("\x7f"));
}

/* Mcp-Name / Mcp-Param-* values (2026-07-28): plain, or the base64 sentinel, decoded. */
static void
mcp_values(void **s)
{
	char *v = NULL;
	size_t n = 0;
	(void)s;
	assert_int_equal(http_guard_mcp_value("us-west1", &v, &n), 0);
	assert_string_equal(v, "us-west1");
	free(v);
	/* the spec's own examples */
	assert_int_equal(http_guard_mcp_value("=?base64?SGVsbG8sIOS4lueVjA==?=", &v, &n), 0);
	assert_string_equal(v, "Hello, \xe4\xb8\x96\xe7\x95\x8c");
	assert_int_equal(n, 13);
	free(v);
	assert_int_equal(http_guard_mcp_value("=?base64?IHBhZGRlZCA=?=", &v, &n), 0);
	assert_string_equal(v, " padded ");
	free(v);
	assert_int_equal(http_guard_mcp_value("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", &v, &n), 0);
	assert_string_equal(v, "=?base64?literal?=");
	free(v);
	assert_int_equal(http_guard_mcp_value("=?base64?bGluZTEKbGluZTI=?=", &v, &n), 0);
	assert_string_equal(v, "line1\nline2");
	free(v);
	/* markers are case-sensitive: an upper-case one is a plain value */
	assert_int_equal(http_guard_mcp_value("=?BASE64?eA==?=", &v, &n), 0);
	assert_string_equal(v, "=?BASE64?eA==?=");
	free(v);
	v = NULL;
	assert_int_equal(http_guard_mcp_value("a\x01b", &v, &n), -1);		/* a control character */
	assert_int_equal(http_guard_mcp_value("caf\xc3\xa9", &v, &n), -1);	/* raw non-ASCII */
	assert_int_equal(http_guard_mcp_value("=?base64?a*b=?=", &v, &n), -1);	/* not base64 */
	assert_int_equal(http_guard_mcp_value("=?base64?eA===?=", &v, &n), -1);	/* too much padding */
	assert_int_equal(http_guard_mcp_value("=?base64?eAAAe?=", &v, &n), -1);	/* a lone 6 bits */
	assert_int_equal(http_guard_mcp_value("=?base64?SGVsbG8?=", &v, &n), -1);	/* unpadded */
	assert_int_equal(http_guard_mcp_value("=?base64?SGVsbG8=?=", &v, &n), 0);
	assert_string_equal(v, "Hello");
	free(v);
	v = NULL;
	assert_int_equal(http_guard_mcp_value(NULL, &v, &n), -1);
	assert_null(v);
}

static void
listen_syntax(void **s)
{
	struct listen_addr a;
	char err[256];
	assert_int_equal(listen_parse("unix:/run/x/mcpgw.sock", &a, err, sizeof err), 0);
	assert_int_equal(a.kind, LISTEN_UNIX);
	assert_true(a.loopback);
	assert_int_equal(listen_parse("127.0.0.1:8080", &a, err, sizeof err), 0);
	assert_int_equal(a.kind, LISTEN_TCP);
	assert_int_equal(a.port, 8080);
	assert_true(a.loopback);
	assert_int_equal(listen_parse("[::1]:0", &a, err, sizeof err), 0);
	assert_string_equal(a.host, "::1");
	assert_true(a.loopback);
	assert_int_equal(listen_parse("0.0.0.0:80", &a, err, sizeof err), 0);
	assert_false(a.loopback);
	assert_int_equal(listen_parse("fd:3", &a, err, sizeof err), 0);
	assert_int_equal(a.fd, 3);
	assert_int_equal(listen_parse("unix:relative.sock", &a, err, sizeof err), -1);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(listen_parse("127.0.0.1:99999", &a, err, sizeof err), -1);
	assert_int_equal(listen_parse("example.com:80", &a, err, sizeof err), -1);
	assert_int_equal(listen_parse("[::1]80", &a, err, sizeof err), -1);
	assert_int_equal(listen_parse("fd:1", &a, err, sizeof err), -1);
	assert_int_equal(listen_parse("", &a, err, sizeof err), -1);
}

static void
listen_unix_permissions(void **s)
{
	char dir[] = "/tmp/mcpgw-listen-XXXXXX", path[256], err[256];
	struct listen_addr a;
	struct stat st;
	int fd, fd2;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "unix:%s/sub/gw.sock", dir);
	assert_int_equal(listen_parse(path, &a, err, sizeof err), 0);
	fd = listen_open(&a, err, sizeof err);
	assert_true(fd >= 0);
	assert_true(listen_fd_loopback(fd));
	assert_int_equal(stat(a.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	snprintf(path, sizeof path, "%s/sub", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* A live socket is not taken over. */
	assert_int_equal(listen_open(&a, err, sizeof err), -1);
	assert_non_null(strstr(err, "another process"));
	/* A stale one is replaced. */
	close(fd);
	fd2 = listen_open(&a, err, sizeof err);
	assert_true(fd2 >= 0);
	close(fd2);
	/* A regular file is never replaced. */
	unlink(a.path);
	FILE *f = fopen(a.path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(listen_open(&a, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a socket"));
	unlink(a.path);
	rmdir(path);
	rmdir(dir);
}

static void
listen_tcp_and_fd(void **s)
{
	struct listen_addr a, b;
	char err[256], desc[128], spec[32];
	int fd, fd2;

	assert_int_equal(listen_parse("127.0.0.1:0", &a, err, sizeof err), 0);
	fd = listen_open(&a, err, sizeof err);
	assert_true(fd >= 0);
	assert_int_equal(listen_describe(fd, desc, sizeof desc), 0);
	assert_int_equal(strncmp(desc, "127.0.0.1:", 10), 0);
	assert_true(listen_fd_loopback(fd));
	snprintf(spec, sizeof spec, "fd:%d", fd);
	assert_int_equal(listen_parse(spec, &b, err, sizeof err), 0);
	assert_int_equal(listen_open(&b, err, sizeof err), fd);
	close(fd);
	/* An fd that is not a listening socket is refused. */
	fd2 = socket(AF_INET, SOCK_STREAM, 0);
	snprintf(spec, sizeof spec, "fd:%d", fd2);
	assert_int_equal(listen_parse(spec, &b, err, sizeof err), 0);
	assert_int_equal(listen_open(&b, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a listening socket"));
	close(fd2);
}

static void
systemd_fds(void **s)
{
	char pid[32], **names = NULL;
	unsetenv("LISTEN_PID");
	assert_int_equal(listen_systemd_fds(NULL), 0);
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "2", 1);
	assert_int_equal(listen_systemd_fds(&names), 0);	/* not for this process */
	assert_null(names);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDNAMES", "a:b", 1);
	assert_int_equal(listen_systemd_fds(&names), 2);
	assert_non_null(names);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	listen_names_free(names, 2);
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDNAMES"));
	/* Fewer names than descriptors, an empty one, one too long: NULL where there is none. */
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "3", 1);
	setenv("LISTEN_FDNAMES", "web::", 1);
	assert_int_equal(listen_systemd_fds(&names), 3);
	assert_string_equal(names[0], "web");
	assert_null(names[1]);
	assert_null(names[2]);
	listen_names_free(names, 3);
	/* Without names: the vector is all NULL. */
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	assert_int_equal(listen_systemd_fds(&names), 1);
	assert_null(names[0]);
	listen_names_free(names, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(origins),
		cmocka_unit_test(hosts),
		cmocka_unit_test(media_types),
		cmocka_unit_test(bearer),
		cmocka_unit_test(session_ids),
		cmocka_unit_test(mcp_values),
		cmocka_unit_test(listen_syntax),
		cmocka_unit_test(listen_unix_permissions),
		cmocka_unit_test(listen_tcp_and_fd),
		cmocka_unit_test(systemd_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
