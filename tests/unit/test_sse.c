/* test_sse.c: the SSE parser gives the same events however the bytes are chunked, accepts every
 * line end, joins data lines, keeps id/event/retry as the WHATWG rules say, and stops with a clean
 * error when a line, an event or an id goes over its bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sse.h"

/* Events flattened into one string: "type|id|data\x1e" per event. */
struct rec {
	char out[8192];
	size_t len;
	int stop_after;		/* >0: ask to stop after this many events */
	int n;
};

static int
rec_cb(void *arg, const struct sse_event *ev)
{
	struct rec *r = arg;
	int k = snprintf(r->out + r->len, sizeof r->out - r->len, "%s|%s|", ev->type, ev->id);
	assert_true(k > 0 && (size_t)k < sizeof r->out - r->len);
	r->len += (size_t)k;
	assert_true(ev->data_len < sizeof r->out - r->len - 2);
	assert_int_equal(strlen(ev->data), ev->data_len);
	memcpy(r->out + r->len, ev->data, ev->data_len);
	r->len += ev->data_len;
	r->out[r->len++] = '\x1e';
	r->out[r->len] = '\0';
	r->n++;
	return r->stop_after > 0 && r->n >= r->stop_after;
}

static const struct sse_opts dflt = { 1024, 4096, 64, 100, 30000 };

static struct sse *
mk(const struct sse_opts *o)
{
	struct sse *s = sse_new(o ? o : &dflt);
	assert_non_null(s);
	return s;
}

/* Parses the whole input in one go. */
static int
parse_all(const char *in, size_t n, struct rec *r, const struct sse_opts *o, long *retry, char *lastid)
{
	struct sse *s = mk(o);
	int rc = sse_feed(s, in, n, rec_cb, r);
	if (retry)
		*retry = sse_retry_ms(s);
	if (lastid)
		strcpy(lastid, sse_last_id(s));
	sse_free(s);
	return rc;
}

static void
expect_events(const char *in, const char *want)
{
	struct rec r = { .len = 0 };
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, NULL, NULL), SSE_OK);
	assert_string_equal(r.out, want);
}

static void
one_event_with_type_id_and_data(void **state)
{
	expect_events("event: message\nid: 7\ndata: {\"a\":1}\n\n", "message|7|{\"a\":1}\x1e");
}

static void
missing_event_field_means_message(void **state)
{
	expect_events("data: x\n\n", "message||x\x1e");
}

static void
crlf_cr_and_lf_line_ends_are_all_accepted(void **state)
{
	expect_events("data: a\r\n\r\ndata: b\r\rdata: c\n\n", "message||a\x1emessage||b\x1emessage||c\x1e");
}

static void
multi_line_data_is_joined_with_lf(void **state)
{
	expect_events("data: {\ndata:  \"a\": 1\ndata: }\n\n", "message||{\n \"a\": 1\n}\x1e");
}

static void
only_one_leading_space_is_removed(void **state)
{
	expect_events("data:no-space\n\ndata:  two\n\n", "message||no-space\x1emessage|| two\x1e");
}

static void
comments_are_ignored(void **state)
{
	expect_events(": keepalive\n\n:another\ndata: x\n: in between\n\n", "message||x\x1e");
}

static void
event_without_data_is_not_dispatched_and_type_resets(void **state)
{
	expect_events("event: endpoint\n\ndata: x\n\n", "message||x\x1e");
}

static void
empty_data_line_dispatches_an_empty_event(void **state)
{
	/* the 2025-11-25 priming event: an id and empty data */
	expect_events("id: p1\ndata: \n\n", "message|p1|\x1e");
	expect_events("id: p1\ndata\n\n", "message|p1|\x1e");
}

static void
id_persists_across_events_and_can_be_cleared(void **state)
{
	expect_events("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
	    "message|1|a\x1emessage|1|b\x1emessage||c\x1e");
}

static void
id_with_nul_is_ignored(void **state)
{
	struct rec r = { .len = 0 };
	static const char in[] = "id: 5\n\nid: a\0b\ndata: x\n\n";
	char last[80];
	assert_int_equal(parse_all(in, sizeof in - 1, &r, NULL, NULL, last), SSE_OK);
	assert_string_equal(r.out, "message|5|x\x1e");
	assert_string_equal(last, "5");
}

static void
unknown_fields_and_lines_without_colon_are_ignored(void **state)
{
	expect_events("foo: bar\nnonsense\ndata: x\n\n", "message||x\x1e");
}

static void
incomplete_last_event_is_not_dispatched(void **state)
{
	expect_events("data: a\n\ndata: b\n", "message||a\x1e");
}

