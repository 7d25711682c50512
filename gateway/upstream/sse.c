/* sse.c: owns the parsing of one Server-Sent Events stream: line splitting across chunk borders,
 * fields, event dispatch, and the bounds on lines, events and ids. */
#include <stdlib.h>
#include <string.h>
#include "sse.h"

struct sbuf {
	char *p;
	size_t len, cap;
};

struct sse {
	struct sse_opts o;
	struct sbuf line;	/* the line being collected (without its end) */
	struct sbuf data;	/* data lines of the current event, each followed by '\n' */
	struct sbuf type;	/* event: of the current event */
	struct sbuf id;		/* the last event ID buffer: id: fields set it (persists across events) */
	struct sbuf last;	/* the last event ID string: the buffer as of the last dispatch */
	long retry_ms;		/* -1 until a retry: field */
	int after_cr;		/* the previous byte was a CR: an LF now ends nothing */
	int first_line;		/* a BOM may start the stream */
	int err;
};

/* Makes room for n more bytes plus a NUL, never beyond limit + 1 bytes in all. */
static int
sbuf_reserve(struct sbuf *b, size_t n, size_t limit)
{
	size_t want, cap;
	char *p;

	if (n > limit || b->len > limit - n)
		return -1;
	want = b->len + n + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -2;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int
sbuf_set(struct sbuf *b, const char *s, size_t n, size_t limit)
{
	b->len = 0;
	if (sbuf_reserve(b, n, limit) < 0)
		return -1;
	memcpy(b->p, s, n);
	b->len = n;
	b->p[n] = '\0';
	return 0;
}

struct sse *
sse_new(const struct sse_opts *o)
{
	struct sse *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->o = *o;
	if (s->o.retry_max_ms < s->o.retry_min_ms)
		s->o.retry_max_ms = s->o.retry_min_ms;
	s->retry_ms = -1;
	s->first_line = 1;
	if (sbuf_set(&s->id, "", 0, 0) < 0 || sbuf_set(&s->last, "", 0, 0) < 0) {
		free(s->id.p);
		free(s);
		return NULL;
	}
	return s;
}

void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	free(s->line.p);
	free(s->data.p);
	free(s->type.p);
	free(s->id.p);
	free(s->last.p);
	free(s);
}

/* What a resumption sends as Last-Event-ID: the id as of the last dispatched event, never the id
 * of an event cut off before its blank line (its data would be lost: the server replays after
 * it). */
const char *sse_last_id(const struct sse *s) { return s->last.p; }
long sse_retry_ms(const struct sse *s) { return s->retry_ms; }

const char *
sse_strerror(int code)
{
	switch (code) {
	case SSE_OK: return "no error";
	case SSE_ERR_LINE: return "event stream line over the size bound";
	case SSE_ERR_EVENT: return "event over the size bound";
	case SSE_ERR_ID: return "event id over the size bound";
	case SSE_ERR_NOMEM: return "out of memory";
	case SSE_STOPPED: return "stopped";
	default: return "unknown event stream error";
	}
}

static int
sse_dispatch(struct sse *s, sse_event_cb cb, void *arg)
{
	struct sse_event ev;
	int rc = 0;

	/* WHATWG: dispatching first sets the last event ID string from the buffer, data or not. */
	if (sbuf_set(&s->last, s->id.p, s->id.len, s->o.max_id) < 0)
		return SSE_ERR_NOMEM;
	if (s->data.len == 0) {		/* no data field at all: nothing to dispatch */
		s->type.len = 0;
		return 0;
	}
	s->data.len--;			/* the '\n' after the last data line */
	s->data.p[s->data.len] = '\0';
	ev.type = s->type.len ? s->type.p : "message";
	ev.data = s->data.p;
	ev.data_len = s->data.len;
	ev.id = s->id.p;
	if (cb && cb(arg, &ev) != 0)
		rc = SSE_STOPPED;
	s->data.len = 0;
	s->type.len = 0;
	return rc;
}

