/* test_toml.c: the TOML reader of `mcpgw import codex` reads what the TOML spec's examples hold,
 * refuses what the spec calls invalid with the right line and column, and keeps its bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "toml.h"

static json_t *
ok(const char *text)
{
	struct toml_error e;
	json_t *d = toml_parse(text, strlen(text), &e);

	if (d == NULL)
		fail_msg("unexpected error %d:%d: %s in:\n%s", e.line, e.col, e.msg, text);
	return d;
}

/* Parses text, which must fail at line:col with a message containing `part`. */
static void
bad(const char *text, int line, int col, const char *part)
{
	struct toml_error e;
	json_t *d = toml_parse(text, strlen(text), &e);

	if (d != NULL) {
		json_decref(d);
		fail_msg("accepted invalid TOML:\n%s", text);
	}
	if (e.line != line || e.col != col || strstr(e.msg, part) == NULL)
		fail_msg("got %d:%d: %s; wanted %d:%d: ...%s... for:\n%s", e.line, e.col, e.msg, line, col, part, text);
}

/* The document as compact JSON, compared with `want`. */
static void
same(const char *text, const char *want)
{
	json_t *d = ok(text);
	char *got = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);

	if (strcmp(got, want) != 0)
		fail_msg("got %s\nwanted %s\nfor:\n%s", got, want, text);
	free(got);
	json_decref(d);
}

static void
codex_config_with_three_servers(void **st)
{
	same("model = \"o3\"  # a comment\n"
	    "[mcp_servers.serena]\n"
	    "command = \"uvx\"\n"
	    "args = [\"--from\", \"git+https://github.com/oraios/serena\",\n"
	    "  \"serena\", # comment inside an array\n"
	    "]\n"
	    "startup_timeout_sec = 120\n"
	    "[mcp_servers.github]\n"
	    "url = 'https://api.githubcopilot.com/mcp/'\n"
	    "env = { A = \"1\", \"B.C\" = \"2\" }\n"
	    "[mcp_servers.\"x y\".tools.search]\n"
	    "approval_mode = \"approve\"\n",
	    "{\"mcp_servers\":{\"github\":{\"env\":{\"A\":\"1\",\"B.C\":\"2\"},\"url\":\"https://api.githubcopilot.com/mcp/\"},"
	    "\"serena\":{\"args\":[\"--from\",\"git+https://github.com/oraios/serena\",\"serena\"],\"command\":\"uvx\","
	    "\"startup_timeout_sec\":120},\"x y\":{\"tools\":{\"search\":{\"approval_mode\":\"approve\"}}}},\"model\":\"o3\"}");
}

static void
basic_string_escapes(void **st)
{
	same("s = \"tab\\tquote\\\"back\\\\slash\\u00e9\\U0001F600\\e\\x41\"",
	    "{\"s\":\"tab\\tquote\\\"back\\\\slash\xc3\xa9\xf0\x9f\x98\x80\\u001BA\"}");
}

static void
literal_strings_keep_backslashes(void **st)
{
	same("p = 'C:\\Users\\nodejs\\templates'\nr = '<\\i\\c*\\s*>'",
	    "{\"p\":\"C:\\\\Users\\\\nodejs\\\\templates\",\"r\":\"<\\\\i\\\\c*\\\\s*>\"}");
}

static void
multiline_strings_trim_and_join(void **st)
{
	same("a = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n"
	    "b = \"\"\"\\\n   The quick brown \\\n\n   fox.\\\n   \"\"\"\n"
	    "c = \"\"\"Here are two quotes: \"\". Five: \"\"\\\"\"\".\"\"\"\n"
	    "d = '''\nThe first newline is\ntrimmed.'''\n"
	    "e = ''''That,' she said.''''\n"
	    "f = \"\"\"x\"\"\"\"\"\n",
	    "{\"a\":\"Roses are red\\nViolets are blue\",\"b\":\"The quick brown fox.\","
	    "\"c\":\"Here are two quotes: \\\"\\\". Five: \\\"\\\"\\\"\\\"\\\".\","
	    "\"d\":\"The first newline is\\ntrimmed.\",\"e\":\"'That,' she said.'\",\"f\":\"x\\\"\\\"\"}");
}

