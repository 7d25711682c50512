/* test_config_where.c: where each rule that can hide a tool was written (gateway/config/config.c,
 * for `mcpgw check --explain`): the file, line, key path and layer of every allow layer and deny
 * pattern through the merges of the layers and defaults, of enabled: false, read_only, pin,
 * policy.pins_file and gateway.clients; and config_rules_explain() deciding as config_rules_pass()
 * does, whatever the rules. */
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
#include "config.h"

static char tmpdir[] = "/tmp/mcpgw-test-where-XXXXXX";
static char sysdir[512], sysfile[600], userfile[600];

/* Line numbers below are the 1-based index in these arrays: keep them in step. */
static const char *const sys_lines[] = {
	"policy:",					/* 1 */
	"  pins_file: team-pins.json",			/* 2 */
	"defaults:",					/* 3 */
	"  tools:",					/* 4 */
	"    deny: [\"*_admin\"]",			/* 5 */
	"servers:",					/* 6 */
	"  github:",					/* 7 */
	"    command: /bin/true",			/* 8 */
	"    tools:",					/* 9 */
	"      allow:",					/* 10 */
	"        - \"get_*\"",				/* 11 */
	"        - \"delete_*\"",			/* 12 */
	"      deny:",					/* 13 */
	"        - \"delete_*\"",			/* 14 */
	"  notes:",					/* 15 */
	"    command: /bin/true",			/* 16 */
	NULL
};

static const char *const user_lines[] = {
	"defaults:",					/* 1 */
	"  tools:",					/* 2 */
	"    pin: true",				/* 3 */
	"servers:",					/* 4 */
	"  github:",					/* 5 */
	"    tools:",					/* 6 */
	"      allow: [\"get_*\", \"delete_repo\"]",	/* 7 */
	"      deny: [\"get_secret\"]",			/* 8 */
	"      read_only: true",			/* 9 */
	"  notes:",					/* 10 */
	"    enabled: false",				/* 11 */
	"gateway:",					/* 12 */
	"  clients:",					/* 13 */
	"    user:alice:",				/* 14 */
	"      tools:",					/* 15 */
	"        deny: [\"search_*\"]",			/* 16 */
	"      servers:",				/* 17 */
	"        github:",				/* 18 */
	"          hidden: true",			/* 19 */
	NULL
};

static void
write_lines(const char *path, const char *const *lines)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	for (size_t i = 0; lines[i] != NULL; i++)
		fprintf(fp, "%s\n", lines[i]);
	fclose(fp);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sysdir, sizeof sysdir, "%s/etc", tmpdir);
	mkdir(sysdir, 0700);
	snprintf(sysfile, sizeof sysfile, "%s/policy.d", sysdir);
	mkdir(sysfile, 0700);
	snprintf(sysfile, sizeof sysfile, "%s/policy.d/10-team.yaml", sysdir);
	snprintf(userfile, sizeof userfile, "%s/config.yaml", tmpdir);
	write_lines(sysfile, sys_lines);
	write_lines(userfile, user_lines);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(sysfile);
	unlink(userfile);
	snprintf(sysfile, sizeof sysfile, "%s/policy.d", sysdir);
	rmdir(sysfile);
	rmdir(sysdir);
	rmdir(tmpdir);
	return 0;
}

static struct config *
load_both(struct config_diags *d)
{
	struct config_load_opts o = { userfile, sysdir, 1 };
	struct config *cfg;

	memset(d, 0, sizeof *d);
	cfg = config_load(&o, d);
	if (cfg == NULL)
		config_diags_print(d, stderr);
	assert_non_null(cfg);
	return cfg;
}

static const struct config_server *
server(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, name) == 0)
			return &cfg->servers[i];
	fail_msg("no server %s", name);
	return NULL;
}

static void
expect_loc(const struct config_loc *l, const char *file, int line, const char *path, int system)
{
	assert_non_null(l);
	assert_non_null(l->file);
	assert_string_equal(l->file, file);
	assert_int_equal(l->line, line);
	assert_non_null(l->path);
	assert_string_equal(l->path, path);
	assert_int_equal(l->system, system);
}

/* Every allow layer and deny pattern keeps its file, line, key path and layer through the merge of
 * a user's narrowing and of defaults into the server. */
