/* fuzz_sse.c: the Server-Sent Events parser (sse.c) on any bytes, fed in reads of any size.
 *
 * Input: an 8-byte header, then the stream.
 *   byte 0      max_line:  1 + b * 2 (1..511)
 *   byte 1      max_event: b * 4 (0..1020)
 *   byte 2      max_id:    b % 64
 *   bytes 3..5  read sizes, used in turn: 1 + b % 64, or the whole rest when b >= 0xf0
 *   byte 6      the callback asks to stop at event number b (0: never)
 *   byte 7      unused (room for later options)
 * Checks: the events, the final result, the last event id and the retry delay are exactly those
 * of an independent whole-stream reading of the WHATWG rules with the same bounds, whatever the
 * read sizes (the last event id being the one of the last dispatch, as the specification has it); every event is within its bounds and NUL-terminated; an error or a stop is sticky. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sse.h"
#include "fuzz.h"

#define HEADER		8
#define RETRY_MIN	100
#define RETRY_MAX	60000

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* One event as the reference produced it, in a list the parser's events are matched against. */
struct ev {
	char *type, *data, *id;
	size_t data_len;
};

struct evlist {
	struct ev *v;
	size_t n, cap;
};

static void
evlist_add(struct evlist *l, const char *type, size_t tlen, const char *data, size_t dlen,
    const char *id, size_t idlen)
{
	struct ev *e;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((l->v = realloc(l->v, l->cap * sizeof *l->v)) == NULL)
			abort();
	}
	e = &l->v[l->n++];
	if ((e->type = strndup(type, tlen)) == NULL || (e->id = strndup(id, idlen)) == NULL ||
	    (e->data = malloc(dlen + 1)) == NULL)
		abort();
	memcpy(e->data, data, dlen);
	e->data[dlen] = '\0';
	e->data_len = dlen;
}

static void
evlist_free(struct evlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].type);
		free(l->v[i].data);
		free(l->v[i].id);
	}
	free(l->v);
}

/* The reference: the whole stream at once, line by line, written from the specification. */
struct ref {
	struct evlist events;
	int result;			/* SSE_OK or the error/stop it ended with */
	char id[64];			/* the last event ID buffer: id: fields set it (max_id < 64) */
	size_t id_len;
	char last[64];			/* the last event ID string: the buffer as of the last */
	size_t last_len;		/* dispatch (blank line), what a reconnection sends */
	long retry;
};

static void
ref_run(struct ref *r, const uint8_t *p, size_t n, const struct sse_opts *o, size_t stop_at)
{
	char *data = malloc(o->max_event + 2), type[1024];
	size_t dlen = 0, tlen = 0, i = 0;
	int first = 1;

	if (data == NULL)
		abort();
	memset(r, 0, sizeof *r);
	r->retry = -1;
	while (i < n) {
		size_t j = i, len, nlen, vlen;
		const char *line = (const char *)p + i, *colon, *val;

		while (j < n && p[j] != '\r' && p[j] != '\n')
			j++;
		len = j - i;
		if (len > o->max_line) {
			r->result = SSE_ERR_LINE;
			break;
		}
		if (j == n)		/* an unended last line is never interpreted */
			break;
		i = j + 1 + (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n');
		if (first) {
			first = 0;
			if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
				line += 3;
				len -= 3;
			}
		}
		if (len == 0) {		/* dispatch */
			memcpy(r->last, r->id, r->id_len);
			r->last_len = r->id_len;
			if (dlen > 0) {
				dlen--;		/* the last '\n' */
				evlist_add(&r->events, tlen ? type : "message", tlen ? tlen : 7, data,
				    dlen, r->id, r->id_len);
				dlen = 0;
				if (stop_at != 0 && r->events.n == stop_at) {
					r->result = SSE_STOPPED;
					break;
				}
			}
			tlen = 0;
			continue;
		}
		if (line[0] == ':')
			continue;
		colon = memchr(line, ':', len);
		nlen = colon ? (size_t)(colon - line) : len;
		val = colon ? colon + 1 : line + len;
		vlen = colon ? len - nlen - 1 : 0;
		if (vlen > 0 && val[0] == ' ') {
			val++;
			vlen--;
		}
		if (nlen == 4 && memcmp(line, "data", 4) == 0) {
			if (dlen + vlen + 1 > o->max_event + 1) {
				r->result = SSE_ERR_EVENT;
				break;
			}
			memcpy(data + dlen, val, vlen);
			dlen += vlen;
			data[dlen++] = '\n';
		} else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
			memcpy(type, val, vlen);
			tlen = vlen;
		} else if (nlen == 2 && memcmp(line, "id", 2) == 0) {
			if (memchr(val, '\0', vlen) != NULL)
				continue;
			if (vlen > o->max_id) {
				r->result = SSE_ERR_ID;
				break;
			}
			memcpy(r->id, val, vlen);
			r->id_len = vlen;
		} else if (nlen == 5 && memcmp(line, "retry", 5) == 0 && vlen > 0) {
			long ms = 0;
			size_t k;

			for (k = 0; k < vlen && val[k] >= '0' && val[k] <= '9'; k++)
				ms = ms > RETRY_MAX ? ms : ms * 10 + (val[k] - '0');
			if (k == vlen)	/* digits only, else the field is ignored */
				r->retry = ms < RETRY_MIN ? RETRY_MIN : ms > RETRY_MAX ? RETRY_MAX : ms;
		}
	}
	free(data);
}

