/* child.c: owns child processes as the gateway sees them: pipes and their framing, the keeper
 * process that starts each one and ends its whole tree (keeper.c), reaping through a pidfd on the
 * loop (no SIGCHLD handler: the gateway may be a library in someone else's process), and the stop
 * sequence: close stdin, then the keeper's end of the tree (SIGTERM, SIGKILL after a grace).
 * No state outside struct child: two gateways in one process do not see each other's children. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <event2/buffer.h>
#include "child.h"
#include "frame.h"
#include "keeper.h"
#include "log.h"

#define STDERR_LINE_MAX 4096
#define STDERR_LINES_PER_SEC 200
/* After the keeper was told to end the tree: how much longer than its grace before the gateway
 * kills the keeper's and the server's groups itself (a keeper that hangs; should not happen). */
#define KEEPER_SLACK_MS 3000
/* child_free of a running child: how long to wait for the keeper's SIGKILL round. */
#define FREE_WAIT_MS 2000

struct child {
	char *name;
	struct event_base *base;
	pid_t pid;			/* the server; also its process group id */
	pid_t keeper;			/* our child; its process group id too */
	int fd_in, fd_out, fd_err;	/* -1 when closed */
	int fd_ctl;			/* control pipe to the keeper (write end); -1 once closed */
	int fd_st;			/* status pipe from the keeper (read end) */
	int fd_pid;			/* pidfd of the keeper, -1 without pidfd_open (then fd_st's EOF) */
	int status, have_status, killed;	/* from the keeper's records */
	struct event *ev_in, *ev_out, *ev_err, *ev_term, *ev_kill, *ev_free, *ev_reap;
	struct event *ev_errdrop;	/* says how many stderr lines were dropped, once quiet */
	struct evbuffer *inq, *outbuf, *errbuf;
	size_t max_queue;
	struct frame frame;
	struct child_cbs cbs;
	int reaped, paused, freeing;
	int in_cb;			/* depth of our callbacks under way: child_free() defers */
	int term_ms_kill;
	/* stderr rate limit */
	time_t err_sec;
	int err_lines, err_dropped;
};

static void
close_fd(struct event **ev, int *fd)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void child_free_cb(evutil_socket_t, short, void *);

/* Every callback to the owner is made through this: it may free c from inside. */
#define CHILD_CB(c, call) do { (c)->in_cb++; call; (c)->in_cb--; } while (0)

static void
child_deliver_lines(struct child *c)
{
	char *line;
	size_t len;
	enum frame_result r;

	while (!c->freeing && (r = frame_next(&c->frame, c->outbuf, &line, &len)) != FRAME_NEED_MORE) {
		if (r == FRAME_OVERLONG) {
			if (c->cbs.overlong)
				CHILD_CB(c, c->cbs.overlong(c->cbs.arg));
			continue;
		}
		if (c->cbs.line)
			CHILD_CB(c, c->cbs.line(c->cbs.arg, line, len));
		else
			free(line);
		if (c->paused)
			break;
	}
}

static void
child_errdrop_report(struct child *c)
{
	if (c->err_dropped)
		log_warn(c->name, "%d stderr lines dropped (more than %d a second)", c->err_dropped,
		    STDERR_LINES_PER_SEC);
	c->err_dropped = 0;
}

/* A burst that ends (or a server that goes quiet or exits) still gets its count said. */
static void
child_errdrop_cb(evutil_socket_t fd, short what, void *arg)
{
	child_errdrop_report(arg);
}

static void
child_stderr_lines(struct child *c, int flush)
{
	char *line;
	size_t n;
	time_t now = time(NULL);

	for (;;) {
		line = evbuffer_readln(c->errbuf, &n, EVBUFFER_EOL_LF);
		if (line == NULL) {
			size_t len = evbuffer_get_length(c->errbuf);
			if (len >= STDERR_LINE_MAX || (flush && len > 0)) {
				n = len < STDERR_LINE_MAX ? len : STDERR_LINE_MAX;
				line = malloc(n + 1);
				if (line == NULL)
					return;
				evbuffer_remove(c->errbuf, line, n);
				line[n] = '\0';
			} else
				return;
		}
		if (n > STDERR_LINE_MAX)
			line[STDERR_LINE_MAX] = '\0';
		if (now != c->err_sec) {
			child_errdrop_report(c);
			c->err_sec = now;
			c->err_lines = 0;
		}
		if (++c->err_lines > STDERR_LINES_PER_SEC) {
			if (c->err_dropped++ == 0 && c->ev_errdrop) {
				struct timeval tv = { 1, 100000 };
				(void)evtimer_add(c->ev_errdrop, &tv);	/* failing: counted at the next line */
			}
		} else if (c->cbs.stderr_line)
			CHILD_CB(c, c->cbs.stderr_line(c->cbs.arg, line));
		free(line);
	}
}

