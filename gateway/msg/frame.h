/* frame.h: newline-delimited message framing on a libevent input buffer, with a line bound.
 * A line longer than the bound is dropped whole (up to and including its newline) and reported
 * once, so one bad line never desynchronises the stream. */
#ifndef MCPGW_FRAME_H
#define MCPGW_FRAME_H

#include <stddef.h>
#include <sys/types.h>
#include <event2/buffer.h>

struct frame {
	size_t max;		/* longest accepted line, without its newline */
	size_t scanned;		/* bytes already searched for a newline */
	int discarding;		/* inside an overlong line */
};

enum frame_result { FRAME_NEED_MORE = 0, FRAME_LINE = 1, FRAME_OVERLONG = -1 };

void frame_init(struct frame *, size_t max);
/* FRAME_LINE: *line is a malloc'd NUL-terminated copy without "\n" or a trailing "\r".
 * FRAME_OVERLONG: an overlong line was (or is being) dropped; call again.
 * FRAME_NEED_MORE: no complete line buffered. */
enum frame_result frame_next(struct frame *, struct evbuffer *, char **line, size_t *len);
/* One read(2) of what fd has into b (EINTR retried): the bytes read, 0 at end of file, -1 with
 * errno (EAGAIN: nothing now). Not evbuffer_read, which asks the kernel with ioctl(FIONREAD)
 * before every read: one system call more per message on the hot path. */
ssize_t frame_fill(struct evbuffer *b, int fd);

#endif
