#include <unistd.h>
#include <errno.h>
/* frame.c: owns line splitting and the per-line size bound for every stdio peer. */
#include <stdlib.h>
#include "frame.h"

void
frame_init(struct frame *f, size_t max)
{
	f->max = max;
	f->scanned = 0;
	f->discarding = 0;
}

enum frame_result
frame_next(struct frame *f, struct evbuffer *in, char **line, size_t *len)
{
	struct evbuffer_ptr start, eol;
	size_t buffered = evbuffer_get_length(in), n;

	*line = NULL;
	*len = 0;
	if (buffered == 0)
		return FRAME_NEED_MORE;
	/* Resume the search where the last call stopped: a long line arriving in many small reads
	 * must not be rescanned from its start each time. */
	if (f->scanned > buffered)
		f->scanned = 0;
	evbuffer_ptr_set(in, &start, f->scanned, EVBUFFER_PTR_SET);
	eol = evbuffer_search(in, "\n", 1, &start);
	if (eol.pos < 0) {
		f->scanned = buffered;
		if (buffered > f->max) {
			/* Drop what we have; keep dropping until the newline arrives. */
			int first = !f->discarding;
			evbuffer_drain(in, buffered);
			f->scanned = 0;
			f->discarding = 1;
			return first ? FRAME_OVERLONG : FRAME_NEED_MORE;
		}
		return FRAME_NEED_MORE;
	}
	n = (size_t)eol.pos;
	f->scanned = 0;
	if (f->discarding || n > f->max) {
		int first = !f->discarding;
		evbuffer_drain(in, n + 1);
		f->discarding = 0;
		if (first)
			return FRAME_OVERLONG;
		return frame_next(f, in, line, len);
	}
	char *p = malloc(n + 1);
	if (p == NULL) {
		evbuffer_drain(in, n + 1);
		return FRAME_OVERLONG;
	}
	evbuffer_remove(in, p, n);
	evbuffer_drain(in, 1);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	p[n] = '\0';
	*line = p;
	*len = n;
	return FRAME_LINE;
}

ssize_t
frame_fill(struct evbuffer *b, int fd)
{
	char buf[65536];
	ssize_t n;

	do
		n = read(fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		evbuffer_add(b, buf, (size_t)n);
	return n;
}