static void
child_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	ssize_t n = frame_fill(c->outbuf, fd);

	c->in_cb++;
	if (n > 0)
		child_deliver_lines(c);
	else if (n == 0 || errno != EAGAIN)
		close_fd(&c->ev_out, &c->fd_out);
	c->in_cb--;
}

static void
child_err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	int n = evbuffer_read(c->errbuf, fd, 65536);

	if (n > 0)
		child_stderr_lines(c, 0);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		child_stderr_lines(c, 1);
		close_fd(&c->ev_err, &c->fd_err);
	}
}

static void
child_in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	int n = evbuffer_write(c->inq, fd);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* EPIPE: the child closed its stdin; its exit will be reported through SIGCHLD. */
		evbuffer_drain(c->inq, evbuffer_get_length(c->inq));
		close_fd(&c->ev_in, &c->fd_in);
		return;
	}
	if (evbuffer_get_length(c->inq) == 0)
		event_del(c->ev_in);
}

/* Tells the keeper to end the tree: SIGTERM now and SIGKILL after grace_ms, or SIGKILL now.
 * Our end stays open (a "K" may follow a "T"); it closes when the keeper is reaped. */
static void
child_end_tree(struct child *c, int grace_ms, int now)
{
	char msg[32];
	int n;

	if (c->fd_ctl < 0)
		return;
	if (now)
		n = snprintf(msg, sizeof msg, "K");
	else
		n = snprintf(msg, sizeof msg, "G%d\nT", grace_ms < 0 ? 0 : grace_ms);
	/* A few bytes into a socket buffer that only this side fills: never blocks. */
	(void)!send(c->fd_ctl, msg, (size_t)n, MSG_NOSIGNAL);
}

static void
child_term_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (c->reaped)
		return;
	log_info(c->name, "did not exit after stdin closed; ending its process tree (SIGTERM, "
	    "SIGKILL %d ms later)", c->term_ms_kill);
	child_end_tree(c, c->term_ms_kill, 0);
	struct timeval tv = { (c->term_ms_kill + KEEPER_SLACK_MS) / 1000,
		((c->term_ms_kill + KEEPER_SLACK_MS) % 1000) * 1000 };
	(void)evtimer_add(c->ev_kill, &tv);	/* failing: the keeper's own exit still reaps */
}

/* The keeper did not finish within its grace and our slack: it is stuck or was stopped. */
static void
child_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (c->reaped)
		return;
	log_warn(c->name, "its keeper process did not end the tree in time; sending SIGKILL to "
	    "the process groups");
	kill(-c->keeper, SIGKILL);
	if (c->pid > 0)
		kill(-c->pid, SIGKILL);
}

/* The records the keeper wrote: the server's status, how many it had to SIGKILL. Non-blocking;
 * the keeper wrote them before it exited. */
static ssize_t
child_read_records(struct child *c)
{
	struct keeper_rec r;
	ssize_t n;

	if (c->fd_st < 0)
		return 0;
	while ((n = read(c->fd_st, &r, sizeof r)) == (ssize_t)sizeof r)
		if (r.kind == KEEPER_REC_STATUS) {
			c->status = r.value;
			c->have_status = 1;
		} else if (r.kind == KEEPER_REC_KILLED)
			c->killed += r.value;
	return n;	/* 0: end of file; the keeper's descriptors are closed */
}

