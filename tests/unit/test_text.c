/* test_text.c: model-visible text loses hidden and deceptive characters and keeps the rest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "text.h"

static void
check(const char *in, size_t max, const char *want)
{
	char *out = text_clean(in, strlen(in), max);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void plain_text_is_unchanged(void **s) { check("Echoes back\n\tthe input", 100, "Echoes back\n\tthe input"); }
static void ansi_escape_loses_its_esc(void **s) { check("a\x1b[31mred", 100, "a[31mred"); }
static void c1_controls_are_removed(void **s) { check("a\xc2\x85" "b", 100, "ab"); }
static void bidi_override_is_removed(void **s) { check("safe\xe2\x80\xae" "evil", 100, "safeevil"); }
static void zero_width_space_is_removed(void **s) { check("ig\xe2\x80\x8bnore", 100, "ignore"); }
static void bom_and_tags_are_removed(void **s) { check("\xef\xbb\xbfx\xf3\xa0\x80\x81y", 100, "xy"); }
static void invalid_utf8_becomes_replacement(void **s) { check("a\xffz", 100, "a\xef\xbf\xbdz"); }
static void overlong_encoding_is_invalid(void **s) { check("\xc0\xaf", 100, "\xef\xbf\xbd\xef\xbf\xbd"); }
static void non_ascii_text_is_kept(void **s) { check("caf\xc3\xa9 \xe6\x97\xa5", 100, "caf\xc3\xa9 \xe6\x97\xa5"); }
static void long_text_is_cut_with_a_mark(void **s) { check("abcdefghij", 8, "abcde..."); }
static void cut_never_splits_a_character(void **s) { check("ab\xc3\xa9\xc3\xa9\xc3\xa9", 7, "ab\xc3\xa9..."); check("ab\xc3\xa9\xc3\xa9\xc3\xa9", 6, "ab..."); }

static void a_cap_below_the_mark_cuts_without_it(void **s) { check("abc", 2, "ab"); check("a", 0, ""); check("\xc3\xa9x", 1, ""); }
/* JSON's \u0000 is valid inside a string: a NUL is removed like any control, and the rest kept. */
static void nul_is_removed_and_the_rest_kept(void **s)
{
	static const char in[] = "before\0after\0\x1b[1m!";
	char *out = text_clean(in, sizeof in - 1, 100);
	assert_string_equal(out, "beforeafter[1m!");
	free(out);
	out = text_clean(in, sizeof in - 1, 8);	/* the cap counts what is kept, not the NULs */
	assert_string_equal(out, "befor...");
	free(out);
}

static void variation_selectors_and_fillers_are_removed(void **s)
{
	check("a\xef\xb8\x8f" "b\xf3\xa0\x84\x80" "c", 100, "abc");	/* U+FE0F, U+E0100 */
	check("x\xe3\x85\xa4y\xe1\xa0\x8ez", 100, "xyz");		/* U+3164, U+180E */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_text_is_unchanged),
		cmocka_unit_test(ansi_escape_loses_its_esc),
		cmocka_unit_test(c1_controls_are_removed),
		cmocka_unit_test(bidi_override_is_removed),
		cmocka_unit_test(zero_width_space_is_removed),
		cmocka_unit_test(bom_and_tags_are_removed),
		cmocka_unit_test(invalid_utf8_becomes_replacement),
		cmocka_unit_test(overlong_encoding_is_invalid),
		cmocka_unit_test(non_ascii_text_is_kept),
		cmocka_unit_test(long_text_is_cut_with_a_mark),
		cmocka_unit_test(cut_never_splits_a_character),
		cmocka_unit_test(a_cap_below_the_mark_cuts_without_it),
		cmocka_unit_test(variation_selectors_and_fillers_are_removed),
		cmocka_unit_test(nul_is_removed_and_the_rest_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
