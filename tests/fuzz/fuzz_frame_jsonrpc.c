/* fuzz_frame_jsonrpc.c: the stdio input path of every peer: bytes arrive in reads of any size, are
 * framed into lines (frame.c) and each line is validated as a JSON-RPC message (jsonrpc.c).
 *
 * Input: a 4-byte header, then the stream.
 *   byte 0      the line bound: 0..127 as is (the overlong path), 128..255 -> 64 * (b - 127) bytes
 *   bytes 1..3  read sizes, used in turn: 1 + b % 64, or the whole rest when b >= 0xf0
 * Checks: the lines and overlong reports are exactly those of a plain split of the stream (so the
 * read sizes change nothing); each line's verdict is consistent with its kind; a valid message
 * dumps to one line that parses again to an equal message of the same kind; replies built for it
 * parse as responses; batch elements classify the same way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "frame.h"
#include "jsonrpc.h"
#include "fuzz.h"

#define HEADER 4

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static void check_msg(const struct jsonrpc_msg *m, int rc, int depth);

/* Nesting depth of a parsed value (a scalar is 0), counting no further than limit + 1. */
static int
json_depth(json_t *j, int limit)
{
	int best = 0, d;

	if (limit < 0)
		return 1;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;

		json_object_foreach(j, k, v)
			if ((d = json_depth(v, limit - 1)) > best)
				best = d;
		return best + 1;
	}
	if (json_is_array(j)) {
		size_t i;
		json_t *v;

		json_array_foreach(j, i, v)
			if ((d = json_depth(v, limit - 1)) > best)
				best = d;
		return best + 1;
	}
	return 0;
}

/* 1 when a key is an envelope key but for ASCII case ("Method", "ID"). */
static int
case_variant(const char *key)
{
	static const char *const env[] = { "jsonrpc", "id", "method", "params", "result", "error" };

	for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
		size_t n = strlen(env[i]), j;

		if (strlen(key) != n || strcmp(key, env[i]) == 0)
			continue;
		for (j = 0; j < n; j++)
			if ((key[j] | 0x20) != env[i][j])
				break;
		if (j == n)
			return 1;
	}
	return 0;
}

/* A valid message written out and read back must be the same message, of the same kind. */
static void
check_roundtrip(const struct jsonrpc_msg *m, int depth)
{
	struct jsonrpc_msg again;
	size_t len;
	char *buf = jsonrpc_dump(m->msg, &len);
	int rc;

	if (buf == NULL)
		abort();
	/* one line: the newline it ends with is the only one, and no NUL before it */
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1) != NULL ||
	    strlen(buf) != len)
		abort();
	rc = jsonrpc_parse(buf, len - 1, &again);
	if (rc != 0 || again.kind != m->kind || !json_equal(again.msg, m->msg))
		abort();
	if (m->kind == JSONRPC_REQUEST || m->kind == JSONRPC_NOTIFICATION)
		if (strcmp(again.method, m->method) != 0)
			abort();
	check_msg(&again, rc, depth);
	jsonrpc_msg_cleanup(&again);
	free(buf);
}

/* Builds a reply or a copy with the builders and checks that it parses as what it should be. */
static void
check_built(json_t *built, enum jsonrpc_kind want)
{
	struct jsonrpc_msg r;
	size_t len;
	char *buf;

	if (built == NULL)
		abort();
	if ((buf = jsonrpc_dump(built, &len)) == NULL)
		abort();
	if (jsonrpc_parse(buf, len - 1, &r) != 0 || r.kind != want)
		abort();
	jsonrpc_msg_cleanup(&r);
	free(buf);
	json_decref(built);
}

static void
check_msg(const struct jsonrpc_msg *m, int rc, int depth)
{
	json_t *o = m->msg, *id;

	if ((rc == 0) != (m->kind != JSONRPC_INVALID))
		abort();
	if (m->kind == JSONRPC_INVALID) {
		if (m->err_code != JSONRPC_PARSE_ERROR && m->err_code != JSONRPC_INVALID_REQUEST &&
		    m->err_code != JSONRPC_INVALID_PARAMS)
			abort();
		if (memchr(m->err_msg, '\0', sizeof m->err_msg) == NULL || m->err_msg[0] == '\0' ||
		    !printable_ascii(m->err_msg))
			abort();
		if (m->method != NULL || m->params != NULL)
			abort();
		/* text that did not parse has no message; anything else keeps it */
		if ((m->err_code == JSONRPC_PARSE_ERROR) != (o == NULL))
			abort();
		/* the error reply carries the id when there is a usable one */
		if (m->id != NULL)
			check_built(jsonrpc_error(m->id, m->err_code, m->err_msg, NULL),
			    JSONRPC_RESPONSE);
		return;
	}
	if (o == NULL || json_depth(o, JSONRPC_MAX_DEPTH) > JSONRPC_MAX_DEPTH)
		abort();
	if (m->kind == JSONRPC_BATCH) {
		if (!json_is_array(o) || json_array_size(o) == 0)
			abort();
		return;
	}
	if (!json_is_object(o))
		abort();
	{
		const char *k;
		json_t *v;

		json_object_foreach(o, k, v)
			if (case_variant(k))
				abort();
	}
	id = json_object_get(o, "id");
	switch (m->kind) {
	case JSONRPC_REQUEST:
	case JSONRPC_NOTIFICATION:
		if (m->method == NULL || *m->method == '\0' ||
		    m->method != json_string_value(json_object_get(o, "method")))
			abort();
		if (m->params != json_object_get(o, "params"))
			abort();
		if (m->params != NULL && !json_is_object(m->params) && !json_is_array(m->params))
			abort();
		if (json_object_get(o, "result") != NULL || json_object_get(o, "error") != NULL)
			abort();
		if (m->kind == JSONRPC_NOTIFICATION) {
			if (id != NULL || m->id != NULL)
				abort();
			break;
		}
		if (m->id == NULL || m->id != id || !(json_is_string(id) || json_is_integer(id)))
			abort();
		if (depth == 0) {
			check_built(jsonrpc_result(m->id, json_object()), JSONRPC_RESPONSE);
			check_built(jsonrpc_error(m->id, JSONRPC_METHOD_NOT_FOUND, "x", NULL),
			    JSONRPC_RESPONSE);
			check_built(jsonrpc_request(m->id, m->method, json_deep_copy(m->params)),
			    JSONRPC_REQUEST);
			check_built(jsonrpc_notification(m->method, json_deep_copy(m->params)),
			    JSONRPC_NOTIFICATION);
		}
		break;
	case JSONRPC_RESPONSE:
		if (m->id == NULL || m->id != id || !(json_is_string(id) || json_is_integer(id)))
			abort();
		if ((json_object_get(o, "result") == NULL) == (json_object_get(o, "error") == NULL))
			abort();
		if (json_object_get(o, "method") != NULL || m->method != NULL)
			abort();
		break;
	default:
		abort();
	}
	if (json_string_value(json_object_get(o, "jsonrpc")) == NULL ||
	    strcmp(json_string_value(json_object_get(o, "jsonrpc")), "2.0") != 0)
		abort();
}