/* The keeper is gone: with it, by construction, every process of the tree. */
static void
child_finish(struct child *c, int status)
{
	c->reaped = 1;
	if (c->ev_reap) {
		event_free(c->ev_reap);
		c->ev_reap = NULL;
	}
	child_read_records(c);
	if (c->have_status)
		status = c->status;
	else
		/* The keeper was killed before it could say: its own end, and the group's. */
		kill(-c->pid, SIGKILL);
	if (c->killed)
		log_warn(c->name, "%d process%s of its tree ignored SIGTERM and %s killed", c->killed,
		    c->killed == 1 ? "" : "es", c->killed == 1 ? "was" : "were");
	if (c->fd_st >= 0) {
		close(c->fd_st);
		c->fd_st = -1;
	}
	if (c->fd_pid >= 0) {
		close(c->fd_pid);
		c->fd_pid = -1;
	}
	if (c->fd_ctl >= 0) {
		close(c->fd_ctl);
		c->fd_ctl = -1;
	}
	/* Read what the child wrote before it died, then close. */
	if (c->fd_out >= 0) {
		while (evbuffer_read(c->outbuf, c->fd_out, 65536) > 0)
			;
		c->paused = 0;
		child_deliver_lines(c);
		/* A last line without its newline (printf '{...}') is a line too. */
		size_t n = evbuffer_get_length(c->outbuf);
		if (!c->freeing && c->cbs.line && !c->frame.discarding && n > 0 && n <= c->frame.max) {
			char *line = malloc(n + 1);
			if (line != NULL) {
				evbuffer_remove(c->outbuf, line, n);
				line[n] = '\0';
				CHILD_CB(c, c->cbs.line(c->cbs.arg, line, n));
			}
		}
	}
	if (c->fd_err >= 0) {
		while (evbuffer_read(c->errbuf, c->fd_err, 65536) > 0)
			;
		child_stderr_lines(c, 1);
	}
	child_errdrop_report(c);
	if (c->ev_errdrop)
		evtimer_del(c->ev_errdrop);
	close_fd(&c->ev_in, &c->fd_in);
	close_fd(&c->ev_out, &c->fd_out);
	close_fd(&c->ev_err, &c->fd_err);
	if (c->ev_term)
		evtimer_del(c->ev_term);
	if (c->ev_kill)
		evtimer_del(c->ev_kill);
	if (!c->freeing && c->cbs.exit)
		CHILD_CB(c, c->cbs.exit(c->cbs.arg, status));
}

/* Reaps the keeper: its pidfd is readable (it exited), or its status pipe is at end of file
 * (its descriptors are closed: it is exiting). A host that reaps every child itself (waitpid(-1))
 * may have taken the wait status first; the server's status is in the keeper's records anyway. */
static void
child_reap(struct child *c, int block)
{
	int ws = 0;
	pid_t r;

	do
		r = waitpid(c->keeper, &ws, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;		/* not yet (a pipe end of file before the exit is done) */
	child_finish(c, ws);
}

static void
child_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	if (c->fd_pid >= 0) {
		child_reap(c, 0);
		return;
	}
	/* Without a pidfd: the status pipe. Records now, the exit at its end of file. */
	ssize_t n = child_read_records(c);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		child_reap(c, 1);
}

static int
child_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	return -1;
#endif
}

