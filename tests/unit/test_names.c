/* test_names.c: proves the exposed-name rule of DESIGN §4: sanitising, prefixes, shortening
 * and collisions with a deterministic SHA-256 suffix, first come keeps its name, and both
 * directions of lookup. Hash suffixes are written out as constants so that a drift on any
 * machine shows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "names.h"

static int
setup_table(void **state)
{
	*state = names_new("__", 64);
	return *state == NULL ? -1 : 0;
}

static int
teardown_table(void **state)
{
	names_free(*state);
	return 0;
}

static void
assert_name_charset(const char *s)
{
	for (; *s != '\0'; s++)
		assert_true((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_');
}

static void
assert_routes_to(const struct names *t, const char *exposed, int server, const char *orig)
{
	int srv = -1;
	const char *o = NULL;

	assert_int_equal(names_lookup(t, exposed, &srv, &o), 0);
	assert_int_equal(srv, server);
	assert_string_equal(o, orig);
	assert_string_equal(names_exposed(t, server, orig), exposed);
}

struct sanitize_case {
	const char *name;
	const char *in;
	const char *out;
};

static const struct sanitize_case sanitize_cases[] = {
	{ "sanitize_keeps_word_characters", "Read_File_2", "Read_File_2" },
	{ "sanitize_replaces_dash_dot_slash_space", "get-env.v2/x y", "get_env_v2_x_y" },
	{ "sanitize_replaces_each_utf8_character_once", "caf\xc3\xa9", "caf_" },
	{ "sanitize_four_byte_character_is_one_underscore", "a\xf0\x9f\x98\x80" "b", "a_b" },
	{ "sanitize_invalid_utf8_bytes_count_one_each", "a\xff\xc3" "b", "a__b" },
	{ "sanitize_replaces_control_and_high_bytes", "a\x01\x7f\xff" "b", "a___b" },
	{ "sanitize_of_empty_is_empty", "", "" },
	{ "sanitize_of_null_is_empty", NULL, "" },
};

static void
test_sanitize_case(void **state)
{
	const struct sanitize_case *c = *state;
	char *s = names_sanitize(c->in);

	assert_non_null(s);
	assert_string_equal(s, c->out);
	free(s);
}

static void
test_plain_name_is_prefix_separator_name(void **state)
{
	struct names *t = *state;
	int changed = -1;

	assert_string_equal(names_add(t, 0, "fs", "fs", "read_file", NULL, &changed), "fs__read_file");
	assert_int_equal(changed, 0);
	assert_int_equal(names_count(t), 1);
	assert_routes_to(t, "fs__read_file", 0, "read_file");
}

static void
test_empty_prefix_exposes_bare_name(void **state)
{
	struct names *t = *state;
	int changed = -1;

	assert_string_equal(names_add(t, 0, "fs", "", "read_file", NULL, &changed), "read_file");
	assert_int_equal(changed, 0);
	assert_string_equal(names_add(t, 0, "fs", NULL, "write_file", NULL, NULL), "write_file");
	assert_routes_to(t, "read_file", 0, "read_file");
}

static void
test_characters_are_substituted_without_counting_as_change(void **state)
{
	struct names *t = *state;
	int changed = -1;
	const char *e;

	e = names_add(t, 0, "my-srv", "my-srv", "get-env.v2", NULL, &changed);
	assert_string_equal(e, "my_srv__get_env_v2");
	assert_int_equal(changed, 0);
	e = names_add(t, 0, "my-srv", "my-srv", "caf\xc3\xa9", NULL, &changed);
	assert_string_equal(e, "my_srv__caf_");
	assert_int_equal(changed, 0);
	assert_routes_to(t, "my_srv__get_env_v2", 0, "get-env.v2");
	assert_routes_to(t, "my_srv__caf_", 0, "caf\xc3\xa9");
}

static void
test_empty_name_becomes_underscore(void **state)
{
	struct names *t = *state;

	assert_string_equal(names_add(t, 0, "s", "s", "", NULL, NULL), "s___");
	assert_string_equal(names_add(t, 1, "u", "", "", NULL, NULL), "_");
	assert_routes_to(t, "s___", 0, "");
	assert_routes_to(t, "_", 1, "");
}

static void
test_separator_is_sanitised_too(void **state)
{
	struct names *t = names_new(".", 64);

	assert_non_null(t);
	assert_string_equal(names_add(t, 0, "fs", "fs", "read", NULL, NULL), "fs_read");
	names_free(t);
}

static void
test_long_name_is_shortened_to_exactly_max_len_with_hash(void **state)
{
	struct names *t = *state;
	char name[101], want[65];
	const char *e;
	int changed = 0;

	memset(name, 'a', 100);
	name[100] = '\0';
	/* head = first 64 - 9 = 55 bytes of "fs__aaa...", then "_" and SHA-256("fs/a*100")[0..8). */
	snprintf(want, sizeof want, "fs__%.51s_13783119", name);
	e = names_add(t, 0, "fs", "fs", name, NULL, &changed);
	assert_non_null(e);
	assert_int_equal(strlen(e), 64);
	assert_string_equal(e, want);
	assert_int_equal(changed, 1);
	assert_routes_to(t, want, 0, name);
}