static void
test_rules_keep_their_places(void **state)
{
	struct config_diags d;
	struct config *cfg = load_both(&d);
	const struct config_server *gh = server(cfg, "github");

	(void)state;
	assert_int_equal(gh->tools.nallow, 2);
	assert_non_null(gh->tools.allow_at);
	expect_loc(&gh->tools.allow_at[0], sysfile, 10, "servers.github.tools.allow", 1);
	expect_loc(&gh->tools.allow_at[1], userfile, 7, "servers.github.tools.allow", 0);
	assert_non_null(gh->tools.allow[0].loc);
	expect_loc(&gh->tools.allow[0].loc[1], sysfile, 12, "servers.github.tools.allow[1]", 1);
	expect_loc(&gh->tools.allow[1].loc[1], userfile, 7, "servers.github.tools.allow[1]", 0);
	assert_string_equal(gh->tools.allow[1].v[1], "delete_repo");

	/* denies add up: the server's own, the user's narrowing, then the defaults */
	assert_int_equal(gh->tools.deny.n, 3);
	assert_non_null(gh->tools.deny.loc);
	assert_string_equal(gh->tools.deny.v[0], "delete_*");
	expect_loc(&gh->tools.deny.loc[0], sysfile, 14, "servers.github.tools.deny[0]", 1);
	assert_string_equal(gh->tools.deny.v[1], "get_secret");
	expect_loc(&gh->tools.deny.loc[1], userfile, 8, "servers.github.tools.deny[0]", 0);
	assert_string_equal(gh->tools.deny.v[2], "*_admin");
	expect_loc(&gh->tools.deny.loc[2], sysfile, 5, "defaults.tools.deny[0]", 1);
	config_free(cfg);
	config_diags_cleanup(&d);
}

static void
test_switches_keep_their_places(void **state)
{
	struct config_diags d;
	struct config *cfg = load_both(&d);
	const struct config_server *gh = server(cfg, "github"), *notes = server(cfg, "notes");

	(void)state;
	assert_true(gh->read_only);
	expect_loc(&gh->read_only_at, userfile, 9, "servers.github.tools.read_only", 0);
	assert_true(gh->pin);
	expect_loc(&gh->pin_at, userfile, 3, "defaults.tools.pin", 0);
	assert_true(gh->enabled);
	assert_null(gh->enabled_at.file);
	assert_false(notes->enabled);
	expect_loc(&notes->enabled_at, userfile, 11, "servers.notes.enabled", 0);
	assert_null(notes->read_only_at.file);

	assert_non_null(cfg->pins_file);
	expect_loc(&cfg->pins_file_at, sysfile, 2, "policy.pins_file", 1);

	assert_int_equal(cfg->nclients, 1);
	const struct config_client *c = &cfg->clients[0];
	assert_int_equal(c->tools.deny.n, 1);
	expect_loc(&c->tools.deny.loc[0], userfile, 16, "gateway.clients.user:alice.tools.deny[0]", 0);
	assert_int_equal(c->nservers, 1);
	assert_true(c->servers[0].hidden);
	expect_loc(&c->servers[0].hidden_at, userfile, 19, "gateway.clients.user:alice.servers.github.hidden", 0);
	config_free(cfg);
	config_diags_cleanup(&d);
}

struct steps {
	struct config_rule_step v[16];
	size_t n, ndecides;
};

static void
record(void *arg, const struct config_rule_step *st)
{
	struct steps *s = arg;

	if (s->n < 16)
		s->v[s->n++] = *st;
	s->ndecides += st->decides != 0;
}