static int
sse_field(struct sse *s, const char *name, size_t nlen, const char *val, size_t vlen)
{
	int r;

	if (nlen == 4 && memcmp(name, "data", 4) == 0) {
		if ((r = sbuf_reserve(&s->data, vlen + 1, s->o.max_event + 1)) < 0)
			return r == -1 ? SSE_ERR_EVENT : SSE_ERR_NOMEM;
		memcpy(s->data.p + s->data.len, val, vlen);
		s->data.len += vlen;
		s->data.p[s->data.len++] = '\n';
		s->data.p[s->data.len] = '\0';
	} else if (nlen == 5 && memcmp(name, "event", 5) == 0) {
		if (sbuf_set(&s->type, val, vlen, s->o.max_line) < 0)
			return SSE_ERR_NOMEM;
	} else if (nlen == 2 && memcmp(name, "id", 2) == 0) {
		if (memchr(val, '\0', vlen) != NULL)
			return 0;	/* the specification ignores such an id */
		if (vlen > s->o.max_id)
			return SSE_ERR_ID;
		if (sbuf_set(&s->id, val, vlen, s->o.max_id) < 0)
			return SSE_ERR_NOMEM;
	} else if (nlen == 5 && memcmp(name, "retry", 5) == 0) {
		long ms = 0;

		if (vlen == 0)
			return 0;
		for (size_t i = 0; i < vlen; i++) {
			if (val[i] < '0' || val[i] > '9')
				return 0;	/* not all digits: ignored */
			if (ms <= s->o.retry_max_ms)
				ms = ms * 10 + (val[i] - '0');
		}
		if (ms < s->o.retry_min_ms)
			ms = s->o.retry_min_ms;
		if (ms > s->o.retry_max_ms)
			ms = s->o.retry_max_ms;
		s->retry_ms = ms;
	}
	/* any other field is ignored */
	return 0;
}

/* One complete line (without its end). */
static int
sse_line(struct sse *s, const char *p, size_t n, sse_event_cb cb, void *arg)
{
	const char *colon, *val;
	size_t nlen, vlen;

	if (s->first_line) {
		s->first_line = 0;
		if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
			p += 3;
			n -= 3;
		}
	}
	if (n == 0)
		return sse_dispatch(s, cb, arg);
	if (p[0] == ':')
		return 0;		/* a comment (keep-alive) */
	if ((colon = memchr(p, ':', n)) != NULL) {
		nlen = (size_t)(colon - p);
		val = colon + 1;
		vlen = n - nlen - 1;
		if (vlen > 0 && *val == ' ') {
			val++;
			vlen--;
		}
	} else {
		nlen = n;
		val = p + n;
		vlen = 0;
	}
	return sse_field(s, p, nlen, val, vlen);
}

int
sse_feed(struct sse *s, const char *buf, size_t len, sse_event_cb cb, void *arg)
{
	size_t i = 0;

	if (s->err)
		return s->err;
	while (i < len) {
		size_t j = i;
		int r;

		if (s->after_cr) {
			s->after_cr = 0;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		while (j < len && buf[j] != '\n' && buf[j] != '\r')
			j++;
		if (j == len) {		/* no line end in this chunk: keep the piece */
			if ((r = sbuf_reserve(&s->line, j - i, s->o.max_line)) < 0)
				return s->err = r == -1 ? SSE_ERR_LINE : SSE_ERR_NOMEM;
			memcpy(s->line.p + s->line.len, buf + i, j - i);
			s->line.len += j - i;
			break;
		}
		if (s->line.len > 0) {
			if ((r = sbuf_reserve(&s->line, j - i, s->o.max_line)) < 0)
				return s->err = r == -1 ? SSE_ERR_LINE : SSE_ERR_NOMEM;
			memcpy(s->line.p + s->line.len, buf + i, j - i);
			s->line.len += j - i;
			r = sse_line(s, s->line.p, s->line.len, cb, arg);
			s->line.len = 0;
		} else {
			if (j - i > s->o.max_line)
				return s->err = SSE_ERR_LINE;
			r = sse_line(s, buf + i, j - i, cb, arg);
		}
		s->after_cr = buf[j] == '\r';
		i = j + 1;
		if (r != 0)
			return s->err = r;
	}
	return SSE_OK;
}
