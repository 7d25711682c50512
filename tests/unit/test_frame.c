/* test_frame.c: newline framing keeps every message whole, drops overlong lines whole, and never
 * loses the line after a dropped one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "frame.h"

static struct evbuffer *
buf_with(const char *s)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, s, strlen(s));
	return b;
}

static void
expect_line(struct frame *f, struct evbuffer *b, const char *want)
{
	char *line;
	size_t len;
	assert_int_equal(frame_next(f, b, &line, &len), FRAME_LINE);
	assert_string_equal(line, want);
	assert_int_equal(len, strlen(want));
	free(line);
}

static void
expect_none(struct frame *f, struct evbuffer *b)
{
	char *line;
	size_t len;
	assert_int_equal(frame_next(f, b, &line, &len), FRAME_NEED_MORE);
	assert_null(line);
}

static void
two_lines_in_one_read_come_out_separately(void **state)
{
	struct frame f;
	struct evbuffer *b = buf_with("{\"a\":1}\n{\"b\":2}\n");
	frame_init(&f, 100);
	expect_line(&f, b, "{\"a\":1}");
	expect_line(&f, b, "{\"b\":2}");
	expect_none(&f, b);
	evbuffer_free(b);
}

static void
partial_line_waits_for_its_newline(void **state)
{
	struct frame f;
	struct evbuffer *b = buf_with("{\"a\":");
	frame_init(&f, 100);
	expect_none(&f, b);
	evbuffer_add(b, "1}", 2);
	expect_none(&f, b);
	evbuffer_add(b, "\n", 1);
	expect_line(&f, b, "{\"a\":1}");
	evbuffer_free(b);
}

static void
crlf_is_accepted(void **state)
{
	struct frame f;
	struct evbuffer *b = buf_with("x\r\n");
	frame_init(&f, 100);
	expect_line(&f, b, "x");
	evbuffer_free(b);
}

static void
line_at_the_bound_passes_one_over_is_dropped(void **state)
{
	struct frame f;
	char *line;
	size_t len;
	struct evbuffer *b = buf_with("12345\n123456\nok\n");
	frame_init(&f, 5);
	expect_line(&f, b, "12345");
	assert_int_equal(frame_next(&f, b, &line, &len), FRAME_OVERLONG);
	expect_line(&f, b, "ok");
	evbuffer_free(b);
}

static void
overlong_line_arriving_in_pieces_is_reported_once_and_the_next_survives(void **state)
{
	struct frame f;
	char *line;
	size_t len;
	int overlong = 0;
	struct evbuffer *b = evbuffer_new();
	frame_init(&f, 8);
	for (int i = 0; i < 10; i++) {
		evbuffer_add(b, "abcdefgh", 8);
		enum frame_result r;
		while ((r = frame_next(&f, b, &line, &len)) != FRAME_NEED_MORE) {
			assert_int_equal(r, FRAME_OVERLONG);
			overlong++;
		}
	}
	evbuffer_add(b, "tail\nnext\n", 10);
	enum frame_result r = frame_next(&f, b, &line, &len);
	/* the rest of the long line ("tail") is dropped silently; "next" comes through */
	if (r == FRAME_OVERLONG) {
		overlong++;
		r = frame_next(&f, b, &line, &len);
	}
	assert_int_equal(r, FRAME_LINE);
	assert_string_equal(line, "next");
	free(line);
	assert_int_equal(overlong, 1);
	evbuffer_free(b);
}

static void
empty_line_is_a_line(void **state)
{
	struct frame f;
	struct evbuffer *b = buf_with("\n");
	frame_init(&f, 5);
	expect_line(&f, b, "");
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_lines_in_one_read_come_out_separately),
		cmocka_unit_test(partial_line_waits_for_its_newline),
		cmocka_unit_test(crlf_is_accepted),
		cmocka_unit_test(line_at_the_bound_passes_one_over_is_dropped),
		cmocka_unit_test(overlong_line_arriving_in_pieces_is_reported_once_and_the_next_survives),
		cmocka_unit_test(empty_line_is_a_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