/* The chain --explain prints for github's tools, and the step that decides. */
static void
test_explain_names_the_deciding_rule(void **state)
{
	struct config_diags d;
	struct config *cfg = load_both(&d);
	const struct config_server *gh = server(cfg, "github");
	struct steps s;

	(void)state;
	/* a system deny: the user's allow of delete_repo does not loosen it */
	memset(&s, 0, sizeof s);
	assert_false(config_rules_explain(&gh->tools, "delete_repo", record, &s));
	assert_int_equal(s.n, 5);		/* 2 allow layers, 3 deny patterns */
	assert_false(s.v[0].deny);
	assert_true(s.v[0].matched);
	assert_string_equal(s.v[0].glob, "delete_*");
	assert_true(s.v[1].matched);
	assert_string_equal(s.v[1].glob, "delete_repo");
	assert_true(s.v[2].deny);
	assert_true(s.v[2].matched);
	assert_true(s.v[2].decides);
	expect_loc(s.v[2].at, sysfile, 14, "servers.github.tools.deny[0]", 1);
	assert_false(s.v[3].matched);
	assert_int_equal(s.ndecides, 1);

	/* the user's allow layer leaves it out */
	memset(&s, 0, sizeof s);
	assert_false(config_rules_explain(&gh->tools, "delete_issue", record, &s));
	assert_true(s.v[1].decides == 0 && s.v[2].decides == 1);	/* the deny is named first */
	memset(&s, 0, sizeof s);
	assert_false(config_rules_explain(&gh->tools, "get_secret", record, &s));
	assert_true(s.v[3].decides);
	expect_loc(s.v[3].at, userfile, 8, "servers.github.tools.deny[0]", 0);

	/* no allow of the user's matches and no deny: the allow layer decides */
	static const char *const lines[] = { "servers:", "  x:", "    command: /bin/true",
		"    tools:", "      allow: [\"a*\"]", "      deny: [\"ab\"]", NULL };
	char f[700];
	snprintf(f, sizeof f, "%s/only.yaml", tmpdir);
	write_lines(f, lines);
	struct config_load_opts o = { f, "", 1 };
	struct config_diags d2 = { 0 };
	struct config *c2 = config_load(&o, &d2);
	assert_non_null(c2);
	memset(&s, 0, sizeof s);
	assert_false(config_rules_explain(&c2->servers[0].tools, "zz", record, &s));
	assert_true(s.v[0].decides);
	assert_null(s.v[0].glob);
	expect_loc(s.v[0].at, f, 5, "servers.x.tools.allow", 0);
	memset(&s, 0, sizeof s);
	assert_true(config_rules_explain(&c2->servers[0].tools, "abc", record, &s));
	assert_int_equal(s.ndecides, 0);
	config_free(c2);
	config_diags_cleanup(&d2);
	unlink(f);

	config_free(cfg);
	config_diags_cleanup(&d);
}

/* config_rules_explain answers as config_rules_pass for any rules and name, and names exactly one
 * deciding step when, and only when, the name is refused. */
static void
test_explain_agrees_with_pass(void **state)
{
	static const char *const pats[] = { "a*", "*b", "?", "a?c", "[ab]*", "*", "abc", "c*", "[!a]*",
		"b?" };
	static const char *const names[] = { "a", "b", "ab", "abc", "ba", "c", "cab", "", "bb", "ac" };
	char *allow_v[3][3], *deny_v[3];
	struct config_globs allow[3];
	struct config_rules r;
	unsigned int seed = 12345;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		memset(&r, 0, sizeof r);
		memset(allow, 0, sizeof allow);
		r.nallow = (size_t)(rand_r(&seed) % 4);
		for (size_t i = 0; i < r.nallow; i++) {
			allow[i].n = (size_t)(rand_r(&seed) % 4);
			for (size_t j = 0; j < allow[i].n; j++)
				allow_v[i][j] = (char *)pats[rand_r(&seed) % 10];
			allow[i].v = allow_v[i];
		}
		r.allow = allow;
		r.deny.n = (size_t)(rand_r(&seed) % 4);
		for (size_t j = 0; j < r.deny.n; j++)
			deny_v[j] = (char *)pats[rand_r(&seed) % 10];
		r.deny.v = deny_v;
		for (size_t k = 0; k < 10; k++) {
			struct steps s;
			int pass = config_rules_pass(&r, names[k]);

			memset(&s, 0, sizeof s);
			assert_int_equal(config_rules_explain(&r, names[k], record, &s), pass);
			assert_int_equal(s.n, r.nallow + r.deny.n);
			assert_int_equal(s.ndecides, pass ? 0 : 1);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_keep_their_places),
		cmocka_unit_test(test_switches_keep_their_places),
		cmocka_unit_test(test_explain_names_the_deciding_rule),
		cmocka_unit_test(test_explain_agrees_with_pass),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