static void
crlf_line_ends(void **st)
{
	same("a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n", "{\"a\":1,\"b\":\"x\\ny\"}");
}

static void
integers_in_every_base(void **st)
{
	same("a = +99\nb = -17\nc = 0\nd = 1_000\ne = 0xDEAD_beef\nf = 0o755\ng = 0b1101\n"
	    "h = 9223372036854775807\ni = -9223372036854775808",
	    "{\"a\":99,\"b\":-17,\"c\":0,\"d\":1000,\"e\":3735928559,\"f\":493,\"g\":13,"
	    "\"h\":9223372036854775807,\"i\":-9223372036854775808}");
}

static void
floats_and_special_values(void **st)
{
	json_t *d = ok("a = 3.1415\nb = -0.01\nc = 5e+22\nd = 6.626e-34\ne = 224_617.445_991\n"
	    "f = inf\ng = -inf\nh = nan\ni = 1e06");

	assert_true(json_real_value(json_object_get(d, "a")) == 3.1415);
	assert_true(json_real_value(json_object_get(d, "c")) == 5e22);
	assert_true(json_real_value(json_object_get(d, "e")) == 224617.445991);
	assert_true(json_real_value(json_object_get(d, "i")) == 1e6);
	assert_string_equal(json_string_value(json_object_get(d, "f")), "inf");
	assert_string_equal(json_string_value(json_object_get(d, "g")), "-inf");
	assert_string_equal(json_string_value(json_object_get(d, "h")), "nan");
	json_decref(d);
}

static void
booleans_and_dates_as_text(void **st)
{
	same("t = true\nf = false\nodt = 1979-05-27T07:32:00Z\nsp = 1979-05-27 07:32:00.999999-07:00\n"
	    "ld = 1979-05-27\nlt = 07:32:00\nshort = 07:32",
	    "{\"f\":false,\"ld\":\"1979-05-27\",\"lt\":\"07:32:00\",\"odt\":\"1979-05-27T07:32:00Z\","
	    "\"short\":\"07:32\",\"sp\":\"1979-05-27 07:32:00.999999-07:00\",\"t\":true}");
}

static void
dotted_keys_and_subtables(void **st)
{
	same("fruit.apple.color = \"red\"\nfruit.apple.taste.sweet = true\n"
	    "[fruit.apple.texture]\nsmooth = true\n",
	    "{\"fruit\":{\"apple\":{\"color\":\"red\",\"taste\":{\"sweet\":true},\"texture\":{\"smooth\":true}}}}");
	/* a super-table may be defined after its sub-table */
	same("[x.y.z.w]\na = 1\n[x]\nb = 2\n", "{\"x\":{\"b\":2,\"y\":{\"z\":{\"w\":{\"a\":1}}}}}");
	/* whitespace around dots, quoted parts */
	same("a . \"b.c\" . 'd' = 1", "{\"a\":{\"b.c\":{\"d\":1}}}");
}

static void
arrays_of_tables(void **st)
{
	same("[[products]]\nname = \"Hammer\"\n[[products]]\n[[products]]\nname = \"Nail\"\n"
	    "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"x\"\n",
	    "{\"fruits\":[{\"name\":\"apple\",\"physical\":{\"color\":\"red\"},\"varieties\":[{\"name\":\"x\"}]}],"
	    "\"products\":[{\"name\":\"Hammer\"},{},{\"name\":\"Nail\"}]}");
}

static void
inline_tables_with_toml11_newlines(void **st)
{
	same("p = { x = 1, y.z = 2, q = [1, {a = 'b'}] }\n"
	    "m = {\n  a = 1,\n  b = 2,\n}\n",
	    "{\"m\":{\"a\":1,\"b\":2},\"p\":{\"q\":[1,{\"a\":\"b\"}],\"x\":1,\"y\":{\"z\":2}}}");
}

static void
bom_and_empty_documents(void **st)
{
	same("", "{}");
	same("\xef\xbb\xbf# only a comment\n\n", "{}");
	same("\"\" = 'empty key'", "{\"\":\"empty key\"}");
}

