/* child.c: owns child processes: fork/exec, pipes, process groups, SIGCHLD reaping on the loop,
 * and the close-stdin -> SIGTERM -> SIGKILL sequence that leaves no descendant behind. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <event2/buffer.h>
#include "child.h"
#include "frame.h"
#include "log.h"
#include "sentinel.h"

#define STDERR_LINE_MAX 4096
#define STDERR_LINES_PER_SEC 200

struct child {
	char *name;
	struct event_base *base;
	pid_t pid;			/* also the process group id */
	int fd_in, fd_out, fd_err;	/* -1 when closed */
	struct event *ev_in, *ev_out, *ev_err, *ev_term, *ev_kill, *ev_free;
	struct event *ev_errdrop;	/* says how many stderr lines were dropped, once quiet */
	struct evbuffer *inq, *outbuf, *errbuf;
	size_t max_queue;
	struct frame frame;
	struct child_cbs cbs;
	int reaped, paused, freeing, in_cb;
	int term_ms_kill;
	/* stderr rate limit */
	time_t err_sec;
	int err_lines, err_dropped;
	struct child *next;
};

static struct child *children;		/* live (not reaped) children */
static struct event *sigchld_ev;
static int live;

static void child_reap_cb(evutil_socket_t, short, void *);

static void
child_unlink(struct child *c)
{
	for (struct child **p = &children; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			live--;
			return;
		}
}

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

static void
child_deliver_lines(struct child *c)
{
	char *line;
	size_t len;
	enum frame_result r;

	while (!c->freeing && (r = frame_next(&c->frame, c->outbuf, &line, &len)) != FRAME_NEED_MORE) {
		if (r == FRAME_OVERLONG) {
			if (c->cbs.overlong)
				c->cbs.overlong(c->cbs.arg);
			continue;
		}
		if (c->cbs.line)
			c->cbs.line(c->cbs.arg, line, len);
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
				evtimer_add(c->ev_errdrop, &tv);
			}
		} else if (c->cbs.stderr_line)
			c->cbs.stderr_line(c->cbs.arg, line);
		free(line);
	}
}

/* read(2) into a buffer, not evbuffer_read: that one asks the kernel with ioctl(FIONREAD) before
 * every read, one system call more per message on the hot path. */
static ssize_t
read_into(struct evbuffer *b, int fd)
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

static void
child_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	ssize_t n = read_into(c->outbuf, fd);

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

static void
child_signal_group(struct child *c, int sig)
{
	if (c->reaped)
		kill(-c->pid, sig);	/* leftovers of the group only */
	else if (kill(-c->pid, sig) < 0)
		kill(c->pid, sig);
}

static void
child_term_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (c->reaped)
		return;
	log_info(c->name, "did not exit after stdin closed; sending SIGTERM to its process group");
	child_signal_group(c, SIGTERM);
	struct timeval tv = { c->term_ms_kill / 1000, (c->term_ms_kill % 1000) * 1000 };
	evtimer_add(c->ev_kill, &tv);
}

static void
child_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	if (c->reaped)
		return;
	log_warn(c->name, "ignored SIGTERM; sending SIGKILL to its process group");
	child_signal_group(c, SIGKILL);
}

static void
child_finish(struct child *c, int status)
{
	c->reaped = 1;
	child_unlink(c);
	/* Take the rest of the group with it: a grandchild must not outlive its server. */
	kill(-c->pid, SIGKILL);
	sentinel_forget(c->pid);
	/* Read what the child wrote before it died, then close: a grandchild that escaped the
	 * group and still holds the pipe must not keep us waiting for an EOF. */
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
				c->cbs.line(c->cbs.arg, line, n);
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
		c->cbs.exit(c->cbs.arg, status);
}

static void
child_reap_cb(evutil_socket_t sig, short what, void *arg)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct child *c = children; c; c = c->next)
			if (c->pid == pid) {
				child_finish(c, status);
				break;
			}
	}
}

