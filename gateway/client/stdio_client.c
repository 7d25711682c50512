/* stdio_client.c: owns the stdio transport's fds, its framing and its backpressure: lines in, bounded;
 * messages out through a buffer that pauses the servers' output while the client reads slowly.
 * Input that cannot be polled (a regular file, /dev/null) is read to its end without epoll. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include "frame.h"
#include "gateway.h"
#include "jsonrpc.h"
#include "log.h"
#include "session.h"
#include "stdio_client.h"

#define CLIENT_MAX_LINE   (16u << 20)
#define OUT_HIGH_WATER    (8u << 20)	/* stop reading upstreams above this much unsent output */
#define OUT_LOW_WATER     (1u << 20)

struct stdio_client {
	struct gateway *gw;
	struct session *session;
	struct stdio_client_cbs cbs;
	int in_fd, out_fd, in_fl, out_fl;
	int pollable;			/* 0: in_fd is read on a loop of deferred events, not epoll */
	struct event *ev_in, *ev_out;
	struct evbuffer *in, *out;
	struct frame frame;
	int paused, out_broken, closed, reading;
};

static void
stdio_closed(struct stdio_client *c, const char *why)
{
	if (c->closed)
		return;
	c->closed = 1;
	stdio_client_stop_reading(c);
	if (c->cbs.closed)
		c->cbs.closed(c->cbs.arg, why);
}

static void
stdio_flush(struct stdio_client *c)
{
	while (!c->out_broken && evbuffer_get_length(c->out) > 0) {
		int n = evbuffer_write(c->out, c->out_fd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			c->out_broken = 1;	/* EPIPE: the client is gone */
			evbuffer_drain(c->out, evbuffer_get_length(c->out));
			return;
		}
	}
}

static void
stdio_pressure(struct stdio_client *c)
{
	size_t q = evbuffer_get_length(c->out);
	if (!c->paused && q > OUT_HIGH_WATER) {
		c->paused = 1;
		log_debug("client", "client reads slowly (%zu bytes queued): pausing upstream output", q);
		gateway_pause(c->gw, 1);
	} else if (c->paused && q < OUT_LOW_WATER) {
		c->paused = 0;
		gateway_pause(c->gw, 0);
	}
}

static void
stdio_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stdio_client *c = arg;
	stdio_flush(c);
	if (evbuffer_get_length(c->out) == 0)
		event_del(c->ev_out);
	if (c->out_broken)
		stdio_closed(c, "stdout closed");
	else
		stdio_pressure(c);
}

static void
stdio_send(void *arg, const char *buf, size_t len)
{
	struct stdio_client *c = arg;
	if (c->out_broken)
		return;
	if (evbuffer_add(c->out, buf, len) < 0) {
		/* A message lost would leave the client waiting for ever: it is told by the end of
		 * stdout instead, and the log says why. */
		log_error("client", "out of memory for a message to the client: closing");
		stdio_closed(c, "out of memory");
		return;
	}
	stdio_flush(c);
	if (c->out_broken) {
		stdio_closed(c, "stdout closed");
		return;
	}
	if (evbuffer_get_length(c->out) > 0) {
		if (event_add(c->ev_out, NULL) < 0) {	/* allocates: nothing would write it */
			stdio_closed(c, "out of memory (stdout not watched)");
			return;
		}
		stdio_pressure(c);
	}
}

static void
stdio_overlong(struct stdio_client *c)
{
	size_t len;
	json_t *e = jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "message too long: dropped", NULL);
	char *buf = jsonrpc_dump(e, &len);
	json_decref(e);
	if (buf)
		stdio_send(c, buf, len);
	free(buf);
}

static void
stdio_in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stdio_client *c = arg;
	ssize_t n;
	char *line;
	size_t len;
	enum frame_result r;

	n = frame_fill(c->in, c->in_fd);
	if (n < 0 && errno == EAGAIN)
		return;
	while ((r = frame_next(&c->frame, c->in, &line, &len)) != FRAME_NEED_MORE) {
		if (r == FRAME_OVERLONG)	/* the framing's own error: answered here */
			stdio_overlong(c);
		else
			session_line(c->session, line, len);
	}
	if (n <= 0) {
		if (evbuffer_get_length(c->in) > 0) {	/* a last line without its newline */
			len = evbuffer_get_length(c->in);
			line = malloc(len + 1);
			evbuffer_remove(c->in, line, len);
			line[len] = '\0';
			session_line(c->session, line, len);
		}
		stdio_closed(c, n == 0 ? "client closed stdin" : "stdin read error");
	} else if (!c->pollable && c->reading)
		event_active(c->ev_in, EV_READ, 0);	/* the next chunk, after what is ready now */
}

/* epoll refuses regular files and some character devices (/dev/null): libevent then warns and
 * never reports the fd readable. Such input is always readable without blocking for long. */
static int
fd_pollable(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC), ok;
	if (ep < 0)
		return 1;
	ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 || errno != EPERM;
	close(ep);
	return ok;
}

struct stdio_client *
stdio_client_new(struct gateway *gw, int in_fd, int out_fd, const struct stdio_client_cbs *cbs)
{
	struct stdio_client *c = calloc(1, sizeof *c);
	struct event_base *base = gateway_base(gw);
	struct session_io io = { 0 };

	if (c == NULL)
		return NULL;
	c->gw = gw;
	c->cbs = *cbs;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	frame_init(&c->frame, CLIENT_MAX_LINE);
	c->in_fl = fcntl(in_fd, F_GETFL);
	c->out_fl = fcntl(out_fd, F_GETFL);
	c->pollable = fd_pollable(in_fd);
	if (c->pollable)
		fcntl(in_fd, F_SETFL, c->in_fl | O_NONBLOCK);
	fcntl(out_fd, F_SETFL, c->out_fl | O_NONBLOCK);
	c->ev_in = c->pollable ? event_new(base, in_fd, EV_READ | EV_PERSIST, stdio_in_cb, c) :
	    event_new(base, -1, 0, stdio_in_cb, c);
	c->ev_out = event_new(base, out_fd, EV_WRITE | EV_PERSIST, stdio_out_cb, c);
	io.send = stdio_send;
	io.arg = c;
	if (!c->in || !c->out || !c->ev_in || !c->ev_out || (c->session = gateway_session_open(gw, &io)) == NULL) {
		stdio_client_free(c);
		return NULL;
	}
	c->reading = 1;
	if (c->pollable) {
		if (event_add(c->ev_in, NULL) < 0) {	/* allocates: nothing would be read */
			stdio_client_free(c);
			return NULL;
		}
	} else {
		log_debug("client", "stdin cannot be polled: reading it to its end");
		event_active(c->ev_in, EV_READ, 0);
	}
	return c;
}

void
stdio_client_stop_reading(struct stdio_client *c)
{
	c->reading = 0;
	if (c->ev_in)
		event_del(c->ev_in);
}

void
stdio_client_free(struct stdio_client *c)
{
	if (c == NULL)
		return;
	if (c->ev_in)
		event_free(c->ev_in);
	if (c->ev_out)
		event_free(c->ev_out);
	if (c->out) {
		fcntl(c->out_fd, F_SETFL, c->out_fl);	/* blocking: what is left goes out whole */
		stdio_flush(c);
		evbuffer_free(c->out);
	}
	if (c->pollable)
		fcntl(c->in_fd, F_SETFL, c->in_fl);
	if (c->in)
		evbuffer_free(c->in);
	free(c);
}