static void
leading_bom_is_skipped_once(void **state)
{
	expect_events("\xEF\xBB\xBF" "data: a\n\n", "message||a\x1e");
	/* a second BOM is part of the field name: an unknown field */
	expect_events("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", "message||b\x1e");
}

static void
retry_is_taken_and_clamped(void **state)
{
	struct rec r = { .len = 0 };
	long retry;
	const char *in = "retry: 2500\n\n";
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, &retry, NULL), SSE_OK);
	assert_int_equal(retry, 2500);
	in = "retry: 5\n\n";
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, &retry, NULL), SSE_OK);
	assert_int_equal(retry, 100);
	in = "retry: 99999999999999999999999999\n\n";
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, &retry, NULL), SSE_OK);
	assert_int_equal(retry, 30000);
	in = "retry: 12a\n\nretry:\n\nretry: -5\n\n";
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, &retry, NULL), SSE_OK);
	assert_int_equal(retry, -1);
	assert_int_equal(r.n, 0);
}

/* The same stream split at every byte boundary into two chunks, and fed one byte at a time,
 * gives the same events as in one piece. */
static void
chunking_at_every_byte_boundary_changes_nothing(void **state)
{
	static const char in[] =
	    "\xEF\xBB\xBF: hello\r\n"
	    "retry: 1500\r\n"
	    "event: message\r\nid: 42\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":1}\r\n\r\n"
	    "data: cr\r\rdata: lf\n\n"
	    "event: endpoint\ndata: /messages?sessionId=abc\n\n"
	    "id: 43\rdata: last\r\r";
	size_t n = sizeof in - 1;
	struct rec whole = { .len = 0 };
	long retry;

	assert_int_equal(parse_all(in, n, &whole, NULL, &retry, NULL), SSE_OK);
	assert_string_equal(whole.out,
	    "message|42|{\"jsonrpc\":\"2.0\",\n\"id\":1}\x1e"
	    "message|42|cr\x1emessage|42|lf\x1e"
	    "endpoint|42|/messages?sessionId=abc\x1e"
	    "message|43|last\x1e");
	assert_int_equal(retry, 1500);
	for (size_t cut = 0; cut <= n; cut++) {
		struct rec r = { .len = 0 };
		struct sse *s = mk(NULL);
		assert_int_equal(sse_feed(s, in, cut, rec_cb, &r), SSE_OK);
		assert_int_equal(sse_feed(s, in + cut, n - cut, rec_cb, &r), SSE_OK);
		assert_string_equal(r.out, whole.out);
		assert_string_equal(sse_last_id(s), "43");
		assert_int_equal(sse_retry_ms(s), 1500);
		sse_free(s);
	}
	{
		struct rec r = { .len = 0 };
		struct sse *s = mk(NULL);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(sse_feed(s, in + i, 1, rec_cb, &r), SSE_OK);
		assert_string_equal(r.out, whole.out);
		sse_free(s);
	}
}

static void
line_at_the_bound_passes_one_over_fails_cleanly(void **state)
{
	struct sse_opts o = { 16, 4096, 64, 100, 30000 };
	struct rec r = { .len = 0 };
	/* "data: " + 10 = 16 bytes: at the bound */
	const char *ok = "data: 0123456789\n\n";
	const char *bad = "data: 0123456789A\n\ndata: x\n\n";
	assert_int_equal(parse_all(ok, strlen(ok), &r, &o, NULL, NULL), SSE_OK);
	assert_string_equal(r.out, "message||0123456789\x1e");
	/* over the bound, in one chunk and byte by byte: an error, no event, and it sticks */
	r = (struct rec){ .len = 0 };
	assert_int_equal(parse_all(bad, strlen(bad), &r, &o, NULL, NULL), SSE_ERR_LINE);
	assert_int_equal(r.n, 0);
	{
		struct sse *s = mk(&o);
		int rc = SSE_OK;
		for (size_t i = 0; i < strlen(bad) && rc == SSE_OK; i++)
			rc = sse_feed(s, bad + i, 1, rec_cb, &r);
		assert_int_equal(rc, SSE_ERR_LINE);
		assert_int_equal(sse_feed(s, "data: y\n\n", 9, rec_cb, &r), SSE_ERR_LINE);
		assert_int_equal(r.n, 0);
		sse_free(s);
	}
	/* a line without its end yet also counts */
	{
		struct sse *s = mk(&o);
		assert_int_equal(sse_feed(s, "data: 0123456789", 16, rec_cb, &r), SSE_OK);
		assert_int_equal(sse_feed(s, "X", 1, rec_cb, &r), SSE_ERR_LINE);
		sse_free(s);
	}
}