static void
errors_name_line_and_column(void **st)
{
	bad("a = 1\nb = \"unterminated\n", 2, 5, "unterminated string");
	bad("a = 1\na = 2\n", 2, 1, "defined twice");
	bad("[t]\nx = 1\n[t]\n", 3, 1, "defined twice");
	bad("a = 1 b = 2\n", 1, 7, "end of the line");
	bad("x = [1, 2\n", 2, 1, "unterminated array");
	bad("x = [1 2]\n", 1, 8, "expected ','");
	bad("k = hello\n", 1, 5, "needs quotes");
	bad("k =\n", 1, 4, "expected a value");
	bad("= 1\n", 1, 1, "expected a key");
	bad("s = \"\\q\"\n", 1, 6, "invalid escape");
	bad("s = \"\\uD800\"\n", 1, 6, "not a Unicode scalar");
	bad("s = \"\\u0000\"\n", 1, 6, "NUL");
	bad("n = 012\n", 1, 5, "leading zeros");
	bad("n = 1__2\n", 1, 5, "invalid value");
	bad("n = 9223372036854775808\n", 1, 5, "out of range");
	bad("n = -0x10\n", 1, 5, "takes no sign");
	bad("n = 1.\n", 1, 5, "invalid value");
	bad("d = 1979-02-30\n", 1, 5, "invalid date");
	bad("\xc3\xa9 = 1\n", 1, 1, "bare key");
	bad("k = 1\n# \x01 control\n", 2, 3, "control character");
	bad("k = \"a\xff\"\n", 1, 7, "invalid UTF-8");
	bad("k = 'x'\r\n  k2 = 1\rk3 = 2", 2, 9, "carriage return");
}

static void
tables_cannot_be_redefined_or_extended(void **st)
{
	/* TOML 1.0 §Table: dotted keys cannot reopen a [header] table, nor the reverse */
	bad("[fruit]\napple.color = \"red\"\n[fruit.apple]\n", 3, 1, "defined by dotted keys");
	bad("[a.b.c]\nz = 9\n[a]\nb.c.t = 9\n", 4, 1, "cannot add keys");
	bad("a = {x = 1}\na.y = 2\n", 2, 1, "inline table");
	bad("a = {x = 1}\n[a.b]\n", 2, 1, "inline table");
	bad("a = [1]\n[[a]]\n", 2, 1, "array value");
	bad("[[a]]\n[a]\n", 2, 1, "defined twice");
	bad("a = 1\n[a.b]\n", 2, 1, "a value");
	bad("t = {a = 1, a = 2}\n", 1, 13, "defined twice");
}

static void
bounds_hold(void **st)
{
	char *deep = malloc(200), *big;
	struct toml_error e;
	size_t n = 0;

	n += (size_t)sprintf(deep, "a = ");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	bad(deep, 1, 5 + TOML_MAX_DEPTH, "nested deeper");
	free(deep);

	bad("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.aa.bb.cc.dd.ee.ff.gg = 1\n", 1, 71,
	    "more than 32 parts");

	big = malloc(TOML_MAX_INPUT + 2);
	memset(big, '#', TOML_MAX_INPUT + 1);
	assert_null(toml_parse(big, TOML_MAX_INPUT + 1, &e));
	assert_int_equal(e.line, 0);
	assert_non_null(strstr(e.msg, "larger than"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(codex_config_with_three_servers),
		cmocka_unit_test(basic_string_escapes),
		cmocka_unit_test(literal_strings_keep_backslashes),
		cmocka_unit_test(multiline_strings_trim_and_join),
		cmocka_unit_test(crlf_line_ends),
		cmocka_unit_test(integers_in_every_base),
		cmocka_unit_test(floats_and_special_values),
		cmocka_unit_test(booleans_and_dates_as_text),
		cmocka_unit_test(dotted_keys_and_subtables),
		cmocka_unit_test(arrays_of_tables),
		cmocka_unit_test(inline_tables_with_toml11_newlines),
		cmocka_unit_test(bom_and_empty_documents),
		cmocka_unit_test(errors_name_line_and_column),
		cmocka_unit_test(tables_cannot_be_redefined_or_extended),
		cmocka_unit_test(bounds_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
