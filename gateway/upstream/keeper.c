/* keeper.c: owns the keeper process, one per child the gateway starts (servers and credential
 * helpers): forked (no exec) by child_start(), it makes itself a child subreaper, forks and execs
 * the server on the pipes it was given, reaps every descendant, and ends the whole tree (SIGTERM,
 * then SIGKILL after the grace, until it has no child left) when the server exits, when the
 * gateway closes the control pipe, or when the gateway dies (the same end of file).
 *
 * Why a process of its own rather than the gateway as subreaper: the gateway is also a library in
 * a host's process, where a subreaper would take over the host's own orphans and reaping them
 * needs a process-wide SIGCHLD handler; and a subreaper that is SIGKILLed hands its orphans to
 * init, so the gateway could not end them when it is itself the one killed. The keeper is in a
 * process group of its own, so a kill of the gateway's group (Ctrl-C, a supervisor) does not
 * reach it, and it holds no descriptor of the gateway's but its two pipes.
 *
 * Everything here runs in a fork of a process that may have threads: system calls only, no
 * allocation, no stdio, no locks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "keeper.h"
#include "util.h"

#define KEEPER_MAX_PROCS 4096	/* signalled per round; the rounds go on until none is left */
#define KEEPER_POLL_MS	 20	/* while ending: how often the tree is looked at again */
/* Where the five descriptors sit in the keeper (and the server's three before its dup2). */
enum { FD_IN = 3, FD_OUT, FD_ERR, FD_CTL, FD_ST };

static void
keeper_say(int kind, int value)
{
	struct keeper_rec r = { kind, value };
	ssize_t n;
	do
		n = write(FD_ST, &r, sizeof r);
	while (n < 0 && errno == EINTR);
}

/* "/proc/<a>/task" or "/proc/<a>/task/<b>/children" without snprintf (not async-signal-safe). */
static char *
keeper_put_num(char *p, long v)
{
	char tmp[24];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *
keeper_put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* Appends the children of every thread of pid to procs[n..max). Returns the new count, or -1
 * when the kernel has no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN). */
static int
keeper_children(pid_t pid, pid_t *procs, int n, int max)
{
	char path[96], *p, dbuf[2048], buf[1024];
	long nr;
	int dfd, any_file = 0, missing = 0;

	p = keeper_put_str(path, "/proc/");
	p = keeper_put_num(p, pid);
	p = keeper_put_str(p, "/task");
	*p = '\0';
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return n;	/* gone meanwhile */
	while ((nr = syscall(SYS_getdents64, dfd, dbuf, sizeof dbuf)) > 0) {
		for (long off = 0; off < nr;) {
			/* struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name */
			unsigned short reclen;
			memcpy(&reclen, dbuf + off + 16, sizeof reclen);
			const char *name = dbuf + off + 19;
			off += reclen;
			if (name[0] < '0' || name[0] > '9')
				continue;
			char *q = keeper_put_str(p, "/");
			q = keeper_put_str(q, name);
			q = keeper_put_str(q, "/children");
			*q = '\0';
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			*p = '\0';
			if (fd < 0) {
				if (errno == ENOENT)
					missing = 1;
				continue;
			}
			any_file = 1;
			long v = 0;
			int in = 0;
			ssize_t r;
			while ((r = read(fd, buf, sizeof buf)) > 0)
				for (ssize_t i = 0; i < r; i++) {
					if (buf[i] >= '0' && buf[i] <= '9') {
						v = v * 10 + (buf[i] - '0');
						in = 1;
					} else if (in) {
						if (n < max)
							procs[n++] = (pid_t)v;
						v = 0;
						in = 0;
					}
				}
			if (in && n < max)
				procs[n++] = (pid_t)v;
			close(fd);
		}
	}
	close(dfd);
	return missing && !any_file ? -1 : n;
}

/* Sends sig to every descendant (breadth first through the children files). Returns how many
 * were signalled. Without children files, the server's process group is what is reachable. */
static int
keeper_signal_tree(pid_t self, pid_t server, int sig)
{
	pid_t procs[KEEPER_MAX_PROCS];
	int n = keeper_children(self, procs, 0, KEEPER_MAX_PROCS);

	if (n < 0) {
		/* The group outlives its leader; once reaped, its number is not reused while any
		 * member is left. */
		return kill(-server, sig) == 0 ? 1 : 0;
	}
	for (int i = 0; i < n; i++) {
		int m = keeper_children(procs[i], procs, n, KEEPER_MAX_PROCS);
		if (m > n)
			n = m;
	}
	for (int i = 0; i < n; i++)
		kill(procs[i], sig);
	return n;
}

/* Where the end of the tree stands. */
struct keeper_end {
	int ending;		/* SIGTERM sent (or "K"): the tree is being ended */
	int killing;		/* past the grace (or "K"): SIGKILL rounds */
	int termed;		/* a SIGTERM went out first */
	long grace, t_end;	/* ms; when the SIGKILL rounds begin */
};

/* The one way into ending: SIGTERM to every descendant now, SIGKILL after the grace. */
static void
keeper_begin_end(struct keeper_end *e, pid_t self, pid_t server)
{
	if (e->ending)
		return;
	e->ending = e->termed = 1;
	e->t_end = (long)util_now_ms() + e->grace;
	keeper_signal_tree(self, server, SIGTERM);
}