static void
event_over_its_bound_fails_cleanly(void **state)
{
	struct sse_opts o = { 64, 10, 64, 100, 30000 };
	struct rec r = { .len = 0 };
	/* 10 bytes of data over two lines ("abcd" "\n" "efghi") is at the bound */
	const char *ok = "data: abcd\ndata: efghi\n\n";
	const char *bad = "data: abcd\ndata: efghij\n\n";
	assert_int_equal(parse_all(ok, strlen(ok), &r, &o, NULL, NULL), SSE_OK);
	assert_string_equal(r.out, "message||abcd\nefghi\x1e");
	r = (struct rec){ .len = 0 };
	assert_int_equal(parse_all(bad, strlen(bad), &r, &o, NULL, NULL), SSE_ERR_EVENT);
	assert_int_equal(r.n, 0);
	assert_string_equal(sse_strerror(SSE_ERR_EVENT), "event over the size bound");
}

static void
id_over_its_bound_fails_cleanly(void **state)
{
	struct sse_opts o = { 1024, 1024, 4, 100, 30000 };
	struct rec r = { .len = 0 };
	const char *ok = "id: abcd\ndata: x\n\n";
	const char *bad = "id: abcde\ndata: x\n\n";
	assert_int_equal(parse_all(ok, strlen(ok), &r, &o, NULL, NULL), SSE_OK);
	assert_int_equal(parse_all(bad, strlen(bad), &r, &o, NULL, NULL), SSE_ERR_ID);
	assert_int_equal(r.n, 1);
}

static void
callback_can_stop_the_parser(void **state)
{
	struct rec r = { .len = 0, .stop_after = 1 };
	const char *in = "data: a\n\ndata: b\n\n";
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, NULL, NULL), SSE_STOPPED);
	assert_string_equal(r.out, "message||a\x1e");
}

static int
big_cb(void *arg, const struct sse_event *ev)
{
	size_t *n = arg;
	assert_int_equal(ev->data_len, *n);
	assert_true(ev->data[0] == 'x' && ev->data[*n - 1] == 'x');
	*n = 0;			/* seen */
	return 0;
}

static void
large_event_in_many_chunks(void **state)
{
	struct sse_opts o = { 1 << 20, 1 << 20, 64, 100, 30000 };
	size_t n = 300000, want = n, total = n + 8;
	char *big = malloc(total);
	struct sse *s = mk(&o);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n);
	memcpy(big + 6 + n, "\n\n", 2);
	for (size_t i = 0; i < total; i += 4093) {
		size_t k = total - i < 4093 ? total - i : 4093;
		assert_int_equal(sse_feed(s, big + i, k, big_cb, &want), SSE_OK);
	}
	assert_int_equal(want, 0);
	sse_free(s);
	free(big);
}

/* Regression (found by fuzz_sse): the id of an event cut off before its blank line must not
 * become Last-Event-ID, or a resumption skips that event's data. */
static void
last_event_id_is_the_last_dispatched_one(void **state)
{
	char last[64];
	struct rec r = { .len = 0 };
	const char *in = "id: 6\ndata: a\n\nid: 7\ndata: b\n";	/* event 7 cut off */
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, NULL, last), SSE_OK);
	assert_string_equal(last, "6");
	in = "id: 6\ndata: a\n\nid: 7\n\n";	/* a blank line dispatches the id even without data */
	assert_int_equal(parse_all(in, strlen(in), &r, NULL, NULL, last), SSE_OK);
	assert_string_equal(last, "7");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_event_with_type_id_and_data),
		cmocka_unit_test(missing_event_field_means_message),
		cmocka_unit_test(crlf_cr_and_lf_line_ends_are_all_accepted),
		cmocka_unit_test(multi_line_data_is_joined_with_lf),
		cmocka_unit_test(only_one_leading_space_is_removed),
		cmocka_unit_test(comments_are_ignored),
		cmocka_unit_test(event_without_data_is_not_dispatched_and_type_resets),
		cmocka_unit_test(empty_data_line_dispatches_an_empty_event),
		cmocka_unit_test(id_persists_across_events_and_can_be_cleared),
		cmocka_unit_test(id_with_nul_is_ignored),
		cmocka_unit_test(unknown_fields_and_lines_without_colon_are_ignored),
		cmocka_unit_test(incomplete_last_event_is_not_dispatched),
		cmocka_unit_test(leading_bom_is_skipped_once),
		cmocka_unit_test(retry_is_taken_and_clamped),
		cmocka_unit_test(chunking_at_every_byte_boundary_changes_nothing),
		cmocka_unit_test(line_at_the_bound_passes_one_over_fails_cleanly),
		cmocka_unit_test(event_over_its_bound_fails_cleanly),
		cmocka_unit_test(id_over_its_bound_fails_cleanly),
		cmocka_unit_test(callback_can_stop_the_parser),
		cmocka_unit_test(large_event_in_many_chunks),
		cmocka_unit_test(last_event_id_is_the_last_dispatched_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