static void
handle_line(const char *line, size_t len)
{
	struct jsonrpc_msg m;
	int rc = jsonrpc_parse(line, len, &m);

	check_msg(&m, rc, 0);
	if (rc == 0)
		check_roundtrip(&m, 1);
	if (m.kind == JSONRPC_BATCH) {
		size_t i;
		json_t *el;

		json_array_foreach(m.msg, i, el) {
			struct jsonrpc_msg e;
			int erc = jsonrpc_classify(el, &e);

			if (e.kind == JSONRPC_BATCH)	/* classify never says batch */
				abort();
			check_msg(&e, erc, 0);
			if (erc == 0)
				check_roundtrip(&e, 1);
			jsonrpc_msg_cleanup(&e);
		}
	}
	jsonrpc_msg_cleanup(&m);
}

/* The expected events: each '\n'-ended line (one trailing '\r' dropped) when it fits, one overlong
 * report when it does not, and one for an unended tail that is already too long. */
struct expect {
	const uint8_t *p, *end;
	size_t max;
};

/* Returns 1 and the next expected line (*line NULL for an overlong report), 0 when none is left. */
static int
expect_next(struct expect *x, const uint8_t **line, size_t *len)
{
	const uint8_t *nl;
	size_t n;

	while (x->p < x->end) {
		nl = memchr(x->p, '\n', (size_t)(x->end - x->p));
		n = nl != NULL ? (size_t)(nl - x->p) : (size_t)(x->end - x->p);
		if (nl == NULL) {
			x->p = x->end;
			if (n > x->max) {
				*line = NULL;
				return 1;
			}
			return 0;
		}
		*line = x->p;
		x->p = nl + 1;
		if (n > x->max) {
			*line = NULL;
			return 1;
		}
		if (n > 0 && (*line)[n - 1] == '\r')
			n--;
		*len = n;
		return 1;
	}
	return 0;
}

static void
got_event(struct expect *x, const char *line, size_t len)
{
	const uint8_t *want;
	size_t wlen = 0;

	if (!expect_next(x, &want, &wlen))
		abort();		/* an event the plain split does not have */
	if ((line == NULL) != (want == NULL))
		abort();
	if (line == NULL)
		return;
	if (len != wlen || memcmp(line, want, len) != 0 || line[len] != '\0' || len > x->max)
		abort();
	handle_line(line, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *in;
	struct frame f;
	struct expect x;
	size_t max, off, turn = 0;
	const uint8_t *wline;
	size_t wlen;

	if (size < HEADER)
		return 0;
	max = data[0] < 128 ? data[0] : 64 * ((size_t)data[0] - 127);
	if ((in = evbuffer_new()) == NULL)
		abort();
	frame_init(&f, max);
	x.p = data + HEADER;
	x.end = data + size;
	x.max = max;

	for (off = HEADER; off < size;) {
		uint8_t b = data[1 + turn++ % 3];
		size_t chunk = b >= 0xf0 ? size - off : 1 + (size_t)(b % 64);
		enum frame_result r;

		if (chunk > size - off)
			chunk = size - off;
		if (evbuffer_add(in, data + off, chunk) != 0)
			abort();
		off += chunk;
		for (;;) {
			char *line;
			size_t len;

			r = frame_next(&f, in, &line, &len);
			if (r == FRAME_NEED_MORE) {
				if (line != NULL)
					abort();
				break;
			}
			if (r == FRAME_OVERLONG) {
				if (line != NULL)
					abort();
				got_event(&x, NULL, 0);
				continue;
			}
			if (r != FRAME_LINE || line == NULL)
				abort();
			got_event(&x, line, len);
			free(line);
		}
		/* what stays buffered is never a whole line, and never more than the bound */
		if (evbuffer_get_length(in) > max ||
		    evbuffer_search(in, "\n", 1, NULL).pos >= 0)
			abort();
	}
	if (expect_next(&x, &wline, &wlen))
		abort();		/* an event the framer never reported */
	evbuffer_free(in);
	return 0;
}
