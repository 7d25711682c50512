/* sse.h: a Server-Sent Events parser (WHATWG "event stream interpretation") that takes bytes in
 * chunks of any size: LF, CR and CRLF line ends (also split across chunks), a leading BOM,
 * comments, multi-line data, the id, event and retry fields. Every line and every event has a
 * bound; a stream that exceeds one gets a clean error and nothing more is parsed.
 * Ownership: the caller owns the parser; event fields passed to the callback are borrowed for the
 * duration of the call. */
#ifndef MCPGW_SSE_H
#define MCPGW_SSE_H

#include <stddef.h>

#define SSE_OK		0
#define SSE_ERR_LINE	-1	/* a line longer than max_line */
#define SSE_ERR_EVENT	-2	/* an event's data longer than max_event */
#define SSE_ERR_ID	-3	/* an id longer than max_id */
#define SSE_ERR_NOMEM	-4
#define SSE_STOPPED	-5	/* the callback asked to stop */

struct sse;

struct sse_opts {
	size_t max_line;	/* longest line accepted (field name, colon and value) */
	size_t max_event;	/* longest data of one event */
	size_t max_id;		/* longest event id (it is sent back as Last-Event-ID) */
	long retry_min_ms;	/* retry: values are clamped into [retry_min_ms, retry_max_ms] */
	long retry_max_ms;
};

struct sse_event {
	const char *type;	/* "message" when the event had no event: field */
	const char *data;	/* NUL-terminated; data lines joined with '\n' */
	size_t data_len;
	const char *id;		/* the last event id in force (may be ""), never NULL */
};

/* Returns 0 to go on, anything else to stop parsing (sse_feed then returns SSE_STOPPED). */
typedef int (*sse_event_cb)(void *arg, const struct sse_event *);

struct sse *sse_new(const struct sse_opts *);
void sse_free(struct sse *);		/* NULL is a no-op */

/* Parses len bytes, calling cb for each complete event. Returns SSE_OK or a negative SSE_ERR_*
 * (sticky: later calls return it again). */
int sse_feed(struct sse *, const char *buf, size_t len, sse_event_cb cb, void *arg);

/* The last event id seen ("" when none): what a reconnection sends as Last-Event-ID. */
const char *sse_last_id(const struct sse *);
/* The reconnection delay the server asked for (clamped), or -1 when it sent no retry field. */
long sse_retry_ms(const struct sse *);
/* Text for an SSE_* code. */
const char *sse_strerror(int code);

#endif
