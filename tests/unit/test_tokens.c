/* test_tokens.c: the token store keeps secrets 0600 in a 0700 directory, replaces files whole,
 * refuses links and foreign files, keys entries by issuer and resource, and serialises refreshes
 * across processes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "tokens.h"

static char root[256];
static char dir[300];

static int
setup(void **state)
{
	snprintf(root, sizeof root, "/tmp/mcpgw-tokens-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof dir, "%s/state/tokens", root);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
entries_are_keyed_by_issuer_and_resource_and_kept_private(void **state)
{
	char err[256];
	struct stat st;
	char path[400];
	json_t *a = json_pack("{ss}", "access_token", "tok-A");
	json_t *b = json_pack("{ss}", "access_token", "tok-B");

	assert_int_equal(tokens_put(dir, "atl", "https://as.example", "https://mcp.example/v1", a, err, sizeof err), 0);
	assert_int_equal(tokens_put(dir, "atl", "https://other-as.example", "https://mcp.example/v1", b, err, sizeof err), 0);
	json_t *got = tokens_get(dir, "atl", "https://as.example", "https://mcp.example/v1", err, sizeof err);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "access_token")), "tok-A");
	json_decref(got);
	assert_null(tokens_get(dir, "atl", "https://as.example", "https://elsewhere.example", err, sizeof err));
	assert_string_equal(err, "");	/* absent is not an error */

	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof path, "%s/atl.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	json_decref(a);
	json_decref(b);
}

static void
a_symlinked_token_file_is_refused(void **state)
{
	char err[256], path[400], target[400];
	snprintf(target, sizeof target, "%s/elsewhere.json", root);
	FILE *f = fopen(target, "w");
	fputs("{\"x y\":{\"access_token\":\"planted\"}}", f);
	fclose(f);
	json_t *e = json_pack("{ss}", "access_token", "t");
	assert_int_equal(tokens_put(dir, "first", "x", "y", e, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/linked.json", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_null(tokens_get(dir, "linked", "x", "y", err, sizeof err));
	assert_non_null(strstr(err, "refused"));
	/* and a write does not follow the link either */
	assert_int_equal(tokens_put(dir, "linked", "x", "y", e, err, sizeof err), -1);
	json_decref(e);
}

static void
a_file_owned_by_another_user_is_refused(void **state)
{
	char err[256], path[400];
	if (geteuid() != 0)
		skip();		/* only root can give a file away */
	json_t *e = json_pack("{ss}", "access_token", "t");
	assert_int_equal(tokens_put(dir, "foreign", "x", "y", e, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/foreign.json", dir);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_null(tokens_get(dir, "foreign", "x", "y", err, sizeof err));
	assert_non_null(strstr(err, "refused"));
	json_decref(e);
}

static void
server_names_cannot_leave_the_directory(void **state)
{
	char err[256];
	json_t *e = json_object();
	assert_int_equal(tokens_put(dir, "../escape", "x", "y", e, err, sizeof err), -1);
	assert_int_equal(tokens_put(dir, "UPPER", "x", "y", e, err, sizeof err), -1);
	assert_int_equal(tokens_remove(dir, "a/b", err, sizeof err), -1);
	json_decref(e);
}

static void
logout_removes_the_servers_tokens(void **state)
{
	char err[256];
	json_t *e = json_pack("{ss}", "access_token", "t");
	assert_int_equal(tokens_put(dir, "gone", "x", "y", e, err, sizeof err), 0);
	assert_int_equal(tokens_remove(dir, "gone", err, sizeof err), 1);
	assert_null(tokens_get(dir, "gone", "x", "y", err, sizeof err));
	assert_int_equal(tokens_remove(dir, "gone", err, sizeof err), 0);
	json_decref(e);
}

static void
the_refresh_lock_excludes_another_process(void **state)
{
	char err[256];
	int h = tokens_lock(dir, "locked", 100, err, sizeof err);
	assert_true(h >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		char e2[256];
		int h2 = tokens_lock(dir, "locked", 200, e2, sizeof e2);
		_exit(h2 >= 0 ? 1 : (strstr(e2, "another gateway holds the lock") ? 0 : 2));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tokens_unlock(h);
	/* released: the next holder gets it at once */
	h = tokens_lock(dir, "locked", 0, err, sizeof err);
	assert_true(h >= 0);
	tokens_unlock(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entries_are_keyed_by_issuer_and_resource_and_kept_private),
		cmocka_unit_test(a_symlinked_token_file_is_refused),
		cmocka_unit_test(a_file_owned_by_another_user_is_refused),
		cmocka_unit_test(server_names_cannot_leave_the_directory),
		cmocka_unit_test(logout_removes_the_servers_tokens),
		cmocka_unit_test(the_refresh_lock_excludes_another_process),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