/* In the server's process, between fork and exec. */
static void __attribute__((noreturn))
keeper_exec(const struct child_opts *o, int status_fd, pid_t keeper)
{
	sigset_t none;
	int e;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own group, as before keepers: what a server expects of a job-control shell. */
	setpgid(0, 0);
	/* If the keeper is SIGKILLed (it ignores everything else), the server goes with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != keeper)
		_exit(127);
	if (dup2(FD_IN, 0) < 0 || dup2(FD_OUT, 1) < 0 || dup2(FD_ERR, 2) < 0)
		goto fail;
	close(FD_IN);
	close(FD_OUT);
	close(FD_ERR);
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

/* The five descriptors to 3..7, /dev/null on 0..2 (the client's pipes must see their end of file
 * when the gateway is gone), nothing else. */
static int
keeper_fds_setup(const struct keeper_fds *f)
{
	int src[5] = { f->in, f->out, f->err, f->ctl, f->st }, hi[5];

	for (int i = 0; i < 5; i++)
		if ((hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10)) < 0)
			return -1;
	for (int i = 0; i < 5; i++)
		if (dup2(hi[i], FD_IN + i) < 0)
			return -1;
	if (close_range(FD_ST + 1, ~0U, 0) < 0)
		for (int i = FD_ST + 1; i < 65536; i++)
			close(i);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		for (int i = 0; i < 3; i++)
			dup2(null, i);
		if (null > 2)
			close(null);
	}
	fcntl(FD_CTL, F_SETFD, FD_CLOEXEC);
	fcntl(FD_ST, F_SETFD, FD_CLOEXEC);
	fcntl(FD_CTL, F_SETFL, fcntl(FD_CTL, F_GETFL) | O_NONBLOCK);
	return 0;
}

void
keeper_main(const struct child_opts *o, const struct keeper_fds *f)
{
	sigset_t chld;
	int ip[2], e, sfd, status = 0, reaped = 0, ctl_open = 1, in_g = 0, killed_said = 0;
	struct keeper_end end = { 0, 0, 0, KEEPER_GRACE_MS, 0 };
	long gval = 0;
	pid_t self = getpid(), pid, p;
	ssize_t n;

	setpgid(0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_NAME, "mcpgw-keeper");
	/* It ends through its control pipe, or by SIGKILL; SIGCHLD comes through a signalfd. */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
			signal(s, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_SETMASK, &chld, NULL);
	if (keeper_fds_setup(f) < 0)
		_exit(126);
	sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);	/* -1: poll on a short timeout */
	if (pipe2(ip, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		keeper_say(KEEPER_REC_EXEC, errno);
		_exit(0);
	}
	if (pid == 0) {
		close(ip[0]);
		keeper_exec(o, ip[1], self);
	}
	close(FD_IN);
	close(FD_OUT);
	close(FD_ERR);
	close(ip[1]);
	do
		n = read(ip[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(ip[0]);
	if (n == (ssize_t)sizeof e) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		keeper_say(KEEPER_REC_EXEC, e);
		_exit(0);
	}
	keeper_say(KEEPER_REC_PID, pid);

	for (;;) {
		int ws;
		while ((p = waitpid(-1, &ws, WNOHANG)) > 0)
			if (p == pid) {
				status = ws;
				reaped = 1;
			}
		if (p < 0 && errno == ECHILD)
			break;		/* no child left: as a subreaper, that is no descendant left */
		if (reaped)
			keeper_begin_end(&end, self, pid);	/* what the server left goes too */
		long now = (long)util_now_ms();
		if (end.ending && !end.killing && now >= end.t_end)
			end.killing = 1;
		if (end.killing) {
			int k = keeper_signal_tree(self, pid, SIGKILL);
			/* Said only after a SIGTERM: "K" kills without asking first. */
			if (!killed_said && end.termed && k > 0)
				keeper_say(KEEPER_REC_KILLED, k);
			killed_said = 1;
		}
		struct pollfd pf[2] = { { ctl_open ? FD_CTL : -1, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		int timeout = -1;
		if (end.killing)
			timeout = 5;
		else if (end.ending)
			timeout = end.t_end - now < KEEPER_POLL_MS ? (int)(end.t_end - now) : KEEPER_POLL_MS;
		else if (sfd < 0)
			timeout = KEEPER_POLL_MS;
		if (poll(pf, 2, timeout) < 0 && errno != EINTR)
			sleep(1);	/* cannot happen with valid descriptors; never spin */
		if (sfd >= 0 && (pf[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
		}
		if (!ctl_open || !(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char buf[64];
		n = read(FD_CTL, buf, sizeof buf);
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (c == 'K')
				end.ending = end.killing = 1;
			else if (c == 'T')
				keeper_begin_end(&end, self, pid);
			else if (c == 'G') {
				in_g = 1;
				gval = 0;
			} else if (in_g && c >= '0' && c <= '9') {
				if (gval < 3600000)
					gval = gval * 10 + (c - '0');
			} else if (in_g && c == '\n') {
				end.grace = gval;
				in_g = 0;
			}
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			/* Told to stop, or the gateway is gone. */
			close(FD_CTL);
			ctl_open = 0;
			keeper_begin_end(&end, self, pid);
		}
	}
	keeper_say(KEEPER_REC_STATUS, status);
	_exit(0);
}