static void
test_name_of_exactly_max_len_is_kept_and_one_more_is_hashed(void **state)
{
	struct names *t = *state;
	char name[64];
	const char *e;
	int changed = -1;

	memset(name, 'b', 60);	/* "fs__" + 60 = 64 */
	name[60] = '\0';
	e = names_add(t, 0, "fs", "fs", name, NULL, &changed);
	assert_int_equal(strlen(e), 64);
	assert_int_equal(changed, 0);
	assert_string_equal(e + 4, name);

	name[60] = 'b';
	name[61] = '\0';
	e = names_add(t, 0, "fs", "fs", name, NULL, &changed);
	assert_int_equal(strlen(e), 64);
	assert_int_equal(changed, 1);
	assert_int_equal(e[55], '_');
	assert_memory_equal(e, "fs__bbbb", 8);
}

static void
test_collision_in_one_server_hashes_the_second(void **state)
{
	struct names *t = *state;
	int changed = -1;

	assert_string_equal(names_add(t, 0, "srv", "srv", "a-b", NULL, &changed), "srv__a_b");
	assert_int_equal(changed, 0);
	/* Short, so the head is the whole plain form: "srv__a_b" + "_" + SHA-256("srv/a_b"). */
	assert_string_equal(names_add(t, 0, "srv", "srv", "a_b", NULL, &changed), "srv__a_b_919c72f4");
	assert_int_equal(changed, 1);
	assert_routes_to(t, "srv__a_b", 0, "a-b");
	assert_routes_to(t, "srv__a_b_919c72f4", 0, "a_b");
}

static void
test_earlier_server_keeps_its_name(void **state)
{
	struct names *t = *state;
	int changed = -1;

	/* Two keys that sanitise to one prefix: config order decides, the later one is hashed. */
	assert_string_equal(names_add(t, 0, "dup-a", "dup_a", "echo", NULL, &changed), "dup_a__echo");
	assert_int_equal(changed, 0);
	assert_string_equal(names_add(t, 1, "dup_a", "dup_a", "echo", NULL, &changed),
	    "dup_a__echo_a0d3ac42");
	assert_int_equal(changed, 1);
	assert_routes_to(t, "dup_a__echo", 0, "echo");
	assert_routes_to(t, "dup_a__echo_a0d3ac42", 1, "echo");
}

static void
test_second_collision_mixes_a_counter_into_the_hash(void **state)
{
	struct names *t = *state;
	int changed = -1;

	/* Take the plain form, then the first hashed form, of "a_b" before "a_b" arrives. */
	assert_string_equal(names_add(t, 0, "s", "s", "a-b", NULL, NULL), "s__a_b");
	assert_string_equal(names_add(t, 0, "s", "s", "a_b_e5b6af1d", NULL, NULL), "s__a_b_e5b6af1d");
	/* SHA-256("s/a_b#1") */
	assert_string_equal(names_add(t, 0, "s", "s", "a_b", NULL, &changed), "s__a_b_1e59b3dd");
	assert_int_equal(changed, 1);
	assert_routes_to(t, "s__a_b_1e59b3dd", 0, "a_b");
	assert_int_equal(names_count(t), 3);
}