struct child *
child_start(struct event_base *base, const struct child_opts *o, const struct child_cbs *cbs,
    char *err, size_t errlen)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pctl[2] = { -1, -1 },
	    pst[2] = { -1, -1 };
	struct child *c = NULL;
	struct keeper_rec rec = { 0, 0 };
	ssize_t n;

	/* The control channel is a socket so that a write after the keeper is gone is EPIPE with
	 * MSG_NOSIGNAL, never a SIGPIPE in a host program that did not ignore it. */
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pctl) < 0 || pipe2(pst, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((c = calloc(1, sizeof *c)) == NULL || (c->name = strdup(o->name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->fd_in = c->fd_out = c->fd_err = c->fd_ctl = c->fd_st = c->fd_pid = -1;
	pid_t keeper = fork();
	if (keeper < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (keeper == 0) {
		struct keeper_fds kf = { pin[0], pout[1], perr[1], pctl[0], pst[1] };
		keeper_main(o, &kf);
	}
	setpgid(keeper, keeper);	/* both sides set it: no race with an early kill(-keeper) */
	close(pin[0]); close(pout[1]); close(perr[1]); close(pctl[0]); close(pst[1]);
	pin[0] = pout[1] = perr[1] = pctl[0] = pst[1] = -1;
	/* The first record: the server's pid, or why it could not be executed. Comes at once. */
	do
		n = read(pst[0], &rec, sizeof rec);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof rec || rec.kind != KEEPER_REC_PID) {
		int ws;
		while (waitpid(keeper, &ws, 0) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof rec && rec.kind == KEEPER_REC_EXEC)
			snprintf(err, errlen, "cannot execute %s: %s", o->command, strerror(rec.value));
		else
			snprintf(err, errlen, "cannot start %s: its keeper process failed", o->command);
		goto fail;
	}
	c->pid = rec.value;
	c->keeper = keeper;
	c->base = base;
	c->fd_in = pin[1];
	c->fd_out = pout[0];
	c->fd_err = perr[0];
	c->fd_ctl = pctl[1];
	c->fd_st = pst[0];
	pin[1] = pout[0] = perr[0] = pctl[1] = pst[0] = -1;
	evutil_make_socket_nonblocking(c->fd_in);
	evutil_make_socket_nonblocking(c->fd_out);
	evutil_make_socket_nonblocking(c->fd_err);
	evutil_make_socket_nonblocking(c->fd_st);
	c->fd_pid = child_pidfd(keeper);
	c->inq = evbuffer_new();
	c->outbuf = evbuffer_new();
	c->errbuf = evbuffer_new();
	c->max_queue = o->max_queue;
	frame_init(&c->frame, o->max_line);
	c->cbs = *cbs;
	c->ev_in = event_new(base, c->fd_in, EV_WRITE | EV_PERSIST, child_in_cb, c);
	c->ev_out = event_new(base, c->fd_out, EV_READ | EV_PERSIST, child_out_cb, c);
	c->ev_err = event_new(base, c->fd_err, EV_READ | EV_PERSIST, child_err_cb, c);
	c->ev_reap = event_new(base, c->fd_pid >= 0 ? c->fd_pid : c->fd_st, EV_READ | EV_PERSIST,
	    child_reap_cb, c);
	c->ev_term = evtimer_new(base, child_term_cb, c);
	c->ev_kill = evtimer_new(base, child_kill_cb, c);
	c->ev_errdrop = evtimer_new(base, child_errdrop_cb, c);
	/* made now: the free it defers cannot then fail for want of memory */
	c->ev_free = evtimer_new(base, child_free_cb, c);
	/* event_add() allocates too (libevent grows its map of descriptors): a read event that is
	 * not added would never see the server's output nor its exit */
	if (!c->inq || !c->outbuf || !c->errbuf || !c->ev_in || !c->ev_out || !c->ev_err || !c->ev_reap ||
	    !c->ev_term || !c->ev_kill || !c->ev_errdrop || !c->ev_free || event_add(c->ev_out, NULL) < 0 ||
	    event_add(c->ev_err, NULL) < 0 || event_add(c->ev_reap, NULL) < 0) {
		/* Out of memory with the server running: its tree goes as in child_free()'s last
		 * resort, then what was taken here. */
		struct event *ev[] = { c->ev_in, c->ev_out, c->ev_err, c->ev_reap, c->ev_term, c->ev_kill,
			c->ev_errdrop, c->ev_free };
		struct evbuffer *eb[] = { c->inq, c->outbuf, c->errbuf };
		int fds[] = { c->fd_in, c->fd_out, c->fd_err, c->fd_ctl, c->fd_st, c->fd_pid }, ws;
		snprintf(err, errlen, "out of memory");
		kill(-c->keeper, SIGKILL);
		kill(-c->pid, SIGKILL);
		while (waitpid(c->keeper, &ws, 0) < 0 && errno == EINTR)
			;
		for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
			if (ev[i])
				event_free(ev[i]);
		for (size_t i = 0; i < sizeof eb / sizeof eb[0]; i++)
			if (eb[i])
				evbuffer_free(eb[i]);
		for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		goto fail;
	}
	return c;
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0) close(pin[i]);
		if (pout[i] >= 0) close(pout[i]);
		if (perr[i] >= 0) close(perr[i]);
		if (pctl[i] >= 0) close(pctl[i]);
		if (pst[i] >= 0) close(pst[i]);
	}
	if (c)
		free(c->name);
	free(c);
	return NULL;
}

int
child_send(struct child *c, const char *buf, size_t len)
{
	if (c->fd_in < 0 || c->reaped)
		return -1;
	if (evbuffer_get_length(c->inq) + len > c->max_queue)
		return -1;
	if (evbuffer_get_length(c->inq) == 0) {
		/* Fast path: write straight away; queue only what the pipe did not take. */
		ssize_t n = write(c->fd_in, buf, len);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -1;
			n = 0;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (evbuffer_add(c->inq, buf, len) < 0 || event_add(c->ev_in, NULL) < 0) {
		/* Out of memory with part of a line written, or a queue nothing would drain: the
		 * server's input is broken, so it is ended (its calls fail and it is restarted). */
		log_error(c->name, "out of memory while writing to the server: ending it");
		child_kill(c);
		return -1;
	}
	return 0;
}

size_t child_queued(const struct child *c) { return evbuffer_get_length(c->inq); }
pid_t child_pid(const struct child *c) { return c->pid; }
int child_running(const struct child *c) { return !c->reaped; }

void
child_pause(struct child *c, int paused)
{
	if (c->fd_out < 0 || c->paused == paused)
		return;
	c->paused = paused;
	if (paused)
		event_del(c->ev_out);
	else {
		if (event_add(c->ev_out, NULL) < 0) {	/* its output would never be read again */
			log_error(c->name, "out of memory while resuming the server's output: ending it");
			child_kill(c);
			return;
		}
		child_deliver_lines(c);	/* lines left buffered while paused */
	}
}

void
child_kill(struct child *c)
{
	if (c->reaped || c->fd_ctl < 0)
		return;
	close_fd(&c->ev_in, &c->fd_in);
	evtimer_del(c->ev_term);
	child_end_tree(c, 0, 1);
	struct timeval tv = { KEEPER_SLACK_MS / 1000, (KEEPER_SLACK_MS % 1000) * 1000 };
	(void)evtimer_add(c->ev_kill, &tv);	/* failing: the keeper's own exit still reaps */
}

void
child_stop(struct child *c, int term_ms, int kill_ms)
{
	if (c->reaped)
		return;
	close_fd(&c->ev_in, &c->fd_in);
	c->term_ms_kill = kill_ms;
	if (term_ms <= 0)
		child_term_cb(-1, 0, c);
	else {
		struct timeval tv = { term_ms / 1000, (term_ms % 1000) * 1000 };
		if (evtimer_add(c->ev_term, &tv) < 0)
			child_term_cb(-1, 0, c);	/* no timer for the grace: ended now */
	}
}

static void
child_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	close_fd(&c->ev_in, &c->fd_in);
	close_fd(&c->ev_out, &c->fd_out);
	close_fd(&c->ev_err, &c->fd_err);
	if (c->ev_term) event_free(c->ev_term);
	if (c->ev_kill) event_free(c->ev_kill);
	if (c->ev_errdrop) event_free(c->ev_errdrop);
	if (c->ev_reap) event_free(c->ev_reap);
	if (c->ev_free) event_free(c->ev_free);
	evbuffer_free(c->inq);
	evbuffer_free(c->outbuf);
	evbuffer_free(c->errbuf);
	free(c->name);
	free(c);
}

void
child_free(struct child *c)
{
	if (c == NULL || c->freeing)
		return;
	c->freeing = 1;
	if (!c->reaped) {
		/* Still running: the keeper kills the tree now (SIGKILL rounds until none is left);
		 * wait for it here, bounded, so that nothing is left when this returns. */
		struct pollfd pf = { c->fd_pid >= 0 ? c->fd_pid : c->fd_st, POLLIN, 0 };
		child_end_tree(c, 0, 1);
		for (int waited = 0; waited < FREE_WAIT_MS; waited += 50) {
			if (poll(&pf, 1, 50) > 0 && (c->fd_pid >= 0 || child_read_records(c) == 0))
				break;
		}
		int ws = 0;
		pid_t r = waitpid(c->keeper, &ws, WNOHANG);
		if (r == 0) {
			log_warn(c->name, "its keeper process did not end the tree in time; sending "
			    "SIGKILL to the process groups");
			kill(-c->keeper, SIGKILL);
			kill(-c->pid, SIGKILL);
			do
				r = waitpid(c->keeper, &ws, 0);
			while (r < 0 && errno == EINTR);
		}
		child_finish(c, ws);
	}
	/* Not from inside one of our callbacks: now. The owner may be going with its event_base (a
	 * host's mcpgw_free() then event_base_free()), and a deferred free would never run (found by
	 * test_scenario_oom: every server's state was left). */
	if (c->in_cb == 0) {
		child_free_cb(-1, 0, c);
		return;
	}
	/* Free after the current callback: the caller is inside one of ours. */
	event_active(c->ev_free, EV_TIMEOUT, 0);
}