static int
child_setup_signals(struct event_base *base)
{
	if (sigchld_ev)
		return 0;
	sigchld_ev = evsignal_new(base, SIGCHLD, child_reap_cb, NULL);
	if (sigchld_ev == NULL || evsignal_add(sigchld_ev, NULL) < 0)
		return -1;
	return 0;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void
child_exec(const struct child_opts *o, int in, int out, int err, int status_fd)
{
	sigset_t all;
	int e;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto fail;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	if (strchr(o->command, '/'))
		execve(o->command, o->argv, o->envp);
	else {
		/* PATH lookup with the child's own PATH. */
		const char *path = NULL;
		for (char *const *e2 = o->envp; *e2; e2++)
			if (strncmp(*e2, "PATH=", 5) == 0)
				path = *e2 + 5;
		if (path == NULL)
			path = "/usr/local/bin:/usr/bin:/bin";
		char buf[4096];
		const char *p = path;
		int saved = ENOENT;
		while (*p) {
			const char *q = strchr(p, ':');
			size_t dl = q ? (size_t)(q - p) : strlen(p), cl = strlen(o->command);
			if (dl + 1 + cl + 1 <= sizeof buf) {
				memcpy(buf, p, dl);
				buf[dl] = '/';
				memcpy(buf + dl + 1, o->command, cl + 1);
				execve(buf, o->argv, o->envp);
				if (errno != ENOENT && errno != ENOTDIR)
					saved = errno;
			}
			if (!q)
				break;
			p = q + 1;
		}
		errno = saved;
	}
fail:
	e = errno;
	(void)!write(status_fd, &e, sizeof e);
	_exit(127);
}

struct child *
child_start(struct event_base *base, const struct child_opts *o, const struct child_cbs *cbs,
    char *err, size_t errlen)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pst[2] = { -1, -1 };
	struct child *c = NULL;
	int e = 0;
	ssize_t n;

	if (child_setup_signals(base) < 0) {
		snprintf(err, errlen, "cannot watch SIGCHLD");
		return NULL;
	}
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
	    pipe2(pst, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((c = calloc(1, sizeof *c)) == NULL || (c->name = strdup(o->name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->fd_in = c->fd_out = c->fd_err = -1;
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_exec(o, pin[0], pout[1], perr[1], pst[1]);
	setpgid(pid, pid);	/* both sides set it: no race with an early kill(-pid) */
	sentinel_watch(pid);
	close(pin[0]); close(pout[1]); close(perr[1]); close(pst[1]);
	pin[0] = pout[1] = perr[1] = pst[1] = -1;
	do
		n = read(pst[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(pst[0]);
	pst[0] = -1;
	if (n == (ssize_t)sizeof e) {
		int status;
		waitpid(pid, &status, 0);
		sentinel_forget(pid);
		snprintf(err, errlen, "cannot execute %s: %s", o->command, strerror(e));
		close(pin[1]); close(pout[0]); close(perr[0]);
		free(c->name);
		free(c);
		return NULL;
	}
	c->pid = pid;
	c->base = base;
	c->fd_in = pin[1];
	c->fd_out = pout[0];
	c->fd_err = perr[0];
	evutil_make_socket_nonblocking(c->fd_in);
	evutil_make_socket_nonblocking(c->fd_out);
	evutil_make_socket_nonblocking(c->fd_err);
	c->inq = evbuffer_new();
	c->outbuf = evbuffer_new();
	c->errbuf = evbuffer_new();
	c->max_queue = o->max_queue;
	frame_init(&c->frame, o->max_line);
	c->cbs = *cbs;
	c->ev_in = event_new(base, c->fd_in, EV_WRITE | EV_PERSIST, child_in_cb, c);
	c->ev_out = event_new(base, c->fd_out, EV_READ | EV_PERSIST, child_out_cb, c);
	c->ev_err = event_new(base, c->fd_err, EV_READ | EV_PERSIST, child_err_cb, c);
	c->ev_term = evtimer_new(base, child_term_cb, c);
	c->ev_kill = evtimer_new(base, child_kill_cb, c);
	c->ev_errdrop = evtimer_new(base, child_errdrop_cb, c);
	event_add(c->ev_out, NULL);
	event_add(c->ev_err, NULL);
	c->next = children;
	children = c;
	live++;
	return c;
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0) close(pin[i]);
		if (pout[i] >= 0) close(pout[i]);
		if (perr[i] >= 0) close(perr[i]);
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
	evbuffer_add(c->inq, buf, len);
	event_add(c->ev_in, NULL);
	return 0;
}

size_t child_queued(const struct child *c) { return evbuffer_get_length(c->inq); }
pid_t child_pid(const struct child *c) { return c->pid; }
int child_running(const struct child *c) { return !c->reaped; }
int child_live_count(void) { return live; }

void
child_pause(struct child *c, int paused)
{
	if (c->fd_out < 0 || c->paused == paused)
		return;
	c->paused = paused;
	if (paused)
		event_del(c->ev_out);
	else {
		event_add(c->ev_out, NULL);
		child_deliver_lines(c);	/* lines left buffered while paused */
	}
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
		evtimer_add(c->ev_term, &tv);
	}
}

void
child_kill_all(void)
{
	for (struct child *c = children; c; c = c->next)
		kill(-c->pid, SIGKILL);
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
		/* Still running: end the group now and reap synchronously so nothing is left. */
		int status;
		kill(-c->pid, SIGKILL);
		if (waitpid(c->pid, &status, 0) == c->pid)
			child_finish(c, status);
		else {
			c->reaped = 1;
			child_unlink(c);
			sentinel_forget(c->pid);
		}
	}
	/* Free after the current callback: the caller may be inside one of ours. */
	c->ev_free = evtimer_new(c->base, child_free_cb, c);
	event_active(c->ev_free, EV_TIMEOUT, 0);
}

void
child_shutdown(void)
{
	if (sigchld_ev) {
		event_free(sigchld_ev);
		sigchld_ev = NULL;
	}
}