static void
test_lookup_and_reverse_lookup(void **state)
{
	struct names *t = *state;
	int srv = 99;
	const char *orig = "untouched";

	names_add(t, 0, "a", "a", "x", NULL, NULL);
	names_add(t, 1, "b", "b", "x", NULL, NULL);
	assert_routes_to(t, "a__x", 0, "x");
	assert_routes_to(t, "b__x", 1, "x");
	assert_int_equal(names_lookup(t, "c__x", &srv, &orig), -1);
	assert_int_equal(srv, 99);
	assert_string_equal(orig, "untouched");
	assert_int_equal(names_lookup(t, "a__x", NULL, NULL), 0);
	assert_null(names_exposed(t, 2, "x"));
	assert_null(names_exposed(t, 0, "y"));
	assert_int_equal(names_lookup(t, "A__X", NULL, NULL), -1);	/* case-sensitive */
}

static void
test_rename_hint_replaces_the_name_but_routes_to_the_original(void **state)
{
	struct names *t = *state;
	char hint[80];
	const char *e;
	int changed = -1;

	assert_string_equal(names_add(t, 0, "fs", "fs", "read_file", "open-it", &changed), "fs__open_it");
	assert_int_equal(changed, 0);
	assert_routes_to(t, "fs__open_it", 0, "read_file");
	assert_int_equal(names_lookup(t, "fs__read_file", NULL, NULL), -1);

	/* A hint too long is shortened like a name; the hash still comes from the original. */
	memset(hint, 'h', 79);
	hint[79] = '\0';
	e = names_add(t, 0, "fs", "fs", "write_file", hint, &changed);
	assert_int_equal(strlen(e), 64);
	assert_int_equal(changed, 1);
	assert_routes_to(t, e, 0, "write_file");
}

static void
test_adding_the_same_upstream_name_twice_gives_one_entry(void **state)
{
	struct names *t = *state;
	const char *a, *b;
	int changed = -1;

	a = names_add(t, 0, "fs", "fs", "x", NULL, NULL);
	b = names_add(t, 0, "fs", "fs", "x", NULL, &changed);
	assert_ptr_equal(a, b);
	assert_int_equal(changed, 0);
	assert_int_equal(names_count(t), 1);
}

/* The same calls in the same order give the same names in two independent tables. */
static void
add_mixed_sequence(struct names *t, const char **out, int n)
{
	static const char *const names[] = { "read-file", "read_file", "read.file", "x", "x",
	    "a-very-long-tool-name-that-goes-on-and-on-well-past-sixty-four-bytes-of-exposed-name",
	    "", "\xe2\x9c\x93" };
	int i;

	for (i = 0; i < n; i++) {
		const char *key = i % 2 ? "dup-a" : "dup_a";

		out[i] = names_add(t, i % 2, key, "dup_a", names[i % 8], NULL, NULL);
		assert_non_null(out[i]);
	}
}

static void
test_same_inputs_give_same_names_in_two_tables(void **state)
{
	struct names *t1 = names_new("__", 64), *t2 = names_new("__", 64);
	const char *a[32], *b[32];
	int i;

	add_mixed_sequence(t1, a, 32);
	add_mixed_sequence(t2, b, 32);
	assert_int_equal(names_count(t1), names_count(t2));
	for (i = 0; i < 32; i++)
		assert_string_equal(a[i], b[i]);
	names_free(t1);
	names_free(t2);
}

/* Every seventh name is too long for 64 bytes. */
static void
tool_name(char *buf, size_t size, int i)
{
	if (i % 7 != 0)
		snprintf(buf, size, "tool-%d", i % 500);
	else
		snprintf(buf, size, "tool-%d-%060d", i % 500, i);
}

static void
test_five_thousand_names_all_route_back(void **state)
{
	struct names *t = *state;
	char name[96];
	const char *e;
	int srv, i, shortened = 0;

	/* 10 servers sharing 5 prefixes so that half the names collide, some of them long. */
	for (i = 0; i < 5000; i++) {
		int server = i / 500;
		char key[16], prefix[16];

		snprintf(key, sizeof key, "srv-%d", server);
		snprintf(prefix, sizeof prefix, "p%d", server / 2);
		tool_name(name, sizeof name, i);
		e = names_add(t, server, key, prefix, name, NULL, NULL);
		assert_non_null(e);
		assert_true(strlen(e) <= 64);
		assert_name_charset(e);
	}
	assert_int_equal(names_count(t), 5000);
	for (i = 0; i < 5000; i++) {
		const char *orig;

		srv = i / 500;
		tool_name(name, sizeof name, i);
		e = names_exposed(t, srv, name);
		assert_non_null(e);
		assert_int_equal(names_lookup(t, e, &srv, &orig), 0);	/* unique: routes back */
		assert_int_equal(srv, i / 500);
		assert_string_equal(orig, name);
		shortened += strlen(e) == 64;
	}
	assert_true(shortened > 0);
}