/* What the parser's callback sees, checked against the reference as it comes. */
struct got {
	const struct ref *ref;
	const struct sse_opts *o;
	size_t n, stop_at;
};

static int
on_event(void *arg, const struct sse_event *e)
{
	struct got *g = arg;
	const struct ev *want;

	if (g->n >= g->ref->events.n)
		abort();		/* an event the reference does not have */
	want = &g->ref->events.v[g->n++];
	if (e->type == NULL || e->data == NULL || e->id == NULL)
		abort();
	/* a type is one line's value, or the default "message" */
	if (e->data[e->data_len] != '\0' || e->data_len > g->o->max_event ||
	    strlen(e->id) > g->o->max_id ||
	    (strlen(e->type) > g->o->max_line && strcmp(e->type, "message") != 0))
		abort();
	if (strcmp(e->type, want->type) != 0 || e->data_len != want->data_len ||
	    memcmp(e->data, want->data, e->data_len) != 0 || strcmp(e->id, want->id) != 0)
		abort();
	return g->stop_at != 0 && g->n == g->stop_at;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_opts o;
	struct sse *s;
	struct ref ref;
	struct got got;
	size_t off, turn = 0;
	int rc = SSE_OK;

	if (size < HEADER)
		return 0;
	o.max_line = 1 + (size_t)data[0] * 2;
	o.max_event = (size_t)data[1] * 4;
	o.max_id = data[2] % 64;
	o.retry_min_ms = RETRY_MIN;
	o.retry_max_ms = RETRY_MAX;
	ref_run(&ref, data + HEADER, size - HEADER, &o, data[6]);

	if ((s = sse_new(&o)) == NULL)
		abort();
	got.ref = &ref;
	got.o = &o;
	got.n = 0;
	got.stop_at = data[6];
	for (off = HEADER; off < size;) {
		uint8_t b = data[3 + turn++ % 3];
		size_t chunk = b >= 0xf0 ? size - off : 1 + (size_t)(b % 64);

		if (chunk > size - off)
			chunk = size - off;
		rc = sse_feed(s, (const char *)data + off, chunk, on_event, &got);
		off += chunk;
		if (rc != SSE_OK)
			break;
	}
	if (rc != ref.result || got.n != ref.events.n)
		abort();
	if (rc != SSE_OK && sse_feed(s, "\n\ndata: x\n\n", 11, on_event, &got) != rc)
		abort();		/* sticky, and no more events */
	/* Last-Event-ID must name an event that was dispatched: the id of an event cut off by the
	 * end of the stream would make the server skip that event on reconnection. */
	if (strlen(sse_last_id(s)) != ref.last_len ||
	    memcmp(sse_last_id(s), ref.last, ref.last_len) != 0)
		abort();
	if (sse_retry_ms(s) != ref.retry)
		abort();
	if (sse_strerror(rc) == NULL)
		abort();
	sse_free(s);
	evlist_free(&ref.events);
	return 0;
}