static void
test_reset_forgets_everything_and_reassigns_the_same_names(void **state)
{
	struct names *t = *state;
	char first[2][80];

	snprintf(first[0], sizeof first[0], "%s", names_add(t, 0, "srv", "srv", "a-b", NULL, NULL));
	snprintf(first[1], sizeof first[1], "%s", names_add(t, 0, "srv", "srv", "a_b", NULL, NULL));
	names_reset(t);
	assert_int_equal(names_count(t), 0);
	assert_int_equal(names_lookup(t, first[0], NULL, NULL), -1);
	assert_null(names_exposed(t, 0, "a-b"));
	assert_string_equal(names_add(t, 0, "srv", "srv", "a-b", NULL, NULL), first[0]);
	assert_string_equal(names_add(t, 0, "srv", "srv", "a_b", NULL, NULL), first[1]);
	assert_int_equal(names_count(t), 2);
	names_reset(t);
	names_reset(t);
	names_reset(NULL);
	names_free(NULL);
}

/* What a server whose names are not known yet may still take (DESIGN §4 while it starts). */
static void
test_what_a_starting_server_may_take(void **state)
{
	struct names *t = *state;

	assert_int_equal(names_may_take(t, "", "", "echo"), 1);		/* unprefixed: anything */
	assert_int_equal(names_may_take(t, "", "gh", "search"), 1);
	assert_int_equal(names_may_take(t, "gh", "", "gh__search"), 1);	/* a bare name in its range */
	assert_int_equal(names_may_take(t, "gh", "", "search"), 0);
	assert_int_equal(names_may_take(t, "gh", "gl", "search"), 0);
	assert_int_equal(names_may_take(t, "gh", "ghe", "search"), 0);	/* ghe__ is not gh__ */
	assert_int_equal(names_may_take(t, "dup-a", "dup_a", "x"), 1);	/* the same once sanitised */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_table, teardown_table)

static const struct CMUnitTest fixed_tests[] = {
	T(test_plain_name_is_prefix_separator_name),
	T(test_empty_prefix_exposes_bare_name),
	T(test_characters_are_substituted_without_counting_as_change),
	T(test_empty_name_becomes_underscore),
	cmocka_unit_test(test_separator_is_sanitised_too),
	T(test_long_name_is_shortened_to_exactly_max_len_with_hash),
	T(test_name_of_exactly_max_len_is_kept_and_one_more_is_hashed),
	T(test_collision_in_one_server_hashes_the_second),
	T(test_earlier_server_keeps_its_name),
	T(test_second_collision_mixes_a_counter_into_the_hash),
	T(test_lookup_and_reverse_lookup),
	T(test_rename_hint_replaces_the_name_but_routes_to_the_original),
	T(test_adding_the_same_upstream_name_twice_gives_one_entry),
	cmocka_unit_test(test_same_inputs_give_same_names_in_two_tables),
	T(test_five_thousand_names_all_route_back),
	T(test_reset_forgets_everything_and_reassigns_the_same_names),
	T(test_what_a_starting_server_may_take),
};

int
main(void)
{
	enum { NSAN = sizeof sanitize_cases / sizeof sanitize_cases[0],
	    NFIXED = sizeof fixed_tests / sizeof fixed_tests[0] };
	struct CMUnitTest tests[NSAN + NFIXED];
	size_t i;

	for (i = 0; i < NSAN; i++)
		tests[i] = (struct CMUnitTest){ sanitize_cases[i].name, test_sanitize_case, NULL, NULL,
		    (void *)&sanitize_cases[i] };
	for (i = 0; i < NFIXED; i++)
		tests[NSAN + i] = fixed_tests[i];
	return _cmocka_run_group_tests("names", tests, NSAN + NFIXED, NULL, NULL);
}
